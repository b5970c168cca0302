//! Changes in, SQL text out: one or more statements per change, each ending in `;`, laid out for
//! a reviewer (one column per line, constraints named, comments after what they describe).

use crate::db::{Column, Enum, ForeignKey, Function, Index, Table, Trigger};
use crate::ident::{self, quote_ident as q, quote_literal};
use crate::types::PgType;

use super::diff::{Change, Constraint};

/// The statements of one change.
pub fn statements(change: &Change) -> Vec<String> {
    match change {
        Change::CreateEnum(e) => create_enum(e),
        Change::AddEnumValue {
            name,
            value,
            before,
        } => vec![format!(
            "ALTER TYPE {} ADD VALUE IF NOT EXISTS {}{};",
            q(name),
            quote_literal(value),
            before
                .as_ref()
                .map(|b| format!(" BEFORE {}", quote_literal(b)))
                .unwrap_or_default()
        )],
        Change::RecreateEnum { old, new, uses } => {
            let parked = ident::derived_name(&format!("{}_old", old.name)).0;
            let mut v = vec![format!(
                "ALTER TYPE {} RENAME TO {};",
                q(&old.name),
                q(&parked)
            )];
            v.extend(create_enum(new));
            for (table, column, array, default) in uses {
                let alter = format!("ALTER TABLE {} ALTER COLUMN {}", q(table), q(column));
                if default.is_some() {
                    v.push(format!("{alter} DROP DEFAULT;"));
                }
                let (text, ty) = if *array {
                    ("text[]", format!("{}[]", q(&new.name)))
                } else {
                    ("text", q(&new.name))
                };
                v.push(format!(
                    "{alter} TYPE {ty} USING {}::{text}::{ty};",
                    q(column)
                ));
                if let Some(d) = default {
                    v.push(format!("{alter} SET DEFAULT {d};"));
                }
            }
            v.push(format!("DROP TYPE {};", q(&parked)));
            v
        }
        Change::DropEnum(e) => vec![format!("DROP TYPE {};", q(&e.name))],
        Change::CommentEnum { name, comment } => {
            vec![comment_on(&format!("TYPE {}", q(name)), comment.as_deref())]
        }
        Change::CreateFunction(f) => create_function(f),
        Change::DropFunction(f) => vec![format!("DROP FUNCTION {}();", q(&f.name))],
        Change::CreateTable(t) => create_table(t),
        Change::RenameTable { from, to } => {
            vec![format!("ALTER TABLE {} RENAME TO {};", q(from), q(to))]
        }
        Change::DropTable(t) => vec![format!("DROP TABLE {};", q(&t.name))],
        Change::CommentTable { table, comment } => {
            vec![comment_on(
                &format!("TABLE {}", q(table)),
                comment.as_deref(),
            )]
        }
        Change::AddColumn { table, column } => {
            let mut v = vec![format!(
                "ALTER TABLE {} ADD COLUMN {};",
                q(table),
                column_def(column)
            )];
            if column.comment.is_some() {
                v.push(comment_on(
                    &format!("COLUMN {}.{}", q(table), q(&column.name)),
                    column.comment.as_deref(),
                ));
            }
            v
        }
        Change::DropColumn { table, column } => vec![format!(
            "ALTER TABLE {} DROP COLUMN {};",
            q(table),
            q(&column.name)
        )],
        Change::RenameColumn { table, from, to } => vec![format!(
            "ALTER TABLE {} RENAME COLUMN {} TO {};",
            q(table),
            q(from),
            q(to)
        )],
        Change::AlterType {
            table,
            column,
            from,
            to,
        } => {
            // Postgres casts an enum to and from text only: other types go through text.
            let (elem, array) = match from.strip_suffix("[]") {
                Some(e) => (e, "[]"),
                None => (from.as_str(), ""),
            };
            let from_enum = PgType::parse(elem).is_err();
            let via = if from_enum && to.trim_end_matches("[]") != "text" {
                format!("::text{array}")
            } else {
                String::new()
            };
            vec![format!(
                "ALTER TABLE {} ALTER COLUMN {} TYPE {ty} USING {}{via}::{ty};",
                q(table),
                q(column),
                q(column),
                ty = sql_type(to)
            )]
        }
        Change::SetNotNull { table, column } => vec![format!(
            "ALTER TABLE {} ADD CONSTRAINT {} CHECK ({} IS NOT NULL) NOT VALID;",
            q(table),
            q(&not_null_check(table, column)),
            q(column)
        )],
        Change::ValidateNotNull { table, column } => {
            let check = q(&not_null_check(table, column));
            vec![
                format!("ALTER TABLE {} VALIDATE CONSTRAINT {check};", q(table)),
                format!(
                    "ALTER TABLE {} ALTER COLUMN {} SET NOT NULL;",
                    q(table),
                    q(column)
                ),
                format!("ALTER TABLE {} DROP CONSTRAINT {check};", q(table)),
            ]
        }
        Change::DropNotNull { table, column } => vec![format!(
            "ALTER TABLE {} ALTER COLUMN {} DROP NOT NULL;",
            q(table),
            q(column)
        )],
        Change::SetDefault {
            table,
            column,
            default,
        } => vec![match default {
            Some(d) => format!(
                "ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {d};",
                q(table),
                q(column)
            ),
            None => format!(
                "ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT;",
                q(table),
                q(column)
            ),
        }],
        Change::CommentColumn {
            table,
            column,
            comment,
        } => vec![comment_on(
            &format!("COLUMN {}.{}", q(table), q(column)),
            comment.as_deref(),
        )],
        Change::AddConstraint {
            table,
            constraint,
            not_valid,
        } => vec![format!(
            "ALTER TABLE {} ADD {}{};",
            q(table),
            constraint_def(constraint),
            if *not_valid { " NOT VALID" } else { "" }
        )],
        Change::ValidateConstraint { table, name } => vec![format!(
            "ALTER TABLE {} VALIDATE CONSTRAINT {};",
            q(table),
            q(name)
        )],
        Change::DropConstraint { table, constraint } => vec![format!(
            "ALTER TABLE {} DROP CONSTRAINT {};",
            q(table),
            q(constraint.name())
        )],
        Change::RenameConstraint { table, from, to } => vec![format!(
            "ALTER TABLE {} RENAME CONSTRAINT {} TO {};",
            q(table),
            q(from),
            q(to)
        )],
        Change::CreateIndex {
            index,
            concurrently,
        } => create_index(index, *concurrently),
        Change::DropIndex(i) => vec![format!("DROP INDEX {};", q(&i.name))],
        Change::RenameIndex { from, to } => {
            vec![format!("ALTER INDEX {} RENAME TO {};", q(from), q(to))]
        }
        Change::CommentIndex { name, comment } => {
            vec![comment_on(
                &format!("INDEX {}", q(name)),
                comment.as_deref(),
            )]
        }
        Change::CreateTrigger(t) => vec![create_trigger(t)],
        Change::DropTrigger(t) => vec![format!("DROP TRIGGER {} ON {};", q(&t.name), q(&t.table))],
    }
}

