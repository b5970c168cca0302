//! Staging: one temporary table per table of a collection, filled by binary COPY from the
//! generated rows, then merged into the real table with `INSERT ... SELECT ... ON CONFLICT DO
//! NOTHING` on the row's identity (`legacy_object_id` for a root row, `id` for a child row), so a
//! merge is idempotent. Deferred references are merged only when their target already exists.

use std::io::Write;

use schemac_runtime::bytes::{BufMut, BytesMut};
use schemac_runtime::postgres::types::{IsNull, ToSql, Type};
use schemac_runtime::postgres::{self, GenericClient, Statement};
use schemac_runtime::registry::{Collection, Reference, Rows, Table};

use crate::order::Deferred;
use schemac_runtime::uuid::Uuid;

/// `"name"`: a quoted identifier, `"` doubled.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The staging tables of one collection, in the collection's table order.
pub struct Stage {
    tables: Vec<Staged>,
    /// Whether batches may try the fast way; see [`Stage::prepare_bulk_check`].
    fast_way: bool,
    /// The bulk check of the collection's foreign keys; `None` when it has none.
    bulk_check: Option<Statement>,
}

struct Staged {
    /// The real table.
    table: &'static Table,
    /// `pg_temp."stage_<table>"`.
    temp: String,
    types: Vec<Type>,
    copy: Statement,
    merge: Statement,
    /// The merge without `ON CONFLICT`: for a batch whose documents are all new.
    insert: Statement,
    /// Per deferred reference of the table: the query of the rows it left NULL.
    unresolved: Vec<(Deferred, Statement)>,
}

/// The size of the COPY messages: large enough that the server is not sent a message per few
/// rows. (The postgres crate's `BinaryCopyInWriter` sends one per 4 KiB; over loopback, whose
/// MTU is 64 KiB, the server's receive window then closed now and then and the COPY waited
/// 200 ms, TCP's minimum timeout, before going on: in about one backfill of the sample in two.)
const COPY_MESSAGE: usize = 1 << 20;

/// Why rows could not be staged or merged.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// A value that PostgreSQL's binary format cannot carry (nothing was sent).
    #[error("{table}.{column}: the value cannot be sent to PostgreSQL: {source}")]
    Encode {
        /// The table.
        table: &'static str,
        /// The column.
        column: &'static str,
        /// What the value's `ToSql` said.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The database refused a statement or the COPY.
    #[error(transparent)]
    Postgres(#[from] postgres::Error),
    /// Writing the COPY failed otherwise.
    #[error("COPY: {0}")]
    Copy(std::io::Error),
}

/// The error of a write to a `CopyInWriter`: the postgres error it wraps.
fn copy_error(e: std::io::Error) -> StageError {
    let kind = e.kind();
    match e
        .into_inner()
        .map(|inner| inner.downcast::<postgres::Error>())
    {
        Some(Ok(e)) => StageError::Postgres(*e),
        Some(Err(other)) => StageError::Copy(std::io::Error::new(kind, other)),
        None => StageError::Copy(kind.into()),
    }
}

/// A deferred reference whose target was not there at merge time: the row got NULL.
#[derive(Debug, Clone)]
pub struct Unresolved {
    /// The reference and its table.
    pub deferred: Deferred,
    /// The row.
    pub row: Uuid,
    /// The uuid it should hold.
    pub target: Uuid,
}

/// When the staged rows go away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// At each commit (the backfill: one transaction per batch).
    Transaction,
    /// With the session (verify: the rows are read by later queries).
    Session,
}

