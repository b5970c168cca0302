//! What a generated `from_mongo` / `to_mongo` needs besides the value readers of [`bsonval`]:
//! the per-document context (collection, `_id`, strict or lenient), the id_map rows it records,
//! the readers for nulls, arrays, references and jsonb, and their way back to BSON.
//!
//! [`bsonval`]: crate::bsonval

use bson::oid::ObjectId;
use bson::{Bson, RawBsonRef, RawDocument};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::bsonval;
use crate::error::{TransformError, TransformErrorKind, describe_id};
use crate::ids;

/// What happens to a key the catalogue does not declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// It is an error ([`TransformErrorKind::UnknownField`]).
    Strict,
    /// It is recorded in [`Context::unknown`] and the document goes on.
    Lenient,
}

/// One `id_map` row: a legacy ObjectId and the uuid its row got.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdMapRow {
    /// The Mongo collection.
    pub collection: &'static str,
    /// The ObjectId, 24 hex digits.
    pub legacy_object_id: String,
    /// The row's uuid.
    pub id: Uuid,
}

/// The state of one document's transform.
#[derive(Debug, Clone)]
pub struct Context {
    /// The collection.
    pub collection: &'static str,
    /// The document's `_id`, for errors.
    pub id: Option<String>,
    /// Unknown keys: an error, or recorded.
    pub mode: Mode,
    /// Unknown keys met in lenient mode, as Mongo paths.
    pub unknown: Vec<String>,
    /// The id_map rows of the document (root and items with `_id`).
    pub id_map: Vec<IdMapRow>,
    /// The time a missing `default: now` field gets: when the document was created, read from
    /// its ObjectId (what Mongoose would have stamped), so a transform is repeatable; the
    /// current time only for a document without an ObjectId `_id`.
    pub created: DateTime<Utc>,
}

impl Context {
    /// A context for one document of `collection`; the `_id` is read from `doc`.
    pub fn new(collection: &'static str, doc: &RawDocument, mode: Mode) -> Context {
        let raw_id = doc.get("_id").ok().flatten();
        let created = match raw_id {
            Some(RawBsonRef::ObjectId(oid)) => {
                bsonval::datetime_from_bson(oid.timestamp()).unwrap_or_else(|_| Utc::now())
            }
            _ => Utc::now(),
        };
        Context {
            collection,
            id: raw_id.map(describe_id),
            mode,
            unknown: Vec::new(),
            id_map: Vec::new(),
            created,
        }
    }

    /// The error `kind` at `path` of this document.
    pub fn error(&self, path: &str, kind: TransformErrorKind) -> TransformError {
        TransformError::new(self.collection, self.id.clone(), path, kind)
    }

    /// A key the catalogue does not declare: an error in strict mode, recorded in lenient mode.
    pub fn unknown(&mut self, path: String) -> Result<(), TransformError> {
        match self.mode {
            Mode::Strict => Err(self.error(&path, TransformErrorKind::UnknownField)),
            Mode::Lenient => {
                self.unknown.push(path);
                Ok(())
            }
        }
    }

    /// A required value, or [`TransformErrorKind::Missing`] at `path`.
    pub fn required<T>(&self, value: Option<T>, path: &str) -> Result<T, TransformError> {
        value.ok_or_else(|| self.error(path, TransformErrorKind::Missing))
    }

    /// Reads one value with `read`, mapping its error to `path`.
    pub fn read<'a, T>(
        &self,
        value: RawBsonRef<'a>,
        path: &str,
        read: impl FnOnce(RawBsonRef<'a>) -> Result<T, TransformErrorKind>,
    ) -> Result<T, TransformError> {
        read(value).map_err(|k| self.error(path, k))
    }

    /// Like [`Context::read`], but BSON `null` (and the deprecated `undefined`) is `None`.
    pub fn read_opt<'a, T>(
        &self,
        value: RawBsonRef<'a>,
        path: &str,
        read: impl FnOnce(RawBsonRef<'a>) -> Result<T, TransformErrorKind>,
    ) -> Result<Option<T>, TransformError> {
        if is_null(value) {
            return Ok(None);
        }
        self.read(value, path, read).map(Some)
    }

