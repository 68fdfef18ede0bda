//! NEST-format parameter dictionaries → typed, validated parameter structs.
//!
//! Defaults and checks follow NEST 3.10 (glif.md §3.1, sonata-bmtk.md §5.1/§5.7). NEST keeps
//! voltages relative to E_L and, when a dictionary changes E_L without giving V_m, V_th or
//! V_reset, keeps their *absolute* default values; the relative values are derived here with the
//! same floating-point operations so that the dynamics match NEST to the last bit.

use super::ModelError;
use serde_json::{Map, Value};
use std::cell::RefCell;

/// Read access to one JSON object that remembers which keys were used, so unknown keys can be
/// reported (NEST rejects unused dictionary entries as well).
pub(crate) struct Dict<'a> {
    model: &'a str,
    map: &'a Map<String, Value>,
    used: RefCell<Vec<&'static str>>,
}

fn json_value_text(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 60 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(57).map(|(i, _)| i).unwrap_or(s.len())]
        )
    } else {
        s
    }
}

impl<'a> Dict<'a> {
    pub(crate) fn new(model: &'a str, json: &'a Value) -> Result<Dict<'a>, ModelError> {
        match json {
            Value::Object(map) => Ok(Dict {
                model,
                map,
                used: RefCell::new(Vec::new()),
            }),
            other => Err(ModelError::Type {
                model: model.to_string(),
                param: "(parameters)".into(),
                value: json_value_text(other),
                expected: "a JSON object".into(),
            }),
        }
    }

    fn type_err(&self, key: &str, v: &Value, expected: &str) -> ModelError {
        ModelError::Type {
            model: self.model.to_string(),
            param: key.to_string(),
            value: json_value_text(v),
            expected: expected.to_string(),
        }
    }

    fn get(&self, key: &'static str) -> Option<&'a Value> {
        self.used.borrow_mut().push(key);
        self.map.get(key)
    }

    /// A number (JSON integers are accepted as NEST does).
    pub(crate) fn f64(&self, key: &'static str) -> Result<Option<f64>, ModelError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| self.type_err(key, v, "a number")),
        }
    }

    /// A voltage NEST stores relative to E_L: `v - e_l` when given; otherwise its default
    /// relative value shifted by `delta` (= E_L − default E_L), which keeps the *absolute*
    /// default as NEST does when only E_L changes.
    fn rel_voltage(
        &self,
        key: &'static str,
        e_l: f64,
        default_rel: f64,
        delta: f64,
    ) -> Result<f64, ModelError> {
        Ok(match self.f64(key)? {
            Some(v) => v - e_l,
            None => default_rel - delta,
        })
    }

    pub(crate) fn vec(&self, key: &'static str) -> Result<Option<Vec<f64>>, ModelError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => a
                .iter()
                .map(|x| x.as_f64().ok_or_else(|| self.type_err(key, x, "a number")))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(v) => Err(self.type_err(key, v, "an array of numbers")),
        }
    }

    pub(crate) fn bool(&self, key: &'static str) -> Result<Option<bool>, ModelError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(self.type_err(key, v, "true or false")),
        }
    }

    /// Error on the first key that was never read.
    pub(crate) fn finish(&self) -> Result<(), ModelError> {
        let used = self.used.borrow();
        if let Some(k) = self.map.keys().find(|k| !used.contains(&k.as_str())) {
            let mut known: Vec<&str> = used.clone();
            known.sort_unstable();
            known.dedup();
            return Err(ModelError::UnknownParam {
                model: self.model.to_string(),
                param: k.clone(),
                known: known.join(", "),
            });
        }
        Ok(())
    }
}

fn check(model: &str, param: &str, value: f64, ok: bool, rule: &str) -> Result<(), ModelError> {
    if ok {
        Ok(())
    } else {
        Err(ModelError::invalid(model, param, value, rule))
    }
}

const FINITE: &str = "must be a finite number";

