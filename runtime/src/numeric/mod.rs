//! Exact decimal numbers: text, BSON Decimal128, `f64` and integers in, PostgreSQL `NUMERIC` out
//! (and back), with no rounding anywhere.
//!
//! # Representation
//!
//! [`Numeric`] is hand-written: a sign, the decimal digits of the coefficient (one byte per digit,
//! most significant first, no leading zeros) and a scale (digits after the point, PostgreSQL's
//! `dscale`). Every operation the generated code needs (parse, print, compare, add, Decimal128 and
//! the base-10000 wire format) is digit shuffling, so no big-integer arithmetic is required:
//! `rust_decimal` rounds 34-digit values silently and cannot hold `numeric(78,0)`, and `bigdecimal`
//! would still need a separate negative-zero flag, a non-exponent `Display` and our own Decimal128
//! and wire codecs, so it would bring a dependency tree without removing code.
//!
//! # Limits
//!
//! A value holds what an unconstrained PostgreSQL `numeric` holds: at most
//! [`Numeric::MAX_INTEGER_DIGITS`] digits before the point and [`Numeric::MAX_SCALE`] after.
//! Every finite Decimal128 fits, including `9.999999999999999999999999999999999E+6144` (6145
//! integer digits). Anything larger is [`NumericError::OutOfRange`], never truncated.
//!
//! # Negative zero
//!
//! A `-0` read from text or Decimal128 keeps its sign ([`Numeric::is_negative_zero`]) and prints as
//! `-0`. PostgreSQL has no negative zero, so it is sent as `0`; compare and hash treat it as `0`.

mod arith;
mod decimal128;
mod error;
mod postgres;
mod serde_str;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

pub use error::NumericError;

pub(crate) use decimal128::decimal128_string;

/// An exact decimal number of arbitrary precision, the Rust side of a PostgreSQL `NUMERIC`.
///
/// Equality, ordering and hashing follow the numeric value: `1.50 == 1.5` and `-0 == 0`, while
/// [`Display`](fmt::Display) keeps the scale (`1.50` prints as `1.50`).
#[derive(Clone, Default)]
pub struct Numeric {
    /// True for values below zero, and for a negative zero.
    negative: bool,
    /// Decimal digits `0..=9` of the coefficient, most significant first; empty for zero.
    digits: Vec<u8>,
    /// Number of digits after the decimal point.
    scale: u16,
}

impl Numeric {
    /// The most digits before the decimal point, as in PostgreSQL `numeric`.
    pub const MAX_INTEGER_DIGITS: usize = 131_072;
    /// The largest scale (digits after the point), PostgreSQL's largest `dscale`.
    pub const MAX_SCALE: u16 = 16_383;

    /// Zero, with no digits after the point.
    pub fn zero() -> Numeric {
        Numeric::default()
    }

    /// The exact value of an `i32`.
    pub fn from_i32(value: i32) -> Numeric {
        Numeric::from_i64(i64::from(value))
    }

    /// The exact value of an `i64`.
    pub fn from_i64(value: i64) -> Numeric {
        let digits = value
            .unsigned_abs()
            .to_string()
            .bytes()
            .map(|b| b - b'0')
            .collect();
        Numeric::normalized(value < 0, digits, 0)
    }

    /// The shortest decimal that reads back as exactly `value` (Rust's `{}` format of `f64`).
    ///
    /// `0.1` gives `0.1`, not the binary expansion; `-0.0` gives a negative zero. NaN and the
    /// infinities are [`NumericError::NotFinite`].
    pub fn from_f64(value: f64) -> Result<Numeric, NumericError> {
        if !value.is_finite() {
            return Err(NumericError::NotFinite {
                value: value.to_string(),
            });
        }
        Numeric::from_str(&value.to_string())
    }

    /// Number of digits after the decimal point (`1.50` has scale 2).
    pub fn scale(&self) -> u16 {
        self.scale
    }

