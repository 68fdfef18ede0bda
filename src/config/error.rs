//! Errors of the config module: each names the config file, the JSON field and the value, so a
//! user can fix the input from the message alone.

use std::path::PathBuf;

/// Everything that can go wrong while loading a BMTK configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("cannot read config file {}: {}", file.display(), crate::limits::io_reason(source))]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid JSON.
    #[error("{}: malformed JSON at line {line}, column {column}: {message}", file.display())]
    Json {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// Manifest variables reference each other in a cycle (or only through each other).
    #[error("{}: manifest: variables {vars} cannot be resolved (cycle)", file.display())]
    ManifestCycle { file: PathBuf, vars: String },
    /// A path field still contains a `$VAR` after substitution.
    #[error("{}: {field} = \"{value}\": unknown manifest variable ${var}", file.display())]
    UnknownVariable {
        file: PathBuf,
        field: String,
        value: String,
        var: String,
    },
    /// A required field is absent.
    #[error("{}: missing required field {field}", file.display())]
    Missing { file: PathBuf, field: String },
    /// A field has the wrong type or an unusable value.
    #[error("{}: {field} = {value}: {reason}", file.display())]
    Invalid {
        file: PathBuf,
        field: String,
        value: String,
        reason: String,
    },
    /// Child configs include each other.
    #[error("{}: {field} = \"{}\": config files include each other (cycle)", file.display(), child.display())]
    IncludeCycle {
        file: PathBuf,
        field: String,
        child: PathBuf,
    },
}

impl ConfigError {
    pub(crate) fn invalid(
        file: &std::path::Path,
        field: impl Into<String>,
        value: &serde_json::Value,
        reason: impl Into<String>,
    ) -> Self {
        ConfigError::Invalid {
            file: file.to_path_buf(),
            field: field.into(),
            value: short_json(value),
            reason: reason.into(),
        }
    }
}

/// A JSON value on one line, truncated so that error messages stay one readable line.
pub(crate) fn short_json(v: &serde_json::Value) -> String {
    crate::limits::clip(v.to_string())
}

/// serde_json's message without its trailing " at line L column C" (the error variants carry
/// line and column themselves).
pub fn json_message(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(k) => s[..k].to_string(),
        None => s,
    }
}
