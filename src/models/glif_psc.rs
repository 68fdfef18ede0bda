//! NEST `glif_psc` (GLIF levels 1–5, alpha-shaped current synapses), one SoA group.
//!
//! The step is glif.md §3.4, in NEST's order of floating-point operations. The five levels are
//! handled without per-neuron branches on the level: a level without a mechanism gets neutral
//! coefficients (θ_s decay 1, add 0; ASC coefficients 0; θ_v coefficients 0/1; reset
//! `0·v_old + V_reset`), which reproduce NEST's values bit for bit because they only multiply
//! zeros or add exact zeros.
//!
//! Neurons are processed in cache-sized chunks over the whole block (they are independent within
//! a block); within a chunk each step runs a few passes whose inner loops run over neurons and
//! vectorise (ASCs, membrane, thresholds with masked selects, synapses); only the rare resets
//! after a spike take a scalar path. A chunk whose neurons all share one parameter set (the usual
//! case: node types are contiguous) reads its constants as scalars; otherwise from per-neuron
//! arrays. Both variants are the same generic kernel, so the arithmetic is identical.

use super::glif_common::{alpha_port, GlifConsts};
use super::lanes::{plan_chunks, prefetch_at, Co, Per, Uni, LANES, STORE_PAD};
use super::params::GlifPscParams;
use super::{sort_spikes_from, BlockInput, ModelError};

/// Neurons per chunk: state + coefficients of a chunk stay in L1/L2 across the block.
const CHUNK: usize = 128;

/// `v` with `LANES` spare zeros at the end (see [`LANES`]).
fn padded(mut v: Vec<f64>) -> Vec<f64> {
    v.resize(v.len() + LANES, 0.0);
    v
}

/// Per-parameter-set constants (glif.md §3.2), computed once per set: the shared GLIF part
/// and the alpha propagators of each port.
#[derive(Debug, Clone)]
struct SetConsts {
    core: GlifConsts,
    p11: Vec<f64>,
    p21: Vec<f64>,
    p31: Vec<f64>,
    p32: Vec<f64>,
    psc0: Vec<f64>,
}

impl std::ops::Deref for SetConsts {
    type Target = GlifConsts;
    fn deref(&self) -> &GlifConsts {
        &self.core
    }
}

impl SetConsts {
    fn new(p: &GlifPscParams, h: f64, n_asc: usize) -> SetConsts {
        let np = p.tau_syn.len();
        let (mut p11, mut p21, mut p31, mut p32, mut psc0) = (
            vec![0.0; np],
            vec![0.0; np],
            vec![0.0; np],
            vec![0.0; np],
            vec![0.0; np],
        );
        for (k, &ts) in p.tau_syn.iter().enumerate() {
            (p11[k], p21[k], p31[k], p32[k]) = alpha_port(p, ts, h);
            psc0[k] = 1.0 * std::f64::consts::E / ts;
        }
        SetConsts {
            core: GlifConsts::new(p, h, n_asc),
            p11,
            p21,
            p31,
            p32,
            psc0,
        }
    }
}

/// The constants the per-step passes read (reset constants are read on the rare spike path).
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
    psc0: Vec<C>,
}

/// Per-neuron (broadcast) constants; ports and ASCs at index k·n + i.
#[derive(Debug, Clone)]
struct PerNeuron {
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
    asc_s: Vec<f64>,
    asc_d: Vec<f64>,
    asc_dref: Vec<f64>,
    asc_amp: Vec<f64>,
    p11: Vec<f64>,
    p21: Vec<f64>,
    p31: Vec<f64>,
    p32: Vec<f64>,
    psc0: Vec<f64>,
}

/// Dynamic state (glif.md §3.3); ports and ASCs at index k·n + i.
#[derive(Debug, Clone)]
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

impl State {
    fn empty() -> State {
        State {
            u: Vec::new(),
            th_s: Vec::new(),
            th_v: Vec::new(),
            asc: Vec::new(),
            asc_sum: Vec::new(),
            i_ext: Vec::new(),
            i_syn: Vec::new(),
            refr: Vec::new(),
            y1: Vec::new(),
            y2: Vec::new(),
        }
    }
}

/// SoA state and constants of a `glif_psc` population.
#[derive(Debug, Clone)]
pub struct GlifPscGroup {
    n: usize,
    n_ports: usize,
    n_asc: usize,
    dt: f64,
    any_a: bool,
    /// Some set has a spike-dependent threshold (θ_s can leave 0).
    any_r: bool,
    /// Whether `asc_sum` and `i_syn` are kept up to date: they feed no other variable, only
    /// samples of `ASCurrents_sum` and `I_syn` (see [`GlifPscGroup::record`]).
    sums: bool,
    /// Kernel chunks `(c0, c1, set)`: `set` is the parameter set shared by all their neurons.
    chunks: Vec<(usize, usize, Option<u32>)>,
    pn: PerNeuron,
    /// State in `k·n + i` arrays, used by the multi-pass step (shapes without a one-pass step).
    st: State,
    /// Per chunk, its state in chunk-local arrays when the shape has a one-pass step (then
    /// `st` is not used): no copies in or out around each block.
    stores: Vec<Box<Store>>,
    /// Per chunk with a store, the ports its step integrates (increasing; store row `k` holds
    /// port `ports[ci][k]`). All ports until [`GlifPscGroup::use_ports`] drops unused ones.
    ports: Vec<Vec<usize>>,
    /// Scalar kernel constants of each parameter set (uniform chunks), built once.
    uni: Vec<KernelCo<Uni>>,
}

