//! The generated `from_mongo` and `to_mongo` of one collection: one reading and one writing
//! function per table, walking the catalogue's fields in document order.
//!
//! Reading: one pass over the raw document's keys (no tree copy); each declared key fills a
//! local, an undeclared one is [`Context::unknown`]; then the row is assembled, applying the
//! catalogue's defaults to absent fields, and the child tables are read with the row's id.
//! Writing: the same fields in the same order, back to BSON.
//!
//! [`Context::unknown`]: https://docs.rs/schemac-runtime

use std::fmt::Write;

use crate::ir::{ChildTable, Column, Field, Model, Storage};
use crate::parse::syntax::{DefaultValue, VersionKey};
use crate::plan::Table;
use crate::types::{BsonType, PgType};

use super::names::{doc_text, field_ident, fn_ident, type_ident};
use super::row_ident;

/// Where a table's fields come from.
enum Kind<'a> {
    Root(&'a Model),
    Child(&'a ChildTable),
}

/// `from_mongo`, `to_mongo` and the per-table functions of a model.
pub fn functions(model: &Model, tables: &[&Table]) -> String {
    let doc_ty = type_ident(&model.name);
    let root_field = field_ident(&model.table);
    let kid_fields: Vec<String> = tables
        .iter()
        .skip(1)
        .map(|t| format!("{}: Vec<{}>,", field_ident(&t.name), row_ident(&t.name)))
        .collect();
    let kid_moves: Vec<String> = tables
        .iter()
        .skip(1)
        .map(|t| format!("{0}: kids.{0},", field_ident(&t.name)))
        .collect();
    // A collection with child tables writes from its rows sorted by parent, once per document.
    let children: Vec<&Table> = tables.iter().skip(1).copied().collect();
    let (rows_ty, write_root, sorted) = if children.is_empty() {
        (
            doc_ty.clone(),
            format!(
                "{}(&rows.{root_field}, rows, &id)",
                fn_ident("write", &model.table)
            ),
            String::new(),
        )
    } else {
        let fields: Vec<String> = children
            .iter()
            .map(|t| format!("{}: Vec<&'a {}>,", field_ident(&t.name), row_ident(&t.name)))
            .collect();
        let inits: Vec<String> = children
            .iter()
            .map(|t| {
                let parent = t.parent.as_ref().expect("a child table has a parent");
                let ordinal = if parent.one_to_one { "0" } else { "c.ordinal" };
                format!(
                    "{f}: transform::by_parent(&rows.{f}, |c| (c.{p}, {ordinal})),",
                    f = field_ident(&t.name),
                    p = field_ident(&parent.column)
                )
            })
            .collect();
        (
            "Sorted<'_>".to_string(),
            format!(
                "let sorted = Sorted {{ {} }};\n    {}(&rows.{root_field}, &sorted, &id)",
                inits.join(" "),
                fn_ident("write", &model.table)
            ),
            format!(
                "\n/// The child rows of one document, each table's sorted by parent row and ordinal.\nstruct Sorted<'a> {{ {} }}\n",
                fields.join(" ")
            ),
        )
    };
    let mut s = format!(
        "/// Reads one `{coll}` document into rows. `Mode::Strict` makes a key the catalogue does
/// not declare an error; `Mode::Lenient` records it in the returned context, which also holds
/// the document's id_map row.
pub fn from_mongo(doc: &RawDocument, mode: Mode) -> Result<({doc_ty}, Context), TransformError> {{
    let mut cx = Context::new(COLLECTION, mode);
    let mut kids = Children::default();
    let root = {read}(&mut cx, doc, &mut kids).map_err(|e| e.locate(doc))?;
    Ok(({doc_ty} {{ {root_field}: root, {moves} }}, cx))
}}

/// Writes the rows of one document back as the `{coll}` document.
pub fn to_mongo(rows: &{doc_ty}) -> Result<Document, TransformError> {{
    let id = Some(rows.{root_field}.legacy_object_id.clone());
    {write_root}
}}
{sorted}
/// The child rows read so far.
#[derive(Default)]
struct Children {{ {fields} }}

",
        coll = doc_text(&model.collection),
        read = fn_ident("read", &model.table),
        moves = kid_moves.join(" "),
        fields = kid_fields.join(" "),
    );
    table_fns(
        &Kind::Root(model),
        &model.table,
        &model.fields,
        &rows_ty,
        &mut s,
    );
    s
}

/// A column read into a local: the local's name, where it is read, its default.
struct Local<'a> {
    column: &'a Column,
    /// Path relative to the table's document (`location.type`).
    rel: String,
    /// The catalogue default as a Rust expression; such a column also tracks whether its key
    /// was present (`s_<column>`), since an explicit null is not an absent field.
    default: Option<String>,
}

