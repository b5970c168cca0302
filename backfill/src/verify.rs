//! `verify`: a dump compared with the database the backfill (and the dual-write) filled.
//!
//! Per collection of the dump, in name order:
//!
//! 1. The open gaps of the collection are read from `public.pg_dualwrite_gaps` (`resolved_at IS
//!    NULL`, any operation): the documents that are known not to be (fully) in PostgreSQL.
//! 2. Every document of the dump is transformed by the generated code and the rows of the same
//!    id are loaded back from PostgreSQL. Both go through the generated `to_mongo` and are
//!    hashed (SHA-256 of the BSON encoding of the [`normalize`]d document, see
//!    [`document_hash`]); equal hashes make the document *identical*. A document that differs,
//!    is missing, or fails to transform is a mismatch unless it has an open gap (*in gaps*); a
//!    mismatch names the first differing path and both values. The rows of every document
//!    present in PostgreSQL are copied (binary COPY, in batches of [`COPY_BATCH`]) into session
//!    temporary tables `expect_<table>`: the dump's rows, or the stored ones for a document in
//!    the gaps (its divergence is known, and is not counted twice).
//! 3. Count parity: each table of the collection (root and children) has as many rows as its
//!    `expect_` table, which also catches rows in PostgreSQL that are not in the dump.
//! 4. Money parity: for each table with exact numeric columns, `count(*)` and the sum of each
//!    such column by bucket (the table's bucket columns, and the UTC day of `created_at` when it
//!    has one) are the same on both sides.
//!
//! The [`VerifyReport`] prints as a table for people ([`Display`](std::fmt::Display)) and
//! serialises to JSON ([`VerifyReport::to_json`]); [`VerifyReport::ok`] is false on any
//! mismatch (the command line exits with 1).

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::PathBuf;

use schemac_runtime::Numeric;
use schemac_runtime::bson::{Bson, Decimal128, Document, RawBsonRef, RawDocumentBuf};
use schemac_runtime::dump;
use schemac_runtime::postgres::{self, Client};
use schemac_runtime::registry::{self, Collection, Rows, Table};
use schemac_runtime::transform::Mode;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::load::{Error, check_migrated};
use crate::stage::{Stage, qualified, quote};
use crate::table::render;

/// Documents whose rows are copied into the `expect_` tables in one COPY.
pub const COPY_BATCH: usize = 500;

/// The longest rendering of a value (a sub-document or an array) in a mismatch, in characters.
const VALUE_WIDTH: usize = 120;

/// What to compare and how.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The mongodump (or mongoexport) directory.
    pub dump: PathBuf,
    /// Only these collections; every collection of the dump when empty (those the catalogue
    /// does not know are then reported as [`VerifyReport::not_in_catalogue`]).
    pub collections: Vec<String>,
    /// Unknown keys: an error (strict) or ignored (lenient), as the backfill was run.
    pub mode: Mode,
    /// The mismatches kept (and listed) per collection and kind; the others are only counted.
    pub max_listed: usize,
}

impl VerifyOptions {
    /// Defaults: every collection, strict, 20 mismatches listed per collection and kind.
    pub fn new(dump: impl Into<PathBuf>) -> VerifyOptions {
        VerifyOptions {
            dump: dump.into(),
            collections: Vec::new(),
            mode: Mode::Strict,
            max_listed: 20,
        }
    }
}

/// The outcome of a verify.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// The dump directory.
    pub dump: String,
    /// Per collection, in name order.
    pub collections: Vec<CollectionVerify>,
    /// Collections of the dump the catalogue does not have: their documents are not in
    /// PostgreSQL, so each one is a failure.
    pub not_in_catalogue: Vec<String>,
    /// Sums over the collections.
    pub totals: Totals,
}

/// Sums over the collections of a [`VerifyReport`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    /// Documents read from the dump.
    pub documents: u64,
    /// Of which identical in PostgreSQL.
    pub identical: u64,
    /// Of which accounted for by an open gap.
    pub in_gaps: u64,
    /// Tables compared (count parity).
    pub tables: u64,
    /// Of which with equal counts.
    pub tables_ok: u64,
    /// Money buckets compared.
    pub money_buckets: u64,
    /// Mismatches found (listed or not), collections not in the catalogue included.
    pub mismatches: u64,
}

