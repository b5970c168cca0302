//! A live database in, its [`Database`] out: reads `pg_catalog` for one schema (normally
//! `public`) in the shape migration snapshots store, and lists the structural differences
//! between two [`Database`]s ([`diff_report`]).
//!
//! What cannot be read back is put in a stable order instead: enums, tables and functions by
//! name (creation order is lost), constraints and indexes by name, triggers by table then name;
//! columns keep their order. Compare a snapshot with an introspected schema with
//! [`diff_report`], which matches items by name and ignores list order.
//!
//! Expressions are Postgres' canonical text in pretty mode (`pg_get_expr(.., true)`,
//! `pg_get_constraintdef(.., true)`), which drops the redundant parentheses the plain mode adds:
//! a CHECK `ordinal >= 0` reads back as `ordinal >= 0`, not `(ordinal >= 0)`; but casts Postgres
//! inserts stay (`'draft'::purchase_request_status`, `'x'::text`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;

use postgres::Client;

use crate::db::{Check, Column, Database, Enum, ForeignKey, Function, Index, Key, Table, Trigger};

/// The migration history table, left out of the introspected schema.
const HISTORY_TABLE: &str = "schemac_migrations";

/// Reads the schema `schema` (normally `"public"`) of the database `client` is connected to,
/// without the `schemac_migrations` table.
///
/// A table without a primary key gets a [`Key`] with an empty name and no columns.
pub fn introspect(client: &mut Client, schema: &str) -> Result<Database, postgres::Error> {
    let mut db = Database {
        enums: enums(client, schema)?,
        functions: functions(client, schema)?,
        triggers: triggers(client, schema)?,
        ..Database::default()
    };
    let rows = client.query(
        "SELECT c.oid, c.relname::text, obj_description(c.oid, 'pg_class')
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
           AND c.relname <> $2",
        &[&schema, &HISTORY_TABLE],
    )?;
    let mut tables: BTreeMap<u32, Table> = rows
        .iter()
        .map(|r| {
            let table = Table {
                name: r.get(1),
                comment: r.get(2),
                columns: Vec::new(),
                primary_key: Key {
                    name: String::new(),
                    columns: Vec::new(),
                },
                uniques: Vec::new(),
                checks: Vec::new(),
                foreign_keys: Vec::new(),
            };
            (r.get(0), table)
        })
        .collect();
    let oids: Vec<u32> = tables.keys().copied().collect();
    columns(client, &oids, &mut tables)?;
    constraints(client, &oids, &mut tables)?;
    db.indexes = indexes(client, &oids)?;
    db.tables = tables.into_values().collect();
    db.tables.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(db)
}

fn enums(client: &mut Client, schema: &str) -> Result<Vec<Enum>, postgres::Error> {
    let rows = client.query(
        "SELECT t.typname::text, obj_description(t.oid, 'pg_type'),
                ARRAY(SELECT e.enumlabel::text FROM pg_enum e
                      WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder)
         FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
         WHERE n.nspname = $1 AND t.typtype = 'e'",
        &[&schema],
    )?;
    let mut enums: Vec<Enum> = rows
        .iter()
        .map(|r| Enum {
            name: r.get(0),
            comment: r.get(1),
            values: r.get(2),
        })
        .collect();
    enums.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(enums)
}

fn columns(
    client: &mut Client,
    oids: &[u32],
    tables: &mut BTreeMap<u32, Table>,
) -> Result<(), postgres::Error> {
    // An array's element type (`b`) carries the column's typmod: numeric(38,18)[].
    let rows = client.query(
        "SELECT a.attrelid, a.attname::text, a.attnotnull,
                pg_get_expr(d.adbin, d.adrelid, true), col_description(a.attrelid, a.attnum),
                format_type(a.atttypid, a.atttypmod), t.typcategory = 'A' AND t.typelem <> 0,
                b.typname::text, b.typtype = 'e', b.typnamespace = 'pg_catalog'::regnamespace,
                format_type(b.oid, a.atttypmod)
         FROM pg_attribute a
         JOIN pg_type t ON t.oid = a.atttypid
         JOIN pg_type b ON b.oid = CASE WHEN t.typcategory = 'A' AND t.typelem <> 0
                                        THEN t.typelem ELSE t.oid END
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE a.attrelid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped
         ORDER BY a.attrelid, a.attnum",
        &[&oids],
    )?;
    for r in rows {
        let ty = spell_type(TypeInfo {
            formatted: r.get(5),
            is_array: r.get(6),
            base_name: r.get(7),
            base_is_enum: r.get(8),
            base_is_builtin: r.get(9),
            base_formatted: r.get(10),
        });
        let table = tables.get_mut(&r.get::<_, u32>(0)).expect("queried by oid");
        table.columns.push(Column {
            name: r.get(1),
            ty,
            nullable: !r.get::<_, bool>(2),
            default: r.get(3),
            comment: r.get(4),
        });
    }
    Ok(())
}

