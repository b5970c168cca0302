//! YAML text in, a tree of spanned nodes out (serde-saphyr does the parsing; duplicate keys are
//! rejected there). The decoder reads this tree so that it can report every error of a file.

use std::sync::Arc;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

use crate::diag::{Diagnostic, Span};

/// A YAML node and where it stands.
#[derive(Debug, Clone)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Its place in the file.
    pub span: Span,
    /// The scalar as written (`yes`, `0x10`), for scalars that YAML resolved to non-strings.
    pub raw: Option<String>,
}

/// A YAML value; mappings keep their order.
#[derive(Debug, Clone)]
pub enum Value {
    /// `~`, `null` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in file order.
    Map(Vec<(Key, Node)>),
}

/// A mapping key: keys must be strings.
#[derive(Debug, Clone)]
pub struct Key {
    /// The key text.
    pub name: String,
    /// Where the key stands.
    pub span: Span,
}

impl Value {
    /// The YAML kind, for "expected a mapping, found a sequence".
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a sequence",
            Value::Map(_) => "a mapping",
        }
    }
}

/// How deeply a model file may nest mappings and sequences, the file's own mapping being the
/// first level. A model file needs few (this repository's deepest has 9). Each level costs the
/// YAML deserializer about 40 KB of stack in a debug build (6 KB optimized): at serde-saphyr's
/// default of 64 levels, a debug `schemac` aborted with a stack overflow on a file parsed by a
/// thread with std's default stack of 2 MiB. 32 levels parse in 1.5 MiB.
pub const MAX_DEPTH: usize = 32;

/// serde-saphyr's defaults (duplicate keys are errors) with nesting bounded by [`MAX_DEPTH`],
/// block and flow collections alike.
fn options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_DEPTH;
    budget.flow_nesting_limit = MAX_DEPTH;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}

/// Parses one file into a node tree, or the YAML syntax error.
pub fn parse(file: &Arc<str>, text: &str) -> Result<Node, Box<Diagnostic>> {
    match serde_saphyr::from_str_with_options::<Spanned<Raw>>(text, options()) {
        Ok(root) => {
            let node = convert(file, text, root);
            match first_nul(&node) {
                Some(span) => Err(Box::new(
                    Diagnostic::error(
                        "nul-character",
                        &span,
                        "",
                        "this string holds a NUL character (\\0)",
                    )
                    .hint("PostgreSQL text, names and comments cannot hold NUL; remove it"),
                )),
                None => Ok(node),
            }
        }
        Err(err) => {
            let full = err.without_snippet().to_string();
            let (message, line_col) = clean_message(&full);
            let span = match (err.location().filter(|l| l.line() > 0), line_col) {
                // The scanner's own position is more precise than the parser's start of document.
                (_, Some((line, column))) => span_at_line(file, text, line, column),
                (Some(l), None) => to_span(file, text, &l),
                (None, None) => span_at(file, text, 1, 1, 0, 0),
            };
            let too_deep = matches!(
                err.without_snippet(),
                serde_saphyr::Error::Budget {
                    breach: serde_saphyr::budget::BudgetBreach::Depth { .. },
                    ..
                }
            ) || message == "recursion limit exceeded";
            if too_deep {
                return Err(Box::new(
                    Diagnostic::error(
                        "yaml-too-deep",
                        &span,
                        "",
                        format!("the YAML nests deeper than {MAX_DEPTH} levels here"),
                    )
                    .expected(format!(
                        "at most {MAX_DEPTH} levels of mappings and sequences"
                    ))
                    .hint("look for an unclosed `{` or `[`; a model file needs a few levels"),
                ));
            }
            Err(Box::new(
                Diagnostic::error("yaml-syntax", &span, "", format!("invalid YAML: {message}"))
                    .expected("a YAML mapping of catalogue keys"),
            ))
        }
    }
}

