//! The whole migration path in one command: writes a sample mongodump of all 23 collections
//! (with the bson crate, a few invalid documents included), migrates a fresh PostgreSQL
//! database, backfills the dump and verifies it, printing both reports.
//!
//! ```sh
//! cargo run -p schemac-examples --example backfill            # 50 documents per collection
//! cargo run -p schemac-examples --example backfill -- 2000    # more
//! ```
//!
//! The database comes from schemac-testdb: `DATABASE_URL` if set, else a server on
//! 127.0.0.1:5432, else a private one started with the local PostgreSQL binaries. It is
//! created for the run and dropped at the end; the dump is written to a temporary directory.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use escrow_schema::schema::REGISTRY;
use schemac_backfill::verify::{VerifyOptions, verify};
use schemac_backfill::{Options, backfill};
use schemac_examples::sample;
use schemac_testdb::TestDb;

fn main() -> ExitCode {
    let docs = match std::env::args().nth(1).map(|a| a.parse::<usize>()) {
        None => 50,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("usage: backfill [DOCUMENTS_PER_COLLECTION]");
            return ExitCode::from(2);
        }
    };
    match run(docs) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(docs: usize) -> Result<ExitCode, String> {
    let dir = std::env::temp_dir().join(format!("schemac-sample-dump-{}", std::process::id()));
    let _cleanup = RemoveOnDrop(dir.clone());
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;

    let started = Instant::now();
    let written = sample::write_dump(&dir, docs, true).map_err(|e| e.to_string())?;
    let good: usize = written.iter().map(|c| c.good).sum();
    let bad: usize = written.iter().map(|c| c.bad).sum();
    println!(
        "1. sample dump: {} collections, {good} documents and {bad} invalid ones in {} ({:.2} s)",
        written.len(),
        dir.display(),
        started.elapsed().as_secs_f64()
    );

    let db = TestDb::new();
    let mut client = db.client();
    let migrations = Path::new(env!("CARGO_MANIFEST_DIR")).join("../generated/migrations");
    let history = schemac::history::read(&migrations).map_err(|e| e.to_string())?;
    schemac::apply::apply(&mut client, &history, |_, _| {}).map_err(|e| e.to_string())?;
    println!(
        "2. database {}: {} migration(s) applied",
        db.name(),
        history.migrations.len()
    );

    println!("3. backfill\n");
    let report = backfill(REGISTRY, &mut client, &Options::new(&dir)).map_err(|e| e.to_string())?;
    println!("{report}");
    let gaps = client
        .query(
            "SELECT collection, legacy_object_id, error FROM pg_dualwrite_gaps
             WHERE resolved_at IS NULL ORDER BY collection, legacy_object_id",
            &[],
        )
        .map_err(|e| e.to_string())?;
    println!("the gaps (pg_dualwrite_gaps), each error naming its collection and _id:");
    for gap in &gaps {
        println!("  {}", gap.get::<_, String>(2));
    }
    println!();

    println!("4. verify\n");
    let checked =
        verify(REGISTRY, &mut client, &VerifyOptions::new(&dir)).map_err(|e| e.to_string())?;
    println!("{checked}");

    let expected_gaps = bad as u64;
    if checked.ok() && report.gaps() == expected_gaps {
        println!(
            "every valid document is in PostgreSQL and verified; the {bad} invalid ones are in pg_dualwrite_gaps"
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "unexpected: verify ok = {}, gaps {} (expected {expected_gaps})",
            checked.ok(),
            report.gaps()
        );
        Ok(ExitCode::from(1))
    }
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
