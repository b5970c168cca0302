//! The dump readers against the committed Mongo fixtures: mongodump `.bson` and `.bson.gz`,
//! mongoexport Extended JSON (lines and arrays), a truncated dump and synthetic bad streams.

use std::io::{BufReader, Cursor};
use std::path::PathBuf;

use bson::{Document, RawDocumentBuf, doc};
use schemac_runtime::dump::{
    self, BsonReader, DumpError, ExtJsonReader, JsonAt, MAX_DOCUMENT_SIZE,
};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/mongo")
}

/// Every document of `collection` in `dir`, as owned documents; panics on any error.
fn documents(dir: &str, collection: &str) -> Vec<Document> {
    dump::open_collection(&fixtures().join(dir), collection)
        .unwrap()
        .map(|raw| Document::try_from(raw.unwrap().as_ref()).unwrap())
        .collect()
}

fn raw(doc: &Document) -> Vec<u8> {
    RawDocumentBuf::try_from(doc).unwrap().into_bytes()
}

#[test]
fn collections_lists_the_23_dumped_names() {
    let names = dump::collections(&fixtures().join("dump")).unwrap();
    assert_eq!(names.len(), 23, "{names:?}");
    assert!(names.is_sorted());
    assert!(names.contains(&"users".to_owned()) && names.contains(&"chats".to_owned()));
    assert_eq!(
        dump::collections(&fixtures().join("dump_gz")).unwrap(),
        ["chats", "payments"]
    );
}

#[test]
fn every_dump_equals_its_good_extended_json() {
    for name in dump::collections(&fixtures().join("dump")).unwrap() {
        let bson = documents("dump", &name);
        let json = documents("good", &name);
        assert!(!bson.is_empty(), "{name}");
        assert_eq!(bson.len(), json.len(), "{name}");
        for (i, (b, j)) in bson.iter().zip(&json).enumerate() {
            assert_eq!(b, j, "{name} document {i}");
            // Same keys in the same order, not only the same map.
            assert_eq!(raw(b), raw(j), "{name} document {i} bytes");
        }
    }
}

#[test]
fn gzip_dump_equals_plain_dump() {
    for name in ["chats", "payments"] {
        assert_eq!(
            documents("dump_gz", name),
            documents("dump", name),
            "{name}"
        );
        let gz = dump::read_metadata(&fixtures().join("dump_gz"), name).unwrap();
        let plain = dump::read_metadata(&fixtures().join("dump"), name).unwrap();
        assert!(gz.is_some());
        assert_eq!(gz, plain, "{name} metadata");
    }
}

#[test]
fn metadata_is_read_or_absent() {
    let meta = dump::read_metadata(&fixtures().join("dump"), "users")
        .unwrap()
        .unwrap();
    assert_eq!(meta["collectionName"], "users");
    assert_eq!(
        dump::read_metadata(&fixtures().join("good"), "users").unwrap(),
        None
    );
}

#[test]
fn relaxed_arrays_have_the_good_documents() {
    for name in ["payments", "users", "telegramsessions"] {
        let relaxed = documents("relaxed", name);
        let good = documents("good", name);
        assert_eq!(relaxed.len(), good.len(), "{name}");
        for (r, g) in relaxed.iter().zip(&good) {
            assert_eq!(r.get("_id"), g.get("_id"), "{name}");
            assert_eq!(
                r.keys().collect::<Vec<_>>(),
                g.keys().collect::<Vec<_>>(),
                "{name}"
            );
        }
    }
}

#[test]
fn truncated_dump_yields_every_whole_document_then_one_error() {
    let good = documents("dump", "payments");
    let mut docs = dump::open_collection(&fixtures().join("truncated"), "payments").unwrap();
    let mut seen = Vec::new();
    let error = loop {
        match docs.next().expect("an error before the end") {
            Ok(doc) => seen.push(Document::try_from(doc.as_ref()).unwrap()),
            Err(e) => break e,
        }
    };
    assert!(
        docs.next().is_none(),
        "the iteration stops after the truncation"
    );
    assert_eq!(seen.len(), good.len() - 1);
    assert_eq!(seen, good[..good.len() - 1]);
    let offset_of_last: u64 = good[..good.len() - 1]
        .iter()
        .map(|d| raw(d).len() as u64)
        .sum();
    let DumpError::Truncated {
        offset,
        index,
        expected,
        got,
        ..
    } = &error
    else {
        panic!("not Truncated: {error}");
    };
    assert_eq!((*offset, *index), (offset_of_last, good.len() as u64 - 1));
    assert_eq!(*expected, raw(&good[good.len() - 1]).len() as u64);
    assert!(*got < *expected);
    let text = error.to_string();
    assert!(text.contains("truncated/payments.bson"), "{text}");
    assert!(
        text.contains(&format!("document {index} at byte {offset}")),
        "{text}"
    );
}

#[test]
fn truncated_length_prefix() {
    let mut bytes = raw(&doc! { "a": 1 });
    bytes.extend_from_slice(&[10, 0]);
    let results: Vec<_> = BsonReader::new("mem.bson", bytes.as_slice()).collect();
    assert_eq!(results.len(), 2);
    assert!(results[0].is_ok());
    let Err(DumpError::Truncated {
        offset: 12,
        index: 1,
        expected: 4,
        got: 2,
        ..
    }) = &results[1]
    else {
        panic!("{:?}", results[1]);
    };
}