/// What `pg_catalog` says about a column's type.
struct TypeInfo {
    /// `format_type` of the column's type.
    formatted: String,
    is_array: bool,
    /// The type, or an array's element type.
    base_name: String,
    base_is_enum: bool,
    base_is_builtin: bool,
    /// `format_type` of `base_name` with the column's typmod.
    base_formatted: String,
}

/// The type in schemac's spelling: `int4`, `numeric(38,18)`, `text[]`, an enum's bare name;
/// other types as `format_type` writes them.
fn spell_type(t: TypeInfo) -> String {
    let base = match t.base_name.as_str() {
        _ if t.base_is_enum => t.base_name,
        "int4" | "int8" | "float8" | "timestamptz" | "text" | "uuid" | "jsonb" | "bytea"
            if t.base_is_builtin =>
        {
            t.base_name
        }
        "bool" if t.base_is_builtin => "boolean".to_string(),
        "numeric" if t.base_is_builtin => t.base_formatted,
        _ => return t.formatted,
    };
    if t.is_array {
        format!("{base}[]")
    } else {
        base
    }
}

fn constraints(
    client: &mut Client,
    oids: &[u32],
    tables: &mut BTreeMap<u32, Table>,
) -> Result<(), postgres::Error> {
    let rows = client.query(
        "SELECT c.conrelid, c.conname::text, c.contype::text, pg_get_constraintdef(c.oid, true),
                ARRAY(SELECT a.attname::text
                      FROM unnest(c.conkey) WITH ORDINALITY k(attnum, i)
                      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
                      ORDER BY k.i),
                ARRAY(SELECT a.attname::text
                      FROM unnest(c.confkey) WITH ORDINALITY k(attnum, i)
                      JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum
                      ORDER BY k.i),
                r.relname::text, c.confdeltype::text
         FROM pg_constraint c LEFT JOIN pg_class r ON r.oid = c.confrelid
         WHERE c.conrelid = ANY($1) AND c.contype IN ('p', 'u', 'c', 'f')",
        &[&oids],
    )?;
    for r in rows {
        let table = tables.get_mut(&r.get::<_, u32>(0)).expect("queried by oid");
        let name: String = r.get(1);
        let columns: Vec<String> = r.get(4);
        match r.get::<_, &str>(2) {
            "p" => table.primary_key = Key { name, columns },
            "u" => table.uniques.push(Key { name, columns }),
            "c" => table.checks.push(Check {
                name,
                expression: check_expression(r.get(3)),
            }),
            _ => table.foreign_keys.push(ForeignKey {
                name,
                columns,
                references: r.get::<_, Option<String>>(6).unwrap_or_default(),
                referenced_columns: r.get(5),
                on_delete: on_delete(r.get(7)).to_string(),
            }),
        }
    }
    for table in tables.values_mut() {
        table.uniques.sort_by(|a, b| a.name.cmp(&b.name));
        table.checks.sort_by(|a, b| a.name.cmp(&b.name));
        table.foreign_keys.sort_by(|a, b| a.name.cmp(&b.name));
    }
    Ok(())
}

/// `CHECK (expr)` (maybe followed by `NOT VALID` or `NO INHERIT`) to `expr`.
fn check_expression(def: &str) -> String {
    let def = def
        .trim_end_matches(" NOT VALID")
        .trim_end_matches(" NO INHERIT");
    def.strip_prefix("CHECK (")
        .and_then(|d| d.strip_suffix(')'))
        .unwrap_or(def)
        .to_string()
}

/// `pg_constraint.confdeltype` to the SQL words.
fn on_delete(code: &str) -> &'static str {
    match code {
        "r" => "RESTRICT",
        "c" => "CASCADE",
        "n" => "SET NULL",
        "d" => "SET DEFAULT",
        _ => "NO ACTION",
    }
}

