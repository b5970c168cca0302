//! Catalogue in, the Rust of the `escrow-schema` crate out: per Postgres enum a Rust enum, per
//! table a row struct, per collection a struct holding its rows with `from_mongo` and
//! `to_mongo`. Source is built as text, parsed by syn and printed by prettyplease, so it is
//! formatted and byte-for-byte deterministic. The regular items (enums, row structs, registry
//! impls) and most of the transforms' statements are written already formatted, as
//! prettyplease prints them ([`layout`], [`code`]); only the rest is parsed and printed, and
//! [`misformatted`] holds every file to be what the formatter prints. Files go under
//! `src/schema/`, each ending with a stamp line that lets the CLI skip formatting a file whose
//! source did not change.

mod audit;
mod code;
mod format;
mod layout;
mod names;
mod transform;

use crate::ir::{Catalogue, Model};
use crate::plan::{self, PlanColumn, Schema, Table};
use crate::types::PgType;
use code::Stmt;
use format::{format_source, source_key, stamp, stamped};
use layout::{Formatted, INDENT, Source};

pub use crate::pool::Threads;
pub use audit::{Misformat, misformatted, redefined};
pub use names::{
    ENUM_MODULE_TYPES, MODULE_TYPES, SCHEMA_MODULES, doc_text, field_ident, module_file,
    module_ident, type_ident,
};

/// The generated files: (path under `generated/`, text), in a fixed order.
pub fn files(cat: &Catalogue) -> Vec<(String, String)> {
    files_on(cat, Threads::All)
}

/// [`files`], formatted on `threads`.
pub fn files_on(cat: &Catalogue, threads: Threads) -> Vec<(String, String)> {
    files_reusing(cat, threads, |_| None)
}

/// [`files`], with the formatting of a file skipped when `committed` (its text as committed,
/// by path) carries the stamp of the very source made now: then the committed text is, byte
/// for byte, what formatting would print. Formatting is most of the cost of `schemac generate`
/// and `schemac check` (docs/bench-compile.md); with this, a run formats only the files whose
/// source changed. A hand edit breaks the stamp's hash of the text, so the file is formatted
/// again and the edit shows as drift.
///
/// The files are independent, so both steps run on `threads`: making each source (and reading
/// its committed text), then formatting what is left, the largest sources first so that no
/// thread is left with a big file at the end.
pub fn files_reusing(
    cat: &Catalogue,
    threads: Threads,
    committed: impl Fn(&str) -> Option<String> + Sync,
) -> Vec<(String, String)> {
    let schema = plan::plan(cat);
    let paths = paths(cat);
    let source = |i: usize| source(cat, &schema, i);
    let indices: Vec<usize> = (0..paths.len()).collect();
    let made: Vec<Made> = crate::pool::map(threads, &indices, |&i| {
        let source = source(i);
        let key = source_key(&source);
        match committed(&paths[i]).filter(|text| stamped(text, &key)) {
            Some(text) => Made::Reused(text),
            None => Made::ToFormat { source, key },
        }
    });
    let mut todo: Vec<(usize, &Source, &str)> = made
        .iter()
        .enumerate()
        .filter_map(|(i, made)| match made {
            Made::ToFormat { source, key } => Some((i, source, key.as_str())),
            Made::Reused(_) => None,
        })
        .collect();
    todo.sort_by_key(|(_, source, _)| std::cmp::Reverse(source.raw_len()));
    let formatted = crate::pool::map(threads, &todo, |(i, source, key)| {
        (*i, stamp(format_source(source), key))
    });
    let mut texts: Vec<Option<String>> = made
        .into_iter()
        .map(|made| match made {
            Made::Reused(text) => Some(text),
            Made::ToFormat { .. } => None,
        })
        .collect();
    for (i, text) in formatted {
        texts[i] = Some(text);
    }
    paths
        .into_iter()
        .zip(texts)
        .map(|(path, text)| (path, text.expect("every file is reused or formatted")))
        .collect()
}

