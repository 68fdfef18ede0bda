//! NEST `iaf_psc_alpha`, `iaf_psc_exp` and `iaf_psc_delta` (the other point models of the bmtk
//! examples, sonata-bmtk.md §5.7), exact integration in NEST's order of operations.
//!
//! Each group keeps per-neuron (broadcast) constants computed once per parameter set. The
//! membrane and synapse updates are per-neuron loops without branches on the model; the
//! refractory and threshold tests are cheap, well-predicted branches.

#![allow(clippy::needless_range_loop)] // several parallel SoA arrays indexed by neuron

use super::lanes::{plan_chunks, prefetch_at, AlignedBuf, Co, Per, Uni, LANES, STORE_PAD};
use super::params::{IafPscAlphaParams, IafPscDeltaParams, IafPscExpParams};
use super::propagators::{alpha_p31_p32, exp_p21, refractory_steps};
use super::{sort_spikes_from, BlockInput, ModelError};

/// Neurons per chunk (their state stays in cache across the block).
const CHUNK: usize = 256;

/// Length of each state array of an [`AlphaLocal`] (see [`STORE_PAD`]).
const ROW: usize = CHUNK + STORE_PAD;

/// Run `f` compiled with AVX2 enabled when the CPU has it (wider vectors only: Rust never
/// contracts a·b + c into an FMA, so results are bit-identical either way).
#[inline(always)]
fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 is available (checked just above).
            return unsafe { avx2(f) };
        }
    }
    f()
}

/// `per` with `LANES` spare zeros (constants read by padding lanes).
fn per_padded<T: Copy + Default, S>(sets: &[S], set_of: &[u32], f: impl Fn(&S) -> T) -> Vec<T> {
    let mut v = per(sets, set_of, f);
    v.resize(v.len() + LANES, T::default());
    v
}

/// One `iaf_psc_alpha` chunk's state in fixed-size arrays (lane `k` = neuron `c0 + k`; lanes
/// past the chunk never integrate and, at V = -inf, never fire): they cannot alias and their
/// length is known, so the one-pass step vectorises without runtime checks. Line-aligned, so
/// every 8-lane access touches one cache line (arrays are whole lines long).
#[repr(C, align(64))]
struct AlphaLocal {
    r: [u64; ROW],
    y3: [f64; ROW],
    y0: [f64; ROW],
    di_ex: [f64; ROW],
    i_ex: [f64; ROW],
    di_in: [f64; ROW],
    i_in: [f64; ROW],
    fire: [u64; ROW],
}

impl std::fmt::Debug for AlphaLocal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AlphaLocal")
    }
}

impl Clone for AlphaLocal {
    fn clone(&self) -> Self {
        AlphaLocal { ..*self }
    }
}

fn per<T: Copy, S>(sets: &[S], set_of: &[u32], f: impl Fn(&S) -> T) -> Vec<T> {
    let vals: Vec<T> = sets.iter().map(f).collect();
    set_of.iter().map(|&k| vals[k as usize]).collect()
}

/// [`per`] for the arrays the vector loops read: line-aligned ([`AlignedBuf`]).
fn per_f64<S>(sets: &[S], set_of: &[u32], f: impl Fn(&S) -> f64) -> AlignedBuf {
    AlignedBuf::from_slice(&per(sets, set_of, f))
}

/// `iaf_psc_alpha`: alpha-shaped excitatory (port 0) and inhibitory (port 1) currents.
#[derive(Debug, Clone)]
pub struct IafPscAlphaGroup {
    n: usize,
    dt: f64,
    e_l: Vec<f64>,
    i_e: Vec<f64>,
    theta: Vec<f64>,
    v_reset: Vec<f64>,
    v_min: Vec<f64>,
    refr_n: Vec<u32>,
    p30: Vec<f64>,
    expm1_tau_m: Vec<f64>,
    p11_ex: Vec<f64>,
    p21_ex: Vec<f64>,
    p31_ex: Vec<f64>,
    p32_ex: Vec<f64>,
    p11_in: Vec<f64>,
    p21_in: Vec<f64>,
    p31_in: Vec<f64>,
    p32_in: Vec<f64>,
    psc0_ex: Vec<f64>,
    psc0_in: Vec<f64>,
    /// Per kernel chunk, its state in chunk-local arrays (no copies around blocks).
    stores: Vec<Box<AlphaLocal>>,
    /// Kernel chunks `(c0, c1, set)` following the node-type runs (see `lanes::plan_chunks`).
    chunks: Vec<(usize, usize, Option<u32>)>,
    /// Scalar constants of each parameter set (uniform chunks).
    uni: Vec<AlphaK<Uni>>,
}

