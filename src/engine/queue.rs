//! A chunk's incoming synapses and its queue of pending additions (the sparse ring buffer).
//!
//! Delivering a spike appends, per run of its synapses onto the chunk (one group slot, one delay),
//! the run's place in the synapse table to the bucket of the step where it arrives; before a block
//! is advanced, its buckets' `(dense-block offset, weight)` pairs are read from the table and added
//! into the dense block in arrival order (NEST's order, see the engine docs). Copying the pairs
//! into the buckets instead cost a memmove per run (8% of an N = 50 run). Each event reads its pair
//! once or twice (the second time to clear a sparse block), so the bytes per pair set the cost of
//! delivery once the table outgrows the caches. SONATA weights are mostly few distinct values
//! (`syn_weight × nsyns` per edge type), so a chunk with at most 2^(32 − offset bits) distinct
//! weights stores each pair as one `u32`: the offset in the low bits, the index into the chunk's
//! weight table in the high bits — a quarter of the bytes of an `(u32, f64)` pair. Other chunks
//! keep the wide pairs. The weights added are the same f64s in the same order either way.

use crate::models::prefetch_at;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Weight-table index by f64 bit pattern, hashed with the splitmix64 finaliser: SipHash's
/// flood resistance buys nothing for our own weights and cost 0.1 s per 3M synapses.
type WeightIndex = HashMap<u64, u32, BuildHasherDefault<BitsHasher>>;

#[derive(Default)]
struct BitsHasher(u64);

impl Hasher for BitsHasher {
    fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 ^= x;
    }
}

/// (source, group slot, dense-block offset, delay, weight) of one incoming synapse.
pub(super) type IncomingEdge = (u32, u16, u32, u32, f64);

/// Incoming synapses of one chunk, indexed by source, grouped into runs of equal (slot,
/// delay) — one run per source and delay in typical SONATA networks — so delivering a spike
/// appends each run to one bucket in a single copy. Within a run the synapses keep their table
/// order, so every ring-buffer slot still receives its additions in NEST's order.
pub(super) struct Incoming {
    /// Runs of source `s`: `runs[offsets[s]..offsets[s + 1]]`.
    offsets: Vec<u32>,
    runs: Vec<Run>,
}

/// Pairs `start..end` of the queue's synapse pairs: one source, one group slot, one delay.
#[derive(Clone, Copy)]
struct Run {
    slot: u16,
    delay: u32,
    start: u32,
    end: u32,
}

impl Incoming {
    /// From a chunk's synapses sorted by source (table order within a source); also returns
    /// each synapse's (offset, weight) in run order.
    pub(super) fn new(n_src: usize, edges: &[IncomingEdge]) -> (Incoming, Vec<(u32, f64)>) {
        let mut offsets = vec![0u32; n_src + 1];
        let mut runs: Vec<Run> = Vec::new();
        let mut pairs = Vec::with_capacity(edges.len());
        let mut a = 0;
        let mut mine: Vec<&IncomingEdge> = Vec::new();
        for src in 0..n_src {
            let mut b = a;
            while b < edges.len() && edges[b].0 as usize == src {
                b += 1;
            }
            // stable: equal (slot, delay) keep their table order
            mine.clear();
            mine.extend(&edges[a..b]);
            mine.sort_by_key(|e| (e.1, e.3));
            let first_run = runs.len();
            for &e in &mine {
                let start = pairs.len() as u32;
                pairs.push((e.2, e.4));
                let extend = runs.len() > first_run;
                match runs.last_mut() {
                    Some(r) if extend && r.slot == e.1 && r.delay == e.3 => r.end = start + 1,
                    _ => runs.push(Run {
                        slot: e.1,
                        delay: e.3,
                        start,
                        end: start + 1,
                    }),
                }
            }
            offsets[src + 1] = runs.len() as u32;
            a = b;
        }
        (Incoming { offsets, runs }, pairs)
    }
}

/// One queued addition: where in the dense block, and which weight.
trait Pair: Copy + Send {
    fn off(self, shift: u32) -> usize;
    /// The weight, from the pair or (packed) the queue's table.
    ///
    /// # Safety
    /// `weights` is the table of the queue that packed the pair: it holds every index packed.
    unsafe fn weight(self, shift: u32, weights: &[f64]) -> f64;
}

