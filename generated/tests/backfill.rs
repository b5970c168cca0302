//! The backfill on a real PostgreSQL, from mongodump directories written by the tests from the
//! pymongo fixtures: good and bad documents, re-runs, a run killed in the middle, references that
//! point forward, in a cycle or nowhere.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{fixtures, read_lines};
use escrow_schema::schema::REGISTRY;
use schemac_backfill::fast::{Catalog, FastWay};
use schemac_backfill::{Options, Report, backfill};
use schemac_runtime::bson::{Bson, Document, RawDocumentBuf, oid::ObjectId};
use schemac_runtime::postgres::Client;
use schemac_runtime::transform::Mode;
use schemac_testdb::TestDb;

/// A migrated database.
fn migrated() -> (TestDb, Client) {
    let db = TestDb::new();
    let mut client = db.client();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let history = schemac::history::read(&dir).expect("generated/migrations");
    schemac::apply::apply(&mut client, &history, |_, _| {}).unwrap_or_else(|e| panic!("{e}"));
    (db, client)
}

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("schemac-backfill-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temp dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn good(collection: &str) -> Vec<Document> {
    read_lines(&fixtures().join(format!("good/{collection}.json")))
}

fn bad(collection: &str) -> Vec<Document> {
    read_lines(&fixtures().join(format!("bad/{collection}.json")))
}

/// Writes `<collection>.bson`: the documents, concatenated.
fn write_bson(dir: &Path, collection: &str, docs: &[Document]) {
    let mut bytes = Vec::new();
    for d in docs {
        bytes.extend(d.to_vec().expect("encodes"));
    }
    std::fs::write(dir.join(format!("{collection}.bson")), bytes).expect("writes");
}

/// Every collection's good documents followed by its bad ones.
fn good_and_bad_dump(dir: &Path) -> BTreeMap<String, (usize, Vec<String>)> {
    let mut expected = BTreeMap::new();
    for c in REGISTRY {
        let name = c.name();
        let (good, bad) = (good(name), bad(name));
        let bad_ids = bad
            .iter()
            .map(|d| {
                d.get_object_id("_id")
                    .expect("bad fixtures have ObjectIds")
                    .to_hex()
            })
            .collect();
        expected.insert(name.to_string(), (good.len(), bad_ids));
        write_bson(dir, name, &[good, bad].concat());
    }
    expected
}

fn options(dir: &Path) -> Options {
    let mut opts = Options::new(dir);
    opts.progress = false;
    opts
}

fn run(client: &mut Client, dir: &Path) -> Report {
    backfill(REGISTRY, client, &options(dir)).unwrap_or_else(|e| panic!("backfill: {e}"))
}

/// `verify` of the dump in `dir` against the database.
fn verify(
    client: &mut Client,
    dir: &Path,
) -> Result<schemac_backfill::verify::VerifyReport, schemac_backfill::load::Error> {
    schemac_backfill::verify::verify(
        REGISTRY,
        client,
        &schemac_backfill::verify::VerifyOptions::new(dir),
    )
}

/// Verify finds the database and the dump in `dir` the same.
fn assert_verifies(client: &mut Client, dir: &Path) {
    let verified = verify(client, dir).unwrap_or_else(|e| panic!("verify: {e}"));
    assert!(verified.ok(), "{verified}");
}

