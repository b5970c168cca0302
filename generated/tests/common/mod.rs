//! Helpers shared by the fixture tests: reading Extended JSON fixtures and comparing a document
//! with its round trip by the catalogue's rules.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::Path;

use schemac_runtime::bson::{Bson, Document};
use schemac_runtime::{Numeric, serde_json};

pub fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/mongo")
}

/// The documents of a canonical Extended JSON file, one per line.
pub fn read_lines(path: &Path) -> Vec<Document> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            let value: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1));
            match Bson::try_from(value) {
                Ok(Bson::Document(d)) => d,
                other => panic!("{}:{}: not a document: {other:?}", path.display(), i + 1),
            }
        })
        .collect()
}

/// What the catalogue says about a collection's paths (dotted, no array indexes).
#[derive(Default)]
pub struct Paths {
    /// May differ: `lossy`, skipped, a dropped `__v`.
    lossy: BTreeSet<String>,
    /// Objects stored `flatten`.
    flattened: BTreeSet<String>,
    /// References that may hold an ObjectId's hex string.
    string_refs: BTreeSet<String>,
}

pub fn paths(collection: &str) -> Paths {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let cat = schemac::validate_dir(&dir)
        .expect("models/")
        .catalogue
        .expect("a valid catalogue");
    let model = cat
        .models
        .iter()
        .find(|m| m.collection == collection)
        .expect("the collection is in the catalogue");
    use schemac::ir::Storage;
    let mut out = Paths::default();
    fn walk(fields: &[schemac::ir::Field], out: &mut Paths) {
        for f in fields {
            if f.lossy.is_some() || matches!(f.storage, Storage::Skipped { .. }) {
                out.lossy.insert(f.mongo_path.clone());
            }
            match &f.storage {
                Storage::Flattened { fields } => {
                    out.flattened.insert(f.mongo_path.clone());
                    walk(fields, out)
                }
                Storage::ChildTable(c) => walk(&c.fields, out),
                Storage::Column(c) if c.reference.is_some() && f.bson.len() > 1 => {
                    out.string_refs.insert(f.mongo_path.clone());
                }
                _ => {}
            }
        }
    }
    walk(&model.fields, &mut out);
    if model.version_key != schemac::parse::syntax::VersionKey::Keep {
        out.lossy.insert("__v".into());
    }
    out
}

/// A number's value, whatever its BSON type.
pub fn number(b: &Bson) -> Option<Numeric> {
    match b {
        Bson::Int32(i) => Some(Numeric::from_i32(*i)),
        Bson::Int64(i) => Some(Numeric::from_i64(*i)),
        Bson::Double(f) => Numeric::from_f64(*f).ok(),
        Bson::Decimal128(d) => Numeric::from_decimal128(*d).ok(),
        _ => None,
    }
}

/// Where `input` (at `path`) is not found in `output`; `path` without array indexes.
pub fn differences(
    input: &Bson,
    output: Option<&Bson>,
    path: &str,
    plain: &str,
    rules: &Paths,
    out: &mut Vec<String>,
) {
    if rules.lossy.contains(plain) {
        return;
    }
    let empty = Bson::Document(Document::new());
    let (input, output) = if rules.flattened.contains(plain) {
        let input = if *input == Bson::Null { &empty } else { input };
        let output = match output {
            None | Some(Bson::Null) => Some(&empty),
            other => other,
        };
        (input, output)
    } else {
        (input, output)
    };
    match (input, output) {
        (Bson::String(s), Some(Bson::ObjectId(o)))
            if rules.string_refs.contains(plain) && *s == o.to_hex() => {}
        (Bson::Null, None | Some(Bson::Null)) => {}
        (Bson::Document(a), Some(Bson::Document(b))) => {
            for (k, v) in a {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                let pp = if plain.is_empty() {
                    k.clone()
                } else {
                    format!("{plain}.{k}")
                };
                differences(v, b.get(k), &p, &pp, rules, out);
            }
        }
        (Bson::Array(a), Some(Bson::Array(b))) => {
            if a.len() != b.len() {
                out.push(format!("{path}: {} items became {}", a.len(), b.len()));
                return;
            }
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                differences(x, Some(y), &format!("{path}.{i}"), plain, rules, out);
            }
        }
        (a, Some(b)) if number(a).is_some() && number(a) == number(b) => {}
        (a, Some(b)) if a == b => {}
        (a, b) => out.push(format!(
            "{path}: {a} became {}",
            b.map_or("absent".to_string(), |b| b.to_string())
        )),
    }
}
