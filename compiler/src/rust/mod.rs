//! Catalogue in, the Rust of the `escrow-schema` crate out: per Postgres enum a Rust enum, per
//! table a row struct, per collection a struct holding its rows with `from_mongo` and
//! `to_mongo`. Source is built as text, parsed by syn and printed by prettyplease, so it is
//! formatted and byte-for-byte deterministic. Files go under `src/schema/`, each ending with a
//! stamp line that lets the CLI skip formatting a file whose source did not change.

mod format;
mod names;
mod transform;

use crate::ir::{Catalogue, Model};
use crate::plan::{self, PlanColumn, Schema, Table};
use crate::types::PgType;
use format::{format_source, source_key, stamp, stamped};

pub use crate::pool::Threads;
pub use names::{field_ident, type_ident};

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
    let mut paths = vec![
        "src/schema/mod.rs".to_string(),
        "src/schema/enums.rs".to_string(),
    ];
    paths.extend(
        cat.models
            .iter()
            .map(|model| format!("src/schema/{}.rs", module_name(model))),
    );
    let source = |i: usize| match i {
        0 => mod_rs(cat),
        1 => enums_rs(cat),
        _ => model_rs(cat, &cat.models[i - 2], &schema),
    };
    let indices: Vec<usize> = (0..paths.len()).collect();
    let made: Vec<Made> = crate::pool::map(threads, &indices, |&i| {
        let source = source(i);
        let key = source_key(&source);
        match committed(&paths[i]).filter(|text| stamped(text, &key)) {
            Some(text) => Made::Reused(text),
            None => Made::ToFormat { source, key },
        }
    });
    let mut todo: Vec<(usize, &str, &str)> = made
        .iter()
        .enumerate()
        .filter_map(|(i, made)| match made {
            Made::ToFormat { source, key } => Some((i, source.as_str(), key.as_str())),
            Made::Reused(_) => None,
        })
        .collect();
    todo.sort_by_key(|(_, source, _)| std::cmp::Reverse(source.len()));
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

