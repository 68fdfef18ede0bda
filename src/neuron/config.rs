//! Allen Cell Types `neuron_config.json` as AllenSDK's `GlifNeuron.from_dict` reads it
//! (docs/glif.md §2.1–2.2): the six method slots are resolved by name here, so an unknown
//! method or a missing/unknown method parameter is rejected before anything runs.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::NeuronError;

/// After-spike current dynamics (`AScurrent_dynamics_method`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AscDynamics {
    /// `exp`: I_j ← I_j·e^{−k_j dt} (exact decay).
    Exp,
    /// `none`: I_j ← 0 every step.
    None,
}

/// Threshold dynamics (`threshold_dynamics_method`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ThresholdDynamics {
    /// `inf`: Θ = th_inf·coeffs.th_inf.
    Inf,
    /// `spike_component`: θ_s decays exactly with `b_spike`; θ_v = 0.
    SpikeComponent { b_spike: f64 },
    /// `three_components_exact`: θ_s as above plus the exact voltage component (GLIF5).
    ThreeComponentsExact {
        b_spike: f64,
        a_voltage: f64,
        b_voltage: f64,
    },
}

/// After-spike current reset (`AScurrent_reset_method`).
#[derive(Debug, Clone, PartialEq)]
pub enum AscReset {
    /// `sum`: I_j ← amp_e[j] + r_j·I'_j·e^{−k_j·dt·n}.
    Sum { r: Vec<f64> },
    /// `none`: I_j ← 0 (AllenSDK raises if the currents are not zero).
    None,
}

/// Voltage reset (`voltage_reset_method`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum VoltageReset {
    /// `zero`: V ← 0 (= El).
    Zero,
    /// `v_before`: V ← a·V' + b, V' = the supra-threshold voltage after the crossing step.
    VBefore { a: f64, b: f64 },
}

/// Threshold reset (`threshold_reset_method`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ThresholdReset {
    /// `inf`: Θ ← th_e (components untouched).
    Inf,
    /// `three_components`: θ_s ← θ_s·e^{−b_spike·n·dt} + a_spike.
    ThreeComponents { a_spike: f64, b_spike: f64 },
}

/// The multiplicative coefficients AllenSDK applies (missing keys stay 1, §2.1).
#[derive(Debug, Clone, PartialEq)]
pub struct Coeffs {
    pub th_inf: f64,
    pub c: f64,
    pub g: f64,
    pub a: f64,
    pub b: f64,
    pub asc_amp_array: Vec<f64>,
}

/// A validated AllenSDK GLIF configuration, in the config's own SI units (voltages relative
/// to rest, El = 0 in every published config).
#[derive(Debug, Clone, PartialEq)]
pub struct AllenConfig {
    /// File the configuration came from (for messages).
    pub source: PathBuf,
    pub el: f64,
    /// Absolute resting potential in V (ignored by the dynamics; used for absolute output and
    /// the NEST conversion). `None` when the file has no `El_reference`.
    pub el_reference: Option<f64>,
    /// The config's own dt (5e-05 s in all published configs; AllenSDK users override it).
    pub dt: f64,
    pub asc_tau_array: Vec<f64>,
    pub r_input: f64,
    pub c: f64,
    pub asc_amp_array: Vec<f64>,
    pub spike_cut_length: usize,
    pub th_inf: f64,
    pub coeffs: Coeffs,
    pub asc_dynamics: AscDynamics,
    pub threshold_dynamics: ThresholdDynamics,
    pub asc_reset: AscReset,
    pub voltage_reset: VoltageReset,
    pub threshold_reset: ThresholdReset,
    pub init_voltage: f64,
    pub init_threshold: f64,
    pub init_asc: Vec<f64>,
    /// The raw JSON (kept so converters and summaries can see every field).
    pub raw: Value,
}

