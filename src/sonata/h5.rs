//! Low-level HDF5 helpers: whole-dataset reads of any integer width, floats, vlen and fixed
//! strings, string attributes. Every error names the file and the object path.
//! Private to `sonata/` (the only module that sees hdf5 types).

use std::ops::Range;
use std::path::Path;

use hdf5::types::{
    FixedAscii, FixedUnicode, FloatSize, IntSize, TypeDescriptor, VarLenAscii, VarLenUnicode,
};
use hdf5::{Dataset, File, Group};

use super::error::SonataError;
use super::Column;

/// Open an HDF5 file read-only.
pub(crate) fn open(file: &Path) -> Result<File, SonataError> {
    if let Some(message) = crate::limits::file_problem(file) {
        return Err(SonataError::Open {
            file: file.to_path_buf(),
            message,
        });
    }
    File::open(file).map_err(|e| SonataError::Open {
        file: file.to_path_buf(),
        message: format!(
            "not a readable HDF5 file ({})",
            crate::limits::clip(e.to_string().lines().next().unwrap_or(""))
        ),
    })
}

pub(crate) fn h5err(file: &Path, object: &str, e: hdf5::Error) -> SonataError {
    SonataError::H5 {
        file: file.to_path_buf(),
        object: object.to_string(),
        message: e.to_string(),
    }
}

fn join(parent: &str, name: &str) -> String {
    format!("{}/{}", parent.trim_end_matches('/'), name)
}

/// `group/name` as a group, or `Missing`.
pub(crate) fn group(file: &Path, g: &Group, name: &str) -> Result<Group, SonataError> {
    let path = join(&g.name(), name);
    if !g.link_exists(name) {
        return Err(SonataError::Missing {
            file: file.to_path_buf(),
            what: "group",
            object: path,
        });
    }
    g.group(name).map_err(|_| SonataError::Missing {
        file: file.to_path_buf(),
        what: "group",
        object: path,
    })
}

/// `group/name` as a dataset, or `Missing`.
pub(crate) fn dataset(file: &Path, g: &Group, name: &str) -> Result<Dataset, SonataError> {
    opt_dataset(file, g, name)?.ok_or_else(|| SonataError::Missing {
        file: file.to_path_buf(),
        what: "dataset",
        object: join(&g.name(), name),
    })
}

/// `group/name` as a dataset if it exists.
pub(crate) fn opt_dataset(
    file: &Path,
    g: &Group,
    name: &str,
) -> Result<Option<Dataset>, SonataError> {
    if !g.link_exists(name) {
        return Ok(None);
    }
    match g.dataset(name) {
        Ok(d) => Ok(Some(d)),
        Err(_) => Err(SonataError::Dtype {
            file: file.to_path_buf(),
            object: join(&g.name(), name),
            found: "group".into(),
            expected: "a dataset",
        }),
    }
}

/// Names of the members of a group that are groups / datasets.
pub(crate) fn members(file: &Path, g: &Group) -> Result<(Vec<String>, Vec<String>), SonataError> {
    let names = g.member_names().map_err(|e| h5err(file, &g.name(), e))?;
    let mut groups = Vec::new();
    let mut dsets = Vec::new();
    for n in names {
        if g.group(&n).is_ok() {
            groups.push(n);
        } else {
            dsets.push(n);
        }
    }
    Ok((groups, dsets))
}

fn descriptor(file: &Path, ds: &Dataset) -> Result<TypeDescriptor, SonataError> {
    ds.dtype()
        .and_then(|t| t.to_descriptor())
        .map_err(|e| h5err(file, &ds.name(), e))
}

fn dtype_err(
    file: &Path,
    ds: &Dataset,
    found: &TypeDescriptor,
    expected: &'static str,
) -> SonataError {
    SonataError::Dtype {
        file: file.to_path_buf(),
        object: ds.name(),
        found: format!("{found}"),
        expected,
    }
}

/// Shape of a dataset.
pub(crate) fn shape(ds: &Dataset) -> Vec<usize> {
    ds.shape()
}

