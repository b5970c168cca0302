//! What the tests and the `catalogue` fuzz target hold every generated Rust file to, short of
//! compiling it: it parses and is exactly what the formatter prints ([`misformatted`]), and no
//! name is defined twice where Rust would refuse it ([`redefined`]). The validator is what
//! keeps catalogue names from clashing; these find a clash it lets through.

use std::collections::BTreeMap;

use super::format::format_source;
use super::layout::Source;
use crate::ir::Catalogue;
use crate::plan;

/// How a generated Rust file fails to be what syn and prettyplease print from its source
/// ([`misformatted`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Misformat {
    /// syn cannot parse the file: the generator wrote something that is not Rust.
    Unparsed(String),
    /// The file and the printed text differ.
    Differs {
        /// The first line that differs, 1-based.
        line: usize,
        /// That line in the file.
        written: String,
        /// That line as printed.
        printed: String,
    },
}

impl std::fmt::Display for Misformat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Misformat::Unparsed(error) => write!(f, "does not parse as Rust: {error}"),
            Misformat::Differs {
                line,
                written,
                printed,
            } => write!(
                f,
                "is not what prettyplease prints, from line {line}:\n  written: {written}\n  printed: {printed}"
            ),
        }
    }
}

/// Where the generated Rust of `cat` is not what the formatter prints from the same source
/// taken whole: the path and how, or `None` when every file is, as it must be. The pieces
/// written already formatted ([`layout`](super::layout)) must come out exactly as prettyplease
/// would print them, and the whole source must parse. (Comparing a file with what prettyplease
/// prints from the file itself would not do: prettyplease does not always print its own output
/// the same way again, as with a long assignment in a match arm.)
pub fn misformatted(cat: &Catalogue) -> Option<(String, Misformat)> {
    let schema = plan::plan(cat);
    super::paths(cat)
        .into_iter()
        .enumerate()
        .find_map(|(i, path)| {
            misformatted_source(&super::source(cat, &schema, i)).map(|m| (path, m))
        })
}

fn misformatted_source(source: &Source) -> Option<Misformat> {
    let written = format_source(source);
    let printed = match syn::parse_file(&source.whole()) {
        Ok(file) => super::format::print(&file),
        Err(e) => return Some(Misformat::Unparsed(e.to_string())),
    };
    first_difference(&written, &printed)
}

/// The first line where `written` and `printed` differ.
fn first_difference(written: &str, printed: &str) -> Option<Misformat> {
    if written == printed {
        return None;
    }
    let (mut written, mut printed) = (written.lines(), printed.lines());
    let mut line = 0;
    loop {
        line += 1;
        let (a, b) = (written.next(), printed.next());
        if a != b {
            return Some(Misformat::Differs {
                line,
                written: a.unwrap_or("(end of file)").to_string(),
                printed: b.unwrap_or("(end of file)").to_string(),
            });
        }
    }
}

/// A name that a generated file defines twice in one scope, which would not compile: two
/// top-level items of one namespace (an import counting in every namespace), two fields of a
/// struct, two variants of an enum, two items of a type's inherent `impl` blocks. `None` when
/// there is none, or when the file does not parse ([`misformatted`] says so).
pub fn redefined(text: &str) -> Option<String> {
    let file = syn::parse_file(text).ok()?;
    redefined_in(&file.items, "the file")
}

