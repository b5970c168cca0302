//! Support library for the Rust code schemac generates: BSON fields in, PostgreSQL values out,
//! and back, with no silent loss.
//!
//! - [`numeric`]: [`Numeric`], an exact decimal for `numeric(p,s)` columns (Decimal128, text,
//!   `f64`, PostgreSQL binary format).
//! - [`ids`]: ObjectId to UUIDv7 and back, and stable UUIDs for child rows.
//! - [`bsonval`]: readers from [`bson::RawBsonRef`] to column values.
//! - [`error`]: [`TransformError`], the per-field error with collection, `_id` and path.
//!
//! The crates that appear in this API are re-exported so generated code needs only this one.
#![deny(missing_docs)]

pub mod bsonval;
pub mod error;
pub mod ids;
pub mod numeric;

pub use error::{TransformError, TransformErrorKind};
pub use numeric::{Numeric, NumericError};

pub use bson;
pub use chrono;
pub use postgres_types;
pub use uuid;
