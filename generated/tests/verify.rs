//! `verify` on a real PostgreSQL: the committed fixture dump backfilled into a database migrated
//! with the committed history verifies clean, and a changed amount, a deleted child row, an
//! extra row or a missing document in PostgreSQL each make it fail with a report that says
//! where (a missing document with an open gap does not).
//!
//! The tests that break something compare with the report of the untouched database, so that
//! each checks exactly the mismatches its change causes; `a_backfilled_dump_verifies` checks
//! that there are none to begin with.

use std::path::{Path, PathBuf};

use escrow_schema::schema::REGISTRY;
use schemac_backfill::verify::{CollectionVerify, Mismatch, VerifyOptions, VerifyReport, verify};
use schemac_backfill::{Options, backfill};
use schemac_runtime::postgres::Client;
use schemac_runtime::serde_json;
use schemac_testdb::TestDb;

fn dump_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/mongo/dump")
}

/// A fresh database, migrated and backfilled from the fixture dump.
fn backfilled() -> (TestDb, Client) {
    let db = TestDb::new();
    let mut client = db.client();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let history = schemac::history::read(&dir).expect("generated/migrations");
    schemac::apply::apply(&mut client, &history, |_, _| {}).unwrap_or_else(|e| panic!("{e}"));
    let mut opts = Options::new(dump_dir());
    opts.progress = false;
    let report = backfill(REGISTRY, &mut client, &opts).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.not_in_catalogue.is_empty(), "{report:?}");
    if report.gaps() > 0 {
        let gaps: Vec<String> = client
            .query(
                "SELECT collection, legacy_object_id, error FROM pg_dualwrite_gaps ORDER BY 1, 2",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| {
                let id: Option<String> = r.get(1);
                format!(
                    "{} {}: {}",
                    r.get::<_, String>(0),
                    id.unwrap_or_default(),
                    r.get::<_, String>(2)
                )
            })
            .collect();
        panic!(
            "the fixtures are all good, yet the backfill left gaps:\n{}",
            gaps.join("\n")
        );
    }
    (db, client)
}

fn run_verify(client: &mut Client) -> VerifyReport {
    verify(REGISTRY, client, &VerifyOptions::new(dump_dir())).unwrap_or_else(|e| panic!("{e}"))
}

/// Every listed mismatch, with its collection.
fn mismatches(report: &VerifyReport) -> Vec<(String, Mismatch)> {
    report
        .collections
        .iter()
        .flat_map(|c| {
            c.mismatches
                .iter()
                .map(|m| (c.collection.clone(), m.clone()))
        })
        .collect()
}

/// A backfilled database and the report of verify on it before any change.
struct Setup {
    _db: TestDb,
    client: Client,
    before: VerifyReport,
}

fn setup() -> Setup {
    let (db, mut client) = backfilled();
    let before = run_verify(&mut client);
    Setup {
        _db: db,
        client,
        before,
    }
}

impl Setup {
    /// Verify again; the mismatches that were not there before the change.
    fn verify(&mut self) -> (VerifyReport, Vec<(String, Mismatch)>) {
        let report = run_verify(&mut self.client);
        let key = |(c, m): &(String, Mismatch)| (c.clone(), serde_json::to_value(m).unwrap());
        let old: Vec<_> = mismatches(&self.before).iter().map(key).collect();
        let new = mismatches(&report)
            .into_iter()
            .filter(|m| !old.contains(&key(m)))
            .collect();
        (report, new)
    }

    fn mismatch_count(&self) -> u64 {
        self.before.totals.mismatches
    }
}

fn collection<'r>(report: &'r VerifyReport, name: &str) -> &'r CollectionVerify {
    report
        .collections
        .iter()
        .find(|c| c.collection == name)
        .unwrap_or_else(|| panic!("{name} is verified"))
}

