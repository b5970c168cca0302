//! `from_mongo` then `to_mongo` on the fixture documents of every collection
//! (fixtures/mongo/good, written by MongoDB's own BSON library): each good document is accepted,
//! and what comes back equals what went in, but for what the catalogue says may differ:
//! - fields declared `lossy` or skipped, and `__v` where it is dropped;
//! - a number's BSON type (int32, int64, double, Decimal128 of equal value);
//! - an explicit null and an absent field;
//! - an object stored `flatten`: null, `{}` and absent are one (docs/catalogue.md);
//! - a reference declared `bson: [objectId, string]`: a 24-hex string comes back as the
//!   ObjectId (the migration plan's rule 2 fixes that type bug);
//! - fields absent from the input that come back with their Mongoose default.
//!
//! The round trip of the output is the output itself (a fixed point).

mod common;

use common::{differences, fixtures, paths, read_lines};
use escrow_schema::schema;
use schemac_runtime::bson::{Bson, Document, RawDocumentBuf};
use schemac_runtime::transform::Mode;

fn round_trip(collection: &str, doc: &Document) -> Result<Document, String> {
    let raw = RawDocumentBuf::try_from(doc).map_err(|e| e.to_string())?;
    schema::round_trip(collection, &raw, Mode::Strict)
        .expect("a catalogue collection")
        .map_err(|e| e.to_string())
}

#[test]
fn every_good_document_of_every_collection_round_trips() {
    let mut failures = Vec::new();
    let mut count = 0;
    for (_, collection, _) in schema::COLLECTIONS {
        let rules = paths(collection);
        let docs = read_lines(&fixtures().join(format!("good/{collection}.json")));
        assert!(!docs.is_empty(), "no fixtures for {collection}");
        for doc in &docs {
            count += 1;
            let id = doc.get("_id").map(|i| i.to_string()).unwrap_or_default();
            let out = match round_trip(collection, doc) {
                Ok(out) => out,
                Err(e) => {
                    failures.push(format!("{collection} {id}: rejected: {e}"));
                    continue;
                }
            };
            let mut diffs = Vec::new();
            differences(
                &Bson::Document(doc.clone()),
                Some(&Bson::Document(out.clone())),
                "",
                "",
                &rules,
                &mut diffs,
            );
            for d in diffs {
                failures.push(format!("{collection} {id}: {d}"));
            }
            match round_trip(collection, &out) {
                Ok(again) if again == out => {}
                Ok(again) => failures.push(format!(
                    "{collection} {id}: not a fixed point:\n{out}\n{again}"
                )),
                Err(e) => failures.push(format!(
                    "{collection} {id}: its own output is rejected: {e}"
                )),
            }
        }
    }
    assert!(count > 100, "only {count} documents");
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