/// One collection's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct CollectionVerify {
    /// The Mongo collection.
    pub collection: String,
    /// Documents (and unreadable entries) read from the dump.
    pub documents: u64,
    /// Documents whose stored rows give back the same document.
    pub identical: u64,
    /// Documents that are missing, differ or failed to transform, with an open gap.
    pub in_gaps: u64,
    /// Count parity per table, the root first.
    pub tables: Vec<TableCount>,
    /// Money buckets compared (the union of both sides' buckets, over all tables).
    pub money_buckets: u64,
    /// Mismatches found, listed or not.
    pub mismatch_count: u64,
    /// The mismatches kept: at most `max_listed` of each kind.
    pub mismatches: Vec<Mismatch>,
}

/// Count parity of one table.
#[derive(Debug, Clone, Serialize)]
pub struct TableCount {
    /// The table.
    pub table: String,
    /// Rows of the dump's documents present in PostgreSQL.
    pub dump_rows: i64,
    /// Rows in PostgreSQL.
    pub postgres_rows: i64,
    /// Both are equal.
    pub ok: bool,
}

/// A difference between the dump and the database.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Mismatch {
    /// An entry of the dump that cannot be read, with no gap to account for it.
    Unreadable {
        /// The reader's error.
        error: String,
    },
    /// A document the generated code rejects, with no open gap.
    Transform {
        /// Its `_id` (24 hex digits for an ObjectId).
        legacy_object_id: Option<String>,
        /// The transform's error.
        error: String,
    },
    /// A document whose rows are not in PostgreSQL, with no open gap.
    Missing {
        /// Its `_id`.
        legacy_object_id: String,
    },
    /// A document whose stored rows cannot be read back or written as a document.
    Unloadable {
        /// Its `_id`.
        legacy_object_id: String,
        /// Which side failed and why.
        error: String,
    },
    /// A document that differs from what its stored rows give back, with no open gap.
    Document {
        /// Its `_id`.
        legacy_object_id: String,
        /// The first differing path (`quote.rate`, `messages.3.text`).
        path: String,
        /// The dump's value there, with its BSON type; `(absent)` when it has none.
        dump: String,
        /// PostgreSQL's value there.
        postgres: String,
        /// The round-trip hash of the dump's document.
        dump_sha256: String,
        /// The round-trip hash of the stored rows.
        postgres_sha256: String,
    },
    /// A table whose row count differs.
    Count {
        /// The table.
        table: String,
        /// Rows expected from the dump.
        dump_rows: i64,
        /// Rows in PostgreSQL.
        postgres_rows: i64,
    },
    /// A money bucket whose count or sum differs.
    Money {
        /// The table.
        table: String,
        /// The bucket: (column, value) pairs, `day` for the UTC day of `created_at`.
        #[serde(serialize_with = "pairs")]
        bucket: Vec<(String, String)>,
        /// The money column, or `count` for the bucket's row count.
        column: String,
        /// The dump's sum (`NULL` when the bucket has no such value; `(none)` when the
        /// bucket is absent on this side).
        dump: String,
        /// PostgreSQL's sum.
        postgres: String,
    },
}

impl Mismatch {
    /// The kind, as in the JSON report.
    pub fn kind(&self) -> &'static str {
        match self {
            Mismatch::Unreadable { .. } => "unreadable",
            Mismatch::Transform { .. } => "transform",
            Mismatch::Missing { .. } => "missing",
            Mismatch::Unloadable { .. } => "unloadable",
            Mismatch::Document { .. } => "document",
            Mismatch::Count { .. } => "count",
            Mismatch::Money { .. } => "money",
        }
    }
}

fn pairs<S: serde::Serializer>(pairs: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(pairs.iter().map(|(k, v)| (k, v)))
}

