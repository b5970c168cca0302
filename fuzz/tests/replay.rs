//! Replays the committed corpora (`fuzz/corpus/<target>/`) through the fuzz targets on a stable
//! toolchain, without libFuzzer: every input the fuzzer kept must still run without a panic.
//! `cargo test --manifest-path fuzz/Cargo.toml` (docs/fuzzing.md).
//!
//! `SCHEMAC_FUZZ_REPORT=1` prints each round-trip finding of `from_mongo` (a `to_mongo` that
//! fails, an output that is rejected or that is not a fixed point); the summary line counts
//! them either way.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemac_fuzz::{Outcome, collection};

/// The files of `fuzz/corpus/<target>`, sorted.
fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn the_catalogue_corpus_replays() {
    let files = corpus("catalogue");
    let mut valid = 0;
    // Every input that panics, named: the panic messages are printed as they happen.
    let mut failed = Vec::new();
    for file in &files {
        let data = std::fs::read(file).expect("read a corpus file");
        match std::panic::catch_unwind(|| schemac_fuzz::catalogue(&data)) {
            Ok(true) => valid += 1,
            Ok(false) => {}
            Err(_) => failed.push(file.display().to_string()),
        }
    }
    println!("catalogue: {} inputs, {valid} valid", files.len());
    assert!(
        failed.is_empty(),
        "{} inputs panicked:\n{}",
        failed.len(),
        failed.join("\n")
    );
    assert!(files.len() >= 20, "only {} inputs", files.len());
    // Inputs that validate are the ones that reach generate/desired/migrate: a corpus without
    // them would not cover those.
    assert!(
        valid >= 5,
        "only {valid} of {} inputs validate",
        files.len()
    );
}

#[test]
fn the_from_mongo_corpus_replays() {
    let files = corpus("from_mongo");
    let mut outcomes: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for file in &files {
        let data = std::fs::read(file).expect("read a corpus file");
        let outcome = schemac_fuzz::from_mongo(&data);
        let name = data.first().map_or("-", |&b| collection(b).name());
        let kind = match outcome {
            Outcome::NotADocument => "not a document",
            Outcome::Rejected => "rejected",
            Outcome::RoundTrip => "round trip",
            Outcome::Finding(_) => "finding",
        };
        *outcomes.entry(name).or_default().entry(kind).or_default() += 1;
    }
    for (name, kinds) in &outcomes {
        println!("{name}: {kinds:?}");
    }
    let round_trips = |name: &str| {
        outcomes
            .get(name)
            .and_then(|k| k.get("round trip"))
            .copied()
            .unwrap_or(0)
    };
    assert!(files.len() >= 100, "only {} inputs", files.len());
    for codec in escrow_schema::schema::REGISTRY {
        assert!(
            round_trips(codec.name()) > 0,
            "no input of {} round-trips: the corpus misses the collection",
            codec.name()
        );
    }
}

/// The fixture documents the seeds come from (fixtures/mongo/dump): each is accepted, and its
/// round trip is a fixed point, as generated/tests/round_trip.rs says of the same documents;
/// here through the fuzz target's own code path, so a broken harness cannot pass silently.
#[test]
fn every_dump_document_round_trips_through_the_target() {
    let dump = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/mongo/dump");
    let mut count = 0;
    for (index, codec) in escrow_schema::schema::REGISTRY.iter().enumerate() {
        let bytes = std::fs::read(dump.join(format!("{}.bson", codec.name())))
            .unwrap_or_else(|e| panic!("{}: {e}", codec.name()));
        let mut rest = &bytes[..];
        while rest.len() >= 4 {
            let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            let (doc, tail) = rest.split_at(len);
            let outcome = schemac_fuzz::from_mongo(&schemac_fuzz::from_mongo_input(index, doc));
            assert_eq!(
                outcome,
                Outcome::RoundTrip,
                "{} document {count}",
                codec.name()
            );
            count += 1;
            rest = tail;
        }
    }
    assert!(count > 100, "only {count} documents");
}

