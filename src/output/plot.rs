//! Plots of a run: spike raster with a population-rate (PSTH) panel, mean-rate bar chart per
//! node type, and a membrane trace. PNG or SVG, chosen by the output file's extension.
//!
//! Why an embedded font: plotters' `ab_glyph` backend never loads system fonts, so the plots
//! look the same on every machine (and on headless CI boxes without fontconfig). The font is
//! DejaVu Sans (Bitstream Vera licence, `assets/fonts/LICENSE-DejaVu.txt`).
//!
//! The functions take plain data (times, rows, labels) prepared by the caller; they know
//! nothing of SONATA or configs. Files are written to a temporary name and renamed when
//! complete, so a failed plot never leaves a half-written image.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
/// Font family of every plot: the embedded DejaVu Sans, named as such so SVG viewers use DejaVu
/// Sans (installed or not, the text measurements were made with it) instead of a generic
/// `sans-serif`.
pub const FAMILY: &str = "DejaVu Sans";

/// Plotting errors: the file, what was being drawn (field), and why.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("{file}: {field}: {msg}")]
    Invalid {
        file: String,
        field: String,
        msg: String,
    },
    #[error("{file}: cannot write plot: {msg}")]
    Io { file: String, msg: String },
}

fn invalid(file: &Path, field: &str, msg: impl Into<String>) -> PlotError {
    PlotError::Invalid {
        file: file.display().to_string(),
        field: field.to_string(),
        msg: msg.into(),
    }
}

/// Register the embedded DejaVu Sans as plotters' [`FAMILY`] (and as `sans-serif`, for text
/// drawn with plotters' default font) once per process; every plot in glifnet (raster, rates,
/// traces, `glifnet neuron --plot`) draws with it.
pub fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TTF shipped in the crate; a failure would surface as a
        // drawing error (no font) rather than a panic.
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// Distinct band colours (Tableau 10), cycled when there are more bands.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Colour of band `i`.
pub fn band_color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// One horizontal band of a raster: a population, or one node type of a population.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Band {
    /// Legend text, e.g. `v1 / 100 glif_psc`.
    pub label: String,
    /// Cells in the band (rows, and the divisor of the band's rate).
    pub n_cells: usize,
    /// Spike times (ms).
    pub times: Vec<f64>,
    /// Row of each spike within the band, `0..n_cells` (the caller orders cells, e.g. by id).
    pub rows: Vec<u32>,
}

/// A raster plot: bands stacked bottom-up in the given order, over `[tmin, tmax)` ms (a band
/// spike at exactly `tmax` is drawn and counted: the caller chose to include it).
#[derive(Debug, Clone, PartialEq)]
pub struct Raster {
    pub title: String,
    pub bands: Vec<Band>,
    pub tmin: f64,
    pub tmax: f64,
}

/// One bar of a rate chart.
#[derive(Debug, Clone, PartialEq)]
pub struct RateBar {
    pub label: String,
    /// Mean firing rate over the band's cells (Hz).
    pub rate_hz: f64,
    pub n_cells: usize,
}

/// A sampled trace (`times` in ms).
#[derive(Debug, Clone, PartialEq)]
pub struct TracePlot {
    pub title: String,
    pub times: Vec<f64>,
    pub values: Vec<f64>,
    /// Y axis description, e.g. `V_m (mV)`.
    pub y_label: String,
    /// Optional spike times to mark (ms).
    pub spikes: Vec<f64>,
}

#[derive(Clone, Copy)]
enum Format {
    Png,
    Svg,
}

fn format_of(path: &Path) -> Result<Format, PlotError> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("png") => Ok(Format::Png),
        Some("svg") => Ok(Format::Svg),
        other => Err(invalid(
            path,
            "output",
            format!(
                "unsupported image extension {:?} (use .png or .svg)",
                other.unwrap_or("")
            ),
        )),
    }
}

/// Temporary name beside `path` keeping its extension (the bitmap encoder picks the format
/// from it).
fn tmp_path_for(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = format!(".{stem}.tmp-{}.{ext}", std::process::id());
    match path.parent() {
        Some(p) => p.join(name),
        None => PathBuf::from(name),
    }
}