impl GlifPscGroup {
    /// Build from parameter sets (same number of ports) and the set index of each neuron.
    pub fn new(
        sets: &[&GlifPscParams],
        set_of: &[u32],
        dt: f64,
    ) -> Result<GlifPscGroup, ModelError> {
        let n = set_of.len();
        let n_ports = sets.first().map(|p| p.tau_syn.len()).unwrap_or(0);
        let n_asc = sets
            .iter()
            .filter(|p| p.after_spike_currents)
            .map(|p| p.asc_decay.len())
            .max()
            .unwrap_or(0);
        let consts: Vec<SetConsts> = sets.iter().map(|p| SetConsts::new(p, dt, n_asc)).collect();
        let per = |f: &dyn Fn(&SetConsts) -> f64| -> Vec<f64> {
            set_of.iter().map(|&k| f(&consts[k as usize])).collect()
        };
        let per_k = |k_n: usize, f: &dyn Fn(&SetConsts, usize) -> f64| -> Vec<f64> {
            let mut v = vec![0.0; k_n * n];
            for k in 0..k_n {
                for (i, &s) in set_of.iter().enumerate() {
                    v[k * n + i] = f(&consts[s as usize], k);
                }
            }
            v
        };
        let pn = PerNeuron {
            p33: padded(per(&|c| c.p33)),
            p30: padded(per(&|c| c.p30)),
            th_inf: padded(per(&|c| c.th_inf)),
            e_l: per(&|c| c.e_l),
            ds: padded(per(&|c| c.ds)),
            ds_ref: per(&|c| c.ds_ref),
            th_add: per(&|c| c.th_add),
            fv: per(&|c| c.fv),
            vadd: per(&|c| c.vadd),
            pv: padded(per(&|c| c.pv)),
            dv_inv: padded(per(&|c| c.dv_inv)),
            phi: padded(per(&|c| c.phi)),
            rho: padded(per(&|c| c.rho)),
            g: padded(per(&|c| c.g)),
            refr_n: set_of
                .iter()
                .map(|&k| u64::from(consts[k as usize].refr))
                .collect(),
            asc_s: padded(per_k(n_asc, &|c, a| c.asc_s[a])),
            asc_d: padded(per_k(n_asc, &|c, a| c.asc_d[a])),
            asc_dref: per_k(n_asc, &|c, a| c.asc_dref[a]),
            asc_amp: per_k(n_asc, &|c, a| c.asc_amp[a]),
            p11: padded(per_k(n_ports, &|c, k| c.p11[k])),
            p21: padded(per_k(n_ports, &|c, k| c.p21[k])),
            p31: padded(per_k(n_ports, &|c, k| c.p31[k])),
            p32: padded(per_k(n_ports, &|c, k| c.p32[k])),
            psc0: padded(per_k(n_ports, &|c, k| c.psc0[k])),
        };
        let st = State {
            u: per(&|c| c.u0),
            th_s: vec![0.0; n],
            th_v: vec![0.0; n],
            asc: per_k(n_asc, &|c, a| c.asc0[a]),
            asc_sum: vec![0.0; n],
            i_ext: vec![0.0; n],
            i_syn: vec![0.0; n],
            refr: vec![0; n],
            y1: vec![0.0; n_ports * n],
            y2: vec![0.0; n_ports * n],
        };
        let chunks = plan_chunks(set_of, CHUNK);
        let fused = has_one_pass(n_ports, n_asc);
        let stores = if fused {
            chunks
                .iter()
                .map(|&(c0, c1, _)| Store::from_state(&st, n, n_ports, n_asc, c0, c1 - c0))
                .collect()
        } else {
            Vec::new()
        };
        let st = if fused { State::empty() } else { st };
        let ports = vec![(0..n_ports).collect(); stores.len()];
        let uni = consts
            .iter()
            .map(|c| {
                let u = |v: &[f64]| v.iter().map(|&x| Uni(x)).collect::<Vec<_>>();
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
                    p11: u(&c.p11),
                    p21: u(&c.p21),
                    p31: u(&c.p31),
                    p32: u(&c.p32),
                    psc0: u(&c.psc0),
                }
            })
            .collect();
        Ok(GlifPscGroup {
            n,
            n_ports,
            n_asc,
            dt,
            any_a: sets.iter().any(|p| p.adapting_threshold),
            any_r: sets.iter().any(|p| p.spike_dependent_threshold),
            sums: true,
            chunks,
            pn,
            st,
            stores,
            ports,
            uni,
        })
    }

    /// Stop integrating the ports that can never receive weight: bit `p` of `used[i]` is set
    /// when port `p` of neuron `i` has a synapse or input (ports ≥ 64 always count as used).
    /// An unused port's state stays exactly 0 and its membrane terms are exact zeros added in
    /// port order (glif.md §3.4 item 3), so skipping it changes no value (at most the sign of
    /// an exact-zero sum) while a chunk of BMTK cells, which use 2 of 4 receptor ports, steps
    /// half the synapses. A port whose state is not 0 is kept. Only one-pass chunks skip.
    pub fn use_ports(&mut self, used: &[u64]) {
        assert_eq!(used.len(), self.n, "use_ports: one mask per neuron");
        for (ci, l) in self.stores.iter_mut().enumerate() {
            let (c0, c1, _) = self.chunks[ci];
            let mask = used[c0..c1].iter().fold(0u64, |a, &m| a | m);
            let old = &self.ports[ci];
            let live = |p: usize| {
                let row = old.iter().position(|&q| q == p);
                let busy = row.is_some_and(|k| l.y1[k].iter().chain(&l.y2[k]).any(|&x| x != 0.0));
                p >= 64 || (mask >> p) & 1 == 1 || busy
            };
            let new: Vec<usize> = (0..self.n_ports).filter(|&p| live(p)).collect();
            let (mut y1, mut y2) = ([[0.0; ROW]; MAX_NP], [[0.0; ROW]; MAX_NP]);
            for (k, p) in new.iter().enumerate() {
                if let Some(j) = old.iter().position(|q| q == p) {
                    y1[k] = l.y1[j];
                    y2[k] = l.y2[j];
                }
            }
            (l.y1, l.y2) = (y1, y2);
            self.ports[ci] = new;
        }
    }

    /// Declare the variables that will be sampled. Without `ASCurrents_sum` and `I_syn` the
    /// AVX-512 step stops tracking those two sums (a load, a select and a store each per vector,
    /// plus an add per port); no other variable depends on them, and runs without membrane
    /// reports read neither.
    pub fn record(&mut self, vars: &[&str]) {
        self.sums = vars
            .iter()
            .any(|v| matches!(*v, "ASCurrents_sum" | "I_syn"));
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

    /// Neuron `i`'s dynamic state (see `ModelGroup::save_state`): V, θ_s, θ_v, the current of
    /// the last step, the recorded sums, the refractory count, the ASCs, then y1 and y2 of
    /// every port (0 for ports the neuron's chunk does not integrate: they stay exactly 0).
    pub fn save_state(&mut self, i: usize) -> Vec<f64> {
        let (scalars, refr, asc, y) = self.state_mut(i);
        let mut v: Vec<f64> = scalars.into_iter().map(|x| *x).collect();
        v.push(*refr as f64);
        v.extend(asc.into_iter().map(|x| *x));
        for p in y {
            v.extend(p.map_or([0.0, 0.0], |(a, b)| [*a, *b]));
        }
        v
    }

    /// Restore what [`Self::save_state`] saved (for a neuron of the same parameters).
    pub fn load_state(&mut self, i: usize, v: &[f64]) {
        let (na, np) = (self.n_asc, self.n_ports);
        assert_eq!(v.len(), 7 + na + 2 * np, "glif_psc state of neuron {i}");
        let (scalars, refr, asc, y) = self.state_mut(i);
        for (x, &value) in scalars.into_iter().zip(v) {
            *x = value;
        }
        *refr = v[6] as u64;
        for (x, &value) in asc.into_iter().zip(&v[7..]) {
            *x = value;
        }
        for (p, slot) in y.into_iter().enumerate() {
            let (a, b) = (v[7 + na + 2 * p], v[8 + na + 2 * p]);
            match slot {
                Some((y1, y2)) => (*y1, *y2) = (a, b),
                None => assert!(
                    (a, b) == (0.0, 0.0),
                    "glif_psc neuron {i}: port {p} has state but is not integrated"
                ),
            }
        }
    }

    /// Neuron `i`'s state wherever it lives (the group's arrays or its chunk's store): V, θ_s,
    /// θ_v, current, ASC sum, I_syn; the refractory count; the ASCs; y1 and y2 per port
    /// (`None`: a port its chunk does not integrate).
    #[allow(clippy::type_complexity)]
    fn state_mut(
        &mut self,
        i: usize,
    ) -> (
        [&mut f64; 6],
        &mut u64,
        Vec<&mut f64>,
        Vec<Option<(&mut f64, &mut f64)>>,
    ) {
        let (n, np, na) = (self.n, self.n_ports, self.n_asc);
        if self.stores.is_empty() {
            let st = &mut self.st;
            let y = st.y1.iter_mut().skip(i).step_by(n);
            let y = y.zip(st.y2.iter_mut().skip(i).step_by(n)).take(np);
            (
                [
                    &mut st.u[i],
                    &mut st.th_s[i],
                    &mut st.th_v[i],
                    &mut st.i_ext[i],
                    &mut st.asc_sum[i],
                    &mut st.i_syn[i],
                ],
                &mut st.refr[i],
                st.asc.iter_mut().skip(i).step_by(n).take(na).collect(),
                y.map(Some).collect(),
            )
        } else {
            let ci = self.chunks.partition_point(|c| c.1 <= i);
            let (l, k) = (&mut *self.stores[ci], i - self.chunks[ci].0);
            let mut y: Vec<Option<(&mut f64, &mut f64)>> = (0..np).map(|_| None).collect();
            let rows = l.y1.iter_mut().zip(l.y2.iter_mut());
            for (&p, (a, b)) in self.ports[ci].iter().zip(rows) {
                y[p] = Some((&mut a[k], &mut b[k]));
            }
            (
                [
                    &mut l.u[k],
                    &mut l.th_s[k],
                    &mut l.th_v[k],
                    &mut l.ie[k],
                    &mut l.asc_sum[k],
                    &mut l.i_syn[k],
                ],
                &mut l.refr[k],
                l.asc.iter_mut().take(na).map(|a| &mut a[k]).collect(),
                y,
            )
        }
    }

    /// Recordables as NEST reports them (V_m and threshold absolute, glif.md §3.1).
    pub fn sample(&self, var: &str, i: usize) -> Option<f64> {
        let pn = &self.pn;
        let (u, th_s, th_v, asc_sum, i_ext, i_syn) = if self.stores.is_empty() {
            let st = &self.st;
            (
                st.u[i],
                st.th_s[i],
                st.th_v[i],
                st.asc_sum[i],
                st.i_ext[i],
                st.i_syn[i],
            )
        } else {
            let ci = self.chunks.partition_point(|c| c.1 <= i);
            let (l, k) = (&self.stores[ci], i - self.chunks[ci].0);
            (
                l.u[k],
                l.th_s[k],
                l.th_v[k],
                l.asc_sum[k],
                l.ie[k],
                l.i_syn[k],
            )
        };
        Some(match var {
            "V_m" => u + pn.e_l[i],
            "threshold" => th_s + th_v + pn.th_inf[i] + pn.e_l[i],
            "threshold_spike" => th_s,
            "threshold_voltage" => th_v,
            "ASCurrents_sum" => asc_sum,
            "I" => i_ext,
            "I_syn" => i_syn,
            _ => return None,
        })
    }

    /// Advance by `input.n_steps` steps (module contract in `models/mod.rs`).
    pub fn advance(&mut self, input: &mut BlockInput, spikes: &mut Vec<(u32, u32)>) {
        let first = spikes.len();
        for ci in 0..self.chunks.len() {
            let (c0, c1, set) = self.chunks[ci];
            let shape = self.shape_();
            let store = self.stores.get_mut(ci).map(|b| &mut **b);
            let ports = self.ports.get(ci).map_or(&[][..], |v| &v[..]);
            let (st, pn) = (&mut self.st, &self.pn);
            // one kernel call, for scalar (`Uni`) or per-neuron (`Per`) constants
            macro_rules! run {
                ($co:expr) => {{
                    let j = Job {
                        st,
                        store,
                        pn,
                        sh: shape,
                        co: $co,
                        ports,
                        c0,
                        c1,
                        input: &mut *input,
                        spikes,
                    };
                    if shape.any_a {
                        kernel::<_, true>(j);
                    } else {
                        kernel::<_, false>(j);
                    }
                }};
            }
            match set {
                Some(k) => run!(&self.uni[k as usize]),
                None => {
                    let n = self.n;
                    // padded to whole vectors (the arrays have `LANES` spare entries)
                    let c1p = c0 + (c1 - c0).next_multiple_of(LANES);
                    fn per_k(v: &[f64], kn: usize, n: usize, c0: usize, c1: usize) -> Vec<Per<'_>> {
                        (0..kn).map(|k| Per(&v[k * n + c0..k * n + c1])).collect()
                    }
                    let co = KernelCo {
                        p33: Per(&pn.p33[c0..c1p]),
                        p30: Per(&pn.p30[c0..c1p]),
                        th_inf: Per(&pn.th_inf[c0..c1p]),
                        ds: Per(&pn.ds[c0..c1p]),
                        pv: Per(&pn.pv[c0..c1p]),
                        dv_inv: Per(&pn.dv_inv[c0..c1p]),
                        phi: Per(&pn.phi[c0..c1p]),
                        rho: Per(&pn.rho[c0..c1p]),
                        g: Per(&pn.g[c0..c1p]),
                        asc_s: per_k(&pn.asc_s, shape.n_asc, n, c0, c1p),
                        asc_d: per_k(&pn.asc_d, shape.n_asc, n, c0, c1p),
                        p11: per_k(&pn.p11, shape.n_ports, n, c0, c1p),
                        p21: per_k(&pn.p21, shape.n_ports, n, c0, c1p),
                        p31: per_k(&pn.p31, shape.n_ports, n, c0, c1p),
                        p32: per_k(&pn.p32, shape.n_ports, n, c0, c1p),
                        psc0: per_k(&pn.psc0, shape.n_ports, n, c0, c1p),
                    };
                    // The constants borrow `self.pn`; the kernel mutates only the state.
                    run!(&co)
                }
            }
        }
        if self.chunks.len() > 1 {
            sort_spikes_from(spikes, first);
        }
    }

    fn shape_(&self) -> Shape {
        Shape {
            n: self.n,
            n_ports: self.n_ports,
            n_asc: self.n_asc,
            any_a: self.any_a,
            any_r: self.any_r,
            sums: self.sums,
        }
    }
}