fn check_finite(model: &str, param: &str, value: f64) -> Result<(), ModelError> {
    check(model, param, value, value.is_finite(), FINITE)
}

fn positive(v: f64) -> bool {
    v > 0.0 && v.is_finite()
}

/// NEST's rule for time constants, capacitances and conductances: `> 0` (and finite).
fn check_positive(model: &str, param: &str, value: f64, unit: &str) -> Result<(), ModelError> {
    if positive(value) {
        Ok(())
    } else {
        Err(ModelError::invalid(
            model,
            param,
            value,
            &format!("must be > 0 ({unit})"),
        ))
    }
}

/// `ok` for every entry of a vector parameter; the error names the first entry that fails.
fn check_each(
    model: &str,
    param: &str,
    values: &[f64],
    ok: impl Fn(f64) -> bool,
    rule: &str,
) -> Result<(), ModelError> {
    values
        .iter()
        .try_for_each(|&v| check(model, param, v, ok(v), rule))
}

/// [`check_positive`] for every entry of a vector parameter (decay rates, time constants).
fn check_each_positive(
    model: &str,
    param: &str,
    values: &[f64],
    unit: &str,
) -> Result<(), ModelError> {
    let rule = format!("every entry must be > 0 ({unit})");
    check_each(model, param, values, positive, &rule)
}

fn vec_text(v: &[f64]) -> String {
    format!("{v:?}")
}

/// Parameters of NEST `glif_psc` (and, with `g` = `g_m`, the membrane part of `glif_cond`).
/// Units: mV (absolute for V_m, V_th, E_L, V_reset), nS, pF, ms, 1/ms, pA.
#[derive(Debug, Clone, PartialEq)]
pub struct GlifPscParams {
    /// Initial membrane potential (absolute, mV).
    pub v_m: f64,
    pub e_l: f64,
    /// Θ_∞, absolute (mV).
    pub v_th: f64,
    /// Membrane conductance (nS); `g_m` for glif_cond.
    pub g: f64,
    pub c_m: f64,
    pub t_ref: f64,
    /// Reset potential for GLIF1/3 (absolute, mV).
    pub v_reset: f64,
    pub th_spike_add: f64,
    pub th_spike_decay: f64,
    pub voltage_reset_fraction: f64,
    pub voltage_reset_add: f64,
    pub th_voltage_index: f64,
    pub th_voltage_decay: f64,
    /// Accepted and reported like NEST; NEST 3.10 does not copy it into the ASC state (the ASCs
    /// start at 0 unless `ASCurrents` is given), and neither does glifnet.
    pub asc_init: Vec<f64>,
    pub asc_decay: Vec<f64>,
    pub asc_amps: Vec<f64>,
    pub asc_r: Vec<f64>,
    pub tau_syn: Vec<f64>,
    pub spike_dependent_threshold: bool,
    pub after_spike_currents: bool,
    pub adapting_threshold: bool,
    /// NEST's internal values relative to E_L: U(0), th_inf, V_reset (bit-exact derivation).
    pub u0: f64,
    pub th_inf: f64,
    pub v_reset_rel: f64,
    /// Initial after-spike currents (NEST `ASCurrents` state; zeros by default).
    pub asc0: Vec<f64>,
}

impl GlifPscParams {
    /// GLIF level 1..=5 from the three mechanism flags.
    pub fn level(&self) -> u8 {
        match (
            self.spike_dependent_threshold,
            self.after_spike_currents,
            self.adapting_threshold,
        ) {
            (false, false, false) => 1,
            (true, false, false) => 2,
            (false, true, false) => 3,
            (true, true, false) => 4,
            _ => 5,
        }
    }

    /// Parse a NEST `glif_psc` dictionary.
    pub fn from_json(json: &Value) -> Result<GlifPscParams, ModelError> {
        let d = Dict::new("glif_psc", json)?;
        let p = parse_glif(&d, "glif_psc", "g", Some(&[2.0]))?;
        d.finish()?;
        Ok(p)
    }
}

