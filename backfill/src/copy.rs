//! Binary COPY of generated rows: each table's rows are encoded in PostgreSQL's binary COPY
//! format (the `ToSql` bytes of each value) and sent in large messages. Used for the staging
//! tables and, in the fast way, for the real tables.

use std::io::Write;

use schemac_runtime::bytes::{BufMut, BytesMut};
use schemac_runtime::postgres::types::{IsNull, ToSql, Type};
use schemac_runtime::postgres::{GenericClient, Statement};
use schemac_runtime::registry::{Rows, Table};

use crate::stage::StageError;

/// The size of the COPY messages: large enough that the server is not sent a message per few
/// rows. (The postgres crate's `BinaryCopyInWriter` sends one per 4 KiB; over loopback, whose
/// MTU is 64 KiB, the server's receive window then closed now and then and the COPY waited
/// 200 ms, TCP's minimum timeout, before going on: in about one backfill of the sample in two.)
const COPY_MESSAGE: usize = 1 << 20;

/// Where one table's rows are copied to.
pub struct CopyTarget {
    /// The generated table whose rows are copied.
    pub table: &'static Table,
    /// The types of its columns, in the order of the rows' parameters.
    pub types: Vec<Type>,
    /// `COPY <somewhere> (<the table's columns>) FROM STDIN (FORMAT binary)`, prepared.
    pub statement: Statement,
}

/// Sees each non-NULL value as it is encoded, `(table, column, the value's binary encoding)`,
/// and says whether to send it as NULL instead.
pub type Sending<'a> = &'a mut dyn FnMut(usize, usize, &[u8]) -> bool;

/// Copies the rows of `docs` with one binary COPY per target, `targets[i]` taking the rows of
/// the collection's `tables()[i]`, each value shown to `sending`, which may have it sent as
/// NULL; a table without rows is skipped. Each table's rows are encoded before its COPY starts,
/// so a value that cannot be encoded sends nothing.
pub fn copy(
    client: &mut impl GenericClient,
    targets: &[CopyTarget],
    docs: &[&dyn Rows],
    sending: Sending<'_>,
) -> Result<(), StageError> {
    let mut rows = BinaryRows::default();
    for (index, target) in targets.iter().enumerate() {
        if docs.iter().all(|d| d.row_count(index) == 0) {
            continue;
        }
        rows.start();
        for doc in docs {
            doc.each_row(index, &mut |params| {
                rows.push(target.table, &target.types, params, &mut |column, value| {
                    sending(index, column, value)
                });
                Ok(())
            })?;
        }
        let encoded = rows.finish()?;
        let mut sink = client.copy_in(&target.statement)?;
        for chunk in encoded.chunks(COPY_MESSAGE) {
            // The writer sends what one write gave it as one CopyData message.
            sink.write_all(chunk).map_err(copy_error)?;
        }
        sink.finish()?;
    }
    Ok(())
}

/// The error of a write to a `CopyInWriter`: the postgres error it wraps.
fn copy_error(e: std::io::Error) -> StageError {
    let kind = e.kind();
    match e
        .into_inner()
        .map(|inner| inner.downcast::<schemac_runtime::postgres::Error>())
    {
        Some(Ok(e)) => StageError::Postgres(*e),
        Some(Err(other)) => StageError::Copy(std::io::Error::new(kind, other)),
        None => StageError::Copy(kind.into()),
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
    /// value's length (-1 for NULL) and bytes; a value for which `null(column, bytes)` says so
    /// is written NULL. `null` sees every non-NULL value.
    fn push(
        &mut self,
        table: &'static Table,
        types: &[Type],
        values: &[&(dyn ToSql + Sync)],
        null: &mut dyn FnMut(usize, &[u8]) -> bool,
    ) {
        if self.failed.is_some() {
            return;
        }
        self.buf.put_i16(values.len() as i16);
        let columns = values.iter().zip(types).zip(table.columns).enumerate();
        for (index, ((value, ty), column)) in columns {
            let at = self.buf.len();
            self.buf.put_i32(0);
            let length = match value.to_sql_checked(ty, &mut self.buf) {
                Ok(IsNull::Yes) => -1,
                Ok(IsNull::No) if null(index, &self.buf[at + 4..]) => {
                    self.buf.truncate(at + 4);
                    -1
                }
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A table of a test catalogue, with no references or money.
    pub(crate) const fn table(
        name: &'static str,
        columns: &'static [&'static str],
        parent: Option<&'static str>,
    ) -> Table {
        Table {
            name,
            columns,
            parent,
            references: &[],
            money: &[],
            buckets: &[],
            created_at: false,
            append_only: false,
        }
    }

    static TABLE: Table = table("t", &["n", "note", "amount"], None);

    #[test]
    fn rows_are_written_in_the_binary_copy_format() {
        let types = [Type::INT4, Type::TEXT, Type::INT8];
        let mut rows = BinaryRows::default();
        rows.start();
        rows.push(
            &TABLE,
            &types,
            &[&7i32, &None::<String>, &-2i64],
            &mut |_, _| false,
        );
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
        rows.push(&TABLE, &types, &[&1i32, &"a", &1i64], &mut |_, _| false);
        // An i32 for an int8 column: what a generated row never holds, but must not panic.
        rows.push(&TABLE, &types, &[&2i32, &"b", &2i32], &mut |_, _| false);
        rows.push(&TABLE, &types, &[&3i32, &"c", &3i64], &mut |_, _| false);
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

    #[test]
    fn sending_sees_every_value_and_may_have_it_written_null() {
        let types = [Type::INT4, Type::TEXT, Type::INT8];
        let mut rows = BinaryRows::default();
        rows.start();
        // The amount 5 (column 2) is sent as NULL; 6 and the other columns as they are.
        let mut seen = Vec::new();
        let mut five = |column: usize, value: &[u8]| {
            seen.push(column);
            column == 2 && value == 5i64.to_be_bytes()
        };
        rows.push(&TABLE, &types, &[&1i32, &"a", &5i64], &mut five);
        rows.push(&TABLE, &types, &[&5i32, &None::<String>, &6i64], &mut five);
        let mut expected = b"PGCOPY\n\xff\r\n\0".to_vec();
        expected.extend([0, 0, 0, 0, 0, 0, 0, 0]);
        expected.extend([0, 3, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 1, b'a']);
        expected.extend([0xff, 0xff, 0xff, 0xff]); // 5, NULL
        expected.extend([0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff]);
        expected.extend([0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 6]);
        expected.extend([0xff, 0xff]);
        assert_eq!(rows.finish().unwrap(), expected.as_slice());
        // Every value was seen but the NULL one (the second row's column 1).
        assert_eq!(seen, [0, 1, 2, 0, 2]);
    }
}
