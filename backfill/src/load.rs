//! The backfill: a dump directory in, the catalogue's tables filled, every document accounted
//! for (loaded, already there, or in `pg_dualwrite_gaps` with its reason).
//!
//! Per collection, in [`order`](crate::order::order) order, documents are read one at a time,
//! transformed by the generated code and gathered in batches (at most `batch_size` documents or
//! [`BATCH_BYTES`] of BSON). A batch is one transaction: its rows (by COPY into the real
//! tables, the [`fast`](crate::fast) way, when its documents are all new and every reference is
//! there; otherwise COPY into staging and merge, see [`stage`](crate::stage)), `id_map`, the
//! gaps of the documents that failed, and the checkpoint in `schemac.backfill_progress`. When
//! the merge fails (a constraint), the batch is retried document by document under savepoints
//! so that only the failing documents go to the gaps. An interrupted run resumes
//! after the last committed batch; a finished collection is skipped (the same dump, by file name
//! and size), so a second run changes nothing. Deferred references (self-references, cycles)
//! whose target came later are filled in once their target's collection has loaded, while
//! other collections load, and what is left at the end; one whose target never came is a gap.

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use schemac_runtime::bson::{RawBsonRef, RawDocumentBuf};
use schemac_runtime::dump::{self, DumpError};
use schemac_runtime::postgres::{self, Client, GenericClient, Transaction};
use schemac_runtime::registry::{self, Collection, Rows};
use schemac_runtime::transform::{IdMapRow, Mode, object_id};
use schemac_runtime::uuid::Uuid;

use crate::fast::{Catalog, FastWay};
use crate::order::{self, Deferred, Step};
use crate::stage::{Stage, StageError, Unresolved, qualified, quote};

/// A batch is flushed when its documents' BSON reaches this many bytes.
pub const BATCH_BYTES: usize = 16 * 1024 * 1024;

/// The session setting under which the generated hook triggers leave rows as written.
pub const SKIP_HOOKS: &str = "schemac.skip_hooks";

/// How many times (every 200 ms) the backfill tries the lock before giving up.
const LOCK_ATTEMPTS: u32 = 50;

/// The advisory lock a backfill holds, so two cannot interleave on one database.
pub const LOCK_KEY: i64 = 0x5343_4241_434b_4649; // "SCBACKFI"

/// What to load and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// The mongodump (or mongoexport) directory.
    pub dump: PathBuf,
    /// Only these collections (and nothing else); all of the dump when empty.
    pub collections: Vec<String>,
    /// Documents per batch (transaction); 0 loads one document per batch, as 1 does (the
    /// command line refuses 0).
    pub batch_size: usize,
    /// Unknown keys: an error (strict) or ignored and reported (lenient).
    pub mode: Mode,
    /// Start over: forget the checkpoints (loading stays idempotent).
    pub restart: bool,
    /// Draw progress bars on stderr (hidden anyway when stderr is not a terminal).
    pub progress: bool,
    /// Collections loaded at once, each on its own connection: a collection starts as soon as
    /// the collections it references have loaded, so collections that do not reference each
    /// other load in parallel. Needs `connect`.
    pub jobs: usize,
    /// How to open the connections of `jobs` beyond the client the backfill is given (the
    /// CLI's `--database-url`). Without it, one collection loads at a time.
    pub connect: Option<postgres::Config>,
    /// Try each batch the fast way first: plain inserts with the per-row foreign key triggers
    /// off (`session_replication_role = replica`, which the role must be allowed to set), every
    /// foreign key then checked in one query. False, or when the role may not: every batch is
    /// merged and its references checked row by row by the triggers. Either way every foreign
    /// key holds when a batch commits.
    pub bulk_checks: bool,
}

impl Options {
    /// Defaults: every collection, batches of 1,000, strict, with progress bars.
    pub fn new(dump: impl Into<PathBuf>) -> Options {
        Options {
            dump: dump.into(),
            collections: Vec::new(),
            batch_size: 1000,
            mode: Mode::Strict,
            restart: false,
            progress: true,
            jobs: 1,
            connect: None,
            bulk_checks: true,
        }
    }
}

/// Why the backfill could not run (a document's failure is never one: it is a gap).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The dump directory could not be read (boxed: a dump error carries paths and causes).
    #[error(transparent)]
    Dump(Box<DumpError>),
    /// A database error outside a document's load.
    #[error("postgres: {0}")]
    Postgres(#[from] postgres::Error),
    /// Rows that could not be staged, outside a document's load.
    #[error(transparent)]
    Stage(StageError),
    /// No load order exists.
    #[error(transparent)]
    Cycle(#[from] order::CycleError),
    /// `--collection` names a collection the catalogue does not have.
    #[error("`{0}` is not a collection of the catalogue (known: {1})")]
    UnknownCollection(String, String),
    /// The database has not been migrated.
    #[error(
        "the database has no table `{0}`: apply the migrations first (`schemac migrate apply \
         --database-url URL`)"
    )]
    NotMigrated(String),
    /// Another backfill holds the lock.
    #[error("another backfill is running on this database (advisory lock {LOCK_KEY} is held)")]
    Locked,
}

impl From<StageError> for Error {
    fn from(e: StageError) -> Error {
        match e {
            StageError::Postgres(e) => Error::Postgres(e),
            other => Error::Stage(other),
        }
    }
}

impl From<DumpError> for Error {
    fn from(e: DumpError) -> Error {
        Error::Dump(Box::new(e))
    }
}

/// One collection's outcome.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CollectionReport {
    /// The collection.
    pub collection: String,
    /// The file read.
    pub source: String,
    /// Documents in the dump (read by this run and earlier runs of the same dump).
    pub documents: u64,
    /// Of which newly loaded.
    pub inserted: u64,
    /// Of which already in the database (loaded by an earlier run or by the dual-write).
    pub present: u64,
    /// Of which recorded in `pg_dualwrite_gaps`.
    pub gaps: u64,
    /// Documents this run read (0 when an earlier run finished the collection).
    pub read_now: u64,
    /// Documents skipped because an interrupted run had committed them.
    pub resumed_after: u64,
    /// Time spent by this run.
    #[serde(serialize_with = "seconds")]
    pub elapsed: Duration,
    /// The fast way was open to it (see [`Options::bulk_checks`]): references checked in bulk.
    /// False when an earlier run had finished the collection (nothing staged, nothing loaded).
    pub bulk_checks: bool,
    /// Batches this run committed.
    pub batches: u64,
    /// Of which loaded the fast way (the others were merged, references checked row by row).
    pub fast_batches: u64,
    /// In lenient mode, the keys the catalogue does not declare, skipped: Mongo path (array
    /// indexes as `$`) and how many times this run met it.
    pub unknown_keys: std::collections::BTreeMap<String, u64>,
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// A deferred reference whose target never arrived: the row was loaded with the column NULL
/// and the document is in the gaps.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Dangling {
    /// The collection.
    pub collection: String,
    /// The document's `_id`.
    pub legacy_object_id: String,
    /// The Mongo path of the reference.
    pub path: String,
    /// The collection it points into.
    pub target_collection: String,
    /// The missing ObjectId (hex), or the uuid when it has none.
    pub target: String,
}