impl fmt::Display for Mismatch {
    /// One line, without the collection.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::Unreadable { error } => {
                write!(f, "unreadable document, not in pg_dualwrite_gaps: {error}")
            }
            Mismatch::Transform {
                legacy_object_id,
                error,
            } => write!(
                f,
                "{}: document failed to transform and is not in pg_dualwrite_gaps: {error}",
                legacy_object_id.as_deref().unwrap_or("(no ObjectId _id)")
            ),
            Mismatch::Missing { legacy_object_id } => {
                write!(f, "{legacy_object_id}: missing from postgres")
            }
            Mismatch::Unloadable {
                legacy_object_id,
                error,
            } => write!(f, "{legacy_object_id}: {error}"),
            Mismatch::Document {
                legacy_object_id,
                path,
                dump,
                postgres,
                ..
            } => write!(
                f,
                "{legacy_object_id}: {path}: dump {dump} != postgres {postgres}"
            ),
            Mismatch::Count {
                table,
                dump_rows,
                postgres_rows,
            } => write!(
                f,
                "table {table}: dump {dump_rows} rows, postgres {postgres_rows} rows"
            ),
            Mismatch::Money {
                table,
                bucket,
                column,
                dump,
                postgres,
            } => {
                write!(f, "money {table}")?;
                for (k, v) in bucket {
                    write!(f, " {k}={v}")?;
                }
                write!(f, " {column}: dump {dump}, postgres {postgres}")
            }
        }
    }
}

impl VerifyReport {
    /// No mismatch anywhere, and every collection of the dump is in the catalogue.
    pub fn ok(&self) -> bool {
        self.totals.mismatches == 0
    }

    /// The report as JSON (`serde_json::to_value(self)`, plus `"ok"`).
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).expect("a report serialises");
        if let Some(object) = value.as_object_mut() {
            object.insert("ok".to_string(), self.ok().into());
        }
        value
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "verify: dump {} against postgres ({} collections)",
            self.dump,
            self.collections.len() + self.not_in_catalogue.len()
        )?;
        writeln!(f)?;
        let mut rows: Vec<Vec<String>> = self
            .collections
            .iter()
            .map(|c| {
                let tables_ok = c.tables.iter().filter(|t| t.ok).count();
                vec![
                    c.collection.clone(),
                    c.documents.to_string(),
                    c.identical.to_string(),
                    c.in_gaps.to_string(),
                    format!("{tables_ok}/{}", c.tables.len()),
                    c.money_buckets.to_string(),
                    result(c.mismatch_count),
                ]
            })
            .collect();
        for name in &self.not_in_catalogue {
            rows.push(vec![
                name.clone(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                "not in catalogue".to_string(),
            ]);
        }
        let t = &self.totals;
        rows.push(vec![
            "total".to_string(),
            t.documents.to_string(),
            t.identical.to_string(),
            t.in_gaps.to_string(),
            format!("{}/{}", t.tables_ok, t.tables),
            t.money_buckets.to_string(),
            result(t.mismatches),
        ]);
        f.write_str(&render(
            &[
                "collection",
                "documents",
                "identical",
                "in gaps",
                "tables ok",
                "money buckets",
                "result",
            ],
            &rows,
        ))?;
        if !self.ok() {
            writeln!(f)?;
            writeln!(f, "Mismatches")?;
            for name in &self.not_in_catalogue {
                writeln!(
                    f,
                    "  {name}: not a collection of the catalogue: its documents are not in postgres"
                )?;
            }
            for c in &self.collections {
                for m in &c.mismatches {
                    match m {
                        Mismatch::Count { .. }
                        | Mismatch::Money { .. }
                        | Mismatch::Unreadable { .. } => writeln!(f, "  {}: {m}", c.collection)?,
                        _ => writeln!(f, "  {} {m}", c.collection)?,
                    }
                }
                let unlisted = c.mismatch_count - c.mismatches.len() as u64;
                if unlisted > 0 {
                    writeln!(
                        f,
                        "  {}: ... and {unlisted} more mismatches (see the JSON report)",
                        c.collection
                    )?;
                }
            }
            writeln!(f)?;
            return writeln!(f, "verify: FAILED ({} mismatches)", t.mismatches);
        }
        writeln!(f)?;
        writeln!(
            f,
            "verify: OK ({} documents, {} tables, {} money buckets)",
            t.documents, t.tables, t.money_buckets
        )
    }
}

fn result(mismatches: u64) -> String {
    match mismatches {
        0 => "ok".to_string(),
        1 => "1 mismatch".to_string(),
        n => format!("{n} mismatches"),
    }
}

