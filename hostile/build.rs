//! Re-runs the `catalogue!` expansion when a file is added to or removed from `models/`,
//! `migrations/` or `src/schema/` (the macro's `include_bytes!` tracks only existing files).

fn main() {
    for dir in ["models", "migrations", "src/schema"] {
        println!("cargo::rerun-if-changed={dir}");
    }
}