/// The outcome of a backfill.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    /// Per collection, in load order.
    pub collections: Vec<CollectionReport>,
    /// Deferred references filled in after their target loaded.
    pub resolved: u64,
    /// Deferred references whose target is missing (this run's; each document is also in the
    /// gaps, though its row is loaded, so the collections' counts leave it out).
    pub dangling: Vec<Dangling>,
    /// Collections of the dump the catalogue does not have: not loaded.
    pub not_in_catalogue: Vec<String>,
    /// Bulk reference checks were asked for but the role may not set
    /// `session_replication_role`: every reference was checked row by row.
    pub bulk_checks_refused: bool,
}

impl Report {
    /// Documents recorded as gaps, over all collections.
    pub fn gaps(&self) -> u64 {
        self.collections.iter().map(|c| c.gaps).sum()
    }
}

/// Backfills `opts.dump` into the database of `client` using the generated `registry`.
pub fn backfill(
    registry: &[&dyn Collection],
    client: &mut Client,
    opts: &Options,
) -> Result<Report, Error> {
    let in_dump = dump::collections(&opts.dump)?;
    let mut report = Report::default();
    let wanted: Vec<String> = if opts.collections.is_empty() {
        in_dump.clone()
    } else {
        opts.collections.clone()
    };
    let mut selected = Vec::new();
    for name in &wanted {
        match registry::find(registry, name) {
            Some(c) => selected.push(c),
            None if opts.collections.is_empty() => report.not_in_catalogue.push(name.clone()),
            None => {
                let known: Vec<&str> = registry.iter().map(|c| c.name()).collect();
                return Err(Error::UnknownCollection(name.clone(), known.join(", ")));
            }
        }
    }
    let steps = order::order(&selected)?;
    check_migrated(
        client,
        &["id_map", "pg_dualwrite_gaps"],
        steps.iter().map(|s| s.collection),
    )?;
    prepare(client)?;
    let bulk_checks = opts.bulk_checks && may_skip_row_checks(client)?;
    report.bulk_checks_refused = opts.bulk_checks && !bulk_checks;
    // A killed run's session may hold the lock for a moment after its client died.
    let mut attempts = 0;
    while !client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&LOCK_KEY])?
        .get::<_, bool>(0)
    {
        attempts += 1;
        if attempts >= LOCK_ATTEMPTS {
            return Err(Error::Locked);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let result = client
        .batch_execute(&session())
        .map_err(Error::from)
        .and_then(|()| run(client, &steps, opts, bulk_checks, &mut report));
    let _ = client.batch_execute(&format!("RESET {SKIP_HOOKS}; RESET synchronous_commit"));
    let _ = client.execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY]);
    result.map(|()| report)
}

/// The settings of every backfill session. Documents are loaded as Mongo has them: the hook
/// triggers (slug, timeline) stand aside. Commits do not wait for the WAL flush: a batch, its
/// id_map rows, gaps and checkpoint commit together, so a server crash can only lose the last
/// batches whole, and the next run resumes from the checkpoint that survived.
fn session() -> String {
    format!("SET {SKIP_HOOKS} = on; SET synchronous_commit = off")
}

/// Whether the role may set `session_replication_role` (a superuser, or on PostgreSQL 15 and
/// later a role granted `SET ON PARAMETER session_replication_role`).
fn may_skip_row_checks(client: &mut Client) -> Result<bool, postgres::Error> {
    let mut tx = client.transaction()?;
    let allowed = match tx.batch_execute("SET LOCAL session_replication_role = replica") {
        Ok(()) => true,
        Err(e) if e.code() == Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE) => false,
        Err(e) => return Err(e),
    };
    tx.rollback()?;
    Ok(allowed)
}