/// Parameters of NEST `glif_psc_double_alpha` (glif.md §12): the GLIF membrane, threshold and
/// ASC parameters of glif_psc (`glif.tau_syn` is empty: the model has no `tau_syn`) plus, per
/// receptor port i, a fast and a slow alpha current, PSC = w·[α(τ_fast,i) + amp_slow_i·α(τ_slow,i)].
#[derive(Debug, Clone, PartialEq)]
pub struct GlifPscDoubleAlphaParams {
    pub glif: GlifPscParams,
    /// τ_f,i (ms); its length is the number of ports (receptor_type 1..=n).
    pub tau_syn_fast: Vec<f64>,
    /// τ_s,i (ms), same length.
    pub tau_syn_slow: Vec<f64>,
    /// a_i, peak of the slow part relative to the fast one (> 0), same length.
    pub amp_slow: Vec<f64>,
}

impl GlifPscDoubleAlphaParams {
    /// Parse a NEST `glif_psc_double_alpha` dictionary (defaults and checks of glif.md §12.1:
    /// every entry of the three arrays > 0, `amp_slow` = 0 rejected as NEST does; arrays of
    /// unequal length are an error here, where NEST would read past the shorter ones).
    pub fn from_json(json: &Value) -> Result<GlifPscDoubleAlphaParams, ModelError> {
        const M: &str = "glif_psc_double_alpha";
        let d = Dict::new(M, json)?;
        let glif = parse_glif(&d, M, "g", None)?;
        let tau_syn_fast = d.vec("tau_syn_fast")?.unwrap_or_else(|| vec![2.0]);
        let tau_syn_slow = d.vec("tau_syn_slow")?.unwrap_or_else(|| vec![6.0]);
        let amp_slow = d.vec("amp_slow")?.unwrap_or_else(|| vec![0.3]);
        d.finish()?;
        let (nf, ns, na) = (tau_syn_fast.len(), tau_syn_slow.len(), amp_slow.len());
        if nf != ns || nf != na {
            let (param, value) = if nf != ns {
                ("tau_syn_slow", &tau_syn_slow)
            } else {
                ("amp_slow", &amp_slow)
            };
            return Err(ModelError::invalid(
                M,
                param,
                vec_text(value),
                &format!(
                    "tau_syn_fast, tau_syn_slow and amp_slow must have the same length (one \
                     entry per receptor port), but tau_syn_fast has {nf}, tau_syn_slow {ns} and \
                     amp_slow {na} entries"
                ),
            ));
        }
        if nf == 0 {
            return Err(ModelError::invalid(
                M,
                "tau_syn_fast",
                "[]",
                "must have at least one entry (one per receptor port)",
            ));
        }
        check_each_positive(M, "tau_syn_fast", &tau_syn_fast, "ms")?;
        check_each_positive(M, "tau_syn_slow", &tau_syn_slow, "ms")?;
        check_each(
            M,
            "amp_slow",
            &amp_slow,
            positive,
            "every entry must be > 0 (NEST: all slow synaptic amplitudes must be strictly \
             positive; a single alpha is glif_psc)",
        )?;
        Ok(GlifPscDoubleAlphaParams {
            glif,
            tau_syn_fast,
            tau_syn_slow,
            amp_slow,
        })
    }

    /// Number of receptor ports.
    pub fn n_ports(&self) -> usize {
        self.tau_syn_fast.len()
    }
}

/// Parameters of NEST `glif_cond`: the GLIF membrane/threshold/ASC parameters (with `g` holding
/// `g_m`) plus conductance-based ports with reversal potentials.
#[derive(Debug, Clone, PartialEq)]
pub struct GlifCondParams {
    pub glif: GlifPscParams,
    /// Reversal potential per port (mV), same length as `glif.tau_syn`.
    pub e_rev: Vec<f64>,
}