/// The constants of the `iaf_psc_alpha` step: one value per chunk ([`Uni`]) or per neuron.
#[derive(Debug, Clone, Copy)]
struct AlphaK<C> {
    p30: C,
    i_e: C,
    em1: C,
    p31e: C,
    p32e: C,
    p31i: C,
    p32i: C,
    p11e: C,
    p21e: C,
    p11i: C,
    p21i: C,
    e0: C,
    i0: C,
    v_min: C,
    theta: C,
    v_reset: C,
}

impl IafPscAlphaGroup {
    pub fn new(
        sets: &[&IafPscAlphaParams],
        set_of: &[u32],
        h: f64,
    ) -> Result<IafPscAlphaGroup, ModelError> {
        let n = set_of.len();
        let pr_ex: Vec<(f64, f64)> = sets
            .iter()
            .map(|p| alpha_p31_p32(p.tau_syn_ex, p.tau_m, p.c_m, h))
            .collect();
        let pr_in: Vec<(f64, f64)> = sets
            .iter()
            .map(|p| alpha_p31_p32(p.tau_syn_in, p.tau_m, p.c_m, h))
            .collect();
        let idx: Vec<usize> = (0..sets.len()).collect();
        let mut g = IafPscAlphaGroup {
            n,
            dt: h,
            e_l: per(sets, set_of, |p| p.e_l),
            i_e: per_padded(sets, set_of, |p| p.i_e),
            theta: per_padded(sets, set_of, |p| p.theta),
            v_reset: per_padded(sets, set_of, |p| p.v_reset_rel),
            v_min: per_padded(sets, set_of, |p| p.v_min_rel),
            refr_n: per(sets, set_of, |p| refractory_steps(p.t_ref, h)),
            p30: per_padded(sets, set_of, |p| -p.tau_m / p.c_m * (-h / p.tau_m).exp_m1()),
            expm1_tau_m: per_padded(sets, set_of, |p| (-h / p.tau_m).exp_m1()),
            p11_ex: per_padded(sets, set_of, |p| (-h / p.tau_syn_ex).exp()),
            p21_ex: per_padded(sets, set_of, |p| h * (-h / p.tau_syn_ex).exp()),
            p31_ex: per_padded(&idx, set_of, |&k| pr_ex[k].0),
            p32_ex: per_padded(&idx, set_of, |&k| pr_ex[k].1),
            p11_in: per_padded(sets, set_of, |p| (-h / p.tau_syn_in).exp()),
            p21_in: per_padded(sets, set_of, |p| h * (-h / p.tau_syn_in).exp()),
            p31_in: per_padded(&idx, set_of, |&k| pr_in[k].0),
            p32_in: per_padded(&idx, set_of, |&k| pr_in[k].1),
            psc0_ex: per_padded(sets, set_of, |p| 1.0 * std::f64::consts::E / p.tau_syn_ex),
            psc0_in: per_padded(sets, set_of, |p| 1.0 * std::f64::consts::E / p.tau_syn_in),
            stores: Vec::new(),
            chunks: plan_chunks(set_of, CHUNK),
            uni: Vec::new(),
        };
        let u0 = per(sets, set_of, |p| p.u0);
        g.stores = g
            .chunks
            .iter()
            .map(|&(c0, c1, _)| {
                let mut l = Box::new(AlphaLocal {
                    r: [u64::MAX; ROW],
                    y3: [f64::NEG_INFINITY; ROW],
                    y0: [0.0; ROW],
                    di_ex: [0.0; ROW],
                    i_ex: [0.0; ROW],
                    di_in: [0.0; ROW],
                    i_in: [0.0; ROW],
                    fire: [0; ROW],
                });
                l.r[..c1 - c0].fill(0);
                l.y3[..c1 - c0].copy_from_slice(&u0[c0..c1]);
                l
            })
            .collect();
        // a set's constants are those of any of its neurons (index 0 is padding if none)
        g.uni = (0..sets.len())
            .map(|k| {
                let i = set_of.iter().position(|&x| x as usize == k).unwrap_or(0);
                let at = |v: &[f64]| Uni(v[i]);
                AlphaK {
                    p30: at(&g.p30),
                    i_e: at(&g.i_e),
                    em1: at(&g.expm1_tau_m),
                    p31e: at(&g.p31_ex),
                    p32e: at(&g.p32_ex),
                    p31i: at(&g.p31_in),
                    p32i: at(&g.p32_in),
                    p11e: at(&g.p11_ex),
                    p21e: at(&g.p21_ex),
                    p11i: at(&g.p11_in),
                    p21i: at(&g.p21_in),
                    e0: at(&g.psc0_ex),
                    i0: at(&g.psc0_in),
                    v_min: at(&g.v_min),
                    theta: at(&g.theta),
                    v_reset: at(&g.v_reset),
                }
            })
            .collect();
        Ok(g)
    }

