//! Migration directories written by hand in temporary folders in; the read history, the
//! `schemac.sum` text, each `verify` problem code and the statement splitter's output checked.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use schemac::history::{self, HistoryError, SUM_FILE, checksum, split_statements, verify};

/// A fresh directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("schemac-history-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn write(&self, file: &str, text: &str) {
        std::fs::write(self.0.join(file), text).expect("write fixture file");
    }

    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.0.join(file)).expect("read fixture file")
    }

    fn remove(&self, file: &str) {
        std::fs::remove_file(self.0.join(file)).expect("remove fixture file");
    }

    /// Writes `NNNN_name.sql` with its header and body, and its `.json` snapshot.
    fn migration(&self, name: &str, parent: &str, body: &str) {
        self.write(
            &format!("{name}.sql"),
            &format!("-- schemac migration {name}\n-- schemac:parent {parent}\n\n{body}"),
        );
        self.write(
            &format!("{name}.json"),
            &format!("{{\"format\": \"schemac-schema/1\", \"after\": \"{name}\"}}\n"),
        );
    }

    /// Signs the directory as it is now.
    fn sign(&self) {
        history::write_sum(&history::read(self.path()).expect("readable")).expect("write sum");
    }

    /// The codes and files `verify` reports.
    fn problems(&self) -> Vec<(&'static str, String)> {
        let h = history::read(self.path()).expect("readable");
        verify(&h).into_iter().map(|p| (p.code, p.file)).collect()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Three signed migrations: a table, a column, a concurrent index.
fn three() -> TempDir {
    let dir = TempDir::new();
    dir.migration(
        "0001_initial",
        "none",
        "CREATE TABLE users (id int8 PRIMARY KEY);\n",
    );
    dir.migration(
        "0002_add_phone",
        "0001_initial",
        "ALTER TABLE users ADD COLUMN phone text;\n",
    );
    dir.write(
        "0003_phone_index.sql",
        "-- schemac migration 0003_phone_index\n-- schemac:parent 0002_add_phone\n-- schemac:no-transaction\n\nCREATE INDEX CONCURRENTLY users_phone ON users (phone);\n",
    );
    dir.write("0003_phone_index.json", "{}\n");
    dir.sign();
    dir
}

fn owned(problems: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    problems.iter().map(|(c, f)| (*c, f.to_string())).collect()
}

#[test]
fn a_missing_directory_is_an_empty_history() {
    let h = history::read(&std::env::temp_dir().join("schemac-no-such-dir")).expect("empty");
    assert!(h.migrations.is_empty());
    assert_eq!(history::next_version(&h), 1);
    assert!(verify(&h).is_empty());
}

#[test]
fn read_parses_headers_and_orders_by_version() {
    let dir = three();
    let h = history::read(dir.path()).expect("readable");
    let names: Vec<_> = h
        .migrations
        .iter()
        .map(|m| (m.version, m.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            (1, "0001_initial"),
            (2, "0002_add_phone"),
            (3, "0003_phone_index")
        ]
    );
    assert_eq!(h.migrations[0].parent, None);
    assert_eq!(h.migrations[1].parent.as_deref(), Some("0001_initial"));
    assert!(h.migrations[1].transactional);
    assert!(!h.migrations[2].transactional);
    assert_eq!(h.migrations[1].checksum, checksum(&h.migrations[1].sql));
    assert!(h.migrations.iter().all(|m| m.snapshot.is_some()));
    assert_eq!(history::next_version(&h), 4);
    assert!(verify(&h).is_empty(), "{:?}", verify(&h));
}

#[test]
fn the_sum_file_lists_sql_before_json_and_hashes_its_lines() {
    let dir = three();
    let h = history::read(dir.path()).expect("readable");
    let sum = history::sum_file(&h);
    assert_eq!(sum, dir.read(SUM_FILE));
    let lines: Vec<&str> = sum.lines().collect();
    let body: String = lines[1..].iter().map(|l| format!("{l}\n")).collect();
    assert_eq!(lines[0], checksum(&body));
    let files: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split(' ').next().unwrap_or_default())
        .collect();
    assert_eq!(
        files,
        [
            "0001_initial.sql",
            "0001_initial.json",
            "0002_add_phone.sql",
            "0002_add_phone.json",
            "0003_phone_index.sql",
            "0003_phone_index.json"
        ]
    );
    assert_eq!(
        lines[3],
        format!("0002_add_phone.sql {}", h.migrations[1].checksum)
    );
    insta::assert_snapshot!("sum_file", sum);
}