/// A generated Rust file before formatting: its committed text, reused as it is, or the source
/// made now with its stamp key.
enum Made {
    Reused(String),
    ToFormat { source: String, key: String },
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
            .find(|(path, _)| path == &format!("src/schema/{name}.rs"))
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

/// The module of a model: its snake_case name.
pub fn module_name(model: &Model) -> String {
    crate::ident::model_snake(&model.name)
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
            m.collection,
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

fn enums_rs(cat: &Catalogue) -> String {
    let mut s = format!(
        "{HEADER}\n//!\n//! The Postgres enum types, each with its labels in order.\n\n\
         #![allow(clippy::result_large_err)]\n\n\
         use schemac_runtime::TransformErrorKind;\n\n"
    );
    let mut enums: Vec<(String, Vec<String>)> = vec![(
        crate::desired::GAP_OPERATION.into(),
        ["insert", "update", "replace", "delete", "backfill"]
            .map(String::from)
            .to_vec(),
    )];
    enums.extend(cat.enums.iter().map(|e| (e.name.clone(), e.values.clone())));
    for (name, values) in &enums {
        s.push_str(&enum_rs(name, values));
    }
    s
}

fn enum_rs(name: &str, values: &[String]) -> String {
    let ty = type_ident(name);
    let variants = names::variants(values);
    let mut s = format!(
        "/// Postgres enum `{name}`.\n#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]\npub enum {ty} {{\n"
    );
    for (v, label) in variants.iter().zip(values) {
        s.push_str(&format!("    /// `{label}`.\n    {v},\n"));
    }
    s.push_str("}\n\n");
    let labels: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
    let as_str_arms: String = variants
        .iter()
        .zip(values)
        .map(|(v, l)| format!("{ty}::{v} => {l:?},"))
        .collect();
    let parse_arms: String = variants
        .iter()
        .zip(values)
        .map(|(v, l)| format!("{l:?} => Ok({ty}::{v}),"))
        .collect();
    s.push_str(&format!(
        "impl {ty} {{
    /// The labels, in Postgres order.
    pub const LABELS: &[&str] = &[{labels}];
    /// The label.
    pub fn as_str(self) -> &'static str {{ match self {{ {as_str_arms} }} }}
    /// The value of a label, or the error naming the labels.
    pub fn parse(label: &str) -> Result<{ty}, TransformErrorKind> {{
        match label {{
            {parse_arms}
            other => Err(TransformErrorKind::invalid_enum(other, Self::LABELS)),
        }}
    }}
}}

schemac_runtime::pg_enum!({ty}, {name:?});

",
        labels = labels.join(", ")
    ));
    s
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

/// The row struct of a table.
fn row_struct(t: &Table) -> String {
    let ty = row_ident(&t.name);
    let mut s = format!(
        "/// A row of `{}` (Mongo `{}`).\n#[derive(Debug, Clone, PartialEq)]\npub struct {ty} {{\n",
        t.name, t.source
    );
    for c in &t.columns {
        s.push_str(&format!(
            "    /// `{}` {}{}: {}.\n    pub {}: {},\n",
            c.name,
            c.pg,
            if c.nullable { "" } else { " NOT NULL" },
            c.source.replace('`', "'"),
            field_ident(&c.name),
            column_type(c)
        ));
    }
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
    let gets: Vec<String> = t
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{}: row.try_get({i})?,", field_ident(&c.name)))
        .collect();
    let params: Vec<String> = t
        .columns
        .iter()
        .map(|c| format!("&self.{}", field_ident(&c.name)))
        .collect();
    s.push_str(&format!(
        "}}\n\nimpl {ty} {{
    /// The table.
    pub const TABLE: &'static str = {table:?};
    /// Its columns, in the order of [`Self::params`].
    pub const COLUMNS: &'static [&'static str] = &[{cols}];
    /// The values, as Postgres parameters (INSERT or binary COPY).
    pub fn params(&self) -> [&(dyn ToSql + Sync); {n}] {{ [{params}] }}
    /// The INSERT of one row, parameters in [`Self::COLUMNS`] order.
    pub const INSERT: &'static str = {insert:?};
    /// The SELECT of [`Self::COLUMNS`]; add a WHERE clause.
    pub const SELECT: &'static str = {select:?};
    /// A row read with [`Self::SELECT`].
    pub fn from_row(row: &postgres::Row) -> Result<Self, postgres::Error> {{
        Ok(Self {{ {gets} }})
    }}
}}\n\n",
        table = t.name,
        cols = cols.join(", "),
        n = t.columns.len(),
        params = params.join(", "),
        gets = gets.join(" ")
    ));
    s
}

/// The row struct's name: `payments` -> `PaymentsRow`.
pub fn row_ident(table: &str) -> String {
    format!("{}Row", type_ident(table))
}