    pub fn len(&self) -> usize {
        self.n
    }
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
    pub fn n_ports(&self) -> usize {
        2
    }
    pub fn dt(&self) -> f64 {
        self.dt
    }

    /// Neuron `i`'s dynamic state (see `ModelGroup::save_state`): V, the current of the last
    /// step, the alpha states, the refractory count.
    pub fn save_state(&mut self, i: usize) -> Vec<f64> {
        let ci = self.chunks.partition_point(|c| c.1 <= i);
        let (l, k) = (&self.stores[ci], i - self.chunks[ci].0);
        vec![
            l.y3[k],
            l.y0[k],
            l.di_ex[k],
            l.i_ex[k],
            l.di_in[k],
            l.i_in[k],
            l.r[k] as f64,
        ]
    }

    /// Restore what [`Self::save_state`] saved (for a neuron of the same parameters).
    pub fn load_state(&mut self, i: usize, v: &[f64]) {
        assert_eq!(v.len(), 7, "iaf_psc_alpha state of neuron {i}");
        let ci = self.chunks.partition_point(|c| c.1 <= i);
        let (l, k) = (&mut self.stores[ci], i - self.chunks[ci].0);
        [
            l.y3[k], l.y0[k], l.di_ex[k], l.i_ex[k], l.di_in[k], l.i_in[k],
        ] = [v[0], v[1], v[2], v[3], v[4], v[5]];
        l.r[k] = v[6] as u64;
    }

    pub fn sample(&self, var: &str, i: usize) -> Option<f64> {
        let ci = self.chunks.partition_point(|c| c.1 <= i);
        let (l, k) = (self.stores.get(ci)?, i - self.chunks[ci].0);
        Some(match var {
            "V_m" => l.y3[k] + self.e_l[i],
            "I_syn_ex" => l.i_ex[k],
            "I_syn_in" => l.i_in[k],
            _ => return None,
        })
    }

    pub fn advance(&mut self, input: &mut BlockInput, spikes: &mut Vec<(u32, u32)>) {
        let first = spikes.len();
        for ci in 0..self.chunks.len() {
            #[cfg(target_arch = "x86_64")]
            {
                if std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512vl")
                {
                    // SAFETY: AVX-512F/VL are available (checked just above).
                    unsafe { self.chunk_avx512(ci, input, spikes) };
                    continue;
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: AVX2 is available (checked just above).
                    unsafe { self.chunk_avx2(ci, input, spikes) };
                    continue;
                }
            }
            self.chunk(ci, input, spikes);
        }
        if self.chunks.len() > 1 {
            sort_spikes_from(spikes, first);
        }
    }

