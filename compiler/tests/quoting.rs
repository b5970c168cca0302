//! Hostile names and text from the catalogue reach PostgreSQL intact: reserved words as table,
//! column and enum names, comments and defaults full of quotes, backslashes, dollar signs,
//! comment markers, newlines and non-Latin scripts, enum labels of every shape, names of exactly
//! 63 bytes and derived names that must be shortened. The migration is planned and written as
//! `schemac migrate new` does, every statement is parsed by sqlparser, the history is applied to
//! a fresh database, and everything is read back from pg_catalog and compared with the YAML text
//! byte for byte. Names PostgreSQL cannot hold are refused by the validator with a clear
//! diagnostic.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use postgres::Client;
use schemac::db::Database;
use schemac::history;
use schemac::introspect::{diff_report, introspect, structure};
use schemac::ir::Catalogue;
use schemac::migrate::{self, Allow, Planned};
use schemac_testdb::TestDb;

// ---------------------------------------------------------------------------------------------
// The hostile text, as Rust strings: the YAML is written from them (as JSON strings, which are
// YAML double-quoted scalars), so the expected values are exactly these.

/// A table description: every character that ends or escapes something somewhere.
const TABLE_DESC: &str = "It's a ''doubled'' quote, a back\\slash, \\' and \\\\, E'\\n' stays \
    text; $$ dollars $body$ and $1, */ not a comment /* either, -- nor this;\nsecond line; \
    DROP TABLE \"user\"; --\n\ttabbed. RTL: \u{202E}مرحبا بالعالم\u{202C} עברית \u{200F}; emoji \
    👩‍💻🇹🇷✅; CJK 東京 키보드 漢字.";

/// A column description with a trailing newline and quotes of every kind.
const COLUMN_DESC: &str =
    "\"Double\" and 'single' and `back` quotes; a lone ' and a lone \" and \\\n";

/// Line endings other than LF.
const CRLF_DESC: &str = "line one\r\nline two\rline three\n";

/// A string default.
const TEXT_DEFAULT: &str = "it's \"quoted\", back\\slash \\' $$ -- /* */ ; 東京 🙂";

/// The labels of the enum `group`, in order.
const ORDER_LABELS: &[&str] = &[
    "it's",
    "say \"hi\"",
    "back\\slash",
    "\\'",
    "two words",
    " padded ",
    "ünïcødé ✓ 東京",
    "مرحبا",
    "🙂",
    "select",
    "SELECT",
    "NULL",
    "$$",
    "-- not a comment",
    "a;b",
    "",
    // 63 bytes, PostgreSQL's limit for a label.
    "label_that_is_exactly_sixty_three_bytes_long_aaaaaaaaaaaaaaaaaa",
];

/// The elements of a `text[]` default: array-literal syntax and SQL syntax mixed.
const TAG_DEFAULTS: &[&str] = &[
    "a,b",
    "{brace}",
    "q\"uote",
    "back\\slash",
    "it's",
    "NULL",
    "",
    " spaced ",
    "東京",
];

/// A column name of exactly 63 bytes.
const LONG_COLUMN: &str = "a_column_name_that_is_exactly_sixty_three_bytes_long_xxxxxxxxxx";

/// A table name of exactly 63 bytes.
const LONG_TABLE: &str = "a_table_name_that_is_exactly_sixty_three_bytes_long_yyyyyyyyyyy";

/// A column name of exactly 63 bytes, in two-byte characters and one ASCII letter.
fn unicode_63() -> String {
    format!("{}x", "é".repeat(31))
}