fn model_rs(cat: &Catalogue, model: &Model, schema: &Schema) -> String {
    let tables: Vec<&Table> = schema
        .tables
        .iter()
        .filter(|t| t.model == model.name)
        .collect();
    let mut s = format!(
        "{HEADER}\n//!\n//! Mongo collection `{}` (model {}) and its tables: {}.\n\n\
         #![allow(unused_imports, clippy::result_large_err)]\n\n\
         use schemac_runtime::bson::{{self, Bson, Document, RawBsonRef, RawDocument}};\n\
         use schemac_runtime::chrono::{{DateTime, Utc}};\n\
         use schemac_runtime::postgres;\n         use schemac_runtime::postgres_types::ToSql;\n\
         use schemac_runtime::registry;\n\
         use schemac_runtime::transform::{{self, Context, Mode, is_null}};\n\
         use schemac_runtime::uuid::Uuid;\n\
         use schemac_runtime::{{Json, Numeric, TransformError, TransformErrorKind, bsonval, ids, raw}};\n\n\
         use super::enums;\n\n\
         /// The Mongo collection.\npub const COLLECTION: &str = {:?};\n\n",
        model.collection,
        model.name,
        tables
            .iter()
            .map(|t| format!("`{}`", t.name))
            .collect::<Vec<_>>()
            .join(", "),
        model.collection
    );
    for t in &tables {
        s.push_str(&row_struct(t));
    }
    let doc_ty = type_ident(&model.name);
    s.push_str(&format!(
        "/// One `{}` document as rows: the root row and the rows of each child table (all\n/// levels), children linked to their parent by id.\n#[derive(Debug, Clone, PartialEq)]\npub struct {doc_ty} {{\n",
        model.collection
    ));
    for (i, t) in tables.iter().enumerate() {
        if i == 0 {
            s.push_str(&format!(
                "    /// The `{}` row.\n    pub {}: {},\n",
                t.name,
                field_ident(&t.name),
                row_ident(&t.name)
            ));
        } else {
            s.push_str(&format!(
                "    /// The `{}` rows (Mongo `{}`).\n    pub {}: Vec<{}>,\n",
                t.name,
                t.source,
                field_ident(&t.name),
                row_ident(&t.name)
            ));
        }
    }
    s.push_str("}\n\n");
    s.push_str(&database_fns(&doc_ty, &tables));
    s.push_str(&registry_impls(cat, model, &doc_ty, &tables));
    s.push_str(&transform::functions(model, &tables));
    s
}

