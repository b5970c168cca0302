//! The two type systems side by side: BSON types of the documents and Postgres types of the
//! columns, with the rules of which BSON type may be stored in which Postgres type.

use std::fmt;

use serde::{Serialize, Serializer};

/// A BSON type as written in the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BsonType {
    /// `objectId`.
    ObjectId,
    /// `string`.
    String,
    /// `int32`.
    Int32,
    /// `int64`.
    Int64,
    /// `double`.
    Double,
    /// `number`: Mongoose `Number`, any of int32, int64 and double.
    Number,
    /// `decimal128`.
    Decimal128,
    /// `bool`.
    Bool,
    /// `date`.
    Date,
    /// `binData`.
    BinData,
    /// `mixed`: any BSON value (Mongoose `Schema.Types.Mixed`).
    Mixed,
    /// `object`: an embedded document.
    Object,
    /// `array`.
    Array,
}

impl BsonType {
    /// Every type with its catalogue spelling, in documentation order.
    pub const ALL: &[(BsonType, &str)] = &[
        (BsonType::ObjectId, "objectId"),
        (BsonType::String, "string"),
        (BsonType::Int32, "int32"),
        (BsonType::Int64, "int64"),
        (BsonType::Double, "double"),
        (BsonType::Number, "number"),
        (BsonType::Decimal128, "decimal128"),
        (BsonType::Bool, "bool"),
        (BsonType::Date, "date"),
        (BsonType::BinData, "binData"),
        (BsonType::Mixed, "mixed"),
        (BsonType::Object, "object"),
        (BsonType::Array, "array"),
    ];

    /// Parses the catalogue spelling.
    pub fn parse(s: &str) -> Option<BsonType> {
        Self::ALL.iter().find(|(_, n)| *n == s).map(|(t, _)| *t)
    }

    /// The catalogue spelling.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(t, _)| *t == self)
            .map_or("?", |(_, n)| n)
    }

    /// Whether values of this type are scalars that fit one column.
    pub fn is_scalar(self) -> bool {
        !matches!(self, BsonType::Object | BsonType::Array | BsonType::Mixed)
    }
}

impl fmt::Display for BsonType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for BsonType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// A Postgres column type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PgType {
    /// `uuid`.
    Uuid,
    /// `text`.
    Text,
    /// `int4`.
    Int4,
    /// `int8`.
    Int8,
    /// `float8`.
    Float8,
    /// `numeric` or `numeric(p,s)`.
    Numeric(Option<(u32, u32)>),
    /// `boolean`.
    Boolean,
    /// `timestamptz`.
    Timestamptz,
    /// `bytea`.
    Bytea,
    /// `jsonb`.
    Jsonb,
    /// A catalogue enum type, by name.
    Enum(String),
    /// An array of a scalar type.
    Array(Box<PgType>),
}

/// The `money` preset: numeric(38,18), the plan's type for every amount.
pub const MONEY: PgType = PgType::Numeric(Some((38, 18)));
/// The `uint256` preset: numeric(78,0) holds 2^256 - 1 exactly.
pub const UINT256: PgType = PgType::Numeric(Some((78, 0)));

/// The spellings `pg:` accepts, for hints and the JSON Schema.
pub const PG_TYPE_NAMES: &[&str] = &[
    "uuid",
    "text",
    "int4",
    "int8",
    "float8",
    "numeric",
    "numeric(p,s)",
    "money",
    "uint256",
    "boolean",
    "timestamptz",
    "bytea",
    "jsonb",
];

impl PgType {
    /// Parses a `pg:` value: a scalar name, a preset, `numeric(p,s)`, or any of them with `[]`.
    pub fn parse(s: &str) -> Result<PgType, String> {
        let s = s.trim();
        if let Some(inner) = s.strip_suffix("[]") {
            let elem = PgType::parse(inner)?;
            if matches!(elem, PgType::Array(_) | PgType::Jsonb) {
                return Err(format!("`{s}`: arrays of {elem} are not supported"));
            }
            return Ok(PgType::Array(Box::new(elem)));
        }
        Ok(match s {
            "uuid" => PgType::Uuid,
            "text" => PgType::Text,
            "int4" => PgType::Int4,
            "int8" => PgType::Int8,
            "float8" => PgType::Float8,
            "numeric" => PgType::Numeric(None),
            "money" => MONEY,
            "uint256" => UINT256,
            "boolean" => PgType::Boolean,
            "timestamptz" => PgType::Timestamptz,
            "bytea" => PgType::Bytea,
            "jsonb" => PgType::Jsonb,
            _ => return parse_numeric(s).ok_or_else(|| format!("unknown Postgres type `{s}`")),
        })
    }

    /// Whether the type is a number that stores every value exactly.
    pub fn is_exact_number(&self) -> bool {
        matches!(self, PgType::Int4 | PgType::Int8 | PgType::Numeric(_))
    }
}

