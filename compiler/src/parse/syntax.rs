//! The catalogue as written: typed, every value with its span and YAML path, nothing derived
//! yet. The decoder produces it; validation lowers it into the IR.

use std::sync::Arc;

use crate::diag::Span;
use crate::types::{BsonType, PgType};

/// A value with the place it was written and its YAML path.
#[derive(Debug, Clone)]
pub struct Sp<T> {
    /// The value.
    pub value: T,
    /// Where it stands.
    pub span: Span,
    /// Its YAML path (`fields.amount.bson`).
    pub path: String,
}

/// One model file.
#[derive(Debug, Clone)]
pub struct ModelDecl {
    /// The file.
    pub file: Arc<str>,
    /// The root mapping.
    pub span: Span,
    /// `model`.
    pub model: Sp<String>,
    /// `collection`.
    pub collection: Sp<String>,
    /// `table`.
    pub table: Option<Sp<String>>,
    /// `renamed_from`: the root table's previous name.
    pub renamed_from: Option<Sp<String>>,
    /// `phase`.
    pub phase: Option<Sp<i64>>,
    /// `description`.
    pub description: Option<String>,
    /// `timestamps`: (createdAt, updatedAt).
    pub timestamps: (bool, bool),
    /// `version_key`.
    pub version_key: VersionKey,
    /// `enums`.
    pub enums: Vec<EnumDecl>,
    /// `fields`.
    pub fields: Vec<FieldDecl>,
    /// `indexes`.
    pub indexes: Vec<IndexDecl>,
    /// `ttl`.
    pub ttl: Option<TtlDecl>,
    /// `invariants`.
    pub invariants: InvariantsDecl,
}

/// What happens to Mongoose's `__v`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionKey {
    /// Stored in `mongo_version int4`.
    Keep,
    /// Present in documents, not stored (lossy).
    Drop,
    /// Documents have no `__v`.
    None,
}

/// A named enum.
#[derive(Debug, Clone)]
pub struct EnumDecl {
    /// The Postgres type name.
    pub name: Sp<String>,
    /// Its values, in order.
    pub values: Vec<Sp<String>>,
}

/// How an object or array is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// Prefixed columns in the parent table.
    Flatten,
    /// A child table (1:1 for objects, 1:n for arrays).
    Table,
    /// One jsonb column.
    Jsonb,
    /// A Postgres array column.
    Array,
}

impl Store {
    /// The catalogue spellings.
    pub const ALL: &[(Store, &str)] = &[
        (Store::Flatten, "flatten"),
        (Store::Table, "table"),
        (Store::Jsonb, "jsonb"),
        (Store::Array, "array"),
    ];
}

/// A Mongo default (`default:`).
#[derive(Debug, Clone, PartialEq)]
pub enum DefaultValue {
    /// `now`: `Date.now`.
    Now,
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A list of scalars (`[]`, `[buyer]`).
    List(Vec<DefaultValue>),
    /// An empty object `{}`.
    EmptyObject,
}

/// Where a field's enum comes from.
#[derive(Debug, Clone)]
pub enum EnumUse {
    /// `enum: name`.
    Named(Sp<String>),
    /// `enum: [a, b]`.
    Inline(Sp<Vec<Sp<String>>>),
}

/// `ref:`.
#[derive(Debug, Clone)]
pub enum RefDecl {
    /// A model, with options.
    Model {
        /// Target model.
        model: Sp<String>,
        /// Whether a foreign key is created.
        fk: bool,
        /// `on_delete`.
        on_delete: OnDelete,
    },
    /// `discriminator: field`: Mongoose `refPath`.
    Discriminator(Sp<String>),
}

/// A foreign key's ON DELETE action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDelete {
    /// Refuse to delete a referenced row.
    Restrict,
    /// Delete referencing rows.
    Cascade,
    /// Null the reference.
    SetNull,
}

/// `polymorphic:`.
#[derive(Debug, Clone)]
pub struct PolyDecl {
    /// The mapping.
    pub span: Span,
    /// Its YAML path.
    pub path: String,
    /// The model an 'entity' id points to.
    pub target: Option<Sp<String>>,
    /// The allowed kinds.
    pub kinds: Vec<Sp<String>>,
    /// Whether the id column gets a foreign key.
    pub fk: bool,
}

/// `items:` of a scalar array.
#[derive(Debug, Clone)]
pub struct ItemsDecl {
    /// Where.
    pub span: Span,
    /// YAML path.
    pub path: String,
    /// Element BSON types.
    pub bson: Vec<Sp<BsonType>>,
    /// Element Postgres type.
    pub pg: Option<Sp<PgType>>,
    /// Element enum.
    pub enum_use: Option<EnumUse>,
    /// Element reference.
    pub reference: Option<Sp<RefDecl>>,
}