fn redefined_in(items: &[syn::Item], scope: &str) -> Option<String> {
    use syn::{Fields, ImplItem, Item};
    // (namespace, name) -> how many; an import is in namespace "use".
    let mut seen: BTreeMap<(&str, String), usize> = BTreeMap::new();
    let mut add = |ns: &'static str, name: String| *seen.entry((ns, name)).or_default() += 1;
    // The associated items of each type's inherent impl blocks.
    let mut inherent: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for item in items {
        match item {
            Item::Struct(s) => {
                add("type", s.ident.to_string());
                if !matches!(s.fields, Fields::Named(_)) {
                    add("value", s.ident.to_string());
                }
                let fields = s.fields.iter().filter_map(|f| f.ident.as_ref());
                if let Some(d) = twice(fields.map(ToString::to_string)) {
                    return Some(format!("field `{d}` of struct `{}`", s.ident));
                }
            }
            Item::Enum(e) => {
                add("type", e.ident.to_string());
                if let Some(d) = twice(e.variants.iter().map(|v| v.ident.to_string())) {
                    return Some(format!("variant `{d}` of enum `{}`", e.ident));
                }
            }
            Item::Mod(m) => {
                add("type", m.ident.to_string());
                if let Some((_, inner)) = &m.content
                    && let Some(d) = redefined_in(inner, &format!("module `{}`", m.ident))
                {
                    return Some(d);
                }
            }
            Item::Trait(t) => add("type", t.ident.to_string()),
            Item::Type(t) => add("type", t.ident.to_string()),
            Item::Fn(f) => add("value", f.sig.ident.to_string()),
            Item::Const(c) => add("value", c.ident.to_string()),
            Item::Static(s) => add("value", s.ident.to_string()),
            Item::Use(u) => imports(&u.tree, &mut |name| add("use", name)),
            Item::Impl(i) if i.trait_.is_none() => {
                let syn::Type::Path(ty) = &*i.self_ty else {
                    continue;
                };
                let ty = ty.path.segments.last().map(|s| s.ident.to_string());
                let names = inherent.entry(ty.unwrap_or_default()).or_default();
                names.extend(i.items.iter().filter_map(|item| match item {
                    ImplItem::Const(c) => Some(c.ident.to_string()),
                    ImplItem::Fn(f) => Some(f.sig.ident.to_string()),
                    ImplItem::Type(t) => Some(t.ident.to_string()),
                    _ => None,
                }));
            }
            _ => {}
        }
    }
    for (ty, names) in inherent {
        if let Some(d) = twice(names.into_iter()) {
            return Some(format!("`{ty}::{d}` in {scope}"));
        }
    }
    let defined = |name: &str| {
        ["type", "value"]
            .iter()
            .any(|ns| seen.contains_key(&(*ns, name.to_string())))
    };
    seen.iter().find_map(|((ns, name), n)| {
        let clash = *n > 1 || (*ns == "use" && defined(name));
        clash.then(|| format!("`{name}` in {scope}"))
    })
}

/// The names a `use` tree brings in (`self` in a group is its module's name).
fn imports(tree: &syn::UseTree, add: &mut dyn FnMut(String)) {
    imports_under(tree, None, add);
}

fn imports_under(tree: &syn::UseTree, parent: Option<String>, add: &mut dyn FnMut(String)) {
    use syn::UseTree;
    match tree {
        UseTree::Path(p) => imports_under(&p.tree, Some(p.ident.to_string()), add),
        UseTree::Name(n) if n.ident == "self" => add(parent.unwrap_or_default()),
        UseTree::Name(n) => add(n.ident.to_string()),
        UseTree::Rename(r) => add(r.rename.to_string()),
        UseTree::Glob(_) => {}
        UseTree::Group(g) => {
            for t in &g.items {
                imports_under(t, parent.clone(), add);
            }
        }
    }
}

/// The first name that `names` holds twice.
fn twice(names: impl Iterator<Item = String>) -> Option<String> {
    let mut seen = std::collections::BTreeSet::new();
    names.into_iter().find(|n| !seen.insert(n.clone()))
}

#[cfg(test)]
mod tests {
    use super::super::layout::{Formatted, Source};
    use super::{Misformat, misformatted_source, redefined};

