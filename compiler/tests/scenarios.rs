//! A scenario suite: a small catalogue (customers and their orders) edited step by step, each
//! step planned with `migrate::next` into one temporary migration directory, its SQL snapshotted,
//! written and applied to one database that holds rows inserted at the start; the rows are
//! checked after every step, and the database the history built is compared at the end with the
//! last snapshot and with a fresh database created from that snapshot in one go.
//! Also: a forked history detected and rebased, and an edited migration refused.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use postgres::Client;
use schemac::db::Database;
use schemac::history::{self, Problem};
use schemac::introspect::{diff_report, introspect, structure};
use schemac::ir::Catalogue;
use schemac::migrate::{self, Allow, MigrateError, Planned, Position};
use schemac_testdb::TestDb;

// ---------------------------------------------------------------------------------------------
// The catalogue, version 0, and the edits of each step.

const CUSTOMER_V0: &str = r#"model: Customer
collection: customers
phase: 1
version_key: none
enums:
  customer_tier: [basic, gold]
fields:
  email: { bson: string, required: true }
  nickname: { bson: string }
  tier: { bson: string, enum: customer_tier, default: basic }
"#;

const ORDER_V0: &str = r#"model: Order
collection: orders
phase: 1
version_key: none
enums:
  order_status: [draft, placed, shipped]
fields:
  customerId: { bson: objectId, ref: Customer, required: true }
  assigneeId: { bson: objectId }
  status: { bson: string, enum: order_status, default: draft }
  total: { bson: decimal128, pg: money, required: true }
  code: { bson: string, required: true }
  memo: { bson: string }
  tags: { bson: array, items: string, store: array, default: [] }
"#;

/// The two model files, as text.
#[derive(Clone)]
struct Yaml {
    customer: String,
    order: String,
}

impl Yaml {
    fn v0() -> Yaml {
        Yaml {
            customer: CUSTOMER_V0.to_string(),
            order: ORDER_V0.to_string(),
        }
    }

    /// Replaces `from` (which must occur exactly once in one of the files) by `to`.
    fn edit(&self, from: &str, to: &str) -> Yaml {
        let mut y = self.clone();
        let hits = y.customer.matches(from).count() + y.order.matches(from).count();
        assert_eq!(hits, 1, "`{from}` must occur once in the catalogue");
        y.customer = y.customer.replace(from, to);
        y.order = y.order.replace(from, to);
        y
    }

    fn catalogue(&self) -> Catalogue {
        let files = [
            ("customer.yaml", self.customer.as_str()),
            ("order.yaml", self.order.as_str()),
        ];
        // An emptied file is a model removed from the catalogue.
        let kept: Vec<_> = files.into_iter().filter(|(_, t)| !t.is_empty()).collect();
        catalogue(&kept)
    }
}

fn catalogue(files: &[(&str, &str)]) -> Catalogue {
    let v = schemac::validate_sources(
        files
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect(),
    );
    match v.catalogue {
        Some(c) => c,
        None => panic!("invalid catalogue: {:#?}", v.diagnostics),
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// A fresh directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> TempDir {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "schemac-scenarios-{what}-{}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const COMMAND: &str = "schemac migrate new (scenarios test)";

/// Every file of a plan, its name then its SQL, for a snapshot.
fn render(planned: &Planned) -> String {
    let mut s = String::new();
    for f in &planned.files {
        s.push_str(&format!("==> {}.sql\n{}\n", f.name, f.sql));
    }
    s
}

fn names(planned: &Planned) -> Vec<&str> {
    planned.files.iter().map(|f| f.name.as_str()).collect()
}

/// The SQL of the plan's file named `name`.
fn sql<'a>(planned: &'a Planned, name: &str) -> &'a str {
    planned
        .files
        .iter()
        .find(|f| f.name == name)
        .map(|f| f.sql.as_str())
        .unwrap_or_else(|| panic!("no file {name} in {:?}", names(planned)))
}

/// Plans the next migration, expecting one.
fn next(dir: &Path, yaml: &Yaml, name: &str, allow: &Allow) -> Planned {
    match migrate::next(dir, &yaml.catalogue(), name, allow, COMMAND) {
        Ok(Some(p)) => p,
        Ok(None) => panic!("{name}: no change planned"),
        Err(e) => panic!("{name}: {e}"),
    }
}

/// Writes the plan and applies the directory; returns the names applied by this run.
fn write_and_apply(dir: &Path, planned: &Planned, client: &mut Client) -> Vec<String> {
    migrate::write(dir, planned).expect("write");
    let history = history::read(dir).expect("read history");
    assert!(
        history::verify(&history).is_empty(),
        "{:#?}",
        history::verify(&history)
    );
    let report = schemac::apply::apply(client, &history, |_, _| {})
        .unwrap_or_else(|e| panic!("apply {:?}: {e}", names(planned)));
    let applied: Vec<String> = report.applied.iter().map(|a| a.name.clone()).collect();
    assert_eq!(
        applied,
        names(planned),
        "apply must run exactly the new files"
    );
    applied
}