fn check_1d(file: &Path, ds: &Dataset) -> Result<(), SonataError> {
    let s = ds.shape();
    if s.len() == 1 {
        Ok(())
    } else {
        Err(SonataError::invalid(
            file,
            ds.name(),
            format!("{s:?}"),
            "expected a one-dimensional dataset",
        ))
    }
}

/// Rows of a 1-D dataset to read: `None` = the whole dataset; `Some(ranges)` = the
/// concatenation of these row ranges (ascending, in bounds), each one hyperslab read.
pub(crate) type Rows<'a> = Option<&'a [Range<usize>]>;

/// The rows `rows` of a 1-D dataset as `T` (HDF5 converts the stored type).
fn read_rows<T: hdf5::H5Type + Clone>(
    file: &Path,
    ds: &Dataset,
    rows: Rows,
) -> Result<Vec<T>, SonataError> {
    let err = |e| h5err(file, &ds.name(), e);
    match rows {
        None => ds.read_raw::<T>().map_err(err),
        Some(ranges) => {
            let mut out = Vec::with_capacity(ranges.iter().map(|r| r.len()).sum());
            for r in ranges.iter().filter(|r| !r.is_empty()) {
                let part = ds.read_slice_1d::<T, _>(r.clone()).map_err(err)?;
                out.extend(part.iter().cloned());
            }
            Ok(out)
        }
    }
}

/// Rows `a..b` of an `[n, 2]` integer dataset (SONATA index tables) as pairs.
pub(crate) fn read_pairs(
    file: &Path,
    ds: &Dataset,
    rows: Range<usize>,
) -> Result<Vec<[u64; 2]>, SonataError> {
    let s = ds.shape();
    if s.len() != 2 || s[1] != 2 {
        return Err(SonataError::invalid(
            file,
            ds.name(),
            format!("shape {s:?}"),
            "expected an [n, 2] index table",
        ));
    }
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let a = ds
        .read_slice_2d::<u64, _>((rows, ..))
        .map_err(|e| h5err(file, &ds.name(), e))?;
    Ok(a.rows().into_iter().map(|r| [r[0], r[1]]).collect())
}

macro_rules! read_as {
    ($file:expr, $ds:expr, $t:ty) => {
        $ds.read_raw::<$t>()
            .map_err(|e| h5err($file, &$ds.name(), e))?
    };
    ($file:expr, $ds:expr, $t:ty, $rows:expr) => {
        read_rows::<$t>($file, $ds, $rows)?
    };
}

/// Read a 1-D integer dataset of any width/sign as u64; negative values are an error.
pub(crate) fn read_u64(file: &Path, ds: &Dataset) -> Result<Vec<u64>, SonataError> {
    read_u64_rows(file, ds, None)
}

/// [`read_u64`] of the rows `rows` only.
pub(crate) fn read_u64_rows(
    file: &Path,
    ds: &Dataset,
    rows: Rows,
) -> Result<Vec<u64>, SonataError> {
    check_1d(file, ds)?;
    let d = descriptor(file, ds)?;
    let neg =
        |v: i64| SonataError::invalid(file, ds.name(), v, "negative value in an id/index dataset");
    fn conv<T: Copy + Into<i64>>(
        v: Vec<T>,
        neg: impl Fn(i64) -> SonataError,
    ) -> Result<Vec<u64>, SonataError> {
        v.into_iter()
            .map(|x| {
                let x: i64 = x.into();
                if x < 0 {
                    Err(neg(x))
                } else {
                    Ok(x as u64)
                }
            })
            .collect()
    }
    Ok(match d {
        TypeDescriptor::Unsigned(IntSize::U1) => read_as!(file, ds, u8, rows)
            .into_iter()
            .map(u64::from)
            .collect(),
        TypeDescriptor::Unsigned(IntSize::U2) => read_as!(file, ds, u16, rows)
            .into_iter()
            .map(u64::from)
            .collect(),
        TypeDescriptor::Unsigned(IntSize::U4) => read_as!(file, ds, u32, rows)
            .into_iter()
            .map(u64::from)
            .collect(),
        TypeDescriptor::Unsigned(IntSize::U8) => read_as!(file, ds, u64, rows),
        TypeDescriptor::Integer(IntSize::U1) => conv(read_as!(file, ds, i8, rows), neg)?,
        TypeDescriptor::Integer(IntSize::U2) => conv(read_as!(file, ds, i16, rows), neg)?,
        TypeDescriptor::Integer(IntSize::U4) => conv(read_as!(file, ds, i32, rows), neg)?,
        TypeDescriptor::Integer(IntSize::U8) => conv(read_as!(file, ds, i64, rows), neg)?,
        other => return Err(dtype_err(file, ds, &other, "an integer type")),
    })
}

