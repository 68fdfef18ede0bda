//! Spike files (sonata-bmtk.md §4.1, §6.2): read SONATA h5 (population groups or the old
//! `/spikes/gids` + `/spikes/timestamps` layout; `sorting` as string, enum or int; `units` ms
//! or s) and space-separated CSV (with or without header / population column); write SONATA
//! h5 and CSV honouring a sort order, through a temporary file renamed when complete.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use hdf5::types::VarLenUnicode;

pub use crate::config::SortOrder;

use super::error::SonataError;
use super::h5;

/// Errors of spike-file reading and writing; each names the file, the object and the value.
#[derive(Debug, thiserror::Error)]
pub enum SpikeError {
    /// What the file holds (missing objects, datatypes, values, CSV lines): the circuit
    /// readers' errors, which name the spike file.
    #[error(transparent)]
    Content(SonataError),
    #[error("cannot open spike file {}: {message}", file.display())]
    Open { file: PathBuf, message: String },
    #[error("cannot write spike file {}: {message}", file.display())]
    Write { file: PathBuf, message: String },
}

impl From<SonataError> for SpikeError {
    fn from(e: SonataError) -> Self {
        match e {
            SonataError::Open { file, message } => SpikeError::Open { file, message },
            other => SpikeError::Content(other),
        }
    }
}

/// The spikes of one population: parallel vectors, in file (or recorded) order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PopulationSpikes {
    /// Population name; `None` when the file does not say (old h5 layout, CSV without a
    /// population column). Consumers match such trains to the population they drive.
    pub population: Option<String>,
    pub node_ids: Vec<u64>,
    /// Milliseconds (files in seconds are converted on reading).
    pub timestamps_ms: Vec<f64>,
    /// The `sorting` the file declares, if any (unknown values read as `None`).
    pub sorting: Option<SortOrder>,
}

impl PopulationSpikes {
    pub fn new(population: impl Into<String>, node_ids: Vec<u64>, timestamps_ms: Vec<f64>) -> Self {
        PopulationSpikes {
            population: Some(population.into()),
            node_ids,
            timestamps_ms,
            sorting: None,
        }
    }

    pub fn len(&self) -> usize {
        self.node_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.node_ids.is_empty()
    }

    /// Permutation that puts the spikes in `order` (stable: equal keys keep file order).
    pub fn order(&self, order: SortOrder) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.len()).collect();
        match order {
            SortOrder::None => {}
            SortOrder::ByTime => {
                idx.sort_by(|&a, &b| self.timestamps_ms[a].total_cmp(&self.timestamps_ms[b]))
            }
            SortOrder::ById => idx.sort_by(|&a, &b| {
                self.node_ids[a]
                    .cmp(&self.node_ids[b])
                    .then(self.timestamps_ms[a].total_cmp(&self.timestamps_ms[b]))
            }),
        }
        idx
    }

    /// A copy sorted in `order`.
    pub fn sorted(&self, order: SortOrder) -> PopulationSpikes {
        let idx = self.order(order);
        PopulationSpikes {
            population: self.population.clone(),
            node_ids: idx.iter().map(|&i| self.node_ids[i]).collect(),
            timestamps_ms: idx.iter().map(|&i| self.timestamps_ms[i]).collect(),
            sorting: Some(order),
        }
    }
}

/// All spike trains of a file, one entry per population, in file order (h5: name order).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SpikeTrains {
    pub populations: Vec<PopulationSpikes>,
}

impl SpikeTrains {
    /// `(population index, spike index)` of every spike in the order of a spike CSV sorted by
    /// `order`: by time across populations, else population by population.
    pub fn rows(&self, order: SortOrder) -> Vec<(usize, usize)> {
        match order {
            SortOrder::ByTime => {
                let mut all: Vec<(usize, usize)> = self
                    .populations
                    .iter()
                    .enumerate()
                    .flat_map(|(k, p)| (0..p.len()).map(move |i| (k, i)))
                    .collect();
                all.sort_by(|a, b| {
                    self.populations[a.0].timestamps_ms[a.1]
                        .total_cmp(&self.populations[b.0].timestamps_ms[b.1])
                });
                all
            }
            _ => self
                .populations
                .iter()
                .enumerate()
                .flat_map(|(k, p)| p.order(order).into_iter().map(move |i| (k, i)))
                .collect(),
        }
    }