/// Packed: offset in the low `shift` bits, weight-table index above.
impl Pair for u32 {
    #[inline(always)]
    fn off(self, shift: u32) -> usize {
        (self & ((1u32 << shift) - 1)) as usize
    }
    #[inline(always)]
    unsafe fn weight(self, shift: u32, weights: &[f64]) -> f64 {
        let k = (self >> shift) as usize;
        debug_assert!(k < weights.len());
        // SAFETY: the caller passes the packing queue's table, which holds index `k`.
        unsafe { *weights.get_unchecked(k) }
    }
}

impl Pair for (u32, f64) {
    #[inline(always)]
    fn off(self, _shift: u32) -> usize {
        self.0 as usize
    }
    #[inline(always)]
    unsafe fn weight(self, _shift: u32, _weights: &[f64]) -> f64 {
        self.1
    }
}

/// A bucket entry: the synapse pairs `start..end` of one run (one spike's arrivals), or, with
/// `start == DIRECT`, the `end`-th direct addition queued in the bucket.
type Entry = (u32, u32);
const DIRECT: u32 = u32::MAX;

/// Synapse pairs in run order and the buckets (`[slot][step & mask]`) of one representation.
/// A bucket lists the *runs* that arrive (8 bytes per spike and run), not copies of their pairs:
/// the pairs are read once, straight from the table, when the bucket is added in.
/// Memory of one bucket of one slot (its run list and its direct list, both empty `Vec`s), for
/// the size check before the rings are allocated.
pub(super) const BUCKET_BYTES: f64 = 2.0 * std::mem::size_of::<Vec<Entry>>() as f64;

struct Pending<P> {
    /// Never changed after construction (the bound below relies on it).
    pairs: Vec<P>,
    /// Per slot: 1 + the largest block offset of its pairs and direct additions. The scatter
    /// checks it against the row length once per block instead of once per addition.
    bound: Vec<usize>,
    buckets: Vec<Vec<Vec<Entry>>>,
    /// Direct additions (`[slot][bucket]`), in the order their entries were queued.
    direct: Vec<Vec<Vec<P>>>,
}

impl<P: Pair> Pending<P> {
    fn new(pairs: Vec<P>, bound: Vec<usize>, n_buckets: usize) -> Pending<P> {
        let n_slots = bound.len();
        Pending {
            pairs,
            bound,
            buckets: vec![vec![Vec::new(); n_buckets]; n_slots],
            direct: vec![vec![Vec::new(); n_buckets]; n_slots],
        }
    }

    #[inline(always)]
    fn deliver(&mut self, inc: &Incoming, spikes: &[(u64, u32)], mask: u64) -> u64 {
        let mut n = 0u64;
        for &(step, src) in spikes {
            let (a, b) = (
                inc.offsets[src as usize] as usize,
                inc.offsets[src as usize + 1] as usize,
            );
            for r in &inc.runs[a..b] {
                self.buckets[r.slot as usize][((step + r.delay as u64) & mask) as usize]
                    .push((r.start, r.end));
                n += u64::from(r.end - r.start);
            }
        }
        n
    }

    fn push(&mut self, slot: usize, b: usize, p: P, shift: u32) {
        self.bound[slot] = self.bound[slot].max(p.off(shift) + 1);
        let direct = &mut self.direct[slot][b];
        self.buckets[slot][b].push((DIRECT, direct.len() as u32));
        direct.push(p);
    }

    /// Calls `f` on the pairs of bucket `b` of `slot` in arrival order; returns their number.
    #[inline(always)]
    fn each(&self, slot: usize, b: usize, mut f: impl FnMut(P)) -> usize {
        let mut n = 0;
        let direct = &self.direct[slot][b];
        let entries = &self.buckets[slot][b];
        for (j, &(start, end)) in entries.iter().enumerate() {
            if let Some(&(s, e)) = entries.get(j + RUNS_AHEAD) {
                if s != DIRECT {
                    prefetch_lines(&self.pairs[s as usize..e as usize]);
                }
            }
            if start == DIRECT {
                f(direct[end as usize]);
                n += 1;
            } else {
                let pairs = &self.pairs[start as usize..end as usize];
                for &p in pairs {
                    f(p);
                }
                n += pairs.len();
            }
        }
        n
    }