/// Loads the steps on up to `opts.jobs` connections, each collection as soon as the collections
/// it references (deferred references aside) have loaded (see [`Schedule`]), and fills in each
/// deferred reference as soon as its collection and its target's have loaded (see
/// [`Job::Resolve`]); then fills in what is left of them and records the dangling ones.
fn run(
    client: &mut Client,
    steps: &[Step<'_>],
    opts: &Options,
    bulk_checks: bool,
    report: &mut Report,
) -> Result<(), Error> {
    // What the fast way needs of PostgreSQL's catalog, read once for every collection.
    let catalog = if bulk_checks {
        Some(Catalog::read(client, steps.iter().map(|s| s.collection))?)
    } else {
        None
    };
    let catalog = catalog.as_ref();
    let bars = MultiProgress::with_draw_target(if opts.progress {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let bytes: Vec<u64> = steps
        .iter()
        .map(|s| source(&opts.dump, s.collection.name()).1.max(0) as u64)
        .collect();
    let jobs = jobs(client, steps)?;
    let prerequisites = prerequisites(steps);
    let (needs, sizes): (Vec<Vec<usize>>, Vec<u64>) = jobs
        .iter()
        .map(|job| match *job {
            Job::Load(step) => (prerequisites[step].clone(), bytes[step]),
            Job::Resolve {
                step,
                target,
                after,
                ..
            } => ([step, target].into_iter().chain(after).collect(), 0),
        })
        .unzip();
    let schedule = Schedule::new(needs, &sizes);
    let mut extra = Vec::new();
    if let Some(config) = &opts.connect {
        for _ in 1..opts.jobs.min(steps.len()) {
            let mut c = config.connect(postgres::NoTls)?;
            c.batch_execute(&session())?;
            extra.push(c);
        }
    }
    let clients: Vec<&mut Client> = std::iter::once(&mut *client)
        .chain(extra.iter_mut())
        .collect();
    std::thread::scope(|scope| {
        for client in clients {
            let (schedule, bars, jobs) = (&schedule, &bars, &jobs);
            scope.spawn(move || {
                let _wake = WakeOnPanic(schedule);
                while let Some(i) = schedule.next() {
                    let done = match jobs[i] {
                        Job::Load(step) => {
                            load_step(client, &steps[step], opts, catalog, bars).map(Done::Loaded)
                        }
                        Job::Resolve { step, deferred, .. } => {
                            resolve_now(client, &steps[step], &deferred).map(Done::Resolved)
                        }
                    };
                    schedule.finish(i, done);
                }
            });
        }
    });
    for done in schedule.into_reports()? {
        match done {
            Done::Loaded(collection) => report.collections.push(collection),
            Done::Resolved(n) => report.resolved += n,
        }
    }
    resolve_deferred(client, steps, report)
}

/// What a connection of the backfill does next.
#[derive(Clone, Copy)]
enum Job {
    /// Load the collection of this step.
    Load(usize),
    /// Fill in a deferred reference of `step` once it and `target` (the step of the collection
    /// it points into) have loaded, while other collections load, rather than at the end.
    /// Only for a column in no unique index: the UPDATE then locks its rows `FOR NO KEY
    /// UPDATE`, which the `FOR KEY SHARE` locks of the loads' foreign key checks (and of the
    /// other fill-ins) do not wait for, nor do they wait for it, so it cannot deadlock with
    /// them. Two fill-ins of one table would lock the same rows: the later waits for the
    /// earlier (`after`, its job).
    Resolve {
        step: usize,
        target: usize,
        deferred: Deferred,
        after: Option<usize>,
    },
}

/// What a [`Job`] did.
enum Done {
    Loaded(CollectionReport),
    Resolved(u64),
}

/// The jobs of a backfill: a [`Job::Load`] per step, in the steps' order, then a
/// [`Job::Resolve`] per deferred reference whose target collection is one of the steps and
/// whose column is in no unique index (PostgreSQL's catalog says which: one query).
fn jobs(client: &mut Client, steps: &[Step<'_>]) -> Result<Vec<Job>, postgres::Error> {
    let mut jobs: Vec<Job> = (0..steps.len()).map(Job::Load).collect();
    let deferred: Vec<(usize, usize, Deferred)> = steps
        .iter()
        .enumerate()
        .flat_map(|(i, step)| step.deferred.iter().map(move |d| (i, d)))
        .filter_map(|(i, d)| {
            let target = steps
                .iter()
                .position(|s| s.collection.name() == d.reference.collection)?;
            Some((i, target, *d))
        })
        .collect();
    if deferred.is_empty() {
        return Ok(jobs);
    }
    let columns: Vec<(String, &str)> = deferred
        .iter()
        .map(|&(i, _, d)| {
            let table = steps[i].collection.tables()[d.table].name;
            (qualified(table), d.reference.column)
        })
        .collect();
    let keyed = in_unique_index(client, &columns)?;
    for ((step, target, deferred), keyed) in deferred.into_iter().zip(keyed) {
        if keyed {
            continue;
        }
        let after = jobs.iter().rposition(|job| {
            matches!(*job, Job::Resolve { step: s, deferred: d, .. } if s == step && d.table == deferred.table)
        });
        jobs.push(Job::Resolve {
            step,
            target,
            deferred,
            after,
        });
    }
    Ok(jobs)
}

/// Per (`public."table"`, column), whether a unique index holds the column, or may (a unique
/// index on expressions): an UPDATE of it then locks its rows `FOR UPDATE`, which waits for
/// and blocks `FOR KEY SHARE`. Partial unique indexes count, to be safe.
pub(crate) fn in_unique_index(
    client: &mut impl GenericClient,
    columns: &[(String, &str)],
) -> Result<Vec<bool>, postgres::Error> {
    let (relations, names): (Vec<&str>, Vec<&str>) =
        columns.iter().map(|(r, c)| (r.as_str(), *c)).unzip();
    client
        .query(
            "SELECT EXISTS (
                 SELECT 1 FROM pg_index i
                 WHERE i.indrelid = d.relation::regclass AND i.indisunique
                   AND (i.indexprs IS NOT NULL OR EXISTS (
                        SELECT 1 FROM pg_attribute a
                        WHERE a.attrelid = i.indrelid AND a.attname = d.column_name
                          AND a.attnum = ANY (i.indkey))))
             FROM unnest($1::text[], $2::text[]) WITH ORDINALITY d(relation, column_name, n)
             ORDER BY d.n",
            &[&relations, &names],
        )?
        .iter()
        .map(|row| row.try_get(0))
        .collect()
}

/// The steps each step waits for: the earlier steps of the collections it references without
/// deferring. A deferred reference does not need its target first, so it adds no wait.
fn prerequisites(steps: &[Step<'_>]) -> Vec<Vec<usize>> {
    steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let name = step.collection.name();
            let mut needs: Vec<usize> = step
                .collection
                .tables()
                .iter()
                .enumerate()
                .flat_map(|(table, t)| t.references.iter().map(move |r| (table, *r)))
                .filter(|&(table, reference)| {
                    reference.collection != name
                        && !step.deferred.contains(&Deferred { table, reference })
                })
                .filter_map(|(_, r)| {
                    steps[..i]
                        .iter()
                        .position(|s| s.collection.name() == r.collection)
                })
                .collect();
            needs.sort_unstable();
            needs.dedup();
            needs
        })
        .collect()
}

/// Which job (a [`Job`]: a collection to load, a deferred reference to fill in) a free
/// connection takes next. A job is ready when every job it waits for has finished (a
/// collection's [`prerequisites`]; a fill-in's collection and its target's); of the ready
/// ones, the one heading the longest chain of waiting jobs, counted in dump bytes, goes first,
/// so that the chain that decides when the backfill ends starts early (ties: the order's; a
/// fill-in weighs nothing, so it takes a connection no collection is ready for). There are no
/// rounds: a job starts as soon as its own prerequisites are in, whatever else is running.
/// After an error no job starts, and those running finish.
struct Schedule<T> {
    needs: Vec<Vec<usize>>,
    /// The steps by priority, highest first.
    by_priority: Vec<usize>,
    state: Mutex<Progress<T>>,
    changed: Condvar,
}

/// Calls [`Schedule::abandon`] when its thread unwinds from a panic.
struct WakeOnPanic<'s, T>(&'s Schedule<T>);

impl<T> Drop for WakeOnPanic<'_, T> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.abandon();
        }
    }
}

struct Progress<T> {
    started: Vec<bool>,
    results: Vec<Option<Result<T, Error>>>,
    failed: bool,
}

impl<T> Schedule<T> {
    fn new(needs: Vec<Vec<usize>>, bytes: &[u64]) -> Schedule<T> {
        // The bytes of the heaviest chain from each step through the steps that wait for it;
        // those come later in the order, so one backward pass finds them.
        let mut chain: Vec<u64> = bytes.to_vec();
        for i in (0..needs.len()).rev() {
            for &before in &needs[i] {
                chain[before] = chain[before].max(bytes[before] + chain[i]);
            }
        }
        let mut by_priority: Vec<usize> = (0..needs.len()).collect();
        by_priority.sort_by_key(|&i| (std::cmp::Reverse(chain[i]), i));
        let state = Progress {
            started: vec![false; needs.len()],
            results: needs.iter().map(|_| None).collect(),
            failed: false,
        };
        Schedule {
            needs,
            by_priority,
            state: Mutex::new(state),
            changed: Condvar::new(),
        }
    }

    /// The next job, waiting while every job left waits for one still running;
    /// `None` when none is left, or after an error.
    fn next(&self) -> Option<usize> {
        let mut state = self.state.lock().expect("no thread panics holding it");
        loop {
            if state.failed || state.started.iter().all(|&s| s) {
                return None;
            }
            let ready = self.by_priority.iter().copied().find(|&i| {
                !state.started[i] && self.needs[i].iter().all(|&n| state.results[n].is_some())
            });
            if let Some(i) = ready {
                state.started[i] = true;
                return Some(i);
            }
            state = self
                .changed
                .wait(state)
                .expect("no thread panics holding it");
        }
    }

    /// Records the result of step `i` and wakes the connections waiting for it.
    fn finish(&self, i: usize, result: Result<T, Error>) {
        let mut state = self.state.lock().expect("no thread panics holding it");
        state.failed |= result.is_err();
        state.results[i] = Some(result);
        self.changed.notify_all();
    }

    /// Stops the schedule for a connection whose thread panicked, so the others do not wait
    /// for it forever; the panic then reaches the caller when the threads are joined.
    fn abandon(&self) {
        let mut state = match self.state.lock() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        };
        state.failed = true;
        self.changed.notify_all();
    }

    /// The reports in the order of the steps, or the first error (in that order).
    fn into_reports(self) -> Result<Vec<T>, Error> {
        let state = self.state.into_inner().expect("the threads are done");
        state.results.into_iter().flatten().collect()
    }
}

