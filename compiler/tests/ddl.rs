//! The DDL of the escrow catalogue (models/): the generated SQL as a reviewer reads it (insta),
//! every statement parsed by sqlparser's PostgreSQL dialect, and PostgreSQL itself as the judge:
//! the history applies to an empty database, the live schema matches the last snapshot, and the
//! plan's constraints hold.

use std::path::Path;

use postgres::Client;
use schemac::db::Database;
use schemac::history;
use schemac_testdb::TestDb;

fn models() -> schemac::ir::Catalogue {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let v = schemac::validate_dir(&dir).expect("models/ is readable");
    let rendered = schemac::diag::render_human(&v.diagnostics, &v.sources, false);
    v.catalogue
        .unwrap_or_else(|| panic!("models/ is invalid:\n{rendered}"))
}

fn migrations_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../generated/migrations")
}

/// The initial migration of the catalogue, planned in memory.
fn initial_sql() -> String {
    let cat = models();
    let (db, renames) = schemac::migrate::target(&cat);
    let at = schemac::migrate::Position {
        version: 1,
        parent: None,
        name: "initial",
        command: "schemac generate",
    };
    let planned = schemac::migrate::plan(
        &Database::default(),
        &db,
        &renames,
        &at,
        &Default::default(),
    )
    .expect("an initial migration has nothing to refuse")
    .expect("the catalogue is not empty");
    assert_eq!(planned.files.len(), 1, "a fresh schema is one migration");
    planned.files[0].sql.clone()
}

#[test]
fn initial_migration_reads_as_reviewed() {
    insta::assert_snapshot!("0001_initial.sql", initial_sql());
    insta::assert_snapshot!("ttl_cleanup.sql", schemac::ttl::cleanup_sql(&models()));
}

#[test]
fn committed_history_ends_at_the_catalogue() {
    let h = history::read(&migrations_dir()).expect("generated/migrations is readable");
    assert!(history::verify(&h).is_empty(), "{:?}", history::verify(&h));
    let last = schemac::migrate::last_snapshot(&h).expect("the last snapshot parses");
    let (target, renames) = schemac::migrate::target(&models());
    let changes = schemac::migrate::diff(&last, &target, &renames);
    assert!(
        changes.is_empty(),
        "regenerating with the unchanged catalogue must be an empty diff: {changes:#?}"
    );
}

/// Statement kinds sqlparser 0.63 cannot parse, listed rather than skipped silently:
/// `COMMENT ON FUNCTION f()` (it takes no argument list). sqlparser parses `CREATE FUNCTION` but
/// not the plpgsql body between `$$`: PostgreSQL's plpgsql validator checks those when the
/// tests below apply the history.
const UNPARSED_KINDS: &[&str] = &["COMMENT ON FUNCTION"];

