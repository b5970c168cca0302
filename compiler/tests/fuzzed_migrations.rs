//! PostgreSQL judges the migrations between the schemas the `catalogue` fuzz target found: for
//! evenly spaced pairs of consecutive valid inputs of `fuzz/corpus/catalogue/`, each way, the
//! first migration of one and then the migration to the other are applied to a fresh database,
//! and the database must then have the other schema: its structure as the catalogue has it
//! (`introspect`, compared as the scenario tests do, expressions aside), and all of it,
//! expressions and comments included, as PostgreSQL has the other schema created on its own.
//!
//! 20 pairs (40 migrations) by default, about 30 s in debug; `SCHEMAC_PAIRS=300 cargo test
//! --release -p schemac --test fuzzed_migrations -- --nocapture` runs 331 pairs (662
//! migrations) on the corpus of 2026-12-07. PostgreSQL's "undefined function or operator"
//! (42883) is the one failure it tolerates, and only when one of the two schemas
//! cannot be created on its own either (a `check:` calling a function PostgreSQL does not have:
//! schemac parses expressions but cannot know every function). What it found is in
//! docs/fuzzing.md, "Findings".

use schemac::db::Database;
use schemac::introspect::{columns_by_name, diff_report, introspect, structure};
use schemac::migrate::{self, Allow, Planned, Position, lint::RULES};
use schemac_testdb::TestDb;

/// Applies the planned files as `schemac migrate apply` does: a transactional file in one
/// transaction, the other statement by statement. The SQLSTATE and message of a failure.
fn apply(client: &mut postgres::Client, planned: &Planned) -> Result<(), (String, String)> {
    let failed = |name: &str, e: postgres::Error| {
        let code = e.code().map_or("-", |c| c.code()).to_string();
        let message = e
            .as_db_error()
            .map_or(e.to_string(), |d| d.message().to_string());
        (code, format!("{name}: {message}"))
    };
    for f in &planned.files {
        if f.transactional {
            let mut tx = client.transaction().map_err(|e| failed(&f.name, e))?;
            tx.batch_execute(&f.sql).map_err(|e| failed(&f.name, e))?;
            tx.commit().map_err(|e| failed(&f.name, e))?;
        } else {
            for span in schemac::history::statement_spans(&f.sql) {
                client
                    .batch_execute(&f.sql[span])
                    .map_err(|e| failed(&f.name, e))?;
            }
        }
    }
    Ok(())
}

#[test]
fn fuzzed_schemas_migrate_into_one_another_in_postgres() {
    let allow = Allow::parse(&RULES.iter().map(|r| r.code).collect::<Vec<_>>()).expect("rules");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/catalogue");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the fuzz corpus")
        .map(|e| e.expect("an entry").path())
        .collect();
    files.sort();
    let schemas: Vec<_> = files
        .iter()
        .filter_map(|f| {
            let text = String::from_utf8_lossy(&std::fs::read(f).expect("read")).into_owned();
            let v = schemac::validate_sources(vec![("models/x.yaml".into(), text)]);
            v.catalogue
                .as_ref()
                .map(|c| (f.clone(), migrate::target(c)))
        })
        .collect();
    let pairs: usize = std::env::var("SCHEMAC_PAIRS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let first = Position {
        version: 1,
        parent: None,
        name: "a",
        command: "test",
    };
    let second = Position {
        version: 2,
        parent: Some("0001_a"),
        name: "b",
        command: "test",
    };
    let create = |schema| {
        migrate::plan(
            &Database::default(),
            schema,
            &Default::default(),
            &first,
            &allow,
        )
        .expect("every rule allowed")
        .expect("a first migration is not empty")
    };
    // An unknown function or operator is the schema's, not the migration's, when the schema
    // cannot be created on its own either (a type change can also cause it).
    let unknown_function = |schema| {
        let fresh = TestDb::new();
        matches!(apply(&mut fresh.client(), &create(schema)), Err((code, _)) if code == "42883")
    };
    // The schema as PostgreSQL has it when created on its own: its expressions spelled as
    // PostgreSQL spells them, to compare a migrated database's with.
    let created = |schema| {
        let fresh = TestDb::new();
        let mut client = fresh.client();
        apply(&mut client, &create(schema))?;
        Ok::<_, (String, String)>(introspect(&mut client, "public").expect("introspect"))
    };
    let mut failures = Vec::new();
    let (mut applied, mut tolerated) = (0, 0);
    let name = |f: &std::path::Path| {
        f.file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned()
    };
    for i in (0..schemas.len() - 1).step_by((schemas.len() / pairs).max(1)) {
        let (file_a, (a, renames_a)) = &schemas[i];
        let (file_b, (b, renames_b)) = &schemas[i + 1];
        // Each way: the second schema may have what the first dropped, and the other way round.
        for (from, to, renames, what) in [
            (
                a,
                b,
                renames_b,
                format!("{} -> {}", name(file_a), name(file_b)),
            ),
            (
                b,
                a,
                renames_a,
                format!("{} -> {}", name(file_b), name(file_a)),
            ),
        ] {
            let db = TestDb::new();
            let mut client = db.client();
            let result = apply(&mut client, &create(from)).and_then(|()| {
                match migrate::plan(from, to, renames, &second, &allow).expect("every rule allowed")
                {
                    Some(planned) => apply(&mut client, &planned),
                    None => Ok(()),
                }
            });
            match result {
                Err((code, _))
                    if code == "42883" && (unknown_function(from) || unknown_function(to)) =>
                {
                    tolerated += 1;
                }
                Err((code, message)) => failures.push(format!("{what}: {code} {message}")),
                Ok(()) => {
                    let got = introspect(&mut client, "public").expect("introspect");
                    let mut report = diff_report(&structure(to), &structure(&got));
                    if report.is_empty() {
                        report = match created(to) {
                            Ok(fresh) => {
                                diff_report(&columns_by_name(&fresh), &columns_by_name(&got))
                            }
                            Err((code, message)) => {
                                vec![format!("created fresh: {code} {message}")]
                            }
                        };
                    }
                    if report.is_empty() {
                        applied += 1;
                    } else {
                        failures.push(format!("{what}: differs: {}", report.join("; ")));
                    }
                }
            }
        }
    }
    println!(
        "{applied} migrations reached their target schema; {tolerated} between schemas with a function PostgreSQL does not have"
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
