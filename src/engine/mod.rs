//! Simulation engine: min-delay epochs, per-chunk ring buffers, deterministic parallel update.
