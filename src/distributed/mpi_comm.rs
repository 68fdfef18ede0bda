//! The [`Comm`] of a process started by `mpirun`, on rsmpi (MPI_COMM_WORLD).

use mpi::datatype::PartitionMut;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

use super::{Comm, DistError};

pub struct MpiComm {
    world: SimpleCommunicator,
    /// Finalizes MPI when dropped (after the world communicator).
    _universe: Universe,
}

impl MpiComm {
    /// Initialise MPI. Only the main thread calls MPI (the engine's rayon workers never do),
    /// so `MPI_THREAD_FUNNELED` suffices.
    pub fn init() -> Result<MpiComm, DistError> {
        let (universe, _) = mpi::initialize_with_threading(mpi::Threading::Funneled)
            .ok_or_else(|| DistError::Mpi("MPI was already initialised".into()))?;
        Ok(MpiComm {
            world: universe.world(),
            _universe: universe,
        })
    }
}

impl Comm for MpiComm {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }
    fn size(&self) -> usize {
        self.world.size() as usize
    }
    fn all_gather_v(&self, local: &[u32]) -> (Vec<u32>, Vec<usize>) {
        let n = local.len() as i32;
        let mut counts = vec![0i32; self.size()];
        self.world.all_gather_into(&n, &mut counts[..]);
        let displs: Vec<i32> = counts
            .iter()
            .scan(0i32, |acc, &c| {
                let d = *acc;
                *acc += c;
                Some(d)
            })
            .collect();
        let total: usize = counts.iter().map(|&c| c as usize).sum();
        let mut all = vec![0u32; total];
        {
            let mut part = PartitionMut::new(&mut all[..], &counts[..], &displs[..]);
            self.world.all_gather_varcount_into(local, &mut part);
        }
        (all, counts.iter().map(|&c| c as usize).collect())
    }
    fn all_gather_f64(&self, v: f64) -> Vec<f64> {
        let mut out = vec![0.0; self.size()];
        self.world.all_gather_into(&v, &mut out[..]);
        out
    }
    fn gather_f64_v(&self, local: &[f64]) -> Option<Vec<Vec<f64>>> {
        let root = self.world.process_at_rank(0);
        let n = local.len() as i32;
        if self.world.rank() != 0 {
            root.gather_into(&n);
            root.gather_varcount_into(local);
            return None;
        }
        let mut counts = vec![0i32; self.size()];
        root.gather_into_root(&n, &mut counts[..]);
        let displs: Vec<i32> = counts
            .iter()
            .scan(0i32, |acc, &c| {
                let d = *acc;
                *acc += c;
                Some(d)
            })
            .collect();
        let total: usize = counts.iter().map(|&c| c as usize).sum();
        let mut all = vec![0f64; total];
        {
            let mut part = PartitionMut::new(&mut all[..], &counts[..], &displs[..]);
            root.gather_varcount_into_root(local, &mut part);
        }
        let mut at = 0;
        Some(
            counts
                .iter()
                .map(|&c| {
                    let v = all[at..at + c as usize].to_vec();
                    at += c as usize;
                    v
                })
                .collect(),
        )
    }
    fn abort(&self, code: i32) -> ! {
        self.world.abort(code)
    }
}