/// `TABLES` and the `Codec` that puts the collection in `schema::REGISTRY` for the engines
/// (backfill, verify, parity tests).
fn registry_impls(cat: &Catalogue, model: &Model, doc_ty: &str, tables: &[&Table]) -> String {
    let mut metas = String::new();
    for t in tables {
        let mut refs = String::new();
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
            refs.push_str(&format!(
                "registry::Reference {{ column: {:?}, mongo_path: {:?}, collection: {collection:?}, table: {table:?}, required: {}, polymorphic: {} }},",
                c.name,
                c.source,
                !c.nullable,
                t.polymorphic.iter().any(|p| p.id == c.name)
            ));
        }
        let names = |pick: &dyn Fn(&PlanColumn) -> bool| {
            t.columns
                .iter()
                .filter(|c| pick(c))
                .map(|c| format!("{:?}", c.name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let money = names(&|c| matches!(c.pg, PgType::Numeric(_)));
        let buckets = ["provider", "status"]
            .iter()
            .filter(|b| t.columns.iter().any(|c| c.name == **b))
            .map(|b| format!("{b:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        let created_at = t
            .columns
            .iter()
            .any(|c| c.name == "created_at" && c.pg == PgType::Timestamptz);
        metas.push_str(&format!(
            "registry::Table {{ name: {name:?}, columns: {row}::COLUMNS, parent: {parent}, references: &[{refs}], money: &[{money}], buckets: &[{buckets}], created_at: {created_at}, append_only: {append_only} }},",
            name = t.name,
            row = row_ident(&t.name),
            parent = t
                .parent
                .as_ref()
                .map_or("None".to_string(), |p| format!("Some({:?})", p.column)),
            append_only = model.invariants.append_only,
        ));
    }
    let mut each = String::new();
    let mut count = String::new();
    let mut has = String::new();
    for (i, t) in tables.iter().enumerate() {
        let f = field_ident(&t.name);
        if i == 0 {
            each.push_str(&format!("0 => sink(&self.{f}.params()),"));
            count.push_str("0 => 1,");
            has.push_str(&format!("0 => self.{f}.id == id,"));
        } else {
            has.push_str(&format!("{i} => self.{f}.iter().any(|r| r.id == id),"));
            each.push_str(&format!(
                "{i} => {{ for r in &self.{f} {{ sink(&r.params())?; }} Ok(()) }}"
            ));
            count.push_str(&format!("{i} => self.{f}.len(),"));
        }
    }
    let root = field_ident(&tables[0].name);
    format!(
        "/// The tables of the collection, root first, for the engines.
pub const TABLES: &[registry::Table] = &[{metas}];

/// The collection's entry in `schema::REGISTRY`.
pub struct Codec;

impl registry::Collection for Codec {{
    fn name(&self) -> &'static str {{ COLLECTION }}
    fn model(&self) -> &'static str {{ {model:?} }}
    fn tables(&self) -> &'static [registry::Table] {{ TABLES }}
    fn transform(&self, doc: &RawDocument, mode: Mode) -> Result<(Box<dyn registry::Rows>, Context), TransformError> {{
        let (rows, cx) = from_mongo(doc, mode)?;
        Ok((Box::new(rows), cx))
    }}
    fn load(&self, client: &mut postgres::Client, id: Uuid) -> Result<Option<Box<dyn registry::Rows>>, postgres::Error> {{
        Ok({doc_ty}::load(client, id)?.map(|rows| Box::new(rows) as Box<dyn registry::Rows>))
    }}
}}

impl registry::Rows for {doc_ty} {{
    fn id(&self) -> Uuid {{ self.{root}.id }}
    fn legacy_object_id(&self) -> &str {{ &self.{root}.legacy_object_id }}
    fn each_row<'r>(&'r self, table: usize, sink: &mut registry::RowSink<'r, '_>) -> Result<(), postgres::Error> {{
        match table {{ {each} _ => Ok(()) }}
    }}
    fn row_count(&self, table: usize) -> usize {{
        match table {{ {count} _ => 0 }}
    }}
    fn has_row(&self, table: usize, id: Uuid) -> bool {{
        match table {{ {has} _ => false }}
    }}
    fn to_mongo(&self) -> Result<Document, TransformError> {{ to_mongo(self) }}
}}\n\n",
        model = model.name,
    )
}

/// `insert` (parents first) and `load` (by the root's id) of a document's rows.
fn database_fns(doc_ty: &str, tables: &[&Table]) -> String {
    let mut inserts = String::new();
    let mut loads = String::new();
    for (i, t) in tables.iter().enumerate() {
        let (f, row) = (field_ident(&t.name), row_ident(&t.name));
        if i == 0 {
            inserts.push_str(&format!(
                "client.execute({row}::INSERT, &self.{f}.params())?;\n"
            ));
            loads.push_str(&format!(
                "let Some(first) = client.query_opt(&format!(\"{{}} WHERE id = $1\", {row}::SELECT), &[&id])? else {{ return Ok(None); }};\nlet {f} = {row}::from_row(&first)?;\n"
            ));
            continue;
        }
        inserts.push_str(&format!(
            "for r in &self.{f} {{ client.execute({row}::INSERT, &r.params())?; }}\n"
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
        loads.push_str(&format!(
            "let {f} = client.query(&format!(\"{{}} WHERE {col} = ANY($1) ORDER BY {order}\", {row}::SELECT), &[&{parent_ids}])?.iter().map({row}::from_row).collect::<Result<Vec<_>, _>>()?;\n",
            col = crate::ident::quote_ident(&p.column),
        ));
    }
    let fields: Vec<String> = tables.iter().map(|t| field_ident(&t.name)).collect();
    format!(
        "impl {doc_ty} {{
    /// Inserts the rows, parents before children.
    pub fn insert(&self, client: &mut impl postgres::GenericClient) -> Result<(), postgres::Error> {{
        {inserts}Ok(())
    }}

    /// Reads the rows of the document whose root row has `id`; `None` when there is none.
    pub fn load(client: &mut impl postgres::GenericClient, id: Uuid) -> Result<Option<Self>, postgres::Error> {{
        {loads}Ok(Some(Self {{ {fields} }}))
    }}
}}\n\n",
        fields = fields.join(", ")
    )
}
