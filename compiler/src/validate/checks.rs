//! Checks that look across fields, models and tables: index, TTL and invariant paths, refPath
//! discriminators, name collisions and lengths, and required-reference cycles.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use sqlparser::ast::{BinaryOperator, Expr, ObjectNamePart, Value, visit_expressions};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use super::fold;
use super::lower::Globals;
use crate::diag::{Diagnostic, Span, did_you_mean};
use crate::ident::MAX_IDENT_BYTES;
use crate::ir::*;
use crate::parse::syntax::{IndexMethod, ModelDecl, Sp};
use crate::plan::Schema;
use crate::types::PgType;

/// A Mongo path resolved to the columns that hold it.
#[derive(Clone)]
struct Target {
    table: String,
    columns: Vec<(String, PgType)>,
    /// The path is an array field (any storage).
    array: bool,
}

fn path_map(model: &Model) -> BTreeMap<String, Target> {
    let mut map = BTreeMap::new();
    let ts = |name: &str| Target {
        table: model.table.clone(),
        columns: vec![(name.into(), PgType::Timestamptz)],
        array: false,
    };
    if model.timestamps.created_at {
        map.insert("createdAt".to_string(), ts("created_at"));
    }
    if model.timestamps.updated_at {
        map.insert("updatedAt".to_string(), ts("updated_at"));
    }
    walk(&model.fields, &model.table, &mut map);
    map
}

fn walk(fields: &[Field], table: &str, map: &mut BTreeMap<String, Target>) {
    for f in fields {
        let array = f.bson.contains(&crate::types::BsonType::Array);
        let one = |c: &Column| Target {
            table: c.table.clone(),
            columns: vec![(c.name.clone(), c.pg.clone())],
            array,
        };
        match &f.storage {
            Storage::Column(c) | Storage::Jsonb { column: c, .. } => {
                map.insert(f.mongo_path.clone(), one(c));
            }
            Storage::Polymorphic(p) => {
                let cols = vec![
                    (p.id.name.clone(), p.id.pg.clone()),
                    (p.external_ref.name.clone(), p.external_ref.pg.clone()),
                ];
                map.insert(
                    f.mongo_path.clone(),
                    Target {
                        table: table.to_string(),
                        columns: cols,
                        array,
                    },
                );
            }
            Storage::Flattened { fields } => walk(fields, table, map),
            Storage::ChildTable(c) => {
                map.insert(
                    f.mongo_path.clone(),
                    Target {
                        table: c.name.clone(),
                        columns: Vec::new(),
                        array,
                    },
                );
                walk(&c.fields, &c.name, map);
            }
            Storage::InJsonb | Storage::Skipped { .. } => {}
        }
    }
}

fn unknown_path(
    span: &Span,
    path: &str,
    what: &str,
    field: &str,
    map: &BTreeMap<String, Target>,
) -> Diagnostic {
    Diagnostic::error("unknown-field", span, path, format!("{what} names `{field}`, which is not a stored field of this model"))
        .expected("the Mongo path of a field stored in columns (`status`, `quote.rate`, `passkeys.credentialId`)")
        .maybe_hint(did_you_mean(field, map.keys().map(String::as_str)))
}

/// Checks and resolves the model-level declarations: indexes, TTL, invariants, discriminators.
pub fn model_level(
    d: &ModelDecl,
    model: &mut Model,
    globals: &Globals,
    enums: &[EnumType],
    diags: &mut Vec<Diagnostic>,
) {
    let map = path_map(model);
    for idx in &d.indexes {
        if let Some(resolved) = index(idx, model, &map, diags) {
            model.indexes.push(resolved);
        }
    }
    if let Some(t) = &d.ttl {
        let column = root_column(&t.field, "`ttl`", model, &map, diags);
        if let Some((column, pg)) = column {
            if pg != PgType::Timestamptz {
                diags.push(
                    Diagnostic::error(
                        "ttl-not-date",
                        &t.field.span,
                        &t.field.path,
                        format!(
                            "TTL field `{}` is stored as {pg}, not a date",
                            t.field.value
                        ),
                    )
                    .expected("a `bson: date` field, `createdAt` or `updatedAt`"),
                );
            } else {
                let batch = t.batch.as_ref().map_or(1000, |b| b.value);
                if batch < 1 {
                    let b = t.batch.as_ref().expect("batch is set when below 1");
                    diags.push(Diagnostic::error(
                        "bad-value",
                        &b.span,
                        &b.path,
                        "`batch` must be at least 1",
                    ));
                }
                model.ttl = Some(Ttl {
                    column,
                    after_secs: t.after.as_ref().map(|a| a.value),
                    cadence_secs: t.cadence.value,
                    batch,
                });
            }
        }
    }
    column_checks(&model.fields, model, &map, diags);
    invariants(d, model, &map, enums, diags);
    discriminators(model, globals, &map, enums, diags);
}