impl Stage {
    /// Creates (if needed) the temporary tables of `collection`, named `<prefix><table>`, and
    /// reads their column types.
    pub fn new(
        client: &mut impl GenericClient,
        collection: &dyn Collection,
        deferred: &[Deferred],
        prefix: &str,
        lifetime: Lifetime,
    ) -> Result<Stage, postgres::Error> {
        let on_commit = match lifetime {
            Lifetime::Transaction => "DELETE ROWS",
            Lifetime::Session => "PRESERVE ROWS",
        };
        let mut tables = Vec::new();
        let temp_of =
            |table: &Table| format!("pg_temp.{}", quote(&format!("{prefix}{}", table.name)));
        let root = collection.tables()[0];
        for (index, table) in collection.tables().iter().enumerate() {
            let temp = temp_of(table);
            client.batch_execute(&format!(
                "CREATE TEMP TABLE IF NOT EXISTS {temp} (LIKE public.{} INCLUDING DEFAULTS) \
                 ON COMMIT {on_commit}",
                quote(table.name)
            ))?;
            let columns = column_list(table);
            let statement = client.prepare(&format!("SELECT {columns} FROM {temp}"))?;
            let types = statement
                .columns()
                .iter()
                .map(|c| c.type_().clone())
                .collect();
            let mine: Vec<Deferred> = deferred
                .iter()
                .filter(|d| d.table == index)
                .copied()
                .collect();
            let references: Vec<Reference> = mine.iter().map(|d| d.reference).collect();
            let sql = |on_conflict| {
                merge_sql(
                    table,
                    &temp,
                    &references,
                    &root,
                    &temp_of(&root),
                    on_conflict,
                )
            };
            let merge = client.prepare(&sql(true))?;
            let insert = client.prepare(&sql(false))?;
            let copy = client.prepare(&format!(
                "COPY {temp} ({columns}) FROM STDIN (FORMAT binary)"
            ))?;
            let mut unresolved = Vec::new();
            for d in mine {
                let column = quote(d.reference.column);
                let sql = format!(
                    "SELECT s.id, s.{column} FROM {temp} s JOIN public.{} r ON r.id = s.id \
                     WHERE s.{column} IS NOT NULL AND r.{column} IS NULL",
                    quote(table.name)
                );
                unresolved.push((d, client.prepare(&sql)?));
            }
            tables.push(Staged {
                table,
                temp,
                types,
                copy,
                merge,
                insert,
                unresolved,
            });
        }
        Ok(Stage {
            tables,
            fast_way: false,
            bulk_check: None,
        })
    }

