//! Writes the sample mongodump of all 23 collections that the backfill bench loads, to profile
//! the backfill from the command line (BENCHMARKS.md, section 3):
//!
//! ```sh
//! cargo run --release -p schemac-examples --example dump -- /tmp/dump1000 1000
//! cargo run --release -p escrow-schema -- backfill --dump /tmp/dump1000 --database-url ...
//! ```
//!
//! The documents are those of `schemac_examples::sample` (consistent references, no invalid
//! document), `DOCUMENTS_PER_COLLECTION` of each (default 1,000).

use std::path::PathBuf;
use std::process::ExitCode;

use schemac_examples::sample;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(dir), docs) = (args.next().map(PathBuf::from), args.next()) else {
        eprintln!("usage: dump DIR [DOCUMENTS_PER_COLLECTION]");
        return ExitCode::from(2);
    };
    let docs = match docs.map(|d| d.parse::<usize>()) {
        None => 1000,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("usage: dump DIR [DOCUMENTS_PER_COLLECTION]");
            return ExitCode::from(2);
        }
    };
    match sample::write_dump(&dir, docs, false) {
        Ok(written) => {
            let total: usize = written.iter().map(|c| c.good).sum();
            println!(
                "{} collections, {total} documents in {}",
                written.len(),
                dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}: {e}", dir.display());
            ExitCode::from(2)
        }
    }
}
