//! Allen Cell Types `neuron_config.json` (SI units, voltages relative to rest) → NEST
//! `glif_psc` / `glif_cond` parameters (mV, nS, pF, ms, 1/ms, pA).
//!
//! The formulas are bmtk's builtin converter (sonata-bmtk.md §5.4, glif.md §1 table and §3.9),
//! evaluated in the same order so the results agree with bmtk to rounding. The one real choice —
//! how long the refractory period is — is explicit ([`RefractoryConvention`]): bmtk (the network
//! default) uses `spike_cut_length × config dt` (5e-5 s → 1–10 ms), AllenSDK counts the cut in
//! steps of the run's dt (glif.md §0 item 2).

use super::{GlifCondParams, GlifPscParams, ModelError, ModelKind, ModelParams};
use serde_json::{json, Map, Value};

const CTX: &str = "neuron_config";

/// bmtk's hard-coded receptor time constants for converted GLIF cells (4 ports).
pub const BMTK_TAU_SYN: [f64; 4] = [5.5, 8.5, 2.8, 5.8];
/// NEST glif_cond default ports (used for glif_cond conversions; bmtk does not convert those).
pub const COND_TAU_SYN: [f64; 2] = [0.2, 2.0];
pub const COND_E_REV: [f64; 2] = [0.0, -85.0];

/// How `spike_cut_length` (an integer number of steps) becomes NEST's `t_ref`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RefractoryConvention {
    /// bmtk: t_ref = spike_cut_length × the config's own `dt` (the fitting dt, 5e-5 s).
    ConfigDt,
    /// AllenSDK / GLIF2NEST: t_ref = spike_cut_length × the run's dt (ms).
    RunDt(f64),
}

impl RefractoryConvention {
    /// Parse `bmtk` / `config-dt` or `run-dt:<ms>` (also `allensdk:<ms>`).
    pub fn parse(s: &str) -> Result<RefractoryConvention, ModelError> {
        let bad = || {
            ModelError::invalid(
                "convert",
                "t-ref-convention",
                s,
                "must be `bmtk` (spike_cut_length × config dt) or `run-dt:<dt_ms>` (spike_cut_length × run dt)",
            )
        };
        match s {
            "bmtk" | "config-dt" => Ok(RefractoryConvention::ConfigDt),
            _ => {
                let (k, v) = s.split_once(':').ok_or_else(bad)?;
                if k != "run-dt" && k != "allensdk" {
                    return Err(bad());
                }
                let dt: f64 = v.trim().parse().map_err(|_| bad())?;
                if !(dt.is_finite() && dt > 0.0) {
                    return Err(bad());
                }
                Ok(RefractoryConvention::RunDt(dt))
            }
        }
    }
}

/// One derived NEST parameter with the formula and inputs that produced it (`--explain`).
#[derive(Debug, Clone, PartialEq)]
pub struct Derivation {
    pub name: String,
    pub formula: String,
    pub inputs: String,
    pub value: Value,
}

/// Result of a conversion.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversion {
    /// GLIF level 1..=5.
    pub level: u8,
    pub kind: ModelKind,
    /// NEST parameter dictionary in bmtk's key order.
    pub params: Map<String, Value>,
    pub derivations: Vec<Derivation>,
}

impl Conversion {
    /// The validated parameter set.
    pub fn model_params(&self) -> Result<ModelParams, ModelError> {
        let v = Value::Object(self.params.clone());
        Ok(match self.kind {
            ModelKind::GlifCond => ModelParams::GlifCond(GlifCondParams::from_json(&v)?),
            _ => ModelParams::GlifPsc(GlifPscParams::from_json(&v)?),
        })
    }
}

/// GLIF level of a bmtk `model_template` (`nest:glif_lif_psc` … `nest:glif_lif_r_asc_a_psc`).
pub fn level_from_template(template: &str) -> Option<u8> {
    let t = template.trim();
    let t = t.strip_prefix("nest:").unwrap_or(t);
    match t {
        "glif_lif_psc" => Some(1),
        "glif_lif_r_psc" => Some(2),
        "glif_lif_asc_psc" => Some(3),
        "glif_lif_r_asc_psc" => Some(4),
        "glif_lif_r_asc_a_psc" => Some(5),
        _ => None,
    }
}

/// bmtk model_template name of a level.
pub fn template_for_level(level: u8) -> &'static str {
    match level {
        1 => "nest:glif_lif_psc",
        2 => "nest:glif_lif_r_psc",
        3 => "nest:glif_lif_asc_psc",
        4 => "nest:glif_lif_r_asc_psc",
        _ => "nest:glif_lif_r_asc_a_psc",
    }
}