    /// Prepares the check that lets a batch insert with `session_replication_role = replica`
    /// (no per-row foreign key triggers) and still keep every foreign key: for each foreign key
    /// of the collection's tables, as PostgreSQL's catalog has it, the distinct keys the batch
    /// staged that point at no row, the rows they do point at being locked `FOR KEY SHARE`
    /// until commit, as the per-row check locks them (a collection without foreign keys has
    /// nothing to check: its batches still try plain inserts). Returns false, preparing
    /// nothing, when a table has an INSERT trigger that the replica role would silence and that
    /// does not stand aside in a backfill (the generated hook triggers test
    /// `schemac.skip_hooks`).
    pub fn prepare_bulk_check(
        &mut self,
        client: &mut impl GenericClient,
        collection: &dyn Collection,
    ) -> Result<bool, postgres::Error> {
        // One query of each catalog for all the collection's tables (a table is named by its
        // position in `relations`, from 1).
        let relations: Vec<String> = collection
            .tables()
            .iter()
            .map(|t| format!("public.{}", quote(t.name)))
            .collect();
        let silenced: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
                 WHERE t.tgrelid = ANY($1::text[]::regclass[]) AND NOT t.tgisinternal
                   AND t.tgenabled = 'O' AND t.tgtype & 4 <> 0
                   AND p.prosrc NOT LIKE '%schemac.skip_hooks%'",
                &[&relations],
            )?
            .get(0);
        if silenced > 0 {
            return Ok(false);
        }
        let keys = client.query(
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
        )?;
        let mut counts = Vec::new();
        for key in keys {
            let staged = &self.tables[key.get::<_, i32>(0) as usize - 1];
            let columns: Vec<String> = key.get(1);
            let target = format!("{}.{}", quote(key.get(2)), quote(key.get(3)));
            let target_columns: Vec<String> = key.get(4);
            let deferred = staged
                .unresolved
                .iter()
                .any(|(d, _)| [d.reference.column] == columns.as_slice());
            counts.push(dangling_sql(
                &staged.temp,
                &columns,
                &target,
                &target_columns,
                deferred,
            ));
        }
        if !counts.is_empty() {
            let check = format!("SELECT {}", counts.join("\n     + "));
            self.bulk_check = Some(client.prepare(&check)?);
        }
        self.fast_way = true;
        Ok(true)
    }

    /// Whether [`Stage::prepare_bulk_check`] opened the fast way.
    pub fn tries_fast_way(&self) -> bool {
        self.fast_way
    }

    /// The fast way for a batch of new documents: inserts the staged rows with the foreign key
    /// triggers off and without `ON CONFLICT` (whose speculative insertion costs a quarter of
    /// an insert), then checks the references in bulk (see [`Stage::prepare_bulk_check`]).
    /// Returns the number of root rows, or `None` when a reference points nowhere; a row that
    /// is there already fails with a unique violation. Either way the caller rolls back to its
    /// savepoint and loads the batch again with [`Stage::merge`]. `None` at once when
    /// [`Stage::prepare_bulk_check`] did not open the fast way.
    pub fn insert_checked_in_bulk(
        &self,
        client: &mut impl GenericClient,
    ) -> Result<Option<u64>, postgres::Error> {
        if !self.fast_way {
            return Ok(None);
        }
        client.batch_execute("SET LOCAL session_replication_role = replica")?;
        let inserted = self.execute_each(client, |t| &t.insert)?;
        let dangling: i64 = match &self.bulk_check {
            Some(check) => client.query_one(check, &[])?.get(0),
            None => 0,
        };
        client.batch_execute("SET LOCAL session_replication_role = origin")?;
        Ok((dangling == 0).then_some(inserted))
    }

    /// The temporary table of `tables()[index]`, qualified.
    pub fn temp_table(&self, index: usize) -> &str {
        &self.tables[index].temp
    }

    /// Copies the rows of `docs` into the staging tables (binary COPY, one per table). Each
    /// table's rows are encoded before its COPY starts, so a value that cannot be encoded sends
    /// nothing.
    pub fn copy(
        &self,
        client: &mut impl GenericClient,
        docs: &[&dyn Rows],
    ) -> Result<(), StageError> {
        let mut rows = BinaryRows::default();
        for (index, staged) in self.tables.iter().enumerate() {
            if docs.iter().all(|d| d.row_count(index) == 0) {
                continue;
            }
            rows.start();
            for doc in docs {
                doc.each_row(index, &mut |params| {
                    rows.push(staged.table, &staged.types, params);
                    Ok(())
                })?;
            }
            let encoded = rows.finish()?;
            let mut sink = client.copy_in(&staged.copy)?;
            for chunk in encoded.chunks(COPY_MESSAGE) {
                // The writer sends what one write gave it as one CopyData message.
                sink.write_all(chunk).map_err(copy_error)?;
            }
            sink.finish()?;
        }
        Ok(())
    }

    /// Merges the staged rows into the real tables, parents first; returns how many root rows
    /// were new. Call [`Stage::unresolved`] before [`Stage::clear`].
    pub fn merge(&self, client: &mut impl GenericClient) -> Result<u64, postgres::Error> {
        self.execute_each(client, |t| &t.merge)
    }

    /// Runs one statement of each staged table, parents first; returns the root's row count.
    fn execute_each(
        &self,
        client: &mut impl GenericClient,
        statement: fn(&Staged) -> &Statement,
    ) -> Result<u64, postgres::Error> {
        let mut root_rows = 0;
        for (index, staged) in self.tables.iter().enumerate() {
            let n = client.execute(statement(staged), &[])?;
            if index == 0 {
                root_rows = n;
            }
        }
        Ok(root_rows)
    }

    /// The deferred references of the staged rows that are NULL in the real table while the
    /// document has a value: their target is not loaded yet.
    pub fn unresolved(
        &self,
        client: &mut impl GenericClient,
    ) -> Result<Vec<Unresolved>, postgres::Error> {
        let mut out = Vec::new();
        for (d, statement) in self.tables.iter().flat_map(|t| &t.unresolved) {
            for row in client.query(statement, &[])? {
                out.push(Unresolved {
                    deferred: *d,
                    row: row.try_get(0)?,
                    target: row.try_get(1)?,
                });
            }
        }
        Ok(out)
    }

    /// Empties the staging tables (TRUNCATE: for large contents, between transactions).
    pub fn clear(&self, client: &mut impl GenericClient) -> Result<(), postgres::Error> {
        let names: Vec<&str> = self.tables.iter().map(|t| t.temp.as_str()).collect();
        client.batch_execute(&format!("TRUNCATE {}", names.join(", ")))
    }

    /// Empties the staging tables inside a transaction that goes on (DELETE: cheaper than
    /// TRUNCATE for the few rows of one document).
    pub fn empty(&self, client: &mut impl GenericClient) -> Result<(), postgres::Error> {
        let deletes: Vec<String> = self
            .tables
            .iter()
            .map(|t| format!("DELETE FROM {};", t.temp))
            .collect();
        client.batch_execute(&deletes.concat())
    }
}