    /// Whether the value is zero (either sign).
    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// Whether the value is strictly below zero (a negative zero is not).
    pub fn is_negative(&self) -> bool {
        self.negative && !self.is_zero()
    }

    /// Whether the value is a zero that carried a minus sign (BSON Decimal128 `-0`, text `-0.00`).
    ///
    /// PostgreSQL stores such a value as `0`: callers that must not lose the sign check this.
    pub fn is_negative_zero(&self) -> bool {
        self.negative && self.is_zero()
    }

    /// Whether the value fits `numeric(precision, scale)` without rounding.
    ///
    /// Trailing fractional zeros do not count (`1.50` fits `numeric(5,1)`), any other digit past
    /// `scale` does, and the value must be below `10^(precision - scale)` in magnitude. Negative
    /// scales and scales above the precision follow PostgreSQL 15.
    pub fn fits(&self, precision: u32, scale: i32) -> bool {
        self.check(precision, scale).is_ok()
    }

    /// Like [`fits`](Self::fits), but says why a value does not fit.
    pub fn check(&self, precision: u32, scale: i32) -> Result<(), NumericError> {
        if self.is_zero() {
            return Ok(());
        }
        let trailing_zeros = self.digits.iter().rev().take_while(|d| **d == 0).count() as i64;
        let lowest_power = trailing_zeros - i64::from(self.scale);
        if lowest_power < -i64::from(scale) {
            return Err(NumericError::WouldRound {
                value: self.snippet(),
                precision,
                scale,
            });
        }
        if self.integer_positions() > i64::from(precision) - i64::from(scale) {
            return Err(NumericError::TooLarge {
                value: self.snippet(),
                precision,
                scale,
            });
        }
        Ok(())
    }

    /// The value as PostgreSQL prints it: like [`Display`](fmt::Display), but a negative zero
    /// loses its sign. Use it for text-format `COPY` and for comparing with `::text` output.
    pub fn to_postgres_text(&self) -> String {
        if self.is_negative_zero() {
            Numeric {
                negative: false,
                digits: Vec::new(),
                scale: self.scale,
            }
            .to_string()
        } else {
            self.to_string()
        }
    }

    /// Count of digit positions before the point: 3 for `123.4`, -1 for `0.05`.
    fn integer_positions(&self) -> i64 {
        self.digits.len() as i64 - i64::from(self.scale)
    }

    /// The value as text for an error message, cut short when very long.
    fn snippet(&self) -> String {
        snippet(&self.to_string())
    }

    /// Builds a value from a coefficient (leading zeros allowed) and a scale that may be negative
    /// (an exponent), checking the PostgreSQL limits. `source` renders the input for an error
    /// (only then: it may cost a formatting).
    fn from_parts(
        negative: bool,
        mut digits: Vec<u8>,
        scale: i64,
        source: impl Fn() -> String,
    ) -> Result<Numeric, NumericError> {
        let leading = digits.iter().take_while(|d| **d == 0).count();
        digits.drain(..leading);
        let out_of_range = || NumericError::OutOfRange {
            value: snippet(&source()),
        };
        let scale = if scale < 0 {
            if !digits.is_empty() {
                let added = usize::try_from(-scale).map_err(|_| out_of_range())?;
                if digits.len().saturating_add(added) > Self::MAX_INTEGER_DIGITS {
                    return Err(out_of_range());
                }
                digits.resize(digits.len() + added, 0);
            }
            0
        } else {
            u16::try_from(scale)
                .ok()
                .filter(|s| *s <= Self::MAX_SCALE)
                .ok_or_else(out_of_range)?
        };
        if digits.len().saturating_sub(usize::from(scale)) > Self::MAX_INTEGER_DIGITS {
            return Err(out_of_range());
        }
        Ok(Numeric {
            negative,
            digits,
            scale,
        })
    }

    /// Builds a value from digits already known to be within limits.
    fn normalized(negative: bool, mut digits: Vec<u8>, scale: u16) -> Numeric {
        let leading = digits.iter().take_while(|d| **d == 0).count();
        digits.drain(..leading);
        Numeric {
            negative,
            digits,
            scale,
        }
    }
}