fn missing(field: &str) -> ModelError {
    ModelError::invalid(CTX, field, "(missing)", "required field")
}

fn num(cfg: &Value, path: &[&str]) -> Result<f64, ModelError> {
    let name = path.join(".");
    let mut v = cfg;
    for k in path {
        v = v.get(k).ok_or_else(|| missing(&name))?;
    }
    let x = v
        .as_f64()
        .ok_or_else(|| ModelError::invalid(CTX, &name, v, "must be a number"))?;
    if !x.is_finite() {
        return Err(ModelError::invalid(CTX, &name, x, "must be finite"));
    }
    Ok(x)
}

fn nums(cfg: &Value, path: &[&str]) -> Result<Vec<f64>, ModelError> {
    let name = path.join(".");
    let mut v = cfg;
    for k in path {
        v = v.get(k).ok_or_else(|| missing(&name))?;
    }
    let a = v
        .as_array()
        .ok_or_else(|| ModelError::invalid(CTX, &name, v, "must be an array of numbers"))?;
    a.iter()
        .map(|x| {
            x.as_f64()
                .filter(|f| f.is_finite())
                .ok_or_else(|| ModelError::invalid(CTX, &name, x, "entries must be finite numbers"))
        })
        .collect()
}

fn name_of<'a>(cfg: &'a Value, method: &str) -> Result<&'a str, ModelError> {
    let field = format!("{method}.name");
    let v = cfg
        .get(method)
        .and_then(|m| m.get("name"))
        .ok_or_else(|| missing(&field))?;
    v.as_str()
        .ok_or_else(|| ModelError::invalid(CTX, &field, v, "must be a string"))
}

/// GLIF level from the config's method names (glif.md §9 template rule).
pub fn level_from_methods(cfg: &Value) -> Result<u8, ModelError> {
    let th = name_of(cfg, "threshold_dynamics_method")?;
    let asc = name_of(cfg, "AScurrent_dynamics_method")?;
    match (th, asc) {
        ("inf", "none") => Ok(1),
        ("spike_component", "none") => Ok(2),
        ("inf", "exp") => Ok(3),
        ("spike_component", "exp") => Ok(4),
        ("three_components_exact", "exp") => Ok(5),
        _ => Err(ModelError::invalid(
            CTX,
            "threshold_dynamics_method.name/AScurrent_dynamics_method.name",
            format!("{th}/{asc}"),
            "must be inf/none (GLIF1), spike_component/none (GLIF2), inf/exp (GLIF3), spike_component/exp (GLIF4) or three_components_exact/exp (GLIF5)",
        )),
    }
}

struct Builder {
    params: Map<String, Value>,
    derivations: Vec<Derivation>,
}

impl Builder {
    fn put(&mut self, name: &str, value: Value, formula: &str, inputs: String) {
        self.derivations.push(Derivation {
            name: name.to_string(),
            formula: formula.to_string(),
            inputs,
            value: value.clone(),
        });
        self.params.insert(name.to_string(), value);
    }
}

/// Convert an Allen `neuron_config.json` to NEST parameters for `kind` (glif_psc or glif_cond).
/// `level` overrides the level implied by the method names (bmtk takes it from the
/// model_template).
/// If `cfg` is a NEST-format GLIF/iaf parameter file (NEST names such as `C_m`, `V_th`,
/// `E_L`, and none of the Allen `neuron_config.json` ones): a message saying so, for the
/// commands that need an Allen file.
pub fn nest_file_message(cfg: &Value) -> Option<String> {
    const NEST: &[&str] = &[
        "C_m", "V_th", "E_L", "g", "g_m", "t_ref", "V_reset", "tau_m", "asc_amps", "tau_syn",
    ];
    const ALLEN: &[&str] = &[
        "El_reference",
        "coeffs",
        "R_input",
        "th_inf",
        "C",
        "El",
        "dt",
    ];
    let o = cfg.as_object()?;
    let nest: Vec<&str> = NEST
        .iter()
        .copied()
        .filter(|k| o.contains_key(*k))
        .collect();
    let allen = ALLEN.iter().any(|k| o.contains_key(*k));
    (nest.len() >= 2 && !allen).then(|| {
        format!(
            "this is a NEST parameter file (keys {}); glifnet neuron/convert need an Allen neuron_config.json (SI units: El_reference, C, R_input, th_inf, coeffs, ...)",
            nest.join(", ")
        )
    })
}