    #[test]
    fn a_piece_laid_out_otherwise_than_prettyplease_would_is_found() {
        let piece = |lines: &[&str]| {
            let mut f = Formatted::new();
            for line in lines {
                f.line(0, line);
            }
            f
        };
        let mut source = Source::default();
        source.raw("fn a() -> u8 { 1 }");
        source.formatted(piece(&["fn b() -> u8 {", "    2", "}"]));
        assert_eq!(misformatted_source(&source), None);
        source.formatted(piece(&["fn c() -> u8 { 3 }"]));
        assert_eq!(
            misformatted_source(&source),
            Some(Misformat::Differs {
                line: 9,
                written: "fn c() -> u8 { 3 }".into(),
                printed: "fn c() -> u8 {".into(),
            })
        );
        // Source that is not Rust: the formatter prints it as it is, so only parsing finds it.
        let mut broken = Source::default();
        broken.raw("fn a( {");
        assert!(
            matches!(misformatted_source(&broken), Some(Misformat::Unparsed(_))),
            "{:?}",
            misformatted_source(&broken)
        );
    }

    /// The names the validator keeps models and enums from taking (`MODULE_TYPES`,
    /// `ENUM_MODULE_TYPES`) are exactly what the generated modules import or define besides
    /// the catalogue's own types, so a new import cannot leave the list behind.
    #[test]
    fn the_reserved_type_names_are_what_the_modules_use() {
        let yaml = "model: Order\ncollection: orders\nphase: 1\nenums:\n  order_state: [a, b]\n\
                    fields:\n  state: { bson: string, enum: order_state }\n\
                    \x20 lines: { bson: array, store: table, fields: { sku: { bson: string } } }\n";
        let v = crate::validate_sources(vec![("models/order.yaml".into(), yaml.into())]);
        let files =
            super::super::files_on(&v.catalogue.expect("valid"), super::super::Threads::One);
        // The capitalized names (types) a file imports or defines, but for `own` ones.
        let used = |path: &str, own: &dyn Fn(&str) -> bool| {
            let text = &files.iter().find(|(p, _)| p == path).expect("the file").1;
            let file = syn::parse_file(text).expect("parses");
            let mut names = std::collections::BTreeSet::new();
            for item in &file.items {
                match item {
                    syn::Item::Use(u) => super::imports(&u.tree, &mut |n| {
                        names.insert(n);
                    }),
                    syn::Item::Struct(s) => {
                        names.insert(s.ident.to_string());
                    }
                    syn::Item::Enum(e) => {
                        names.insert(e.ident.to_string());
                    }
                    _ => {}
                }
            }
            names.retain(|n| n.starts_with(|c: char| c.is_ascii_uppercase()) && !own(n));
            names.into_iter().collect::<Vec<_>>()
        };
        assert_eq!(
            used("src/schema/order.rs", &|n| n == "Order"
                || n.ends_with("Row")),
            super::super::MODULE_TYPES
        );
        let enums = ["DualwriteOperation", "RefKind", "OrderState"];
        assert_eq!(
            used("src/schema/enums.rs", &|n| enums.contains(&n)),
            super::super::ENUM_MODULE_TYPES
        );
    }

    #[test]
    fn a_name_defined_twice_in_one_scope_is_found() {
        let ok = "use a::{self, B};\nstruct S { x: u8, y: u8 }\nfn s() {}\nimpl S { fn f() {} }\nimpl S { fn g() {} }\nmod m { struct S; }\n";
        assert_eq!(redefined(ok), None);
        for (text, found) in [
            ("struct S {}\nenum S {}\n", "`S` in the file"),
            ("fn f() {}\nconst f: u8 = 0;\n", "`f` in the file"),
            ("struct S;\nfn S() {}\n", "`S` in the file"),
            ("use a::B;\nstruct B {}\n", "`B` in the file"),
            ("use a::b::{self};\nmod b {}\n", "`b` in the file"),
            ("struct S { x: u8, x: u16 }\n", "field `x` of struct `S`"),
            ("enum E { A, A }\n", "variant `A` of enum `E`"),
            (
                "impl S { fn f() {} }\nimpl S { const f: u8 = 0; }\n",
                "`S::f` in the file",
            ),
            ("mod m { fn f() {} fn f() {} }\n", "`f` in module `m`"),
        ] {
            assert_eq!(redefined(text).as_deref(), Some(found), "{text}");
        }
    }
}
