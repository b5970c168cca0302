//! Rust written already formatted. The regular items of the generated code (the enums, the row
//! structs, each model's struct of rows, `TABLES` and registry impls: 40% of its lines) are
//! written here as prettyplease prints them, so that a cold `schemac generate` need not parse
//! and print them again: parsing and printing is most of its time (BENCHMARKS.md, section 1). A
//! piece with a line that prettyplease might lay out otherwise (one over its margin) goes to the
//! formatter instead, and [`misformatted`](super::misformatted) holds every generated file to
//! be exactly what the formatter prints from it. Inside the transforms' functions, a statement
//! or arm whose layout is not known here ([`code`](super::code)) is a [`Fragment`]: the
//! formatter prints it alone, at its place, rather than the whole function.

/// prettyplease's margin: a line it can break is broken when it would be longer (in bytes).
const MARGIN: usize = 89;

/// The room prettyplease leaves a line however deep its indent (its `MIN_SPACE`).
const MIN_SPACE: usize = 60;

/// Whether `text` at `indent` fits in prettyplease's margin.
pub(super) fn fits(indent: usize, text: &str) -> bool {
    text.len() <= MARGIN.saturating_sub(indent).max(MIN_SPACE)
}

/// Whether prettyplease prints `text` as it is when it fits on a line: it holds no block or
/// struct literal (which prettyplease may break anyway) and no macro call (whose tokens it
/// spaces its own way: `vec![| k | ..]`).
pub(super) fn plain(text: &str) -> bool {
    !text.contains('{') && !text.contains("![") && !text.contains("!(")
}

/// A doc comment line (`marker` `///` or `//!`), its trailing spaces trimmed as prettyplease
/// does. Line breaks and text-direction controls in `text` (an enum label, a Mongo key may hold
/// them) are escaped ([`doc_text`](super::names::doc_text)).
pub(super) fn comment(marker: &str, text: &str) -> String {
    let text = super::names::doc_text(text);
    format!("{marker} {text}").trim_end_matches(' ').to_string()
}

/// The lines of a fixed block of code, each with its indent (its leading spaces) and its text.
fn indented(block: &str) -> impl Iterator<Item = (usize, &str)> {
    block.lines().map(|line| {
        let text = line.trim_start_matches(' ');
        (line.len() - text.len(), text)
    })
}

/// prettyplease's indentation step.
pub(super) const INDENT: usize = 4;

/// A generated file's source, in order: pieces already formatted and pieces for the formatter.
#[derive(Debug, Default)]
pub(super) struct Source {
    pieces: Vec<Piece>,
}

/// Part of a generated file's source.
#[derive(Debug)]
pub(super) enum Piece {
    /// Printed as it is.
    Formatted(String),
    /// Parsed and printed by the formatter.
    Raw(String),
    /// Part of an item, printed by the formatter alone (in a wrapper that puts it at its place
    /// and indent) where its layout is not known here.
    Fragment(Fragment),
}

/// Code inside an item for the formatter: a statement, a match arm, a field of a struct
/// literal or a function's signature. prettyplease lays out each of them the same wherever it
/// stands, given its indent: the lines around it are always broken.
#[derive(Debug)]
pub(super) struct Fragment {
    pub(super) place: Place,
    pub(super) indent: usize,
    pub(super) text: String,
}

/// What a [`Fragment`] is, which says how to wrap it to print it alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    /// A top-level function's signature, up to its opening brace.
    Head,
    /// A statement with more after it in its block.
    Stmt,
    /// The last statement or expression of a block.
    Tail,
    /// A match arm.
    Arm,
    /// A field of a struct literal, without its comma, with more fields after it.
    Field,
    /// The last field of a struct literal, without its comma (which prettyplease then does not
    /// count in the line's length).
    LastField,
}

impl Source {
    /// Appends source for the formatter.
    pub(super) fn raw(&mut self, text: &str) {
        match self.pieces.last_mut() {
            Some(Piece::Raw(last)) => last.push_str(text),
            _ => self.pieces.push(Piece::Raw(text.to_string())),
        }
    }

    /// Appends a formatted piece, or gives it to the formatter when a line of it may not be laid
    /// out as prettyplease would.
    pub(super) fn formatted(&mut self, piece: Formatted) {
        if piece.sure {
            self.pieces.push(Piece::Formatted(piece.text));
        } else {
            self.raw(&piece.text);
        }
    }

    /// Appends a line that prettyplease prints as it is (its layout is fixed, or known here).
    pub(super) fn line(&mut self, indent: usize, text: &str) {
        if !matches!(self.pieces.last(), Some(Piece::Formatted(_))) {
            self.pieces.push(Piece::Formatted(String::new()));
        }
        if let Some(Piece::Formatted(last)) = self.pieces.last_mut() {
            last.extend(std::iter::repeat_n(' ', indent));
            last.push_str(text);
            last.push('\n');
        }
    }