/// Read rows of a 1-D integer dataset as u32 (type ids, group ids): narrow types are widened without an
/// intermediate u64 copy; wider values must fit.
pub(crate) fn read_u32_rows(
    file: &Path,
    ds: &Dataset,
    rows: Rows,
) -> Result<Vec<u32>, SonataError> {
    check_1d(file, ds)?;
    match descriptor(file, ds)? {
        TypeDescriptor::Unsigned(IntSize::U1) => Ok(read_as!(file, ds, u8, rows)
            .into_iter()
            .map(u32::from)
            .collect()),
        TypeDescriptor::Unsigned(IntSize::U2) => Ok(read_as!(file, ds, u16, rows)
            .into_iter()
            .map(u32::from)
            .collect()),
        TypeDescriptor::Unsigned(IntSize::U4) => Ok(read_as!(file, ds, u32, rows)),
        _ => read_u64_rows(file, ds, rows)?
            .into_iter()
            .map(|x| {
                u32::try_from(x).map_err(|_| {
                    SonataError::invalid(file, ds.name(), x, "value does not fit in 32 bits")
                })
            })
            .collect(),
    }
}

/// Read a 1-D integer dataset of any width/sign as i64 (u64 values above i64::MAX are an error).
pub(crate) fn read_i64(file: &Path, ds: &Dataset) -> Result<Vec<i64>, SonataError> {
    check_1d(file, ds)?;
    let d = descriptor(file, ds)?;
    Ok(match d {
        TypeDescriptor::Unsigned(IntSize::U1) => {
            read_as!(file, ds, u8).into_iter().map(i64::from).collect()
        }
        TypeDescriptor::Unsigned(IntSize::U2) => {
            read_as!(file, ds, u16).into_iter().map(i64::from).collect()
        }
        TypeDescriptor::Unsigned(IntSize::U4) => {
            read_as!(file, ds, u32).into_iter().map(i64::from).collect()
        }
        TypeDescriptor::Unsigned(IntSize::U8) => read_as!(file, ds, u64)
            .into_iter()
            .map(|x| {
                i64::try_from(x)
                    .map_err(|_| SonataError::invalid(file, ds.name(), x, "integer too large"))
            })
            .collect::<Result<_, _>>()?,
        TypeDescriptor::Integer(IntSize::U1) => {
            read_as!(file, ds, i8).into_iter().map(i64::from).collect()
        }
        TypeDescriptor::Integer(IntSize::U2) => {
            read_as!(file, ds, i16).into_iter().map(i64::from).collect()
        }
        TypeDescriptor::Integer(IntSize::U4) => {
            read_as!(file, ds, i32).into_iter().map(i64::from).collect()
        }
        TypeDescriptor::Integer(IntSize::U8) => read_as!(file, ds, i64),
        other => return Err(dtype_err(file, ds, &other, "an integer type")),
    })
}

/// Read a numeric dataset (any shape) as f64, row-major. Integers are converted.
pub(crate) fn read_f64_any_shape(file: &Path, ds: &Dataset) -> Result<Vec<f64>, SonataError> {
    read_f64_sel(file, ds, None)
}

fn read_f64_sel(file: &Path, ds: &Dataset, rows: Rows) -> Result<Vec<f64>, SonataError> {
    let d = descriptor(file, ds)?;
    Ok(match d {
        TypeDescriptor::Float(FloatSize::U8) => read_as!(file, ds, f64, rows),
        TypeDescriptor::Float(_) => read_as!(file, ds, f32, rows)
            .into_iter()
            .map(f64::from)
            .collect(),
        TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) => {
            // HDF5 converts any integer width to f64 exactly enough for parameters/ids.
            read_as!(file, ds, f64, rows)
        }
        TypeDescriptor::Boolean => read_as!(file, ds, bool, rows)
            .into_iter()
            .map(|b| f64::from(u8::from(b)))
            .collect(),
        other => return Err(dtype_err(file, ds, &other, "a numeric type")),
    })
}

