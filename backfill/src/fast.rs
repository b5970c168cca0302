//! The fast way for a batch of new documents: binary COPY straight into the real tables with
//! the per-row foreign key triggers off (`session_replication_role = replica`), then every
//! foreign key of the batch's rows checked by one query, from the keys the client sent. A
//! batch that holds a document already there fails its COPY on a unique key, one whose
//! reference points nowhere fails the check: either way the caller rolls back to its savepoint
//! and loads the batch the usual way ([`Stage`](crate::stage::Stage): staging tables, `INSERT
//! ... ON CONFLICT DO NOTHING`, the triggers on), so the database ends the same.
//!
//! Compared with the usual way it writes each row once (no staging table, no `INSERT ...
//! SELECT` from it, no `ON CONFLICT`, whose speculative insertion costs a quarter of an insert)
//! and needs no temporary table at all.

use std::collections::HashSet;

use schemac_runtime::bytes::BytesMut;
use schemac_runtime::postgres::types::{IsNull, ToSql, Type};
use schemac_runtime::postgres::{self, GenericClient, Statement};
use schemac_runtime::registry::{Collection, Rows, Table};
use schemac_runtime::uuid::Uuid;

use crate::copy::{self, CopyTarget};
use crate::order::Deferred;
use crate::stage::{StageError, Unresolved, column_list, qualified, quote};

/// The fast way's statements for one collection, prepared once.
pub struct FastWay {
    /// The COPY into each real table, in the collection's table order.
    copies: Vec<CopyTarget>,
    /// The deferred references, whose values are sent NULL when their target is not loaded.
    deferred: Vec<DeferredColumn>,
    /// The check of the keys the batch sends; `None` when the collection has no foreign key.
    check: Option<(Check, Statement)>,
}

impl FastWay {
    /// Prepares the fast way of `collection`, or returns `None` when a table has an INSERT
    /// trigger that the replica role would silence and that does not stand aside in a backfill
    /// (the generated hook triggers test `schemac.skip_hooks`), or when a foreign key is not one
    /// the fast way checks (see [`Check::plan`]): the usual way's triggers check those.
    /// `catalog` holds what PostgreSQL's catalog says of the tables, read once per backfill.
    pub fn prepare(
        client: &mut impl GenericClient,
        catalog: &Catalog,
        collection: &dyn Collection,
        deferred: &[Deferred],
    ) -> Result<Option<FastWay>, postgres::Error> {
        let tables = collection.tables();
        let relations: Vec<String> = tables.iter().map(|t| qualified(t.name)).collect();
        if relations.iter().any(|r| catalog.silenced.contains(r)) {
            return Ok(None);
        }
        // The collection's foreign keys, their table named by its index in `tables`.
        let keys: Vec<ForeignKey> = catalog
            .keys
            .iter()
            .filter_map(|(from, key)| {
                let table = relations.iter().position(|r| r == from)?;
                Some(ForeignKey {
                    table,
                    ..key.clone()
                })
            })
            .collect();
        let copies = copy_targets(client, tables, &relations)?;
        let types: Vec<&[Type]> = copies.iter().map(|c| c.types.as_slice()).collect();
        let Some(check) = Check::plan(&keys, tables, &types) else {
            return Ok(None);
        };

        let mut deferred_columns = Vec::new();
        for d in deferred {
            let columns = tables[d.table].columns;
            let (Some(id), Some(column)) = (
                columns.iter().position(|c| *c == "id"),
                columns.iter().position(|c| *c == d.reference.column),
            ) else {
                return Ok(None);
            };
            let exists = client.prepare(&format!(
                "SELECT id FROM {} WHERE id = ANY($1::uuid[])",
                qualified(d.reference.table)
            ))?;
            deferred_columns.push(DeferredColumn {
                deferred: *d,
                id,
                column,
                exists,
                same_collection: d.reference.table == tables[0].name,
            });
        }

        let check = match check.sql() {
            Some(sql) => Some((check, client.prepare(&sql)?)),
            None => None,
        };
        Ok(Some(FastWay {
            copies,
            deferred: deferred_columns,
            check,
        }))
    }

