//! SQL text in, statements out: splits a migration on its top-level `;`, skipping quoted
//! strings and identifiers, dollar-quoted bodies and comments, as Postgres' lexer (`scan.l`) does.

use std::ops::Range;

/// Splits SQL into statements on `;`, except inside single-quoted strings (`''` and, in `E'...'`,
/// backslash escapes), double-quoted identifiers, dollar-quoted bodies (`$$...$$`,
/// `$tag$...$tag$`), `--` comments and nested `/* */` comments. Statements holding only comments
/// and whitespace are dropped; the others are trimmed and lose their `;`.
pub fn split_statements(sql: &str) -> Vec<String> {
    statement_spans(sql)
        .into_iter()
        .map(|span| sql[span].to_string())
        .collect()
}

/// The byte ranges in `sql` of the statements [`split_statements`] returns, so that a position
/// inside a statement can be mapped back to a line of the file.
pub fn statement_spans(sql: &str) -> Vec<Range<usize>> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let (mut start, mut i, mut significant) = (0, 0, false);
    // An identifier may contain `$` and non-ASCII letters (Postgres' lexer, `ident_cont`).
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80;
    while i < b.len() {
        let next = b.get(i + 1).copied();
        match b[i] {
            b';' => {
                if significant {
                    out.push(trimmed(sql, start..i));
                }
                (start, significant) = (i + 1, false);
                i += 1;
            }
            b'-' if next == Some(b'-') => {
                i = b[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(b.len(), |p| i + p + 1);
            }
            b'/' if next == Some(b'*') => {
                let mut depth = 0;
                while i < b.len() {
                    match (b[i], b.get(i + 1)) {
                        (b'/', Some(b'*')) => (depth, i) = (depth + 1, i + 2),
                        (b'*', Some(b'/')) => (depth, i) = (depth - 1, i + 2),
                        _ => i += 1,
                    }
                    if depth == 0 {
                        break;
                    }
                }
            }
            quote @ (b'\'' | b'"') => {
                // `E'...'` strings take backslash escapes, whatever standard_conforming_strings says.
                let escapes = quote == b'\''
                    && i > 0
                    && matches!(b[i - 1], b'E' | b'e')
                    && (i < 2 || !ident(b[i - 2]));
                i = skip_quoted(b, i + 1, quote, escapes);
                significant = true;
            }
            b'$' if i == 0 || !ident(b[i - 1]) => {
                let tag_len = b[i + 1..]
                    .iter()
                    .take_while(|&&c| ident(c) && c != b'$')
                    .count();
                let tag_ok = tag_len == 0 || !b[i + 1].is_ascii_digit();
                if tag_ok && b.get(i + 1 + tag_len) == Some(&b'$') {
                    let tag = &b[i..i + tag_len + 2];
                    let body = i + tag.len();
                    i = b[body..]
                        .windows(tag.len())
                        .position(|w| w == tag)
                        .map_or(b.len(), |p| body + p + tag.len());
                } else {
                    i += 1;
                }
                significant = true;
            }
            c => {
                significant |= !c.is_ascii_whitespace();
                i += 1;
            }
        }
    }
    if significant {
        out.push(trimmed(sql, start..b.len()));
    }
    out
}

/// The range without its leading and trailing whitespace.
fn trimmed(sql: &str, span: Range<usize>) -> Range<usize> {
    let text = &sql[span.clone()];
    let start = span.start + (text.len() - text.trim_start().len());
    start..start + text.trim().len()
}

/// The index after the closing quote of a quoted string or identifier whose text starts at `i`
/// (a doubled quote is an escaped one), or the end of the input when it is not closed.
fn skip_quoted(b: &[u8], mut i: usize, quote: u8, backslash: bool) -> usize {
    while i < b.len() {
        match b[i] {
            b'\\' if backslash => i += 2,
            c if c == quote && b.get(i + 1) == Some(&quote) => i += 2,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}
