//! The `catalogue!` macro's compile errors, as trybuild ui tests (`tests/ui/*.rs`, each with the
//! expected `.stderr`; `TRYBUILD=overwrite cargo test -p schemac-macros --test compile_fail`
//! rewrites them).
//!
//! trybuild compiles each ui file as a binary of a generated crate in
//! `<target dir>/tests/trybuild/schemac-macros/`, so that directory is the `CARGO_MANIFEST_DIR`
//! the macro resolves its argument against and looks for the generated files in. Before the run
//! this test prepares it:
//! - `fixtures` there is a symlink to `tests/ui/fixtures/`, so a ui file names its catalogue
//!   `"fixtures/<case>"` wherever the target directory is, and the model paths in the messages
//!   (canonical, through the symlink) are under this crate (`$DIR/` in the `.stderr` files);
//! - the generated files and the migration history of `fixtures/drift_committed` are written
//!   there (what `schemac generate` would commit), so that `fixtures/drift` (the same catalogue
//!   plus a field) is drift.

use std::path::{Path, PathBuf};

/// The crate trybuild builds the ui files in (it creates the directory, but keeps what is in it).
fn trybuild_project() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is <target dir>/tmp")
        .join("tests/trybuild")
        .join(env!("CARGO_PKG_NAME"))
}

fn remove(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path).unwrap(),
        Ok(_) => std::fs::remove_file(path).unwrap(),
        Err(_) => {}
    }
}

/// Links `<project>/fixtures` to `tests/ui/fixtures`.
fn link_fixtures(project: &Path) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui/fixtures");
    let link = project.join("fixtures");
    remove(&link);
    #[cfg(unix)]
    std::os::unix::fs::symlink(&fixtures, &link).unwrap();
    #[cfg(windows)]
    std::os::windows::fs::symlink_dir(&fixtures, &link).unwrap();
}

/// Writes what `schemac generate` writes for `models` into `project`, replacing what was there.
fn commit_generated(models: &Path, project: &Path) {
    for stale in ["catalogue.json", "sql", "src", "migrations"] {
        remove(&project.join(stale));
    }
    let v = schemac::validate_dir(models).unwrap();
    let cat = v
        .catalogue
        .as_ref()
        .expect("the committed catalogue is valid");
    for (path, text) in schemac::generate::outputs(cat) {
        let file = project.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }
    let migrations = project.join("migrations");
    let planned = schemac::migrate::next(
        &migrations,
        cat,
        "initial",
        &Default::default(),
        "schemac generate",
    )
    .unwrap()
    .expect("a first migration");
    schemac::migrate::write(&migrations, &planned).unwrap();
    assert!(
        schemac::check::check(models, project).unwrap().is_empty(),
        "the committed files match their catalogue"
    );
}

#[test]
fn catalogue_errors() {
    let project = trybuild_project();
    std::fs::create_dir_all(&project).unwrap();
    link_fixtures(&project);
    commit_generated(&project.join("fixtures/drift_committed"), &project);

    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
