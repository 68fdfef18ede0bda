//! node_types / edge_types CSV tables (sonata-bmtk.md §1.2, §2.3, §9.2).
//!
//! Dialect: fields separated by one or more spaces (the spec; BMTK writes exactly one), `"`
//! quoting with `""` as an escaped quote, LF or CRLF line ends, header-driven columns.
//! Missing-value markers are pandas' defaults plus `NONE` (BMTK reads with
//! `na_values='NONE'`), except `NaN`/`nan`, which read as a float NaN so that a number the
//! model uses can be refused instead of silently falling back to a default. Columns are typed like pandas: all non-missing cells integers -> `Int`,
//! else all numeric -> `Float`, else `Str` (so "1" in a text column stays text).
//! A hand-written splitter is used because the csv crate treats each space as a separator.

use std::path::{Path, PathBuf};

use super::error::SonataError;
use super::Value;

/// A parsed type table: header and typed rows.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeTable {
    pub file: PathBuf,
    pub columns: Vec<String>,
    /// One entry per data row, one [`Value`] per column.
    pub rows: Vec<Vec<Value>>,
    /// 1-based line number of each row in the file (for error messages).
    pub lines: Vec<usize>,
}

impl TypeTable {
    /// Index of column `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// Index of a column that must exist.
    pub fn require(&self, name: &str) -> Result<usize, SonataError> {
        self.column(name).ok_or_else(|| SonataError::MissingColumn {
            file: self.file.clone(),
            column: name.into(),
            header: crate::limits::clip(self.columns.join(" ")),
        })
    }
}

/// pandas' markers of a missing value, except the NaN spellings: a NaN written where a number
/// is expected reads as a float NaN, which every numeric field the model uses rejects (a
/// missing value is written `NULL`, as the BMTK builder does; issue #22).
const NA: &[&str] = &[
    "", "NULL", "null", "NONE", "None", "NA", "N/A", "n/a", "<NA>", "#N/A", "#N/A N/A", "#NA",
    "-1.#IND", "-1.#QNAN", "1.#IND", "1.#QNAN",
];

/// Split one line into fields: runs of spaces (or tabs) separate, `"…"` quotes.
fn split_fields(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while matches!(chars.peek(), Some(' ' | '\t')) {
            chars.next();
        }
        let Some(&c) = chars.peek() else { break };
        let mut field = String::new();
        if c == '"' {
            chars.next();
            let mut closed = false;
            while let Some(ch) = chars.next() {
                if ch == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        field.push('"');
                    } else {
                        closed = true;
                        break;
                    }
                } else {
                    field.push(ch);
                }
            }
            if !closed {
                return Err(format!("unterminated quote in field {}", fields.len() + 1));
            }
            // A quoted field must end at a separator.
            if let Some(&n) = chars.peek() {
                if n != ' ' && n != '\t' {
                    return Err(format!(
                        "unexpected character '{}' after closing quote",
                        crate::limits::clip(n)
                    ));
                }
            }
            // Keep quoted empty strings distinct from missing values only by content: pandas
            // treats a quoted "" as missing too.
        } else {
            while let Some(&ch) = chars.peek() {
                if ch == ' ' || ch == '\t' {
                    break;
                }
                field.push(ch);
                chars.next();
            }
        }
        fields.push(field);
    }
    Ok(fields)
}

#[derive(PartialEq, PartialOrd, Clone, Copy)]
enum Kind {
    Int,
    Float,
    Str,
}

fn cell_kind(s: &str) -> Kind {
    if s.parse::<i64>().is_ok() {
        Kind::Int
    } else if s.parse::<f64>().is_ok() {
        Kind::Float
    } else {
        Kind::Str
    }
}

/// Read and type a node_types or edge_types CSV file.
pub fn read_types_csv(path: &Path) -> Result<TypeTable, SonataError> {
    let mut bytes = crate::limits::read_file(path).map_err(|message| SonataError::Open {
        file: path.to_path_buf(),
        message,
    })?;
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    let text = String::from_utf8(bytes).map_err(|e| SonataError::Csv {
        file: path.to_path_buf(),
        line: 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
        message: "not valid UTF-8 text".into(),
    })?;
    parse_types_csv(path, &text)
}

