//! schemac: a schema-as-code compiler. A YAML catalogue of MongoDB collections (`models/*.yaml`)
//! goes in; a validated IR, a relational plan and, in later stages, PostgreSQL DDL, Rust row
//! types and Mongo <-> Postgres transforms come out. The CLI and the proc-macro are thin shells
//! over this library.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod apply;
pub mod check;
pub mod db;
pub mod desired;
pub mod diag;
pub mod generate;
pub mod history;
pub mod ident;
pub mod inspect;
pub mod introspect;
pub mod ir;
pub mod json_schema;
pub mod migrate;
pub mod parity;
pub mod parse;
pub mod plan;
pub mod pool;
pub mod rust;
pub mod ttl;
pub mod types;
pub mod validate;

use std::path::Path;

pub use validate::{Validated, validate_sources};

/// Why a catalogue directory could not be read (as opposed to being invalid).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A model file could not be read (a dangling link, no permission).
    #[error("cannot read {path}: {source}")]
    File {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The directory holds no model file.
    #[error("no model files (*.yaml, *.yml) in {0}")]
    Empty(String),
    /// A model file is not UTF-8 text.
    #[error("{path}:{line}:{column}: not UTF-8 text (byte {byte:#04x})")]
    NotUtf8 {
        /// The file.
        path: String,
        /// The line of the first byte that is not UTF-8, from 1.
        line: usize,
        /// Its column, in characters from 1.
        column: usize,
        /// The byte.
        byte: u8,
    },
}

impl LoadError {
    /// What to do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            LoadError::Io { .. } | LoadError::Empty(_) => {
                "pass the catalogue directory with `--models DIR`"
            }
            LoadError::File { .. } => "make the file readable, or remove it from the directory",
            LoadError::NotUtf8 { .. } => "model files are UTF-8: save the file in that encoding",
        }
    }
}

/// Reads every `*.yaml` / `*.yml` file of a directory, in file-name order.
pub fn read_dir(dir: &Path) -> Result<Vec<(String, String)>, LoadError> {
    let io = |source| LoadError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let is_yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
        // Anything named *.yaml but a directory is read, so a dangling link is an error
        // rather than a model silently left out.
        if is_yaml && !path.is_dir() {
            let name = path.display().to_string();
            let bytes = std::fs::read(&path).map_err(|source| LoadError::File {
                path: name.clone(),
                source,
            })?;
            let text = String::from_utf8(bytes)
                .map_err(|e| not_utf8(&name, e.as_bytes(), e.utf8_error()))?;
            files.push((name, text));
        }
    }
    if files.is_empty() {
        return Err(LoadError::Empty(dir.display().to_string()));
    }
    files.sort();
    Ok(files)
}

/// Where the first byte that is not UTF-8 is: line and column (in characters) of `bytes`.
fn not_utf8(path: &str, bytes: &[u8], error: std::str::Utf8Error) -> LoadError {
    let good = &bytes[..error.valid_up_to()];
    let (line, column) = diag::line_column(std::str::from_utf8(good).unwrap_or_default());
    LoadError::NotUtf8 {
        path: path.to_string(),
        line,
        column,
        byte: bytes[error.valid_up_to()],
    }
}

/// Reads and validates a catalogue directory.
pub fn validate_dir(dir: &Path) -> Result<Validated, LoadError> {
    Ok(validate_sources(read_dir(dir)?))
}