fn indexes(client: &mut Client, oids: &[u32]) -> Result<Vec<Index>, postgres::Error> {
    let rows = client.query(
        "SELECT ic.relname::text, tc.relname::text, i.indisunique, am.amname::text,
                i.indkey::int2[], i.indoption::int2[],
                ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true)
                      FROM generate_series(1, i.indnkeyatts) k ORDER BY k),
                pg_get_expr(i.indpred, i.indrelid, true), obj_description(i.indexrelid, 'pg_class')
         FROM pg_index i
         JOIN pg_class ic ON ic.oid = i.indexrelid
         JOIN pg_class tc ON tc.oid = i.indrelid
         JOIN pg_am am ON am.oid = ic.relam
         WHERE i.indrelid = ANY($1)
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                           WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid
                             AND c.contype IN ('p', 'u'))",
        &[&oids],
    )?;
    let mut indexes: Vec<Index> = rows
        .iter()
        .map(|r| {
            let attnums: Vec<i16> = r.get(4);
            let options: Vec<i16> = r.get(5);
            let defs: Vec<String> = r.get(6);
            let keys = defs
                .into_iter()
                .enumerate()
                .map(|(k, def)| {
                    let expression = attnums.get(k) == Some(&0);
                    index_key(def, expression, options.get(k).copied().unwrap_or(0))
                })
                .collect();
            Index {
                name: r.get(0),
                table: r.get(1),
                unique: r.get(2),
                method: r.get(3),
                keys,
                predicate: r.get(7),
                comment: r.get(8),
            }
        })
        .collect();
    indexes.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(indexes)
}

/// One index key as the catalogue writes it: a column name, or an expression in one pair of
/// parentheses; then ` DESC`, and the NULLS order when it is not the default for the direction.
fn index_key(def: String, expression: bool, option: i16) -> String {
    // `pg_get_indexdef(.., k, true)` parenthesises an expression key unless it is a function
    // call (`lower(btrim(name))` but `(a + 1)`).
    let mut key = if expression && !wholly_parenthesised(&def) {
        format!("({def})")
    } else {
        def
    };
    // pg_index.indoption bits: INDOPTION_DESC = 1, INDOPTION_NULLS_FIRST = 2; NULLS FIRST is
    // the default for DESC, NULLS LAST for ASC.
    let (desc, nulls_first) = (option & 1 != 0, option & 2 != 0);
    if desc {
        key.push_str(" DESC");
    }
    if desc != nulls_first {
        key.push_str(if nulls_first {
            " NULLS FIRST"
        } else {
            " NULLS LAST"
        });
    }
    key
}

/// Whether the text is `( ... )` with the first parenthesis closed by the last character.
fn wholly_parenthesised(s: &str) -> bool {
    if !s.starts_with('(') || !s.ends_with(')') {
        return false;
    }
    let (mut depth, mut quote) = (0usize, None);
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i == s.len() - 1;
                }
            }
            _ => {}
        }
    }
    false
}

fn functions(client: &mut Client, schema: &str) -> Result<Vec<Function>, postgres::Error> {
    let rows = client.query(
        "SELECT p.proname::text, p.prosrc, obj_description(p.oid, 'pg_proc')
         FROM pg_proc p
         JOIN pg_namespace n ON n.oid = p.pronamespace
         JOIN pg_language l ON l.oid = p.prolang
         WHERE n.nspname = $1 AND l.lanname = 'plpgsql' AND p.prorettype = 'trigger'::regtype",
        &[&schema],
    )?;
    let mut functions: Vec<Function> = rows
        .iter()
        .map(|r| Function {
            name: r.get(0),
            body: r.get(1),
            comment: r.get(2),
        })
        .collect();
    functions.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(functions)
}

fn triggers(client: &mut Client, schema: &str) -> Result<Vec<Trigger>, postgres::Error> {
    let rows = client.query(
        "SELECT t.tgname::text, c.relname::text, t.tgtype, p.proname::text
         FROM pg_trigger t
         JOIN pg_class c ON c.oid = t.tgrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_proc p ON p.oid = t.tgfoid
         WHERE n.nspname = $1 AND c.relname <> $2 AND NOT t.tgisinternal",
        &[&schema, &HISTORY_TABLE],
    )?;
    let mut triggers: Vec<Trigger> = rows
        .iter()
        .map(|r| {
            // pg_trigger.tgtype bits (TRIGGER_TYPE_* in catalog/pg_trigger.h).
            let bits: i16 = r.get(2);
            let timing = match (bits & 2 != 0, bits & 64 != 0) {
                (true, _) => "BEFORE",
                (false, true) => "INSTEAD OF",
                (false, false) => "AFTER",
            };
            let events = [
                (4, "INSERT"),
                (16, "UPDATE"),
                (8, "DELETE"),
                (32, "TRUNCATE"),
            ]
            .into_iter()
            .filter(|(bit, _)| bits & bit != 0)
            .map(|(_, event)| event.to_string())
            .collect();
            Trigger {
                name: r.get(0),
                table: r.get(1),
                timing: timing.into(),
                events,
                level: if bits & 1 != 0 { "ROW" } else { "STATEMENT" }.into(),
                function: r.get(3),
            }
        })
        .collect();
    triggers.sort_by(|a, b| (&a.table, &a.name).cmp(&(&b.table, &b.name)));
    Ok(triggers)
}

