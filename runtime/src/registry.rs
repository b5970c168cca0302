//! The interface between generated code and the engines that move data (backfill, verify,
//! parity tests): each collection module implements [`Collection`], and the generated
//! `schema::REGISTRY` lists them all. The engines never name a collection; they read the
//! tables, columns and references from here.

use bson::{Document, RawDocument};
use postgres_types::ToSql;
use uuid::Uuid;

use crate::TransformError;
use crate::transform::{Context, Mode};

/// One table of a collection, as generated from the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    /// The table's name.
    pub name: &'static str,
    /// Its columns, in the order the rows' parameters come in.
    pub columns: &'static [&'static str],
    /// For a child table, the column holding the parent row's id; `None` for the root table.
    pub parent: Option<&'static str>,
    /// The uuid columns with a foreign key to another collection's root table (or to this
    /// one's, for a self-reference).
    pub references: &'static [Reference],
    /// The exact numeric columns (money `numeric(38,18)`, uint256 `numeric(78,0)`): what the
    /// money checksums add up.
    pub money: &'static [&'static str],
    /// The columns that split the money checksums into buckets (of `provider`, `status`), the
    /// day of `created_at` being added when the table has that column.
    pub buckets: &'static [&'static str],
    /// The table has `created_at` (a day bucket for the checksums).
    pub created_at: bool,
    /// The table rejects UPDATE and DELETE (catalogue invariant `append_only`).
    pub append_only: bool,
}

/// A foreign key column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reference {
    /// The uuid column.
    pub column: &'static str,
    /// The Mongo path it is read from.
    pub mongo_path: &'static str,
    /// The Mongo collection it points into.
    pub collection: &'static str,
    /// That collection's root table.
    pub table: &'static str,
    /// NOT NULL: the row cannot exist without its target.
    pub required: bool,
    /// The id column of a polymorphic reference: its CHECK wants it set whenever the kind is
    /// `entity`, so it cannot be left NULL for a while.
    pub polymorphic: bool,
}

/// A parameter of a row, as `postgres` takes it.
pub type Param<'a> = &'a (dyn ToSql + Sync);

/// What each row of a table is handed to: its parameters, borrowed from the rows (`'r`).
pub type RowSink<'r, 's> = dyn FnMut(&[Param<'r>]) -> Result<(), postgres::Error> + 's;

/// One collection's generated code.
pub trait Collection: Sync {
    /// The Mongo collection.
    fn name(&self) -> &'static str;
    /// The model.
    fn model(&self) -> &'static str;
    /// Its tables: the root first, every parent before its children.
    fn tables(&self) -> &'static [Table];
    /// The generated `from_mongo`: one document's rows, and its context (id_map row, unknown
    /// keys in lenient mode).
    fn transform(
        &self,
        doc: &RawDocument,
        mode: Mode,
    ) -> Result<(Box<dyn Rows>, Context), TransformError>;
    /// The generated `load`: the rows of the document whose root row has `id`.
    fn load(
        &self,
        client: &mut postgres::Client,
        id: Uuid,
    ) -> Result<Option<Box<dyn Rows>>, postgres::Error>;
}

/// One document's rows.
pub trait Rows: Send {
    /// The root row's id.
    fn id(&self) -> Uuid;
    /// The root row's `legacy_object_id`.
    fn legacy_object_id(&self) -> &str;
    /// Hands the parameters of each row of `tables()[table]` to `sink`, in order.
    fn each_row<'r>(
        &'r self,
        table: usize,
        sink: &mut RowSink<'r, '_>,
    ) -> Result<(), postgres::Error>;
    /// How many rows `tables()[table]` gets.
    fn row_count(&self, table: usize) -> usize;
    /// Whether `tables()[table]` gets a row with this id.
    fn has_row(&self, table: usize, id: Uuid) -> bool;
    /// The generated `to_mongo`.
    fn to_mongo(&self) -> Result<Document, TransformError>;
}

/// The collection named `name` in `registry`.
pub fn find<'r>(registry: &'r [&'r dyn Collection], name: &str) -> Option<&'r dyn Collection> {
    registry.iter().copied().find(|c| c.name() == name)
}