    /// Reads every element of an array with `read`, each error at `path.<index>`.
    pub fn read_array<'a, T>(
        &self,
        value: RawBsonRef<'a>,
        path: &str,
        mut read: impl FnMut(RawBsonRef<'a>) -> Result<T, TransformErrorKind>,
    ) -> Result<Vec<T>, TransformError> {
        let RawBsonRef::Array(items) = value else {
            return Err(self.error(path, mismatch("array", value)));
        };
        let mut out = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            let item = item.map_err(|e| self.error(&format!("{path}.{i}"), e.into()))?;
            out.push(read(item).map_err(|k| self.error(&format!("{path}.{i}"), k))?);
        }
        Ok(out)
    }

    /// The subdocuments of an array of objects, with their index.
    pub fn documents<'a>(
        &self,
        value: RawBsonRef<'a>,
        path: &str,
    ) -> Result<Vec<&'a RawDocument>, TransformError> {
        let RawBsonRef::Array(items) = value else {
            return Err(self.error(path, mismatch("array", value)));
        };
        let mut out = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            let item_path = format!("{path}.{i}");
            let item = item.map_err(|e| self.error(&item_path, e.into()))?;
            out.push(self.document(item, &item_path)?);
        }
        Ok(out)
    }

    /// A subdocument.
    pub fn document<'a>(
        &self,
        value: RawBsonRef<'a>,
        path: &str,
    ) -> Result<&'a RawDocument, TransformError> {
        match value {
            RawBsonRef::Document(d) => Ok(d),
            other => Err(self.error(path, mismatch("object", other))),
        }
    }

    /// Records an id_map row.
    pub fn record_id(&mut self, oid: &ObjectId, id: Uuid) {
        self.id_map.push(IdMapRow {
            collection: self.collection,
            legacy_object_id: oid.to_hex(),
            id,
        });
    }
}

/// Whether a value is BSON null or undefined.
pub fn is_null(value: RawBsonRef<'_>) -> bool {
    matches!(value, RawBsonRef::Null | RawBsonRef::Undefined)
}

fn mismatch(expected: &str, found: RawBsonRef<'_>) -> TransformErrorKind {
    TransformErrorKind::TypeMismatch {
        expected: expected.into(),
        found: bsonval::describe(found),
    }
}

/// A reference: an ObjectId, or its 24 hex digits as a string (the interface-level
/// `ObjectId | string` of the migration plan, rule 2), as the uuid of the referenced row.
pub fn as_reference(value: RawBsonRef<'_>) -> Result<Uuid, TransformErrorKind> {
    match value {
        RawBsonRef::ObjectId(oid) => Ok(ids::uuid_from_object_id(&oid)),
        RawBsonRef::String(s) => ObjectId::parse_str(s)
            .map(|oid| ids::uuid_from_object_id(&oid))
            .map_err(|_| TransformErrorKind::BadReference {
                value: s.to_string(),
            }),
        other => Err(mismatch("objectId", other)),
    }
}

/// A polymorphic reference: `(kind, id, external_ref)` with kind `entity` for an ObjectId and
/// `template` for a string that is not one.
pub fn as_polymorphic(
    value: RawBsonRef<'_>,
) -> Result<(&'static str, Option<Uuid>, Option<String>), TransformErrorKind> {
    match value {
        RawBsonRef::ObjectId(oid) => Ok(("entity", Some(ids::uuid_from_object_id(&oid)), None)),
        RawBsonRef::String(s) => Ok(("template", None, Some(s.to_string()))),
        other => Err(mismatch("objectId or string", other)),
    }
}

/// A value for a jsonb column: relaxed Extended JSON (mongoexport's default), which keeps dates
/// (`{"$date": ...}`), ObjectIds (`{"$oid": ...}`) and decimals (`{"$numberDecimal": ...}`).
pub fn as_json(value: RawBsonRef<'_>) -> Result<serde_json::Value, TransformErrorKind> {
    let bson = Bson::try_from(value).map_err(TransformErrorKind::from)?;
    Ok(bson.into_relaxed_extjson())
}

