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
        if committed != schemac::generate::with_committed(&expected, Some(&committed)) {
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

/// The golden test: the code the macro expanded is byte for byte the committed `src/schema/`
/// (which `schemac generate` wrote and `generated_files_are_up_to_date` checks).
#[test]
fn the_macro_expands_exactly_the_committed_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut on_disk: Vec<String> = std::fs::read_dir(root.join("src/schema"))
        .expect("src/schema exists")
        .map(|e| {
            let name = e.expect("a directory entry").file_name();
            format!("src/schema/{}", name.to_string_lossy())
        })
        .collect();
    on_disk.sort();
    let mut expanded: Vec<String> = escrow_schema::GENERATED_SOURCES
        .iter()
        .map(|(path, _)| path.to_string())
        .collect();
    expanded.sort();
    assert_eq!(
        expanded, on_disk,
        "the macro and src/schema/ hold different files"
    );
    for (path, text) in escrow_schema::GENERATED_SOURCES {
        let committed = std::fs::read_to_string(root.join(path))
            .expect("committed file")
            .replace("\r\n", "\n");
        assert!(
            committed == *text,
            "{path}: the macro's code differs from the file"
        );
    }
}