    /// Loads `docs`, all new, the fast way: COPY into the real tables with the foreign key
    /// triggers off, the deferred references whose target is not loaded yet (in neither the
    /// database nor the batch) sent NULL, every key sent checked. Returns those deferred
    /// references (see [`Unresolved`]), or `None` when a reference points nowhere; a document
    /// already there fails the COPY with a unique violation. Either way the caller rolls back
    /// to its savepoint.
    pub fn load(
        &self,
        client: &mut impl GenericClient,
        docs: &[&dyn Rows],
    ) -> Result<Option<Vec<Unresolved>>, StageError> {
        let roots: Vec<Uuid> = docs.iter().map(|d| d.id()).collect();
        let mut unresolved = Vec::new();
        // Per deferred reference: its table, column and the targets not loaded.
        let mut absent: Vec<(usize, usize, HashSet<Uuid>)> = Vec::new();
        for d in &self.deferred {
            let pairs = d.values(docs)?;
            if pairs.is_empty() {
                continue;
            }
            let targets: Vec<Uuid> = pairs.iter().map(|&(_, target)| target).collect();
            let mut loaded = HashSet::new();
            for row in client.query(&d.exists, &[&targets])? {
                loaded.insert(row.try_get::<_, Uuid>(0)?);
            }
            if d.same_collection {
                loaded.extend(roots.iter().copied());
            }
            let missing: HashSet<Uuid> = targets
                .into_iter()
                .filter(|t| !loaded.contains(t))
                .collect();
            unresolved.extend(
                pairs
                    .into_iter()
                    .filter(|(_, target)| missing.contains(target))
                    .map(|(row, target)| Unresolved {
                        deferred: d.deferred,
                        row,
                        target,
                    }),
            );
            absent.push((d.deferred.table, d.column, missing));
        }
        let mut sent = self.check.as_ref().map(|(check, _)| Sent::new(check));
        let mut sending = |table: usize, column: usize, value: &[u8]| {
            let null = absent.iter().any(|(t, c, missing)| {
                (*t, *c) == (table, column)
                    && Uuid::from_slice(value).is_ok_and(|u| missing.contains(&u))
            });
            if let (false, Some(sent)) = (null, &mut sent) {
                sent.see(table, column, value);
            }
            null
        };
        client.batch_execute("SET LOCAL session_replication_role = replica")?;
        copy::copy(client, &self.copies, docs, &mut sending)?;
        let dangling: i64 = match (&self.check, sent) {
            // Nothing to look up when every key names a row of the batch (a child's parent).
            (Some((_, statement)), Some(sent)) => match sent.keys() {
                keys if keys.iter().all(Vec::is_empty) => 0,
                keys => {
                    let params: Vec<&(dyn ToSql + Sync)> =
                        keys.iter().map(|k| k as &(dyn ToSql + Sync)).collect();
                    client.query_one(statement, &params)?.try_get(0)?
                }
            },
            _ => 0,
        };
        client.batch_execute("SET LOCAL session_replication_role = origin")?;
        Ok((dangling == 0).then_some(unresolved))
    }
}

/// How the fast way checks a collection's foreign keys: from the values the client sends, not
/// by reading the batch back. The keys into one target table are taken together, each key
/// once, and the target's rows they name looked up and locked `FOR KEY SHARE` (what the
/// per-row trigger does, so that none is deleted before the batch commits). A key naming a
/// row the batch itself copies (a child row's parent, a category's parent in the same batch)
/// needs no lookup: the COPY put it there, and no other transaction can delete it.
#[derive(Debug, PartialEq)]
struct Check {
    /// The target tables, one parameter of the check each: `(schema, table, column)`.
    targets: Vec<(String, String, String)>,
    /// Per table of the collection: `(column, target)` for each of its foreign keys.
    columns: Vec<Vec<(usize, usize)>>,
    /// Per target: the collection's table it is, when it is one (by its `id`), whose ids
    /// copied in the batch are not looked up.
    own: Vec<Option<usize>>,
    /// Per table of the collection: the position of its `id` column, when a target is that
    /// table.
    ids: Vec<Option<usize>>,
}