#[test]
fn a_backfilled_dump_verifies() {
    let (_db, mut client) = backfilled();
    let report = run_verify(&mut client);
    let text = report.to_string();
    assert!(report.ok(), "{text}");
    assert!(
        text.trim_end().ends_with(&format!(
            "verify: OK ({} documents, {} tables, {} money buckets)",
            report.totals.documents, report.totals.tables, report.totals.money_buckets
        )),
        "{text}"
    );
    assert_eq!(report.collections.len(), 23, "{text}");
    assert!(report.not_in_catalogue.is_empty(), "{text}");
    assert!(report.totals.documents > 100, "{text}");
    assert_eq!(report.totals.identical, report.totals.documents, "{text}");
    assert_eq!(report.totals.in_gaps, 0, "{text}");
    assert_eq!(report.totals.tables_ok, report.totals.tables, "{text}");
    assert!(report.totals.money_buckets > 0, "{text}");
    let json = report.to_json();
    assert_eq!(json["ok"], true);
    assert_eq!(json["totals"]["mismatches"], 0);

    // A second run in the same session starts from empty `expect_` tables.
    let again = run_verify(&mut client);
    assert!(again.ok(), "{again}");
    assert_eq!(again.totals.money_buckets, report.totals.money_buckets);
}

#[test]
fn a_changed_amount_fails_the_document_and_its_money_bucket() {
    let mut s = setup();
    let id: String = s
        .client
        .query_one(
            "UPDATE payments SET amount = amount + 1
             WHERE legacy_object_id = (SELECT min(legacy_object_id) FROM payments)
             RETURNING legacy_object_id",
            &[],
        )
        .expect("a payment")
        .get(0);
    let (report, new) = s.verify();
    let text = report.to_string();
    assert!(!report.ok(), "{text}");
    assert_eq!(new.len(), 2, "{text}");
    assert!(
        new.iter().any(|(c, m)| c == "payments"
            && matches!(m, Mismatch::Document { legacy_object_id, path, dump, postgres, .. }
                if *legacy_object_id == id && path == "amount"
                    && dump.starts_with("Decimal128(") && postgres.starts_with("Decimal128(")
                    && dump != postgres)),
        "{text}"
    );
    assert!(
        new.iter().any(|(c, m)| c == "payments"
            && matches!(m, Mismatch::Money { table, column, bucket, .. }
                if table == "payments" && column == "amount"
                    && bucket.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>()
                        == ["provider", "status", "day"])),
        "{text}"
    );
    assert!(
        text.contains(&format!("  payments {id}: amount: dump Decimal128(\"")),
        "{text}"
    );
    assert!(
        text.contains("  payments: money payments provider="),
        "{text}"
    );
    assert!(
        text.trim_end().ends_with(&format!(
            "verify: FAILED ({} mismatches)",
            s.mismatch_count() + 2
        )),
        "{text}"
    );
    assert!(
        collection(&report, "payments").tables.iter().all(|t| t.ok),
        "{text}"
    );

    let json = report.to_json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["totals"]["mismatches"], s.mismatch_count() + 2);
    let payments = json["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["collection"] == "payments")
        .unwrap();
    let listed = payments["mismatches"].as_array().unwrap();
    assert!(
        listed.iter().any(|m| m["kind"] == "document"
            && m["legacy_object_id"] == id.as_str()
            && m["path"] == "amount"
            && m["dump_sha256"] != m["postgres_sha256"]),
        "{listed:?}"
    );
    assert!(
        listed.iter().any(|m| m["kind"] == "money"
            && m["table"] == "payments"
            && m["column"] == "amount"
            && m["bucket"]["provider"].is_string()
            && m["bucket"]["status"].is_string()
            && m["bucket"]["day"].is_string()),
        "{listed:?}"
    );

    // With an open gap the divergence is known: the document is in the gaps, and its stored
    // rows are what the money sums expect.
    s.client
        .execute(
            "INSERT INTO pg_dualwrite_gaps (collection, legacy_object_id, operation, error)
             VALUES ('payments', $1, 'update', 'test: the update failed')",
            &[&id],
        )
        .unwrap();
    let (report, new) = s.verify();
    let text = report.to_string();
    assert!(new.is_empty(), "{text}");
    assert_eq!(report.totals.mismatches, s.mismatch_count(), "{text}");
    let payments = collection(&report, "payments");
    assert_eq!(payments.in_gaps, 1, "{text}");
    assert_eq!(payments.identical + 1, payments.documents, "{text}");
}