/// A child table met among the fields, read once the row's id is known.
struct Deferred<'a> {
    child: &'a ChildTable,
    rel: String,
}

/// `rows_ty`: what the write functions read child rows from.
fn table_fns(kind: &Kind<'_>, table: &str, fields: &[Field], rows_ty: &str, out: &mut String) {
    let mut locals: Vec<Local<'_>> = Vec::new();
    let mut polys: Vec<(&crate::ir::Polymorphic, String)> = Vec::new();
    let mut deferred: Vec<Deferred<'_>> = Vec::new();
    let mut arms = String::new();
    field_arms(
        fields,
        "",
        &mut arms,
        &mut locals,
        &mut polys,
        &mut deferred,
    );

    let (is_root, item_id) = match kind {
        Kind::Root(_) => (true, true),
        Kind::Child(c) => (false, c.item_id),
    };
    let mut system_arms = String::new();
    if is_root {
        system_arms.push_str("\"_id\" => id_oid = Some(cx.read_id(value)?),\n");
    } else if item_id {
        system_arms.push_str(
            "\"_id\" => id_oid = Some(cx.read(value, &transform::join(path, \"_id\"), bsonval::as_object_id)?),\n",
        );
    }
    let mut system_locals = if item_id {
        String::from("let mut id_oid: Option<bson::oid::ObjectId> = None;\n")
    } else {
        String::new()
    };
    if let Kind::Root(m) = kind {
        if m.timestamps.created_at {
            system_locals.push_str("let mut c_created_at: Option<DateTime<Utc>> = None;\n");
            system_arms.push_str("\"createdAt\" => c_created_at = cx.read_opt(value, &transform::join(path, \"createdAt\"), bsonval::as_datetime)?,\n");
        }
        if m.timestamps.updated_at {
            system_locals.push_str("let mut c_updated_at: Option<DateTime<Utc>> = None;\n");
            system_arms.push_str("\"updatedAt\" => c_updated_at = cx.read_opt(value, &transform::join(path, \"updatedAt\"), bsonval::as_datetime)?,\n");
        }
        match m.version_key {
            VersionKey::Keep => {
                system_locals.push_str("let mut c_mongo_version: Option<i32> = None;\n");
                system_arms.push_str("\"__v\" => c_mongo_version = cx.read_opt(value, &transform::join(path, \"__v\"), bsonval::as_i32)?,\n");
            }
            VersionKey::Drop => system_arms.push_str("\"__v\" => {}\n"),
            VersionKey::None => {}
        }
    }

    let mut decls = system_locals;
    for l in &locals {
        let ty = super::rust_type(&l.column.pg);
        let _ = writeln!(
            decls,
            "let mut c_{}: Option<{ty}> = None;",
            var(&l.column.name)
        );
        if l.default.is_some() {
            let _ = writeln!(decls, "let mut s_{} = false;", var(&l.column.name));
        }
    }
    for (p, _) in &polys {
        let _ = writeln!(
            decls,
            "let mut c_{k}: Option<enums::RefKind> = None; let mut c_{i}: Option<Uuid> = None; let mut c_{e}: Option<String> = None;",
            k = var(&p.kind.name),
            i = var(&p.id.name),
            e = var(&p.external_ref.name)
        );
    }
    for d in &deferred {
        let _ = writeln!(
            decls,
            "let mut d_{}: Option<RawBsonRef<'_>> = None;",
            var(&d.child.name)
        );
    }

    // The id and the row.
    let rows = if deferred.is_empty() && is_root {
        "_rows"
    } else {
        "rows"
    };
    let (signature, id_code) = if is_root {
        (
            format!(
                "/// Reads the `{}` row of a document{}.\nfn {}(cx: &mut Context, doc: &RawDocument, {rows}: &mut Children) -> Result<{}, TransformError>",
                doc_text(table),
                if rows == "rows" {
                    ", and the rows of its items into `rows`"
                } else {
                    ""
                },
                fn_ident("read", table),
                row_ident(table)
            ),
            "let path = \"\";\n".to_string(),
        )
    } else {
        (
            format!(
                "/// Reads one `{}` row into `rows`: item `index` under the `parent` row (0 for an\n/// embedded object). `path` is the subdocument's Mongo path; its text is only built for an error.\nfn {}<P: AsRef<str> + ?Sized>(cx: &mut Context, doc: &RawDocument, path: &P, parent: Uuid, index: usize, rows: &mut Children) -> Result<(), TransformError>",
                doc_text(table),
                fn_ident("read", table)
            ),
            String::new(),
        )
    };
    let id_expr = match kind {
        Kind::Root(_) => "let oid = cx.required(id_oid, \"_id\")?; let id = ids::uuid_from_object_id(&oid); cx.record_id(&oid, id);".to_string(),
        Kind::Child(c) if c.item_id => "let oid = cx.required(id_oid, &transform::join(path, \"_id\"))?; let id = ids::uuid_from_object_id(&oid);".to_string(),
        Kind::Child(c) => format!(
            "let id = ids::uuid_for_child(parent, {:?}, index as u32);",
            c.name
        ),
    };
    let mut fields_init = String::new();
    let push_field = |name: &str, value: String, s: &mut String| {
        let field = field_ident(name);
        if field == value {
            let _ = writeln!(s, "{field},");
        } else {
            let _ = writeln!(s, "{field}: {value},");
        }
    };
    push_field("id", "id".into(), &mut fields_init);
    if let Kind::Child(c) = kind {
        push_field(&c.parent_column, "parent".into(), &mut fields_init);
        if !c.one_to_one {
            push_field(
                "ordinal",
                "transform::ordinal(index).map_err(|k| cx.error(path, k))?".into(),
                &mut fields_init,
            );
        }
    }
    if item_id {
        push_field(
            "legacy_object_id",
            "ids::object_id_hex(&oid)".into(),
            &mut fields_init,
        );
    }
    for l in &locals {
        push_field(&l.column.name, local_value(l), &mut fields_init);
    }
    for (p, rel) in &polys {
        let kind_value = if p.kind.nullable {
            format!("c_{}", var(&p.kind.name))
        } else {
            format!(
                "cx.required(c_{}, &transform::join(path, {rel:?}))?",
                var(&p.kind.name)
            )
        };
        push_field(&p.kind.name, kind_value, &mut fields_init);
        push_field(
            &p.id.name,
            format!("c_{}", var(&p.id.name)),
            &mut fields_init,
        );
        push_field(
            &p.external_ref.name,
            format!("c_{}", var(&p.external_ref.name)),
            &mut fields_init,
        );
    }
    if let Kind::Root(m) = kind {
        if m.timestamps.created_at {
            push_field(
                "created_at",
                "c_created_at.unwrap_or_else(|| cx.created())".into(),
                &mut fields_init,
            );
        }
        if m.timestamps.updated_at {
            push_field(
                "updated_at",
                "c_updated_at.unwrap_or_else(|| cx.created())".into(),
                &mut fields_init,
            );
        }
        if m.version_key == VersionKey::Keep {
            push_field("mongo_version", "c_mongo_version".into(), &mut fields_init);
        }
    }

    let mut children = String::new();
    for d in &deferred {
        let read = fn_ident("read", &d.child.name);
        if d.child.one_to_one {
            let missing = if d.child.optional {
                String::new()
            } else {
                format!(
                    " else {{ return Err(cx.error(&transform::join(path, {:?}), TransformErrorKind::Missing)); }}",
                    d.rel
                )
            };
            let _ = writeln!(
                children,
                "if let Some(v) = d_{n}.filter(|v| !is_null(*v)) {{ let p = transform::join(path, {rel:?}); let sub = cx.document(v, &p)?; {read}(cx, sub, &p, id, 0, rows)?; }}{missing}",
                n = var(&d.child.name),
                rel = d.rel
            );
        } else {
            let _ = writeln!(
                children,
                "if let Some(v) = d_{n}.filter(|v| !is_null(*v)) {{ let p = transform::join(path, {rel:?}); for (i, sub) in cx.documents(v, &p)?.into_iter().enumerate() {{ {read}(cx, sub, &transform::item(&p, i), id, i, rows)?; }} }}",
                n = var(&d.child.name),
                rel = d.rel
            );
        }
    }
    let finish = if is_root {
        "Ok(row)".to_string()
    } else {
        format!("rows.{}.push(row); Ok(())", field_ident(table))
    };
    let _ = write!(
        out,
        "{signature} {{
    {id_code}{decls}
    for item in raw::elements(doc) {{
        let (key, value) = item.map_err(|e| cx.error(path, e.into()))?;
        match key {{
            {system_arms}{arms}
            _ => cx.unknown(transform::join(path, key))?,
        }}
    }}
    {id_expr}
    let row = {row} {{ {fields_init} }};
    {children}
    {finish}
}}

