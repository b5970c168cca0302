//! Backfill throughput, rows/s end to end, against two baselines on the same rows in the same
//! run:
//!
//! - `schemac_backfill`: the engine (binary COPY into staging, `INSERT ... ON CONFLICT DO
//!   NOTHING`, foreign keys checked in bulk per batch, id_map, checkpoints), from the dump
//!   files, one collection at a time;
//! - `schemac_backfill_row_checks`: the same with every foreign key checked row by row by
//!   PostgreSQL's triggers (`--row-checks`);
//! - `schemac_backfill_jobs<N>`: the same with N connections (one per core, the CLI's
//!   default), independent collections loading in parallel;
//! - `insert_500`: batched `INSERT ... VALUES (...) x 500 ... ON CONFLICT DO NOTHING` per table,
//!   from rows transformed beforehand (the transform is not timed): the rows alone;
//! - `insert_500_id_map`: the same plus each document's `id_map` entry, in the same batches of
//!   500 with `ON CONFLICT DO NOTHING`: the plan's backfill pattern whole (its rule 6: every
//!   migrated row keeps an `id_map` entry), which the engine also writes;
//! - `psql_copy`: `psql -c '\copy t FROM file'` per table, from text files prepared beforehand:
//!   the PostgreSQL floor.
//!
//! The baselines run with `session_replication_role = replica` (foreign keys and triggers off),
//! since a plain load order cannot satisfy the catalogue's reference cycles; the engine checks
//! every foreign key (in bulk or row by row). That favours the baselines: the ratios are conservative.
//!
//! Each iteration loads into a fresh, migrated database (made outside the timing); the rows are
//! counted afterwards, outside the timing too, and must be the same for every variant.
//! `SCHEMAC_BENCH_DOCS` sets the documents per collection (default 300). With
//! `SCHEMAC_BENCH_ROUNDS=N` the bench then runs every variant once per round, N rounds, and
//! prints the ratios measured within a round (see [`rounds`]), and each variant's CPU time (the
//! whole machine's, from `/proc/stat`: the client and the server); with a filter that matches
//! no variant (`-- rounds`), only those. With
//! `SCHEMAC_BENCH_MEMORY=1` the bench then runs the release `escrow-schema backfill` binary on
//! dumps of 10,000, 100,000 and 1,000,000 documents and prints its peak RSS (build it first:
//! `cargo build --release -p escrow-schema`).
//!
//! `cargo bench -p schemac-examples --bench backfill`

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use escrow_schema::schema::REGISTRY;
use schemac_backfill::{Options, backfill, order};
use schemac_examples::sample;
use schemac_runtime::dump;
use schemac_runtime::postgres::Client;
use schemac_runtime::registry::{Collection, Param, Rows};
use schemac_runtime::transform::{IdMapRow, Mode};
use schemac_testdb::TestDb;

