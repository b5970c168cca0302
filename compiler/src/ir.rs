//! The validated catalogue: plain data with every name resolved and derived (tables, columns,
//! Postgres types, nullability). Built by `validate`, read by `plan`, `inspect` and the emitters.

use serde::Serialize;

use crate::diag::Span;
use crate::parse::syntax::{DefaultValue, IndexMethod, OnDelete, VersionKey};
use crate::types::{BsonType, PgType};

/// The whole catalogue, models in file-name order.
#[derive(Debug, Clone, Serialize)]
pub struct Catalogue {
    /// The models.
    pub models: Vec<Model>,
    /// Every enum type, in declaration order (file order, then position).
    pub enums: Vec<EnumType>,
}

/// A Postgres enum type.
#[derive(Debug, Clone, Serialize)]
pub struct EnumType {
    /// Type name.
    pub name: String,
    /// Values, in Postgres order.
    pub values: Vec<String>,
    /// Where it was declared.
    pub span: Span,
}

/// One collection and its root table.
#[derive(Debug, Clone, Serialize)]
pub struct Model {
    /// Model name (`Payment`).
    pub name: String,
    /// Mongo collection.
    pub collection: String,
    /// Root table.
    pub table: String,
    /// The root table's previous name, for RENAME.
    pub renamed_from: Option<String>,
    /// Migration phase.
    pub phase: u8,
    /// Table comment.
    pub description: Option<String>,
    /// Whether createdAt / updatedAt are kept as `created_at` / `updated_at`.
    pub timestamps: Timestamps,
    /// What happens to `__v`.
    pub version_key: VersionKey,
    /// The declared fields, in document order.
    pub fields: Vec<Field>,
    /// Indexes declared at model level, resolved.
    pub indexes: Vec<Index>,
    /// TTL cleanup.
    pub ttl: Option<Ttl>,
    /// Hook-kept rules.
    pub invariants: Invariants,
    /// The file's root.
    pub span: Span,
}

/// Mongoose `timestamps`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Timestamps {
    /// `createdAt` -> `created_at`.
    pub created_at: bool,
    /// `updatedAt` -> `updated_at`.
    pub updated_at: bool,
}

/// A field and how it is stored.
#[derive(Debug, Clone, Serialize)]
pub struct Field {
    /// The Mongo key.
    pub name: String,
    /// The dotted path from the document root (`quote.rate`, `messages.attachments.url`).
    pub mongo_path: String,
    /// Accepted BSON types.
    pub bson: Vec<BsonType>,
    /// Mongoose `required`.
    pub required: bool,
    /// Mongoose `default`.
    #[serde(skip)]
    pub default: Option<DefaultValue>,
    /// Why the round trip is not exact, if it is not.
    pub lossy: Option<String>,
    /// Column comment.
    pub description: Option<String>,
    /// Storage.
    pub storage: Storage,
    /// Where it was declared.
    #[serde(skip)]
    pub span: Span,
    /// The YAML path of its declaration (`fields.quote.fields.rate`), for diagnostics.
    #[serde(skip)]
    pub yaml_path: String,
}

/// How a field is stored.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Storage {
    /// One column (scalars, references, scalar arrays as Postgres arrays, Mixed as jsonb).
    Column(Column),
    /// The plan's three columns for a Mixed ObjectId-or-string reference.
    Polymorphic(Box<Polymorphic>),
    /// Subfields as prefixed columns of the same table.
    Flattened {
        /// The subfields.
        fields: Vec<Field>,
    },
    /// A child table (1:1 object or 1:n array of subdocuments).
    ChildTable(ChildTable),
    /// One jsonb column; `shape` documents the known subfields.
    Jsonb {
        /// The column.
        column: Column,
        /// Declared subfields (stored inside the jsonb value).
        shape: Vec<Field>,
    },
    /// A subfield stored inside its parent's jsonb value.
    InJsonb,
    /// Not stored.
    Skipped {
        /// Why.
        reason: String,
    },
}

/// A column derived from a field.
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    /// Its table.
    pub table: String,
    /// Its name.
    pub name: String,
    /// Its type.
    pub pg: PgType,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// SQL default expression.
    pub default_sql: Option<String>,
    /// A unique index on it.
    pub unique: bool,
    /// A plain index on it.
    pub index: bool,
    /// Whether its own index skips NULLs (Mongo `sparse`).
    pub sparse: bool,
    /// Previous name, for RENAME.
    pub renamed_from: Option<String>,
    /// A CHECK expression over the table's columns.
    pub check: Option<String>,
    /// What it points to.
    pub reference: Option<Reference>,
}