/// A drawing routine generic over the backend (one implementation for PNG and SVG).
trait Drawing {
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

fn write_plot<D: Drawing>(path: &Path, d: &D) -> Result<(), PlotError> {
    register_font();
    let fmt = format_of(path)?;
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return Err(PlotError::Io {
                file: path.display().to_string(),
                msg: format!("folder {} does not exist", dir.display()),
            });
        }
    }
    let tmp = tmp_path_for(path);
    let result = match fmt {
        Format::Png => {
            let root = BitMapBackend::new(&tmp, d.size()).into_drawing_area();
            d.draw(&root)
                .and_then(|_| root.present().map_err(|e| e.to_string()))
        }
        Format::Svg => {
            let root = SVGBackend::new(&tmp, d.size()).into_drawing_area();
            d.draw(&root)
                .and_then(|_| root.present().map_err(|e| e.to_string()))
        }
    };
    let result = result
        .map_err(|msg| PlotError::Io {
            file: path.display().to_string(),
            msg: msg.replace('\n', " "),
        })
        .and_then(|_| {
            std::fs::rename(&tmp, path).map_err(|e| PlotError::Io {
                file: path.display().to_string(),
                msg: e.to_string(),
            })
        });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Axis tick text: integers without a trailing `.0`, others with up to 3 significant decimals.
fn tick(v: &f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", *v as i64)
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn e2s<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// A "nice" bin width (1, 2 or 5 × 10^k ms) giving about `target` bins over `span`.
pub fn nice_bin(span: f64, target: f64) -> f64 {
    let raw = (span / target).max(1e-9);
    let p = 10f64.powf(raw.log10().floor());
    let m = raw / p;
    let nice = if m < 1.5 {
        1.0
    } else if m < 3.5 {
        2.0
    } else if m < 7.5 {
        5.0
    } else {
        10.0
    };
    nice * p
}

/// Population rate (Hz) per bin of width `bin` ms starting at `tmin`: spikes in the bin divided
/// by cells and by the bin length in seconds.
pub fn psth(times: &[f64], n_cells: usize, tmin: f64, tmax: f64, bin: f64) -> Vec<f64> {
    let nb = (((tmax - tmin) / bin).ceil().max(1.0)) as usize;
    let mut counts = vec![0u64; nb];
    for &t in times {
        if t >= tmin && t < tmax {
            let b = (((t - tmin) / bin) as usize).min(nb - 1);
            counts[b] += 1;
        }
    }
    let norm = n_cells.max(1) as f64 * bin / 1000.0;
    counts.into_iter().map(|c| c as f64 / norm).collect()
}

impl Raster {
    fn check(&self, path: &Path) -> Result<(), PlotError> {
        if !(self.tmin.is_finite() && self.tmax.is_finite() && self.tmax > self.tmin) {
            return Err(invalid(
                path,
                "tmin/tmax",
                format!("empty time window [{}, {})", self.tmin, self.tmax),
            ));
        }
        if self.bands.iter().all(|b| b.n_cells == 0) {
            return Err(invalid(path, "bands", "no cells to plot"));
        }
        for b in &self.bands {
            if b.times.len() != b.rows.len() {
                return Err(invalid(
                    path,
                    &b.label,
                    format!("{} times but {} rows", b.times.len(), b.rows.len()),
                ));
            }
            if let Some(r) = b.rows.iter().find(|&&r| r as usize >= b.n_cells) {
                return Err(invalid(
                    path,
                    &b.label,
                    format!("row {r} outside the band's {} cells", b.n_cells),
                ));
            }
        }
        Ok(())
    }
}

impl Drawing for Raster {
    fn size(&self) -> (u32, u32) {
        (1400, 900)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(e2s)?;
        let (w, _) = self.size();
        let label_w = 190u32;
        let (top, bottom) = root.split_vertically(650);
        let total_rows: usize = self.bands.iter().map(|b| b.n_cells).sum();
        let (t0, t1) = (self.tmin, self.tmax);
        let mut chart = ChartBuilder::on(&top)
            .caption(&self.title, (FAMILY, 22))
            .margin(10)
            .margin_right(label_w)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(t0..t1, 0f64..total_rows as f64)
            .map_err(e2s)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .y_desc("cell (by band)")
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .label_style((FAMILY, 14))
            .axis_desc_style((FAMILY, 15))
            .draw()
            .map_err(e2s)?;
        // One spike = a tick one plot-pixel wide and one row high (at least visible).
        let plot_px = (w - label_w - 90).max(100) as f64;
        let tick_w = (t1 - t0) / plot_px;
        let mut y0 = 0usize;
        for (i, b) in self.bands.iter().enumerate() {
            let c = band_color(i);
            if i % 2 == 1 {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(t0, y0 as f64), (t1, (y0 + b.n_cells) as f64)],
                        RGBColor(242, 242, 242).filled(),
                    )))
                    .map_err(e2s)?;
            }
            let base = y0 as f64;
            chart
                .draw_series(
                    b.times
                        .iter()
                        .zip(&b.rows)
                        .filter(|(&t, _)| t >= t0 && t <= t1)
                        .map(|(&t, &r)| {
                            let y = base + r as f64;
                            Rectangle::new([(t, y + 0.1), (t + tick_w, y + 0.9)], c.filled())
                        }),
                )
                .map_err(e2s)?;
            // Band label right of the plot, at the band's centre.
            let (px, py) = chart.backend_coord(&(t1, base + b.n_cells as f64 / 2.0));
            // `<=`: a band holds a spike at exactly tmax only when its caller's window includes
            // it (a run's spikes lie in (0, tstop]); the PSTH's last bin counts it too.
            let n_spk = b.times.iter().filter(|&&t| t >= t0 && t <= t1).count();
            let rate = n_spk as f64 / (b.n_cells.max(1) as f64 * (t1 - t0) / 1000.0);
            root.draw(&Text::new(
                b.label.clone(),
                (px + 8, py - 16),
                (FAMILY, 14).into_font().color(&c),
            ))
            .map_err(e2s)?;
            root.draw(&Text::new(
                format!("{} cells, {:.2} Hz", b.n_cells, rate),
                (px + 8, py + 2),
                (FAMILY, 12).into_font().color(&BLACK),
            ))
            .map_err(e2s)?;
            y0 += b.n_cells;
        }

        // PSTH panel: one line per band.
        let bin = nice_bin(t1 - t0, 150.0);
        let rates: Vec<Vec<f64>> = self
            .bands
            .iter()
            .map(|b| {
                let mut r = psth(&b.times, b.n_cells, t0, t1, bin);
                let at_end = b.times.iter().filter(|&&t| t == t1).count();
                if let Some(last) = r.last_mut() {
                    *last += at_end as f64 / (b.n_cells.max(1) as f64 * bin / 1000.0);
                }
                r
            })
            .collect();
        let ymax = rates
            .iter()
            .flatten()
            .fold(0.0f64, |a, &b| a.max(b))
            .max(1.0)
            * 1.1;
        let mut pc = ChartBuilder::on(&bottom)
            .margin(10)
            .margin_right(label_w)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(t0..t1, 0f64..ymax)
            .map_err(e2s)?;
        pc.configure_mesh()
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .x_desc("time (ms)")
            .y_desc(format!("rate (Hz, {bin} ms bins)"))
            .light_line_style(WHITE)
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .label_style((FAMILY, 14))
            .axis_desc_style((FAMILY, 15))
            .draw()
            .map_err(e2s)?;
        for (i, r) in rates.iter().enumerate() {
            let c = band_color(i);
            pc.draw_series(LineSeries::new(
                r.iter()
                    .enumerate()
                    .map(|(k, &v)| (t0 + (k as f64 + 0.5) * bin, v)),
                c.stroke_width(1),
            ))
            .map_err(e2s)?;
        }
        Ok(())
    }
}

