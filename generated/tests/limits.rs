//! The generated transforms at MongoDB's limits: a chat with 100,000 messages, 100 levels of
//! nesting inside a Mixed (jsonb) field, a 100,000-element array in one, a 16 MiB payment; and a
//! nesting far deeper than MongoDB allows (10,000 levels, still a valid BSON document) is a
//! clear error on a default 2 MiB thread stack, never a stack overflow.

// TransformError is returned whole, as the generated transforms return it (see runtime/src/lib.rs).
#![allow(clippy::result_large_err)]

mod common;

use common::{fixtures, read_lines};
use escrow_schema::schema::{chat, payment};
use schemac_runtime::Json;
use schemac_runtime::bson::oid::ObjectId;
use schemac_runtime::bson::raw::cstr;
use schemac_runtime::bson::{
    Bson, DateTime, Document, RawArrayBuf, RawBson, RawDocumentBuf, doc, rawdoc,
};
use schemac_runtime::postgres_types::{FromSql, Type};
use schemac_runtime::transform::{self, MAX_JSON_DEPTH, Mode};
use schemac_runtime::{TransformError, TransformErrorKind};

/// MongoDB's user limit for a document.
const SIXTEEN_MIB: usize = 16 * 1024 * 1024;

/// The stack of a test thread, and of any thread std spawns, unless RUST_MIN_STACK says more.
const DEFAULT_STACK: usize = 2 * 1024 * 1024;

fn first_fixture(collection: &str) -> Document {
    read_lines(&fixtures().join(format!("good/{collection}.json")))
        .into_iter()
        .next()
        .expect("a fixture document")
}

fn raw(doc: &Document) -> RawDocumentBuf {
    RawDocumentBuf::try_from(doc).expect("a valid document")
}

/// A payment fixture with `metadata` replaced.
fn payment_with_metadata(metadata: Bson) -> Document {
    let mut doc = first_fixture("payments");
    doc.insert("metadata", metadata);
    doc
}

/// `from_mongo` then `to_mongo` of a payment: the metadata that comes back.
fn payment_metadata_round_trip(doc: &RawDocumentBuf) -> Result<Bson, TransformError> {
    let (rows, _) = payment::from_mongo(doc, Mode::Strict)?;
    let back = payment::to_mongo(&rows)?;
    Ok(back.get("metadata").cloned().expect("metadata comes back"))
}

/// Runs `f` on a thread with the default 2 MiB stack: a recursion the input controls would
/// overflow it (and abort the whole test binary) rather than fail.
fn on_default_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(DEFAULT_STACK)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("the thread finishes")
}

/// The `_id`, author and body of message `i` of the long chat.
fn message(i: usize) -> (ObjectId, ObjectId, String) {
    let mut id = [0u8; 12];
    id[..4].copy_from_slice(&0x64d4_2880u32.to_be_bytes());
    id[8..].copy_from_slice(&(i as u32).to_be_bytes());
    let authors = ["63c28b3001600d0000000007", "63c09f0001600d0000000000"];
    let author = ObjectId::parse_str(authors[i % 2]).unwrap();
    (ObjectId::from_bytes(id), author, format!("#{i}"))
}

#[test]
fn a_chat_with_100000_messages_round_trips() {
    const MESSAGES: usize = 100_000;
    // Built as raw BSON directly: the test is about the transform, not the bson crate.
    let mut messages = RawArrayBuf::new();
    for i in 0..MESSAGES {
        let (id, author, body) = message(i);
        messages.push(rawdoc! { "_id": id, "author": author, "body": body });
    }
    let mut doc = rawdoc! {
        "_id": ObjectId::parse_str("64d541c014600d0000000004").unwrap(),
        "type": "direct",
        "title": "A long thread",
        "createdAt": DateTime::from_millis(1_691_697_600_589),
        "updatedAt": DateTime::from_millis(1_691_957_820_839),
        "__v": 100_000,
    };
    doc.append(cstr!("messages"), messages);
    assert!(
        doc.as_bytes().len() < SIXTEEN_MIB,
        "a valid MongoDB document"
    );

    let (rows, _) = chat::from_mongo(&doc, Mode::Strict).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rows.chat_messages.len(), MESSAGES, "one row per message");
    let back = chat::to_mongo(&rows).unwrap_or_else(|e| panic!("{e}"));
    let out = back.get_array("messages").expect("messages come back");
    assert_eq!(out.len(), MESSAGES, "every message comes back");
    for (i, m) in out.iter().enumerate() {
        let m = m.as_document().expect("a message is a document");
        let (id, author, body) = message(i);
        assert_eq!(
            m.get("_id"),
            Some(&Bson::ObjectId(id)),
            "message {i} keeps its _id"
        );
        assert_eq!(
            m.get("author"),
            Some(&Bson::ObjectId(author)),
            "message {i}"
        );
        assert_eq!(
            m.get("body"),
            Some(&Bson::String(body)),
            "message {i} keeps its place"
        );
    }
}