/// `db` with each table's columns in name order, all else as it is: what two databases must
/// agree on when one got its columns by migrations (added at the end) and the other was
/// created fresh (catalogue order), both read by [`introspect`], so both spelled by PostgreSQL.
/// Compare two such with [`diff_report`].
pub fn columns_by_name(db: &Database) -> Database {
    let mut db = db.clone();
    for t in &mut db.tables {
        t.columns.sort_by(|a, b| a.name.cmp(&b.name));
    }
    db
}

/// `db` with its expressions blanked (column defaults, CHECKs, index predicates and expression
/// keys) and each table's columns in name order: what a snapshot (the catalogue's spelling,
/// columns in catalogue order) and [`introspect`] (PostgreSQL's canonical spelling, columns in
/// creation order) must agree on. Compare two such with [`diff_report`].
pub fn structure(db: &Database) -> Database {
    let mut db = columns_by_name(db);
    for t in &mut db.tables {
        for c in &mut t.columns {
            if c.default.is_some() {
                c.default = Some("<expr>".into());
            }
        }
        for c in &mut t.checks {
            c.expression = "<expr>".into();
        }
    }
    for i in &mut db.indexes {
        if i.predicate.is_some() {
            i.predicate = Some("<expr>".into());
        }
        for k in &mut i.keys {
            if k.starts_with('(') {
                *k = "(<expr>)".into();
            }
        }
    }
    db
}

/// The structural differences between two schemas, one line each (`table payments: column
/// amount: type numeric(38,18) != numeric(10,2)`, expected value first); empty when they are
/// equal. Items are matched by name, so list order does not matter, except for columns and
/// enum values, whose order Postgres keeps.
pub fn diff_report(expected: &Database, actual: &Database) -> Vec<String> {
    let mut out = Vec::new();
    if expected.format != actual.format {
        out.push(format!("format {} != {}", expected.format, actual.format));
    }
    let mut diff = Diff { out: &mut out };
    diff.items(
        "",
        "enum",
        &expected.enums,
        &actual.enums,
        |e| e.name.clone(),
        |d, s, e, a| {
            d.sequence(s, "value", &e.values, &a.values);
            d.field(s, "comment", show(&e.comment), show(&a.comment));
        },
    );
    diff.items(
        "",
        "function",
        &expected.functions,
        &actual.functions,
        |f| f.name.clone(),
        |d, s, e, a| {
            d.field(s, "body", format!("{:?}", e.body), format!("{:?}", a.body));
            d.field(s, "comment", show(&e.comment), show(&a.comment));
        },
    );
    diff.items(
        "",
        "table",
        &expected.tables,
        &actual.tables,
        |t| t.name.clone(),
        diff_table,
    );
    diff.items(
        "",
        "index",
        &expected.indexes,
        &actual.indexes,
        |i| i.name.clone(),
        |d, s, e, a| {
            d.field(s, "table", &e.table, &a.table);
            d.field(s, "unique", e.unique, a.unique);
            d.field(s, "method", &e.method, &a.method);
            d.field(s, "keys", list(&e.keys), list(&a.keys));
            d.field(s, "predicate", show(&e.predicate), show(&a.predicate));
            d.field(s, "comment", show(&e.comment), show(&a.comment));
        },
    );
    let trigger_key = |t: &Trigger| format!("{} on {}", t.name, t.table);
    diff.items(
        "",
        "trigger",
        &expected.triggers,
        &actual.triggers,
        trigger_key,
        |d, s, e, a| {
            d.field(s, "timing", &e.timing, &a.timing);
            d.field(s, "events", list(&e.events), list(&a.events));
            d.field(s, "level", &e.level, &a.level);
            d.field(s, "function", &e.function, &a.function);
        },
    );
    out
}