/// Loads one collection on `client`, after its checkpoint: its reader thread starts first, so
/// that the first batch is read and transformed while the fast way's statements are prepared.
fn load_step(
    client: &mut Client,
    step: &Step<'_>,
    opts: &Options,
    catalog: Option<&Catalog>,
    bars: &MultiProgress,
) -> Result<CollectionReport, Error> {
    let checkpoint = Checkpoint::read(client, step.collection.name(), opts)?;
    std::thread::scope(|scope| {
        // On an error the reading is dropped on the way out, which stops the reader.
        let reading = if checkpoint.finished {
            None
        } else {
            Some(Reading::start(scope, step.collection, &checkpoint, opts)?)
        };
        load_collection(client, step, &checkpoint, reading, catalog, bars)
    })
}

/// The bookkeeping tables, in their own schema so that they never show in the catalogue's.
fn prepare(client: &mut Client) -> Result<(), postgres::Error> {
    client.batch_execute(
        "CREATE SCHEMA IF NOT EXISTS schemac;
         CREATE TABLE IF NOT EXISTS schemac.backfill_progress (
             collection text PRIMARY KEY,
             source text NOT NULL,
             source_bytes bigint NOT NULL,
             documents bigint NOT NULL DEFAULT 0,
             inserted bigint NOT NULL DEFAULT 0,
             present bigint NOT NULL DEFAULT 0,
             gaps bigint NOT NULL DEFAULT 0,
             started_at timestamptz NOT NULL DEFAULT now(),
             updated_at timestamptz NOT NULL DEFAULT now(),
             finished_at timestamptz
         );
         COMMENT ON TABLE schemac.backfill_progress IS
             'schemac backfill checkpoints: per collection, the dump file and the documents committed.';
         CREATE TABLE IF NOT EXISTS schemac.backfill_pending (
             table_name text NOT NULL,
             column_name text NOT NULL,
             row_id uuid NOT NULL,
             target uuid NOT NULL,
             collection text NOT NULL,
             legacy_object_id text NOT NULL,
             mongo_path text NOT NULL,
             target_collection text NOT NULL,
             document bytea NOT NULL,
             PRIMARY KEY (table_name, column_name, row_id)
         );
         COMMENT ON TABLE schemac.backfill_pending IS
             'schemac backfill: deferred references (self-references, cycles) waiting for their target.';",
    )
}

/// `Error::NotMigrated` naming the first of `extra` and the tables of `collections` that the
/// database does not have: one query.
pub(crate) fn check_migrated<'c>(
    client: &mut Client,
    extra: &[&str],
    collections: impl IntoIterator<Item = &'c dyn Collection>,
) -> Result<(), Error> {
    let mut needed: Vec<String> = extra.iter().map(|t| t.to_string()).collect();
    for collection in collections {
        needed.extend(collection.tables().iter().map(|t| t.name.to_string()));
    }
    let qualified: Vec<String> = needed.iter().map(|t| qualified(t)).collect();
    let missing: Option<i64> = client
        .query_one(
            "SELECT min(n) FROM unnest($1::text[]) WITH ORDINALITY AS u(t, n)
             WHERE to_regclass(t) IS NULL",
            &[&qualified],
        )?
        .get(0);
    match missing {
        Some(n) => Err(Error::NotMigrated(needed[n as usize - 1].clone())),
        None => Ok(()),
    }
}

/// The file a collection is read from (for the checkpoint): name and size.
fn source(dir: &Path, collection: &str) -> (String, i64) {
    for ext in ["bson", "bson.gz", "json"] {
        let path = dir.join(format!("{collection}.{ext}"));
        if let Ok(meta) = std::fs::metadata(&path) {
            return (format!("{collection}.{ext}"), meta.len() as i64);
        }
    }
    (collection.to_string(), 0)
}

/// A document that will not be loaded (or, for a dangling deferred reference, not fully).
struct Gap {
    legacy_object_id: Option<String>,
    error: String,
    document: Option<Vec<u8>>,
}

/// A transformed document waiting in a batch.
struct Pending {
    rows: Box<dyn Rows>,
    id_map: Option<IdMapRow>,
    raw: RawDocumentBuf,
}

#[derive(Default)]
struct Batch {
    docs: Vec<Pending>,
    gaps: Vec<Gap>,
    /// Items read from the dump (documents and unreadable ones).
    items: u64,
    bytes: usize,
}

fn load_collection(
    client: &mut Client,
    step: &Step<'_>,
    checkpoint: &Checkpoint,
    reading: Option<Reading<'_>>,
    catalog: Option<&Catalog>,
    bars: &MultiProgress,
) -> Result<CollectionReport, Error> {
    let started = Instant::now();
    let name = step.collection.name();
    let mut report = CollectionReport {
        collection: name.to_string(),
        source: checkpoint.file.clone(),
        documents: 0,
        inserted: 0,
        present: 0,
        gaps: 0,
        read_now: 0,
        resumed_after: checkpoint.resumed_after,
        elapsed: Duration::ZERO,
        bulk_checks: false,
        batches: 0,
        fast_batches: 0,
        unknown_keys: Default::default(),
    };
    let Some(reading) = reading else {
        // An earlier run finished this file: nothing to stage.
        fill_totals(client, &mut report)?;
        report.elapsed = started.elapsed();
        return Ok(report);
    };
    let fast_way = match catalog {
        Some(catalog) => FastWay::prepare(client, catalog, step.collection, &step.deferred)?,
        None => None,
    };
    report.bulk_checks = fast_way.is_some();
    // Created by the first batch that loads the usual way.
    let mut stage = None;
    if !checkpoint.resumes {
        client.execute(
            "INSERT INTO schemac.backfill_progress (collection, source, source_bytes)
             VALUES ($1, $2, $3)
             ON CONFLICT (collection) DO UPDATE SET source = EXCLUDED.source,
                 source_bytes = EXCLUDED.source_bytes, documents = 0, inserted = 0, present = 0,
                 gaps = 0, started_at = now(), updated_at = now(), finished_at = NULL",
            &[&name, &checkpoint.file, &checkpoint.size],
        )?;
    }

    let bar = bars.add(ProgressBar::no_length());
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>24.bold} {spinner} {human_pos:>9} docs  {per_sec:>14}  {elapsed:>4}  {msg}",
        )
        .expect("a valid progress template"),
    );
    bar.set_prefix(name.to_string());
    bar.enable_steady_tick(Duration::from_millis(200));

    bar.set_position(report.resumed_after);
    let mut loaded = 0;
    let mut fast_failures = 0;
    // On an error the receiver is dropped on the way out, which stops the reader.
    for batch in reading.batches.iter() {
        loaded += batch.items;
        let fast_way = fast_way
            .as_ref()
            .filter(|_| fast_failures < FAST_WAY_FAILURES);
        let fast = flush(client, step, fast_way, &mut stage, batch)?;
        fast_failures = if fast { 0 } else { fast_failures + 1 };
        report.batches += 1;
        report.fast_batches += u64::from(fast);
        bar.set_position(report.resumed_after + loaded);
    }
    let (read_now, unknown_keys) = reading
        .thread
        .join()
        .expect("the reader thread does not panic");
    report.read_now = read_now;
    report.unknown_keys = unknown_keys;
    client.execute(
        "UPDATE schemac.backfill_progress SET finished_at = now(), updated_at = now()
         WHERE collection = $1",
        &[&name],
    )?;
    fill_totals(client, &mut report)?;
    bar.set_position(report.documents);
    bar.finish_with_message(format!(
        "{} new, {} present, {} gaps",
        report.inserted, report.present, report.gaps
    ));
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Where a collection's load starts: its checkpoint.
struct Checkpoint {
    /// The file the collection is read from, and its size.
    file: String,
    size: i64,
    /// The checkpoint is of the same file and `--restart` was not given: the run goes on.
    resumes: bool,
    /// Documents committed by an interrupted run of this file, skipped (0 when it finished).
    resumed_after: u64,
    /// An earlier run finished this file: nothing to read.
    finished: bool,
}