    /// Total number of spikes.
    pub fn len(&self) -> usize {
        self.populations.iter().map(PopulationSpikes::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entry named `population` exactly.
    pub fn get(&self, population: &str) -> Option<&PopulationSpikes> {
        self.populations
            .iter()
            .find(|p| p.population.as_deref() == Some(population))
    }

    /// The trains that drive virtual population `population`: the entry of that name, else
    /// (BMTK's default population) the first entry (§6.1).
    pub fn for_population(&self, population: &str) -> Option<&PopulationSpikes> {
        self.get(population).or_else(|| self.populations.first())
    }
}

/// Spike file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpikeFormat {
    H5,
    Csv,
}

impl SpikeFormat {
    /// By extension: `.h5 .hdf5 .hdf .sonata` -> h5, `.csv .txt .dat` -> CSV.
    pub fn from_path(path: &Path) -> Option<SpikeFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "h5" | "hdf5" | "hdf" | "sonata" => Some(SpikeFormat::H5),
            "csv" | "txt" | "dat" => Some(SpikeFormat::Csv),
            _ => None,
        }
    }

    /// By an input's `module`: `sonata`/`h5`/`hdf5` -> h5, `csv` -> CSV.
    pub fn from_module(module: &str) -> Option<SpikeFormat> {
        match module {
            "sonata" | "h5" | "hdf5" => Some(SpikeFormat::H5),
            "csv" => Some(SpikeFormat::Csv),
            _ => None,
        }
    }
}

/// Read a spike file in an explicit format (an input's `module`, see
/// [`SpikeFormat::from_module`]), or by extension / content when `None`.
pub fn read_spikes_as(path: &Path, format: Option<SpikeFormat>) -> Result<SpikeTrains, SpikeError> {
    match format {
        Some(SpikeFormat::H5) => read_spikes_h5(path),
        Some(SpikeFormat::Csv) => read_spikes_csv(path),
        None => read_spikes(path),
    }
}

/// Read a spike file, choosing the format by extension (HDF5 signature if unknown).
pub fn read_spikes(path: &Path) -> Result<SpikeTrains, SpikeError> {
    let fmt = match SpikeFormat::from_path(path) {
        Some(f) => f,
        None => {
            let mut head = [0u8; 8];
            let n = std::fs::File::open(path)
                .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
                .map_err(|e| SpikeError::Open {
                    file: path.to_path_buf(),
                    message: crate::limits::io_reason(&e),
                })?;
            let head = &head[..n];
            if head == b"\x89HDF\r\n\x1a\n" {
                SpikeFormat::H5
            } else {
                SpikeFormat::Csv
            }
        }
    };
    match fmt {
        SpikeFormat::H5 => read_spikes_h5(path),
        SpikeFormat::Csv => read_spikes_csv(path),
    }
}

fn units_factor(file: &Path, object: &str, units: Option<String>) -> Result<f64, SpikeError> {
    match units.as_deref().map(str::trim) {
        None | Some("ms") | Some("") | Some("millisecond") | Some("milliseconds") => Ok(1.0),
        Some("s") | Some("sec") | Some("second") | Some("seconds") => Ok(1000.0),
        Some(other) => Err(SpikeError::from(SonataError::Invalid {
            file: file.to_path_buf(),
            field: format!("{object}@units"),
            value: other.to_string(),
            reason: "expected ms or s".into(),
        })),
    }
}