impl GlifCondParams {
    pub fn from_json(json: &Value) -> Result<GlifCondParams, ModelError> {
        let d = Dict::new("glif_cond", json)?;
        let glif = parse_glif(&d, "glif_cond", "g_m", Some(&[0.2, 2.0]))?;
        let e_rev = d.vec("E_rev")?.unwrap_or_else(|| vec![0.0, -85.0]);
        if e_rev.len() != glif.tau_syn.len() {
            return Err(ModelError::invalid(
                "glif_cond",
                "E_rev",
                vec_text(&e_rev),
                &format!(
                    "must have the same length as tau_syn ({} entries)",
                    glif.tau_syn.len()
                ),
            ));
        }
        check_each("glif_cond", "E_rev", &e_rev, f64::is_finite, FINITE)?;
        d.finish()?;
        Ok(GlifCondParams { glif, e_rev })
    }
}

/// The GLIF part of a glif_psc / glif_cond / glif_psc_double_alpha dictionary. `tau_default`
/// `None`: the model has no `tau_syn` (the key stays unread, so giving it is an unknown-key
/// error) and `tau_syn` is left empty.
fn parse_glif(
    d: &Dict,
    model: &str,
    g_key: &'static str,
    tau_default: Option<&[f64]>,
) -> Result<GlifPscParams, ModelError> {
    // NEST defaults (glif.md §3.1) and its relative storage.
    const EL0: f64 = -78.85;
    let th_inf0 = -51.68 - EL0;
    let e_l = d.f64("E_L")?.unwrap_or(EL0);
    let delta_el = e_l - EL0;
    let v_reset_rel = d.rel_voltage("V_reset", e_l, 0.0, delta_el)?;
    let th_inf = d.rel_voltage("V_th", e_l, th_inf0, delta_el)?;
    let u0 = d.rel_voltage("V_m", e_l, 0.0, delta_el)?;
    let p = GlifPscParams {
        v_m: u0 + e_l,
        e_l,
        v_th: th_inf + e_l,
        g: d.f64(g_key)?.unwrap_or(9.43),
        c_m: d.f64("C_m")?.unwrap_or(58.72),
        t_ref: d.f64("t_ref")?.unwrap_or(3.75),
        v_reset: v_reset_rel + e_l,
        th_spike_add: d.f64("th_spike_add")?.unwrap_or(0.37),
        th_spike_decay: d.f64("th_spike_decay")?.unwrap_or(0.009),
        voltage_reset_fraction: d.f64("voltage_reset_fraction")?.unwrap_or(0.20),
        voltage_reset_add: d.f64("voltage_reset_add")?.unwrap_or(18.51),
        th_voltage_index: d.f64("th_voltage_index")?.unwrap_or(0.005),
        th_voltage_decay: d.f64("th_voltage_decay")?.unwrap_or(0.09),
        asc_init: d.vec("asc_init")?.unwrap_or_else(|| vec![0.0, 0.0]),
        asc_decay: d.vec("asc_decay")?.unwrap_or_else(|| vec![0.003, 0.1]),
        asc_amps: d.vec("asc_amps")?.unwrap_or_else(|| vec![-9.18, -198.94]),
        asc_r: d.vec("asc_r")?.unwrap_or_else(|| vec![1.0, 1.0]),
        tau_syn: match tau_default {
            Some(t) => d.vec("tau_syn")?.unwrap_or_else(|| t.to_vec()),
            None => Vec::new(),
        },
        spike_dependent_threshold: d.bool("spike_dependent_threshold")?.unwrap_or(false),
        after_spike_currents: d.bool("after_spike_currents")?.unwrap_or(false),
        adapting_threshold: d.bool("adapting_threshold")?.unwrap_or(false),
        u0,
        th_inf,
        v_reset_rel,
        asc0: Vec::new(),
    };
    let asc_state = d.vec("ASCurrents")?;
    let mut p = p;
    p.asc0 = match asc_state {
        Some(a) => {
            if !p.after_spike_currents {
                return Err(ModelError::invalid(
                    model,
                    "ASCurrents",
                    vec_text(&a),
                    "can only be set when after_spike_currents is true",
                ));
            }
            if a.len() != p.asc_decay.len() {
                return Err(ModelError::invalid(
                    model,
                    "ASCurrents",
                    vec_text(&a),
                    &format!("must have the length of asc_decay ({})", p.asc_decay.len()),
                ));
            }
            a
        }
        None => vec![0.0; p.asc_decay.len()],
    };
    validate_glif_core(model, g_key, &p)?;
    if tau_default.is_some() {
        validate_tau_syn(model, &p.tau_syn)?;
    }
    Ok(p)
}

