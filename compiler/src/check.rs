//! The drift gate (`schemac check`): without a database, compares the catalogue with the
//! committed generated files and the migration history, and reports every disagreement with a
//! stable code, what to run, and a unified diff where there is one.

use std::path::Path;

use serde::Serialize;

use crate::db::Database;
use crate::{generate, history, migrate};

/// One disagreement.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// `SC300` invalid catalogue, `SC301`-`SC304` history problems, `SC305` catalogue changed
    /// without a migration, `SC306` stale generated file.
    pub code: &'static str,
    /// The file concerned.
    pub file: String,
    /// What is wrong.
    pub message: String,
    /// What to run.
    pub hint: String,
    /// A unified diff (committed -> expected), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// Checks a project: `models` (the catalogue) against `out` (the generated directory, which
/// holds `migrations/`).
pub fn check(models: &Path, out: &Path) -> Result<Vec<Finding>, crate::LoadError> {
    let v = crate::validate_dir(models)?;
    let Some(cat) = &v.catalogue else {
        return Ok(vec![Finding {
            code: "SC300",
            file: models.display().to_string(),
            message: format!(
                "the catalogue is invalid:\n{}",
                crate::diag::render_human(&v.diagnostics, &v.sources, false)
            ),
            hint: "run `schemac validate` and fix the errors".into(),
            diff: None,
        }]);
    };
    Ok(check_catalogue(
        models,
        cat,
        &generate::outputs_reusing(cat, out),
        out,
    ))
}

/// [`check`] of a valid catalogue read from `models`, given its [`generate::outputs`]: for a
/// caller that has both already (the `catalogue!` macro), as making them again would double
/// its work (formatting the generated Rust is most of a check).
pub fn check_catalogue(
    models: &Path,
    cat: &crate::ir::Catalogue,
    outputs: &[(String, String)],
    out: &Path,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (path, expected) in outputs {
        let file = out.join(path);
        let read = std::fs::read_to_string(&file);
        let committed = read.as_deref().unwrap_or_default();
        let expected = generate::with_committed(expected, read.as_deref().ok());
        if normalize(committed) != expected {
            findings.push(Finding {
                code: "SC306",
                file: file.display().to_string(),
                message: match &read {
                    Ok(_) => "the generated file does not match the catalogue".into(),
                    Err(e) => format!("the generated file cannot be read: {e}"),
                },
                hint: "run `schemac generate` and commit the result".into(),
                diff: Some(unified(committed, &expected, &file.display().to_string())),
            });
        }
    }
    let dir = out.join("migrations");
    let history = match history::read(&dir) {
        Ok(h) => h,
        Err(e) => {
            findings.push(Finding {
                code: "SC304",
                file: dir.display().to_string(),
                message: e.to_string(),
                hint: "restore the migration directory from version control".into(),
                diff: None,
            });
            return findings;
        }
    };
    for p in history::verify(&history) {
        findings.push(Finding {
            code: p.code,
            file: dir.join(&p.file).display().to_string(),
            message: p.message,
            hint: p.hint,
            diff: None,
        });
    }
    let last = match migrate::last_snapshot(&history) {
        Ok(db) => db,
        Err(e) => {
            findings.push(Finding {
                code: "SC304",
                file: dir.display().to_string(),
                message: e.to_string(),
                hint: "restore the snapshot from version control".into(),
                diff: None,
            });
            return findings;
        }
    };
    let (target, renames) = migrate::target(cat);
    if last != target {
        let changes = migrate::diff(&last, &target, &renames);
        let preview: Vec<String> = changes
            .iter()
            .flat_map(migrate::render::statements)
            .collect();
        findings.push(Finding {
            code: "SC305",
            file: models.display().to_string(),
            message: if history.migrations.is_empty() {
                "there is no migration yet".into()
            } else {
                format!(
                    "the catalogue changed since the last migration ({}); {} change(s) have no migration",
                    history.migrations.last().map_or("", |m| m.name.as_str()),
                    changes.len()
                )
            },
            hint: if history.migrations.is_empty() {
                "run `schemac generate`".into()
            } else {
                "run `schemac migrate new <name>` and commit the migration".into()
            },
            diff: Some(unified(
                &snapshot_text(&last),
                &snapshot_text(&target),
                "schema",
            ) + "\n-- the migration would run:\n"
                + &preview.join("\n")),
        });
    }
    findings
}

fn snapshot_text(db: &Database) -> String {
    db.to_json()
}

fn normalize(text: &str) -> String {
    text.replace("\r\n", "\n")
}

/// A unified diff with 3 lines of context, `a/<name>` -> `b/<name>`.
pub fn unified(old: &str, new: &str, name: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string()
}

/// The compile error of the `catalogue!` macro for drift: one line per finding that names the
/// model file to look at and the command to run, then the first `diff_lines` lines of the
/// first diff.
pub fn drift_message(
    findings: &[Finding],
    cat: &crate::ir::Catalogue,
    diff_lines: usize,
) -> String {
    // (shown first, line, diff): the model files first, as they are what the reader edited; the
    // diff shown is that of the first of them (the model's generated code), else the first one.
    let mut lines: Vec<(bool, String, Option<&str>)> = Vec::new();
    for f in findings {
        let module = Path::new(&f.file)
            .file_stem()
            .and_then(|m| m.to_str())
            .unwrap_or_default();
        let model_file = cat
            .models
            .iter()
            .find(|m| {
                f.code == "SC306"
                    && crate::rust::module_file(&crate::rust::module_name(m)) == module
            })
            .map(|m| m.span.file.to_string());
        let named = model_file.is_some();
        let what = match (f.code, model_file) {
            ("SC306", Some(model)) => format!("{model} changed; run `schemac generate`"),
            ("SC306", None) => format!("{} is stale; run `schemac generate`", f.file),
            ("SC305", _) => format!(
                "{}/ changed without a migration; run `schemac migrate new <name>`",
                f.file.trim_end_matches('/')
            ),
            _ => format!("{} {}: {}; {}", f.code, f.file, f.message, f.hint),
        };
        lines.push((named, format!("schema drift: {what}\n"), f.diff.as_deref()));
    }
    lines.sort_by_key(|(named, _, _)| !*named);
    let mut s: String = lines.iter().map(|(_, l, _)| l.as_str()).collect();
    if let Some(diff) = lines.iter().find_map(|(_, _, d)| *d) {
        let lines: Vec<&str> = diff.lines().collect();
        for l in lines.iter().take(diff_lines) {
            s.push_str(l);
            s.push('\n');
        }
        if lines.len() > diff_lines {
            s.push_str(&format!(
                "... ({} more lines of this diff; `schemac check` shows every file's)\n",
                lines.len() - diff_lines
            ));
        }
    }
    s.trim_end().to_string()
}
