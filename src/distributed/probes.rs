//! Membrane reports of a distributed run: every rank samples its own neurons' columns, rank 0
//! assembles whole rows and hands them to the report writers.
//!
//! Why gather through MPI and not part files: the output folder need not be shared between
//! the machines of a cluster, and rank 0 then writes the report with the same writer, rows
//! and block boundaries as a single-process run (identical files). Memory stays bounded: the
//! rows are gathered whenever about [`GATHER_VALUES`] samples are pending, not once at the end.
//!
//! Every rank knows the sampling schedule (the probes are the same everywhere, only their
//! columns are split), so all ranks agree on when to gather without extra messages.

use std::ops::Range;

use crate::engine::{Probe, ProbeRow, ProbeSink};

use super::DistError;

/// Pending samples (all ranks' columns) that trigger a gather to rank 0.
pub const GATHER_VALUES: usize = 1 << 16;

/// The split of the run's probes over the ranks, and this rank's pending samples.
pub struct ProbeSplit {
    probes: Vec<Probe>,
    /// Per probe, per rank: the probe's column positions that rank samples.
    cols: Vec<Vec<Vec<usize>>>,
    /// Probe of each of this rank's local probes.
    global_of: Vec<usize>,
    /// Per probe: this rank's samples not yet gathered (rows × its columns, row-major).
    buf: Vec<Vec<f64>>,
    /// Per probe: the steps of the rows not yet gathered (the same on every rank).
    steps: Vec<Vec<u64>>,
    pending: usize,
}

impl ProbeSplit {
    /// Split `probes` over `blocks` (rank r simulates `blocks[r]`); returns the split and the
    /// local probes of rank `rank` (its neurons only; probes without any are left out).
    pub fn new(probes: Vec<Probe>, blocks: &[Range<u32>], rank: usize) -> (ProbeSplit, Vec<Probe>) {
        let mut cols = Vec::with_capacity(probes.len());
        let mut local = Vec::new();
        let mut global_of = Vec::new();
        for (pi, p) in probes.iter().enumerate() {
            let per_rank: Vec<Vec<usize>> = blocks
                .iter()
                .map(|b| {
                    (0..p.neurons.len())
                        .filter(|&k| b.contains(&p.neurons[k]))
                        .collect()
                })
                .collect();
            let mine = per_rank.get(rank).cloned().unwrap_or_default();
            if !mine.is_empty() {
                local.push(Probe {
                    neurons: mine.iter().map(|&k| p.neurons[k]).collect(),
                    ..p.clone()
                });
                global_of.push(pi);
            }
            cols.push(per_rank);
        }
        let n = probes.len();
        let split = ProbeSplit {
            probes,
            cols,
            global_of,
            buf: vec![Vec::new(); n],
            steps: vec![Vec::new(); n],
            pending: 0,
        };
        (split, local)
    }

    pub fn is_empty(&self) -> bool {
        self.probes.is_empty()
    }

    /// Note the sample steps of the epoch `(t0, t1]` (every rank, whether it has columns or
    /// not); true when enough samples are pending to gather.
    pub fn schedule(&mut self, t0: u64, t1: u64) -> bool {
        for (p, probe) in self.probes.iter().enumerate() {
            let n_cols = probe.neurons.len();
            let mut t = t0;
            while let Some(s) = probe.first_sample_after(t).filter(|&s| s <= t1) {
                self.steps[p].push(s);
                self.pending += n_cols;
                t = s;
            }
        }
        self.pending >= GATHER_VALUES
    }

    /// This rank's pending samples, probe after probe (the all-ranks message).
    pub fn take_local(&mut self) -> Vec<f64> {
        let mut out = Vec::new();
        for b in &mut self.buf {
            out.append(b);
        }
        out
    }