/// The BSON of a jsonb value written by [`as_json`] (or by a trigger, in the same form).
pub fn json_to_bson(value: &serde_json::Value) -> Result<Bson, TransformErrorKind> {
    Bson::try_from(value.clone()).map_err(|e| TransformErrorKind::Bson(e.to_string()))
}

/// The ObjectId a uuid was derived from, or [`TransformErrorKind::BadReference`] for a uuid made
/// in Postgres (no ObjectId behind it).
pub fn object_id(id: &Uuid) -> Result<ObjectId, TransformErrorKind> {
    ids::object_id_from_uuid(id).ok_or_else(|| TransformErrorKind::BadReference {
        value: id.to_string(),
    })
}

/// The BSON of a polymorphic reference's columns (`None` when all three are NULL).
pub fn polymorphic_to_bson(
    kind: Option<&str>,
    id: Option<&Uuid>,
    external_ref: Option<&str>,
) -> Result<Option<Bson>, TransformErrorKind> {
    match (kind, id, external_ref) {
        (Some("entity"), Some(id), _) => Ok(Some(Bson::ObjectId(object_id(id)?))),
        (Some("template"), _, Some(r)) => Ok(Some(Bson::String(r.to_string()))),
        (None, None, None) => Ok(None),
        (kind, id, r) => Err(TransformErrorKind::BadReference {
            value: format!("kind {kind:?}, id {id:?}, external_ref {r:?}"),
        }),
    }
}

/// 2^256 - 1, the largest uint256.
pub const UINT256_MAX: &str =
    "115792089237316195423570985008687907853269984665640564039457584007913129639935";

/// A uint256 (on-chain base units, numeric(78,0)): a whole number from 0 to 2^256 - 1, from a
/// decimal string or any BSON number.
pub fn as_uint256(value: RawBsonRef<'_>) -> Result<crate::Numeric, TransformErrorKind> {
    let n = bsonval::as_numeric(value, 78, 0)?;
    let max: crate::Numeric = UINT256_MAX
        .parse()
        .map_err(|_| TransformErrorKind::Bson("UINT256_MAX".into()))?;
    if n.is_negative() || n > max {
        return Err(TransformErrorKind::OutOfRange {
            value: n.to_string(),
            target: "uint256 (0 to 2^256 - 1)".into(),
        });
    }
    Ok(n)
}

/// A reference that must be an ObjectId (the field is `bson: objectId`), as the uuid of the
/// referenced row.
pub fn as_object_id_reference(value: RawBsonRef<'_>) -> Result<Uuid, TransformErrorKind> {
    bsonval::as_object_id(value).map(|oid| ids::uuid_from_object_id(&oid))
}

/// An unconstrained `numeric` value (no precision or scale to check), exact.
pub fn as_any_numeric(value: RawBsonRef<'_>) -> Result<crate::Numeric, TransformErrorKind> {
    bsonval::as_numeric(
        value,
        crate::Numeric::MAX_INTEGER_DIGITS as u32 + 16_383,
        16_383,
    )
}

/// An ObjectId kept as its 24 hex digits in a text column.
pub fn as_hex_object_id(value: RawBsonRef<'_>) -> Result<String, TransformErrorKind> {
    bsonval::as_object_id(value).map(|o| o.to_hex())
}

/// A BSON binary's bytes, for a bytea column.
pub fn as_bytes(value: RawBsonRef<'_>) -> Result<Vec<u8>, TransformErrorKind> {
    match value {
        RawBsonRef::Binary(b) => Ok(b.bytes.to_vec()),
        other => Err(mismatch("binData", other)),
    }
}

/// A numeric column back to BSON: Decimal128 when the field is one in Mongo, else a double
/// when the value is one exactly (the field held a JavaScript Number), else Decimal128.
pub fn numeric_to_bson(value: &crate::Numeric, decimal: bool) -> Result<Bson, TransformErrorKind> {
    if !decimal {
        let text = value.to_string();
        if let Ok(f) = text.parse::<f64>()
            && crate::Numeric::from_f64(f).is_ok_and(|n| &n == value)
        {
            return Ok(Bson::Double(f));
        }
    }
    value
        .to_decimal128()
        .map(Bson::Decimal128)
        .map_err(|e| e.into_transform_kind("decimal"))
}