impl AllenConfig {
    /// Read and validate a `neuron_config.json`.
    pub fn from_file(path: &Path) -> Result<Self, NeuronError> {
        let bytes = crate::limits::read_file(path).map_err(|msg| NeuronError::Io {
            file: path.to_path_buf(),
            msg,
        })?;
        let value: Value =
            serde_json::from_slice(crate::limits::strip_bom_bytes(&bytes)).map_err(|e| {
                NeuronError::Field {
                    file: path.to_path_buf(),
                    field: "(json)".into(),
                    msg: format!("not valid JSON: {e}"),
                }
            })?;
        Self::from_value(path, value)
    }

    /// Validate an already parsed config; `source` names it in error messages.
    pub fn from_value(source: &Path, value: Value) -> Result<Self, NeuronError> {
        let p = Parser { file: source };
        let obj = value
            .as_object()
            .ok_or_else(|| p.err("(json)", "top level is not an object"))?;
        if let Some(msg) = crate::models::allen::nest_file_message(&value) {
            return Err(p.err("(file)", msg));
        }

        let el = p.num(obj, "El")?;
        let dt = p.num(obj, "dt")?;
        if dt.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return Err(p.err("dt", format!("{dt:?} must be > 0")));
        }
        let el_reference = match obj.get("El_reference") {
            None | Some(Value::Null) => None,
            Some(_) => Some(p.num(obj, "El_reference")?),
        };
        let asc_tau_array = p.num_array(obj, "asc_tau_array")?;
        let asc_amp_array = p.num_array(obj, "asc_amp_array")?;
        let init_asc = p.num_array(obj, "init_AScurrents")?;
        let n_asc = asc_tau_array.len();
        if asc_amp_array.len() != n_asc {
            return Err(p.err(
                "asc_amp_array",
                format!(
                    "has {} entries but asc_tau_array has {n_asc}",
                    asc_amp_array.len()
                ),
            ));
        }
        if init_asc.len() != n_asc {
            return Err(p.err(
                "init_AScurrents",
                format!(
                    "has {} entries but asc_tau_array has {n_asc}",
                    init_asc.len()
                ),
            ));
        }
        let r_input = p.positive(obj, "R_input")?;
        let c = p.positive(obj, "C")?;
        let th_inf = p.num(obj, "th_inf")?;
        let scl = p.num(obj, "spike_cut_length")?;
        // AllenSDK casts with int(); a negative or fractional count is a broken config.
        if scl < 0.0 || scl.fract() != 0.0 || scl > 1e9 {
            return Err(p.err(
                "spike_cut_length",
                format!("{scl:?} is not a non-negative integer"),
            ));
        }
        let spike_cut_length = scl as usize;
        let init_voltage = p.num(obj, "init_voltage")?;
        let init_threshold = p.num(obj, "init_threshold")?;
        let coeffs = p.coeffs(obj, n_asc)?;

        // Method slots (§2.2). Names are matched exactly; parameters must be exactly those the
        // AllenSDK function accepts (it would raise on a missing or unexpected keyword).
        let (name, params) = p.method(obj, "voltage_dynamics_method")?;
        if name != "linear_forward_euler" {
            return Err(p.unknown_method(
                "voltage_dynamics_method",
                &name,
                "linear_forward_euler (the only voltage method AllenSDK has; linear_exact and the quadratic/piecewise methods were removed in 2017)",
            ));
        }
        p.exact_params("voltage_dynamics_method", &name, &params, &[])?;

        let (name, params) = p.method(obj, "AScurrent_dynamics_method")?;
        let asc_dynamics = match name.as_str() {
            "exp" => AscDynamics::Exp,
            "none" => AscDynamics::None,
            _ => return Err(p.unknown_method("AScurrent_dynamics_method", &name, "exp, none")),
        };
        p.exact_params("AScurrent_dynamics_method", &name, &params, &[])?;

