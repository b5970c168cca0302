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
    let report = schemac::introspect::diff_report(
        &schemac::introspect::structure(&snapshot),
        &schemac::introspect::structure(&live),
    );
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
    c.batch_execute(USER).expect("a user");
    insert(
        &mut c,
        &snapshot,
        "funds_ledger_entries",
        &[("amount", "12.5")],
    );
    for stmt in [
        "UPDATE funds_ledger_entries SET amount = amount + 1",
        "DELETE FROM funds_ledger_entries",
        "TRUNCATE funds_ledger_entries",
    ] {
        let msg = err(&mut c, stmt);
        assert!(msg.contains("append-only"), "{stmt}: {msg}");
    }

    // A polymorphic triple breaking its CHECK: kind entity without an id.
    let (_, broken) = row_sql(
        &mut c,
        &snapshot,
        "funds_ledger_entries",
        &[("created_by_ref_kind", "'entity'")],
    );
    let msg = err(&mut c, &broken);
    assert!(
        msg.contains("funds_ledger_entries_created_by_check"),
        "{msg}"
    );

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

/// Inserts one row into `table` and returns its id; see [`row_sql`].
fn insert(c: &mut Client, snapshot: &Database, table: &str, set: &[(&str, &str)]) -> String {
    let (id, sql) = row_sql(c, snapshot, table, set);
    c.batch_execute(&sql)
        .unwrap_or_else(|e| panic!("{sql}\n{:?}", e.as_db_error()));
    id
}

/// The INSERT of one row into `table`, and its id: `set` gives columns and SQL values; every
/// other NOT NULL column without a default gets a plain value (a referenced row is inserted
/// first, a polymorphic reference is `template` kind with an external ref).
fn row_sql(
    c: &mut Client,
    snapshot: &Database,
    table: &str,
    set: &[(&str, &str)],
) -> (String, String) {
    let t = snapshot
        .table(table)
        .unwrap_or_else(|| panic!("no table {table}"));
    let id: String = c
        .query_one("SELECT gen_random_uuid()::text", &[])
        .unwrap()
        .get(0);
    let legacy = format!(
        "{:024x}",
        u128::from_str_radix(&id.replace('-', "")[8..], 16).unwrap()
    );
    let mut cols: Vec<String> = set.iter().map(|(k, _)| k.to_string()).collect();
    let mut vals: Vec<String> = set.iter().map(|(_, v)| v.to_string()).collect();
    for col in &t.columns {
        if col.nullable || col.default.is_some() || cols.contains(&col.name) {
            continue;
        }
        let fk = t
            .foreign_keys
            .iter()
            .find(|f| f.columns == [col.name.clone()]);
        let v = match (col.name.as_str(), col.ty.as_str(), fk) {
            ("id", ..) => format!("'{id}'"),
            ("legacy_object_id", ..) => format!("'{legacy}'"),
            (_, _, Some(fk)) if fk.references == table => format!("'{id}'"),
            (_, _, Some(fk)) => format!("'{}'", insert(c, snapshot, &fk.references.clone(), &[])),
            (n, "ref_kind", _) => {
                let base = n.strip_suffix("_ref_kind").expect("a polymorphic kind");
                cols.push(format!("{base}_external_ref"));
                vals.push("'ext-1'".into());
                "'template'".into()
            }
            (_, "uuid", _) => "gen_random_uuid()".into(),
            (_, "text", _) => format!("'{}-{}'", col.name, &id[..8]),
            (_, "timestamptz", _) => "now()".into(),
            (_, "boolean", _) => "false".into(),
            (_, "jsonb", _) => "'{}'".into(),
            (_, ty, _) if ty.ends_with("[]") => "'{}'".into(),
            (_, ty, _) if ty.starts_with("numeric") || ty.starts_with("int") || ty == "float8" => {
                "1".into()
            }
            (_, e, _) => {
                let first = &snapshot
                    .enum_type(e)
                    .unwrap_or_else(|| panic!("no type {e}"))
                    .values[0];
                format!("'{first}'")
            }
        };
        cols.push(col.name.clone());
        vals.push(v);
    }
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        cols.join(", "),
        vals.join(", ")
    );
    (id, sql)
}