    /// [`Self::chunk`] compiled for AVX-512 (wider vectors and more registers only: Rust never
    /// contracts a·b + c into an FMA, so results are bit-identical on every path).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512vl,avx512dq")]
    unsafe fn chunk_avx512(
        &mut self,
        ci: usize,
        input: &mut BlockInput,
        spikes: &mut Vec<(u32, u32)>,
    ) {
        self.chunk(ci, input, spikes)
    }

    /// [`Self::chunk`] compiled for AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn chunk_avx2(
        &mut self,
        ci: usize,
        input: &mut BlockInput,
        spikes: &mut Vec<(u32, u32)>,
    ) {
        self.chunk(ci, input, spikes)
    }

    /// NEST's iaf_psc_alpha update for kernel chunk `ci` over the block: [`alpha_steps`] on the
    /// chunk's store, with scalar constants when the chunk is one node type (else per-neuron).
    #[inline(always)]
    fn chunk(&mut self, ci: usize, input: &mut BlockInput, spikes: &mut Vec<(u32, u32)>) {
        let (c0, c1, set) = self.chunks[ci];
        let m = (c1 - c0).min(CHUNK);
        let mp = m.next_multiple_of(LANES).min(CHUNK);
        let l = &mut *self.stores[ci];
        let (n, refr_n) = (self.n, &self.refr_n[..]);
        match set {
            Some(k) => {
                let kc = self.uni[k as usize];
                alpha_steps(&kc, l, refr_n, n, c0, m, input, spikes);
            }
            None => {
                // constant arrays have LANES spare entries, so c0 + mp is in range
                fn per(v: &[f64], c0: usize, mp: usize) -> Per<'_> {
                    Per(&v[c0..c0 + mp])
                }
                let c = |v| per(v, c0, mp);
                let kc = AlphaK {
                    p30: c(&self.p30),
                    i_e: c(&self.i_e),
                    em1: c(&self.expm1_tau_m),
                    p31e: c(&self.p31_ex),
                    p32e: c(&self.p32_ex),
                    p31i: c(&self.p31_in),
                    p32i: c(&self.p32_in),
                    p11e: c(&self.p11_ex),
                    p21e: c(&self.p21_ex),
                    p11i: c(&self.p11_in),
                    p21i: c(&self.p21_in),
                    e0: c(&self.psc0_ex),
                    i0: c(&self.psc0_in),
                    v_min: c(&self.v_min),
                    theta: c(&self.theta),
                    v_reset: c(&self.v_reset),
                };
                alpha_steps(&kc, l, refr_n, n, c0, m, input, spikes);
            }
        }
    }
}