pub fn convert(
    cfg: &Value,
    kind: ModelKind,
    level: Option<u8>,
    refractory: RefractoryConvention,
) -> Result<Conversion, ModelError> {
    if !cfg.is_object() {
        return Err(ModelError::invalid(
            CTX,
            "(file)",
            "not an object",
            "must be a JSON object",
        ));
    }
    if let Some(msg) = nest_file_message(cfg) {
        return Err(ModelError::Invalid {
            model: CTX.into(),
            param: "(file)".into(),
            value: "NEST parameters".into(),
            rule: msg,
        });
    }
    if let Some(t) = cfg.get("type") {
        if t.as_str() != Some("GLIF") {
            return Err(ModelError::invalid(CTX, "type", t, "must be \"GLIF\""));
        }
    }
    if kind != ModelKind::GlifPsc && kind != ModelKind::GlifCond {
        return Err(ModelError::invalid(
            "convert",
            "model",
            kind,
            "must be glif_psc or glif_cond",
        ));
    }
    let level = match level {
        Some(l) if (1..=5).contains(&l) => l,
        Some(l) => return Err(ModelError::invalid("convert", "level", l, "must be 1..=5")),
        None => level_from_methods(cfg)?,
    };
    let (r, asc, a) = match level {
        1 => (false, false, false),
        2 => (true, false, false),
        3 => (false, true, false),
        4 => (true, true, false),
        _ => (true, true, true),
    };
    let el = num(cfg, &["El"])?;
    let el_ref = num(cfg, &["El_reference"])?;
    let k_th = num(cfg, &["coeffs", "th_inf"])?;
    let th_inf = num(cfg, &["th_inf"])?;
    let k_g = num(cfg, &["coeffs", "G"])?;
    let r_in = num(cfg, &["R_input"])?;
    let k_c = num(cfg, &["coeffs", "C"])?;
    let c = num(cfg, &["C"])?;
    let scl = num(cfg, &["spike_cut_length"])?;
    if scl < 0.0 || scl.fract() != 0.0 {
        return Err(ModelError::invalid(
            CTX,
            "spike_cut_length",
            scl,
            "must be a whole number of steps >= 0",
        ));
    }
    if r_in <= 0.0 {
        return Err(ModelError::invalid(
            CTX,
            "R_input",
            r_in,
            "must be > 0 (Ohm)",
        ));
    }
    let mut b = Builder {
        params: Map::new(),
        derivations: Vec::new(),
    };
    let v_m = el * 1e3 + el_ref * 1e3;
    b.put(
        "V_m",
        json!(v_m),
        "(El + El_reference)·1e3",
        format!("El = {el} V, El_reference = {el_ref} V"),
    );
    let v_th = k_th * th_inf * 1e3 + el_ref * 1e3;
    b.put(
        "V_th",
        json!(v_th),
        "coeffs.th_inf·th_inf·1e3 + El_reference·1e3",
        format!("coeffs.th_inf = {k_th}, th_inf = {th_inf} V, El_reference = {el_ref} V"),
    );
    let g = k_g / r_in * 1e9;
    let g_name = if kind == ModelKind::GlifCond {
        "g_m"
    } else {
        "g"
    };
    b.put(
        g_name,
        json!(g),
        "coeffs.G/R_input·1e9",
        format!("coeffs.G = {k_g}, R_input = {r_in} Ohm"),
    );
    b.put(
        "E_L",
        json!(v_m),
        "(El + El_reference)·1e3",
        format!("El = {el} V, El_reference = {el_ref} V"),
    );
    b.put(
        "C_m",
        json!(k_c * c * 1e12),
        "coeffs.C·C·1e12",
        format!("coeffs.C = {k_c}, C = {c} F"),
    );
    match refractory {
        RefractoryConvention::ConfigDt => {
            let dt = num(cfg, &["dt"])?;
            b.put(
                "t_ref",
                json!(scl * dt * 1e3),
                "spike_cut_length·dt·1e3 (bmtk convention: the config's fitting dt)",
                format!("spike_cut_length = {scl}, dt = {dt} s"),
            );
        }
        RefractoryConvention::RunDt(dt_ms) => b.put(
            "t_ref",
            json!(scl * dt_ms),
            "spike_cut_length·run dt (AllenSDK convention)",
            format!("spike_cut_length = {scl}, run dt = {dt_ms} ms"),
        ),
    }
    if !r {
        b.put(
            "V_reset",
            json!(el_ref * 1e3),
            "El_reference·1e3",
            format!("El_reference = {el_ref} V"),
        );
    } else {
        let tp = ["threshold_dynamics_method", "params"];
        let rp = ["voltage_reset_method", "params"];
        let a_spike = num(cfg, &[tp[0], tp[1], "a_spike"])?;
        let b_spike = num(cfg, &[tp[0], tp[1], "b_spike"])?;
        let ra = num(cfg, &[rp[0], rp[1], "a"])?;
        let rb = num(cfg, &[rp[0], rp[1], "b"])?;
        b.put(
            "th_spike_add",
            json!(a_spike * 1e3),
            "threshold_dynamics_method.params.a_spike·1e3",
            format!("a_spike = {a_spike} V"),
        );
        b.put(
            "th_spike_decay",
            json!(b_spike * 1e-3),
            "threshold_dynamics_method.params.b_spike·1e-3",
            format!("b_spike = {b_spike} 1/s"),
        );
        b.put(
            "voltage_reset_fraction",
            json!(ra),
            "voltage_reset_method.params.a",
            format!("a = {ra}"),
        );
        b.put(
            "voltage_reset_add",
            json!(rb * 1e3),
            "voltage_reset_method.params.b·1e3",
            format!("b = {rb} V"),
        );
        if a {
            let a_v = num(cfg, &[tp[0], tp[1], "a_voltage"])?;
            let b_v = num(cfg, &[tp[0], tp[1], "b_voltage"])?;
            let k_a = num(cfg, &["coeffs", "a"])?;
            let k_b = num(cfg, &["coeffs", "b"])?;
            b.put(
                "th_voltage_index",
                json!(a_v * k_a * 1e-3),
                "threshold_dynamics_method.params.a_voltage·coeffs.a·1e-3",
                format!("a_voltage = {a_v} 1/s, coeffs.a = {k_a}"),
            );
            b.put(
                "th_voltage_decay",
                json!(b_v * k_b * 1e-3),
                "threshold_dynamics_method.params.b_voltage·coeffs.b·1e-3",
                format!("b_voltage = {b_v} 1/s, coeffs.b = {k_b}"),
            );
        }
    }
    if asc {
        let init = nums(cfg, &["init_AScurrents"])?;
        let tau = nums(cfg, &["asc_tau_array"])?;
        let amp = nums(cfg, &["asc_amp_array"])?;
        let k_amp = nums(cfg, &["coeffs", "asc_amp_array"])?;
        if tau.len() != amp.len() || k_amp.len() != amp.len() || init.len() != amp.len() {
            return Err(ModelError::invalid(
                CTX,
                "asc_amp_array",
                format!("{amp:?}"),
                "asc_amp_array, asc_tau_array, init_AScurrents and coeffs.asc_amp_array must have the same length",
            ));
        }
        if let Some(&t) = tau.iter().find(|&&t| t <= 0.0) {
            return Err(ModelError::invalid(
                CTX,
                "asc_tau_array",
                t,
                "entries must be > 0 (s)",
            ));
        }
        b.put(
            "asc_init",
            json!(init.iter().map(|x| x * 1e12).collect::<Vec<_>>()),
            "init_AScurrents·1e12",
            format!("init_AScurrents = {init:?} A"),
        );
        b.put(
            "asc_decay",
            json!(tau.iter().map(|t| 1.0 / t * 1e-3).collect::<Vec<_>>()),
            "1/asc_tau_array·1e-3",
            format!("asc_tau_array = {tau:?} s"),
        );
        b.put(
            "asc_amps",
            json!(amp
                .iter()
                .zip(&k_amp)
                .map(|(x, k)| x * k * 1e12)
                .collect::<Vec<_>>()),
            "asc_amp_array·coeffs.asc_amp_array·1e12",
            format!("asc_amp_array = {amp:?} A, coeffs.asc_amp_array = {k_amp:?}"),
        );
        if r {
            b.put(
                "asc_r",
                json!(vec![1.0; amp.len()]),
                "1 (bmtk hard-codes asc_r; the configs' AScurrent_reset_method.params.r are all 1)",
                String::new(),
            );
        }
    }
    if kind == ModelKind::GlifCond {
        b.put(
            "tau_syn",
            json!(COND_TAU_SYN),
            "NEST glif_cond default ports",
            String::new(),
        );
        b.put(
            "E_rev",
            json!(COND_E_REV),
            "NEST glif_cond default ports",
            String::new(),
        );
    } else {
        b.put(
            "tau_syn",
            json!(BMTK_TAU_SYN),
            "bmtk's 4 ports",
            String::new(),
        );
    }
    b.put(
        "spike_dependent_threshold",
        json!(r),
        "level flag",
        format!("GLIF{level}"),
    );
    b.put(
        "after_spike_currents",
        json!(asc),
        "level flag",
        format!("GLIF{level}"),
    );
    b.put(
        "adapting_threshold",
        json!(a),
        "level flag",
        format!("GLIF{level}"),
    );
    let conv = Conversion {
        level,
        kind,
        params: b.params,
        derivations: b.derivations,
    };
    conv.model_params()?; // NEST's validity checks on the result
    Ok(conv)
}
