//! IR in, relational plan out: every table with its columns in order, each column naming the Mongo
//! path it comes from. The DDL emitter and `inspect` read this; validation checks its names.

use serde::Serialize;

use crate::diag::Span;
use crate::ir::{Catalogue, ChildTable, Column, Field, Model, Reference, Storage};
use crate::parse::syntax::VersionKey;
use crate::types::PgType;

/// All tables of the catalogue, parents before their children, models in catalogue order.
#[derive(Debug, Clone, Serialize)]
pub struct Schema {
    /// The tables.
    pub tables: Vec<Table>,
}

/// One table.
#[derive(Debug, Clone, Serialize)]
pub struct Table {
    /// Table name.
    pub name: String,
    /// The model it belongs to.
    pub model: String,
    /// The Mongo collection (root) or the path of the embedded object or array (child).
    pub source: String,
    /// The table's previous name (root tables), for RENAME.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
    /// The parent table, for child tables.
    pub parent: Option<Parent>,
    /// Columns in order.
    pub columns: Vec<PlanColumn>,
    /// The model's description (roots) or the field's (children).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The polymorphic references stored in this table.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub polymorphic: Vec<PolymorphicRef>,
    /// Where the table was declared.
    #[serde(skip)]
    pub span: Span,
    /// The YAML path of the declaration (`table` for roots, the field's path for children).
    #[serde(skip)]
    pub yaml_path: String,
}

/// A child table's link to its parent.
#[derive(Debug, Clone, Serialize)]
pub struct Parent {
    /// Parent table.
    pub table: String,
    /// FK column in the child.
    pub column: String,
    /// One child row per parent row (an embedded object) rather than many (an array).
    pub one_to_one: bool,
}

/// The plan's three columns of one polymorphic (ObjectId-or-string) reference.
#[derive(Debug, Clone, Serialize)]
pub struct PolymorphicRef {
    /// The Mongo path.
    pub source: String,
    /// `<base>_ref_kind`.
    pub kind: String,
    /// `<base>_id`.
    pub id: String,
    /// `<base>_external_ref`.
    pub external_ref: String,
    /// Allowed kinds (`entity`, `template`).
    pub kinds: Vec<String>,
    /// The reference may be absent (all three NULL).
    pub optional: bool,
    /// Index the id and external_ref columns.
    pub index: bool,
}

/// One column and its provenance.
#[derive(Debug, Clone, Serialize)]
pub struct PlanColumn {
    /// Column name.
    pub name: String,
    /// Type.
    pub pg: PgType,
    /// NULL allowed.
    pub nullable: bool,
    /// SQL default.
    pub default_sql: Option<String>,
    /// Where the value comes from: a Mongo path, or a note for compiler-made columns.
    pub source: String,
    /// A CHECK expression.
    pub check: Option<String>,
    /// The field's description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What a uuid column points to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<Reference>,
    /// A unique index on the column alone.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unique: bool,
    /// A plain index on the column alone.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub index: bool,
    /// The column's own index skips NULLs.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sparse: bool,
    /// The column's previous name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
    /// Where the column was declared (the field, or the model for compiler-made columns).
    #[serde(skip)]
    pub span: Span,
    /// The YAML path of the declaration (`fields.quote.fields.rate`, `timestamps`).
    #[serde(skip)]
    pub yaml_path: String,
    /// Made by the compiler (`id`, `created_at`...) rather than declared by a field.
    #[serde(skip)]
    pub system: bool,
}

/// Builds the relational plan of a validated catalogue.
pub fn plan(cat: &Catalogue) -> Schema {
    let mut tables = Vec::new();
    for model in &cat.models {
        model_tables(model, &mut tables);
    }
    Schema { tables }
}

fn system(
    name: &str,
    pg: PgType,
    nullable: bool,
    default_sql: Option<&str>,
    source: &str,
    span: &Span,
) -> PlanColumn {
    PlanColumn {
        name: name.into(),
        pg,
        nullable,
        default_sql: default_sql.map(str::to_string),
        source: source.into(),
        check: None,
        description: None,
        reference: None,
        unique: false,
        index: false,
        sparse: false,
        renamed_from: None,
        span: span.clone(),
        yaml_path: String::new(),
        system: true,
    }
}