#[test]
fn checksums_ignore_line_endings() {
    assert_eq!(checksum("a\r\nb\r\n"), checksum("a\nb\n"));
    assert_eq!(checksum("a\rb\r"), checksum("a\nb\n"));
    assert_ne!(checksum("a\nb\n"), checksum("a\nb"));
    assert_eq!(
        checksum(""),
        "h1:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn a_crlf_checkout_is_not_an_edit() {
    let dir = three();
    for entry in std::fs::read_dir(dir.path()).expect("dir") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("text");
        std::fs::write(&path, text.replace('\n', "\r\n")).expect("rewrite");
    }
    assert_eq!(dir.problems(), []);
    let h = history::read(dir.path()).expect("readable");
    assert!(!h.migrations[2].transactional, "directives survive CRLF");
}

#[test]
fn an_edited_migration_or_snapshot_is_sc301() {
    let dir = three();
    let sql = dir.read("0002_add_phone.sql");
    dir.write(
        "0002_add_phone.sql",
        &sql.replace("phone text", "phone varchar(20)"),
    );
    dir.write("0003_phone_index.json", "{\"edited\": true}\n");
    assert_eq!(
        dir.problems(),
        owned(&[
            ("SC301", "0002_add_phone.sql"),
            ("SC301", "0003_phone_index.json")
        ])
    );
    let problems = verify(&history::read(dir.path()).expect("readable"));
    assert!(
        problems[0]
            .message
            .contains("edited after it was committed")
    );
    assert!(problems[0].hint.contains("schemac migrate new"));
    assert!(problems[0].hint.contains("schemac migrate hash"));
}

#[test]
fn re_signing_clears_an_edit() {
    let dir = three();
    dir.write(
        "0001_initial.sql",
        &dir.read("0001_initial.sql").replace("int8", "int4"),
    );
    assert_eq!(dir.problems(), owned(&[("SC301", "0001_initial.sql")]));
    dir.sign();
    assert_eq!(dir.problems(), []);
}

#[test]
fn a_migration_missing_from_the_sum_is_sc302() {
    let dir = three();
    dir.migration("0004_more", "0003_phone_index", "SELECT 1;\n");
    assert_eq!(
        dir.problems(),
        owned(&[("SC302", "0004_more.json"), ("SC302", "0004_more.sql")])
    );
    let problems = verify(&history::read(dir.path()).expect("readable"));
    assert!(problems[0].hint.contains("schemac migrate rebase"));
}

#[test]
fn a_sum_line_whose_file_is_gone_is_sc302() {
    let dir = three();
    dir.remove("0003_phone_index.sql");
    dir.remove("0003_phone_index.json");
    assert_eq!(
        dir.problems(),
        owned(&[("SC302", SUM_FILE), ("SC302", SUM_FILE)])
    );
}

#[test]
fn a_stale_first_line_is_sc302() {
    let dir = three();
    let sum = dir.read(SUM_FILE);
    let (head, body) = sum.split_once('\n').expect("two parts");
    let mut lines: Vec<&str> = body.lines().collect();
    lines.swap(0, 1);
    dir.write(SUM_FILE, &format!("{head}\n{}\n", lines.join("\n")));
    let problems = verify(&history::read(dir.path()).expect("readable"));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(
        (problems[0].code, problems[0].file.as_str()),
        ("SC302", SUM_FILE)
    );
    assert!(problems[0].message.contains("first line"));
}

