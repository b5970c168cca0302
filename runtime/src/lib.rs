//! Support library for the Rust code schemac generates: BSON fields in, PostgreSQL values out,
//! and back, with no silent loss.
//!
//! - [`numeric`]: [`Numeric`], an exact decimal for `numeric(p,s)` columns (Decimal128, text,
//!   `f64`, PostgreSQL binary format).
//! - [`ids`]: ObjectId to UUIDv7 and back, and stable UUIDs for child rows.
//! - [`bsonval`]: readers from [`bson::RawBsonRef`] to column values.
//! - [`dump`]: streaming readers of mongodump and mongoexport files, one document at a time.
//! - [`error`]: [`TransformError`], the per-field error with collection, `_id` and path.
//! - [`transform`]: the per-document context of generated transforms, references, jsonb.
//! - [`registry`]: what each generated collection offers the backfill, verify and parity engines.
//! - [`pg_enum!`]: `ToSql`/`FromSql` for a generated enum as its PostgreSQL enum type.
//!
//! The crates that appear in this API are re-exported so generated code needs only this one.
#![deny(missing_docs)]
// A TransformError (collection, _id, path, kind) is 128 bytes; it is returned once per failed
// document, so boxing it would trade clarity for nothing measurable. Revisit with the transform
// benchmark if the Ok path shows the copy.
#![allow(clippy::result_large_err)]

pub mod bsonval;
pub mod dump;
pub mod error;
pub mod ids;
pub mod json;
pub mod numeric;
mod pg_enum;
pub mod raw;
pub mod registry;
pub mod transform;

pub use error::{TransformError, TransformErrorKind};
pub use json::Json;
pub use numeric::{Numeric, NumericError};

pub use bson;
pub use bytes;
pub use chrono;
pub use postgres;
pub use postgres_types;
pub use serde_json;
pub use uuid;
