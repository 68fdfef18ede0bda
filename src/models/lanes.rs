//! Pieces shared by the SoA kernels: how a constant is read per lane (one value per chunk or
//! one per neuron), the vector width chunks are padded to, and the split of a group into
//! chunks that follow the node-type runs.

/// Vector width the one-pass steps pad chunks to (8 f64 = one AVX-512 register). Padding lanes
/// never integrate and are never stored back, so the loops have no scalar remainder; per-neuron
/// constant arrays carry `LANES` spare entries so padding lanes can read past the last neuron.
pub(crate) const LANES: usize = 8;

/// Spare f64s after each chunk-local state array (one cache line). With 128-lane arrays of
/// 1,024 bytes every fourth array of a store shares address bits 11..0 with the first, and the
/// CPU then treats a load after a store to such a neighbour as possibly dependent (4K
/// aliasing); 1,088-byte arrays never line up that way. (Interleaved timings on point_450glifs
/// showed 0–10% less time, within this VM's noise.)
pub(crate) const STORE_PAD: usize = 8;

/// A constant of the kernel: one value for the whole chunk, or one per neuron.
pub(crate) trait Co: Copy {
    fn at(self, i: usize) -> f64;
    /// This constant for neurons `c0..c0 + m` of the chunk whose first neuron is `c0`; a slice of
    /// exactly `m` lets the compiler drop the bounds checks of the neuron loop.
    fn cut(self, c0: usize, m: usize) -> Self;
    /// Lanes `i..i + 8` as an AVX-512 vector (caller: a function with AVX-512F enabled).
    #[cfg(target_arch = "x86_64")]
    unsafe fn v8(self, i: usize) -> std::arch::x86_64::__m512d;
}

/// The same value for every neuron of the chunk (uniform parameter set).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Uni(pub f64);

impl Co for Uni {
    #[inline(always)]
    fn at(self, _i: usize) -> f64 {
        self.0
    }
    #[inline(always)]
    fn cut(self, _c0: usize, _m: usize) -> Self {
        self
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn v8(self, _i: usize) -> std::arch::x86_64::__m512d {
        std::arch::x86_64::_mm512_set1_pd(self.0)
    }
}

/// Per-neuron values (chunk slice).
#[derive(Clone, Copy)]
pub(crate) struct Per<'a>(pub &'a [f64]);

impl Co for Per<'_> {
    #[inline(always)]
    fn at(self, i: usize) -> f64 {
        self.0[i]
    }
    #[inline(always)]
    fn cut(self, _c0: usize, m: usize) -> Self {
        Per(&self.0[..m])
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn v8(self, i: usize) -> std::arch::x86_64::__m512d {
        let s = &self.0[i..i + LANES];
        // SAFETY: `s` holds 8 f64 (the slice above is bounds-checked).
        unsafe { std::arch::x86_64::_mm512_loadu_pd(s.as_ptr()) }
    }
}

/// Split the group into kernel chunks. When node types come in runs (the usual SONATA layout)
/// chunks follow the runs, so every chunk reads its constants as scalars; otherwise fixed
/// windows of `chunk` neurons with per-neuron constants where sets are mixed.
pub(crate) fn plan_chunks(set_of: &[u32], chunk: usize) -> Vec<(usize, usize, Option<u32>)> {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut a = 0;
    for i in 1..=set_of.len() {
        if i == set_of.len() || set_of[i] != set_of[a] {
            runs.push((a, i));
            a = i;
        }
    }
    // runs shorter than a few vectors on average: vector loops would be mostly remainder
    if runs.len() * 16 > set_of.len() {
        return (0..set_of.len())
            .step_by(chunk)
            .map(|c0| {
                let c1 = (c0 + chunk).min(set_of.len());
                let k = set_of[c0];
                (c0, c1, set_of[c0..c1].iter().all(|&x| x == k).then_some(k))
            })
            .collect();
    }
    // Cuts inside a run fall on multiples of LANES, so those chunks read whole lines of the
    // (line-aligned) input rows; even pieces of ≤ chunk − LANES stay ≤ chunk after rounding.
    let mut out = Vec::new();
    for (a, b) in runs {
        let pieces = (b - a).div_ceil(chunk - LANES);
        let cut = |k: usize| match k {
            0 => a,
            k if k == pieces => b,
            k => (a + k * (b - a) / pieces).next_multiple_of(LANES).min(b),
        };
        for k in 0..pieces {
            let (c0, c1) = (cut(k), cut(k + 1));
            if c0 < c1 {
                out.push((c0, c1, Some(set_of[a])));
            }
        }
    }
    out
}

