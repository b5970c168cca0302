//! Applying a migration directory to PostgreSQL: a [`History`] and a `postgres::Client` go in;
//! the pending migrations run in version order, each recorded in `public.schemac_migrations`,
//! and a [`Status`] per migration or an [`ApplyReport`] comes out. A session advisory lock keeps
//! two appliers of one database apart.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use postgres::Client;
use serde::Serialize;

use crate::history::{self, History, Migration, Problem};

mod failure;

pub use failure::Failure;
use failure::failure;

/// The history table.
pub const TABLE: &str = "public.schemac_migrations";

/// The `pg_advisory_lock` key: the first 8 bytes of SHA-256("schemac"), big-endian.
pub const LOCK_KEY: i64 = -1_574_028_361_549_744_113;

/// How long to wait between two tries of the advisory lock.
const LOCK_POLL: Duration = Duration::from_millis(100);

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS public.schemac_migrations (
    version int4 PRIMARY KEY,
    name text NOT NULL UNIQUE,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    execution_ms int8 NOT NULL
)";

const APPLIED_AT: &str = r#"to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"#;

/// A row of the history table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// The version.
    pub version: u32,
    /// The migration's name (its file stem).
    pub name: String,
    /// The checksum of its SQL when it was applied.
    pub checksum: String,
    /// When, in UTC (`2025-01-31T12:00:00Z`).
    pub applied_at: String,
    /// How long its statements took.
    pub execution_ms: i64,
}

/// One migration's state, comparing the directory with the history table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    /// Applied, and the file still has the recorded checksum.
    Applied(Applied),
    /// In the directory, not applied yet.
    Pending {
        /// The migration's name.
        name: String,
    },
    /// Applied, but the file has changed since.
    ChecksumChanged {
        /// The migration's name.
        name: String,
        /// The checksum recorded when it was applied.
        recorded: String,
        /// The file's checksum now.
        current: String,
    },
    /// Applied, but its file is no longer in the directory.
    MissingFile(Applied),
}

/// One line of `schemac migrate status`.
pub type StatusLine = Status;

impl Status {
    /// The migration's name.
    pub fn name(&self) -> &str {
        match self {
            Status::Applied(a) | Status::MissingFile(a) => &a.name,
            Status::Pending { name } | Status::ChecksumChanged { name, .. } => name,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Applied(a) => write!(
                f,
                "{}: applied at {} in {} ms",
                a.name, a.applied_at, a.execution_ms
            ),
            Status::Pending { name } => write!(f, "{name}: pending"),
            Status::ChecksumChanged {
                name,
                recorded,
                current,
            } => write!(
                f,
                "{name}: applied with checksum {recorded}, but the file now has {current} (edited after it was applied)"
            ),
            Status::MissingFile(a) => write!(
                f,
                "{}: applied at {}, but its file is gone",
                a.name, a.applied_at
            ),
        }
    }
}

/// What [`apply`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    /// The migrations applied by this run, in order, as recorded.
    pub applied: Vec<Applied>,
    /// How many migrations were already applied.
    pub already_applied: usize,
}

/// Why [`apply`] or [`status`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The directory fails [`history::verify`]; nothing was applied.
    #[error("the migration directory has problems; nothing was applied:{}", lines(.0))]
    Invalid(Vec<Problem>),
    /// Applied migrations were edited or removed (only `ChecksumChanged` and `MissingFile`).
    #[error("the database's migration history differs from the directory; nothing was applied:{}", lines(.0))]
    Diverged(Vec<Status>),
    /// A pending migration comes before one already applied.
    #[error(
        "{pending} is pending, but the later migration {applied} is already applied; nothing was applied"
    )]
    OutOfOrder {
        /// The pending migration.
        pending: String,
        /// The applied one after it.
        applied: String,
    },
    /// A query of schemac's own failed (the lock, the history table).
    #[error("{context}: {message}")]
    Database {
        /// What schemac was doing.
        context: &'static str,
        /// Postgres' message, or the client's when there is none.
        message: String,
        /// The client's error.
        source: postgres::Error,
    },
    /// A migration failed; the run stopped there.
    #[error("{0}")]
    Failed(Box<Failure>),
}