/// `fuzz/catalogue.dict` follows the model language: a key or value added to the compiler
/// reaches the fuzzer's dictionary.
#[test]
fn the_committed_dictionary_is_the_compilers() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("catalogue.dict");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == schemac_fuzz::catalogue_dictionary(),
        "{} is not the dictionary of the current model language; run `cargo run \
         --manifest-path fuzz/Cargo.toml --example seed -- --out /tmp/seeds` (it writes the \
         dictionary in place) and commit it",
        path.display()
    );
}

/// Every model of `models/`, made a catalogue of its own (`schemac_fuzz::standalone`, which the
/// seed builder writes to the corpus as `seed-standalone-<file>`), validates and reaches every
/// generator in the `catalogue` target. The target compiles one file as the whole catalogue;
/// these copies are the only inputs through which a TTL, a timeline invariant or a discriminated
/// reference reaches the generators, so a model edit that breaks one must fail here, not
/// silently narrow the fuzzing.
#[test]
fn every_model_made_standalone_validates() {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&models)
        .unwrap_or_else(|e| panic!("{}: {e}", models.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let texts: Vec<String> = files
        .iter()
        .map(|f| std::fs::read_to_string(f).expect("read a model file"))
        .collect();
    let catalogue: Vec<&str> = texts.iter().map(String::as_str).collect();
    let mut invalid = Vec::new();
    for (file, text) in files.iter().zip(&texts) {
        let copy = schemac_fuzz::standalone(text, &catalogue);
        if !schemac_fuzz::catalogue(copy.as_bytes()) {
            let v = schemac::validate_sources(vec![(schemac_fuzz::MODEL_FILE.to_string(), copy)]);
            invalid.push(format!(
                "{}:\n{}",
                file.display(),
                schemac::diag::render_human(&v.diagnostics, &v.sources, false)
            ));
        }
    }
    assert!(files.len() >= 20, "models/ has {} files", files.len());
    assert!(
        invalid.is_empty(),
        "standalone copies that do not validate (schemac_fuzz::standalone must learn what \
         these need):\n{}",
        invalid.join("\n")
    );
}

/// The valid catalogues of the `catalogue` corpus migrate into one another: each one's schema
/// to the next one's (in file order, and back), with every lint rule allowed, plans without a
/// panic and without a refusal, and its last migration file's snapshot is the target schema.
/// The fuzz target only ever plans a first migration (from nothing); this takes the differ and
/// the renderers through changes between the shapes the fuzzer found.
#[test]
fn the_valid_catalogues_migrate_into_one_another() {
    use schemac::migrate::{self, Allow, Position, lint::RULES};
    let allow_all =
        Allow::parse(&RULES.iter().map(|r| r.code).collect::<Vec<_>>()).expect("known rules");
    let schemas: Vec<_> = corpus("catalogue")
        .iter()
        .filter_map(|file| {
            let text = String::from_utf8_lossy(&std::fs::read(file).expect("read")).into_owned();
            let v = schemac::validate_sources(vec![(schemac_fuzz::MODEL_FILE.to_string(), text)]);
            v.catalogue.as_ref().map(migrate::target)
        })
        .collect();
    let mut planned = 0;
    for pair in schemas.windows(2) {
        for ((old, _), (new, renames)) in [(&pair[0], &pair[1]), (&pair[1], &pair[0])] {
            let at = Position {
                version: 2,
                parent: Some("0001_fuzz"),
                name: "fuzz",
                command: "schemac migrate new fuzz",
            };
            match migrate::plan(old, new, renames, &at, &allow_all) {
                Ok(Some(p)) => {
                    let last = p.files.last().expect("a planned migration has a file");
                    assert!(
                        last.snapshot == *new,
                        "the migration does not end at the target schema"
                    );
                    planned += 1;
                }
                Ok(None) => assert!(old == new, "schemas differ but nothing is planned"),
                Err(findings) => panic!("refused with every rule allowed: {findings:?}"),
            }
        }
    }
    println!(
        "{} valid catalogues, {planned} migrations planned",
        schemas.len()
    );
    assert!(planned >= 100, "only {planned} migrations planned");
}
