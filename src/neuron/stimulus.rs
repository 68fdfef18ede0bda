//! Input currents for single-cell runs, sampled on the run grid: `stim[k]` is the current (A)
//! during [k·dt, (k+1)·dt), exactly what AllenSDK's `GlifNeuron.run(stim)` consumes.
//!
//! Spike trains become currents through a synaptic kernel started at the spike's step
//! `round(t/dt)`:
//! * alpha: I(t) = w·(t/τ)·e^{1 − t/τ} — peak w at t = τ (NEST/BMTK alpha PSC, weight = peak);
//! * exp:   I(t) = w·e^{−t/τ}          — jump of w at the spike, integral w·τ.
//!
//! Both are evaluated with their exact one-step propagators, so the cost is O(steps), whatever
//! the number of spikes.

use std::path::{Path, PathBuf};

use rand::{rngs::StdRng, Rng, SeedableRng};

use super::NeuronError;

/// A rectangular current pulse: `amp` (A) on for steps round(start/dt) … round(stop/dt) − 1
/// (the convention of the AllenSDK reference square pulses, docs/glif.md §9.1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepCurrent {
    pub amp: f64,
    pub start: f64,
    pub stop: f64,
}

impl StepCurrent {
    /// Parse `AMP,START,STOP` (A, s, s).
    pub fn parse(s: &str) -> Result<Self, NeuronError> {
        let err = |msg: &str| NeuronError::Value {
            what: format!("--step {s}"),
            msg: msg.to_string(),
        };
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        if parts.len() != 3 {
            return Err(err(
                "expected AMP,START,STOP (amps in A, times in s), e.g. 1.5e-10,0.1,0.6",
            ));
        }
        let num = |x: &str, name: &str| {
            x.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| err(&format!("{name} \"{x}\" is not a finite number")))
        };
        let amp = num(parts[0], "AMP")?;
        let start = num(parts[1], "START")?;
        let stop = num(parts[2], "STOP")?;
        if start < 0.0 || stop <= start {
            return Err(err(&format!(
                "need 0 <= START < STOP, got START {start} s, STOP {stop} s"
            )));
        }
        Ok(StepCurrent { amp, start, stop })
    }

    /// Add the pulse to `stim` (sampled at `dt`).
    pub fn add_to(&self, stim: &mut [f64], dt: f64) {
        let on = (self.start / dt).round() as usize;
        let off = ((self.stop / dt).round() as usize).min(stim.len());
        if on < off {
            stim[on..off].iter_mut().for_each(|x| *x += self.amp);
        }
    }
}

/// Read a text stimulus: one current value per line, multiplied by `scale` (1 for A, 1e-12
/// for pA). Blank lines and lines starting with `#` are skipped.
pub fn read_text_stimulus(path: &Path, scale: f64) -> Result<Vec<f64>, NeuronError> {
    let text = std::fs::read_to_string(path).map_err(|e| NeuronError::Io {
        file: path.to_path_buf(),
        msg: e.to_string(),
    })?;
    let text = crate::limits::strip_bom(&text);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let v = t
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| NeuronError::Line {
                file: path.to_path_buf(),
                line: i + 1,
                msg: format!(
                    "\"{t}\" is not a finite number (expected one current value per line)"
                ),
            })?;
        out.push(v * scale);
    }
    if out.is_empty() {
        return Err(NeuronError::Io {
            file: path.to_path_buf(),
            msg: "contains no current values".into(),
        });
    }
    Ok(out)
}

/// Synaptic kernel shape; `tau` in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kernel {
    Alpha { tau: f64 },
    Exp { tau: f64 },
}

impl Kernel {
    /// Default: alpha with τ = 5.5 ms, BMTK's excitatory port (tau_syn[0] of its GLIF models).
    pub const DEFAULT: Kernel = Kernel::Alpha { tau: 5.5e-3 };

