//! The keys each mapping of a model file allows. The decoder rejects any other key, and a test
//! checks that the JSON Schema (`schemac schema`) lists exactly these.

/// Keys of a model file's root.
pub const MODEL: &[&str] = &[
    "model",
    "collection",
    "table",
    "renamed_from",
    "phase",
    "description",
    "timestamps",
    "version_key",
    "enums",
    "fields",
    "indexes",
    "ttl",
    "invariants",
];
/// Keys of a field declaration.
pub const FIELD: &[&str] = &[
    "bson",
    "pg",
    "column",
    "required",
    "nullable",
    "default",
    "pg_default",
    "unique",
    "index",
    "sparse",
    "enum",
    "ref",
    "polymorphic",
    "store",
    "prefix",
    "table",
    "parent_column",
    "item_id",
    "items",
    "fields",
    "renamed_from",
    "lossy",
    "skip",
    "description",
    "check",
];
/// Keys of `timestamps` in mapping form.
pub const TIMESTAMPS: &[&str] = &["created_at", "updated_at"];
/// Keys of `ref` in mapping form.
pub const REF: &[&str] = &["model", "fk", "on_delete", "discriminator"];
/// Keys of `polymorphic`.
pub const POLYMORPHIC: &[&str] = &["target", "kinds", "fk"];
/// Keys of `items` in mapping form.
pub const ITEMS: &[&str] = &["bson", "pg", "enum", "ref"];
/// Keys of an index.
pub const INDEX: &[&str] = &[
    "name",
    "fields",
    "expression",
    "unique",
    "sparse",
    "where",
    "using",
];
/// Keys of `ttl`.
pub const TTL: &[&str] = &["field", "after", "cadence", "batch"];
/// Keys of `invariants`.
pub const INVARIANTS: &[&str] = &["append_only", "one_primary", "slug", "timeline"];
/// Keys of `one_primary`.
pub const ONE_PRIMARY: &[&str] = &["flag", "per"];
/// Keys of `slug`.
pub const SLUG: &[&str] = &["field", "from"];
/// Keys of `timeline`.
pub const TIMELINE: &[&str] = &[
    "field",
    "status",
    "entry",
    "insert_entry",
    "stamps",
    "stamp_once",
];
