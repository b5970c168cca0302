//! Names: every case conversion (heck) and every Postgres identifier rule lives here.

use heck::{ToSnakeCase, ToUpperCamelCase};

/// The longest identifier Postgres keeps (NAMEDATALEN - 1); longer names are truncated by it.
pub const MAX_IDENT_BYTES: usize = 63;

/// The Postgres column name of a Mongo field: `providerPaymentId` -> `provider_payment_id`.
pub fn column_name(mongo_name: &str) -> String {
    mongo_name.to_snake_case()
}

/// The snake_case form of a model name: `FundsLedgerEntry` -> `funds_ledger_entry`.
pub fn model_snake(model: &str) -> String {
    model.to_snake_case()
}

/// The PascalCase form of a name, for Rust types.
pub fn type_name(name: &str) -> String {
    name.to_upper_camel_case()
}

/// The default table of a model: snake_case, pluralised by the plain English rules that cover
/// the catalogue (`Category` -> `categories`, `Address` -> `addresses`, `User` -> `users`).
pub fn table_name(model: &str) -> String {
    pluralize(&model.to_snake_case())
}

fn pluralize(word: &str) -> String {
    if word.ends_with("ss") || word.ends_with('x') || word.ends_with("ch") || word.ends_with("sh") {
        format!("{word}es")
    } else if word.ends_with('s') {
        word.to_string()
    } else if let Some(stem) = word.strip_suffix('y')
        && !stem.ends_with(['a', 'e', 'i', 'o', 'u'])
    {
        format!("{stem}ies")
    } else {
        format!("{word}s")
    }
}

/// The base of a polymorphic reference's three columns: the column without its `_id` suffix.
pub fn polymorphic_base(column: &str) -> String {
    column.strip_suffix("_id").unwrap_or(column).to_string()
}

/// Whether a name must be double-quoted in SQL: not a plain lower-case identifier, or a word that
/// Postgres reserves (`user`, `order`, `table`...).
pub fn needs_quotes(name: &str) -> bool {
    let mut chars = name.chars();
    let plain_start = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let plain_rest = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    !(plain_start && plain_rest) || is_reserved(name)
}

/// Quotes an identifier exactly when Postgres needs it, doubling inner quotes.
pub fn quote_ident(name: &str) -> String {
    if needs_quotes(name) {
        format!("\"{}\"", name.replace('"', "\"\""))
    } else {
        name.to_string()
    }
}

/// Quotes a string literal, doubling single quotes (standard_conforming_strings is on since 9.1).
/// A value with a carriage return is written as an escape string (`E'a\rb'`): a migration file's
/// line endings are normalized to LF when it is read, which would turn a raw CR into LF.
pub fn quote_literal(value: &str) -> String {
    if !value.contains('\r') {
        return format!("'{}'", value.replace('\'', "''"));
    }
    let mut s = String::from("E'");
    for c in value.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '\'' => s.push_str("''"),
            '\r' => s.push_str("\\r"),
            c => s.push(c),
        }
    }
    s.push('\'');
    s
}

/// Whether Postgres reserves the word (the "reserved" and "reserved (can be function or type)"
/// columns of the SQL key words appendix, PostgreSQL 15).
pub fn is_reserved(word: &str) -> bool {
    RESERVED.binary_search(&word).is_ok()
}

/// Whether a type name, written unquoted or quoted, means a PostgreSQL built-in type rather than
/// one in `public`: a type of `pg_catalog` (searched first), a type spelled by the grammar itself
/// (`int`, `time`...), or any `pg_` name.
pub fn is_builtin_type(name: &str) -> bool {
    name.starts_with("pg_") || BUILTIN_TYPES.binary_search(&name).is_ok()
}

/// The base, pseudo, range and multirange types of `pg_catalog` (PostgreSQL 15, array types
/// left out), and the type names of the SQL grammar.
const BUILTIN_TYPES: &[&str] = &[
    "aclitem",
    "any",
    "anyarray",
    "anycompatible",
    "anycompatiblearray",
    "anycompatiblemultirange",
    "anycompatiblenonarray",
    "anycompatiblerange",
    "anyelement",
    "anyenum",
    "anymultirange",
    "anynonarray",
    "anyrange",
    "bigint",
    "bit",
    "bool",
    "boolean",
    "box",
    "bpchar",
    "bytea",
    "char",
    "character",
    "cid",
    "cidr",
    "circle",
    "cstring",
    "date",
    "datemultirange",
    "daterange",
    "dec",
    "decimal",
    "event_trigger",
    "fdw_handler",
    "float",
    "float4",
    "float8",
    "gtsvector",
    "index_am_handler",
    "inet",
    "int",
    "int2",
    "int2vector",
    "int4",
    "int4multirange",
    "int4range",
    "int8",
    "int8multirange",
    "int8range",
    "integer",
    "internal",
    "interval",
    "json",
    "jsonb",
    "jsonpath",
    "language_handler",
    "line",
    "lseg",
    "macaddr",
    "macaddr8",
    "money",
    "name",
    "nchar",
    "numeric",
    "nummultirange",
    "numrange",
    "oid",
    "oidvector",
    "path",
    "point",
    "polygon",
    "real",
    "record",
    "refcursor",
    "regclass",
    "regcollation",
    "regconfig",
    "regdictionary",
    "regnamespace",
    "regoper",
    "regoperator",
    "regproc",
    "regprocedure",
    "regrole",
    "regtype",
    "smallint",
    "table_am_handler",
    "text",
    "tid",
    "time",
    "timestamp",
    "timestamptz",
    "timetz",
    "trigger",
    "tsm_handler",
    "tsmultirange",
    "tsquery",
    "tsrange",
    "tstzmultirange",
    "tstzrange",
    "tsvector",
    "txid_snapshot",
    "unknown",
    "uuid",
    "varbit",
    "varchar",
    "void",
    "xid",
    "xid8",
    "xml",
];

