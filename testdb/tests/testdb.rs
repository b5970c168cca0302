//! TestDb against a real server: databases are fresh, distinct and dropped; the private server
//! (forced with SCHEMAC_TESTDB_PRIVATE=1 in a child process) starts, is deleted at exit, and the
//! next run sweeps the leftovers of an aborted one.

use std::path::PathBuf;
use std::process::Command;

use schemac_testdb::TestDb;

fn database_exists(client: &mut postgres::Client, name: &str) -> bool {
    let n: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_database WHERE datname = $1",
            &[&name],
        )
        .unwrap()
        .get(0);
    n == 1
}

/// Runs `psql -Atc <sql>` on a connection string, or `None` when psql is not installed.
fn psql(url: &str, sql: &str) -> Option<String> {
    let output = Command::new("psql")
        .args([url, "-Atc", sql])
        .output()
        .ok()?;
    assert!(output.status.success(), "psql failed: {output:?}");
    Some(String::from_utf8(output.stdout).unwrap().trim().to_string())
}

#[test]
fn a_database_is_fresh_named_and_dropped() {
    let db = TestDb::new();
    let name = db.name().to_string();
    assert!(name.starts_with(&format!("schemac_test_{}_", std::process::id())));
    let mut client = db.client();
    let current: String = client
        .query_one("SELECT current_database()", &[])
        .unwrap()
        .get(0);
    assert_eq!(current, name);
    let tables: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 0, "a new database is empty");
    client
        .batch_execute("CREATE TABLE t (id int4 PRIMARY KEY); INSERT INTO t VALUES (1)")
        .unwrap();

    // Dropping works even with a connection still open (WITH (FORCE)).
    drop(db);
    let other = TestDb::new();
    assert!(!database_exists(&mut other.client(), &name));
    assert!(database_exists(&mut other.client(), other.name()));
}

#[test]
fn databases_are_distinct() {
    let a = TestDb::new();
    let b = TestDb::new();
    assert_ne!(a.name(), b.name());
    a.client()
        .batch_execute("CREATE TABLE only_in_a ()")
        .unwrap();
    let found: i64 = b
        .client()
        .query_one(
            "SELECT count(*) FROM pg_class WHERE relname = 'only_in_a'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(found, 0);
}

#[test]
fn the_url_works_with_postgres_and_psql() {
    let db = TestDb::new();
    let mut client = postgres::Client::connect(db.url(), postgres::NoTls).unwrap();
    client.batch_execute("SELECT 1").unwrap();
    if let Some(out) = psql(db.url(), "SELECT current_database()") {
        assert_eq!(out, db.name());
    }
}

/// The body run in child processes by `private_server_lifecycle`.
#[test]
#[ignore = "run in a child process by private_server_lifecycle"]
fn private_child() {
    let db = TestDb::new();
    println!("URL={}", db.url());
    let one: i32 = db.client().query_one("SELECT 1", &[]).unwrap().get(0);
    assert_eq!(one, 1);
    if let Some(out) = psql(db.url(), "SELECT current_database()") {
        assert_eq!(out, db.name());
    }
    if std::env::var_os("SCHEMAC_TESTDB_TEST_ABORT").is_some() {
        use std::io::Write;
        std::io::stdout().flush().unwrap();
        // Neither the TestDb's Drop nor the atexit handler runs: the server is left behind.
        std::process::abort();
    }
}

/// Runs `private_child` with a forced private server; returns the temp dir and whether the
/// child exited successfully.
fn run_private_child(abort: bool) -> (PathBuf, bool) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["private_child", "--exact", "--ignored", "--nocapture"])
        .env("SCHEMAC_TESTDB_PRIVATE", "1")
        .env_remove("DATABASE_URL");
    if abort {
        command.env("SCHEMAC_TESTDB_TEST_ABORT", "1");
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let url = stdout
        .lines()
        .find_map(|l| l.strip_prefix("URL="))
        .unwrap_or_else(|| panic!("child printed no URL: {output:?}"));
    assert!(url.contains("user=postgres"), "{url}");
    let host = url
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("host="))
        .unwrap();
    assert!(
        host.starts_with('/'),
        "a private server listens on a Unix socket: {url}"
    );
    (PathBuf::from(host), output.status.success())
}

#[test]
fn private_server_lifecycle() {
    let (aborted_dir, ok) = run_private_child(true);
    assert!(!ok, "the child aborts");
    assert!(
        aborted_dir.join("data/postmaster.pid").exists(),
        "an aborted run leaves its server behind"
    );

    let (dir, ok) = run_private_child(false);
    assert!(ok, "the private server works");
    assert!(
        !dir.exists(),
        "the server's temp dir is deleted at exit: {}",
        dir.display()
    );
    assert!(
        !aborted_dir.exists(),
        "the next run sweeps an aborted run's server: {}",
        aborted_dir.display()
    );
}