fn read_pair(
    file: &Path,
    g: &hdf5::Group,
    ids_name: &str,
    population: Option<String>,
) -> Result<PopulationSpikes, SpikeError> {
    let ids_ds = h5::dataset(file, g, ids_name)?;
    let ts_ds = h5::dataset(file, g, "timestamps")?;
    let node_ids = h5::read_u64(file, &ids_ds)?;
    let ts_path = format!("{}/timestamps", g.name());
    let factor = units_factor(file, &ts_path, h5::attr_string(file, &ts_ds, "units")?)?;
    let mut timestamps_ms = h5::read_f64(file, &ts_ds)?;
    if factor != 1.0 {
        timestamps_ms.iter_mut().for_each(|t| *t *= factor);
    }
    if node_ids.len() != timestamps_ms.len() {
        return Err(SpikeError::from(SonataError::Invalid {
            file: file.to_path_buf(),
            field: ts_path,
            value: format!("length {}", timestamps_ms.len()),
            reason: format!("{}/{ids_name} has {} rows", g.name(), node_ids.len()),
        }));
    }
    if let Some(i) = timestamps_ms.iter().position(|t| !t.is_finite()) {
        return Err(SpikeError::from(SonataError::Invalid {
            file: file.to_path_buf(),
            field: format!("{ts_path}[{i}]"),
            value: timestamps_ms[i].to_string(),
            reason: "spike times must be finite".into(),
        }));
    }
    let sorting = match h5::attr_string(file, g, "sorting")? {
        Some(s) => Some(s),
        None => h5::attr_string(file, &ids_ds, "sorting")?,
    }
    .and_then(|s| {
        SortOrder::parse(&s).or(match s.as_str() {
            "0" => Some(SortOrder::None),
            "1" => Some(SortOrder::ById),
            "2" => Some(SortOrder::ByTime),
            _ => None,
        })
    });
    Ok(PopulationSpikes {
        population,
        node_ids,
        timestamps_ms,
        sorting,
    })
}

/// Read a SONATA spike file (new or old layout). `/spikes` without children is an empty file.
pub fn read_spikes_h5(path: &Path) -> Result<SpikeTrains, SpikeError> {
    let f = h5::open(path)?;
    let spikes = h5::group(path, &f, "spikes")?;
    let (groups, dsets) = h5::members(path, &spikes)?;
    let mut populations = Vec::new();
    if groups.is_empty() && dsets.iter().any(|d| d == "timestamps") {
        // Old layout: /spikes/gids (or node_ids) + /spikes/timestamps, no population.
        let ids = if dsets.iter().any(|d| d == "gids") {
            "gids"
        } else {
            "node_ids"
        };
        populations.push(read_pair(path, &spikes, ids, None)?);
    } else {
        for name in groups {
            let g = h5::group(path, &spikes, &name)?;
            let ids = if !g.link_exists("node_ids") && g.link_exists("gids") {
                "gids"
            } else {
                "node_ids"
            };
            populations.push(read_pair(path, &g, ids, Some(name))?);
        }
    }
    Ok(SpikeTrains { populations })
}