impl From<i32> for Numeric {
    fn from(value: i32) -> Numeric {
        Numeric::from_i32(value)
    }
}

impl From<i64> for Numeric {
    fn from(value: i64) -> Numeric {
        Numeric::from_i64(value)
    }
}

impl FromStr for Numeric {
    type Err = NumericError;

    /// Reads plain (`-12.50`) and exponent (`1.5E+3`, `1e-18`) forms exactly.
    ///
    /// A `+` or `-` sign may lead; no spaces are allowed. The exponent form keeps the digits it
    /// implies: `1.5E+3` is `1500`, `1.50E-1` is `0.150`. NaN and infinities are
    /// [`NumericError::NotFinite`].
    fn from_str(text: &str) -> Result<Numeric, NumericError> {
        let bytes = text.as_bytes();
        let (negative, body) = match bytes.first() {
            Some(b'-') => (true, &bytes[1..]),
            Some(b'+') => (false, &bytes[1..]),
            _ => (false, bytes),
        };
        let lower = body.to_ascii_lowercase();
        if matches!(lower.as_slice(), b"nan" | b"snan" | b"inf" | b"infinity") {
            return Err(NumericError::NotFinite {
                value: snippet(text),
            });
        }
        let invalid = || NumericError::Invalid {
            input: snippet(text),
        };
        let mut digits = Vec::with_capacity(body.len());
        let mut fraction_digits: i64 = 0;
        let mut seen_point = false;
        let mut rest = body;
        while let Some((&b, tail)) = rest.split_first() {
            match b {
                b'0'..=b'9' => {
                    digits.push(b - b'0');
                    if seen_point {
                        fraction_digits += 1;
                    }
                }
                b'.' if !seen_point => seen_point = true,
                b'e' | b'E' => break,
                _ => return Err(invalid()),
            }
            rest = tail;
        }
        if digits.is_empty() {
            return Err(invalid());
        }
        let exponent = match rest.split_first() {
            None => 0,
            Some((_, exponent)) => parse_exponent(exponent).ok_or_else(invalid)?,
        };
        Numeric::from_parts(
            negative,
            digits,
            fraction_digits.saturating_sub(exponent),
            || text.to_owned(),
        )
    }
}

/// Reads an exponent such as `+3`, `-18` or `6144`; huge exponents saturate (and are then out of
/// range), garbage is `None`.
fn parse_exponent(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let magnitude = digits.iter().fold(0i64, |acc, d| {
        acc.saturating_mul(10).saturating_add(i64::from(d - b'0'))
    });
    Some(if negative { -magnitude } else { magnitude })
}

impl fmt::Display for Numeric {
    /// Plain notation, never an exponent, with exactly [`scale`](Numeric::scale) fractional
    /// digits; a negative zero prints as `-0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scale = usize::from(self.scale);
        let mut out = String::with_capacity(self.digits.len() + scale + 3);
        if self.negative {
            out.push('-');
        }
        let integer_len = self.digits.len().saturating_sub(scale);
        if integer_len == 0 {
            out.push('0');
        }
        out.extend(
            self.digits[..integer_len]
                .iter()
                .map(|d| char::from(b'0' + d)),
        );
        if scale > 0 {
            out.push('.');
            out.extend(std::iter::repeat_n(
                '0',
                scale.saturating_sub(self.digits.len()),
            ));
            out.extend(
                self.digits[integer_len..]
                    .iter()
                    .map(|d| char::from(b'0' + d)),
            );
        }
        f.pad(&out)
    }
}

impl fmt::Debug for Numeric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Numeric({self})")
    }
}

/// Cuts long text for error messages, keeping the head and the length.
fn snippet(text: &str) -> String {
    const LIMIT: usize = 60;
    if text.len() <= LIMIT {
        return text.to_owned();
    }
    let head: String = text.chars().take(LIMIT).collect();
    format!("{head}... ({} characters)", text.len())
}
