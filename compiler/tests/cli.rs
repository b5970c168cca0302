//! The `schemac` binary as a user runs it: exit codes (0 valid, 1 invalid, 2 usage or I/O),
//! output formats, and the `schema` and `inspect` commands.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn schemac(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_schemac"))
        .args(args)
        .output()
        .expect("schemac runs")
}

/// A catalogue directory under the target dir (swept by `cargo clean`, never left in /tmp).
fn temp_catalogue(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (file, text) in files {
        std::fs::write(dir.join(file), text).expect("write model");
    }
    dir
}

const GOOD: &str = "model: Widget\ncollection: widgets\nphase: 1\nfields:\n  name: { bson: string, required: true }\n";
const BAD: &str =
    "model: Widget\ncollection: widgets\nphase: 1\nfields:\n  name: { bson: strng }\n";

fn arg(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

#[test]
fn valid_catalogue_exits_zero_with_a_summary() {
    let dir = temp_catalogue("good", &[("widget.yaml", GOOD)]);
    let out = schemac(&["validate", "--models", arg(&dir)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 models, 1 tables, 0 enums"));
}

#[test]
fn invalid_catalogue_exits_one_with_located_errors() {
    let dir = temp_catalogue("bad", &[("widget.yaml", BAD)]);
    let out = schemac(&["validate", "--models", arg(&dir)]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("widget.yaml:5:17"), "{stderr}");
    assert!(stderr.contains("did you mean `string`?"), "{stderr}");
}

#[test]
fn json_format_is_machine_readable() {
    let dir = temp_catalogue("json", &[("widget.yaml", BAD)]);
    let out = schemac(&["validate", "--models", arg(&dir), "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let findings: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let first = &findings[0];
    assert_eq!(first["code"], "unknown-type");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["yaml_path"], "fields.name.bson");
    assert!(
        first["span"]
            .as_str()
            .expect("span is a string")
            .ends_with("widget.yaml:5:17")
    );
    assert_eq!(first["hint"], "did you mean `string`?");
}

#[test]
fn missing_directory_and_bad_usage_exit_two() {
    let out = schemac(&["validate", "--models", "/nonexistent/schemac/models"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot read /nonexistent/schemac/models")
    );
    let empty = temp_catalogue("empty", &[]);
    let out = schemac(&["validate", "--models", arg(&empty)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no model files"));
    assert_eq!(
        schemac(&["validate", "--frobnicate"]).status.code(),
        Some(2)
    );
    assert_eq!(
        schemac(&["validate", "--format", "xml"]).status.code(),
        Some(2)
    );
}

#[test]
fn schema_command_prints_a_json_schema() {
    let out = schemac(&["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON document");
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(schema["additionalProperties"], false);
}

#[test]
fn inspect_prints_the_catalogue_or_refuses_an_invalid_one() {
    let dir = temp_catalogue("inspect", &[("widget.yaml", GOOD)]);
    let out = schemac(&["inspect", "--json", "--models", arg(&dir)]);
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON document");
    assert_eq!(doc["format"], "schemac-inspect/1");
    assert_eq!(doc["models"][0]["table"], "widgets");
    assert_eq!(doc["models"][0]["fields"][1]["columns"][0]["name"], "name");
    let bad = temp_catalogue("inspect-bad", &[("widget.yaml", BAD)]);
    assert_eq!(
        schemac(&["inspect", "--json", "--models", arg(&bad)])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn backfill_and_verify_without_a_generated_crate_say_where_they_looked() {
    for command in ["backfill", "verify"] {
        let out = schemac(&[
            command,
            "--out",
            "/nonexistent/generated",
            "--dump",
            "dump",
            "--database-url",
            "postgres://localhost/app",
        ]);
        assert_eq!(out.status.code(), Some(2), "{command}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("/nonexistent/generated/Cargo.toml not found")
                && stderr.contains(&format!("`schemac {command}` runs the generated crate")),
            "{stderr}"
        );
    }
}

#[test]
fn parity_test_files_keep_their_hand_written_part_through_generate_and_check() {
    let dir = temp_catalogue("parity", &[("widget.yaml", GOOD)]);
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-parity-out");
    let _ = std::fs::remove_dir_all(&out_dir);
    let generate =
        |dir: &Path| schemac(&["generate", "--models", arg(dir), "--out", arg(&out_dir)]);
    assert_eq!(generate(&dir).status.code(), Some(0));
    let file = out_dir.join("tests/parity/widget.rs");
    let text = std::fs::read_to_string(&file).expect("a parity skeleton per collection");
    assert!(
        text.contains("harness::run(COLLECTION).assert_parity()"),
        "{text}"
    );
    let marker = schemac::parity::MARKER;
    assert!(text.contains(marker));

    // An engineer's test below the marker survives regeneration and does not count as drift.
    let mine = "\n#[test]\nfn widgets_have_names() {}\n";
    std::fs::write(&file, format!("{text}{mine}")).unwrap();
    let check = |dir: &Path| schemac(&["check", "--models", arg(dir), "--out", arg(&out_dir)]);
    let out = check(&dir);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let changed = GOOD.replace("phase: 1", "phase: 1\ndescription: Things we sell.");
    std::fs::write(dir.join("widget.yaml"), changed).unwrap();
    assert_eq!(generate(&dir).status.code(), Some(0));
    let regenerated = std::fs::read_to_string(&file).unwrap();
    assert!(regenerated.ends_with(mine), "{regenerated}");

    // An edit above the marker is drift.
    std::fs::write(
        &file,
        regenerated.replacen("fn parity()", "fn parity_renamed()", 1),
    )
    .unwrap();
    let out = check(&dir);
    assert_eq!(out.status.code(), Some(1));
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        output.contains("SC306") && output.contains("tests/parity/widget.rs"),
        "{output}"
    );
}

/// `schemac inspect | head`: the reader closes the pipe after a few lines. That is not an
/// error (exit 0, nothing on stderr), where a `println!` would panic with "failed printing to
/// stdout". The output (~440 KB) is far larger than a pipe's buffer, so the write does fail.
#[test]
fn a_reader_that_stops_early_is_not_an_error() {
    use std::io::Read;
    use std::process::Stdio;
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let mut child = Command::new(env!("CARGO_BIN_EXE_schemac"))
        .args(["inspect", "--models", arg(&models)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("schemac runs");
    let mut head = [0u8; 64];
    child
        .stdout
        .take()
        .expect("piped stdout")
        .read_exact(&mut head)
        .expect("the start of the output");
    let out = child.wait_with_output().expect("schemac ends");
    assert!(head.starts_with(b"{"), "{}", String::from_utf8_lossy(&head));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Any other failure to write the output is an error with exit code 2 and a message, not a
/// panic: `/dev/full` fails every write with "No space left on device".
#[cfg(target_os = "linux")]
#[test]
fn a_failed_write_of_the_output_exits_two_with_a_message() {
    let full = std::fs::File::create("/dev/full").expect("/dev/full on Linux");
    let out = Command::new(env!("CARGO_BIN_EXE_schemac"))
        .arg("schema")
        .stdout(full)
        .output()
        .expect("schemac runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("error: cannot write to standard output") && !stderr.contains("panicked"),
        "{stderr}"
    );
}

/// An error that cannot be written (standard error on a full disk) still exits with the code
/// that says what happened (2 here: no such directory), not with `eprintln!`'s panic (101).
#[cfg(target_os = "linux")]
#[test]
fn an_error_that_cannot_be_written_keeps_its_exit_code() {
    let full = std::fs::File::create("/dev/full").expect("/dev/full on Linux");
    let out = Command::new(env!("CARGO_BIN_EXE_schemac"))
        .args(["validate", "--models", "/nonexistent/models"])
        .stderr(full)
        .output()
        .expect("schemac runs");
    assert_eq!(out.status.code(), Some(2));
}

/// A model file that is not UTF-8 is named with the line and column of its first bad byte and
/// a hint about the encoding, not a bare "stream did not contain valid UTF-8".
#[test]
fn a_model_file_that_is_not_utf8_is_located() {
    let dir = temp_catalogue("latin1", &[("widget.yaml", GOOD)]);
    let mut latin1 = GOOD.as_bytes().to_vec();
    latin1.extend_from_slice(b"  caf\xe9: { bson: string }\n");
    std::fs::write(dir.join("widget.yaml"), latin1).expect("write model");
    let out = schemac(&["validate", "--models", arg(&dir)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("widget.yaml:6:6: not UTF-8 text (byte 0xe9)")
            && stderr.contains("hint: model files are UTF-8"),
        "{stderr}"
    );
}

/// A `*.yaml` link to a file that is gone is an error, not a model silently left out.
#[cfg(unix)]
#[test]
fn a_dangling_model_link_is_an_error() {
    let dir = temp_catalogue("dangling", &[("widget.yaml", GOOD)]);
    std::os::unix::fs::symlink(dir.join("gone.yaml"), dir.join("order.yaml")).expect("symlink");
    let out = schemac(&["validate", "--models", arg(&dir)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot read") && stderr.contains("order.yaml"),
        "{stderr}"
    );
}
