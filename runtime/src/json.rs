//! [`Json`]: the value of a jsonb column, held as its JSON text.
//!
//! The transform writes relaxed Extended JSON straight from the BSON bytes into this text
//! (`transform::as_json`), and PostgreSQL receives the text as it is: no `serde_json::Value`
//! tree is built on the way in, which was most of the cost of transforming the collections
//! with large jsonb fields (docs/bench-transform.md). [`Json::to_value`] parses the text when a
//! caller wants the tree (`to_mongo`, tests).

use std::error::Error;
use std::fmt;

use postgres_types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

/// A JSON value as text: what a jsonb column holds. Equality is that of the JSON values (key
/// order and spacing aside, as in PostgreSQL's jsonb), not of the texts.
#[derive(Clone)]
pub struct Json(String);

impl Json {
    /// `[]`.
    pub fn empty_array() -> Json {
        Json("[]".to_owned())
    }

    /// `{}`.
    pub fn empty_object() -> Json {
        Json("{}".to_owned())
    }

    /// The text, checked to be JSON.
    pub fn parse(text: &str) -> Result<Json, serde_json::Error> {
        serde_json::from_str::<serde::de::IgnoredAny>(text)?;
        Ok(Json(text.to_owned()))
    }

    /// Text the caller made as JSON (the transform's writer): not checked again.
    pub(crate) fn from_trusted(text: String) -> Json {
        Json(text)
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The parsed value. serde_json refuses more than 128 levels of nesting.
    pub fn to_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_str(&self.0)
    }
}

impl From<&serde_json::Value> for Json {
    fn from(value: &serde_json::Value) -> Json {
        Json(value.to_string())
    }
}

impl PartialEq for Json {
    fn eq(&self, other: &Json) -> bool {
        self.0 == other.0
            || match (self.to_value(), other.to_value()) {
                (Ok(a), Ok(b)) => a == b,
                _ => false,
            }
    }
}

impl fmt::Debug for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Json({})", self.0)
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// jsonb's binary format is a version byte (1) and the text; json's is the text.
const JSONB_VERSION: u8 = 1;

impl ToSql for Json {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        if *ty == Type::JSONB {
            out.extend_from_slice(&[JSONB_VERSION]);
        }
        out.extend_from_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSONB || *ty == Type::JSON
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for Json {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Json, Box<dyn Error + Sync + Send>> {
        let text = match (*ty == Type::JSONB, raw.split_first()) {
            (false, _) => raw,
            (true, Some((&JSONB_VERSION, text))) => text,
            (true, _) => return Err("unsupported jsonb encoding version".into()),
        };
        Ok(Json(std::str::from_utf8(text)?.to_owned()))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSONB || *ty == Type::JSON
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality_is_of_the_values_not_the_texts() {
        let a = Json::parse(r#"{"a": 1, "b": [true, null]}"#).unwrap();
        let b = Json::parse(r#"{"b":[true,null],"a":1}"#).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, Json::parse(r#"{"a": 2, "b": [true, null]}"#).unwrap());
        assert_ne!(Json::empty_array(), Json::empty_object());
    }

    #[test]
    fn parse_refuses_what_is_not_json() {
        assert!(Json::parse("{").is_err());
        assert!(Json::parse("[1] 2").is_err());
        assert_eq!(Json::parse(" 3 ").unwrap().as_str(), " 3 ");
    }

    #[test]
    fn wire_formats_of_json_and_jsonb() {
        let value = Json::parse(r#"{"k":"v"}"#).unwrap();
        let mut out = bytes::BytesMut::new();
        value.to_sql(&Type::JSONB, &mut out).unwrap();
        assert_eq!(&out[..], b"\x01{\"k\":\"v\"}");
        assert_eq!(Json::from_sql(&Type::JSONB, &out).unwrap(), value);
        let mut out = bytes::BytesMut::new();
        value.to_sql(&Type::JSON, &mut out).unwrap();
        assert_eq!(&out[..], b"{\"k\":\"v\"}");
        assert!(Json::from_sql(&Type::JSONB, b"\x02{}").is_err());
    }
}
