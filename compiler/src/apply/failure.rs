//! A failed migration's report: a `postgres::Error` and the text that was sent in; a
//! [`Failure`] with Postgres' message, SQLSTATE, detail, hint, context and the line and column
//! in the migration file out.

use std::fmt;

use postgres::error::ErrorPosition;
use serde::Serialize;

use super::ApplyError;
use crate::history::Migration;

/// A migration that failed, with Postgres' report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// The migration's name.
    pub migration: String,
    /// Whether it ran in one transaction (and so was rolled back whole).
    pub transactional: bool,
    /// The failing statement, for a migration run statement by statement or for the history insert.
    pub statement: Option<String>,
    /// How many statements of a non-transactional migration were committed before the failure.
    pub committed: usize,
    /// Postgres' message (or the client's, when the connection failed).
    pub message: String,
    /// The SQLSTATE code.
    pub code: Option<String>,
    /// Postgres' DETAIL.
    pub detail: Option<String>,
    /// Postgres' HINT.
    pub hint: Option<String>,
    /// Postgres' CONTEXT (a PL/pgSQL line, say).
    pub context: Option<String>,
    /// Where in the migration file: 1-based line and column.
    pub position: Option<(usize, usize)>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "migration {} failed", self.migration)?;
        match (self.transactional, self.committed) {
            (true, _) => write!(f, "; it was rolled back and not recorded")?,
            (false, 0) => write!(f, "; it was not recorded")?,
            (false, n) => write!(
                f,
                "; its first {n} statement(s) stay committed and it was not recorded"
            )?,
        }
        write!(f, "\n  error: {}", self.message)?;
        if let Some(code) = &self.code {
            write!(f, " (SQLSTATE {code})")?;
        }
        if let Some((line, column)) = self.position {
            write!(
                f,
                "\n  at: {}.sql line {line}, column {column}",
                self.migration
            )?;
        }
        if let Some(statement) = &self.statement {
            write!(f, "\n  statement: {statement}")?;
        }
        let notes = [
            ("detail", &self.detail),
            ("hint", &self.hint),
            ("context", &self.context),
        ];
        for (label, note) in notes {
            if let Some(note) = note {
                write!(f, "\n  {label}: {note}")?;
            }
        }
        Ok(())
    }
}

/// A failed migration's report. `sent` is the text sent to Postgres and its byte offset in the
/// migration's SQL, to turn Postgres' character position into a line of the file.
pub(super) fn failure(
    m: &Migration,
    statement: Option<&str>,
    committed: usize,
    sent: Option<(&str, usize)>,
    e: postgres::Error,
) -> ApplyError {
    let db = e.as_db_error();
    let mut context = db.and_then(|d| d.where_()).map(str::to_string);
    let mut position = None;
    match (db.and_then(|d| d.position()), sent) {
        (Some(ErrorPosition::Original(at)), Some((text, offset))) => {
            position = line_column(&m.sql, text, offset, *at as usize);
        }
        (Some(ErrorPosition::Internal { position, query }), _) => {
            let internal = format!("at character {position} of the internal query: {query}");
            context = Some(context.map_or(internal.clone(), |c| format!("{c}; {internal}")));
        }
        _ => {}
    }
    ApplyError::Failed(Box::new(Failure {
        migration: m.name.clone(),
        transactional: m.transactional,
        statement: statement.map(str::to_string),
        committed,
        message: db.map_or_else(|| e.to_string(), |d| d.message().to_string()),
        code: db.map(|d| d.code().code().to_string()),
        detail: db.and_then(|d| d.detail()).map(str::to_string),
        hint: db.and_then(|d| d.hint()).map(str::to_string),
        context,
        position,
    }))
}

/// The 1-based line and column in `sql` of the 1-based character `at` of `sent`, which starts
/// at byte `offset` of `sql`.
fn line_column(sql: &str, sent: &str, offset: usize, at: usize) -> Option<(usize, usize)> {
    let byte = offset + sent.char_indices().nth(at.checked_sub(1)?)?.0;
    Some(crate::diag::line_column(sql.get(..byte)?))
}