    /// Parse `alpha:TAU_MS` or `exp:TAU_MS`.
    pub fn parse(s: &str) -> Result<Self, NeuronError> {
        let err = |msg: String| NeuronError::Value {
            what: format!("--kernel {s}"),
            msg,
        };
        let (kind, tau) = s
            .split_once(':')
            .ok_or_else(|| err("expected alpha:TAU_MS or exp:TAU_MS, e.g. alpha:5.5".into()))?;
        let tau_ms = tau
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|t| *t > 0.0 && t.is_finite())
            .ok_or_else(|| err(format!("TAU_MS \"{tau}\" must be a positive number of ms")))?;
        match kind.trim() {
            "alpha" => Ok(Kernel::Alpha { tau: tau_ms * 1e-3 }),
            "exp" => Ok(Kernel::Exp { tau: tau_ms * 1e-3 }),
            k => Err(err(format!("unknown kernel \"{k}\" (known: alpha, exp)"))),
        }
    }

    /// τ in seconds.
    pub fn tau(&self) -> f64 {
        match *self {
            Kernel::Alpha { tau } | Kernel::Exp { tau } => tau,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Kernel::Alpha { .. } => "alpha",
            Kernel::Exp { .. } => "exp",
        }
    }

    /// Kernel value at time `t` ≥ 0 after the spike for weight `w` (closed form; tests and docs).
    pub fn value(&self, w: f64, t: f64) -> f64 {
        match *self {
            Kernel::Alpha { tau } => w * (t / tau) * (1.0 - t / tau).exp(),
            Kernel::Exp { tau } => w * (-t / tau).exp(),
        }
    }

    /// Add the current of spikes at grid steps `onsets` (sorted, repeats allowed), weight `w`
    /// (A), to `stim`, via the exact propagator of the kernel.
    pub fn add_current(&self, onsets: &[usize], w: f64, stim: &mut [f64], dt: f64) {
        let p = (-dt / self.tau()).exp();
        let mut next = onsets.iter().peekable();
        match *self {
            Kernel::Exp { .. } => {
                let mut y = 0.0;
                for (k, s) in stim.iter_mut().enumerate() {
                    while next.next_if(|&&o| o == k).is_some() {
                        y += w;
                    }
                    *s += y;
                    y *= p;
                }
            }
            Kernel::Alpha { tau } => {
                // x = w·e·e^{−t/τ}, y = x·t/τ: x' = p·x, y' = p·(y + (dt/τ)·x).
                let h = dt / tau;
                let (mut x, mut y) = (0.0, 0.0);
                for (k, s) in stim.iter_mut().enumerate() {
                    while next.next_if(|&&o| o == k).is_some() {
                        x += w * std::f64::consts::E;
                    }
                    *s += y;
                    let xn = p * x;
                    y = p * (y + h * x);
                    x = xn;
                }
            }
        }
    }
}

/// Where a spike train's times come from.
#[derive(Debug, Clone, PartialEq)]
pub enum TrainSource {
    /// Spikes at t = start + i/rate, i = 0, 1, … (Hz, s).
    Regular { rate: f64, start: f64 },
    /// Homogeneous Poisson process (exponential ISIs) from a seeded ChaCha RNG.
    Poisson { rate: f64, seed: u64 },
    /// One spike time per line (s).
    File { path: PathBuf },
}

