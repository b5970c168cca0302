//! The sample dump: every good document passes the strict transform and every bad one fails,
//! every reference names a written document, the unique indexes hold, the awkward shapes a
//! loader must order are present, and two runs write the same bytes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use escrow_schema::schema::{self, COLLECTIONS, REGISTRY};
use schemac_examples::sample::{self, SampleCollection};
use schemac_runtime::bson::oid::ObjectId;
use schemac_runtime::bson::{Bson, Document, RawDocumentBuf};
use schemac_runtime::dump;
use schemac_runtime::registry;
use schemac_runtime::transform::Mode;

/// A directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("schemac-sample-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One collection read back: its raw documents and the same as `Document`s.
struct Read {
    written: SampleCollection,
    raw: Vec<RawDocumentBuf>,
    docs: Vec<Document>,
}

impl Read {
    fn good(&self) -> &[Document] {
        &self.docs[..self.written.good]
    }
}

/// Writes a dump of `docs` documents per collection and reads every file back.
fn write_and_read(name: &str, docs: usize, bad: bool) -> BTreeMap<&'static str, Read> {
    let dir = TempDir::new(name);
    let written = sample::write_dump(&dir.0, docs, bad).expect("the dump is written");
    written
        .into_iter()
        .map(|w| (w.collection, read_collection(&dir.0, w)))
        .collect()
}

fn read_collection(dir: &Path, written: SampleCollection) -> Read {
    let raw: Vec<RawDocumentBuf> = dump::open_collection(dir, written.collection)
        .expect("the collection file exists")
        .map(|d| d.expect("a well-formed BSON document"))
        .collect();
    let docs = raw
        .iter()
        .map(|r| Document::try_from(r).expect("a valid document"))
        .collect();
    Read { written, raw, docs }
}

fn catalogue_collections() -> BTreeSet<&'static str> {
    COLLECTIONS.iter().map(|(_, c, _)| *c).collect()
}

#[test]
fn every_collection_is_written_with_the_counts_returned() {
    let dir = TempDir::new("counts");
    let written = sample::write_dump(&dir.0, 20, true).expect("the dump is written");
    let names: BTreeSet<&str> = written.iter().map(|w| w.collection).collect();
    assert_eq!(written.len(), 23);
    assert_eq!(names, catalogue_collections());
    let on_disk = dump::collections(&dir.0).expect("the directory lists");
    assert_eq!(
        on_disk,
        names.iter().map(|n| n.to_string()).collect::<Vec<_>>()
    );
    for w in &written {
        let read = read_collection(&dir.0, *w);
        assert_eq!(w.good, 20, "{}", w.collection);
        assert!(w.bad <= 1, "{}", w.collection);
        assert_eq!(read.raw.len(), w.good + w.bad, "{}", w.collection);
    }
    let bad: BTreeSet<&str> = written
        .iter()
        .filter(|w| w.bad > 0)
        .map(|w| w.collection)
        .collect();
    for expected in ["payments", "users", "categories"] {
        assert!(bad.contains(expected), "{expected} has no bad document");
    }
}

#[test]
fn good_documents_pass_the_strict_transform_and_bad_ones_fail() {
    for (n, bad) in [(0, false), (1, true), (2, true), (20, true)] {
        let dump = write_and_read(&format!("strict-{n}"), n, bad);
        for (name, read) in &dump {
            assert_eq!(read.written.good, n.max(1), "{name}");
            let codec = registry::find(REGISTRY, name).expect("a registered collection");
            for (i, raw) in read.raw.iter().enumerate() {
                let result =
                    schema::round_trip(name, raw, Mode::Strict).expect("a known collection");
                if i < read.written.good {
                    if let Err(e) = result {
                        panic!("{name} document {i} (n = {n}) fails: {e}");
                    }
                    codec
                        .transform(raw, Mode::Strict)
                        .unwrap_or_else(|e| panic!("{name} document {i}: {e}"));
                } else {
                    assert!(result.is_err(), "{name}: bad document {i} passes");
                }
            }
        }
    }
}

/// The values at a dotted `path`, through arrays, without nulls.
fn values_at<'a>(value: &'a Bson, path: &[&str], out: &mut Vec<&'a Bson>) {
    match value {
        Bson::Null => {}
        Bson::Array(items) => items.iter().for_each(|v| values_at(v, path, out)),
        Bson::Document(doc) if !path.is_empty() => {
            if let Some(v) = doc.get(path[0]) {
                values_at(v, &path[1..], out);
            }
        }
        _ if path.is_empty() => out.push(value),
        _ => {}
    }
}

