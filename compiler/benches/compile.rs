//! Compile benchmarks (criterion): the catalogue to every output, in process and as the CLI, and
//! how the cost grows with the number of models. Results and how to read them:
//! `docs/bench-compile.md`.
//!
//! ```text
//! cargo bench -p schemac --bench compile                 # everything (several minutes)
//! cargo bench -p schemac --bench compile -- escrow23/    # the 23-model catalogue only
//! cargo bench -p schemac --bench compile -- 'synthetic/.*/1000$'
//! ```
//!
//! Groups:
//! - `escrow23`: the committed catalogue (`models/`, 23 models) against the committed
//!   `generated/`. `yaml_parse` (read + parse the YAML files, nothing else) is the baseline the
//!   other rows are divided by in the notes; `check` is what CI runs (`schemac check`);
//!   `macro_work` is the library work of one `catalogue!` expansion.
//! - `cli`: the `schemac` binary as a process. `version` (`schemac --version`: process start and
//!   argument parsing) is the baseline. The binary is the one Cargo builds with this bench
//!   (`CARGO_BIN_EXE_schemac`, same profile); outside Cargo, `target/release/schemac`
//!   (`cargo build --release -p schemac` first).
//! - `synthetic`: N = 10, 100, 1000 generated models (about 15 fields each: an enum, a reference
//!   to the previous model, an embedded object stored as a child table, a flattened object, an
//!   array, indexes), written to a temporary directory with their generated files; throughput is
//!   per model, so linear growth shows as a constant time per model.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("compiler/ has a parent")
        .to_path_buf()
}