impl Checkpoint {
    fn read(client: &mut Client, name: &str, opts: &Options) -> Result<Checkpoint, Error> {
        let (file, size) = source(&opts.dump, name);
        let row = client.query_opt(
            "SELECT source, source_bytes, documents, finished_at IS NOT NULL
             FROM schemac.backfill_progress WHERE collection = $1",
            &[&name],
        )?;
        let resumes = !opts.restart
            && row
                .as_ref()
                .is_some_and(|row| row.get::<_, String>(0) == file && row.get::<_, i64>(1) == size);
        let row = row.filter(|_| resumes);
        let finished = row.as_ref().is_some_and(|row| row.get::<_, bool>(3));
        let committed = row.map_or(0, |row| row.get::<_, i64>(2) as u64);
        Ok(Checkpoint {
            file,
            size,
            resumes,
            resumed_after: if finished { 0 } else { committed },
            finished,
        })
    }
}

/// A collection's reader thread: the batches it reads and transforms, and, once it is done,
/// how many items it read and the unknown keys it met.
struct Reading<'scope> {
    batches: std::sync::mpsc::Receiver<Batch>,
    thread: std::thread::ScopedJoinHandle<'scope, (u64, std::collections::BTreeMap<String, u64>)>,
}

impl<'scope> Reading<'scope> {
    /// Opens the collection's file and starts its reader after the documents that
    /// `checkpoint` says are loaded.
    fn start(
        scope: &'scope std::thread::Scope<'scope, '_>,
        collection: &'scope dyn Collection,
        checkpoint: &Checkpoint,
        opts: &'scope Options,
    ) -> Result<Reading<'scope>, Error> {
        let documents = dump::open_collection(&opts.dump, collection.name())?;
        // At most two batches wait: one in the channel, one read.
        let (sender, batches) = std::sync::mpsc::sync_channel::<Batch>(1);
        let skip = checkpoint.resumed_after;
        let thread = scope.spawn(move || read_batches(documents, skip, collection, opts, sender));
        Ok(Reading { batches, thread })
    }
}

/// Reads the documents after the first `skip`, transforms them and sends them in batches (at
/// most `batch_size` documents or [`BATCH_BYTES`] of BSON, documents that fail included as
/// gaps). Returns how many items it read and, in lenient mode, the unknown keys it met. Stops
/// early when the receiver is gone (the load failed).
fn read_batches(
    mut documents: dump::Documents,
    skip: u64,
    collection: &dyn Collection,
    opts: &Options,
    batches: std::sync::mpsc::SyncSender<Batch>,
) -> (u64, std::collections::BTreeMap<String, u64>) {
    let mut unknown_keys = std::collections::BTreeMap::new();
    let mut read = 0;
    for _ in 0..skip {
        if documents.next().is_none() {
            break;
        }
    }
    let mut batch = Batch::default();
    for item in documents {
        batch.items += 1;
        read += 1;
        match item {
            Ok(raw) => match collection.transform(&raw, opts.mode) {
                Ok((rows, cx)) => {
                    for path in &cx.unknown {
                        *unknown_keys.entry(path_pattern(path)).or_default() += 1;
                    }
                    batch.bytes += raw.as_bytes().len();
                    batch.docs.push(Pending {
                        rows,
                        id_map: cx.id_map,
                        raw,
                    });
                }
                Err(e) => batch.gaps.push(Gap {
                    legacy_object_id: legacy_id(&raw),
                    error: e.to_string(),
                    document: Some(raw.into_bytes()),
                }),
            },
            Err(e) => batch.gaps.push(Gap {
                legacy_object_id: None,
                error: e.to_string(),
                document: None,
            }),
        }
        let full =
            batch.docs.len() + batch.gaps.len() >= opts.batch_size || batch.bytes >= BATCH_BYTES;
        if full && batches.send(std::mem::take(&mut batch)).is_err() {
            return (read, unknown_keys);
        }
    }
    if batch.items > 0 {
        let _ = batches.send(batch);
    }
    (read, unknown_keys)
}

fn fill_totals(client: &mut Client, report: &mut CollectionReport) -> Result<(), postgres::Error> {
    let row = client.query_one(
        "SELECT documents, inserted, present, gaps FROM schemac.backfill_progress
         WHERE collection = $1",
        &[&report.collection],
    )?;
    report.documents = row.get::<_, i64>(0) as u64;
    report.inserted = row.get::<_, i64>(1) as u64;
    report.present = row.get::<_, i64>(2) as u64;
    report.gaps = row.get::<_, i64>(3) as u64;
    Ok(())
}

