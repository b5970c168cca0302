//! Validated catalogue in, the files committed under `generated/` out (path relative to it, and
//! contents). Pure: the CLI writes them, the up-to-date test compares them.

use crate::ir::Catalogue;

/// The generated files other than migrations, in a fixed order: the inspect document
/// (`catalogue.json`, the mapping other tools read), the TTL cleanup script, the Rust of
/// the `escrow-schema` crate (`src/schema/`) and its parity tests (`tests/parity/`, whose
/// files are partly hand-written: pass them through [`with_committed`]). Migrations are
/// history, not a function of today's catalogue: `migrate new` writes them.
pub fn outputs(cat: &Catalogue) -> Vec<(String, String)> {
    outputs_on(cat, crate::rust::Threads::All)
}

/// [`outputs`], the Rust formatted on `threads` (see [`crate::rust::Threads`] for a procedural
/// macro).
pub fn outputs_on(cat: &Catalogue, threads: crate::rust::Threads) -> Vec<(String, String)> {
    assemble(cat, crate::rust::files_on(cat, threads))
}

/// [`outputs`], reusing the formatted Rust committed under `out` (the `generated/` directory)
/// for every file whose source has not changed (see [`crate::rust::files_reusing`]): the same
/// result, without formatting again what is formatted already. For the CLI; the macro and the
/// tests use the pure [`outputs`].
pub fn outputs_reusing(cat: &Catalogue, out: &std::path::Path) -> Vec<(String, String)> {
    let rust = crate::rust::files_reusing(cat, crate::rust::Threads::All, |path| {
        std::fs::read_to_string(out.join(path)).ok()
    });
    assemble(cat, rust)
}

fn assemble(cat: &Catalogue, rust: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut out = vec![
        ("catalogue.json".to_string(), crate::inspect::inspect(cat)),
        (
            "sql/ttl_cleanup.sql".to_string(),
            crate::ttl::cleanup_sql(cat),
        ),
    ];
    out.extend(rust);
    out.extend(crate::parity::files(cat));
    out
}

/// What a generated file should contain given its committed text: the generated text, with
/// the hand-written part of a parity test (below its marker line) taken from the committed file.
pub fn with_committed(generated: &str, committed: Option<&str>) -> String {
    crate::parity::keep_owned(generated, committed)
}