/// The temporary CHECK that lets `SET NOT NULL` skip its scan.
fn not_null_check(table: &str, column: &str) -> String {
    ident::derived_name(&format!("{table}_{column}_not_null")).0
}

/// A type as SQL: schemac's scalar spellings as they are, enum names quoted when needed.
pub fn sql_type(ty: &str) -> String {
    let (elem, array) = match ty.strip_suffix("[]") {
        Some(e) => (e, "[]"),
        None => (ty, ""),
    };
    if PgType::parse(elem).is_ok() {
        format!("{elem}{array}")
    } else {
        format!("{}{array}", q(elem))
    }
}

fn comment_on(what: &str, comment: Option<&str>) -> String {
    match comment {
        Some(c) => format!("COMMENT ON {what} IS {};", quote_literal(c)),
        None => format!("COMMENT ON {what} IS NULL;"),
    }
}

fn create_enum(e: &Enum) -> Vec<String> {
    let values: Vec<String> = e.values.iter().map(|v| quote_literal(v)).collect();
    let one_line = format!(
        "CREATE TYPE {} AS ENUM ({});",
        q(&e.name),
        values.join(", ")
    );
    let mut v = vec![if one_line.len() <= 100 {
        one_line
    } else {
        format!(
            "CREATE TYPE {} AS ENUM (\n    {}\n);",
            q(&e.name),
            values.join(",\n    ")
        )
    }];
    if e.comment.is_some() {
        v.push(comment_on(
            &format!("TYPE {}", q(&e.name)),
            e.comment.as_deref(),
        ));
    }
    v
}

fn create_function(f: &Function) -> Vec<String> {
    let tag = dollar_tag(&f.body);
    let mut v = vec![format!(
        "CREATE OR REPLACE FUNCTION {}() RETURNS trigger\nLANGUAGE plpgsql AS {tag}{}{tag};",
        q(&f.name),
        f.body
    )];
    if f.comment.is_some() {
        v.push(comment_on(
            &format!("FUNCTION {}()", q(&f.name)),
            f.comment.as_deref(),
        ));
    }
    v
}