/// Every row of a query whose columns are all `text` (cast them), NULL as `None`.
fn rows(client: &mut Client, query: &str) -> Vec<Vec<Option<String>>> {
    client
        .query(query, &[])
        .unwrap_or_else(|e| panic!("{query}: {e}"))
        .iter()
        .map(|r| {
            (0..r.len())
                .map(|i| r.get::<_, Option<String>>(i))
                .collect()
        })
        .collect()
}

fn row(values: &[Option<&str>]) -> Vec<Option<String>> {
    values.iter().map(|v| v.map(str::to_string)).collect()
}

const C1: &str = "00000000-0000-4000-8000-0000000000c1";
const C2: &str = "00000000-0000-4000-8000-0000000000c2";
const O1: &str = "00000000-0000-4000-8000-0000000000a1";
const O2: &str = "00000000-0000-4000-8000-0000000000a2";
const O3: &str = "00000000-0000-4000-8000-0000000000a3";

/// The customers as the scenario expects them after each step (columns that exist from the
/// start: id, legacy id, email, tier; the renamed nickname is checked by its new name).
fn check_customers(client: &mut Client, name_column: &str) {
    let got = rows(
        client,
        &format!(
            "SELECT id::text, legacy_object_id, email, {name_column}, tier::text
             FROM customers ORDER BY id"
        ),
    );
    assert_eq!(
        got,
        vec![
            row(&[
                Some(C1),
                Some("65a000000000000000000c01"),
                Some("ada@example.com"),
                Some("Ada"),
                Some("gold"),
            ]),
            row(&[
                Some(C2),
                Some("65a000000000000000000c02"),
                Some("bob@example.com"),
                None,
                Some("basic"),
            ]),
        ],
        "customers changed"
    );
}

/// The orders inserted at the start (those columns that live through every step).
fn check_orders(client: &mut Client) {
    let got = rows(
        client,
        &format!(
            "SELECT id::text, legacy_object_id, customer_id::text, assignee_id::text,
                    total::text, tags::text
             FROM orders WHERE id IN ('{O1}', '{O2}') ORDER BY id"
        ),
    );
    assert_eq!(
        got,
        vec![
            row(&[
                Some(O1),
                Some("65a000000000000000000a01"),
                Some(C1),
                Some(C2),
                Some("12.500000000000000000"),
                Some("{gift,rush}"),
            ]),
            row(&[
                Some(O2),
                Some("65a000000000000000000a02"),
                Some(C2),
                None,
                Some("0.000000000000000001"),
                Some("{}"),
            ]),
        ],
        "orders changed"
    );
}

fn column(client: &mut Client, table: &str, column: &str) -> Option<(String, bool)> {
    client
        .query_opt(
            "SELECT data_type::text, is_nullable = 'YES' FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name = $1 AND column_name = $2",
            &[&table, &column],
        )
        .unwrap()
        .map(|r| (r.get(0), r.get(1)))
}

/// Columns sorted by name (Postgres keeps creation order, a snapshot the catalogue's).
fn sorted(db: &Database) -> Database {
    let mut db = db.clone();
    for t in &mut db.tables {
        t.columns.sort_by(|a, b| a.name.cmp(&b.name));
    }
    db
}

fn codes(problems: &[Problem]) -> Vec<(&'static str, String)> {
    problems.iter().map(|p| (p.code, p.file.clone())).collect()
}

// ---------------------------------------------------------------------------------------------
// The scenario.