/// `iaf_psc_alpha` steps of one chunk (neurons `c0..c0 + m`, state in `l`): membrane (if not
/// refractory, bounded below by V_min), alpha states, threshold `>=`, reset; one loop of
/// branch-free selects over whole vectors (padding lanes are never active and, at V = -inf,
/// never reach threshold), with the rare spike bookkeeping apart.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn alpha_steps<C: Co>(
    k: &AlphaK<C>,
    l: &mut AlphaLocal,
    refr_n: &[u32],
    n: usize,
    c0: usize,
    m: usize,
    input: &mut BlockInput,
    spikes: &mut Vec<(u32, u32)>,
) {
    let mp = m.next_multiple_of(LANES).min(CHUNK);
    let c = |x: C| x.cut(c0, mp);
    let k = AlphaK {
        p30: c(k.p30),
        i_e: c(k.i_e),
        em1: c(k.em1),
        p31e: c(k.p31e),
        p32e: c(k.p32e),
        p31i: c(k.p31i),
        p32i: c(k.p32i),
        p11e: c(k.p11e),
        p21e: c(k.p21e),
        p11i: c(k.p11i),
        p21i: c(k.p21i),
        e0: c(k.e0),
        i0: c(k.i0),
        v_min: c(k.v_min),
        theta: c(k.theta),
        v_reset: c(k.v_reset),
    };
    // the last chunk's padding lanes would read past the block: copy its weights instead
    let direct = c0 + mp <= input.row;
    let mut wbuf = [[0.0f64; CHUNK]; 2];
    for s in 0..input.n_steps {
        if !direct {
            for (p, row) in wbuf.iter_mut().enumerate() {
                let o = (s * 2 + p) * input.row + c0;
                row[..m].copy_from_slice(&input.syn[o..o + m]);
            }
        }
        let w = |p: usize| -> &[f64] {
            let o = (s * 2 + p) * input.row + c0;
            if direct {
                &input.syn[o..o + mp]
            } else {
                &wbuf[p][..mp]
            }
        };
        let (w_ex, w_in) = (w(0), w(1));
        let next = input.ahead(s + 1, 2, [0, 1], c0);
        let mut any = 0u64;
        // the next step's input, one step ahead (see `ahead`)
        for p in next {
            for i0 in (0..mp).step_by(LANES) {
                prefetch_at(p.wrapping_add(i0));
            }
        }
        for i in 0..mp {
            let rc = l.r[i];
            let a = rc == 0;
            l.r[i] = rc.saturating_sub(1);
            // membrane from the pre-step synaptic states
            let v = l.y3[i];
            let (de, ie) = (l.di_ex[i], l.i_ex[i]);
            let (dn, inn) = (l.di_in[i], l.i_in[i]);
            let vn = k.p30.at(i) * (l.y0[i] + k.i_e.at(i))
                + k.p31e.at(i) * de
                + k.p32e.at(i) * ie
                + k.p31i.at(i) * dn
                + k.p32i.at(i) * inn
                + k.em1.at(i) * v
                + v;
            let lo = k.v_min.at(i);
            let vn = if vn < lo { lo } else { vn };
            let v1 = if a { vn } else { v };
            // alpha states
            let (p11e, p11i) = (k.p11e.at(i), k.p11i.at(i));
            l.i_ex[i] = k.p21e.at(i) * de + p11e * ie;
            l.di_ex[i] = de * p11e + k.e0.at(i) * w_ex[i];
            l.i_in[i] = k.p21i.at(i) * dn + p11i * inn;
            l.di_in[i] = dn * p11i + k.i0.at(i) * w_in[i];
            // threshold and reset
            let f = v1 >= k.theta.at(i);
            l.y3[i] = if f { k.v_reset.at(i) } else { v1 };
            l.fire[i] = f as u64;
            any |= f as u64;
        }
        input.consume_lanes(s, 2, 0..2, c0, m);
        if any != 0 {
            for i in 0..m {
                if l.fire[i] != 0 {
                    l.r[i] = u64::from(refr_n[c0 + i]);
                    spikes.push(((c0 + i) as u32, s as u32));
                }
            }
        }
        match input.current {
            Some(cur) => l.y0[..m].copy_from_slice(&cur[s * n + c0..s * n + c0 + m]),
            None if s == 0 => l.y0.fill(0.0),
            None => {}
        }
    }
}

/// `iaf_psc_exp`: exponential excitatory (port 0) and inhibitory (port 1) currents; a spike of
/// weight w makes the current jump by w pA.
#[derive(Debug, Clone)]
pub struct IafPscExpGroup {
    n: usize,
    dt: f64,
    e_l: AlignedBuf,
    i_e: AlignedBuf,
    theta: AlignedBuf,
    v_reset: AlignedBuf,
    refr_n: Vec<u32>,
    p20: AlignedBuf,
    p22: AlignedBuf,
    p11_ex: AlignedBuf,
    p11_in: AlignedBuf,
    p21_ex: AlignedBuf,
    p21_in: AlignedBuf,
    v: AlignedBuf,
    i_0: AlignedBuf,
    i_ex: AlignedBuf,
    i_in: AlignedBuf,
    r: Vec<u32>,
}

