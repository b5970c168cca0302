//! Tells the generator which syn and prettyplease it is built with: their versions are part of
//! the key under which formatted Rust is reused (`rust::files_reusing`, `rust/format.rs`), so
//! upgrading either formats every generated file again.

use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let lock = manifest
        .ancestors()
        .map(|dir| dir.join("Cargo.lock"))
        .find(|path| path.exists());
    let deps = match &lock {
        Some(path) => {
            println!("cargo::rerun-if-changed={}", path.display());
            versions(path, &["syn", "prettyplease"])
        }
        // Built from a package without a lock file: syn's and prettyplease's versions are not
        // known, so schemac's own version stands for them (a committed file formatted by
        // another release is formatted again).
        None => format!(
            "unlocked schemac {}",
            std::env::var("CARGO_PKG_VERSION").expect("set by cargo")
        ),
    };
    println!("cargo::rustc-env=SCHEMAC_FORMATTER_DEPS={deps}");
}

/// `name version` of each package in `names` found in the lock file, space separated.
fn versions(lock: &Path, names: &[&str]) -> String {
    let text = std::fs::read_to_string(lock).unwrap_or_default();
    let mut found = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line
            .strip_prefix("name = \"")
            .and_then(|l| l.strip_suffix('"'))
        else {
            continue;
        };
        if names.contains(&name) {
            let version = lines
                .next()
                .and_then(|l| l.strip_prefix("version = \""))
                .and_then(|l| l.strip_suffix('"'))
                .unwrap_or("?");
            found.push(format!("{name} {version}"));
        }
    }
    found.join(" ")
}