        let (name, params) = p.method(obj, "threshold_dynamics_method")?;
        let slot = "threshold_dynamics_method";
        let threshold_dynamics = match name.as_str() {
            "inf" => {
                p.exact_params(slot, &name, &params, &[])?;
                ThresholdDynamics::Inf
            }
            "spike_component" | "three_components_exact" => {
                let keys = ["a_spike", "b_spike", "a_voltage", "b_voltage"];
                p.exact_params(slot, &name, &params, &keys)?;
                let b_spike = p.param(slot, &params, "b_spike")?;
                if name == "spike_component" {
                    ThresholdDynamics::SpikeComponent { b_spike }
                } else {
                    ThresholdDynamics::ThreeComponentsExact {
                        b_spike,
                        a_voltage: p.param(slot, &params, "a_voltage")? * coeffs.a,
                        b_voltage: p.param(slot, &params, "b_voltage")? * coeffs.b,
                    }
                }
            }
            _ => {
                return Err(p.unknown_method(
                    slot,
                    &name,
                    "inf, spike_component, three_components_exact",
                ))
            }
        };

        let (name, params) = p.method(obj, "AScurrent_reset_method")?;
        let slot = "AScurrent_reset_method";
        let asc_reset = match name.as_str() {
            "sum" => {
                p.exact_params(slot, &name, &params, &["r"])?;
                let r = p.param_array(slot, &params, "r")?;
                if r.len() != n_asc {
                    return Err(p.err(
                        &format!("{slot}.params.r"),
                        format!("has {} entries but asc_tau_array has {n_asc}", r.len()),
                    ));
                }
                AscReset::Sum { r }
            }
            "none" => {
                p.exact_params(slot, &name, &params, &[])?;
                AscReset::None
            }
            _ => return Err(p.unknown_method(slot, &name, "sum, none")),
        };

        let (name, params) = p.method(obj, "voltage_reset_method")?;
        let slot = "voltage_reset_method";
        let voltage_reset = match name.as_str() {
            "zero" => {
                p.exact_params(slot, &name, &params, &[])?;
                VoltageReset::Zero
            }
            "v_before" => {
                p.exact_params(slot, &name, &params, &["a", "b"])?;
                VoltageReset::VBefore {
                    a: p.param(slot, &params, "a")?,
                    b: p.param(slot, &params, "b")?,
                }
            }
            _ => return Err(p.unknown_method(slot, &name, "zero, v_before")),
        };

        let (name, params) = p.method(obj, "threshold_reset_method")?;
        let slot = "threshold_reset_method";
        let threshold_reset = match name.as_str() {
            "inf" => {
                p.exact_params(slot, &name, &params, &[])?;
                ThresholdReset::Inf
            }
            "three_components" => {
                p.exact_params(slot, &name, &params, &["a_spike", "b_spike"])?;
                ThresholdReset::ThreeComponents {
                    a_spike: p.param(slot, &params, "a_spike")?,
                    b_spike: p.param(slot, &params, "b_spike")?,
                }
            }
            _ => return Err(p.unknown_method(slot, &name, "inf, three_components")),
        };

        // Combinations AllenSDK accepts at construction but that raise at the first spike.
        if matches!(threshold_reset, ThresholdReset::ThreeComponents { .. })
            && threshold_dynamics == ThresholdDynamics::Inf
        {
            return Err(p.err(
                "threshold_reset_method",
                "three_components needs threshold components, but threshold_dynamics_method is inf \
                 (AllenSDK raises at the first spike); use spike_component or three_components_exact",
            ));
        }
        if asc_dynamics == AscDynamics::Exp
            && asc_reset == AscReset::None
            && init_asc.iter().sum::<f64>() != 0.0
        {
            return Err(p.err(
                "init_AScurrents",
                format!(
                    "{init_asc:?} must be zero when AScurrent_reset_method is none (AllenSDK raises at the first spike)"
                ),
            ));
        }
        if asc_dynamics == AscDynamics::Exp {
            if let Some(t) = asc_tau_array.iter().find(|t| !(**t > 0.0 && t.is_finite())) {
                return Err(p.err("asc_tau_array", format!("{t:?} must be > 0")));
            }
        }
        if let ThresholdDynamics::ThreeComponentsExact { b_voltage, .. } = threshold_dynamics {
            let g_over_c = (1.0 / r_input) * coeffs.g / (c * coeffs.c);
            if b_voltage == 0.0 || b_voltage == g_over_c {
                return Err(p.err(
                    "threshold_dynamics_method.params.b_voltage",
                    format!(
                        "{b_voltage} makes the exact voltage-threshold solution singular (b_voltage must be non-zero and differ from G/C = {g_over_c})"
                    ),
                ));
            }
        }