/// Read a space-separated spike CSV. A first line with a non-numeric field is a header naming
/// `timestamps`, `node_ids` and optionally `population` in any order; without a header the
/// columns are `timestamps node_ids` (or `timestamps population node_ids` with three fields).
pub fn read_spikes_csv(path: &Path) -> Result<SpikeTrains, SpikeError> {
    let bytes = crate::limits::read_file(path).map_err(|message| SpikeError::Open {
        file: path.to_path_buf(),
        message,
    })?;
    let text = String::from_utf8(bytes).map_err(|_| SpikeError::Open {
        file: path.to_path_buf(),
        message: "not valid UTF-8 text".into(),
    })?;
    let text = crate::limits::strip_bom(&text);
    let csv_err = |line: usize, message: String| {
        SpikeError::from(SonataError::Csv {
            file: path.to_path_buf(),
            line,
            message,
        })
    };
    let mut cols: Option<(usize, usize, Option<usize>, usize)> = None; // (t, id, pop, n)
    let mut pops: Vec<PopulationSpikes> = Vec::new();
    for (ln, line) in text.lines().enumerate() {
        let line_no = ln + 1;
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() || fields[0].starts_with('#') {
            continue;
        }
        let (ti, ii, pi, n) = match cols {
            Some(c) => c,
            None => {
                if fields.iter().any(|f| f.parse::<f64>().is_err())
                    && fields.iter().all(|f| f.parse::<f64>().is_err())
                {
                    let find = |names: &[&str]| fields.iter().position(|f| names.contains(f));
                    let t =
                        find(&["timestamps", "timestamp", "time", "times"]).ok_or_else(|| {
                            csv_err(
                                line_no,
                                format!(
                                    "header \"{}\" has no timestamps column",
                                    crate::limits::clip(fields.join(" "))
                                ),
                            )
                        })?;
                    let i =
                        find(&["node_ids", "node_id", "gids", "gid", "ids"]).ok_or_else(|| {
                            csv_err(
                                line_no,
                                format!(
                                    "header \"{}\" has no node_ids column",
                                    crate::limits::clip(fields.join(" "))
                                ),
                            )
                        })?;
                    let p = find(&["population", "populations"]);
                    cols = Some((t, i, p, fields.len()));
                    continue;
                }
                let c = match fields.len() {
                    2 => (0, 1, None, 2),
                    3 => (0, 2, Some(1), 3),
                    k => {
                        return Err(csv_err(
                            line_no,
                            format!(
                                "{k} fields; expected \"timestamps node_ids\" or a header line"
                            ),
                        ))
                    }
                };
                cols = Some(c);
                c
            }
        };
        if fields.len() != n {
            return Err(csv_err(
                line_no,
                format!("{} fields, expected {n}", fields.len()),
            ));
        }
        let t: f64 = fields[ti]
            .parse()
            .ok()
            .filter(|t: &f64| t.is_finite())
            .ok_or_else(|| {
                csv_err(
                    line_no,
                    format!(
                        "timestamps = {}: not a finite number",
                        crate::limits::clip(fields[ti])
                    ),
                )
            })?;
        let id: u64 = fields[ii].parse().map_err(|_| {
            csv_err(
                line_no,
                format!(
                    "node_ids = {}: not a non-negative integer",
                    crate::limits::clip(fields[ii])
                ),
            )
        })?;
        let pop = pi.map(|p| fields[p].to_string());
        let entry = match pops.iter().position(|p| p.population == pop) {
            Some(k) => &mut pops[k],
            None => {
                pops.push(PopulationSpikes {
                    population: pop,
                    ..Default::default()
                });
                let k = pops.len() - 1;
                &mut pops[k]
            }
        };
        entry.node_ids.push(id);
        entry.timestamps_ms.push(t);
    }
    Ok(SpikeTrains { populations: pops })
}

/// A temporary path next to `path` (same filesystem, so the final rename is atomic).
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

fn finish(tmp: &Path, path: &Path) -> Result<(), SpikeError> {
    std::fs::rename(tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(tmp);
        SpikeError::Write {
            file: path.to_path_buf(),
            message: format!("cannot rename temporary file: {e}"),
        }
    })
}

fn population_name<'a>(path: &Path, p: &'a PopulationSpikes) -> Result<&'a str, SpikeError> {
    match p.population.as_deref() {
        Some(n) if !n.is_empty() && !n.contains('/') && !n.contains(char::is_whitespace) => Ok(n),
        other => Err(SpikeError::from(SonataError::Invalid {
            file: path.to_path_buf(),
            field: "population".into(),
            value: match other {
                Some(n) => format!("'{}'", crate::limits::clip(n)),
                None => "(none)".into(),
            },
            reason: "spikes need a population name without '/' or spaces to be written".into(),
        })),
    }
}

/// Write a SONATA spike file with gzip-compressed datasets (BMTK's default).
pub fn write_spikes_h5(
    path: &Path,
    trains: &SpikeTrains,
    order: SortOrder,
) -> Result<(), SpikeError> {
    write_spikes_h5_with(path, trains, order, true)
}

/// gzip level of compressed spike datasets. BMTK writes h5py's default gzip (level 4); level 1
/// gives files about 2% larger in well under half the compression time (76k spikes: ~18 ms
/// instead of ~30 ms), which is most of the write time of a run.
const GZIP_LEVEL: u8 = 1;

