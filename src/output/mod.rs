//! Recorders and writers: spikes, membrane reports, run summaries, plots.