/// A Mongo path with its array indexes as `$`: `messages.3.x` -> `messages.$.x`.
fn path_pattern(path: &str) -> String {
    path.split('.')
        .map(|part| {
            if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
                "$"
            } else {
                part
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The `_id` of a raw document as 24 hex digits, when it is an ObjectId.
fn legacy_id(raw: &RawDocumentBuf) -> Option<String> {
    match raw.get("_id") {
        Ok(Some(RawBsonRef::ObjectId(oid))) => Some(oid.to_hex()),
        _ => None,
    }
}

/// After this many batches in a row that could not load the fast way (documents there already,
/// references to documents that are not), the rest of the collection is merged directly
/// instead of paying a rolled-back attempt per batch: a dump loaded in part by the dual-write
/// has its present documents together, the newest ones last.
const FAST_WAY_FAILURES: u32 = 2;

/// Commits one batch: the documents that load, the gaps of those that do not, the checkpoint.
/// Tries `fast_way` first when given; returns whether the batch loaded that way. The staging
/// tables of the usual way are created in `stage` when first needed.
fn flush(
    client: &mut Client,
    step: &Step<'_>,
    fast_way: Option<&FastWay>,
    stage: &mut Option<Stage>,
    mut batch: Batch,
) -> Result<bool, Error> {
    if batch.items == 0 {
        return Ok(false);
    }
    let name = step.collection.name();
    let mut tx = client.transaction()?;
    // The fast way when every document is new and every reference is there; then the whole
    // batch merged, row-checked; then one document at a time. Whatever fails the fast way (a
    // document there already, a dangling key, a value that cannot be sent) is rolled back and
    // met again by the usual way, which names it in the gaps or returns it as the error.
    if let Some(fast_way) = fast_way {
        let mut sp = tx.savepoint("fast")?;
        if let Ok(true) = load_fast(&mut sp, step, fast_way, &batch.docs) {
            sp.commit()?;
            let inserted = batch.docs.len() as u64;
            finish_batch(tx, name, &batch, inserted, 0)?;
            return Ok(true);
        }
    }
    let stage: &Stage = match stage {
        Some(stage) => stage,
        slot @ None => slot.insert(Stage::new(
            &mut tx,
            step.collection,
            &step.deferred,
            "stage_",
        )?),
    };
    let mut inserted = 0;
    let mut load_failures = 0;
    let mut sp = tx.savepoint("batch")?;
    match merge_docs(&mut sp, step, stage, &batch.docs, false) {
        Ok(n) => {
            sp.commit()?;
            inserted = n;
        }
        Err(_) => {
            drop(sp);
            // One document at a time, to find the ones that fail.
            for doc in &batch.docs {
                let mut sp = tx.savepoint("doc")?;
                match merge_docs(&mut sp, step, stage, std::slice::from_ref(doc), true) {
                    Ok(n) => {
                        sp.commit()?;
                        inserted += n;
                    }
                    Err(e) => {
                        drop(sp);
                        load_failures += 1;
                        batch.gaps.push(Gap {
                            legacy_object_id: Some(doc.rows.legacy_object_id().to_string()),
                            error: describe_load_error(step, &e),
                            document: Some(doc.raw.as_bytes().to_vec()),
                        });
                    }
                }
            }
        }
    }
    finish_batch(tx, name, &batch, inserted, load_failures)?;
    Ok(false)
}

/// The fast way (see [`FastWay::load`]) for `docs`, with their id_map
/// rows (plain inserts: a row already there fails the batch too) and deferred references.
/// Returns false, or an error, when the batch must roll back to the caller's savepoint.
fn load_fast(
    tx: &mut Transaction<'_>,
    step: &Step<'_>,
    fast_way: &FastWay,
    docs: &[Pending],
) -> Result<bool, StageError> {
    let rows: Vec<&dyn Rows> = docs.iter().map(|d| d.rows.as_ref()).collect();
    let Some(unresolved) = fast_way.load(tx, &rows)? else {
        return Ok(false);
    };
    record_loaded(tx, step, docs, &unresolved, false)?;
    Ok(true)
}

/// The end of a batch: its gaps, its checkpoint, the commit.
fn finish_batch(
    mut tx: Transaction<'_>,
    name: &str,
    batch: &Batch,
    inserted: u64,
    load_failures: u64,
) -> Result<(), Error> {
    for gap in &batch.gaps {
        record_gap(&mut tx, name, gap)?;
    }
    let loaded = batch.docs.len() as u64 - load_failures;
    let present = loaded.saturating_sub(inserted);
    tx.execute(
        "UPDATE schemac.backfill_progress SET documents = documents + $2, inserted = inserted + $3,
             present = present + $4, gaps = gaps + $5, updated_at = now()
         WHERE collection = $1",
        &[
            &name,
            &(batch.items as i64),
            &(inserted as i64),
            &(present as i64),
            &(batch.gaps.len() as i64),
        ],
    )?;
    tx.commit()?;
    Ok(())
}

/// The prefix of the error of a document that transformed but failed to load.
const LOAD_PREFIX: &str = "load: ";

/// The usual way: COPY into staging, merge (`ON CONFLICT DO NOTHING`, references checked row
/// by row by PostgreSQL, which names the one that fails), id_map and deferred references of
/// `docs`, inside the caller's savepoint. Returns how many documents were new. The staging rows
/// are removed before returning: by TRUNCATE for a batch, by DELETE for `one` document retried
/// (cheaper for a few rows).
fn merge_docs(
    tx: &mut Transaction<'_>,
    step: &Step<'_>,
    stage: &Stage,
    docs: &[Pending],
    one: bool,
) -> Result<u64, StageError> {
    let rows: Vec<&dyn Rows> = docs.iter().map(|d| d.rows.as_ref()).collect();
    stage.copy(tx, &rows)?;
    let inserted = stage.merge(tx)?;
    let unresolved = stage.unresolved(tx)?;
    if one {
        stage.empty(tx)?;
    } else {
        stage.clear(tx)?;
    }
    record_loaded(tx, step, docs, &unresolved, true)?;
    Ok(inserted)
}

/// What follows the rows of `docs`: their id_map rows (`ON CONFLICT DO NOTHING` when
/// `on_conflict`: some may be there already) and their deferred references whose target is
/// not loaded yet.
fn record_loaded(
    tx: &mut Transaction<'_>,
    step: &Step<'_>,
    docs: &[Pending],
    unresolved: &[Unresolved],
    on_conflict: bool,
) -> Result<(), postgres::Error> {
    record_id_map(tx, docs, on_conflict)?;
    let pending: Vec<(&Unresolved, &Pending)> = unresolved
        .iter()
        .filter_map(|u| {
            let doc = docs
                .iter()
                .find(|d| d.rows.has_row(u.deferred.table, u.row))?;
            Some((u, doc))
        })
        .collect();
    record_pending(tx, step, &pending)
}

/// The documents' id_map rows; `ON CONFLICT DO NOTHING` unless the documents are all new.
fn record_id_map(
    tx: &mut Transaction<'_>,
    docs: &[Pending],
    on_conflict: bool,
) -> Result<(), postgres::Error> {
    let (mut collections, mut legacy, mut ids) = (Vec::new(), Vec::new(), Vec::new());
    for row in docs.iter().filter_map(|d| d.id_map.as_ref()) {
        collections.push(row.collection);
        legacy.push(row.legacy_object_id());
        ids.push(row.id);
    }
    if ids.is_empty() {
        return Ok(());
    }
    let sql = "INSERT INTO public.id_map (collection, legacy_object_id, id)
               SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[])";
    let sql = if on_conflict {
        format!("{sql} ON CONFLICT DO NOTHING")
    } else {
        sql.to_string()
    };
    tx.execute(&sql, &[&collections, &legacy, &ids])?;
    Ok(())
}

/// Records the deferred references whose target is not loaded yet, with their documents: one
/// statement for the batch.
fn record_pending(
    tx: &mut Transaction<'_>,
    step: &Step<'_>,
    pending: &[(&Unresolved, &Pending)],
) -> Result<(), postgres::Error> {
    if pending.is_empty() {
        return Ok(());
    }
    let tables = step.collection.tables();
    let mut columns: [Vec<&str>; 5] = Default::default();
    let (mut rows, mut targets, mut documents) = (Vec::new(), Vec::new(), Vec::new());
    for (u, doc) in pending {
        let reference = &u.deferred.reference;
        columns[0].push(tables[u.deferred.table].name);
        columns[1].push(reference.column);
        columns[2].push(doc.rows.legacy_object_id());
        columns[3].push(reference.mongo_path);
        columns[4].push(reference.collection);
        rows.push(u.row);
        targets.push(u.target);
        documents.push(doc.raw.as_bytes());
    }
    let [table_names, column_names, legacy, paths, target_collections] = &columns;
    tx.execute(
        "INSERT INTO schemac.backfill_pending (table_name, column_name, row_id, target,
             collection, legacy_object_id, mongo_path, target_collection, document)
         SELECT t, c, r, g, $5, l, p, tc, d
         FROM unnest($1::text[], $2::text[], $3::uuid[], $4::uuid[], $6::text[], $7::text[],
                     $8::text[], $9::bytea[]) AS u(t, c, r, g, l, p, tc, d)
         ON CONFLICT (table_name, column_name, row_id) DO NOTHING",
        &[
            table_names,
            column_names,
            &rows,
            &targets,
            &step.collection.name(),
            legacy,
            paths,
            target_collections,
            &documents,
        ],
    )?;
    Ok(())
}

fn record_gap(
    tx: &mut impl GenericClient,
    collection: &str,
    gap: &Gap,
) -> Result<(), postgres::Error> {
    tx.execute(
        "INSERT INTO public.pg_dualwrite_gaps (collection, legacy_object_id, operation, error, document)
         VALUES ($1, $2, 'backfill', $3, $4)
         ON CONFLICT (collection, legacy_object_id, operation) WHERE resolved_at IS NULL
         DO UPDATE SET attempts = pg_dualwrite_gaps.attempts + 1, last_failed_at = now(),
             error = EXCLUDED.error, document = EXCLUDED.document",
        &[&collection, &gap.legacy_object_id, &gap.error, &gap.document],
    )?;
    Ok(())
}

/// A load error in words: a dangling reference named by its Mongo path and the missing
/// ObjectId, other constraint violations by constraint and Postgres's detail.
fn describe_load_error(step: &Step<'_>, e: &StageError) -> String {
    let Some(db) = (match e {
        StageError::Postgres(e) => e.as_db_error(),
        _ => None,
    }) else {
        return format!("{LOAD_PREFIX}{e}");
    };
    let detail = db.detail().unwrap_or_default();
    if db.code() == &postgres::error::SqlState::FOREIGN_KEY_VIOLATION {
        let reference = step
            .collection
            .tables()
            .iter()
            .flat_map(|t| t.references)
            .find(|r| detail.starts_with(&format!("Key ({})=(", r.column)));
        if let Some(r) = reference {
            let value = detail
                .split_once("=(")
                .and_then(|(_, rest)| rest.split_once(')'))
                .map(|(v, _)| v)
                .unwrap_or_default();
            let target = value
                .parse::<Uuid>()
                .ok()
                .and_then(|u| object_id(&u).ok())
                .map_or(value.to_string(), |oid| oid.to_hex());
            return format!(
                "{LOAD_PREFIX}dangling reference: {} names {} {target}, which is not in the \
                 database ({})",
                r.mongo_path,
                r.collection,
                db.constraint().unwrap_or("foreign key")
            );
        }
    }
    let constraint = db
        .constraint()
        .map(|c| format!(" ({c})"))
        .unwrap_or_default();
    let detail = if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    };
    format!("{LOAD_PREFIX}{}{constraint}{detail}", db.message())
}

