//! Staging: one temporary table per table of a collection, filled by binary COPY from the
//! generated rows, then merged into the real table with `INSERT ... SELECT ... ON CONFLICT DO
//! NOTHING` on the row's identity (`legacy_object_id` for a root row, `id` for a child row), so a
//! merge is idempotent. Deferred references are merged only when their target already exists.

use schemac_runtime::postgres::{self, GenericClient, Statement};
use schemac_runtime::registry::{Collection, Reference, Rows, Table};
use schemac_runtime::uuid::Uuid;

use crate::copy::{self, CopyTarget};
use crate::order::Deferred;

/// `"name"`: a quoted identifier, `"` doubled.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `public."name"`: a catalogue table, qualified.
pub fn qualified(table: &str) -> String {
    format!("public.{}", quote(table))
}

/// The staging tables of one collection, in the collection's table order.
pub struct Stage {
    tables: Vec<Staged>,
    /// The COPY into each staging table.
    copies: Vec<CopyTarget>,
}

struct Staged {
    /// `pg_temp."stage_<table>"`.
    temp: String,
    merge: Statement,
    /// Per deferred reference of the table: the query of the rows it left NULL.
    unresolved: Vec<(Deferred, Statement)>,
}

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

impl Stage {
    /// Creates (if needed) the temporary tables of `collection`, named `<prefix><table>`, and
    /// reads their column types. Their rows stay until emptied ([`Stage::clear`],
    /// [`Stage::empty`]): verify reads them in later transactions.
    pub fn new(
        client: &mut impl GenericClient,
        collection: &dyn Collection,
        deferred: &[Deferred],
        prefix: &str,
    ) -> Result<Stage, postgres::Error> {
        let (mut tables, mut copies) = (Vec::new(), Vec::new());
        let temp_of =
            |table: &Table| format!("pg_temp.{}", quote(&format!("{prefix}{}", table.name)));
        let root = collection.tables()[0];
        for (index, table) in collection.tables().iter().enumerate() {
            let temp = temp_of(table);
            client.batch_execute(&format!(
                "CREATE TEMP TABLE IF NOT EXISTS {temp} (LIKE public.{} INCLUDING DEFAULTS) \
                 ON COMMIT PRESERVE ROWS",
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
            let merge = client.prepare(&merge_sql(
                table,
                &temp,
                &references,
                &root,
                &temp_of(&root),
            ))?;
            copies.push(CopyTarget {
                table,
                types,
                statement: client.prepare(&format!(
                    "COPY {temp} ({columns}) FROM STDIN (FORMAT binary)"
                ))?,
            });
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
                temp,
                merge,
                unresolved,
            });
        }
        Ok(Stage { tables, copies })
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
        copy::copy(client, &self.copies, docs, &mut |_, _, _| false)
    }

    /// Merges the staged rows into the real tables, parents first; returns how many root rows
    /// were new. Call [`Stage::unresolved`] before [`Stage::clear`].
    pub fn merge(&self, client: &mut impl GenericClient) -> Result<u64, postgres::Error> {
        let mut root_rows = 0;
        for (index, staged) in self.tables.iter().enumerate() {
            let n = client.execute(&staged.merge, &[])?;
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

/// The quoted columns of `table`, comma-separated.
pub fn column_list(table: &Table) -> String {
    table
        .columns
        .iter()
        .map(|c| quote(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `INSERT INTO public.t (...) SELECT ... FROM stage ON CONFLICT (key) DO NOTHING`, a deferred
/// reference becoming NULL when its target is in neither the table nor this batch.
fn merge_sql(
    table: &Table,
    temp: &str,
    deferred: &[Reference],
    root: &Table,
    root_temp: &str,
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
    format!(
        "INSERT INTO public.{} ({}) SELECT {} FROM {temp} s ON CONFLICT ({key}) DO NOTHING",
        quote(table.name),
        column_list(table),
        values.join(", ")
    )
}