/// The content of every table of the catalogue and of id_map and pg_dualwrite_gaps, without
/// the columns a run stamps with the clock (id_map.created_at, a gap's id and times).
fn fingerprint(client: &mut Client) -> BTreeMap<String, (i64, String)> {
    let mut out = BTreeMap::new();
    let mut tables: Vec<&str> = REGISTRY
        .iter()
        .flat_map(|c| c.tables().iter().map(|t| t.name))
        .collect();
    tables.sort();
    let mut queries: Vec<(String, String)> = tables
        .iter()
        .map(|t| (t.to_string(), format!("SELECT x::text FROM public.{t} x")))
        .collect();
    queries.push((
        "id_map".into(),
        "SELECT (collection, legacy_object_id, id)::text FROM id_map".into(),
    ));
    queries.push((
        "pg_dualwrite_gaps".into(),
        "SELECT (collection, legacy_object_id, operation, error, md5(document), attempts, \
         resolved_at)::text FROM pg_dualwrite_gaps"
            .into(),
    ));
    for (name, query) in queries {
        let row = client
            .query_one(
                &format!("SELECT count(*), coalesce(md5(string_agg(r, '|' ORDER BY r)), '') FROM ({query}) q(r)"),
                &[],
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        out.insert(name, (row.get(0), row.get(1)));
    }
    out
}

fn count(client: &mut impl schemac_runtime::postgres::GenericClient, sql: &str) -> i64 {
    client
        .query_one(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

/// A copy of the first good payment with its own `_id` and unique keys, whose buyer is `buyer`.
fn stray_payment(id: &str, buyer: &str) -> Document {
    let mut stray = good("payments")[0].clone();
    stray.insert("_id", oid(id));
    stray.insert("buyerId", oid(buyer));
    for key in ["idempotencyKey", "providerPaymentId", "reference"] {
        if let Some(Bson::String(s)) = stray.get(key).cloned() {
            stray.insert(key, format!("{s}-stray"));
        }
    }
    stray
}

/// The error recorded in pg_dualwrite_gaps for the document `_id`.
fn gap_error(client: &mut Client, legacy_object_id: &str) -> String {
    client
        .query_one(
            "SELECT error FROM pg_dualwrite_gaps WHERE legacy_object_id = $1",
            &[&legacy_object_id],
        )
        .unwrap_or_else(|e| panic!("the gap of {legacy_object_id}: {e}"))
        .get(0)
}

/// The session's `session_replication_role` (`origin` unless something turned triggers off).
fn replication_role(client: &mut impl schemac_runtime::postgres::GenericClient) -> String {
    client
        .query_one("SHOW session_replication_role", &[])
        .expect("SHOW")
        .get(0)
}

#[test]
fn good_and_bad_documents_every_bad_one_in_the_gaps_and_counts_add_up() {
    let scratch = Scratch::new("mixed");
    let expected = good_and_bad_dump(&scratch.0);
    let (_db, mut client) = migrated();
    let report = run(&mut client, &scratch.0);

    assert!(report.not_in_catalogue.is_empty());
    assert!(report.dangling.is_empty(), "{report}");
    assert_eq!(report.collections.len(), 23);
    for c in &report.collections {
        let (good, bad_ids) = &expected[&c.collection];
        assert_eq!(c.documents as usize, good + bad_ids.len(), "{report}");
        assert_eq!(c.inserted as usize, *good, "{}: {report}", c.collection);
        assert_eq!(c.present, 0);
        assert_eq!(c.gaps as usize, bad_ids.len(), "{}: {report}", c.collection);
        assert_eq!(c.documents, c.inserted + c.present + c.gaps);

        let root = REGISTRY
            .iter()
            .find(|r| r.name() == c.collection)
            .unwrap()
            .tables()[0]
            .name;
        assert_eq!(
            count(&mut client, &format!("SELECT count(*) FROM {root}")) as usize,
            *good
        );
        let mut gaps: Vec<String> = client
            .query(
                "SELECT legacy_object_id FROM pg_dualwrite_gaps
                 WHERE collection = $1 AND resolved_at IS NULL AND operation = 'backfill'
                   AND document IS NOT NULL AND error <> ''",
                &[&c.collection],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        gaps.sort();
        let mut want = bad_ids.clone();
        want.sort();
        assert_eq!(gaps, want, "{}", c.collection);
    }
    // Every loaded document has its id_map row: its collection, its ObjectId and the uuid of
    // its root row, and nothing else is there.
    let roots: i64 = report.collections.iter().map(|c| c.inserted as i64).sum();
    assert_eq!(count(&mut client, "SELECT count(*) FROM id_map"), roots);
    for c in REGISTRY {
        let root = c.tables()[0].name;
        let matching = count(
            &mut client,
            &format!(
                "SELECT count(*) FROM id_map m JOIN {root} r USING (legacy_object_id, id) \
                 WHERE m.collection = '{}'",
                c.name()
            ),
        );
        let rows = count(&mut client, &format!("SELECT count(*) FROM {root}"));
        assert_eq!((c.name(), matching), (c.name(), rows));
    }
    // A gap keeps the raw BSON, byte for byte: it decodes to the bad document.
    let (payload, error): (Vec<u8>, String) = {
        let id = &expected["payments"].1[0];
        let row = client
            .query_one(
                "SELECT document, error FROM pg_dualwrite_gaps WHERE legacy_object_id = $1",
                &[id],
            )
            .unwrap();
        (row.get(0), row.get(1))
    };
    let decoded = schemac_runtime::bson::Document::from_reader(payload.as_slice()).unwrap();
    assert_eq!(decoded, bad("payments")[0]);
    assert!(error.contains("amount"), "{error}");

    let text = report.to_string();
    assert!(
        text.contains("collection") && text.contains("payments.bson"),
        "{text}"
    );
    assert!(text.contains("pg_dualwrite_gaps"), "{text}");
}

#[test]
fn a_second_run_changes_nothing() {
    let scratch = Scratch::new("rerun");
    good_and_bad_dump(&scratch.0);
    let (_db, mut client) = migrated();
    run(&mut client, &scratch.0);
    let before = fingerprint(&mut client);
    let again = run(&mut client, &scratch.0);
    assert_eq!(fingerprint(&mut client), before);
    assert!(again.collections.iter().all(|c| c.read_now == 0), "{again}");
    // Nothing was staged for them: no batch, the fast way not even prepared, `-` in the
    // summary's checks column.
    assert!(
        again
            .collections
            .iter()
            .all(|c| c.batches == 0 && !c.bulk_checks && c.resumed_after == 0),
        "{again}"
    );
    let summary = again.to_string();
    let users = summary.lines().find(|l| l.starts_with("users ")).unwrap();
    assert!(users.ends_with(" -"), "{summary}");
    assert!(
        summary.contains(" gaps (0 read by this run); "),
        "{summary}"
    );
    // Forgetting the checkpoints reads everything again: nothing new, only attempts counted.
    let mut opts = options(&scratch.0);
    opts.restart = true;
    let restarted = backfill(REGISTRY, &mut client, &opts).unwrap();
    assert!(
        restarted.collections.iter().all(|c| c.inserted == 0),
        "{restarted}"
    );
    let after = fingerprint(&mut client);
    for (table, value) in &before {
        if table != "pg_dualwrite_gaps" {
            assert_eq!(&after[table], value, "{table}");
        }
    }
    assert_eq!(
        count(
            &mut client,
            "SELECT count(*) FROM pg_dualwrite_gaps WHERE attempts <> 2"
        ),
        0
    );
}

/// Loading independent collections on parallel connections (`jobs`) ends in the same database,
/// with the same per-collection counts, as loading one collection at a time: on the good and
/// bad fixtures (cycles, self-references, gaps) and with every reference pointing forward.
#[test]
fn parallel_jobs_load_the_same_database_as_one_at_a_time() {
    let scratch = Scratch::new("jobs");
    good_and_bad_dump(&scratch.0);
    let counts = |r: &Report| -> Vec<(String, u64, u64, u64, u64)> {
        r.collections
            .iter()
            .map(|c| {
                (
                    c.collection.clone(),
                    c.documents,
                    c.inserted,
                    c.present,
                    c.gaps,
                )
            })
            .collect()
    };
    let (_one_db, mut one) = migrated();
    let sequential = run(&mut one, &scratch.0);
    let (many_db, mut many) = migrated();
    let mut opts = options(&scratch.0);
    opts.jobs = 4;
    opts.connect = Some(many_db.url().parse().expect("the test database's url"));
    let parallel = backfill(REGISTRY, &mut many, &opts).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(counts(&parallel), counts(&sequential));
    assert_eq!(parallel.dangling.len(), sequential.dangling.len());
    assert_eq!(fingerprint(&mut many), fingerprint(&mut one));
    // The other sessions are gone, and took nothing with them: a second run changes nothing.
    let again = backfill(REGISTRY, &mut many, &opts).unwrap();
    assert!(again.collections.iter().all(|c| c.read_now == 0), "{again}");
    assert_eq!(fingerprint(&mut many), fingerprint(&mut one));
}

#[test]
fn bulk_reference_checks_load_the_same_database_as_row_by_row_checks() {
    // Good and bad documents, and a payment whose buyer is in no dump: the bulk check must
    // find it, and the row-checked retry name it, as row-by-row checks do.
    let scratch = Scratch::new("checks");
    good_and_bad_dump(&scratch.0);
    let mut payments = good("payments");
    payments.push(stray_payment(
        "64000000b3b3b3b3b3b3b3b3",
        "64000000cececececececece",
    ));
    payments.extend(bad("payments"));
    write_bson(&scratch.0, "payments", &payments);

    let (_row_db, mut row) = migrated();
    let mut opts = options(&scratch.0);
    opts.bulk_checks = false;
    let by_row = backfill(REGISTRY, &mut row, &opts).unwrap_or_else(|e| panic!("{e}"));
    assert!(by_row.collections.iter().all(|c| !c.bulk_checks));
    assert!(!by_row.bulk_checks_refused);

    let (_bulk_db, mut bulk) = migrated();
    let in_bulk = run(&mut bulk, &scratch.0);
    // Every collection may take the fast way (no INSERT trigger here ignores the backfill),
    // those without a foreign key too: they have nothing to check but still skip `ON CONFLICT`.
    assert!(
        in_bulk.collections.iter().all(|c| c.bulk_checks),
        "{in_bulk}"
    );
    let level_configs = in_bulk
        .collections
        .iter()
        .find(|c| c.collection == "levelconfigs")
        .expect("levelconfigs in the report");
    assert!(level_configs.batches > 0, "{in_bulk}");
    assert_eq!(
        level_configs.fast_batches, level_configs.batches,
        "{in_bulk}"
    );
    // The stray payment sends its batch (the only one) the usual way; other collections'
    // batches load the fast way; the summary says which.
    let line = |name: &str| -> String {
        in_bulk
            .to_string()
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} line: {in_bulk}"))
            .to_string()
    };
    let payments = in_bulk
        .collections
        .iter()
        .find(|c| c.collection == "payments");
    assert_eq!(payments.map(|c| c.fast_batches), Some(0));
    assert!(line("payments").ends_with(" row"), "{in_bulk}");
    let fast = in_bulk
        .collections
        .iter()
        .find(|c| c.batches > 0 && c.fast_batches == c.batches)
        .unwrap_or_else(|| panic!("a collection loaded the fast way: {in_bulk}"));
    assert!(line(&fast.collection).ends_with(" bulk"), "{in_bulk}");

    assert_eq!(fingerprint(&mut bulk), fingerprint(&mut row));
    let gaps = |r: &Report| -> Vec<(String, u64, u64, u64)> {
        r.collections
            .iter()
            .map(|c| (c.collection.clone(), c.documents, c.inserted, c.gaps))
            .collect()
    };
    assert_eq!(gaps(&in_bulk), gaps(&by_row));
    let error = gap_error(&mut bulk, "64000000b3b3b3b3b3b3b3b3");
    assert!(
        error.contains("dangling reference: buyerId names users 64000000cececececececece"),
        "{error}"
    );
    // Nothing was left in replica mode: the session checks foreign keys again.
    assert_eq!(replication_role(&mut bulk), "origin");
}

#[test]
fn a_batch_with_documents_already_there_loads_the_new_ones_and_counts_the_rest_present() {
    // The first half of every collection is loaded (as the dual-write would have written it),
    // then the whole dump, one document per batch: the batches of present documents cannot
    // load the fast way (plain inserts fail on a unique key) and are merged; after two such
    // batches in a row the rest of the collection is merged without trying.
    let (half, whole) = (Scratch::new("half"), Scratch::new("whole"));
    for c in REGISTRY {
        let docs = good(c.name());
        write_bson(&half.0, c.name(), &docs[..docs.len() / 2]);
        write_bson(&whole.0, c.name(), &docs);
    }
    let mut opts = options(&whole.0);
    opts.batch_size = 1;
    // A fresh database: every batch of a collection with bulk checks loads the fast way but
    // for the batches of documents that fail. (One document per batch makes a ledger entry
    // that names a later one a gap: an append-only table's reference cannot be filled in
    // afterwards.)
    let (_fresh_db, mut fresh) = migrated();
    let fresh_report = backfill(REGISTRY, &mut fresh, &opts).unwrap_or_else(|e| panic!("{e}"));
    for c in fresh_report.collections.iter().filter(|c| c.bulk_checks) {
        assert_eq!(c.fast_batches + c.gaps, c.batches, "{fresh_report}");
    }

    let (_db, mut client) = migrated();
    // (A document of the first half that names one of the second is a gap of this run.)
    let first = run(&mut client, &half.0);
    let report = backfill(REGISTRY, &mut client, &opts).unwrap_or_else(|e| panic!("{e}"));
    let mut merged_after_two = 0;
    let collections = report.collections.iter().zip(&first.collections);
    for ((c, before), alone) in collections.zip(&fresh_report.collections) {
        let n = good(&c.collection).len() as u64;
        assert_eq!(c.batches, n, "{report}");
        assert_eq!(c.present, before.inserted, "{report}");
        assert_eq!((c.gaps, c.documents), (alone.gaps, n), "{report}");
        assert_eq!(c.inserted + c.present + c.gaps, n, "{report}");
        // Its first two documents were there: never the fast way again in this collection.
        if c.bulk_checks && before.gaps == 0 && n / 2 >= 2 {
            assert_eq!(c.fast_batches, 0, "{}: {report}", c.collection);
            merged_after_two += 1;
        }
    }
    assert!(merged_after_two >= 5, "{report}");
    let mixed = report
        .collections
        .iter()
        .filter(|c| c.present > 0 && c.inserted > 0)
        .count();
    assert!(mixed >= 15, "{report}");
    // The same rows as one load of the whole dump (the first run's gaps stay recorded).
    let (mut loaded, mut expected) = (fingerprint(&mut client), fingerprint(&mut fresh));
    loaded.remove("pg_dualwrite_gaps");
    expected.remove("pg_dualwrite_gaps");
    assert_eq!(loaded, expected);
}

/// A migrated database with the good users loaded by a backfill: what the tests that drive the
/// fast way by hand reference. `name` names the scratch dump (unique per test: tests run at
/// once).
/// A scratch dump of every collection's good documents.
fn good_dump(name: &str) -> Scratch {
    let scratch = Scratch::new(name);
    for c in REGISTRY {
        write_bson(&scratch.0, c.name(), &good(c.name()));
    }
    scratch
}

/// A migrated database to which `sql` was then applied.
fn migrated_with(sql: &str) -> (TestDb, Client) {
    let (db, mut client) = migrated();
    client.batch_execute(sql).unwrap();
    (db, client)
}

fn users_loaded(name: &str) -> (TestDb, Client) {
    let scratch = Scratch::new(name);
    write_bson(&scratch.0, "users", &good("users"));
    let (db, mut client) = migrated();
    run(&mut client, &scratch.0);
    (db, client)
}

#[test]
fn the_bulk_check_locks_the_rows_it_references_until_the_batch_ends() {
    // The users are loaded; an address of one of them is then inserted the fast way.
    let (db, mut client) = users_loaded("lock");
    let addresses = schemac_runtime::registry::find(REGISTRY, "addresses").unwrap();
    let address = &good("addresses")[0];
    let raw = RawDocumentBuf::try_from(address).unwrap();
    let (rows, _) = addresses.transform(&raw, Mode::Strict).unwrap();
    let owner = address.get_object_id("userId").unwrap().to_hex();

    // Another session's FOR UPDATE NOWAIT on the user: what a DELETE of it must take first.
    let mut other = db.client();
    let mut try_lock = |user: schemac_runtime::uuid::Uuid| {
        other
            .query(
                "SELECT 1 FROM users WHERE id = $1 FOR UPDATE NOWAIT",
                &[&user],
            )
            .map(|rows| rows.len())
    };

    let mut tx = client.transaction().unwrap();
    let catalog = Catalog::read(&mut tx, [addresses]).unwrap();
    let fast_way = FastWay::prepare(&mut tx, &catalog, addresses, &[])
        .unwrap()
        .expect("no trigger keeps addresses from the fast way");
    let user: schemac_runtime::uuid::Uuid = tx
        .query_one(
            "SELECT id FROM users WHERE legacy_object_id = $1",
            &[&owner],
        )
        .unwrap()
        .get(0);
    assert_eq!(try_lock(user).unwrap(), 1, "nothing holds the user yet");
    let unresolved = fast_way.load(&mut tx, &[rows.as_ref()]).unwrap();
    assert_eq!(
        unresolved.map(|u| u.len()),
        Some(0),
        "loaded, nothing deferred"
    );
    assert_eq!(
        count(&mut tx, "SELECT count(*) FROM addresses"),
        1,
        "the row is in the real table"
    );
    let refused = try_lock(user).expect_err("the check holds a lock on the user");
    assert_eq!(
        refused.code(),
        Some(&schemac_runtime::postgres::error::SqlState::LOCK_NOT_AVAILABLE),
        "{refused}"
    );
    // And the session checks foreign keys again within the same transaction.
    assert_eq!(replication_role(&mut tx), "origin");
    tx.rollback().unwrap();
    assert_eq!(try_lock(user).unwrap(), 1, "released with the batch");
}

/// A document's rows with one value of one table changed: rows that generated code never
/// writes, for the checks that must catch them anyway.
struct Tampered {
    inner: Box<dyn schemac_runtime::registry::Rows>,
    table: usize,
    column: usize,
    value: schemac_runtime::uuid::Uuid,
}

impl schemac_runtime::registry::Rows for Tampered {
    fn id(&self) -> schemac_runtime::uuid::Uuid {
        self.inner.id()
    }
    fn legacy_object_id(&self) -> &str {
        self.inner.legacy_object_id()
    }
    fn each_row<'r>(
        &'r self,
        table: usize,
        sink: &mut schemac_runtime::registry::RowSink<'r, '_>,
    ) -> Result<(), schemac_runtime::postgres::Error> {
        self.inner.each_row(table, &mut |params| {
            let mut params = params.to_vec();
            if table == self.table {
                params[self.column] = &self.value;
            }
            sink(&params)
        })
    }
    fn row_count(&self, table: usize) -> usize {
        self.inner.row_count(table)
    }
    fn has_row(&self, table: usize, id: schemac_runtime::uuid::Uuid) -> bool {
        self.inner.has_row(table, id)
    }
    fn to_mongo(&self) -> Result<Document, schemac_runtime::TransformError> {
        self.inner.to_mongo()
    }
}

#[test]
fn a_child_row_whose_parent_is_not_in_the_batch_fails_the_fast_way() {
    // The fast way does not look up a child row's parent when the batch copied it. A message
    // whose chat_id names no chat of the batch (nor any row) must not load with the foreign
    // key triggers off: its key is looked up like any other, so the batch fails instead, and
    // the usual way refuses the row.
    let (_db, mut client) = users_loaded("escape");
    let chats = schemac_runtime::registry::find(REGISTRY, "chats").unwrap();
    let chat = good("chats")
        .into_iter()
        .find(|c| {
            c.get_array("messages").is_ok_and(|m| !m.is_empty())
                && matches!(c.get("purchaseRequestId"), None | Some(Bson::Null))
                && matches!(c.get("disputeId"), None | Some(Bson::Null))
        })
        .expect("a good chat with messages and no request or dispute");
    let raw = RawDocumentBuf::try_from(&chat).unwrap();
    let table = chats
        .tables()
        .iter()
        .position(|t| t.name == "chat_messages")
        .unwrap();
    let column = chats.tables()[table]
        .columns
        .iter()
        .position(|c| *c == "chat_id")
        .unwrap();
    let catalog = Catalog::read(&mut client, [chats]).unwrap();
    let fast_way = FastWay::prepare(&mut client, &catalog, chats, &[])
        .unwrap()
        .expect("no trigger keeps chats from the fast way");
    let load = |client: &mut Client, value| {
        let (rows, _) = chats.transform(&raw, Mode::Strict).unwrap();
        let rows = Tampered {
            inner: rows,
            table,
            column,
            value,
        };
        let mut tx = client.transaction().unwrap();
        let loaded = fast_way.load(&mut tx, &[&rows]).unwrap().is_some();
        tx.rollback().unwrap();
        loaded
    };
    let (rows, _) = chats.transform(&raw, Mode::Strict).unwrap();
    assert!(load(&mut client, rows.id()), "untampered, the chat loads");
    assert!(
        !load(&mut client, schemac_runtime::uuid::Uuid::from_u128(7)),
        "a message of no chat fails the check"
    );
}

#[test]
fn the_fast_way_writes_a_deferred_reference_whose_target_is_loaded_or_in_the_batch() {
    // Categories reference their parent (deferred: it may come later in the dump). Loaded the
    // fast way: a parent in the same batch or already in the table is written at once; one in
    // neither is sent NULL and returned, to be filled in later.
    let (_db, mut client) = migrated();
    let categories = schemac_runtime::registry::find(REGISTRY, "categories").unwrap();
    let steps = schemac_backfill::order::order(&[categories]).unwrap();
    assert_eq!(steps[0].deferred.len(), 1, "parentId is deferred");
    let catalog = Catalog::read(&mut client, [categories]).unwrap();
    let fast_way = FastWay::prepare(&mut client, &catalog, categories, &steps[0].deferred)
        .unwrap()
        .expect("no trigger keeps categories from the fast way");
    let category = |id: &str, parent: Option<&str>| {
        let mut doc = good("categories")[0].clone();
        doc.insert("_id", oid(id));
        doc.insert("slug", id);
        doc.insert("name", id);
        doc.insert(
            "parentId",
            parent.map_or(Bson::Null, |p| Bson::ObjectId(oid(p))),
        );
        let raw = RawDocumentBuf::try_from(&doc).unwrap();
        categories.transform(&raw, Mode::Strict).unwrap().0
    };
    let (root, child, orphan) = (
        "64000000000000000000000a",
        "64000000000000000000000b",
        "64000000000000000000000c",
    );
    let nowhere = "64000000000000000000000f";
    let load = |client: &mut Client, docs: &[&dyn schemac_runtime::registry::Rows]| {
        let mut tx = client.transaction().unwrap();
        let unresolved = fast_way.load(&mut tx, docs).unwrap().expect("loads");
        tx.commit().unwrap();
        unresolved
    };
    // The child comes before its parent in the batch.
    let first = [category(child, Some(root)), category(root, None)];
    let unresolved = load(&mut client, &[first[0].as_ref(), first[1].as_ref()]);
    assert!(unresolved.is_empty(), "{unresolved:?}");
    // A later batch: one whose parent is loaded, one whose parent is nowhere yet.
    let second = [
        category(orphan, Some(nowhere)),
        category("64000000000000000000000d", Some(child)),
    ];
    let unresolved = load(&mut client, &[second[0].as_ref(), second[1].as_ref()]);
    assert_eq!(unresolved.len(), 1, "{unresolved:?}");
    assert_eq!(
        (unresolved[0].row, unresolved[0].target),
        (
            second[0].id(),
            schemac_runtime::ids::uuid_from_object_id(&oid(nowhere))
        )
    );
    let parents: Vec<(String, Option<String>)> = client
        .query(
            "SELECT c.legacy_object_id, p.legacy_object_id FROM categories c
             LEFT JOIN categories p ON p.id = c.parent_id ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let expected = [
        (root, None),
        (child, Some(root)),
        (orphan, None),
        ("64000000000000000000000d", Some(child)),
    ];
    let expected: Vec<(String, Option<String>)> = expected
        .iter()
        .map(|(c, p)| (c.to_string(), p.map(str::to_string)))
        .collect();
    assert_eq!(parents, expected);
}

/// A login role with the privileges a backfill needs on one database and no more: not a
/// superuser, so it may not set `session_replication_role`. Dropped with what it owns.
struct Loader<'a> {
    db: &'a TestDb,
    name: String,
}

impl<'a> Loader<'a> {
    fn new(db: &'a TestDb) -> Loader<'a> {
        let name = format!("{}_loader", db.name());
        let mut admin = db.client();
        admin
            .batch_execute(&format!(
                "CREATE ROLE \"{name}\" LOGIN PASSWORD 'loader';
                 GRANT CREATE, TEMP ON DATABASE \"{db}\" TO \"{name}\";
                 GRANT USAGE ON SCHEMA public TO \"{name}\";
                 GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO \"{name}\";
                 GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO \"{name}\";",
                db = db.name()
            ))
            .unwrap_or_else(|e| panic!("creating the role: {e}"));
        Loader { db, name }
    }

    fn client(&self) -> Client {
        let mut config: schemac_runtime::postgres::Config =
            self.db.url().parse().expect("the test database's url");
        config.user(&self.name).password("loader");
        config
            .connect(schemac_runtime::postgres::NoTls)
            .unwrap_or_else(|e| panic!("connecting as {}: {e}", self.name))
    }
}

impl Drop for Loader<'_> {
    fn drop(&mut self) {
        let mut admin = self.db.client();
        let sql = format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{name}';
             DROP OWNED BY \"{name}\"; DROP ROLE \"{name}\";",
            name = self.name
        );
        if let Err(e) = admin.batch_execute(&sql) {
            eprintln!("dropping role {}: {e}", self.name);
        }
    }
}

#[test]
fn a_role_that_may_not_turn_triggers_off_loads_with_row_checks_and_says_so() {
    let scratch = Scratch::new("role");
    good_and_bad_dump(&scratch.0);
    let (db, mut admin) = migrated();
    let loader = Loader::new(&db);
    let mut client = loader.client();
    let report = run(&mut client, &scratch.0);
    assert!(report.bulk_checks_refused, "{report}");
    assert!(report.collections.iter().all(|c| !c.bulk_checks));
    assert!(
        report.to_string().contains(
            "references checked row by row: this role may not set session_replication_role"
        ),
        "{report}"
    );
    drop(client);
    // The same database as a role that checks in bulk loads.
    let (_other_db, mut other) = migrated();
    run(&mut other, &scratch.0);
    assert_eq!(fingerprint(&mut admin), fingerprint(&mut other));
}

#[test]
fn a_killed_run_resumes_to_the_same_end_state() {
    let scratch = Scratch::new("killed");
    good_and_bad_dump(&scratch.0);
    let (_clean_db, mut clean) = migrated();
    run(&mut clean, &scratch.0);
    let want = fingerprint(&mut clean);

    let (db, mut client) = migrated();
    // Hold the third payment's row in an open transaction: the backfill blocks on it after
    // committing the first two payments (batches of one), and is killed there.
    let mut holder = db.client();
    let mut hold = holder.transaction().unwrap();
    hold.execute("SET LOCAL session_replication_role = replica", &[])
        .unwrap();
    let raw = schemac_runtime::bson::RawDocumentBuf::try_from(&good("payments")[2]).unwrap();
    let (rows, _) =
        escrow_schema::schema::payment::from_mongo(&raw, schemac_runtime::transform::Mode::Strict)
            .unwrap();
    rows.insert(&mut hold).unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_escrow-schema"))
        .args(["backfill", "--no-progress", "--batch-size", "1", "--dump"])
        .arg(&scratch.0)
        .args(["--database-url", db.url()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the escrow-schema binary");
    let started = Instant::now();
    loop {
        let waiting = count(
            &mut client,
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        );
        if waiting > 0 {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the backfill ended before it blocked: {status}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the backfill never blocked"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    hold.rollback().unwrap();
    // The killed client's server session ends once its blocked statement returns.
    let started = Instant::now();
    while count(
        &mut client,
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'",
    ) > 0
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the killed session lingers"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let committed: i64 = client
        .query_one(
            "SELECT documents FROM schemac.backfill_progress WHERE collection = 'payments'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(committed, 2, "two payments were committed before the kill");
    assert_eq!(count(&mut client, "SELECT count(*) FROM payments"), 2);

    let resumed = run(&mut client, &scratch.0);
    let payments = resumed
        .collections
        .iter()
        .find(|c| c.collection == "payments")
        .unwrap();
    assert_eq!(payments.resumed_after, 2, "{resumed}");
    assert_eq!(fingerprint(&mut client), want);
}

fn oid(hex: &str) -> ObjectId {
    ObjectId::parse_str(hex).unwrap()
}

#[test]
fn forward_references_cycles_and_dangling_references() {
    let scratch = good_dump("refs");
    let dir = &scratch.0;
    // Categories: children before their parent (a forward self-reference), and one whose
    // parent is in no dump.
    let mut categories = good("categories");
    categories.reverse();
    let mut orphan = categories[0].clone();
    let orphan_id = "64000000a1a1a1a1a1a1a1a1";
    let missing_parent = "64000000dededededededede";
    orphan.insert("_id", oid(orphan_id));
    orphan.insert("parentId", oid(missing_parent));
    orphan.insert("name", "Orphan");
    orphan.insert("slug", "orphan");
    categories.push(orphan);
    write_bson(dir, "categories", &categories);
    // A payment whose buyer is in no dump.
    let mut payments = good("payments");
    let stray_id = "64000000b2b2b2b2b2b2b2b2";
    payments.push(stray_payment(stray_id, "64000000cdcdcdcdcdcdcdcd"));
    write_bson(dir, "payments", &payments);

    let (_db, mut client) = migrated();
    let report = run(&mut client, dir);

    // Categories, with a self-reference and an orphan, loaded the fast way: the orphan's
    // parent was set NULL there and deferred.
    let categories_report = report
        .collections
        .iter()
        .find(|c| c.collection == "categories")
        .unwrap();
    assert_eq!(
        (categories_report.fast_batches, categories_report.batches),
        (1, 1),
        "{report}"
    );
    // The forward self-references and the request <-> offer cycle were filled in.
    assert!(report.resolved > 0, "{report}");
    let with_parent = good("categories")
        .iter()
        .filter(|d| matches!(d.get("parentId"), Some(Bson::ObjectId(_))))
        .count() as i64;
    assert!(with_parent > 0);
    assert_eq!(
        count(
            &mut client,
            "SELECT count(*) FROM categories WHERE parent_id IS NOT NULL"
        ),
        with_parent
    );
    let selected = good("purchaserequests")
        .iter()
        .filter(|d| matches!(d.get("selectedOfferId"), Some(Bson::ObjectId(_))))
        .count() as i64;
    assert_eq!(
        count(
            &mut client,
            "SELECT count(*) FROM purchase_requests WHERE selected_offer_id IS NOT NULL"
        ),
        selected
    );

    // The orphan category: loaded with parent_id NULL, and in the gaps, named.
    assert_eq!(report.dangling.len(), 1, "{report}");
    let d = &report.dangling[0];
    assert_eq!(
        (d.collection.as_str(), d.legacy_object_id.as_str()),
        ("categories", orphan_id)
    );
    assert_eq!(d.target, missing_parent);
    assert_eq!(
        count(
            &mut client,
            &format!(
                "SELECT count(*) FROM categories WHERE legacy_object_id = '{orphan_id}' AND parent_id IS NULL"
            )
        ),
        1
    );
    let error = gap_error(&mut client, orphan_id);
    assert!(
        error.contains("parentId") && error.contains(missing_parent),
        "{error}"
    );

    // The stray payment: not loaded, in the gaps with the missing buyer named.
    assert_eq!(
        count(
            &mut client,
            &format!("SELECT count(*) FROM payments WHERE legacy_object_id = '{stray_id}'")
        ),
        0
    );
    let error = gap_error(&mut client, stray_id);
    assert!(
        error.contains("dangling reference: buyerId names users 64000000cdcdcdcdcdcdcdcd"),
        "{error}"
    );
    let p = report
        .collections
        .iter()
        .find(|c| c.collection == "payments")
        .unwrap();
    assert_eq!((p.inserted, p.gaps), (payments.len() as u64 - 1, 1));
}

#[test]
fn the_binary_exits_1_on_gaps_unless_allowed_and_2_on_a_bad_dump() {
    let scratch = Scratch::new("exit");
    good_and_bad_dump(&scratch.0);
    let (db, _client) = migrated();
    let bin = env!("CARGO_BIN_EXE_escrow-schema");
    let backfill = |extra: &[&str]| {
        Command::new(bin)
            .args(["backfill", "--no-progress", "--dump"])
            .arg(&scratch.0)
            .args(["--database-url", db.url()])
            .args(extra)
            .output()
            .expect("runs")
    };
    let first = backfill(&[]);
    assert_eq!(
        first.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(stdout.contains("gaps"), "{stdout}");
    let allowed = backfill(&["--allow-gaps"]);
    assert_eq!(allowed.status.code(), Some(0));
    // The report's reader stopped reading (`... | head`): not an error, the exit code stays the
    // backfill's. The report cannot be written (a full disk): exit 2 with a message, no panic.
    let rerun = || {
        let mut command = Command::new(bin);
        command
            .args(["backfill", "--no-progress", "--allow-gaps", "--dump"])
            .arg(&scratch.0)
            .args(["--database-url", db.url()])
            .stderr(Stdio::piped());
        command
    };
    let mut child = rerun().stdout(Stdio::piped()).spawn().expect("runs");
    drop(child.stdout.take());
    let closed = child.wait_with_output().expect("ends");
    let stderr = String::from_utf8_lossy(&closed.stderr);
    assert_eq!(closed.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    if cfg!(target_os = "linux") {
        let full = std::fs::File::create("/dev/full").expect("/dev/full on Linux");
        let full = rerun().stdout(full).output().expect("runs");
        let stderr = String::from_utf8_lossy(&full.stderr);
        assert_eq!(full.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("error: cannot write to standard output")
                && !stderr.contains("panicked"),
            "{stderr}"
        );
    }
    let json = backfill(&["--allow-gaps", "--format", "json"]);
    let value: schemac_runtime::serde_json::Value =
        schemac_runtime::serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(value["collections"].as_array().map(Vec::len), Some(23));

    let missing = Command::new(bin)
        .args([
            "backfill",
            "--dump",
            "/nonexistent/dump",
            "--database-url",
            db.url(),
        ])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/dump"));
    // The error cannot be written either (standard error on a full disk): still exit 2, the
    // code that says it, not 101 from `eprintln!`'s panic.
    if cfg!(target_os = "linux") {
        let full = std::fs::File::create("/dev/full").expect("/dev/full on Linux");
        let unheard = Command::new(bin)
            .args(["backfill", "--dump", "/nonexistent/dump", "--database-url"])
            .arg(db.url())
            .stderr(full)
            .output()
            .unwrap();
        assert_eq!(unheard.status.code(), Some(2));
    }

    // A batch of no documents is a usage error, not a silent batch of one.
    let empty_batch = backfill(&["--batch-size", "0"]);
    assert_eq!(empty_batch.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&empty_batch.stderr);
    assert!(stderr.contains("--batch-size"), "{stderr}");
}

/// A dump directory made of `dump/` with some collections taken from another fixture directory
/// (gzip, relaxed Extended JSON, a truncated file).
fn mixed_dump(dir: &Path, replaced: &[(&str, &str)]) {
    let good = fixtures().join("dump");
    for c in REGISTRY {
        let name = c.name();
        match replaced.iter().find(|(n, _)| *n == name) {
            Some((_, file)) => {
                let from = fixtures().join(file);
                let to = dir.join(from.file_name().expect("a file"));
                std::fs::copy(&from, &to).expect("copies the fixture");
            }
            None => {
                let file = format!("{name}.bson");
                std::fs::copy(good.join(&file), dir.join(&file)).expect("copies the dump");
            }
        }
    }
}

#[test]
fn gzip_and_relaxed_extended_json_load_and_verify() {
    let scratch = Scratch::new("formats");
    mixed_dump(
        &scratch.0,
        &[
            ("chats", "dump_gz/chats.bson.gz"),
            ("payments", "dump_gz/payments.bson.gz"),
            ("users", "relaxed/users.json"),
            ("telegramsessions", "relaxed/telegramsessions.json"),
        ],
    );
    let (_db, mut client) = migrated();
    let report = run(&mut client, &scratch.0);
    assert_eq!(report.gaps(), 0, "{report}");
    let source = |name: &str| {
        let c = report
            .collections
            .iter()
            .find(|c| c.collection == name)
            .unwrap();
        (c.source.clone(), c.inserted as usize)
    };
    assert_eq!(
        source("chats"),
        ("chats.bson.gz".into(), good("chats").len())
    );
    assert_eq!(source("users"), ("users.json".into(), good("users").len()));
    assert_verifies(&mut client, &scratch.0);
}

#[test]
fn a_truncated_dump_loads_every_complete_document_and_records_the_cut() {
    let scratch = Scratch::new("truncated");
    mixed_dump(&scratch.0, &[("payments", "truncated/payments.bson")]);
    let (_db, mut client) = migrated();
    let report = run(&mut client, &scratch.0);
    let payments = report
        .collections
        .iter()
        .find(|c| c.collection == "payments")
        .unwrap();
    let complete = good("payments").len() as u64 - 1;
    assert_eq!(
        (payments.inserted, payments.gaps),
        (complete, 1),
        "{report}"
    );
    assert_eq!(report.gaps(), 1, "{report}");
    let (id, error): (Option<String>, String) = {
        let row = client
            .query_one(
                "SELECT legacy_object_id, error FROM pg_dualwrite_gaps WHERE collection = 'payments'",
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(id, None);
    assert!(
        error.contains("payments.bson") && error.contains("truncated"),
        "{error}"
    );
}

#[test]
fn unknown_keys_are_gaps_in_strict_mode_and_reported_in_lenient_mode() {
    let scratch = good_dump("lenient");
    let dir = &scratch.0;
    let mut payments = good("payments");
    payments[0].insert("legacyFlag", true);
    write_bson(dir, "payments", &payments);

    let (_db, mut client) = migrated();
    let strict = run(&mut client, dir);
    let p = strict
        .collections
        .iter()
        .find(|c| c.collection == "payments")
        .unwrap();
    assert_eq!(p.gaps, 1, "{strict}");
    let error: String = client
        .query_one(
            "SELECT error FROM pg_dualwrite_gaps WHERE collection = 'payments'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(error.contains("legacyFlag"), "{error}");
    // What references that payment cannot load either: each such gap names it.
    let payment = payments[0].get_object_id("_id").unwrap().to_hex();
    for row in client
        .query(
            "SELECT error FROM pg_dualwrite_gaps WHERE collection <> 'payments'",
            &[],
        )
        .unwrap()
    {
        let error: String = row.get(0);
        assert!(error.contains("dangling reference"), "{error}");
    }
    assert!(
        client
            .query(
                "SELECT error FROM pg_dualwrite_gaps WHERE collection <> 'payments'",
                &[]
            )
            .unwrap()
            .iter()
            .any(|r| r.get::<_, String>(0).contains(&payment)),
        "{strict}"
    );

    let (_db, mut client) = migrated();
    let mut opts = options(dir);
    opts.mode = schemac_runtime::transform::Mode::Lenient;
    let lenient = backfill(REGISTRY, &mut client, &opts).unwrap();
    assert_eq!(lenient.gaps(), 0, "{lenient}");
    let p = lenient
        .collections
        .iter()
        .find(|c| c.collection == "payments")
        .unwrap();
    assert_eq!(p.unknown_keys.get("legacyFlag"), Some(&1));
    assert!(
        lenient
            .to_string()
            .contains("skipped (--lenient): payments.legacyFlag"),
        "{lenient}"
    );
}

#[test]
fn a_batch_larger_than_one_copy_message_loads_whole() {
    // 40 blog posts of 100 kB each: one batch, one table, 4 MB of COPY data sent as several
    // messages that split rows anywhere.
    let scratch = Scratch::new("big-batch");
    let template = good("blogposts").remove(0);
    let posts: Vec<Document> = (0..40u8)
        .map(|i| {
            let mut post = template.clone();
            post.insert("_id", ObjectId::new());
            post.insert("slug", format!("big-post-{i}"));
            let letter = char::from(b'a' + i % 26);
            post.insert(
                "content",
                format!("{i}:{}", letter.to_string().repeat(100_000)),
            );
            post
        })
        .collect();
    write_bson(&scratch.0, "blogposts", &posts);
    let (_db, mut client) = migrated();
    let report = run(&mut client, &scratch.0);
    assert_eq!(report.gaps(), 0, "{report}");
    assert_eq!(report.collections[0].inserted, 40, "{report}");
    // Loaded as one batch, the fast way: not one document at a time after a failed COPY.
    assert_eq!(report.collections[0].batches, 1, "{report}");
    assert_eq!(report.collections[0].fast_batches, 1, "{report}");
    assert_eq!(
        count(
            &mut client,
            "SELECT sum(length(content)) FROM blog_posts WHERE slug LIKE 'big-post-%'"
        ),
        (0..40)
            .map(|i: i64| 100_001 + i.to_string().len() as i64)
            .sum::<i64>()
    );
    assert_verifies(&mut client, &scratch.0);
}

#[test]
fn a_database_without_the_tables_is_refused_naming_the_first_missing_one() {
    let scratch = Scratch::new("unmigrated");
    write_bson(&scratch.0, "levelconfigs", &good("levelconfigs"));
    let empty = TestDb::new();
    let e = backfill(REGISTRY, &mut empty.client(), &options(&scratch.0)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the database has no table `id_map`: apply the migrations first \
         (`schemac migrate apply --database-url URL`)"
    );
    let (_db, mut client) = migrated();
    client
        .batch_execute("DROP TABLE level_configs CASCADE")
        .unwrap();
    let e = backfill(REGISTRY, &mut client, &options(&scratch.0)).unwrap_err();
    assert!(e.to_string().contains("no table `level_configs`"), "{e}");
    let e = verify(&mut client, &scratch.0).unwrap_err();
    assert!(e.to_string().contains("no table `level_configs`"), "{e}");
}

#[test]
fn a_table_with_an_insert_trigger_of_its_own_loads_the_usual_way_and_the_trigger_fires() {
    // The fast way turns per-row triggers off; a trigger the catalogue does not know (here on
    // chats' second table) must fire, so that collection loads with the triggers on.
    let scratch = good_dump("trigger");
    let (_db, mut client) = migrated_with(
        "CREATE TABLE seen (id uuid);
         CREATE FUNCTION see() RETURNS trigger LANGUAGE plpgsql AS
             $$BEGIN INSERT INTO seen VALUES (NEW.id); RETURN NEW; END$$;
         CREATE TRIGGER audit AFTER INSERT ON chat_messages
             FOR EACH ROW EXECUTE FUNCTION see();",
    );
    let report = run(&mut client, &scratch.0);
    assert_eq!(report.gaps(), 0, "{report}");
    let bulk = |name: &str| {
        let c = report.collections.iter().find(|c| c.collection == name);
        c.unwrap().bulk_checks
    };
    assert!(!bulk("chats"), "{report}");
    assert!(bulk("users") && bulk("payments"), "{report}");
    let messages = count(&mut client, "SELECT count(*) FROM chat_messages");
    assert!(messages > 0);
    assert_eq!(count(&mut client, "SELECT count(*) FROM seen"), messages);
}

#[test]
fn a_foreign_key_the_bulk_check_does_not_take_loads_that_collection_the_usual_way() {
    // The bulk check takes single uuid keys that the generated rows hold. A foreign key added
    // by hand on a text column (here users.email, into a table with no rows) must still hold:
    // users load with the triggers on, which refuse every user with an email.
    let scratch = good_dump("text-key");
    let (_db, mut client) = migrated_with(
        "CREATE TABLE allowed_emails (email text PRIMARY KEY);
         ALTER TABLE users ADD FOREIGN KEY (email) REFERENCES allowed_emails;",
    );
    let report = run(&mut client, &scratch.0);
    let of = |name: &str| {
        let c = report.collections.iter().find(|c| c.collection == name);
        c.unwrap()
    };
    assert!(!of("users").bulk_checks, "{report}");
    assert!(of("payments").bulk_checks, "{report}");
    assert!(of("users").gaps > 0, "{report}");
    assert_eq!(
        count(
            &mut client,
            "SELECT count(*) FROM users WHERE email IS NOT NULL"
        ),
        0,
        "no user with an email got past the foreign key"
    );
}

#[test]
fn a_dangling_reference_two_tables_below_the_root_sends_the_batch_the_usual_way() {
    // The fast way checks the batch's rows of every table, a chat's message reactions (two
    // tables below chats) included: a reaction by a user in no dump must not load with the
    // triggers off, but fail the check, so that the row-checked retry names it.
    let scratch = Scratch::new("deep");
    for c in REGISTRY {
        write_bson(&scratch.0, c.name(), &good(c.name()));
    }
    let mut chats = good("chats");
    let missing = "64000000fafafafafafafafa";
    let chat = chats
        .iter_mut()
        .find(|c| {
            c.get_array("messages").is_ok_and(|m| {
                m.iter().any(|m| {
                    m.as_document()
                        .and_then(|m| m.get_array("reactions").ok())
                        .is_some_and(|r| !r.is_empty())
                })
            })
        })
        .expect("a good chat with a reaction");
    let chat_id = chat.get_object_id("_id").unwrap().to_hex();
    for message in chat.get_array_mut("messages").unwrap() {
        let Some(Bson::Array(reactions)) = message.as_document_mut().unwrap().get_mut("reactions")
        else {
            continue;
        };
        for reaction in reactions {
            reaction
                .as_document_mut()
                .unwrap()
                .insert("userId", oid(missing));
        }
    }
    write_bson(&scratch.0, "chats", &chats);

    let (_db, mut client) = migrated();
    let report = run(&mut client, &scratch.0);
    let chats_report = report
        .collections
        .iter()
        .find(|c| c.collection == "chats")
        .unwrap();
    assert!(chats_report.bulk_checks, "{report}");
    assert_eq!(chats_report.fast_batches, 0, "{report}");
    assert_eq!(
        (chats_report.inserted, chats_report.gaps),
        (chats.len() as u64 - 1, 1),
        "{report}"
    );
    let error = gap_error(&mut client, &chat_id);
    assert!(
        error.contains("dangling reference") && error.contains(missing),
        "{error}"
    );
    assert_eq!(
        count(
            &mut client,
            "SELECT count(*) FROM chat_message_reactions
             WHERE user_id IS NOT NULL AND user_id NOT IN (SELECT id FROM users)"
        ),
        0
    );
}

#[test]
fn one_document_per_batch_loads_the_same_database_the_fast_way() {
    // Each document its own batch: a category whose parent comes later in the dump is written
    // with its parent NULL by the fast way, waits in the pending references and is filled in
    // at the end, like the cycles between collections.
    let scratch = Scratch::new("single");
    for c in REGISTRY {
        write_bson(&scratch.0, c.name(), &good(c.name()));
    }
    let mut categories = good("categories");
    categories.reverse();
    write_bson(&scratch.0, "categories", &categories);
    // A ledger entry's reference to the entry it reverses is not deferred (the ledger is
    // append-only: its rows cannot be updated later), so the reversed entry must come first,
    // as it does in a real dump; the fixture has one the other way round.
    let mut ledger = good("fundsledgerentries");
    ledger.sort_by_key(|e| matches!(e.get("reversesEntryId"), Some(Bson::ObjectId(_))));
    write_bson(&scratch.0, "fundsledgerentries", &ledger);

    let (_single_db, mut single) = migrated();
    let mut opts = options(&scratch.0);
    opts.batch_size = 1;
    let one_by_one = backfill(REGISTRY, &mut single, &opts).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        one_by_one
            .collections
            .iter()
            .all(|c| c.batches > 0 && c.fast_batches == c.batches),
        "{one_by_one}"
    );
    let (_whole_db, mut whole) = migrated();
    let at_once = run(&mut whole, &scratch.0);
    assert_eq!(one_by_one.gaps(), 0, "{one_by_one}");
    assert!(
        one_by_one.resolved > at_once.resolved,
        "more references wait with smaller batches: {one_by_one}"
    );
    assert_eq!(fingerprint(&mut single), fingerprint(&mut whole));
}