#[test]
fn every_statement_parses_with_sqlparser() {
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;
    let mut sql = initial_sql();
    sql.push_str(&schemac::ttl::cleanup_sql(&models()));
    let mut unparsed = std::collections::BTreeMap::<&str, usize>::new();
    let mut parsed = 0;
    for stmt in history::split_statements(&sql) {
        let body: String = stmt
            .lines()
            .filter(|l| !l.trim_start().starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n");
        match Parser::parse_sql(&PostgreSqlDialect {}, &body) {
            Ok(_) => parsed += 1,
            Err(e) => {
                let kind = UNPARSED_KINDS
                    .iter()
                    .find(|k| body.starts_with(*k))
                    .unwrap_or_else(|| panic!("sqlparser rejects:\n{body}\n{e}"));
                *unparsed.entry(kind).or_default() += 1;
            }
        }
    }
    assert!(parsed > 700, "only {parsed} statements parsed");
    // Each listed kind really occurs and really fails (else the list is stale).
    for kind in UNPARSED_KINDS {
        assert!(
            unparsed.contains_key(kind),
            "{kind} parsed after all: drop it from the list"
        );
    }
}

/// Columns by name, expressions blanked: what must match between a snapshot (the catalogue's
/// spelling) and pg_catalog (Postgres' canonical spelling of the same expressions).
fn structure(db: &Database) -> Database {
    let mut db = db.clone();
    db.tables.sort_by(|a, b| a.name.cmp(&b.name));
    db.enums.sort_by(|a, b| a.name.cmp(&b.name));
    for t in &mut db.tables {
        t.columns.sort_by(|a, b| a.name.cmp(&b.name));
        for c in &mut t.columns {
            c.default = c.default.as_ref().map(|_| String::new());
        }
        for c in &mut t.checks {
            c.expression.clear();
        }
    }
    for i in &mut db.indexes {
        i.predicate = i.predicate.as_ref().map(|_| String::new());
        for k in &mut i.keys {
            if k.starts_with('(') {
                k.clear();
            }
        }
    }
    db
}

fn applied() -> (TestDb, Client, Database) {
    let db = TestDb::new();
    let mut client = db.client();
    let h = history::read(&migrations_dir()).expect("generated/migrations is readable");
    schemac::apply::apply(&mut client, &h, |_, _| {}).unwrap_or_else(|e| panic!("{e}"));
    let snapshot = schemac::migrate::last_snapshot(&h).expect("snapshot");
    (db, client, snapshot)
}

#[test]
fn history_applies_and_the_live_schema_matches_the_snapshot() {
    let (_db, mut client, snapshot) = applied();
    let live = schemac::introspect::introspect(&mut client, "public").expect("introspect");
    let report = schemac::introspect::diff_report(&structure(&snapshot), &structure(&live));
    assert!(
        report.is_empty(),
        "live schema != snapshot:\n{}",
        report.join("\n")
    );
    // Re-running applies nothing.
    let h = history::read(&migrations_dir()).unwrap();
    let again = schemac::apply::apply(&mut client, &h, |_, _| {}).expect("re-run");
    assert!(again.applied.is_empty());
}

fn err(client: &mut Client, sql: &str) -> String {
    match client.batch_execute(sql) {
        Ok(()) => panic!("Postgres accepted what it must refuse:\n{sql}"),
        Err(e) => e
            .as_db_error()
            .map(|d| d.message().to_string())
            .unwrap_or_else(|| e.to_string()),
    }
}

const USER: &str = "INSERT INTO users (id, legacy_object_id, username, email, referral_code)
    VALUES ('00000000-0000-7000-8000-000000000001', '650000000000000000000001', 'ann', 'ann@example.com', 'ANN1')";

#[test]
fn constraints_hold_in_postgres() {
    let (_db, mut c, snapshot) = applied();

    // Append-only ledger: UPDATE, DELETE and TRUNCATE fail.
    let ledger = snapshot
        .table("funds_ledger_entries")
        .expect("ledger table");
    let required: Vec<&str> = ledger
        .columns
        .iter()
        .filter(|c| !c.nullable && c.default.is_none())
        .map(|c| c.name.as_str())
        .collect();
    assert!(required.contains(&"amount"));
    c.batch_execute(USER).expect("a user");
    let insert = ledger_insert(&snapshot);
    c.batch_execute(&insert)
        .unwrap_or_else(|e| panic!("{insert}\n{e:?}"));
    for stmt in [
        "UPDATE funds_ledger_entries SET amount = amount + 1",
        "DELETE FROM funds_ledger_entries",
        "TRUNCATE funds_ledger_entries",
    ] {
        let msg = err(&mut c, stmt);
        assert!(msg.contains("append-only"), "{stmt}: {msg}");
    }

    // A polymorphic triple breaking its CHECK: kind entity without an id.
    let broken = insert
        .replace("'template'", "'entity'")
        .replace("650000000000000000000099", "650000000000000000000098");
    let msg = err(&mut c, &broken);
    assert!(msg.contains("check constraint"), "{msg}");

    // One primary address per user.
    let addr = |n: u8| {
        format!(
            "INSERT INTO addresses (id, legacy_object_id, user_id, full_name, line1, city, country, is_primary)
             VALUES (gen_random_uuid(), '6500000000000000000001{n:02}', '00000000-0000-7000-8000-000000000001', 'Ann', 'Main St 1', 'Oslo', 'NO', true)"
        )
    };
    c.batch_execute(&addr(1)).expect("a first primary address");
    let msg = err(&mut c, &addr(2));
    assert!(msg.contains("addresses_user_id_one_primary_key"), "{msg}");

    // Two active categories named `Books` and ` books `.
    let cat = |n: u8, name: &str| {
        format!(
            "INSERT INTO categories (id, legacy_object_id, name, slug) VALUES (gen_random_uuid(), '6500000000000000000002{n:02}', '{name}', 'books-{n}')"
        )
    };
    c.batch_execute(&cat(1, "Books")).expect("a first category");
    let msg = err(&mut c, &cat(2, " books "));
    assert!(msg.contains("categories_active_name_norm_uq"), "{msg}");

    // Money is numeric(38,18); telegram ids take 2^40.
    let ty: String = c
        .query_one(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'payments'::regclass AND attname = 'amount'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(ty, "numeric(38,18)");
    c.batch_execute(&format!(
        "UPDATE users SET telegram_id = {} WHERE username = 'ann'",
        1_i64 << 40
    ))
    .expect("2^40 fits a telegram id");
}

/// An INSERT of one ledger row: every NOT NULL column without a default gets a plain value,
/// polymorphic references are `template` kind with an external ref.
fn ledger_insert(snapshot: &Database) -> String {
    let t = snapshot.table("funds_ledger_entries").unwrap();
    let mut cols = Vec::new();
    let mut vals = Vec::new();
    for c in &t.columns {
        if c.nullable || c.default.is_some() {
            continue;
        }
        let v = match (c.name.as_str(), c.ty.as_str()) {
            ("id", _) => "gen_random_uuid()".to_string(),
            ("legacy_object_id", _) => "'650000000000000000000099'".into(),
            (n, "ref_kind") if n.ends_with("_ref_kind") => "'template'".into(),
            (_, "uuid") => "'00000000-0000-7000-8000-000000000001'".into(),
            (_, "text") => "'x'".into(),
            (_, "timestamptz") => "now()".into(),
            (_, "boolean") => "false".into(),
            (_, t) if t.starts_with("numeric") || t.starts_with("int") => "1".into(),
            (_, e) => {
                let first = snapshot
                    .enum_type(e)
                    .unwrap_or_else(|| panic!("no type {e}"))
                    .values[0]
                    .clone();
                format!("'{first}'")
            }
        };
        cols.push(c.name.clone());
        vals.push(v);
        if let Some(base) = c.name.strip_suffix("_ref_kind") {
            cols.push(format!("{base}_external_ref"));
            vals.push("'ext-1'".into());
        }
    }
    format!(
        "INSERT INTO funds_ledger_entries ({}) VALUES ({})",
        cols.join(", "),
        vals.join(", ")
    )
}
