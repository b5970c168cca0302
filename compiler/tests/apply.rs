//! Migration directories written in temporary folders in, a fresh PostgreSQL database per test
//! (schemac-testdb); what `apply` ran, recorded and refused, and what `status` lists, checked.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use postgres::Client;
use schemac::apply::{self, ApplyError, Status};
use schemac::history::{self, History};
use schemac_testdb::TestDb;

/// A fresh migration directory under the system's temporary directory, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new() -> Dir {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("schemac-apply-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Dir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    /// Writes a migration with its header and snapshot, then re-signs the directory.
    fn add(&self, name: &str, parent: &str, transactional: bool, body: &str) {
        let no_tx = if transactional {
            ""
        } else {
            "-- schemac:no-transaction\n"
        };
        let header = format!("-- schemac migration {name}\n-- schemac:parent {parent}\n{no_tx}");
        std::fs::write(
            self.0.join(format!("{name}.sql")),
            format!("{header}\n{body}"),
        )
        .expect("sql");
        std::fs::write(self.0.join(format!("{name}.json")), "{}\n").expect("json");
        self.sign();
    }

    fn sign(&self) {
        history::write_sum(&self.history()).expect("write sum");
    }

    fn history(&self) -> History {
        history::read(self.path()).expect("readable history")
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const INITIAL: &str = "CREATE TABLE users (
    id int8 PRIMARY KEY,
    email text NOT NULL,
    updated_at timestamptz
);
CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- A `;` inside the body must not end the statement.
  NEW.updated_at := now();
  RETURN NEW;
END
$$;
CREATE TRIGGER users_touch BEFORE INSERT OR UPDATE ON users
  FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
COMMENT ON TABLE users IS 'People; they''re users.';
";

const ADD_PHONE: &str = "ALTER TABLE users ADD COLUMN phone text;\n";

const PHONE_INDEX: &str = "-- Each statement commits on its own.
CREATE INDEX CONCURRENTLY users_phone ON users (phone);
CREATE UNIQUE INDEX CONCURRENTLY users_email ON users (email);
";

/// The three migrations: a table with a plpgsql trigger, a column, two concurrent indexes.
fn three() -> Dir {
    let dir = Dir::new();
    dir.add("0001_initial", "none", true, INITIAL);
    dir.add("0002_add_phone", "0001_initial", true, ADD_PHONE);
    dir.add("0003_phone_index", "0002_add_phone", false, PHONE_INDEX);
    dir
}

fn recorded(client: &mut Client) -> Vec<(i32, String)> {
    client
        .query(
            "SELECT version, name FROM public.schemac_migrations ORDER BY version",
            &[],
        )
        .expect("history rows")
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

fn exists(client: &mut Client, relation: &str) -> bool {
    client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&relation])
        .expect("to_regclass")
        .get(0)
}

fn names(lines: &[Status]) -> Vec<String> {
    lines
        .iter()
        .map(|l| format!("{}:{}", l.name(), kind(l)))
        .collect()
}

fn kind(line: &Status) -> &'static str {
    match line {
        Status::Applied(_) => "applied",
        Status::Pending { .. } => "pending",
        Status::ChecksumChanged { .. } => "changed",
        Status::MissingFile(_) => "missing",
    }
}