/// NEST's checks for glif_psc / glif_cond (glif.md §3.1), synaptic time constants aside.
fn validate_glif_core(model: &str, g_key: &str, p: &GlifPscParams) -> Result<(), ModelError> {
    for (name, v) in [
        ("V_m", p.v_m),
        ("E_L", p.e_l),
        ("V_th", p.v_th),
        ("V_reset", p.v_reset),
        ("th_spike_add", p.th_spike_add),
        ("voltage_reset_add", p.voltage_reset_add),
        ("th_voltage_index", p.th_voltage_index),
    ] {
        check_finite(model, name, v)?;
    }
    let (s, a, v) = (
        p.spike_dependent_threshold,
        p.after_spike_currents,
        p.adapting_threshold,
    );
    let legal = matches!(
        (s, a, v),
        (false, false, false)
            | (true, false, false)
            | (false, true, false)
            | (true, true, false)
            | (true, true, true)
    );
    if !legal {
        return Err(ModelError::invalid(
            model,
            "spike_dependent_threshold/after_spike_currents/adapting_threshold",
            format!("{s}/{a}/{v}"),
            "must be one of the five GLIF levels: (F,F,F) GLIF1, (T,F,F) GLIF2, (F,T,F) GLIF3, (T,T,F) GLIF4, (T,T,T) GLIF5",
        ));
    }
    if a {
        let n = p.asc_decay.len();
        for (name, vec) in [
            ("asc_init", &p.asc_init),
            ("asc_amps", &p.asc_amps),
            ("asc_r", &p.asc_r),
        ] {
            if vec.len() != n {
                return Err(ModelError::invalid(
                    model,
                    name,
                    vec_text(vec),
                    &format!("must have the same length as asc_decay ({n} entries)"),
                ));
            }
        }
        check_each_positive(model, "asc_decay", &p.asc_decay, "1/ms")?;
        let in_0_1 = |r: f64| (0.0..=1.0).contains(&r);
        let rule = "every entry must be in [0, 1]";
        check_each(model, "asc_r", &p.asc_r, in_0_1, rule)?;
        for v in [&p.asc_amps, &p.asc_init] {
            check_each(model, "asc_amps/asc_init", v, f64::is_finite, FINITE)?;
        }
    }
    if p.v_reset_rel >= p.th_inf {
        return Err(ModelError::invalid(
            model,
            "V_reset",
            p.v_reset,
            &format!("must be smaller than V_th ({})", p.v_th),
        ));
    }
    check_positive(model, "C_m", p.c_m, "pF")?;
    check_positive(model, g_key, p.g, "nS")?;
    check_positive(model, "t_ref", p.t_ref, "ms")?;
    if v {
        check_positive(model, "th_voltage_decay", p.th_voltage_decay, "1/ms")?;
        let gc = p.g / p.c_m;
        check(
            model,
            "th_voltage_decay",
            p.th_voltage_decay,
            p.th_voltage_decay != gc,
            "must differ from g/C_m (the exact threshold solution is singular there)",
        )?;
    }
    if s {
        check_positive(model, "th_spike_decay", p.th_spike_decay, "1/ms")?;
        check(
            model,
            "voltage_reset_fraction",
            p.voltage_reset_fraction,
            (0.0..=1.0).contains(&p.voltage_reset_fraction),
            "must be in [0, 1]",
        )?;
    }
    Ok(())
}

