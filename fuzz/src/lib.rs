//! What the fuzz targets run, as plain functions, so that the libFuzzer binaries
//! (`fuzz_targets/*.rs`, nightly flags), the stable corpus replay (`tests/replay.rs`) and the
//! seed builder (`examples/seed.rs`) share one definition of each target.
//!
//! - [`catalogue`]: bytes as one YAML model file, validated; when valid, every output the
//!   compiler derives from it (generated files, desired schema, first migration).
//! - [`from_mongo`]: a collection of `escrow_schema::schema::REGISTRY` and a BSON document,
//!   read by the runtime's element reader and by `bson`'s iterator (they must agree),
//!   transformed in strict and lenient mode; when accepted, written back with `to_mongo` and
//!   transformed again.
//!
//! Either may panic only on a bug: a panic is what the fuzzer reports as a crash. The
//! properties checked with `assert!` are invariants of the compiler or the runtime, not of the
//! input.

#![deny(missing_docs)]

use escrow_schema::schema::REGISTRY;
use schemac::db::Database;
use schemac::migrate::{self, Allow, Position};
use schemac_runtime::bson::{RawDocument, RawDocumentBuf};
use schemac_runtime::registry::Collection;
use schemac_runtime::serde_json;
use schemac_runtime::transform::Mode;

/// The libFuzzer dictionary of the `catalogue` target, the text of `fuzz/catalogue.dict`
/// (`-dict=catalogue.dict`; `examples/seed.rs` writes it, `tests/replay.rs` checks the committed
/// file against this). Taken from the compiler itself, so it follows the language: every key
/// and every enumerated value of the model file's JSON Schema (`schemac schema`), every `pg:`
/// spelling, each key also followed by `": "`; then the YAML punctuation a model file is made
/// of, and the words the parser knows that the schema spells as patterns (`now`, the duration
/// units, the refused `varchar`). Sorted, one entry per line.
pub fn catalogue_dictionary() -> String {
    use std::collections::BTreeSet;
    fn collect(value: &serde_json::Value, words: &mut BTreeSet<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, v) in map {
                    match (key.as_str(), v) {
                        ("properties", serde_json::Value::Object(props)) => {
                            for name in props.keys() {
                                words.insert(name.clone());
                                words.insert(format!("{name}: "));
                            }
                        }
                        ("enum", serde_json::Value::Array(values)) => {
                            words
                                .extend(values.iter().filter_map(|v| v.as_str()).map(String::from));
                        }
                        _ => {}
                    }
                    collect(v, words);
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| collect(v, words)),
            _ => {}
        }
    }
    let mut words = BTreeSet::new();
    collect(&schemac::json_schema::schema(), &mut words);
    words.extend(schemac::types::PG_TYPE_NAMES.iter().map(|s| s.to_string()));
    words.extend(
        [
            "\n  ", "\n    ", "\n      ", "\n- ", "\n  - ", ": ", "{ ", " }", ", ", "[", "]", "[]",
            "# ", "\"", "'", "|\n", ">\n", "---\n", "&a ", "*a", "<<: ", "? ", "!!str ", "~",
            "null", "true", "false", "-1", "1.5", "now", "varchar(", "char(", " days", " hours",
            " minutes", " seconds",
        ]
        .map(String::from),
    );
    let mut out = String::from(
        "# The libFuzzer dictionary of the catalogue target (-dict=catalogue.dict): the model\n\
         # file's keys and values from the compiler's JSON Schema, and YAML punctuation.\n\
         # Written by `cargo run --manifest-path fuzz/Cargo.toml --example seed`; do not edit.\n",
    );
    for word in &words {
        out.push('"');
        for byte in word.bytes() {
            match byte {
                b'"' | b'\\' => out.push_str(&format!("\\{}", byte as char)),
                0x20..=0x7e => out.push(byte as char),
                _ => out.push_str(&format!("\\x{byte:02X}")),
            }
        }
        out.push_str("\"\n");
    }
    out
}

/// The name the fuzzed model file gets.
pub const MODEL_FILE: &str = "models/x.yaml";

/// Runs the `catalogue` target on one input: the bytes (lossy UTF-8) as the only model file.
/// Returns whether the file validated.
pub fn catalogue(data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(data).into_owned();
    let v = schemac::validate_sources(vec![(MODEL_FILE.to_string(), text)]);
    let _ = schemac::diag::render_human(&v.diagnostics, &v.sources, false);
    let _ = schemac::diag::render_human(&v.diagnostics, &v.sources, true);
    let _ = schemac::diag::render_json(&v.diagnostics);
    let Some(cat) = &v.catalogue else {
        return false;
    };
    if let Some((path, m)) = schemac::rust::misformatted(cat) {
        panic!("{path} {m}");
    }
    for (path, text) in schemac::generate::outputs(cat) {
        if path.ends_with(".rs")
            && let Some(name) = schemac::rust::redefined(&text)
        {
            panic!("{path} defines {name} twice");
        }
    }
    let (db, renames) = migrate::target(cat);
    assert_eq!(
        db,
        schemac::desired::database(cat),
        "the desired schema is not a function of the catalogue"
    );
    let again = Database::from_json(&db.to_json()).expect("a snapshot reads back");
    assert_eq!(again, db, "the snapshot JSON does not round-trip");
    assert!(
        migrate::diff(&db, &db, &Default::default()).is_empty(),
        "a schema differs from itself"
    );
    let at = Position {
        version: 1,
        parent: None,
        name: "fuzz",
        command: "schemac migrate new fuzz",
    };
    match migrate::plan(&Database::default(), &db, &renames, &at, &Allow::default()) {
        Ok(_) => {}
        Err(findings) => {
            panic!("the first migration of a valid catalogue is refused: {findings:?}")
        }
    }
    true
}