fn diff_table(d: &mut Diff<'_>, s: &str, e: &Table, a: &Table) {
    d.field(s, "comment", show(&e.comment), show(&a.comment));
    d.items(
        s,
        "column",
        &e.columns,
        &a.columns,
        |c| c.name.clone(),
        |d, s, e, a| {
            d.field(s, "type", &e.ty, &a.ty);
            d.field(s, "nullable", e.nullable, a.nullable);
            d.field(s, "default", show(&e.default), show(&a.default));
            d.field(s, "comment", show(&e.comment), show(&a.comment));
        },
    );
    let names = |cols: &[Column]| cols.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
    let (en, an) = (names(&e.columns), names(&a.columns));
    if en != an && en.iter().collect::<BTreeSet<_>>() == an.iter().collect::<BTreeSet<_>>() {
        d.field(s, "column order", list(&en), list(&an));
    }
    d.field(s, "primary key", key(&e.primary_key), key(&a.primary_key));
    d.items(
        s,
        "unique",
        &e.uniques,
        &a.uniques,
        |k| k.name.clone(),
        |d, s, e, a| {
            d.field(s, "columns", list(&e.columns), list(&a.columns));
        },
    );
    d.items(
        s,
        "check",
        &e.checks,
        &a.checks,
        |c| c.name.clone(),
        |d, s, e, a| {
            d.field(s, "expression", &e.expression, &a.expression);
        },
    );
    d.items(
        s,
        "foreign key",
        &e.foreign_keys,
        &a.foreign_keys,
        |f| f.name.clone(),
        |d, s, e, a| {
            d.field(s, "columns", list(&e.columns), list(&a.columns));
            d.field(s, "references", &e.references, &a.references);
            d.field(
                s,
                "referenced columns",
                list(&e.referenced_columns),
                list(&a.referenced_columns),
            );
            d.field(s, "on delete", &e.on_delete, &a.on_delete);
        },
    );
}

/// Collects report lines; `scope` is the prefix naming the enclosing item (`table t: `).
struct Diff<'a> {
    out: &'a mut Vec<String>,
}

impl Diff<'_> {
    fn field(&mut self, scope: &str, what: &str, expected: impl Display, actual: impl Display) {
        let (e, a) = (expected.to_string(), actual.to_string());
        if e != a {
            self.out.push(format!("{scope}{what} {e} != {a}"));
        }
    }

    /// Matches two lists by key: missing and extra items, then `each` on the pairs.
    fn items<T>(
        &mut self,
        scope: &str,
        kind: &str,
        expected: &[T],
        actual: &[T],
        key: impl Fn(&T) -> String,
        mut each: impl FnMut(&mut Diff<'_>, &str, &T, &T),
    ) {
        let e: BTreeMap<String, &T> = expected.iter().map(|x| (key(x), x)).collect();
        let a: BTreeMap<String, &T> = actual.iter().map(|x| (key(x), x)).collect();
        for name in e.keys().chain(a.keys()).collect::<BTreeSet<_>>() {
            match (e.get(name), a.get(name)) {
                (Some(x), Some(y)) => each(self, &format!("{scope}{kind} {name}: "), x, y),
                (Some(_), None) => self.out.push(format!("{scope}missing {kind} {name}")),
                (None, _) => self.out.push(format!("{scope}extra {kind} {name}")),
            }
        }
    }

    /// Missing and extra members of an ordered list, or its order when only that differs.
    fn sequence(&mut self, scope: &str, kind: &str, expected: &[String], actual: &[String]) {
        let missing: Vec<_> = expected.iter().filter(|v| !actual.contains(v)).collect();
        let extra: Vec<_> = actual.iter().filter(|v| !expected.contains(v)).collect();
        for v in &missing {
            self.out.push(format!("{scope}missing {kind} {v}"));
        }
        for v in &extra {
            self.out.push(format!("{scope}extra {kind} {v}"));
        }
        if missing.is_empty() && extra.is_empty() {
            self.field(
                scope,
                &format!("{kind} order"),
                list(expected),
                list(actual),
            );
        }
    }
}

fn show(value: &Option<String>) -> String {
    value.as_ref().map_or("none".into(), |v| format!("{v:?}"))
}

fn list(values: &[String]) -> String {
    format!("({})", values.join(", "))
}

fn key(k: &Key) -> String {
    format!("{} {}", k.name, list(&k.columns))
}
