//! Writers for the SONATA circuit files the BMTK builder produces: nodes h5, edges h5 with
//! `indices/`, space-separated CRLF type tables, and SONATA spike files for virtual inputs.
//!
//! Layouts follow docs/sonata-bmtk.md §1.1 (nodes), §2.1–2.2 (edges and indices), §1.2/§2.3
//! (CSV dialect) and §4.1 (spikes). Datasets are contiguous (as h5py writes them) and object
//! time tracking is off, so the same content always gives the same bytes.
//!
//! Edges are streamed: [`EdgeFileWriter`] is created with the final edge count and receives
//! target-sorted blocks, so memory stays O(block) plus 4 bytes per edge for the
//! `source_to_target` index.

use std::path::{Path, PathBuf};

use hdf5::types::VarLenUnicode;
use hdf5::{Dataset, File, Group, H5Type};

/// An error while writing a circuit file, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{path}: {msg}")]
    Hdf5 { path: PathBuf, msg: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {msg}")]
    Invalid { path: PathBuf, msg: String },
}

fn h5err(path: &Path) -> impl Fn(hdf5::Error) -> WriteError + '_ {
    move |e| WriteError::Hdf5 {
        path: path.to_path_buf(),
        msg: e.to_string(),
    }
}

/// One per-node column of a node group (`/nodes/<pop>/<gid>/<name>`).
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    F64(Vec<f64>),
    I64(Vec<i64>),
    Str(Vec<String>),
}