fn lines<T: fmt::Display>(items: &[T]) -> String {
    items.iter().map(|item| format!("\n{item}")).collect()
}

/// Compares the directory with the history table, one line per migration in name (so version)
/// order. Reads only: a database without the table has every migration pending.
pub fn status(client: &mut Client, history: &History) -> Result<Vec<Status>, ApplyError> {
    let exists: bool = client
        .query_one(
            "SELECT to_regclass('public.schemac_migrations') IS NOT NULL",
            &[],
        )
        .and_then(|row| row.try_get(0))
        .map_err(db("cannot look for public.schemac_migrations"))?;
    let applied = if exists {
        recorded(client)?
    } else {
        Vec::new()
    };
    Ok(compare(history, applied))
}

/// Applies the pending migrations in version order, holding the advisory lock [`LOCK_KEY`], and
/// calls `on_progress` after each with the time it took. Refuses, applying nothing, when the
/// directory has [`history::verify`] problems or an applied migration was edited or removed.
pub fn apply(
    client: &mut Client,
    history: &History,
    mut on_progress: impl FnMut(&Migration, Duration),
) -> Result<ApplyReport, ApplyError> {
    let problems = history::verify(history);
    if !problems.is_empty() {
        return Err(ApplyError::Invalid(problems));
    }
    lock(client)?;
    let result = apply_locked(client, history, &mut on_progress);
    let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY]);
    match (result, unlocked) {
        (Ok(_), Err(e)) => Err(db("cannot release the schemac advisory lock")(e)),
        (result, _) => result,
    }
}

/// Takes the session advisory lock [`LOCK_KEY`], polling with `pg_try_advisory_lock`. Waiting
/// in `pg_advisory_lock` would deadlock: `CREATE INDEX CONCURRENTLY` in the session holding the
/// lock waits for every transaction with an older snapshot, and a blocked `SELECT` holds one.
fn lock(client: &mut Client) -> Result<(), ApplyError> {
    loop {
        let locked: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&LOCK_KEY])
            .and_then(|row| row.try_get(0))
            .map_err(db("cannot take the schemac advisory lock"))?;
        if locked {
            return Ok(());
        }
        std::thread::sleep(LOCK_POLL);
    }
}

fn apply_locked(
    client: &mut Client,
    history: &History,
    on_progress: &mut impl FnMut(&Migration, Duration),
) -> Result<ApplyReport, ApplyError> {
    client
        .batch_execute(CREATE_TABLE)
        .map_err(db("cannot create public.schemac_migrations"))?;
    let lines = compare(history, recorded(client)?);
    let diverged: Vec<Status> = lines
        .iter()
        .filter(|line| {
            matches!(
                line,
                Status::ChecksumChanged { .. } | Status::MissingFile(_)
            )
        })
        .cloned()
        .collect();
    if !diverged.is_empty() {
        return Err(ApplyError::Diverged(diverged));
    }
    let first_pending = lines
        .iter()
        .position(|l| matches!(l, Status::Pending { .. }));
    let last_applied = lines.iter().rposition(|l| matches!(l, Status::Applied(_)));
    if let (Some(p), Some(a)) = (first_pending, last_applied)
        && p < a
    {
        return Err(ApplyError::OutOfOrder {
            pending: lines[p].name().to_string(),
            applied: lines[a].name().to_string(),
        });
    }
    let mut report = ApplyReport::default();
    for m in &history.migrations {
        if lines
            .iter()
            .any(|l| matches!(l, Status::Applied(a) if a.name == m.name))
        {
            report.already_applied += 1;
            continue;
        }
        let start = Instant::now();
        let applied = match m.transactional {
            true => run_transaction(client, m, start)?,
            false => run_statements(client, m, start)?,
        };
        on_progress(m, start.elapsed());
        report.applied.push(applied);
    }
    Ok(report)
}