/// Read a 1-D numeric dataset as f64.
pub(crate) fn read_f64(file: &Path, ds: &Dataset) -> Result<Vec<f64>, SonataError> {
    read_f64_rows(file, ds, None)
}

/// [`read_f64`] of the rows `rows` only.
pub(crate) fn read_f64_rows(
    file: &Path,
    ds: &Dataset,
    rows: Rows,
) -> Result<Vec<f64>, SonataError> {
    check_1d(file, ds)?;
    read_f64_sel(file, ds, rows)
}

fn trim_nul(s: &str) -> String {
    s.trim_end_matches('\0').trim_end().to_string()
}

/// Read a 1-D string dataset (vlen or fixed, ASCII or UTF-8).
pub(crate) fn read_strings(file: &Path, ds: &Dataset) -> Result<Vec<String>, SonataError> {
    check_1d(file, ds)?;
    let d = descriptor(file, ds)?;
    Ok(match d {
        TypeDescriptor::VarLenUnicode => read_as!(file, ds, VarLenUnicode)
            .iter()
            .map(|s| s.as_str().to_string())
            .collect(),
        TypeDescriptor::VarLenAscii => read_as!(file, ds, VarLenAscii)
            .iter()
            .map(|s| s.as_str().to_string())
            .collect(),
        // Fixed strings: HDF5 converts between fixed lengths, so read into a wide buffer type.
        TypeDescriptor::FixedAscii(n) if n <= 64 => read_as!(file, ds, FixedAscii<64>)
            .iter()
            .map(|s| trim_nul(s.as_str()))
            .collect(),
        TypeDescriptor::FixedAscii(_) => read_as!(file, ds, FixedAscii<4096>)
            .iter()
            .map(|s| trim_nul(s.as_str()))
            .collect(),
        TypeDescriptor::FixedUnicode(n) if n <= 64 => read_as!(file, ds, FixedUnicode<64>)
            .iter()
            .map(|s| trim_nul(s.as_str()))
            .collect(),
        TypeDescriptor::FixedUnicode(_) => read_as!(file, ds, FixedUnicode<4096>)
            .iter()
            .map(|s| trim_nul(s.as_str()))
            .collect(),
        other => return Err(dtype_err(file, ds, &other, "a string type")),
    })
}

/// Read any 1-D or 2-D column into a [`Column`] by its datatype.
pub(crate) fn read_column(file: &Path, ds: &Dataset) -> Result<Column, SonataError> {
    let d = descriptor(file, ds)?;
    let s = ds.shape();
    if s.len() == 2 {
        return match d {
            TypeDescriptor::Float(_) | TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) => {
                Ok(Column::FloatRows {
                    ncols: s[1],
                    data: read_f64_any_shape(file, ds)?,
                })
            }
            other => Err(dtype_err(
                file,
                ds,
                &other,
                "a numeric type for a 2-D column",
            )),
        };
    }
    if s.len() != 1 {
        return Err(SonataError::invalid(
            file,
            ds.name(),
            format!("{s:?}"),
            "expected a 1-D or 2-D dataset",
        ));
    }
    match d {
        TypeDescriptor::Float(_) => Ok(Column::Float(read_f64(file, ds)?)),
        TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) => {
            Ok(Column::Int(read_i64(file, ds)?))
        }
        TypeDescriptor::Boolean => Ok(Column::Int(
            read_as!(file, ds, bool)
                .into_iter()
                .map(i64::from)
                .collect(),
        )),
        TypeDescriptor::VarLenUnicode
        | TypeDescriptor::VarLenAscii
        | TypeDescriptor::FixedAscii(_)
        | TypeDescriptor::FixedUnicode(_) => Ok(Column::Str(read_strings(file, ds)?)),
        TypeDescriptor::Enum(e) => {
            // An enum column: keep the member names (SONATA @library-like categorical data).
            let raw = read_i64_enum(file, ds, &e)?;
            Ok(Column::Str(raw))
        }
        other => Err(dtype_err(file, ds, &other, "a numeric or string type")),
    }
}