fn model_tables(model: &Model, out: &mut Vec<Table>) {
    let span = &model.span;
    let mut columns = vec![
        system(
            "id",
            PgType::Uuid,
            false,
            None,
            "_id (uuid derived from the ObjectId)",
            span,
        ),
        system(
            "legacy_object_id",
            PgType::Text,
            false,
            None,
            "_id (24 hex digits)",
            span,
        ),
    ];
    let mut children = Vec::new();
    let mut polymorphic = Vec::new();
    collect(&model.fields, &mut columns, &mut polymorphic, &mut children);
    if model.timestamps.created_at {
        columns.push(system(
            "created_at",
            PgType::Timestamptz,
            false,
            Some("now()"),
            "createdAt (Mongoose timestamps)",
            span,
        ));
    }
    if model.timestamps.updated_at {
        columns.push(system(
            "updated_at",
            PgType::Timestamptz,
            false,
            Some("now()"),
            "updatedAt (Mongoose timestamps)",
            span,
        ));
    }
    if model.version_key == VersionKey::Keep {
        columns.push(system(
            "mongo_version",
            PgType::Int4,
            true,
            None,
            "__v (Mongoose version key)",
            span,
        ));
    }
    out.push(Table {
        name: model.table.clone(),
        model: model.name.clone(),
        source: model.collection.clone(),
        renamed_from: model.renamed_from.clone(),
        parent: None,
        columns,
        description: model.description.clone(),
        polymorphic,
        span: span.clone(),
        yaml_path: "table".into(),
    });
    for (child, path, span, yaml_path, description) in children {
        child_tables(model, child, path, span, yaml_path, description, out);
    }
}

fn child_tables(
    model: &Model,
    child: &ChildTable,
    path: String,
    span: Span,
    yaml_path: String,
    description: Option<String>,
    out: &mut Vec<Table>,
) {
    let mut columns = vec![
        system(
            "id",
            PgType::Uuid,
            false,
            None,
            &if child.item_id {
                format!("{path}._id (uuid derived from the item's ObjectId)")
            } else {
                format!("(uuid derived from the parent row and the position in {path})")
            },
            &span,
        ),
        system(
            &child.parent_column,
            PgType::Uuid,
            false,
            None,
            &format!("(parent row in {})", child.parent_table),
            &span,
        ),
    ];
    if !child.one_to_one {
        columns.push(system(
            "ordinal",
            PgType::Int4,
            false,
            None,
            &format!("(position in {path})"),
            &span,
        ));
    }
    if child.item_id {
        columns.push(system(
            "legacy_object_id",
            PgType::Text,
            false,
            None,
            &format!("{path}._id (24 hex digits)"),
            &span,
        ));
    }
    let mut grandchildren = Vec::new();
    let mut polymorphic = Vec::new();
    collect(
        &child.fields,
        &mut columns,
        &mut polymorphic,
        &mut grandchildren,
    );
    out.push(Table {
        name: child.name.clone(),
        model: model.name.clone(),
        source: path,
        renamed_from: None,
        parent: Some(Parent {
            table: child.parent_table.clone(),
            column: child.parent_column.clone(),
            one_to_one: child.one_to_one,
        }),
        columns,
        description,
        polymorphic,
        span,
        yaml_path,
    });
    for (g, gpath, gspan, gyaml, gdesc) in grandchildren {
        child_tables(model, g, gpath, gspan, gyaml, gdesc, out);
    }
}

fn column(c: &Column, source: &str, f: &Field) -> PlanColumn {
    PlanColumn {
        name: c.name.clone(),
        pg: c.pg.clone(),
        nullable: c.nullable,
        default_sql: c.default_sql.clone(),
        source: source.to_string(),
        check: c.check.clone(),
        description: f.description.clone(),
        reference: c.reference.clone(),
        unique: c.unique,
        index: c.index,
        sparse: c.sparse,
        renamed_from: c.renamed_from.clone(),
        span: f.span.clone(),
        yaml_path: f.yaml_path.clone(),
        system: false,
    }
}

/// Child tables met while collecting columns: the table, its Mongo path, the field's span, YAML
/// path and description.
type Children<'a> = Vec<(&'a ChildTable, String, Span, String, Option<String>)>;

fn collect<'a>(
    fields: &'a [Field],
    columns: &mut Vec<PlanColumn>,
    polymorphic: &mut Vec<PolymorphicRef>,
    children: &mut Children<'a>,
) {
    for f in fields {
        match &f.storage {
            Storage::Column(c) | Storage::Jsonb { column: c, .. } => {
                columns.push(column(c, &f.mongo_path, f))
            }
            Storage::Polymorphic(p) => {
                polymorphic.push(PolymorphicRef {
                    source: f.mongo_path.clone(),
                    kind: p.kind.name.clone(),
                    id: p.id.name.clone(),
                    external_ref: p.external_ref.name.clone(),
                    kinds: p.kinds.clone(),
                    optional: p.kind.nullable,
                    index: p.id.index,
                });
                columns.push(column(
                    &p.kind,
                    &format!("{} (kind: ObjectId or string)", f.mongo_path),
                    f,
                ));
                columns.push(column(
                    &p.id,
                    &format!("{} (when an ObjectId)", f.mongo_path),
                    f,
                ));
                columns.push(column(
                    &p.external_ref,
                    &format!("{} (when a string)", f.mongo_path),
                    f,
                ));
            }
            Storage::Flattened { fields } => collect(fields, columns, polymorphic, children),
            Storage::ChildTable(child) => children.push((
                child,
                f.mongo_path.clone(),
                f.span.clone(),
                f.yaml_path.clone(),
                f.description.clone(),
            )),
            Storage::InJsonb | Storage::Skipped { .. } => {}
        }
    }
}
