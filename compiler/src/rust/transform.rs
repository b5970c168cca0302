//! The generated `from_mongo` and `to_mongo` of one collection: one reading and one writing
//! function per table, walking the catalogue's fields in document order.
//!
//! Reading: one pass over the raw document's keys (no tree copy); each declared key fills a
//! local, an undeclared one is [`Context::unknown`]; then the row is assembled, applying the
//! catalogue's defaults to absent fields, and the child tables are read with the row's id.
//! Writing: the same fields in the same order, back to BSON.
//!
//! [`Context::unknown`]: https://docs.rs/schemac-runtime

use crate::ir::{ChildTable, Column, Field, Model, Storage};
use crate::parse::syntax::{DefaultValue, VersionKey};
use crate::plan::Table;
use crate::types::{BsonType, PgType};

use super::code::{Arm, Stmt, signature, write_all};
use super::layout::{Formatted, INDENT, Place, Source};
use super::names::{field_ident, fn_ident, type_ident};
use super::row_ident;

/// Where a table's fields come from.
enum Kind<'a> {
    Root(&'a Model),
    Child(&'a ChildTable),
}

/// `from_mongo`, `to_mongo` and the per-table functions of a model, appended to `source`.
pub(super) fn functions(model: &Model, tables: &[&Table], source: &mut Source) {
    let doc_ty = type_ident(&model.name);
    let root_field = field_ident(&model.table);
    let children: Vec<&Table> = tables.iter().skip(1).copied().collect();
    let coll = &model.collection;

    source.doc(
        0,
        &format!(
            "Reads one `{coll}` document into rows. `Mode::Strict` makes a key the catalogue does"
        ),
    );
    source.doc(0, "not declare an error; `Mode::Lenient` records it in the returned context, which also holds");
    source.doc(0, "the document's id_map row.");
    signature(
        source,
        "pub fn from_mongo",
        &params(&["doc: &RawDocument", "mode: Mode"]),
        &format!("Result<({doc_ty}, Context), TransformError>"),
    );
    let mut moves = vec![format!("{root_field}: root")];
    moves.extend(
        children
            .iter()
            .map(|t| format!("{0}: kids.{0}", field_ident(&t.name))),
    );
    let read = Stmt::code(format!(
        "let root = {}(&mut cx, doc, &mut kids).map_err(|e| e.locate(doc))?;",
        fn_ident("read", &model.table)
    ));
    let body = [
        Stmt::code("let mut cx = Context::new(COLLECTION, mode);"),
        Stmt::code("let mut kids = Children::default();"),
        read,
        Stmt::code(format!("Ok(({doc_ty} {{ {} }}, cx))", moves.join(", "))),
    ];
    write_all(&body, INDENT, source);
    source.line(0, "}");

    // A collection with child tables writes from its rows sorted by parent, once per document.
    source.doc(
        0,
        &format!("Writes the rows of one document back as the `{coll}` document."),
    );
    signature(
        source,
        "pub fn to_mongo",
        &params(&[&format!("rows: &{doc_ty}")]),
        "Result<Document, TransformError>",
    );
    let write = fn_ident("write", &model.table);
    let mut body = vec![Stmt::code(format!(
        "let id = Some(rows.{root_field}.legacy_object_id.clone());"
    ))];
    let rows_ty = if children.is_empty() {
        body.push(Stmt::code(format!(
            "{write}(&rows.{root_field}, rows, &id)"
        )));
        doc_ty.clone()
    } else {
        let inits: Vec<String> = children
            .iter()
            .map(|t| {
                let parent = t.parent.as_ref().expect("a child table has a parent");
                let ordinal = if parent.one_to_one { "0" } else { "c.ordinal" };
                format!(
                    "{f}: transform::by_parent(&rows.{f}, |c| (c.{p}, {ordinal}))",
                    f = field_ident(&t.name),
                    p = field_ident(&parent.column)
                )
            })
            .collect();
        body.push(Stmt::code(format!(
            "let sorted = Sorted {{ {} }};",
            inits.join(", ")
        )));
        body.push(Stmt::code(format!(
            "{write}(&rows.{root_field}, &sorted, &id)"
        )));
        "Sorted<'_>".to_string()
    };
    write_all(&body, INDENT, source);
    source.line(0, "}");

    if !children.is_empty() {
        let fields: Vec<String> = children
            .iter()
            .map(|t| format!("{}: Vec<&'a {}>,", field_ident(&t.name), row_ident(&t.name)))
            .collect();
        source.doc(
            0,
            "The child rows of one document, each table's sorted by parent row and ordinal.",
        );
        struct_def(source, "struct Sorted<'a>", &fields);
    }
    let fields: Vec<String> = children
        .iter()
        .map(|t| format!("{}: Vec<{}>,", field_ident(&t.name), row_ident(&t.name)))
        .collect();
    source.doc(0, "The child rows read so far.");
    source.line(0, "#[derive(Default)]");
    struct_def(source, "struct Children", &fields);
    table_fns(
        &Kind::Root(model),
        &model.table,
        &model.fields,
        &rows_ty,
        source,
    );
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

/// A struct definition, `fields` with their commas: one field a line, as prettyplease prints
/// it, or the formatter's when a line is too long (its type might be broken).
fn struct_def(source: &mut Source, head: &str, fields: &[String]) {
    let mut def = Formatted::new();
    if fields.is_empty() {
        def.line(0, &format!("{head} {{}}"));
    } else {
        def.line(0, &format!("{head} {{"));
        for field in fields {
            def.line(INDENT, field);
        }
        def.line(0, "}");
    }
    source.formatted(def);
}

/// The parameters of a child table's read function.
pub(super) const CHILD_READ_PARAMS: [&str; 6] = [
    "cx: &mut Context",
    "doc: &RawDocument",
    "path: &P",
    "parent: Uuid",
    "index: usize",
    "rows: &mut Children",
];

fn params(params: &[&str]) -> Vec<String> {
    params.iter().map(|p| p.to_string()).collect()
}

/// An arm reading the system key `key` into `local` with `reader`.
fn system_arm(key: &str, local: &str, reader: &str) -> Arm {
    Arm::Block {
        key: format!("{key:?}"),
        stmts: vec![read_call(local, key, reader)],
    }
}

/// `{local} = cx.read_opt(value, &transform::join(path, {rel}), {reader})?;`
fn read_call(local: &str, rel: &str, reader: &str) -> Stmt {
    let at = format!("&transform::join(path, {rel:?})");
    Stmt::call(
        &format!("{local} = "),
        "cx",
        "read_opt",
        &["value", &at, reader],
        "?;",
    )
}

/// `rows_ty`: what the write functions read child rows from.
fn table_fns(kind: &Kind<'_>, table: &str, fields: &[Field], rows_ty: &str, out: &mut Source) {
    let i1 = INDENT;
    let mut locals: Vec<Local<'_>> = Vec::new();
    let mut polys: Vec<(&crate::ir::Polymorphic, String)> = Vec::new();
    let mut deferred: Vec<Deferred<'_>> = Vec::new();
    let mut arms = Vec::new();
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
    let mut system_arms = Vec::new();
    if is_root {
        system_arms.push(Arm::Code(
            "\"_id\" => id_oid = Some(cx.read_id(value)?),".into(),
        ));
    } else if item_id {
        system_arms.push(Arm::Block {
            key: "\"_id\"".into(),
            stmts: vec![Stmt::Known {
                text: "id_oid = Some(cx.read(value, &transform::join(path, \"_id\"), bsonval::as_object_id)?);",
                indent: 4 * INDENT,
                lines: "                id_oid = Some(
                    cx.read(value, &transform::join(path, \"_id\"), bsonval::as_object_id)?,
                );
",
            }],
        });
    }
    let mut decls = Vec::new();
    if item_id {
        decls.push("let mut id_oid: Option<bson::oid::ObjectId> = None;".to_string());
    }
    if let Kind::Root(m) = kind {
        if m.timestamps.created_at {
            decls.push("let mut c_created_at: Option<DateTime<Utc>> = None;".into());
            system_arms.push(system_arm(
                "createdAt",
                "c_created_at",
                "bsonval::as_datetime",
            ));
        }
        if m.timestamps.updated_at {
            decls.push("let mut c_updated_at: Option<DateTime<Utc>> = None;".into());
            system_arms.push(system_arm(
                "updatedAt",
                "c_updated_at",
                "bsonval::as_datetime",
            ));
        }
        match m.version_key {
            VersionKey::Keep => {
                decls.push("let mut c_mongo_version: Option<i32> = None;".into());
                system_arms.push(system_arm("__v", "c_mongo_version", "bsonval::as_i32"));
            }
            VersionKey::Drop => system_arms.push(Arm::Empty("\"__v\"".into())),
            VersionKey::None => {}
        }
    }

    for l in &locals {
        let ty = super::rust_type(&l.column.pg);
        let n = var(&l.column.name);
        decls.push(format!("let mut c_{n}: Option<{ty}> = None;"));
        if l.default.is_some() {
            decls.push(format!("let mut s_{n} = false;"));
        }
    }
    for (p, _) in &polys {
        decls.push(format!(
            "let mut c_{}: Option<enums::RefKind> = None;",
            var(&p.kind.name)
        ));
        decls.push(format!(
            "let mut c_{}: Option<Uuid> = None;",
            var(&p.id.name)
        ));
        decls.push(format!(
            "let mut c_{}: Option<String> = None;",
            var(&p.external_ref.name)
        ));
    }
    for d in &deferred {
        decls.push(format!(
            "let mut d_{}: Option<RawBsonRef<'_>> = None;",
            var(&d.child.name)
        ));
    }

    // The signature.
    let rows = if deferred.is_empty() && is_root {
        "_rows"
    } else {
        "rows"
    };
    if is_root {
        let items = if rows == "rows" {
            ", and the rows of its items into `rows`"
        } else {
            ""
        };
        out.doc(0, &format!("Reads the `{table}` row of a document{items}."));
        signature(
            out,
            &format!("fn {}", fn_ident("read", table)),
            &params(&[
                "cx: &mut Context",
                "doc: &RawDocument",
                &format!("{rows}: &mut Children"),
            ]),
            &format!("Result<{}, TransformError>", row_ident(table)),
        );
        out.code(Place::Stmt, i1, "let path = \"\";");
    } else {
        out.doc(
            0,
            &format!(
                "Reads one `{table}` row into `rows`: item `index` under the `parent` row (0 for an"
            ),
        );
        out.doc(
            0,
            "embedded object). `path` is the subdocument's Mongo path; its text is only built for an error.",
        );
        signature(
            out,
            &format!("fn {}<P: AsRef<str> + ?Sized>", fn_ident("read", table)),
            &params(&CHILD_READ_PARAMS),
            "Result<(), TransformError>",
        );
    }
    for decl in &decls {
        out.code(Place::Stmt, i1, decl);
    }

    // The keys.
    let mut all_arms = system_arms;
    all_arms.extend(arms);
    keys("doc", "path", all_arms).write(Place::Stmt, i1, out);

    // The id and the row.
    let id_stmts: Vec<String> = match kind {
        Kind::Root(_) => vec![
            "let oid = cx.required(id_oid, \"_id\")?;".into(),
            "let id = ids::uuid_from_object_id(&oid);".into(),
            "cx.record_id(&oid, id);".into(),
        ],
        Kind::Child(c) if c.item_id => vec![
            "let oid = cx.required(id_oid, &transform::join(path, \"_id\"))?;".into(),
            "let id = ids::uuid_from_object_id(&oid);".into(),
        ],
        Kind::Child(c) => vec![format!(
            "let id = ids::uuid_for_child(parent, {:?}, index as u32);",
            c.name
        )],
    };
    for stmt in &id_stmts {
        out.code(Place::Stmt, i1, stmt);
    }
    let mut inits = Vec::new();
    let init = |inits: &mut Vec<Stmt>, name: &str, value: String| {
        let field = field_ident(name);
        inits.push(Stmt::Code(if field == value {
            field
        } else {
            format!("{field}: {value}")
        }));
    };
    init(&mut inits, "id", "id".into());
    if let Kind::Child(c) = kind {
        init(&mut inits, &c.parent_column, "parent".into());
        if !c.one_to_one {
            init(
                &mut inits,
                "ordinal",
                "transform::ordinal(index).map_err(|k| cx.error(path, k))?".into(),
            );
        }
    }
    if item_id {
        init(
            &mut inits,
            "legacy_object_id",
            "ids::object_id_hex(&oid)".into(),
        );
    }
    for l in &locals {
        match local_value(l) {
            Ok(value) => init(&mut inits, &l.column.name, value),
            Err(required) => inits.push(required),
        }
    }
    for (p, rel) in &polys {
        if p.kind.nullable {
            init(&mut inits, &p.kind.name, format!("c_{}", var(&p.kind.name)));
        } else {
            inits.push(required(&p.kind.name, rel));
        }
        init(&mut inits, &p.id.name, format!("c_{}", var(&p.id.name)));
        init(
            &mut inits,
            &p.external_ref.name,
            format!("c_{}", var(&p.external_ref.name)),
        );
    }
    if let Kind::Root(m) = kind {
        if m.timestamps.created_at {
            init(
                &mut inits,
                "created_at",
                "c_created_at.unwrap_or_else(|| cx.created())".into(),
            );
        }
        if m.timestamps.updated_at {
            init(
                &mut inits,
                "updated_at",
                "c_updated_at.unwrap_or_else(|| cx.created())".into(),
            );
        }
        if m.version_key == VersionKey::Keep {
            init(&mut inits, "mongo_version", "c_mongo_version".into());
        }
    }
    struct_literal(i1, "let row = ", &row_ident(table), &inits, ";", out);

    let mut tail = Vec::new();
    for d in &deferred {
        let read = fn_ident("read", &d.child.name);
        let head = format!(
            "if let Some(v) = d_{}.filter(|v| !is_null(*v))",
            var(&d.child.name)
        );
        let at = Stmt::code(format!("let p = transform::join(path, {:?});", d.rel));
        if d.child.one_to_one {
            let otherwise = if d.child.optional {
                Vec::new()
            } else {
                vec![Stmt::code(format!(
                    "return Err(cx.error(&transform::join(path, {:?}), TransformErrorKind::Missing));",
                    d.rel
                ))]
            };
            tail.push(Stmt::Block {
                head,
                body: vec![
                    at,
                    Stmt::code("let sub = cx.document(v, &p)?;"),
                    Stmt::code(format!("{read}(cx, sub, &p, id, 0, rows)?;")),
                ],
                otherwise,
            });
        } else {
            let each = Stmt::block(
                "for (i, sub) in cx.documents(v, &p)?.into_iter().enumerate()",
                vec![Stmt::code(format!(
                    "{read}(cx, sub, &transform::item(&p, i), id, i, rows)?;"
                ))],
            );
            tail.push(Stmt::block(head, vec![at, each]));
        }
    }
    if is_root {
        tail.push(Stmt::code("Ok(row)"));
    } else {
        tail.push(Stmt::code(format!(
            "rows.{}.push(row);",
            field_ident(table)
        )));
        tail.push(Stmt::code("Ok(())"));
    }
    write_all(&tail, i1, out);
    out.line(0, "}");

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

/// `{head}{ty} { fields }{tail}` at `indent`: one field a line when the literal is too wide
/// for prettyplease to keep it on one line (34 bytes, or past the margin), else one statement
/// for the formatter.
fn struct_literal(
    indent: usize,
    head: &str,
    ty: &str,
    fields: &[Stmt],
    tail: &str,
    out: &mut Source,
) {
    let texts: Vec<String> = fields.iter().map(Stmt::text).collect();
    let one_line = format!("{ty} {{ {} }}", texts.join(", "));
    if one_line.len() <= 34 + 8 || !super::layout::fits(indent, &format!("{head}{ty} {{")) {
        out.code(Place::Stmt, indent, &format!("{head}{one_line}{tail}"));
        return;
    }
    out.line(indent, &format!("{head}{ty} {{"));
    for (i, field) in fields.iter().enumerate() {
        let place = if i + 1 == fields.len() {
            Place::LastField
        } else {
            Place::Field
        };
        field.write(place, indent + INDENT, out);
    }
    out.line(indent, &format!("}}{tail}"));
}

/// The loop over the keys of the document `doc` at the Mongo path `path`: each key read by its
/// arm of `arms`, any other one [`Context::unknown`].
///
/// [`Context::unknown`]: https://docs.rs/schemac-runtime
fn keys(doc: &str, path: &str, mut arms: Vec<Arm>) -> Stmt {
    arms.push(Arm::Code(format!(
        "_ => cx.unknown(transform::join({path}, key))?,"
    )));
    Stmt::block(
        format!("for item in raw::elements({doc})"),
        vec![
            Stmt::code(format!(
                "let (key, value) = item.map_err(|e| cx.error({path}, e.into()))?;"
            )),
            Stmt::Match {
                head: "match key".into(),
                arms,
            },
        ],
    )
}

/// The match arms of a list of fields, `rel` the path of their object inside the table's
/// document ("" at the table's level).
fn field_arms<'a>(
    fields: &'a [Field],
    rel: &str,
    arms: &mut Vec<Arm>,
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
                let default = f.default.as_ref().and_then(|d| default_expr(d, &c.pg));
                let n = var(&c.name);
                let mut stmts = vec![read_stmt(c, f, &format!("c_{n}"), &frel)];
                if default.is_some() {
                    stmts.push(Stmt::code(format!("s_{n} = true;")));
                }
                arms.push(Arm::Block {
                    key: format!("{key:?}"),
                    stmts,
                });
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
                let mut body = vec![
                    Stmt::code(format!("let p = transform::join(path, {frel:?});")),
                    Stmt::code(
                        "let (kind, id, external) = cx.read(value, &p, transform::as_polymorphic)?;",
                    ),
                ];
                if narrower {
                    let kinds: Vec<String> = p.kinds.iter().map(|k| format!("{k:?}")).collect();
                    let kinds = kinds.join(", ");
                    body.push(Stmt::block(
                        format!("if ![{kinds}].contains(&kind)"),
                        vec![Stmt::code(format!(
                            "return Err(cx.error(&p, TransformErrorKind::invalid_enum(kind, &[{kinds}])));"
                        ))],
                    ));
                }
                body.push(Stmt::code(format!(
                    "c_{} = Some(enums::RefKind::parse(kind).map_err(|e| cx.error(&p, e))?);",
                    var(&p.kind.name)
                )));
                body.push(Stmt::code(format!("c_{} = id;", var(&p.id.name))));
                body.push(Stmt::code(format!(
                    "c_{} = external;",
                    var(&p.external_ref.name)
                )));
                arms.push(Arm::Block {
                    key: format!("{key:?}"),
                    stmts: vec![Stmt::block("if !is_null(value)", body)],
                });
                polys.push((p, frel));
            }
            Storage::Flattened { fields: sub } => {
                let mut inner = Vec::new();
                field_arms(sub, &frel, &mut inner, locals, polys, deferred);
                let body = vec![
                    Stmt::code(format!("let p = transform::join(path, {frel:?});")),
                    Stmt::code("let sub = cx.document(value, &p)?;"),
                    keys("sub", "&p", inner),
                ];
                arms.push(Arm::Block {
                    key: format!("{key:?}"),
                    stmts: vec![Stmt::block("if !is_null(value)", body)],
                });
            }
            Storage::ChildTable(child) => {
                arms.push(Arm::Code(format!(
                    "{key:?} => d_{} = Some(value),",
                    var(&child.name)
                )));
                deferred.push(Deferred { child, rel: frel });
            }
            Storage::InJsonb => {}
            Storage::Skipped { .. } => arms.push(Arm::Empty(format!("{key:?}"))),
        }
    }
}