impl IafPscExpGroup {
    pub fn new(
        sets: &[&IafPscExpParams],
        set_of: &[u32],
        h: f64,
    ) -> Result<IafPscExpGroup, ModelError> {
        let n = set_of.len();
        Ok(IafPscExpGroup {
            n,
            dt: h,
            e_l: per_f64(sets, set_of, |p| p.e_l),
            i_e: per_f64(sets, set_of, |p| p.i_e),
            theta: per_f64(sets, set_of, |p| p.theta),
            v_reset: per_f64(sets, set_of, |p| p.v_reset_rel),
            refr_n: per(sets, set_of, |p| refractory_steps(p.t_ref, h)),
            p20: per_f64(sets, set_of, |p| {
                p.tau_m / p.c_m * (1.0 - (-h / p.tau_m).exp())
            }),
            p22: per_f64(sets, set_of, |p| (-h / p.tau_m).exp()),
            p11_ex: per_f64(sets, set_of, |p| (-h / p.tau_syn_ex).exp()),
            p11_in: per_f64(sets, set_of, |p| (-h / p.tau_syn_in).exp()),
            p21_ex: per_f64(sets, set_of, |p| exp_p21(p.tau_syn_ex, p.tau_m, p.c_m, h)),
            p21_in: per_f64(sets, set_of, |p| exp_p21(p.tau_syn_in, p.tau_m, p.c_m, h)),
            v: per_f64(sets, set_of, |p| p.u0),
            i_0: AlignedBuf::zeros(n),
            i_ex: AlignedBuf::zeros(n),
            i_in: AlignedBuf::zeros(n),
            r: vec![0; n],
        })
    }

    pub fn len(&self) -> usize {
        self.n
    }
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
    pub fn n_ports(&self) -> usize {
        2
    }
    pub fn dt(&self) -> f64 {
        self.dt
    }

    /// Neuron `i`'s dynamic state (see `ModelGroup::save_state`).
    pub fn save_state(&mut self, i: usize) -> Vec<f64> {
        let (v, i0) = (self.v[i], self.i_0[i]);
        vec![v, i0, self.i_ex[i], self.i_in[i], f64::from(self.r[i])]
    }

    /// Restore what [`Self::save_state`] saved (for a neuron of the same parameters).
    pub fn load_state(&mut self, i: usize, v: &[f64]) {
        assert_eq!(v.len(), 5, "iaf_psc_exp state of neuron {i}");
        [self.v[i], self.i_0[i], self.i_ex[i], self.i_in[i]] = [v[0], v[1], v[2], v[3]];
        self.r[i] = v[4] as u32;
    }

    pub fn sample(&self, var: &str, i: usize) -> Option<f64> {
        Some(match var {
            "V_m" => self.v[i] + self.e_l[i],
            "I_syn_ex" => self.i_ex[i],
            "I_syn_in" => self.i_in[i],
            _ => return None,
        })
    }

    pub fn advance(&mut self, input: &mut BlockInput, spikes: &mut Vec<(u32, u32)>) {
        let first = spikes.len();
        for c0 in (0..self.n).step_by(CHUNK) {
            let c1 = (c0 + CHUNK).min(self.n);
            with_avx2(|| self.chunk(c0, c1, input, spikes));
        }
        if self.n > CHUNK {
            sort_spikes_from(spikes, first);
        }
    }

