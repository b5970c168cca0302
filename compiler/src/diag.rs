//! Diagnostics: a located message (file, line, column, YAML path, expectation, hint) and its
//! renderings for people (rustc-style snippets) and for tools (JSON).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use serde::{Serialize, Serializer};

/// A place in a catalogue file: 1-based line and column (in characters), and a byte range.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    /// The file as the user named it (relative to the working directory when possible).
    pub file: Arc<str>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte (equal to `start` when the length is unknown).
    pub end: usize,
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The catalogue is invalid.
    Error,
    /// Valid, but worth a look.
    Warning,
}

/// One finding about the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// A stable, kebab-case code (`unknown-key`, `dangling-reference`...), for tools and docs.
    pub code: &'static str,
    /// What is wrong, in one sentence.
    pub message: String,
    /// Where; `None` for problems that belong to no file (an empty catalogue directory).
    #[serde(serialize_with = "ser_opt_span")]
    pub span: Option<Span>,
    /// The YAML path of the offending node (`fields.amount.bson`); empty at a file's root.
    pub yaml_path: String,
    /// What was expected there.
    pub expected: Option<String>,
    /// How to fix it, when we can tell.
    pub hint: Option<String>,
    /// Other places that explain the problem (the first declaration of a duplicate...).
    pub related: Vec<Related>,
}

/// A secondary place of a diagnostic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Related {
    /// Where.
    pub span: Span,
    /// What is there.
    pub message: String,
}

fn ser_opt_span<S: Serializer>(span: &Option<Span>, s: S) -> Result<S::Ok, S::Error> {
    match span {
        Some(span) => s.collect_str(span),
        None => s.serialize_none(),
    }
}

impl Diagnostic {
    /// An error with a code, a message and a place.
    pub fn error(
        code: &'static str,
        span: &Span,
        yaml_path: &str,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span: Some(span.clone()),
            yaml_path: yaml_path.to_string(),
            expected: None,
            hint: None,
            related: Vec::new(),
        }
    }

    /// Says what was expected.
    pub fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds a hint when there is one.
    pub fn maybe_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint.or(self.hint);
        self
    }

    /// Points at another place.
    pub fn related(mut self, span: &Span, message: impl Into<String>) -> Self {
        self.related.push(Related {
            span: span.clone(),
            message: message.into(),
        });
        self
    }

    /// Turns an error into a warning.
    pub fn warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }
}

/// Suggests the closest candidate to `word` ("did you mean `decimal128`?"), if one is close enough.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let lower = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&lower, &c.to_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

/// The text of every file that diagnostics may point into, by the name spans use.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    files: BTreeMap<Arc<str>, String>,
}

impl Sources {
    /// Registers a file's text.
    pub fn add(&mut self, name: Arc<str>, text: String) {
        self.files.insert(name, text);
    }

    /// A file's text.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.files.get(name).map(String::as_str)
    }
}

/// Renders diagnostics for a terminal or a log; `color` adds ANSI styles.
pub fn render_human(diags: &[Diagnostic], sources: &Sources, color: bool) -> String {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = String::new();
    for d in diags {
        let level = match d.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let mut notes = Vec::new();
        if !d.yaml_path.is_empty() {
            notes.push(format!("at: {}", d.yaml_path));
        }
        if let Some(e) = &d.expected {
            notes.push(format!("expected: {e}"));
        }
        let mut group = Group::with_title(level.primary_title(d.message.as_str()).id(d.code));
        if let Some(span) = &d.span {
            group = group.element(snippet(span, sources, AnnotationKind::Primary, ""));
        }
        for r in &d.related {
            group = group.element(snippet(
                &r.span,
                sources,
                AnnotationKind::Context,
                &r.message,
            ));
        }
        for n in &notes {
            group = group.element(Level::NOTE.message(n.as_str()));
        }
        let mut report = vec![group];
        if let Some(h) = &d.hint {
            report.push(Group::with_title(Level::HELP.secondary_title(h.as_str())));
        }
        out.push_str(&renderer.render(&report));
        out.push_str("\n\n");
    }
    out
}

fn snippet<'a>(
    span: &'a Span,
    sources: &'a Sources,
    kind: AnnotationKind,
    label: &'a str,
) -> Snippet<'a, annotate_snippets::Annotation<'a>> {
    let text = sources.get(&span.file).unwrap_or("");
    let (start, end) = clamp_range(text, span.start, span.end);
    let annotation = kind.span(start..end);
    let annotation = if label.is_empty() {
        annotation
    } else {
        annotation.label(label)
    };
    Snippet::source(text)
        .path(span.file.as_ref())
        .annotation(annotation)
}

/// Keeps a byte range inside the text and on character boundaries; an empty range grows to
/// cover the rest of the token so the caret has something to point at.
fn clamp_range(text: &str, start: usize, end: usize) -> (usize, usize) {
    let mut start = start.min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = end.clamp(start, text.len());
    if end == start {
        end = text[start..]
            .find(|c: char| c.is_whitespace() || c == ',' || c == '}' || c == ']')
            .map_or(text.len(), |n| start + n);
    }
    while !text.is_char_boundary(end) {
        end += 1;
    }
    (start, end)
}

/// Renders diagnostics as a JSON array, one object per finding.
pub fn render_json(diags: &[Diagnostic]) -> String {
    serde_json::to_string_pretty(diags).expect("diagnostics always serialize") + "\n"
}

/// The 1-based line and column (in characters) of the position just after `before`, the text
/// of a file or statement up to it.
pub(crate) fn line_column(before: &str) -> (usize, usize) {
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}