/// Compares the dump `opts.dump` with the database of `client` through the generated
/// `registry`. A difference is never an error: it is a [`Mismatch`] in the report.
///
/// The `expect_<table>` temporary tables it fills live as long as the session.
pub fn verify(
    registry: &[&dyn Collection],
    client: &mut Client,
    opts: &VerifyOptions,
) -> Result<VerifyReport, Error> {
    let in_dump = dump::collections(&opts.dump)?;
    let mut report = VerifyReport {
        dump: opts.dump.display().to_string(),
        collections: Vec::new(),
        not_in_catalogue: Vec::new(),
        totals: Totals::default(),
    };
    let mut wanted = if opts.collections.is_empty() {
        in_dump
    } else {
        opts.collections.clone()
    };
    wanted.sort();
    wanted.dedup();
    let mut selected = Vec::new();
    for name in &wanted {
        match registry::find(registry, name) {
            Some(c) => selected.push(c),
            None if opts.collections.is_empty() => report.not_in_catalogue.push(name.clone()),
            None => {
                let known: Vec<&str> = registry.iter().map(|c| c.name()).collect();
                return Err(Error::UnknownCollection(name.clone(), known.join(", ")));
            }
        }
    }
    check_migrated(client, &["pg_dualwrite_gaps"], selected.iter().copied())?;
    for collection in selected {
        report
            .collections
            .push(verify_collection(client, collection, opts)?);
    }
    let t = &mut report.totals;
    for c in &report.collections {
        t.documents += c.documents;
        t.identical += c.identical;
        t.in_gaps += c.in_gaps;
        t.tables += c.tables.len() as u64;
        t.tables_ok += c.tables.iter().filter(|t| t.ok).count() as u64;
        t.money_buckets += c.money_buckets;
        t.mismatches += c.mismatch_count;
    }
    t.mismatches += report.not_in_catalogue.len() as u64;
    Ok(report)
}

/// The mismatches of one collection: all counted, at most `max` of each kind kept.
struct Found {
    max: usize,
    count: u64,
    per_kind: BTreeMap<&'static str, usize>,
    kept: Vec<Mismatch>,
}

impl Found {
    fn push(&mut self, m: Mismatch) {
        self.count += 1;
        let n = self.per_kind.entry(m.kind()).or_default();
        if *n < self.max {
            *n += 1;
            self.kept.push(m);
        }
    }
}

/// The open gaps of a collection.
struct Gaps {
    ids: HashSet<String>,
    /// Open gaps without a legacy id (unreadable documents, `_id`s that are not ObjectIds),
    /// used up as such documents are met.
    anonymous: i64,
}

impl Gaps {
    fn read(client: &mut Client, collection: &str) -> Result<Gaps, postgres::Error> {
        let mut ids = HashSet::new();
        let mut anonymous = 0;
        for row in client.query(
            "SELECT legacy_object_id FROM public.pg_dualwrite_gaps
             WHERE collection = $1 AND resolved_at IS NULL",
            &[&collection],
        )? {
            match row.get::<_, Option<String>>(0) {
                Some(id) => {
                    ids.insert(id);
                }
                None => anonymous += 1,
            }
        }
        Ok(Gaps { ids, anonymous })
    }

    fn has(&self, id: Option<&str>) -> bool {
        id.is_some_and(|id| self.ids.contains(id))
    }

    /// Accounts for a document without a legacy id by an anonymous gap, if one is left.
    fn take_anonymous(&mut self) -> bool {
        self.anonymous -= 1;
        self.anonymous >= 0
    }
}

