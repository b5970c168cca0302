//! The error a generated transform reports for one field of one document: where (collection,
//! `_id`, Mongo path) and what went wrong.

use std::fmt;

use bson::{RawBsonRef, RawDocument};
use serde::Serialize;

/// A field of a document that could not be moved between MongoDB and PostgreSQL.
///
/// Displays as `payments 650f1c2e9d1b2a3c4d5e6f70: field quote.rate: expected decimal, found
/// string "abc"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}{kind}", Location(self))]
pub struct TransformError {
    /// The MongoDB collection.
    pub collection: String,
    /// The document's `_id`: hex for an ObjectId, else a short Extended-JSON-like rendering
    /// (see [`describe_id`]); `None` when the document has no readable `_id`.
    pub id: Option<String>,
    /// Mongo dotted path with array indexes, e.g. `messages.3.attachments.0.url`; empty for the
    /// document as a whole.
    pub path: String,
    /// What went wrong.
    pub kind: TransformErrorKind,
}

impl TransformError {
    /// An error at `path` of document `id` in `collection`.
    pub fn new(
        collection: impl Into<String>,
        id: Option<String>,
        path: impl Into<String>,
        kind: TransformErrorKind,
    ) -> TransformError {
        TransformError {
            collection: collection.into(),
            id,
            path: path.into(),
            kind,
        }
    }

    /// The error with the `_id` of `doc` when it has none yet: a transform's context learns
    /// the id when it reads `_id`, so an error met before (the `_id` is not the first key)
    /// is located here, on the way out.
    pub fn locate(mut self, doc: &RawDocument) -> TransformError {
        if self.id.is_none() {
            self.id = doc.get("_id").ok().flatten().map(describe_id);
        }
        self
    }
}

/// Writes `collection id: field path: ` (parts that are absent are left out).
struct Location<'a>(&'a TransformError);

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let error = self.0;
        f.write_str(&error.collection)?;
        if let Some(id) = &error.id {
            write!(f, " {id}")?;
        }
        f.write_str(": ")?;
        if !error.path.is_empty() {
            write!(f, "field {}: ", error.path)?;
        }
        Ok(())
    }
}

/// What went wrong with a field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub enum TransformErrorKind {
    /// The BSON type is not one the catalogue allows here.
    #[error("expected {expected}, found {found}")]
    TypeMismatch {
        /// What the catalogue declares, e.g. `decimal`.
        expected: String,
        /// The type found, with a short rendering of scalars, e.g. `string "abc"`.
        found: String,
    },
    /// A required field is absent (or null where null is not allowed).
    #[error("required, but missing")]
    Missing,
    /// The value is of the right kind but does not fit the target type.
    #[error("{value} is out of range for {target}")]
    OutOfRange {
        /// The value as text.
        value: String,
        /// The target type, e.g. `numeric(38,18)`, `int4`, `timestamptz`.
        target: String,
    },
    /// Storing the number would round it.
    #[error("{value} cannot be stored without rounding")]
    InexactNumber {
        /// The number as text.
        value: String,
    },
    /// A key the catalogue does not declare.
    #[error("not declared in the catalogue")]
    UnknownField,
    /// A string that is not one of the enum's values.
    #[error("{value:?} is not one of {}", allowed.join(", "))]
    InvalidEnum {
        /// The value found.
        value: String,
        /// The values the catalogue allows.
        allowed: Vec<String>,
    },
    /// A reference that is not an ObjectId, or a uuid with no ObjectId behind it.
    #[error("{value:?} is not a reference: expected an ObjectId (or its 24 hex digits)")]
    BadReference {
        /// The reference as found.
        value: String,
    },
    /// The BSON itself is malformed.
    #[error("malformed BSON: {0}")]
    Bson(String),
    /// A key of a value for a jsonb column starts with `$`: stored as Extended JSON, it would read
    /// back as a type wrapper (`{"$date": 1}` as a date) or not at all.
    #[error(
        "holds the key {key:?}, which starts with `$`: in a jsonb column it would read back as an Extended JSON type wrapper"
    )]
    DollarKey {
        /// The key, with the path inside the value (`a.0.$date`).
        key: String,
    },
    /// A value for a jsonb column nests documents and arrays deeper than the transforms follow
    /// ([`crate::transform::MAX_JSON_DEPTH`]).
    #[error("nested deeper than {limit} levels of documents and arrays (MongoDB allows 100)")]
    TooDeep {
        /// The deepest nesting accepted.
        limit: usize,
    },
}