",
        row = row_ident(table),
    );

    write_fn(kind, table, fields, rows_ty, !deferred.is_empty(), out);
    for d in &deferred {
        table_fns(
            &Kind::Child(d.child),
            &d.child.name,
            &d.child.fields,
            rows_ty,
            out,
        );
    }
}

/// The match arms of a list of fields, `rel` the path of their object inside the table's
/// document ("" at the table's level).
fn field_arms<'a>(
    fields: &'a [Field],
    rel: &str,
    arms: &mut String,
    locals: &mut Vec<Local<'a>>,
    polys: &mut Vec<(&'a crate::ir::Polymorphic, String)>,
    deferred: &mut Vec<Deferred<'a>>,
) {
    for f in fields {
        let frel = if rel.is_empty() {
            f.name.clone()
        } else {
            format!("{rel}.{}", f.name)
        };
        let key = &f.name;
        match &f.storage {
            Storage::Column(c) | Storage::Jsonb { column: c, .. } => {
                let read = read_expr(c, f, &frel);
                let default = f.default.as_ref().and_then(|d| default_expr(d, &c.pg));
                let seen = if default.is_some() {
                    format!(" s_{} = true;", var(&c.name))
                } else {
                    String::new()
                };
                let _ = writeln!(
                    arms,
                    "{key:?} => {{ c_{n} = {read};{seen} }}",
                    n = var(&c.name)
                );
                locals.push(Local {
                    column: c,
                    rel: frel,
                    default,
                });
            }
            Storage::Polymorphic(p) => {
                // `RefKind::parse` refuses what is not a kind at all; a reference that allows
                // fewer kinds than there are checks its own list first.
                let narrower = !crate::ir::REF_KINDS
                    .iter()
                    .all(|k| p.kinds.iter().any(|allowed| allowed == k));
                let check = if narrower {
                    let kinds: Vec<String> = p.kinds.iter().map(|k| format!("{k:?}")).collect();
                    format!(
                        "if ![{kinds}].contains(&kind) {{
                            return Err(cx.error(&p, TransformErrorKind::invalid_enum(kind, &[{kinds}])));
                        }}",
                        kinds = kinds.join(", "),
                    )
                } else {
                    String::new()
                };
                let _ = writeln!(
                    arms,
                    "{key:?} => if !is_null(value) {{
                        let p = transform::join(path, {frel:?});
                        let (kind, id, external) = cx.read(value, &p, transform::as_polymorphic)?;
                        {check}
                        c_{k} = Some(enums::RefKind::parse(kind).map_err(|e| cx.error(&p, e))?);
                        c_{i} = id;
                        c_{e} = external;
                    }},",
                    k = var(&p.kind.name),
                    i = var(&p.id.name),
                    e = var(&p.external_ref.name)
                );
                polys.push((p, frel));
            }
            Storage::Flattened { fields: sub } => {
                let mut inner = String::new();
                field_arms(sub, &frel, &mut inner, locals, polys, deferred);
                let _ = writeln!(
                    arms,
                    "{key:?} => if !is_null(value) {{
                        let p = transform::join(path, {frel:?});
                        let sub = cx.document(value, &p)?;
                        for item in raw::elements(sub) {{
                            let (key, value) = item.map_err(|e| cx.error(&p, e.into()))?;
                            match key {{
                                {inner}
                                _ => cx.unknown(transform::join(&p, key))?,
                            }}
                        }}
                    }},"
                );
            }
            Storage::ChildTable(child) => {
                let _ = writeln!(arms, "{key:?} => d_{} = Some(value),", var(&child.name));
                deferred.push(Deferred { child, rel: frel });
            }
            Storage::InJsonb => {}
            Storage::Skipped { .. } => {
                let _ = writeln!(arms, "{key:?} => {{}}");
            }
        }
    }
}

