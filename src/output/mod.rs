//! Recorders and writers: spikes, membrane reports, run summaries, plots.
pub mod plot;
pub mod reports;
