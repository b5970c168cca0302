//! The relational schema as Postgres holds it: enums, tables with their columns and constraints,
//! indexes, trigger functions and triggers. It is what a migration snapshot stores (JSON, one per
//! migration), what `migrate new` diffs, and what the tests read back from `pg_catalog`.
//!
//! Types are kept in schemac's spelling (`int4`, `numeric(38,18)`, `text[]`, an enum's name);
//! expressions (defaults, CHECKs, index keys and predicates) as the catalogue wrote them.
//! Every list is in a stable order: the order of creation for enums, tables and columns, by name
//! for constraints, indexes and triggers.

use serde::{Deserialize, Serialize};

/// The snapshot format's name, written in every snapshot.
pub const FORMAT: &str = "schemac-schema/1";

/// A whole database schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Database {
    /// [`FORMAT`].
    pub format: String,
    /// Enum types, in creation order.
    pub enums: Vec<Enum>,
    /// Trigger functions, by name.
    pub functions: Vec<Function>,
    /// Tables, parents before children.
    pub tables: Vec<Table>,
    /// Indexes other than the primary key's and unique constraints', by name.
    pub indexes: Vec<Index>,
    /// Triggers, by table then name.
    pub triggers: Vec<Trigger>,
}

impl Default for Database {
    fn default() -> Self {
        Database {
            format: FORMAT.into(),
            enums: Vec::new(),
            functions: Vec::new(),
            tables: Vec::new(),
            indexes: Vec::new(),
            triggers: Vec::new(),
        }
    }
}

/// An enum type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enum {
    /// Type name.
    pub name: String,
    /// Labels, in sort order.
    pub values: Vec<String>,
    /// `COMMENT ON TYPE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// Table name.
    pub name: String,
    /// `COMMENT ON TABLE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Columns, in order.
    pub columns: Vec<Column>,
    /// The primary key.
    pub primary_key: Key,
    /// UNIQUE constraints, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uniques: Vec<Key>,
    /// CHECK constraints, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
    /// FOREIGN KEY constraints, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign_keys: Vec<ForeignKey>,
}

/// A column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// Type, in schemac's spelling.
    #[serde(rename = "type")]
    pub ty: String,
    /// NULL allowed.
    pub nullable: bool,
    /// DEFAULT expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// `COMMENT ON COLUMN`: where the value comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A PRIMARY KEY or UNIQUE constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    /// Constraint name.
    pub name: String,
    /// Its columns.
    pub columns: Vec<String>,
}

/// A CHECK constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Constraint name.
    pub name: String,
    /// The boolean expression.
    pub expression: String,
}

/// A FOREIGN KEY constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    /// Constraint name.
    pub name: String,
    /// Referencing columns.
    pub columns: Vec<String>,
    /// Referenced table.
    pub references: String,
    /// Referenced columns.
    pub referenced_columns: Vec<String>,
    /// `NO ACTION`, `RESTRICT`, `CASCADE`, `SET NULL` or `SET DEFAULT`.
    pub on_delete: String,
}

/// An index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// Index name.
    pub name: String,
    /// Its table.
    pub table: String,
    /// UNIQUE.
    pub unique: bool,
    /// Access method (`btree`, `gin`, `gist`, `hash`, `brin`).
    pub method: String,
    /// Keys: a column name or a parenthesised expression, each maybe followed by ` DESC`.
    pub keys: Vec<String>,
    /// Partial index predicate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate: Option<String>,
    /// `COMMENT ON INDEX`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A trigger function (`RETURNS trigger`, plpgsql).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Function {
    /// Function name.
    pub name: String,
    /// The plpgsql body between `$$`.
    pub body: String,
    /// `COMMENT ON FUNCTION`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A trigger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    /// Trigger name.
    pub name: String,
    /// Its table.
    pub table: String,
    /// `BEFORE` or `AFTER`.
    pub timing: String,
    /// `INSERT`, `UPDATE`, `DELETE`, `TRUNCATE`, in that order.
    pub events: Vec<String>,
    /// `ROW` or `STATEMENT`.
    pub level: String,
    /// The function it executes.
    pub function: String,
}

impl Database {
    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// The enum named `name`.
    pub fn enum_type(&self, name: &str) -> Option<&Enum> {
        self.enums.iter().find(|e| e.name == name)
    }

    /// Parses a snapshot.
    pub fn from_json(text: &str) -> Result<Database, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The snapshot text: pretty JSON ending in a newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a schema always serializes");
        s.push('\n');
        s
    }
}

impl Table {
    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}