/// The expression reading a column's value (`Option<T>`) from `value`.
fn read_expr(c: &Column, f: &Field, rel: &str) -> String {
    let p = format!("&transform::join(path, {rel:?})");
    match &c.pg {
        PgType::Array(elem) => format!(
            "if is_null(value) {{ None }} else {{ Some(cx.read_array(value, {p}, {})?) }}",
            reader(elem, f)
        ),
        pg => format!("cx.read_opt(value, {p}, {})?", reader(pg, f)),
    }
}

/// A reader function for one value of type `pg`.
fn reader(pg: &PgType, f: &Field) -> String {
    match pg {
        PgType::Text if f.bson == [BsonType::ObjectId] => "transform::as_hex_object_id".into(),
        PgType::Text => "|v| bsonval::as_string(v).map(str::to_string)".into(),
        PgType::Int4 => "bsonval::as_i32".into(),
        PgType::Int8 => "bsonval::as_i64".into(),
        PgType::Float8 => "bsonval::as_f64".into(),
        PgType::Numeric(Some((78, 0))) => "transform::as_uint256".into(),
        PgType::Numeric(Some((p, s))) => format!("|v| bsonval::as_numeric(v, {p}, {s})"),
        PgType::Numeric(None) => "transform::as_any_numeric".into(),
        PgType::Boolean => "bsonval::as_bool".into(),
        PgType::Timestamptz => "bsonval::as_datetime".into(),
        PgType::Uuid if f.bson == [BsonType::ObjectId] => {
            "transform::as_object_id_reference".into()
        }
        PgType::Uuid => "transform::as_reference".into(),
        PgType::Bytea => "transform::as_bytes".into(),
        PgType::Jsonb => "transform::as_json".into(),
        PgType::Enum(name) => format!(
            "|v| bsonval::as_string(v).and_then(enums::{}::parse)",
            type_ident(name)
        ),
        PgType::Array(_) => "transform::as_json".into(),
    }
}

