//! Tests of parsing, printing, fitting, comparing and adding [`Numeric`] values.

use std::collections::HashSet;
use std::str::FromStr;

use proptest::prelude::*;

use super::*;

/// 2^256 - 1, the largest uint256, stored in numeric(78,0).
const UINT256_MAX: &str =
    "115792089237316195423570985008687907853269984665640564039457584007913129639935";
/// The largest numeric(38,18) value.
const MONEY_MAX: &str = "99999999999999999999.999999999999999999";

fn num(text: &str) -> Numeric {
    Numeric::from_str(text).expect("test literal parses")
}

#[test]
fn parses_plain_and_exponent_forms() {
    let cases = [
        ("0", "0"),
        ("-0.000", "-0.000"),
        ("1.50", "1.50"),
        ("+7", "7"),
        ("007.10", "7.10"),
        (".5", "0.5"),
        ("5.", "5"),
        ("1.5E+3", "1500"),
        ("1.5e3", "1500"),
        ("1.50E-1", "0.150"),
        ("1E-18", "0.000000000000000001"),
        ("-12E-2", "-0.12"),
        ("0E+10", "0"),
        (
            "12345678901234567890123456789012.34",
            "12345678901234567890123456789012.34",
        ),
        (UINT256_MAX, UINT256_MAX),
        (MONEY_MAX, MONEY_MAX),
    ];
    for (input, expected) in cases {
        assert_eq!(num(input).to_string(), expected, "{input}");
    }
    assert!(num("-0.000").is_negative_zero());
    assert!(!num("0.000").is_negative_zero());
}

#[test]
fn rejects_text_that_is_not_a_finite_number() {
    for text in [
        "", "-", ".", "abc", "1.2.3", "1e", "1e+", "1 000", " 1", "1,5", "0x10", "--1",
    ] {
        assert!(
            matches!(Numeric::from_str(text), Err(NumericError::Invalid { .. })),
            "{text:?} must be invalid"
        );
    }
    for text in ["NaN", "-Infinity", "inf", "sNaN"] {
        assert!(
            matches!(Numeric::from_str(text), Err(NumericError::NotFinite { .. })),
            "{text:?} must be not finite"
        );
    }
}

#[test]
fn enforces_postgres_limits_instead_of_allocating_without_bound() {
    for text in [
        "1E+131072",
        "1E+99999999999999999999999",
        "1E-16384",
        "1E-99999999999999999999",
    ] {
        assert!(
            matches!(
                Numeric::from_str(text),
                Err(NumericError::OutOfRange { .. })
            ),
            "{text} must be out of range"
        );
    }
    assert_eq!(num("1E+131071").to_string().len(), 131_072);
    assert_eq!(num("1E-16383").scale(), 16_383);
}

#[test]
fn converts_integers_and_floats_exactly() {
    assert_eq!(Numeric::from_i32(i32::MIN).to_string(), "-2147483648");
    assert_eq!(
        Numeric::from_i64(i64::MIN).to_string(),
        "-9223372036854775808"
    );
    assert_eq!(Numeric::from_i64(0).to_string(), "0");
    let floats = [
        (0.1, "0.1"),
        (-2.5, "-2.5"),
        (1e21, "1000000000000000000000"),
        (1e-7, "0.0000001"),
    ];
    for (value, expected) in floats {
        assert_eq!(
            Numeric::from_f64(value).map(|n| n.to_string()).as_deref(),
            Ok(expected)
        );
    }
    assert!(Numeric::from_f64(-0.0).is_ok_and(|n| n.is_negative_zero()));
    for value in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert!(matches!(
            Numeric::from_f64(value),
            Err(NumericError::NotFinite { .. })
        ));
    }
}

