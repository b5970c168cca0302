//! The element reader (`schemac_runtime::raw`) against `bson`'s own iterators, on documents
//! MongoDB's BSON library wrote (the committed fixtures, `fixtures/mongo/every_type.bson`
//! among them) and on every one-byte change of the small ones: the same items, the same
//! errors, in the same order.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use bson::{RawBsonRef, RawDocument, RawDocumentBuf};
use proptest::prelude::*;
use schemac_runtime::dump::BsonReader;
use schemac_runtime::raw;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/mongo")
}

/// The documents of a `.bson` file; panics on any error.
fn read(path: &Path) -> Vec<RawDocumentBuf> {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    BsonReader::new(path, BufReader::new(file))
        .map(|doc| doc.unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

fn every_type() -> Vec<RawDocumentBuf> {
    read(&fixtures().join("every_type.bson"))
}

/// Every good document of the dumps, and the every-type documents.
fn all_fixtures() -> Vec<RawDocumentBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures().join("dump"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "bson"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 23, "{files:?}");
    let mut docs: Vec<RawDocumentBuf> = files.iter().flat_map(|file| read(file)).collect();
    docs.extend(every_type());
    docs
}

fn check(doc: &RawDocument) -> usize {
    raw::check_against_bson(doc).unwrap_or_else(|difference| panic!("{difference}"))
}

/// What `bson` reads in `doc` and everything inside it: the element types it gives, and how
/// many errors.
#[derive(Default)]
struct Survey {
    types: BTreeSet<u8>,
    errors: usize,
}

fn survey(doc: &RawDocument, out: &mut Survey) {
    for item in doc.iter() {
        let Ok((_, value)) = item else {
            out.errors += 1;
            continue;
        };
        out.types.insert(value.element_type() as u8);
        match value {
            RawBsonRef::Document(inner) => survey(inner, out),
            RawBsonRef::Array(array) => {
                survey(RawDocument::from_bytes(array.as_bytes()).unwrap(), out)
            }
            RawBsonRef::JavaScriptCodeWithScope(code) => survey(code.scope, out),
            _ => {}
        }
    }
}

#[test]
fn the_every_type_fixture_holds_every_bson_type() {
    let mut seen = Survey::default();
    for doc in every_type() {
        survey(&doc, &mut seen);
    }
    // 0x01 double ... 0x13 decimal128, and min key, max key: all 21.
    let all: BTreeSet<u8> = (0x01..=0x13).chain([0x7F, 0xFF]).collect();
    assert_eq!(seen.types, all);
    assert_eq!(seen.errors, 0);
}

#[test]
fn every_fixture_document_reads_as_bson_reads_it() {
    let docs = all_fixtures();
    let items: usize = docs.iter().map(|doc| check(doc)).sum();
    assert!(docs.len() > 100, "{} documents", docs.len());
    assert!(items > 50_000, "{items} items");
}

#[test]
fn every_one_byte_change_of_a_small_document_reads_as_bson_reads_it() {
    let mut changed = 0;
    let mut with_errors = 0;
    for doc in every_type()
        .iter()
        .filter(|doc| doc.as_bytes().len() <= 2048)
    {
        let bytes = doc.as_bytes();
        for at in 0..bytes.len() {
            let old = bytes[at];
            let values = [
                0x00,
                0x01,
                0x02,
                0x7F,
                0x80,
                0xFF,
                old ^ 0x01,
                old.wrapping_add(1),
                old.wrapping_sub(1),
            ];
            for new in values.into_iter().filter(|&new| new != old) {
                let mut bytes = bytes.to_vec();
                bytes[at] = new;
                // Changes to the outer length or to the last byte make no document at all.
                let Ok(doc) = RawDocument::from_bytes(&bytes) else {
                    continue;
                };
                check(doc);
                changed += 1;
                let mut seen = Survey::default();
                survey(doc, &mut seen);
                with_errors += usize::from(seen.errors > 0);
            }
        }
    }
    // The changes reach the error paths (a broken length, a bad key, a bad boolean...) as well
    // as the values.
    println!("{changed} changed documents, {with_errors} with errors");
    assert!(changed > 10_000, "{changed} changed documents");
    assert!(
        with_errors > changed / 10,
        "{with_errors} of {changed} with errors"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// Up to four changed bytes anywhere in any fixture document.
    #[test]
    fn changed_fixture_documents_read_as_bson_reads_them(
        pick in any::<prop::sample::Index>(),
        changes in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..=4),
    ) {
        let docs = fixture_documents();
        let mut bytes = pick.get(docs).as_bytes().to_vec();
        for (at, value) in changes {
            let at = at.index(bytes.len());
            bytes[at] = value;
        }
        if let Ok(doc) = RawDocument::from_bytes(&bytes) {
            prop_assert!(raw::check_against_bson(doc).is_ok(), "{:?}", raw::check_against_bson(doc));
        }
    }
}

/// [`all_fixtures`], read once.
fn fixture_documents() -> &'static [RawDocumentBuf] {
    static DOCS: std::sync::OnceLock<Vec<RawDocumentBuf>> = std::sync::OnceLock::new();
    DOCS.get_or_init(all_fixtures)
}

#[test]
fn the_items_of_an_array_are_bson_s() {
    let doc = bson::rawdoc! { "a": [1, "two", { "three": 3.0 }, [], bson::RawBson::Null] };
    let array = doc.get_array("a").unwrap();
    let ours: Vec<RawBsonRef> = raw::items(array).map(Result::unwrap).collect();
    let theirs: Vec<RawBsonRef> = array.into_iter().map(Result::unwrap).collect();
    assert_eq!(ours, theirs);
    assert_eq!(ours.len(), 5);
}
