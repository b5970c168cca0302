//! The hand-written serde transforms of `schemac_examples::handwritten` give the generated rows
//! for every document of the sample dump of their collections, and refuse an unknown key as
//! the strict transform does.

use std::path::PathBuf;

use escrow_schema::schema::{chat, payment, user};
use schemac_examples::handwritten;
use schemac_runtime::bson::{RawDocumentBuf, rawdoc};
use schemac_runtime::dump::open_collection;
use schemac_runtime::transform::Mode;

/// Documents per collection: enough to go through every variant the sample cycles through
/// (polymorphic ids, roles, statuses, optional subdocuments).
const DOCS: usize = 120;

/// A fresh sample dump, removed when dropped.
struct Dump(PathBuf);

impl Dump {
    fn new(name: &str) -> Dump {
        let dir =
            std::env::temp_dir().join(format!("schemac-handwritten-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        schemac_examples::sample::write_dump(&dir, DOCS, false).expect("write the sample dump");
        Dump(dir)
    }

    fn documents(&self, collection: &str) -> Vec<RawDocumentBuf> {
        let docs = open_collection(&self.0, collection)
            .expect("open the collection")
            .collect::<Result<Vec<_>, _>>()
            .expect("read the collection");
        assert_eq!(docs.len(), DOCS, "{collection}");
        docs
    }
}

impl Drop for Dump {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn handwritten_rows_equal_generated_rows() {
    let dump = Dump::new("rows");
    for doc in dump.documents("payments") {
        let (generated, _) = payment::from_mongo(&doc, Mode::Strict).expect("generated");
        let by_hand = handwritten::payment(doc.as_bytes()).expect("hand-written");
        assert_eq!(by_hand, generated, "payments {:?}", doc.get("_id"));
    }
    for doc in dump.documents("users") {
        let (generated, _) = user::from_mongo(&doc, Mode::Strict).expect("generated");
        let by_hand = handwritten::user(doc.as_bytes()).expect("hand-written");
        assert_eq!(by_hand, generated, "users {:?}", doc.get("_id"));
    }
    for doc in dump.documents("chats") {
        let (generated, _) = chat::from_mongo(&doc, Mode::Strict).expect("generated");
        let by_hand = handwritten::chat(doc.as_bytes()).expect("hand-written");
        assert_eq!(by_hand, generated, "chats {:?}", doc.get("_id"));
    }
}

#[test]
fn the_sample_has_the_shapes_the_comparison_is_about() {
    let dump = Dump::new("shapes");
    let payments: Vec<_> = dump
        .documents("payments")
        .iter()
        .map(|d| payment::from_mongo(d, Mode::Strict).expect("payment").0)
        .collect();
    assert!(payments.iter().any(|p| p.payments.seller_id.is_none()));
    assert!(
        payments
            .iter()
            .any(|p| p.payments.purchase_request_external_ref.is_some())
    );
    assert!(payments.iter().any(|p| !p.payment_quotes.is_empty()));
    let users: Vec<_> = dump
        .documents("users")
        .iter()
        .map(|d| user::from_mongo(d, Mode::Strict).expect("user").0)
        .collect();
    assert!(users.iter().any(|u| !u.user_passkeys.is_empty()));
    assert!(
        users
            .iter()
            .any(|u| u.users.seller_profile_shop_name.is_some())
    );
    let chats: Vec<_> = dump
        .documents("chats")
        .iter()
        .map(|d| chat::from_mongo(d, Mode::Strict).expect("chat").0)
        .collect();
    assert!(chats.iter().all(|c| !c.chat_message_attachments.is_empty()));
}

#[test]
fn unknown_keys_are_refused() {
    let doc = rawdoc! { "_id": schemac_runtime::bson::oid::ObjectId::new(), "type": "direct", "extra": 1 };
    assert!(chat::from_mongo(&doc, Mode::Strict).is_err());
    assert!(handwritten::chat(doc.as_bytes()).is_err());
}
