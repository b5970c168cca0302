//! Tests of the BSON field readers: what converts, and how refusals are reported.

use std::str::FromStr;

use bson::{Decimal128, rawdoc};
use chrono::{NaiveDate, TimeZone};

use super::*;

fn decimal(text: &str) -> RawBsonRef<'static> {
    RawBsonRef::Decimal128(Decimal128::from_str(text).expect("test literal is a valid Decimal128"))
}

fn out_of_range(value: &str, target: &str) -> TransformErrorKind {
    TransformErrorKind::OutOfRange {
        value: value.to_owned(),
        target: target.to_owned(),
    }
}

fn inexact(value: &str) -> TransformErrorKind {
    TransformErrorKind::InexactNumber {
        value: value.to_owned(),
    }
}

#[test]
fn type_names_are_mongo_aliases() {
    let doc = rawdoc! { "a": [1] };
    assert_eq!(type_name(RawBsonRef::Int32(1)), "int");
    assert_eq!(type_name(RawBsonRef::Int64(1)), "long");
    assert_eq!(type_name(decimal("1")), "decimal");
    assert_eq!(type_name(RawBsonRef::Document(&doc)), "object");
    assert_eq!(doc.get("a").ok().flatten().map(type_name), Some("array"));
    assert_eq!(type_name(RawBsonRef::Null), "null");
    assert_eq!(type_name(RawBsonRef::Boolean(true)), "bool");
}

#[test]
fn strings_and_bools_are_strict() {
    assert_eq!(as_string(RawBsonRef::String("abc")), Ok("abc"));
    assert_eq!(
        as_string(RawBsonRef::Int32(5)),
        Err(TransformErrorKind::TypeMismatch {
            expected: "string".into(),
            found: "int 5".into()
        })
    );
    assert_eq!(as_bool(RawBsonRef::Boolean(false)), Ok(false));
    assert!(as_bool(RawBsonRef::Int32(0)).is_err(), "0 is not false");
    assert!(as_bool(RawBsonRef::Null).is_err());
}

#[test]
fn integers_convert_only_without_loss() {
    assert_eq!(as_i32(RawBsonRef::Int32(-7)), Ok(-7));
    assert_eq!(as_i32(RawBsonRef::Int64(2_147_483_647)), Ok(i32::MAX));
    assert_eq!(as_i32(RawBsonRef::Double(42.0)), Ok(42));
    assert_eq!(as_i32(RawBsonRef::Double(-0.0)), Ok(0));
    assert_eq!(
        as_i32(RawBsonRef::Int64(2_147_483_648)),
        Err(out_of_range("2147483648", "int4"))
    );
    assert_eq!(
        as_i32(RawBsonRef::Double(3e10)),
        Err(out_of_range("30000000000", "int4"))
    );
    assert_eq!(as_i32(RawBsonRef::Double(1.5)), Err(inexact("1.5")));
    assert_eq!(
        as_i32(RawBsonRef::Double(f64::NAN)),
        Err(out_of_range("NaN", "int4"))
    );
    assert!(matches!(
        as_i32(decimal("1")),
        Err(TransformErrorKind::TypeMismatch { .. })
    ));
    assert!(matches!(
        as_i32(RawBsonRef::String("1")),
        Err(TransformErrorKind::TypeMismatch { .. })
    ));

    assert_eq!(as_i64(RawBsonRef::Int64(i64::MIN)), Ok(i64::MIN));
    assert_eq!(
        as_i64(RawBsonRef::Double(-9_223_372_036_854_775_808.0)),
        Ok(i64::MIN)
    );
    assert!(matches!(
        as_i64(RawBsonRef::Double(9_223_372_036_854_775_808.0)),
        Err(TransformErrorKind::OutOfRange { .. })
    ));
}

#[test]
fn doubles_accept_exactly_representable_integers() {
    assert_eq!(as_f64(RawBsonRef::Double(0.1)), Ok(0.1));
    assert_eq!(as_f64(RawBsonRef::Int32(i32::MIN)), Ok(-2_147_483_648.0));
    assert_eq!(
        as_f64(RawBsonRef::Int64(1 << 53)),
        Ok(9_007_199_254_740_992.0)
    );
    assert_eq!(
        as_f64(RawBsonRef::Int64((1 << 53) + 1)),
        Err(inexact("9007199254740993"))
    );
    assert_eq!(
        as_f64(RawBsonRef::Int64(i64::MAX)),
        Err(inexact("9223372036854775807"))
    );
    assert_eq!(
        as_f64(RawBsonRef::Int64(i64::MIN)),
        Ok(-9_223_372_036_854_775_808.0)
    );
    assert!(as_f64(decimal("0.1")).is_err());
}