    #[inline(always)]
    fn scatter(
        &self,
        slot: usize,
        steps: Steps,
        shift: u32,
        weights: &[f64],
        block: &mut [f64],
    ) -> usize {
        // one check per block for every addition's offset (each row below is `stride` long)
        assert!(
            self.bound[slot] <= steps.stride,
            "queue: offsets up to {} in rows of {}",
            self.bound[slot],
            steps.stride
        );
        let mut n = 0;
        for (s, row) in block
            .chunks_exact_mut(steps.stride)
            .take(steps.n)
            .enumerate()
        {
            let b = ((steps.t0 + s as u64) & steps.mask) as usize;
            n += self.each(slot, b, |p| {
                let o = p.off(shift);
                debug_assert!(o < row.len());
                // SAFETY: `o < bound[slot] <= stride == row.len()` (asserted above), and
                // `weights` is this queue's table (`Queue::scatter`).
                unsafe { *row.get_unchecked_mut(o) += p.weight(shift, weights) }
            });
        }
        n
    }

    #[inline(always)]
    fn clear(&mut self, slot: usize, steps: Steps, shift: u32, mut block: Option<&mut [f64]>) {
        for s in 0..steps.n {
            let b = ((steps.t0 + s as u64) & steps.mask) as usize;
            if let Some(block) = block.as_deref_mut() {
                let row = &mut block[s * steps.stride..(s + 1) * steps.stride];
                self.each(slot, b, |p| row[p.off(shift)] = 0.0);
            }
            self.buckets[slot][b].clear();
            self.direct[slot][b].clear();
        }
    }
}

/// Runs whose first pair lines are fetched ahead while a bucket is read. A run starts at a
/// random place in a table that outgrows the caches (13 MB at N = 50), and the out-of-order
/// window does not reach past a run of 64 synapses, so without this every run start is a
/// serialised miss.
const RUNS_AHEAD: usize = 4;

/// Lines fetched ahead per run: longer runs are sequential, the hardware prefetcher follows.
const LINES_AHEAD: usize = 4;

/// Hint the first [`LINES_AHEAD`] cache lines of `v` into L1 (no effect on results).
#[inline(always)]
fn prefetch_lines<T>(v: &[T]) {
    let p = v.as_ptr() as *const u8;
    let bytes = std::mem::size_of_val(v).min(LINES_AHEAD * 64);
    for k in (0..bytes).step_by(64) {
        prefetch_at(p.wrapping_add(k));
    }
}

/// Steps `t0..t0 + n` of a dense block with rows of `stride` entries; bucket = step & mask.
#[derive(Clone, Copy)]
pub(super) struct Steps {
    pub t0: u64,
    pub n: usize,
    pub mask: u64,
    pub stride: usize,
}

enum Pairs {
    Packed(Pending<u32>),
    Wide(Pending<(u32, f64)>),
}

/// The pending additions of one chunk (see the module docs).
pub(super) struct Queue {
    pairs: Pairs,
    /// Packed only: offset bits, the weight table and its index by bit pattern.
    shift: u32,
    weights: Vec<f64>,
    index: WeightIndex,
}