/// The part of a local variable's name that comes from a column or table name: its field name
/// ([`field_ident`], always an identifier) without `r#`, as the local has a prefix (`c_type`).
fn var(name: &str) -> String {
    let ident = field_ident(name);
    ident.strip_prefix("r#").unwrap_or(&ident).to_string()
}

/// The value of a column in the row literal, defaults applied to absent fields.
fn local_value(l: &Local<'_>) -> String {
    let n = &var(&l.column.name);
    let path = format!("&transform::join(path, {:?})", l.rel);
    match (l.column.nullable, &l.default) {
        (true, None) => format!("c_{n}"),
        (true, Some(d)) => format!("if s_{n} {{ c_{n} }} else {{ Some({d}) }}"),
        (false, Some(d)) => format!(
            "match c_{n} {{ Some(v) => v, None if !s_{n} => {d}, None => return Err(cx.error({path}, TransformErrorKind::Missing)) }}"
        ),
        (false, None) => format!("cx.required(c_{n}, {path})?"),
    }
}

/// A catalogue default as a Rust expression of the column's type; `None` for `null` or a
/// combination the catalogue's validation does not produce.
fn default_expr(d: &DefaultValue, pg: &PgType) -> Option<String> {
    Some(match (d, pg) {
        (DefaultValue::Null, _) => return None,
        (DefaultValue::Now, PgType::Timestamptz) => "cx.created()".into(),
        (DefaultValue::Bool(b), PgType::Boolean) => b.to_string(),
        (DefaultValue::Int(i), PgType::Int4) => format!("{i}_i32"),
        (DefaultValue::Int(i), PgType::Int8) => format!("{i}_i64"),
        (DefaultValue::Int(i), PgType::Float8) => format!("{i}_f64"),
        (DefaultValue::Int(i), PgType::Numeric(_)) => format!("Numeric::from_i64({i})"),
        (DefaultValue::Float(f), PgType::Float8) => format!("{f:?}_f64"),
        (DefaultValue::Float(f), PgType::Numeric(_)) => {
            format!("transform::numeric_default({:?})", f.to_string())
        }
        (DefaultValue::Str(s), PgType::Text) => format!("{s:?}.to_string()"),
        (DefaultValue::Str(s), PgType::Numeric(_)) if s.parse::<f64>().is_ok() => {
            format!("transform::numeric_default({s:?})")
        }
        (DefaultValue::Str(s), PgType::Enum(name)) => enum_value(name, s)?,
        (DefaultValue::List(items), PgType::Array(elem)) => {
            let items: Option<Vec<String>> = items.iter().map(|i| default_expr(i, elem)).collect();
            format!("vec![{}]", items?.join(", "))
        }
        (DefaultValue::List(items), PgType::Jsonb) if items.is_empty() => {
            "Json::empty_array()".into()
        }
        (DefaultValue::EmptyObject, PgType::Jsonb) => "Json::empty_object()".into(),
        _ => return None,
    })
}

