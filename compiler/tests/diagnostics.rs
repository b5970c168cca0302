//! Catalogue fixtures in, snapshots out: every invalid fixture's diagnostics (as a person reads
//! them, and as JSON) and every valid fixture's `inspect` output.
//!
//! A fixture is one YAML file; a line `# file: NAME.yaml` starts another model file of the same
//! catalogue, so cross-model problems (references, cycles, duplicates) fit in one fixture.

use std::path::Path;

use schemac::diag::{render_human, render_json};

fn split_fixture(path: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).expect("fixture is readable");
    let stem = path
        .file_name()
        .expect("fixture has a name")
        .to_string_lossy()
        .into_owned();
    let mut files = vec![(format!("models/{stem}"), String::new())];
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("# file: ") {
            files.push((format!("models/{}", name.trim()), String::new()));
        } else {
            let current = &mut files.last_mut().expect("at least one file").1;
            current.push_str(line);
            current.push('\n');
        }
    }
    files
}

#[test]
fn invalid_catalogues_report_located_errors() {
    insta::glob!("fixtures/invalid/*.yaml", |path| {
        let v = schemac::validate_sources(split_fixture(path));
        assert!(v.has_errors(), "{} should be invalid", path.display());
        assert!(v.catalogue.is_none(), "an invalid catalogue yields no IR");
        for d in &v.diagnostics {
            let span = d
                .span
                .as_ref()
                .expect("every finding of a model file is located");
            assert!(span.line >= 1 && span.column >= 1);
        }
        let human = render_human(&v.diagnostics, &v.sources, false);
        insta::assert_snapshot!("human", human);
        insta::assert_snapshot!("json", render_json(&v.diagnostics));
    });
}

#[test]
fn valid_catalogues_inspect_as_expected() {
    insta::glob!("fixtures/valid/*.yaml", |path| {
        let v = schemac::validate_sources(split_fixture(path));
        let rendered = render_human(&v.diagnostics, &v.sources, false);
        let cat = v
            .catalogue
            .as_ref()
            .unwrap_or_else(|| panic!("{} should be valid:\n{rendered}", path.display()));
        insta::assert_snapshot!("inspect", schemac::inspect::inspect(cat));
    });
}
