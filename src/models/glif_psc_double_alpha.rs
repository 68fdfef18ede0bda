//! NEST `glif_psc_double_alpha` (GLIF levels 1–5 with two alpha-shaped currents per receptor
//! port), one SoA group.
//!
//! Everything but the synapses is glif_psc (glif.md §3.4, constants from
//! [`GlifConsts`](super::glif_common::GlifConsts), the same neutral coefficients for missing
//! mechanisms, so no per-neuron branch on the level). Per port i the synaptic state is two
//! (y1, y2) pairs, "fast" and "slow", each propagated like glif_psc's single alpha with its own
//! time constant (glif.md §12.3); a weight W adds e/τ_f·W to y1_f and a·e/τ_s·W to y1_s.
//!
//! Layout: state and constants in arrays over neurons (`k·n + i` for the ASCs, `r·n + i` for the
//! synaptic rows, row `r = 2·port + c`, c = 0 fast, 1 slow). Neurons are stepped in chunks of
//! at most [`CHUNK`] over the whole block (they are independent within a block). Chunks follow
//! the node-type runs (`lanes::plan_chunks`), so a chunk whose neurons share a parameter set
//! reads its constants as scalars ([`Uni`]), otherwise per neuron ([`Per`]) — one generic
//! kernel, identical arithmetic. There are no hand-written AVX-512 lanes (unlike glif_psc);
//! the kernel is compiled for AVX-512F or AVX2 where the CPU has them. Each step of a chunk is
//! a few passes whose inner loops run over the chunk's neurons with no data-dependent branch
//! (the level's mechanisms and the refractory state are selects), so the compiler vectorises
//! them; the rare resets after a spike take a scalar path. Each chunk integrates only the ports
//! some of its neurons can receive weight on ([`GlifPscDoubleAlphaGroup::use_ports`]).

use super::glif_common::{alpha_port, GlifConsts};
use super::lanes::{plan_chunks, Co, Per, Uni};
use super::params::GlifPscDoubleAlphaParams;
use super::{sort_spikes_from, BlockInput, ModelError};

/// Neurons per chunk: a chunk's state and constants stay in L1/L2 across the block.
const CHUNK: usize = 64;

/// Per-neuron constants (glif.md §3.2 and §12.3).
#[derive(Debug, Clone, Default)]
struct Consts {
    p33: Vec<f64>,
    p30: Vec<f64>,
    th_inf: Vec<f64>,
    e_l: Vec<f64>,
    ds: Vec<f64>,
    ds_ref: Vec<f64>,
    th_add: Vec<f64>,
    fv: Vec<f64>,
    vadd: Vec<f64>,
    pv: Vec<f64>,
    dv_inv: Vec<f64>,
    phi: Vec<f64>,
    rho: Vec<f64>,
    g: Vec<f64>,
    refr_n: Vec<u64>,
    /// ASC `a` of neuron `i` at `a·n + i`.
    asc_s: Vec<f64>,
    asc_d: Vec<f64>,
    asc_dref: Vec<f64>,
    asc_amp: Vec<f64>,
    /// Synaptic row `r = 2·port + c` (c = 0 fast, 1 slow) of neuron `i` at `r·n + i`:
    /// P11 = P22, P21, P31, P32 and the jump per unit weight (e/τ_f, a·e/τ_s).
    p11: Vec<f64>,
    p21: Vec<f64>,
    p31: Vec<f64>,
    p32: Vec<f64>,
    jump: Vec<f64>,
}

/// The constants the per-step passes read, for one chunk: one value for the whole chunk
/// ([`Uni`], all its neurons share a parameter set) or one per neuron ([`Per`]). Both are the
/// same generic kernel, so the arithmetic is identical. Synaptic rows as in [`Consts`].
#[derive(Debug, Clone)]
struct KernelCo<C> {
    p33: C,
    p30: C,
    th_inf: C,
    ds: C,
    pv: C,
    dv_inv: C,
    phi: C,
    rho: C,
    g: C,
    asc_s: Vec<C>,
    asc_d: Vec<C>,
    p11: Vec<C>,
    p21: Vec<C>,
    p31: Vec<C>,
    p32: Vec<C>,
    jump: Vec<C>,
}

