//! `neuron.png`: stimulus, voltage with threshold, and spike marks of one run, stacked on one
//! time axis. Text uses the DejaVu Sans font embedded in the binary (assets/fonts, Bitstream
//! Vera licence), so plotting needs no system fonts.

use std::path::Path;

use plotters::prelude::*;

use super::{NeuronError, RunOutput};

/// At most this many points per drawn series (min/max per bucket keeps the spikes visible).
const MAX_POINTS: usize = 4000;

/// Draw the run into `path` (PNG). `v_offset_mv` is added to the voltages (El_reference in mV
/// for absolute voltages, 0 for relative ones); `v_label` names the resulting axis.
pub fn plot_run(
    path: &Path,
    out: &RunOutput,
    stim: &[f64],
    v_offset_mv: f64,
    v_label: &str,
    title: &str,
) -> Result<(), NeuronError> {
    let err = |e: String| NeuronError::Io {
        file: path.to_path_buf(),
        msg: format!("plot: {e}"),
    };
    crate::output::plot::register_font();
    draw(path, out, stim, v_offset_mv, v_label, title).map_err(|e| err(e.to_string()))
}

fn draw(
    path: &Path,
    out: &RunOutput,
    stim: &[f64],
    v_offset_mv: f64,
    v_label: &str,
    title: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let dt = out.dt;
    let t_end = (stim.len() as f64 * dt).max(dt);
    let root = BitMapBackend::new(path, (1400, 900)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, (crate::output::plot::FAMILY, 22))?;
    let (top, rest) = root.split_vertically(220);
    let (mid, bottom) = rest.split_vertically(rest.dim_in_pixel().1 as i32 - 120);

    // Stimulus (pA).
    let s_pa: Vec<f64> = stim.iter().map(|x| x * 1e12).collect();
    let (lo, hi) = range(&s_pa);
    let mut c = ChartBuilder::on(&top)
        .margin(8)
        .x_label_area_size(25)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..t_end, lo..hi)?;
    c.configure_mesh()
        .y_desc("stimulus (pA)")
        .disable_x_mesh()
        .max_light_lines(0)
        .label_style((crate::output::plot::FAMILY, 14))
        .draw()?;
    for seg in segments(&s_pa, dt) {
        c.draw_series(LineSeries::new(seg, &BLACK))?;
    }

    // Voltage and threshold (mV).
    let v_mv: Vec<f64> = out.voltage.iter().map(|x| x * 1e3 + v_offset_mv).collect();
    let th_mv: Vec<f64> = out
        .threshold
        .iter()
        .map(|x| x * 1e3 + v_offset_mv)
        .collect();
    let (vlo, vhi) = range2(&v_mv, &th_mv);
    let mut c = ChartBuilder::on(&mid)
        .margin(8)
        .x_label_area_size(25)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..t_end, vlo..vhi)?;
    c.configure_mesh()
        .y_desc(v_label)
        .disable_x_mesh()
        .max_light_lines(0)
        .label_style((crate::output::plot::FAMILY, 14))
        .draw()?;
    let mut first = true;
    for seg in segments(&v_mv, dt) {
        let s = c.draw_series(LineSeries::new(seg, &BLUE))?;
        if std::mem::take(&mut first) {
            s.label("voltage")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
        }
    }
    let mut first = true;
    for seg in segments(&th_mv, dt) {
        let s = c.draw_series(LineSeries::new(seg, &RED))?;
        if std::mem::take(&mut first) {
            s.label("threshold")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
        }
    }
    c.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font((crate::output::plot::FAMILY, 14))
        .draw()?;

    // Spike marks.
    let mut c = ChartBuilder::on(&bottom)
        .margin(8)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..t_end, 0.0..1.0)?;
    c.configure_mesh()
        .x_desc("time (s)")
        .y_desc(format!("spikes ({})", out.interpolated_spike_times.len()))
        .y_labels(0)
        .disable_mesh()
        .label_style((crate::output::plot::FAMILY, 14))
        .draw()?;
    c.draw_series(
        out.interpolated_spike_times
            .iter()
            .map(|&t| PathElement::new(vec![(t, 0.15), (t, 0.85)], BLACK.stroke_width(1))),
    )?;
    root.present()?;
    Ok(())
}

/// Finite min/max with a margin; a flat trace gets a unit-wide range.
fn range(x: &[f64]) -> (f64, f64) {
    range2(x, &[])
}

fn range2(a: &[f64], b: &[f64]) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &v in a.iter().chain(b).filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (-1.0, 1.0);
    }
    let pad = if hi > lo {
        0.05 * (hi - lo)
    } else {
        0.5_f64.max(0.05 * lo.abs())
    };
    (lo - pad, hi + pad)
}

/// Split a sampled trace at NaN gaps into polylines, decimated to about [`MAX_POINTS`] points
/// with the min and max of each bucket.
fn segments(x: &[f64], dt: f64) -> Vec<Vec<(f64, f64)>> {
    let bucket = x.len().div_ceil(MAX_POINTS / 2).max(1);
    let mut segs = Vec::new();
    let mut cur: Vec<(f64, f64)> = Vec::new();
    for (b, chunk) in x.chunks(bucket).enumerate() {
        let k0 = b * bucket;
        let mut lo: Option<(usize, f64)> = None;
        let mut hi: Option<(usize, f64)> = None;
        let mut gap = false;
        for (i, &v) in chunk.iter().enumerate() {
            if !v.is_finite() {
                gap = true;
                continue;
            }
            if lo.is_none_or(|(_, l)| v < l) {
                lo = Some((k0 + i, v));
            }
            if hi.is_none_or(|(_, h)| v > h) {
                hi = Some((k0 + i, v));
            }
        }
        let mut pts: Vec<(usize, f64)> = lo.into_iter().chain(hi).collect();
        pts.sort_by_key(|p| p.0);
        pts.dedup_by_key(|p| p.0);
        if gap && bucket == 1 && !cur.is_empty() {
            segs.push(std::mem::take(&mut cur));
        }
        cur.extend(pts.iter().map(|&(k, v)| (k as f64 * dt, v)));
        // A NaN run inside a bucket also breaks the line (spike cut).
        if gap && bucket > 1 && !cur.is_empty() {
            segs.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        segs.push(cur);
    }
    segs
}
