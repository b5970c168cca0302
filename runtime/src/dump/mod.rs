//! Streaming readers of MongoDB exports for the backfill: a mongodump directory (`.bson`,
//! `.bson.gz`, `.metadata.json[.gz]`) or mongoexport Extended JSON in, one validated
//! [`RawDocumentBuf`] at a time out, with errors that name the file, the document and where.

use std::collections::BTreeSet;
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use bson::RawDocumentBuf;
use flate2::read::MultiGzDecoder;

mod bson_reader;
mod extjson;

pub use bson_reader::BsonReader;
pub use extjson::ExtJsonReader;

/// The largest BSON document accepted, in bytes: MongoDB's `BSONObjMaxInternalSize`, its 16 MiB
/// user limit plus the 16 KiB the server allows itself for internal fields.
pub const MAX_DOCUMENT_SIZE: usize = 16 * 1024 * 1024 + 16 * 1024;

/// The longest Extended JSON text of one document accepted, in bytes: five times
/// [`MAX_DOCUMENT_SIZE`], since canonical Extended JSON grows a value at most about 4.5 times
/// (a double: 11 bytes of BSON, about 50 of JSON).
pub const MAX_EXTJSON_DOCUMENT_SIZE: usize = 5 * MAX_DOCUMENT_SIZE;

/// The documents of one collection, as [`open_collection`] returns them.
pub type Documents = Box<dyn Iterator<Item = Result<RawDocumentBuf, DumpError>> + Send>;

/// What went wrong reading an export.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    /// A file or directory could not be opened or listed.
    #[error("{}: {source}", file.display())]
    Io {
        /// The file or directory.
        file: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Reading failed inside a stream (a disk error, a corrupt or cut gzip stream).
    #[error("{}: document {index} at byte {offset}: read failed: {source}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// The index of the document being read, from 0.
        index: u64,
        /// The byte offset of its start (in the decompressed stream for `.gz`).
        offset: u64,
        /// The cause.
        source: io::Error,
    },
    /// The stream ends inside a length prefix or a document: a cut dump.
    #[error(
        "{}: document {index} at byte {offset}: truncated: expected {expected} bytes, got {got}",
        file.display()
    )]
    Truncated {
        /// The file.
        file: PathBuf,
        /// The byte offset of the document's start.
        offset: u64,
        /// The index of the document, from 0.
        index: u64,
        /// The bytes it needs: 4 for the length prefix, else the declared length.
        expected: u64,
        /// The bytes present from its start.
        got: u64,
    },
    /// A length prefix below 5 or above [`MAX_DOCUMENT_SIZE`]: the stream cannot be resynchronised.
    #[error(
        "{}: document {index} at byte {offset}: length {length} is outside 5..={MAX_DOCUMENT_SIZE} \
         (MongoDB's 16 MiB limit)",
        file.display()
    )]
    BadLength {
        /// The file.
        file: PathBuf,
        /// The byte offset of the length prefix.
        offset: u64,
        /// The index of the document, from 0.
        index: u64,
        /// The declared length.
        length: i32,
    },
    /// A document whose length is right but whose content is not valid BSON.
    #[error("{}: document {index} at byte {offset}: invalid BSON: {source}", file.display())]
    InvalidBson {
        /// The file.
        file: PathBuf,
        /// The byte offset of the document's start.
        offset: u64,
        /// The index of the document, from 0.
        index: u64,
        /// What the BSON library found.
        source: bson::error::Error,
    },
    /// Extended JSON that is not valid JSON, not Extended JSON or not a document.
    #[error("{}: {at}: {message}", file.display())]
    ExtJson {
        /// The file.
        file: PathBuf,
        /// Where in the file.
        at: JsonAt,
        /// What was wrong.
        message: String,
    },
    /// None of `<collection>.bson`, `.bson.gz` or `.json` is in the directory.
    #[error("{}: no {collection}.bson, {collection}.bson.gz or {collection}.json", dir.display())]
    NotFound {
        /// The directory.
        dir: PathBuf,
        /// The collection.
        collection: String,
    },
    /// A `.metadata.json` file that is not JSON.
    #[error("{}: invalid metadata: {source}", file.display())]
    Metadata {
        /// The file.
        file: PathBuf,
        /// What serde_json found.
        source: serde_json::Error,
    },
}

