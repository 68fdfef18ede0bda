//! Poisson spike trains for virtual populations, as BMTK's `PoissonSpikeGenerator` produces
//! them for the example input files (docs/sonata-bmtk.md §6.3: homogeneous rate, exponential
//! inter-spike intervals from the start time until past the stop time). Each node has its own
//! stream keyed by (seed, input index, node id).

use super::rng::{self, Rng};

/// Spike trains sorted by node id, then time (ms); every time is > 0 (BMTK rejects t <= 0).
pub fn poisson(
    seed: u64,
    input_index: usize,
    n_nodes: usize,
    rate_hz: f64,
    start_ms: f64,
    stop_ms: f64,
) -> (Vec<u64>, Vec<f64>) {
    let mut ids = Vec::new();
    let mut ts = Vec::new();
    if rate_hz <= 0.0 {
        return (ids, ts);
    }
    let mean_isi_ms = 1000.0 / rate_hz;
    for n in 0..n_nodes {
        let mut r = Rng::new(seed, rng::INPUTS, input_index as u64, n as u64);
        let mut t = start_ms;
        loop {
            t += mean_isi_ms * r.exp1();
            if t >= stop_ms {
                break;
            }
            if t > 0.0 {
                ids.push(n as u64);
                ts.push(t);
            }
        }
    }
    (ids, ts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_and_bounds() {
        let (ids, ts) = poisson(7, 0, 200, 10.0, 0.0, 5000.0);
        // 200 nodes × 5 s × 10 Hz = 10,000 expected; sd 100.
        assert!((ids.len() as f64 - 10_000.0).abs() < 400.0, "{}", ids.len());
        assert!(ts.iter().all(|&t| t > 0.0 && t < 5000.0));
        assert!(ids.windows(2).all(|w| w[0] <= w[1]));
        // CV of ISIs of a Poisson process is 1.
        let isi: Vec<f64> = ids
            .windows(2)
            .zip(ts.windows(2))
            .filter(|(i, _)| i[0] == i[1])
            .map(|(_, t)| t[1] - t[0])
            .collect();
        let m = isi.iter().sum::<f64>() / isi.len() as f64;
        let sd = (isi.iter().map(|x| (x - m).powi(2)).sum::<f64>() / isi.len() as f64).sqrt();
        assert!(
            (m - 100.0).abs() < 4.0 && (sd / m - 1.0).abs() < 0.05,
            "{m} {sd}"
        );
    }
}
