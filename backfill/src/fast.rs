//! The fast way for a batch of new documents: binary COPY straight into the real tables with
//! the per-row foreign key triggers off (`session_replication_role = replica`), then every
//! foreign key of the batch's rows checked by one query. A batch that holds a document already
//! there fails its COPY on a unique key, one whose reference points nowhere fails the check:
//! either way the caller rolls back to its savepoint and loads the batch the usual way
//! ([`Stage`](crate::stage::Stage): staging tables, `INSERT ... ON CONFLICT DO NOTHING`, the
//! triggers on), so the database ends the same.
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
    /// How many distinct keys of the batch's rows point nowhere, over every foreign key, the
    /// rows they point at locked `FOR KEY SHARE`, plus 1 if some child row was not found (`$1`:
    /// the batch's root ids, `$2` its child rows); `None` when the collection has neither a
    /// foreign key nor a child table.
    check: Option<Statement>,
}

impl FastWay {
    /// Prepares the fast way of `collection`, or returns `None` when a table has an INSERT
    /// trigger that the replica role would silence and that does not stand aside in a backfill
    /// (the generated hook triggers test `schemac.skip_hooks`), or when a child table's foreign
    /// key to its parent is gone (the check finds a batch's child rows through it). `catalog`
    /// holds what PostgreSQL's catalog says of the tables, read once per backfill.
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

        // Where each child table's parent is: the table its parent column's key points at.
        let mut parents = vec![None; tables.len()];
        for (index, table) in tables.iter().enumerate() {
            let Some(column) = table.parent else { continue };
            let parent = keys.iter().find_map(|k| {
                let own = k.table == index && k.columns == [column] && k.schema == "public";
                own.then(|| tables.iter().position(|t| t.name == k.target))
                    .flatten()
            });
            match parent {
                Some(parent) => parents[index] = Some((column, parent)),
                None => return Ok(None),
            }
        }
        let copies = copy_targets(client, tables, &relations)?;

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

