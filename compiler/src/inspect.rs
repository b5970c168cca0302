//! IR and plan in, the `schemac inspect --json` document out: per model its tables, and per Mongo
//! path how and where it is stored. The shape is documented in docs/inspect.md; tools rely on it.

use serde::Serialize;

use crate::ir::{Catalogue, Column, Field, Model, Storage};
use crate::parse::syntax::VersionKey;
use crate::plan::{self, Schema, Table};

/// The version tag of the document's shape; bumped on any incompatible change.
pub const FORMAT: &str = "schemac-inspect/1";

/// The whole document.
#[derive(Debug, Serialize)]
pub struct Inspect<'a> {
    /// [`FORMAT`].
    pub format: &'static str,
    /// Every enum type.
    pub enums: Vec<InspectEnum<'a>>,
    /// Every model, in catalogue order.
    pub models: Vec<InspectModel<'a>>,
}

/// An enum type.
#[derive(Debug, Serialize)]
pub struct InspectEnum<'a> {
    /// Type name.
    pub name: &'a str,
    /// Values in order.
    pub values: &'a [String],
}

/// One model.
#[derive(Debug, Serialize)]
pub struct InspectModel<'a> {
    /// Model name.
    pub model: &'a str,
    /// Mongo collection.
    pub collection: &'a str,
    /// Root table.
    pub table: &'a str,
    /// Migration phase.
    pub phase: u8,
    /// All its tables, root first, with their columns.
    pub tables: Vec<&'a Table>,
    /// Every Mongo path, depth first in document order.
    pub fields: Vec<InspectField>,
}

/// One Mongo path.
#[derive(Debug, Serialize)]
pub struct InspectField {
    /// Dotted path from the document root.
    pub mongo_path: String,
    /// Accepted BSON types.
    pub bson: Vec<String>,
    /// `id`, `column`, `polymorphic`, `flattened`, `child_table`, `jsonb`, `in_jsonb`, `skipped`,
    /// `version_key`, `timestamp`.
    pub storage: &'static str,
    /// The table holding it (the child table itself for `child_table`; none when skipped).
    pub table: Option<String>,
    /// Its columns (none for `flattened` and `child_table`, whose subfields are listed).
    pub columns: Vec<InspectColumn>,
    /// Why it is skipped or lossy.
    pub reason: Option<String>,
}

/// A column of a field.
#[derive(Debug, Serialize)]
pub struct InspectColumn {
    /// Name.
    pub name: String,
    /// Postgres type.
    #[serde(rename = "type")]
    pub pg_type: String,
    /// NULL allowed.
    pub nullable: bool,
}

/// Builds the document.
pub fn inspect(cat: &Catalogue) -> String {
    let schema = plan::plan(cat);
    let doc = build(cat, &schema);
    serde_json::to_string_pretty(&doc).expect("inspect output always serializes") + "\n"
}

fn build<'a>(cat: &'a Catalogue, schema: &'a Schema) -> Inspect<'a> {
    Inspect {
        format: FORMAT,
        enums: cat
            .enums
            .iter()
            .map(|e| InspectEnum {
                name: &e.name,
                values: &e.values,
            })
            .collect(),
        models: cat.models.iter().map(|m| model(m, schema)).collect(),
    }
}

fn col(c: &Column) -> InspectColumn {
    InspectColumn {
        name: c.name.clone(),
        pg_type: c.pg.to_string(),
        nullable: c.nullable,
    }
}

fn model<'a>(m: &'a Model, schema: &'a Schema) -> InspectModel<'a> {
    let sys = |path: &str, bson: &str, storage, columns: Vec<InspectColumn>| InspectField {
        mongo_path: path.into(),
        bson: vec![bson.into()],
        storage,
        table: Some(m.table.clone()),
        columns,
        reason: None,
    };
    let c = |name: &str, t: &str, nullable| InspectColumn {
        name: name.into(),
        pg_type: t.into(),
        nullable,
    };
    let mut fields = vec![sys(
        "_id",
        "objectId",
        "id",
        vec![c("id", "uuid", false), c("legacy_object_id", "text", false)],
    )];
    walk(&m.fields, &m.table, &mut fields);
    if m.timestamps.created_at {
        fields.push(sys(
            "createdAt",
            "date",
            "timestamp",
            vec![c("created_at", "timestamptz", false)],
        ));
    }
    if m.timestamps.updated_at {
        fields.push(sys(
            "updatedAt",
            "date",
            "timestamp",
            vec![c("updated_at", "timestamptz", false)],
        ));
    }
    match m.version_key {
        VersionKey::Keep => fields.push(sys(
            "__v",
            "int32",
            "version_key",
            vec![c("mongo_version", "int4", true)],
        )),
        VersionKey::Drop => fields.push(InspectField {
            reason: Some("version_key: drop".into()),
            table: None,
            ..sys("__v", "int32", "skipped", Vec::new())
        }),
        VersionKey::None => {}
    }
    InspectModel {
        model: &m.name,
        collection: &m.collection,
        table: &m.table,
        phase: m.phase,
        tables: schema.tables.iter().filter(|t| t.model == m.name).collect(),
        fields,
    }
}

fn walk(fields: &[Field], table: &str, out: &mut Vec<InspectField>) {
    for f in fields {
        let mut entry = InspectField {
            mongo_path: f.mongo_path.clone(),
            bson: f.bson.iter().map(ToString::to_string).collect(),
            storage: "column",
            table: Some(table.to_string()),
            columns: Vec::new(),
            reason: f.lossy.clone(),
        };
        match &f.storage {
            Storage::Column(c) => {
                entry.table = Some(c.table.clone());
                entry.columns.push(col(c));
                out.push(entry);
            }
            Storage::Polymorphic(p) => {
                entry.storage = "polymorphic";
                entry.columns = vec![col(&p.kind), col(&p.id), col(&p.external_ref)];
                out.push(entry);
            }
            Storage::Flattened { fields } => {
                entry.storage = "flattened";
                out.push(entry);
                walk(fields, table, out);
            }
            Storage::ChildTable(child) => {
                entry.storage = "child_table";
                entry.table = Some(child.name.clone());
                out.push(entry);
                walk(&child.fields, &child.name, out);
            }
            Storage::Jsonb { column, shape } => {
                entry.storage = "jsonb";
                entry.columns.push(col(column));
                out.push(entry);
                in_jsonb(shape, column, out);
            }
            Storage::InJsonb => {}
            Storage::Skipped { reason } => {
                entry.storage = "skipped";
                entry.table = None;
                entry.reason = Some(reason.clone());
                out.push(entry);
            }
        }
    }
}

fn in_jsonb(shape: &[Field], column: &Column, out: &mut Vec<InspectField>) {
    for f in shape {
        out.push(InspectField {
            mongo_path: f.mongo_path.clone(),
            bson: f.bson.iter().map(ToString::to_string).collect(),
            storage: if matches!(f.storage, Storage::Skipped { .. }) {
                "skipped"
            } else {
                "in_jsonb"
            },
            table: Some(column.table.clone()),
            columns: vec![col(column)],
            reason: match &f.storage {
                Storage::Skipped { reason } => Some(reason.clone()),
                _ => f.lossy.clone(),
            },
        });
    }
}
