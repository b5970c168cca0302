//! Validates the catalogue and prints, per collection, the Postgres tables it becomes and the
//! column count of each: `cargo run -p schemac-examples --example tables [-- MODELS_DIR]`.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let dir = std::env::args().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models"),
        PathBuf::from,
    );
    let validated = match schemac::validate_dir(&dir) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let Some(cat) = &validated.catalogue else {
        eprint!(
            "{}",
            schemac::diag::render_human(&validated.diagnostics, &validated.sources, false)
        );
        return ExitCode::from(1);
    };
    let schema = schemac::plan::plan(cat);
    for model in &cat.models {
        println!(
            "{} (phase {}, collection {})",
            model.name, model.phase, model.collection
        );
        for table in schema.tables.iter().filter(|t| t.model == model.name) {
            let parent = table
                .parent
                .as_ref()
                .map_or(String::new(), |p| format!(" -> {}", p.table));
            println!(
                "  {:<40} {:>3} columns{parent}",
                table.name,
                table.columns.len()
            );
        }
    }
    ExitCode::SUCCESS
}