fn values<'a>(doc: &'a Document, path: &str) -> Vec<&'a Bson> {
    let parts: Vec<&str> = path.split('.').collect();
    let mut out = Vec::new();
    if let Some(v) = doc.get(parts[0]) {
        values_at(v, &parts[1..], &mut out);
    }
    out
}

/// The ObjectId a reference names: an ObjectId, or a 24-hex string (legacy `[objectId,
/// string]` fields); `None` for an external id (a Mixed string such as `tpl_…`).
fn referenced(value: &Bson) -> Option<ObjectId> {
    match value {
        Bson::ObjectId(oid) => Some(*oid),
        Bson::String(s) => ObjectId::parse_str(s).ok(),
        other => panic!("a reference holds {other:?}"),
    }
}

/// The `_id`s of the good documents of each collection.
fn ids(dump: &BTreeMap<&'static str, Read>) -> HashMap<&'static str, HashSet<ObjectId>> {
    dump.iter()
        .map(|(name, read)| {
            let ids = read
                .good()
                .iter()
                .map(|d| d.get_object_id("_id").expect("an ObjectId _id"))
                .collect();
            (*name, ids)
        })
        .collect()
}

/// Checks that every value at `path` in `collection` names a good document of `target`;
/// returns how many did.
fn check_reference(
    dump: &BTreeMap<&'static str, Read>,
    ids: &HashMap<&'static str, HashSet<ObjectId>>,
    collection: &str,
    path: &str,
    target: &str,
) -> usize {
    let mut checked = 0;
    for (i, doc) in dump[collection].good().iter().enumerate() {
        for value in values(doc, path) {
            if let Some(oid) = referenced(value) {
                assert!(
                    ids[target].contains(&oid),
                    "{collection}[{i}].{path} = {oid} is not in {target}"
                );
                checked += 1;
            }
        }
    }
    checked
}

/// References outside the foreign keys: ids in jsonb columns and ids without an FK.
const LOOSE_REFERENCES: &[(&str, &str, &str)] = &[
    ("blogposts", "author.userId", "users"),
    ("configsettinghistories", "settingId", "configsettings"),
    ("disputes", "evidence.uploadedBy", "users"),
    ("disputes", "messages.authorId", "users"),
    ("disputes", "timeline.actorId", "users"),
    ("disputes", "adminNotes.adminId", "users"),
    ("disputes", "resolution.decidedBy", "users"),
    (
        "notifications",
        "data.purchaseRequestId",
        "purchaserequests",
    ),
    ("purchaserequests", "statusHistory.by", "users"),
];

/// The collection a discriminated reference's model names.
fn model_collection(model: &str) -> &'static str {
    COLLECTIONS
        .iter()
        .find(|(m, _, _)| *m == model)
        .map(|(_, c, _)| *c)
        .unwrap_or_else(|| panic!("unknown model {model}"))
}

fn check_all_references(n: usize) {
    let dump = write_and_read(&format!("refs-{n}"), n, true);
    let ids = ids(&dump);
    let mut unused = Vec::new();
    for codec in REGISTRY {
        for table in codec.tables() {
            for reference in table.references {
                let path = reference.mongo_path.split(" (").next().unwrap_or_default();
                let checked =
                    check_reference(&dump, &ids, codec.name(), path, reference.collection);
                if checked == 0 {
                    unused.push(format!("{}.{path}", codec.name()));
                }
            }
        }
    }
    if n >= 20 {
        assert!(
            unused.is_empty(),
            "foreign keys never exercised: {unused:?}"
        );
    }
    for (collection, path, target) in LOOSE_REFERENCES {
        let checked = check_reference(&dump, &ids, collection, path, target);
        assert!(n < 20 || checked > 0, "{collection}.{path} never set");
    }
    check_discriminated(&dump, &ids, "reviews", "subjectType", "subjectId");
    check_discriminated(
        &dump,
        &ids,
        "pointtransactions",
        "referenceType",
        "referenceId",
    );
    check_replies(&dump);
}

