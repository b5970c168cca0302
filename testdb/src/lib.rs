//! A PostgreSQL database per test: [`TestDb::new`] finds or starts a server, creates a fresh,
//! uniquely named, empty database on it, and dropping the [`TestDb`] drops the database.
//!
//! The server, once per test process, is the first that works of:
//! 1. `DATABASE_URL` (a URL `postgres://user@host:port/db?params` or a key/value string
//!    `host=... dbname=...`); test databases are created on that server;
//! 2. `host=127.0.0.1 port=5432 user=postgres dbname=postgres`;
//! 3. a private server started from the binaries in `$PG_BINDIR`, `pg_config --bindir` or the
//!    newest `/usr/lib/postgresql/*/bin`, in a temp dir, on a Unix socket only, stopped and
//!    deleted at process exit (`atexit`); leftovers of killed runs are swept by the next run.
//!
//! `SCHEMAC_TESTDB_PRIVATE=1` skips 1 and 2. DEVELOPERS.md ("How tests get a PostgreSQL") says
//! the same for people.
//!
//! ```no_run
//! let db = schemac_testdb::TestDb::new();
//! let mut client = db.client();
//! client.batch_execute("CREATE TABLE t (id int4 PRIMARY KEY)").unwrap();
//! ```

#![deny(missing_docs)]

mod conninfo;
mod private;
mod server;

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

use server::NAME_PREFIX;

/// A fresh database on a test server, dropped (`WITH (FORCE)`) when this value drops.
///
/// The connections it hands out are synchronous [`postgres::Client`]s: use them from plain
/// (non-async) tests.
#[derive(Debug)]
pub struct TestDb {
    name: String,
    url: String,
    admin_url: &'static str,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl TestDb {
    /// Creates a fresh, uniquely named, empty database; panics with a clear message when no
    /// server can be found or started.
    ///
    /// The name is `schemac_test_<pid>_<counter>_<random>`. The database is created from
    /// `template0` with encoding UTF8 and the `C` collation, so that it is empty and sorts text
    /// the same on every machine.
    pub fn new() -> TestDb {
        let server = server::get();
        let name = format!(
            "{NAME_PREFIX}{}_{}_{:08x}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            random_u32()
        );
        let create = format!(
            "CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' \
             LC_COLLATE 'C' LC_CTYPE 'C'"
        );
        if let Err(e) = admin_execute(&server.admin_url, create) {
            panic!(
                "schemac-testdb: cannot create database {name} on {}: {e}",
                server.admin_url
            );
        }
        TestDb {
            url: conninfo::with_dbname(&server.admin_url, &name),
            name,
            admin_url: &server.admin_url,
        }
    }

    /// A libpq-style connection string or URL for this database, usable by
    /// `postgres::Client::connect(url, NoTls)` and by `psql`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A new connection to this database; panics when it cannot connect.
    pub fn client(&self) -> postgres::Client {
        server::connect(&self.url)
            .unwrap_or_else(|e| panic!("schemac-testdb: cannot connect to {}: {e}", self.url))
    }
}

impl Default for TestDb {
    /// Same as [`TestDb::new`].
    fn default() -> Self {
        TestDb::new()
    }
}

impl Drop for TestDb {
    /// Drops the database, closing its open connections; reports a failure on stderr and never
    /// panics.
    fn drop(&mut self) {
        let drop = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        if let Err(e) = admin_execute(self.admin_url, drop) {
            eprintln!("schemac-testdb: cannot drop database {}: {e}", self.name);
        }
    }
}

/// Runs SQL on the admin database, on a thread of its own: the synchronous client panics when
/// called inside an async runtime, and a panic must not escape `Drop` during unwinding.
fn admin_execute(admin_url: &str, sql: String) -> Result<(), String> {
    let admin_url = admin_url.to_string();
    std::thread::spawn(move || {
        server::connect(&admin_url)
            .and_then(|mut client| client.batch_execute(&sql))
            .map_err(|e| e.to_string())
    })
    .join()
    .unwrap_or_else(|_| Err("the connection thread panicked".to_string()))
}

/// A random number, for names that must not collide across processes and runs.
fn random_u32() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    RandomState::new().hash_one((nanos, std::process::id())) as u32
}

/// Whether a process with this pid exists (perhaps owned by another user).
fn process_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pid of a process that has exited.
    fn dead_pid() -> i32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        child.wait().unwrap();
        pid
    }

    #[test]
    fn process_liveness() {
        assert!(process_alive(std::process::id() as i32));
        assert!(process_alive(1));
        assert!(!process_alive(dead_pid()));
        assert!(!process_alive(0));
    }

    #[test]
    fn stale_databases_of_dead_processes_are_swept() {
        let live = TestDb::new();
        let server = server::get();
        if !conninfo::is_local(&server.admin_url) {
            eprintln!("skipped: the test server is not on this machine");
            return;
        }
        let stale = format!("{NAME_PREFIX}{}_0_deadbeef", dead_pid());
        let mut admin = server::connect(&server.admin_url).unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE \"{stale}\""))
            .unwrap();
        server::sweep_databases(&mut admin);
        let exists = |name: &str, admin: &mut postgres::Client| {
            let n: i64 = admin
                .query_one(
                    "SELECT count(*) FROM pg_database WHERE datname = $1",
                    &[&name],
                )
                .unwrap()
                .get(0);
            n == 1
        };
        assert!(!exists(&stale, &mut admin), "{stale} was not swept");
        assert!(
            exists(live.name(), &mut admin),
            "a live process' database was swept"
        );
    }
}