/// A uuid column's target.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reference {
    /// A model's root table.
    Model {
        /// Target model.
        model: String,
        /// Its table.
        table: String,
        /// Whether a FK constraint is created.
        fk: bool,
        /// ON DELETE action.
        on_delete: OnDelete,
    },
    /// Mongoose refPath: the model is named by another field; no FK.
    Discriminator {
        /// The naming field's column.
        column: String,
    },
}

/// The three polymorphic columns.
#[derive(Debug, Clone, Serialize)]
pub struct Polymorphic {
    /// `<f>_ref_kind`.
    pub kind: Column,
    /// `<f>_id`.
    pub id: Column,
    /// `<f>_external_ref`.
    pub external_ref: Column,
    /// Allowed kinds.
    pub kinds: Vec<String>,
}

/// A child table.
#[derive(Debug, Clone, Serialize)]
pub struct ChildTable {
    /// Its name.
    pub name: String,
    /// The parent table.
    pub parent_table: String,
    /// The FK column to the parent.
    pub parent_column: String,
    /// 1:1 (an embedded object) rather than 1:n (an array).
    pub one_to_one: bool,
    /// Whether items carry `_id` (kept in `legacy_object_id`).
    pub item_id: bool,
    /// Whether the object itself (1:1) or the array may be absent.
    pub optional: bool,
    /// The subdocument's fields.
    pub fields: Vec<Field>,
}

/// A resolved index.
#[derive(Debug, Clone, Serialize)]
pub struct Index {
    /// Given name.
    pub name: Option<String>,
    /// The table.
    pub table: String,
    /// Columns, `true` when descending.
    pub columns: Vec<(String, bool)>,
    /// Expression (instead of columns).
    pub expression: Option<String>,
    /// UNIQUE.
    pub unique: bool,
    /// Partial predicate.
    pub where_sql: Option<String>,
    /// Access method.
    pub using: IndexMethod,
    /// Where declared.
    #[serde(skip)]
    pub span: Span,
}

/// TTL cleanup.
#[derive(Debug, Clone, Serialize)]
pub struct Ttl {
    /// The date column.
    pub column: String,
    /// Rows expire this long after the column's time; `None`: the column is the expiry time.
    pub after_secs: Option<u64>,
    /// How often the cleanup runs.
    pub cadence_secs: u64,
    /// Rows per DELETE.
    pub batch: i64,
}

/// Rules kept by Mongoose hooks, for the DDL stage.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Invariants {
    /// UPDATE, DELETE, TRUNCATE rejected.
    pub append_only: bool,
    /// At most one flagged row per owner.
    pub one_primary: Option<OnePrimary>,
    /// A slug derived from another column.
    pub slug: Option<Slug>,
    /// Status changes append to a timeline.
    pub timeline: Option<Timeline>,
}

/// `one_primary`.
#[derive(Debug, Clone, Serialize)]
pub struct OnePrimary {
    /// Boolean column.
    pub flag: String,
    /// Owner columns.
    pub per: Vec<String>,
}

/// `slug`.
#[derive(Debug, Clone, Serialize)]
pub struct Slug {
    /// Slug column.
    pub column: String,
    /// Source column.
    pub from: String,
}

/// `timeline`.
#[derive(Debug, Clone, Serialize)]
pub struct Timeline {
    /// The Mongo path of the timeline array.
    pub field: String,
    /// The status column.
    pub status: String,
    /// (status value, date column) pairs.
    pub stamps: Vec<(String, String)>,
    /// Date columns set only while NULL.
    pub stamp_once: Vec<String>,
    /// The entry appended on a status change.
    pub entry: Vec<(String, EntryValue)>,
    /// The entry appended on insert, if any.
    pub insert_entry: Vec<(String, EntryValue)>,
}

/// A value of a timeline entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryValue {
    /// `$status`: the new status.
    Status,
    /// `$now`: the time, as an ISO-8601 UTC string with milliseconds (JavaScript's toISOString).
    Now,
    /// A text.
    Text(String),
}

/// The builtin enum of polymorphic reference kinds (migration plan, rule 1).
pub const REF_KIND_ENUM: &str = "ref_kind";
/// Its values.
pub const REF_KINDS: &[&str] = &["entity", "template"];