    /// NEST's iaf_psc_exp update for neurons c0..c1 over the block (branch-free selects).
    #[inline(always)]
    fn chunk(
        &mut self,
        c0: usize,
        c1: usize,
        input: &mut BlockInput,
        spikes: &mut Vec<(u32, u32)>,
    ) {
        let n = self.n;
        let m = c1 - c0;
        let (mut fire, mut act) = ([0u64; CHUNK], [0u64; CHUNK]);
        let (fire, act) = (&mut fire[..m], &mut act[..m]);
        let r = &mut self.r[c0..c1];
        let (v, i_0) = (&mut self.v[c0..c1], &mut self.i_0[c0..c1]);
        let (i_ex, i_in) = (&mut self.i_ex[c0..c1], &mut self.i_in[c0..c1]);
        let (p22, p20, i_e) = (&self.p22[c0..c1], &self.p20[c0..c1], &self.i_e[c0..c1]);
        let (p21e, p21i) = (&self.p21_ex[c0..c1], &self.p21_in[c0..c1]);
        let (p11e, p11i) = (&self.p11_ex[c0..c1], &self.p11_in[c0..c1]);
        let (theta, v_reset) = (&self.theta[c0..c1], &self.v_reset[c0..c1]);
        for s in 0..input.n_steps {
            let (ro, ri) = ((s * 2) * input.row, (s * 2 + 1) * input.row);
            let w_ex = &input.syn[ro + c0..ro + c1];
            let w_in = &input.syn[ri + c0..ri + c1];
            for i in 0..m {
                act[i] = (r[i] == 0) as u64;
                r[i] = r[i].saturating_sub(1);
            }
            for i in 0..m {
                let vo = v[i];
                let vn = vo * p22[i]
                    + i_ex[i] * p21e[i]
                    + i_in[i] * p21i[i]
                    + (i_e[i] + i_0[i]) * p20[i];
                v[i] = if act[i] != 0 { vn } else { vo };
                i_ex[i] = i_ex[i] * p11e[i] + w_ex[i];
                i_in[i] = i_in[i] * p11i[i] + w_in[i];
            }
            input.consume_lanes(s, 2, 0..2, c0, m);
            let mut any = 0u64;
            for i in 0..m {
                let (vv, vr) = (v[i], v_reset[i]);
                let f = vv >= theta[i];
                v[i] = if f { vr } else { vv };
                fire[i] = f as u64;
                any |= f as u64;
            }
            if any != 0 {
                for i in 0..m {
                    if fire[i] != 0 {
                        r[i] = self.refr_n[c0 + i];
                        spikes.push(((c0 + i) as u32, s as u32));
                    }
                }
            }
            match input.current {
                Some(c) => i_0.copy_from_slice(&c[s * n + c0..s * n + c1]),
                None => i_0.fill(0.0),
            }
        }
    }
}

/// `iaf_psc_delta`: a spike of weight w makes V jump by w mV within the step it arrives.
#[derive(Debug, Clone)]
pub struct IafPscDeltaGroup {
    n: usize,
    dt: f64,
    e_l: AlignedBuf,
    i_e: AlignedBuf,
    theta: AlignedBuf,
    v_reset: AlignedBuf,
    v_min: AlignedBuf,
    tau_m: AlignedBuf,
    refr_input: Vec<bool>,
    refr_n: Vec<u32>,
    p30: AlignedBuf,
    p33: AlignedBuf,
    y3: AlignedBuf,
    y0: AlignedBuf,
    refr_buf: AlignedBuf,
    r: Vec<u32>,
    /// Spike test of the last step, per cell (scratch of `advance`).
    fire: Vec<u8>,
}

impl IafPscDeltaGroup {
    pub fn new(
        sets: &[&IafPscDeltaParams],
        set_of: &[u32],
        h: f64,
    ) -> Result<IafPscDeltaGroup, ModelError> {
        let n = set_of.len();
        Ok(IafPscDeltaGroup {
            n,
            dt: h,
            e_l: per_f64(sets, set_of, |p| p.e_l),
            i_e: per_f64(sets, set_of, |p| p.i_e),
            theta: per_f64(sets, set_of, |p| p.theta),
            v_reset: per_f64(sets, set_of, |p| p.v_reset_rel),
            v_min: per_f64(sets, set_of, |p| p.v_min_rel),
            tau_m: per_f64(sets, set_of, |p| p.tau_m),
            refr_input: per(sets, set_of, |p| p.refractory_input),
            refr_n: per(sets, set_of, |p| refractory_steps(p.t_ref, h)),
            p30: per_f64(sets, set_of, |p| -p.tau_m / p.c_m * (-h / p.tau_m).exp_m1()),
            p33: per_f64(sets, set_of, |p| (-h / p.tau_m).exp()),
            y3: per_f64(sets, set_of, |p| p.u0),
            y0: AlignedBuf::zeros(n),
            refr_buf: AlignedBuf::zeros(n),
            r: vec![0; n],
            fire: vec![0; n],
        })
    }