#[derive(Clone, Copy)]
struct Shape {
    n: usize,
    n_ports: usize,
    n_asc: usize,
    any_a: bool,
    any_r: bool,
    /// Keep `asc_sum` and `i_syn` up to date ([`GlifPscGroup::record`]).
    sums: bool,
}

/// One kernel call: chunk `c0..c1` of a group, its state (the group's arrays, or the chunk's
/// store for one-pass shapes) and constants, and one block of input.
struct Job<'a, 'b, C> {
    st: &'a mut State,
    store: Option<&'a mut Store>,
    pn: &'a PerNeuron,
    sh: Shape,
    co: &'a KernelCo<C>,
    /// Ports the one-pass step integrates (store rows in this order).
    ports: &'a [usize],
    c0: usize,
    c1: usize,
    input: &'a mut BlockInput<'b>,
    spikes: &'a mut Vec<(u32, u32)>,
}

/// Run the kernel for one chunk: the fused one-pass step for the common shapes (ports ≤ 4,
/// 0 or 2 ASCs), else the multi-pass step. Compiled for AVX-512 / AVX2 when the CPU has them;
/// only wider vectors and more registers are enabled — no FMA contraction (Rust never fuses
/// a·b + c), so the results are bit-identical on every path.
fn kernel<C: Co, const A: bool>(j: Job<C>) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl")
        {
            // SAFETY: the CPU supports AVX-512F/VL (checked just above).
            unsafe { kernel_avx512::<C, A>(j) };
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { kernel_avx2::<C, A>(j) };
            return;
        }
    }
    kernel_any::<C, A, false>(j)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512dq")]