/// The paths of the generated Rust files, in order: `mod.rs`, `enums.rs`, one per model.
fn paths(cat: &Catalogue) -> Vec<String> {
    let mut paths = vec![
        "src/schema/mod.rs".to_string(),
        "src/schema/enums.rs".to_string(),
    ];
    paths.extend(
        cat.models
            .iter()
            .map(|model| format!("src/schema/{}.rs", module_file(&module_name(model)))),
    );
    paths
}

/// The source of the `i`th file of [`paths`].
fn source(cat: &Catalogue, schema: &Schema, i: usize) -> Source {
    match i {
        0 => {
            let mut source = Source::default();
            source.raw(&mod_rs(cat));
            source
        }
        1 => enums_rs(cat),
        _ => model_rs(cat, &cat.models[i - 2], schema),
    }
}

/// A generated Rust file before formatting: its committed text, reused as it is, or the source
/// made now with its stamp key.
enum Made {
    Reused(String),
    ToFormat { source: Source, key: String },
}

/// The same code as [`files`], as one source text for the `catalogue!` macro: `pub mod schema`
/// with every module inline, each module's text exactly as in its file.
pub fn macro_source(cat: &Catalogue) -> String {
    macro_source_of(&files(cat))
}

/// [`macro_source`] from [`files`] already made (or from [`crate::generate::outputs`], whose
/// other files are ignored): formatting is most of the work, so a caller that has them need
/// not format everything again.
pub fn macro_source_of(files: &[(String, String)]) -> String {
    let module = |name: &str| {
        files
            .iter()
            .find(|(path, _)| path == &format!("src/schema/{}.rs", module_file(name)))
            .map(|(_, text)| text.as_str())
    };
    let mut out = String::from("pub mod schema {\n");
    let root = module("mod").unwrap_or_default();
    for line in root.lines() {
        // `pub mod x;` becomes `pub mod x { <the text of x.rs> }`, its doc comment kept above.
        let inline = line
            .strip_prefix("pub mod ")
            .and_then(|l| l.strip_suffix(';'))
            .and_then(|name| module(name).map(|text| (name, text)));
        match inline {
            Some((name, text)) => out.push_str(&format!("pub mod {name} {{\n{text}}}\n")),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out.push_str("}\n");
    out
}

/// The module of a model: its snake_case name (`r#type` for a keyword).
pub fn module_name(model: &Model) -> String {
    module_ident(&crate::ident::model_snake(&model.name))
}

const HEADER: &str =
    "//! Generated by schemac from models/*.yaml: do not edit. Run `schemac generate`.";

fn mod_rs(cat: &Catalogue) -> String {
    let mut s = format!(
        "{HEADER}\n//!\n//! One module per collection: its rows, `from_mongo` and `to_mongo`.\n\n#![allow(clippy::result_large_err)]\n\npub mod enums;\n"
    );
    for m in &cat.models {
        s.push_str(&format!(
            "/// Mongo `{}` ({}).\npub mod {};\n",
            doc_text(&m.collection),
            m.name,
            module_name(m)
        ));
    }
    s.push_str("/// Every collection: (model, Mongo collection, root table).\npub const COLLECTIONS: &[(&str, &str, &str)] = &[");
    for m in &cat.models {
        s.push_str(&format!(
            "({:?}, {:?}, {:?}),",
            m.name, m.collection, m.table
        ));
    }
    s.push_str("];\n\n");
    s.push_str("/// Every collection's generated code, for the engines (backfill, verify, parity tests).\npub static REGISTRY: &[&dyn schemac_runtime::registry::Collection] = &[");
    for m in &cat.models {
        s.push_str(&format!("&{}::Codec,", module_name(m)));
    }
    s.push_str("];\n\n");
    s.push_str("/// `from_mongo` then `to_mongo` of one document of `collection` (parity checks); `None` for\n/// a collection the catalogue does not have.\npub fn round_trip(collection: &str, doc: &schemac_runtime::bson::RawDocument, mode: schemac_runtime::transform::Mode) -> Option<Result<schemac_runtime::bson::Document, schemac_runtime::TransformError>> {\n    Some(match collection {\n");
    for m in cat.models.iter() {
        s.push_str(&format!(
            "{:?} => {m}::from_mongo(doc, mode).and_then(|(rows, _)| {m}::to_mongo(&rows)),\n",
            m.collection,
            m = module_name(m)
        ));
    }
    s.push_str("_ => return None,\n    })\n}\n\n");
    s.push_str("/// Reads one document of `collection`, inserts its rows, reads them back by the root id and\n/// writes the document again: the whole Mongo -> Postgres -> Mongo path; `None` for a\n/// collection the catalogue does not have.\npub fn through_postgres(collection: &str, doc: &schemac_runtime::bson::RawDocument, client: &mut impl schemac_runtime::postgres::GenericClient) -> Option<Result<schemac_runtime::bson::Document, String>> {\n    Some(match collection {\n");
    for m in cat.models.iter() {
        let module = module_name(m);
        s.push_str(&format!(
            "{:?} => (|| {{ let (rows, _) = {module}::from_mongo(doc, schemac_runtime::transform::Mode::Strict).map_err(|e| e.to_string())?; rows.insert(client).map_err(|e| e.to_string())?; let loaded = {module}::{ty}::load(client, rows.{root}.id).map_err(|e| e.to_string())?.ok_or(\"the row is gone\")?; {module}::to_mongo(&loaded).map_err(|e| e.to_string()) }})(),\n",
            m.collection,
            ty = type_ident(&m.name),
            root = field_ident(&m.table),
        ));
    }
    s.push_str("_ => return None,\n    })\n}\n");
    s
}

fn enums_rs(cat: &Catalogue) -> Source {
    let mut source = Source::default();
    source.raw(&format!(
        "{HEADER}\n//!\n//! The Postgres enum types, each with its labels in order.\n\n\
         #![allow(clippy::result_large_err)]\n\n\
         use schemac_runtime::TransformErrorKind;\n\n"
    ));
    let mut enums: Vec<(String, Vec<String>)> = vec![(
        crate::desired::GAP_OPERATION.into(),
        ["insert", "update", "replace", "delete", "backfill"]
            .map(String::from)
            .to_vec(),
    )];
    enums.extend(cat.enums.iter().map(|e| (e.name.clone(), e.values.clone())));
    for (name, values) in &enums {
        source.formatted(enum_rs(name, values));
    }
    source
}

/// A Postgres enum as a Rust enum with its labels, `as_str`, `parse` and the `pg_enum!` line
/// for `ToSql`/`FromSql`.
fn enum_rs(name: &str, values: &[String]) -> Formatted {
    let ty = type_ident(name);
    let variants = names::variants(values);
    let (i1, i2, i3) = (INDENT, 2 * INDENT, 3 * INDENT);
    let mut out = Formatted::new();
    out.doc(0, &format!("Postgres enum `{name}`."));
    out.line(
        0,
        "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]",
    );
    out.line(0, &format!("pub enum {ty} {{"));
    for (v, label) in variants.iter().zip(values) {
        out.doc(i1, &format!("`{label}`."));
        out.line(i1, &format!("{v},"));
    }
    out.line(0, "}");
    out.line(0, &format!("impl {ty} {{"));
    out.doc(i1, "The labels, in Postgres order.");
    let labels: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
    out.list(i1, "pub const LABELS: &[&str] = &[", &labels, "];");
    out.doc(i1, "The label.");
    out.line(i1, "pub fn as_str(self) -> &'static str {");
    out.line(i2, "match self {");
    for (v, label) in variants.iter().zip(values) {
        out.line(i3, &format!("{ty}::{v} => {label:?},"));
    }
    out.line(i2, "}");
    out.line(i1, "}");
    out.doc(i1, "The value of a label, or the error naming the labels.");
    let returns = format!("Result<{ty}, TransformErrorKind> {{");
    let parse = format!("pub fn parse(label: &str) -> {returns}");
    if layout::fits(i1, &parse) {
        out.line(i1, &parse);
    } else {
        out.line(i1, "pub fn parse(");
        out.line(i2, "label: &str,");
        out.line(i1, &format!(") -> {returns}"));
    }
    out.line(i2, "match label {");
    for (v, label) in variants.iter().zip(values) {
        out.line(i3, &format!("{label:?} => Ok({ty}::{v}),"));
    }
    out.line(
        i3,
        "other => Err(TransformErrorKind::invalid_enum(other, Self::LABELS)),",
    );
    out.line(i2, "}");
    out.line(i1, "}");
    out.line(0, "}");
    let pg_enum = format!("schemac_runtime::pg_enum!({ty}, {name:?});");
    if layout::fits(0, &pg_enum) {
        out.line(0, &pg_enum);
    } else {
        out.line(0, "schemac_runtime::pg_enum!(");
        out.line(i1, &format!("{ty}, {name:?}"));
        out.line(0, ");");
    }
    out
}

/// The Rust type of a column value (without `Option`).
fn rust_type(pg: &PgType) -> String {
    match pg {
        PgType::Uuid => "Uuid".into(),
        PgType::Text => "String".into(),
        PgType::Int4 => "i32".into(),
        PgType::Int8 => "i64".into(),
        PgType::Float8 => "f64".into(),
        PgType::Numeric(_) => "Numeric".into(),
        PgType::Boolean => "bool".into(),
        PgType::Timestamptz => "DateTime<Utc>".into(),
        PgType::Bytea => "Vec<u8>".into(),
        PgType::Jsonb => "Json".into(),
        PgType::Enum(name) => format!("enums::{}", type_ident(name)),
        PgType::Array(elem) => format!("Vec<{}>", rust_type(elem)),
    }
}

fn column_type(c: &PlanColumn) -> String {
    let t = rust_type(&c.pg);
    if c.nullable {
        format!("Option<{t}>")
    } else {
        t
    }
}

/// The row struct of a table and its impl: the table's name and columns, the values as
/// parameters, the INSERT and SELECT, and `from_row`.
fn row_struct(t: &Table) -> Formatted {
    let ty = row_ident(&t.name);
    let (i1, i2, i3) = (INDENT, 2 * INDENT, 3 * INDENT);
    let mut out = Formatted::new();
    out.doc(0, &format!("A row of `{}` (Mongo `{}`).", t.name, t.source));
    out.line(0, "#[derive(Debug, Clone, PartialEq)]");
    out.line(0, &format!("pub struct {ty} {{"));
    for c in &t.columns {
        out.doc(
            i1,
            &format!(
                "`{}` {}{}: {}.",
                c.name,
                c.pg,
                if c.nullable { "" } else { " NOT NULL" },
                c.source.replace('`', "'"),
            ),
        );
        out.line(
            i1,
            &format!("pub {}: {},", field_ident(&c.name), column_type(c)),
        );
    }
    out.line(0, "}");

    let cols: Vec<String> = t.columns.iter().map(|c| format!("{:?}", c.name)).collect();
    let sql_cols: Vec<String> = t
        .columns
        .iter()
        .map(|c| crate::ident::quote_ident(&c.name))
        .collect();
    let placeholders: Vec<String> = (1..=t.columns.len()).map(|i| format!("${i}")).collect();
    let insert = format!(
        "INSERT INTO {} ({}) VALUES ({})",
        crate::ident::quote_ident(&t.name),
        sql_cols.join(", "),
        placeholders.join(", ")
    );
    let select = format!(
        "SELECT {} FROM {}",
        sql_cols.join(", "),
        crate::ident::quote_ident(&t.name)
    );
    let params: Vec<String> = t
        .columns
        .iter()
        .map(|c| format!("&self.{}", field_ident(&c.name)))
        .collect();
    let gets: Vec<String> = t
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{}: row.try_get({i})?,", field_ident(&c.name)))
        .collect();
    out.line(0, &format!("impl {ty} {{"));
    out.doc(i1, "The table.");
    out.line(
        i1,
        &format!("pub const TABLE: &'static str = {:?};", t.name),
    );
    out.doc(i1, "Its columns, in the order of [`Self::params`].");
    out.list(
        i1,
        "pub const COLUMNS: &'static [&'static str] = &[",
        &cols,
        "];",
    );
    out.doc(
        i1,
        "The values, as Postgres parameters (INSERT or binary COPY).",
    );
    out.line(
        i1,
        &format!(
            "pub fn params(&self) -> [&(dyn ToSql + Sync); {}] {{",
            t.columns.len()
        ),
    );
    out.list(i2, "[", &params, "]");
    out.line(i1, "}");
    out.doc(
        i1,
        "The INSERT of one row, parameters in [`Self::COLUMNS`] order.",
    );
    out.unbroken(i1, &format!("pub const INSERT: &'static str = {insert:?};"));
    out.doc(i1, "The SELECT of [`Self::COLUMNS`]; add a WHERE clause.");
    out.unbroken(i1, &format!("pub const SELECT: &'static str = {select:?};"));
    out.doc(i1, "A row read with [`Self::SELECT`].");
    out.line(
        i1,
        "pub fn from_row(row: &postgres::Row) -> Result<Self, postgres::Error> {",
    );
    // prettyplease keeps a struct literal whose fields take at most 34 bytes on one line. Every
    // table has at least two columns (`id` and a second), so the fields never fit; should a
    // table ever have a short enough list (with a margin for the separators), the formatter
    // lays it out.
    if gets.iter().map(|g| g.len() + 1).sum::<usize>() <= 40 {
        out.unsure();
    }
    out.line(i2, "Ok(Self {");
    for get in &gets {
        out.line(i3, get);
    }
    out.line(i2, "})");
    out.line(i1, "}");
    out.line(0, "}");
    out
}

/// The row struct's name: `payments` -> `PaymentsRow`.
pub fn row_ident(table: &str) -> String {
    format!("{}Row", type_ident(table))
}

fn model_rs(cat: &Catalogue, model: &Model, schema: &Schema) -> Source {
    let tables: Vec<&Table> = schema
        .tables
        .iter()
        .filter(|t| t.model == model.name)
        .collect();
    // The module's head, as prettyplease prints it (`space_items` adds the blank lines).
    let mut source = Source::default();
    source.line(0, HEADER);
    source.line(0, "//!");
    let table_list: Vec<String> = tables.iter().map(|t| format!("`{}`", t.name)).collect();
    let about = format!(
        "Mongo collection `{}` (model {}) and its tables: {}.",
        model.collection,
        model.name,
        table_list.join(", ")
    );
    source.line(0, &layout::comment("//!", &about));
    source.lines(
        "#![allow(unused_imports, clippy::result_large_err)]
use schemac_runtime::bson::{self, Bson, Document, RawBsonRef, RawDocument};
use schemac_runtime::chrono::{DateTime, Utc};
use schemac_runtime::postgres;
use schemac_runtime::postgres_types::ToSql;
use schemac_runtime::registry;
use schemac_runtime::transform::{self, Context, Mode, is_null};
use schemac_runtime::uuid::Uuid;
use schemac_runtime::{
    Json, Numeric, TransformError, TransformErrorKind, bsonval, ids, raw,
};
use super::enums;
/// The Mongo collection.
",
    );
    source.line(
        0,
        &format!("pub const COLLECTION: &str = {:?};", model.collection),
    );
    for t in &tables {
        source.formatted(row_struct(t));
    }
    let doc_ty = type_ident(&model.name);
    source.formatted(doc_struct(model, &doc_ty, &tables));
    database_fns(&doc_ty, &tables, &mut source);
    source.formatted(tables_const(cat, model, &tables));
    source.formatted(registry_impls(model, &doc_ty, &tables));
    transform::functions(model, &tables, &mut source);
    source
}

/// The struct of one document's rows.
fn doc_struct(model: &Model, doc_ty: &str, tables: &[&Table]) -> Formatted {
    let mut out = Formatted::new();
    out.doc(
        0,
        &format!(
            "One `{}` document as rows: the root row and the rows of each child table (all",
            model.collection
        ),
    );
    out.doc(0, "levels), children linked to their parent by id.");
    out.line(0, "#[derive(Debug, Clone, PartialEq)]");
    out.line(0, &format!("pub struct {doc_ty} {{"));
    for (i, t) in tables.iter().enumerate() {
        let (f, row) = (field_ident(&t.name), row_ident(&t.name));
        if i == 0 {
            out.doc(INDENT, &format!("The `{}` row.", t.name));
            out.line(INDENT, &format!("pub {f}: {row},"));
        } else {
            out.doc(
                INDENT,
                &format!("The `{}` rows (Mongo `{}`).", t.name, t.source),
            );
            out.line(INDENT, &format!("pub {f}: Vec<{row}>,"));
        }
    }
    out.line(0, "}");
    out
}

/// `TABLES`: the tables of the collection, root first, with their references, for the engines.
fn tables_const(cat: &Catalogue, model: &Model, tables: &[&Table]) -> Formatted {
    let (i1, i2, i3, i4) = (INDENT, 2 * INDENT, 3 * INDENT, 4 * INDENT);
    let mut out = Formatted::new();
    out.doc(
        0,
        "The tables of the collection, root first, for the engines.",
    );
    out.line(0, "pub const TABLES: &[registry::Table] = &[");
    for t in tables {
        out.line(i1, "registry::Table {");
        out.line(i2, &format!("name: {:?},", t.name));
        out.line(i2, &format!("columns: {}::COLUMNS,", row_ident(&t.name)));
        let parent = t
            .parent
            .as_ref()
            .map_or("None".to_string(), |p| format!("Some({:?})", p.column));
        out.line(i2, &format!("parent: {parent},"));
        let mut references = Vec::new();
        for c in &t.columns {
            let Some(crate::ir::Reference::Model {
                model: target,
                table,
                fk: true,
                ..
            }) = &c.reference
            else {
                continue;
            };
            let collection = cat
                .models
                .iter()
                .find(|m| &m.name == target)
                .map_or(table.as_str(), |m| m.collection.as_str());
            references.push([
                format!("column: {:?},", c.name),
                format!("mongo_path: {:?},", c.source),
                format!("collection: {collection:?},"),
                format!("table: {table:?},"),
                format!("required: {},", !c.nullable),
                format!(
                    "polymorphic: {},",
                    t.polymorphic.iter().any(|p| p.id == c.name)
                ),
            ]);
        }
        if references.is_empty() {
            out.line(i2, "references: &[],");
        } else {
            out.line(i2, "references: &[");
            for fields in &references {
                out.line(i3, "registry::Reference {");
                for field in fields {
                    out.line(i4, field);
                }
                out.line(i3, "},");
            }
            out.line(i2, "],");
        }
        let names = |pick: &dyn Fn(&PlanColumn) -> bool| -> Vec<String> {
            t.columns
                .iter()
                .filter(|c| pick(c))
                .map(|c| format!("{:?}", c.name))
                .collect()
        };
        let money = names(&|c| matches!(c.pg, PgType::Numeric(_)));
        let buckets: Vec<String> = ["provider", "status"]
            .iter()
            .filter(|b| t.columns.iter().any(|c| c.name == **b))
            .map(|b| format!("{b:?}"))
            .collect();
        out.list(i2, "money: &[", &money, "],");
        out.list(i2, "buckets: &[", &buckets, "],");
        let created_at = t
            .columns
            .iter()
            .any(|c| c.name == "created_at" && c.pg == PgType::Timestamptz);
        out.line(i2, &format!("created_at: {created_at},"));
        out.line(
            i2,
            &format!("append_only: {},", model.invariants.append_only),
        );
        out.line(i1, "},");
    }
    out.line(0, "];");
    out
}

/// The `Codec` that puts the collection in `schema::REGISTRY` for the engines (backfill,
/// verify, parity tests), and its rows' side of it.
fn registry_impls(model: &Model, doc_ty: &str, tables: &[&Table]) -> Formatted {
    let (i1, i2, i3, i4) = (INDENT, 2 * INDENT, 3 * INDENT, 4 * INDENT);
    let root = field_ident(&tables[0].name);
    let mut out = Formatted::new();
    let method = |out: &mut Formatted, signature: &str, body: &str| {
        out.line(i1, &format!("{signature} {{"));
        out.line(i2, body);
        out.line(i1, "}");
    };
    out.doc(0, "The collection's entry in `schema::REGISTRY`.");
    out.line(0, "pub struct Codec;");
    out.line(0, "impl registry::Collection for Codec {");
    method(&mut out, "fn name(&self) -> &'static str", "COLLECTION");
    method(
        &mut out,
        "fn model(&self) -> &'static str",
        &format!("{:?}", model.name),
    );
    method(
        &mut out,
        "fn tables(&self) -> &'static [registry::Table]",
        "TABLES",
    );
    out.lines(
        "    fn transform(
        &self,
        doc: &RawDocument,
        mode: Mode,
    ) -> Result<(Box<dyn registry::Rows>, Context), TransformError> {
        let (rows, cx) = from_mongo(doc, mode)?;
        Ok((Box::new(rows), cx))
    }
    fn load(
        &self,
        client: &mut postgres::Client,
        id: Uuid,
    ) -> Result<Option<Box<dyn registry::Rows>>, postgres::Error> {
",
    );
    let (load, boxed) = (
        format!("{doc_ty}::load(client, id)?"),
        ".map(|rows| Box::new(rows) as Box<dyn registry::Rows>)",
    );
    // Broken after `Ok(` when too long: the chain would then not fit on one line either.
    if layout::fits(i2, &format!("Ok({load}{boxed})")) {
        out.line(i2, &format!("Ok({load}{boxed})"));
    } else {
        out.line(i2, "Ok(");
        out.line(i3, &load);
        out.line(i4, &format!("{boxed},"));
        out.line(i2, ")");
    }
    out.line(i1, "}");
    out.line(0, "}");

    out.line(0, &format!("impl registry::Rows for {doc_ty} {{"));
    method(&mut out, "fn id(&self) -> Uuid", &format!("self.{root}.id"));
    method(
        &mut out,
        "fn legacy_object_id(&self) -> &str",
        &format!("&self.{root}.legacy_object_id"),
    );
    out.lines(
        "    fn each_row<'r>(
        &'r self,
        table: usize,
        sink: &mut registry::RowSink<'r, '_>,
    ) -> Result<(), postgres::Error> {
        match table {
",
    );
    out.line(i3, &format!("0 => sink(&self.{root}.params()),"));
    for (i, t) in tables.iter().enumerate().skip(1) {
        out.line(i3, &format!("{i} => {{"));
        out.line(i4, &format!("for r in &self.{} {{", field_ident(&t.name)));
        out.line(i4 + INDENT, "sink(&r.params())?;");
        out.line(i4, "}");
        out.line(i4, "Ok(())");
        out.line(i3, "}");
    }
    out.line(i3, "_ => Ok(()),");
    out.line(i2, "}");
    out.line(i1, "}");
    let arms = |out: &mut Formatted,
                signature: &str,
                first: String,
                each: &dyn Fn(&str) -> String,
                last: &str| {
        out.line(i1, &format!("{signature} {{"));
        out.line(i2, "match table {");
        out.line(i3, &format!("0 => {first},"));
        for (i, t) in tables.iter().enumerate().skip(1) {
            out.line(i3, &format!("{i} => {},", each(&field_ident(&t.name))));
        }
        out.line(i3, &format!("_ => {last},"));
        out.line(i2, "}");
        out.line(i1, "}");
    };
    arms(
        &mut out,
        "fn row_count(&self, table: usize) -> usize",
        "1".into(),
        &|f| format!("self.{f}.len()"),
        "0",
    );
    arms(
        &mut out,
        "fn has_row(&self, table: usize, id: Uuid) -> bool",
        format!("self.{root}.id == id"),
        &|f| format!("self.{f}.iter().any(|r| r.id == id)"),
        "false",
    );
    method(
        &mut out,
        "fn to_mongo(&self) -> Result<Document, TransformError>",
        "to_mongo(self)",
    );
    out.line(0, "}");
    out
}

/// `insert` (parents first) and `load` (by the root's id) of a document's rows.
fn database_fns(doc_ty: &str, tables: &[&Table], out: &mut Source) {
    let mut inserts = Vec::new();
    let mut loads = Vec::new();
    for (i, t) in tables.iter().enumerate() {
        let (f, row) = (field_ident(&t.name), row_ident(&t.name));
        let insert = |params: &str| {
            let (statement, params) = (format!("{row}::INSERT"), params.to_string());
            Stmt::call("", "client", "execute", &[&statement, &params], "?;")
        };
        if i == 0 {
            inserts.push(insert(&format!("&self.{f}.params()")));
            loads.push(Stmt::code(format!(
                "let Some(first) = client.query_opt(&format!(\"{{}} WHERE id = $1\", {row}::SELECT), &[&id])? else {{ return Ok(None); }};"
            )));
            loads.push(Stmt::code(format!("let {f} = {row}::from_row(&first)?;")));
            continue;
        }
        inserts.push(Stmt::block(
            format!("for r in &self.{f}"),
            vec![insert("&r.params()")],
        ));
        let p = t.parent.as_ref().expect("child tables have a parent");
        let parent_ids = format!(
            "{}.iter().map(|r| r.id).collect::<Vec<Uuid>>()",
            field_ident(&p.table)
        );
        let parent_ids = if tables[0].name == p.table {
            format!("vec![{}.id]", field_ident(&p.table))
        } else {
            parent_ids
        };
        let order = if p.one_to_one {
            crate::ident::quote_ident(&p.column)
        } else {
            format!("{}, ordinal", crate::ident::quote_ident(&p.column))
        };
        // The format string, as a Rust literal: the quoted column may hold `"`, `\\`, `{`, `}`.
        let where_clause = format!(
            " WHERE {} = ANY($1) ORDER BY {order}",
            crate::ident::quote_ident(&p.column)
        );
        let format = format!("{{}}{}", where_clause.replace('{', "{{").replace('}', "}}"));
        loads.push(Stmt::code(format!(
            "let {f} = client.query(&format!({format:?}, {row}::SELECT), &[&{parent_ids}])?.iter().map({row}::from_row).collect::<Result<Vec<_>, _>>()?;",
        )));
    }
    inserts.push(Stmt::code("Ok(())"));
    let fields: Vec<String> = tables.iter().map(|t| field_ident(&t.name)).collect();
    loads.push(Stmt::code(format!(
        "Ok(Some(Self {{ {} }}))",
        fields.join(", ")
    )));
    out.line(0, &format!("impl {doc_ty} {{"));
    // The two signatures are the same in every model, as prettyplease prints them.
    out.lines(
        "    /// Inserts the rows, parents before children.
    pub fn insert(
        &self,
        client: &mut impl postgres::GenericClient,
    ) -> Result<(), postgres::Error> {
",
    );
    code::write_all(&inserts, 2 * INDENT, out);
    out.lines(
        "    }
    /// Reads the rows of the document whose root row has `id`; `None` when there is none.
    pub fn load(
        client: &mut impl postgres::GenericClient,
        id: Uuid,
    ) -> Result<Option<Self>, postgres::Error> {
",
    );
    code::write_all(&loads, 2 * INDENT, out);
    out.lines("    }\n}\n");
}
