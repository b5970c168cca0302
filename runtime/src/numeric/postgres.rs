//! PostgreSQL's binary `NUMERIC` format for [`Numeric`], used by `ToSql`/`FromSql` and binary
//! `COPY`.
//!
//! The format (PostgreSQL `numeric_send`): `ndigits` u16, `weight` i16, `sign` u16 (`0x0000`
//! positive, `0x4000` negative, `0xC000` NaN, `0xD000`/`0xF000` ±Infinity), `dscale` u16, then
//! `ndigits` base-10000 digits as i16, most significant first. The first digit is worth
//! `10000^weight`.

use std::error::Error;

use bytes::{BufMut, BytesMut};
use postgres_types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

use super::{Numeric, NumericError};

/// Sign word of a positive value (and of zero).
const SIGN_POSITIVE: u16 = 0x0000;
/// Sign word of a negative value.
const SIGN_NEGATIVE: u16 = 0x4000;
/// Sign word of NaN.
const SIGN_NAN: u16 = 0xC000;
/// Sign word of `Infinity` (PostgreSQL 14+).
const SIGN_INFINITY: u16 = 0xD000;
/// Sign word of `-Infinity` (PostgreSQL 14+).
const SIGN_NEG_INFINITY: u16 = 0xF000;

impl Numeric {
    /// Appends the value in PostgreSQL's binary `numeric` format (without a length prefix).
    ///
    /// A negative zero is written as `0`. Values beyond PostgreSQL's limits (only reachable by
    /// adding) are [`NumericError::OutOfRange`].
    pub fn write_postgres_binary(&self, out: &mut BytesMut) -> Result<(), NumericError> {
        let scale = i64::from(self.scale);
        if self.is_zero() {
            out.put_u16(0);
            out.put_i16(0);
            out.put_u16(SIGN_POSITIVE);
            out.put_u16(self.scale);
            return Ok(());
        }
        // The digit at index k is worth 10^(top - k); base-10000 group g holds powers 4g..4g+3.
        let top = self.integer_positions() - 1;
        let weight = top.div_euclid(4);
        let lowest_group = (-scale).div_euclid(4);
        let weight16 = i16::try_from(weight).map_err(|_| self.out_of_range())?;
        let mut groups = vec![0i16; usize::try_from(weight - lowest_group + 1).unwrap_or(0)];
        for (k, digit) in self.digits.iter().enumerate() {
            let power = top - k as i64;
            let index = (weight - power.div_euclid(4)) as usize;
            let multiplier = [1, 10, 100, 1000][power.rem_euclid(4) as usize];
            if let Some(group) = groups.get_mut(index) {
                *group += i16::from(*digit) * multiplier;
            }
        }
        let used = groups
            .iter()
            .rposition(|g| *g != 0)
            .map_or(0, |last| last + 1);
        let ndigits = u16::try_from(used).map_err(|_| self.out_of_range())?;
        out.reserve(8 + 2 * used);
        out.put_u16(ndigits);
        out.put_i16(weight16);
        out.put_u16(if self.negative {
            SIGN_NEGATIVE
        } else {
            SIGN_POSITIVE
        });
        out.put_u16(self.scale);
        for group in &groups[..used] {
            out.put_i16(*group);
        }
        Ok(())
    }