/// `levels` levels of nested values, objects and arrays alternating, the innermost a document
/// of scalars.
fn nested(levels: usize) -> Bson {
    let mut value = Bson::Document(doc! { "leaf": "bottom", "n": 7 });
    for level in (1..levels).rev() {
        value = if level % 2 == 0 {
            Bson::Document(doc! { format!("level{level}"): value })
        } else {
            Bson::Array(vec![Bson::Int32(level as i32), value])
        };
    }
    value
}

#[test]
fn a_hundred_levels_of_nesting_in_a_mixed_field_round_trip() {
    assert_eq!(MAX_JSON_DEPTH, 100, "MongoDB's limit for a whole document");
    let metadata = nested(MAX_JSON_DEPTH);
    let doc = raw(&payment_with_metadata(metadata.clone()));
    let back = on_default_stack(move || payment_metadata_round_trip(&doc))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, metadata);

    // One level more is refused, at the field, naming the limit.
    let doc = raw(&payment_with_metadata(nested(MAX_JSON_DEPTH + 1)));
    let error = on_default_stack(move || payment_metadata_round_trip(&doc))
        .expect_err("101 levels are refused");
    assert_eq!(error.path, "metadata");
    assert_eq!(error.kind, TransformErrorKind::TooDeep { limit: 100 });
    assert_eq!(
        error.to_string(),
        "payments 63faa10005600d0000000000: field metadata: nested deeper than 100 levels of \
         documents and arrays (MongoDB allows 100)"
    );
}

#[test]
fn jsonb_read_back_deeper_than_written_is_refused_not_recursed() {
    // What `to_mongo` gets from Postgres, as the jsonb wire format gives it: far deeper than
    // `as_json` writes, it is refused without recursing through it.
    let result = on_default_stack(|| transform::json_to_bson(&nested_json(10_000)).map(|_| ()));
    assert_eq!(result, Err(TransformErrorKind::TooDeep { limit: 102 }));
    // What `as_json` writes at its limit (plus Extended JSON's 2 levels) comes back.
    assert!(transform::json_to_bson(&nested_json(102)).is_ok());
    assert_eq!(
        transform::json_to_bson(&nested_json(103)),
        Err(TransformErrorKind::TooDeep { limit: 102 })
    );
}

/// `levels` nested JSON arrays, as read from a jsonb column.
fn nested_json(levels: usize) -> Json {
    let text = format!("{}{}", "[".repeat(levels), "]".repeat(levels));
    let wire = [&[1_u8][..], text.as_bytes()].concat();
    Json::from_sql(&Type::JSONB, &wire).expect("the jsonb wire format")
}

/// The bytes of `{ a: { a: ... {} } }`, `levels` documents deep below the outer one, written
/// flat (building it as a `Document` would itself recurse).
fn deep_document(levels: usize) -> RawDocumentBuf {
    let mut bytes = Vec::with_capacity(8 * levels + 5);
    for k in 0..levels {
        let length = 8 * (levels - k) + 5;
        bytes.extend_from_slice(&(length as i32).to_le_bytes());
        bytes.extend_from_slice(b"\x03a\0");
    }
    bytes.extend_from_slice(&[5, 0, 0, 0, 0]);
    bytes.extend(std::iter::repeat_n(0u8, levels));
    RawDocumentBuf::from_bytes(bytes).expect("framed")
}