impl TransformErrorKind {
    /// Attaches the location, turning the kind into a full [`TransformError`].
    pub fn at(
        self,
        collection: impl Into<String>,
        id: Option<String>,
        path: impl Into<String>,
    ) -> TransformError {
        TransformError::new(collection, id, path, self)
    }

    /// [`TransformErrorKind::InvalidEnum`]: `value` is not one of `allowed`.
    pub fn invalid_enum(value: &str, allowed: &[&str]) -> TransformErrorKind {
        TransformErrorKind::InvalidEnum {
            value: value.to_string(),
            allowed: allowed.iter().map(|a| a.to_string()).collect(),
        }
    }
}

impl From<bson::error::Error> for TransformErrorKind {
    fn from(error: bson::error::Error) -> TransformErrorKind {
        TransformErrorKind::Bson(error.to_string())
    }
}

/// Text for a document's `_id` in error messages: ObjectId hex, a string in quotes, a number as
/// is, and `{"$type": ...}`-style names for the rest.
pub fn describe_id(id: RawBsonRef<'_>) -> String {
    match id {
        RawBsonRef::ObjectId(oid) => crate::ids::object_id_hex(&oid),
        RawBsonRef::String(text) => format!("{text:?}"),
        RawBsonRef::Int32(value) => value.to_string(),
        RawBsonRef::Int64(value) => value.to_string(),
        RawBsonRef::Double(value) => value.to_string(),
        RawBsonRef::Decimal128(value) => value.to_string(),
        RawBsonRef::Binary(binary) if binary.bytes.len() <= 32 => {
            let hex: String = binary.bytes.iter().map(|b| format!("{b:02x}")).collect();
            format!("{{\"$binary\":\"{hex}\"}}")
        }
        other => format!("{{\"$type\":\"{}\"}}", crate::bsonval::type_name(other)),
    }
}

#[cfg(test)]
mod tests {
    use bson::oid::ObjectId;

    use super::*;

    #[test]
    fn reads_like_a_sentence() {
        let error = TransformErrorKind::TypeMismatch {
            expected: "decimal".to_owned(),
            found: "string \"abc\"".to_owned(),
        }
        .at(
            "payments",
            Some("650f1c2e9d1b2a3c4d5e6f70".to_owned()),
            "quote.rate",
        );
        assert_eq!(
            error.to_string(),
            "payments 650f1c2e9d1b2a3c4d5e6f70: field quote.rate: expected decimal, found string \"abc\""
        );
    }

    #[test]
    fn leaves_out_absent_parts() {
        let error = TransformError::new(
            "users",
            None,
            "",
            TransformErrorKind::Bson("truncated".into()),
        );
        assert_eq!(error.to_string(), "users: malformed BSON: truncated");
        let error = TransformErrorKind::invalid_enum("paid?", &["open", "paid"]).at(
            "invoices",
            Some("1".into()),
            "status",
        );
        assert_eq!(
            error.to_string(),
            "invoices 1: field status: \"paid?\" is not one of open, paid"
        );
    }

    #[test]
    fn describes_ids() {
        let oid = ObjectId::parse_str("650f1c2e9d1b2a3c4d5e6f70").expect("valid hex");
        assert_eq!(
            describe_id(RawBsonRef::ObjectId(oid)),
            "650f1c2e9d1b2a3c4d5e6f70"
        );
        assert_eq!(describe_id(RawBsonRef::String("a\"b")), "\"a\\\"b\"");
        assert_eq!(describe_id(RawBsonRef::Int64(42)), "42");
        assert_eq!(describe_id(RawBsonRef::Null), "{\"$type\":\"null\"}");
    }
}
