//! Read one numeric 1-D HDF5 dataset as `Vec<f64>` (used by `glifnet neuron --stimulus-h5`,
//! e.g. a sweep of an Allen NWB file). hdf5 types stay inside this module.

use std::path::{Path, PathBuf};

/// Why a dataset could not be read; names the file and the dataset.
#[derive(Debug, thiserror::Error)]
#[error("{}: dataset {dataset}: {msg}", file.display())]
pub struct DatasetError {
    pub file: PathBuf,
    pub dataset: String,
    pub msg: String,
}

/// A 1-D dataset's values plus its NWB `conversion` attribute (SI value = raw × conversion),
/// when present.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset1d {
    pub values: Vec<f64>,
    pub conversion: Option<f64>,
    /// The `unit` (or `units`) string attribute, when present.
    pub unit: Option<String>,
}

/// Read `dataset` of `path` (any integer or float type, converted to f64). A dataset of shape
/// (n, 1) or (1, n) is accepted as 1-D.
pub fn read_f64_1d(path: &Path, dataset: &str) -> Result<Dataset1d, DatasetError> {
    let err = |msg: String| DatasetError {
        file: path.to_path_buf(),
        dataset: dataset.to_string(),
        msg,
    };
    if !path.is_file() {
        return Err(err("file not found".into()));
    }
    let file = hdf5::File::open(path).map_err(|e| err(format!("cannot open as HDF5: {e}")))?;
    let ds = file
        .dataset(dataset)
        .map_err(|e| err(format!("not found: {e}")))?;
    let shape = ds.shape();
    let long_dims = shape.iter().filter(|&&d| d > 1).count();
    if shape.is_empty() || long_dims > 1 {
        return Err(err(format!(
            "has shape {shape:?}, expected a 1-D array of samples"
        )));
    }
    let values: Vec<f64> = ds
        .read_raw::<f64>()
        .map_err(|e| err(format!("cannot be read as numbers: {e}")))?;
    if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(err(format!("sample {i} is {v}, not a finite number")));
    }
    let names = ds.attr_names().unwrap_or_default();
    let conversion = if names.iter().any(|n| n == "conversion") {
        let c = ds
            .attr("conversion")
            .and_then(|a| a.read_scalar::<f64>())
            .map_err(|e| err(format!("attribute conversion unreadable: {e}")))?;
        if !c.is_finite() {
            return Err(err(format!("attribute conversion is {c}")));
        }
        Some(c)
    } else {
        None
    };
    let unit = ["unit", "units"]
        .iter()
        .find(|n| names.iter().any(|m| m == *n))
        .and_then(|n| {
            let a = ds.attr(n).ok()?;
            a.read_scalar::<hdf5::types::VarLenUnicode>()
                .map(|s| s.as_str().to_string())
                .or_else(|_| {
                    a.read_scalar::<hdf5::types::VarLenAscii>()
                        .map(|s| s.as_str().to_string())
                })
                .ok()
        });
    Ok(Dataset1d {
        values,
        conversion,
        unit,
    })
}