fn text(c: &mut Client, sql: &str) -> Option<String> {
    c.query_one(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
        .get(0)
}

#[test]
fn hooks_become_triggers_that_keep_what_a_writer_set() {
    let (_db, mut c, s) = applied();

    // BlogPost slug: derived when absent, re-derived when the title changes alone, kept when set.
    let post = insert(
        &mut c,
        &s,
        "blog_posts",
        &[("title", "'  Hello, World! 2026 '")],
    );
    let slug = |c: &mut Client| {
        text(
            c,
            &format!("SELECT slug FROM blog_posts WHERE id = '{post}'"),
        )
    };
    assert_eq!(slug(&mut c).as_deref(), Some("hello-world-2026"));
    c.batch_execute(&format!(
        "UPDATE blog_posts SET title = 'Élan & Co' WHERE id = '{post}'"
    ))
    .unwrap();
    assert_eq!(
        slug(&mut c).as_deref(),
        Some("lan-co"),
        "as the JS regex: non a-z0-9 runs become '-'"
    );
    c.batch_execute(&format!(
        "UPDATE blog_posts SET title = 'Other', slug = 'kept-by-writer' WHERE id = '{post}'"
    ))
    .unwrap();
    assert_eq!(slug(&mut c).as_deref(), Some("kept-by-writer"));

    // Dispute timeline: `opened` on insert, `status_changed` + resolvedAt on a status change,
    // nothing added when the writer (a mirrored Mongo document) already appended.
    let d = insert(&mut c, &s, "disputes", &[]);
    let timeline = |c: &mut Client| {
        text(
            c,
            &format!(
                "SELECT string_agg(e->>'action' || ':' || (e->>'toStatus'), ',') FROM disputes, jsonb_array_elements(timeline) e WHERE id = '{d}'"
            ),
        )
    };
    assert_eq!(timeline(&mut c).as_deref(), Some("opened:open"));
    c.batch_execute(&format!(
        "UPDATE disputes SET status = 'resolved' WHERE id = '{d}'"
    ))
    .unwrap();
    assert_eq!(
        timeline(&mut c).as_deref(),
        Some("opened:open,status_changed:resolved")
    );
    let resolved = text(
        &mut c,
        &format!("SELECT (resolved_at IS NOT NULL)::text FROM disputes WHERE id = '{d}'"),
    );
    assert_eq!(resolved.as_deref(), Some("true"));
    let at = text(
        &mut c,
        &format!("SELECT timeline->1->'at'->>'$date' FROM disputes WHERE id = '{d}'"),
    )
    .unwrap();
    assert!(
        at.len() == 24 && at.ends_with('Z') && at.as_bytes()[10] == b'T',
        "`at` is a relaxed Extended JSON date, {{\"$date\": toISOString()}}: {at}"
    );
    c.batch_execute(&format!(
        "UPDATE disputes SET status = 'closed', timeline = timeline || '[{{\"action\":\"status_changed\",\"toStatus\":\"closed\"}}]' WHERE id = '{d}'"
    ))
    .unwrap();
    assert_eq!(
        timeline(&mut c).as_deref(),
        Some("opened:open,status_changed:resolved,status_changed:closed"),
        "a writer's own entry is not doubled"
    );

    // PurchaseRequest: publishedAt is stamped once, completedAt every time.
    let pr = insert(&mut c, &s, "purchase_requests", &[("status", "'draft'")]);
    c.batch_execute(&format!(
        "UPDATE purchase_requests SET published_at = '2020-01-01T00:00:00Z' WHERE id = '{pr}';
         UPDATE purchase_requests SET status = 'open' WHERE id = '{pr}'"
    ))
    .unwrap();
    let published = text(
        &mut c,
        &format!(
            "SELECT to_char(published_at AT TIME ZONE 'UTC', 'YYYY') FROM purchase_requests WHERE id = '{pr}'"
        ),
    );
    assert_eq!(
        published.as_deref(),
        Some("2020"),
        "stamp_once keeps an earlier publishedAt"
    );
    let history = text(
        &mut c,
        &format!(
            "SELECT string_agg(e->>'status', ',') FROM purchase_requests, jsonb_array_elements(status_history) e WHERE id = '{pr}'"
        ),
    );
    assert_eq!(history.as_deref(), Some("open"));
}

#[test]
fn ttl_cleanup_deletes_expired_rows_only() {
    let (_db, mut c, s) = applied();
    let old = insert(
        &mut c,
        &s,
        "notifications",
        &[("created_at", "now() - interval '91 days'")],
    );
    let fresh = insert(
        &mut c,
        &s,
        "notifications",
        &[("created_at", "now() - interval '89 days'")],
    );
    let gone = insert(
        &mut c,
        &s,
        "temp_verifications",
        &[("expires_at", "now() - interval '1 second'")],
    );
    let alive = insert(
        &mut c,
        &s,
        "temp_verifications",
        &[("expires_at", "now() + interval '1 hour'")],
    );
    c.batch_execute(&schemac::ttl::cleanup_sql(&models()))
        .expect("the cleanup script runs");
    let ids = text(
        &mut c,
        "SELECT string_agg(id::text, ',' ORDER BY id) FROM (SELECT id FROM notifications UNION ALL SELECT id FROM temp_verifications) x",
    )
    .unwrap();
    assert!(ids.contains(&fresh) && ids.contains(&alive), "{ids}");
    assert!(!ids.contains(&old) && !ids.contains(&gone), "{ids}");
    // The DELETEs find expired rows through the TTL column's index.
    let plan: Vec<String> = c
        .query(
            "EXPLAIN (COSTS OFF) SELECT ctid FROM notifications WHERE created_at < now() - interval '90 days' LIMIT 1000",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    c.batch_execute("SET enable_seqscan = off").unwrap();
    let indexed: Vec<String> = c
        .query(
            "EXPLAIN (COSTS OFF) SELECT ctid FROM notifications WHERE created_at < now() - interval '90 days' LIMIT 1000",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        indexed.join("\n").contains("notifications_created_at_idx"),
        "no usable index: {indexed:?} (default plan {plan:?})"
    );
}

#[test]
fn a_retried_gap_bumps_attempts_instead_of_duplicating() {
    let (_db, mut c, _) = applied();
    let gap = "INSERT INTO pg_dualwrite_gaps (collection, legacy_object_id, operation, error)
               VALUES ('payments', '650000000000000000000001', 'backfill', 'amount: expected decimal')
               ON CONFLICT (collection, legacy_object_id, operation) WHERE resolved_at IS NULL
               DO UPDATE SET attempts = pg_dualwrite_gaps.attempts + 1, last_failed_at = now(), error = EXCLUDED.error";
    c.batch_execute(gap).unwrap();
    c.batch_execute(gap).unwrap();
    assert_eq!(
        text(
            &mut c,
            "SELECT count(*)::text || '/' || max(attempts) FROM pg_dualwrite_gaps"
        )
        .as_deref(),
        Some("1/2")
    );
    let msg = err(
        &mut c,
        "INSERT INTO id_map (collection, legacy_object_id, id) VALUES ('payments', 'not-an-objectid', gen_random_uuid())",
    );
    assert!(msg.contains("id_map_legacy_object_id_check"), "{msg}");
}
