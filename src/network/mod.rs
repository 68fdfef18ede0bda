//! Lowering: SONATA circuit description -> runtime network (dense indices, CSR, delays in steps).
