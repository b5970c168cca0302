//! Writes the seed corpora of the fuzz targets from the repository's own inputs:
//!
//! - `corpus/catalogue/`: `models/*.yaml` and `compiler/tests/fixtures/**/*.yaml`, each of
//!   `models/*.yaml` again made standalone (its references pointed at itself), and the
//!   target's dictionary, `fuzz/catalogue.dict` (`schemac_fuzz::catalogue_dictionary`);
//! - `corpus/from_mongo/`: every document of `fixtures/mongo/dump/*.bson` (concatenated BSON,
//!   each document starting with its little-endian int32 length), of
//!   `fixtures/mongo/truncated/*.bson`, and of `fixtures/mongo/bad/*.json` (canonical Extended
//!   JSON, one document per line), each prefixed with the byte that picks its collection in
//!   `REGISTRY`.
//!
//! Documents longer than `--max-len` bytes (default 65536) are left out: a seed far longer
//! than the fuzzer's `-max_len` only slows it down.
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --example seed [-- --out DIR] [--max-len N]`
//! (the default DIR is `fuzz/corpus`). Existing files of the same name are overwritten; others
//! are left alone, so it can be run on a corpus the fuzzer has grown.

use std::path::{Path, PathBuf};

use escrow_schema::schema::REGISTRY;
use schemac_fuzz::from_mongo_input;
use schemac_runtime::bson::{Bson, RawDocumentBuf};
use schemac_runtime::serde_json;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut max_len = 65_536usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" => out = PathBuf::from(args.next().expect("--out DIR")),
            "--max-len" => {
                max_len = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--max-len N")
            }
            other => panic!("unknown argument {other}"),
        }
    }
    let yaml = seed_catalogue(&root, &out.join("catalogue"));
    let dict = Path::new(env!("CARGO_MANIFEST_DIR")).join("catalogue.dict");
    std::fs::write(&dict, schemac_fuzz::catalogue_dictionary()).expect("write catalogue.dict");
    let (docs, skipped) = seed_from_mongo(&root, &out.join("from_mongo"), max_len);
    println!(
        "catalogue: {yaml} files; from_mongo: {docs} documents ({skipped} longer than {max_len} bytes left out)"
    );
}

/// Copies the model files, and writes each of `models/` again made a catalogue of its own
/// (`schemac_fuzz::standalone`); returns how many files.
fn seed_catalogue(root: &Path, out: &Path) -> usize {
    std::fs::create_dir_all(out).expect("create the corpus directory");
    let models = yaml_files(&root.join("models"));
    let mut files = models.clone();
    files.extend(yaml_files(&root.join("compiler/tests/fixtures")));
    for file in &files {
        let rel = file.strip_prefix(root).expect("under the root");
        let name = format!("seed-{}", rel.display()).replace('/', "-");
        std::fs::copy(file, out.join(name)).expect("copy a model file");
    }
    let texts: Vec<String> = models
        .iter()
        .map(|file| std::fs::read_to_string(file).expect("read a model file"))
        .collect();
    let catalogue: Vec<&str> = texts.iter().map(String::as_str).collect();
    for (file, text) in models.iter().zip(&texts) {
        let name = file.file_name().expect("a file").to_string_lossy();
        std::fs::write(
            out.join(format!("seed-standalone-{name}")),
            schemac_fuzz::standalone(text, &catalogue),
        )
        .expect("write a seed");
    }
    files.len() + models.len()
}

/// Every `*.yaml` / `*.yml` under `dir`, recursively, sorted.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            out.extend(yaml_files(&path));
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    out
}

/// Writes the documents of the fixtures; returns how many were written and how many were too
/// long.
fn seed_from_mongo(root: &Path, out: &Path, max_len: usize) -> (usize, usize) {
    std::fs::create_dir_all(out).expect("create the corpus directory");
    let fixtures = root.join("fixtures/mongo");
    let (mut written, mut skipped) = (0, 0);
    for (index, codec) in REGISTRY.iter().enumerate() {
        let name = codec.name();
        let mut docs: Vec<(String, Vec<u8>)> = Vec::new();
        for dir in ["dump", "truncated"] {
            let path = fixtures.join(dir).join(format!("{name}.bson"));
            if let Ok(bytes) = std::fs::read(&path) {
                for (i, doc) in split_bson(&bytes).into_iter().enumerate() {
                    docs.push((format!("seed-{dir}-{name}-{i:03}"), doc.to_vec()));
                }
            }
        }
        let bad = fixtures.join("bad").join(format!("{name}.json"));
        if let Ok(text) = std::fs::read_to_string(&bad) {
            for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
                let value: serde_json::Value =
                    serde_json::from_str(line).unwrap_or_else(|e| panic!("{}: {e}", bad.display()));
                let Ok(Bson::Document(doc)) = Bson::try_from(value) else {
                    panic!("{}:{}: not a document", bad.display(), i + 1);
                };
                let raw = RawDocumentBuf::try_from(&doc).expect("a document encodes");
                docs.push((format!("seed-bad-{name}-{i:03}"), raw.as_bytes().to_vec()));
            }
        }
        for (file, doc) in docs {
            if doc.len() > max_len {
                skipped += 1;
                continue;
            }
            std::fs::write(out.join(file), from_mongo_input(index, &doc)).expect("write a seed");
            written += 1;
        }
    }
    (written, skipped)
}

/// Splits concatenated BSON documents at their length prefixes; a last document cut short
/// (a truncated dump) is kept as it is.
fn split_bson(mut bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while bytes.len() >= 4 {
        let len = i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        let len = usize::try_from(len)
            .unwrap_or(0)
            .clamp(5, bytes.len().max(5));
        let (doc, rest) = bytes.split_at(len.min(bytes.len()));
        out.push(doc);
        bytes = rest;
    }
    out
}