unsafe fn kernel_avx512<C: Co, const A: bool>(j: Job<C>) {
    if super::portable_only() {
        kernel_any::<C, A, false>(j)
    } else {
        kernel_any::<C, A, true>(j)
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn kernel_avx2<C: Co, const A: bool>(j: Job<C>) {
    kernel_any::<C, A, false>(j)
}

/// Shape dispatch (inlined into each target-feature variant); `X`: hand-written AVX-512 lanes.
#[inline(always)]
fn kernel_any<C: Co, const A: bool, const X: bool>(j: Job<C>) {
    let Job {
        st,
        store,
        pn,
        sh,
        co,
        ports,
        c0,
        c1,
        input,
        spikes,
    } = j;
    let Some(l) = store else {
        return kernel_body::<C, A>(st, pn, sh, co, c0, c1, input, spikes);
    };
    macro_rules! fused {
        ($np:literal, $na:literal) => {
            if A || sh.any_r {
                fused_body::<C, A, X, true, $np, $na>(l, pn, sh, co, ports, c0, c1, input, spikes)
            } else {
                fused_body::<C, A, X, false, $np, $na>(l, pn, sh, co, ports, c0, c1, input, spikes)
            }
        };
    }
    match (ports.len(), sh.n_asc) {
        (0, 0) => fused!(0, 0),
        (1, 0) => fused!(1, 0),
        (2, 0) => fused!(2, 0),
        (3, 0) => fused!(3, 0),
        (4, 0) => fused!(4, 0),
        (0, 2) => fused!(0, 2),
        (1, 2) => fused!(1, 2),
        (2, 2) => fused!(2, 2),
        (3, 2) => fused!(3, 2),
        (4, 2) => fused!(4, 2),
        // `has_one_pass` keeps stores only for the shapes above
        _ => unreachable!("one-pass store for shape {:?}", (sh.n_ports, sh.n_asc)),
    }
}

/// Port and ASC counts the one-pass step is compiled for (the BMTK/Allen GLIF shapes).
const MAX_NP: usize = 4;
const MAX_NA: usize = 2;

/// Whether a group of this shape runs the one-pass step (and keeps chunk-local stores).
fn has_one_pass(n_ports: usize, n_asc: usize) -> bool {
    (1..=MAX_NP).contains(&n_ports) && (n_asc == 0 || n_asc == MAX_NA)
}

/// Length of each state array of a [`Store`] (see [`STORE_PAD`]).
const ROW: usize = CHUNK + STORE_PAD;

/// One chunk's state in fixed-size arrays (lane `k` = neuron `c0 + k`; lanes past the chunk
/// are padding that never integrates). The arrays cannot alias each other or the input and
/// their length is known, so the compiler vectorises the one-pass step without runtime checks;
/// rows past the group's port/ASC counts stay unused. Line-aligned, so every 8-lane access
/// touches one cache line (the arrays are whole lines long).
#[repr(C, align(64))]
struct Store {
    refr: [u64; ROW],
    u: [f64; ROW],
    ie: [f64; ROW],
    th_s: [f64; ROW],
    th_v: [f64; ROW],
    asc_sum: [f64; ROW],
    i_syn: [f64; ROW],
    asc: [[f64; ROW]; MAX_NA],
    y1: [[f64; ROW]; MAX_NP],
    y2: [[f64; ROW]; MAX_NP],
    /// Spike test of the last step, per lane (the portable step only).
    fire: [u64; ROW],
    v_old: [f64; ROW],
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

impl Clone for Store {
    fn clone(&self) -> Self {
        Store { ..*self }
    }
}

impl Store {
    /// Neurons `c0..c0 + m` of `st` (layout `k·n + i`).
    fn from_state(st: &State, n: usize, np: usize, na: usize, c0: usize, m: usize) -> Box<Store> {
        let mut l = Box::new(Store {
            refr: [u64::MAX; ROW],
            u: [0.0; ROW],
            ie: [0.0; ROW],
            th_s: [0.0; ROW],
            th_v: [0.0; ROW],
            asc_sum: [0.0; ROW],
            i_syn: [0.0; ROW],
            asc: [[0.0; ROW]; MAX_NA],
            y1: [[0.0; ROW]; MAX_NP],
            y2: [[0.0; ROW]; MAX_NP],
            fire: [0; ROW],
            v_old: [0.0; ROW],
        });
        let r = c0..c0 + m;
        l.refr[..m].copy_from_slice(&st.refr[r.clone()]);
        l.u[..m].copy_from_slice(&st.u[r.clone()]);
        l.ie[..m].copy_from_slice(&st.i_ext[r.clone()]);
        l.th_s[..m].copy_from_slice(&st.th_s[r.clone()]);
        l.th_v[..m].copy_from_slice(&st.th_v[r.clone()]);
        l.asc_sum[..m].copy_from_slice(&st.asc_sum[r.clone()]);
        l.i_syn[..m].copy_from_slice(&st.i_syn[r]);
        for k in 0..na {
            l.asc[k][..m].copy_from_slice(&st.asc[k * n + c0..k * n + c0 + m]);
        }
        for p in 0..np {
            l.y1[p][..m].copy_from_slice(&st.y1[p * n + c0..p * n + c0 + m]);
            l.y2[p][..m].copy_from_slice(&st.y2[p * n + c0..p * n + c0 + m]);
        }
        l
    }
}

/// The constants of the one-pass step, cut to the chunk's lanes.
struct StepCo<C, const NP: usize, const NA: usize> {
    p33: C,
    p30: C,
    th_inf: C,
    ds: C,
    pv: C,
    dv_inv: C,
    phi: C,
    rho: C,
    g: C,
    asc_s: [C; NA],
    asc_d: [C; NA],
    p11: [C; NP],
    p21: [C; NP],
    p31: [C; NP],
    p32: [C; NP],
    psc0: [C; NP],
}

/// One-pass step (glif.md §3.4, same per-neuron arithmetic as [`kernel_body`]): with the port
/// and ASC counts known at compile time, every item of the step runs in one loop over the
/// chunk's neurons, so state is loaded and stored once per step and nothing else touches memory.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn fused_body<
    C: Co,
    const A: bool,
    const X: bool,
    const T: bool,
    const NP: usize,
    const NA: usize,
>(
    l: &mut Store,
    pn: &PerNeuron,
    sh: Shape,
    co: &KernelCo<C>,
    ports: &[usize],
    c0: usize,
    c1: usize,
    input: &mut BlockInput,
    spikes: &mut Vec<(u32, u32)>,
) {
    let n = sh.n;
    let ports: [usize; NP] = std::array::from_fn(|q| ports[q]);
    let m = (c1 - c0).min(CHUNK);
    // whole vectors: padding lanes (m..mp) never integrate and are dropped
    let mp = m.next_multiple_of(LANES).min(CHUNK);
    let cut = |c: C| c.cut(c0, mp);
    let k = StepCo::<C, NP, NA> {
        p33: cut(co.p33),
        p30: cut(co.p30),
        th_inf: cut(co.th_inf),
        ds: cut(co.ds),
        pv: cut(co.pv),
        dv_inv: cut(co.dv_inv),
        phi: cut(co.phi),
        rho: cut(co.rho),
        g: cut(co.g),
        asc_s: std::array::from_fn(|q| cut(co.asc_s[q])),
        asc_d: std::array::from_fn(|q| cut(co.asc_d[q])),
        p11: std::array::from_fn(|q| cut(co.p11[ports[q]])),
        p21: std::array::from_fn(|q| cut(co.p21[ports[q]])),
        p31: std::array::from_fn(|q| cut(co.p31[ports[q]])),
        p32: std::array::from_fn(|q| cut(co.p32[ports[q]])),
        psc0: std::array::from_fn(|q| cut(co.psc0[ports[q]])),
    };
    // the last chunk's padding lanes would read past the block: copy its weights instead
    let direct = c0 + mp <= input.row;
    let mut wbuf = [[0.0f64; CHUNK]; NP];
    for s in 0..input.n_steps {
        if !direct {
            for (p, row) in wbuf.iter_mut().enumerate() {
                let o = (s * sh.n_ports + ports[p]) * input.row + c0;
                row[..m].copy_from_slice(&input.syn[o..o + m]);
            }
        }
        let w: [&[f64]; NP] = std::array::from_fn(|p| {
            let o = (s * sh.n_ports + ports[p]) * input.row + c0;
            if direct {
                &input.syn[o..o + mp]
            } else {
                &wbuf[p][..mp]
            }
        });
        #[cfg(target_arch = "x86_64")]
        let any = if X {
            let next = input.ahead(s + 1, sh.n_ports, ports, c0);
            // SAFETY: X is true only inside `kernel_avx512`, called when the CPU has AVX-512F.
            unsafe {
                if sh.sums {
                    x86::lanes::<C, A, T, true, NP, NA>(&k, l, &w, next, mp)
                } else {
                    x86::lanes::<C, A, T, false, NP, NA>(&k, l, &w, next, mp)
                }
            }
        } else {
            lanes::<C, A, T, NP, NA>(&k, l, &w, mp)
        };
        #[cfg(not(target_arch = "x86_64"))]
        let any = lanes::<C, A, T, NP, NA>(&k, l, &w, mp);
        input.consume_lanes(s, sh.n_ports, ports, c0, m);
        // Item 6 (resets) for the neurons that fired: scalar, over the candidate lanes only
        // (at 60 Hz a 128-cell chunk has a spike in half its steps at dt 0.1 ms).
        let mut bits = any;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            if i < m {
                let j = c0 + i;
                l.refr[i] = pn.refr_n[j];
                for q in 0..NA {
                    let x = q * n + j;
                    l.asc[q][i] = pn.asc_amp[x] + l.asc[q][i] * pn.asc_dref[x];
                }
                l.u[i] = pn.fv[j] * l.v_old[i] + pn.vadd[j];
                l.th_s[i] = l.th_s[i] * pn.ds_ref[j] + pn.th_add[j];
                spikes.push((j as u32, s as u32));
            }
        }
        // Item 8: the current delivered in this step is used from the next step on.
        match input.current {
            Some(c) => l.ie[..m].copy_from_slice(&c[s * n + c0..s * n + c0 + m]),
            None if s == 0 => l.ie.fill(0.0),
            None => {}
        }
    }
}

/// Items 1–5 and the spike test of one step for lanes `0..mp`, as the compiler vectorises them;
/// returns the lanes that fired (bit `i`: lane `i`), gathered from `fire` after the loop (a
/// per-lane mask inside it would keep the compiler from vectorising).
#[inline(always)]
fn lanes<C: Co, const A: bool, const T: bool, const NP: usize, const NA: usize>(
    k: &StepCo<C, NP, NA>,
    l: &mut Store,
    w: &[&[f64]; NP],
    mp: usize,
) -> u128 {
    let mut any = 0u64;
    #[allow(clippy::needless_range_loop)] // a dozen parallel arrays indexed by lane
    for i in 0..mp {
        // Item 1: integrate unless refractory; the countdown happens here, neurons that
        // fire this step get their full count in the reset path.
        let r = l.refr[i];
        let a = r == 0;
        l.refr[i] = r.saturating_sub(1);
        // Item 2: ASC step mean and one-step decay; frozen while refractory (v·1 = v).
        let mut sm = 0.0;
        for q in 0..NA {
            let v = l.asc[q][i];
            sm += k.asc_s[q].at(i) * v;
            l.asc[q][i] = v * if a { k.asc_d[q].at(i) } else { 1.0 };
        }
        // Item 3, with item 7 fused in (the synapses do not depend on the spike test).
        let vo = l.u[i];
        let cur = l.ie[i];
        let mut un = vo * k.p33.at(i) + (cur + sm) * k.p30.at(i);
        let mut is = 0.0;
        for p in 0..NP {
            let (ya, yb) = (l.y1[p][i], l.y2[p][i]);
            un += k.p31[p].at(i) * ya + k.p32[p].at(i) * yb;
            is += yb;
            l.y2[p][i] = k.p21[p].at(i) * ya + k.p11[p].at(i) * yb;
            l.y1[p][i] = ya * k.p11[p].at(i) + k.psc0[p].at(i) * w[p][i];
        }
        // Items 4, 5, 6 (test) as selects. Without θ_s and θ_v (`!T`, e.g. GLIF1/3) both stay
        // exactly 0, so (0 + 0) + θ∞ = θ∞ and they are neither read nor written.
        let threshold = if T {
            let (ts0, tv0) = (l.th_s[i], l.th_v[i]);
            let tvn = if A {
                let beta = (cur + sm) / k.g.at(i);
                let (phi, rho) = (k.phi.at(i), k.rho.at(i));
                phi * (vo - beta) * k.pv.at(i)
                    + k.dv_inv.at(i) * (tv0 - phi * (vo - beta) - rho * beta)
                    + rho * beta
            } else {
                tv0
            };
            let tsn = ts0 * k.ds.at(i);
            let ts = if a { tsn } else { ts0 };
            let tv = if a { tvn } else { tv0 };
            l.th_s[i] = ts;
            l.th_v[i] = tv;
            ts + tv + k.th_inf.at(i)
        } else {
            k.th_inf.at(i)
        };
        l.v_old[i] = vo;
        l.u[i] = if a { un } else { vo };
        l.asc_sum[i] = if a { sm } else { l.asc_sum[i] };
        l.i_syn[i] = if a { is } else { l.i_syn[i] };
        let f = (a & (un > threshold)) as u64;
        l.fire[i] = f;
        any |= f;
    }
    if any == 0 {
        return 0;
    }
    (0..mp).fold(0u128, |mask, i| mask | u128::from(l.fire[i]) << i)
}

/// The lanes of the one-pass step written with AVX-512 intrinsics, 8 neurons per vector: the
/// compiler's vectorisation of [`lanes`] leaves a scalar tail; here every operation is the same
/// IEEE double operation in the same order, so the bits are identical.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{prefetch_at, Co, StepCo, Store, CHUNK, LANES};
    use std::arch::x86_64::*;

    #[inline(always)]
    unsafe fn ld(a: &[f64], i: usize) -> __m512d {
        let s = &a[i..i + LANES];
        // SAFETY: `s` holds 8 f64.
        unsafe { _mm512_loadu_pd(s.as_ptr()) }
    }

    #[inline(always)]
    unsafe fn st(a: &mut [f64], i: usize, v: __m512d) {
        let s = &mut a[i..i + LANES];
        // SAFETY: `s` holds 8 f64.
        unsafe { _mm512_storeu_pd(s.as_mut_ptr(), v) }
    }

    /// [`super::lanes`] for lanes `0..mp` (`mp` a multiple of 8); returns exactly the lanes that
    /// fired. Caller: AVX-512F available.
    #[inline(always)]
    pub(super) unsafe fn lanes<
        C: Co,
        const A: bool,
        const T: bool,
        const R: bool,
        const NP: usize,
        const NA: usize,
    >(
        k: &StepCo<C, NP, NA>,
        l: &mut Store,
        w: &[&[f64]; NP],
        next: [*const f64; NP],
        mp: usize,
    ) -> u128 {
        let mp = mp.min(CHUNK);
        // bit i: lane i, in two register halves (bytes stored per vector and read back as one
        // u128 stalled on store forwarding; a 128-bit shift per vector costs more)
        let (mut lo, mut hi) = (0u64, 0u64);
        #[allow(clippy::needless_range_loop)] // ports index several arrays
        // SAFETY: AVX-512F is available (caller); every load and store goes through a
        // bounds-checked 8-element slice.
        unsafe {
            let zero = _mm512_setzero_pd();
            let one = _mm512_set1_epi64(1);
            for i in (0..mp).step_by(LANES) {
                for &p in &next {
                    prefetch_at(p.wrapping_add(i));
                }
                // Item 1: integrate unless refractory; count down.
                let rs = &mut l.refr[i..i + LANES];
                let r = _mm512_loadu_epi64(rs.as_ptr() as *const i64);
                let a: __mmask8 = _mm512_cmpeq_epi64_mask(r, _mm512_setzero_si512());
                _mm512_storeu_epi64(
                    rs.as_mut_ptr() as *mut i64,
                    _mm512_mask_sub_epi64(r, !a, r, one),
                );
                // Item 2: ASC step mean and decay (frozen while refractory).
                let mut sm = zero;
                for q in 0..NA {
                    let v = ld(&l.asc[q], i);
                    sm = _mm512_add_pd(sm, _mm512_mul_pd(k.asc_s[q].v8(i), v));
                    st(
                        &mut l.asc[q],
                        i,
                        _mm512_mask_mul_pd(v, a, v, k.asc_d[q].v8(i)),
                    );
                }
                // Items 3 and 7.
                let vo = ld(&l.u, i);
                let drive = _mm512_add_pd(ld(&l.ie, i), sm);
                let mut un = _mm512_add_pd(
                    _mm512_mul_pd(vo, k.p33.v8(i)),
                    _mm512_mul_pd(drive, k.p30.v8(i)),
                );
                let mut is = zero;
                for p in 0..NP {
                    let (ya, yb) = (ld(&l.y1[p], i), ld(&l.y2[p], i));
                    let (p11, p21) = (k.p11[p].v8(i), k.p21[p].v8(i));
                    un = _mm512_add_pd(
                        un,
                        _mm512_add_pd(
                            _mm512_mul_pd(k.p31[p].v8(i), ya),
                            _mm512_mul_pd(k.p32[p].v8(i), yb),
                        ),
                    );
                    if R {
                        is = _mm512_add_pd(is, yb);
                    }
                    let y2n = _mm512_add_pd(_mm512_mul_pd(p21, ya), _mm512_mul_pd(p11, yb));
                    st(&mut l.y2[p], i, y2n);
                    let y1n = _mm512_add_pd(
                        _mm512_mul_pd(ya, p11),
                        _mm512_mul_pd(k.psc0[p].v8(i), ld(w[p], i)),
                    );
                    st(&mut l.y1[p], i, y1n);
                }
                // Items 4, 5, 6 (test). Without θ_s and θ_v (`!T`) both stay exactly 0, so
                // the threshold is θ∞ and they are neither read nor written.
                let threshold = if T {
                    let (ts0, tv0) = (ld(&l.th_s, i), ld(&l.th_v, i));
                    let tvn = if A {
                        let beta = _mm512_div_pd(drive, k.g.v8(i));
                        let (phi, rho) = (k.phi.v8(i), k.rho.v8(i));
                        let x = _mm512_mul_pd(phi, _mm512_sub_pd(vo, beta));
                        let rb = _mm512_mul_pd(rho, beta);
                        let d = _mm512_sub_pd(_mm512_sub_pd(tv0, x), rb);
                        _mm512_add_pd(
                            _mm512_add_pd(
                                _mm512_mul_pd(x, k.pv.v8(i)),
                                _mm512_mul_pd(k.dv_inv.v8(i), d),
                            ),
                            rb,
                        )
                    } else {
                        tv0
                    };
                    let ts = _mm512_mask_blend_pd(a, ts0, _mm512_mul_pd(ts0, k.ds.v8(i)));
                    let tv = _mm512_mask_blend_pd(a, tv0, tvn);
                    st(&mut l.th_s, i, ts);
                    st(&mut l.th_v, i, tv);
                    _mm512_add_pd(_mm512_add_pd(ts, tv), k.th_inf.v8(i))
                } else {
                    k.th_inf.v8(i)
                };
                st(&mut l.v_old, i, vo);
                st(&mut l.u, i, _mm512_mask_blend_pd(a, vo, un));
                if R {
                    let sm0 = ld(&l.asc_sum, i);
                    st(&mut l.asc_sum, i, _mm512_mask_blend_pd(a, sm0, sm));
                    let is0 = ld(&l.i_syn, i);
                    st(&mut l.i_syn, i, _mm512_mask_blend_pd(a, is0, is));
                }
                let f: __mmask8 = a & _mm512_cmp_pd_mask::<_CMP_GT_OQ>(un, threshold);
                if i < 64 {
                    lo |= u64::from(f) << i;
                } else {
                    hi |= u64::from(f) << (i - 64);
                }
            }
        }
        u128::from(hi) << 64 | u128::from(lo)
    }
}

/// Item 6 for the neurons that fired in step `s` (rare, scalar): refractory count, ASC reset,
/// voltage reset from the pre-step voltage, spike-threshold jump; records the spike.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn reset_fired(
    st: &mut State,
    pn: &PerNeuron,
    n: usize,
    n_asc: usize,
    c0: usize,
    fire: &[u64],
    v_old: &[f64],
    s: usize,
    spikes: &mut Vec<(u32, u32)>,
) {
    for (i, (&f, &vo)) in fire.iter().zip(v_old).enumerate() {
        if f == 0 {
            continue;
        }
        let j = c0 + i;
        st.refr[j] = pn.refr_n[j];
        for a in 0..n_asc {
            let k = a * n + j;
            st.asc[k] = pn.asc_amp[k] + st.asc[k] * pn.asc_dref[k];
        }
        st.u[j] = pn.fv[j] * vo + pn.vadd[j];
        st.th_s[j] = st.th_s[j] * pn.ds_ref[j] + pn.th_add[j];
        spikes.push((j as u32, s as u32));
    }
}