#[test]
fn fits_without_rounding_only() {
    assert!(num(MONEY_MAX).fits(38, 18));
    assert!(num(&format!("-{MONEY_MAX}")).fits(38, 18));
    assert!(num(UINT256_MAX).fits(78, 0));
    assert!(num("1.50").fits(2, 1), "trailing zeros are not rounding");
    assert!(num("0").fits(1, 0));
    assert!(num("-0.000").fits(1, 0));
    assert!(matches!(
        num("100000000000000000000").check(38, 18),
        Err(NumericError::TooLarge {
            precision: 38,
            scale: 18,
            ..
        })
    ));
    assert!(matches!(
        num("0.0000000000000000001").check(38, 18),
        Err(NumericError::WouldRound { .. })
    ));
    assert!(!num("1.25").fits(10, 1));
    // numeric(78,0) holds every 78-digit value, 2^256 included: uint256 needs a CHECK as well.
    assert!(
        num("115792089237316195423570985008687907853269984665640564039457584007913129639936")
            .fits(78, 0)
    );
    assert!(!num(&format!("{UINT256_MAX}0")).fits(78, 0));
    // PostgreSQL 15 allows a negative scale (round to tens) and a scale above the precision.
    assert!(num("12300").fits(3, -2));
    assert!(!num("12310").fits(3, -2));
    assert!(num("0.00123").fits(3, 5));
    assert!(!num("0.01").fits(3, 5));
}

#[test]
fn equality_ordering_and_hash_follow_the_value() {
    assert_eq!(num("1.50"), num("1.5"));
    assert_eq!(num("-0.00"), num("0"));
    assert!(num("-1") < num("-0.5"));
    assert!(num("-0.5") < num("0"));
    assert!(num("0.09") < num("0.1"));
    assert!(num("99.9") < num("100"));
    assert!(num("1.0001") > num("1.0000"));
    let set: HashSet<Numeric> = ["1.5", "1.50", "1.500", "-0", "0.00"]
        .iter()
        .map(|t| num(t))
        .collect();
    assert_eq!(set.len(), 2);
}

#[test]
fn adds_exactly() {
    assert_eq!((num("0.1") + num("0.2")).to_string(), "0.3");
    assert_eq!((num("1.50") + num("-1.5")).to_string(), "0.00");
    assert_eq!((num("-5") + num("3.25")).to_string(), "-1.75");
    assert_eq!(
        (num(MONEY_MAX) + num("0.000000000000000001")).to_string(),
        "100000000000000000000.000000000000000000"
    );
    let total: Numeric = ["10.01", "-0.01", "0.005"].iter().map(|t| num(t)).sum();
    assert_eq!(total.to_string(), "10.005");
    let empty: Numeric = Vec::<Numeric>::new().iter().sum();
    assert_eq!(empty.to_string(), "0");
    assert!((num("-0") + num("-0.0")).is_negative_zero());
}

#[test]
fn postgres_text_drops_the_sign_of_zero() {
    assert_eq!(num("-0.00").to_postgres_text(), "0.00");
    assert_eq!(num("-1.00").to_postgres_text(), "-1.00");
}

#[test]
fn error_messages_cut_long_values() {
    let long = "9".repeat(200);
    let Err(error) = num(&long).check(38, 18) else {
        panic!("a 200-digit value does not fit numeric(38,18)");
    };
    let message = error.to_string();
    assert!(message.len() < 150, "{message}");
    assert!(message.contains("numeric(38,18)"), "{message}");
}

/// A decimal text with up to 30 integer and 20 fractional digits.
fn decimal_text() -> impl Strategy<Value = String> {
    ("-?", "[0-9]{1,30}", proptest::option::of("[0-9]{0,20}")).prop_map(|(sign, int, frac)| {
        match frac {
            Some(frac) if !frac.is_empty() => format!("{sign}{int}.{frac}"),
            _ => format!("{sign}{int}"),
        }
    })
}

proptest! {
    #[test]
    fn display_reads_back_identically(text in decimal_text()) {
        let value = num(&text);
        let printed = value.to_string();
        prop_assert_eq!(num(&printed).to_string(), printed.clone());
        prop_assert_eq!(num(&printed), value);
    }

    #[test]
    fn add_and_order_agree_with_i128(a in -10i128.pow(30)..10i128.pow(30), b in -10i128.pow(30)..10i128.pow(30), scale in 0u32..8) {
        let as_num = |v: i128| {
            let text = format!("{v}E-{scale}");
            num(&text)
        };
        let sum = as_num(a) + as_num(b);
        prop_assert_eq!(sum, as_num(a + b));
        prop_assert_eq!(as_num(a).cmp(&as_num(b)), a.cmp(&b));
    }

    #[test]
    fn f64_conversion_is_shortest_round_trip(value in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL | proptest::num::f64::ZERO) {
        let converted = Numeric::from_f64(value).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back: f64 = converted.to_string().parse().map_err(|_| TestCaseError::fail("reparse"))?;
        prop_assert_eq!(back.to_bits(), value.to_bits());
    }
}
