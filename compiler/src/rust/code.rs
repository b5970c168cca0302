//! The statements of generated function bodies (the transforms), as a small tree: written line
//! by line as prettyplease prints them where the layout is known here, and otherwise given to
//! the formatter one statement or arm at a time ([`Place`]). The tree's [`text`](Stmt::text) is
//! the source the formatter would parse; [`misformatted`](super::misformatted) holds every
//! generated file to be exactly what it prints from that source.
//!
//! What is known here, from prettyplease's printer (an Oppen pretty printer with a margin of 89
//! bytes): a block, a `match` and a `for` always break after their opening brace; code without
//! a block or a struct literal stays on one line when it fits; and a method call
//! ([`Stmt::Call`]) breaks in one of the two or three ways below.

use super::layout::{INDENT, Place, Source, fits};

/// A statement.
pub(super) enum Stmt {
    /// A statement (or a block's last expression) as one text.
    Code(String),
    /// `{lhs}{receiver}.{method}({args}){end}`: an assignment of a method call or a method
    /// call statement, `end` its `?;` or `;`.
    Call {
        lhs: String,
        receiver: String,
        method: String,
        args: Vec<String>,
        end: String,
    },
    /// `head { body }`, and ` else { otherwise }` when there is one; a bare block when `head`
    /// is empty.
    Block {
        head: String,
        body: Vec<Stmt>,
        otherwise: Vec<Stmt>,
    },
    /// `head { arms }`: a `match`.
    Match { head: String, arms: Vec<Arm> },
}

/// A match arm.
pub(super) enum Arm {
    /// `key => { stmts }`, the key a string literal.
    Block { key: String, stmts: Vec<Stmt> },
    /// `key => {}`: a key read and dropped.
    Empty(String),
    /// Any other arm, as one text.
    Code(String),
}

impl Stmt {
    pub(super) fn code(text: impl Into<String>) -> Stmt {
        Stmt::Code(text.into())
    }

    pub(super) fn block(head: impl Into<String>, body: Vec<Stmt>) -> Stmt {
        Stmt::Block {
            head: head.into(),
            body,
            otherwise: Vec::new(),
        }
    }

    /// `{lhs}{receiver}.{method}({args}){end}`.
    pub(super) fn call(lhs: &str, receiver: &str, method: &str, args: &[&str], end: &str) -> Stmt {
        Stmt::Call {
            lhs: lhs.to_string(),
            receiver: receiver.to_string(),
            method: method.to_string(),
            args: args.iter().map(|a| a.to_string()).collect(),
            end: end.to_string(),
        }
    }

    /// The statement as one text.
    pub(super) fn text(&self) -> String {
        match self {
            Stmt::Code(text) => text.clone(),
            Stmt::Call {
                lhs,
                receiver,
                method,
                args,
                end,
            } => format!("{lhs}{receiver}.{method}({}){end}", args.join(", ")),
            Stmt::Block {
                head,
                body,
                otherwise,
            } => {
                let mut text = format!("{} {} }}", open(head), texts(body));
                if !otherwise.is_empty() {
                    text.push_str(&format!(" else {{ {} }}", texts(otherwise)));
                }
                text
            }
            Stmt::Match { head, arms } => {
                let arms: Vec<String> = arms.iter().map(Arm::text).collect();
                format!("{head} {{ {} }}", arms.join(" "))
            }
        }
    }

    /// Writes the statement at `indent`: `place` is [`Place::Tail`] for a block's last
    /// expression, else [`Place::Stmt`].
    pub(super) fn write(&self, place: Place, indent: usize, out: &mut Source) {
        match self {
            Stmt::Code(text) => out.code(place, indent, text),
            Stmt::Call {
                lhs,
                receiver,
                method,
                args,
                end,
            } => match call_lines(indent, lhs, receiver, method, args, end) {
                Some(lines) => {
                    for (indent, line) in lines {
                        out.line(indent, &line);
                    }
                }
                None => out.code(place, indent, &self.text()),
            },
            Stmt::Block {
                head,
                body,
                otherwise,
            } => {
                // A head too long for one line may be broken: the formatter's.
                if !fits(indent, &open(head)) {
                    out.code(place, indent, &self.text());
                    return;
                }
                out.line(indent, &open(head));
                write_all(body, indent + INDENT, out);
                if !otherwise.is_empty() {
                    out.line(indent, "} else {");
                    write_all(otherwise, indent + INDENT, out);
                }
                out.line(indent, "}");
            }
            Stmt::Match { head, arms } => {
                let open = format!("{head} {{");
                if !fits(indent, &open) {
                    out.code(place, indent, &self.text());
                    return;
                }
                out.line(indent, &open);
                for arm in arms {
                    arm.write(indent + INDENT, out);
                }
                out.line(indent, "}");
            }
        }
    }
}

impl Arm {
    /// The arm as one text.
    fn text(&self) -> String {
        match self {
            Arm::Block { key, stmts } => format!("{key} => {{ {} }}", texts(stmts)),
            Arm::Empty(key) => format!("{key} => {{}}"),
            Arm::Code(text) => text.clone(),
        }
    }

    /// Writes the arm at `indent`. A block arm always breaks after its brace, as a block does;
    /// prettyplease prints a block holding only an expression (an `if`) the same way.
    fn write(&self, indent: usize, out: &mut Source) {
        match self {
            Arm::Block { key, stmts } => {
                out.line(indent, &format!("{key} => {{"));
                write_all(stmts, indent + INDENT, out);
                out.line(indent, "}");
            }
            Arm::Empty(key) => out.line(indent, &format!("{key} => {{}}")),
            Arm::Code(text) => out.code(Place::Arm, indent, text),
        }
    }
}