#[test]
fn a_missing_sum_file_is_sc302() {
    let dir = three();
    dir.remove(SUM_FILE);
    assert_eq!(dir.problems(), owned(&[("SC302", SUM_FILE)]));
}

#[test]
fn a_forked_history_is_sc303() {
    let dir = TempDir::new();
    dir.migration("0001_initial", "none", "CREATE TABLE t (id int4);\n");
    dir.migration("0002_a", "0001_initial", "ALTER TABLE t ADD a int4;\n");
    dir.migration("0002_b", "0001_initial", "ALTER TABLE t ADD b int4;\n");
    dir.sign();
    assert_eq!(dir.problems(), owned(&[("SC303", "0002_b.sql")]));
    let problems = verify(&history::read(dir.path()).expect("readable"));
    assert!(problems[0].message.contains("0002_a.sql"));
    assert!(problems[0].hint.contains("schemac migrate rebase"));
}

#[test]
fn a_broken_parent_is_sc304() {
    let dir = TempDir::new();
    dir.migration("0001_initial", "none", "SELECT 1;\n");
    dir.migration("0002_x", "0001_other", "SELECT 2;\n");
    dir.migration("0003_y", "none", "SELECT 3;\n");
    dir.sign();
    assert_eq!(
        dir.problems(),
        owned(&[("SC304", "0002_x.sql"), ("SC304", "0003_y.sql")])
    );
}

#[test]
fn a_first_migration_with_a_parent_is_sc304() {
    let dir = TempDir::new();
    dir.migration("0001_initial", "0000_before", "SELECT 1;\n");
    dir.sign();
    assert_eq!(dir.problems(), owned(&[("SC304", "0001_initial.sql")]));
}

#[test]
fn a_gap_in_versions_is_sc304() {
    let dir = TempDir::new();
    dir.migration("0001_initial", "none", "SELECT 1;\n");
    dir.migration("0003_late", "0001_initial", "SELECT 3;\n");
    dir.sign();
    let problems = verify(&history::read(dir.path()).expect("readable"));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].code, "SC304");
    assert!(
        problems[0].message.contains("0002 is missing"),
        "{}",
        problems[0].message
    );
}

#[test]
fn a_missing_or_orphan_snapshot_is_sc304() {
    let dir = three();
    dir.remove("0002_add_phone.json");
    dir.write("0009_stray.json", "{}\n");
    dir.sign();
    assert_eq!(
        dir.problems(),
        owned(&[
            ("SC304", "0002_add_phone.sql"),
            ("SC304", "0009_stray.json")
        ])
    );
}

#[test]
fn problems_read_as_sentences_with_hints() {
    let dir = TempDir::new();
    dir.migration("0001_initial", "none", "SELECT 1;\n");
    dir.migration("0002_a", "0001_initial", "SELECT 2;\n");
    dir.migration("0002_b", "0001_initial", "SELECT 2;\n");
    dir.sign();
    dir.write(
        "0001_initial.sql",
        &dir.read("0001_initial.sql")
            .replace("SELECT 1", "SELECT 10"),
    );
    dir.migration("0004_late", "0002_c", "SELECT 4;\n");
    dir.remove("0002_a.json");
    let problems = verify(&history::read(dir.path()).expect("readable"));
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    insta::assert_snapshot!("problems", text.join("\n"));
}