/// Model file `text` made into a catalogue of its own, for the `catalogue` target, which
/// compiles one file as the whole catalogue: a model that references another is invalid there
/// and never reaches the generators, so without this copy what only such models have (a TTL, a
/// timeline invariant, a discriminated reference) would not be fuzzed past validation.
/// `catalogue` holds the texts of every model file of the catalogue `text` comes from.
///
/// The rewrite works on lines, as the repository's model files are written:
/// - every model named in a reference (`ref: Other`, `ref: { model: Other`, `target: Other`)
///   becomes the file's own `model:`, and that line's `required: true` becomes `false` (a
///   required reference to itself is a cycle with no insert order);
/// - an enum used (`enum: name`) but defined in another file has its definition copied into
///   this file's `enums:`;
/// - the enum of a discriminated reference's discriminator (`ref: { discriminator: field }`,
///   whose values name models) gets the one value the file's own model.
///
/// # Panics
/// When `text` has no `model:` line.
pub fn standalone(text: &str, catalogue: &[&str]) -> String {
    let own = text
        .lines()
        .find_map(|l| l.strip_prefix("model:"))
        .map(str::trim)
        .expect("a model file names its model");
    let local = enum_blocks(text);
    // The enums this file uses and another file defines, each once.
    let mut borrowed: Vec<(&str, String)> = Vec::new();
    for name in text.lines().filter_map(|l| word_after(l, "enum: ")) {
        if local.iter().chain(&borrowed).any(|(n, _)| *n == name) {
            continue;
        }
        if let Some(found) = catalogue
            .iter()
            .flat_map(|other| enum_blocks(other))
            .find(|(n, _)| *n == name)
        {
            borrowed.push(found);
        }
    }
    // The first lines of the local enums that a discriminated reference picks models by.
    let discriminators: Vec<&str> = text
        .lines()
        .filter_map(|l| word_after(l, "ref: { discriminator: "))
        .collect();
    let model_name_enums: Vec<&str> = text
        .lines()
        .filter(|l| field_name(l).is_some_and(|f| discriminators.contains(&f)))
        .filter_map(|l| word_after(l, "enum: "))
        .filter_map(|e| local.iter().find(|(n, _)| *n == e))
        .filter_map(|(_, block)| block.lines().next())
        .collect();
    let mut out = String::with_capacity(text.len());
    let mut borrowed_written = borrowed.is_empty();
    for line in text.lines() {
        if !borrowed_written && line == "fields:" {
            // No `enums:` section before the fields: start one.
            out.push_str("enums:\n");
            borrowed.iter().for_each(|(_, block)| out.push_str(block));
            out.push('\n');
            borrowed_written = true;
        }
        let mut rewritten = line.to_string();
        for key in ["ref: { model: ", "ref: ", "target: "] {
            if let Some(name) = word_after(&rewritten, key) {
                rewritten = rewritten.replacen(&format!("{key}{name}"), &format!("{key}{own}"), 1);
                rewritten = rewritten.replace("required: true", "required: false");
            }
        }
        if model_name_enums.contains(&line)
            && let Some((name, rest)) = line.split_once(": [")
            && let Some((_, comment)) = rest.split_once(']')
        {
            rewritten = format!("{name}: [{own}]{comment}");
        }
        out.push_str(&rewritten);
        out.push('\n');
        if line == "enums:" && !borrowed_written {
            borrowed.iter().for_each(|(_, block)| out.push_str(block));
            borrowed_written = true;
        }
    }
    out
}

/// The identifier right after `key` in `line`, if any.
fn word_after<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let tail = &line[line.find(key)? + key.len()..];
    let end = tail
        .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .unwrap_or(tail.len());
    (end > 0).then(|| &tail[..end])
}

/// The name of the field a `  name: { ... }` line (two spaces in) declares.
fn field_name(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("  ")?;
    let (name, _) = rest.split_once(':')?;
    (!name.starts_with(' ')).then_some(name)
}

/// Each enum of `text`'s top-level `enums:` section: its name and its lines (the `  name:`
/// line and the deeper-indented lines after it), each line ending in a newline.
fn enum_blocks(text: &str) -> Vec<(&str, String)> {
    let mut blocks: Vec<(&str, String)> = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            inside = line.trim_end() == "enums:";
            continue;
        }
        if !inside || line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if let Some(name) = field_name(line) {
            blocks.push((name, String::new()));
        }
        if let Some((_, block)) = blocks.last_mut() {
            block.push_str(line);
            block.push('\n');
        }
    }
    blocks
}

