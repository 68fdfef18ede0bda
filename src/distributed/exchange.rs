//! Per-epoch spike exchange: the wire format and the merge into the engine's canonical order.
//!
//! Every process sends one `u32` buffer per epoch: a stop flag (Ctrl-C seen), then one
//! `(step − epoch start, global source)` pair per spike. Steps are epoch-relative, so 32 bits
//! suffice (an epoch is at most 2^16 steps). The concatenation of all buffers (all-gather-v) is
//! decoded and sorted by `(step, source)`: exactly the order the single-process engine delivers,
//! so every ring-buffer slot receives the same f64 additions in the same order.

/// Encode this process's epoch spikes (emission step, global index) for the all-gather.
pub fn encode(t0: u64, stop: bool, spikes: &[(u64, u32)]) -> Vec<u32> {
    let mut buf = Vec::with_capacity(1 + 2 * spikes.len());
    buf.push(stop as u32);
    for &(s, g) in spikes {
        buf.push((s - t0) as u32);
        buf.push(g);
    }
    buf
}

/// Decode the gathered buffers (`counts[r]` words from rank `r`, concatenated in rank order):
/// all spikes of the epoch sorted by (step, source), and whether any process asked to stop.
pub fn decode(t0: u64, all: &[u32], counts: &[usize]) -> (Vec<(u64, u32)>, bool) {
    let mut spikes = Vec::with_capacity(all.len() / 2);
    let mut stop = false;
    let mut at = 0;
    for &c in counts {
        let part = &all[at..at + c];
        at += c;
        if let Some((&flag, pairs)) = part.split_first() {
            stop |= flag != 0;
            spikes.extend(pairs.chunks_exact(2).map(|p| (t0 + p[0] as u64, p[1])));
        }
    }
    spikes.sort_unstable();
    (spikes, stop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_merges_ranks_in_step_then_source_order() {
        let a = encode(100, false, &[(100, 1), (103, 0)]);
        let b = encode(100, true, &[(100, 7), (101, 5)]);
        let all: Vec<u32> = a.iter().chain(&b).copied().collect();
        let (s, stop) = decode(100, &all, &[a.len(), b.len()]);
        assert_eq!(s, vec![(100, 1), (100, 7), (101, 5), (103, 0)]);
        assert!(stop);
    }

    #[test]
    fn empty_epoch() {
        let a = encode(0, false, &[]);
        let (s, stop) = decode(0, &a, &[1, 0]);
        assert!(s.is_empty() && !stop);
    }
}