impl Queue {
    /// `inc` and `pairs` from [`Incoming::new`]; `extra` the weights of direct events (pushed
    /// later); `max_stride` the largest dense-block row stride of the chunk's slots.
    pub(super) fn new(
        inc: &Incoming,
        pairs: Vec<(u32, f64)>,
        extra: impl Iterator<Item = f64>,
        max_stride: usize,
        n_slots: usize,
        n_buckets: usize,
    ) -> Queue {
        let mut bound = vec![0usize; n_slots];
        for r in &inc.runs {
            for &(o, _) in &pairs[r.start as usize..r.end as usize] {
                bound[r.slot as usize] = bound[r.slot as usize].max(o as usize + 1);
            }
        }
        let shift = usize::BITS - max_stride.saturating_sub(1).leading_zeros();
        let mut weights = Vec::new();
        let mut index = WeightIndex::default();
        for w in pairs.iter().map(|p| p.1).chain(extra) {
            index.entry(w.to_bits()).or_insert_with(|| {
                weights.push(w);
                (weights.len() - 1) as u32
            });
        }
        let fits = shift < 32 && (weights.len() as u64) <= 1u64 << (32 - shift);
        if fits {
            let packed = pairs
                .iter()
                .map(|&(o, w)| (index[&w.to_bits()] << shift) | o)
                .collect();
            Queue {
                pairs: Pairs::Packed(Pending::new(packed, bound, n_buckets)),
                shift,
                weights,
                index,
            }
        } else {
            Queue {
                pairs: Pairs::Wide(Pending::new(pairs, bound, n_buckets)),
                shift: 0,
                weights: Vec::new(),
                index: WeightIndex::default(),
            }
        }
    }

    /// Whether pairs are packed into `u32`s (tests and benchmarks).
    pub(super) fn is_packed(&self) -> bool {
        matches!(self.pairs, Pairs::Packed(_))
    }

    /// Queue the synapses of `spikes` (in canonical order); returns the events queued.
    pub(super) fn deliver(&mut self, inc: &Incoming, spikes: &[(u64, u32)], mask: u64) -> u64 {
        match &mut self.pairs {
            Pairs::Packed(p) => p.deliver(inc, spikes, mask),
            Pairs::Wide(p) => p.deliver(inc, spikes, mask),
        }
    }

    /// Queue one addition of `w` at `off` of `slot` into bucket `b` (`w` must be one of the
    /// `extra` weights given to [`Queue::new`] when packed).
    pub(super) fn push(&mut self, slot: usize, b: usize, off: u32, w: f64) {
        match &mut self.pairs {
            Pairs::Packed(p) => {
                let k = self.index[&w.to_bits()];
                assert!(off < 1 << self.shift, "queue: offset {off} does not fit");
                p.push(slot, b, (k << self.shift) | off, self.shift);
            }
            Pairs::Wide(p) => p.push(slot, b, (off, w), 0),
        }
    }

    /// Add the buckets of `steps` of `slot` into its dense `block` (row `s` = step `t0 + s`),
    /// each in arrival order; returns the number of arrivals.
    pub(super) fn scatter(&self, slot: usize, steps: Steps, block: &mut [f64]) -> usize {
        match &self.pairs {
            Pairs::Packed(p) => p.scatter(slot, steps, self.shift, &self.weights, block),
            Pairs::Wide(p) => p.scatter(slot, steps, 0, &[], block),
        }
    }

    /// Calls `f(bucket, offset, weight)` on every queued addition of `slot`, bucket by bucket,
    /// each bucket in arrival order (to move them to another queue).
    pub(super) fn for_each_queued(&self, slot: usize, mut f: impl FnMut(usize, u32, f64)) {
        fn all<P: Pair>(
            p: &Pending<P>,
            slot: usize,
            sh: u32,
            w: &[f64],
            f: &mut impl FnMut(usize, u32, f64),
        ) {
            for b in 0..p.buckets[slot].len() {
                // SAFETY: `w` is the table of the queue that packed these pairs.
                p.each(slot, b, |q| {
                    f(b, q.off(sh) as u32, unsafe { q.weight(sh, w) })
                });
            }
        }
        match &self.pairs {
            Pairs::Packed(p) => all(p, slot, self.shift, &self.weights, &mut f),
            Pairs::Wide(p) => all(p, slot, 0, &[], &mut f),
        }
    }

    /// Empty the buckets of `steps` of `slot`, first zeroing the entries of `block` they
    /// touched (`None`: the group has zeroed the block itself).
    pub(super) fn clear(&mut self, slot: usize, steps: Steps, block: Option<&mut [f64]>) {
        match &mut self.pairs {
            Pairs::Packed(p) => p.clear(slot, steps, self.shift, block),
            Pairs::Wide(p) => p.clear(slot, steps, 0, block),
        }
    }
}
