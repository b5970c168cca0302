//! Re-runs the build, and with it the `catalogue!` expansion, when a file is added to or removed
//! from `models/`, `migrations/` or `src/schema/`: the macro's `include_bytes!` tracks only the
//! files that existed when it last ran.

fn main() {
    for dir in ["../models", "migrations", "src/schema"] {
        println!("cargo::rerun-if-changed={dir}");
    }
}