/// `id_path` names a document of the model in `type_path`.
fn check_discriminated(
    dump: &BTreeMap<&'static str, Read>,
    ids: &HashMap<&'static str, HashSet<ObjectId>>,
    collection: &str,
    type_path: &str,
    id_path: &str,
) {
    for (i, doc) in dump[collection].good().iter().enumerate() {
        let (Ok(model), Ok(oid)) = (doc.get_str(type_path), doc.get_object_id(id_path)) else {
            continue;
        };
        let target = model_collection(model);
        assert!(
            ids[target].contains(&oid),
            "{collection}[{i}].{id_path} = {oid} is not in {target}"
        );
    }
}

/// A chat message's `replyTo` names a message of the same chat.
fn check_replies(dump: &BTreeMap<&'static str, Read>) {
    for (i, chat) in dump["chats"].good().iter().enumerate() {
        let messages: HashSet<&Bson> = values(chat, "messages._id").into_iter().collect();
        for reply in values(chat, "messages.replyTo") {
            assert!(messages.contains(reply), "chats[{i}]: reply to {reply}");
        }
    }
}

#[test]
fn references_name_written_documents() {
    for n in [1, 2, 3, 20] {
        check_all_references(n);
    }
}

/// The key of a value for uniqueness: ObjectIds and 24-hex strings alike, as hex.
fn key(value: &Bson) -> String {
    match value {
        Bson::ObjectId(oid) => oid.to_hex(),
        Bson::String(s) => ObjectId::parse_str(s).map_or_else(|_| s.clone(), |o| o.to_hex()),
        other => other.to_string(),
    }
}

/// Asserts that the combined values at `paths` are distinct over the documents `filter` keeps.
/// A single path may hold several values per document (array items): each counts.
fn assert_unique(
    dump: &BTreeMap<&'static str, Read>,
    collection: &str,
    paths: &[&str],
    filter: fn(&Document) -> bool,
) {
    let mut seen = HashSet::new();
    for doc in dump[collection].good().iter().filter(|d| filter(d)) {
        let keys: Vec<Vec<String>> = paths
            .iter()
            .map(|p| values(doc, p).into_iter().map(key).collect())
            .collect();
        if keys.iter().any(Vec::is_empty) {
            continue; // a partial or sparse index skips documents without the value
        }
        let combined: Vec<Vec<String>> = if paths.len() == 1 {
            keys[0].iter().map(|k| vec![k.clone()]).collect()
        } else {
            vec![keys.into_iter().map(|k| k.join(",")).collect()]
        };
        for k in combined {
            assert!(
                seen.insert(k.clone()),
                "{collection} {paths:?}: duplicate {k:?}"
            );
        }
    }
}

fn all(_: &Document) -> bool {
    true
}

#[test]
fn unique_indexes_hold() {
    let dump = write_and_read("uniques", 60, true);
    let uniques: &[(&str, &[&str])] = &[
        ("blogposts", &["slug"]),
        ("categories", &["slug"]),
        ("configsettings", &["key"]),
        ("deriveddestinations", &["address"]),
        (
            "deriveddestinations",
            &["trezorAccountId", "derivationIndex"],
        ),
        ("fundsledgerentries", &["idempotencyKey"]),
        ("levelconfigs", &["level"]),
        ("payments", &["provider", "providerPaymentId"]),
        ("reviews", &["reviewerId", "purchaseRequestId"]),
        ("selleroffers", &["purchaseRequestId", "sellerId"]),
        ("shopsettings", &["sellerId"]),
        ("telegramlinks", &["telegramUserId"]),
        ("telegramlinks", &["userId"]),
        ("trezoraccounts", &["xpub"]),
        ("trezoraccounts", &["addresses.address"]),
        ("users", &["email"]),
        ("users", &["username"]),
        ("users", &["referralCode"]),
        ("users", &["telegramId"]),
        ("users", &["passkeys.credentialId"]),
    ];
    for (collection, paths) in uniques {
        assert_unique(&dump, collection, paths, all);
    }
    assert_unique(&dump, "addresses", &["userId"], |d| {
        d.get_bool("isPrimary").unwrap_or(false)
    });
    let mut active_names = HashSet::new();
    for c in dump["categories"].good() {
        if c.get_bool("isActive").unwrap_or(true) {
            let name = c.get_str("name").expect("a name").trim().to_lowercase();
            assert!(
                active_names.insert(name.clone()),
                "active category {name:?} twice"
            );
        }
    }
    assert_unique_ids(&dump);
}

