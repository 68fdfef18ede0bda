//! SONATA / BMTK file readers and writers. The only module that touches hdf5 and csv types.
pub mod report;
