//! Rust names for Postgres and Mongo names: types in PascalCase, fields in snake_case (raw
//! identifiers for keywords), enum variants unique within their enum.

use std::collections::BTreeSet;

use heck::ToUpperCamelCase;

/// A type name: `payment_status` -> `PaymentStatus`.
pub fn type_ident(name: &str) -> String {
    let t = name.to_upper_camel_case();
    if t.starts_with(|c: char| c.is_ascii_digit()) || t.is_empty() {
        format!("T{t}")
    } else {
        t
    }
}

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

fn is_ident(name: &str) -> bool {
    syn::parse_str::<syn::Ident>(name).is_ok()
}

/// A Rust keyword (strict or reserved): not an identifier, but a raw one.
fn is_keyword(name: &str) -> bool {
    !is_ident(name) && syn::parse_str::<syn::Ident>(&format!("r#{name}")).is_ok()
}

/// Variant names for enum labels, PascalCase, made unique (`usd` and `USD` -> `Usd`, `Usd2`)
/// and valid (`1h` -> `V1h`, `$` -> `V`).
pub fn variants(labels: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    labels
        .iter()
        .map(|label| {
            let mut base: String = label
                .to_upper_camel_case()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect();
            if base.is_empty()
                || base.starts_with(|c: char| c.is_ascii_digit())
                || syn::parse_str::<syn::Ident>(&base).is_err()
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
        ] {
            let ident = field_ident(column);
            let parsed = syn::parse_str::<syn::Ident>(&ident);
            assert!(
                parsed.is_ok(),
                "{column:?} -> {ident:?} is not an identifier"
            );
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