const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "binary",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "group",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "intersect",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "natural",
    "not",
    "notnull",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "outer",
    "overlaps",
    "placing",
    "primary",
    "references",
    "returning",
    "right",
    "select",
    "session_user",
    "similar",
    "some",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_list_is_sorted_for_binary_search() {
        assert!(RESERVED.windows(2).all(|w| w[0] < w[1]));
        assert!(BUILTIN_TYPES.windows(2).all(|w| w[0] < w[1]));
        assert!(is_builtin_type("date") && is_builtin_type("int") && is_builtin_type("pg_class"));
        assert!(!is_builtin_type("Date") && !is_builtin_type("payment_status"));
    }

    #[test]
    fn derives_plan_names() {
        assert_eq!(table_name("Category"), "categories");
        assert_eq!(table_name("Address"), "addresses");
        assert_eq!(table_name("ShopSettings"), "shop_settings");
        assert_eq!(table_name("FundsLedgerEntry"), "funds_ledger_entries");
        assert_eq!(table_name("TelegramSession"), "telegram_sessions");
        assert_eq!(table_name("Survey"), "surveys");
        assert_eq!(column_name("providerPaymentId"), "provider_payment_id");
        assert_eq!(polymorphic_base("purchase_request_id"), "purchase_request");
        assert_eq!(polymorphic_base("created_by"), "created_by");
    }

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(quote_ident("users"), "users");
        assert_eq!(quote_ident("user"), "\"user\"");
        assert_eq!(quote_ident("Order"), "\"Order\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal("a\\b\n"), "'a\\b\n'");
        assert_eq!(quote_literal("it's\r\n\\"), "E'it''s\\r\n\\\\'");
    }
}

/// A name the compiler derives (an index, a constraint, a trigger), made to fit Postgres' 63
/// bytes: a longer one keeps a readable prefix and ends in `_` plus 8 hex digits of a hash of the
/// full name, so two long names that share a prefix stay distinct and the result never changes
/// between runs. Returns the name and whether it was shortened.
pub fn derived_name(full: &str) -> (String, bool) {
    if full.len() <= MAX_IDENT_BYTES {
        return (full.to_string(), false);
    }
    let mut cut = MAX_IDENT_BYTES - 9;
    while !full.is_char_boundary(cut) {
        cut -= 1;
    }
    let prefix = full[..cut].trim_end_matches('_');
    (format!("{prefix}_{:08x}", fnv1a32(full.as_bytes())), true)
}

/// FNV-1a, 32 bits: a fixed, documented hash (std's hashers may change between Rust releases).
fn fnv1a32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod derived_name_tests {
    use super::*;

    #[test]
    fn short_names_are_kept() {
        assert_eq!(
            derived_name("users_email_key"),
            ("users_email_key".into(), false)
        );
    }

    #[test]
    fn long_names_are_shortened_deterministically_and_stay_distinct() {
        let a = format!(
            "{}_a_idx",
            "purchase_request_seller_delivery_info".repeat(2)
        );
        let b = format!(
            "{}_b_idx",
            "purchase_request_seller_delivery_info".repeat(2)
        );
        let (sa, shortened) = derived_name(&a);
        assert!(shortened);
        assert!(sa.len() <= MAX_IDENT_BYTES, "{sa}");
        assert_eq!(derived_name(&a).0, sa);
        assert_ne!(derived_name(&b).0, sa);
        assert!(
            sa.starts_with("purchase_request_seller_delivery_infopurchase"),
            "{sa}"
        );
    }

    #[test]
    fn shortening_never_splits_a_character() {
        let name = "é".repeat(40);
        let (s, _) = derived_name(&name);
        assert!(s.len() <= MAX_IDENT_BYTES);
    }
}
