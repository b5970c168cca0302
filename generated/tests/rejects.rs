//! Every bad fixture document (fixtures/mongo/bad, one problem each, written by MongoDB's own
//! BSON library) is rejected by `from_mongo` in strict mode, at the Mongo path and with the kind
//! of problem its `.expect.json` states; the error message names the collection and `_id`.

use std::path::Path;

use escrow_schema::schema;
use schemac_runtime::bson::{Bson, RawDocumentBuf};
use schemac_runtime::transform::Mode;
use schemac_runtime::{TransformErrorKind, serde_json};

fn kind_name(k: &TransformErrorKind) -> &'static str {
    match k {
        TransformErrorKind::TypeMismatch { .. } => "type_mismatch",
        TransformErrorKind::Missing => "missing",
        TransformErrorKind::OutOfRange { .. } => "out_of_range",
        TransformErrorKind::InexactNumber { .. } => "inexact_number",
        TransformErrorKind::UnknownField => "unknown_field",
        TransformErrorKind::InvalidEnum { .. } => "invalid_enum",
        TransformErrorKind::BadReference { .. } => "bad_reference",
        TransformErrorKind::Bson(_) => "bson",
        TransformErrorKind::TooDeep { .. } => "too_deep",
        TransformErrorKind::DollarKey { .. } => "dollar_key",
    }
}

#[test]
fn every_bad_document_is_rejected_where_and_as_expected() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/mongo/bad");
    let mut failures = Vec::new();
    let mut messages = Vec::new();
    let mut count = 0;
    for (_, collection, _) in schema::COLLECTIONS {
        let docs = std::fs::read_to_string(dir.join(format!("{collection}.json")))
            .unwrap_or_else(|e| panic!("{collection}: {e}"));
        let expect: Vec<serde_json::Value> = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("{collection}.expect.json")))
                .unwrap_or_else(|e| panic!("{collection}: {e}")),
        )
        .expect("expect.json is JSON");
        let lines: Vec<&str> = docs.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(
            lines.len(),
            expect.len(),
            "{collection}: documents and expectations"
        );
        for (line, want) in lines.iter().zip(&expect) {
            count += 1;
            let value: serde_json::Value = serde_json::from_str(line).expect("Extended JSON");
            let Ok(Bson::Document(doc)) = Bson::try_from(value) else {
                panic!("{collection}: not a document: {line}");
            };
            let raw = RawDocumentBuf::try_from(&doc).expect("encodes");
            let id = want["_id"].as_str().unwrap_or_default();
            let (path, kind) = (
                want["path"].as_str().unwrap_or_default(),
                want["kind"].as_str().unwrap_or_default(),
            );
            match schema::round_trip(collection, &raw, Mode::Strict).expect("a collection") {
                Ok(_) => failures.push(format!(
                    "{collection} {id}: accepted, expected {kind} at {path} ({})",
                    want["note"]
                )),
                Err(e) => {
                    let got = (e.path.as_str(), kind_name(&e.kind));
                    if got != (path, kind) || e.id.as_deref() != Some(id) {
                        failures.push(format!(
                            "{collection} {id}: expected {kind} at {path}, got {e}"
                        ));
                    }
                    let message = e.to_string();
                    assert!(
                        message.starts_with(&format!("{collection} {id}: ")),
                        "{message}"
                    );
                    messages.push(message);
                }
            }
        }
    }
    assert!(count >= 46, "only {count} bad documents");
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    // What an engineer reads in the gaps table: one message per bad document, reviewed.
    insta::assert_snapshot!("transform_error_messages", messages.join("\n"));
}

/// Lenient mode: a key the catalogue does not declare is recorded, with its path, and the rest
/// of the document goes on; strict mode refuses the same document.
#[test]
fn lenient_mode_records_unknown_keys_instead_of_failing() {
    use escrow_schema::schema::level_config;
    use schemac_runtime::bson::{doc, oid::ObjectId};
    let d = doc! {
        "_id": ObjectId::parse_str("6434a30009600d0000000000").unwrap(),
        "level": 2,
        "name": "Silver",
        "minPoints": 100,
        "color": "silver",
        "perks": ["priority support"],
    };
    let raw = RawDocumentBuf::try_from(&d).unwrap();
    let strict = level_config::from_mongo(&raw, Mode::Strict).unwrap_err();
    assert_eq!(
        strict.to_string(),
        "levelconfigs 6434a30009600d0000000000: field color: not declared in the catalogue"
    );
    let (rows, cx) = level_config::from_mongo(&raw, Mode::Lenient).expect("lenient");
    assert_eq!(cx.unknown, ["color"]);
    assert_eq!(rows.level_configs.name, "Silver");
    let id_map = cx.id_map.expect("the document's id_map row");
    assert_eq!(id_map.collection, "levelconfigs");
    assert_eq!(id_map.legacy_object_id(), "6434a30009600d0000000000");
    assert_eq!(id_map.id, rows.level_configs.id);
}

/// The error names the document whether the bad field comes before its `_id` (a document not
/// written by mongod, which puts `_id` first) or after it, and a non-ObjectId `_id` is named
/// as it is.
#[test]
fn an_error_names_the_document_wherever_its_id_is() {
    use escrow_schema::schema::level_config;
    use schemac_runtime::bson::{doc, oid::ObjectId};
    let oid = ObjectId::parse_str("6434a30009600d0000000000").unwrap();
    let id_last = doc! { "level": "two", "name": "Silver", "_id": oid };
    let id_first = doc! { "_id": oid, "level": "two", "name": "Silver" };
    for d in [id_last, id_first] {
        let raw = RawDocumentBuf::try_from(&d).unwrap();
        let e = level_config::from_mongo(&raw, Mode::Strict).unwrap_err();
        assert_eq!(
            e.to_string(),
            "levelconfigs 6434a30009600d0000000000: field level: expected int, found string \"two\""
        );
    }
    let raw = RawDocumentBuf::try_from(&doc! { "_id": "silver", "level": 2 }).unwrap();
    let e = level_config::from_mongo(&raw, Mode::Strict).unwrap_err();
    assert_eq!(
        e.to_string(),
        "levelconfigs \"silver\": field _id: expected objectId, found string \"silver\""
    );
}
