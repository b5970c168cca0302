//! Readers that the generated transforms call on each BSON field: a [`RawBsonRef`] in, a Rust
//! value for a PostgreSQL column out, or a [`TransformErrorKind`] saying why not.
//!
//! The rule throughout: convert when no information is lost, refuse otherwise. A double is an
//! integer only when it has an exact integral value, an `int64` is a double only when the double
//! holds it exactly, and decimals are never rounded to a column's scale. Type names in messages
//! are MongoDB's `$type` aliases (`int`, `long`, `decimal`, ...); range targets are PostgreSQL
//! types (`int4`, `numeric(38,18)`, `timestamptz`).

use bson::RawBsonRef;
use bson::oid::ObjectId;
use chrono::{DateTime, Utc};

use crate::error::TransformErrorKind;
use crate::numeric::{Numeric, NumericError};

/// The earliest `timestamptz` PostgreSQL accepts, 4714-11-24 00:00:00 UTC BC, in Unix
/// milliseconds (PostgreSQL `MIN_TIMESTAMP`).
pub const POSTGRES_MIN_TIMESTAMP_MILLIS: i64 = -210_866_803_200_000;

/// MongoDB's `$type` alias for the value's BSON type, e.g. `"string"`, `"int"`, `"decimal"`.
pub fn type_name(value: RawBsonRef<'_>) -> &'static str {
    match value {
        RawBsonRef::Double(_) => "double",
        RawBsonRef::String(_) => "string",
        RawBsonRef::Document(_) => "object",
        RawBsonRef::Array(_) => "array",
        RawBsonRef::Binary(_) => "binData",
        RawBsonRef::Undefined => "undefined",
        RawBsonRef::ObjectId(_) => "objectId",
        RawBsonRef::Boolean(_) => "bool",
        RawBsonRef::DateTime(_) => "date",
        RawBsonRef::Null => "null",
        RawBsonRef::RegularExpression(_) => "regex",
        RawBsonRef::DbPointer(_) => "dbPointer",
        RawBsonRef::JavaScriptCode(_) => "javascript",
        RawBsonRef::Symbol(_) => "symbol",
        RawBsonRef::JavaScriptCodeWithScope(_) => "javascriptWithScope",
        RawBsonRef::Int32(_) => "int",
        RawBsonRef::Timestamp(_) => "timestamp",
        RawBsonRef::Int64(_) => "long",
        RawBsonRef::Decimal128(_) => "decimal",
        RawBsonRef::MinKey => "minKey",
        RawBsonRef::MaxKey => "maxKey",
    }
}

/// The type name followed by a short rendering of scalar values, e.g. `string "abc"`,
/// `double 1.5`; containers and exotic types give the type name only.
pub fn describe(value: RawBsonRef<'_>) -> String {
    let name = type_name(value);
    match value {
        RawBsonRef::String(text) => {
            let mut short: String = text.chars().take(40).collect();
            if short.len() < text.len() {
                short.push_str("...");
            }
            format!("{name} {short:?}")
        }
        RawBsonRef::Double(v) => format!("{name} {v}"),
        RawBsonRef::Int32(v) => format!("{name} {v}"),
        RawBsonRef::Int64(v) => format!("{name} {v}"),
        RawBsonRef::Decimal128(v) => format!("{name} {v}"),
        RawBsonRef::Boolean(v) => format!("{name} {v}"),
        RawBsonRef::ObjectId(v) => format!("{name} {v}"),
        RawBsonRef::DateTime(v) => format!("{name} {}", v.timestamp_millis()),
        _ => name.to_owned(),
    }
}

/// The error for a value of the wrong BSON type.
fn mismatch(expected: &str, value: RawBsonRef<'_>) -> TransformErrorKind {
    TransformErrorKind::TypeMismatch {
        expected: expected.to_owned(),
        found: describe(value),
    }
}

/// A BSON string.
pub fn as_string(value: RawBsonRef<'_>) -> Result<&str, TransformErrorKind> {
    match value {
        RawBsonRef::String(text) => Ok(text),
        other => Err(mismatch("string", other)),
    }
}

/// A BSON boolean.
pub fn as_bool(value: RawBsonRef<'_>) -> Result<bool, TransformErrorKind> {
    match value {
        RawBsonRef::Boolean(flag) => Ok(flag),
        other => Err(mismatch("bool", other)),
    }
}

/// An `int4`: from `int`, a `long` in range, or a `double` with an exact integral value.
pub fn as_i32(value: RawBsonRef<'_>) -> Result<i32, TransformErrorKind> {
    let wide = as_i64_for(value, "int", "int4")?;
    i32::try_from(wide).map_err(|_| out_of_range(wide, "int4"))
}

/// An `int8`: from `int`, `long`, or a `double` with an exact integral value in range.
pub fn as_i64(value: RawBsonRef<'_>) -> Result<i64, TransformErrorKind> {
    as_i64_for(value, "long", "int8")
}

/// The shared integer rules, naming `expected` (Mongo) and `target` (PostgreSQL) in errors.
fn as_i64_for(
    value: RawBsonRef<'_>,
    expected: &str,
    target: &str,
) -> Result<i64, TransformErrorKind> {
    match value {
        RawBsonRef::Int32(v) => Ok(i64::from(v)),
        RawBsonRef::Int64(v) => Ok(v),
        RawBsonRef::Double(v) if !v.is_finite() => Err(out_of_range(v, target)),
        RawBsonRef::Double(v) if v.fract() != 0.0 => Err(TransformErrorKind::InexactNumber {
            value: v.to_string(),
        }),
        // Both bounds are exact powers of two; `as` is exact for integral values between them.
        RawBsonRef::Double(v)
            if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&v) =>
        {
            Ok(v as i64)
        }
        RawBsonRef::Double(v) => Err(out_of_range(v, target)),
        other => Err(mismatch(expected, other)),
    }
}

