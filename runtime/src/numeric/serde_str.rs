//! Serde for [`Numeric`]: a decimal string, so JSON readers never turn money into a float.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Numeric;

impl Serialize for Numeric {
    /// Writes the [`Display`](fmt::Display) form, e.g. `"1.50"`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Numeric {
    /// Reads a decimal string (plain or exponent form) or an integer; a float is refused
    /// because the format that produced it may already have rounded it.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Numeric, D::Error> {
        deserializer.deserialize_any(NumericVisitor)
    }
}

/// Accepts strings and integers.
struct NumericVisitor;

impl Visitor<'_> for NumericVisitor {
    type Value = Numeric;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal number as a string, such as \"12.50\"")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Numeric, E> {
        Numeric::from_str(text).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Numeric, E> {
        Ok(Numeric::from_i64(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Numeric, E> {
        Numeric::from_str(&value.to_string()).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_a_string_keeping_scale() {
        let value = Numeric::from_str("1.50").expect("parses");
        assert_eq!(
            serde_json::to_string(&value).ok().as_deref(),
            Some("\"1.50\"")
        );
    }

    #[test]
    fn deserializes_strings_and_integers_but_not_floats() {
        let from_string: Numeric =
            serde_json::from_str("\"-0.000000000000000001\"").expect("string");
        assert_eq!(from_string.to_string(), "-0.000000000000000001");
        let from_int: Numeric = serde_json::from_str("18446744073709551615").expect("u64");
        assert_eq!(from_int.to_string(), "18446744073709551615");
        assert!(serde_json::from_str::<Numeric>("1.5").is_err());
        assert!(serde_json::from_str::<Numeric>("\"abc\"").is_err());
    }
}
