//! Validated catalogue in, the files committed under `generated/` out (path relative to it, and
//! contents). Pure: the CLI writes them, the up-to-date test compares them.

use crate::ir::Catalogue;

/// The generated files other than migrations, in a fixed order: the inspect document
/// (`catalogue.json`, the mapping other tools read), the TTL cleanup script and the Rust of
/// the `escrow-schema` crate (`src/schema/`). Migrations are
/// history, not a function of today's catalogue: `migrate new` writes them.
pub fn outputs(cat: &Catalogue) -> Vec<(String, String)> {
    let mut out = vec![
        ("catalogue.json".to_string(), crate::inspect::inspect(cat)),
        (
            "sql/ttl_cleanup.sql".to_string(),
            crate::ttl::cleanup_sql(cat),
        ),
    ];
    out.extend(crate::rust::files(cat));
    out
}