#[test]
fn catalogue_edits_migrate_a_live_database() {
    let tmp = TempDir::new("steps");
    let dir = tmp.path();
    let db = TestDb::new();
    let mut client = db.client();
    let none = Allow::default();

    // 0. The initial migration, then rows.
    let y0 = Yaml::v0();
    let p = next(dir, &y0, "initial", &none);
    assert_eq!(names(&p), ["0001_initial"]);
    assert!(p.findings.is_empty(), "{:?}", p.findings);
    insta::assert_snapshot!("00_initial", render(&p));
    write_and_apply(dir, &p, &mut client);
    client
        .batch_execute(&format!(
            "INSERT INTO customers (id, legacy_object_id, email, nickname, tier) VALUES
                ('{C1}', '65a000000000000000000c01', 'ada@example.com', 'Ada', 'gold'),
                ('{C2}', '65a000000000000000000c02', 'bob@example.com', NULL, DEFAULT);
             INSERT INTO orders (id, legacy_object_id, customer_id, assignee_id, status, total,
                                 code, memo, tags) VALUES
                ('{O1}', '65a000000000000000000a01', '{C1}', '{C2}', 'placed', 12.5,
                 'A-1', 'leave at the door', ARRAY['gift', 'rush']),
                ('{O2}', '65a000000000000000000a02', '{C2}', NULL, DEFAULT, 0.000000000000000001,
                 'B-2', NULL, DEFAULT);"
        ))
        .expect("insert rows");
    check_customers(&mut client, "nickname");
    check_orders(&mut client);

    // 1. An optional field: a nullable column.
    let y1 = y0.edit(
        "  nickname: { bson: string }\n",
        "  nickname: { bson: string }\n  phone: { bson: string }\n",
    );
    let p = next(dir, &y1, "add_phone", &none);
    assert_eq!(names(&p), ["0002_add_phone"]);
    let s = sql(&p, "0002_add_phone");
    assert!(
        s.contains(r#"ALTER TABLE customers ADD COLUMN phone text;"#),
        "{s}"
    );
    insta::assert_snapshot!("01_add_optional_field", render(&p));
    write_and_apply(dir, &p, &mut client);
    assert_eq!(
        column(&mut client, "customers", "phone"),
        Some(("text".into(), true))
    );
    assert_eq!(
        rows(
            &mut client,
            "SELECT count(*)::text FROM customers WHERE phone IS NULL"
        ),
        [row(&[Some("2")])]
    );
    check_customers(&mut client, "nickname");
    check_orders(&mut client);

    // 2. A renamed field: RENAME COLUMN, never drop and add.
    let y2 = y1.edit(
        "  nickname: { bson: string }\n",
        "  displayName: { bson: string, renamed_from: nickname }\n",
    );
    let p = next(dir, &y2, "rename_field", &none);
    assert_eq!(names(&p), ["0003_rename_field"]);
    let s = sql(&p, "0003_rename_field");
    assert!(
        s.contains("ALTER TABLE customers RENAME COLUMN nickname TO display_name;"),
        "{s}"
    );
    assert!(!s.contains("DROP COLUMN"), "{s}");
    assert!(!s.contains("ADD COLUMN"), "{s}");
    insta::assert_snapshot!("02_rename_field", render(&p));
    write_and_apply(dir, &p, &mut client);
    assert_eq!(column(&mut client, "customers", "nickname"), None);
    check_customers(&mut client, "display_name");
    check_orders(&mut client);

    // 3. An enum value in the middle: its own migration, committed before use.
    let y3 = y2.edit(
        "order_status: [draft, placed, shipped]",
        "order_status: [draft, placed, paid, shipped]",
    );
    let p = next(dir, &y3, "add_paid_status", &none);
    assert_eq!(names(&p), ["0004_add_paid_status_enum_values"]);
    let s = sql(&p, "0004_add_paid_status_enum_values");
    assert!(
        s.contains("ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'paid' BEFORE 'shipped';"),
        "{s}"
    );
    insta::assert_snapshot!("03_add_enum_value", render(&p));
    write_and_apply(dir, &p, &mut client);
    client
        .batch_execute(&format!(
            "INSERT INTO orders (id, legacy_object_id, customer_id, status, total, code)
             VALUES ('{O3}', '65a000000000000000000a03', '{C1}', 'paid', 3, 'C-3')"
        ))
        .expect("the new label is usable");
    assert_eq!(
        rows(
            &mut client,
            "SELECT string_agg(v::text, ',' ORDER BY v) FROM unnest(enum_range(NULL::order_status)) v"
        ),
        [row(&[Some("draft,placed,paid,shipped")])]
    );
    check_customers(&mut client, "display_name");
    check_orders(&mut client);

    // 4. An embedded array of subdocuments in a child table.
    let y4 = y3.edit(
        "  tags: { bson: array, items: string, store: array, default: [] }\n",
        "  tags: { bson: array, items: string, store: array, default: [] }
  lines:
    bson: array
    store: table
    fields:
      sku: { bson: string, required: true }
      quantity: { bson: number, pg: int4, default: 1 }
",
    );
    let p = next(dir, &y4, "add_order_lines", &none);
    assert_eq!(names(&p), ["0005_add_order_lines"]);
    let s = sql(&p, "0005_add_order_lines");
    assert!(s.contains("CREATE TABLE order_lines ("), "{s}");
    assert!(
        s.contains("FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE;"),
        "{s}"
    );
    // A new table is empty: its FK need not be added NOT VALID.
    assert!(!s.contains("NOT VALID"), "{s}");
    insta::assert_snapshot!("04_add_child_table", render(&p));
    write_and_apply(dir, &p, &mut client);
    client
        .batch_execute(&format!(
            "INSERT INTO order_lines (id, order_id, ordinal, legacy_object_id, sku)
             VALUES ('00000000-0000-4000-8000-0000000001a1', '{O3}', 0,
                     '65a000000000000000001a01', 'SKU-1');
             DELETE FROM orders WHERE id = '{O3}';"
        ))
        .expect("a line, then its order deleted");
    assert_eq!(
        rows(&mut client, "SELECT count(*)::text FROM order_lines"),
        [row(&[Some("0")])],
        "ON DELETE CASCADE removes the lines of a deleted order"
    );
    check_customers(&mut client, "display_name");
    check_orders(&mut client);

    // 5. A required field relaxed: DROP NOT NULL.
    let y5 = y4.edit(
        "  code: { bson: string, required: true }\n",
        "  code: { bson: string }\n",
    );
    let p = next(dir, &y5, "relax_code", &none);
    assert_eq!(names(&p), ["0006_relax_code"]);
    let s = sql(&p, "0006_relax_code");
    assert!(
        s.contains("ALTER TABLE orders ALTER COLUMN code DROP NOT NULL;"),
        "{s}"
    );
    insta::assert_snapshot!("05_relax_required", render(&p));
    write_and_apply(dir, &p, &mut client);
    assert_eq!(
        column(&mut client, "orders", "code"),
        Some(("text".into(), true))
    );
    assert_eq!(
        rows(&mut client, "SELECT code FROM orders ORDER BY id"),
        [row(&[Some("A-1")]), row(&[Some("B-2")])]
    );
    check_customers(&mut client, "display_name");
    check_orders(&mut client);

    // 6. A dropped field: refused unless allowed, then a warning in the SQL.
    let y6 = y5.edit("  memo: { bson: string }\n", "");
    let err = migrate::next(dir, &y6.catalogue(), "drop_memo", &none, COMMAND)
        .expect_err("dropping a column must be refused");
    let MigrateError::Refused(findings) = &err else {
        panic!("expected Refused, got {err:?}");
    };
    let refused: Vec<(&str, &str, bool)> = findings
        .iter()
        .map(|f| (f.code, f.object.as_str(), f.allowed))
        .collect();
    assert_eq!(refused, [("SC102", "orders.memo", false)]);
    let message = err.to_string();
    assert!(message.contains("SC102"), "{message}");
    assert!(message.contains("orders.memo"), "{message}");
    assert!(message.contains("--allow SC102:orders.memo"), "{message}");
    // Allowing another column does not allow this one.
    let other = Allow::parse(&["SC102:orders.code"]).unwrap();
    assert!(matches!(
        migrate::next(dir, &y6.catalogue(), "drop_memo", &other, COMMAND),
        Err(MigrateError::Refused(_))
    ));
    let allow = Allow::parse(&["SC102:orders.memo"]).unwrap();
    let p = next(dir, &y6, "drop_memo", &allow);
    assert_eq!(names(&p), ["0007_drop_memo"]);
    assert_eq!(p.findings.len(), 1);
    assert!(p.findings[0].allowed);
    let s = sql(&p, "0007_drop_memo");
    assert!(s.contains("-- WARNING SC102"), "{s}");
    assert!(s.contains("ALTER TABLE orders DROP COLUMN memo;"), "{s}");
    insta::assert_snapshot!("06_drop_field_allowed", render(&p));
    write_and_apply(dir, &p, &mut client);
    assert_eq!(column(&mut client, "orders", "memo"), None);
    check_customers(&mut client, "display_name");
    check_orders(&mut client);

    // 7. An index on a table with rows: CONCURRENTLY, outside a transaction.
    let y7 = y6.edit(
        "  email: { bson: string, required: true }\n",
        "  email: { bson: string, required: true, index: true }\n",
    );
    let p = next(dir, &y7, "index_email", &none);
    assert_eq!(names(&p), ["0008_index_email_indexes"]);
    let s = sql(&p, "0008_index_email_indexes");
    assert!(s.contains("-- schemac:no-transaction\n"), "{s}");
    assert!(
        s.contains(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS customers_email_idx ON customers (email);"
        ),
        "{s}"
    );
    assert!(!p.files[0].transactional);
    insta::assert_snapshot!("07_add_index_concurrently", render(&p));
    write_and_apply(dir, &p, &mut client);
    assert_eq!(
        rows(
            &mut client,
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND indexname = 'customers_email_idx'"
        ),
        [row(&[Some(
            "CREATE INDEX customers_email_idx ON public.customers USING btree (email)"
        )])]
    );
    assert_eq!(
        rows(
            &mut client,
            "SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'customers_email_idx'::regclass"
        ),
        [row(&[Some("true")])]
    );
    check_customers(&mut client, "display_name");
    check_orders(&mut client);

    // 8. An optional field made required: refused, then CHECK NOT VALID, validated, NOT NULL.
    let y8 = y7.edit(
        "  phone: { bson: string }\n",
        "  phone: { bson: string, required: true }\n",
    );
    let err = migrate::next(dir, &y8.catalogue(), "require_phone", &none, COMMAND)
        .expect_err("SET NOT NULL must be refused");
    let MigrateError::Refused(findings) = &err else {
        panic!("expected Refused, got {err:?}");
    };
    let refused: Vec<(&str, &str)> = findings
        .iter()
        .filter(|f| !f.allowed)
        .map(|f| (f.code, f.object.as_str()))
        .collect();
    assert_eq!(refused, [("SC201", "customers.phone")]);
    assert!(
        err.to_string().contains("--allow SC201:customers.phone"),
        "{err}"
    );
    let allow = Allow::parse(&["SC201:customers.phone"]).unwrap();
    let p = next(dir, &y8, "require_phone", &allow);
    assert_eq!(
        names(&p),
        ["0009_require_phone", "0010_require_phone_validate"]
    );
    let main = sql(&p, "0009_require_phone");
    assert!(main.contains("-- WARNING SC201"), "{main}");
    assert!(
        main.contains(
            "ALTER TABLE customers ADD CONSTRAINT customers_phone_not_null CHECK (phone IS NOT NULL) NOT VALID;"
        ),
        "{main}"
    );
    assert!(!main.contains("SET NOT NULL"), "{main}");
    let validate = sql(&p, "0010_require_phone_validate");
    assert!(
        validate.contains("ALTER TABLE customers VALIDATE CONSTRAINT customers_phone_not_null;"),
        "{validate}"
    );
    assert!(
        validate.contains("ALTER TABLE customers ALTER COLUMN phone SET NOT NULL;"),
        "{validate}"
    );
    assert!(
        validate.contains("ALTER TABLE customers DROP CONSTRAINT customers_phone_not_null;"),
        "{validate}"
    );
    insta::assert_snapshot!("08_require_field", render(&p));
    client
        .batch_execute("UPDATE customers SET phone = '+33 1 00 00 00 0' || right(id::text, 1) WHERE phone IS NULL")
        .expect("backfill");
    write_and_apply(dir, &p, &mut client);
    assert_eq!(
        column(&mut client, "customers", "phone"),
        Some(("text".into(), false))
    );
    assert_eq!(
        rows(
            &mut client,
            "SELECT count(*)::text FROM pg_constraint WHERE conname = 'customers_phone_not_null'"
        ),
        [row(&[Some("0")])],
        "the temporary CHECK is dropped"
    );
    assert_eq!(
        rows(&mut client, "SELECT phone FROM customers ORDER BY id"),
        [
            row(&[Some("+33 1 00 00 00 01")]),
            row(&[Some("+33 1 00 00 00 02")])
        ]
    );
    check_customers(&mut client, "display_name");
    check_orders(&mut client);

    // 9. A reference on an existing column of a table with rows: FK NOT VALID, then VALIDATE.
    let y9 = y8.edit(
        "  assigneeId: { bson: objectId }\n",
        "  assigneeId: { bson: objectId, ref: { model: Customer, on_delete: set_null } }\n",
    );
    let p = next(dir, &y9, "assignee_fk", &none);
    assert_eq!(names(&p), ["0011_assignee_fk", "0012_assignee_fk_validate"]);
    let main = sql(&p, "0011_assignee_fk");
    assert!(
        main.contains(
            "ALTER TABLE orders ADD CONSTRAINT orders_assignee_id_fkey FOREIGN KEY (assignee_id) REFERENCES customers (id) ON DELETE SET NULL NOT VALID;"
        ),
        "{main}"
    );
    let validate = sql(&p, "0012_assignee_fk_validate");
    assert!(
        validate.contains("ALTER TABLE orders VALIDATE CONSTRAINT orders_assignee_id_fkey;"),
        "{validate}"
    );
    insta::assert_snapshot!("09_add_reference", render(&p));
    write_and_apply(dir, &p, &mut client);
    assert_eq!(
        rows(
            &mut client,
            "SELECT convalidated::text FROM pg_constraint WHERE conname = 'orders_assignee_id_fkey'"
        ),
        [row(&[Some("true")])]
    );
    check_customers(&mut client, "display_name");
    check_orders(&mut client);

    // 10. Nothing changed: no migration.
    match migrate::next(dir, &y9.catalogue(), "nothing", &none, COMMAND) {
        Ok(None) => {}
        Ok(Some(p)) => panic!("unexpected migration:\n{}", render(&p)),
        Err(e) => panic!("{e}"),
    }
    let status = schemac::apply::status(&mut client, &history::read(dir).unwrap()).unwrap();
    assert_eq!(status.len(), 12);
    assert!(
        status
            .iter()
            .all(|s| matches!(s, schemac::apply::Status::Applied(_))),
        "{status:?}"
    );

    // The database the history built against the last snapshot.
    let history = history::read(dir).unwrap();
    let last = history.migrations.last().unwrap();
    let snapshot = Database::from_json(last.snapshot.as_deref().unwrap()).unwrap();
    let applied = introspect(&mut client, "public").unwrap();
    let report = diff_report(&structure(&snapshot), &structure(&applied));
    assert!(
        report.is_empty(),
        "the history's database differs from the last snapshot:\n{}",
        report.join("\n")
    );

    // ... and against a fresh database created from the last snapshot in one go.
    let fresh_db = TestDb::new();
    let mut fresh = fresh_db.client();
    let at = Position {
        version: 1,
        parent: None,
        name: "fresh",
        command: "test",
    };
    let planned = migrate::plan(
        &Database::default(),
        &snapshot,
        &Default::default(),
        &at,
        &Allow::default(),
    )
    .expect("a fresh create has no findings")
    .expect("a fresh create is not empty");
    for f in &planned.files {
        fresh
            .batch_execute(&f.sql)
            .unwrap_or_else(|e| panic!("{}: {e}", f.name));
    }
    let created = introspect(&mut fresh, "public").unwrap();
    let report = diff_report(&sorted(&created), &sorted(&applied));
    assert!(
        report.is_empty(),
        "the history's database differs from a fresh create:\n{}",
        report.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// A forked history.

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn forked_history_is_detected_and_rebased() {
    let tmp = TempDir::new("fork");
    let base = tmp.path().join("base");
    let (a, b, merged) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("merged"),
    );
    let none = Allow::default();
    let y0 = Yaml::v0();
    let p = next(&base, &y0, "initial", &none);
    migrate::write(&base, &p).unwrap();
    copy_dir(&base, &a);
    copy_dir(&base, &b);

    let field = "  nickname: { bson: string }\n";
    let with_x = y0.edit(field, &format!("{field}  x: {{ bson: string }}\n"));
    let with_y = y0.edit(field, &format!("{field}  y: {{ bson: string }}\n"));
    let with_both = y0.edit(
        field,
        &format!("{field}  x: {{ bson: string }}\n  y: {{ bson: string }}\n"),
    );
    let p = next(&a, &with_x, "add_x", &none);
    assert_eq!(names(&p), ["0002_add_x"]);
    migrate::write(&a, &p).unwrap();
    let p = next(&b, &with_y, "add_y", &none);
    assert_eq!(names(&p), ["0002_add_y"]);
    migrate::write(&b, &p).unwrap();

    // The merge: main's (A's) directory and schemac.sum, plus B's migration.
    copy_dir(&a, &merged);
    for ext in ["sql", "json"] {
        let f = format!("0002_add_y.{ext}");
        std::fs::copy(b.join(&f), merged.join(&f)).unwrap();
    }
    let problems = history::verify(&history::read(&merged).unwrap());
    assert_eq!(
        codes(&problems),
        [
            ("SC302", "0002_add_y.json".to_string()),
            ("SC302", "0002_add_y.sql".to_string()),
            ("SC303", "0002_add_y.sql".to_string()),
        ],
        "{problems:#?}"
    );
    // `next` refuses to plan on a forked history.
    assert!(matches!(
        migrate::next(&merged, &with_both.catalogue(), "more", &none, COMMAND),
        Err(MigrateError::Problems(_))
    ));

    let rebased = migrate::rebase(&merged, &with_both.catalogue(), &[], &none, "test")
        .expect("rebase")
        .expect("a migration is written");
    assert_eq!(names(&rebased), ["0003_add_y"]);
    assert_eq!(
        file_names(&merged),
        [
            "0001_initial.json",
            "0001_initial.sql",
            "0002_add_x.json",
            "0002_add_x.sql",
            "0003_add_y.json",
            "0003_add_y.sql",
            "schemac.sum",
        ]
    );
    let history = history::read(&merged).unwrap();
    assert!(
        history::verify(&history).is_empty(),
        "{:#?}",
        history::verify(&history)
    );
    // A's migration is untouched.
    assert_eq!(
        std::fs::read_to_string(merged.join("0002_add_x.sql")).unwrap(),
        std::fs::read_to_string(a.join("0002_add_x.sql")).unwrap()
    );
    let y_sql = sql(&rebased, "0003_add_y");
    assert!(y_sql.contains("-- schemac:parent 0002_add_x\n"), "{y_sql}");
    assert!(
        y_sql.contains("ALTER TABLE customers ADD COLUMN y text;"),
        "{y_sql}"
    );
    assert!(!y_sql.contains(" x "), "only y is added:\n{y_sql}");
    let statements: Vec<&str> = y_sql
        .lines()
        .filter(|l| !l.starts_with("--") && !l.trim().is_empty())
        .collect();
    assert_eq!(
        statements,
        [
            "ALTER TABLE customers ADD COLUMN y text;",
            "COMMENT ON COLUMN customers.y IS 'Mongo customers.y';"
        ],
        "{y_sql}"
    );
    // The rebased history applies from scratch.
    let db = TestDb::new();
    let mut client = db.client();
    schemac::apply::apply(&mut client, &history, |_, _| {}).expect("apply");
    assert!(column(&mut client, "customers", "x").is_some());
    assert!(column(&mut client, "customers", "y").is_some());
    assert!(matches!(
        migrate::next(&merged, &with_both.catalogue(), "more", &none, COMMAND),
        Ok(None)
    ));
}

// ---------------------------------------------------------------------------------------------
// An edited migration.

#[test]
fn edited_migration_is_refused() {
    let tmp = TempDir::new("edited");
    let dir = tmp.path();
    let none = Allow::default();
    let y0 = Yaml::v0();
    let cat = y0.catalogue();
    let p = next(dir, &y0, "initial", &none);
    migrate::write(dir, &p).unwrap();
    let file = dir.join("0001_initial.sql");
    let original = std::fs::read_to_string(&file).unwrap();

    std::fs::write(&file, format!("{original}SELECT 1;\n")).unwrap();
    let err = migrate::next(dir, &cat, "more", &none, COMMAND).expect_err("edited");
    let MigrateError::Problems(problems) = &err else {
        panic!("expected Problems, got {err:?}");
    };
    assert_eq!(
        codes(problems),
        [("SC301", "0001_initial.sql".to_string())],
        "{err}"
    );
    assert!(err.to_string().contains("SC301 0001_initial.sql"), "{err}");

    // Line endings are not an edit: every file converted to CRLF is still the same history.
    std::fs::write(&file, &original).unwrap();
    for name in file_names(dir) {
        let path = dir.join(&name);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains('\r'));
        std::fs::write(&path, text.replace('\n', "\r\n")).unwrap();
    }
    let history = history::read(dir).unwrap();
    assert!(
        history::verify(&history).is_empty(),
        "{:#?}",
        history::verify(&history)
    );
    assert!(
        matches!(migrate::next(dir, &cat, "more", &none, COMMAND), Ok(None)),
        "a CRLF checkout plans nothing"
    );
}

// ---------------------------------------------------------------------------------------------
// Column comments of a child table.

/// The `id` of an array item's row is derived from the item's `_id`, at `orders.lines._id`, as
/// `legacy_object_id`'s comment says; the comment must not call it `orders._id` (the parent's).
#[test]
fn child_item_id_comment_names_the_item_path() {
    let y = Yaml::v0().edit(
        "  tags: { bson: array, items: string, store: array, default: [] }\n",
        "  tags: { bson: array, items: string, store: array, default: [] }
  lines:
    bson: array
    store: table
    fields:
      sku: { bson: string, required: true }
",
    );
    let db = schemac::desired::database(&y.catalogue());
    let lines = db.table("order_lines").expect("order_lines");
    let comment = |c: &str| lines.column(c).and_then(|c| c.comment.clone());
    assert_eq!(
        comment("legacy_object_id").as_deref(),
        Some("Mongo orders.lines._id (24 hex digits)")
    );
    let id = comment("id").unwrap_or_default();
    assert!(
        id.starts_with("Mongo orders.lines._id "),
        "order_lines.id comment names the parent's _id: {id:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// A rename carries the indexes and CHECKs named after the column.

#[test]
fn rename_carries_its_indexes_and_checks() {
    let tmp = TempDir::new("probe");
    let dir = tmp.path();
    let none = Allow::default();
    let y0 = Yaml::v0().edit(
        "  nickname: { bson: string }\n",
        "  nickname: { bson: string, unique: true, check: char_length(nickname) <= 20 }\n  alias: { bson: string, index: true }\n",
    );
    let p = next(dir, &y0, "initial", &none);
    migrate::write(dir, &p).unwrap();
    let y1 = y0
        .edit(
            "  nickname: { bson: string, unique: true, check: char_length(nickname) <= 20 }\n",
            "  displayName: { bson: string, unique: true, check: char_length(display_name) <= 20, renamed_from: nickname }\n",
        )
        .edit(
            "  alias: { bson: string, index: true }\n",
            "  handle: { bson: string, index: true, renamed_from: alias }\n",
        );
    let p = next(dir, &y1, "rename", &none);
    let s = sql(&p, "0002_rename");
    for expected in [
        "ALTER TABLE customers RENAME COLUMN nickname TO display_name;",
        "ALTER TABLE customers RENAME COLUMN alias TO handle;",
        "ALTER TABLE customers RENAME CONSTRAINT customers_nickname_check TO customers_display_name_check;",
        "ALTER INDEX customers_nickname_key RENAME TO customers_display_name_key;",
        "ALTER INDEX customers_alias_idx RENAME TO customers_handle_idx;",
    ] {
        assert!(s.contains(expected), "missing {expected}:\n{s}");
    }
    for unexpected in ["DROP", "ADD COLUMN", "CREATE INDEX", "ADD CONSTRAINT"] {
        assert!(!s.contains(unexpected), "unexpected {unexpected}:\n{s}");
    }
    migrate::write(dir, &p).unwrap();
    let db = TestDb::new();
    let mut client = db.client();
    schemac::apply::apply(&mut client, &history::read(dir).unwrap(), |_, _| {}).unwrap();
    let snap = migrate::last_snapshot(&history::read(dir).unwrap()).unwrap();
    let got = introspect(&mut client, "public").unwrap();
    let report = diff_report(&structure(&snap), &structure(&got));
    assert!(report.is_empty(), "{}", report.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Changes that Postgres needs in a particular order when they come together (found by
// `fuzzed_migrations` on schemas the fuzzer made; these are their hand-written minimal forms).

/// Plans `y0` then `y1` (every rule allowed), applies both with rows inserted in between, and
/// checks the database has the last snapshot's structure. The second migration's SQL.
fn migrate_with_rows(what: &str, y0: &Yaml, rows_sql: &str, y1: &Yaml) -> String {
    let tmp = TempDir::new(what);
    let dir = tmp.path();
    let all = Allow::parse(
        &migrate::lint::RULES
            .iter()
            .map(|r| r.code)
            .collect::<Vec<_>>(),
    )
    .expect("rules");
    let db = TestDb::new();
    let mut client = db.client();
    write_and_apply(dir, &next(dir, y0, "initial", &all), &mut client);
    client.batch_execute(rows_sql).expect("insert rows");
    let p = next(dir, y1, "change", &all);
    let second = sql(&p, "0002_change").to_string();
    migrate::write(dir, &p).expect("write");
    let history = history::read(dir).expect("read history");
    if let Err(e) = schemac::apply::apply(&mut client, &history, |_, _| {}) {
        panic!("{what}: {e}\n{}", render(&p));
    }
    let snap = migrate::last_snapshot(&history).expect("snapshot");
    let got = introspect(&mut client, "public").expect("introspect");
    let report = diff_report(&structure(&snap), &structure(&got));
    assert!(report.is_empty(), "{}", report.join("\n"));
    second
}

/// Where `s` starts in `sql`, which must contain it.
fn position(sql: &str, s: &str) -> usize {
    sql.find(s).unwrap_or_else(|| panic!("missing {s}:\n{sql}"))
}

/// An enum loses a label: its type is rebuilt. A column of it dropped in the same change is gone
/// before the rebuild (its rows may hold the lost label, its default may be it); a column that
/// stays gets its new default, not the old one; a column that becomes text leaves the old type
/// first, so the old type can be dropped; so does one that becomes another enum (its default
/// set again after: Postgres cannot convert one between enum types). A CHECK or a
/// partial index comparing a converted column with a label is dropped before and made again
/// after (Postgres would compare the new type with the old one's label and fail).
#[test]
fn an_enum_losing_a_label_with_its_columns_changed() {
    let y0 = Yaml::v0()
        .edit("[basic, gold]", "[basic, gold, platinum]")
        .edit(
            "  tier: { bson: string, enum: customer_tier, default: basic }\n",
            "  tier: { bson: string, enum: customer_tier, default: gold }\n  \
             level: { bson: string, enum: customer_tier, default: gold, check: \"level <> 'basic'\" }\n  \
             rank: { bson: string, enum: customer_tier, check: \"rank <> 'basic'\" }\n  \
             grade: { bson: string, enum: customer_tier, default: basic }\n\
             indexes:\n  \
             - fields: [email]\n    unique: true\n    where: \"level = 'platinum'\"\n",
        );
    let rows = format!(
        "INSERT INTO customers (id, legacy_object_id, email, tier, level, rank, grade) VALUES
            ('{C1}', '65a000000000000000000c01', 'ada@example.com', 'gold', 'platinum', 'gold',
             'basic');"
    );
    let y1 = y0
        .edit(
            "[basic, gold, platinum]",
            "[basic, platinum, silver]\n  customer_grade: [basic, plus]",
        )
        .edit(
            "  tier: { bson: string, enum: customer_tier, default: gold }\n",
            "",
        )
        .edit("default: gold, check", "default: silver, check")
        .edit(
            "rank: { bson: string, enum: customer_tier,",
            "rank: { bson: string,",
        )
        .edit(
            "grade: { bson: string, enum: customer_tier, default: basic }",
            "grade: { bson: string, enum: customer_grade, default: plus }",
        );
    let sql = migrate_with_rows("enum-rebuild", &y0, &rows, &y1);
    let at = |s: &str| position(&sql, s);
    let rebuild = at("RENAME TO customer_tier_old");
    assert!(at("DROP COLUMN tier") < rebuild, "{sql}");
    assert!(at("COLUMN rank TYPE text") < rebuild, "{sql}");
    assert!(!sql.contains("SET DEFAULT 'gold'"), "{sql}");
    assert_eq!(sql.matches("SET DEFAULT 'silver'").count(), 1, "{sql}");
    // One enum to another goes through text, its default set again after (Postgres cannot
    // convert it).
    let grade = at("ALTER COLUMN grade TYPE customer_grade USING grade::text::customer_grade;");
    assert!(at("grade DROP DEFAULT") < grade && grade < at("grade SET DEFAULT 'plus'"));
    for (dropped, made) in [
        (
            "DROP CONSTRAINT customers_level_check",
            "ADD CONSTRAINT customers_level_check",
        ),
        (
            "DROP CONSTRAINT customers_rank_check",
            "ADD CONSTRAINT customers_rank_check",
        ),
        (
            "DROP INDEX customers_email_key",
            "CREATE UNIQUE INDEX customers_email_key",
        ),
    ] {
        assert!(at(dropped) < rebuild && rebuild < at(made), "{sql}");
    }
    assert!(!sql.contains("CONCURRENTLY"), "{sql}");
    // The reviewer is told why each is dropped and made again.
    assert_eq!(
        sql.matches("-- Dropped here and made again below").count(),
        3,
        "{sql}"
    );
    assert_eq!(sql.matches("-- Made again, unchanged").count(), 3, "{sql}");
}

/// A table is dropped together with the column of another table whose foreign key points at it:
/// the foreign key is dropped before the table.
#[test]
fn a_dropped_table_outlives_no_foreign_key_into_it() {
    let y0 = Yaml::v0();
    let rows = format!(
        "INSERT INTO customers (id, legacy_object_id, email) VALUES
            ('{C1}', '65a000000000000000000c01', 'ada@example.com');
         INSERT INTO orders (id, legacy_object_id, customer_id, total, code) VALUES
            ('{O1}', '65a000000000000000000a01', '{C1}', 1, 'A-1');"
    );
    let mut y1 = y0.edit(
        "  customerId: { bson: objectId, ref: Customer, required: true }\n",
        "",
    );
    y1.customer = String::new();
    let sql = migrate_with_rows("drop-parent", &y0, &rows, &y1);
    assert!(
        position(&sql, "DROP CONSTRAINT orders_customer_id_fkey")
            < position(&sql, "DROP TABLE customers"),
        "{sql}"
    );
}