/// Zero a chunk's few hundred input weights (one port, one step) in place. `fill` would call
/// memset, whose fixed cost per call made dt = 0.001 ms runs 25% slower at one call per port
/// and step; whole-vector stores and a short tail stay inline.
#[inline(always)]
pub(crate) fn zero_lanes(buf: &mut [f64]) {
    let mut vecs = buf.chunks_exact_mut(LANES);
    for v in &mut vecs {
        v.copy_from_slice(&[0.0; LANES]);
    }
    for x in vecs.into_remainder() {
        *x = 0.0;
    }
}

/// Hint the line at `p` into L1 (no effect on any value; `p` may point anywhere, it is never
/// dereferenced).
#[inline(always)]
pub(crate) fn prefetch_at<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch never faults, whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p as *const i8) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// One cache line of f64s (the unit of [`AlignedBuf`]).
#[derive(Clone, Copy, Default)]
#[repr(C, align(64))]
struct Line([f64; LANES]);

/// A zero-initialised f64 buffer that starts on a cache line. The allocator aligns large
/// buffers to 16 bytes only; an 8-lane vector at such an address spans two lines, and every
/// load and store of the kernels' input rows then costs two accesses. With the buffer and the
/// rows (whole vectors long) on line boundaries, a chunk that starts on a multiple of 8 reads
/// whole lines.
#[derive(Clone, Default)]
pub struct AlignedBuf {
    lines: Vec<Line>,
    len: usize,
}

impl AlignedBuf {
    /// `len` zeros.
    pub fn zeros(len: usize) -> AlignedBuf {
        AlignedBuf {
            lines: vec![Line::default(); len.div_ceil(LANES)],
            len,
        }
    }

    /// A copy of `v`.
    pub fn from_slice(v: &[f64]) -> AlignedBuf {
        let mut b = AlignedBuf::zeros(v.len());
        b.copy_from_slice(v);
        b
    }
}

impl std::fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AlignedBuf({} f64)", self.len)
    }
}

impl std::ops::Deref for AlignedBuf {
    type Target = [f64];
    fn deref(&self) -> &[f64] {
        // SAFETY: `lines` holds `len.div_ceil(8)` lines of 8 initialised f64 each, laid out
        // contiguously (`repr(C)`, size 64), so its first `len` f64 are valid for reads.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr().cast::<f64>(), self.len) }
    }
}

impl std::ops::DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [f64] {
        // SAFETY: as in `deref`, and `&mut self` makes the borrow exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr().cast::<f64>(), self.len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chunks tile the group in order, stay within `chunk`, keep one set each where node types
    /// come in runs, and cut runs on whole vectors.
    #[test]
    fn chunks_follow_runs_and_cut_them_on_whole_vectors() {
        let runs = [(0u32, 800usize), (1, 800), (2, 30), (3, 301), (4, 9)];
        let set_of: Vec<u32> = runs
            .iter()
            .flat_map(|&(k, len)| std::iter::repeat_n(k, len))
            .collect();
        let starts: Vec<usize> = runs
            .iter()
            .scan(0, |a, &(_, len)| {
                *a += len;
                Some(*a - len)
            })
            .collect();
        let chunks = plan_chunks(&set_of, 128);
        let mut next = 0;
        for &(c0, c1, set) in &chunks {
            assert_eq!(c0, next, "chunks {chunks:?} leave a gap");
            assert!(c1 > c0 && c1 - c0 <= 128, "chunk {c0}..{c1} too long");
            assert_eq!(set, Some(set_of[c0]));
            assert!(set_of[c0..c1].iter().all(|&k| k == set_of[c0]));
            assert!(
                c0.is_multiple_of(LANES) || starts.contains(&c0),
                "chunk {c0}..{c1} starts inside a run off the vector grid"
            );
            next = c1;
        }
        assert_eq!(next, set_of.len());
        assert_eq!(chunks.iter().filter(|c| c.2 == Some(0)).count(), 7);
    }

    #[test]
    fn aligned_buffers_start_on_a_line() {
        for len in [1, 7, 8, 1000, 100_003] {
            let b = AlignedBuf::zeros(len);
            assert_eq!(b.len(), len);
            assert_eq!(b.as_ptr() as usize % 64, 0);
            assert!(b.iter().all(|&x| x == 0.0));
        }
    }
}
