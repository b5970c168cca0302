//! Migrations: the diff between the last snapshot and the catalogue's schema, checked by the
//! safety rules and written as one or more migration files, each with the snapshot after it.
//!
//! One `migrate new` may write up to four files, in this order, because Postgres needs it:
//! 1. `<name>_enum_values`: `ALTER TYPE ... ADD VALUE` (a new label cannot be used in the
//!    transaction that added it, so it commits first);
//! 2. `<name>`: everything else, in one transaction; constraints added to existing tables are
//!    `NOT VALID` (a brief lock, no scan);
//! 3. `<name>_validate`: `VALIDATE CONSTRAINT` (scans without blocking writes) and the end of
//!    each `SET NOT NULL`;
//! 4. `<name>_indexes`: `CREATE INDEX CONCURRENTLY` on existing tables, outside a transaction.

pub mod diff;
pub mod lint;
pub mod render;

use crate::db::Database;
use crate::plan::Schema;

pub use diff::{Change, Renames, diff};
pub use lint::{Allow, Finding, lint};

/// A migration file to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// `NNNN_name`.
    pub name: String,
    /// The SQL, header included.
    pub sql: String,
    /// The schema after it.
    pub snapshot: Database,
    /// Runs in one transaction.
    pub transactional: bool,
}

/// What `migrate new` would write.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The files, in order.
    pub files: Vec<File>,
    /// Findings, all allowed (a refused one makes [`plan`] fail).
    pub findings: Vec<Finding>,
}

/// Where the new migration goes in the history.
#[derive(Debug, Clone)]
pub struct Position<'a> {
    /// Version of the first new file.
    pub version: u32,
    /// The last migration's name (`None` for the first).
    pub parent: Option<&'a str>,
    /// The migration's name (`[a-z0-9_]+`).
    pub name: &'a str,
    /// The command line that made it, for the header.
    pub command: &'a str,
}

/// Whether a migration name is acceptable: lower-case letters, digits and `_`, at most 50 bytes.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 50
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The renames the catalogue declares (`renamed_from` on models and fields).
pub fn renames(schema: &Schema) -> Renames {
    let mut r = Renames::default();
    for t in &schema.tables {
        if let Some(from) = &t.renamed_from {
            r.tables.push((from.clone(), t.name.clone()));
        }
        for c in &t.columns {
            if let Some(from) = &c.renamed_from {
                r.columns
                    .push((t.name.clone(), from.clone(), c.name.clone()));
            }
        }
    }
    r
}

/// Plans the migration from `old` to `new`. `Ok(None)`: nothing changed. `Err`: findings that
/// were not allowed (the allowed ones are in the list too, marked).
pub fn plan(
    old: &Database,
    new: &Database,
    renames: &Renames,
    at: &Position<'_>,
    allow: &Allow,
) -> Result<Option<Planned>, Vec<Finding>> {
    let changes = diff(old, new, renames);
    if changes.is_empty() {
        return Ok(None);
    }
    let findings: Vec<(usize, Finding)> = changes
        .iter()
        .enumerate()
        .filter_map(|(i, c)| lint(c, allow).map(|f| (i, f)))
        .collect();
    if findings.iter().any(|(_, f)| !f.allowed) {
        return Err(findings.into_iter().map(|(_, f)| f).collect());
    }

    let mut enum_values = Vec::new();
    let mut main = Vec::new();
    let mut validate = Vec::new();
    let mut indexes = Vec::new();
    for (i, c) in changes.iter().enumerate() {
        let finding = findings.iter().find(|(j, _)| *j == i).map(|(_, f)| f);
        let bucket = match c {
            Change::AddEnumValue { .. } => &mut enum_values,
            Change::ValidateConstraint { .. } | Change::ValidateNotNull { .. } => &mut validate,
            Change::CreateIndex {
                concurrently: true, ..
            } => &mut indexes,
            _ => &mut main,
        };
        bucket.push((c, finding));
    }

    let mut after_enums = old.clone();
    for e in &mut after_enums.enums {
        if let Some(n) = new.enum_type(&e.name)
            && diff::is_subsequence(&e.values, &n.values)
        {
            e.values = n.values.clone();
        }
    }
    let mut after_main = new.clone();
    after_main.indexes.retain(|i| {
        !indexes
            .iter()
            .any(|(c, _)| matches!(c, Change::CreateIndex { index, .. } if index.name == i.name))
    });

    let steps = [
        (
            "_enum_values",
            enum_values,
            after_enums,
            true,
            "New enum labels, committed before anything uses them (Postgres forbids using a label in the transaction that added it).",
        ),
        ("", main, after_main.clone(), true, ""),
        (
            "_validate",
            validate,
            after_main,
            true,
            "Validates the constraints the previous migration added NOT VALID: a scan that does not block reads or writes.",
        ),
        (
            "_indexes",
            indexes,
            new.clone(),
            false,
            "Indexes on tables that already hold rows, built CONCURRENTLY (outside a transaction) so writes go on.\n-- If this migration stops midway, an index may be left INVALID: DROP INDEX CONCURRENTLY it, then apply again.",
        ),
    ];
    let mut files = Vec::new();
    let mut parent = at.parent.map(str::to_string);
    let mut version = at.version;
    for (suffix, step, snapshot, transactional, note) in steps {
        if step.is_empty() {
            continue;
        }
        let name = format!("{version:04}_{}{suffix}", at.name);
        let sql = render_file(
            &name,
            parent.as_deref(),
            transactional,
            note,
            at.command,
            &step,
        );
        parent = Some(name.clone());
        version += 1;
        files.push(File {
            name,
            sql,
            snapshot,
            transactional,
        });
    }
    Ok(Some(Planned {
        files,
        findings: findings.into_iter().map(|(_, f)| f).collect(),
    }))
}