/// `tau_syn` of glif_psc / glif_cond: one entry > 0 per receptor port.
fn validate_tau_syn(model: &str, tau_syn: &[f64]) -> Result<(), ModelError> {
    if tau_syn.is_empty() {
        return Err(ModelError::invalid(
            model,
            "tau_syn",
            "[]",
            "must have at least one entry (one per receptor port)",
        ));
    }
    check_each_positive(model, "tau_syn", tau_syn, "ms")
}

/// Parameters of NEST `iaf_psc_alpha` (defaults: sonata-bmtk.md §5.7).
#[derive(Debug, Clone, PartialEq)]
pub struct IafPscAlphaParams {
    pub e_l: f64,
    pub i_e: f64,
    pub c_m: f64,
    pub tau_m: f64,
    pub t_ref: f64,
    pub tau_syn_ex: f64,
    pub tau_syn_in: f64,
    /// Relative to E_L, as NEST stores them: threshold, reset, lower bound, initial V.
    pub theta: f64,
    pub v_reset_rel: f64,
    pub v_min_rel: f64,
    pub u0: f64,
}

/// Shared E_L-relative derivation of the iaf models (NEST: E_L default −70, V_th −55,
/// V_reset −70, V_min −inf, V_m −70; absolute values kept when only E_L changes).
struct IafCommon {
    e_l: f64,
    i_e: f64,
    c_m: f64,
    tau_m: f64,
    t_ref: f64,
    theta: f64,
    v_reset_rel: f64,
    u0: f64,
}

fn parse_iaf_common(d: &Dict, model: &str) -> Result<IafCommon, ModelError> {
    const EL0: f64 = -70.0;
    let e_l = d.f64("E_L")?.unwrap_or(EL0);
    let delta = e_l - EL0;
    let v_reset_rel = d.rel_voltage("V_reset", e_l, -70.0 - EL0, delta)?;
    let theta = d.rel_voltage("V_th", e_l, -55.0 - EL0, delta)?;
    let u0 = d.rel_voltage("V_m", e_l, 0.0, delta)?;
    let c = IafCommon {
        e_l,
        i_e: d.f64("I_e")?.unwrap_or(0.0),
        c_m: d.f64("C_m")?.unwrap_or(250.0),
        tau_m: d.f64("tau_m")?.unwrap_or(10.0),
        t_ref: d.f64("t_ref")?.unwrap_or(2.0),
        theta,
        v_reset_rel,
        u0,
    };
    for (name, v) in [
        ("E_L", c.e_l),
        ("I_e", c.i_e),
        ("V_th", c.theta + c.e_l),
        ("V_reset", c.v_reset_rel + c.e_l),
        ("V_m", c.u0 + c.e_l),
    ] {
        check_finite(model, name, v)?;
    }
    check_positive(model, "C_m", c.c_m, "pF")?;
    check_positive(model, "tau_m", c.tau_m, "ms")?;
    check(
        model,
        "t_ref",
        c.t_ref,
        c.t_ref >= 0.0 && c.t_ref.is_finite(),
        "must be >= 0 (ms)",
    )?;
    if c.v_reset_rel >= c.theta {
        return Err(ModelError::invalid(
            model,
            "V_reset",
            c.v_reset_rel + c.e_l,
            &format!("must be smaller than V_th ({})", c.theta + c.e_l),
        ));
    }
    Ok(c)
}

fn parse_v_min(d: &Dict, model: &str, e_l: f64) -> Result<f64, ModelError> {
    const EL0: f64 = -70.0;
    Ok(match d.f64("V_min")? {
        Some(v) => {
            check(model, "V_min", v, !v.is_nan(), "must be a number")?;
            v - e_l
        }
        None => f64::NEG_INFINITY - (e_l - EL0),
    })
}

fn parse_tau_syn(d: &Dict, model: &str, key: &'static str) -> Result<f64, ModelError> {
    let t = d.f64(key)?.unwrap_or(2.0);
    check_positive(model, key, t, "ms")?;
    Ok(t)
}