/// Dynamic state (glif.md §3.3 with two alpha pairs per port), same indexing as [`Consts`].
#[derive(Debug, Clone, Default)]
struct State {
    u: Vec<f64>,
    th_s: Vec<f64>,
    th_v: Vec<f64>,
    asc: Vec<f64>,
    asc_sum: Vec<f64>,
    i_ext: Vec<f64>,
    i_syn: Vec<f64>,
    refr: Vec<u64>,
    y1: Vec<f64>,
    y2: Vec<f64>,
}

/// SoA state and constants of a `glif_psc_double_alpha` population.
#[derive(Debug, Clone)]
pub struct GlifPscDoubleAlphaGroup {
    n: usize,
    n_ports: usize,
    n_asc: usize,
    dt: f64,
    /// Some set has an adapting (voltage-dependent) threshold.
    any_a: bool,
    /// Whether `asc_sum` and `i_syn` are kept up to date (only samples read them).
    sums: bool,
    /// Chunks `(c0, c1, set)` of at most [`CHUNK`] neurons; `set`: the parameter set all
    /// their neurons share (they follow the node-type runs where there are runs).
    chunks: Vec<(usize, usize, Option<u32>)>,
    /// Per chunk, the ports it integrates (increasing).
    ports: Vec<Vec<usize>>,
    k: Consts,
    /// Scalar kernel constants of each parameter set (uniform chunks).
    uni: Vec<KernelCo<Uni>>,
    st: State,
}