/// `head {`, or `{` for a bare block.
fn open(head: &str) -> String {
    if head.is_empty() {
        "{".to_string()
    } else {
        format!("{head} {{")
    }
}

/// Statements as one text.
pub(super) fn texts(stmts: &[Stmt]) -> String {
    stmts.iter().map(Stmt::text).collect::<Vec<_>>().join(" ")
}

/// Writes a block's statements at `indent`: the last one without a `;` is its value.
pub(super) fn write_all(stmts: &[Stmt], indent: usize, out: &mut Source) {
    for (i, stmt) in stmts.iter().enumerate() {
        let last = i + 1 == stmts.len() && !stmt.text().ends_with([';', '}']);
        let place = if last { Place::Tail } else { Place::Stmt };
        stmt.write(place, indent, out);
    }
}

/// The lines of a method call as prettyplease prints it, each with its indent, or `None` where
/// its layout is not known here. On one line when it fits. Otherwise, a call on a receiver of
/// at most 4 bytes that starts its line (`doc.insert(..)`) keeps `receiver.method(` on the
/// first line and puts one argument a line one step in; any other call breaks before
/// `.method`, one step in, and then, if the rest does not fit there either, puts one argument a
/// line a step further. Arguments must fit on their lines (the last one's comma is not counted)
/// and hold no block: anything else is the formatter's.
fn call_lines(
    indent: usize,
    lhs: &str,
    receiver: &str,
    method: &str,
    args: &[String],
    end: &str,
) -> Option<Vec<(usize, String)>> {
    let joined = args.join(", ");
    let whole = format!("{lhs}{receiver}.{method}({joined}){end}");
    if args.iter().any(|a| a.contains('{')) || args.is_empty() {
        return None;
    }
    if fits(indent, &whole) {
        return Some(vec![(indent, whole)]);
    }
    let unindented = lhs.is_empty() && receiver.len() <= INDENT && is_ident(receiver);
    let (first, args_indent, close) = if unindented {
        (
            vec![(indent, format!("{receiver}.{method}("))],
            indent + INDENT,
            indent,
        )
    } else {
        let rest = format!(".{method}({joined}){end}");
        let head = (indent, format!("{lhs}{receiver}"));
        if fits(indent + INDENT, &rest) {
            return Some(vec![head, (indent + INDENT, rest)]);
        }
        (
            vec![head, (indent + INDENT, format!(".{method}("))],
            indent + 2 * INDENT,
            indent + INDENT,
        )
    };
    let mut lines = first;
    for (i, arg) in args.iter().enumerate() {
        let counted = if i + 1 == args.len() {
            arg.clone()
        } else {
            format!("{arg},")
        };
        if !fits(args_indent, &counted) {
            return None;
        }
        lines.push((args_indent, format!("{arg},")));
    }
    lines.push((close, format!("){end}")));
    Some(lines)
}

/// Whether `text` is a plain identifier (a receiver prettyplease may keep on the call's line).
fn is_ident(text: &str) -> bool {
    text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::super::format::format_source;
    use super::super::layout::{Place, Source};
    use super::{Stmt, call_lines};

    /// What the formatter prints for `stmt` at `indent`, and what [`Stmt::write`] writes.
    fn both(stmt: &Stmt, indent: usize) -> (String, String) {
        let mut formatter = Source::default();
        formatter.fragment(Place::Stmt, indent, &stmt.text());
        let mut written = Source::default();
        stmt.write(Place::Stmt, indent, &mut written);
        (format_source(&formatter), format_source(&written))
    }

    /// Every length of the assigned name, the key and the reader across the margin, at the
    /// indents the transforms use: the call's layout is exactly prettyplease's.
    #[test]
    fn a_method_call_is_laid_out_as_prettyplease_lays_it_out() {
        let mut known = 0;
        for indent in [4, 16, 20, 28, 32] {
            for n in 1..=70 {
                let var = format!("c_{}", "v".repeat(n));
                let rel = format!("{:?}", "k".repeat(n));
                let join = format!("&transform::join(path, {rel})");
                for reader in [
                    "bsonval::as_i32".to_string(),
                    "|v| bsonval::as_string(v).map(str::to_string)".into(),
                    format!(
                        "|v| bsonval::as_string(v).and_then(enums::{}::parse)",
                        "E".repeat(n)
                    ),
                ] {
                    let read = Stmt::call(
                        &format!("{var} = "),
                        "cx",
                        "read_opt",
                        &["value", &join, &reader],
                        "?;",
                    );
                    let (printed, written) = both(&read, indent);
                    assert_eq!(written, printed, "{}", read.text());
                    let insert = Stmt::call("", "doc", "insert", &[&rel, &reader], ";");
                    let (printed, written) = both(&insert, indent);
                    assert_eq!(written, printed, "{}", insert.text());
                    let long = Stmt::call("", "sub_document", "insert", &[&rel, &reader], ";");
                    let (printed, written) = both(&long, indent);
                    assert_eq!(written, printed, "{}", long.text());
                    for (lhs, receiver, args, end) in [
                        (
                            format!("{var} = "),
                            "cx",
                            vec!["value", join.as_str(), reader.as_str()],
                            "?;",
                        ),
                        (
                            String::new(),
                            "doc",
                            vec![rel.as_str(), reader.as_str()],
                            ";",
                        ),
                    ] {
                        let args: Vec<String> = args.into_iter().map(String::from).collect();
                        known += usize::from(
                            call_lines(indent, &lhs, receiver, "m", &args, end).is_some(),
                        );
                    }
                }
            }
        }
        // Over half of these lengths (all the short ones) are laid out here, not left to the
        // formatter.
        assert!(known > 1100, "{known} of 2100");
    }
}