/// The enum value of a default label, looked up by label (validation checked it is one).
fn enum_value(name: &str, label: &str) -> Option<String> {
    Some(format!(
        "enums::{}::parse({label:?}).map_err(|k| cx.error(path, k))?",
        type_ident(name)
    ))
}

fn write_fn(
    kind: &Kind<'_>,
    table: &str,
    fields: &[Field],
    rows_ty: &str,
    has_children: bool,
    out: &mut String,
) {
    let rows = if has_children { "rows" } else { "_rows" };
    let mut body = String::from("let mut doc = Document::new();\n");
    let item_id = match kind {
        Kind::Root(_) => true,
        Kind::Child(c) => c.item_id,
    };
    if item_id {
        body.push_str("doc.insert(\"_id\", Bson::ObjectId(transform::legacy_id(&row.legacy_object_id).map_err(|k| err(\"_id\", k))?));\n");
    }
    field_writes(fields, "", "doc", &mut body);
    if let Kind::Root(m) = kind {
        if m.timestamps.created_at {
            body.push_str("doc.insert(\"createdAt\", Bson::DateTime(bsonval::datetime_to_bson(row.created_at)));\n");
        }
        if m.timestamps.updated_at {
            body.push_str("doc.insert(\"updatedAt\", Bson::DateTime(bsonval::datetime_to_bson(row.updated_at)));\n");
        }
        if m.version_key == VersionKey::Keep {
            body.push_str(
                "if let Some(v) = row.mongo_version { doc.insert(\"__v\", Bson::Int32(v)); }\n",
            );
        }
    }
    // The error closure, when a conversion can fail.
    let (id, err) = if body.contains("err(") {
        (
            "id",
            "let err = |path: &str, kind: TransformErrorKind| TransformError::new(COLLECTION, id.clone(), path, kind);",
        )
    } else if body.contains(", id)") {
        ("id", "")
    } else {
        ("_id", "")
    };
    let _ = write!(
        out,
        "fn {write}(row: &{row}, {rows}: &{rows_ty}, {id}: &Option<String>) -> Result<Document, TransformError> {{
    {err}
    {body}
    Ok(doc)
}}