/// The section a change belongs to, for the comments that separate them.
fn section(c: &Change) -> &'static str {
    match c {
        Change::CreateEnum(_)
        | Change::AddEnumValue { .. }
        | Change::RecreateEnum { .. }
        | Change::DropEnum(_)
        | Change::CommentEnum { .. } => "Enum types",
        Change::CreateFunction(_) | Change::DropFunction(_) => "Trigger functions",
        Change::CreateTable(_) | Change::DropTable(_) => "Tables",
        Change::RenameTable { .. } | Change::RenameColumn { .. } => "Renames",
        Change::AddColumn { .. }
        | Change::DropColumn { .. }
        | Change::AlterType { .. }
        | Change::SetNotNull { .. }
        | Change::ValidateNotNull { .. }
        | Change::DropNotNull { .. }
        | Change::SetDefault { .. } => "Columns",
        Change::AddConstraint {
            constraint: diff::Constraint::ForeignKey(_),
            ..
        } => "Foreign keys",
        Change::AddConstraint { .. }
        | Change::ValidateConstraint { .. }
        | Change::DropConstraint { .. }
        | Change::RenameConstraint { .. } => "Constraints",
        Change::CreateIndex { .. } | Change::DropIndex(_) | Change::RenameIndex { .. } => "Indexes",
        Change::CommentTable { .. }
        | Change::CommentColumn { .. }
        | Change::CommentIndex { .. } => "Comments",
        Change::CreateTrigger(_) | Change::DropTrigger(_) => "Triggers",
    }
}

fn render_file(
    name: &str,
    parent: Option<&str>,
    transactional: bool,
    note: &str,
    command: &str,
    changes: &[(&Change, Option<&Finding>)],
) -> String {
    let mut s = format!(
        "-- schemac migration {name}\n-- schemac:parent {}\n",
        parent.unwrap_or("none")
    );
    if !transactional {
        s.push_str("-- schemac:no-transaction\n");
    }
    s.push_str(&format!(
        "--\n-- Generated by `{command}` from models/*.yaml. Do not edit: schemac.sum holds this\n-- file's checksum. Change the YAML and run `schemac migrate new <name>` instead.\n"
    ));
    if !note.is_empty() {
        s.push_str(&format!("-- {note}\n"));
    }
    let mut last_section = "";
    for (change, finding) in changes {
        let sec = section(change);
        if sec != last_section {
            s.push_str(&format!("\n-- {sec}\n"));
            last_section = sec;
        }
        s.push('\n');
        if let Some(f) = finding {
            s.push_str(&format!(
                "-- WARNING {} ({}), allowed by --allow {}: {}.\n",
                f.code,
                f.message,
                f.allow_flag(),
                f.why
            ));
        }
        if let Some(note) = remake_note(change, changes) {
            s.push_str(&format!("-- {note}\n"));
        }
        for stmt in render::statements(change) {
            s.push_str(&stmt);
            s.push('\n');
        }
    }
    s
}

