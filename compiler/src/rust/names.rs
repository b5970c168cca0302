//! Rust names for Postgres and Mongo names: types in PascalCase, fields in snake_case (raw
//! identifiers for keywords), enum variants unique within their enum.

use std::collections::BTreeSet;

/// A type name: `payment_status` -> `PaymentStatus`. Letters and digits Rust does not take in
/// identifiers (`²`) leave only the ASCII ones; an empty name, one with a leading digit and
/// `Self` get a `T` before them.
pub fn type_ident(name: &str) -> String {
    let mut t = crate::ident::type_name(name);
    if !is_ident(&t) {
        t.retain(|c| c.is_ascii_alphanumeric());
    }
    if t.is_empty() || t.starts_with(|c: char| c.is_ascii_digit()) || t == "Self" {
        t.insert(0, 'T');
    }
    t
}

/// `text` for a comment of the generated Rust: a control character (a line break would end the
/// comment) or a text-direction control (rustc denies them in comments: they can make code read
/// otherwise than it runs) escaped as in a Rust string (`\n`, `\u{202e}`); the rest as it is.
pub fn doc_text(text: &str) -> std::borrow::Cow<'_, str> {
    let escaped = |c: char| {
        c.is_control()
            || matches!(
                c,
                '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}'
            )
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    };
    if !text.chars().any(escaped) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if escaped(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The module of a model: its snake_case name as a field name (`r#type` for a keyword). Its file
/// is [`module_file`].
pub fn module_ident(snake: &str) -> String {
    field_ident(snake)
}

/// The file name (without `.rs`) of the module `ident`: `r#type` is in `type.rs`.
pub fn module_file(ident: &str) -> &str {
    ident.trim_start_matches("r#")
}

/// The names of the type namespace that every model's module imports or defines besides its
/// document and row types: a document type of one of these names would not compile.
pub const MODULE_TYPES: &[&str] = &[
    "Bson",
    "Children",
    "Codec",
    "Context",
    "DateTime",
    "Document",
    "Json",
    "Mode",
    "Numeric",
    "RawBsonRef",
    "RawDocument",
    "Sorted",
    "ToSql",
    "TransformError",
    "TransformErrorKind",
    "Utc",
    "Uuid",
];

/// The modules that `schema/mod.rs` declares besides one per model.
pub const SCHEMA_MODULES: &[&str] = &["enums"];

/// The names of the type namespace that `schema/enums.rs` imports besides its enums.
pub const ENUM_MODULE_TYPES: &[&str] = &["TransformErrorKind"];

/// A field name: the column name, `r#` when it is a Rust keyword. A character that cannot be
/// in a Rust identifier becomes `_` (`"We'ird Name"` -> `We_ird_Name`), a leading digit gets
/// a `_` before it, and the keywords that cannot be raw (`self`, `Self`, `super`, `crate`) a
/// `_` after. The validator refuses two columns of a table with the same field name
/// (`name-collision`).
pub fn field_ident(column: &str) -> String {
    if is_ident(column) {
        return column.to_string();
    }
    let mut name: String = column
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !is_ident(&name) && !is_keyword(&name) {
        // Letters and digits Rust does not take in identifiers (`²`, some scripts' marks).
        name = column
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
    }
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) || name == "_" {
        name.insert(0, '_');
    }
    match name.as_str() {
        "self" | "Self" | "super" | "crate" => format!("{name}_"),
        _ if is_keyword(&name) => format!("r#{name}"),
        _ => name,
    }
}

/// A function name for a table: the prefix, `_` and the table's field name (`read_chat_messages`,
/// `write_self_`); unique among a model's tables as their field names are.
pub fn fn_ident(prefix: &str, table: &str) -> String {
    format!("{prefix}_{}", field_ident(table).trim_start_matches("r#"))
}

/// Whether `name` is exactly one identifier: the tokenizer skips a comment or whitespace, so
/// the parsed identifier must be all of it (`a//b` is `a` and a comment).
fn is_ident(name: &str) -> bool {
    parses_as_ident(name)
}

/// A Rust keyword (strict or reserved): not an identifier, but a raw one.
fn is_keyword(name: &str) -> bool {
    !is_ident(name) && parses_as_ident(&format!("r#{name}"))
}

fn parses_as_ident(text: &str) -> bool {
    syn::parse_str::<syn::Ident>(text).is_ok_and(|ident| ident == text)
}

/// Variant names for enum labels, PascalCase, made unique (`usd` and `USD` -> `Usd`, `Usd2`)
/// and valid (`1h` -> `V1h`, `$` -> `V`).
pub fn variants(labels: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    labels
        .iter()
        .map(|label| {
            let mut base: String = crate::ident::type_name(label)
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect();
            if base.is_empty() || base.starts_with(|c: char| c.is_ascii_digit()) || !is_ident(&base)
            {
                base = format!("V{base}");
            }
            let mut name = base.clone();
            let mut n = 2;
            while !seen.insert(name.clone()) {
                name = format!("{base}{n}");
                n += 1;
            }
            name
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_and_unique() {
        assert_eq!(type_ident("payment_status"), "PaymentStatus");
        assert_eq!(field_ident("amount"), "amount");
        assert_eq!(field_ident("type"), "r#type");
        assert_eq!(field_ident("We\"ird Name"), "We_ird_Name");
        assert_eq!(field_ident("名前"), "名前");
        assert_eq!(field_ident("2fa-code"), "_2fa_code");
        assert_eq!(field_ident("self"), "self_");
        assert_eq!(field_ident("_"), "__");
        assert_eq!(field_ident("x²"), "x_");
        assert_eq!(field_ident("ab cd é"), "ab_cd_é");
        // The tokenizer would read `a` and a comment: not one identifier.
        assert_eq!(field_ident("a//b"), "a__b");
        assert_eq!(field_ident("a /* b */"), "a____b___");
        assert_eq!(fn_ident("read", "type"), "read_type");
        assert_eq!(fn_ident("write", "chat messages"), "write_chat_messages");
        assert_eq!(type_ident("x²"), "X");
        assert_eq!(type_ident("self"), "TSelf");
        assert_eq!(type_ident("½"), "T");
        assert_eq!(module_ident("type"), "r#type");
        assert_eq!(module_file(&module_ident("type")), "type");
        assert_eq!(doc_text("plain `é` \"q\" \\"), "plain `é` \"q\" \\");
        assert_eq!(
            doc_text("two\nlines\r\tand \u{202e}rtl\u{2066}"),
            "two\\nlines\\r\\tand \\u{202e}rtl\\u{2066}"
        );
        for column in [
            "a b",
            "fn",
            "Self",
            "crate",
            "'",
            "9",
            "x²",
            "über-größe",
            "🙂",
            "a//b",
            " a",
        ] {
            for ident in [
                field_ident(column),
                type_ident(column),
                fn_ident("read", column),
            ] {
                let parsed = syn::parse_str::<syn::Ident>(&ident);
                assert!(
                    parsed.is_ok_and(|i| i == ident),
                    "{column:?} -> {ident:?} is not an identifier"
                );
            }
        }
        let labels: Vec<String> = ["usd", "USD", "1h", "in_transit", "é", "self"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            variants(&labels),
            ["Usd", "Usd2", "V1h", "InTransit", "V", "VSelf"]
        );
    }
}