/// Runs the whole migration and its history row in one transaction.
fn run_transaction(
    client: &mut Client,
    m: &Migration,
    start: Instant,
) -> Result<Applied, ApplyError> {
    let mut tx = client
        .transaction()
        .map_err(|e| failure(m, None, 0, None, e))?;
    tx.batch_execute(&m.sql)
        .map_err(|e| failure(m, None, 0, Some((&m.sql, 0)), e))?;
    let applied = record(&mut tx, m, start).map_err(|e| failure(m, Some(INSERT), 0, None, e))?;
    tx.commit()
        .map_err(|e| failure(m, Some("COMMIT"), 0, None, e))?;
    Ok(applied)
}

/// Runs each statement on its own (each commits by itself, as `CREATE INDEX CONCURRENTLY`
/// requires), then records the migration.
fn run_statements(
    client: &mut Client,
    m: &Migration,
    start: Instant,
) -> Result<Applied, ApplyError> {
    let spans = history::statement_spans(&m.sql);
    for (done, span) in spans.iter().enumerate() {
        let statement = &m.sql[span.clone()];
        client
            .batch_execute(statement)
            .map_err(|e| failure(m, Some(statement), done, Some((statement, span.start)), e))?;
    }
    record(client, m, start).map_err(|e| failure(m, Some(INSERT), spans.len(), None, e))
}

const INSERT: &str = "INSERT INTO public.schemac_migrations (version, name, checksum, execution_ms) VALUES ($1, $2, $3, $4)";

fn record(
    client: &mut impl postgres::GenericClient,
    m: &Migration,
    start: Instant,
) -> Result<Applied, postgres::Error> {
    let execution_ms = i64::try_from(start.elapsed().as_millis()).unwrap_or(i64::MAX);
    let version = i32::try_from(m.version).unwrap_or(i32::MAX);
    let row = client.query_one(
        &format!("{INSERT} RETURNING {APPLIED_AT}"),
        &[&version, &m.name, &m.checksum, &execution_ms],
    )?;
    Ok(Applied {
        version: m.version,
        name: m.name.clone(),
        checksum: m.checksum.clone(),
        applied_at: row.try_get(0)?,
        execution_ms,
    })
}

/// The rows of the history table, by version.
fn recorded(client: &mut Client) -> Result<Vec<Applied>, ApplyError> {
    let query = format!(
        "SELECT version, name, checksum, {APPLIED_AT}, execution_ms FROM {TABLE} ORDER BY version"
    );
    let rows = client
        .query(&query, &[])
        .map_err(db("cannot read public.schemac_migrations"))?;
    let read = |row: &postgres::Row| -> Result<Applied, postgres::Error> {
        Ok(Applied {
            version: u32::try_from(row.try_get::<_, i32>(0)?).unwrap_or_default(),
            name: row.try_get(1)?,
            checksum: row.try_get(2)?,
            applied_at: row.try_get(3)?,
            execution_ms: row.try_get(4)?,
        })
    };
    rows.iter()
        .map(read)
        .collect::<Result<_, _>>()
        .map_err(db("cannot read public.schemac_migrations"))
}

fn compare(history: &History, applied: Vec<Applied>) -> Vec<Status> {
    let mut by_name: BTreeMap<String, Applied> =
        applied.into_iter().map(|a| (a.name.clone(), a)).collect();
    let mut lines: Vec<Status> = history
        .migrations
        .iter()
        .map(|m| match by_name.remove(&m.name) {
            Some(a) if a.checksum == m.checksum => Status::Applied(a),
            Some(a) => Status::ChecksumChanged {
                name: m.name.clone(),
                recorded: a.checksum,
                current: m.checksum.clone(),
            },
            None => Status::Pending {
                name: m.name.clone(),
            },
        })
        .collect();
    lines.extend(by_name.into_values().map(Status::MissingFile));
    // Names start with the zero-padded version, so name order is version order.
    lines.sort_by(|a, b| a.name().cmp(b.name()));
    lines
}

fn db(context: &'static str) -> impl Fn(postgres::Error) -> ApplyError {
    move |source| ApplyError::Database {
        context,
        message: source
            .as_db_error()
            .map_or_else(|| source.to_string(), |d| d.message().to_string()),
        source,
    }
}