/// Draws a raster with its PSTH panel into `path` (.png or .svg).
pub fn plot_raster(path: &Path, raster: &Raster) -> Result<(), PlotError> {
    format_of(path)?;
    raster.check(path)?;
    write_plot(path, raster)
}

struct Rates<'a> {
    title: &'a str,
    bars: &'a [RateBar],
}

impl Drawing for Rates<'_> {
    fn size(&self) -> (u32, u32) {
        ((200 + 130 * self.bars.len() as u32).clamp(600, 3000), 640)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(e2s)?;
        let n = self.bars.len();
        let ymax = self
            .bars
            .iter()
            .fold(0.0f64, |a, b| a.max(b.rate_hz))
            .max(1.0)
            * 1.15;
        let mut chart = ChartBuilder::on(root)
            .caption(self.title, (FAMILY, 22))
            .margin(15)
            .x_label_area_size(90)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..n as f64, 0f64..ymax)
            .map_err(e2s)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .disable_x_axis()
            .light_line_style(WHITE)
            .y_desc("mean rate (Hz)")
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .label_style((FAMILY, 14))
            .axis_desc_style((FAMILY, 15))
            .draw()
            .map_err(e2s)?;
        for (i, b) in self.bars.iter().enumerate() {
            let c = band_color(i);
            let x0 = i as f64 + 0.15;
            let x1 = i as f64 + 0.85;
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x0, 0.0), (x1, b.rate_hz)],
                    c.filled(),
                )))
                .map_err(e2s)?;
            let (px, py) = chart.backend_coord(&(i as f64 + 0.5, b.rate_hz));
            let text = format!("{:.2}", b.rate_hz);
            root.draw(&Text::new(
                text,
                (px - 18, py - 18),
                (FAMILY, 13).into_font().color(&BLACK),
            ))
            .map_err(e2s)?;
            let (px, py) = chart.backend_coord(&(i as f64 + 0.5, 0.0));
            let mut lines = wrap(&b.label, 16);
            lines.push(format!("n={}", b.n_cells));
            for (k, line) in lines.iter().enumerate() {
                let half = (line.chars().count() as i32) * 7 / 2;
                root.draw(&Text::new(
                    line.clone(),
                    (px - half, py + 8 + 17 * k as i32),
                    (FAMILY, 13).into_font().color(&BLACK),
                ))
                .map_err(e2s)?;
            }
        }
        Ok(())
    }
}