/// Why a CHECK or an index is dropped and made again, unchanged, in the same file: the differ
/// does it around a type change of a column it names (`diff::Differ::table`), and a reviewer
/// would otherwise see a drop and an add of the same thing with no reason.
fn remake_note(change: &Change, changes: &[(&Change, Option<&Finding>)]) -> Option<&'static str> {
    let same_index = |a: &crate::db::Index, b: &crate::db::Index| {
        a.name == b.name
            && crate::db::Index {
                comment: None,
                ..a.clone()
            } == crate::db::Index {
                comment: None,
                ..b.clone()
            }
    };
    let remade_by = |other: &Change| match (change, other) {
        (Change::DropIndex(a), Change::CreateIndex { index: b, .. })
        | (Change::CreateIndex { index: b, .. }, Change::DropIndex(a)) => same_index(a, b),
        (
            Change::DropConstraint {
                table: t1,
                constraint: a,
            },
            Change::AddConstraint {
                table: t2,
                constraint: b,
                ..
            },
        )
        | (
            Change::AddConstraint {
                table: t2,
                constraint: b,
                ..
            },
            Change::DropConstraint {
                table: t1,
                constraint: a,
            },
        ) => t1 == t2 && a == b,
        _ => false,
    };
    if !changes.iter().any(|(c, _)| remade_by(c)) {
        return None;
    }
    Some(match change {
        Change::DropIndex(_) | Change::DropConstraint { .. } => {
            "Dropped here and made again below, unchanged: a column it names changes type, and PostgreSQL would re-check it against the new type with values typed by the old one."
        }
        _ => "Made again, unchanged, after the type change above.",
    })
}

/// Why a migration could not be planned or written.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The directory could not be read.
    #[error(transparent)]
    History(#[from] crate::history::HistoryError),
    /// The history has problems that must be fixed first.
    #[error("the migration history has problems:\n{}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
    Problems(Vec<crate::history::Problem>),
    /// A snapshot is not valid JSON of a schema.
    #[error("{file}: not a schemac snapshot: {error}")]
    Snapshot {
        /// The file.
        file: String,
        /// The parse error.
        error: String,
    },
    /// Unsafe changes that were not allowed.
    #[error("{}", refused_message(.0))]
    Refused(Vec<Finding>),
    /// The migration name is not `[a-z0-9_]+`.
    #[error("`{0}` is not a migration name: use lower-case letters, digits and `_` (at most 50)")]
    BadName(String),
    /// Writing failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// `rebase` cannot tell which migration to move.
    #[error("{0}")]
    Rebase(String),
}

fn refused_message(findings: &[Finding]) -> String {
    let mut s = String::from("refused: the migration has unsafe changes\n");
    for f in findings.iter().filter(|f| !f.allowed) {
        s.push_str(&format!(
            "  {} {}: {}\n    why: {}\n    to allow it: --allow {}\n",
            f.code,
            f.object,
            f.message,
            f.why,
            f.allow_flag()
        ));
    }
    s.push_str("See docs/migrations.md for the rules.");
    s
}

/// The schema the catalogue asks for and the renames it declares.
pub fn target(cat: &crate::ir::Catalogue) -> (Database, Renames) {
    (
        crate::desired::database(cat),
        renames(&crate::plan::plan(cat)),
    )
}

/// The schema after the last migration (empty for an empty history).
pub fn last_snapshot(history: &crate::history::History) -> Result<Database, MigrateError> {
    let Some(last) = history.migrations.last() else {
        return Ok(Database::default());
    };
    let text = last
        .snapshot
        .as_deref()
        .ok_or_else(|| MigrateError::Snapshot {
            file: last.snapshot_file(),
            error: "the file is missing".into(),
        })?;
    Database::from_json(text).map_err(|e| MigrateError::Snapshot {
        file: last.snapshot_file(),
        error: e.to_string(),
    })
}