#[test]
fn nesting_far_beyond_mongodb_is_a_clear_error_not_a_stack_overflow() {
    const LEVELS: usize = 10_000;
    let mut doc = raw(&payment_with_metadata(Bson::Null));
    // Replace the null metadata by the deep document: rebuild the top level, keys in order.
    let mut rebuilt = RawDocumentBuf::new();
    for element in doc.iter() {
        let (key, value) = element.expect("a valid fixture");
        if key.as_str() == "metadata" {
            rebuilt.append(key, RawBson::Document(deep_document(LEVELS - 1)));
        } else {
            rebuilt.append(key, value);
        }
    }
    doc = rebuilt;
    assert!(doc.as_bytes().len() < SIXTEEN_MIB);

    let result = on_default_stack(move || payment_metadata_round_trip(&doc));
    let error = result.expect_err("10,000 levels are refused");
    assert_eq!(error.collection, "payments");
    assert_eq!(error.path, "metadata", "{error}");
    assert_eq!(error.kind, TransformErrorKind::TooDeep { limit: 100 });
    let text = error.to_string();
    assert!(
        text.contains("field metadata: nested deeper than 100 levels"),
        "{text}"
    );
}

#[test]
fn a_16_mib_payment_transforms() {
    let base = raw(&payment_with_metadata(Bson::Document(doc! { "blob": "" })));
    let fill = SIXTEEN_MIB - base.as_bytes().len();
    let blob = "é".repeat(fill / 2) + &"x".repeat(fill % 2);
    let doc = raw(&payment_with_metadata(Bson::Document(
        doc! { "blob": blob.clone() },
    )));
    assert_eq!(doc.as_bytes().len(), SIXTEEN_MIB, "exactly MongoDB's limit");

    let back = payment_metadata_round_trip(&doc).unwrap_or_else(|e| panic!("{e}"));
    let got = back
        .as_document()
        .and_then(|d| d.get_str("blob").ok())
        .expect("metadata.blob comes back");
    assert_eq!(got.len(), blob.len());
    assert!(got == blob, "the string comes back byte for byte");
}

#[test]
fn a_100000_element_array_in_a_mixed_field_round_trips() {
    const ITEMS: i32 = 100_000;
    let items: Vec<Bson> = (0..ITEMS)
        .map(|i| match i % 3 {
            0 => Bson::Int32(i),
            1 => Bson::String(format!("item {i}")),
            _ => Bson::Document(doc! { "i": i }),
        })
        .collect();
    let metadata = Bson::Document(doc! { "items": items });
    let doc = raw(&payment_with_metadata(metadata.clone()));
    let back = payment_metadata_round_trip(&doc).unwrap_or_else(|e| panic!("{e}"));
    let got = back.as_document().unwrap().get_array("items").unwrap();
    assert_eq!(got.len(), ITEMS as usize, "every element comes back");
    assert_eq!(back, metadata, "in order, with its types");
}

/// A Mixed field whose keys start with `$` cannot be stored as Extended JSON and read back (it
/// would come back as a date, an ObjectId, or not at all): the document is refused, naming the
/// field and the key, so the backfill records it as a gap instead of changing it.
#[test]
fn a_dollar_key_in_a_mixed_field_is_refused_not_changed() {
    let metadata = doc! { "source": "import", "extra": { "$date": 1, "note": "x" } };
    let doc = raw(&payment_with_metadata(Bson::Document(metadata)));
    let error = payment_metadata_round_trip(&doc).expect_err("a `$` key is refused");
    assert_eq!(error.path, "metadata");
    assert_eq!(
        error.kind,
        TransformErrorKind::DollarKey {
            key: "extra.$date".into()
        }
    );
    assert!(
        error
            .to_string()
            .contains("holds the key \"extra.$date\", which starts with `$`"),
        "{error}"
    );
    // A `$` inside a key or a value is data.
    let plain = doc! { "price$": "$5" };
    let doc = raw(&payment_with_metadata(Bson::Document(plain.clone())));
    let back = payment_metadata_round_trip(&doc).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, Bson::Document(plain));
}
