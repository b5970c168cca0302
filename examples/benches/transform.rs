//! Transform throughput per collection, on one core, against a floor measured in the same run
//! on the same bytes (docs/bench-transform.md).
//!
//! `cargo bench -p schemac-examples --bench transform` writes the deterministic sample dump
//! ([`schemac_examples::sample::write_dump`], [`DOCS`] documents per collection) to a temporary
//! directory, loads each collection's documents as `RawDocumentBuf`s, and measures per
//! collection (one criterion group each, throughput in documents):
//!
//! - `floor`: a pass that only walks every element of every document, recursively, touching
//!   each value (what any transform of those bytes must at least do), with `bson`'s iterator;
//! - `floor_lean`: the same walk with the runtime's element reader (`schemac_runtime::raw`),
//!   the one the generated transform uses: a floor about twice as fast as `bson`'s;
//! - `from_mongo`: the generated transform, through `schema::REGISTRY`, `Mode::Strict`;
//! - `round_trip`: `from_mongo` then `to_mongo`, for information;
//! - `serde_handwritten`: for payments, users and chats, the same rows built by the hand-written
//!   serde transform of [`schemac_examples::handwritten`].
//!
//! After criterion's own report it prints a table: docs/s of each, `from_mongo / floor`,
//! `from_mongo / floor_lean` and `from_mongo / serde_handwritten`, read back from criterion's estimates of this run.
//! Arguments after `--` go to criterion (e.g. a filter: `-- payments`).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use criterion::{Criterion, Throughput, criterion_group};
use escrow_schema::schema::REGISTRY;
use schemac_examples::handwritten;
use schemac_runtime::bson::{RawBsonRef, RawDocument, RawDocumentBuf};
use schemac_runtime::dump::open_collection;
use schemac_runtime::raw;
use schemac_runtime::registry::Collection;
use schemac_runtime::serde_json;
use schemac_runtime::transform::Mode;

/// Documents per collection in the sample: enough that one iteration takes well over the
/// timer's resolution, few enough that the whole run stays within a few minutes.
const DOCS: usize = 300;

/// The benchmarks of one group, in the order of the summary table.
const BENCHES: [&str; 5] = [
    "floor",
    "floor_lean",
    "from_mongo",
    "round_trip",
    "serde_handwritten",
];

/// One collection's documents.
struct Sample {
    collection: &'static dyn Collection,
    docs: Vec<RawDocumentBuf>,
}

