//! How the generated Rust is formatted (syn parses it, prettyplease prints it, except the pieces
//! [`layout`](super::layout) wrote already formatted) and stamped.
//! This file is part of the formatter's identity ([`FORMATTER`]): editing it formats every
//! generated file again, so it holds the formatting and nothing else.

use super::layout::{Piece, Source};

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
            Piece::Formatted(text) => ("formatted", text),
            Piece::Raw(text) => ("raw", text),
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

/// Prints a generated file: each formatted piece as it is, each raw one parsed and
/// pretty-printed, then a blank line between top-level items. The generator builds valid Rust; if
/// a piece ever were not, it is printed as it is, so the compile error names the line.
pub(super) fn format_source(source: &Source) -> String {
    let mut text = String::new();
    for piece in source.pieces() {
        match piece {
            Piece::Formatted(formatted) => text.push_str(formatted),
            Piece::Raw(raw) => match syn::parse_file(raw) {
                Ok(file) => text.push_str(&prettyplease::unparse(&file)),
                Err(_) => text.push_str(raw),
            },
        }
    }
    space_items(&text)
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