#[test]
fn a_deleted_child_row_fails_count_parity() {
    let mut s = setup();
    let deleted = s
        .client
        .execute(
            "DELETE FROM user_passkeys WHERE id = (SELECT id FROM user_passkeys ORDER BY id LIMIT 1)",
            &[],
        )
        .unwrap();
    assert_eq!(deleted, 1, "the fixtures have user passkeys");
    let (report, new) = s.verify();
    let text = report.to_string();
    assert!(!report.ok(), "{text}");
    let passkeys = collection(&report, "users")
        .tables
        .iter()
        .find(|t| t.table == "user_passkeys")
        .unwrap();
    assert!(!passkeys.ok, "{text}");
    assert_eq!(passkeys.dump_rows, passkeys.postgres_rows + 1, "{text}");
    assert!(
        new.iter().any(|(c, m)| c == "users"
            && matches!(m, Mismatch::Count { table, .. } if table == "user_passkeys")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "  users: table user_passkeys: dump {} rows, postgres {} rows",
            passkeys.dump_rows, passkeys.postgres_rows
        )),
        "{text}"
    );
    // The document that lost its passkey differs too, and nothing else does.
    assert!(
        new.iter().any(|(c, m)| c == "users"
            && matches!(m, Mismatch::Document { path, .. } if path.starts_with("passkeys"))),
        "{text}"
    );
    assert_eq!(new.len(), 2, "{text}");
}

#[test]
fn a_row_that_is_not_in_the_dump_fails_count_parity() {
    let mut s = setup();
    s.client
        .batch_execute(
            "CREATE TEMP TABLE extra AS
                 SELECT * FROM users ORDER BY legacy_object_id LIMIT 1;
             UPDATE extra SET id = gen_random_uuid(), legacy_object_id = 'ffffffffffffffffffffffff',
                 email = NULL, username = NULL, telegram_id = NULL,
                 referral_code = 'extra-' || referral_code;
             INSERT INTO users SELECT * FROM extra;",
        )
        .unwrap();
    let (report, new) = s.verify();
    let text = report.to_string();
    assert!(!report.ok(), "{text}");
    assert_eq!(new.len(), 1, "{text}");
    assert!(
        matches!(&new[0], (c, Mismatch::Count { table, dump_rows, postgres_rows })
            if c == "users" && table == "users" && *postgres_rows == dump_rows + 1),
        "{text}"
    );
    assert!(text.contains("  users: table users: dump "), "{text}");
}

#[test]
fn a_missing_document_is_a_mismatch_unless_it_has_an_open_gap() {
    let mut s = setup();
    let id: String = s
        .client
        .query_one(
            "DELETE FROM reviews WHERE legacy_object_id = (SELECT min(legacy_object_id) FROM reviews)
             RETURNING legacy_object_id",
            &[],
        )
        .unwrap()
        .get(0);
    let (report, new) = s.verify();
    let text = report.to_string();
    assert!(!report.ok(), "{text}");
    assert_eq!(new.len(), 1, "{text}");
    assert!(
        matches!(&new[0], (c, Mismatch::Missing { legacy_object_id })
            if c == "reviews" && *legacy_object_id == id),
        "{text}"
    );
    assert!(
        text.contains(&format!("  reviews {id}: missing from postgres")),
        "{text}"
    );

    s.client
        .execute(
            "INSERT INTO pg_dualwrite_gaps (collection, legacy_object_id, operation, error)
             VALUES ('reviews', $1, 'insert', 'test: the write failed')",
            &[&id],
        )
        .unwrap();
    let (report, new) = s.verify();
    let text = report.to_string();
    assert!(new.is_empty(), "{text}");
    assert_eq!(report.totals.mismatches, s.mismatch_count(), "{text}");
    let reviews = collection(&report, "reviews");
    assert_eq!(reviews.in_gaps, 1, "{text}");
    assert_eq!(reviews.identical + 1, reviews.documents, "{text}");
    assert!(reviews.tables.iter().all(|t| t.ok), "{text}");
}