#[test]
fn header_errors_name_the_file_and_line() {
    let cases = [
        ("SELECT 1;\n", 1, "expected `-- schemac migration 0001_a`"),
        ("-- schemac migration 0001_b\n", 1, "names migration 0001_b"),
        (
            "-- schemac migration 0001_a\n-- schemac:parent none\n-- schemac:no-transation\n",
            3,
            "unknown directive",
        ),
        (
            "-- schemac migration 0001_a\n-- schemac:no-transaction\nSELECT 1;\n",
            3,
            "missing `-- schemac:parent",
        ),
        (
            "-- schemac migration 0001_a\n-- schemac:parent Bad-Name\n",
            2,
            "not a migration name",
        ),
        (
            "-- schemac migration 0001_a\r\n-- schemac:parent none\r\n-- schemac:parent none\r\n",
            3,
            "second",
        ),
    ];
    for (text, line, needle) in cases {
        let dir = TempDir::new();
        dir.write("0001_a.sql", text);
        match history::read(dir.path()) {
            Err(e @ HistoryError::Header { line: l, .. }) => {
                let shown = e.to_string();
                assert_eq!(l, line, "{shown}");
                assert!(shown.contains(&format!("0001_a.sql:{line}: ")), "{shown}");
                assert!(shown.contains(needle), "{shown}");
            }
            other => panic!("{text:?}: expected a header error, got {other:?}"),
        }
    }
}

#[test]
fn a_badly_named_file_is_an_error_and_other_files_are_ignored() {
    let dir = three();
    dir.write("README.md", "notes\n");
    assert!(history::read(dir.path()).is_ok());
    dir.write(
        "0004_Add-Thing.sql",
        "-- schemac migration 0004_Add-Thing\n",
    );
    let err = history::read(dir.path()).expect_err("bad name");
    assert!(matches!(err, HistoryError::Name { .. }));
    assert!(err.to_string().contains("0004_Add-Thing.sql"), "{err}");
}

#[test]
fn split_statements_handles_quotes_comments_and_bodies() {
    let sql = r#"-- schemac migration 0001_x
-- schemac:parent none

CREATE TABLE "odd;name" (id int4, note text DEFAULT 'a;b''c;');
COMMENT ON TABLE "odd;name" IS 'it''s; fine';
/* a comment; /* nested; */ still; */
CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE NOTICE 'x;y';  -- inside; the body
  RETURN NEW;
END
$$;
CREATE FUNCTION g() RETURNS text LANGUAGE sql AS $body$ SELECT '$$;' $body$;
SELECT E'back\'slash;', $1, a$b FROM t;
-- a trailing comment; only
;;
"#;
    let statements = split_statements(sql);
    assert_eq!(statements.len(), 5, "{statements:#?}");
    assert!(statements[0].starts_with("-- schemac migration 0001_x\n"));
    assert!(statements[0].ends_with("DEFAULT 'a;b''c;')"));
    assert_eq!(
        statements[1],
        "COMMENT ON TABLE \"odd;name\" IS 'it''s; fine'"
    );
    assert!(
        statements[2].starts_with("/* a comment; /* nested; */ still; */\nCREATE FUNCTION f()")
    );
    assert!(statements[2].ends_with("END\n$$"));
    assert_eq!(
        statements[3],
        "CREATE FUNCTION g() RETURNS text LANGUAGE sql AS $body$ SELECT '$$;' $body$"
    );
    assert_eq!(statements[4], "SELECT E'back\\'slash;', $1, a$b FROM t");
}

#[test]
fn split_statements_edge_cases() {
    assert_eq!(split_statements(""), Vec::<String>::new());
    assert_eq!(
        split_statements(" ;\n; -- x;\n /* y; */ "),
        Vec::<String>::new()
    );
    assert_eq!(split_statements("SELECT 1"), ["SELECT 1"]);
    assert_eq!(
        split_statements("SELECT 1;SELECT 2;"),
        ["SELECT 1", "SELECT 2"]
    );
    assert_eq!(
        split_statements("SELECT 'unclosed; still"),
        ["SELECT 'unclosed; still"]
    );
    assert_eq!(
        split_statements("SELECT $$unclosed; still"),
        ["SELECT $$unclosed; still"]
    );
    assert_eq!(
        split_statements("SELECT 1 /* unclosed; still"),
        ["SELECT 1 /* unclosed; still"]
    );
    assert_eq!(
        split_statements("SELECT \"a\"\"b;\" FROM t; x"),
        ["SELECT \"a\"\"b;\" FROM t", "x"]
    );
    assert_eq!(
        split_statements("SELECT 'don''t'; SELECT 2"),
        ["SELECT 'don''t'", "SELECT 2"]
    );
    // A `'` inside a dollar body and a `$$` inside a string do not open anything.
    assert_eq!(
        split_statements("SELECT $$it's;$$; SELECT '$$;'"),
        ["SELECT $$it's;$$", "SELECT '$$;'"]
    );
    // `$a$` closes only on `$a$`, not on `$$` or `$b$`.
    assert_eq!(
        split_statements("SELECT $a$ $$; $b$; $a$; 2"),
        ["SELECT $a$ $$; $b$; $a$", "2"]
    );
    // `--` inside a string is not a comment; `-` and `/` alone are operators.
    assert_eq!(
        split_statements("SELECT '--;' - 1 / 2; x"),
        ["SELECT '--;' - 1 / 2", "x"]
    );
    // Backslashes escape only in E'' strings.
    assert_eq!(
        split_statements(r"SELECT 'a\'; SELECT 2"),
        [r"SELECT 'a\'", "SELECT 2"]
    );
    assert_eq!(
        split_statements("SELECT 'é;ü'; SELECT 'ß'"),
        ["SELECT 'é;ü'", "SELECT 'ß'"]
    );
}

