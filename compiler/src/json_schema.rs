//! The JSON Schema (draft 2020-12) of a model file, printed by `schemac schema` so that editors
//! validate and complete catalogue files. A test keeps its keys equal to the decoder's.

use serde_json::{Value, json};

use crate::types::{BsonType, PG_TYPE_NAMES};

fn bson_type() -> Value {
    let names: Vec<&str> = BsonType::ALL.iter().map(|(_, n)| *n).collect();
    json!({
        "oneOf": [
            { "enum": names },
            { "type": "array", "items": { "enum": names }, "minItems": 1 }
        ],
        "description": "BSON type(s) found in documents"
    })
}

fn pg_type() -> Value {
    json!({
        "type": "string",
        "description": format!("Postgres type: {} (append [] for arrays)", PG_TYPE_NAMES.join(", ")),
        "pattern": "^(uuid|text|int4|int8|float8|numeric|numeric\\(\\d+,\\s*\\d+\\)|money|uint256|boolean|timestamptz|bytea|jsonb)(\\[\\])?$"
    })
}

fn enum_use() -> Value {
    json!({
        "oneOf": [
            { "type": "string", "description": "name of an enum declared under `enums:`" },
            { "type": "array", "items": { "type": "string" }, "minItems": 1, "description": "inline values" }
        ]
    })
}

fn reference() -> Value {
    json!({
        "oneOf": [
            { "type": "string", "description": "target model name" },
            {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "model": { "type": "string" },
                    "fk": { "type": "boolean" },
                    "on_delete": { "enum": ["restrict", "cascade", "set_null"] },
                    "discriminator": { "type": "string", "description": "Mongoose refPath: the field naming the model" }
                }
            }
        ]
    })
}

fn field() -> Value {
    let s = |d: &str| json!({ "type": "string", "description": d });
    let b = |d: &str| json!({ "type": "boolean", "description": d });
    json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "bson": bson_type(),
            "pg": pg_type(),
            "column": s("Postgres column name (default: snake_case of the key)"),
            "required": b("Mongoose required: NOT NULL"),
            "nullable": b("override the derived nullability"),
            "default": { "description": "Mongoose default; `now` for Date.now" },
            "pg_default": { "type": ["string", "null"], "description": "SQL default expression; null for none" },
            "unique": b("unique index on the column"),
            "index": b("index on the column"),
            "sparse": b("Mongo sparse: the index skips NULLs"),
            "enum": enum_use(),
            "ref": reference(),
            "polymorphic": {
                "type": "object",
                "additionalProperties": false,
                "required": ["kinds"],
                "properties": {
                    "target": { "type": "string" },
                    "kinds": { "type": "array", "items": { "enum": ["entity", "template"] }, "minItems": 1 },
                    "fk": { "type": "boolean" }
                }
            },
            "store": { "enum": ["flatten", "table", "jsonb", "array"] },
            "prefix": s("column prefix of a flattened object"),
            "table": s("child table name"),
            "parent_column": s("FK column of a child table"),
            "item_id": b("array items carry their own _id"),
            "items": {
                "oneOf": [
                    { "enum": BsonType::ALL.iter().map(|(_, n)| *n).collect::<Vec<_>>() },
                    {
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["bson"],
                        "properties": { "bson": bson_type(), "pg": pg_type(), "enum": enum_use(), "ref": reference() }
                    }
                ]
            },
            "fields": { "$ref": "#/$defs/fields" },
            "renamed_from": s("previous column name"),
            "lossy": s("why the round trip is not exact"),
            "skip": s("why the field is not stored"),
            "description": s("column comment"),
            "check": s("SQL boolean expression over the table's columns (Mongoose min, max, maxlength...)")
        }
    })
}