impl Column {
    pub fn len(&self) -> usize {
        match self {
            Column::F64(v) => v.len(),
            Column::I64(v) => v.len(),
            Column::Str(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A node population as the SONATA nodes file stores it (§1.1).
#[derive(Debug, Clone, Default)]
pub struct NodesTable {
    pub population: String,
    pub node_type_id: Vec<u64>,
    pub node_group_id: Vec<u32>,
    pub node_group_index: Vec<u64>,
    /// Group `g` holds the columns `(name, values)` of the nodes with `node_group_id == g`.
    pub groups: Vec<Vec<(String, Column)>>,
}

/// Create an HDF5 file with the SONATA root attributes `magic` and `version` (§0 item 1).
fn create_sonata_file(path: &Path) -> Result<File, WriteError> {
    let f = File::create(path).map_err(h5err(path))?;
    f.new_attr::<u32>()
        .create("magic")
        .and_then(|a| a.write_scalar(&0x0A7Au32))
        .map_err(h5err(path))?;
    f.new_attr::<u32>()
        .shape(2)
        .create("version")
        .and_then(|a| a.write(&[0u32, 1]))
        .map_err(h5err(path))?;
    Ok(f)
}

fn group(parent: &Group, name: &str, path: &Path) -> Result<Group, WriteError> {
    parent
        .create_group_builder()
        .obj_track_times(false)
        .create(name)
        .map_err(h5err(path))
}

fn write_1d<T: H5Type>(
    g: &Group,
    name: &str,
    data: &[T],
    path: &Path,
) -> Result<Dataset, WriteError> {
    g.new_dataset_builder()
        .with_data(data)
        .create(name)
        .map_err(h5err(path))
}

fn empty_1d<T: H5Type>(
    g: &Group,
    name: &str,
    n: usize,
    path: &Path,
) -> Result<Dataset, WriteError> {
    g.new_dataset::<T>()
        .no_chunk()
        .shape(n)
        .create(name)
        .map_err(h5err(path))
}

fn write_pairs(g: &Group, name: &str, pairs: &[[u64; 2]], path: &Path) -> Result<(), WriteError> {
    let ds = g
        .new_dataset::<u64>()
        .no_chunk()
        .shape((pairs.len(), 2))
        .create(name)
        .map_err(h5err(path))?;
    if !pairs.is_empty() {
        let flat: Vec<u64> = pairs.iter().flat_map(|p| p.iter().copied()).collect();
        ds.write_raw(&flat).map_err(h5err(path))?;
    }
    Ok(())
}

fn str_attr(loc: &hdf5::Location, name: &str, value: &str, path: &Path) -> Result<(), WriteError> {
    let v: VarLenUnicode = value.parse().map_err(|_| WriteError::Invalid {
        path: path.to_path_buf(),
        msg: format!(
            "attribute {name}: value \"{}\" is not a valid string",
            crate::limits::clip(value)
        ),
    })?;
    loc.new_attr::<VarLenUnicode>()
        .create(name)
        .and_then(|a| a.write_scalar(&v))
        .map_err(h5err(path))
}

/// Write `/nodes/<population>/…` exactly in the BMTK layout (§1.1).
pub fn write_nodes(path: &Path, t: &NodesTable) -> Result<(), WriteError> {
    let n = t.node_type_id.len();
    if t.node_group_id.len() != n || t.node_group_index.len() != n {
        return Err(WriteError::Invalid {
            path: path.to_path_buf(),
            msg: "node columns differ in length".into(),
        });
    }
    let f = create_sonata_file(path)?;
    let nodes = group(&f, "nodes", path)?;
    let pop = group(&nodes, &t.population, path)?;
    let ids: Vec<u64> = (0..n as u64).collect();
    write_1d(&pop, "node_id", &ids, path)?;
    write_1d(&pop, "node_type_id", &t.node_type_id, path)?;
    write_1d(&pop, "node_group_id", &t.node_group_id, path)?;
    write_1d(&pop, "node_group_index", &t.node_group_index, path)?;
    for (gid, cols) in t.groups.iter().enumerate() {
        let g = group(&pop, &gid.to_string(), path)?;
        for (name, col) in cols {
            match col {
                Column::F64(v) => write_1d(&g, name, v, path)?,
                Column::I64(v) => write_1d(&g, name, v, path)?,
                Column::Str(v) => {
                    let mut s = Vec::with_capacity(v.len());
                    for x in v {
                        s.push(
                            x.parse::<VarLenUnicode>()
                                .map_err(|_| WriteError::Invalid {
                                    path: path.to_path_buf(),
                                    msg: format!(
                                        "column {name}: value \"{}\" is not a valid string",
                                        crate::limits::clip(x)
                                    ),
                                })?,
                        );
                    }
                    write_1d(&g, name, &s, path)?
                }
            };
        }
    }
    f.close().map_err(h5err(path))
}

/// Quote a CSV field the way Python's `csv.writer` does with a space delimiter (§1.2).
fn csv_field(s: &str) -> String {
    if s.is_empty() || s.contains([' ', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Write a node/edge types table: single-space separated, CRLF, `NULL` for missing (§1.2).
pub fn write_types_csv(
    path: &Path,
    header: &[String],
    rows: &[Vec<Option<String>>],
) -> Result<(), WriteError> {
    let mut out = String::new();
    let line = |fields: Vec<String>| fields.join(" ") + "\r\n";
    out.push_str(&line(header.iter().map(|h| csv_field(h)).collect()));
    for r in rows {
        if r.len() != header.len() {
            return Err(WriteError::Invalid {
                path: path.to_path_buf(),
                msg: format!("row has {} fields, header {}", r.len(), header.len()),
            });
        }
        out.push_str(&line(
            r.iter()
                .map(|v| v.as_deref().map(csv_field).unwrap_or_else(|| "NULL".into()))
                .collect(),
        ));
    }
    std::fs::write(path, out).map_err(|source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Streams one edge population, sorted by target, into a BMTK-layout edges file (§2.1) and
/// writes both `indices/` trees at [`finish`](Self::finish) (§2.2; BMTK dataset name
/// `node_id_to_range`, tables sized max id + 1, missing ids `[0, 0]`).
pub struct EdgeFileWriter {
    path: PathBuf,
    file: File,
    pop: Group,
    n_edges: usize,
    written: usize,
    ds_source: Dataset,
    ds_target: Dataset,
    ds_type: Dataset,
    ds_gid: Dataset,
    ds_gidx: Dataset,
    ds_nsyns: Dataset,
    /// Source id of every edge, kept for the `source_to_target` index (4 bytes per edge).
    sources: Vec<u32>,
    /// `(target, first edge, end edge)` per target run.
    target_runs: Vec<(u64, u64, u64)>,
}

impl EdgeFileWriter {
    /// Create `path` holding edge population `population` with exactly `n_edges` edges.
    pub fn create(
        path: &Path,
        population: &str,
        source_population: &str,
        target_population: &str,
        n_edges: usize,
    ) -> Result<Self, WriteError> {
        let file = create_sonata_file(path)?;
        let edges = group(&file, "edges", path)?;
        let pop = group(&edges, population, path)?;
        let ds_source = empty_1d::<u64>(&pop, "source_node_id", n_edges, path)?;
        str_attr(&ds_source, "node_population", source_population, path)?;
        let ds_target = empty_1d::<u64>(&pop, "target_node_id", n_edges, path)?;
        str_attr(&ds_target, "node_population", target_population, path)?;
        let ds_type = empty_1d::<u32>(&pop, "edge_type_id", n_edges, path)?;
        let ds_gid = empty_1d::<u16>(&pop, "edge_group_id", n_edges, path)?;
        let ds_gidx = empty_1d::<u32>(&pop, "edge_group_index", n_edges, path)?;
        let g0 = group(&pop, "0", path)?;
        let ds_nsyns = empty_1d::<u32>(&g0, "nsyns", n_edges, path)?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            pop,
            n_edges,
            written: 0,
            ds_source,
            ds_target,
            ds_type,
            ds_gid,
            ds_gidx,
            ds_nsyns,
            sources: Vec::with_capacity(n_edges),
            target_runs: Vec::new(),
        })
    }

    fn invalid(&self, msg: String) -> WriteError {
        WriteError::Invalid {
            path: self.path.clone(),
            msg,
        }
    }

    /// Append a block of edges; targets must not decrease across and within blocks.
    pub fn append(
        &mut self,
        source: &[u64],
        target: &[u64],
        edge_type_id: &[u32],
        nsyns: &[u32],
    ) -> Result<(), WriteError> {
        let n = source.len();
        if target.len() != n || edge_type_id.len() != n || nsyns.len() != n {
            return Err(self.invalid("edge block columns differ in length".into()));
        }
        if self.written + n > self.n_edges {
            return Err(self.invalid(format!(
                "more edges than announced ({} > {})",
                self.written + n,
                self.n_edges
            )));
        }
        if n == 0 {
            return Ok(());
        }
        let start = self.written;
        for (k, (&s, &t)) in source.iter().zip(target).enumerate() {
            let e = (start + k) as u64;
            match self.target_runs.last_mut() {
                Some(run) if run.0 == t => run.2 = e + 1,
                Some(run) if run.0 > t => {
                    let prev = run.0;
                    return Err(self.invalid(format!(
                        "edges not sorted by target (target {t} after {prev})"
                    )));
                }
                _ => self.target_runs.push((t, e, e + 1)),
            }
            let s32 = u32::try_from(s)
                .map_err(|_| self.invalid(format!("source node id {s} exceeds u32")))?;
            self.sources.push(s32);
        }
        let sel = start..start + n;
        let h = h5err(&self.path);
        self.ds_source
            .write_slice(source, sel.clone())
            .map_err(&h)?;
        self.ds_target
            .write_slice(target, sel.clone())
            .map_err(&h)?;
        self.ds_type
            .write_slice(edge_type_id, sel.clone())
            .map_err(&h)?;
        self.ds_gid
            .write_slice(&vec![0u16; n][..], sel.clone())
            .map_err(&h)?;
        let gidx: Vec<u32> = (start as u32..(start + n) as u32).collect();
        self.ds_gidx
            .write_slice(&gidx[..], sel.clone())
            .map_err(&h)?;
        self.ds_nsyns.write_slice(nsyns, sel).map_err(&h)?;
        self.written += n;
        Ok(())
    }

    /// Write the `indices/` groups and close the file.
    pub fn finish(self) -> Result<(), WriteError> {
        if self.written != self.n_edges {
            return Err(self.invalid(format!(
                "{} edges written, {} announced",
                self.written, self.n_edges
            )));
        }
        let path = self.path.clone();
        let idx = group(&self.pop, "indices", &path)?;

        // target_to_source: one run per target (edges are target-sorted).
        let t2s = group(&idx, "target_to_source", &path)?;
        let n_t = self.target_runs.last().map_or(0, |r| r.0 as usize + 1);
        let mut n2r = vec![[0u64; 2]; n_t];
        let mut r2e = Vec::with_capacity(self.target_runs.len());
        for (k, &(t, a, b)) in self.target_runs.iter().enumerate() {
            n2r[t as usize] = [k as u64, k as u64 + 1];
            r2e.push([a, b]);
        }
        write_pairs(&t2s, "node_id_to_range", &n2r, &path)?;
        write_pairs(&t2s, "range_to_edge_id", &r2e, &path)?;
        drop((n2r, r2e));

        // source_to_target: runs of equal source in edge order, grouped by source.
        let s2t = group(&idx, "source_to_target", &path)?;
        let src = &self.sources;
        let n_s = src.iter().max().map_or(0, |&m| m as usize + 1);
        let mut runs_per = vec![0u64; n_s];
        for (i, &s) in src.iter().enumerate() {
            if i == 0 || src[i - 1] != s {
                runs_per[s as usize] += 1;
            }
        }
        let mut offset = Vec::with_capacity(n_s + 1);
        let mut acc = 0u64;
        offset.push(0);
        for &r in &runs_per {
            acc += r;
            offset.push(acc);
        }
        let n_runs = acc as usize;
        let n2r: Vec<[u64; 2]> = (0..n_s)
            .map(|s| {
                if runs_per[s] == 0 {
                    [0, 0]
                } else {
                    [offset[s], offset[s + 1]]
                }
            })
            .collect();
        write_pairs(&s2t, "node_id_to_range", &n2r, &path)?;
        drop((n2r, runs_per));
        let ds = s2t
            .new_dataset::<u64>()
            .no_chunk()
            .shape((n_runs, 2))
            .create("range_to_edge_id")
            .map_err(h5err(&path))?;
        // Fill in blocks of sources so the buffer stays bounded for 100M-edge files.
        const BLOCK_ROWS: u64 = 1 << 23;
        let mut cursor: Vec<u64> = offset[..n_s].to_vec();
        let mut s0 = 0usize;
        while s0 < n_s {
            let mut s1 = s0 + 1;
            while s1 < n_s && offset[s1 + 1] - offset[s0] <= BLOCK_ROWS {
                s1 += 1;
            }
            let base = offset[s0];
            let rows = (offset[s1] - base) as usize;
            let mut buf = vec![0u64; rows * 2];
            let mut i = 0usize;
            while i < src.len() {
                let s = src[i] as usize;
                let mut j = i + 1;
                while j < src.len() && src[j] as usize == s {
                    j += 1;
                }
                if s >= s0 && s < s1 {
                    let r = (cursor[s] - base) as usize;
                    buf[2 * r] = i as u64;
                    buf[2 * r + 1] = j as u64;
                    cursor[s] += 1;
                }
                i = j;
            }
            if rows > 0 {
                let view = ndarray::ArrayView2::from_shape((rows, 2), &buf).map_err(|e| {
                    WriteError::Invalid {
                        path: path.clone(),
                        msg: e.to_string(),
                    }
                })?;
                ds.write_slice(view, (base as usize..base as usize + rows, 0..2))
                    .map_err(h5err(&path))?;
            }
            s0 = s1;
        }
        drop(ds);
        let Self {
            file,
            pop,
            ds_source,
            ds_target,
            ds_type,
            ds_gid,
            ds_gidx,
            ds_nsyns,
            ..
        } = self;
        drop((
            pop, ds_source, ds_target, ds_type, ds_gid, ds_gidx, ds_nsyns,
        ));
        file.close().map_err(h5err(&path))
    }
}

/// Write a SONATA spike file `/spikes/<population>/{timestamps, node_ids}` (§4.1).
pub fn write_spikes(
    path: &Path,
    population: &str,
    node_ids: &[u64],
    timestamps_ms: &[f64],
    sorting: &str,
) -> Result<(), WriteError> {
    if node_ids.len() != timestamps_ms.len() {
        return Err(WriteError::Invalid {
            path: path.to_path_buf(),
            msg: "node_ids and timestamps differ in length".into(),
        });
    }
    let f = create_sonata_file(path)?;
    let spikes = group(&f, "spikes", path)?;
    let pop = group(&spikes, population, path)?;
    str_attr(&pop, "sorting", sorting, path)?;
    write_1d(&pop, "node_ids", node_ids, path)?;
    let ts = write_1d(&pop, "timestamps", timestamps_ms, path)?;
    str_attr(&ts, "units", "ms", path)?;
    drop((ts, pop, spikes));
    f.close().map_err(h5err(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_like_python() {
        assert_eq!(csv_field("a b"), "\"a b\"");
        assert_eq!(csv_field("ei=='e'"), "ei=='e'");
        assert_eq!(csv_field("x\"y"), "\"x\"\"y\"");
    }

    #[test]
    fn edge_indices_match_bmtk_semantics() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.h5");
        let mut w = EdgeFileWriter::create(&p, "a_to_b", "a", "b", 5).unwrap();
        w.append(&[2, 0], &[0, 0], &[100, 100], &[1, 2]).unwrap();
        w.append(&[0, 0, 2], &[1, 3, 3], &[100, 101, 101], &[3, 4, 1])
            .unwrap();
        w.finish().unwrap();
        let f = File::open(&p).unwrap();
        let g = f.group("edges/a_to_b/indices").unwrap();
        let rd = |n: &str| g.dataset(n).unwrap().read_2d::<u64>().unwrap();
        let t_n2r = rd("target_to_source/node_id_to_range");
        assert_eq!(t_n2r.shape(), &[4, 2]);
        assert_eq!(t_n2r.row(2).to_vec(), vec![0, 0]);
        assert_eq!(t_n2r.row(3).to_vec(), vec![2, 3]);
        let t_r2e = rd("target_to_source/range_to_edge_id");
        assert_eq!(t_r2e.row(2).to_vec(), vec![3, 5]);
        // Source runs in edge order: [2], [0,0,0] (edges 1..4), [2] (edge 4).
        let s_n2r = rd("source_to_target/node_id_to_range");
        assert_eq!(s_n2r.row(0).to_vec(), vec![0, 1]);
        assert_eq!(s_n2r.row(1).to_vec(), vec![0, 0]);
        assert_eq!(s_n2r.row(2).to_vec(), vec![1, 3]);
        let s_r2e = rd("source_to_target/range_to_edge_id");
        assert_eq!(s_r2e.row(0).to_vec(), vec![1, 4]);
        assert_eq!(s_r2e.row(1).to_vec(), vec![0, 1]);
        assert_eq!(s_r2e.row(2).to_vec(), vec![4, 5]);
    }
}
