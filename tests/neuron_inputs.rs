//! Synthetic inputs of `glifnet neuron`: kernel shapes, spike-train generators, step pulses.

use glifnet::neuron::stimulus::{
    onset_steps, poisson_times, regular_times, Kernel, StepCurrent, TrainSource,
};

#[test]
fn alpha_kernel_of_weight_w_peaks_at_w_after_tau() {
    let dt = 1e-5;
    let tau = 5e-3; // 500 steps
    let w = 2.5e-10;
    let mut s = vec![0.0; 5000];
    Kernel::Alpha { tau }.add_current(&[100], w, &mut s, dt);
    let (imax, vmax) = s
        .iter()
        .enumerate()
        .fold((0, f64::MIN), |a, (i, &v)| if v > a.1 { (i, v) } else { a });
    assert_eq!(imax, 100 + 500, "peak one tau after the onset");
    assert!((vmax - w).abs() <= 1e-12 * w, "peak {vmax} vs weight {w}");
    assert_eq!(s[100], 0.0, "alpha current starts at zero");
    assert!(
        s[..100].iter().all(|&v| v == 0.0),
        "nothing before the onset"
    );
    // The recursion equals the closed form w (t/τ) e^{1−t/τ} everywhere.
    for k in (100..5000).step_by(37) {
        let t = (k - 100) as f64 * dt;
        let exact = Kernel::Alpha { tau }.value(w, t);
        assert!(
            (s[k] - exact).abs() <= 1e-12 * w,
            "step {k}: {} vs {exact}",
            s[k]
        );
    }
}

#[test]
fn exp_kernel_integral_is_w_tau() {
    let dt = 5e-6;
    let tau = 2.8e-3;
    let w = -3e-10;
    let n = (40.0 * tau / dt) as usize;
    let mut s = vec![0.0; n];
    Kernel::Exp { tau }.add_current(&[0], w, &mut s, dt);
    assert_eq!(s[0], w, "exp current jumps by w at the spike");
    let integral: f64 = s.iter().sum::<f64>() * dt;
    // Left Riemann sum of w e^{−t/τ} = w·dt/(1 − e^{−dt/τ}) → w·τ (relative error dt/2τ).
    let riemann = w * dt / (1.0 - (-dt / tau).exp());
    assert!(
        (integral - riemann).abs() <= 1e-9 * riemann.abs(),
        "{integral} vs {riemann}"
    );
    assert!(
        (integral - w * tau).abs() <= (dt / tau) * (w * tau).abs(),
        "{integral} vs w·tau {}",
        w * tau
    );
}

#[test]
fn regular_20hz_over_1s_gives_20_onsets_at_the_right_steps() {
    let dt = 5e-6;
    let n = 200_000;
    let times = regular_times(20.0, 0.0, 1.0);
    assert_eq!(times.len(), 20);
    let onsets = onset_steps(&times, dt, n);
    let expected: Vec<usize> = (0..20).map(|i| i * 10_000).collect();
    assert_eq!(onsets, expected);
    // The current has a jump of exactly w at those steps and nowhere else.
    let w = 1e-10;
    let mut s = vec![0.0; n];
    Kernel::Exp { tau: 2e-3 }.add_current(&onsets, w, &mut s, dt);
    let p = (-dt / 2e-3_f64).exp();
    let jumps: Vec<usize> = (0..n)
        .filter(|&k| {
            let prev = if k == 0 { 0.0 } else { s[k - 1] * p };
            s[k] - prev > 0.5 * w
        })
        .collect();
    assert_eq!(jumps, expected);
    // A start offset shifts every onset.
    let shifted = onset_steps(&regular_times(20.0, 0.01, 1.0), dt, n);
    assert_eq!(shifted.len(), 20);
    assert_eq!(shifted[0], 2000);
    assert_eq!(shifted[19], 2000 + 19 * 10_000);
}

#[test]
fn poisson_train_is_reproducible_and_has_the_right_rate() {
    let a = poisson_times(100.0, 42, 100.0);
    let b = poisson_times(100.0, 42, 100.0);
    assert_eq!(a, b, "same seed, same train");
    let c = poisson_times(100.0, 43, 100.0);
    assert_ne!(a, c, "another seed, another train");
    // Mean 10,000 spikes, sd 100: a 4-sd band.
    let n = a.len() as f64;
    assert!(
        (n - 10_000.0).abs() < 400.0,
        "{n} spikes for 100 Hz × 100 s"
    );
    // Exponential ISIs: mean 10 ms, coefficient of variation 1.
    let isi: Vec<f64> = a.windows(2).map(|w| w[1] - w[0]).collect();
    let mean = isi.iter().sum::<f64>() / isi.len() as f64;
    let var = isi.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / isi.len() as f64;
    assert!((mean - 0.01).abs() < 0.0004, "mean ISI {mean}");
    assert!(
        (var.sqrt() / mean - 1.0).abs() < 0.05,
        "CV {}",
        var.sqrt() / mean
    );
    assert!(a.windows(2).all(|w| w[0] < w[1]) && a[0] > 0.0 && *a.last().unwrap() < 100.0);
}

#[test]
fn train_specs_parse_and_reject_nonsense() {
    assert_eq!(
        TrainSource::parse("poisson:12.5,seed=9").unwrap(),
        TrainSource::Poisson {
            rate: 12.5,
            seed: 9
        }
    );
    assert_eq!(
        TrainSource::parse("regular:20").unwrap(),
        TrainSource::Regular {
            rate: 20.0,
            start: 0.0
        }
    );
    for bad in [
        "regular",
        "regular:-3",
        "poisson:5,seed=x",
        "poisson:5,start=1",
        "burst:5",
        "file:",
    ] {
        let e = TrainSource::parse(bad).unwrap_err().to_string();
        assert!(e.contains(bad), "{bad}: {e}");
        assert!(!e.contains('\n'));
    }
    assert_eq!(
        Kernel::parse("exp:2.8").unwrap(),
        Kernel::Exp { tau: 2.8e-3 }
    );
    assert!(Kernel::parse("alpha:0").is_err());
    assert!(Kernel::parse("gauss:1")
        .unwrap_err()
        .to_string()
        .contains("gauss"));
}

#[test]
fn step_pulses_follow_the_reference_square_convention() {
    // On for steps round(START/dt) … round(STOP/dt) − 1 (docs/glif.md §9.1).
    let dt = 5e-5;
    let mut s = vec![0.0; 14_000];
    let st = StepCurrent::parse("1.5e-10,0.1,0.6").unwrap();
    st.add_to(&mut s, dt);
    StepCurrent::parse("-5e-11,0.5,2.0")
        .unwrap()
        .add_to(&mut s, dt);
    assert_eq!(s[1999], 0.0);
    assert_eq!(s[2000], 1.5e-10);
    assert_eq!(s[9999], 1.5e-10);
    assert_eq!(s[10_000], 1.5e-10 + -5e-11);
    assert_eq!(s[11_999], 1.5e-10 + -5e-11);
    assert_eq!(s[12_000], -5e-11);
    assert_eq!(s[13_999], -5e-11);
    assert!(StepCurrent::parse("1e-10,0.6,0.1").is_err());
    assert!(StepCurrent::parse("1e-10,0.1").is_err());
}