fn docs_per_collection() -> usize {
    std::env::var("SCHEMAC_BENCH_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("bench-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

fn migrated() -> (TestDb, Client) {
    let db = TestDb::new();
    let mut client = db.client();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../generated/migrations");
    let history = schemac::history::read(&dir).expect("the migrations");
    schemac::apply::apply(&mut client, &history, |_, _| {}).expect("applies");
    (db, client)
}

/// The collections in load order.
fn ordered() -> Vec<&'static dyn Collection> {
    order::order(REGISTRY)
        .expect("an order")
        .into_iter()
        .map(|s| s.collection)
        .collect()
}

/// Loads the dump with the engine on `jobs` connections, references checked in bulk or row by
/// row.
fn engine(client: &mut Client, url: &str, dump: &Path, jobs: usize, bulk_checks: bool) {
    let mut opts = Options::new(dump);
    opts.progress = false;
    opts.jobs = jobs;
    opts.bulk_checks = bulk_checks;
    opts.connect = Some(url.parse().expect("the test database's url"));
    let report = backfill(REGISTRY, client, &opts).expect("backfills");
    assert_eq!(report.gaps(), 0, "{report}");
}

fn count_rows(client: &mut Client) -> u64 {
    let mut rows = 0;
    for c in REGISTRY {
        for t in c.tables() {
            let n: i64 = client
                .query_one(&format!("SELECT count(*) FROM {}", t.name), &[])
                .expect("counts")
                .get(0);
            rows += n as u64;
        }
    }
    rows
}

/// Every document's rows and its `id_map` entry, in load order: the input of the INSERT
/// baselines.
type Transformed = Vec<(&'static dyn Collection, Vec<Box<dyn Rows>>, Vec<IdMapRow>)>;

fn transform_all(dump: &Path) -> Transformed {
    let mut docs = Vec::new();
    for c in ordered() {
        let (mut rows, mut id_map) = (Vec::new(), Vec::new());
        for raw in dump::open_collection(dump, c.name()).expect("opens") {
            let raw = raw.expect("reads");
            let (doc, cx) = c.transform(&raw, Mode::Strict).expect("transforms");
            rows.push(doc);
            id_map.extend(cx.id_map);
        }
        docs.push((c, rows, id_map));
    }
    docs
}

/// Multi-row INSERTs of 500 rows with ON CONFLICT DO NOTHING, per table, and with `id_map` each
/// document's `id_map` entry in batches of 500 too. Returns the rows written to the catalogue's
/// tables; the `id_map` entries written are checked here.
fn insert_500(client: &mut Client, docs: &Transformed, id_map: bool) -> u64 {
    let mut tx = client.transaction().expect("a transaction");
    tx.batch_execute("SET LOCAL session_replication_role = replica")
        .expect("a superuser");
    let mut written = 0;
    for (c, rows, entries) in docs {
        for (index, table) in c.tables().iter().enumerate() {
            let key = if index == 0 { "legacy_object_id" } else { "id" };
            let columns = table.columns.join(", ");
            let mut batch: Vec<Vec<Param<'_>>> = Vec::new();
            let flush =
                |batch: &mut Vec<Vec<Param<'_>>>,
                 tx: &mut schemac_runtime::postgres::Transaction<'_>| {
                    if batch.is_empty() {
                        return;
                    }
                    let width = table.columns.len();
                    let sql = format!(
                        "INSERT INTO {} ({columns}) VALUES {} ON CONFLICT ({key}) DO NOTHING",
                        table.name,
                        placeholders(batch.len(), width)
                    );
                    let params: Vec<Param<'_>> = batch.iter().flatten().copied().collect();
                    tx.execute(&sql, &params).expect("inserts");
                    batch.clear();
                };
            for doc in rows {
                doc.each_row(index, &mut |params| {
                    batch.push(params.to_vec());
                    Ok(())
                })
                .expect("rows");
                if batch.len() >= 500 {
                    written += batch.len() as u64;
                    flush(&mut batch, &mut tx);
                }
            }
            written += batch.len() as u64;
            flush(&mut batch, &mut tx);
        }
        if id_map {
            let mapped = insert_id_map(&mut tx, entries);
            assert_eq!(
                mapped,
                entries.len() as u64,
                "id_map entries of {}",
                c.name()
            );
        }
    }
    tx.commit().expect("commits");
    written
}

/// `entries` into `id_map`, 500 to an `INSERT ... ON CONFLICT DO NOTHING`; returns how many
/// were written.
fn insert_id_map(tx: &mut schemac_runtime::postgres::Transaction<'_>, entries: &[IdMapRow]) -> u64 {
    let mut written = 0;
    for chunk in entries.chunks(500) {
        let legacy: Vec<String> = chunk.iter().map(IdMapRow::legacy_object_id).collect();
        let mut params: Vec<Param<'_>> = Vec::with_capacity(chunk.len() * 3);
        for (entry, legacy) in chunk.iter().zip(&legacy) {
            params.extend([&entry.collection as Param<'_>, legacy, &entry.id]);
        }
        let sql = format!(
            "INSERT INTO id_map (collection, legacy_object_id, id) VALUES {} \
             ON CONFLICT DO NOTHING",
            placeholders(chunk.len(), 3)
        );
        written += tx.execute(&sql, &params).expect("inserts id_map");
    }
    written
}

/// The `VALUES` list of a multi-row INSERT of `rows` rows of `width` parameters each:
/// `($1, $2), ($3, $4)`.
fn placeholders(rows: usize, width: usize) -> String {
    let row = |r: usize| {
        let ps: Vec<String> = (1..=width).map(|c| format!("${}", r * width + c)).collect();
        format!("({})", ps.join(", "))
    };
    (0..rows).map(row).collect::<Vec<_>>().join(", ")
}

/// Text files of every table's rows, written by the engine's load, for `\copy`.
fn prepare_copy_files(dump: &Path, dir: &Path) -> Vec<(String, PathBuf)> {
    let (db, mut client) = migrated();
    engine(&mut client, db.url(), dump, 1, true);
    let mut files = Vec::new();
    for c in ordered() {
        for t in c.tables() {
            let path = dir.join(format!("{}.tsv", t.name));
            let mut out = std::fs::File::create(&path).expect("creates");
            let mut reader = client
                .copy_out(&format!("COPY {} TO STDOUT", t.name))
                .expect("copies out");
            std::io::copy(&mut reader, &mut out).expect("writes");
            files.push((t.name.to_string(), path));
        }
    }
    files
}

/// `psql \copy` of every table from the prepared files, one psql session.
fn psql_copy(url: &str, files: &[(String, PathBuf)]) {
    let mut cmd = Command::new("psql");
    cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url]);
    cmd.args(["-c", "SET session_replication_role = replica"]);
    for (table, path) in files {
        cmd.args(["-c", &format!("\\copy {table} FROM '{}'", path.display())]);
    }
    let out = cmd.output().expect("psql runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn bench(c: &mut Criterion) {
    let docs = docs_per_collection();
    let dump = scratch("dump");
    sample::write_dump(&dump, docs, false).expect("a sample dump");
    let copy_dir = scratch("copy");
    let files = prepare_copy_files(&dump, &copy_dir);
    let (rows, id_map_rows) = {
        let (db, mut client) = migrated();
        engine(&mut client, db.url(), &dump, 1, true);
        let id_map: i64 = client
            .query_one("SELECT count(*) FROM id_map", &[])
            .expect("counts id_map")
            .get(0);
        (count_rows(&mut client), id_map as usize)
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("{} documents per collection, {rows} rows", docs);

    let transformed = transform_all(&dump);
    // `insert_500_id_map` writes the entries the engine writes, no fewer.
    assert_eq!(
        transformed.iter().map(|(_, _, e)| e.len()).sum::<usize>(),
        id_map_rows,
        "id_map entries of the INSERT baseline against the engine's"
    );
    // Each variant's load into a fresh, migrated database.
    let mut loads: Vec<(String, Load)> = vec![
        (
            "schemac_backfill".into(),
            Box::new(|client, url| engine(client, url, &dump, 1, true)),
        ),
        // The same with every foreign key checked by PostgreSQL's per-row triggers
        // (`--row-checks`, or a role that may not set session_replication_role).
        (
            "schemac_backfill_row_checks".into(),
            Box::new(|client, url| engine(client, url, &dump, 1, false)),
        ),
        // What `schemac backfill` does by default: independent collections on one connection
        // per core.
        (
            format!("schemac_backfill_jobs{cores}"),
            Box::new(|client, url| engine(client, url, &dump, cores, true)),
        ),
        (
            "insert_500".into(),
            Box::new(|client, _| assert_eq!(insert_500(client, &transformed, false), rows)),
        ),
        (
            "insert_500_id_map".into(),
            Box::new(|client, _| assert_eq!(insert_500(client, &transformed, true), rows)),
        ),
        (
            "psql_copy".into(),
            Box::new(|_, url| psql_copy(url, &files)),
        ),
    ];

    let mut group = c.benchmark_group("backfill");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(rows));
    for (name, load) in &mut loads {
        group.bench_function(name.as_str(), |b| {
            b.iter_custom(|iters| timed(iters, rows, &mut *load))
        });
    }
    group.finish();
    // 0 rounds, or a value that is not a number, is none.
    if let Some(n) = std::env::var("SCHEMAC_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
    {
        rounds(
            n,
            rows,
            &format!("schemac_backfill_jobs{cores}"),
            &mut loads,
        );
    }
}

/// A variant's load into a fresh, migrated database.
type Load<'a> = Box<dyn FnMut(&mut Client, &str) + 'a>;

/// Runs every variant once per round, `n` rounds, the order turning from round to round, and
/// prints each variant's median and the median of the ratios taken within a round. On a shared
/// machine whose speed drifts over minutes, criterion's variant after variant measures each in
/// different conditions; within a round they are seconds apart.
fn rounds(n: usize, rows: u64, engine: &str, loads: &mut [(String, Load<'_>)]) {
    let count = loads.len();
    let mut times = vec![Vec::new(); count];
    let mut cpu = vec![Vec::new(); count];
    for round in 0..n {
        for i in (0..count).map(|i| (i + round) % count) {
            let (elapsed, busy) = timed_with_cpu(rows, &mut *loads[i].1);
            times[i].push(elapsed.as_secs_f64() * 1e3);
            cpu[i].extend(busy.map(|b| b.as_secs_f64() * 1e3));
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let half = v.len() / 2;
        if v.len().is_multiple_of(2) {
            (v[half - 1] + v[half]) / 2.0
        } else {
            v[half]
        }
    };
    let index = |name: &str| {
        loads
            .iter()
            .position(|(n, _)| n == name)
            .expect("a variant")
    };
    let of = |name: &str| &times[index(name)];
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("{n} rounds, every variant once a round, the order turning:");
    for (((name, _), t), c) in loads.iter().zip(&times).zip(&cpu) {
        let ms = median(t.clone());
        // The machine's busy CPU time (every core, the client and the server) during the load.
        let busy = match c.len() == t.len() {
            true => {
                let cpu = median(c.clone());
                let used = cpu / (ms * cores as f64) * 100.0;
                format!("  CPU {cpu:7.1} ms ({used:.0}% of {cores} cores)")
            }
            false => String::new(),
        };
        println!(
            "  {name:30} median {ms:7.1} ms  ({:.0} rows/s){busy}",
            rows as f64 / ms * 1e3
        );
    }
    for baseline in ["insert_500", "insert_500_id_map", "psql_copy"] {
        let ratios: Vec<f64> = of(baseline)
            .iter()
            .zip(of(engine))
            .map(|(b, e)| b / e)
            .collect();
        let (low, high) = ratios
            .iter()
            .fold((f64::MAX, f64::MIN), |(l, h), r| (l.min(*r), h.max(*r)));
        println!(
            "  {engine} against {baseline}: {:.2}x (median of the rounds' ratios; {low:.2}-{high:.2})",
            median(ratios)
        );
    }
    // Wall time is at least CPU time over the cores: what 3x the INSERT pattern leaves the
    // engine to spend, at best, against what it spends.
    if cpu.iter().any(|c| c.len() < n) {
        println!("  CPU time not shown: /proc/stat could not be read for every load");
    } else {
        for baseline in ["insert_500", "insert_500_id_map"] {
            let budget = median(of(baseline).clone()) / 3.0 * cores as f64;
            println!(
                "  3x {baseline} leaves {budget:.1} ms of CPU on {cores} cores fully used; \
                 {engine} used {:.1} ms (psql_copy {:.1} ms)",
                median(cpu[index(engine)].clone()),
                median(cpu[index("psql_copy")].clone()),
            );
        }
    }
}

/// Runs `load` on `iters` fresh databases, timing only the load, and checks afterwards, untimed,
/// that every variant wrote the same `rows` (counting them is no part of a load).
fn timed(iters: u64, rows: u64, mut load: impl FnMut(&mut Client, &str)) -> Duration {
    (0..iters).map(|_| timed_with_cpu(rows, &mut load).0).sum()
}

/// One load as [`timed`] runs it, with the machine's busy CPU time during it (`None` where
/// `/proc/stat` cannot be read).
fn timed_with_cpu(
    rows: u64,
    mut load: impl FnMut(&mut Client, &str),
) -> (Duration, Option<Duration>) {
    let (db, mut client) = migrated();
    let busy_before = busy_cpu();
    let started = Instant::now();
    load(&mut client, db.url());
    let elapsed = started.elapsed();
    let busy = busy_cpu()
        .zip(busy_before)
        .map(|(after, before)| after.saturating_sub(before));
    assert_eq!(
        count_rows(&mut client),
        rows,
        "rows in the database after the load"
    );
    (elapsed, busy)
}

/// The CPU time every core has spent not idle since boot, from the first line of `/proc/stat`:
/// user (guests included), nice, system, irq and softirq, in the kernel's clock ticks (`USER_HZ`,
/// 100 a second on Linux whatever the kernel's own tick; 10 ms resolution). Steal is left out:
/// it is time the hypervisor gave another machine, not work of this one.
fn busy_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<u64> = stat
        .lines()
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace()
        .map(|t| t.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal ...
    let busy = [0, 1, 2, 5, 6]
        .iter()
        .map(|&i| ticks.get(i))
        .sum::<Option<u64>>()?;
    Some(Duration::from_millis(busy * 10))
}

/// Peak RSS of the release binary backfilling dumps of 10,000, 100,000 and 1,000,000 documents.
fn memory() {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/escrow-schema");
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build --release -p escrow-schema` first",
        bin.display()
    );
    for total in [10_000usize, 100_000, 1_000_000] {
        let per = total.div_ceil(REGISTRY.len());
        let dump = scratch(&format!("memory-{total}"));
        sample::write_dump(&dump, per, false).expect("a dump");
        let bytes: u64 = std::fs::read_dir(&dump)
            .expect("lists")
            .map(|e| e.expect("entry").metadata().expect("metadata").len())
            .sum();
        let (db, _client) = migrated();
        let started = Instant::now();
        let out = Command::new("/usr/bin/env")
            .args([
                "bash",
                "-c",
                "command time -f '%M' \"$@\" 2>&1 >/dev/null | tail -1",
                "time",
            ])
            .arg(&bin)
            .args(["backfill", "--no-progress", "--dump"])
            .arg(&dump)
            .args(["--database-url", db.url()])
            .output()
            .expect("runs");
        let peak_kib = String::from_utf8_lossy(&out.stdout).trim().to_string();
        println!(
            "memory: {} documents ({:.0} MB of BSON): peak RSS {peak_kib} KiB, {:.1} s",
            per * REGISTRY.len(),
            bytes as f64 / 1e6,
            started.elapsed().as_secs_f64()
        );
        let _ = std::fs::remove_dir_all(&dump);
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
    if std::env::var_os("SCHEMAC_BENCH_MEMORY").is_some() {
        memory();
    }
}