impl TrainSource {
    /// Parse `regular:RATE_HZ[,start=S]`, `poisson:RATE_HZ[,seed=N]` or `file:PATH`.
    pub fn parse(s: &str) -> Result<Self, NeuronError> {
        let err = |msg: String| NeuronError::Value {
            what: format!("--spike-train {s}"),
            msg,
        };
        let (kind, rest) = s.split_once(':').ok_or_else(|| {
            err("expected regular:RATE_HZ, poisson:RATE_HZ[,seed=N] or file:PATH".into())
        })?;
        if kind == "file" {
            if rest.is_empty() {
                return Err(err("file: needs a path".into()));
            }
            return Ok(TrainSource::File {
                path: PathBuf::from(rest),
            });
        }
        let mut parts = rest.split(',');
        let rate_s = parts.next().unwrap_or("").trim();
        let rate = rate_s
            .parse::<f64>()
            .ok()
            .filter(|r| *r >= 0.0 && r.is_finite())
            .ok_or_else(|| {
                err(format!(
                    "RATE_HZ \"{rate_s}\" must be a non-negative number"
                ))
            })?;
        let mut seed = 1u64;
        let mut start = 0.0;
        for opt in parts {
            let (k, v) = opt
                .split_once('=')
                .ok_or_else(|| err(format!("option \"{opt}\" is not KEY=VALUE")))?;
            match (kind, k.trim()) {
                ("poisson", "seed") => {
                    seed = v
                        .trim()
                        .parse()
                        .map_err(|_| err(format!("seed \"{v}\" is not a non-negative integer")))?
                }
                ("regular", "start") => {
                    start = v
                        .trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|t| *t >= 0.0 && t.is_finite())
                        .ok_or_else(|| {
                            err(format!("start \"{v}\" must be a non-negative time in s"))
                        })?
                }
                _ => return Err(err(format!("unknown option \"{k}\" for {kind}"))),
            }
        }
        match kind {
            "regular" => Ok(TrainSource::Regular { rate, start }),
            "poisson" => Ok(TrainSource::Poisson { rate, seed }),
            _ => Err(err(format!(
                "unknown train kind \"{kind}\" (known: regular, poisson, file)"
            ))),
        }
    }

    /// Spike times (s, sorted) in [0, duration). A generated train whose times cannot fit in
    /// memory is refused before it is drawn.
    pub fn times(&self, duration: f64) -> Result<Vec<f64>, NeuronError> {
        let (kind, rate, start) = match self {
            TrainSource::Regular { rate, start } => ("regular", *rate, *start),
            TrainSource::Poisson { rate, .. } => ("poisson", *rate, 0.0),
            TrainSource::File { .. } => ("file", 0.0, 0.0),
        };
        let expected = rate * (duration - start).max(0.0);
        // a time (f64) and its onset step (usize) per spike
        if let Some(why) = crate::limits::over_budget(expected * 16.0) {
            return Err(NeuronError::Value {
                what: format!("--spike-train {kind}:{rate}"),
                msg: format!(
                    "RATE_HZ {rate} for {duration} s is about {expected:.3e} spikes, which {why}"
                ),
            });
        }
        match self {
            TrainSource::Regular { rate, start } => Ok(regular_times(*rate, *start, duration)),
            TrainSource::Poisson { rate, seed } => Ok(poisson_times(*rate, *seed, duration)),
            TrainSource::File { path } => {
                let mut t = read_spike_times(path)?;
                t.retain(|&x| x < duration);
                Ok(t)
            }
        }
    }
}

/// t_i = start + i/rate while t_i < duration.
pub fn regular_times(rate: f64, start: f64, duration: f64) -> Vec<f64> {
    if rate <= 0.0 {
        return Vec::new();
    }
    (0u64..)
        .map(|i| start + i as f64 / rate)
        .take_while(|&t| t < duration)
        .collect()
}

/// Poisson process of `rate` Hz on [0, duration): cumulative exponential ISIs drawn by
/// inversion from a ChaCha12 (`StdRng`) stream seeded with `seed` — reproducible for a seed.
pub fn poisson_times(rate: f64, seed: u64, duration: f64) -> Vec<f64> {
    let mut out = Vec::new();
    if rate <= 0.0 {
        return out;
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut t = 0.0;
    loop {
        // u ∈ (0, 1] so ln(u) is finite.
        let u: f64 = 1.0 - rng.gen::<f64>();
        t += -u.ln() / rate;
        if t >= duration {
            return out;
        }
        out.push(t);
    }
}

/// Read spike times (s), one per line; blank and `#` lines skipped; returned sorted.
pub fn read_spike_times(path: &Path) -> Result<Vec<f64>, NeuronError> {
    let text = std::fs::read_to_string(path).map_err(|e| NeuronError::Io {
        file: path.to_path_buf(),
        msg: e.to_string(),
    })?;
    let text = crate::limits::strip_bom(&text);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let v = t
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| NeuronError::Line {
                file: path.to_path_buf(),
                line: i + 1,
                msg: format!(
                    "\"{t}\" is not a spike time (expected one non-negative time in s per line)"
                ),
            })?;
        out.push(v);
    }
    out.sort_by(f64::total_cmp);
    Ok(out)
}

/// Grid steps of spike times: round(t/dt), dropping those at or past `n_steps`.
pub fn onset_steps(times: &[f64], dt: f64, n_steps: usize) -> Vec<usize> {
    let mut s: Vec<usize> = times
        .iter()
        .map(|t| (t / dt).round())
        .filter(|&k| k >= 0.0 && (k as usize) < n_steps)
        .map(|k| k as usize)
        .collect();
    s.sort_unstable();
    s
}
