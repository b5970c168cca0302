//! Validated catalogue in, the files committed under `generated/` out (path relative to it, and
//! contents). Pure: the CLI writes them, the up-to-date test compares them.

use crate::ir::Catalogue;

/// The generated files other than migrations, in a fixed order: the inspect document
/// (`catalogue.json`, the mapping other tools read) and the TTL cleanup script. Migrations are
/// history, not a function of today's catalogue: `migrate new` writes them.
pub fn outputs(cat: &Catalogue) -> Vec<(&'static str, String)> {
    vec![
        ("catalogue.json", crate::inspect::inspect(cat)),
        ("sql/ttl_cleanup.sql", crate::ttl::cleanup_sql(cat)),
    ]
}