fn read_i64_enum(
    file: &Path,
    ds: &Dataset,
    e: &hdf5::types::EnumType,
) -> Result<Vec<String>, SonataError> {
    let vals: Vec<i64> = match e.size {
        IntSize::U1 => read_as!(file, ds, u8).into_iter().map(i64::from).collect(),
        IntSize::U2 => read_as!(file, ds, u16).into_iter().map(i64::from).collect(),
        IntSize::U4 => read_as!(file, ds, u32).into_iter().map(i64::from).collect(),
        IntSize::U8 => read_as!(file, ds, i64),
    };
    Ok(vals
        .into_iter()
        .map(|v| {
            e.members
                .iter()
                .find(|m| m.value as i64 == v)
                .map(|m| m.name.clone())
                .unwrap_or_else(|| v.to_string())
        })
        .collect())
}

/// A string attribute (vlen or fixed, scalar or one-element array), or an enum/integer
/// attribute as its member name / decimal text. `None` when absent.
pub(crate) fn attr_string(
    file: &Path,
    obj: &hdf5::Location,
    name: &str,
) -> Result<Option<String>, SonataError> {
    if !obj
        .attr_names()
        .map(|n| n.iter().any(|x| x == name))
        .unwrap_or(false)
    {
        return Ok(None);
    }
    let object = format!("{}@{name}", obj.name());
    let a = obj.attr(name).map_err(|e| h5err(file, &object, e))?;
    let d = a
        .dtype()
        .and_then(|t| t.to_descriptor())
        .map_err(|e| h5err(file, &object, e))?;
    let first = |v: Vec<String>| v.into_iter().next();
    let r = |e: hdf5::Error| h5err(file, &object, e);
    let s = match d {
        TypeDescriptor::VarLenUnicode => first(
            a.read_raw::<VarLenUnicode>()
                .map_err(r)?
                .iter()
                .map(|s| s.to_string())
                .collect(),
        ),
        TypeDescriptor::VarLenAscii => first(
            a.read_raw::<VarLenAscii>()
                .map_err(r)?
                .iter()
                .map(|s| s.to_string())
                .collect(),
        ),
        TypeDescriptor::FixedAscii(_) => first(
            a.read_raw::<FixedAscii<4096>>()
                .map_err(r)?
                .iter()
                .map(|s| trim_nul(s.as_str()))
                .collect(),
        ),
        TypeDescriptor::FixedUnicode(_) => first(
            a.read_raw::<FixedUnicode<4096>>()
                .map_err(r)?
                .iter()
                .map(|s| trim_nul(s.as_str()))
                .collect(),
        ),
        TypeDescriptor::Enum(e) => {
            let v: i64 = match e.size {
                IntSize::U1 => a
                    .read_raw::<u8>()
                    .map_err(r)?
                    .first()
                    .map(|&x| i64::from(x))
                    .unwrap_or(-1),
                IntSize::U2 => a
                    .read_raw::<u16>()
                    .map_err(r)?
                    .first()
                    .map(|&x| i64::from(x))
                    .unwrap_or(-1),
                IntSize::U4 => a
                    .read_raw::<u32>()
                    .map_err(r)?
                    .first()
                    .map(|&x| i64::from(x))
                    .unwrap_or(-1),
                IntSize::U8 => a
                    .read_raw::<i64>()
                    .map_err(r)?
                    .first()
                    .copied()
                    .unwrap_or(-1),
            };
            e.members
                .iter()
                .find(|m| m.value as i64 == v)
                .map(|m| m.name.clone())
                .or(Some(v.to_string()))
        }
        TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) => a
            .read_raw::<i64>()
            .map_err(r)?
            .first()
            .map(|v| v.to_string()),
        other => {
            return Err(SonataError::Dtype {
                file: file.to_path_buf(),
                object,
                found: format!("{other}"),
                expected: "a string",
            })
        }
    };
    Ok(s)
}