/// Every `_id`, of documents and of embedded items, is distinct across the dump.
fn assert_unique_ids(dump: &BTreeMap<&'static str, Read>) {
    fn walk(value: &Bson, seen: &mut HashSet<ObjectId>) {
        match value {
            Bson::Document(doc) => {
                for (k, v) in doc {
                    if let (true, Bson::ObjectId(oid)) = (k == "_id", v) {
                        assert!(seen.insert(*oid), "_id {oid} twice");
                    }
                    walk(v, seen);
                }
            }
            Bson::Array(items) => items.iter().for_each(|v| walk(v, seen)),
            _ => {}
        }
    }
    let mut seen = HashSet::new();
    for read in dump.values() {
        for doc in &read.docs {
            walk(&Bson::Document(doc.clone()), &mut seen);
        }
    }
}

/// The position of the document with `_id` = `oid` in `collection`.
fn position(dump: &BTreeMap<&'static str, Read>, collection: &str, oid: ObjectId) -> usize {
    dump[collection]
        .docs
        .iter()
        .position(|d| d.get_object_id("_id").ok() == Some(oid))
        .unwrap_or_else(|| panic!("{oid} not in {collection}"))
}

#[test]
fn the_shapes_a_loader_must_order_are_present() {
    let dump = write_and_read("shapes", 20, false);
    let forward_parent = dump["categories"].docs.iter().enumerate().any(|(i, c)| {
        c.get_object_id("parentId")
            .is_ok_and(|p| position(&dump, "categories", p) > i)
    });
    assert!(forward_parent, "no category names a later parent");

    let referred = dump["users"]
        .docs
        .iter()
        .filter(|u| u.contains_key("referredBy"));
    assert!(referred.count() > 1, "no referred users");

    let cycle = dump["purchaserequests"].docs.iter().any(|r| {
        r.get_object_id("selectedOfferId").is_ok_and(|offer| {
            let offer = &dump["selleroffers"].docs[position(&dump, "selleroffers", offer)];
            offer.get("purchaseRequestId").map(key) == r.get("_id").map(key)
        })
    });
    assert!(cycle, "no purchase request selects an offer made on it");

    let reversal = dump["fundsledgerentries"]
        .docs
        .iter()
        .enumerate()
        .any(|(i, e)| {
            e.get_object_id("reversesEntryId")
                .is_ok_and(|r| position(&dump, "fundsledgerentries", r) < i)
        });
    assert!(reversal, "no ledger entry reverses an earlier one");

    let mutual = dump["chats"].docs.iter().any(|c| {
        c.get_object_id("disputeId").is_ok_and(|d| {
            let dispute = &dump["disputes"].docs[position(&dump, "disputes", d)];
            dispute.get("chatId") == c.get("_id")
        })
    });
    assert!(mutual, "no chat and dispute name each other");

    for (collection, path) in [
        ("payments", "purchaseRequestId"),
        ("payments", "sellerId"),
        ("payments", "sellerOfferId"),
        ("fundsledgerentries", "createdBy"),
        ("fundsledgerentries", "paymentId"),
        ("disputes", "chatId"),
        ("deriveddestinations", "sellerId"),
    ] {
        let kinds: BTreeSet<&str> = dump[collection]
            .docs
            .iter()
            .filter_map(|d| match d.get(path) {
                Some(Bson::ObjectId(_)) => Some("ObjectId"),
                Some(Bson::String(_)) => Some("string"),
                _ => None,
            })
            .collect();
        assert_eq!(kinds.len(), 2, "{collection}.{path} is only {kinds:?}");
    }
}

#[test]
fn two_runs_write_the_same_bytes() {
    let (a, b) = (TempDir::new("same-a"), TempDir::new("same-b"));
    let first = sample::write_dump(&a.0, 7, true).expect("the first dump");
    let second = sample::write_dump(&b.0, 7, true).expect("the second dump");
    assert_eq!(first, second);
    for w in &first {
        let file = format!("{}.bson", w.collection);
        let bytes_a = std::fs::read(a.0.join(&file)).expect("the first file");
        let bytes_b = std::fs::read(b.0.join(&file)).expect("the second file");
        assert!(!bytes_a.is_empty(), "{file} is empty");
        assert!(bytes_a == bytes_b, "{file} differs between runs");
    }
}