impl Check {
    /// Plans the check of `keys`, the foreign keys of `tables`, whose columns have `types`;
    /// `None` when one is not a single `uuid` column that the generated rows hold (a key of
    /// several columns, of another type, or on a column the catalogue does not write): the
    /// fast way is then not taken, and the usual way's triggers check every key.
    fn plan(keys: &[ForeignKey], tables: &[Table], types: &[&[Type]]) -> Option<Check> {
        let mut check = Check {
            targets: Vec::new(),
            columns: vec![Vec::new(); tables.len()],
            own: Vec::new(),
            ids: vec![None; tables.len()],
        };
        for key in keys {
            let ([column], [target_column]) =
                (key.columns.as_slice(), key.target_columns.as_slice())
            else {
                return None;
            };
            let position = tables[key.table].columns.iter().position(|c| c == column)?;
            if types[key.table][position] != Type::UUID {
                return None;
            }
            let target = (
                key.schema.clone(),
                key.target.clone(),
                target_column.clone(),
            );
            let index = match check.targets.iter().position(|t| *t == target) {
                Some(index) => index,
                None => {
                    let own = tables.iter().position(|t| {
                        key.schema == "public" && t.name == key.target && target_column == "id"
                    });
                    if let Some(own) = own {
                        let id = tables[own].columns.iter().position(|c| *c == "id")?;
                        if types[own][id] != Type::UUID {
                            return None;
                        }
                        check.ids[own] = Some(id);
                    }
                    check.targets.push(target);
                    check.own.push(own);
                    check.targets.len() - 1
                }
            };
            check.columns[key.table].push((position, index));
        }
        Some(check)
    }

    /// The check's SQL, `$n` the distinct keys into the n-th target: how many of them name no
    /// row, the rows they name locked. `None` when there are no targets.
    fn sql(&self) -> Option<String> {
        let terms: Vec<String> = self
            .targets
            .iter()
            .enumerate()
            .map(|(i, (schema, table, column))| {
                let n = i + 1;
                format!(
                    "cardinality(${n}::uuid[]) - (SELECT count(*) FROM (SELECT FROM {}.{} r \
                     WHERE r.{} = ANY(${n}::uuid[]) FOR KEY SHARE OF r) l)",
                    quote(schema),
                    quote(table),
                    quote(column)
                )
            })
            .collect();
        (!terms.is_empty()).then(|| format!("SELECT {}", terms.join("\n     + ")))
    }
}

/// The keys a batch sends, gathered as its rows are encoded (see [`Check`]).
struct Sent<'a> {
    check: &'a Check,
    /// Per target: its distinct keys.
    keys: Vec<HashSet<Uuid>>,
    /// Per table of the collection: the ids copied, for the tables that are a target.
    copied: Vec<HashSet<Uuid>>,
}

impl<'a> Sent<'a> {
    fn new(check: &'a Check) -> Sent<'a> {
        Sent {
            check,
            keys: vec![HashSet::new(); check.targets.len()],
            copied: vec![HashSet::new(); check.ids.len()],
        }
    }

    /// Sees a non-NULL value sent for `column` of `table`.
    fn see(&mut self, table: usize, column: usize, value: &[u8]) {
        let id = self.check.ids[table] == Some(column);
        let mut targets = self.check.columns[table]
            .iter()
            .filter(|&&(c, _)| c == column)
            .peekable();
        if !id && targets.peek().is_none() {
            return;
        }
        // Every column seen is a uuid (`Check::plan`).
        let Ok(value) = Uuid::from_slice(value) else {
            return;
        };
        if id {
            self.copied[table].insert(value);
        }
        for &(_, target) in targets {
            self.keys[target].insert(value);
        }
    }

    /// The keys to look up, one array per target: all but the rows the batch copied.
    fn keys(self) -> Vec<Vec<Uuid>> {
        let Sent {
            check,
            keys,
            copied,
        } = self;
        keys.into_iter()
            .zip(&check.own)
            .map(|(keys, own)| match own {
                Some(table) => keys
                    .into_iter()
                    .filter(|k| !copied[*table].contains(k))
                    .collect(),
                None => keys.into_iter().collect(),
            })
            .collect()
    }
}

/// What the fast way needs of PostgreSQL's catalog for the tables of a backfill, read once:
/// the tables with an INSERT trigger that the replica role would silence, and every foreign
/// key, as PostgreSQL has them (so that nothing the catalogue does not know is missed).
pub struct Catalog {
    /// The tables (`public."name"`) with a silenced trigger.
    silenced: HashSet<String>,
    /// Each foreign key with its table (`public."name"`); `ForeignKey::table` is not set.
    keys: Vec<(String, ForeignKey)>,
}

impl Catalog {
    /// Reads the catalog for the tables of `collections`: two queries.
    pub fn read<'c>(
        client: &mut impl GenericClient,
        collections: impl IntoIterator<Item = &'c dyn Collection>,
    ) -> Result<Catalog, postgres::Error> {
        let relations: Vec<String> = collections
            .into_iter()
            .flat_map(|c| c.tables().iter().map(|t| qualified(t.name)))
            .collect();
        // A table is named by its position in `relations`, from 1.
        let named = |position: i32| relations[position as usize - 1].clone();
        let silenced = client
            .query(
                "SELECT DISTINCT array_position($1::text[]::regclass[], t.tgrelid)
                 FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
                 WHERE t.tgrelid = ANY($1::text[]::regclass[]) AND NOT t.tgisinternal
                   AND t.tgenabled = 'O' AND t.tgtype & 4 <> 0
                   AND p.prosrc NOT LIKE '%schemac.skip_hooks%'",
                &[&relations],
            )?
            .iter()
            .map(|row| row.try_get(0).map(named))
            .collect::<Result<_, _>>()?;
        let keys = client
            .query(
                "SELECT array_position($1::text[]::regclass[], c.conrelid),
                        array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                              JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n
                              ORDER BY k.i),
                        n.nspname::text, r.relname::text,
                        array(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
                              JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n
                              ORDER BY k.i)
                 FROM pg_constraint c
                 JOIN pg_class r ON r.oid = c.confrelid
                 JOIN pg_namespace n ON n.oid = r.relnamespace
                 WHERE c.contype = 'f' AND c.conrelid = ANY($1::text[]::regclass[])
                 ORDER BY 1, c.conname",
                &[&relations],
            )?
            .iter()
            .map(|row| {
                let key = ForeignKey {
                    table: 0,
                    columns: row.try_get(1)?,
                    schema: row.try_get(2)?,
                    target: row.try_get(3)?,
                    target_columns: row.try_get(4)?,
                };
                Ok((named(row.try_get(0)?), key))
            })
            .collect::<Result<_, postgres::Error>>()?;
        Ok(Catalog { silenced, keys })
    }
}

