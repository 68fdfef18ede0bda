//! SONATA membrane ("frame oriented") reports: a streaming writer and a reader.
//!
//! Layout (docs/sonata-bmtk.md §4.2), one group per recorded population:
//!
//! ```text
//! /                              attrs magic = 0x0A7A, version = [0, 1]
//! /report/<pop>/data             f64 [n_steps x n_values]   attrs units, variable
//! /report/<pop>/mapping/node_ids        u64 [n_nodes]
//! /report/<pop>/mapping/element_ids     u32 [n_values]   (0: one element per point cell)
//! /report/<pop>/mapping/element_pos     f64 [n_values]   (0.0)
//! /report/<pop>/mapping/index_pointer   u64 [n_nodes+1]  (BMTK's name)
//! /report/<pop>/mapping/index_pointers  u64 [n_nodes+1]  (libsonata's name)
//! /report/<pop>/mapping/time            f64 [3] = [tstart, tstop, dt], attr units = "ms"
//! ```
//!
//! Why streaming: a one-hour run recording 100 cells every 0.1 ms is 3.6e9 samples (29 GB), so
//! samples are buffered for one block of rows and appended to a chunked dataset whose first
//! dimension is unlimited. Memory is bounded by one block whatever the run length.
//!
//! Why a temporary file: a run that fails half-way must not leave a report that looks complete.
//! The writer creates `.<name>.tmp-<pid>` beside the target, renames it on [`ReportWriter::finish`]
//! and deletes it when dropped unfinished.

use std::path::{Path, PathBuf};

use hdf5::types::VarLenUnicode;

/// Errors of report writing and reading. Every message names the file, the dataset or
/// attribute (field) and the offending value, so a user can fix the input from it alone.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The file or one of its objects is structurally wrong (missing, wrong shape, bad value).
    #[error("{file}: {field}: {msg}")]
    Invalid {
        file: String,
        field: String,
        msg: String,
    },
    /// The HDF5 library refused an operation (unreadable file, disk full, ...).
    #[error("{file}: {field}: {msg}")]
    Hdf5 {
        file: String,
        field: String,
        msg: String,
    },
    /// Creating, renaming or removing the file failed.
    #[error("{file}: {msg}")]
    Io { file: String, msg: String },
}

fn invalid(file: &Path, field: &str, msg: impl Into<String>) -> ReportError {
    ReportError::Invalid {
        file: file.display().to_string(),
        field: field.to_string(),
        msg: msg.into(),
    }
}

fn h5err(file: &Path, field: &str) -> impl FnOnce(hdf5::Error) -> ReportError {
    let field = field.to_string();
    let file = file.display().to_string();
    move |e| ReportError::Hdf5 {
        file,
        field,
        msg: e.to_string().replace('\n', " "),
    }
}

/// SONATA root attribute `magic` (docs/sonata-bmtk.md §0).
const SONATA_MAGIC: u32 = 0x0A7A;

/// Units NEST reports for a recordable (glif_psc, glif_psc_double_alpha and iaf_psc_* recordables,
/// docs/sonata-bmtk.md §4.2); unknown names get an empty unit rather than a guess.
pub fn default_units(variable: &str) -> &'static str {
    match variable {
        "V_m" | "threshold" | "threshold_spike" | "threshold_voltage" => "mV",
        "ASCurrents_sum" | "I" | "I_syn" | "I_syn_ex" | "I_syn_in" | "I_e" => "pA",
        "weighted_spikes_ex" | "weighted_spikes_in" => "pA",
        _ => "",
    }
}

/// What one report file records: the populations and their node ids (in column order), the
/// variable, its units, and the sampling grid.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportLayout {
    /// `(population, node ids)`; each population becomes one `/report/<pop>` group. The columns
    /// of a row passed to [`ReportWriter::push_rows`] are these nodes in this order.
    pub populations: Vec<(String, Vec<u64>)>,
    /// Recorded variable, e.g. `V_m` (stored as the `variable` attribute of `data`).
    pub variable: String,
    /// Units of the variable (the `units` attribute of `data`), e.g. `mV`.
    pub units: String,
    /// Time of the first sample (ms).
    pub tstart: f64,
    /// Sampling interval (ms).
    pub dt: f64,
}

impl ReportLayout {
    /// Total number of columns (recorded nodes over all populations).
    pub fn n_values(&self) -> usize {
        self.populations.iter().map(|(_, ids)| ids.len()).sum()
    }
}