/// The dollar quote of a function body: `$$`, or `$body$`, `$body1$`... when the body (text from
/// the catalogue, such as a timeline entry) would end a `$$` early.
fn dollar_tag(body: &str) -> String {
    let ends_body = |tag: &str| format!("{body}{tag}").find(tag) == Some(body.len());
    std::iter::once("$$".to_string())
        .chain((0..).map(|n| match n {
            0 => "$body$".to_string(),
            n => format!("$body{n}$"),
        }))
        .find(|tag| ends_body(tag))
        .unwrap_or_default()
}

fn column_def(c: &Column) -> String {
    let mut s = format!("{} {}", q(&c.name), sql_type(&c.ty));
    if !c.nullable {
        s.push_str(" NOT NULL");
    }
    if let Some(d) = &c.default {
        s.push_str(" DEFAULT ");
        s.push_str(d);
    }
    s
}

fn columns(cols: &[String]) -> String {
    cols.iter().map(|c| q(c)).collect::<Vec<_>>().join(", ")
}

fn fk_def(f: &ForeignKey) -> String {
    let mut s = format!(
        "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({})",
        q(&f.name),
        columns(&f.columns),
        q(&f.references),
        columns(&f.referenced_columns)
    );
    if f.on_delete != "NO ACTION" {
        s.push_str(" ON DELETE ");
        s.push_str(&f.on_delete);
    }
    s
}

fn constraint_def(c: &Constraint) -> String {
    match c {
        Constraint::Unique(k) => {
            format!("CONSTRAINT {} UNIQUE ({})", q(&k.name), columns(&k.columns))
        }
        Constraint::Check(c) => format!(
            "CONSTRAINT {} CHECK ({})",
            q(&c.name),
            check_expr(&c.expression)
        ),
        Constraint::ForeignKey(f) => fk_def(f),
    }
}

/// A long disjunction of parenthesised arms (the polymorphic CHECKs) goes one arm per line.
fn check_expr(e: &str) -> String {
    if e.len() <= 80 || !e.contains(") OR (") {
        return e.to_string();
    }
    format!("\n        {}\n    ", e.replace(") OR (", ")\n        OR ("))
}

fn create_table(t: &Table) -> Vec<String> {
    let mut lines: Vec<String> = t.columns.iter().map(column_def).collect();
    lines.push(format!(
        "CONSTRAINT {} PRIMARY KEY ({})",
        q(&t.primary_key.name),
        columns(&t.primary_key.columns)
    ));
    for k in &t.uniques {
        lines.push(constraint_def(&Constraint::Unique(k.clone())));
    }
    for c in &t.checks {
        lines.push(constraint_def(&Constraint::Check(c.clone())));
    }
    for f in &t.foreign_keys {
        lines.push(fk_def(f));
    }
    let mut v = vec![format!(
        "CREATE TABLE {} (\n    {}\n);",
        q(&t.name),
        lines.join(",\n    ")
    )];
    if t.comment.is_some() {
        v.push(comment_on(
            &format!("TABLE {}", q(&t.name)),
            t.comment.as_deref(),
        ));
    }
    for c in &t.columns {
        if c.comment.is_some() {
            v.push(comment_on(
                &format!("COLUMN {}.{}", q(&t.name), q(&c.name)),
                c.comment.as_deref(),
            ));
        }
    }
    v
}

fn create_index(i: &Index, concurrently: bool) -> Vec<String> {
    let mut s = String::from("CREATE ");
    if i.unique {
        s.push_str("UNIQUE ");
    }
    s.push_str("INDEX ");
    if concurrently {
        s.push_str("CONCURRENTLY IF NOT EXISTS ");
    }
    s.push_str(&format!("{} ON {}", q(&i.name), q(&i.table)));
    if i.method != "btree" {
        s.push_str(&format!(" USING {}", i.method));
    }
    s.push_str(&format!(" ({})", i.keys.join(", ")));
    if let Some(p) = &i.predicate {
        s.push_str(&format!(" WHERE {p}"));
    }
    s.push(';');
    let mut v = vec![s];
    if i.comment.is_some() {
        v.push(comment_on(
            &format!("INDEX {}", q(&i.name)),
            i.comment.as_deref(),
        ));
    }
    v
}

fn create_trigger(t: &Trigger) -> String {
    format!(
        "CREATE TRIGGER {} {} {} ON {}\nFOR EACH {} EXECUTE FUNCTION {}();",
        q(&t.name),
        t.timing,
        t.events.join(" OR "),
        q(&t.table),
        t.level,
        q(&t.function)
    )
}
