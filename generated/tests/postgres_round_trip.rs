//! The whole path on a real PostgreSQL: every good fixture document of the 23 collections is
//! read (`from_mongo`), its rows inserted into a database migrated with the committed history,
//! read back (`load`), and written again (`to_mongo`); the result equals the input by the same
//! rules as the in-memory round trip, and the money columns read back exactly.

mod common;

use std::path::Path;

use common::{differences, fixtures, paths, read_lines};
use escrow_schema::schema;
use schemac_runtime::bson::{Bson, RawDocumentBuf};
use schemac_testdb::TestDb;

#[test]
fn every_good_document_survives_postgres() {
    let db = TestDb::new();
    let mut client = db.client();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let history = schemac::history::read(&dir).expect("generated/migrations");
    schemac::apply::apply(&mut client, &history, |_, _| {}).unwrap_or_else(|e| panic!("{e}"));
    // Rows go in collection by collection, and references cross collections (and cycle: a
    // request's selected offer, the offer's request), so foreign keys and triggers are off for
    // this session; the backfill orders its loads instead.
    client
        .batch_execute("SET session_replication_role = replica")
        .expect("a superuser test database");

    let mut failures = Vec::new();
    let mut count = 0;
    for (_, collection, _) in schema::COLLECTIONS {
        let rules = paths(collection);
        for doc in read_lines(&fixtures().join(format!("good/{collection}.json"))) {
            count += 1;
            let id = doc.get("_id").map(|i| i.to_string()).unwrap_or_default();
            let raw = RawDocumentBuf::try_from(&doc).expect("encodes");
            let mut tx = client.transaction().expect("a transaction");
            let out = schema::through_postgres(collection, &raw, &mut tx).expect("a collection");
            tx.commit().expect("commit");
            match out {
                Ok(out) => {
                    let mut diffs = Vec::new();
                    differences(
                        &Bson::Document(doc.clone()),
                        Some(&Bson::Document(out)),
                        "",
                        "",
                        &rules,
                        &mut diffs,
                    );
                    failures.extend(diffs.into_iter().map(|d| format!("{collection} {id}: {d}")));
                }
                Err(e) => failures.push(format!("{collection} {id}: {e}")),
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

    // A 34-digit Decimal128 is stored exactly in numeric(38,18).
    let amount: String = client
        .query_one(
            "SELECT amount::text FROM funds_ledger_entries WHERE amount::text LIKE '%.%' ORDER BY length(amount::text) DESC LIMIT 1",
            &[],
        )
        .expect("a ledger row")
        .get(0);
    assert!(amount.len() >= 35, "{amount}");
}