/// Plans the next migration of a directory; `Ok(None)` when the catalogue matches the last
/// snapshot.
pub fn next(
    dir: &std::path::Path,
    cat: &crate::ir::Catalogue,
    name: &str,
    allow: &Allow,
    command: &str,
) -> Result<Option<Planned>, MigrateError> {
    if !valid_name(name) {
        return Err(MigrateError::BadName(name.to_string()));
    }
    let history = crate::history::read(dir)?;
    let problems = crate::history::verify(&history);
    if !problems.is_empty() {
        return Err(MigrateError::Problems(problems));
    }
    let old = last_snapshot(&history)?;
    let (new, renames) = target(cat);
    let at = Position {
        version: crate::history::next_version(&history),
        parent: history.migrations.last().map(|m| m.name.as_str()),
        name,
        command,
    };
    plan(&old, &new, &renames, &at, allow).map_err(MigrateError::Refused)
}

/// Writes the planned files and re-signs `schemac.sum`.
pub fn write(dir: &std::path::Path, planned: &Planned) -> Result<(), MigrateError> {
    let io = |path: &std::path::Path| {
        let path = path.display().to_string();
        move |source| MigrateError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    for f in &planned.files {
        let sql = dir.join(format!("{}.sql", f.name));
        std::fs::write(&sql, &f.sql).map_err(io(&sql))?;
        let json = dir.join(format!("{}.json", f.name));
        std::fs::write(&json, f.snapshot.to_json()).map_err(io(&json))?;
    }
    let history = crate::history::read(dir)?;
    crate::history::write_sum(&history).map_err(io(dir))
}

/// Moves the migrations of a forked history (two branches that each added one) to the end:
/// deletes them, and the migrations that chain onto them, then diffs the catalogue against the
/// last migration kept and writes one migration under the first moved one's name. Which branch
/// stays: the migrations named in `schemac.sum` (take main's side of its merge conflict), or,
/// failing that, the `moving` names given.
pub fn rebase(
    dir: &std::path::Path,
    cat: &crate::ir::Catalogue,
    moving: &[String],
    allow: &Allow,
    command: &str,
) -> Result<Option<Planned>, MigrateError> {
    let history = crate::history::read(dir)?;
    let in_sum: Vec<&str> = history
        .sum
        .as_deref()
        .unwrap_or("")
        .lines()
        .filter_map(|l| l.split_once(".sql "))
        .map(|(stem, _)| stem)
        .collect();
    let mut moved: Vec<String> = moving.to_vec();
    if moved.is_empty() {
        let mut versions: std::collections::BTreeMap<u32, Vec<&str>> = Default::default();
        for m in &history.migrations {
            versions.entry(m.version).or_default().push(&m.name);
        }
        for (version, names) in versions.iter().filter(|(_, n)| n.len() > 1) {
            let kept: Vec<&&str> = names.iter().filter(|n| in_sum.contains(n)).collect();
            if kept.len() != 1 {
                return Err(MigrateError::Rebase(format!(
                    "version {version:04} is taken by {}, and schemac.sum does not say which one came first: name the one(s) to move, e.g. `schemac migrate rebase {}`",
                    names.join(" and "),
                    names.last().unwrap_or(&"")
                )));
            }
            moved.extend(
                names
                    .iter()
                    .filter(|n| !in_sum.contains(n))
                    .map(|n| n.to_string()),
            );
        }
    }
    if moved.is_empty() {
        return Ok(None);
    }
    // Everything that chains onto a moved migration moves with it.
    let mut changed = true;
    while changed {
        changed = false;
        for m in &history.migrations {
            if !moved.contains(&m.name) && m.parent.as_ref().is_some_and(|p| moved.contains(p)) {
                moved.push(m.name.clone());
                changed = true;
            }
        }
    }
    for name in &moved {
        if !history.migrations.iter().any(|m| &m.name == name) {
            return Err(MigrateError::Rebase(format!("no migration named {name}")));
        }
    }
    let base_name = moved
        .first()
        .and_then(|n| n.split_once('_'))
        .map(|(_, rest)| rest.to_string())
        .unwrap_or_else(|| "rebased".into());
    for name in &moved {
        for ext in ["sql", "json"] {
            let path = dir.join(format!("{name}.{ext}"));
            if path.exists() {
                std::fs::remove_file(&path).map_err(|source| MigrateError::Io {
                    path: path.display().to_string(),
                    source,
                })?;
            }
        }
    }
    let kept = crate::history::read(dir)?;
    crate::history::write_sum(&kept).map_err(|source| MigrateError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let planned = next(dir, cat, &base_name, allow, command)?;
    if let Some(p) = &planned {
        write(dir, p)?;
    }
    Ok(planned)
}
