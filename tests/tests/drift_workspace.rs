//! The drift gate end to end, through Cargo, on a copy of the workspace: an edited model breaks
//! `cargo build -p escrow-schema` (the `catalogue!` macro) and `schemac check` until
//! `schemac generate` and `schemac migrate new` are run.
//!
//! The copy lives in `$CARGO_TARGET_TMPDIR/drift-workspace` and builds into
//! `$CARGO_TARGET_TMPDIR/drift-target`, which is kept between runs: the first run compiles the
//! registry crates (minutes), later runs only the crates whose sources changed. Cargo runs
//! `--offline`: the outer build has already fetched every crate in `Cargo.lock`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root (the parent of this crate).
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Copies `from` into `to`, skipping `target/` and hidden entries. With `keep_mtime`, each copy
/// keeps its source's modification time, so that Cargo finds the crates in the shared target
/// directory fresh and does not rebuild them on every run.
fn copy_dir(from: &Path, to: &Path, keep_mtime: bool) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "target" || name.to_string_lossy().starts_with('.') {
            continue;
        }
        let (path, target) = (entry.path(), to.join(&name));
        if path.is_dir() {
            copy_dir(&path, &target, keep_mtime);
        } else {
            copy_file(&path, &target, keep_mtime);
        }
    }
}

fn copy_file(from: &Path, to: &Path, keep_mtime: bool) {
    std::fs::copy(from, to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    if keep_mtime {
        let modified = std::fs::metadata(from).unwrap().modified().unwrap();
        let file = std::fs::File::options().write(true).open(to).unwrap();
        file.set_modified(modified).unwrap();
    }
}

/// A fresh copy of the workspace's members and files (not `target/`, not `.git`).
fn copy_workspace(to: &Path) {
    let root = workspace();
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to.join("tests")).unwrap();
    for file in ["Cargo.toml", "Cargo.lock", "tests/Cargo.toml"] {
        copy_file(&root.join(file), &to.join(file), true);
    }
    // The crates' sources keep their times (fresh in the shared target directory); the
    // catalogue and the generated crate are new files, so escrow-schema is rebuilt.
    // Every member of the workspace but the generated crate (and `tests`, copied above).
    for dir in [
        "backfill",
        "compiler",
        "macros",
        "runtime",
        "testdb",
        "examples",
        "hostile",
        "tests/src",
    ] {
        copy_dir(&root.join(dir), &to.join(dir), true);
    }
    for dir in ["models", "generated"] {
        copy_dir(&root.join(dir), &to.join(dir), false);
    }
}

/// Runs `cargo <args> --offline` in the copy, building into `target`.
fn cargo(dir: &Path, target: &Path, args: &[&str]) -> Output {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    Command::new(cargo)
        .current_dir(dir)
        .args(args)
        .args(["--offline", "--color", "never"])
        .env("CARGO_TARGET_DIR", target)
        .env_remove("CARGO_MANIFEST_DIR")
        .output()
        .expect("cargo runs")
}

/// `cargo run -p schemac -- <args>` in the copy.
fn schemac(dir: &Path, target: &Path, args: &[&str]) -> Output {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    Command::new(cargo)
        .current_dir(dir)
        .args(["run", "--quiet", "--offline", "--color", "never", "-p"])
        .args(["schemac", "--"])
        .args(args)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("CARGO_MANIFEST_DIR")
        .output()
        .expect("cargo runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn build(dir: &Path, target: &Path) -> Output {
    cargo(dir, target, &["build", "-p", "escrow-schema"])
}

#[test]
fn an_edited_model_breaks_the_build_until_generated_and_migrated() {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let (dir, target) = (tmp.join("drift-workspace"), tmp.join("drift-target"));
    copy_workspace(&dir);
    let clean = schemac(&dir, &target, &["check"]);
    assert_eq!(
        clean.status.code(),
        Some(0),
        "the workspace itself has drift (run `schemac generate`):\n{}",
        stderr(&clean)
    );

    let model = dir.join("models/payment.yaml");
    let text = std::fs::read_to_string(&model).unwrap();
    let field_line = text
        .lines()
        .position(|l| l == "fields:")
        .expect("payment.yaml has a `fields:` line")
        + 2;

    // A typo first: the macro's error names the file, line and column, and the fix.
    let typo = text.replacen("fields:\n", "fields:\n  memo: { bson: strng }\n", 1);
    std::fs::write(&model, &typo).unwrap();
    let invalid = build(&dir, &target);
    let e = stderr(&invalid);
    assert!(!invalid.status.success(), "{e}");
    assert!(e.contains("unknown BSON type `strng`"), "{e}");
    assert!(
        e.contains(&format!("models/payment.yaml:{field_line}:17")),
        "{e}"
    );
    assert!(e.contains("did you mean `string`?"), "{e}");

    // The field, spelt right: the committed files are now stale.
    let edited = text.replacen("fields:\n", "fields:\n  memo: { bson: string }\n", 1);
    std::fs::write(&model, &edited).unwrap();
    let drift = build(&dir, &target);
    let e = stderr(&drift);
    assert!(!drift.status.success(), "{e}");
    assert!(
        e.contains("schema drift: models/payment.yaml changed; run `schemac generate`"),
        "{e}"
    );
    assert!(
        e.contains("schema drift: models/ changed without a migration"),
        "{e}"
    );
    // The message (between `error: ` and the macro call's location) names files relative to
    // the workspace.
    let message = e.split_once("error: ").map_or("", |(_, m)| m);
    let message = message.split_once("\n --> ").map_or(message, |(m, _)| m);
    assert!(
        message.contains("--- a/generated/src/schema/payment.rs")
            && !message.contains(tmp.to_str().unwrap()),
        "{e}"
    );

    let check = schemac(&dir, &target, &["check"]);
    let e = stderr(&check);
    assert_eq!(check.status.code(), Some(1), "{e}");
    assert!(e.contains("SC306") && e.contains("SC305"), "{e}");
    assert!(
        e.contains("ALTER TABLE payments ADD COLUMN memo text;"),
        "{e}"
    );

    let generate = schemac(&dir, &target, &["generate"]);
    assert_eq!(generate.status.code(), Some(0), "{}", stderr(&generate));
    let new = schemac(&dir, &target, &["migrate", "new", "add_payment_memo"]);
    assert_eq!(new.status.code(), Some(0), "{}", stderr(&new));
    assert!(
        dir.join("generated/migrations/0005_add_payment_memo.sql")
            .is_file()
    );

    let built = build(&dir, &target);
    assert!(built.status.success(), "{}", stderr(&built));
    let check = schemac(&dir, &target, &["check"]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
}
