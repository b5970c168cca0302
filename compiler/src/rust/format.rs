//! How the generated Rust is formatted (syn parses it, prettyplease prints it, except the pieces
//! [`layout`](super::layout) wrote already formatted) and stamped.
//! This file is part of the formatter's identity ([`FORMATTER`]): editing it formats every
//! generated file again, so it holds the formatting and nothing else.

use super::layout::{Fragment, INDENT, Piece, Place, Source};

/// The start of the last line of every generated Rust file: `source=` the hash of what the
/// generator produced before formatting (and of the formatter, [`FORMATTER`]), `text=` the
/// hash of the file above the line.
const STAMP: &str = "// schemac-format: ";

/// The formatter's identity, part of every source key: the syn and prettyplease versions
/// (schemac's own version when they are not known, see `build.rs`) and this file. A change to
/// any of it formats every file again; a schemac upgrade that changes neither the formatter nor
/// a file's source reuses the committed text.
const FORMATTER: &str = concat!(
    env!("SCHEMAC_FORMATTER_DEPS"),
    "\n",
    include_str!("format.rs")
);

pub(super) fn source_key(source: &Source) -> String {
    use sha2::{Digest, Sha256};
    static FORMATTER_STATE: std::sync::LazyLock<Sha256> =
        std::sync::LazyLock::new(|| Sha256::new().chain_update(FORMATTER));
    let mut hasher = FORMATTER_STATE.clone();
    for piece in source.pieces() {
        let (kind, text) = match piece {
            Piece::Formatted(text) => ("formatted".to_string(), text),
            Piece::Raw(text) => ("raw".to_string(), text),
            Piece::Fragment(f) => (format!("{:?} {}", f.place, f.indent), &f.text),
        };
        hasher.update(format!("{kind} {}\n", text.len()));
        hasher.update(text);
    }
    short_hex(hasher)
}

fn text_hash(text: &str) -> String {
    use sha2::{Digest, Sha256};
    short_hex(Sha256::new().chain_update(text))
}

/// The first 8 bytes of a SHA-256, in hex: a stamp detects edits and changes, it is not a
/// signature.
fn short_hex(hasher: sha2::Sha256) -> String {
    use sha2::Digest;
    hasher.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(super) fn stamp(mut text: String, key: &str) -> String {
    let hash = text_hash(&text);
    text.push_str(&format!("{STAMP}source={key} text={hash}\n"));
    text
}

/// Whether `text` ends with the stamp of `key` and its own text is untouched.
pub(super) fn stamped(text: &str, key: &str) -> bool {
    let Some(body_end) = text.strip_suffix('\n').and_then(|t| t.rfind('\n')) else {
        return false;
    };
    let (body, last) = text.split_at(body_end + 1);
    last.strip_prefix(STAMP)
        .and_then(|l| l.strip_prefix("source="))
        .and_then(|l| l.strip_prefix(key))
        .and_then(|l| l.strip_prefix(" text="))
        .is_some_and(|hash| hash.trim_end() == text_hash(body))
}

/// Prints a generated file: each formatted piece as it is, each raw one and each fragment
/// parsed and pretty-printed, then a blank line between top-level items. The generator builds
/// valid Rust; if a piece ever were not, it is printed as it is, so the compile error names the
/// line.
pub(super) fn format_source(source: &Source) -> String {
    let mut text = String::new();
    for piece in source.pieces() {
        match piece {
            Piece::Formatted(formatted) => text.push_str(formatted),
            Piece::Raw(raw) => match syn::parse_file(raw) {
                Ok(file) => text.push_str(&prettyplease::unparse(&file)),
                Err(_) => text.push_str(raw),
            },
            Piece::Fragment(fragment) => match print_fragment(fragment) {
                Some(printed) => text.push_str(&printed),
                None => {
                    text.push_str(&fragment.text);
                    text.push('\n');
                }
            },
        }
    }
    space_items(&text)
}

/// A fragment as prettyplease prints it at its place: wrapped in blocks that put it at its
/// indent (and, for a struct field, in a literal too long for one line), printed, and cut out
/// of the wrapper's lines again. `None` if it does not parse.
fn print_fragment(fragment: &Fragment) -> Option<String> {
    let depth = fragment.indent / INDENT;
    let text = &fragment.text;
    // The wrapper's text, and how many of its printed lines come before and after the fragment.
    let (wrapped, before, after) = match fragment.place {
        Place::Head => (format!("{text} x(); }}"), 0, 2),
        Place::Stmt | Place::Tail if depth >= 1 => {
            let blocks = "{".repeat(depth - 1);
            let closing = "}".repeat(depth);
            match fragment.place {
                Place::Stmt => (
                    format!("fn f() {{{blocks} {text} x(); {closing}"),
                    depth,
                    depth + 1,
                ),
                // A statement before it, or prettyplease would print a block holding only
                // it on one line.
                _ => (
                    format!("fn f() {{{blocks} x(); {text} {closing}"),
                    depth + 1,
                    depth,
                ),
            }
        }
        Place::Arm if depth >= 2 => {
            let blocks = "{".repeat(depth - 2);
            let closing = "}".repeat(depth);
            (
                format!("fn f() {{{blocks} match x {{ {text} {closing}"),
                depth,
                depth,
            )
        }
        Place::Field | Place::LastField if depth >= 2 => {
            // A first field too long for the literal to fit on one line, as a row's many
            // fields, and another after the fragment unless it is the last.
            let blocks = "{".repeat(depth - 2);
            let closing = "}".repeat(depth - 1);
            let long = "x".repeat(90);
            let (next, after) = match fragment.place {
                Place::Field => (" y: 0,", depth + 1),
                _ => ("", depth),
            };
            (
                format!("fn f() {{{blocks} R {{ {long}: 0, {text},{next} }} {closing}"),
                depth + 1,
                after,
            )
        }
        _ => return None,
    };
    let printed = prettyplease::unparse(&syn::parse_file(&wrapped).ok()?);
    let lines: Vec<&str> = printed.lines().collect();
    let inner = lines.get(before..lines.len().checked_sub(after)?)?;
    let mut out = String::with_capacity(text.len() + 64);
    for line in inner {
        out.push_str(line);
        out.push('\n');
    }
    Some(out)
}

/// What the formatter prints from a parsed file.
pub(super) fn print(file: &syn::File) -> String {
    space_items(&prettyplease::unparse(file))
}

/// A blank line between top-level items (prettyplease leaves none), keeping `use` lines and
/// an item's doc comment and attributes together.
fn space_items(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 20);
    let mut prev = "";
    for line in text.lines() {
        let top_level = !line.starts_with([' ', '}', ')', ']']) && !line.is_empty();
        let ends_item = (prev.ends_with('}') || prev.ends_with(';')) && !prev.starts_with(' ');
        let both_use = prev.starts_with("use ") && line.starts_with("use ");
        let after_inner_doc =
            (prev.starts_with("//!") && !line.starts_with("//!")) || prev.starts_with("#![");
        if top_level && !prev.is_empty() && (ends_item || after_inner_doc) && !both_use {
            out.push('\n');
        }
        out.push_str(line);
        out.push('\n');
        prev = line;
    }
    out
}
