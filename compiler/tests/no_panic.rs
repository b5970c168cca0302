//! No input makes validation (or the rendering of its findings) panic: arbitrary text, YAML token
//! soup, and random edits of a valid model file. `PROPTEST_CASES=200000 cargo test -p schemac
//! --test no_panic --release` runs it long; CI runs the default below.

use proptest::prelude::*;
use schemac::diag::{render_human, render_json};

const VALID: &str = r#"model: Order
collection: orders
phase: 1
timestamps: { created_at: true, updated_at: false }
enums:
  order_status: [draft, placed]
fields:
  customerId: { bson: [objectId, string], ref: Order, index: true }
  status: { bson: string, enum: order_status, default: draft }
  total: { bson: decimal128, pg: money, required: true }
  ref: { bson: mixed, polymorphic: { target: Order, kinds: [entity, template] } }
  lines:
    bson: array
    store: table
    fields:
      sku: { bson: string, required: true }
      tags: { bson: array, items: string, store: array, default: [] }
  meta: { bson: object, store: flatten, fields: { a: { bson: number, pg: int4 } } }
indexes:
  - { fields: [status, -createdAt], where: "status = 'placed'" }
  - { expression: lower(btrim(status::text)), unique: true }
ttl: { field: createdAt, after: 90 days, cadence: 1 hour }
invariants:
  timeline: { field: lines, status: status, entry: { status: $status, at: $now }, stamps: { placed: createdAt } }
"#;

const TOKENS: &[&str] = &[
    "model",
    "collection",
    "phase",
    "fields",
    "bson",
    "pg",
    "store",
    "table",
    "items",
    "ref",
    "enum",
    "enums",
    "polymorphic",
    "kinds",
    "indexes",
    "where",
    "expression",
    "ttl",
    "field",
    "after",
    "cadence",
    "invariants",
    "timeline",
    "one_primary",
    "slug",
    "default",
    "now",
    "required",
    "string",
    "objectId",
    "mixed",
    "array",
    "object",
    "money",
    "uint256",
    "numeric(10,2)",
    "text[]",
    "flatten",
    "jsonb",
    ":",
    ": ",
    "-",
    "- ",
    "{",
    "}",
    "[",
    "]",
    ",",
    "\n",
    "\n  ",
    "\n    ",
    "'",
    "\"",
    "&a ",
    "*a",
    "<<: ",
    "!!str ",
    "~",
    "null",
    "true",
    "0x1F",
    "1e999",
    "-0",
    "é",
    "🦀",
    "\t",
    "#",
    "?",
    "|",
    ">",
    "%YAML 1.2\n",
    "---\n",
    "...\n",
    "\u{feff}",
    "\0",
];

fn check(files: Vec<(String, String)>) {
    let v = schemac::validate_sources(files);
    let _ = render_human(&v.diagnostics, &v.sources, false);
    let _ = render_human(&v.diagnostics, &v.sources, true);
    let _ = render_json(&v.diagnostics);
    if let Some(cat) = &v.catalogue {
        let _ = schemac::inspect::inspect(cat);
    }
}

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(2000);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_text(text in any::<String>()) {
        check(vec![("models/a.yaml".into(), text)]);
    }

    #[test]
    fn yaml_token_soup(tokens in proptest::collection::vec(proptest::sample::select(TOKENS), 0..120)) {
        check(vec![("models/a.yaml".into(), tokens.concat()), ("models/b.yaml".into(), VALID.into())]);
    }

    #[test]
    fn edits_of_a_valid_file(edits in proptest::collection::vec((any::<prop::sample::Index>(), 0..3u8, any::<char>()), 1..8)) {
        let mut text: Vec<char> = VALID.chars().collect();
        for (at, op, c) in edits {
            let i = at.index(text.len() + 1);
            match op {
                0 if i < text.len() => { text.remove(i); }
                1 => text.insert(i, c),
                _ if i < text.len() => text[i] = c,
                _ => {}
            }
        }
        check(vec![("models/a.yaml".into(), text.into_iter().collect())]);
    }
}

#[test]
fn the_base_file_of_the_edits_is_valid() {
    let v = schemac::validate_sources(vec![("models/a.yaml".into(), VALID.into())]);
    assert!(
        v.catalogue.is_some(),
        "{}",
        render_human(&v.diagnostics, &v.sources, false)
    );
}

/// A model file nested as deep as YAML allows is an error, not a stack overflow: up to
/// `MAX_DEPTH` levels of mappings or sequences parse (block or flow), one more is
/// `yaml-too-deep`, on a thread with std's default 2 MiB stack in this (debug) build. At
/// serde-saphyr's own limit of 64 levels a debug build overflowed such a thread: the CLI's
/// worker threads parse model files.
#[test]
fn nesting_is_bounded_before_the_stack_is() {
    use schemac::parse::yaml::MAX_DEPTH;
    /// `n` levels, each line opening one with `opener`, one indent deeper than the last.
    fn block(n: usize, opener: &str) -> String {
        let lines: String = (0..n)
            .map(|i| format!("{}{opener}\n", "  ".repeat(i)))
            .collect();
        lines + &"  ".repeat(n) + "1\n"
    }
    type Shape = (&'static str, fn(usize) -> String);
    let shapes: [Shape; 4] = [
        ("flow mappings", |n| {
            format!("{}1{}", "{a: ".repeat(n), "}".repeat(n))
        }),
        ("flow sequences", |n| {
            format!("{}1{}", "[".repeat(n), "]".repeat(n))
        }),
        ("block mappings", |n| block(n, "a:")),
        ("block sequences", |n| block(n, "-")),
    ];
    let outcomes = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let mut outcomes = Vec::new();
            for (shape, text) in shapes {
                for depth in [1, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, 64, 1_000] {
                    let v = schemac::validate_sources(vec![("models/x.yaml".into(), text(depth))]);
                    let too_deep = v.diagnostics.iter().any(|d| d.code == "yaml-too-deep");
                    outcomes.push((shape, depth, too_deep));
                }
            }
            outcomes
        })
        .expect("spawn")
        .join()
        .expect("no panic");
    for (shape, depth, too_deep) in outcomes {
        assert_eq!(too_deep, depth > MAX_DEPTH, "{shape}, {depth} levels");
    }
}
