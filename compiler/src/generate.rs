//! Validated catalogue in, the files committed under `generated/` out (path relative to it, and
//! contents). Pure: the CLI writes them, the up-to-date test compares them.

use crate::ir::Catalogue;

/// The generated files, in a fixed order. Today: the inspect document (`catalogue.json`), the
/// machine-readable mapping other tools read. The DDL and Rust stages add theirs here.
pub fn outputs(cat: &Catalogue) -> Vec<(&'static str, String)> {
    vec![("catalogue.json", crate::inspect::inspect(cat))]
}