fn verify_collection(
    client: &mut Client,
    collection: &dyn Collection,
    opts: &VerifyOptions,
) -> Result<CollectionVerify, Error> {
    let name = collection.name();
    let mut gaps = Gaps::read(client, name)?;
    let stage = Stage::new(client, collection, &[], "expect_")?;
    stage.clear(client)?;
    let mut found = Found {
        max: opts.max_listed,
        count: 0,
        per_kind: BTreeMap::new(),
        kept: Vec::new(),
    };
    let mut out = CollectionVerify {
        collection: name.to_string(),
        documents: 0,
        identical: 0,
        in_gaps: 0,
        tables: Vec::new(),
        money_buckets: 0,
        mismatch_count: 0,
        mismatches: Vec::new(),
    };

    let mut present: Vec<Box<dyn Rows>> = Vec::new();
    for item in dump::open_collection(&opts.dump, name)? {
        out.documents += 1;
        let raw = match item {
            Ok(raw) => raw,
            Err(e) => {
                if gaps.take_anonymous() {
                    out.in_gaps += 1;
                } else {
                    found.push(Mismatch::Unreadable {
                        error: e.to_string(),
                    });
                }
                continue;
            }
        };
        let rows = match collection.transform(&raw, opts.mode) {
            Ok((rows, _)) => rows,
            Err(e) => {
                let id = legacy_id(&raw);
                let accounted = match &id {
                    Some(id) => gaps.has(Some(id)),
                    None => gaps.take_anonymous(),
                };
                if accounted {
                    out.in_gaps += 1;
                } else {
                    found.push(Mismatch::Transform {
                        legacy_object_id: id,
                        error: e.to_string(),
                    });
                }
                continue;
            }
        };
        let legacy = rows.legacy_object_id().to_string();
        let in_gaps = gaps.has(Some(&legacy));
        let stored = match collection.load(client, rows.id()) {
            Ok(stored) => stored,
            Err(e) if e.as_db_error().is_some() || e.is_closed() => return Err(e.into()),
            Err(e) => {
                // A value the generated `load` cannot read: this document's problem.
                present.push(rows);
                if in_gaps {
                    out.in_gaps += 1;
                } else {
                    found.push(Mismatch::Unloadable {
                        legacy_object_id: legacy,
                        error: format!("postgres rows cannot be read: {e}"),
                    });
                }
                continue;
            }
        };
        let Some(stored) = stored else {
            if in_gaps {
                out.in_gaps += 1;
            } else {
                found.push(Mismatch::Missing {
                    legacy_object_id: legacy,
                });
            }
            continue;
        };
        // The rows the tables should hold: the dump's, but a document with an open gap is
        // expected as stored (its divergence is known), so that it does not fail the counts and
        // sums a second time.
        let mut expected = rows;
        match compare(expected.as_ref(), stored.as_ref()) {
            Ok(None) => out.identical += 1,
            _ if in_gaps => {
                out.in_gaps += 1;
                expected = stored;
            }
            Ok(Some(difference)) => found.push(Mismatch::Document {
                legacy_object_id: legacy,
                path: difference.path,
                dump: difference.dump,
                postgres: difference.postgres,
                dump_sha256: difference.dump_sha256,
                postgres_sha256: difference.postgres_sha256,
            }),
            Err(error) => found.push(Mismatch::Unloadable {
                legacy_object_id: legacy,
                error,
            }),
        }
        present.push(expected);
        if present.len() >= COPY_BATCH {
            copy(client, &stage, &mut present)?;
        }
    }
    copy(client, &stage, &mut present)?;

    for (index, table) in collection.tables().iter().enumerate() {
        let temp = stage.temp_table(index);
        let row = client.query_one(
            &format!(
                "SELECT (SELECT count(*) FROM {temp}), (SELECT count(*) FROM public.{})",
                quote(table.name)
            ),
            &[],
        )?;
        let (dump_rows, postgres_rows): (i64, i64) = (row.get(0), row.get(1));
        let ok = dump_rows == postgres_rows;
        if !ok {
            found.push(Mismatch::Count {
                table: table.name.to_string(),
                dump_rows,
                postgres_rows,
            });
        }
        out.tables.push(TableCount {
            table: table.name.to_string(),
            dump_rows,
            postgres_rows,
            ok,
        });
    }

    for (index, table) in collection.tables().iter().enumerate() {
        if table.money.is_empty() {
            continue;
        }
        out.money_buckets += money(client, table, stage.temp_table(index), &mut found)?;
    }

    out.mismatch_count = found.count;
    out.mismatches = found.kept;
    Ok(out)
}

/// Copies the rows of `docs` into the `expect_` tables and empties `docs`.
fn copy(client: &mut Client, stage: &Stage, docs: &mut Vec<Box<dyn Rows>>) -> Result<(), Error> {
    if docs.is_empty() {
        return Ok(());
    }
    let refs: Vec<&dyn Rows> = docs.iter().map(|d| d.as_ref()).collect();
    stage.copy(client, &refs)?;
    docs.clear();
    Ok(())
}

/// The `_id` of a raw document as 24 hex digits, when it is an ObjectId.
fn legacy_id(raw: &RawDocumentBuf) -> Option<String> {
    match raw.get("_id") {
        Ok(Some(RawBsonRef::ObjectId(oid))) => Some(oid.to_hex()),
        _ => None,
    }
}