    /// Reads one value in PostgreSQL's binary `numeric` format.
    ///
    /// NaN and ±Infinity are [`NumericError::NotFinite`]; non-zero digits beyond `dscale` (which
    /// PostgreSQL would truncate) and other malformed input are [`NumericError::Wire`].
    pub fn read_postgres_binary(raw: &[u8]) -> Result<Numeric, NumericError> {
        let word = |i: usize| {
            raw.get(i..i + 2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
                .ok_or(NumericError::Wire("too short"))
        };
        let ndigits = usize::from(word(0)?);
        let weight = i64::from(word(2)? as i16);
        let sign = word(4)?;
        let dscale = word(6)?;
        let negative = match sign {
            SIGN_POSITIVE => false,
            SIGN_NEGATIVE => true,
            SIGN_NAN => {
                return Err(NumericError::NotFinite {
                    value: "NaN".to_owned(),
                });
            }
            SIGN_INFINITY => {
                return Err(NumericError::NotFinite {
                    value: "Infinity".to_owned(),
                });
            }
            SIGN_NEG_INFINITY => {
                return Err(NumericError::NotFinite {
                    value: "-Infinity".to_owned(),
                });
            }
            _ => return Err(NumericError::Wire("unknown sign word")),
        };
        if dscale > Numeric::MAX_SCALE {
            return Err(NumericError::Wire("dscale above 16383"));
        }
        if raw.len() != 8 + 2 * ndigits {
            return Err(NumericError::Wire("length does not match ndigits"));
        }
        let mut groups = Vec::with_capacity(ndigits);
        for i in 0..ndigits {
            let group = word(8 + 2 * i)?;
            if group > 9999 {
                return Err(NumericError::Wire("base-10000 digit above 9999"));
            }
            groups.push(group);
        }
        let scale = i64::from(dscale);
        let digit_at = |power: i64| -> u8 {
            let index = weight - power.div_euclid(4);
            let group = usize::try_from(index)
                .ok()
                .and_then(|i| groups.get(i))
                .copied()
                .unwrap_or(0);
            let divisor = [1, 10, 100, 1000][power.rem_euclid(4) as usize];
            ((group / divisor) % 10) as u8
        };
        let top = 4 * weight + 3;
        let bottom = 4 * (weight - ndigits as i64 + 1);
        if (bottom..(-scale).min(top + 1)).any(|p| digit_at(p) != 0) {
            return Err(NumericError::Wire("non-zero digits beyond dscale"));
        }
        let digits = if ndigits == 0 {
            Vec::new()
        } else {
            (-scale..=top).rev().map(digit_at).collect()
        };
        Numeric::from_parts(negative, digits, scale, || "binary numeric".to_owned())
    }

    /// The error for a value that PostgreSQL cannot hold.
    fn out_of_range(&self) -> NumericError {
        NumericError::OutOfRange {
            value: self.snippet(),
        }
    }
}

impl ToSql for Numeric {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        self.write_postgres_binary(out)?;
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for Numeric {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Numeric, Box<dyn Error + Sync + Send>> {
        Ok(Numeric::read_postgres_binary(raw)?)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    /// Encodes `text` and returns (ndigits, weight, sign, dscale, digits).
    fn wire(text: &str) -> (u16, i16, u16, u16, Vec<i16>) {
        let value = Numeric::from_str(text).expect("test literal parses");
        let mut out = BytesMut::new();
        value.write_postgres_binary(&mut out).expect("encodes");
        let words: Vec<u16> = out
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        let digits = words[4..].iter().map(|w| *w as i16).collect();
        (words[0], words[1] as i16, words[2], words[3], digits)
    }

    fn round_trip(text: &str) -> String {
        let value = Numeric::from_str(text).expect("test literal parses");
        let mut out = BytesMut::new();
        value.write_postgres_binary(&mut out).expect("encodes");
        Numeric::read_postgres_binary(&out)
            .expect("decodes")
            .to_string()
    }

    #[test]
    fn encodes_like_postgres() {
        // Expected words are what PostgreSQL 15's numeric_send produces for the same literal.
        assert_eq!(wire("0"), (0, 0, 0, 0, vec![]));
        assert_eq!(wire("-0.00"), (0, 0, 0, 2, vec![]));
        assert_eq!(wire("1"), (1, 0, 0, 0, vec![1]));
        assert_eq!(wire("-1"), (1, 0, 0x4000, 0, vec![1]));
        assert_eq!(wire("0.0001"), (1, -1, 0, 4, vec![1]));
        assert_eq!(wire("10000"), (1, 1, 0, 0, vec![1]));
        assert_eq!(wire("12345.6789"), (3, 1, 0, 4, vec![1, 2345, 6789]));
        assert_eq!(wire("1.50"), (2, 0, 0, 2, vec![1, 5000]));
        assert_eq!(wire("0.000000000000000001"), (1, -5, 0, 18, vec![100]));
    }

    #[test]
    fn binary_round_trips_keep_value_and_scale() {
        let cases = [
            "0",
            "1",
            "-1",
            "0.0001",
            "10000",
            "0.000000000000000001",
            "99999999999999999999.999999999999999999",
            "-99999999999999999999.999999999999999999",
            "115792089237316195423570985008687907853269984665640564039457584007913129639935",
            "1.50",
            "100.000",
            "0.00",
            "123456789.000000001",
            "9999.9999",
            "0.1",
        ];
        for text in cases {
            assert_eq!(round_trip(text), text);
        }
        assert_eq!(
            round_trip("-0.000"),
            "0.000",
            "PostgreSQL has no negative zero"
        );
    }

    #[test]
    fn decodes_special_and_malformed_values() {
        let nan = [0, 0, 0, 0, 0xC0, 0, 0, 0];
        assert!(matches!(
            Numeric::read_postgres_binary(&nan),
            Err(NumericError::NotFinite { .. })
        ));
        let infinity = [0, 0, 0, 0, 0xD0, 0, 0, 0];
        assert!(matches!(
            Numeric::read_postgres_binary(&infinity),
            Err(NumericError::NotFinite { .. })
        ));
        assert!(matches!(
            Numeric::read_postgres_binary(&[0, 1]),
            Err(NumericError::Wire(_))
        ));
        // 1.2345 claimed with dscale 2: PostgreSQL would truncate; we refuse.
        let hidden = [0, 2, 0, 0, 0, 0, 0, 2, 0, 1, 0x09, 0x29];
        assert_eq!(
            Numeric::read_postgres_binary(&hidden),
            Err(NumericError::Wire("non-zero digits beyond dscale"))
        );
        let big_digit = [0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10];
        assert!(matches!(
            Numeric::read_postgres_binary(&big_digit),
            Err(NumericError::Wire(_))
        ));
    }
}