#[test]
fn bad_lengths_are_errors_naming_the_offset() {
    let first = raw(&doc! { "a": "b" });
    for length in [3i32, -1, 20 * 1024 * 1024, MAX_DOCUMENT_SIZE as i32 + 1] {
        let mut bytes = first.clone();
        bytes.extend_from_slice(&length.to_le_bytes());
        bytes.extend_from_slice(&[0; 64]);
        let results: Vec<_> = BsonReader::new("mem.bson", bytes.as_slice()).collect();
        assert_eq!(results.len(), 2, "{length}");
        let Err(
            error @ DumpError::BadLength {
                offset, index: 1, ..
            },
        ) = &results[1]
        else {
            panic!("{length}: {:?}", results[1]);
        };
        assert_eq!(*offset, first.len() as u64);
        assert!(
            error
                .to_string()
                .contains(&format!("at byte {}", first.len())),
            "{error}"
        );
    }
}

#[test]
fn invalid_content_is_reported_and_the_next_document_read() {
    let mut bad = raw(&doc! { "d": { "s": "x" } });
    // The nested string's declared length (at byte 14) overruns its document: the framing
    // checks of `RawDocumentBuf::from_bytes` pass, only the walk of every element finds it.
    assert!(RawDocumentBuf::from_bytes(bad.clone()).is_ok());
    bad[14] = 9;
    assert!(RawDocumentBuf::from_bytes(bad.clone()).is_ok());
    let mut bytes = bad.clone();
    bytes.extend(raw(&doc! { "ok": true }));
    let results: Vec<_> = BsonReader::new("mem.bson", bytes.as_slice()).collect();
    assert!(matches!(
        results[0],
        Err(DumpError::InvalidBson {
            offset: 0,
            index: 0,
            ..
        })
    ));
    assert!(results[1].as_ref().unwrap().get_bool("ok").unwrap());
    assert_eq!(results.len(), 2);
}

#[test]
fn empty_inputs_yield_nothing() {
    assert_eq!(BsonReader::new("e.bson", &[][..]).count(), 0);
    assert_eq!(ExtJsonReader::new("e.json", &b""[..]).count(), 0);
    assert_eq!(ExtJsonReader::new("e.json", &b" \n\n"[..]).count(), 0);
    assert_eq!(ExtJsonReader::new("e.json", &b"[ ]\n"[..]).count(), 0);
}

fn ext_json(text: &str) -> Vec<Result<RawDocumentBuf, DumpError>> {
    ExtJsonReader::new("t.json", BufReader::new(Cursor::new(text.to_owned()))).collect()
}

#[test]
fn extended_json_lines_skip_blanks_and_name_the_bad_line() {
    let text = "\n{\"a\":{\"$numberLong\":\"5\"}}\n\n{\"a\": oops}\n{\"$oid\":\"63c09f0001600d0000000000\"}\n[1]\n{\"b\":2}";
    let results = ext_json(text);
    assert_eq!(results.len(), 5);
    assert_eq!(results[0].as_ref().unwrap().get_i64("a").unwrap(), 5);
    let at = |r: &Result<RawDocumentBuf, DumpError>| match r {
        Err(DumpError::ExtJson { at, .. }) => *at,
        other => panic!("{other:?}"),
    };
    assert_eq!(at(&results[1]), JsonAt::Line { line: 4, index: 1 });
    assert!(
        results[1]
            .as_ref()
            .unwrap_err()
            .to_string()
            .starts_with("t.json: line 4")
    );
    assert_eq!(at(&results[2]), JsonAt::Line { line: 5, index: 2 });
    assert_eq!(at(&results[3]), JsonAt::Line { line: 6, index: 3 });
    assert_eq!(results[4].as_ref().unwrap().get_i32("b").unwrap(), 2);
}

#[test]
fn extended_json_array_streams_and_names_the_element() {
    let results = ext_json(
        " [ {\"a\":1} ,\n{\"a\":{\"$date\":\"1970-01-01T00:00:00Z\"}}, {\"$oid\":\"63c09f0001600d0000000000\"}, {\"c\":3}]\n",
    );
    assert_eq!(results.len(), 4);
    assert!(results[1].as_ref().unwrap().get_datetime("a").is_ok());
    assert!(matches!(
        results[2],
        Err(DumpError::ExtJson {
            at: JsonAt::Element { index: 2, .. },
            ..
        })
    ));
    assert_eq!(results[3].as_ref().unwrap().get_i32("c").unwrap(), 3);

    // Broken JSON stops the array: what follows is out of step.
    let results = ext_json("[{\"a\":1},{\"a\":,{\"b\":2}]");
    assert_eq!(results.len(), 2);
    assert!(matches!(
        results[1],
        Err(DumpError::ExtJson {
            at: JsonAt::Element {
                index: 1,
                offset: 9
            },
            ..
        })
    ));
    for text in [
        "[{\"a\":1}",
        "[{\"a\":1} {\"b\":2}]",
        "[1]",
        "[{\"a\":1}] x",
        "nope",
    ] {
        let results = ext_json(text);
        assert!(results.last().unwrap().is_err(), "{text}: {results:?}");
    }
}