/// A `float8`: from `double`, `int`, or a `long` that a double holds exactly.
pub fn as_f64(value: RawBsonRef<'_>) -> Result<f64, TransformErrorKind> {
    match value {
        RawBsonRef::Double(v) => Ok(v),
        RawBsonRef::Int32(v) => Ok(f64::from(v)),
        RawBsonRef::Int64(v) => {
            let converted = v as f64;
            // Compare in i128: `as i64` would saturate 2^63 back to i64::MAX and hide the error.
            if converted as i128 == i128::from(v) {
                Ok(converted)
            } else {
                Err(TransformErrorKind::InexactNumber {
                    value: v.to_string(),
                })
            }
        }
        other => Err(mismatch("double", other)),
    }
}

/// A `numeric(precision, scale)` value, exact: from `decimal`, `int`, `long`, `double` (its
/// shortest round-trip decimal) or a numeric string. Digits that `scale` would round away are
/// [`TransformErrorKind::InexactNumber`]; too many integer digits, NaN and infinities are
/// [`TransformErrorKind::OutOfRange`]. A Decimal128 `-0` comes back as a negative zero.
pub fn as_numeric(
    value: RawBsonRef<'_>,
    precision: u32,
    scale: i32,
) -> Result<Numeric, TransformErrorKind> {
    let target = || format!("numeric({precision},{scale})");
    let number = match value {
        RawBsonRef::Decimal128(v) => Numeric::from_decimal128(v),
        RawBsonRef::Int32(v) => Ok(Numeric::from_i32(v)),
        RawBsonRef::Int64(v) => Ok(Numeric::from_i64(v)),
        RawBsonRef::Double(v) => Numeric::from_f64(v),
        RawBsonRef::String(text) => text.parse::<Numeric>(),
        other => return Err(mismatch("decimal", other)),
    };
    let number = number.map_err(|error| match error {
        NumericError::Invalid { .. } => mismatch("decimal", value),
        other => other.into_transform_kind(&target()),
    })?;
    number
        .check(precision, scale)
        .map_err(|e| e.into_transform_kind(&target()))?;
    Ok(number)
}

/// A BSON ObjectId.
pub fn as_object_id(value: RawBsonRef<'_>) -> Result<ObjectId, TransformErrorKind> {
    match value {
        RawBsonRef::ObjectId(oid) => Ok(oid),
        other => Err(mismatch("objectId", other)),
    }
}

/// A `timestamptz` from a BSON date (milliseconds since 1970, before 1970 too).
pub fn as_datetime(value: RawBsonRef<'_>) -> Result<DateTime<Utc>, TransformErrorKind> {
    match value {
        RawBsonRef::DateTime(date) => datetime_from_bson(date),
        other => Err(mismatch("date", other)),
    }
}

/// A BSON date as a `timestamptz` value.
///
/// Dates before 4714-11-24 BC (PostgreSQL's first day) are [`TransformErrorKind::OutOfRange`],
/// and so are dates after chrono's last year, 262143 (PostgreSQL would go on to 294276).
pub fn datetime_from_bson(date: bson::DateTime) -> Result<DateTime<Utc>, TransformErrorKind> {
    let millis = date.timestamp_millis();
    if millis < POSTGRES_MIN_TIMESTAMP_MILLIS {
        return Err(out_of_range(millis, "timestamptz"));
    }
    DateTime::from_timestamp_millis(millis).ok_or_else(|| out_of_range(millis, "timestamptz"))
}

/// A `timestamptz` value as a BSON date. BSON keeps milliseconds: microseconds are dropped,
/// rounding toward the past (values read from MongoDB have none).
pub fn datetime_to_bson(date: DateTime<Utc>) -> bson::DateTime {
    bson::DateTime::from_millis(date.timestamp_millis())
}

/// The error for a value too large or too small for `target`.
fn out_of_range(value: impl ToString, target: &str) -> TransformErrorKind {
    TransformErrorKind::OutOfRange {
        value: value.to_string(),
        target: target.to_owned(),
    }
}

#[cfg(test)]
mod tests;