/// The COPY of each table of the collection, with its column types (read from one statement,
/// prepared and never run).
fn copy_targets(
    client: &mut impl GenericClient,
    tables: &'static [Table],
    relations: &[String],
) -> Result<Vec<CopyTarget>, postgres::Error> {
    let selected: Vec<String> = tables
        .iter()
        .enumerate()
        .flat_map(|(i, t)| t.columns.iter().map(move |c| format!("t{i}.{}", quote(c))))
        .collect();
    let from: Vec<String> = relations
        .iter()
        .enumerate()
        .map(|(i, r)| format!("{r} t{i}"))
        .collect();
    let types = client.prepare(&format!(
        "SELECT {} FROM {}",
        selected.join(", "),
        from.join(", ")
    ))?;
    let mut types = types.columns().iter().map(|c| c.type_().clone());
    let mut copies = Vec::new();
    for (table, relation) in tables.iter().zip(relations) {
        let types: Vec<Type> = types.by_ref().take(table.columns.len()).collect();
        let statement = client.prepare(&format!(
            "COPY {relation} ({}) FROM STDIN (FORMAT binary)",
            column_list(table)
        ))?;
        copies.push(CopyTarget {
            table,
            types,
            statement,
        });
    }
    Ok(copies)
}

/// A deferred reference as the fast way writes it.
struct DeferredColumn {
    deferred: Deferred,
    /// The positions of the table's `id` and of the reference's column.
    id: usize,
    column: usize,
    /// Which of `$1` are loaded: `SELECT id FROM <target> WHERE id = ANY($1)`.
    exists: Statement,
    /// The target is the collection's own root table: the batch's documents count as loaded.
    same_collection: bool,
}

impl DeferredColumn {
    /// The (row id, target) of each row of the batch whose reference is set.
    fn values(&self, docs: &[&dyn Rows]) -> Result<Vec<(Uuid, Uuid)>, postgres::Error> {
        let mut pairs = Vec::new();
        for doc in docs {
            doc.each_row(self.deferred.table, &mut |params| {
                if let (Some(row), Some(target)) =
                    (uuid_of(params[self.id]), uuid_of(params[self.column]))
                {
                    pairs.push((row, target));
                }
                Ok(())
            })?;
        }
        Ok(pairs)
    }
}

/// The uuid a row's parameter holds, `None` for NULL (or a value that is not a uuid).
fn uuid_of(param: &(dyn ToSql + Sync)) -> Option<Uuid> {
    let mut bytes = BytesMut::with_capacity(16);
    match param.to_sql_checked(&Type::UUID, &mut bytes) {
        Ok(IsNull::No) => Uuid::from_slice(&bytes).ok(),
        _ => None,
    }
}