",
        write = fn_ident("write", table),
        row = row_ident(table),
    );
}

/// Statements inserting `fields` of `row` into the document variable `target`.
fn field_writes(fields: &[Field], rel: &str, target: &str, body: &mut String) {
    for f in fields {
        let frel = if rel.is_empty() {
            f.name.clone()
        } else {
            format!("{rel}.{}", f.name)
        };
        let key = &f.name;
        match &f.storage {
            Storage::Column(c) | Storage::Jsonb { column: c, .. } => {
                let value = format!("row.{}", field_ident(&c.name));
                let conv = |v: &str| to_bson(&c.pg, f, v).at(&frel);
                if c.nullable {
                    let null_default = matches!(f.default, Some(DefaultValue::Null));
                    let _ = writeln!(
                        body,
                        "if let Some(v) = &{value} {{ {target}.insert({key:?}, {}); }}{}",
                        conv("v"),
                        if null_default {
                            format!(" else {{ {target}.insert({key:?}, Bson::Null); }}")
                        } else {
                            String::new()
                        }
                    );
                } else {
                    let _ = writeln!(
                        body,
                        "{{ let v = &{value}; {target}.insert({key:?}, {}); }}",
                        conv("v")
                    );
                }
            }
            Storage::Polymorphic(p) => {
                let kind = if p.kind.nullable {
                    format!("row.{}.map(|k| k.as_str())", field_ident(&p.kind.name))
                } else {
                    format!("Some(row.{}.as_str())", field_ident(&p.kind.name))
                };
                let _ = writeln!(
                    body,
                    "if let Some(b) = transform::polymorphic_to_bson({kind}, row.{i}.as_ref(), row.{e}.as_deref()).map_err(|k| err({frel:?}, k))? {{ {target}.insert({key:?}, b); }}",
                    i = field_ident(&p.id.name),
                    e = field_ident(&p.external_ref.name)
                );
            }
            Storage::Flattened { fields: sub } => {
                let var = format!("sub_{}", crate::ident::column_name(&frel.replace('.', "_")));
                let _ = writeln!(body, "let mut {var} = Document::new();");
                field_writes(sub, &frel, &var, body);
                let _ = writeln!(
                    body,
                    "if !{var}.is_empty() {{ {target}.insert({key:?}, {var}); }}"
                );
            }
            Storage::ChildTable(child) => {
                let rows_field = field_ident(&child.name);
                let parent = field_ident(&child.parent_column);
                let write = fn_ident("write", &child.name);
                if child.one_to_one {
                    let _ = writeln!(
                        body,
                        "if let Some(c) = transform::children_of(&rows.{rows_field}, row.id, |c| c.{parent}).first() {{ {target}.insert({key:?}, {write}(c, rows, id)?); }}"
                    );
                } else {
                    let _ = writeln!(
                        body,
                        "{{ let items = transform::children_of(&rows.{rows_field}, row.id, |c| c.{parent}); let mut arr = Vec::with_capacity(items.len()); for c in items {{ arr.push(Bson::Document({write}(c, rows, id)?)); }} {target}.insert({key:?}, arr); }}"
                    );
                }
            }
            Storage::InJsonb | Storage::Skipped { .. } => {}
        }
    }
}

/// A conversion to BSON of the value `v` (a reference): an expression of type `Bson`, or of type
/// `Result<Bson, TransformErrorKind>` when it can fail.
enum ToBson {
    Infallible(String),
    Fallible(String),
}

impl ToBson {
    /// The `Bson` expression, `?` after mapping a failure to the Mongo path `rel`.
    fn at(self, rel: &str) -> String {
        match self {
            ToBson::Infallible(e) => e,
            ToBson::Fallible(e) => format!("{e}.map_err(|k| err({rel:?}, k))?"),
        }
    }
}