/// The schema document.
pub fn schema() -> Value {
    let duration = json!({ "type": "string", "pattern": "^\\d+\\s*(s|seconds?|m|minutes?|h|hours?|d|days?)$" });
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://schemac.dev/catalogue.schema.json",
        "title": "schemac model file",
        "type": "object",
        "additionalProperties": false,
        "required": ["model", "collection", "phase", "fields"],
        "properties": {
            "model": { "type": "string" },
            "collection": { "type": "string" },
            "table": { "type": "string" },
            "renamed_from": { "type": "string", "description": "the table's previous name: migrations rename it" },
            "phase": { "type": "integer", "minimum": 1, "maximum": 9 },
            "description": { "type": "string" },
            "timestamps": {
                "oneOf": [
                    { "type": "boolean" },
                    {
                        "type": "object",
                        "additionalProperties": false,
                        "properties": { "created_at": { "type": "boolean" }, "updated_at": { "type": "boolean" } }
                    }
                ]
            },
            "version_key": { "enum": ["keep", "drop", "none"] },
            "enums": {
                "type": "object",
                "additionalProperties": { "type": "array", "items": { "type": "string" }, "minItems": 1 }
            },
            "fields": { "$ref": "#/$defs/fields" },
            "indexes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "name": { "type": "string", "maxLength": 63 },
                        "fields": { "type": "array", "items": { "type": "string" }, "minItems": 1 },
                        "expression": { "type": "string" },
                        "unique": { "type": "boolean" },
                        "sparse": { "type": "boolean" },
                        "where": { "type": "string" },
                        "using": { "enum": ["btree", "gin", "gist", "hash", "brin"] }
                    }
                }
            },
            "ttl": {
                "type": "object",
                "additionalProperties": false,
                "required": ["field", "cadence"],
                "properties": {
                    "field": { "type": "string" },
                    "after": duration,
                    "cadence": duration,
                    "batch": { "type": "integer", "minimum": 1 }
                }
            },
            "invariants": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "append_only": { "type": "boolean" },
                    "one_primary": {
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["flag", "per"],
                        "properties": { "flag": { "type": "string" }, "per": { "type": "array", "items": { "type": "string" } } }
                    },
                    "slug": {
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["field", "from"],
                        "properties": { "field": { "type": "string" }, "from": { "type": "string" } }
                    },
                    "timeline": timeline()
                }
            }
        },
        "$defs": {
            "fields": { "type": "object", "additionalProperties": { "$ref": "#/$defs/field" } },
            "field": field()
        }
    })
}

fn timeline() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["field", "status", "entry"],
        "properties": {
            "field": { "type": "string" },
            "status": { "type": "string" },
            "entry": { "type": "object", "additionalProperties": { "type": "string" }, "description": "the appended object: key -> `$status`, `$now` or a text" },
            "insert_entry": { "type": "object", "additionalProperties": { "type": "string" }, "description": "the object appended when a document is created" },
            "stamps": { "type": "object", "additionalProperties": { "type": "string" } },
            "stamp_once": { "type": "array", "items": { "type": "string" }, "description": "stamps set only while unset" }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::keys;

    fn keys_of(v: &Value) -> Vec<String> {
        let mut k: Vec<String> = v["properties"]
            .as_object()
            .expect("an object schema")
            .keys()
            .cloned()
            .collect();
        k.sort();
        k
    }

    fn sorted(k: &[&str]) -> Vec<String> {
        let mut k: Vec<String> = k.iter().map(|s| s.to_string()).collect();
        k.sort();
        k
    }

    /// The schema and the decoder must accept exactly the same keys, or editors would lie.
    #[test]
    fn schema_keys_match_decoder_keys() {
        let s = schema();
        let p = &s["properties"];
        assert_eq!(keys_of(&s), sorted(keys::MODEL));
        assert_eq!(keys_of(&s["$defs"]["field"]), sorted(keys::FIELD));
        assert_eq!(
            keys_of(&p["timestamps"]["oneOf"][1]),
            sorted(keys::TIMESTAMPS)
        );
        assert_eq!(
            keys_of(&s["$defs"]["field"]["properties"]["ref"]["oneOf"][1]),
            sorted(keys::REF)
        );
        assert_eq!(
            keys_of(&s["$defs"]["field"]["properties"]["polymorphic"]),
            sorted(keys::POLYMORPHIC)
        );
        assert_eq!(
            keys_of(&s["$defs"]["field"]["properties"]["items"]["oneOf"][1]),
            sorted(keys::ITEMS)
        );
        assert_eq!(keys_of(&p["indexes"]["items"]), sorted(keys::INDEX));
        assert_eq!(keys_of(&p["ttl"]), sorted(keys::TTL));
        assert_eq!(keys_of(&p["invariants"]), sorted(keys::INVARIANTS));
        assert_eq!(
            keys_of(&p["invariants"]["properties"]["one_primary"]),
            sorted(keys::ONE_PRIMARY)
        );
        assert_eq!(
            keys_of(&p["invariants"]["properties"]["slug"]),
            sorted(keys::SLUG)
        );
        assert_eq!(
            keys_of(&p["invariants"]["properties"]["timeline"]),
            sorted(keys::TIMELINE)
        );
    }
}