/// The `_id` ObjectId of a row from its `legacy_object_id`.
pub fn legacy_id(hex: &str) -> Result<ObjectId, TransformErrorKind> {
    ObjectId::parse_str(hex).map_err(|_| TransformErrorKind::BadReference {
        value: hex.to_string(),
    })
}

/// `path.key`, or `key` at the root: the Mongo path of a field for errors.
pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// A catalogue default for a numeric column. schemac checks the literal when it generates the
/// code, so it always parses.
pub fn numeric_default(text: &'static str) -> crate::Numeric {
    text.parse().unwrap_or_else(|_| {
        unreachable!("schemac generated a numeric default that does not parse: {text}")
    })
}

/// An array index as an `ordinal` value (a 16 MiB document holds far fewer than 2^31 items).
pub fn ordinal(index: usize) -> Result<i32, TransformErrorKind> {
    i32::try_from(index).map_err(|_| TransformErrorKind::OutOfRange {
        value: index.to_string(),
        target: "int4".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{doc, rawdoc};

    #[test]
    fn unknown_keys_are_errors_or_records() {
        let d = rawdoc! { "_id": ObjectId::parse_str("650f1c2e9d1b2a3c4d5e6f70").unwrap() };
        let mut strict = Context::new("payments", &d, Mode::Strict);
        let e = strict.unknown("extra".into()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "payments 650f1c2e9d1b2a3c4d5e6f70: field extra: not declared in the catalogue"
        );
        let mut lenient = Context::new("payments", &d, Mode::Lenient);
        lenient.unknown("extra".into()).unwrap();
        assert_eq!(lenient.unknown, ["extra"]);
    }

    #[test]
    fn array_errors_name_the_index() {
        let d = rawdoc! { "xs": [1, 2, "three"] };
        let cx = Context::new("c", &d, Mode::Strict);
        let v = d.get("xs").unwrap().unwrap();
        let e = cx.read_array(v, "xs", bsonval::as_i32).unwrap_err();
        assert_eq!(e.path, "xs.2");
    }

    #[test]
    fn references_accept_hex_strings_and_reject_others() {
        let oid = ObjectId::parse_str("650f1c2e9d1b2a3c4d5e6f70").unwrap();
        let from_oid = as_reference(RawBsonRef::ObjectId(oid)).unwrap();
        let from_str = as_reference(RawBsonRef::String("650f1c2e9d1b2a3c4d5e6f70")).unwrap();
        assert_eq!(from_oid, from_str);
        assert_eq!(object_id(&from_oid).unwrap(), oid);
        assert!(matches!(
            as_reference(RawBsonRef::String("not-an-id")),
            Err(TransformErrorKind::BadReference { .. })
        ));
    }

    #[test]
    fn polymorphic_round_trip() {
        let oid = ObjectId::parse_str("650f1c2e9d1b2a3c4d5e6f70").unwrap();
        let (k, id, r) = as_polymorphic(RawBsonRef::ObjectId(oid)).unwrap();
        assert_eq!(
            polymorphic_to_bson(Some(k), id.as_ref(), r.as_deref()).unwrap(),
            Some(Bson::ObjectId(oid))
        );
        let (k, id, r) = as_polymorphic(RawBsonRef::String("tpl-7")).unwrap();
        assert_eq!((k, id, r.as_deref()), ("template", None, Some("tpl-7")));
        assert!(polymorphic_to_bson(Some("entity"), None, None).is_err());
    }

    #[test]
    fn jsonb_keeps_bson_types() {
        let d = doc! { "at": bson::DateTime::from_millis(-1), "n": 5_i64, "d": 1.5, "s": "x" };
        let raw = bson::RawDocumentBuf::try_from(&d).unwrap();
        let json = as_json(RawBsonRef::Document(&raw)).unwrap();
        let back = json_to_bson(&json).unwrap();
        assert_eq!(back.as_document().unwrap().get("at"), d.get("at"));
        assert_eq!(back.as_document().unwrap().get("s"), d.get("s"));
    }
}
