//! Read one numeric 1-D HDF5 dataset as `Vec<f64>` (used by `glifnet neuron --stimulus-h5`,
//! e.g. a sweep of an Allen NWB file). hdf5 types stay inside this module.

use std::path::Path;

use super::SonataError;

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
pub fn read_f64_1d(path: &Path, dataset: &str) -> Result<Dataset1d, SonataError> {
    let open = |message: String| SonataError::Open {
        file: path.to_path_buf(),
        message,
    };
    let h5err = |object: &str, e: hdf5::Error| SonataError::H5 {
        file: path.to_path_buf(),
        object: object.to_string(),
        message: e.to_string(),
    };
    if let Some(p) = crate::limits::file_problem(path) {
        return Err(open(format!("{p} (wanted dataset {dataset})")));
    }
    let file = hdf5::File::open(path).map_err(|e| open(format!("not an HDF5 file: {e}")))?;
    let ds = file.dataset(dataset).map_err(|_| SonataError::Missing {
        file: path.to_path_buf(),
        what: "dataset",
        object: dataset.to_string(),
    })?;
    let shape = ds.shape();
    let long_dims = shape.iter().filter(|&&d| d > 1).count();
    if shape.is_empty() || long_dims > 1 {
        return Err(SonataError::invalid(
            path,
            format!("{dataset} shape"),
            format!("{shape:?}"),
            "expected a 1-D array of samples",
        ));
    }
    let values: Vec<f64> = ds.read_raw::<f64>().map_err(|e| h5err(dataset, e))?;
    if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(SonataError::invalid(
            path,
            format!("{dataset}[{i}]"),
            v,
            "not a finite number",
        ));
    }
    let names = ds.attr_names().unwrap_or_default();
    let conversion = if names.iter().any(|n| n == "conversion") {
        let obj = format!("{dataset}@conversion");
        let c = ds
            .attr("conversion")
            .and_then(|a| a.read_scalar::<f64>())
            .map_err(|e| h5err(&obj, e))?;
        if !c.is_finite() {
            return Err(SonataError::invalid(path, obj, c, "not a finite number"));
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