fn to_bson(pg: &PgType, f: &Field, v: &str) -> ToBson {
    use ToBson::{Fallible, Infallible};
    let decimal = f.bson.contains(&BsonType::Decimal128);
    match pg {
        PgType::Text if f.bson == [BsonType::ObjectId] => {
            Fallible(format!("transform::legacy_id({v}).map(Bson::ObjectId)"))
        }
        PgType::Text => Infallible(format!("Bson::String({v}.clone())")),
        PgType::Int4 => Infallible(format!("Bson::Int32(*{v})")),
        PgType::Int8 => Infallible(format!("Bson::Int64(*{v})")),
        PgType::Float8 => Infallible(format!("Bson::Double(*{v})")),
        // A decimal string in Mongo (uint256 base units) stays a string.
        PgType::Numeric(_) if f.bson == [BsonType::String] => {
            Infallible(format!("Bson::String({v}.to_string())"))
        }
        PgType::Numeric(_) => Fallible(format!("transform::numeric_to_bson({v}, {decimal})")),
        PgType::Boolean => Infallible(format!("Bson::Boolean(*{v})")),
        PgType::Timestamptz => {
            Infallible(format!("Bson::DateTime(bsonval::datetime_to_bson(*{v}))"))
        }
        PgType::Uuid => Fallible(format!("transform::object_id({v}).map(Bson::ObjectId)")),
        PgType::Bytea => Infallible(format!(
            "Bson::Binary(bson::Binary {{ subtype: bson::spec::BinarySubtype::Generic, bytes: {v}.clone() }})"
        )),
        PgType::Jsonb => Fallible(format!("transform::json_to_bson({v})")),
        PgType::Enum(_) => Infallible(format!("Bson::String({v}.as_str().to_string())")),
        PgType::Array(elem) => {
            let item = Field {
                bson: Vec::new(),
                ..f.clone()
            };
            match to_bson(elem, &item, "e") {
                Infallible(e) => {
                    Infallible(format!("Bson::Array({v}.iter().map(|e| {e}).collect())"))
                }
                Fallible(e) => Fallible(format!(
                    "{v}.iter().map(|e| {e}).collect::<Result<Vec<Bson>, TransformErrorKind>>().map(Bson::Array)"
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    /// The Rust made for a one-model catalogue whose `link` field is a polymorphic reference
    /// allowing `kinds`.
    fn generated(kinds: &str) -> String {
        let target = "model: Target\ncollection: targets\ntable: targets\nphase: 1\nfields:\n  name: { bson: string }\n";
        let model = format!(
            "model: Holder\ncollection: holders\ntable: holders\nphase: 1\nfields:\n  link:\n    bson: mixed\n    polymorphic: {{ target: Target, kinds: [{kinds}] }}\n"
        );
        let v = crate::validate_sources(vec![
            ("holder.yaml".into(), model),
            ("target.yaml".into(), target.into()),
        ]);
        let cat = v.catalogue.expect("a valid catalogue");
        super::super::files_on(&cat, super::super::Threads::One)
            .into_iter()
            .find(|(path, _)| path == "src/schema/holder.rs")
            .expect("the holder's module")
            .1
    }

    #[test]
    fn a_reference_allowing_fewer_kinds_checks_its_own_list() {
        let narrow = generated("entity");
        assert!(
            narrow.contains(r#"if !["entity"].contains(&kind) {"#),
            "{narrow}"
        );
        assert!(narrow.contains(r#"TransformErrorKind::invalid_enum(kind, &["entity"])"#));
        assert!(narrow.contains("RefKind::parse(kind)"));
    }

    #[test]
    fn a_reference_allowing_every_kind_leaves_the_check_to_the_enum() {
        for kinds in ["entity, template", "template, entity"] {
            let all = generated(kinds);
            assert!(!all.contains(".contains(&kind)"), "{kinds}: {all}");
            assert!(all.contains("RefKind::parse(kind)"), "{kinds}");
        }
    }
}
