//! The committed files under generated/ match what `schemac generate` writes for models/ today.

use std::path::Path;

#[test]
fn generated_files_are_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let v = schemac::validate_dir(&root.join("../models")).expect("models/ is readable");
    let rendered = schemac::diag::render_human(&v.diagnostics, &v.sources, false);
    let cat = v
        .catalogue
        .as_ref()
        .unwrap_or_else(|| panic!("models/ is invalid:\n{rendered}"));
    let mut stale = Vec::new();
    for (path, expected) in schemac::generate::outputs(cat) {
        let committed = std::fs::read_to_string(root.join(&path))
            .unwrap_or_default()
            .replace("\r\n", "\n");
        if committed != expected {
            stale.push(path);
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files {stale:?}: run `cargo run -p schemac -- generate`"
    );
}

#[test]
fn the_macro_sees_all_23_collections() {
    assert_eq!(escrow_schema::COLLECTIONS.len(), 23);
}