fn root_column(
    field: &Sp<String>,
    what: &str,
    model: &Model,
    map: &BTreeMap<String, Target>,
    diags: &mut Vec<Diagnostic>,
) -> Option<(String, PgType)> {
    let Some(t) = map.get(&field.value) else {
        diags.push(unknown_path(
            &field.span,
            &field.path,
            what,
            &field.value,
            map,
        ));
        return None;
    };
    if t.table != model.table || t.columns.len() != 1 {
        diags.push(
            Diagnostic::error(
                "not-a-column",
                &field.span,
                &field.path,
                format!(
                    "{what} needs a single column of `{}`; `{}` is stored elsewhere",
                    model.table, field.value
                ),
            )
            .hint("name a scalar field of the document's top level"),
        );
        return None;
    }
    Some(t.columns[0].clone())
}

fn index(
    idx: &crate::parse::syntax::IndexDecl,
    model: &Model,
    map: &BTreeMap<String, Target>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Index> {
    let mut table: Option<String> = None;
    let mut columns = Vec::new();
    let mut ok = true;
    for f in &idx.fields {
        let (path, desc) = &f.value;
        match map.get(path) {
            Some(t) if !t.columns.is_empty() => {
                if let Some(tab) = &table
                    && tab != &t.table
                {
                    diags.push(
                        Diagnostic::error("index-spans-tables", &f.span, &f.path, format!("`{path}` is stored in `{}`, but the index is on `{tab}`", t.table))
                            .hint("an index covers one table: split it, or store the fields in the same table"),
                    );
                    ok = false;
                }
                table.get_or_insert_with(|| t.table.clone());
                columns.extend(t.columns.iter().map(|(c, _)| (c.clone(), *desc)));
            }
            Some(_) => {
                diags.push(
                    Diagnostic::error(
                        "not-a-column",
                        &f.span,
                        &f.path,
                        format!("`{path}` is a child table, not a column"),
                    )
                    .hint("index one of its fields: `<path>.<field>`"),
                );
                ok = false;
            }
            None => {
                diags.push(unknown_path(&f.span, &f.path, "this index", path, map));
                ok = false;
            }
        }
    }
    let table = table.unwrap_or_else(|| model.table.clone());
    let table_columns: Vec<&str> = columns_of(model, &table, map);
    if let Some(e) = &idx.expression {
        ok &= sql_expr(e, "expression", &table_columns, diags);
    }
    let mut where_sql = idx.where_sql.as_ref().map(|w| w.value.clone());
    if let Some(w) = &idx.where_sql {
        ok &= sql_expr(w, "where", &table_columns, diags);
    }
    if idx.sparse {
        let not_null: Vec<String> = columns
            .iter()
            .map(|(c, _)| format!("{} IS NOT NULL", crate::ident::quote_ident(c)))
            .collect();
        let sparse = not_null.join(" AND ");
        where_sql = Some(match where_sql {
            Some(w) => format!("({w}) AND {sparse}"),
            None => sparse,
        });
    }
    if let Some(n) = &idx.name
        && n.value.len() > MAX_IDENT_BYTES
    {
        diags.push(too_long(&n.span, &n.path, "index", &n.value));
        ok = false;
    }
    ok.then(|| Index {
        name: idx.name.as_ref().map(|n| n.value.clone()),
        table,
        columns,
        expression: idx.expression.as_ref().map(|e| e.value.clone()),
        unique: idx.unique,
        where_sql,
        using: idx.using.as_ref().map_or(IndexMethod::Btree, |u| u.value),
        span: idx.span.clone(),
    })
}

fn columns_of<'a>(
    model: &'a Model,
    table: &str,
    map: &'a BTreeMap<String, Target>,
) -> Vec<&'a str> {
    let mut cols: Vec<&str> = map
        .values()
        .filter(|t| t.table == table)
        .flat_map(|t| t.columns.iter().map(|(c, _)| c.as_str()))
        .collect();
    cols.extend(["id", "legacy_object_id"]);
    if table == model.table {
        cols.extend(["created_at", "updated_at", "mongo_version"]);
    }
    cols
}

