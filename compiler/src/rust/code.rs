//! The statements of generated function bodies (the transforms), as a small tree: written line
//! by line as prettyplease prints them where the layout is known here, and otherwise given to
//! the formatter one statement or arm at a time ([`Place`]). The tree's [`text`](Stmt::text) is
//! the source the formatter would parse; [`misformatted`](super::misformatted) holds every
//! generated file to be exactly what it prints from that source.
//!
//! What is known here, from prettyplease's printer (an Oppen pretty printer with a margin of 89
//! bytes): a block, a `match` and a `for` always break after their opening brace; code without
//! a block, a struct literal or a macro stays on one line when it fits; a method call
//! ([`Stmt::Call`]) breaks in one of the two or three ways of [`call_lines`]; a signature in
//! one of the two of [`signature`]; and a row's field with a default ([`Stmt::OrDefault`]) as
//! [`Stmt::or_default_lines`] says. The tests sweep every length of the names across the margin
//! against prettyplease itself.

use super::layout::{INDENT, Place, Source, fits, plain};

/// A statement.
pub(super) enum Stmt {
    /// A statement (or a block's last expression) as one text.
    Code(String),
    /// `{lhs}{receiver}.{method}({args}){end}`: a method call as a statement (`end` its `;`
    /// or `?;`), assigned (`lhs` `c_x = `) or as a struct literal's field (`lhs` `name: `,
    /// `end` `?` or nothing).
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
    /// A statement the same in every generated file, with its lines as prettyplease prints
    /// them at `indent`, each indented already.
    Known {
        text: &'static str,
        indent: usize,
        lines: &'static str,
    },
    /// A row's field with a default: `{lhs}match {local} { Some(v) => v, None if !{seen} =>
    /// {default}, None => return Err({missing}) }`, `missing` a call that makes the error.
    OrDefault {
        lhs: String,
        local: String,
        seen: String,
        default: String,
        missing: Box<Stmt>,
    },
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

    /// Whether the statement is an expression giving its block's value: code not ending with
    /// `;` or a block.
    fn is_value(&self) -> bool {
        match self {
            Stmt::Code(text) => !text.ends_with([';', '}']),
            Stmt::Known { text, .. } => !text.ends_with([';', '}']),
            Stmt::Call { end, .. } => !end.ends_with(';'),
            Stmt::Block { .. } | Stmt::Match { .. } | Stmt::OrDefault { .. } => false,
        }
    }

    /// The statement as one text.
    pub(super) fn text(&self) -> String {
        match self {
            Stmt::Code(text) => text.clone(),
            Stmt::Known { text, .. } => text.to_string(),
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
            Stmt::OrDefault {
                lhs,
                local,
                seen,
                default,
                missing,
            } => format!(
                "{lhs}match {local} {{ Some(v) => v, None if !{seen} => {default}, None => return Err({}) }}",
                missing.text()
            ),
        }
    }