/// A statement fragment that holds no top-level `;` and no unclosed quote or comment.
fn fragment() -> impl Strategy<Value = String> {
    let text = "[a-z;' \"$\\-/*\n]{0,12}";
    let plain = "[a-z;' \"\\-\n]{0,12}";
    prop_oneof![
        "[A-Za-z_][A-Za-z0-9_]{0,8}",
        "[0-9]{1,4}",
        Just("(".to_string()),
        Just(")".to_string()),
        Just(",".to_string()),
        text.prop_map(|s| format!("'{}'", s.replace('\'', "''"))),
        text.prop_map(|s| format!("\"{}\"", s.replace('"', "\"\""))),
        text.prop_map(|s| format!("E'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))),
        plain.prop_map(|s| format!("$$ {s} $$")),
        ("[a-z]{1,3}", text)
            .prop_map(|(tag, s)| format!("$f{tag}$ {} $f{tag}$", s.replace('$', ""))),
        "[a-z; ']{0,12}".prop_map(|s| format!("-- {s}\n")),
        plain.prop_map(|s| format!("/* {s} */")),
    ]
}

/// A statement: a keyword, fragments, and a keyword, so that it is already trimmed.
fn statement() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..6)
        .prop_map(|parts| format!("SELECT {} END", parts.join(" ")))
}

/// Whitespace and comments alone, possibly with `;`: an empty statement between two real ones.
fn filler() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("\n".to_string()),
        Just(";".to_string()),
        "[a-z; ]{0,8}".prop_map(|s| format!("\n-- {s}\n;")),
        "[a-z; ]{0,8}".prop_map(|s| format!(" /* {s} /* {s} */ */ ;")),
    ]
}

proptest! {
    #[test]
    fn split_recovers_joined_statements(
        statements in prop::collection::vec((statement(), filler()), 0..6),
        crlf in any::<bool>(),
    ) {
        let mut sql = String::new();
        for (statement, filler) in &statements {
            sql += &format!("{statement};{filler}\n");
        }
        let expected: Vec<String> = statements.iter().map(|(s, _)| s.clone()).collect();
        if crlf {
            let sql = sql.replace('\n', "\r\n");
            let expected: Vec<String> = expected.iter().map(|s| s.replace('\n', "\r\n")).collect();
            prop_assert_eq!(split_statements(&sql), expected);
        } else {
            prop_assert_eq!(split_statements(&sql), expected);
        }
    }

    #[test]
    fn split_never_panics_and_yields_trimmed_statements(sql in "[a-zA-Z0-9 ;'\"$\\-/*\\\\\n\r é]{0,80}") {
        for statement in split_statements(&sql) {
            prop_assert!(!statement.is_empty());
            prop_assert_eq!(statement.trim(), statement.as_str());
            prop_assert!(sql.contains(statement.as_str()));
        }
    }
}
