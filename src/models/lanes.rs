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
    let mut out = Vec::new();
    for (a, b) in runs {
        let pieces = (b - a).div_ceil(chunk);
        for k in 0..pieces {
            let (c0, c1) = (a + k * (b - a) / pieces, a + (k + 1) * (b - a) / pieces);
            out.push((c0, c1, Some(set_of[a])));
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