/// Writes the sample dump to a fresh temporary directory and reads it back.
fn load() -> Vec<Sample> {
    let dir = std::env::temp_dir().join(format!("schemac-bench-transform-{}", std::process::id()));
    let written =
        schemac_examples::sample::write_dump(&dir, DOCS, false).expect("write the sample dump");
    let samples = written
        .iter()
        .map(|w| {
            let collection = REGISTRY
                .iter()
                .copied()
                .find(|c| c.name() == w.collection)
                .unwrap_or_else(|| panic!("{} is not in the registry", w.collection));
            let docs = open_collection(&dir, w.collection)
                .expect("open a sample collection")
                .collect::<Result<Vec<_>, _>>()
                .expect("read a sample collection");
            assert_eq!(docs.len(), w.good, "{}", w.collection);
            Sample { collection, docs }
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    samples
}

/// The floor: visits every element of `doc` and every element of its subdocuments and arrays,
/// reading each key and value (strings and binaries by length, numbers by value), and folds
/// them into a number so that nothing is optimized away, reading the elements with `bson`'s
/// own iterator. Not inlined, so that a profiler
/// (`valgrind --tool=callgrind --toggle-collect=transform::floor`) can count it alone.
#[inline(never)]
fn floor(doc: &RawDocument) -> u64 {
    walk_document::<false>(doc)
}

/// The same walk, reading the elements with the runtime's reader (`schemac_runtime::raw`),
/// which the generated transform uses: a stricter floor than `bson`'s.
#[inline(never)]
fn floor_lean(doc: &RawDocument) -> u64 {
    walk_document::<true>(doc)
}

/// Walks `doc` with the runtime's reader when `LEAN`, else with `bson`'s iterator.
fn walk_document<const LEAN: bool>(doc: &RawDocument) -> u64 {
    let mut acc = 0_u64;
    let mut visit = |key: &str, value| {
        acc = acc
            .wrapping_add(key.len() as u64)
            .wrapping_add(walk_value::<LEAN>(value));
    };
    if LEAN {
        for item in raw::elements(doc) {
            let (key, value) = item.expect("a valid sample document");
            visit(key, value);
        }
    } else {
        for item in doc {
            let (key, value) = item.expect("a valid sample document");
            visit(key.as_str(), value);
        }
    }
    acc
}

fn walk_value<const LEAN: bool>(value: RawBsonRef<'_>) -> u64 {
    match value {
        RawBsonRef::Document(d) => walk_document::<LEAN>(d),
        RawBsonRef::Array(items) if LEAN => raw::items(items)
            .map(|item| walk_value::<LEAN>(item.expect("a valid sample array")))
            .fold(0, u64::wrapping_add),
        RawBsonRef::Array(items) => items
            .into_iter()
            .map(|item| walk_value::<LEAN>(item.expect("a valid sample array")))
            .fold(0, u64::wrapping_add),
        RawBsonRef::String(s) => s.len() as u64,
        RawBsonRef::Double(v) => v.to_bits(),
        RawBsonRef::Int32(v) => v as u64,
        RawBsonRef::Int64(v) => v as u64,
        RawBsonRef::Boolean(v) => u64::from(v),
        RawBsonRef::DateTime(v) => v.timestamp_millis() as u64,
        RawBsonRef::ObjectId(v) => u64::from(v.bytes()[11]),
        RawBsonRef::Decimal128(v) => u64::from(v.bytes()[0]),
        RawBsonRef::Binary(b) => b.bytes.len() as u64,
        other => other.element_type() as u64,
    }
}

/// The hand-written transform of a collection, when there is one: the document's bytes in, its
/// rows handed to `black_box` and dropped inside the timed loop, as with `from_mongo`.
fn handwritten(collection: &str) -> Option<fn(&[u8])> {
    match collection {
        "payments" => Some(|b| {
            black_box(handwritten::payment(b).expect("payment"));
        }),
        "users" => Some(|b| {
            black_box(handwritten::user(b).expect("user"));
        }),
        "chats" => Some(|b| {
            black_box(handwritten::chat(b).expect("chat"));
        }),
        _ => None,
    }
}

fn transform(c: &mut Criterion) {
    for sample in load() {
        let Sample { collection, docs } = &sample;
        let mut group = c.benchmark_group(collection.name());
        group.throughput(Throughput::Elements(docs.len() as u64));
        group.bench_function("floor", |b| {
            b.iter(|| {
                for doc in docs {
                    black_box(floor(black_box(doc)));
                }
            })
        });
        group.bench_function("floor_lean", |b| {
            b.iter(|| {
                for doc in docs {
                    black_box(floor_lean(black_box(doc)));
                }
            })
        });
        group.bench_function("from_mongo", |b| {
            b.iter(|| {
                for doc in docs {
                    let out = collection.transform(black_box(doc), Mode::Strict);
                    black_box(out.expect("the sample is valid"));
                }
            })
        });
        group.bench_function("round_trip", |b| {
            b.iter(|| {
                for doc in docs {
                    let (rows, _) = collection
                        .transform(black_box(doc), Mode::Strict)
                        .expect("the sample is valid");
                    black_box(rows.to_mongo().expect("the rows write back"));
                }
            })
        });
        if let Some(read) = handwritten(collection.name()) {
            group.bench_function("serde_handwritten", |b| {
                b.iter(|| {
                    for doc in docs {
                        read(black_box(doc.as_bytes()));
                    }
                })
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    targets = transform
}

fn main() {
    let started = SystemTime::now();
    benches();
    Criterion::default().configure_from_args().final_summary();
    summary(started);
}

/// criterion's output directory: `$CRITERION_HOME`, else `<target>/criterion` where the bench
/// binary is `<target>/<profile>/deps/transform-<hash>`.
fn criterion_home() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return Some(home.into());
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return Some(Path::new(&target).join("criterion"));
    }
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.parent()?.join("criterion"))
}

/// The median time of one iteration (all documents of the collection) in nanoseconds, from
/// criterion's estimates, when this run measured it.
fn median_ns(home: &Path, group: &str, bench: &str, since: SystemTime) -> Option<f64> {
    let file = home.join(group).join(bench).join("new/estimates.json");
    let modified = std::fs::metadata(&file).ok()?.modified().ok()?;
    if modified < since {
        return None;
    }
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(file).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

/// Prints docs/s per collection and benchmark, and the ratios, as a Markdown table.
fn summary(since: SystemTime) {
    let Some(home) = criterion_home() else {
        return;
    };
    let rate = |ns: Option<f64>| ns.map(|ns| DOCS as f64 / (ns * 1e-9));
    let cell = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0}"));
    let pct = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => format!("{:.0}%", 100.0 * a / b),
        _ => "-".to_string(),
    };
    let mut lines = Vec::new();
    for collection in REGISTRY {
        let [floor, lean, from_mongo, round_trip, serde] =
            BENCHES.map(|b| rate(median_ns(&home, collection.name(), b, since)));
        if floor.is_none() && from_mongo.is_none() {
            continue;
        }
        lines.push(format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            collection.name(),
            cell(floor),
            cell(lean),
            cell(from_mongo),
            pct(from_mongo, floor),
            pct(from_mongo, lean),
            cell(round_trip),
            cell(serde),
            pct(from_mongo, serde),
        ));
    }
    if lines.is_empty() {
        return;
    }
    println!("\ndocs/s, one core, {DOCS} documents per collection (criterion medians):\n");
    println!(
        "| collection | floor | floor_lean | from_mongo | from_mongo/floor | from_mongo/floor_lean | round_trip | serde_handwritten | from_mongo/handwritten |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for line in lines {
        println!("{line}");
    }
}