/// Parse the text of a type table (`path` is used for messages only).
pub(crate) fn parse_types_csv(path: &Path, text: &str) -> Result<TypeTable, SonataError> {
    let csv_err = |line: usize, message: String| SonataError::Csv {
        file: path.to_path_buf(),
        line,
        message,
    };
    let mut header: Option<Vec<String>> = None;
    let mut raw_rows: Vec<Vec<String>> = Vec::new();
    let mut lines = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let line = line.strip_prefix('\u{feff}').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        let fields = split_fields(line).map_err(|m| csv_err(i + 1, m))?;
        match &header {
            None => {
                for (j, c) in fields.iter().enumerate() {
                    if fields[..j].contains(c) {
                        return Err(csv_err(
                            i + 1,
                            format!(
                                "duplicate column name {} in the header",
                                crate::limits::clip(c)
                            ),
                        ));
                    }
                }
                header = Some(fields);
            }
            Some(h) => {
                if fields.len() != h.len() {
                    return Err(csv_err(
                        i + 1,
                        format!(
                            "{} fields, but the header has {} columns ({})",
                            fields.len(),
                            h.len(),
                            crate::limits::clip(h.join(" "))
                        ),
                    ));
                }
                raw_rows.push(fields);
                lines.push(i + 1);
            }
        }
    }
    let columns = header.ok_or_else(|| csv_err(1, "empty file: no header line".into()))?;
    // Column typing (pandas-like).
    let kinds: Vec<Kind> = (0..columns.len())
        .map(|c| {
            raw_rows
                .iter()
                .map(|r| r[c].as_str())
                .filter(|s| !NA.contains(s))
                .map(cell_kind)
                .fold(Kind::Int, |a, b| if b > a { b } else { a })
        })
        .collect();
    let rows = raw_rows
        .into_iter()
        .map(|r| {
            r.into_iter()
                .zip(&kinds)
                .map(|(s, k)| {
                    if NA.contains(&s.as_str()) {
                        return Value::Null;
                    }
                    match k {
                        Kind::Int => s.parse().map(Value::Int).unwrap_or(Value::Str(s)),
                        Kind::Float => s.parse().map(Value::Float).unwrap_or(Value::Str(s)),
                        Kind::Str => Value::Str(s),
                    }
                })
                .collect()
        })
        .collect();
    Ok(TypeTable {
        file: path.to_path_buf(),
        columns,
        rows,
        lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_multispace_quotes_nulls() {
        let t = "node_type_id  model_type \"model name\" w\r\n100 virtual \"a b\" NULL\r\n101   point_neuron x 2.5\r\n";
        let tab = parse_types_csv(Path::new("t.csv"), t).unwrap();
        assert_eq!(
            tab.columns,
            ["node_type_id", "model_type", "model name", "w"]
        );
        assert_eq!(
            tab.rows[0],
            [
                Value::Int(100),
                Value::Str("virtual".into()),
                Value::Str("a b".into()),
                Value::Null
            ]
        );
        assert_eq!(tab.rows[1][3], Value::Float(2.5));
        assert_eq!(tab.lines, [2, 3]);
    }

    #[test]
    fn missing_markers() {
        let tab = parse_types_csv(Path::new("t.csv"), "a b c d\n1 NONE \"\" None\n").unwrap();
        assert_eq!(
            tab.rows[0],
            [Value::Int(1), Value::Null, Value::Null, Value::Null]
        );
    }

    /// Issue #22: NaN spellings are float NaNs (refused where a number is used), not missing.
    #[test]
    fn nan_is_a_number_not_missing() {
        let t = parse_types_csv(Path::new("t.csv"), "a b c\n1 NaN NULL\n2 2.5 nan\n").unwrap();
        assert!(matches!(t.rows[0][1], Value::Float(x) if x.is_nan()));
        assert_eq!(t.rows[0][2], Value::Null);
        assert!(matches!(t.rows[1][2], Value::Float(x) if x.is_nan()));
        // a BOM before the header is not part of the first column name
        let t = parse_types_csv(Path::new("t.csv"), "\u{feff}a b\n1 2\n").unwrap();
        assert_eq!(t.columns, ["a", "b"]);
    }

    #[test]
    fn mixed_column_stays_text() {
        let tab = parse_types_csv(Path::new("t.csv"), "a b\n1 x\n2 3\n").unwrap();
        assert_eq!(tab.rows[1][1], Value::Str("3".into()));
        assert_eq!(tab.rows[1][0], Value::Int(2));
    }

    #[test]
    fn wrong_field_count_names_line() {
        let e = parse_types_csv(Path::new("t.csv"), "a b\n1 2 3\n").unwrap_err();
        assert!(e.to_string().contains("t.csv: line 2"), "{e}");
    }
}