#[test]
fn applies_in_order_records_each_and_reruns_as_a_noop() {
    let db = TestDb::new();
    let mut client = db.client();
    let dir = three();
    let mut progress = Vec::new();
    let report = apply::apply(&mut client, &dir.history(), |m, _| {
        progress.push(m.name.clone())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        progress,
        ["0001_initial", "0002_add_phone", "0003_phone_index"]
    );
    let applied: Vec<_> = report.applied.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(applied, progress);
    assert_eq!(report.already_applied, 0);
    assert_eq!(
        recorded(&mut client),
        [
            (1, "0001_initial".into()),
            (2, "0002_add_phone".into()),
            (3, "0003_phone_index".into())
        ]
    );
    let checksum: String = client
        .query_one(
            "SELECT checksum FROM public.schemac_migrations WHERE version = 2",
            &[],
        )
        .expect("row")
        .get(0);
    assert_eq!(checksum, dir.history().migrations[1].checksum);

    // The trigger function works and both concurrent indexes are valid.
    client
        .batch_execute("INSERT INTO users (id, email, phone) VALUES (1, 'a@example.com', '555')")
        .expect("insert");
    let touched: bool = client
        .query_one("SELECT updated_at IS NOT NULL FROM users", &[])
        .expect("row")
        .get(0);
    assert!(touched);
    let valid: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_index WHERE indisvalid AND indexrelid::regclass::text IN ('users_phone', 'users_email')",
            &[],
        )
        .expect("indexes")
        .get(0);
    assert_eq!(valid, 2);

    let again = apply::apply(&mut client, &dir.history(), |m, _| {
        panic!("re-ran {}", m.name)
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(again.applied.is_empty());
    assert_eq!(again.already_applied, 3);
    assert_eq!(recorded(&mut client).len(), 3);
}

#[test]
fn status_lists_applied_and_pending() {
    let db = TestDb::new();
    let mut client = db.client();
    let dir = Dir::new();
    dir.add("0001_initial", "none", true, INITIAL);
    dir.add("0002_add_phone", "0001_initial", true, ADD_PHONE);

    let before = apply::status(&mut client, &dir.history()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        names(&before),
        ["0001_initial:pending", "0002_add_phone:pending"]
    );
    assert!(
        !exists(&mut client, "public.schemac_migrations"),
        "status only reads"
    );

    apply::apply(&mut client, &dir.history(), |_, _| {}).unwrap_or_else(|e| panic!("{e}"));
    dir.add("0003_phone_index", "0002_add_phone", false, PHONE_INDEX);
    let lines = apply::status(&mut client, &dir.history()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        names(&lines),
        [
            "0001_initial:applied",
            "0002_add_phone:applied",
            "0003_phone_index:pending"
        ]
    );
    let Status::Applied(first) = &lines[0] else {
        unreachable!()
    };
    assert_eq!(first.version, 1);
    assert!(first.applied_at.ends_with('Z'), "{}", first.applied_at);
    assert!(first.execution_ms >= 0);
    assert_eq!(lines[2].to_string(), "0003_phone_index: pending");

    let report =
        apply::apply(&mut client, &dir.history(), |_, _| {}).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.applied.len(), 1);
    assert_eq!(report.already_applied, 2);
}

#[test]
fn an_applied_migration_edited_and_re_signed_is_refused_naming_both_checksums() {
    let db = TestDb::new();
    let mut client = db.client();
    let dir = three();
    apply::apply(&mut client, &dir.history(), |_, _| {}).unwrap_or_else(|e| panic!("{e}"));
    let recorded_sum = dir.history().migrations[1].checksum.clone();

    let file = dir.path().join("0002_add_phone.sql");
    let sql = std::fs::read_to_string(&file).expect("sql");
    std::fs::write(&file, sql.replace("phone text", "phone varchar(20)")).expect("edit");
    dir.sign();
    dir.add(
        "0004_more",
        "0003_phone_index",
        true,
        "CREATE TABLE more (id int4);\n",
    );
    let current_sum = dir.history().migrations[1].checksum.clone();
    assert_ne!(recorded_sum, current_sum);
    assert!(
        history::verify(&dir.history()).is_empty(),
        "re-signed, so only the database can tell"
    );

    let err = apply::apply(&mut client, &dir.history(), |m, _| {
        panic!("applied {}", m.name)
    })
    .expect_err("an edited applied migration");
    assert!(matches!(err, ApplyError::Diverged(_)), "{err:?}");
    let shown = err.to_string();
    assert!(shown.contains("0002_add_phone"), "{shown}");
    assert!(
        shown.contains(&recorded_sum) && shown.contains(&current_sum),
        "{shown}"
    );
    assert!(!exists(&mut client, "more"), "nothing applied");
    assert_eq!(recorded(&mut client).len(), 3);

    let lines = apply::status(&mut client, &dir.history()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        lines[1],
        Status::ChecksumChanged {
            name: "0002_add_phone".into(),
            recorded: recorded_sum,
            current: current_sum,
        }
    );
}

#[test]
fn an_applied_migration_whose_file_is_gone_is_refused() {
    let db = TestDb::new();
    let mut client = db.client();
    let dir = three();
    apply::apply(&mut client, &dir.history(), |_, _| {}).unwrap_or_else(|e| panic!("{e}"));
    std::fs::remove_file(dir.path().join("0003_phone_index.sql")).expect("rm");
    std::fs::remove_file(dir.path().join("0003_phone_index.json")).expect("rm");
    dir.sign();
    let err = apply::apply(&mut client, &dir.history(), |_, _| {}).expect_err("missing file");
    assert!(
        err.to_string().contains("0003_phone_index: applied at"),
        "{err}"
    );
    assert!(err.to_string().contains("its file is gone"), "{err}");
    let lines = apply::status(&mut client, &dir.history()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(kind(&lines[2]), "missing");
}

#[test]
fn a_directory_with_problems_is_refused_before_touching_the_database() {
    let db = TestDb::new();
    let mut client = db.client();
    let dir = three();
    std::fs::remove_file(dir.path().join(history::SUM_FILE)).expect("rm");
    let err = apply::apply(&mut client, &dir.history(), |_, _| {}).expect_err("unsigned");
    let ApplyError::Invalid(problems) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(problems[0].code, "SC302");
    assert!(err.to_string().contains("SC302 schemac.sum"), "{err}");
    assert!(!exists(&mut client, "public.schemac_migrations"));
    assert!(!exists(&mut client, "users"));
}

#[test]
fn a_failing_migration_rolls_back_whole_and_is_named() {
    let db = TestDb::new();
    let mut client = db.client();
    let dir = Dir::new();
    dir.add("0001_initial", "none", true, INITIAL);
    dir.add(
        "0002_broken",
        "0001_initial",
        true,
        "CREATE TABLE half (id int4);\nSELECT * FROM no_such_table;\n",
    );
    dir.add(
        "0003_after",
        "0002_broken",
        true,
        "CREATE TABLE after (id int4);\n",
    );
    let mut progress = Vec::new();
    let err = apply::apply(&mut client, &dir.history(), |m, _| {
        progress.push(m.name.clone())
    })
    .expect_err("0002 fails");
    assert_eq!(progress, ["0001_initial"]);
    let ApplyError::Failed(failure) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(failure.migration, "0002_broken");
    assert_eq!(failure.code.as_deref(), Some("42P01"));
    assert_eq!(
        failure.position,
        Some((5, 15)),
        "header, blank line, CREATE, then the SELECT"
    );
    let shown = err.to_string();
    assert!(
        shown.contains("migration 0002_broken failed; it was rolled back"),
        "{shown}"
    );
    assert!(
        shown.contains("relation \"no_such_table\" does not exist"),
        "{shown}"
    );
    assert!(
        shown.contains("0002_broken.sql line 5, column 15"),
        "{shown}"
    );

    assert!(
        !exists(&mut client, "half"),
        "the failing migration's table is rolled back"
    );
    assert!(
        !exists(&mut client, "after"),
        "the run stops at the failure"
    );
    assert_eq!(recorded(&mut client), [(1, "0001_initial".into())]);
    // Session locks are re-entrant, so ask from another session.
    let lock_free: bool = db
        .client()
        .query_one("SELECT pg_try_advisory_lock($1)", &[&apply::LOCK_KEY])
        .expect("lock")
        .get(0);
    assert!(lock_free, "the advisory lock is released after a failure");
}

#[test]
fn a_failing_non_transactional_statement_is_named_with_postgres_report() {
    let db = TestDb::new();
    let mut client = db.client();
    let dir = Dir::new();
    dir.add("0001_initial", "none", true, INITIAL);
    dir.add(
        "0002_indexes",
        "0001_initial",
        false,
        "CREATE INDEX CONCURRENTLY users_id ON users (id);\nCREATE INDEX CONCURRENTLY users_nope ON users (id) WHERE nope > 0;\n",
    );
    let err = apply::apply(&mut client, &dir.history(), |_, _| {}).expect_err("0002 fails");
    let ApplyError::Failed(failure) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(failure.migration, "0002_indexes");
    assert_eq!(
        failure.statement.as_deref(),
        Some("CREATE INDEX CONCURRENTLY users_nope ON users (id) WHERE nope > 0")
    );
    assert_eq!(failure.committed, 1);
    assert_eq!(failure.position, Some((6, 58)));
    let shown = err.to_string();
    assert!(
        shown.contains("first 1 statement(s) stay committed"),
        "{shown}"
    );
    assert!(shown.contains("column \"nope\" does not exist"), "{shown}");
    assert_eq!(recorded(&mut client), [(1, "0001_initial".into())]);
}

#[test]
fn concurrent_appliers_take_turns() {
    let db = TestDb::new();
    let dir = three();
    let history = dir.history();
    let clients = [db.client(), db.client()];
    let counts: Vec<usize> = std::thread::scope(|s| {
        let runs: Vec<_> = clients
            .into_iter()
            .map(|mut client| {
                let history = &history;
                s.spawn(move || {
                    apply::apply(&mut client, history, |_, _| {})
                        .map(|r| r.applied.len())
                        .unwrap_or_else(|e| panic!("{e}"))
                })
            })
            .collect();
        runs.into_iter()
            .map(|r| r.join().expect("no panic"))
            .collect()
    });
    let mut counts = counts;
    counts.sort();
    assert_eq!(counts, [0, 3]);
    assert_eq!(recorded(&mut db.client()).len(), 3);
}

#[test]
fn the_lock_key_is_derived_from_the_name() {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(b"schemac");
    let first: [u8; 8] = digest[..8].try_into().expect("8 bytes");
    assert_eq!(apply::LOCK_KEY, i64::from_be_bytes(first));
}
