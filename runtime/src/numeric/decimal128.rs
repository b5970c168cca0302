//! BSON Decimal128 (IEEE 754-2008 decimal128, binary integer encoding) to and from [`Numeric`].
//!
//! We decode and encode the 16 bytes ourselves: `bson`'s own `FromStr` rounds text with more
//! than 34 digits, and its `Display` switches to exponent notation.

use bson::Decimal128;

use super::{Numeric, NumericError};

/// Decimal128 exponents are stored with this bias.
const EXPONENT_BIAS: i64 = 6176;
/// The smallest exponent (`1E-6176`).
const MIN_EXPONENT: i64 = -6176;
/// The largest exponent (`1E+6111`).
const MAX_EXPONENT: i64 = 6111;
/// A coefficient holds at most this many decimal digits.
const MAX_DIGITS: usize = 34;
/// The largest canonical coefficient, `10^34 - 1`; larger ones mean zero (IEEE 754-2008 3.5.2).
const MAX_COEFFICIENT: u128 = 10u128.pow(34) - 1;

/// The decimal digits (`0..=9`, most significant first) of a positive number, as
/// `n.to_string()` spells them: divisions by 10 in 64 bits once the number fits, which is the
/// common case for amounts.
fn decimal_digits(n: u128) -> Vec<u8> {
    digits_into(n, &mut [0_u8; 39]).to_vec()
}

/// [`decimal_digits`] in `buf`, without allocating; no digits for 0.
fn digits_into(mut n: u128, buf: &mut [u8; 39]) -> &[u8] {
    let mut at = buf.len();
    while n > u128::from(u64::MAX) {
        at -= 1;
        buf[at] = (n % 10) as u8;
        n /= 10;
    }
    let mut n = n as u64;
    while n > 0 {
        at -= 1;
        buf[at] = (n % 10) as u8;
        n /= 10;
    }
    &buf[at..]
}

/// `value.to_string()`, as the `bson` crate's `Display` writes a Decimal128 (the BSON spec's
/// canonical string: plain notation down to `1E-6`, else scientific; `NaN` without a sign; a
/// non-canonical coefficient as 0), without its bit-by-bit decoding. For the `$numberDecimal` of
/// jsonb values.
pub(crate) fn decimal128_string(value: Decimal128) -> String {
    let bits = u128::from_le_bytes(value.bytes());
    let negative = bits >> 127 == 1;
    let mut out = String::with_capacity(24);
    match (bits >> 122) & 0x1f {
        0x1f => return "NaN".to_owned(),
        0x1e if negative => return "-Infinity".to_owned(),
        0x1e => return "Infinity".to_owned(),
        _ => {}
    }
    if negative {
        out.push('-');
    }
    let (biased, coefficient) = if (bits >> 125) & 0b11 == 0b11 {
        ((bits >> 111) & 0x3fff, 0)
    } else {
        ((bits >> 113) & 0x3fff, bits & ((1 << 113) - 1))
    };
    let coefficient = if coefficient > MAX_COEFFICIENT {
        0
    } else {
        coefficient
    };
    let exponent = biased as i64 - EXPONENT_BIAS;
    let mut buf = [0_u8; 39];
    let digits = match digits_into(coefficient, &mut buf) {
        [] => &[0][..],
        digits => digits,
    };
    let push = |out: &mut String, digits: &[u8]| {
        out.extend(digits.iter().map(|d| char::from(b'0' + d)));
    };
    let len = digits.len() as i64;
    let adjusted = exponent + len - 1;
    if exponent <= 0 && adjusted >= -6 {
        let fraction = (-exponent) as usize;
        if fraction == 0 {
            push(&mut out, digits);
        } else if fraction >= digits.len() {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', fraction - digits.len()));
            push(&mut out, digits);
        } else {
            let (integer, decimals) = digits.split_at(digits.len() - fraction);
            push(&mut out, integer);
            out.push('.');
            push(&mut out, decimals);
        }
    } else {
        push(&mut out, &digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            push(&mut out, &digits[1..]);
        }
        out.push('E');
        if adjusted > 0 {
            out.push('+');
        }
        out.push_str(&adjusted.to_string());
    }
    out
}

impl Numeric {
    /// The exact value of a Decimal128, keeping its scale (`1.50` stays `1.50`) and a `-0`.
    ///
    /// A positive exponent becomes integer digits (`1.5E+3` is `1500`), so every finite
    /// Decimal128 fits, up to `9.99...E+6144`. NaN and the infinities are
    /// [`NumericError::NotFinite`].
    pub fn from_decimal128(value: Decimal128) -> Result<Numeric, NumericError> {
        let bits = u128::from_le_bytes(value.bytes());
        let negative = bits >> 127 == 1;
        match (bits >> 122) & 0x1f {
            0x1f => {
                return Err(NumericError::NotFinite {
                    value: "NaN".to_owned(),
                });
            }
            0x1e => {
                let value = if negative { "-Infinity" } else { "Infinity" };
                return Err(NumericError::NotFinite {
                    value: value.to_owned(),
                });
            }
            _ => {}
        }
        let (biased, coefficient) = if (bits >> 125) & 0b11 == 0b11 {
            // The "11" form implies a coefficient of at least 2^113, above 10^34 - 1: non-canonical.
            ((bits >> 111) & 0x3fff, 0)
        } else {
            ((bits >> 113) & 0x3fff, bits & ((1 << 113) - 1))
        };
        let coefficient = if coefficient > MAX_COEFFICIENT {
            0
        } else {
            coefficient
        };
        let exponent = biased as i64 - EXPONENT_BIAS;
        let digits = if coefficient == 0 {
            Vec::new()
        } else {
            decimal_digits(coefficient)
        };
        Numeric::from_parts(negative, digits, -exponent, || value.to_string())
    }