    pub fn len(&self) -> usize {
        self.n
    }
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
    pub fn n_ports(&self) -> usize {
        1
    }
    pub fn dt(&self) -> f64 {
        self.dt
    }

    /// Neuron `i`'s dynamic state (see `ModelGroup::save_state`), with the input that arrived
    /// while refractory.
    pub fn save_state(&mut self, i: usize) -> Vec<f64> {
        vec![
            self.y3[i],
            self.y0[i],
            self.refr_buf[i],
            f64::from(self.r[i]),
        ]
    }

    /// Restore what [`Self::save_state`] saved (for a neuron of the same parameters).
    pub fn load_state(&mut self, i: usize, v: &[f64]) {
        assert_eq!(v.len(), 4, "iaf_psc_delta state of neuron {i}");
        [self.y3[i], self.y0[i], self.refr_buf[i]] = [v[0], v[1], v[2]];
        self.r[i] = v[3] as u32;
    }

    pub fn sample(&self, var: &str, i: usize) -> Option<f64> {
        match var {
            "V_m" => Some(self.y3[i] + self.e_l[i]),
            _ => None,
        }
    }

    /// NEST's iaf_psc_delta update per step: input arriving while refractory is banked
    /// (decayed to the end of the refractory period) when `refractory_input`, a scalar pass
    /// over the refractory cells; then every cell in one branch-free pass (membrane, banked
    /// input, V_min, countdown, threshold `>=`), then the resets of the cells that fired. Per
    /// cell the operations and their order are NEST's. (The per-cell branches of the direct
    /// form cost 8.1 ns per neuron-step in `cargo bench --bench models`; this form 5.4.)
    pub fn advance(&mut self, input: &mut BlockInput, spikes: &mut Vec<(u32, u32)>) {
        let n = self.n;
        let h = self.dt;
        let any_refr_input = self.refr_input.iter().any(|&b| b);
        for s in 0..input.n_steps {
            let w = &input.syn[s * input.row..s * input.row + n];
            if any_refr_input {
                for i in 0..n {
                    if self.r[i] != 0 && self.refr_input[i] {
                        self.refr_buf[i] += w[i] * (-(self.r[i] as f64) * h / self.tau_m[i]).exp();
                    }
                }
            }
            let mut any = false;
            let (y3, r, buf, fire) = (
                &mut self.y3[..n],
                &mut self.r[..n],
                &mut self.refr_buf[..n],
                &mut self.fire[..n],
            );
            for i in 0..n {
                let a = r[i] == 0;
                let v = self.p30[i] * (self.y0[i] + self.i_e[i]) + self.p33[i] * y3[i] + w[i];
                let banked = a & self.refr_input[i] & (buf[i] != 0.0);
                let v = if banked { v + buf[i] } else { v };
                let v = if v < self.v_min[i] { self.v_min[i] } else { v };
                buf[i] = if banked { 0.0 } else { buf[i] };
                y3[i] = if a { v } else { y3[i] };
                r[i] = if a { 0 } else { r[i].wrapping_sub(1) };
                let f = y3[i] >= self.theta[i];
                fire[i] = f as u8;
                any |= f;
            }
            if any {
                for i in 0..n {
                    if fire[i] != 0 {
                        r[i] = self.refr_n[i];
                        y3[i] = self.v_reset[i];
                        spikes.push((i as u32, s as u32));
                    }
                }
            }
            match input.current {
                Some(c) => self.y0.copy_from_slice(&c[s * n..(s + 1) * n]),
                None => self.y0.fill(0.0),
            }
            input.consume_lanes(s, 1, [0], 0, n);
        }
    }
}