/// Advance neurons c0..c1 over the block (glif.md §3.4 items 1–8, NEST's operation order).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn kernel_body<C: Co, const A: bool>(
    st: &mut State,
    pn: &PerNeuron,
    sh: Shape,
    co: &KernelCo<C>,
    c0: usize,
    c1: usize,
    input: &mut BlockInput,
    spikes: &mut Vec<(u32, u32)>,
) {
    let Shape {
        n,
        n_ports: np,
        n_asc,
        ..
    } = sh;
    let m = c1 - c0;
    let mut act = [0u64; CHUNK];
    let mut fire = [0u64; CHUNK];
    let mut tv_new = [0.0f64; CHUNK];
    let mut sum = [0.0f64; CHUNK];
    let mut u_new = [0.0f64; CHUNK];
    let mut isyn = [0.0f64; CHUNK];
    let mut v_old = [0.0f64; CHUNK];
    let (act, fire, tv_new) = (&mut act[..m], &mut fire[..m], &mut tv_new[..m]);
    let (sum, u_new, isyn, v_old) = (
        &mut sum[..m],
        &mut u_new[..m],
        &mut isyn[..m],
        &mut v_old[..m],
    );
    for s in 0..input.n_steps {
        // Which neurons integrate this step (refractory counter = 0).
        // The countdown of refractory neurons happens here; neurons that fire this step get
        // their full count in the reset path below.
        let refr = &mut st.refr[c0..c1];
        for i in 0..m {
            act[i] = (refr[i] == 0) as u64;
            refr[i] = refr[i].saturating_sub(1);
        }
        // Item 2: ASC step mean and one-step decay; frozen while refractory.
        sum.fill(0.0);
        for a in 0..n_asc {
            let x = &mut st.asc[a * n + c0..a * n + c1];
            let (sc, dc) = (co.asc_s[a], co.asc_d[a]);
            for i in 0..m {
                let v = x[i];
                sum[i] += sc.at(i) * v;
                x[i] = if act[i] != 0 { v * dc.at(i) } else { v };
            }
        }
        // Item 3: U = v_old·P33 + (I + asc_sum)·P30, then per port U += P31·y1 + P32·y2.
        {
            let (u, ie) = (&st.u[c0..c1], &st.i_ext[c0..c1]);
            for i in 0..m {
                u_new[i] = u[i] * co.p33.at(i) + (ie[i] + sum[i]) * co.p30.at(i);
                isyn[i] = 0.0;
            }
        }
        // Item 7 fused in: once a port's states have acted on U they advance one step
        // (y2 ← P21·y1 + P22·y2; y1 ← P11·y1 + psc0·W, P22 = P11). The synapses do not
        // depend on the spike test, so doing this before it changes nothing but memory traffic.
        for p in 0..np {
            let o = (s * np + p) * input.row;
            let w = &input.syn[o + c0..o + c1];
            let y1 = &mut st.y1[p * n + c0..p * n + c1];
            let y2 = &mut st.y2[p * n + c0..p * n + c1];
            let (p31, p32) = (co.p31[p], co.p32[p]);
            let (p11, p21, psc0) = (co.p11[p], co.p21[p], co.psc0[p]);
            for i in 0..m {
                let (a, b) = (y1[i], y2[i]);
                u_new[i] += p31.at(i) * a + p32.at(i) * b;
                isyn[i] += b;
                y2[i] = p21.at(i) * a + p11.at(i) * b;
                y1[i] = a * p11.at(i) + psc0.at(i) * w[i];
            }
            input.consume_lanes(s, np, [p], c0, m);
        }
        // Items 1, 4, 5, 6 (test): thresholds and the spike test, as masked selects.
        {
            let u = &mut st.u[c0..c1];
            let th_s = &mut st.th_s[c0..c1];
            let th_v = &mut st.th_v[c0..c1];
            let ie = &st.i_ext[c0..c1];
            let asc_sum = &mut st.asc_sum[c0..c1];
            let i_syn = &mut st.i_syn[c0..c1];
            if A {
                // Item 4 for every neuron (selected below): the exact θ_v step from v_old.
                for i in 0..m {
                    let vo = u[i];
                    let beta = (ie[i] + sum[i]) / co.g.at(i);
                    let (phi, rho) = (co.phi.at(i), co.rho.at(i));
                    tv_new[i] = phi * (vo - beta) * co.pv.at(i)
                        + co.dv_inv.at(i) * (th_v[i] - phi * (vo - beta) - rho * beta)
                        + rho * beta;
                }
            }
            for i in 0..m {
                // All loads first, then branch-free selects, so the loop vectorises.
                let a = act[i] != 0;
                let (vo, un, ts0, tv0) = (u[i], u_new[i], th_s[i], th_v[i]);
                let (sm, sm0, is, is0) = (sum[i], asc_sum[i], isyn[i], i_syn[i]);
                let tvn = if A { tv_new[i] } else { tv0 };
                // ds = 1 for levels without θ_s, so the product is exact for them.
                let tsn = ts0 * co.ds.at(i);
                let ts = if a { tsn } else { ts0 };
                let tv = if a { tvn } else { tv0 };
                let threshold = ts + tv + co.th_inf.at(i);
                th_s[i] = ts;
                th_v[i] = tv;
                v_old[i] = vo;
                u[i] = if a { un } else { vo };
                asc_sum[i] = if a { sm } else { sm0 };
                i_syn[i] = if a { is } else { is0 };
                fire[i] = (a & (un > threshold)) as u64;
            }
        }
        let any_fire = fire.iter().fold(0, |x, &f| x | f) != 0;
        // Item 6 (resets): rare, scalar.
        if any_fire {
            reset_fired(st, pn, n, n_asc, c0, fire, v_old, s, spikes);
        }
        // Item 8: the current delivered in this step is used from the next step on.
        match input.current {
            Some(c) => st.i_ext[c0..c1].copy_from_slice(&c[s * n + c0..s * n + c1]),
            None if s == 0 => st.i_ext[c0..c1].fill(0.0),
            None => {}
        }
    }
}
