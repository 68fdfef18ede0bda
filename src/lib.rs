//! # glifnet — a point-neuron network simulator for SONATA / BMTK PointNet networks
//!
//! glifnet runs BMTK PointNet configurations unchanged (`glifnet run config.simulation.json`),
//! instantiates Allen Institute GLIF neurons (levels 1–5) and the NEST point models the BMTK
//! examples use, and reproduces NEST's spikes (network runs) and AllenSDK's (single-cell runs).
//!
//! ## The pipeline (one direction; each stage hands the next plain data)
//!
//! ```text
//! config (BMTK json, manifest)          config/    resolved, typed simulation description
//!   -> circuit description (SONATA)     sonata/    the only module that touches hdf5/csv types
//!   -> model parameters per node type   models/    Allen neuron_config / NEST json -> params, kernels
//!   -> lowered network                  network/   dense indices, CSR synapses, delays in steps
//!   -> engine                           engine/    min-delay epochs, ring buffers, rayon chunks
//!   -> recorders -> writers             output/    spikes h5/csv, reports, summaries, plots
//! inputs (spike trains, poisson, clamps) inputs/
//! one run, config -> written outputs    simulation/  the library entry point (`Simulation`)
//! single-cell runs (AllenSDK semantics) neuron/
//! network builder (`glifnet build`)     build/
//! command line                          cli/ + main.rs
//! ```
//!
//! Description (what the user wrote) is kept apart from runtime state (what the engine
//! mutates), as in Arbor's recipe vs simulation.

pub mod build;
pub mod cli;
pub mod config;
pub mod distributed;
pub mod engine;
pub mod inputs;
pub mod limits;
pub mod models;
pub mod network;
pub mod neuron;
pub mod output;
pub mod simulation;
pub mod sonata;