/// A YAML double-quoted scalar holding exactly `s`.
fn y(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

fn y_list(items: &[&str]) -> String {
    let items: Vec<String> = items.iter().map(|s| y(s)).collect();
    format!("[{}]", items.join(", "))
}

fn user_yaml() -> String {
    format!(
        r#"model: User
collection: user
table: user
phase: 1
version_key: none
description: {table_desc}
enums:
  group: {labels}
  Select Kind: [a, "b c", "d\"e"]
fields:
  order: {{ bson: string, enum: group, default: {label0}, description: {column_desc} }}
  select: {{ bson: string, default: {text_default}, description: {crlf_desc} }}
  group: {{ bson: string, index: true }}
  from: {{ bson: string, unique: true, sparse: true }}
  kinds: {{ bson: array, items: {{ bson: string, enum: Select Kind }}, store: array, default: ["b c", "d\"e"] }}
  tags: {{ bson: array, items: string, store: array, default: {tags} }}
  name: {{ bson: string, column: "名前", description: "名前 — the name" }}
  weird: {{ bson: string, column: "We\"ird Name" }}
  long: {{ bson: string, column: {long}, unique: true }}
  accents: {{ bson: string, column: {accents}, index: true }}
"#,
        table_desc = y(TABLE_DESC),
        labels = y_list(ORDER_LABELS),
        label0 = y(ORDER_LABELS[0]),
        column_desc = y(COLUMN_DESC),
        text_default = y(TEXT_DEFAULT),
        crlf_desc = y(CRLF_DESC),
        tags = y_list(TAG_DEFAULTS),
        long = y(LONG_COLUMN),
        accents = y(&unicode_63()),
    )
}

fn order_yaml() -> String {
    r#"model: Order
collection: order
table: order
phase: 1
version_key: none
fields:
  from: { bson: objectId, ref: User, required: true }
  user: { bson: string, required: true, check: "char_length(\"user\") <= 10" }
  where: { bson: string, enum: group, index: true }
  # The SQL-standard forms PostgreSQL reads as function calls (not in pg_proc), in checks.
  note: { bson: string, check: "coalesce(nullif(note, ''), 'x') <> '' AND greatest(1, 2) > least(1, 2) AND ROW(note, 1) IS DISTINCT FROM ROW('', 0) AND note <> current_user AND note <> session_user AND note <> current_role AND note <> user AND note <> current_catalog" }
  due: { bson: date, check: "due >= current_date - 36500 AND due <= current_timestamp + interval '100 years' AND due::time >= localtime - interval '24 hours' AND due >= localtimestamp - interval '100 years' AND due::timetz <= current_time + interval '24 hours'" }
indexes:
  - fields: [user, -where]
    unique: true
"#
    .to_string()
}

fn long_yaml() -> String {
    format!(
        r#"model: LongName
collection: longnames
table: {LONG_TABLE}
phase: 1
version_key: none
fields:
  code: {{ bson: string, unique: true }}
  ownerId: {{ bson: objectId, ref: User }}
  limit: {{ bson: string, index: true }}
"#
    )
}

/// Text the timeline trigger appends when a row is inserted (inside a `$$` function body).
const INSERT_TEXT: &str = "opened: ''quoted'' \"dq\" back\\slash 東京 🙂";

/// Text the timeline trigger appends on a status change: dollar quotes of every shape, and a
/// trailing `$` that would fuse with a closing `$$`.
const ENTRY_TEXT: &str = "x$$y'z \\ $body$ -- /* \r\n end$";

/// A status label that the timeline's stamp compares with, inside the function body.
const DONE: &str = "it's $$ done";

fn ticket_yaml() -> String {
    format!(
        r#"model: Ticket
collection: tickets
table: check
phase: 1
version_key: none
enums:
  ticket_state: [open, {done}, "back\\slash $"]
fields:
  state: {{ bson: string, enum: ticket_state, default: open }}
  history: {{ bson: array, store: jsonb }}
  closedAt: {{ bson: date, column: end }}
  table: {{ bson: string }}
  column: {{ bson: string }}
invariants:
  slug: {{ field: column, from: table }}
  timeline:
    field: history
    status: state
    insert_entry: {{ "it's": {insert}, at: $now }}
    entry: {{ "to \"state\"": $status, at: $now, note: {entry} }}
    stamps: {{ {done}: closedAt }}
"#,
        done = y(DONE),
        insert = y(INSERT_TEXT),
        entry = y(ENTRY_TEXT),
    )
}

fn validate(files: &[(&str, &str)]) -> schemac::Validated {
    schemac::validate_sources(
        files
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect(),
    )
}

fn hostile_catalogue() -> Catalogue {
    let (user, order, long, ticket) = (user_yaml(), order_yaml(), long_yaml(), ticket_yaml());
    let v = validate(&[
        ("user.yaml", &user),
        ("order.yaml", &order),
        ("long.yaml", &long),
        ("ticket.yaml", &ticket),
    ]);
    let rendered = schemac::diag::render_human(&v.diagnostics, &v.sources, false);
    v.catalogue
        .unwrap_or_else(|| panic!("the hostile catalogue is valid:\n{rendered}\n{user}"))
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// A fresh directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> TempDir {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("schemac-quoting-{what}-{}-{n}", std::process::id()));
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

/// Plans the first migration as `schemac migrate new` does and writes it.
fn plan_and_write(dir: &Path, cat: &Catalogue) -> Planned {
    let planned = migrate::next(
        dir,
        cat,
        "initial",
        &Allow::default(),
        "schemac migrate new initial (quoting test)",
    )
    .unwrap_or_else(|e| panic!("planning: {e}"))
    .expect("a fresh catalogue plans a migration");
    migrate::write(dir, &planned).expect("write");
    planned
}

/// A fresh database with the history of `dir` applied, and the last snapshot.
fn applied(dir: &Path) -> (TestDb, Client, Database) {
    let h = history::read(dir).expect("read history");
    let db = TestDb::new();
    let mut client = db.client();
    schemac::apply::apply(&mut client, &h, |_, _| {}).unwrap_or_else(|e| panic!("apply: {e}"));
    let snapshot = migrate::last_snapshot(&h).expect("snapshot");
    (db, client, snapshot)
}

fn table_comment(client: &mut Client, table: &str) -> Option<String> {
    client
        .query_one(
            "SELECT obj_description(c.oid, 'pg_class') FROM pg_class c
             WHERE c.relname = $1 AND c.relnamespace = 'public'::regnamespace",
            &[&table],
        )
        .unwrap_or_else(|e| panic!("comment of {table}: {e}"))
        .get(0)
}

fn column_comment(client: &mut Client, table: &str, column: &str) -> Option<String> {
    client
        .query_one(
            "SELECT col_description(c.oid, a.attnum) FROM pg_class c
             JOIN pg_attribute a ON a.attrelid = c.oid
             WHERE c.relname = $1 AND c.relnamespace = 'public'::regnamespace
               AND a.attname = $2",
            &[&table, &column],
        )
        .unwrap_or_else(|e| panic!("comment of {table}.{column}: {e}"))
        .get(0)
}

fn enum_labels(client: &mut Client, name: &str) -> Vec<String> {
    client
        .query(
            "SELECT e.enumlabel::text FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
             WHERE t.typname = $1 AND t.typnamespace = 'public'::regnamespace
             ORDER BY e.enumsortorder",
            &[&name],
        )
        .expect("pg_enum")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn column_names(client: &mut Client, table: &str) -> Vec<String> {
    client
        .query(
            "SELECT column_name::text FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
            &[&table],
        )
        .expect("information_schema.columns")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

const USER_ID: &str = "00000000-0000-4000-8000-000000000001";
const USER_OID: &str = "650f1c2e9d1b2a3c4d5e6f70";

// ---------------------------------------------------------------------------------------------
// The tests.

/// Every statement of the migration parses with sqlparser's PostgreSQL dialect (as the DDL of
/// the escrow catalogue does); hostile text stays inside its literal or quoted identifier.
#[test]
fn every_statement_parses_with_sqlparser() {
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;
    let tmp = TempDir::new("parse");
    let planned = plan_and_write(tmp.path(), &hostile_catalogue());
    let mut parsed = 0;
    for f in &planned.files {
        for stmt in history::split_statements(&f.sql) {
            // The header directives are `--` lines before the first statement; a `--` line
            // inside a string literal is part of the literal and must stay.
            let body = stmt.trim_start();
            match Parser::parse_sql(&PostgreSqlDialect {}, body) {
                Ok(statements) => {
                    assert_eq!(statements.len(), 1, "one statement:\n{body}");
                    parsed += 1;
                }
                // sqlparser 0.63 takes no argument list after the function's name (see
                // tests/ddl.rs); the text after IS must still be one literal.
                Err(_) if body.starts_with("COMMENT ON FUNCTION ") => {
                    let (_, literal) = body
                        .split_once("() IS ")
                        .expect("COMMENT ON FUNCTION f() IS");
                    let parsed = Parser::new(&PostgreSqlDialect {})
                        .try_with_sql(literal)
                        .and_then(|mut p| p.parse_expr());
                    assert!(
                        matches!(parsed, Ok(sqlparser::ast::Expr::Value(_))),
                        "not one literal: {literal}"
                    );
                }
                Err(e) => panic!("sqlparser rejects:\n{body}\n{e}"),
            }
        }
    }
    assert!(parsed > 30, "only {parsed} statements");
}

/// The generated Rust of the hostile catalogue is Rust: every file parses (the generator falls
/// back to the unformatted text when it does not, which the crate would then fail to compile),
/// and the columns named `"We\"ird Name"`, `名前` and the 63-byte names are fields.
#[test]
fn generated_rust_parses() {
    let cat = hostile_catalogue();
    for (path, text) in schemac::rust::files(&cat) {
        if let Err(e) = syn::parse_file(&text) {
            panic!("{path} is not Rust: {e}\n{text}");
        }
    }
    let user = schemac::rust::files(&cat)
        .into_iter()
        .find(|(path, _)| path == "src/schema/user.rs")
        .expect("the user module")
        .1;
    for field in [
        "pub We_ird_Name: Option<String>",
        "pub 名前: Option<String>",
    ] {
        assert!(user.contains(field), "{field} in:\n{user}");
    }
}

/// A flattened object whose name holds a character Rust does not take in identifiers (`²`; the
/// `catalogue` fuzz target found it with `½`): the local document `to_mongo` builds it in gets
/// an identifier as its columns' fields do, so the module parses. It did not (`sub_größe²`).
#[test]
fn a_flattened_object_named_outside_rust_identifiers_generates_rust() {
    let yaml = "model: Measure
collection: measures
table: measures
phase: 1
fields:
  größe²:
    bson: object
    store: flatten
    fields:
      breite: { bson: number, pg: int4 }
";
    let v = validate(&[("measure.yaml", yaml)]);
    let rendered = schemac::diag::render_human(&v.diagnostics, &v.sources, false);
    let cat = v
        .catalogue
        .unwrap_or_else(|| panic!("the model is valid:\n{rendered}"));
    let (path, module) = schemac::rust::files(&cat)
        .into_iter()
        .find(|(path, _)| path == "src/schema/measure.rs")
        .expect("the measure module");
    if let Err(e) = syn::parse_file(&module) {
        panic!("{path} is not Rust: {e}\n{module}");
    }
    for line in [
        "pub gr__e__breite: Option<i32>",
        "let mut sub_gr__e_ = Document::new();",
    ] {
        assert!(module.contains(line), "{line} in:\n{module}");
    }
    assert!(schemac::rust::misformatted(&cat).is_none());
}

/// The migration applies, and what pg_catalog holds is the YAML's text exactly: comments,
/// enum labels and their order, defaults, identifiers; introspection equals the snapshot.
#[test]
fn hostile_names_and_text_reach_postgres_exactly() {
    let tmp = TempDir::new("apply");
    let cat = hostile_catalogue();
    let planned = plan_and_write(tmp.path(), &cat);
    let sql: String = planned.files.iter().map(|f| f.sql.as_str()).collect();
    let (_db, mut client, snapshot) = applied(tmp.path());

    // Introspection equals the snapshot, names and structure included.
    let live = introspect(&mut client, "public").expect("introspect");
    let report = diff_report(&structure(&snapshot), &structure(&live));
    assert!(
        report.is_empty(),
        "introspection differs from the snapshot:\n{}\n{sql}",
        report.join("\n")
    );

    // Comments: the YAML text exactly, after the compiler's `Mongo ...` prefix.
    assert_eq!(
        table_comment(&mut client, "user").as_deref(),
        Some(format!("Mongo collection user (User). {TABLE_DESC}").as_str())
    );
    assert_eq!(
        column_comment(&mut client, "user", "order").as_deref(),
        Some(format!("Mongo user.order. {COLUMN_DESC}").as_str())
    );
    assert_eq!(
        column_comment(&mut client, "user", "select").as_deref(),
        Some(format!("Mongo user.select. {CRLF_DESC}").as_str()),
        "CR and CRLF inside a comment survive the migration file"
    );
    assert_eq!(
        column_comment(&mut client, "user", "名前").as_deref(),
        Some("Mongo user.name. 名前 — the name")
    );

    // Enum labels, exactly and in order.
    assert_eq!(enum_labels(&mut client, "group"), ORDER_LABELS);
    assert_eq!(
        enum_labels(&mut client, "Select Kind"),
        ["a", "b c", "d\"e"]
    );

    // Identifiers, exactly, in the snapshot's order.
    for t in &snapshot.tables {
        let expected: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
        assert_eq!(column_names(&mut client, &t.name), expected, "{}", t.name);
    }
    let user = snapshot.table("user").expect("table user");
    for name in ["order", "select", "group", "from", "名前", "We\"ird Name"] {
        assert!(user.column(name).is_some(), "column {name:?}");
    }
    assert!(user.column(LONG_COLUMN).is_some());
    assert!(user.column(&unicode_63()).is_some());
    assert!(snapshot.table(LONG_TABLE).is_some());

    // Defaults: a row inserted with only the keys reads back the YAML's defaults.
    client
        .execute(
            "INSERT INTO \"user\" (id, legacy_object_id) VALUES ($1::text::uuid, $2)",
            &[&USER_ID, &USER_OID],
        )
        .expect("insert with defaults");
    let row = client
        .query_one(
            "SELECT \"order\"::text, \"select\", tags, kinds::text[] FROM \"user\"",
            &[],
        )
        .expect("select defaults");
    assert_eq!(row.get::<_, String>(0), ORDER_LABELS[0]);
    assert_eq!(row.get::<_, String>(1), TEXT_DEFAULT);
    assert_eq!(row.get::<_, Vec<String>>(2), TAG_DEFAULTS);
    assert_eq!(row.get::<_, Vec<String>>(3), ["b c", "d\"e"]);

    // Every label is a value the column takes, and reads back as itself.
    for label in ORDER_LABELS {
        let got: String = client
            .query_one(
                "UPDATE \"user\" SET \"order\" = $1::text::\"group\" RETURNING \"order\"::text",
                &[label],
            )
            .unwrap_or_else(|e| panic!("label {label:?}: {e}"))
            .get(0);
        assert_eq!(&got, label);
    }

    // The reserved-word foreign key, check and indexes work.
    client
        .execute(
            "INSERT INTO \"order\" (id, legacy_object_id, \"from\", \"user\", \"where\")
             VALUES (gen_random_uuid(), '650f1c2e9d1b2a3c4d5e6f71', $1::text::uuid, 'short', 'select')",
            &[&USER_ID],
        )
        .expect("insert an order");
    let too_long = client.execute(
        "INSERT INTO \"order\" (id, legacy_object_id, \"from\", \"user\")
         VALUES (gen_random_uuid(), '650f1c2e9d1b2a3c4d5e6f72', $1::text::uuid, 'far too long a user')",
        &[&USER_ID],
    );
    let e = too_long.expect_err("the CHECK on \"user\" holds");
    let e = e.as_db_error().expect("a database error");
    assert_eq!(e.constraint(), Some("order_user_check"), "{e}");
}

/// The trigger functions of the slug and timeline invariants hold catalogue text (entry keys
/// and texts, status labels) inside a dollar-quoted body: they apply, read back exactly, and
/// append exactly that text.
#[test]
fn trigger_bodies_keep_hostile_text() {
    let tmp = TempDir::new("triggers");
    let planned = plan_and_write(tmp.path(), &hostile_catalogue());
    let sql: String = planned.files.iter().map(|f| f.sql.as_str()).collect();
    // The timeline's body holds `$$` and `$body$`: its quote is the next free tag.
    assert!(
        sql.contains("AS $body1$"),
        "a body holding `$$` gets another dollar quote:\n{sql}"
    );
    let (_db, mut client, snapshot) = applied(tmp.path());
    let live = introspect(&mut client, "public").expect("introspect");
    for f in &snapshot.functions {
        let got = live.functions.iter().find(|g| g.name == f.name);
        assert_eq!(got.map(|g| &g.body), Some(&f.body), "body of {}", f.name);
    }
    client
        .execute(
            "INSERT INTO \"check\" (id, legacy_object_id, \"table\")
             VALUES (gen_random_uuid(), '650f1c2e9d1b2a3c4d5e6f73', 'Hello, World!')",
            &[],
        )
        .expect("insert a ticket");
    client
        .execute(
            "UPDATE \"check\" SET state = $1::text::ticket_state",
            &[&DONE],
        )
        .expect("change the state");
    let row = client
        .query_one(
            "SELECT \"column\", history->0->>$1, history->1->>$2, history->1->>'note',
                    \"end\" IS NOT NULL
             FROM \"check\"",
            &[&"it's", &"to \"state\""],
        )
        .expect("read the ticket");
    assert_eq!(
        row.get::<_, Option<String>>(0).as_deref(),
        Some("hello-world")
    );
    assert_eq!(
        row.get::<_, Option<String>>(1).as_deref(),
        Some(INSERT_TEXT)
    );
    assert_eq!(row.get::<_, Option<String>>(2).as_deref(), Some(DONE));
    assert_eq!(row.get::<_, Option<String>>(3).as_deref(), Some(ENTRY_TEXT));
    assert!(
        row.get::<_, bool>(4),
        "the stamp compared with {DONE:?} fired"
    );
}

/// Names the compiler derives from long names (`<table>_<column>_key`, `_pkey`, `_fkey`,
/// `_idx`) are shortened to 63 bytes, stay distinct, and are the names PostgreSQL has.
#[test]
fn derived_names_are_shortened_to_63_bytes() {
    let cat = hostile_catalogue();
    let db = schemac::desired::database(&cat);
    let long = db.table(LONG_TABLE).expect("long table");
    let mut names: Vec<String> = vec![long.primary_key.name.clone()];
    names.extend(long.uniques.iter().map(|k| k.name.clone()));
    names.extend(long.foreign_keys.iter().map(|k| k.name.clone()));
    names.extend(
        db.indexes
            .iter()
            .filter(|i| {
                let long_key = |k: &String| k.contains(LONG_COLUMN) || k.contains(&unicode_63());
                i.table == LONG_TABLE || i.keys.iter().any(long_key)
            })
            .map(|i| i.name.clone()),
    );
    assert!(names.len() >= 7, "{names:?}");
    for n in &names {
        assert!(n.len() <= 63, "{n} is {} bytes", n.len());
    }
    let distinct: std::collections::BTreeSet<&String> = names.iter().collect();
    assert_eq!(distinct.len(), names.len(), "{names:?}");
    let full = format!("{LONG_TABLE}_pkey");
    assert_eq!(
        (long.primary_key.name.as_str(), true),
        (
            schemac::ident::derived_name(&full).0.as_str(),
            full.len() > 63
        ),
        "the primary key's name is shortened"
    );
    assert!(
        long.primary_key.name.starts_with("a_table_name_that_is"),
        "a readable prefix: {}",
        long.primary_key.name
    );

    // PostgreSQL keeps them as they are (a name over 63 bytes would have been truncated).
    let tmp = TempDir::new("derived");
    plan_and_write(tmp.path(), &cat);
    let (_db, mut client, _) = applied(tmp.path());
    for n in &names {
        let found: i64 = client
            .query_one(
                "SELECT (SELECT count(*) FROM pg_class WHERE relname = $1)
                      + (SELECT count(*) FROM pg_constraint WHERE conname = $1)",
                &[n],
            )
            .map(|r| r.get(0))
            .expect("pg_class");
        assert!(found > 0, "{n} is not in the database");
    }
}

/// Names PostgreSQL would truncate are refused by the validator, with a diagnostic that names
/// the offending name, its length and the limit.
#[test]
fn names_over_63_bytes_are_refused_clearly() {
    let too_long = format!("{LONG_TABLE}z");
    let too_long_unicode = format!("{}é", "é".repeat(31)); // 64 bytes, 32 characters
    let label = format!("{}a", ORDER_LABELS.last().unwrap());
    let cases = [
        (
            format!(
                "model: Thing\ncollection: things\ntable: {too_long}\nphase: 1\nfields:\n  a: {{ bson: string }}\n"
            ),
            "table",
            too_long.clone(),
        ),
        (
            format!(
                "model: Thing\ncollection: things\nphase: 1\nfields:\n  a: {{ bson: string, column: {too_long_unicode} }}\n"
            ),
            "column",
            too_long_unicode.clone(),
        ),
        (
            format!(
                "model: Thing\ncollection: things\nphase: 1\nenums:\n  e: [ok, {label}]\nfields:\n  a: {{ bson: string, enum: e }}\n"
            ),
            "enum value",
            label.clone(),
        ),
        (
            format!(
                "model: Thing\ncollection: things\nphase: 1\nfields:\n  a: {{ bson: string }}\nindexes:\n  - fields: [a]\n    name: {too_long}\n"
            ),
            "index",
            too_long.clone(),
        ),
    ];
    for (yaml, what, name) in cases {
        let v = validate(&[("thing.yaml", &yaml)]);
        assert!(v.catalogue.is_none(), "{what} {name} must be refused");
        let d = v
            .diagnostics
            .iter()
            .find(|d| d.code == "identifier-too-long")
            .unwrap_or_else(|| panic!("{what}: {:#?}", v.diagnostics));
        assert!(
            d.message.contains(&format!("{what} name `{name}`"))
                || d.message.contains(&format!("{what} `{name}`")),
            "{}",
            d.message
        );
        assert!(d.message.contains("64 bytes"), "{}", d.message);
        assert!(d.message.contains("63"), "{}", d.message);
        assert!(d.span.is_some(), "located: {d:?}");
    }
}

/// Inputs that would break the migration at apply time, or silently change its meaning, are
/// refused by the validator with a diagnostic that says what and where.
#[test]
fn unusable_names_and_text_are_refused_clearly() {
    let thing = |extra: &str, fields: &str| {
        format!("model: Thing\ncollection: things\nphase: 1\n{extra}fields:\n{fields}")
    };
    let cases = [
        (
            thing("table: id_map\n", "  a: { bson: string }\n"),
            "reserved-name",
            "table `id_map` is a table the compiler makes itself",
        ),
        (
            thing("table: schemac_migrations\n", "  a: { bson: string }\n"),
            "reserved-name",
            "table `schemac_migrations` is a table the compiler makes itself",
        ),
        (
            thing(
                "enums:\n  dualwrite_operation: [a]\n",
                "  a: { bson: string, enum: dualwrite_operation }\n",
            ),
            "reserved-name",
            "enum `dualwrite_operation` is an enum the compiler makes itself",
        ),
        (
            thing(
                "enums:\n  things: [a]\n",
                "  a: { bson: string, enum: things }\n",
            ),
            "name-collision",
            "enum `things` has the name of table `things`",
        ),
        (
            thing(
                "enums:\n  date: [a]\n",
                "  a: { bson: string, enum: date }\n",
            ),
            "reserved-name",
            "enum `date` has the name of a PostgreSQL built-in type",
        ),
        (
            thing(
                "enums:\n  money: [a]\n",
                "  a: { bson: string, enum: money }\n",
            ),
            "reserved-name",
            "enum `money` has the name of a PostgreSQL built-in type",
        ),
        (
            thing("description: \"a\\0b\"\n", "  a: { bson: string }\n"),
            "nul-character",
            "NUL character",
        ),
        (
            thing("", "  a: { bson: string, column: \"a\\rb\" }\n"),
            "invalid-name",
            "column name \"a\\rb\" holds a control character",
        ),
        (
            thing(
                "",
                "  a: { bson: decimal128, pg: money, default: \"NaN\" }\n",
            ),
            "bad-default",
            "`NaN` is not a finite decimal number for the numeric(38,18) column",
        ),
        (
            thing(
                "",
                "  a: { bson: string, pg: \"numeric(10,2)\", default: \"0; DROP TABLE id_map; --\" }\n",
            ),
            "bad-default",
            "`0; DROP TABLE id_map; --` is not a finite decimal number",
        ),
    ];
    for (yaml, code, message) in cases {
        let v = validate(&[("thing.yaml", &yaml)]);
        assert!(v.catalogue.is_none(), "must be refused:\n{yaml}");
        let d = v
            .diagnostics
            .iter()
            .find(|d| d.code == code)
            .unwrap_or_else(|| panic!("no {code} for:\n{yaml}{:#?}", v.diagnostics));
        assert!(d.message.contains(message), "{}", d.message);
        assert!(d.span.is_some(), "located: {d:?}");
    }

    // What PostgreSQL can hold is accepted: a quoted `"Date"` is not `date`, an empty label is
    // a label, a numeric default in exponent notation is a number.
    let ok = thing(
        "enums:\n  Date: [\"\", a]\n",
        "  a: { bson: string, enum: Date }\n  n: { bson: decimal128, default: \"-1.5e3\" }\n",
    );
    let v = validate(&[("thing.yaml", &ok)]);
    assert!(v.catalogue.is_some(), "{:#?}", v.diagnostics);
}