/// A foreign key of one of the collection's tables, as PostgreSQL's catalog has it.
#[derive(Clone)]
struct ForeignKey {
    /// The referencing table: its index in the collection's tables.
    table: usize,
    columns: Vec<String>,
    /// The referenced table, its schema and columns.
    schema: String,
    target: String,
    target_columns: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::copy::tests::table;

    fn key(table: usize, column: &str, target: &str) -> ForeignKey {
        ForeignKey {
            table,
            columns: vec![column.into()],
            schema: "public".into(),
            target: target.into(),
            target_columns: vec!["id".into()],
        }
    }

    static TABLES: [Table; 2] = [
        table("requests", &["id", "buyer_id", "category_id", "note"], None),
        table(
            "request_sellers",
            &["id", "request_id", "seller_id"],
            Some("request_id"),
        ),
    ];
    const UUIDS: [Type; 4] = [Type::UUID, Type::UUID, Type::UUID, Type::TEXT];

    /// The check of `keys` of [`TABLES`], whose columns are uuids but the requests' note.
    fn plan(keys: &[ForeignKey]) -> Option<Check> {
        Check::plan(keys, &TABLES, &[&UUIDS, &UUIDS[..3]])
    }

    #[test]
    fn the_keys_into_one_target_are_looked_up_and_locked_once() {
        let keys = [
            key(0, "buyer_id", "users"),
            key(0, "category_id", "categories"),
            key(1, "request_id", "requests"),
            key(1, "seller_id", "users"),
        ];
        let check = plan(&keys).unwrap();
        assert_eq!(check.columns, [vec![(1, 0), (2, 1)], vec![(1, 2), (2, 0)]]);
        // The requests are the collection's own root: their ids need no lookup when copied.
        assert_eq!(check.own, [None, None, Some(0)]);
        assert_eq!(check.ids, [Some(0), None]);
        assert_eq!(
            check.sql().unwrap(),
            "SELECT cardinality($1::uuid[]) - (SELECT count(*) FROM (SELECT FROM \"public\".\"users\" \
             r WHERE r.\"id\" = ANY($1::uuid[]) FOR KEY SHARE OF r) l)\n     \
             + cardinality($2::uuid[]) - (SELECT count(*) FROM (SELECT FROM \"public\".\"categories\" \
             r WHERE r.\"id\" = ANY($2::uuid[]) FOR KEY SHARE OF r) l)\n     \
             + cardinality($3::uuid[]) - (SELECT count(*) FROM (SELECT FROM \"public\".\"requests\" \
             r WHERE r.\"id\" = ANY($3::uuid[]) FOR KEY SHARE OF r) l)"
        );
    }

    #[test]
    fn a_key_the_fast_way_cannot_check_sends_the_collection_the_usual_way() {
        assert!(plan(&[key(0, "buyer_id", "users")]).is_some());
        // Two columns.
        let mut pair = key(1, "seller_id", "users");
        pair.columns.push("request_id".into());
        pair.target_columns.push("kind".into());
        assert_eq!(plan(&[pair]), None);
        // Not a uuid, or not a column the catalogue writes.
        assert_eq!(plan(&[key(0, "note", "notes")]), None);
        assert_eq!(plan(&[key(0, "added_by_hand", "users")]), None);
        // No foreign key at all: nothing to check.
        assert_eq!(plan(&[]).unwrap().sql(), None);
    }

    #[test]
    fn keys_naming_rows_the_batch_copied_are_not_looked_up() {
        let keys = [
            key(0, "buyer_id", "users"),
            key(1, "request_id", "requests"),
            key(1, "seller_id", "users"),
        ];
        let check = plan(&keys).unwrap();
        let id = |n: u128| Uuid::from_u128(n);
        let mut sent = Sent::new(&check);
        // Two requests by user 100; a seller row of each, by users 100 and 101, and one
        // whose request (9) the batch does not hold.
        for (request, buyer) in [(1, 100), (2, 100)] {
            sent.see(0, 0, id(request).as_bytes());
            sent.see(0, 1, id(buyer).as_bytes());
            sent.see(0, 3, b"a note");
        }
        for (row, request, seller) in [(11, 1, 100), (12, 2, 101), (13, 9, 101)] {
            sent.see(1, 0, id(row).as_bytes());
            sent.see(1, 1, id(request).as_bytes());
            sent.see(1, 2, id(seller).as_bytes());
        }
        let mut keys = sent.keys();
        keys.iter_mut().for_each(|k| k.sort());
        // Each user once; of the requests, only the one the batch did not copy.
        assert_eq!(keys, [vec![id(100), id(101)], vec![id(9)]]);
    }
}