/// One table's rows in PostgreSQL's binary COPY format; the buffer is kept from table to table.
#[derive(Default)]
struct BinaryRows {
    buf: BytesMut,
    /// The first value that could not be encoded.
    failed: Option<StageError>,
}

impl BinaryRows {
    /// Starts a table: the format's signature, flags and header extension.
    fn start(&mut self) {
        self.buf.clear();
        self.buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        self.buf.put_i32(0);
        self.buf.put_i32(0);
    }

    /// Appends one row of `table`, whose columns have `types`: the field count, then each
    /// value's length (-1 for NULL) and bytes.
    fn push(&mut self, table: &'static Table, types: &[Type], values: &[&(dyn ToSql + Sync)]) {
        if self.failed.is_some() {
            return;
        }
        self.buf.put_i16(values.len() as i16);
        for ((value, ty), column) in values.iter().zip(types).zip(table.columns) {
            let at = self.buf.len();
            self.buf.put_i32(0);
            let length = match value.to_sql_checked(ty, &mut self.buf) {
                Ok(IsNull::Yes) => -1,
                Ok(IsNull::No) => (self.buf.len() - at - 4) as i32,
                Err(source) => {
                    self.failed = Some(StageError::Encode {
                        table: table.name,
                        column,
                        source,
                    });
                    return;
                }
            };
            self.buf[at..at + 4].copy_from_slice(&length.to_be_bytes());
        }
    }

    /// The encoded rows with the trailer, or the first value that could not be encoded.
    fn finish(&mut self) -> Result<&[u8], StageError> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        self.buf.put_i16(-1);
        Ok(&self.buf)
    }
}

/// One foreign key's part of the bulk check: how many distinct non-NULL keys staged in `temp`
/// point at no row of `target`, the rows they do point at being locked `FOR KEY SHARE` so that
/// none is deleted before the batch commits (what the per-row trigger does). The keys are read
/// from the staging table, at most a batch of rows, and looked up by the target's key index, so
/// the cost does not grow with the tables. A `deferred` reference's keys that point nowhere
/// were written NULL by the merge: they are locked, not counted.
fn dangling_sql(
    temp: &str,
    columns: &[String],
    target: &str,
    target_columns: &[String],
    deferred: bool,
) -> String {
    let keys: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("s.{} AS k{i}", quote(c)))
        .collect();
    let not_null: Vec<String> = columns
        .iter()
        .map(|c| format!("s.{} IS NOT NULL", quote(c)))
        .collect();
    let found: Vec<String> = target_columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("r.{} AS k{i}", quote(c)))
        .collect();
    let key_names: Vec<String> = (0..columns.len()).map(|i| format!("k{i}")).collect();
    let target_tuple: Vec<String> = target_columns
        .iter()
        .map(|c| format!("r.{}", quote(c)))
        .collect();
    let same: Vec<String> = (0..columns.len())
        .map(|i| format!("l.k{i} = k.k{i}"))
        .collect();
    // A CTE that nothing reads is not run: the deferred case reads `l` (to take its locks)
    // and adds nothing.
    let count = if deferred {
        "SELECT count(*) * 0 FROM l".to_string()
    } else {
        format!(
            "SELECT count(*) FROM k WHERE NOT EXISTS (SELECT 1 FROM l WHERE {})",
            same.join(" AND ")
        )
    };
    format!(
        "(WITH k AS MATERIALIZED (SELECT DISTINCT {keys} FROM {temp} s WHERE {not_null}), \
         l AS MATERIALIZED (SELECT {found} FROM {target} r WHERE ({target_tuple}) IN \
         (SELECT {k} FROM k) FOR KEY SHARE OF r) {count})",
        keys = keys.join(", "),
        not_null = not_null.join(" AND "),
        found = found.join(", "),
        target_tuple = target_tuple.join(", "),
        k = key_names.join(", "),
    )
}

