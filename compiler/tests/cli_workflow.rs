//! The README's workflow through the `schemac` binary, on a copy of the project's catalogue:
//! generate, check (the drift gate), migrate new, migrate apply / status against PostgreSQL.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use schemac_testdb::TestDb;

fn schemac(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_schemac"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("schemac runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// A project directory holding copies of models/ and generated/ (no build files).
fn project(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("workflow-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&root.join("models"), &dir.join("models"));
    for sub in ["migrations", "sql", "src", "tests/parity"] {
        copy_dir(
            &root.join("generated").join(sub),
            &dir.join("generated").join(sub),
        );
    }
    std::fs::copy(
        root.join("generated/catalogue.json"),
        dir.join("generated/catalogue.json"),
    )
    .unwrap();
    dir
}

#[test]
fn an_edited_model_fails_check_until_generated_and_migrated() {
    let dir = project("drift");
    let ok = schemac(&dir, &["check"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));

    let model = dir.join("models/payment.yaml");
    let text = std::fs::read_to_string(&model).unwrap();
    let edited = text.replacen("fields:\n", "fields:\n  memo: { bson: string }\n", 1);
    assert_ne!(text, edited);
    std::fs::write(&model, edited).unwrap();

    let drift = schemac(&dir, &["check"]);
    assert_eq!(drift.status.code(), Some(1));
    let e = stderr(&drift);
    assert!(e.contains("SC306") && e.contains("catalogue.json"), "{e}");
    assert!(
        e.contains("SC305") && e.contains("schemac migrate new"),
        "{e}"
    );
    assert!(
        e.contains("ALTER TABLE payments ADD COLUMN memo text;"),
        "{e}"
    );

    let json = schemac(&dir, &["check", "--format", "json"]);
    let findings: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON findings");
    let codes: Vec<(&str, &str)> = findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["code"].as_str().unwrap(), f["file"].as_str().unwrap()))
        .collect();
    assert_eq!(
        codes,
        [
            ("SC306", "generated/catalogue.json"),
            ("SC306", "generated/src/schema/payment.rs"),
            ("SC305", "models")
        ]
    );

    let generate = schemac(&dir, &["generate"]);
    assert_eq!(generate.status.code(), Some(0), "{}", stderr(&generate));
    let e = stderr(&generate);
    assert!(e.contains("run `schemac migrate new <name>`"), "{e}");
    // Only the files that changed are listed, then a count of the rest.
    let wrote: Vec<&str> = e.lines().filter_map(|l| l.strip_prefix("wrote ")).collect();
    assert_eq!(
        wrote,
        [
            "generated/catalogue.json",
            "generated/src/schema/payment.rs"
        ],
        "{e}"
    );
    assert!(
        e.contains("generated: 2 files written, 50 unchanged"),
        "{e}"
    );
    let new = schemac(&dir, &["migrate", "new", "add_payment_memo"]);
    assert_eq!(new.status.code(), Some(0), "{}", stderr(&new));
    assert!(stderr(&new).contains("wrote 0005_add_payment_memo.sql"));
    let again = schemac(&dir, &["check"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let nothing = stderr(&schemac(&dir, &["generate"]));
    assert!(!nothing.contains("wrote"), "{nothing}");
    assert!(
        nothing.contains("generated: 0 files written, 52 unchanged")
            && nothing.contains("generated/migrations: no schema change"),
        "{nothing}"
    );

    // A committed migration edited afterwards.
    let sql = dir.join("generated/migrations/0005_add_payment_memo.sql");
    let mut text = std::fs::read_to_string(&sql).unwrap();
    text.push_str("DROP TABLE payments;\n");
    std::fs::write(&sql, text).unwrap();
    let edited = schemac(&dir, &["check"]);
    assert_eq!(edited.status.code(), Some(1));
    assert!(stderr(&edited).contains("SC301"), "{}", stderr(&edited));
}

/// `check` and `generate` take a generated Rust file as formatted when its last line stamps the
/// source made now and the text above it: a hand edit, with or without the stamp touched, is
/// still drift, and `generate` restores the file.
#[test]
fn a_hand_edited_generated_file_is_drift_whatever_its_stamp_says() {
    let dir = project("hand-edit");
    let file = dir.join("generated/src/schema/review.rs");
    let committed = std::fs::read_to_string(&file).unwrap();
    assert!(
        committed
            .lines()
            .last()
            .unwrap()
            .starts_with("// schemac-format: source="),
        "every generated Rust file ends with its stamp"
    );
    let edits = [
        // The body edited, the stamp left as it was.
        committed.replacen("pub struct ", "pub(crate) struct ", 1),
        // The stamp's text hash copied onto an edited body would need a SHA-256 match; a stamp
        // removed is the simplest case of a stamp that does not fit.
        committed
            .lines()
            .filter(|l| !l.starts_with("// schemac-format"))
            .map(|l| format!("{l}\n"))
            .collect(),
        // The stamp of another source (as after a model edit), the body untouched.
        committed.replacen("source=", "source=0", 1),
    ];
    for edited in edits {
        assert!(edited != committed);
        std::fs::write(&file, &edited).unwrap();
        let check = schemac(&dir, &["check"]);
        assert_eq!(check.status.code(), Some(1), "{}", stderr(&check));
        assert!(
            stderr(&check).contains("SC306 generated/src/schema/review.rs"),
            "{}",
            stderr(&check)
        );
        let generate = schemac(&dir, &["generate"]);
        assert_eq!(generate.status.code(), Some(0), "{}", stderr(&generate));
        assert!(
            std::fs::read_to_string(&file).unwrap() == committed,
            "generate restores the file"
        );
        assert_eq!(schemac(&dir, &["check"]).status.code(), Some(0));
    }
}

#[test]
fn a_refused_change_names_the_flag_that_allows_it() {
    let dir = project("refused");
    let model = dir.join("models/review.yaml");
    let text = std::fs::read_to_string(&model).unwrap();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("comment:"))
        .expect("reviews have a comment field")
        .to_string();
    std::fs::write(&model, text.replace(&format!("{line}\n"), "")).unwrap();
    let refused = schemac(&dir, &["migrate", "new", "drop_comment"]);
    assert_eq!(refused.status.code(), Some(1));
    let e = stderr(&refused);
    assert!(e.contains("SC102 reviews.comment"), "{e}");
    assert!(e.contains("--allow SC102:reviews.comment"), "{e}");
    let allowed = schemac(
        &dir,
        &[
            "migrate",
            "new",
            "drop_comment",
            "--allow",
            "SC102:reviews.comment",
        ],
    );
    assert_eq!(allowed.status.code(), Some(0), "{}", stderr(&allowed));
    let sql =
        std::fs::read_to_string(dir.join("generated/migrations/0005_drop_comment.sql")).unwrap();
    assert!(sql.contains("-- WARNING SC102"), "{sql}");
    assert!(
        sql.contains("ALTER TABLE reviews DROP COLUMN comment;"),
        "{sql}"
    );
}

#[test]
fn migrate_apply_and_status_against_postgres() {
    let dir = project("apply");
    let db = TestDb::new();
    let url = db.url().to_string();
    let status = schemac(&dir, &["migrate", "status", "--database-url", &url]);
    assert_eq!(status.status.code(), Some(0), "{}", stderr(&status));
    assert!(String::from_utf8_lossy(&status.stdout).contains("0001_initial: pending"));

    let apply = schemac(&dir, &["migrate", "apply", "--database-url", &url]);
    assert_eq!(apply.status.code(), Some(0), "{}", stderr(&apply));
    assert!(stderr(&apply).contains("4 migration(s) applied, 0 already applied"));
    let again = schemac(&dir, &["migrate", "apply", "--database-url", &url]);
    assert!(stderr(&again).contains("0 migration(s) applied, 4 already applied"));

    let status = schemac(
        &dir,
        &[
            "migrate",
            "status",
            "--database-url",
            &url,
            "--format",
            "json",
        ],
    );
    let lines: serde_json::Value = serde_json::from_slice(&status.stdout).expect("JSON status");
    assert_eq!(lines[0]["status"], "applied");
    assert_eq!(lines[0]["name"], "0001_initial");
    assert_eq!(lines[1]["status"], "applied");
    assert_eq!(lines[1]["name"], "0002_backfill_skips_hooks");
    assert_eq!(lines[3]["status"], "applied");
    assert_eq!(lines[3]["name"], "0004_id_map_check_without_regex_validate");

    let bad = schemac(
        &dir,
        &[
            "migrate",
            "apply",
            "--database-url",
            "postgres://nobody@127.0.0.1:1/none",
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("cannot connect"), "{}", stderr(&bad));
}