/// Where an Extended JSON error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonAt {
    /// One document per line: the line (from 1) and the index of the document (from 0).
    Line {
        /// The line, from 1.
        line: u64,
        /// The index of the document, from 0, counting failed ones.
        index: u64,
    },
    /// A JSON array: the index of the element (from 0) and the byte offset where it starts.
    Element {
        /// The index of the element, from 0.
        index: u64,
        /// The byte offset of the element (or of what stands in its place).
        offset: u64,
    },
}

impl fmt::Display for JsonAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonAt::Line { line, index } => write!(f, "line {line} (document {index})"),
            JsonAt::Element { index, offset } => {
                write!(f, "array element {index} (byte {offset})")
            }
        }
    }
}

/// The documents of `collection` in `dir`, from the first of `<collection>.bson`,
/// `<collection>.bson.gz` (mongodump `--gzip`) and `<collection>.json` (mongoexport) present.
pub fn open_collection(dir: &Path, collection: &str) -> Result<Documents, DumpError> {
    let bson = dir.join(format!("{collection}.bson"));
    if bson.is_file() {
        let file = open(&bson)?;
        return Ok(Box::new(BsonReader::new(bson, BufReader::new(file))));
    }
    let gz = dir.join(format!("{collection}.bson.gz"));
    if gz.is_file() {
        let file = MultiGzDecoder::new(open(&gz)?);
        return Ok(Box::new(BsonReader::new(gz, BufReader::new(file))));
    }
    let json = dir.join(format!("{collection}.json"));
    if json.is_file() {
        let file = open(&json)?;
        return Ok(Box::new(ExtJsonReader::new(json, BufReader::new(file))));
    }
    let (dir, collection) = (dir.to_path_buf(), collection.to_owned());
    Err(DumpError::NotFound { dir, collection })
}

/// The collections in `dir`, sorted: the names of its `.bson`, `.bson.gz` and `.json` files,
/// without metadata files.
pub fn collections(dir: &Path) -> Result<Vec<String>, DumpError> {
    let io_error = |source| DumpError::Io {
        file: dir.to_path_buf(),
        source,
    };
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(dir).map_err(io_error)? {
        let path = entry.map_err(io_error)?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        // mongodump 100.x writes `prelude.json` (tool and server versions) at the top of a dump.
        let metadata = name.ends_with(".metadata.json") || name.ends_with(".metadata.json.gz");
        if metadata || name == "prelude.json" || !path.is_file() {
            continue;
        }
        let stem = [".bson.gz", ".bson", ".json"]
            .iter()
            .find_map(|ext| name.strip_suffix(ext));
        if let Some(stem) = stem.filter(|s| !s.is_empty()) {
            names.insert(stem.to_owned());
        }
    }
    Ok(names.into_iter().collect())
}

/// The mongodump `<collection>.metadata.json` (or `.metadata.json.gz`) of `collection` in `dir`:
/// its indexes, options and UUID; `None` when there is neither.
pub fn read_metadata(dir: &Path, collection: &str) -> Result<Option<serde_json::Value>, DumpError> {
    let plain = dir.join(format!("{collection}.metadata.json"));
    let gz = dir.join(format!("{collection}.metadata.json.gz"));
    let (file, reader): (PathBuf, Box<dyn Read>) = if plain.is_file() {
        let reader = Box::new(open(&plain)?);
        (plain, reader)
    } else if gz.is_file() {
        let reader = Box::new(MultiGzDecoder::new(open(&gz)?));
        (gz, reader)
    } else {
        return Ok(None);
    };
    serde_json::from_reader(BufReader::new(reader))
        .map(Some)
        .map_err(|source| DumpError::Metadata { file, source })
}

fn open(path: &Path) -> Result<File, DumpError> {
    File::open(path).map_err(|source| DumpError::Io {
        file: path.to_path_buf(),
        source,
    })
}