        Ok(AllenConfig {
            source: source.to_path_buf(),
            el,
            el_reference,
            dt,
            asc_tau_array,
            r_input,
            c,
            asc_amp_array,
            spike_cut_length,
            th_inf,
            coeffs,
            asc_dynamics,
            threshold_dynamics,
            asc_reset,
            voltage_reset,
            threshold_reset,
            init_voltage,
            init_threshold,
            init_asc,
            raw: value,
        })
    }

    /// GLIF level 1–5 inferred from the method names (§2.2 level table), if it is one of them.
    pub fn level(&self) -> Option<u8> {
        use ThresholdDynamics as T;
        match (self.threshold_dynamics, self.asc_dynamics) {
            (T::Inf, AscDynamics::None) => Some(1),
            (T::SpikeComponent { .. }, AscDynamics::None) => Some(2),
            (T::Inf, AscDynamics::Exp) => Some(3),
            (T::SpikeComponent { .. }, AscDynamics::Exp) => Some(4),
            (T::ThreeComponentsExact { .. }, AscDynamics::Exp) => Some(5),
            _ => None,
        }
    }

    /// Effective capacitance C·coeffs.C (F).
    pub fn c_e(&self) -> f64 {
        self.c * self.coeffs.c
    }

    /// Effective conductance (1/R_input)·coeffs.G (S).
    pub fn g_e(&self) -> f64 {
        (1.0 / self.r_input) * self.coeffs.g
    }

    /// Effective threshold th_inf·coeffs.th_inf (V, relative to rest).
    pub fn th_e(&self) -> f64 {
        self.th_inf * self.coeffs.th_inf
    }

    /// Rheobase of the effective model, th_e·G_e (A) — the I_rh of docs/glif.md §9.1.
    pub fn rheobase(&self) -> f64 {
        self.th_inf * self.coeffs.th_inf * self.coeffs.g / self.r_input
    }
}

/// Field readers that produce errors naming the file and the field.
struct Parser<'a> {
    file: &'a Path,
}