impl GlifPscDoubleAlphaGroup {
    /// Build from parameter sets (same number of ports) and the set index of each neuron;
    /// constants are computed once per set.
    pub fn new(
        sets: &[&GlifPscDoubleAlphaParams],
        set_of: &[u32],
        dt: f64,
    ) -> Result<GlifPscDoubleAlphaGroup, ModelError> {
        let n = set_of.len();
        let n_ports = sets.first().map(|p| p.n_ports()).unwrap_or(0);
        if let Some(p) = sets.iter().find(|p| p.n_ports() != n_ports) {
            return Err(ModelError::Group(format!(
                "glif_psc_double_alpha sets with {} and {n_ports} ports in one group",
                p.n_ports()
            )));
        }
        let n_asc = sets
            .iter()
            .filter(|p| p.glif.after_spike_currents)
            .map(|p| p.glif.asc_decay.len())
            .max()
            .unwrap_or(0);
        let core: Vec<GlifConsts> = sets
            .iter()
            .map(|p| GlifConsts::new(&p.glif, dt, n_asc))
            .collect();
        // per set and synaptic row: (P11, P21, P31, P32, jump)
        let syn: Vec<Vec<[f64; 5]>> = sets
            .iter()
            .map(|p| {
                let mut rows = Vec::with_capacity(2 * n_ports);
                for i in 0..n_ports {
                    let (tf, ts) = (p.tau_syn_fast[i], p.tau_syn_slow[i]);
                    let (a11, a21, a31, a32) = alpha_port(&p.glif, tf, dt);
                    rows.push([a11, a21, a31, a32, 1.0 * std::f64::consts::E / tf]);
                    let (b11, b21, b31, b32) = alpha_port(&p.glif, ts, dt);
                    let jump = 1.0 * std::f64::consts::E / ts * p.amp_slow[i];
                    rows.push([b11, b21, b31, b32, jump]);
                }
                rows
            })
            .collect();
        let per = |f: &dyn Fn(&GlifConsts) -> f64| -> Vec<f64> {
            set_of.iter().map(|&s| f(&core[s as usize])).collect()
        };
        let per_k = |k_n: usize, f: &dyn Fn(usize, usize) -> f64| -> Vec<f64> {
            let mut v = vec![0.0; k_n * n];
            for k in 0..k_n {
                for (i, &s) in set_of.iter().enumerate() {
                    v[k * n + i] = f(s as usize, k);
                }
            }
            v
        };
        let nr = 2 * n_ports;
        let k = Consts {
            p33: per(&|c| c.p33),
            p30: per(&|c| c.p30),
            th_inf: per(&|c| c.th_inf),
            e_l: per(&|c| c.e_l),
            ds: per(&|c| c.ds),
            ds_ref: per(&|c| c.ds_ref),
            th_add: per(&|c| c.th_add),
            fv: per(&|c| c.fv),
            vadd: per(&|c| c.vadd),
            pv: per(&|c| c.pv),
            dv_inv: per(&|c| c.dv_inv),
            phi: per(&|c| c.phi),
            rho: per(&|c| c.rho),
            g: per(&|c| c.g),
            refr_n: set_of
                .iter()
                .map(|&s| u64::from(core[s as usize].refr))
                .collect(),
            asc_s: per_k(n_asc, &|s, a| core[s].asc_s[a]),
            asc_d: per_k(n_asc, &|s, a| core[s].asc_d[a]),
            asc_dref: per_k(n_asc, &|s, a| core[s].asc_dref[a]),
            asc_amp: per_k(n_asc, &|s, a| core[s].asc_amp[a]),
            p11: per_k(nr, &|s, r| syn[s][r][0]),
            p21: per_k(nr, &|s, r| syn[s][r][1]),
            p31: per_k(nr, &|s, r| syn[s][r][2]),
            p32: per_k(nr, &|s, r| syn[s][r][3]),
            jump: per_k(nr, &|s, r| syn[s][r][4]),
        };
        let st = State {
            u: per(&|c| c.u0),
            th_s: vec![0.0; n],
            th_v: vec![0.0; n],
            asc: per_k(n_asc, &|s, a| core[s].asc0[a]),
            asc_sum: vec![0.0; n],
            i_ext: vec![0.0; n],
            i_syn: vec![0.0; n],
            refr: vec![0; n],
            y1: vec![0.0; nr * n],
            y2: vec![0.0; nr * n],
        };
        let chunks = plan_chunks(set_of, CHUNK);
        let uni = core
            .iter()
            .zip(&syn)
            .map(|(c, rows)| {
                let u = |v: &[f64]| v.iter().map(|&x| Uni(x)).collect::<Vec<_>>();
                let r = |q: usize| rows.iter().map(|x| Uni(x[q])).collect::<Vec<_>>();
                KernelCo {
                    p33: Uni(c.p33),
                    p30: Uni(c.p30),
                    th_inf: Uni(c.th_inf),
                    ds: Uni(c.ds),
                    pv: Uni(c.pv),
                    dv_inv: Uni(c.dv_inv),
                    phi: Uni(c.phi),
                    rho: Uni(c.rho),
                    g: Uni(c.g),
                    asc_s: u(&c.asc_s),
                    asc_d: u(&c.asc_d),
                    p11: r(0),
                    p21: r(1),
                    p31: r(2),
                    p32: r(3),
                    jump: r(4),
                }
            })
            .collect();
        let ports = vec![(0..n_ports).collect(); chunks.len()];
        Ok(GlifPscDoubleAlphaGroup {
            n,
            n_ports,
            n_asc,
            dt,
            any_a: sets.iter().any(|p| p.glif.adapting_threshold),
            sums: true,
            chunks,
            ports,
            k,
            uni,
            st,
        })
    }

    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    pub fn n_ports(&self) -> usize {
        self.n_ports
    }

    pub fn dt(&self) -> f64 {
        self.dt
    }

    /// Whether port `p` of any neuron in `c0..c1` holds a non-zero synaptic state.
    fn port_busy(&self, p: usize, c0: usize, c1: usize) -> bool {
        let n = self.n;
        (2 * p..2 * p + 2).any(|r| {
            let (a, b) = (
                &self.st.y1[r * n + c0..r * n + c1],
                &self.st.y2[r * n + c0..r * n + c1],
            );
            a.iter().chain(b).any(|&x| x != 0.0)
        })
    }