/// What [`from_mongo`] saw; only the replay test and `SCHEMAC_FUZZ_REPORT=1` look at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Fewer than 1 byte, or the rest is not a BSON document.
    NotADocument,
    /// Both modes refused the document.
    Rejected,
    /// Accepted, and its round trip is a fixed point in every mode that accepted it.
    RoundTrip,
    /// Accepted, but something after it went wrong (a message per problem): `to_mongo` failed,
    /// its output was rejected, or transforming it again gave another document.
    Finding(Vec<String>),
}

/// The collection an input's first byte picks.
pub fn collection(first: u8) -> &'static dyn Collection {
    REGISTRY[usize::from(first) % REGISTRY.len()]
}

/// The input that [`from_mongo`] reads as document `doc` of collection number `index` of
/// `REGISTRY`.
pub fn from_mongo_input(index: usize, doc: &[u8]) -> Vec<u8> {
    let first = u8::try_from(index).expect("fewer than 256 collections");
    let mut input = Vec::with_capacity(doc.len() + 1);
    input.push(first);
    input.extend_from_slice(doc);
    input
}

/// Runs the `from_mongo` target on one input: the first byte picks a collection, the rest is a
/// BSON document.
pub fn from_mongo(data: &[u8]) -> Outcome {
    let Some((&first, rest)) = data.split_first() else {
        return Outcome::NotADocument;
    };
    let Ok(doc) = RawDocument::from_bytes(rest) else {
        return Outcome::NotADocument;
    };
    // The generated code reads elements with the runtime's reader, which must give exactly
    // what `bson`'s own iterator gives, errors included.
    if let Err(difference) = schemac_runtime::raw::check_against_bson(doc) {
        panic!("the runtime's element reader differs from bson's: {difference}");
    }
    let codec = collection(first);
    let mut accepted = false;
    let mut findings = Vec::new();
    for mode in [Mode::Strict, Mode::Lenient] {
        let Ok((rows, cx)) = codec.transform(doc, mode) else {
            continue;
        };
        accepted = true;
        if mode == Mode::Strict {
            assert!(cx.unknown.is_empty(), "strict mode recorded unknown keys");
        }
        check_rows(codec, rows.as_ref());
        let out = match rows.to_mongo() {
            Ok(out) => out,
            Err(e) => {
                findings.push(format!("{mode:?}: to_mongo failed: {e}"));
                continue;
            }
        };
        let raw = match RawDocumentBuf::try_from(&out) {
            Ok(raw) => raw,
            Err(e) => {
                findings.push(format!("{mode:?}: to_mongo output does not encode: {e}"));
                continue;
            }
        };
        match codec.transform(&raw, Mode::Strict) {
            Ok((again, _)) => {
                check_rows(codec, again.as_ref());
                // Compared as BSON bytes: `Bson` equality has NaN != NaN.
                match again.to_mongo() {
                    Ok(twice) if same_bytes(&twice, &raw) => {}
                    Ok(twice) => {
                        findings.push(format!("{mode:?}: not a fixed point:\n  {out}\n  {twice}"))
                    }
                    Err(e) => findings.push(format!("{mode:?}: second to_mongo failed: {e}")),
                }
            }
            Err(e) => findings.push(format!("{mode:?}: its own output is rejected: {e}")),
        }
    }
    if !findings.is_empty() {
        if std::env::var_os("SCHEMAC_FUZZ_REPORT").is_some() {
            eprintln!("{}: {}", codec.name(), findings.join("\n"));
        }
        return Outcome::Finding(findings);
    }
    if accepted {
        Outcome::RoundTrip
    } else {
        Outcome::Rejected
    }
}

/// Whether `doc` encodes to exactly the bytes of `raw`.
fn same_bytes(doc: &schemac_runtime::bson::Document, raw: &RawDocumentBuf) -> bool {
    RawDocumentBuf::try_from(doc).is_ok_and(|d| d.as_bytes() == raw.as_bytes())
}

/// The invariants of one document's rows: the root row has its id, and each table's rows hand
/// over one parameter per column, as many times as `row_count` says.
fn check_rows(codec: &dyn Collection, rows: &dyn schemac_runtime::registry::Rows) {
    assert!(rows.has_row(0, rows.id()), "the root row lacks its own id");
    assert_eq!(rows.row_count(0), 1, "not one root row");
    assert_eq!(
        rows.legacy_object_id().len(),
        24,
        "legacy_object_id is not 24 hex digits"
    );
    for (i, table) in codec.tables().iter().enumerate() {
        let mut count = 0;
        rows.each_row(i, &mut |params| {
            assert_eq!(
                params.len(),
                table.columns.len(),
                "{}: parameters and columns differ",
                table.name
            );
            count += 1;
            Ok(())
        })
        .expect("the sink never fails");
        assert_eq!(
            count,
            rows.row_count(i),
            "{}: row_count is wrong",
            table.name
        );
    }
}