/// Fills in deferred reference `d` of `step` where its target is loaded, in a transaction of
/// its own; returns how many rows it filled in.
fn resolve_now(client: &mut Client, step: &Step<'_>, d: &Deferred) -> Result<u64, Error> {
    let mut tx = client.transaction()?;
    let n = resolve(&mut tx, step, d)?;
    tx.commit()?;
    Ok(n)
}

/// Fills in deferred reference `d` of `step` where its target is loaded, and forgets those
/// pending rows. Returns how many rows it filled in.
fn resolve(
    tx: &mut Transaction<'_>,
    step: &Step<'_>,
    d: &Deferred,
) -> Result<u64, postgres::Error> {
    let (table, r) = (step.collection.tables()[d.table].name, d.reference);
    let n = tx.execute(
        &format!(
            "UPDATE public.{t} x SET {c} = p.target FROM schemac.backfill_pending p
             WHERE p.table_name = $1 AND p.column_name = $2 AND x.id = p.row_id
               AND x.{c} IS DISTINCT FROM p.target
               AND EXISTS (SELECT 1 FROM public.{target} y WHERE y.id = p.target)",
            t = quote(table),
            c = quote(r.column),
            target = quote(r.table),
        ),
        &[&table, &r.column],
    )?;
    tx.execute(
        &format!(
            "DELETE FROM schemac.backfill_pending p
             WHERE p.table_name = $1 AND p.column_name = $2
               AND EXISTS (SELECT 1 FROM public.{target} y WHERE y.id = p.target)",
            target = quote(r.table),
        ),
        &[&table, &r.column],
    )?;
    Ok(n)
}