/// Parses a SQL expression with the PostgreSQL dialect and checks that its bare identifiers are
/// columns of the table.
fn sql_expr(sql: &Sp<String>, what: &str, columns: &[&str], diags: &mut Vec<Diagnostic>) -> bool {
    let bad_sql = |problem: &dyn std::fmt::Display| {
        Diagnostic::error(
            "bad-sql",
            &sql.span,
            &sql.path,
            format!("`{what}` is not a PostgreSQL expression: {problem}"),
        )
        .expected("a SQL expression over the table's columns, e.g. `status = 'pending'`")
    };
    let dialect = PostgreSqlDialect {};
    let parsed = Parser::new(&dialect)
        .try_with_sql(&sql.value)
        .and_then(|mut p| {
            let e = p.parse_expr()?;
            match p.peek_token().token {
                Token::EOF => Ok(e),
                t => Err(sqlparser::parser::ParserError::ParserError(format!(
                    "unexpected `{t}` after the expression"
                ))),
            }
        });
    let expr = match parsed {
        Ok(e) => e,
        Err(err) => {
            diags.push(bad_sql(&err));
            return false;
        }
    };
    let mut unknown = Vec::new();
    let mut not_postgres = Vec::new();
    let mut unknown_functions = Vec::new();
    let _ = visit_expressions(&expr, |e| {
        match e {
            // `current_role` and the like are read as identifiers.
            Expr::Identifier(id)
                if !columns.contains(&id.value.as_str()) && !is_sql_function_form(id) =>
            {
                unknown.push(id.value.clone());
            }
            // A function with a schema (`public.f(x)`) is the user's to know.
            Expr::Function(f) => {
                if let [ObjectNamePart::Identifier(name)] = f.name.0.as_slice() {
                    let called = match name.quote_style {
                        Some(_) => name.value.clone(),
                        None => name.value.to_lowercase(),
                    };
                    if !is_postgres_function(&called) && !unknown_functions.contains(&called) {
                        unknown_functions.push(called);
                    }
                }
            }
            // sqlparser reads forms other dialects have that PostgreSQL refuses.
            Expr::TypedString(t)
                if t.uses_odbc_syntax
                    || !matches!(
                        t.value.value,
                        Value::SingleQuotedString(_)
                            | Value::EscapedStringLiteral(_)
                            | Value::UnicodeStringLiteral(_)
                            | Value::DollarQuotedString(_)
                            | Value::NationalStringLiteral(_)
                    ) =>
            {
                not_postgres.push(format!(
                    "`{t}`: a type name before a literal takes a quoted string in PostgreSQL \
                     (`int '1000'`, or `1000::int`)"
                ));
            }
            Expr::BinaryOp {
                op: BinaryOperator::Custom(name),
                ..
            } if name.len() > MAX_IDENT_BYTES => {
                not_postgres.push(format!(
                    "operator `{name}` is {} bytes; PostgreSQL operators have at most {MAX_IDENT_BYTES}",
                    name.len()
                ));
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    diags.extend(not_postgres.iter().map(|p| bad_sql(p)));
    for name in &unknown {
        diags.push(
            Diagnostic::error(
                "unknown-column",
                &sql.span,
                &sql.path,
                format!("`{what}` uses `{name}`, which is not a column of the table"),
            )
            .expected("Postgres column names (snake_case), not Mongo paths")
            .maybe_hint(did_you_mean(name, columns.iter().copied())),
        );
    }
    for name in &unknown_functions {
        diags.push(
            Diagnostic::error(
                "unknown-function",
                &sql.span,
                &sql.path,
                format!("`{what}` calls `{name}`, which is not a function of PostgreSQL 15"),
            )
            .expected("a built-in PostgreSQL function, e.g. `char_length(name) <= 200`")
            .hint({
                let own = format!(
                    "function of your own or of an extension is called with its schema: \
                     `public.{name}(...)`"
                );
                match did_you_mean(name, postgres_functions()) {
                    Some(guess) => format!("{guess} Or a {own}"),
                    None => format!("A {own}"),
                }
            }),
        );
    }
    unknown.is_empty() && not_postgres.is_empty() && unknown_functions.is_empty()
}

/// The functions of PostgreSQL 15's `pg_catalog`, sorted (`pg_functions.txt`).
fn postgres_functions() -> impl Iterator<Item = &'static str> {
    include_str!("pg_functions.txt")
        .lines()
        .filter(|line| !line.starts_with('#'))
}

/// The SQL-standard forms that PostgreSQL's grammar reads as function calls but that are not
/// in `pg_proc`.
const SQL_FUNCTION_FORMS: &[&str] = &[
    "coalesce",
    "current_catalog",
    "current_date",
    "current_role",
    "current_time",
    "current_timestamp",
    "current_user",
    "greatest",
    "least",
    "localtime",
    "localtimestamp",
    "nullif",
    "row",
    "session_user",
    "user",
];

/// Whether an identifier is one of [`SQL_FUNCTION_FORMS`] (unquoted: `"user"` is a column).
fn is_sql_function_form(id: &sqlparser::ast::Ident) -> bool {
    id.quote_style.is_none() && SQL_FUNCTION_FORMS.contains(&id.value.to_lowercase().as_str())
}

/// Whether `name` (folded to lower case unless it was quoted) is a PostgreSQL function.
fn is_postgres_function(name: &str) -> bool {
    static SORTED: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    let sorted = SORTED.get_or_init(|| postgres_functions().collect());
    SQL_FUNCTION_FORMS.contains(&name) || sorted.binary_search(&name).is_ok()
}

fn invariants(
    d: &ModelDecl,
    model: &mut Model,
    map: &BTreeMap<String, Target>,
    enums: &[EnumType],
    diags: &mut Vec<Diagnostic>,
) {
    let inv = &d.invariants;
    let mut out = Invariants {
        append_only: inv.append_only.is_some(),
        ..Default::default()
    };
    let typed = |f: &Sp<String>,
                 what: &str,
                 want: &[&str],
                 diags: &mut Vec<Diagnostic>|
     -> Option<String> {
        let (col, pg) = root_column(f, what, model, map, diags)?;
        let kind = match &pg {
            PgType::Boolean => "boolean",
            PgType::Text => "text",
            PgType::Enum(_) => "enum",
            PgType::Timestamptz => "timestamptz",
            _ => "other",
        };
        if !want.contains(&kind) && !(want.contains(&"any")) {
            diags.push(Diagnostic::error(
                "type-mismatch",
                &f.span,
                &f.path,
                format!(
                    "{what} needs a {} field; `{}` is {pg}",
                    want.join(" or "),
                    f.value
                ),
            ));
            return None;
        }
        Some(col)
    };
    if let Some(p) = &inv.one_primary {
        let flag = typed(&p.flag, "`one_primary.flag`", &["boolean"], diags);
        let per: Vec<Option<String>> = p
            .per
            .iter()
            .map(|f| typed(f, "`one_primary.per`", &["any"], diags))
            .collect();
        if let (Some(flag), true) = (flag, per.iter().all(Option::is_some)) {
            out.one_primary = Some(OnePrimary {
                flag,
                per: per.into_iter().flatten().collect(),
            });
        }
    }
    if let Some(s) = &inv.slug {
        let column = typed(&s.field, "`slug.field`", &["text"], diags);
        let from = typed(&s.from, "`slug.from`", &["text"], diags);
        if let (Some(column), Some(from)) = (column, from) {
            out.slug = Some(Slug { column, from });
        }
    }
    if let Some(t) = &inv.timeline {
        let array_ok = match map.get(&t.field.value) {
            Some(target) if target.array => true,
            Some(_) => {
                diags.push(Diagnostic::error(
                    "type-mismatch",
                    &t.field.span,
                    &t.field.path,
                    format!(
                        "`timeline.field` needs an array field; `{}` is not one",
                        t.field.value
                    ),
                ));
                false
            }
            None => {
                diags.push(unknown_path(
                    &t.field.span,
                    &t.field.path,
                    "`timeline.field`",
                    &t.field.value,
                    map,
                ));
                false
            }
        };
        let status = typed(&t.status, "`timeline.status`", &["enum", "text"], diags);
        let status_values = status
            .as_ref()
            .and_then(|_| enum_of(map, enums, &t.status.value));
        let mut stamps = Vec::new();
        for (value, field) in &t.stamps {
            if let Some(values) = &status_values
                && !values.contains(&value.value)
            {
                diags.push(
                    Diagnostic::error(
                        "unknown-value",
                        &value.span,
                        &value.path,
                        format!("`{}` is not a value of the status enum", value.value),
                    )
                    .maybe_hint(did_you_mean(
                        &value.value,
                        values.iter().map(String::as_str),
                    )),
                );
            }
            if let Some(col) = typed(field, "`timeline.stamps`", &["timestamptz"], diags) {
                stamps.push((value.value.clone(), col));
            }
        }
        let mut stamp_once = Vec::new();
        for f in &t.stamp_once {
            if !t.stamps.iter().any(|(_, s)| s.value == f.value) {
                diags.push(
                    Diagnostic::error(
                        "unknown-path",
                        &f.span,
                        &f.path,
                        format!("`{}` is not one of the timeline's stamps", f.value),
                    )
                    .expected("a date field named under `stamps`"),
                );
            } else if let Some(col) = typed(f, "`timeline.stamp_once`", &["timestamptz"], diags) {
                stamp_once.push(col);
            }
        }
        let mut entry_of = |decl: &[(Sp<String>, Sp<String>)]| -> Vec<(String, EntryValue)> {
            let mut out = Vec::new();
            for (k, v) in decl {
                let value = match v.value.as_str() {
                    "$status" => EntryValue::Status,
                    "$now" => EntryValue::Now,
                    s if s.starts_with('$') => {
                        diags.push(
                            Diagnostic::error(
                                "unknown-value",
                                &v.span,
                                &v.path,
                                format!("unknown timeline value `{s}`"),
                            )
                            .expected("`$status`, `$now`, or a text (without a leading `$`)"),
                        );
                        continue;
                    }
                    s => EntryValue::Text(s.to_string()),
                };
                out.push((k.value.clone(), value));
            }
            out
        };
        let entry = entry_of(&t.entry);
        let insert_entry = entry_of(&t.insert_entry);
        if entry.is_empty() {
            diags.push(
                Diagnostic::error(
                    "missing-key",
                    &t.field.span,
                    &t.field.path,
                    "`timeline` needs an `entry`: the object its hook appends",
                )
                .expected("`entry: { status: $status, at: $now }`"),
            );
        }
        if let (true, Some(status)) = (array_ok, status) {
            out.timeline = Some(Timeline {
                field: t.field.value.clone(),
                status,
                stamps,
                stamp_once,
                entry,
                insert_entry,
            });
        }
    }
    model.invariants = out;
}

/// Each column `check` parses as a PostgreSQL expression over its table's columns.
fn column_checks(
    fields: &[Field],
    model: &Model,
    map: &BTreeMap<String, Target>,
    diags: &mut Vec<Diagnostic>,
) {
    for f in fields {
        match &f.storage {
            Storage::Column(c) => {
                if let Some(check) = &c.check {
                    let path = format!("{}.check", f.yaml_path);
                    let sql = Sp {
                        value: check.clone(),
                        span: f.span.clone(),
                        path,
                    };
                    sql_expr(&sql, "check", &columns_of(model, &c.table, map), diags);
                }
            }
            Storage::Flattened { fields } => column_checks(fields, model, map, diags),
            Storage::ChildTable(child) => column_checks(&child.fields, model, map, diags),
            _ => {}
        }
    }
}

/// The values of the enum stored at a root path, if it is an enum column.
fn enum_of(map: &BTreeMap<String, Target>, enums: &[EnumType], path: &str) -> Option<Vec<String>> {
    match map.get(path)?.columns.first()? {
        (_, PgType::Enum(name)) => enums
            .iter()
            .find(|e| &e.name == name)
            .map(|e| e.values.clone()),
        _ => None,
    }
}

fn discriminators(
    model: &Model,
    globals: &Globals,
    map: &BTreeMap<String, Target>,
    enums: &[EnumType],
    diags: &mut Vec<Diagnostic>,
) {
    for f in &model.fields {
        let Storage::Column(c) = &f.storage else {
            continue;
        };
        let Some(Reference::Discriminator { column: field }) = &c.reference else {
            continue;
        };
        let Some(target) = map
            .get(field)
            .filter(|t| t.table == model.table && t.columns.len() == 1)
        else {
            diags.push(unknown_path(
                &f.span,
                &f.yaml_path,
                "this `ref.discriminator`",
                field,
                map,
            ));
            continue;
        };
        let values = match &target.columns[0].1 {
            PgType::Enum(name) => enums
                .iter()
                .find(|e| &e.name == name)
                .map(|e| e.values.clone())
                .unwrap_or_default(),
            _ => {
                diags.push(
                    Diagnostic::error(
                        "type-mismatch",
                        &f.span,
                        &f.yaml_path,
                        format!("discriminator `{field}` must be an enum of model names"),
                    )
                    .hint("declare it with `enum: [User, PurchaseRequest]`"),
                );
                continue;
            }
        };
        for v in values {
            if !globals.tables.contains_key(&v) {
                diags.push(
                    Diagnostic::error("dangling-reference", &f.span, &f.yaml_path, format!("discriminator `{field}` may name `{v}`, which is not a model of the catalogue"))
                        .maybe_hint(did_you_mean(&v, globals.tables.keys().map(String::as_str))),
                );
            }
        }
    }
}

fn too_long(span: &Span, path: &str, what: &str, name: &str) -> Diagnostic {
    Diagnostic::error("identifier-too-long", span, path, format!("{what} name `{name}` is {} bytes; Postgres keeps at most {MAX_IDENT_BYTES}", name.len()))
        .hint("Postgres would silently truncate it; choose a shorter name (`column:`, `table:`, `prefix:`)")
}

/// The tables the compiler makes itself (`schemac apply` makes the last one).
const COMPILER_TABLES: &[&str] = &[
    crate::desired::ID_MAP,
    crate::desired::GAPS,
    "schemac_migrations",
];

fn control_character(span: &Span, path: &str, what: &str, name: &str) -> Diagnostic {
    Diagnostic::error(
        "invalid-name",
        span,
        path,
        format!("{what} name {name:?} holds a control character"),
    )
    .hint("a migration file cannot spell it reliably (line endings are normalized); choose another name")
}

fn empty_name(span: &Span, path: &str, what: &str, source: &str) -> Diagnostic {
    Diagnostic::error(
        "invalid-name",
        span,
        path,
        format!("{what} name derived from `{source}` is empty"),
    )
    .expected("a name with at least one letter or digit (snake_case keeps only those)")
    .hint(format!("set `{what}:` to the name it should have"))
}

/// Duplicate tables and columns (after case folding), empty identifiers, identifiers over 63
/// bytes or with control characters, and names Postgres already gives to something else: the
/// compiler's own tables and enum, a table's row type, a built-in type.
pub fn names(cat: &Catalogue, schema: &Schema, diags: &mut Vec<Diagnostic>) {
    let mut tables: BTreeMap<String, &crate::plan::Table> = BTreeMap::new();
    for t in &schema.tables {
        if t.name.is_empty() {
            diags.push(empty_name(&t.span, &t.yaml_path, "table", &t.source));
        }
        if t.name.len() > MAX_IDENT_BYTES {
            diags.push(too_long(&t.span, &t.yaml_path, "table", &t.name));
        }
        if t.name.chars().any(char::is_control) {
            diags.push(control_character(&t.span, &t.yaml_path, "table", &t.name));
        }
        if COMPILER_TABLES.contains(&fold(&t.name).as_str()) {
            diags.push(
                Diagnostic::error(
                    "reserved-name",
                    &t.span,
                    &t.yaml_path,
                    format!("table `{}` is a table the compiler makes itself", t.name),
                )
                .hint("choose another `table:` name"),
            );
        }
        if let Some(first) = tables.get(&fold(&t.name)) {
            diags.push(
                Diagnostic::error(
                    "duplicate-name",
                    &t.span,
                    &t.yaml_path,
                    format!(
                        "table `{}` is derived twice: for {} `{}` and for {} `{}`",
                        t.name, first.model, first.source, t.model, t.source
                    ),
                )
                .related(&first.span, "first table of that name")
                .hint("set `table:` on one of them"),
            );
        } else {
            tables.insert(fold(&t.name), t);
        }
        let mut cols: BTreeMap<String, &crate::plan::PlanColumn> = BTreeMap::new();
        let mut fields: BTreeMap<String, &crate::plan::PlanColumn> = BTreeMap::new();
        for c in &t.columns {
            let field = crate::rust::field_ident(&c.name);
            match fields.get(&field) {
                Some(first) if fold(&first.name) != fold(&c.name) => diags.push(
                    Diagnostic::error("name-collision", &c.span, &c.yaml_path, format!("columns `{}` and `{}` of `{}` would both be the Rust field `{field}` of the generated row type", first.name, c.name, t.name))
                        .related(&first.span, format!("`{}` is derived here", first.name))
                        .hint("a Rust field name keeps letters, digits and `_` of the column name; give one of the fields another `column:` name"),
                ),
                Some(_) => {}
                None => {
                    fields.insert(field, c);
                }
            }
            if c.name.is_empty() {
                diags.push(empty_name(&c.span, &c.yaml_path, "column", &c.source));
            }
            if c.name.len() > MAX_IDENT_BYTES {
                diags.push(too_long(&c.span, &c.yaml_path, "column", &c.name));
            }
            if c.name.chars().any(char::is_control) {
                diags.push(control_character(&c.span, &c.yaml_path, "column", &c.name));
            }
            if let Some(first) = cols.get(&fold(&c.name)) {
                // Point at the declared field; a compiler-made column is the context.
                let (primary, other) = if c.system && !first.system {
                    (*first, c)
                } else {
                    (c, *first)
                };
                diags.push(
                    Diagnostic::error("name-collision", &primary.span, &primary.yaml_path, format!("column `{}` of `{}` comes from both `{}` and `{}`", c.name, t.name, other.source, primary.source))
                        .related(&other.span, format!("`{}` is also derived from {}", other.name, other.source))
                        .hint(if other.system { "this column name is made by the compiler; give the field another `column:` name" } else { "give one of the fields another `column:` name" }),
                );
            } else {
                cols.insert(fold(&c.name), c);
            }
        }
    }
    for e in &cat.enums {
        if e.name.len() > MAX_IDENT_BYTES {
            diags.push(too_long(&e.span, "enums", "enum", &e.name));
        }
        if e.name.chars().any(char::is_control) {
            diags.push(control_character(&e.span, "enums", "enum", &e.name));
        }
        if let Some(t) = tables.get(&fold(&e.name)) {
            diags.push(
                Diagnostic::error(
                    "name-collision",
                    &e.span,
                    "enums",
                    format!("enum `{}` has the name of table `{}`", e.name, t.name),
                )
                .related(&t.span, format!("table `{}` is derived here", t.name))
                .hint("Postgres gives every table a type of the same name; rename the enum"),
            );
        } else if fold(&e.name) == crate::desired::GAP_OPERATION {
            diags.push(
                Diagnostic::error(
                    "reserved-name",
                    &e.span,
                    "enums",
                    format!("enum `{}` is an enum the compiler makes itself", e.name),
                )
                .hint("rename the enum"),
            );
        } else if crate::ident::is_builtin_type(&e.name) {
            diags.push(
                Diagnostic::error(
                    "reserved-name",
                    &e.span,
                    "enums",
                    format!(
                        "enum `{}` has the name of a PostgreSQL built-in type",
                        e.name
                    ),
                )
                .hint("a column of this enum would get the built-in type instead; rename the enum"),
            );
        }
        for v in &e.values {
            if v.len() > MAX_IDENT_BYTES {
                diags.push(Diagnostic::error("identifier-too-long", &e.span, &format!("enums.{}", e.name), format!("enum value `{v}` is {} bytes; Postgres enum labels hold at most {MAX_IDENT_BYTES}", v.len())));
            }
        }
    }
}

/// Names that are distinct in Postgres but not in the generated Rust: two tables of a model
/// with one field name or one row type, a row type that is the model's document type, two
/// enums with one Rust type, an enum named like what `enums.rs` imports. (Model names are
/// checked when they are registered.)
pub fn rust_names(cat: &Catalogue, schema: &Schema, diags: &mut Vec<Diagnostic>) {
    use crate::rust::{field_ident, row_ident, type_ident};
    for m in &cat.models {
        let doc_ty = type_ident(&m.name);
        let mut fields: BTreeMap<String, &crate::plan::Table> = BTreeMap::new();
        let mut rows: BTreeMap<String, &crate::plan::Table> = BTreeMap::new();
        for t in schema.tables.iter().filter(|t| t.model == m.name) {
            let (field, row) = (field_ident(&t.name), row_ident(&t.name));
            // Names equal but for case are `duplicate-name` already.
            let clash = |first: &crate::plan::Table, what: &str| {
                Diagnostic::error(
                    "name-collision",
                    &t.span,
                    &t.yaml_path,
                    format!(
                        "tables `{}` and `{}` would both be the Rust {what}",
                        first.name, t.name
                    ),
                )
                .related(&first.span, format!("`{}` is derived here", first.name))
                .hint("a Rust name keeps the letters and digits of the table name; set `table:` on one of them")
            };
            // One finding per pair: the field, else the row type.
            let first_field = fields.get(&field).copied();
            let first_row = rows.get(&row).copied();
            match (first_field, first_row) {
                (Some(first), _) if fold(&first.name) != fold(&t.name) => {
                    diags.push(clash(first, &format!("field `{field}` of `{doc_ty}`")));
                }
                (_, Some(first)) if fold(&first.name) != fold(&t.name) => {
                    diags.push(clash(first, &format!("type `{row}`")));
                }
                _ => {}
            }
            fields.entry(field).or_insert(t);
            rows.entry(row.clone()).or_insert(t);
            if row == doc_ty {
                diags.push(
                    Diagnostic::error(
                        "name-collision",
                        &t.span,
                        &t.yaml_path,
                        format!(
                            "the row type of table `{}` would be `{row}`, the document type of model `{}`",
                            t.name, m.name
                        ),
                    )
                    .hint("set `table:` to another name"),
                );
            }
        }
    }
    let mut types: BTreeMap<String, &EnumType> = BTreeMap::new();
    for e in &cat.enums {
        let ty = type_ident(&e.name);
        if crate::rust::ENUM_MODULE_TYPES.contains(&ty.as_str()) {
            diags.push(
                Diagnostic::error(
                    "reserved-name",
                    &e.span,
                    "enums",
                    format!(
                        "enum `{}` would be the Rust type `{ty}`, which the generated `enums.rs` also imports",
                        e.name
                    ),
                )
                .hint("rename the enum"),
            );
        }
        match types.get(&ty) {
            Some(first) if fold(&first.name) != fold(&e.name) => diags.push(
                Diagnostic::error(
                    "name-collision",
                    &e.span,
                    "enums",
                    format!(
                        "enums `{}` and `{}` would both be the Rust type `{ty}`",
                        first.name, e.name
                    ),
                )
                .related(&first.span, format!("`{}` is declared here", first.name))
                .hint("a Rust type name keeps the letters and digits of the enum name; rename one of them"),
            ),
            Some(_) => {}
            None => {
                types.insert(ty, e);
            }
        }
    }
}

/// Required (NOT NULL, with FK) references between models form a graph; a cycle in it has no
/// insert order.
pub fn reference_cycles(cat: &Catalogue, diags: &mut Vec<Diagnostic>) {
    let mut edges: BTreeMap<&str, Vec<(&str, &Field)>> = BTreeMap::new();
    for m in &cat.models {
        let mut out = Vec::new();
        required_refs(&m.fields, &mut out);
        edges.insert(&m.name, out);
    }
    let mut reported: Vec<Vec<&str>> = Vec::new();
    for start in edges.keys() {
        let mut stack = vec![(*start, Vec::<(&str, &Field)>::new())];
        while let Some((node, path)) = stack.pop() {
            for (next, field) in edges.get(node).into_iter().flatten() {
                let mut p = path.clone();
                p.push((node, field));
                if next == start {
                    let mut models: Vec<&str> = p.iter().map(|(m, _)| *m).collect();
                    models.sort();
                    if !reported.contains(&models) {
                        reported.push(models);
                        diags.push(cycle_diag(&p, start));
                    }
                } else if !p.iter().any(|(m, _)| m == next) && p.len() < 32 {
                    stack.push((next, p));
                }
            }
        }
    }
}

fn required_refs<'a>(fields: &'a [Field], out: &mut Vec<(&'a str, &'a Field)>) {
    for f in fields {
        match &f.storage {
            Storage::Column(Column {
                nullable: false,
                reference:
                    Some(Reference::Model {
                        model, fk: true, ..
                    }),
                ..
            }) => out.push((model, f)),
            Storage::Flattened { fields } => required_refs(fields, out),
            Storage::ChildTable(c) => required_refs(&c.fields, out),
            _ => {}
        }
    }
}

fn cycle_diag(path: &[(&str, &Field)], start: &str) -> Diagnostic {
    let chain: Vec<String> = path
        .iter()
        .map(|(m, f)| format!("{m}.{}", f.mongo_path))
        .collect();
    let (_, first) = path[0];
    let mut d = Diagnostic::error(
        "reference-cycle",
        &first.span,
        &first.yaml_path,
        format!("required references form a cycle with no insert order: {} -> {start}", chain.join(" -> ")),
    )
    .hint("make one reference of the cycle optional (`required: false` or `nullable: true`): the backfill fills it in a second pass");
    for (m, f) in &path[1..] {
        d = d.related(&f.span, format!("{m}.{} is required", f.mongo_path));
    }
    d
}