/// The quoted columns of `table`, comma-separated.
pub fn column_list(table: &Table) -> String {
    table
        .columns
        .iter()
        .map(|c| quote(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `INSERT INTO public.t (...) SELECT ... FROM stage ON CONFLICT (key) DO NOTHING` (without
/// the `ON CONFLICT` clause unless `on_conflict`), a deferred reference becoming NULL when its
/// target is in neither the table nor this batch.
fn merge_sql(
    table: &Table,
    temp: &str,
    deferred: &[Reference],
    root: &Table,
    root_temp: &str,
    on_conflict: bool,
) -> String {
    let is_root = table.parent.is_none();
    let values: Vec<String> = table
        .columns
        .iter()
        .map(|c| {
            let column = quote(c);
            let reference = deferred.iter().find(|r| r.column == *c);
            match reference {
                None => format!("s.{column}"),
                Some(r) => {
                    let mut exists = format!(
                        "EXISTS (SELECT 1 FROM public.{} t WHERE t.id = s.{column})",
                        quote(r.table)
                    );
                    if r.table == root.name {
                        exists.push_str(&format!(
                            " OR EXISTS (SELECT 1 FROM {root_temp} b WHERE b.id = s.{column})"
                        ));
                    }
                    format!("CASE WHEN {exists} THEN s.{column} END")
                }
            }
        })
        .collect();
    let key = if is_root { "legacy_object_id" } else { "id" };
    let conflict = if on_conflict {
        format!(" ON CONFLICT ({key}) DO NOTHING")
    } else {
        String::new()
    };
    format!(
        "INSERT INTO public.{} ({}) SELECT {} FROM {temp} s{conflict}",
        quote(table.name),
        column_list(table),
        values.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    static TABLE: Table = Table {
        name: "t",
        columns: &["n", "note", "amount"],
        parent: None,
        references: &[],
        money: &[],
        buckets: &[],
        created_at: false,
        append_only: false,
    };

    #[test]
    fn rows_are_written_in_the_binary_copy_format() {
        let types = [Type::INT4, Type::TEXT, Type::INT8];
        let mut rows = BinaryRows::default();
        rows.start();
        rows.push(&TABLE, &types, &[&7i32, &None::<String>, &-2i64]);
        let mut expected = b"PGCOPY\n\xff\r\n\0".to_vec();
        expected.extend([0, 0, 0, 0, 0, 0, 0, 0]); // flags, header extension
        expected.extend([0, 3]); // three fields
        expected.extend([0, 0, 0, 4, 0, 0, 0, 7]);
        expected.extend([0xff, 0xff, 0xff, 0xff]); // NULL
        expected.extend([0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]);
        expected.extend([0xff, 0xff]); // the trailer
        assert_eq!(rows.finish().unwrap(), expected.as_slice());
        // The buffer is reused: a new table starts from its header.
        rows.start();
        assert_eq!(rows.finish().unwrap().len(), 19 + 2);
    }

    #[test]
    fn a_value_that_cannot_be_encoded_names_its_table_and_column() {
        let types = [Type::INT4, Type::TEXT, Type::INT8];
        let mut rows = BinaryRows::default();
        rows.start();
        rows.push(&TABLE, &types, &[&1i32, &"a", &1i64]);
        // An i32 for an int8 column: what a generated row never holds, but must not panic.
        rows.push(&TABLE, &types, &[&2i32, &"b", &2i32]);
        rows.push(&TABLE, &types, &[&3i32, &"c", &3i64]);
        let e = rows.finish().unwrap_err();
        assert!(
            e.to_string()
                .starts_with("t.amount: the value cannot be sent to PostgreSQL: "),
            "{e}"
        );
        // The next table starts clean.
        rows.start();
        assert!(rows.finish().is_ok());
    }
}