    /// Rank 0: rebuild whole rows from every rank's message (`parts[r]` from
    /// [`ProbeSplit::take_local`] on rank r) and pass them to `sink` in step order per probe.
    /// Every rank: forget the pending steps.
    pub fn deliver(
        &mut self,
        parts: Option<&[Vec<f64>]>,
        sink: &mut dyn ProbeSink,
    ) -> Result<(), DistError> {
        let steps = std::mem::take(&mut self.steps);
        self.steps = vec![Vec::new(); self.probes.len()];
        self.pending = 0;
        let Some(parts) = parts else {
            return Ok(());
        };
        let mut at = vec![0usize; parts.len()];
        for (p, steps) in steps.iter().enumerate() {
            let n_cols = self.probes[p].neurons.len();
            let rows = steps.len();
            let mut full = vec![0.0; rows * n_cols];
            for (r, part) in parts.iter().enumerate() {
                let cols = &self.cols[p][r];
                let len = rows * cols.len();
                let Some(vals) = part.get(at[r]..at[r] + len) else {
                    return Err(DistError::Build(format!(
                        "report samples: rank {r} sent {} values, expected at least {}",
                        part.len(),
                        at[r] + len
                    )));
                };
                for (i, row) in vals.chunks_exact(cols.len().max(1)).enumerate() {
                    for (&c, &v) in cols.iter().zip(row) {
                        full[i * n_cols + c] = v;
                    }
                }
                at[r] += len;
            }
            for (i, &step) in steps.iter().enumerate() {
                sink.row(ProbeRow {
                    probe: p,
                    step,
                    values: &full[i * n_cols..(i + 1) * n_cols],
                });
            }
        }
        if let Some(r) = (0..parts.len()).find(|&r| at[r] != parts[r].len()) {
            return Err(DistError::Build(format!(
                "report samples: rank {r} sent {} values, expected {}",
                parts[r].len(),
                at[r]
            )));
        }
        Ok(())
    }
}

/// The engine's sink on every rank: buffers the local probes' rows under their global probe.
impl ProbeSink for ProbeSplit {
    fn row(&mut self, row: ProbeRow<'_>) {
        if let Some(&p) = self.global_of.get(row.probe) {
            self.buf[p].extend_from_slice(row.values);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Rows(Vec<(usize, u64, Vec<f64>)>);
    impl ProbeSink for Rows {
        fn row(&mut self, r: ProbeRow<'_>) {
            self.0.push((r.probe, r.step, r.values.to_vec()));
        }
    }

    #[test]
    fn columns_of_two_ranks_are_reassembled_in_probe_order() {
        let probe = Probe {
            neurons: vec![5, 1, 7, 2],
            var: "V_m".into(),
            interval: 2,
            start: 0,
            stop: 100,
        };
        let blocks = [0..3, 3..10];
        let (mut s0, l0) = ProbeSplit::new(vec![probe.clone()], &blocks, 0);
        let (mut s1, l1) = ProbeSplit::new(vec![probe], &blocks, 1);
        assert_eq!(l0[0].neurons, vec![1, 2]);
        assert_eq!(l1[0].neurons, vec![5, 7]);
        // epoch (0, 4]: samples after steps 2 and 4
        assert!(!s0.schedule(0, 4));
        assert!(!s1.schedule(0, 4));
        for (step, base) in [(2u64, 10.0), (4, 20.0)] {
            s0.row(ProbeRow {
                probe: 0,
                step,
                values: &[base + 1.0, base + 2.0],
            });
            s1.row(ProbeRow {
                probe: 0,
                step,
                values: &[base + 5.0, base + 7.0],
            });
        }
        let parts = vec![s0.take_local(), s1.take_local()];
        let mut rows = Rows(Vec::new());
        s0.deliver(Some(&parts), &mut rows).unwrap();
        s1.deliver(None, &mut rows).unwrap();
        assert_eq!(
            rows.0,
            vec![
                (0, 2, vec![15.0, 11.0, 17.0, 12.0]),
                (0, 4, vec![25.0, 21.0, 27.0, 22.0])
            ]
        );
    }
}