    /// The value as a Decimal128, exactly, keeping the sign of a negative zero.
    ///
    /// The scale is kept where the digits allow it; trailing zeros are dropped only when needed
    /// to fit 34 digits or the exponent range (`10^40` becomes `1E+40`). More than 34 significant
    /// digits, or a value below `1E-6176`, is [`NumericError::NotDecimal128`].
    pub fn to_decimal128(&self) -> Result<Decimal128, NumericError> {
        let mut digits: &[u8] = &self.digits;
        let mut exponent = -i64::from(self.scale);
        while (digits.len() > MAX_DIGITS || exponent < MIN_EXPONENT) && digits.last() == Some(&0) {
            digits = &digits[..digits.len() - 1];
            exponent += 1;
        }
        let error = |reason| NumericError::NotDecimal128 {
            value: self.snippet(),
            reason,
        };
        if digits.len() > MAX_DIGITS {
            return Err(error("more than 34 significant digits"));
        }
        let mut coefficient: u128 = digits.iter().fold(0, |acc, d| acc * 10 + u128::from(*d));
        if coefficient == 0 {
            // Zero has no digits to lose: clamp its exponent into range.
            exponent = exponent.clamp(MIN_EXPONENT, MAX_EXPONENT);
        }
        if exponent < MIN_EXPONENT {
            return Err(error("smaller than 1E-6176"));
        }
        let mut length = digits.len();
        while exponent > MAX_EXPONENT && length < MAX_DIGITS {
            coefficient *= 10;
            length += 1;
            exponent -= 1;
        }
        if exponent > MAX_EXPONENT {
            return Err(error(
                "larger than 9.999999999999999999999999999999999E+6144",
            ));
        }
        let biased = (exponent + EXPONENT_BIAS) as u128;
        let bits = (u128::from(self.negative) << 127) | (biased << 113) | coefficient;
        Ok(Decimal128::from_bytes(bits.to_le_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    proptest::proptest! {
        #[test]
        fn decimal128_text_is_the_bson_display(
            bytes in proptest::prelude::any::<[u8; 16]>(),
            coefficient in 0_u128..10_000_000_000,
            exponent in 6100_u128..6200,
            negative in proptest::prelude::any::<bool>(),
        ) {
            let d = Decimal128::from_bytes(bytes);
            proptest::prop_assert_eq!(decimal128_string(d), d.to_string());
            // Amounts: small coefficients, exponents around 0.
            let bits = (u128::from(negative) << 127) | (exponent << 113) | coefficient;
            let d = Decimal128::from_bytes(bits.to_le_bytes());
            proptest::prop_assert_eq!(decimal128_string(d), d.to_string());
        }
    }

    #[test]
    fn decimal128_text_of_special_forms() {
        for text in [
            "0",
            "-0",
            "0.000",
            "1E+3",
            "1.50",
            "-12.5",
            "1E-7",
            "0.000001",
            "123E-9",
            "NaN",
            "Infinity",
            "-Infinity",
            "9999999999999999999999999999999999E+6111",
            "1E-6176",
            "0E-6176",
            "0E+6111",
        ] {
            let d = decimal(text);
            assert_eq!(decimal128_string(d), d.to_string(), "{text}");
        }
    }

    #[test]
    fn coefficient_digits_are_its_decimal_spelling() {
        let max64 = u128::from(u64::MAX);
        for n in [
            1,
            9,
            10,
            1234567890,
            max64 - 1,
            max64,
            max64 + 1,
            10 * max64,
            MAX_COEFFICIENT,
        ] {
            let expected: Vec<u8> = n.to_string().bytes().map(|b| b - b'0').collect();
            assert_eq!(decimal_digits(n), expected, "{n}");
        }
    }

    fn decimal(text: &str) -> Decimal128 {
        Decimal128::from_str(text).expect("test literal is a valid Decimal128")
    }

    fn from_d128(text: &str) -> Result<String, NumericError> {
        Numeric::from_decimal128(decimal(text)).map(|n| n.to_string())
    }

    #[test]
    fn reads_decimal128_exactly() {
        let cases = [
            ("0", "0"),
            ("1.50", "1.50"),
            ("-12.345", "-12.345"),
            (
                "1234567890123456789012345678901234",
                "1234567890123456789012345678901234",
            ),
            (
                "1.234567890123456789012345678901234",
                "1.234567890123456789012345678901234",
            ),
            ("1.5E+3", "1500"),
            ("1E-18", "0.000000000000000001"),
            ("0E-5", "0.00000"),
            ("0E+5", "0"),
        ];
        for (input, expected) in cases {
            assert_eq!(from_d128(input).as_deref(), Ok(expected), "{input}");
        }
    }

    #[test]
    fn keeps_negative_zero() {
        let value = Numeric::from_decimal128(decimal("-0")).expect("-0 is finite");
        assert!(value.is_negative_zero());
        assert_eq!(value.to_string(), "-0");
        assert_eq!(value.to_postgres_text(), "0");
        assert_eq!(
            value.to_decimal128().map(|d| d.to_string()).as_deref(),
            Ok("-0")
        );
    }

    #[test]
    fn holds_the_largest_decimal128() {
        let value = Numeric::from_decimal128(decimal("9.999999999999999999999999999999999E+6144"))
            .expect("the largest Decimal128 fits a PostgreSQL numeric");
        let text = value.to_string();
        assert_eq!(text.len(), 6145);
        assert!(text.starts_with("9999999999999999999999999999999999000"));
        assert!(!value.fits(38, 18));
        let back = value.to_decimal128().expect("it came from a Decimal128");
        assert_eq!(
            back.to_string(),
            "9.999999999999999999999999999999999E+6144"
        );
    }

    #[test]
    fn holds_the_smallest_decimal128() {
        let value = Numeric::from_decimal128(decimal("1E-6176")).expect("finite");
        assert_eq!(value.scale(), 6176);
        assert_eq!(
            value.to_decimal128().map(|d| d.to_string()).as_deref(),
            Ok("1E-6176")
        );
    }

    #[test]
    fn rejects_nan_and_infinities() {
        for text in ["NaN", "Infinity", "-Infinity"] {
            assert!(
                matches!(from_d128(text), Err(NumericError::NotFinite { .. })),
                "{text} must be rejected"
            );
        }
    }

    #[test]
    fn writes_decimal128_exactly() {
        let cases = [
            ("1.50", "1.50"),
            ("-0.000000000000000001", "-1E-18"),
            (
                "1234567890123456789012345678901234",
                "1234567890123456789012345678901234",
            ),
            (
                "10000000000000000000000000000000000000000",
                "1.000000000000000000000000000000000E+40",
            ),
            (
                "9999999999999999.999999999999999999",
                "9999999999999999.999999999999999999",
            ),
        ];
        for (input, expected) in cases {
            let value = Numeric::from_str(input).expect("test literal parses");
            let d128 = value.to_decimal128().expect("fits Decimal128");
            assert_eq!(d128.to_string(), expected, "{input}");
            assert_eq!(
                Numeric::from_decimal128(d128),
                Ok(value),
                "{input} round trip by value"
            );
        }
    }

    #[test]
    fn refuses_to_round_into_decimal128() {
        let uint256 = Numeric::from_str(
            "115792089237316195423570985008687907853269984665640564039457584007913129639935",
        )
        .expect("parses");
        assert!(matches!(
            uint256.to_decimal128(),
            Err(NumericError::NotDecimal128 { .. })
        ));
        // The numeric(38,18) maximum has 38 significant digits: no Decimal128 holds it.
        let money_max =
            Numeric::from_str("99999999999999999999.999999999999999999").expect("parses");
        assert!(matches!(
            money_max.to_decimal128(),
            Err(NumericError::NotDecimal128 { .. })
        ));
        let tiny = Numeric::from_str("1E-7000").expect("within PostgreSQL scale");
        assert!(matches!(
            tiny.to_decimal128(),
            Err(NumericError::NotDecimal128 { .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn decoding_agrees_with_bson_display(bits in proptest::prelude::any::<u128>()) {
            let value = Decimal128::from_bytes(bits.to_le_bytes());
            let ours = Numeric::from_decimal128(value).map(|n| n.to_string());
            let theirs = Numeric::from_str(&value.to_string()).map(|n| n.to_string());
            proptest::prop_assert_eq!(ours, theirs);
        }

        #[test]
        fn encoding_round_trips(coefficient in 0u128..10u128.pow(34), exponent in -6176i64..=6111, negative: bool) {
            let text = format!("{}{coefficient}E{exponent}", if negative { "-" } else { "" });
            let value = Numeric::from_str(&text).map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
            let encoded = value.to_decimal128().map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
            proptest::prop_assert_eq!(Numeric::from_decimal128(encoded).map(|n| n.to_string()), Ok(value.to_string()));
            proptest::prop_assert_eq!(Numeric::from_str(&encoded.to_string()), Ok(value));
        }
    }

    #[test]
    fn non_canonical_coefficient_reads_as_zero() {
        // Coefficient 2^113 - 1 is above 10^34 - 1: IEEE 754 says the value is zero.
        let bits: u128 = (6176u128 << 113) | ((1u128 << 113) - 1);
        let value = Numeric::from_decimal128(Decimal128::from_bytes(bits.to_le_bytes()));
        assert_eq!(value.map(|n| n.is_zero()), Ok(true));
    }
}