#[test]
fn numerics_are_exact_and_checked_against_the_column() {
    let read = |value| as_numeric(value, 38, 18).map(|n| n.to_string());
    assert_eq!(read(decimal("1.50")), Ok("1.50".into()));
    assert_eq!(
        read(RawBsonRef::Int64(i64::MAX)),
        Ok("9223372036854775807".into())
    );
    assert_eq!(read(RawBsonRef::Double(0.1)), Ok("0.1".into()));
    assert_eq!(read(RawBsonRef::String("12.5E-1")), Ok("1.25".into()));
    assert_eq!(
        read(decimal("9999999999999999.999999999999999999")),
        Ok("9999999999999999.999999999999999999".into())
    );
    assert_eq!(
        read(RawBsonRef::String(
            "99999999999999999999.999999999999999999"
        )),
        Ok("99999999999999999999.999999999999999999".into())
    );
    assert_eq!(
        read(decimal("1234567890123456789012345678901234")),
        Err(out_of_range(
            "1234567890123456789012345678901234",
            "numeric(38,18)"
        ))
    );
    assert_eq!(
        read(decimal("1.0000000000000000001")),
        Err(inexact("1.0000000000000000001"))
    );
    assert_eq!(
        read(decimal("NaN")),
        Err(out_of_range("NaN", "numeric(38,18)"))
    );
    assert_eq!(
        read(RawBsonRef::String("abc")),
        Err(TransformErrorKind::TypeMismatch {
            expected: "decimal".into(),
            found: "string \"abc\"".into()
        })
    );
    assert!(matches!(
        read(RawBsonRef::Null),
        Err(TransformErrorKind::TypeMismatch { .. })
    ));
    let negative_zero = as_numeric(decimal("-0"), 38, 18).expect("-0 fits");
    assert!(negative_zero.is_negative_zero());
    let uint256 = as_numeric(
        RawBsonRef::String(
            "115792089237316195423570985008687907853269984665640564039457584007913129639935",
        ),
        78,
        0,
    );
    assert!(uint256.is_ok());
}

#[test]
fn object_ids_are_strict() {
    let oid = ObjectId::parse_str("650f1c2e9d1b2a3c4d5e6f70").expect("valid hex");
    assert_eq!(as_object_id(RawBsonRef::ObjectId(oid)), Ok(oid));
    assert!(as_object_id(RawBsonRef::String("650f1c2e9d1b2a3c4d5e6f70")).is_err());
}

#[test]
fn dates_cover_postgres_range_before_1970_and_far_future() {
    let read = |millis| as_datetime(RawBsonRef::DateTime(bson::DateTime::from_millis(millis)));
    let before_1970 = Utc
        .with_ymd_and_hms(1969, 7, 20, 20, 17, 40)
        .single()
        .expect("valid");
    assert_eq!(read(before_1970.timestamp_millis()), Ok(before_1970));
    let far_future = Utc
        .with_ymd_and_hms(200_000, 1, 1, 0, 0, 0)
        .single()
        .expect("valid");
    assert_eq!(read(far_future.timestamp_millis()), Ok(far_future));
    let postgres_first_day = NaiveDate::from_ymd_opt(-4713, 11, 24)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc().timestamp_millis());
    assert_eq!(postgres_first_day, Some(POSTGRES_MIN_TIMESTAMP_MILLIS));
    assert!(read(POSTGRES_MIN_TIMESTAMP_MILLIS).is_ok());
    assert!(matches!(
        read(POSTGRES_MIN_TIMESTAMP_MILLIS - 1),
        Err(TransformErrorKind::OutOfRange { .. })
    ));
    assert!(matches!(
        read(i64::MAX),
        Err(TransformErrorKind::OutOfRange { .. })
    ));
    assert!(matches!(
        read(i64::MIN),
        Err(TransformErrorKind::OutOfRange { .. })
    ));
    assert!(as_datetime(RawBsonRef::String("2020-01-01")).is_err());
}

#[test]
fn datetimes_go_back_to_bson_in_milliseconds() {
    let millis = -1_234_567_890_123;
    let date = datetime_from_bson(bson::DateTime::from_millis(millis)).expect("in range");
    assert_eq!(datetime_to_bson(date).timestamp_millis(), millis);
    let with_micros = Utc.timestamp_opt(-1, 999_999_000).single().expect("valid");
    assert_eq!(
        datetime_to_bson(with_micros).timestamp_millis(),
        -1,
        "floors toward the past"
    );
}

#[test]
fn describes_found_values_briefly() {
    assert_eq!(
        describe(RawBsonRef::String(&"x".repeat(100))),
        format!("string \"{}...\"", "x".repeat(40))
    );
    assert_eq!(describe(RawBsonRef::Null), "null");
    assert_eq!(describe(RawBsonRef::Double(1.5)), "double 1.5");
}