/// Write a SONATA spike file: root `magic`/`version`, `/spikes/<pop>/{timestamps (f64,
/// @units="ms"), node_ids (u64)}`, group attribute `sorting` (string). Each population is
/// sorted in `order`. Written to a temporary file and renamed when complete.
pub fn write_spikes_h5_with(
    path: &Path,
    trains: &SpikeTrains,
    order: SortOrder,
    compress: bool,
) -> Result<(), SpikeError> {
    for p in &trains.populations {
        population_name(path, p)?;
    }
    let tmp = temp_path(path);
    let werr = |e: hdf5::Error| SpikeError::Write {
        file: path.to_path_buf(),
        message: e.to_string(),
    };
    let result = (|| -> Result<(), SpikeError> {
        let f = hdf5::File::create(&tmp).map_err(werr)?;
        f.new_attr::<u32>()
            .create("magic")
            .and_then(|a| a.write_scalar(&0x0A7Au32))
            .map_err(werr)?;
        f.new_attr::<u32>()
            .shape(2)
            .create("version")
            .and_then(|a| a.write_raw(&[0u32, 1]))
            .map_err(werr)?;
        let sg = f.create_group("spikes").map_err(werr)?;
        let deflate = compress && hdf5::filters::deflate_available();
        for p in &trains.populations {
            let name = population_name(path, p)?;
            let s = p.sorted(order);
            let g = sg.create_group(name).map_err(werr)?;
            let sorting: VarLenUnicode = order.as_str().parse().map_err(|_| SpikeError::Write {
                file: path.to_path_buf(),
                message: "string conversion".into(),
            })?;
            g.new_attr::<VarLenUnicode>()
                .create("sorting")
                .and_then(|a| a.write_scalar(&sorting))
                .map_err(werr)?;
            let n = s.len();
            let chunk = n.clamp(1, 1 << 16);
            let ts = if deflate && n > 0 {
                g.new_dataset_builder()
                    .chunk(chunk)
                    .deflate(GZIP_LEVEL)
                    .with_data(&s.timestamps_ms[..])
                    .create("timestamps")
            } else {
                g.new_dataset_builder()
                    .with_data(&s.timestamps_ms[..])
                    .create("timestamps")
            }
            .map_err(werr)?;
            let units: VarLenUnicode = "ms".parse().map_err(|_| SpikeError::Write {
                file: path.to_path_buf(),
                message: "string conversion".into(),
            })?;
            ts.new_attr::<VarLenUnicode>()
                .create("units")
                .and_then(|a| a.write_scalar(&units))
                .map_err(werr)?;
            if deflate && n > 0 {
                g.new_dataset_builder()
                    .chunk(chunk)
                    .deflate(GZIP_LEVEL)
                    .with_data(&s.node_ids[..])
                    .create("node_ids")
            } else {
                g.new_dataset_builder()
                    .with_data(&s.node_ids[..])
                    .create("node_ids")
            }
            .map_err(werr)?;
        }
        f.close().map_err(werr)?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    finish(&tmp, path)
}

/// Write a spike CSV: header `timestamps population node_ids`, space separated. `by_time`
/// orders all populations' spikes by time together (stable: population order, then file
/// order); `by_id` and `none` keep populations in order, each sorted / as recorded.
/// Timestamps are printed with Rust's shortest round-trip formatting, so they read back
/// bit-identical.
pub fn write_spikes_csv(
    path: &Path,
    trains: &SpikeTrains,
    order: SortOrder,
) -> Result<(), SpikeError> {
    let names = trains
        .populations
        .iter()
        .map(|p| population_name(path, p))
        .collect::<Result<Vec<_>, _>>()?;
    let tmp = temp_path(path);
    let ioerr = |e: std::io::Error| SpikeError::Write {
        file: path.to_path_buf(),
        message: e.to_string(),
    };
    let result = (|| -> Result<(), SpikeError> {
        let file = std::fs::File::create(&tmp).map_err(ioerr)?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        w.write_all(b"timestamps population node_ids\n")
            .map_err(ioerr)?;
        let rows = trains.rows(order);
        for (k, i) in rows {
            let p = &trains.populations[k];
            writeln!(w, "{} {} {}", p.timestamps_ms[i], names[k], p.node_ids[i]).map_err(ioerr)?;
        }
        w.into_inner()
            .map_err(|e| ioerr(e.into_error()))?
            .sync_all()
            .map_err(ioerr)?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    finish(&tmp, path)
}