    /// Writes the statement at `indent` and `place`: [`Place::Tail`] for a block's last
    /// expression, a field's place in a struct literal, else [`Place::Stmt`].
    pub(super) fn write(&self, place: Place, indent: usize, out: &mut Source) {
        match self {
            Stmt::Code(text) => out.code(place, indent, text),
            Stmt::Known {
                text,
                indent: at,
                lines,
            } => {
                if *at == indent {
                    out.lines(lines);
                } else {
                    out.code(place, indent, text);
                }
            }
            Stmt::Call {
                lhs,
                receiver,
                method,
                args,
                end,
            } => {
                // A field's comma ends its last line; prettyplease does not count the last
                // field's.
                let (end, uncounted) = match place {
                    Place::Field => (format!("{end},"), ""),
                    Place::LastField => (end.clone(), ","),
                    _ => (end.clone(), ""),
                };
                match call_lines(indent, lhs, receiver, method, args, &end, lhs.is_empty()) {
                    Some(mut lines) => {
                        if let Some((_, last)) = lines.last_mut() {
                            last.push_str(uncounted);
                        }
                        for (indent, line) in lines {
                            out.line(indent, &line);
                        }
                    }
                    None => out.code(place, indent, &self.text()),
                }
            }
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
            Stmt::OrDefault { .. } => match self.or_default_lines(indent) {
                Some(lines) => {
                    let comma = if matches!(place, Place::Field | Place::LastField) {
                        ","
                    } else {
                        ""
                    };
                    for (indent, line) in lines {
                        out.line(indent, &line);
                    }
                    out.line(indent, &format!("}}{comma}"));
                }
                None => out.code(place, indent, &self.text()),
            },
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

    /// The lines of an [`Stmt::OrDefault`] but its closing brace, as prettyplease prints them:
    /// a `match` breaks after its brace; the default's arm is on one line when it fits, else in
    /// a block; the missing value's arm is always `return Err(` over the error call's lines
    /// (`return Err(..);` is wider than the margin). `None` where that is not so.
    fn or_default_lines(&self, indent: usize) -> Option<Vec<(usize, String)>> {
        let Stmt::OrDefault {
            lhs,
            local,
            seen,
            default,
            missing,
        } = self
        else {
            return None;
        };
        let Stmt::Call {
            lhs: call_lhs,
            receiver,
            method,
            args,
            end,
        } = missing.as_ref()
        else {
            return None;
        };
        if !call_lhs.is_empty() || !end.is_empty() {
            return None;
        }
        let (i1, i2, i3) = (indent + INDENT, indent + 2 * INDENT, indent + 3 * INDENT);
        let open = format!("{lhs}match {local} {{");
        if !fits(indent, &open) || !plain(default) {
            return None;
        }
        let mut lines = vec![(indent, open), (i1, "Some(v) => v,".to_string())];
        let arm = format!("None if !{seen} => {default}");
        if fits(i1, &format!("{arm},")) {
            lines.push((i1, format!("{arm},")));
        } else if !fits(i1, &arm) && fits(i2, default) {
            lines.push((i1, format!("None if !{seen} => {{")));
            lines.push((i2, default.clone()));
            lines.push((i1, "}".to_string()));
        } else {
            return None;
        }
        if fits(i2, &format!("return Err({});", missing.text())) {
            return None;
        }
        let mut error = call_lines(i3, "", receiver, method, args, "", false)?;
        error.last_mut()?.1.push(',');
        lines.push((i1, "None => {".to_string()));
        lines.push((i2, "return Err(".to_string()));
        lines.extend(error);
        lines.push((i2, ");".to_string()));
        lines.push((i1, "}".to_string()));
        Some(lines)
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
        let place = if i + 1 == stmts.len() && stmt.is_value() {
            Place::Tail
        } else {
            Place::Stmt
        };
        stmt.write(place, indent, out);
    }
}

/// The lines of a method call as prettyplease prints it, each with its indent, or `None` where
/// its layout is not known here. On one line when it fits. Otherwise, a call on a receiver of
/// at most 4 bytes that starts its line (`doc.insert(..)`) keeps `receiver.method(` on the
/// first line and puts one argument a line one step in; any other call breaks before
/// `.method`, one step in, and then, if the rest does not fit there either, puts one argument a
/// line a step further (`starts_line`: the call starts its line, as a statement does; an
/// argument does not). Arguments must fit on their lines (the last one's comma is not counted)
/// and be [`plain`]: anything else is the formatter's.
fn call_lines(
    indent: usize,
    lhs: &str,
    receiver: &str,
    method: &str,
    args: &[String],
    end: &str,
    starts_line: bool,
) -> Option<Vec<(usize, String)>> {
    let joined = args.join(", ");
    let whole = format!("{lhs}{receiver}.{method}({joined}){end}");
    if !args.iter().all(|a| plain(a)) || args.is_empty() {
        return None;
    }
    if fits(indent, &whole) {
        return Some(vec![(indent, whole)]);
    }
    let unindented =
        starts_line && lhs.is_empty() && receiver.len() <= INDENT && is_ident(receiver);
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

/// Writes a top-level function's signature and the brace opening its body:
/// `{head}({params}) -> {ret} {`, `head` being `fn name` and its generics. As prettyplease prints
/// it: on one line when it fits, else one parameter a line. prettyplease decides on the
/// parameters from the text up to the return type's first `<` (where the return type itself may
/// break); a layout not known here is the formatter's.
pub(super) fn signature(out: &mut Source, head: &str, params: &[String], ret: &str) {
    let joined = params.join(", ");
    let whole = format!("{head}({joined}) -> {ret} {{");
    let ret_head = ret.find('<').map_or(ret, |i| &ret[..=i]);
    if fits(0, &format!("{head}({joined}) -> {ret_head}")) {
        if fits(0, &whole) {
            out.line(0, &whole);
        } else {
            out.code(Place::Head, 0, &whole);
        }
        return;
    }
    let open = format!("{head}(");
    let close = format!(") -> {ret} {{");
    let params_fit = params.iter().all(|p| fits(INDENT, &format!("{p},")));
    if !(fits(0, &open) && params_fit && fits(0, &close)) {
        out.code(Place::Head, 0, &whole);
        return;
    }
    out.line(0, &open);
    for param in params {
        out.line(INDENT, &format!("{param},"));
    }
    out.line(0, &close);
}

/// Whether `text` is a plain identifier (a receiver prettyplease may keep on the call's line).
fn is_ident(text: &str) -> bool {
    text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::super::format::{format_source, print};
    use super::super::layout::{Place, Source};
    use super::{Stmt, call_lines, signature};

    /// What the formatter prints for `stmt` at `place` and `indent`, and what [`Stmt::write`]
    /// writes.
    fn both(stmt: &Stmt, place: Place, indent: usize) -> (String, String) {
        let mut formatter = Source::default();
        formatter.fragment(place, indent, &stmt.text());
        let mut written = Source::default();
        stmt.write(place, indent, &mut written);
        (format_source(&formatter), format_source(&written))
    }

    /// Every length of the assigned name, the key and the reader across the margin, at the
    /// indents the transforms use, as a statement and as a struct field: the call's layout is
    /// exactly prettyplease's.
    #[test]
    fn a_method_call_is_laid_out_as_prettyplease_lays_it_out() {
        let mut known = 0;
        for indent in [4, 8, 16, 20, 28, 32] {
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
                    let insert = Stmt::call("", "doc", "insert", &[&rel, &reader], ";");
                    let long = Stmt::call("", "sub_document", "insert", &[&rel, &reader], ";");
                    for stmt in [&read, &insert, &long] {
                        let (printed, written) = both(stmt, Place::Stmt, indent);
                        assert_eq!(written, printed, "{}", stmt.text());
                    }
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
                            call_lines(indent, &lhs, receiver, "m", &args, end, true).is_some(),
                        );
                    }
                }
                if indent >= 8 {
                    let field = Stmt::call(
                        &format!("{}: ", &var[2..]),
                        "cx",
                        "required",
                        &[&var, &join],
                        "?",
                    );
                    for place in [Place::Field, Place::LastField] {
                        let (printed, written) = both(&field, place, indent);
                        assert_eq!(written, printed, "{place:?} {}", field.text());
                    }
                }
            }
        }
        // Over half of these lengths (all the short ones) are laid out here, not left to the
        // formatter.
        assert!(known > 1300, "{known} of 2520");
    }

    /// A fragment at each place, at several depths, comes out as prettyplease prints the
    /// function holding it: a statement, the block's last expression (one that would fit a
    /// one-line block), an arm, fields of a struct literal and a signature.
    #[test]
    fn a_fragment_is_printed_as_in_its_function() {
        let long = "c".repeat(60);
        for depth in 1..=4 {
            let i = 4 * depth;
            let mut source = Source::default();
            source.fragment(
                Place::Head,
                0,
                &format!("fn f(a: u8, {long}: u8) -> Result<(), E> {{"),
            );
            for d in 1..depth {
                source.line(4 * d, "{");
            }
            source.fragment(
                Place::Stmt,
                i,
                &format!("let x = cx.f(value, &{long}, {long})?;"),
            );
            source.line(i, "let r = R {");
            source.fragment(
                Place::Field,
                i + 4,
                &format!("a: match c {{ Some(v) => v, None => {long} }}"),
            );
            source.fragment(
                Place::LastField,
                i + 4,
                &format!("b: cx.required(c_b, &{long}, {long})?"),
            );
            source.line(i, "};");
            source.line(i, "match k {");
            source.fragment(
                Place::Arm,
                i + 4,
                &format!("\"k\" => x = Some(cx.read(value, &{long})?),"),
            );
            source.line(i + 4, "_ => {}");
            source.line(i, "}");
            source.fragment(Place::Tail, i, "Ok(Some(Self { a }))");
            for d in (0..depth).rev() {
                source.line(4 * d, "}");
            }
            let whole = syn::parse_file(&source.whole()).expect("parses");
            assert_eq!(format_source(&source), print(&whole), "depth {depth}");
        }
    }

    /// Every length of a function's name and of its row type across the margin, for the three
    /// signatures of the transforms: laid out as prettyplease lays them out.
    #[test]
    fn a_signature_is_laid_out_as_prettyplease_lays_it_out() {
        for n in 1..=90 {
            let name = "f".repeat(n);
            let row = format!("{}Row", "R".repeat(n));
            let row_param = format!("row: &{row}");
            let cases = [
                (
                    format!("fn read_{name}"),
                    vec![
                        "cx: &mut Context",
                        "doc: &RawDocument",
                        "rows: &mut Children",
                    ],
                    format!("Result<{row}, TransformError>"),
                ),
                (
                    format!("fn read_{name}<P: AsRef<str> + ?Sized>"),
                    super::super::transform::CHILD_READ_PARAMS.to_vec(),
                    "Result<(), TransformError>".to_string(),
                ),
                (
                    format!("fn write_{name}"),
                    vec![
                        row_param.as_str(),
                        "_rows: &Sorted<'_>",
                        "id: &Option<String>",
                    ],
                    "Result<Document, TransformError>".to_string(),
                ),
            ];
            for (head, params, ret) in cases {
                let params: Vec<String> = params.into_iter().map(String::from).collect();
                let whole = format!("{head}({}) -> {ret} {{", params.join(", "));
                let mut formatter = Source::default();
                formatter.fragment(Place::Head, 0, &whole);
                let mut written = Source::default();
                signature(&mut written, &head, &params, &ret);
                assert_eq!(
                    format_source(&written),
                    format_source(&formatter),
                    "{whole}"
                );
            }
        }
    }
}