struct PopData {
    data: hdf5::Dataset,
    time: hdf5::Dataset,
    /// First column of this population in a full row.
    col0: usize,
    n: usize,
}

/// Streams a report to disk block by block (see the module docs).
pub struct ReportWriter {
    final_path: PathBuf,
    tmp_path: PathBuf,
    file: Option<hdf5::File>,
    pops: Vec<PopData>,
    n_values: usize,
    block_rows: usize,
    /// Row-major buffer of at most `block_rows` full rows.
    buf: Vec<f64>,
    rows_written: usize,
    tstart: f64,
    dt: f64,
    finished: bool,
}

/// Rows per block so that one block holds about 64 Ki values (512 KiB): large enough for
/// efficient HDF5 chunks, small enough to keep memory flat.
fn block_rows_for(n_values: usize) -> usize {
    (65_536 / n_values.max(1)).clamp(16, 8192)
}

fn tmp_path_for(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report.h5".to_string());
    let tmp = format!(".{}.tmp-{}", name, std::process::id());
    match path.parent() {
        Some(p) => p.join(tmp),
        None => PathBuf::from(tmp),
    }
}

fn write_str_attr(
    loc: &hdf5::Location,
    name: &str,
    value: &str,
    file: &Path,
) -> Result<(), ReportError> {
    let v: VarLenUnicode = value.parse().map_err(|_| {
        invalid(
            file,
            name,
            format!("cannot store string \"{}\"", crate::limits::clip(value)),
        )
    })?;
    loc.new_attr::<VarLenUnicode>()
        .shape(())
        .create(name)
        .and_then(|a| a.write_scalar(&v))
        .map_err(h5err(file, name))
}

impl ReportWriter {
    /// Creates the temporary file and every dataset except the samples' final extent.
    pub fn create(path: &Path, layout: &ReportLayout) -> Result<Self, ReportError> {
        Self::create_with_block(path, layout, None)
    }

    /// As [`ReportWriter::create`] with an explicit block length in rows (tests use small
    /// blocks to exercise block boundaries).
    pub fn create_with_block(
        path: &Path,
        layout: &ReportLayout,
        block_rows: Option<usize>,
    ) -> Result<Self, ReportError> {
        if !(layout.dt.is_finite() && layout.dt > 0.0) {
            return Err(invalid(
                path,
                "dt",
                format!("sampling interval must be > 0, got {}", layout.dt),
            ));
        }
        if !layout.tstart.is_finite() {
            return Err(invalid(
                path,
                "start_time",
                format!("must be finite, got {}", layout.tstart),
            ));
        }
        let n_values = layout.n_values();
        if n_values == 0 {
            return Err(invalid(path, "cells", "the report selects no nodes"));
        }
        let mut seen = std::collections::HashSet::new();
        for (pop, _) in &layout.populations {
            if pop.is_empty() || pop.contains('/') || !seen.insert(pop.as_str()) {
                return Err(invalid(
                    path,
                    "population",
                    format!(
                        "invalid or duplicate population name \"{}\"",
                        crate::limits::clip(pop)
                    ),
                ));
            }
        }
        let tmp_path = tmp_path_for(path);
        let file = hdf5::File::create(&tmp_path).map_err(|e| ReportError::Io {
            file: path.display().to_string(),
            msg: format!(
                "cannot create report file: {}",
                e.to_string().replace('\n', " ")
            ),
        })?;
        // From here on, an early return drops `w`, which deletes the temporary file.
        let mut w = ReportWriter {
            final_path: path.to_path_buf(),
            tmp_path,
            file: None,
            pops: Vec::new(),
            n_values,
            block_rows: block_rows
                .unwrap_or_else(|| block_rows_for(n_values))
                .max(1),
            buf: Vec::new(),
            rows_written: 0,
            tstart: layout.tstart,
            dt: layout.dt,
            finished: false,
        };
        w.buf.reserve(w.block_rows * n_values);
        file.new_attr::<u32>()
            .shape(())
            .create("magic")
            .and_then(|a| a.write_scalar(&SONATA_MAGIC))
            .map_err(h5err(path, "magic"))?;
        file.new_attr_builder()
            .with_data(&[0u32, 1u32])
            .create("version")
            .map_err(h5err(path, "version"))?;
        let mut col0 = 0;
        for (pop, ids) in &layout.populations {
            if ids.is_empty() {
                continue;
            }
            let n = ids.len();
            let g = file
                .create_group(&format!("report/{pop}"))
                .map_err(h5err(path, &format!("/report/{pop}")))?;
            let m = g
                .create_group("mapping")
                .map_err(h5err(path, &format!("/report/{pop}/mapping")))?;
            let f = |name: &str| format!("/report/{pop}/mapping/{name}");
            m.new_dataset_builder()
                .with_data(&ids[..])
                .create("node_ids")
                .map_err(h5err(path, &f("node_ids")))?;
            m.new_dataset_builder()
                .with_data(&vec![0u32; n][..])
                .create("element_ids")
                .map_err(h5err(path, &f("element_ids")))?;
            m.new_dataset_builder()
                .with_data(&vec![0.0f64; n][..])
                .create("element_pos")
                .map_err(h5err(path, &f("element_pos")))?;
            let ptr: Vec<u64> = (0..=n as u64).collect();
            for name in ["index_pointer", "index_pointers"] {
                m.new_dataset_builder()
                    .with_data(&ptr[..])
                    .create(name)
                    .map_err(h5err(path, &f(name)))?;
            }
            let time = m
                .new_dataset_builder()
                .with_data(&[layout.tstart, layout.tstart, layout.dt])
                .create("time")
                .map_err(h5err(path, &f("time")))?;
            write_str_attr(&time, "units", "ms", path)?;
            let rows = w.block_rows;
            let data = g
                .new_dataset::<f64>()
                .chunk((rows, n))
                .shape((0.., n))
                .create("data")
                .map_err(h5err(path, &format!("/report/{pop}/data")))?;
            write_str_attr(&data, "units", &layout.units, path)?;
            write_str_attr(&data, "variable", &layout.variable, path)?;
            w.pops.push(PopData {
                data,
                time,
                col0,
                n,
            });
            col0 += n;
        }
        w.file = Some(file);
        Ok(w)
    }

