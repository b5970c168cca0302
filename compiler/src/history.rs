//! The migration directory (`generated/migrations/`): numbered `.sql` files, their `.json` schema
//! snapshots and the `schemac.sum` integrity file go in; a [`History`], the sum file's text, the
//! [`Problem`]s of the directory and the statements of a migration come out. No database here:
//! `apply` runs what this module reads.

use std::collections::BTreeSet;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

mod split;
mod verify;

pub use split::{split_statements, statement_spans};
pub use verify::verify;

/// The integrity file's name inside the migration directory.
pub const SUM_FILE: &str = "schemac.sum";

/// One migration: a `NNNN_<name>.sql` file, the directives of its header and its snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Migration {
    /// The version, `NNNN` of the file name (from 1).
    pub version: u32,
    /// The file stem (`0002_add_phone`); also the name recorded in the database.
    pub name: String,
    /// The SQL text, line endings normalized to LF.
    pub sql: String,
    /// The `NNNN_<name>.json` snapshot (LF-normalized), when the file exists.
    pub snapshot: Option<String>,
    /// The `-- schemac:parent` directive; `None` for `none` (the first migration).
    pub parent: Option<String>,
    /// False when the header has `-- schemac:no-transaction`.
    pub transactional: bool,
    /// [`checksum`] of the SQL.
    pub checksum: String,
}

impl Migration {
    /// The SQL file's name, `0002_add_phone.sql`.
    pub fn sql_file(&self) -> String {
        format!("{}.sql", self.name)
    }

    /// The snapshot file's name, `0002_add_phone.json`.
    pub fn snapshot_file(&self) -> String {
        format!("{}.json", self.name)
    }
}

/// A migration directory as read from disk.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct History {
    /// The directory.
    pub dir: PathBuf,
    /// The migrations, by version then name.
    pub migrations: Vec<Migration>,
    /// The text of `schemac.sum`, when the file exists.
    pub sum: Option<String>,
    /// `.json` snapshots with no `.sql` beside them, by file name.
    pub orphan_snapshots: Vec<String>,
}

/// Why a migration directory could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The directory or a file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The OS error.
        source: io::Error,
    },
    /// A `.sql` or `.json` file is not named `NNNN_<name>` (`[a-z0-9_]+`).
    #[error(
        "{path}: not a migration file name (expected NNNN_name.sql or NNNN_name.json, name in [a-z0-9_])"
    )]
    Name {
        /// The path.
        path: String,
    },
    /// A migration's header directives are missing or malformed.
    #[error("{path}:{line}: {message}")]
    Header {
        /// The path.
        path: String,
        /// The 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// Something wrong with the migration directory, found without a database.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Problem {
    /// A stable code: `SC301` edited, `SC302` sum out of date, `SC303` forked, `SC304` broken chain.
    pub code: &'static str,
    /// The file concerned, relative to the directory (`0002_add_phone.sql`, `schemac.sum`).
    pub file: String,
    /// What is wrong, in one sentence.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}\n  hint: {}",
            self.code, self.file, self.message, self.hint
        )
    }
}

/// Reads a migration directory. A directory that does not exist is an empty history.
pub fn read(dir: &Path) -> Result<History, HistoryError> {
    let mut history = History {
        dir: dir.to_path_buf(),
        ..History::default()
    };
    let io_err = |path: &Path| {
        let path = path.display().to_string();
        move |source| HistoryError::Io { path, source }
    };
    let entries = match std::fs::read_dir(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(history),
        entries => entries.map_err(io_err(dir))?,
    };
    let (mut sql, mut json) = (BTreeSet::new(), BTreeSet::new());
    for entry in entries {
        let path = entry.map_err(io_err(dir))?.path();
        let file = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if file == SUM_FILE {
            history.sum = Some(read_text(&path)?);
            continue;
        }
        let Some((stem, ext @ ("sql" | "json"))) = file.rsplit_once('.') else {
            continue;
        };
        if parse_stem(stem).is_none() {
            return Err(HistoryError::Name {
                path: path.display().to_string(),
            });
        }
        let set = if ext == "sql" { &mut sql } else { &mut json };
        set.insert(stem.to_string());
    }
    for stem in &sql {
        let path = dir.join(format!("{stem}.sql"));
        let text = read_text(&path)?;
        let (parent, transactional) = parse_header(&path, stem, &text)?;
        let snapshot = match json.contains(stem) {
            true => Some(read_text(&dir.join(format!("{stem}.json")))?),
            false => None,
        };
        history.migrations.push(Migration {
            version: parse_stem(stem).unwrap_or_default(),
            name: stem.clone(),
            checksum: checksum(&text),
            sql: text,
            snapshot,
            parent,
            transactional,
        });
    }
    history.orphan_snapshots = json.difference(&sql).map(|s| format!("{s}.json")).collect();
    history
        .migrations
        .sort_by(|a, b| (a.version, &a.name).cmp(&(b.version, &b.name)));
    Ok(history)
}