    /// Appends lines as they are, each indented by its leading spaces: a fixed piece of code
    /// whose printed layout is known.
    pub(super) fn lines(&mut self, block: &str) {
        for (indent, text) in indented(block) {
            self.line(indent, text);
        }
    }

    /// Appends a `///` doc comment line ([`comment`]).
    pub(super) fn doc(&mut self, indent: usize, text: &str) {
        self.line(indent, &comment("///", text));
    }

    /// Appends code at `place`: on one line when prettyplease prints it so (it fits in the
    /// margin and is [`plain`]), else as a fragment for the formatter.
    pub(super) fn code(&mut self, place: Place, indent: usize, text: &str) {
        let counted = match place {
            Place::Field => format!("{text},"),
            _ => text.to_string(),
        };
        if place != Place::Head && fits(indent, &counted) && plain(text) {
            match place {
                Place::Field | Place::LastField => self.line(indent, &format!("{text},")),
                _ => self.line(indent, text),
            }
        } else {
            self.fragment(place, indent, text);
        }
    }

    /// Appends code at `place` for the formatter.
    pub(super) fn fragment(&mut self, place: Place, indent: usize, text: &str) {
        self.pieces.push(Piece::Fragment(Fragment {
            place,
            indent,
            text: text.to_string(),
        }));
    }

    pub(super) fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// The whole source as one text, what the formatter would parse if nothing were written
    /// already formatted.
    pub(super) fn whole(&self) -> String {
        let mut whole = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Raw(text) | Piece::Formatted(text) => whole.push_str(text),
                Piece::Fragment(f) if matches!(f.place, Place::Field | Place::LastField) => {
                    whole.push_str(&f.text);
                    whole.push_str(",\n");
                }
                Piece::Fragment(f) => {
                    whole.push_str(&f.text);
                    whole.push('\n');
                }
            }
        }
        whole
    }

    /// The bytes the formatter has to parse: what a file costs to format.
    pub(super) fn raw_len(&self) -> usize {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Raw(text) => text.len(),
                Piece::Fragment(f) => f.text.len(),
                Piece::Formatted(_) => 0,
            })
            .sum()
    }
}

/// Lines written as prettyplease prints them, with no blank line (the formatter's
/// `space_items` puts one between top-level items, as it does for printed pieces).
#[derive(Debug)]
pub(super) struct Formatted {
    text: String,
    /// No line is over the margin where prettyplease could have broken it.
    sure: bool,
}

impl Formatted {
    pub(super) fn new() -> Formatted {
        Formatted {
            text: String::new(),
            sure: true,
        }
    }

    /// A line that prettyplease keeps whole when it fits in the margin.
    pub(super) fn line(&mut self, indent: usize, text: &str) {
        self.sure &= fits(indent, text);
        self.unbroken(indent, text);
    }

    /// Lines as they are printed, each indented by its leading spaces: a fixed block of code.
    pub(super) fn lines(&mut self, block: &str) {
        for (indent, text) in indented(block) {
            self.line(indent, text);
        }
    }

    /// A line that prettyplease never breaks whatever its length: an item ending with a string
    /// literal (`pub const INSERT: &'static str = "...";`).
    pub(super) fn unbroken(&mut self, indent: usize, text: &str) {
        self.text.extend(std::iter::repeat_n(' ', indent));
        self.text.push_str(text);
        self.text.push('\n');
    }

    /// A `///` doc comment line ([`comment`]).
    pub(super) fn doc(&mut self, indent: usize, text: &str) {
        self.unbroken(indent, &comment("///", text));
    }

    /// `head` `items` `tail` with the items separated by commas, on one line when it fits,
    /// else one item a line with a trailing comma: how prettyplease prints an array. `head`
    /// ends with the opening bracket, `tail` starts with the closing one.
    pub(super) fn list(&mut self, indent: usize, head: &str, items: &[String], tail: &str) {
        let one_line = format!("{head}{}{tail}", items.join(", "));
        if fits(indent, &one_line) {
            self.line(indent, &one_line);
        } else {
            self.line(indent, head);
            for item in items {
                self.line(indent + INDENT, &format!("{item},"));
            }
            self.line(indent, tail);
        }
    }