/// The statement reading a column's value (`Option<T>`) from `value` into `local`.
fn read_stmt(c: &Column, f: &Field, local: &str, rel: &str) -> Stmt {
    match &c.pg {
        PgType::Array(elem) => Stmt::code(format!(
            "{local} = if is_null(value) {{ None }} else {{ Some(cx.read_array(value, &transform::join(path, {rel:?}), {})?) }};",
            reader(elem, f)
        )),
        pg => read_call(local, rel, &reader(pg, f)),
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
/// (A required column is its whole field: [`required`], or [`Stmt::OrDefault`] with a
/// default.)
fn local_value(l: &Local<'_>) -> Result<String, Stmt> {
    let n = &var(&l.column.name);
    let path = format!("&transform::join(path, {:?})", l.rel);
    Ok(match (l.column.nullable, &l.default) {
        (true, None) => format!("c_{n}"),
        (true, Some(d)) => format!("if s_{n} {{ c_{n} }} else {{ Some({d}) }}"),
        (false, Some(d)) => {
            return Err(Stmt::OrDefault {
                lhs: format!("{}: ", field_ident(&l.column.name)),
                local: format!("c_{n}"),
                seen: format!("s_{n}"),
                default: d.clone(),
                missing: Box::new(Stmt::call(
                    "",
                    "cx",
                    "error",
                    &[&path, "TransformErrorKind::Missing"],
                    "",
                )),
            });
        }
        (false, None) => return Err(required(&l.column.name, &l.rel)),
    })
}

/// The field of `column` in the row literal, read from `c_<column>` and required:
/// `column: cx.required(c_column, &transform::join(path, rel))?`.
fn required(column: &str, rel: &str) -> Stmt {
    let at = format!("&transform::join(path, {rel:?})");
    Stmt::call(
        &format!("{}: ", field_ident(column)),
        "cx",
        "required",
        &[&format!("c_{}", var(column)), &at],
        "?",
    )
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
    out: &mut Source,
) {
    let rows = if has_children { "rows" } else { "_rows" };
    let mut body = vec![Stmt::code("let mut doc = Document::new();")];
    let item_id = match kind {
        Kind::Root(_) => true,
        Kind::Child(c) => c.item_id,
    };
    if item_id {
        body.push(Stmt::Known {
            text: "doc.insert(\"_id\", Bson::ObjectId(transform::legacy_id(&row.legacy_object_id).map_err(|k| err(\"_id\", k))?));",
            indent: INDENT,
            lines: "    doc.insert(
        \"_id\",
        Bson::ObjectId(
            transform::legacy_id(&row.legacy_object_id).map_err(|k| err(\"_id\", k))?,
        ),
    );
",
        });
    }
    field_writes(fields, "", "doc", &mut body);
    if let Kind::Root(m) = kind {
        if m.timestamps.created_at {
            body.push(insert(
                "doc",
                "createdAt",
                "Bson::DateTime(bsonval::datetime_to_bson(row.created_at))",
            ));
        }
        if m.timestamps.updated_at {
            body.push(insert(
                "doc",
                "updatedAt",
                "Bson::DateTime(bsonval::datetime_to_bson(row.updated_at))",
            ));
        }
        if m.version_key == VersionKey::Keep {
            body.push(Stmt::block(
                "if let Some(v) = row.mongo_version",
                vec![Stmt::code("doc.insert(\"__v\", Bson::Int32(v));")],
            ));
        }
    }
    // The error closure, when a conversion can fail.
    let text = super::code::texts(&body);
    let (id, err) = if text.contains("err(") {
        ("id", true)
    } else if text.contains(", id)") {
        ("id", false)
    } else {
        ("_id", false)
    };
    signature(
        out,
        &format!("fn {}", fn_ident("write", table)),
        &params(&[
            &format!("row: &{}", row_ident(table)),
            &format!("{rows}: &{rows_ty}"),
            &format!("{id}: &Option<String>"),
        ]),
        "Result<Document, TransformError>",
    );
    if err {
        // The same statement in every write function, as prettyplease prints it.
        out.lines(
            "    let err = |path: &str, kind: TransformErrorKind| TransformError::new(
        COLLECTION,
        id.clone(),
        path,
        kind,
    );
",
        );
    }
    for stmt in &body {
        stmt.write(Place::Stmt, INDENT, out);
    }
    out.code(Place::Tail, INDENT, "Ok(doc)");
    out.line(0, "}");
}

/// `{target}.insert({key}, {value});`
fn insert(target: &str, key: &str, value: &str) -> Stmt {
    Stmt::call("", target, "insert", &[&format!("{key:?}"), value], ";")
}

/// Statements inserting `fields` of `row` into the document variable `target`.
fn field_writes(fields: &[Field], rel: &str, target: &str, body: &mut Vec<Stmt>) {
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
                let insert_v = insert(target, key, &to_bson(&c.pg, f, "v").at(&frel));
                if c.nullable {
                    let otherwise = if matches!(f.default, Some(DefaultValue::Null)) {
                        vec![insert(target, key, "Bson::Null")]
                    } else {
                        Vec::new()
                    };
                    body.push(Stmt::Block {
                        head: format!("if let Some(v) = &{value}"),
                        body: vec![insert_v],
                        otherwise,
                    });
                } else {
                    body.push(Stmt::block(
                        "",
                        vec![Stmt::code(format!("let v = &{value};")), insert_v],
                    ));
                }
            }
            Storage::Polymorphic(p) => {
                let kind = if p.kind.nullable {
                    format!("row.{}.map(|k| k.as_str())", field_ident(&p.kind.name))
                } else {
                    format!("Some(row.{}.as_str())", field_ident(&p.kind.name))
                };
                body.push(Stmt::block(
                    format!(
                        "if let Some(b) = transform::polymorphic_to_bson({kind}, row.{i}.as_ref(), row.{e}.as_deref()).map_err(|k| err({frel:?}, k))?",
                        i = field_ident(&p.id.name),
                        e = field_ident(&p.external_ref.name)
                    ),
                    vec![insert(target, key, "b")],
                ));
            }
            Storage::Flattened { fields: sub } => {
                // An identifier even where the object's name is not one (`größe²`).
                let object = format!(
                    "sub_{}",
                    var(&crate::ident::column_name(&frel.replace('.', "_")))
                );
                body.push(Stmt::code(format!("let mut {object} = Document::new();")));
                field_writes(sub, &frel, &object, body);
                body.push(Stmt::block(
                    format!("if !{object}.is_empty()"),
                    vec![insert(target, key, &object)],
                ));
            }
            Storage::ChildTable(child) => {
                let rows_field = field_ident(&child.name);
                let parent = field_ident(&child.parent_column);
                let write = fn_ident("write", &child.name);
                let children =
                    format!("transform::children_of(&rows.{rows_field}, row.id, |c| c.{parent})");
                if child.one_to_one {
                    body.push(Stmt::block(
                        format!("if let Some(c) = {children}.first()"),
                        vec![insert(target, key, &format!("{write}(c, rows, id)?"))],
                    ));
                } else {
                    body.push(Stmt::block(
                        "",
                        vec![
                            Stmt::code(format!("let items = {children};")),
                            Stmt::code("let mut arr = Vec::with_capacity(items.len());"),
                            Stmt::block(
                                "for c in items",
                                vec![Stmt::code(format!(
                                    "arr.push(Bson::Document({write}(c, rows, id)?));"
                                ))],
                            ),
                            insert(target, key, "arr"),
                        ],
                    ));
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
