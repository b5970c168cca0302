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
    /// The directory or a file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The directory holds no model file.
    #[error("no model files (*.yaml, *.yml) in {0}")]
    Empty(String),
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
        if is_yaml && path.is_file() {
            let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Io {
                path: path.display().to_string(),
                source,
            })?;
            files.push((path.display().to_string(), text));
        }
    }
    if files.is_empty() {
        return Err(LoadError::Empty(dir.display().to_string()));
    }
    files.sort();
    Ok(files)
}

/// Reads and validates a catalogue directory.
pub fn validate_dir(dir: &Path) -> Result<Validated, LoadError> {
    Ok(validate_sources(read_dir(dir)?))
}