        let check = match check_sql(&relations, &keys, &parents, tables) {
            Some(sql) => Some(client.prepare(&sql)?),
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
    /// database nor the batch) sent NULL, every foreign key checked. Returns those deferred
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
        let nulls = |table: usize, column: usize, value: &[u8]| {
            absent.iter().any(|(t, c, missing)| {
                (*t, *c) == (table, column)
                    && Uuid::from_slice(value).is_ok_and(|u| missing.contains(&u))
            })
        };
        client.batch_execute("SET LOCAL session_replication_role = replica")?;
        copy::copy(client, &self.copies, docs, &nulls)?;
        let children: usize = (1..self.copies.len())
            .map(|table| docs.iter().map(|d| d.row_count(table)).sum::<usize>())
            .sum();
        let children = children as i64;
        let params: [&(dyn ToSql + Sync); 2] = [&roots, &children];
        let dangling: i64 = match &self.check {
            // `$2` only when the collection has child tables.
            Some(check) => client
                .query_one(check, &params[..check.params().len()])?
                .try_get(0)?,
            None => 0,
        };
        client.batch_execute("SET LOCAL session_replication_role = origin")?;
        Ok((dangling == 0).then_some(unresolved))
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

/// The SQL of [`FastWay`]'s check of a batch; `None` when there is nothing to check.
/// `parents[i]` is the parent column of `tables[i]` and the parent's index.
fn check_sql(
    relations: &[String],
    keys: &[ForeignKey],
    parents: &[Option<(&'static str, usize)>],
    tables: &[Table],
) -> Option<String> {
    let is_parent_key = |key: &ForeignKey| {
        parents[key.table].is_some_and(|(column, parent)| {
            key.columns == [column]
                && key.schema == "public"
                && key.target == tables[parent].name
                && key.target_columns == ["id"]
        })
    };
    // The check's terms: the dangling keys of each foreign key, except a child table's key
    // to its parent, which holds for every row found (child rows are found through it);
    // and whether every child row copied (`$2`) was found, so that none escapes the check.
    // The foreign keys into one target are checked together: each row they point at is looked
    // up and locked once.
    let mut groups: Vec<Vec<(String, &ForeignKey)>> = Vec::new();
    for key in keys.iter().filter(|key| !is_parent_key(key)) {
        let rows = format!("b{}", key.table);
        match groups.iter_mut().find(|g| g[0].1.same_target(key)) {
            Some(group) => group.push((rows, key)),
            None => groups.push(vec![(rows, key)]),
        }
    }
    let mut terms: Vec<String> = groups.iter().map(|g| dangling_sql(g)).collect();
    let found: Vec<String> = (0..tables.len())
        .filter(|&i| parents[i].is_some())
        .map(|i| format!("(SELECT count(*) FROM b{i})"))
        .collect();
    if !found.is_empty() {
        terms.push(format!("({} <> $2::int8)::int", found.join(" + ")));
    }
    // The batch's rows of each table, read once (`b<i>`): the root's by id (`$1`, in one
    // place: the planner estimates `= ANY` element by element), a child table's through its
    // parent's key; with the columns of the foreign keys.
    let mut batch = Vec::new();
    for (i, relation) in relations.iter().enumerate() {
        let mut columns = vec!["id"];
        for key in keys.iter().filter(|k| k.table == i && !is_parent_key(k)) {
            for column in &key.columns {
                if !columns.contains(&column.as_str()) {
                    columns.push(column);
                }
            }
        }
        let columns: Vec<String> = columns.iter().map(|c| format!("s.{}", quote(c))).collect();
        let filter = match parents[i] {
            None => "s.id = ANY($1::uuid[])".to_string(),
            Some((column, parent)) => {
                format!("s.{} IN (SELECT id FROM b{parent})", quote(column))
            }
        };
        batch.push(format!(
            "b{i} AS MATERIALIZED (SELECT {} FROM {relation} s WHERE {filter})",
            columns.join(", ")
        ));
    }
    (!terms.is_empty()).then(|| {
        format!(
            "WITH {}\nSELECT {}",
            batch.join(",\n     "),
            terms.join("\n     + ")
        )
    })
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

impl ForeignKey {
    /// Whether `other` points at the same columns of the same table.
    fn same_target(&self, other: &ForeignKey) -> bool {
        (&self.schema, &self.target, &self.target_columns)
            == (&other.schema, &other.target, &other.target_columns)
    }
}

/// The check of the foreign keys into one target (`keys`: each with the CTE of its table's
/// batch rows, all with the same target, see [`ForeignKey::same_target`]): how many distinct
/// non-NULL keys of the batch's rows point at no row of the target, the rows they do point at
/// being locked `FOR KEY SHARE` so that none is deleted before the batch commits (what the
/// per-row trigger does). Each target row is looked up and locked once however many keys
/// point at it. The batch's rows are found by index from its root ids and the keys looked up
/// by the target's key index, so the cost does not grow with the tables.
fn dangling_sql(keys: &[(String, &ForeignKey)]) -> String {
    let target = keys[0].1;
    // `columns` quoted, each written by `item(i, column)`, joined by `sep`.
    let list = |columns: &[String], item: &dyn Fn(usize, String) -> String, sep: &str| {
        let items: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| item(i, quote(c)))
            .collect();
        items.join(sep)
    };
    let targets = &target.target_columns;
    let same: Vec<String> = (0..targets.len())
        .map(|i| format!("l.k{i} = k.k{i}"))
        .collect();
    // Each key once: DISTINCT, or the UNION of several.
    let distinct = if keys.len() == 1 { "DISTINCT " } else { "" };
    let selects: Vec<String> = keys
        .iter()
        .map(|(rows, key)| {
            format!(
                "SELECT {distinct}{} FROM {rows} s WHERE {}",
                list(&key.columns, &|i, c| format!("s.{c} AS k{i}"), ", "),
                list(&key.columns, &|_, c| format!("s.{c} IS NOT NULL"), " AND "),
            )
        })
        .collect();
    format!(
        "(WITH k AS MATERIALIZED ({keys}), \
         l AS MATERIALIZED (SELECT {found} FROM {schema}.{table} r WHERE ({target_tuple}) IN \
         (SELECT {k} FROM k) FOR KEY SHARE OF r) \
         SELECT count(*) FROM k WHERE NOT EXISTS (SELECT 1 FROM l WHERE {same}))",
        keys = selects.join(" UNION "),
        found = list(targets, &|i, c| format!("r.{c} AS k{i}"), ", "),
        schema = quote(&target.schema),
        table = quote(&target.target),
        target_tuple = list(targets, &|_, c| format!("r.{c}"), ", "),
        k = list(targets, &|i, _| format!("k{i}"), ", "),
        same = same.join(" AND "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::copy::tests::table;

    #[test]
    fn a_foreign_key_of_two_columns_is_checked_column_by_column_and_quoted() {
        let key = ForeignKey {
            table: 0,
            columns: vec!["a_id".into(), "b\"x".into()],
            schema: "public".into(),
            target: "t".into(),
            target_columns: vec!["id".into(), "kind".into()],
        };
        assert_eq!(
            dangling_sql(&[("b1".to_string(), &key)]),
            "(WITH k AS MATERIALIZED (SELECT DISTINCT s.\"a_id\" AS k0, s.\"b\"\"x\" AS k1 \
             FROM b1 s WHERE s.\"a_id\" IS NOT NULL AND s.\"b\"\"x\" IS NOT NULL), \
             l AS MATERIALIZED (SELECT r.\"id\" AS k0, r.\"kind\" AS k1 FROM \"public\".\"t\" r \
             WHERE (r.\"id\", r.\"kind\") IN (SELECT k0, k1 FROM k) FOR KEY SHARE OF r) \
             SELECT count(*) FROM k WHERE NOT EXISTS (SELECT 1 FROM l WHERE l.k0 = k.k0 AND \
             l.k1 = k.k1))"
        );
    }

    fn key(table: usize, column: &str, target: &str) -> ForeignKey {
        ForeignKey {
            table,
            columns: vec![column.into()],
            schema: "public".into(),
            target: target.into(),
            target_columns: vec!["id".into()],
        }
    }

    #[test]
    fn the_keys_into_one_target_are_looked_up_and_locked_once() {
        let keys = [
            key(0, "buyer_id", "users"),
            key(0, "category_id", "categories"),
            key(1, "seller_id", "users"),
            key(1, "request_id", "requests"),
        ];
        let tables = [
            table("requests", &["id", "buyer_id", "category_id"], None),
            table(
                "request_sellers",
                &["id", "request_id", "seller_id"],
                Some("request_id"),
            ),
        ];
        let relations = [
            "public.\"requests\"".to_string(),
            "public.\"request_sellers\"".to_string(),
        ];
        let sql = check_sql(&relations, &keys, &[None, Some(("request_id", 0))], &tables).unwrap();
        // users: one lookup of the union of both tables' keys; categories: its own.
        assert_eq!(
            sql.matches("FROM \"public\".\"users\" r").count(),
            1,
            "{sql}"
        );
        assert!(
            sql.contains(
                "(WITH k AS MATERIALIZED (SELECT s.\"buyer_id\" AS k0 FROM b0 s WHERE \
                 s.\"buyer_id\" IS NOT NULL UNION SELECT s.\"seller_id\" AS k0 FROM b1 s WHERE \
                 s.\"seller_id\" IS NOT NULL), l AS MATERIALIZED (SELECT r.\"id\" AS k0 FROM \
                 \"public\".\"users\" r"
            ),
            "{sql}"
        );
        assert_eq!(
            sql.matches("FROM \"public\".\"categories\" r").count(),
            1,
            "{sql}"
        );
        // The parent key is not looked up: child rows are found through it.
        assert!(!sql.contains("FROM \"public\".\"requests\" r"), "{sql}");
    }
}