/// Fills in the deferred references whose target is now loaded (those filled in early have
/// nothing left but what a concurrent writer may have added since); the rest are dangling:
/// their documents become gaps (the row stays, the column NULL).
fn resolve_deferred(
    client: &mut Client,
    steps: &[Step<'_>],
    report: &mut Report,
) -> Result<(), Error> {
    let mut tx = client.transaction()?;
    for step in steps {
        for d in &step.deferred {
            report.resolved += resolve(&mut tx, step, d)?;
        }
    }
    let dangling = tx.query(
        "DELETE FROM schemac.backfill_pending
         RETURNING collection, legacy_object_id, mongo_path, target_collection, target, document",
        &[],
    )?;
    for row in dangling {
        let d = Dangling {
            collection: row.get(0),
            legacy_object_id: row.get(1),
            path: row.get(2),
            target_collection: row.get(3),
            target: {
                let target: Uuid = row.get(4);
                object_id(&target).map_or(target.to_string(), |oid| oid.to_hex())
            },
        };
        let gap = Gap {
            legacy_object_id: Some(d.legacy_object_id.clone()),
            error: format!(
                "dangling reference: {} names {} {}, which is not in the dump or the database; \
                 the row was loaded with the reference NULL",
                d.path, d.target_collection, d.target
            ),
            document: Some(row.get(5)),
        };
        record_gap(&mut tx, &d.collection, &gap)?;
        report.dangling.push(d);
    }
    tx.commit()?;
    Ok(())
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rows: Vec<Vec<String>> = self
            .collections
            .iter()
            .map(|c| {
                let dangling = self
                    .dangling
                    .iter()
                    .filter(|d| d.collection == c.collection)
                    .count();
                let secs = c.elapsed.as_secs_f64();
                let rate = if c.read_now == 0 || secs == 0.0 {
                    String::new()
                } else {
                    format!("{:.0}", c.read_now as f64 / secs)
                };
                vec![
                    c.collection.clone(),
                    c.source.clone(),
                    c.documents.to_string(),
                    c.inserted.to_string(),
                    c.present.to_string(),
                    c.gaps.to_string(),
                    dangling.to_string(),
                    c.read_now.to_string(),
                    rate,
                    format!("{secs:.2}"),
                    if c.batches == 0 {
                        "-".to_string()
                    } else if !c.bulk_checks || c.fast_batches == 0 {
                        "row".to_string()
                    } else if c.fast_batches == c.batches {
                        "bulk".to_string()
                    } else {
                        format!("bulk {}/{}", c.fast_batches, c.batches)
                    },
                ]
            })
            .collect();
        write!(
            f,
            "{}",
            crate::table::render(
                &[
                    "collection",
                    "file",
                    "documents",
                    "new",
                    "present",
                    "gaps",
                    "dangling",
                    "read now",
                    "docs/s",
                    "seconds",
                    "checks",
                ],
                &rows,
            )
        )?;
        let total =
            |pick: fn(&CollectionReport) -> u64| -> u64 { self.collections.iter().map(pick).sum() };
        writeln!(
            f,
            "\n{} documents: {} new, {} already present, {} gaps ({} read by this run); {} \
             deferred references filled in",
            total(|c| c.documents),
            total(|c| c.inserted),
            total(|c| c.present),
            self.gaps(),
            total(|c| c.read_now),
            self.resolved
        )?;
        if self.bulk_checks_refused {
            writeln!(
                f,
                "references checked row by row: this role may not set session_replication_role, \
                 which checking them in bulk (faster) needs; a superuser can allow it with \
                 GRANT SET ON PARAMETER session_replication_role TO <role> (PostgreSQL 15+)"
            )?;
        }
        for d in &self.dangling {
            writeln!(
                f,
                "dangling: {} {}: {} names {} {}, which is not in the dump or the database \
                 (row loaded with NULL; document in pg_dualwrite_gaps)",
                d.collection, d.legacy_object_id, d.path, d.target_collection, d.target
            )?;
        }
        for c in &self.collections {
            for (path, n) in &c.unknown_keys {
                writeln!(
                    f,
                    "skipped (--lenient): {}.{path}, not in the catalogue, in {n} place(s)",
                    c.collection
                )?;
            }
        }
        for name in &self.not_in_catalogue {
            writeln!(
                f,
                "not loaded: `{name}` is in the dump but not in the catalogue (add a model, or \
                 pass --collection to choose what to load)"
            )?;
        }
        if self.gaps() > 0 || !self.dangling.is_empty() {
            writeln!(
                f,
                "gaps: SELECT collection, legacy_object_id, error FROM pg_dualwrite_gaps \
                 WHERE resolved_at IS NULL ORDER BY collection, legacy_object_id;"
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::{Error, Schedule, WakeOnPanic, in_unique_index};

    /// Steps 0 -> 1 (1 waits for 0) and a lone step 2: the chain outweighs the lone step.
    fn chain_and_lone() -> Schedule<usize> {
        Schedule::new(vec![vec![], vec![0], vec![]], &[10, 100, 50])
    }

    /// [`chain_and_lone`] on two connections: 0 and 2 loading, 1 left, waiting for 0.
    fn lone_and_chain_head_loading() -> Schedule<usize> {
        let schedule = chain_and_lone();
        assert_eq!(schedule.next(), Some(0));
        assert_eq!(schedule.next(), Some(2));
        schedule
    }

    #[test]
    fn the_heaviest_chain_starts_first_and_its_next_step_follows_before_lighter_ones() {
        // A lone step 0 (50 bytes) and a chain 1 (10) -> 2 (100): the chain weighs 110.
        let schedule = Schedule::new(vec![vec![], vec![], vec![1]], &[50, 10, 100]);
        let mut order = vec![];
        while let Some(i) = schedule.next() {
            order.push(i);
            schedule.finish(i, Ok(i));
        }
        // In the order's sequence, or level by level, it would have been 0, 1, then 2.
        assert_eq!(order, [1, 2, 0]);
        // The reports keep the order's sequence.
        assert_eq!(schedule.into_reports().unwrap(), [0, 1, 2]);
    }

    #[test]
    fn a_step_starts_when_its_own_prerequisites_are_in_not_when_a_round_ends() {
        // 0 is big and slow; 2 waits only for 1. In rounds, 2 would wait for 0 too.
        let schedule = Schedule::new(vec![vec![], vec![], vec![1]], &[1_000, 10, 10]);
        assert_eq!(schedule.next(), Some(0));
        assert_eq!(schedule.next(), Some(1));
        schedule.finish(1, Ok(1));
        assert_eq!(schedule.next(), Some(2), "0 is still loading");
        schedule.finish(2, Ok(2));
        schedule.finish(0, Ok(0));
        assert_eq!(schedule.next(), None);
        assert_eq!(schedule.into_reports().unwrap(), [0, 1, 2]);
    }

    #[test]
    fn a_free_connection_waits_for_the_step_the_rest_waits_for() {
        let schedule = lone_and_chain_head_loading();
        std::thread::scope(|scope| {
            let (sent, got) = mpsc::channel();
            let schedule = &schedule;
            scope.spawn(move || sent.send(schedule.next()).unwrap());
            std::thread::sleep(Duration::from_millis(50));
            assert!(got.try_recv().is_err(), "1 may not start before 0 is in");
            schedule.finish(0, Ok(0));
            assert_eq!(got.recv().unwrap(), Some(1));
        });
    }

    #[test]
    fn after_an_error_nothing_starts_and_the_error_is_the_result() {
        let schedule = chain_and_lone();
        assert_eq!(schedule.next(), Some(0));
        schedule.finish(0, Err(Error::Locked));
        assert_eq!(
            schedule.next(),
            None,
            "2 does not wait for 0, but stops too"
        );
        assert!(matches!(schedule.into_reports(), Err(Error::Locked)));
    }

    #[test]
    fn a_panicking_connection_does_not_leave_the_others_waiting() {
        let schedule = lone_and_chain_head_loading();
        std::thread::scope(|scope| {
            let schedule = &schedule;
            // 1 waits for 0, which will never finish: the waiting connection must give up.
            let (sent, got) = mpsc::channel();
            scope.spawn(move || sent.send(schedule.next()).unwrap());
            std::thread::sleep(Duration::from_millis(50));
            let loading = scope.spawn(move || {
                let _wake = WakeOnPanic(schedule);
                panic!("a bug while loading step 0");
            });
            assert!(loading.join().is_err());
            let woken = got.recv_timeout(Duration::from_secs(10));
            if woken.is_err() {
                // Release the waiting thread so that the test fails instead of hanging.
                schedule.finish(0, Ok(0));
            }
            assert_eq!(
                woken,
                Ok(None),
                "the waiting connection was not woken by the panic"
            );
        });
    }

    #[test]
    fn a_column_in_any_unique_index_is_keyed_and_one_in_none_is_not() {
        let db = schemac_testdb::TestDb::new();
        let mut client = db.client();
        client
            .batch_execute(
                "CREATE TABLE t (id uuid PRIMARY KEY, free uuid, plain uuid, own uuid UNIQUE,
                                 pair uuid, other int, part uuid, expr text,
                                 \"Odd name\" uuid,
                                 UNIQUE (pair, other));
                 CREATE INDEX ON t (plain);
                 CREATE UNIQUE INDEX ON t (part) WHERE part IS NOT NULL;
                 CREATE TABLE e (id uuid PRIMARY KEY, free uuid, expr text);
                 CREATE UNIQUE INDEX ON e (lower(expr));",
            )
            .unwrap();
        let t = "public.\"t\"".to_string();
        let e = "public.\"e\"".to_string();
        let columns = [
            (t.clone(), "free"),
            (t.clone(), "plain"),
            (t.clone(), "own"),
            (t.clone(), "pair"),
            (t.clone(), "part"),
            (t.clone(), "Odd name"),
            (t.clone(), "id"),
            (e.clone(), "free"),
        ];
        assert_eq!(
            in_unique_index(&mut client, &columns).unwrap(),
            // A unique index on an expression may hold any column of its table.
            [false, false, true, true, true, false, true, true]
        );
    }
}