/// One field declaration.
#[derive(Debug, Clone)]
pub struct FieldDecl {
    /// The Mongo field name (the mapping key).
    pub name: Sp<String>,
    /// The declaration's span (its value).
    pub span: Span,
    /// The declaration's YAML path.
    pub path: String,
    /// `bson` (one or more types).
    pub bson: Vec<Sp<BsonType>>,
    /// `pg`.
    pub pg: Option<Sp<PgType>>,
    /// `column`.
    pub column: Option<Sp<String>>,
    /// `required`.
    pub required: bool,
    /// `nullable`.
    pub nullable: Option<bool>,
    /// `default`.
    pub default: Option<Sp<DefaultValue>>,
    /// `pg_default`; `Some(None)` is an explicit `null` (no database default).
    pub pg_default: Option<Sp<Option<String>>>,
    /// `unique`.
    pub unique: bool,
    /// `index`.
    pub index: bool,
    /// `sparse`.
    pub sparse: bool,
    /// `enum`.
    pub enum_use: Option<EnumUse>,
    /// `ref`.
    pub reference: Option<Sp<RefDecl>>,
    /// `polymorphic`.
    pub polymorphic: Option<PolyDecl>,
    /// `store`.
    pub store: Option<Sp<Store>>,
    /// `prefix`.
    pub prefix: Option<Sp<String>>,
    /// `table`.
    pub table: Option<Sp<String>>,
    /// `parent_column`.
    pub parent_column: Option<Sp<String>>,
    /// `item_id`.
    pub item_id: Option<bool>,
    /// `items`.
    pub items: Option<ItemsDecl>,
    /// `fields`.
    pub fields: Option<Sp<Vec<FieldDecl>>>,
    /// `renamed_from`.
    pub renamed_from: Option<Sp<String>>,
    /// `lossy`.
    pub lossy: Option<String>,
    /// `skip`.
    pub skip: Option<Sp<String>>,
    /// `description`.
    pub description: Option<String>,
    /// `check`: a SQL boolean expression the column must satisfy (Mongoose `min`, `max`...).
    pub check: Option<Sp<String>>,
}

/// One entry of `indexes`.
#[derive(Debug, Clone)]
pub struct IndexDecl {
    /// Where.
    pub span: Span,
    /// YAML path.
    pub path: String,
    /// `name`.
    pub name: Option<Sp<String>>,
    /// `fields`: Mongo paths, `true` when descending.
    pub fields: Vec<Sp<(String, bool)>>,
    /// `expression`.
    pub expression: Option<Sp<String>>,
    /// `unique`.
    pub unique: bool,
    /// `sparse`.
    pub sparse: bool,
    /// `where`.
    pub where_sql: Option<Sp<String>>,
    /// `using`: the index method.
    pub using: Option<Sp<IndexMethod>>,
}

/// A Postgres index access method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IndexMethod {
    /// The default.
    Btree,
    /// Arrays and jsonb containment.
    Gin,
    /// Geometry and ranges.
    Gist,
    /// Equality only.
    Hash,
    /// Block ranges of ordered data.
    Brin,
}

/// `ttl`.
#[derive(Debug, Clone)]
pub struct TtlDecl {
    /// Where.
    pub span: Span,
    /// YAML path.
    pub path: String,
    /// The date field.
    pub field: Sp<String>,
    /// `after`, in seconds.
    pub after: Option<Sp<u64>>,
    /// `cadence`, in seconds.
    pub cadence: Sp<u64>,
    /// `batch`.
    pub batch: Option<Sp<i64>>,
}

/// `invariants`.
#[derive(Debug, Clone, Default)]
pub struct InvariantsDecl {
    /// `append_only: true`.
    pub append_only: Option<Span>,
    /// `one_primary`.
    pub one_primary: Option<OnePrimaryDecl>,
    /// `slug`.
    pub slug: Option<SlugDecl>,
    /// `timeline`.
    pub timeline: Option<TimelineDecl>,
}

/// `one_primary: { flag, per }`.
#[derive(Debug, Clone)]
pub struct OnePrimaryDecl {
    /// The boolean field.
    pub flag: Sp<String>,
    /// The owner fields.
    pub per: Vec<Sp<String>>,
}

/// `slug: { field, from }`.
#[derive(Debug, Clone)]
pub struct SlugDecl {
    /// The slug field.
    pub field: Sp<String>,
    /// The source field.
    pub from: Sp<String>,
}

/// `timeline: { field, status, stamps }`.
#[derive(Debug, Clone)]
pub struct TimelineDecl {
    /// The array that receives entries.
    pub field: Sp<String>,
    /// The status field.
    pub status: Sp<String>,
    /// Status value -> date field set when the status becomes that value.
    pub stamps: Vec<(Sp<String>, Sp<String>)>,
    /// Date fields set only while unset.
    pub stamp_once: Vec<Sp<String>>,
    /// The entry appended on a status change: key -> `$status`, `$now` or a literal.
    pub entry: Vec<(Sp<String>, Sp<String>)>,
    /// The entry appended when a document is created, if any.
    pub insert_entry: Vec<(Sp<String>, Sp<String>)>,
}