/// Splits `text` at spaces into lines of at most about `width` characters.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(l) if l.chars().count() + 1 + word.chars().count() <= width => {
                l.push(' ');
                l.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// Draws a bar chart of mean rates (one bar per node type or population).
pub fn plot_rates(path: &Path, title: &str, bars: &[RateBar]) -> Result<(), PlotError> {
    format_of(path)?;
    if bars.is_empty() {
        return Err(invalid(path, "rates", "nothing to plot"));
    }
    if let Some(b) = bars
        .iter()
        .find(|b| !(b.rate_hz.is_finite() && b.rate_hz >= 0.0))
    {
        return Err(invalid(
            path,
            &b.label,
            format!("invalid rate {} Hz", b.rate_hz),
        ));
    }
    write_plot(path, &Rates { title, bars })
}

impl Drawing for TracePlot {
    fn size(&self) -> (u32, u32) {
        (1200, 500)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(e2s)?;
        let finite = || self.values.iter().copied().filter(|v| v.is_finite());
        let lo = finite().fold(f64::INFINITY, f64::min);
        let hi = finite().fold(f64::NEG_INFINITY, f64::max);
        let (lo, hi) = if lo.is_finite() && hi > lo {
            let pad = (hi - lo) * 0.05;
            (lo - pad, hi + pad)
        } else if lo.is_finite() {
            (lo - 1.0, lo + 1.0)
        } else {
            (-1.0, 1.0)
        };
        let t0 = self.times.first().copied().unwrap_or(0.0);
        let t1 = self
            .times
            .last()
            .copied()
            .filter(|&t| t > t0)
            .unwrap_or(t0 + 1.0);
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FAMILY, 20))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(t0..t1, lo..hi)
            .map_err(e2s)?;
        chart
            .configure_mesh()
            .x_desc("time (ms)")
            .y_desc(&self.y_label)
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .label_style((FAMILY, 14))
            .axis_desc_style((FAMILY, 15))
            .draw()
            .map_err(e2s)?;
        // Decimate to ~4 points per pixel column (min and max keep spikes visible).
        let cols = 2000usize;
        let n = self.times.len();
        let step = (n / cols).max(1);
        let mut pts = Vec::with_capacity(2 * n / step + 2);
        let mut k = 0;
        while k < n {
            let end = (k + step).min(n);
            let (mut imin, mut imax) = (k, k);
            for j in k..end {
                if self.values[j] < self.values[imin] {
                    imin = j;
                }
                if self.values[j] > self.values[imax] {
                    imax = j;
                }
            }
            let (a, b) = if imin < imax {
                (imin, imax)
            } else {
                (imax, imin)
            };
            pts.push((self.times[a], self.values[a]));
            if b != a {
                pts.push((self.times[b], self.values[b]));
            }
            k = end;
        }
        chart
            .draw_series(LineSeries::new(
                pts.into_iter().filter(|(_, v)| v.is_finite()),
                band_color(0).stroke_width(1),
            ))
            .map_err(e2s)?;
        chart
            .draw_series(
                self.spikes
                    .iter()
                    .filter(|&&t| t >= t0 && t <= t1)
                    .map(|&t| {
                        PathElement::new(
                            vec![(t, hi - (hi - lo) * 0.04), (t, hi)],
                            RED.stroke_width(2),
                        )
                    }),
            )
            .map_err(e2s)?;
        Ok(())
    }
}

/// Draws one sampled trace.
pub fn plot_trace(path: &Path, trace: &TracePlot) -> Result<(), PlotError> {
    format_of(path)?;
    if trace.times.len() != trace.values.len() {
        return Err(invalid(
            path,
            "trace",
            format!(
                "{} times but {} values",
                trace.times.len(),
                trace.values.len()
            ),
        ));
    }
    if trace.times.is_empty() {
        return Err(invalid(path, "trace", "no samples"));
    }
    write_plot(path, trace)
}
