//! Allen neuron_config.json → NEST parameters (in progress).
