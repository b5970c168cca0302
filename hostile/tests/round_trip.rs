//! Documents of the hostile catalogue through its generated code and through PostgreSQL: every
//! field set to a value full of quotes, backslashes, braces, comment markers, line breaks and
//! non-Latin scripts is read (`from_mongo`), inserted into a database migrated with the committed
//! history (foreign keys on), read back (`load`) and written again (`to_mongo`), and comes out
//! as it went in. PostgreSQL also reads back every enum's labels as the generated enums hold them.

use std::path::Path;

use hostile_schema::schema::{self, enums};
use schemac_runtime::bson::oid::ObjectId;
use schemac_runtime::bson::{Decimal128, Document, RawDocumentBuf, doc};
use schemac_runtime::postgres::Client;
use schemac_runtime::transform::Mode;
use schemac_testdb::TestDb;

/// Text that ends or escapes something in Rust, SQL, JSON or a doc comment.
const NASTY: &str = "it's \"quoted\" \\ {x} {{}} // /* */ -- $$ \n\r\t 東京 🙂";

fn oid(n: u8) -> ObjectId {
    ObjectId::from_bytes([0x65, 0x5a, 0, 0, 0, 0, 0, 0, 0, 0, 0, n])
}

/// One document per collection, every field set, in load order (a `match` refers to a `type`).
fn documents() -> Vec<(&'static str, Document)> {
    vec![
        (
            "user",
            doc! {
                "_id": oid(1),
                "order": "two\nlines",
                "select": NASTY,
                "fn": "fn",
                "self": "self",
                "slashes": "a//b",
                "block": "/* */",
                "braces": "{}",
                "quoted": "\"\\",
                "name": "名前",
                "raw": "r#x",
                "kinds": ["d\"e", "b c"],
                "long": NASTY,
            },
        ),
        (
            "straßen",
            doc! {
                "_id": oid(2),
                "länge": 42,
                "größe": NASTY,
                "art": "東京",
                "__v": 0,
            },
        ),
        (
            "odd.collection name",
            doc! {
                "_id": oid(3),
                "owner": oid(1),
                "subject": "tpl_{\"x\"}",
                "lines": [
                    {
                        "_id": oid(4),
                        "sku": NASTY,
                        // `money` is numeric(38,18): the value keeps its 18 decimal places.
                        "price": "12.500000000000000000".parse::<Decimal128>().expect("a decimal"),
                        "notes": [{ "body": NASTY }, { "body": "second" }],
                    },
                    { "_id": oid(5), "sku": "b", "notes": [] },
                ],
                "shipping": { "city": "Zürich // \"HQ\"" },
                "extra": { "line\nbreak": "\u{202e}" },
                "__v": 3,
            },
        ),
    ]
}

/// A fresh database with the committed history applied.
fn migrated() -> (TestDb, Client) {
    let db = TestDb::new();
    let mut client = db.client();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let history = schemac::history::read(&dir).expect("hostile/migrations");
    schemac::apply::apply(&mut client, &history, |_, _| {}).unwrap_or_else(|e| panic!("{e}"));
    (db, client)
}

#[test]
fn hostile_documents_round_trip_in_memory() {
    for (collection, doc) in documents() {
        let raw = RawDocumentBuf::try_from(&doc).expect("encodes");
        let out = schema::round_trip(collection, &raw, Mode::Strict)
            .expect("a collection of the catalogue")
            .unwrap_or_else(|e| panic!("{collection}: {e}"));
        assert_eq!(out, doc, "{collection}");
    }
}

#[test]
fn hostile_documents_survive_postgres() {
    let (_db, mut client) = migrated();
    for (collection, doc) in documents() {
        let raw = RawDocumentBuf::try_from(&doc).expect("encodes");
        let mut tx = client.transaction().expect("a transaction");
        let out = schema::through_postgres(collection, &raw, &mut tx)
            .expect("a collection of the catalogue")
            .unwrap_or_else(|e| panic!("{collection}: {e}"));
        tx.commit().expect("commits");
        assert_eq!(out, doc, "{collection}");
    }
    // The polymorphic reference as the plan's three columns, the quoted child tables' rows.
    let row = client
        .query_one(
            r#"SELECT subject_ref_kind::text, subject_external_ref,
                      (SELECT count(*) FROM "line ""items"""),
                      (SELECT count(*) FROM "{notes} // x")
               FROM "gift cards""#,
            &[],
        )
        .expect("the match row");
    let (kind, external): (String, String) = (row.get(0), row.get(1));
    assert_eq!(
        (kind.as_str(), external.as_str()),
        ("template", "tpl_{\"x\"}")
    );
    assert_eq!((row.get::<_, i64>(2), row.get::<_, i64>(3)), (2, 2));
}

#[test]
fn postgres_holds_the_labels_the_generated_enums_hold() {
    let (_db, mut client) = migrated();
    for (name, labels) in [
        ("group", enums::Group::LABELS),
        ("Select Kind", enums::SelectKind::LABELS),
        ("straßen_art", enums::StraßenArt::LABELS),
    ] {
        let read: Vec<String> = client
            .query_one(
                "SELECT array_agg(enumlabel::text ORDER BY enumsortorder) FROM pg_enum
                 WHERE enumtypid = quote_ident($1)::regtype",
                &[&name],
            )
            .expect("the enum's labels")
            .get(0);
        assert_eq!(read, labels, "{name}");
    }
    assert_eq!(
        enums::Group::parse("two\nlines"),
        Ok(enums::Group::TwoLines)
    );
    assert_eq!(enums::Group::TwoLines.as_str(), "two\nlines");
}