/// The document as compared: every sub-document's keys sorted (by bytes), every Decimal128 in
/// its canonical form (no trailing fractional zeros, no exponent, `-0` as `0`).
///
/// Storage keeps neither: a `jsonb` object comes back with its keys in `jsonb`'s order, and a
/// `numeric(38,18)` column gives `120.500000000000000000` for `120.50` and `0` for `-0`. Both
/// sides of a comparison are otherwise built by the same generated `to_mongo`, so the rest of the
/// encoding (types, array order) is deterministic and is compared as is.
pub fn normalize(doc: &Document) -> Document {
    let mut keys: Vec<&String> = doc.keys().collect();
    keys.sort();
    keys.into_iter()
        .map(|k| (k.clone(), normalize_value(&doc[k.as_str()])))
        .collect()
}

fn normalize_value(value: &Bson) -> Bson {
    match value {
        Bson::Document(d) => Bson::Document(normalize(d)),
        Bson::Array(a) => Bson::Array(a.iter().map(normalize_value).collect()),
        Bson::Decimal128(d) => canonical_decimal(*d)
            .and_then(|text| text.parse::<Decimal128>().ok())
            .map_or_else(|| value.clone(), Bson::Decimal128),
        other => other.clone(),
    }
}

/// `120.50` as `120.5`, `0E-18` and `-0` as `0`; `None` for NaN and the infinities.
fn canonical_decimal(d: Decimal128) -> Option<String> {
    Numeric::from_decimal128(d)
        .ok()
        .map(|n| trim_numeric(&n.to_postgres_text()))
}