    /// Stop integrating the ports that can never receive weight: bit `p` of `used[i]` is set
    /// when port `p` of neuron `i` has a synapse or input (ports ≥ 64 always count as used).
    /// Each chunk keeps the ports any of its neurons uses (or whose state is not 0). A skipped
    /// port's state stays exactly 0 and would only add exact zeros to V (glif.md §12.3), so no
    /// value changes (at most the sign of an exact-zero sum).
    pub fn use_ports(&mut self, used: &[u64]) {
        assert_eq!(used.len(), self.n, "use_ports: one mask per neuron");
        for ci in 0..self.chunks.len() {
            let (c0, c1, _) = self.chunks[ci];
            let mask = used[c0..c1].iter().fold(0u64, |a, &m| a | m);
            let live: Vec<usize> = (0..self.n_ports)
                .filter(|&p| p >= 64 || (mask >> p) & 1 == 1 || self.port_busy(p, c0, c1))
                .collect();
            self.ports[ci] = live;
        }
    }

    /// Declare the variables that will be sampled: without `ASCurrents_sum` and `I_syn` the
    /// step stops updating those two sums (nothing else depends on them).
    pub fn record(&mut self, vars: &[&str]) {
        self.sums = vars
            .iter()
            .any(|v| matches!(*v, "ASCurrents_sum" | "I_syn"));
    }

    /// Neuron `i`'s dynamic state (see `ModelGroup::save_state`): V, θ_s, θ_v, the current of
    /// the last step, ASC sum, I_syn, the refractory count, the ASCs, then per port y1 and y2
    /// of the fast and of the slow alpha.
    pub fn save_state(&mut self, i: usize) -> Vec<f64> {
        let (n, st) = (self.n, &self.st);
        let mut v = vec![
            st.u[i],
            st.th_s[i],
            st.th_v[i],
            st.i_ext[i],
            st.asc_sum[i],
            st.i_syn[i],
            st.refr[i] as f64,
        ];
        v.extend((0..self.n_asc).map(|a| st.asc[a * n + i]));
        for r in 0..2 * self.n_ports {
            v.extend([st.y1[r * n + i], st.y2[r * n + i]]);
        }
        v
    }

    /// Restore what [`Self::save_state`] saved (for a neuron of the same parameters). A port
    /// with a non-zero state is integrated from now on even if `use_ports` had dropped it.
    pub fn load_state(&mut self, i: usize, v: &[f64]) {
        let (n, na, np) = (self.n, self.n_asc, self.n_ports);
        assert_eq!(
            v.len(),
            7 + na + 4 * np,
            "glif_psc_double_alpha state of neuron {i}"
        );
        let st = &mut self.st;
        st.u[i] = v[0];
        st.th_s[i] = v[1];
        st.th_v[i] = v[2];
        st.i_ext[i] = v[3];
        st.asc_sum[i] = v[4];
        st.i_syn[i] = v[5];
        st.refr[i] = v[6] as u64;
        for a in 0..na {
            st.asc[a * n + i] = v[7 + a];
        }
        for r in 0..2 * np {
            st.y1[r * n + i] = v[7 + na + 2 * r];
            st.y2[r * n + i] = v[8 + na + 2 * r];
        }
        let ci = self.chunks.partition_point(|c| c.1 <= i);
        for p in 0..np {
            let busy =
                (2 * p..2 * p + 2).any(|r| v[7 + na + 2 * r] != 0.0 || v[8 + na + 2 * r] != 0.0);
            if busy && !self.ports[ci].contains(&p) {
                self.ports[ci].push(p);
                self.ports[ci].sort_unstable();
            }
        }
    }

    /// Recordables as NEST reports them (V_m and threshold absolute, glif.md §3.1 / §12.3).
    pub fn sample(&self, var: &str, i: usize) -> Option<f64> {
        let (st, k) = (&self.st, &self.k);
        Some(match var {
            "V_m" => st.u[i] + k.e_l[i],
            "threshold" => st.th_s[i] + st.th_v[i] + k.th_inf[i] + k.e_l[i],
            "threshold_spike" => st.th_s[i],
            "threshold_voltage" => st.th_v[i],
            "ASCurrents_sum" => st.asc_sum[i],
            "I" => st.i_ext[i],
            "I_syn" => st.i_syn[i],
            _ => return None,
        })
    }