    /// Number of columns of a row.
    pub fn n_values(&self) -> usize {
        self.n_values
    }

    /// Appends whole rows (row-major, `n_values` columns each, columns in layout order).
    pub fn push_rows(&mut self, rows: &[f64]) -> Result<(), ReportError> {
        if !rows.len().is_multiple_of(self.n_values) {
            return Err(invalid(
                &self.final_path,
                "data",
                format!(
                    "{} samples is not a whole number of rows of {} values",
                    rows.len(),
                    self.n_values
                ),
            ));
        }
        let cap = self.block_rows * self.n_values;
        let mut rest = rows;
        while !rest.is_empty() {
            let take = (cap - self.buf.len()).min(rest.len());
            self.buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.buf.len() == cap {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Number of rows accepted so far (written or buffered).
    pub fn n_rows(&self) -> usize {
        self.rows_written + self.buf.len() / self.n_values
    }

    /// Writes the buffered rows to the file, growing each population's `data`.
    fn flush(&mut self) -> Result<(), ReportError> {
        let k = self.buf.len() / self.n_values;
        if k == 0 {
            return Ok(());
        }
        let r0 = self.rows_written;
        let mut block = Vec::new();
        for p in &self.pops {
            block.clear();
            block.reserve(k * p.n);
            for row in self.buf.chunks_exact(self.n_values) {
                block.extend_from_slice(&row[p.col0..p.col0 + p.n]);
            }
            let view = ndarray::ArrayView2::from_shape((k, p.n), &block[..])
                .map_err(|e| invalid(&self.final_path, "data", e.to_string()))?;
            p.data
                .resize((r0 + k, p.n))
                .and_then(|_| p.data.write_slice(view, (r0..r0 + k, 0..p.n)))
                .map_err(h5err(&self.final_path, "data"))?;
        }
        self.rows_written += k;
        self.buf.clear();
        Ok(())
    }

    /// Flushes, writes `time = [tstart, tstart + n_rows·dt, dt]` (right-open interval), closes
    /// and renames the temporary file to its final name.
    pub fn finish(mut self) -> Result<PathBuf, ReportError> {
        self.flush()?;
        let stop = self.tstart + self.rows_written as f64 * self.dt;
        for p in &self.pops {
            p.time
                .write(&[self.tstart, stop, self.dt])
                .map_err(h5err(&self.final_path, "mapping/time"))?;
        }
        self.pops.clear();
        if let Some(f) = self.file.take() {
            f.close().map_err(h5err(&self.final_path, "close"))?;
        }
        std::fs::rename(&self.tmp_path, &self.final_path).map_err(|e| ReportError::Io {
            file: self.final_path.display().to_string(),
            msg: format!("cannot rename {}: {e}", self.tmp_path.display()),
        })?;
        self.finished = true;
        Ok(self.final_path.clone())
    }
}

impl Drop for ReportWriter {
    fn drop(&mut self) {
        if !self.finished {
            self.pops.clear();
            drop(self.file.take());
            let _ = std::fs::remove_file(&self.tmp_path);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reader

/// Metadata of one population of a report file.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportPopulation {
    pub name: String,
    pub node_ids: Vec<u64>,
    /// Length `node_ids.len() + 1`: node `i` owns columns `index_pointer[i]..index_pointer[i+1]`.
    pub index_pointer: Vec<u64>,
    pub element_ids: Vec<u64>,
    pub tstart: f64,
    pub tstop: f64,
    pub dt: f64,
    /// Rows of `data`.
    pub n_steps: usize,
    /// Columns of `data`.
    pub n_values: usize,
    /// `data@units`, if present.
    pub units: Option<String>,
    /// `data@variable`, if present.
    pub variable: Option<String>,
}

/// One node's samples: `times[k] = tstart + k·dt`.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    pub population: String,
    pub node_id: u64,
    pub times: Vec<f64>,
    pub values: Vec<f64>,
    pub units: Option<String>,
    pub variable: Option<String>,
}

fn read_str_attr(loc: &hdf5::Location, name: &str) -> Option<String> {
    let a = loc.attr(name).ok()?;
    if let Ok(s) = a.read_scalar::<VarLenUnicode>() {
        return Some(s.as_str().to_string());
    }
    if let Ok(s) = a.read_scalar::<hdf5::types::VarLenAscii>() {
        return Some(s.as_str().to_string());
    }
    if let Ok(s) = a.read_scalar::<hdf5::types::FixedAscii<256>>() {
        return Some(s.as_str().to_string());
    }
    None
}

fn open_file(path: &Path) -> Result<hdf5::File, ReportError> {
    if let Some(msg) = crate::limits::file_problem(path) {
        return Err(ReportError::Io {
            file: path.display().to_string(),
            msg,
        });
    }
    hdf5::File::open(path).map_err(|e| {
        invalid(
            path,
            "file",
            format!(
                "not a readable HDF5 file ({})",
                e.to_string().replace('\n', " ")
            ),
        )
    })
}

fn read_u64s(
    path: &Path,
    g: &hdf5::Group,
    name: &str,
    field: &str,
) -> Result<Vec<u64>, ReportError> {
    let ds = g
        .dataset(name)
        .map_err(|_| invalid(path, field, "missing dataset"))?;
    if ds.ndim() != 1 {
        return Err(invalid(
            path,
            field,
            format!("expected a 1-d dataset, got shape {:?}", ds.shape()),
        ));
    }
    ds.read_raw::<u64>().map_err(|e| {
        invalid(
            path,
            field,
            format!("cannot read as unsigned integers: {e}"),
        )
    })
}

/// Reads the metadata of every population of a report and checks its consistency.
pub fn read_report(path: &Path) -> Result<Vec<ReportPopulation>, ReportError> {
    let file = open_file(path)?;
    let report = file
        .group("report")
        .map_err(|_| invalid(path, "/report", "missing group (not a SONATA report)"))?;
    let mut names = report.member_names().map_err(h5err(path, "/report"))?;
    names.sort();
    if names.is_empty() {
        return Err(invalid(path, "/report", "no population groups"));
    }
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let base = format!("/report/{name}");
        let g = report
            .group(&name)
            .map_err(|_| invalid(path, &base, "not a group"))?;
        let mapping = g
            .group("mapping")
            .map_err(|_| invalid(path, &format!("{base}/mapping"), "missing group"))?;
        let f = |n: &str| format!("{base}/mapping/{n}");
        let node_ids = read_u64s(path, &mapping, "node_ids", &f("node_ids"))?;
        let (ptr_name, index_pointer) = if mapping.link_exists("index_pointer") {
            (
                "index_pointer",
                read_u64s(path, &mapping, "index_pointer", &f("index_pointer"))?,
            )
        } else if mapping.link_exists("index_pointers") {
            (
                "index_pointers",
                read_u64s(path, &mapping, "index_pointers", &f("index_pointers"))?,
            )
        } else {
            return Err(invalid(
                path,
                &f("index_pointer"),
                "missing dataset (neither index_pointer nor index_pointers)",
            ));
        };
        let element_ids = read_u64s(path, &mapping, "element_ids", &f("element_ids"))?;
        let time_ds = mapping
            .dataset("time")
            .map_err(|_| invalid(path, &f("time"), "missing dataset"))?;
        let time = time_ds
            .read_raw::<f64>()
            .map_err(|e| invalid(path, &f("time"), format!("cannot read as floats: {e}")))?;
        if time.len() != 3 {
            return Err(invalid(
                path,
                &f("time"),
                format!("expected [tstart, tstop, dt], got {} values", time.len()),
            ));
        }
        let (tstart, tstop, dt) = (time[0], time[1], time[2]);
        if !(dt.is_finite() && dt > 0.0 && tstart.is_finite() && tstop.is_finite()) {
            return Err(invalid(
                path,
                &f("time"),
                format!("invalid [tstart, tstop, dt] = {time:?}"),
            ));
        }
        let data = g
            .dataset("data")
            .map_err(|_| invalid(path, &format!("{base}/data"), "missing dataset"))?;
        let shape = data.shape();
        if shape.len() != 2 {
            return Err(invalid(
                path,
                &format!("{base}/data"),
                format!("expected 2-d [n_steps x n_values], got shape {shape:?}"),
            ));
        }
        let (n_steps, n_values) = (shape[0], shape[1]);
        if index_pointer.len() != node_ids.len() + 1 {
            return Err(invalid(
                path,
                &f(ptr_name),
                format!(
                    "length {} but node_ids has {} entries (expected {})",
                    index_pointer.len(),
                    node_ids.len(),
                    node_ids.len() + 1
                ),
            ));
        }
        if index_pointer.windows(2).any(|w| w[0] > w[1])
            || index_pointer.last().copied() != Some(n_values as u64)
            || index_pointer.first().copied() != Some(0)
        {
            return Err(invalid(
                path,
                &f(ptr_name),
                format!("must rise from 0 to the {n_values} columns of data"),
            ));
        }
        if element_ids.len() != n_values {
            return Err(invalid(
                path,
                &f("element_ids"),
                format!(
                    "length {} but data has {n_values} columns",
                    element_ids.len()
                ),
            ));
        }
        out.push(ReportPopulation {
            units: read_str_attr(&data, "units"),
            variable: read_str_attr(&data, "variable"),
            name,
            node_ids,
            index_pointer,
            element_ids,
            tstart,
            tstop,
            dt,
            n_steps,
            n_values,
        });
    }
    Ok(out)
}

/// Reads the samples of one node (its first element). With several populations holding the
/// id, `population` must say which one.
pub fn read_trace(
    path: &Path,
    population: Option<&str>,
    node_id: u64,
) -> Result<Trace, ReportError> {
    let pops = read_report(path)?;
    let candidates: Vec<&ReportPopulation> = pops
        .iter()
        .filter(|p| population.is_none_or(|n| n == p.name))
        .filter(|p| p.node_ids.contains(&node_id))
        .collect();
    let pop = match candidates.as_slice() {
        [one] => *one,
        [] => {
            let field = match population {
                Some(p) => format!("/report/{p}/mapping/node_ids"),
                None => "/report/*/mapping/node_ids".to_string(),
            };
            return Err(invalid(
                path,
                &field,
                format!("node {node_id} is not recorded"),
            ));
        }
        many => {
            let names: Vec<&str> = many.iter().map(|p| p.name.as_str()).collect();
            return Err(invalid(
                path,
                "population",
                format!(
                    "node {node_id} is in several populations ({}); choose one",
                    names.join(", ")
                ),
            ));
        }
    };
    let i = pop.node_ids.iter().position(|&n| n == node_id).unwrap_or(0);
    let col = pop.index_pointer[i] as usize;
    let field = format!("/report/{}/data", pop.name);
    let values: Vec<f64> = if pop.index_pointer[i + 1] as usize == col || pop.n_steps == 0 {
        Vec::new()
    } else {
        let file = open_file(path)?;
        let ds = file.dataset(&field).map_err(h5err(path, &field))?;
        ds.read_slice_1d::<f64, _>((0..pop.n_steps, col))
            .map_err(|e| invalid(path, &field, format!("cannot read column {col}: {e}")))?
            .to_vec()
    };
    let times = (0..values.len())
        .map(|k| pop.tstart + k as f64 * pop.dt)
        .collect();
    Ok(Trace {
        population: pop.name.clone(),
        node_id,
        times,
        values,
        units: pop.units.clone(),
        variable: pop.variable.clone(),
    })
}