/// The `schemac` binary: Cargo's build of it for this bench, else `target/release/schemac`.
fn schemac_bin() -> PathBuf {
    let bin = option_env!("CARGO_BIN_EXE_schemac")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/release/schemac"));
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build --release -p schemac` first",
        bin.display()
    );
    bin
}

/// `models/` and a scratch copy of `generated/` on which `schemac generate` has run, so that the
/// benchmarks measure the passing `check` even while `generated/` is being edited in the work
/// tree (the committed files are used as they are when they are up to date).
fn escrow_copy(name: &str) -> (PathBuf, TempDir) {
    let root = root();
    let models = root.join("models");
    let scratch = TempDir::new(name);
    let out = scratch.0.join("generated");
    copy_dir(&root.join("generated"), &out);
    let cat = validated(&models);
    for (path, text) in schemac::generate::outputs(&cat) {
        let file = out.join(path);
        let old = std::fs::read_to_string(&file).ok();
        let text = schemac::generate::with_committed(&text, old.as_deref());
        std::fs::create_dir_all(file.parent().expect("parent")).expect("create dir");
        std::fs::write(&file, text).expect("write generated file");
    }
    let findings = schemac::check::check(&models, &out).expect("check runs");
    assert!(
        findings.is_empty(),
        "models/ changed without a migration ({}): run `schemac migrate new` before benchmarking",
        findings
            .iter()
            .map(|f| f.code)
            .collect::<Vec<_>>()
            .join(", ")
    );
    (models, scratch)
}

/// Runs the binary; panics unless it exits 0 (a benchmark of a failing run measures nothing).
fn run(bin: &Path, args: &[&str]) {
    let status = Command::new(bin)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("schemac runs");
    assert!(status.success(), "schemac {args:?} failed: {status}");
}

/// A scratch directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("schemac-bench-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let path = entry.expect("dir entry").path();
        let target = to.join(path.file_name().expect("file name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy file");
        }
    }
}

/// The baseline: read the model files and parse each into the spanned YAML tree, as validation
/// starts by doing. Returns the number of files.
fn yaml_parse(models: &Path) -> usize {
    let files = schemac::read_dir(models).expect("models");
    for (path, text) in &files {
        let file: Arc<str> = Arc::from(path.as_str());
        black_box(schemac::parse::yaml::parse(&file, text).expect("YAML parses"));
    }
    files.len()
}

fn validated(models: &Path) -> schemac::ir::Catalogue {
    schemac::validate_dir(models)
        .expect("models")
        .catalogue
        .expect("the catalogue is valid")
}

/// Lexes `src` into a value of `like`'s type: a `proc_macro2::TokenStream`, named through syn so
/// that proc-macro2 need not be a dependency of this crate.
fn lex_like<T: std::str::FromStr>(_like: &T, src: &str) -> T {
    src.parse()
        .unwrap_or_else(|_| panic!("generated code does not lex"))
}

/// The library work of one `catalogue!("../models")` expansion (macros/src/lib.rs), in the order
/// the macro does it; the token stream is lexed by proc-macro2's own lexer here, rustc's in a
/// real expansion.
fn macro_work(models: &Path, generated: &Path) -> usize {
    let files = schemac::read_dir(models).expect("models");
    let v = schemac::validate_sources(files);
    let cat = v.catalogue.as_ref().expect("valid");
    let outputs = schemac::generate::outputs(cat);
    let findings = schemac::check::check(models, generated).expect("check runs");
    assert!(
        findings.is_empty(),
        "generated/ is stale: run `schemac generate`"
    );
    let witness: syn::Macro = syn::parse_str("m!()").expect("a macro call parses");
    let code = lex_like(&witness.tokens, &schemac::rust::macro_source(cat));
    let sources = schemac::rust::files(cat);
    black_box(code);
    outputs.len() + sources.len()
}

/// [`macro_work`] without the repeated work: the outputs made once and given to
/// `check_catalogue` and `macro_source_of` (what `catalogue!` needs; see docs/bench-compile.md).
fn macro_work_once(models: &Path, generated: &Path) -> usize {
    let files = schemac::read_dir(models).expect("models");
    let v = schemac::validate_sources(files);
    let cat = v.catalogue.as_ref().expect("valid");
    let outputs = schemac::generate::outputs(cat);
    let findings = schemac::check::check_catalogue(models, cat, &outputs, generated);
    assert!(
        findings.is_empty(),
        "generated/ is stale: run `schemac generate`"
    );
    let witness: syn::Macro = syn::parse_str("m!()").expect("a macro call parses");
    let code = lex_like(&witness.tokens, &schemac::rust::macro_source_of(&outputs));
    black_box(code);
    let sources = outputs.iter().filter(|(p, _)| p.starts_with("src/schema/"));
    outputs.len() + sources.count()
}

fn escrow23(c: &mut Criterion) {
    let (models, scratch) = escrow_copy("escrow23");
    let generated = scratch.0.join("generated");
    let cat = validated(&models);
    let outputs = schemac::generate::outputs(&cat);
    assert_eq!(
        schemac::rust::macro_source_of(&outputs),
        schemac::rust::macro_source(&cat),
        "macro_source_of(outputs) is macro_source"
    );

    let mut g = c.benchmark_group("escrow23");
    g.sample_size(30).measurement_time(Duration::from_secs(8));
    g.bench_function("yaml_parse", |b| b.iter(|| yaml_parse(&models)));
    g.bench_function("validate", |b| {
        b.iter(|| schemac::validate_dir(&models).expect("models"))
    });
    g.bench_function("plan", |b| b.iter(|| schemac::plan::plan(&cat)));
    g.bench_function("desired_vs_history", |b| {
        // What check does after the generated files: read and verify the migration directory,
        // and compare the last snapshot with the desired schema.
        b.iter(|| {
            let h = schemac::history::read(&generated.join("migrations")).expect("history");
            let problems = schemac::history::verify(&h);
            let last = schemac::migrate::last_snapshot(&h).expect("snapshot");
            let (target, _) = schemac::migrate::target(&cat);
            (problems.len(), last == target)
        })
    });
    g.bench_function("inspect_ttl_parity", |b| {
        b.iter(|| {
            (
                schemac::inspect::inspect(&cat),
                schemac::ttl::cleanup_sql(&cat),
                schemac::parity::files(&cat),
            )
        })
    });
    g.bench_function("rust_files", |b| b.iter(|| schemac::rust::files(&cat)));
    g.bench_function("generate_outputs", |b| {
        b.iter(|| schemac::generate::outputs(&cat))
    });
    // What the CLI does (`generate`, `check`): the formatted Rust committed under generated/ is
    // reused for every file whose source is unchanged (all of them here; one file formatted in
    // `outputs_reusing_one_changed`, as after editing one model).
    g.bench_function("outputs_reusing", |b| {
        b.iter(|| schemac::generate::outputs_reusing(&cat, &generated))
    });
    g.bench_function("outputs_reusing_one_changed", |b| {
        b.iter(|| {
            schemac::rust::files_reusing(&cat, schemac::rust::Threads::All, |path| {
                (path != "src/schema/payment.rs")
                    .then(|| std::fs::read_to_string(generated.join(path)).ok())
                    .flatten()
            })
        })
    });
    g.bench_function("validate_and_outputs", |b| {
        b.iter(|| {
            let cat = validated(&models);
            schemac::generate::outputs(&cat)
        })
    });
    g.bench_function("check", |b| {
        b.iter(|| schemac::check::check(&models, &generated).expect("check runs"))
    });
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("macro_work", |b| b.iter(|| macro_work(&models, &generated)));
    g.bench_function("macro_work_once", |b| {
        b.iter(|| macro_work_once(&models, &generated))
    });
    g.finish();
}

fn cli(c: &mut Criterion) {
    let bin = schemac_bin();
    let (models, scratch) = escrow_copy("cli");
    let models = models.display().to_string();
    let generated = scratch.0.join("generated").display().to_string();

    let mut g = c.benchmark_group("cli");
    g.sample_size(30).measurement_time(Duration::from_secs(8));
    g.bench_function("version", |b| b.iter(|| run(&bin, &["--version"])));
    g.bench_function("validate", |b| {
        b.iter(|| run(&bin, &["validate", "--models", &models]))
    });
    g.bench_function("check", |b| {
        b.iter(|| run(&bin, &["check", "--models", &models, "--out", &generated]))
    });
    // Every file is compared with the one on disk and left unchanged, as in a re-run.
    g.bench_function("generate", |b| {
        b.iter(|| {
            run(
                &bin,
                &["generate", "--models", &models, "--out", &generated],
            )
        })
    });
    // The same with nothing to reuse (as after upgrading schemac): every Rust file's stamp
    // removed before each run, so every file is formatted and written again.
    let rust_files: Vec<PathBuf> = std::fs::read_dir(scratch.0.join("generated/src/schema"))
        .expect("src/schema")
        .map(|e| e.expect("entry").path())
        .collect();
    g.bench_function("generate_cold", |b| {
        b.iter_batched(
            || {
                for file in &rust_files {
                    let text = std::fs::read_to_string(file).expect("generated file");
                    let body = text
                        .lines()
                        .filter(|l| !l.starts_with("// schemac-format: "));
                    let body: String = body.map(|l| format!("{l}\n")).collect();
                    std::fs::write(file, body).expect("write");
                }
            },
            |()| {
                run(
                    &bin,
                    &["generate", "--models", &models, "--out", &generated],
                )
            },
            criterion::BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// The YAML of synthetic model `i`: about 15 fields of mixed types, an enum, a reference to the
/// previous model, a child table, a flattened object, a text array, a unique and a compound index.
fn synthetic_model(i: usize) -> String {
    let name = format!("Synth{i:04}");
    let snake = format!("synth{i:04}");
    let reference = if i == 0 {
        String::new()
    } else {
        format!(
            "  previousId: {{ bson: objectId, ref: Synth{:04}, index: true }}\n",
            i - 1
        )
    };
    format!(
        "model: {name}
collection: {snake}s
table: {snake}s
phase: 1
description: Synthetic model {i} of the compile benchmark.
timestamps: true
version_key: keep

enums:
  {snake}_status: [draft, active, suspended, archived]

fields:
  name: {{ bson: string, required: true }}
  slug: {{ bson: string, unique: true }}
  summary: {{ bson: string }}
  status: {{ bson: string, enum: {snake}_status, default: draft }}
{reference}  ownerId: {{ bson: objectId }}
  quantity: {{ bson: number, pg: int4, default: 0 }}
  weight: {{ bson: number, pg: float8 }}
  total: {{ bson: number, pg: int8 }}
  isActive: {{ bson: bool, default: true }}
  publishedAt: {{ bson: date }}
  tags: {{ bson: array, items: string, store: array, default: [] }}
  extra: {{ bson: object, store: jsonb }}
  shipping:
    bson: object
    store: table
    fields:
      line1: {{ bson: string, required: true }}
      city: {{ bson: string }}
      postcode: {{ bson: string }}
      verified: {{ bson: bool, default: false }}
  settings:
    bson: object
    store: flatten
    fields:
      theme: {{ bson: string, default: light }}
      notify: {{ bson: bool, default: true }}

indexes:
  - fields: [status, -createdAt]
  - fields: [name, isActive]
"
    )
}

/// Writes `n` synthetic models to `dir/models` and their generated files (with the initial
/// migration) to `dir/generated`, through the CLI.
fn synthetic_catalogue(bin: &Path, dir: &Path, n: usize) -> (PathBuf, PathBuf) {
    let models = dir.join("models");
    let generated = dir.join("generated");
    std::fs::create_dir_all(&models).expect("models dir");
    for i in 0..n {
        std::fs::write(models.join(format!("synth{i:04}.yaml")), synthetic_model(i))
            .expect("write model");
    }
    let (m, g) = (
        models.display().to_string(),
        generated.display().to_string(),
    );
    run(bin, &["generate", "--models", &m, "--out", &g]);
    run(bin, &["check", "--models", &m, "--out", &g]);
    (models, generated)
}

/// A synthetic catalogue written on first use, so that a filter that skips its benchmarks also
/// skips writing and generating it.
struct Synthetic {
    models: PathBuf,
    generated: PathBuf,
    cat: schemac::ir::Catalogue,
}

fn synthetic(c: &mut Criterion) {
    let bin = schemac_bin();
    let scratch = TempDir::new("synthetic");
    let mut g = c.benchmark_group("synthetic");
    g.sampling_mode(SamplingMode::Flat);
    for n in [10usize, 100, 1000] {
        let once = OnceLock::new();
        let setup = || {
            once.get_or_init(|| {
                let (models, generated) =
                    synthetic_catalogue(&bin, &scratch.0.join(n.to_string()), n);
                let cat = validated(&models);
                Synthetic {
                    models,
                    generated,
                    cat,
                }
            })
        };
        g.throughput(Throughput::Elements(n as u64));
        if n >= 1000 {
            g.sample_size(10).measurement_time(Duration::from_secs(20));
        } else {
            g.sample_size(20).measurement_time(Duration::from_secs(8));
        }
        g.bench_function(BenchmarkId::new("yaml_parse", n), |b| {
            let s = setup();
            b.iter(|| yaml_parse(&s.models))
        });
        g.bench_function(BenchmarkId::new("validate", n), |b| {
            let s = setup();
            b.iter(|| schemac::validate_dir(&s.models).expect("models"))
        });
        g.bench_function(BenchmarkId::new("rust_files", n), |b| {
            let s = setup();
            b.iter(|| schemac::rust::files(&s.cat))
        });
        g.bench_function(BenchmarkId::new("generate_outputs", n), |b| {
            let s = setup();
            b.iter(|| schemac::generate::outputs(&s.cat))
        });
        g.bench_function(BenchmarkId::new("check", n), |b| {
            let s = setup();
            b.iter(|| schemac::check::check(&s.models, &s.generated).expect("check runs"))
        });
        g.bench_function(BenchmarkId::new("cli_check", n), |b| {
            let s = setup();
            let (m, o) = (
                s.models.display().to_string(),
                s.generated.display().to_string(),
            );
            b.iter(|| run(&bin, &["check", "--models", &m, "--out", &o]))
        });
    }
    g.finish();
}

criterion_group!(benches, escrow23, cli, synthetic);
criterion_main!(benches);