    /// Advance by `input.n_steps` steps (module contract in `models/mod.rs`).
    pub fn advance(&mut self, input: &mut BlockInput, spikes: &mut Vec<(u32, u32)>) {
        let first = spikes.len();
        for ci in 0..self.chunks.len() {
            let (c0, c1, set) = self.chunks[ci];
            let (a, sums) = (self.any_a, self.sums);
            macro_rules! run {
                ($co:expr) => {{
                    let job = Job {
                        k: &self.k,
                        co: $co,
                        st: &mut self.st,
                        n: self.n,
                        n_ports: self.n_ports,
                        n_asc: self.n_asc,
                        ports: &self.ports[ci],
                        c0,
                        c1,
                    };
                    match (a, sums) {
                        (true, true) => kernel::<_, true, true>(job, input, spikes),
                        (true, false) => kernel::<_, true, false>(job, input, spikes),
                        (false, true) => kernel::<_, false, true>(job, input, spikes),
                        (false, false) => kernel::<_, false, false>(job, input, spikes),
                    }
                }};
            }
            match set {
                Some(k) => run!(&self.uni[k as usize]),
                None => {
                    let (k, n) = (&self.k, self.n);
                    fn rows(v: &[f64], kn: usize, n: usize, c0: usize, c1: usize) -> Vec<Per<'_>> {
                        (0..kn).map(|r| Per(&v[r * n + c0..r * n + c1])).collect()
                    }
                    let per_k = |v, kn| rows(v, kn, n, c0, c1);
                    let (na, nr) = (self.n_asc, 2 * self.n_ports);
                    let co = KernelCo {
                        p33: Per(&k.p33[c0..c1]),
                        p30: Per(&k.p30[c0..c1]),
                        th_inf: Per(&k.th_inf[c0..c1]),
                        ds: Per(&k.ds[c0..c1]),
                        pv: Per(&k.pv[c0..c1]),
                        dv_inv: Per(&k.dv_inv[c0..c1]),
                        phi: Per(&k.phi[c0..c1]),
                        rho: Per(&k.rho[c0..c1]),
                        g: Per(&k.g[c0..c1]),
                        asc_s: per_k(&k.asc_s, na),
                        asc_d: per_k(&k.asc_d, na),
                        p11: per_k(&k.p11, nr),
                        p21: per_k(&k.p21, nr),
                        p31: per_k(&k.p31, nr),
                        p32: per_k(&k.p32, nr),
                        jump: per_k(&k.jump, nr),
                    };
                    run!(&co)
                }
            }
        }
        if self.chunks.len() > 1 {
            sort_spikes_from(spikes, first);
        }
    }
}

/// One chunk `c0..c1` of a group: its constants (per neuron in `k` for the resets, `co` for
/// the step), state and integrated ports.
struct Job<'a, C> {
    k: &'a Consts,
    co: &'a KernelCo<C>,
    st: &'a mut State,
    n: usize,
    n_ports: usize,
    n_asc: usize,
    ports: &'a [usize],
    c0: usize,
    c1: usize,
}

