//! A [`History`] in, the [`Problem`]s of its directory out: edited files (`SC301`), a stale or
//! missing `schemac.sum` (`SC302`), duplicate versions (`SC303`) and a broken chain (`SC304`).

use std::collections::BTreeMap;

use super::{History, Migration, Problem, SUM_FILE, checksum, normalize, sha256_hex};

const HINT_EDITED: &str = "revert the edit and put the change in a new migration (`schemac migrate new`); only if this migration was never applied anywhere, re-sign it with `schemac migrate hash`";
const HINT_SUM: &str = "if two branches' migrations were merged, run `schemac migrate rebase`; if a migration was added or renamed by hand, re-sign with `schemac migrate hash`";
const HINT_FORK: &str = "two branches each added a migration with this version: run `schemac migrate rebase` to renumber this branch's migrations after the other's";
const HINT_CHAIN: &str = "each migration's `-- schemac:parent` must name the one before it and versions must run 0001, 0002, ... without gaps: restore the missing file from version control or run `schemac migrate rebase`";
const HINT_SNAPSHOT: &str = "every migration is committed with the schema snapshot `schemac migrate new` wrote beside it: restore it from version control";

/// Everything wrong with the directory, without a database: edited files (`SC301`), a stale or
/// missing `schemac.sum` (`SC302`), duplicate versions (`SC303`) and a broken chain (`SC304`).
/// Sorted by file, then code.
pub fn verify(history: &History) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut add = |code, file: &str, message: String, hint: &str| {
        problems.push(Problem {
            code,
            file: file.to_string(),
            message,
            hint: hint.to_string(),
        });
    };
    verify_sum(history, &mut add);

    let mut by_version: BTreeMap<u32, Vec<&Migration>> = BTreeMap::new();
    for m in &history.migrations {
        by_version.entry(m.version).or_default().push(m);
    }
    let mut expected = 1;
    let mut previous: Vec<&str> = Vec::new();
    for (&version, group) in &by_version {
        for twin in &group[1..] {
            let first = group[0].sql_file();
            let message =
                format!("has the same version {version:04} as {first}: the history forked");
            add("SC303", &twin.sql_file(), message, HINT_FORK);
        }
        if version != expected {
            let message = match previous.first() {
                None => format!("the first migration is {version:04}, not 0001"),
                Some(p) => format!("version {version:04} follows {p}: {expected:04} is missing"),
            };
            add("SC304", &group[0].sql_file(), message, HINT_CHAIN);
        }
        for m in group {
            let message = match (&m.parent, previous.as_slice()) {
                (None, []) => continue,
                (Some(p), []) => format!("is the first migration but its parent is {p}, not none"),
                (Some(p), names) if names.contains(&p.as_str()) => continue,
                (parent, names) => format!(
                    "its parent is {}, but the migration before it is {}",
                    parent.as_deref().unwrap_or("none"),
                    names.join(" or "),
                ),
            };
            add("SC304", &m.sql_file(), message, HINT_CHAIN);
        }
        for m in group.iter().filter(|m| m.snapshot.is_none()) {
            let message = format!("has no schema snapshot {}", m.snapshot_file());
            add("SC304", &m.sql_file(), message, HINT_SNAPSHOT);
        }
        expected = version + 1;
        previous = group.iter().map(|m| m.name.as_str()).collect();
    }
    for orphan in &history.orphan_snapshots {
        let message = "is a schema snapshot without its migration .sql file".to_string();
        add("SC304", orphan, message, HINT_CHAIN);
    }
    problems.sort();
    problems
}

/// Compares every file with its `schemac.sum` line, and the first line with the others.
fn verify_sum(history: &History, add: &mut impl FnMut(&'static str, &str, String, &str)) {
    let mut files = BTreeMap::new();
    for m in &history.migrations {
        files.insert(m.sql_file(), m.checksum.clone());
        if let Some(snapshot) = &m.snapshot {
            files.insert(m.snapshot_file(), checksum(snapshot));
        }
    }
    let Some(text) = &history.sum else {
        if !files.is_empty() {
            let message = "is missing, but the directory holds migrations".to_string();
            add("SC302", SUM_FILE, message, HINT_SUM);
        }
        return;
    };
    let text = normalize(text);
    let mut lines = text.lines();
    let head = lines.next().unwrap_or_default();
    let body: Vec<&str> = lines.collect();
    let hash: String = body.iter().map(|line| format!("{line}\n")).collect();
    if head != format!("h1:{}", sha256_hex(&hash)) {
        let message = "its first line does not match the lines below it (merged or edited by hand)";
        add("SC302", SUM_FILE, message.to_string(), HINT_SUM);
    }
    let mut recorded = BTreeMap::new();
    for (i, line) in body.iter().enumerate() {
        match line.split_once(' ') {
            Some((file, sum)) if sum.starts_with("h1:") && !file.is_empty() => {
                if recorded.insert(file, sum).is_some() {
                    let message = format!("line {} lists {file} a second time", i + 2);
                    add("SC302", SUM_FILE, message, HINT_SUM);
                }
            }
            _ => {
                let message = format!("line {} is not `<file> h1:<hash>`: {line:?}", i + 2);
                add("SC302", SUM_FILE, message, HINT_SUM);
            }
        }
    }
    for (file, sum) in &files {
        match recorded.get(file.as_str()) {
            Some(&r) if r == sum => {}
            Some(&r) => {
                let message = format!(
                    "was edited after it was committed: schemac.sum has {r}, the file has {sum}"
                );
                add("SC301", file, message, HINT_EDITED);
            }
            None => add(
                "SC302",
                file,
                "is not listed in schemac.sum".into(),
                HINT_SUM,
            ),
        }
    }
    for file in recorded.keys() {
        if !files.contains_key(*file) && !history.orphan_snapshots.iter().any(|o| o == file) {
            let message = format!("lists {file}, but the file is gone");
            add("SC302", SUM_FILE, message, HINT_SUM);
        }
    }
}