/// The round-trip hash of a document: SHA-256 of the BSON encoding of its [`normalize`]d form,
/// as hex. Two documents hash alike exactly when they have the same keys with the same typed
/// values, Decimal128s compared by value.
pub fn document_hash(doc: &Document) -> String {
    let bytes = normalize(doc)
        .to_vec()
        .expect("a document built by to_mongo encodes");
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The first difference between the dump's and the stored document.
struct Difference {
    path: String,
    dump: String,
    postgres: String,
    dump_sha256: String,
    postgres_sha256: String,
}

/// `None` when the dump's rows and the stored rows give back the same document; an error when
/// either `to_mongo` fails.
fn compare(dump: &dyn Rows, stored: &dyn Rows) -> Result<Option<Difference>, String> {
    let expected = dump
        .to_mongo()
        .map_err(|e| format!("to_mongo of the dump's rows failed: {e}"))?;
    let actual = stored
        .to_mongo()
        .map_err(|e| format!("to_mongo of the postgres rows failed: {e}"))?;
    let (dump_sha256, postgres_sha256) = (document_hash(&expected), document_hash(&actual));
    if dump_sha256 == postgres_sha256 {
        return Ok(None);
    }
    let (path, dump, postgres) = first_difference(&expected, &actual, "").unwrap_or_else(|| {
        (
            "(document)".to_string(),
            "an encoding that differs".to_string(),
            "the same values".to_string(),
        )
    });
    Ok(Some(Difference {
        path,
        dump,
        postgres,
        dump_sha256,
        postgres_sha256,
    }))
}

const ABSENT: &str = "(absent)";

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// The first path (in the dump document's key order, then PostgreSQL's extra keys) where the
/// two documents differ as [`normalize`] sees them (keys in any order, Decimal128s by value),
/// with both values rendered by [`render_value`].
pub fn first_difference(
    dump: &Document,
    postgres: &Document,
    prefix: &str,
) -> Option<(String, String, String)> {
    for (key, left) in dump {
        let path = join(prefix, key);
        match postgres.get(key) {
            None => return Some((path, render_value(left), ABSENT.to_string())),
            Some(right) => {
                if let Some(d) = value_difference(left, right, &path) {
                    return Some(d);
                }
            }
        }
    }
    postgres
        .iter()
        .find(|(key, _)| !dump.contains_key(key.as_str()))
        .map(|(key, right)| (join(prefix, key), ABSENT.to_string(), render_value(right)))
}

fn value_difference(left: &Bson, right: &Bson, path: &str) -> Option<(String, String, String)> {
    match (left, right) {
        (Bson::Document(l), Bson::Document(r)) => first_difference(l, r, path),
        (Bson::Array(l), Bson::Array(r)) => {
            for (i, (a, b)) in l.iter().zip(r).enumerate() {
                if let Some(d) = value_difference(a, b, &join(path, &i.to_string())) {
                    return Some(d);
                }
            }
            let i = l.len().min(r.len());
            match (l.get(i), r.get(i)) {
                (Some(a), None) => Some((
                    join(path, &i.to_string()),
                    render_value(a),
                    ABSENT.to_string(),
                )),
                (None, Some(b)) => Some((
                    join(path, &i.to_string()),
                    ABSENT.to_string(),
                    render_value(b),
                )),
                _ => None,
            }
        }
        _ if same(left, right) => None,
        _ => Some((path.to_string(), render_value(left), render_value(right))),
    }
}

/// Equal values as [`normalize`] sees them: by type and bytes (a NaN equals a NaN, `0.0` differs
/// from `-0.0`), Decimal128s by value.
fn same(left: &Bson, right: &Bson) -> bool {
    match (left, right) {
        (Bson::Double(a), Bson::Double(b)) => a.to_bits() == b.to_bits(),
        (Bson::Decimal128(a), Bson::Decimal128(b)) => {
            match (canonical_decimal(*a), canonical_decimal(*b)) {
                (Some(a), Some(b)) => a == b,
                _ => a.bytes() == b.bytes(),
            }
        }
        _ => left == right,
    }
}

/// A value with its BSON type: `Decimal128("120.5")` (canonical, as compared), `String("paid")`,
/// `Int32(3)`.
pub fn render_value(value: &Bson) -> String {
    let shorten = |s: String| {
        if s.chars().count() > VALUE_WIDTH {
            let cut: String = s.chars().take(VALUE_WIDTH).collect();
            format!("{cut}...")
        } else {
            s
        }
    };
    match value {
        Bson::Double(f) => format!("Double({f:?})"),
        Bson::String(s) => shorten(format!("String({s:?})")),
        Bson::Boolean(b) => format!("Boolean({b})"),
        Bson::Null => "Null".to_string(),
        Bson::Int32(i) => format!("Int32({i})"),
        Bson::Int64(i) => format!("Int64({i})"),
        Bson::Decimal128(d) => format!(
            "Decimal128(\"{}\")",
            canonical_decimal(*d).unwrap_or_else(|| d.to_string())
        ),
        Bson::ObjectId(oid) => format!("ObjectId(\"{}\")", oid.to_hex()),
        Bson::DateTime(dt) => match dt.try_to_rfc3339_string() {
            Ok(s) => format!("DateTime(\"{s}\")"),
            Err(_) => format!("DateTime({})", dt.timestamp_millis()),
        },
        Bson::Binary(b) => format!("Binary(subtype {:?}, {} bytes)", b.subtype, b.bytes.len()),
        Bson::Document(d) => shorten(format!("Document({d})")),
        Bson::Array(a) => shorten(format!("Array({value})", value = Bson::Array(a.clone()))),
        other => shorten(format!("{other:?}")),
    }
}

/// One side of a money comparison: per bucket, the row count and each money column's sum.
type Sums = BTreeMap<Vec<String>, Vec<Option<String>>>;

/// Compares the money sums of `table` by bucket between `temp` (the dump) and the table;
/// returns the buckets compared.
fn money(
    client: &mut Client,
    table: &Table,
    temp: &str,
    found: &mut Found,
) -> Result<u64, postgres::Error> {
    let mut keys: Vec<(String, String)> = table
        .buckets
        .iter()
        .map(|b| {
            (
                b.to_string(),
                format!("coalesce({}::text, '(null)')", quote(b)),
            )
        })
        .collect();
    if table.created_at {
        keys.push((
            "day".to_string(),
            "coalesce(to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), '(null)')".to_string(),
        ));
    }
    let mut select: Vec<String> = keys.iter().map(|(_, e)| e.clone()).collect();
    select.push("count(*)::text".to_string());
    select.extend(
        table
            .money
            .iter()
            .map(|m| format!("sum({})::text", quote(m))),
    );
    let group = if keys.is_empty() {
        String::new()
    } else {
        let ordinals: Vec<String> = (1..=keys.len()).map(|i| i.to_string()).collect();
        format!(" GROUP BY {}", ordinals.join(", "))
    };
    let mut read = |source: &str| -> Result<Sums, postgres::Error> {
        let sql = format!("SELECT {} FROM {source}{group}", select.join(", "));
        let mut sums = Sums::new();
        for row in client.query(&sql, &[])? {
            let bucket: Vec<String> = (0..keys.len()).map(|i| row.get(i)).collect();
            let values: Vec<Option<String>> = (keys.len()..row.len())
                .map(|i| row.get::<_, Option<String>>(i).map(|s| trim_numeric(&s)))
                .collect();
            sums.insert(bucket, values);
        }
        Ok(sums)
    };
    let expected = read(temp)?;
    let actual = read(&qualified(table.name))?;

    let mut columns = vec!["count"];
    columns.extend(table.money.iter().copied());
    let buckets: std::collections::BTreeSet<&Vec<String>> =
        expected.keys().chain(actual.keys()).collect();
    let show = |v: Option<&Option<String>>| match v {
        None => "(none)".to_string(),
        Some(None) => "NULL".to_string(),
        Some(Some(s)) => s.clone(),
    };
    for bucket in &buckets {
        let (e, a) = (expected.get(*bucket), actual.get(*bucket));
        for (i, column) in columns.iter().enumerate() {
            let (ev, av) = (e.map(|v| &v[i]), a.map(|v| &v[i]));
            // A bucket absent on one side differs by its count; its sums are not repeated.
            let absent_sum = i > 0 && (e.is_none() || a.is_none());
            if ev != av && !absent_sum {
                found.push(Mismatch::Money {
                    table: table.name.to_string(),
                    bucket: keys
                        .iter()
                        .map(|(k, _)| k.clone())
                        .zip(bucket.iter().cloned())
                        .collect(),
                    column: column.to_string(),
                    dump: show(ev),
                    postgres: show(av),
                });
            }
        }
    }
    Ok(buckets.len() as u64)
}

/// `240.500000000000000000` as `240.5`; integers unchanged.
fn trim_numeric(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use schemac_runtime::bson::doc;

    #[test]
    fn the_first_differing_path_is_named_with_both_values() {
        let a = doc! { "amount": "120.50".parse::<Decimal128>().unwrap(), "q": { "rate": 1 } };
        let b = doc! { "amount": "121.50".parse::<Decimal128>().unwrap(), "q": { "rate": 2 } };
        assert_eq!(
            first_difference(&a, &b, ""),
            Some((
                "amount".to_string(),
                "Decimal128(\"120.5\")".to_string(),
                "Decimal128(\"121.5\")".to_string()
            ))
        );
        let a = doc! { "messages": [ { "text": "a" }, { "text": "b" } ] };
        let b = doc! { "messages": [ { "text": "a" }, { "text": "c" } ], "extra": true };
        assert_eq!(
            first_difference(&a, &b, "").unwrap().0,
            "messages.1.text".to_string()
        );
        let b = doc! { "messages": [ { "text": "a" } ] };
        assert_eq!(
            first_difference(&a, &b, ""),
            Some((
                "messages.1".to_string(),
                "Document({ \"text\": \"b\" })".to_string(),
                "(absent)".to_string()
            ))
        );
        let b = doc! { "messages": [ { "text": "a" }, { "text": "b" } ], "extra": true };
        assert_eq!(
            first_difference(&a, &b, ""),
            Some((
                "extra".to_string(),
                "(absent)".to_string(),
                "Boolean(true)".to_string()
            ))
        );
    }

    #[test]
    fn normalized_documents_ignore_key_order_and_decimal_scale() {
        let d = |s: &str| Bson::Decimal128(s.parse().unwrap());
        let a = doc! { "a": d("120.50"), "o": { "x": 1, "y": d("-0") } };
        let b = doc! { "a": d("120.500000000000000000"), "o": { "y": d("0E-18"), "x": 1 } };
        assert_eq!(document_hash(&a), document_hash(&b));
        assert_eq!(first_difference(&a, &b, ""), None);
        let c = doc! { "a": d("120.51"), "o": { "y": d("0"), "x": 1 } };
        assert_ne!(document_hash(&a), document_hash(&c));
        let e = doc! { "a": d("120.5"), "o": { "y": d("0"), "x": 1_i64 } };
        assert_ne!(document_hash(&a), document_hash(&e));
        assert_eq!(
            first_difference(&a, &e, ""),
            Some((
                "o.x".to_string(),
                "Int32(1)".to_string(),
                "Int64(1)".to_string()
            ))
        );
    }

    #[test]
    fn numeric_sums_are_trimmed() {
        assert_eq!(trim_numeric("240.500000000000000000"), "240.5");
        assert_eq!(trim_numeric("240.000000000000000000"), "240");
        assert_eq!(trim_numeric("1200"), "1200");
    }
}
