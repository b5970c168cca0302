//! The environment in, one PostgreSQL server per test process out: `DATABASE_URL`, else a
//! server on 127.0.0.1:5432, else a private server started from the local binaries. Stale test
//! databases of dead processes are dropped when the server is first used.

use std::sync::OnceLock;
use std::time::Duration;

use postgres::{Client, NoTls};

/// The server the test databases are created on.
pub(crate) struct Server {
    /// Connection string of a database to run `CREATE DATABASE` and `DROP DATABASE` from.
    pub(crate) admin_url: String,
}

/// Set to `1` to skip `DATABASE_URL` and 127.0.0.1:5432 and always start a private server.
pub(crate) const FORCE_PRIVATE: &str = "SCHEMAC_TESTDB_PRIVATE";

/// What the panic says when there is no server at all.
pub(crate) const NOT_FOUND: &str = "no PostgreSQL found: set DATABASE_URL=postgres://user@host:port/db, \
or install PostgreSQL (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql@16) \
so that initdb and pg_ctl are on PATH or in /usr/lib/postgresql/*/bin, or set PG_BINDIR";

/// The default server tried when `DATABASE_URL` is unset.
const DEFAULT_URL: &str =
    "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=2";

/// Test database names: `schemac_test_<pid>_<counter>_<random>`.
pub(crate) const NAME_PREFIX: &str = "schemac_test_";

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();

/// The process's server, found or started on first use; panics with instructions when none.
pub(crate) fn get() -> &'static Server {
    match SERVER.get_or_init(discover) {
        Ok(server) => server,
        Err(message) => panic!("schemac-testdb: {message}"),
    }
}

fn discover() -> Result<Server, String> {
    let forced = std::env::var(FORCE_PRIVATE).is_ok_and(|v| !v.is_empty() && v != "0");
    let admin_url = if forced {
        crate::private::start(NOT_FOUND)?
    } else if let Some(url) = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) {
        connect(&url).map_err(|e| format!("cannot connect to DATABASE_URL={url}: {e}"))?;
        url
    } else {
        match connect(DEFAULT_URL) {
            Ok(_) => DEFAULT_URL.to_string(),
            Err(default_error) => crate::private::start(NOT_FOUND).map_err(|e| {
                format!("{e}\n(DATABASE_URL is unset; {DEFAULT_URL}: {default_error})")
            })?,
        }
    };
    if crate::conninfo::is_local(&admin_url) {
        // Only here is a pid in a database name a process we can ask about.
        if let Ok(mut admin) = connect(&admin_url) {
            sweep_databases(&mut admin);
        }
    }
    Ok(Server { admin_url })
}

/// Connects with a connect timeout, so that an unreachable host fails fast.
pub(crate) fn connect(url: &str) -> Result<Client, postgres::Error> {
    let mut config: postgres::Config = url.parse()?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    config.connect(NoTls)
}

/// Drops the test databases whose creating process no longer exists (its run was killed or
/// aborted before its `TestDb`s dropped). No `FORCE`: a database someone is connected to stays.
pub(crate) fn sweep_databases(admin: &mut Client) {
    let pattern = format!("{}%", NAME_PREFIX.replace('_', "\\_"));
    let Ok(rows) = admin.query(
        "SELECT datname FROM pg_database WHERE datname LIKE $1",
        &[&pattern],
    ) else {
        return;
    };
    for row in rows {
        let name: String = row.get(0);
        let owner = name
            .strip_prefix(NAME_PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|pid| pid.parse::<i32>().ok());
        if owner.is_some_and(|pid| !crate::process_alive(pid)) {
            let quoted = name.replace('"', "\"\"");
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS \"{quoted}\""));
        }
    }
}