fn parse_numeric(s: &str) -> Option<PgType> {
    let args = s.strip_prefix("numeric(")?.strip_suffix(')')?;
    let (p, sc) = args.split_once(',')?;
    let (p, sc): (u32, u32) = (p.trim().parse().ok()?, sc.trim().parse().ok()?);
    // Postgres allows precision 1..=1000 and a scale no larger than the precision here.
    (1..=1000).contains(&p).then_some(())?;
    (sc <= p).then_some(PgType::Numeric(Some((p, sc))))
}

impl fmt::Display for PgType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PgType::Uuid => f.write_str("uuid"),
            PgType::Text => f.write_str("text"),
            PgType::Int4 => f.write_str("int4"),
            PgType::Int8 => f.write_str("int8"),
            PgType::Float8 => f.write_str("float8"),
            PgType::Numeric(None) => f.write_str("numeric"),
            PgType::Numeric(Some((p, s))) => write!(f, "numeric({p},{s})"),
            PgType::Boolean => f.write_str("boolean"),
            PgType::Timestamptz => f.write_str("timestamptz"),
            PgType::Bytea => f.write_str("bytea"),
            PgType::Jsonb => f.write_str("jsonb"),
            PgType::Enum(name) => f.write_str(name),
            PgType::Array(elem) => write!(f, "{elem}[]"),
        }
    }
}

impl Serialize for PgType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The Postgres type a scalar BSON type gets when `pg:` is not given; `None` when it must be said.
pub fn default_pg(bson: BsonType) -> Option<PgType> {
    Some(match bson {
        BsonType::ObjectId => PgType::Uuid,
        BsonType::String => PgType::Text,
        BsonType::Int32 => PgType::Int4,
        BsonType::Int64 => PgType::Int8,
        BsonType::Double => PgType::Float8,
        BsonType::Decimal128 => PgType::Numeric(None),
        BsonType::Bool => PgType::Boolean,
        BsonType::Date => PgType::Timestamptz,
        BsonType::BinData => PgType::Bytea,
        BsonType::Mixed => PgType::Jsonb,
        BsonType::Number | BsonType::Object | BsonType::Array => return None,
    })
}

/// Whether values of `bson` can be stored in `pg` (scalar, non-enum types). `has_resolver` says a
/// reference resolver turns strings into uuids. On `Err`, the reason, for the diagnostic.
pub fn compatible(bson: BsonType, pg: &PgType, has_resolver: bool) -> Result<(), String> {
    use BsonType as B;
    use PgType as P;
    let ok = match (bson, pg) {
        (B::ObjectId, P::Uuid | P::Text) => true,
        (B::String, P::Text) => true,
        (B::String, P::Uuid) => has_resolver,
        (B::String, P::Numeric(_)) => true,
        (B::Int32, P::Int4 | P::Int8 | P::Float8 | P::Numeric(_)) => true,
        (B::Int64, P::Int8 | P::Numeric(_)) => true,
        (B::Double | B::Number, P::Int4 | P::Int8 | P::Float8 | P::Numeric(_)) => true,
        (B::Decimal128, P::Numeric(_)) => true,
        (B::Bool, P::Boolean) => true,
        (B::Date, P::Timestamptz) => true,
        (B::BinData, P::Bytea) => true,
        (B::Mixed, P::Jsonb) => true,
        _ => false,
    };
    if ok {
        return Ok(());
    }
    Err(match (bson, pg) {
        (B::String, P::Uuid) => "a string becomes a uuid only through a reference resolver".into(),
        (B::Int64, P::Int4) => "int64 values do not fit int4".into(),
        (B::Int64, P::Float8) => "float8 rounds int64 values above 2^53".into(),
        (B::Decimal128, P::Float8) => {
            "float8 rounds decimal128 values; money must stay exact".into()
        }
        _ => format!("BSON {bson} values cannot be stored as {pg}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_presets_and_arrays() {
        assert_eq!(
            PgType::parse("money").unwrap().to_string(),
            "numeric(38,18)"
        );
        assert_eq!(
            PgType::parse("uint256").unwrap().to_string(),
            "numeric(78,0)"
        );
        assert_eq!(
            PgType::parse("numeric(10, 2)").unwrap().to_string(),
            "numeric(10,2)"
        );
        assert_eq!(PgType::parse("text[]").unwrap().to_string(), "text[]");
        assert!(PgType::parse("numeric(2,3)").is_err());
        assert!(PgType::parse("jsonb[]").is_err());
        assert!(PgType::parse("varchar").is_err());
    }

    #[test]
    fn refuses_impossible_pairs() {
        assert!(compatible(BsonType::String, &PgType::Uuid, false).is_err());
        assert!(compatible(BsonType::String, &PgType::Uuid, true).is_ok());
        assert!(compatible(BsonType::Bool, &PgType::Int4, false).is_err());
        assert!(compatible(BsonType::Int64, &PgType::Int4, false).is_err());
        assert!(compatible(BsonType::String, &UINT256, false).is_ok());
    }
}