impl IafPscAlphaParams {
    pub fn from_json(json: &Value) -> Result<IafPscAlphaParams, ModelError> {
        let m = "iaf_psc_alpha";
        let d = Dict::new(m, json)?;
        let c = parse_iaf_common(&d, m)?;
        let p = IafPscAlphaParams {
            v_min_rel: parse_v_min(&d, m, c.e_l)?,
            tau_syn_ex: parse_tau_syn(&d, m, "tau_syn_ex")?,
            tau_syn_in: parse_tau_syn(&d, m, "tau_syn_in")?,
            e_l: c.e_l,
            i_e: c.i_e,
            c_m: c.c_m,
            tau_m: c.tau_m,
            t_ref: c.t_ref,
            theta: c.theta,
            v_reset_rel: c.v_reset_rel,
            u0: c.u0,
        };
        d.finish()?;
        Ok(p)
    }
}

/// Parameters of NEST `iaf_psc_exp` (deterministic threshold only).
#[derive(Debug, Clone, PartialEq)]
pub struct IafPscExpParams {
    pub e_l: f64,
    pub i_e: f64,
    pub c_m: f64,
    pub tau_m: f64,
    pub t_ref: f64,
    pub tau_syn_ex: f64,
    pub tau_syn_in: f64,
    pub theta: f64,
    pub v_reset_rel: f64,
    pub u0: f64,
}

impl IafPscExpParams {
    pub fn from_json(json: &Value) -> Result<IafPscExpParams, ModelError> {
        let m = "iaf_psc_exp";
        let d = Dict::new(m, json)?;
        let c = parse_iaf_common(&d, m)?;
        // The escape-noise variant (delta > 0) draws random numbers; not supported.
        if let Some(delta) = d.f64("delta")? {
            check(
                m,
                "delta",
                delta,
                delta == 0.0,
                "only the deterministic threshold (delta = 0) is supported",
            )?;
        }
        if let Some(rho) = d.f64("rho")? {
            check(m, "rho", rho, rho >= 0.0, "must be >= 0")?;
        }
        let p = IafPscExpParams {
            tau_syn_ex: parse_tau_syn(&d, m, "tau_syn_ex")?,
            tau_syn_in: parse_tau_syn(&d, m, "tau_syn_in")?,
            e_l: c.e_l,
            i_e: c.i_e,
            c_m: c.c_m,
            tau_m: c.tau_m,
            t_ref: c.t_ref,
            theta: c.theta,
            v_reset_rel: c.v_reset_rel,
            u0: c.u0,
        };
        d.finish()?;
        Ok(p)
    }
}

/// Parameters of NEST `iaf_psc_delta` (weights are mV jumps).
#[derive(Debug, Clone, PartialEq)]
pub struct IafPscDeltaParams {
    pub e_l: f64,
    pub i_e: f64,
    pub c_m: f64,
    pub tau_m: f64,
    pub t_ref: f64,
    pub theta: f64,
    pub v_reset_rel: f64,
    pub v_min_rel: f64,
    pub u0: f64,
    /// Spikes arriving while refractory are summed (discounted) and applied afterwards.
    pub refractory_input: bool,
}

impl IafPscDeltaParams {
    pub fn from_json(json: &Value) -> Result<IafPscDeltaParams, ModelError> {
        let m = "iaf_psc_delta";
        let d = Dict::new(m, json)?;
        let c = parse_iaf_common(&d, m)?;
        let p = IafPscDeltaParams {
            v_min_rel: parse_v_min(&d, m, c.e_l)?,
            refractory_input: d.bool("refractory_input")?.unwrap_or(false),
            e_l: c.e_l,
            i_e: c.i_e,
            c_m: c.c_m,
            tau_m: c.tau_m,
            t_ref: c.t_ref,
            theta: c.theta,
            v_reset_rel: c.v_reset_rel,
            u0: c.u0,
        };
        d.finish()?;
        Ok(p)
    }
}