/// The version after the last one (1 for an empty history).
pub fn next_version(history: &History) -> u32 {
    history
        .migrations
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
        + 1
}

/// `h1:` and the hex SHA-256 of the text with CRLF and lone CR normalized to LF, so that a
/// checkout with Windows line endings keeps every checksum.
pub fn checksum(text: &str) -> String {
    format!("h1:{}", sha256_hex(&normalize(text)))
}

/// The full text of `schemac.sum`: `h1:<hash of the lines below>`, then `<file> h1:<hash>` for
/// each migration in version order, the `.sql` before the `.json`.
pub fn sum_file(history: &History) -> String {
    let mut migrations: Vec<&Migration> = history.migrations.iter().collect();
    migrations.sort_by(|a, b| (a.version, &a.name).cmp(&(b.version, &b.name)));
    let mut body = String::new();
    for m in migrations {
        body += &format!("{} {}\n", m.sql_file(), m.checksum);
        if let Some(snapshot) = &m.snapshot {
            body += &format!("{} {}\n", m.snapshot_file(), checksum(snapshot));
        }
    }
    format!("h1:{}\n{body}", sha256_hex(&body))
}

/// Writes [`sum_file`] to `schemac.sum` in the history's directory.
pub fn write_sum(history: &History) -> io::Result<()> {
    std::fs::create_dir_all(&history.dir)?;
    std::fs::write(history.dir.join(SUM_FILE), sum_file(history))
}

/// The version of a file stem `NNNN_<name>`: at least four digits, `_`, then `[a-z0-9_]+`.
fn parse_stem(stem: &str) -> Option<u32> {
    let (digits, name) = stem.split_once('_')?;
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    let digits_ok = digits.len() >= 4 && digits.bytes().all(|b| b.is_ascii_digit());
    if name_ok && digits_ok {
        digits.parse().ok()
    } else {
        None
    }
}

/// Reads the header directives: `-- schemac migration <stem>` on the first line, then
/// `-- schemac:parent <name|none>` and optionally `-- schemac:no-transaction`.
fn parse_header(
    path: &Path,
    stem: &str,
    text: &str,
) -> Result<(Option<String>, bool), HistoryError> {
    let err = |line: usize, message: String| HistoryError::Header {
        path: path.display().to_string(),
        line,
        message,
    };
    let mut lines = text.lines().map(str::trim_end);
    let first = lines
        .next()
        .unwrap_or_default()
        .trim_start_matches('\u{feff}');
    match first.strip_prefix("-- schemac migration ").map(str::trim) {
        Some(name) if name == stem => {}
        Some(name) => {
            return Err(err(
                1,
                format!("the header names migration {name}, but the file is {stem}.sql"),
            ));
        }
        None => {
            return Err(err(
                1,
                format!("expected `-- schemac migration {stem}` as the first line"),
            ));
        }
    }
    let (mut parent, mut transactional) = (None, true);
    let mut line = 1;
    for text in lines {
        let Some(directive) = text.strip_prefix("-- schemac:") else {
            break;
        };
        line += 1;
        let (key, value) = directive.split_once(' ').unwrap_or((directive, ""));
        match (key, value.trim()) {
            ("parent", _) if parent.is_some() => {
                return Err(err(line, "a second `-- schemac:parent`".into()));
            }
            ("parent", "none") => parent = Some(None),
            ("parent", name) if parse_stem(name).is_some() => parent = Some(Some(name.to_string())),
            ("parent", name) => {
                return Err(err(
                    line,
                    format!("`{name}` is not a migration name or `none`"),
                ));
            }
            ("no-transaction", "") if transactional => transactional = false,
            ("no-transaction", "") => {
                return Err(err(line, "a second `-- schemac:no-transaction`".into()));
            }
            ("no-transaction", _) => {
                return Err(err(
                    line,
                    "`-- schemac:no-transaction` takes no value".into(),
                ));
            }
            _ => {
                return Err(err(
                    line,
                    format!("unknown directive `schemac:{key}` (known: parent, no-transaction)"),
                ));
            }
        }
    }
    match parent {
        Some(parent) => Ok((parent, transactional)),
        None => Err(err(
            line + 1,
            "missing `-- schemac:parent <migration|none>`".into(),
        )),
    }
}

fn read_text(path: &Path) -> Result<String, HistoryError> {
    std::fs::read_to_string(path)
        .map(|text| normalize(&text))
        .map_err(|source| HistoryError::Io {
            path: path.display().to_string(),
            source,
        })
}

/// CRLF and lone CR to LF.
fn normalize(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