/// Compiled for AVX-512 / AVX2 when the CPU has them: only wider vectors are enabled, no FMA
/// contraction (Rust never fuses a·b + c), so every path gives the same bits.
fn kernel<C: Co, const A: bool, const S: bool>(
    j: Job<C>,
    input: &mut BlockInput,
    spikes: &mut Vec<(u32, u32)>,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked just above).
            unsafe { kernel_avx512::<C, A, S>(j, input, spikes) };
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { kernel_avx2::<C, A, S>(j, input, spikes) };
            return;
        }
    }
    kernel_body::<C, A, S>(j, input, spikes)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn kernel_avx512<C: Co, const A: bool, const S: bool>(
    j: Job<C>,
    input: &mut BlockInput,
    spikes: &mut Vec<(u32, u32)>,
) {
    kernel_body::<C, A, S>(j, input, spikes)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn kernel_avx2<C: Co, const A: bool, const S: bool>(
    j: Job<C>,
    input: &mut BlockInput,
    spikes: &mut Vec<(u32, u32)>,
) {
    kernel_body::<C, A, S>(j, input, spikes)
}

/// Advance neurons `c0..c1` over the block: glif.md §3.4 items 1–8 with the synaptic changes
/// of §12.3, in NEST's order of operations. `A`: some neuron has an adapting threshold;
/// `S`: keep `asc_sum` and `I_syn` up to date.
#[inline(always)]
fn kernel_body<C: Co, const A: bool, const S: bool>(
    j: Job<C>,
    input: &mut BlockInput,
    spikes: &mut Vec<(u32, u32)>,
) {
    let Job {
        k,
        co,
        st,
        n,
        n_ports: np,
        n_asc,
        ports,
        c0,
        c1,
    } = j;
    let m = c1 - c0;
    let r = c0..c1;
    let mut act = [false; CHUNK];
    let mut fire = [false; CHUNK];
    let mut sum = [0.0f64; CHUNK];
    let mut u_new = [0.0f64; CHUNK];
    let mut isyn = [0.0f64; CHUNK];
    let (act, fire, sum) = (&mut act[..m], &mut fire[..m], &mut sum[..m]);
    let (u_new, isyn) = (&mut u_new[..m], &mut isyn[..m]);
    let (p33, p30, th_inf, ds) = (co.p33, co.p30, co.th_inf, co.ds);
    let (pv, dv_inv, phi, rho, g) = (co.pv, co.dv_inv, co.phi, co.rho, co.g);
    for s in 0..input.n_steps {
        // Item 1: integrate unless refractory. The countdown happens here; neurons that fire
        // this step get their full count in the reset path below.
        for (a, x) in act.iter_mut().zip(&mut st.refr[r.clone()]) {
            *a = *x == 0;
            *x = x.saturating_sub(1);
        }
        // Item 2: ASC step mean and one-step decay; frozen while refractory.
        sum.fill(0.0);
        for a in 0..n_asc {
            let o = a * n;
            let x = &mut st.asc[o + c0..o + c1];
            let (sc, dc) = (co.asc_s[a], co.asc_d[a]);
            for i in 0..m {
                let v = x[i];
                sum[i] += sc.at(i) * v;
                x[i] = if act[i] { v * dc.at(i) } else { v };
            }
        }
        // Item 3: U = v_old·P33 + (I + asc_sum)·P30, then per port
        // U += P31_f·y1_f + P32_f·y2_f + P31_s·y1_s + P32_s·y2_s (§12.3).
        {
            let (u, ie) = (&st.u[r.clone()], &st.i_ext[r.clone()]);
            for i in 0..m {
                u_new[i] = u[i] * p33.at(i) + (ie[i] + sum[i]) * p30.at(i);
                isyn[i] = 0.0;
            }
        }
        // Item 7 fused in: once a port's states have acted on U they advance one step
        // (y2 ← P21·y1 + P22·y2; y1 ← P11·y1 + jump·W, P22 = P11) — the synapses do not depend
        // on the spike test.
        for &p in ports {
            let o = (s * np + p) * input.row;
            let w = &input.syn[o + c0..o + c1];
            let (f, sl) = ((2 * p) * n, (2 * p + 1) * n);
            let (y1f, y1s) = split_rows(&mut st.y1, f, sl, c0, m);
            let (y2f, y2s) = split_rows(&mut st.y2, f, sl, c0, m);
            let (rf, rs) = (2 * p, 2 * p + 1);
            let (p11f, p11s) = (co.p11[rf], co.p11[rs]);
            let (p21f, p21s) = (co.p21[rf], co.p21[rs]);
            let (p31f, p31s) = (co.p31[rf], co.p31[rs]);
            let (p32f, p32s) = (co.p32[rf], co.p32[rs]);
            let (jf, js) = (co.jump[rf], co.jump[rs]);
            for i in 0..m {
                let (af, bf, as_, bs) = (y1f[i], y2f[i], y1s[i], y2s[i]);
                u_new[i] += p31f.at(i) * af + p32f.at(i) * bf + p31s.at(i) * as_ + p32s.at(i) * bs;
                if S {
                    isyn[i] += bf + bs;
                }
                y2f[i] = p21f.at(i) * af + p11f.at(i) * bf;
                y1f[i] = af * p11f.at(i) + jf.at(i) * w[i];
                y2s[i] = p21s.at(i) * as_ + p11s.at(i) * bs;
                y1s[i] = as_ * p11s.at(i) + js.at(i) * w[i];
            }
            input.consume_lanes(s, np, [p], c0, m);
        }
        // Items 4, 5, 6 (test): thresholds and the spike test as selects.
        {
            let u = &mut st.u[r.clone()];
            let th_s = &mut st.th_s[r.clone()];
            let th_v = &mut st.th_v[r.clone()];
            let ie = &st.i_ext[r.clone()];
            for i in 0..m {
                let a = act[i];
                let (vo, un, ts0, tv0) = (u[i], u_new[i], th_s[i], th_v[i]);
                let tvn = if A {
                    // Item 4: the exact θ_v step from v_old with this step's drive.
                    let beta = (ie[i] + sum[i]) / g.at(i);
                    let (phi, rho) = (phi.at(i), rho.at(i));
                    phi * (vo - beta) * pv.at(i)
                        + dv_inv.at(i) * (tv0 - phi * (vo - beta) - rho * beta)
                        + rho * beta
                } else {
                    tv0
                };
                // ds = 1 for levels without θ_s, so the product is exact for them.
                let tsn = ts0 * ds.at(i);
                let ts = if a { tsn } else { ts0 };
                let tv = if a { tvn } else { tv0 };
                let threshold = ts + tv + th_inf.at(i);
                th_s[i] = ts;
                th_v[i] = tv;
                // v_old is kept in u_new for the reset path
                u[i] = if a { un } else { vo };
                u_new[i] = vo;
                fire[i] = a & (un > threshold);
            }
            if S {
                let asc_sum = &mut st.asc_sum[r.clone()];
                let i_syn = &mut st.i_syn[r.clone()];
                for i in 0..m {
                    asc_sum[i] = if act[i] { sum[i] } else { asc_sum[i] };
                    i_syn[i] = if act[i] { isyn[i] } else { i_syn[i] };
                }
            }
        }
        // Item 6 (resets): rare, scalar. `u_new` holds v_old now.
        if fire.iter().any(|&f| f) {
            for i in (0..m).filter(|&i| fire[i]) {
                let j = c0 + i;
                st.refr[j] = k.refr_n[j];
                for a in 0..n_asc {
                    let x = a * n + j;
                    st.asc[x] = k.asc_amp[x] + st.asc[x] * k.asc_dref[x];
                }
                st.u[j] = k.fv[j] * u_new[i] + k.vadd[j];
                st.th_s[j] = st.th_s[j] * k.ds_ref[j] + k.th_add[j];
                spikes.push((j as u32, s as u32));
            }
        }
        // Item 8: the current delivered in this step is used from the next step on.
        match input.current {
            Some(c) => st.i_ext[r.clone()].copy_from_slice(&c[s * n + c0..s * n + c1]),
            None if s == 0 => st.i_ext[r.clone()].fill(0.0),
            None => {}
        }
    }
}

/// The fast and slow rows `f < sl` of `v` (offsets of row starts), neurons `c0..c0 + m`, as two
/// disjoint mutable slices.
#[inline(always)]
fn split_rows(v: &mut [f64], f: usize, sl: usize, c0: usize, m: usize) -> (&mut [f64], &mut [f64]) {
    let (lo, hi) = v.split_at_mut(sl);
    (&mut lo[f + c0..f + c0 + m], &mut hi[c0..c0 + m])
}