impl Parser<'_> {
    fn err(&self, field: &str, msg: impl Into<String>) -> NeuronError {
        NeuronError::Field {
            file: self.file.to_path_buf(),
            field: field.to_string(),
            msg: msg.into(),
        }
    }

    fn unknown_method(&self, slot: &str, name: &str, known: &str) -> NeuronError {
        self.err(
            &format!("{slot}.name"),
            format!("unknown method \"{name}\" (AllenSDK knows: {known})"),
        )
    }

    fn num(&self, obj: &Map<String, Value>, key: &str) -> Result<f64, NeuronError> {
        match obj.get(key) {
            None => Err(self.err(key, "missing")),
            Some(v) => {
                finite(v).ok_or_else(|| self.err(key, format!("{v} is not a finite number")))
            }
        }
    }

    fn positive(&self, obj: &Map<String, Value>, key: &str) -> Result<f64, NeuronError> {
        let x = self.num(obj, key)?;
        if x > 0.0 {
            Ok(x)
        } else {
            Err(self.err(key, format!("{x:?} must be > 0")))
        }
    }

    fn num_array(&self, obj: &Map<String, Value>, key: &str) -> Result<Vec<f64>, NeuronError> {
        let v = obj.get(key).ok_or_else(|| self.err(key, "missing"))?;
        array_of_numbers(v)
            .ok_or_else(|| self.err(key, format!("{v} is not an array of finite numbers")))
    }

    fn coeffs(&self, obj: &Map<String, Value>, n_asc: usize) -> Result<Coeffs, NeuronError> {
        let mut c = Coeffs {
            th_inf: 1.0,
            c: 1.0,
            g: 1.0,
            a: 1.0,
            b: 1.0,
            asc_amp_array: vec![1.0; n_asc],
        };
        let Some(v) = obj.get("coeffs") else {
            return Ok(c);
        };
        let m = v
            .as_object()
            .ok_or_else(|| self.err("coeffs", format!("{v} is not an object")))?;
        for (k, x) in m {
            let field = format!("coeffs.{k}");
            let scalar =
                || finite(x).ok_or_else(|| self.err(&field, format!("{x} is not a finite number")));
            match k.as_str() {
                "th_inf" => c.th_inf = scalar()?,
                "C" => c.c = scalar()?,
                "G" => c.g = scalar()?,
                "a" => c.a = scalar()?,
                "b" => c.b = scalar()?,
                "asc_amp_array" => {
                    let a = array_of_numbers(x).ok_or_else(|| {
                        self.err(&field, format!("{x} is not an array of finite numbers"))
                    })?;
                    if a.len() != n_asc {
                        return Err(self.err(
                            &field,
                            format!("has {} entries but asc_tau_array has {n_asc}", a.len()),
                        ));
                    }
                    c.asc_amp_array = a;
                }
                // AllenSDK keeps unknown coefficients but never reads them.
                _ => {}
            }
        }
        Ok(c)
    }

    fn method(
        &self,
        obj: &Map<String, Value>,
        slot: &str,
    ) -> Result<(String, Map<String, Value>), NeuronError> {
        let v = obj.get(slot).ok_or_else(|| self.err(slot, "missing"))?;
        let m = v
            .as_object()
            .ok_or_else(|| self.err(slot, format!("{v} is not an object {{name, params}}")))?;
        let name = match m.get("name") {
            Some(Value::String(s)) => s.clone(),
            Some(x) => {
                return Err(self.err(&format!("{slot}.name"), format!("{x} is not a string")))
            }
            None => return Err(self.err(&format!("{slot}.name"), "missing")),
        };
        let params = match m.get("params") {
            Some(Value::Object(p)) => p.clone(),
            Some(Value::Null) | None => return Err(self.err(&format!("{slot}.params"), "missing")),
            Some(x) => {
                return Err(self.err(&format!("{slot}.params"), format!("{x} is not an object")))
            }
        };
        Ok((name, params))
    }

    fn exact_params(
        &self,
        slot: &str,
        name: &str,
        params: &Map<String, Value>,
        keys: &[&str],
    ) -> Result<(), NeuronError> {
        for k in keys {
            if !params.contains_key(*k) {
                return Err(self.err(
                    &format!("{slot}.params.{k}"),
                    format!("missing (required by method \"{name}\")"),
                ));
            }
        }
        if let Some(k) = params.keys().find(|k| !keys.contains(&k.as_str())) {
            let accepted = if keys.is_empty() {
                "none".to_string()
            } else {
                keys.join(", ")
            };
            return Err(self.err(
                &format!("{slot}.params.{k}"),
                format!("unknown parameter of method \"{name}\" (accepted: {accepted})"),
            ));
        }
        Ok(())
    }

    fn param(
        &self,
        slot: &str,
        params: &Map<String, Value>,
        key: &str,
    ) -> Result<f64, NeuronError> {
        let field = format!("{slot}.params.{key}");
        let v = params.get(key).ok_or_else(|| self.err(&field, "missing"))?;
        finite(v).ok_or_else(|| self.err(&field, format!("{v} is not a finite number")))
    }

    fn param_array(
        &self,
        slot: &str,
        params: &Map<String, Value>,
        key: &str,
    ) -> Result<Vec<f64>, NeuronError> {
        let field = format!("{slot}.params.{key}");
        let v = params.get(key).ok_or_else(|| self.err(&field, "missing"))?;
        array_of_numbers(v)
            .ok_or_else(|| self.err(&field, format!("{v} is not an array of finite numbers")))
    }
}

fn finite(v: &Value) -> Option<f64> {
    v.as_f64().filter(|x| x.is_finite())
}

fn array_of_numbers(v: &Value) -> Option<Vec<f64>> {
    v.as_array()?.iter().map(finite).collect()
}
