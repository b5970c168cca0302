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

/// A field name: the column name, `r#` when it is a Rust keyword.
pub fn field_ident(column: &str) -> String {
    if syn::parse_str::<syn::Ident>(column).is_ok() {
        column.to_string()
    } else {
        format!("r#{column}")
    }
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
        let labels: Vec<String> = ["usd", "USD", "1h", "in_transit", "é", "self"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            variants(&labels),
            ["Usd", "Usd2", "V1h", "InTransit", "V", "VSelf"]
        );
    }
}