    /// Marks the piece for the formatter: a layout this module does not reproduce.
    pub(super) fn unsure(&mut self) {
        self.sure = false;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{Piece, Source};

    /// Every generated Rust file of `cat`.
    fn files(cat: &crate::ir::Catalogue) -> Vec<(String, String)> {
        super::super::files_on(cat, super::super::Threads::One)
    }

    /// `cat`'s Rust is what prettyplease prints from its source, and defines no name twice.
    fn assert_fixpoint(cat: &crate::ir::Catalogue) {
        if let Some((path, m)) = super::super::misformatted(cat) {
            panic!("{path} {m}");
        }
        for (path, text) in files(cat) {
            if let Some(name) = super::super::redefined(&text) {
                panic!("{path} defines {name} twice");
            }
        }
    }

    #[test]
    fn the_escrow_catalogue_is_written_as_prettyplease_prints_it_and_mostly_already_formatted() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../models");
        let mut sources: Vec<(String, String)> = std::fs::read_dir(dir)
            .expect("models/")
            .map(|e| {
                let path = e.expect("an entry").path();
                let text = std::fs::read_to_string(&path).expect("reads");
                (path.display().to_string(), text)
            })
            .collect();
        sources.sort();
        let cat = crate::validate_sources(sources).catalogue.expect("valid");
        assert_fixpoint(&cat);

        // The regular items skip the formatter: every enum, and in each model's file every
        // row struct, the struct of its rows, its `TABLES` and the registry's impls. Of the
        // transforms, only statements whose layout is not known here go to the formatter: most
        // of each file is written already formatted.
        let schema = crate::plan::plan(&cat);
        let count = |source: &Source| {
            let formatted = source.pieces().iter();
            formatted
                .filter(|p| matches!(p, Piece::Formatted(_)))
                .count()
        };
        assert_eq!(count(&super::super::enums_rs(&cat)), cat.enums.len() + 1);
        for model in &cat.models {
            let source = super::super::model_rs(&cat, model, &schema);
            let share = source.raw_len() as f64 / source.whole().len() as f64;
            assert!(share < 0.15, "{}: {share:.3} for the formatter", model.name);
        }
    }

    /// A model whose names and labels have the lengths and characters given.
    fn catalogue(
        model: &str,
        table: &str,
        kind: &str,
        fields: &[String],
        labels: &[String],
    ) -> Vec<(String, String)> {
        let mut yaml = format!(
            "model: {model}\ncollection: holders\ntable: {table:?}\nphase: 1\nenums:\n  {kind}: [{}]\nfields:\n  kind: {{ bson: string, enum: {kind} }}\n",
            labels
                .iter()
                .map(|l| format!("{l:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for (i, field) in fields.iter().enumerate() {
            let bson = ["string", "int32", "date", "decimal128", "bool"][i % 5];
            let required = if i % 3 == 0 { ", required: true" } else { "" };
            yaml.push_str(&format!("  {field:?}: {{ bson: {bson}{required} }}\n"));
        }
        vec![("holder.yaml".to_string(), yaml)]
    }

    /// Every length of a line across the margin: a model, columns (one of them money), a label
    /// and an enum name of 1 to 60 bytes.
    #[test]
    fn lines_of_every_length_across_the_margin_are_what_prettyplease_prints() {
        for n in 1..=60 {
            let (field, label) = ("f".repeat(n), "l".repeat(n));
            let kind = format!("k{}", "_k".repeat(n / 2));
            let model = format!("M{}", "m".repeat(n));
            // The fourth field is money: its column is the only one in `money: &[...]`.
            let fields = [field, "g".repeat(n), "h".repeat(n), "m".repeat(n)];
            let sources = catalogue(&model, "t", &kind, &fields, &[label, "m".into()]);
            let v = crate::validate_sources(sources);
            assert_fixpoint(&v.catalogue.expect("valid"));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Lines near and over prettyplease's margin: short and long names, few and many columns,
        /// table and field names and labels with spaces, quotes, backslashes, comment markers,
        /// braces and letters Rust does or does not take in identifiers.
        #[test]
        fn generated_files_are_what_prettyplease_prints(
            table in "[a-z][a-z0-9 _'\"\\\\/{}*é²-]{0,50}",
            fields in proptest::collection::btree_set("[a-z][a-zA-Z0-9 _'\"\\\\/{}*é²]{0,55}", 1..14),
            labels in proptest::collection::btree_set("[a-z][a-z '\"\\\\é]{0,40}", 1..6),
        ) {
            let fields: Vec<String> = fields.into_iter().collect();
            let labels: Vec<String> = labels.into_iter().collect();
            let v = crate::validate_sources(catalogue("Holder", &table, "holder_kind", &fields, &labels));
            prop_assume!(v.catalogue.is_some(), "{:?}", v.diagnostics);
            assert_fixpoint(&v.catalogue.expect("valid"));
        }
    }
}