/// Cleans serde-saphyr's message: drops the "line N column M: " prefix and the " at line N,
/// column M" suffix (the span says where) and its advice about parser options (ours are fixed:
/// duplicate keys are always an error). Returns the position found in the text, if any.
fn clean_message(message: &str) -> (String, Option<(u32, u32)>) {
    let first = message.lines().next().unwrap_or(message);
    let mut text = match first.split_once(": ") {
        Some((head, rest)) if head.starts_with("line ") => rest.to_string(),
        _ => first.to_string(),
    };
    let mut position = None;
    if let Some(i) = text.rfind(" at line ") {
        let tail = &text[i + " at line ".len()..];
        if let Some((line, col)) = tail.split_once(", column ") {
            let col: String = col.chars().take_while(char::is_ascii_digit).collect();
            if let (Ok(l), Ok(c)) = (line.trim().parse(), col.parse()) {
                position = Some((l, c));
            }
        }
        text.truncate(i);
    }
    if let Some(i) = text.find(", set DuplicateKeyPolicy") {
        text.truncate(i);
    }
    (text, position)
}

/// A span at a 1-based line and character column.
fn span_at_line(file: &Arc<str>, text: &str, line: u32, column: u32) -> Span {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1) as usize)
        .map(str::len)
        .sum();
    let line_text = text[line_start.min(text.len())..]
        .lines()
        .next()
        .unwrap_or("");
    let offset: usize = line_text
        .chars()
        .take(column.saturating_sub(1) as usize)
        .map(char::len_utf8)
        .sum();
    span_at(file, text, line, column, line_start + offset, 0)
}

fn to_span(file: &Arc<str>, text: &str, loc: &Location) -> Span {
    let sp = loc.span();
    let start = sp.byte_offset().unwrap_or(0) as usize;
    let len = sp.byte_len().unwrap_or(0) as usize;
    span_at(
        file,
        text,
        loc.line() as u32,
        loc.column() as u32,
        start,
        len,
    )
}

fn span_at(file: &Arc<str>, text: &str, line: u32, column: u32, start: usize, len: usize) -> Span {
    let start = start.min(text.len());
    Span {
        file: file.clone(),
        line: line.max(1),
        column: column.max(1),
        start,
        end: (start + len).min(text.len()),
    }
}

fn convert(file: &Arc<str>, text: &str, node: Spanned<Raw>) -> Node {
    let span = to_span(file, text, &node.referenced);
    let raw_text = || {
        text.get(span.start..span.end)
            .map(str::to_string)
            .filter(|s| !s.is_empty())
    };
    let (value, raw) = match node.value {
        Raw::Null => (Value::Null, None),
        Raw::Bool(b) => (Value::Bool(b), raw_text()),
        Raw::Int(i) => (Value::Int(i), raw_text()),
        Raw::Float(f) => (Value::Float(f), raw_text()),
        Raw::Str(s) => (Value::Str(s), None),
        Raw::Seq(items) => (
            Value::Seq(items.into_iter().map(|n| convert(file, text, n)).collect()),
            None,
        ),
        Raw::Map(entries) => (
            Value::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| {
                        let key = Key {
                            span: to_span(file, text, &k.referenced),
                            name: k.value,
                        };
                        (key, convert(file, text, v))
                    })
                    .collect(),
            ),
            None,
        ),
    };
    Node { value, span, raw }
}

/// Where the first string or key holding a NUL character is.
fn first_nul(node: &Node) -> Option<Span> {
    match &node.value {
        Value::Str(s) if s.contains('\0') => Some(node.span.clone()),
        Value::Seq(items) => items.iter().find_map(first_nul),
        Value::Map(entries) => entries
            .iter()
            .find_map(|(k, v)| match k.name.contains('\0') {
                true => Some(k.span.clone()),
                false => first_nul(v),
            }),
        _ => None,
    }
}

/// What serde-saphyr hands us; converted to [`Node`] right away.
enum Raw {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Raw>>),
    Map(Vec<(Spanned<String>, Spanned<Raw>)>),
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RawVisitor;
        impl<'de> Visitor<'de> for RawVisitor {
            type Value = Raw;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a YAML value")
            }
            fn visit_unit<E>(self) -> Result<Raw, E> {
                Ok(Raw::Null)
            }
            fn visit_none<E>(self) -> Result<Raw, E> {
                Ok(Raw::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Raw, E> {
                Ok(Raw::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Raw, E> {
                Ok(Raw::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Raw, E> {
                i64::try_from(v).map(Raw::Int).or(Ok(Raw::Float(v as f64)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Raw, E> {
                Ok(Raw::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
                Ok(Raw::Str(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Raw, E> {
                Ok(Raw::Str(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Raw::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(Raw::Map(entries))
            }
        }
        d.deserialize_any(RawVisitor)
    }
}
