//! Two schemas in (the last snapshot and the catalogue's), the changes between them out, in the
//! order Postgres needs them. Renames come from the catalogue's `renamed_from`: a renamed table
//! or column is renamed, never dropped and re-added, and the indexes and constraints whose names
//! derive from it are renamed with it.

use std::collections::{BTreeMap, BTreeSet};

use crate::db::{Check, Column, Database, Enum, ForeignKey, Function, Index, Key, Table, Trigger};

/// Renames the catalogue declares.
#[derive(Debug, Clone, Default)]
pub struct Renames {
    /// (old table, new table).
    pub tables: Vec<(String, String)>,
    /// (table, by its new name; old column; new column).
    pub columns: Vec<(String, String, String)>,
}

/// A table constraint other than the primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Constraint {
    /// UNIQUE.
    Unique(Key),
    /// CHECK.
    Check(Check),
    /// FOREIGN KEY.
    ForeignKey(ForeignKey),
}

impl Constraint {
    /// The constraint's name.
    pub fn name(&self) -> &str {
        match self {
            Constraint::Unique(k) => &k.name,
            Constraint::Check(c) => &c.name,
            Constraint::ForeignKey(f) => &f.name,
        }
    }
}

/// One schema change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `CREATE TYPE ... AS ENUM`.
    CreateEnum(Enum),
    /// `ALTER TYPE ... ADD VALUE`.
    AddEnumValue {
        /// The enum.
        name: String,
        /// The new label.
        value: String,
        /// The label it goes before (`None`: at the end).
        before: Option<String>,
    },
    /// Values removed or reordered: the type is rebuilt and its columns converted.
    RecreateEnum {
        /// Before.
        old: Enum,
        /// After.
        new: Enum,
        /// Columns of the type before and after: (table, column, is an array, default after).
        uses: Vec<(String, String, bool, Option<String>)>,
    },
    /// `DROP TYPE`.
    DropEnum(Enum),
    /// `COMMENT ON TYPE`.
    CommentEnum {
        /// The enum.
        name: String,
        /// The comment.
        comment: Option<String>,
    },
    /// `CREATE OR REPLACE FUNCTION`.
    CreateFunction(Function),
    /// `DROP FUNCTION`.
    DropFunction(Function),
    /// `CREATE TABLE` with its columns, keys and CHECKs (foreign keys come as [`Change::AddConstraint`]).
    CreateTable(Table),
    /// `ALTER TABLE ... RENAME TO`.
    RenameTable {
        /// Old name.
        from: String,
        /// New name.
        to: String,
    },
    /// `DROP TABLE`.
    DropTable(Table),
    /// `COMMENT ON TABLE`.
    CommentTable {
        /// The table.
        table: String,
        /// The comment.
        comment: Option<String>,
    },
    /// `ADD COLUMN`.
    AddColumn {
        /// The table.
        table: String,
        /// The column.
        column: Column,
    },
    /// `DROP COLUMN`.
    DropColumn {
        /// The table.
        table: String,
        /// The column.
        column: Column,
    },
    /// `RENAME COLUMN`.
    RenameColumn {
        /// The table.
        table: String,
        /// Old name.
        from: String,
        /// New name.
        to: String,
    },
    /// `ALTER COLUMN ... TYPE`.
    AlterType {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// Old type.
        from: String,
        /// New type.
        to: String,
    },
    /// `SET NOT NULL`, through a validated CHECK so the scan holds no exclusive lock.
    SetNotNull {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// The second half of [`Change::SetNotNull`]: validate the CHECK, set NOT NULL (Postgres
    /// trusts the validated CHECK and skips the scan), drop the CHECK.
    ValidateNotNull {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// `DROP NOT NULL`.
    DropNotNull {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// `SET DEFAULT` / `DROP DEFAULT`.
    SetDefault {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// The new default.
        default: Option<String>,
    },
    /// `COMMENT ON COLUMN`.
    CommentColumn {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// The comment.
        comment: Option<String>,
    },
    /// `ADD CONSTRAINT`; `not_valid` on tables that already hold rows.
    AddConstraint {
        /// The table.
        table: String,
        /// The constraint.
        constraint: Constraint,
        /// Added `NOT VALID`, validated by a later [`Change::ValidateConstraint`].
        not_valid: bool,
    },
    /// `VALIDATE CONSTRAINT`.
    ValidateConstraint {
        /// The table.
        table: String,
        /// The constraint.
        name: String,
    },
    /// `DROP CONSTRAINT`.
    DropConstraint {
        /// The table.
        table: String,
        /// The constraint.
        constraint: Constraint,
    },
    /// `RENAME CONSTRAINT`.
    RenameConstraint {
        /// The table.
        table: String,
        /// Old name.
        from: String,
        /// New name.
        to: String,
    },
    /// `CREATE INDEX`; `CONCURRENTLY` on tables that already hold rows.
    CreateIndex {
        /// The index.
        index: Index,
        /// Built without blocking writes (outside a transaction).
        concurrently: bool,
    },
    /// `DROP INDEX`.
    DropIndex(Index),
    /// `ALTER INDEX ... RENAME TO`.
    RenameIndex {
        /// Old name.
        from: String,
        /// New name.
        to: String,
    },
    /// `COMMENT ON INDEX`.
    CommentIndex {
        /// The index.
        name: String,
        /// The comment.
        comment: Option<String>,
    },
    /// `CREATE TRIGGER`.
    CreateTrigger(Trigger),
    /// `DROP TRIGGER`.
    DropTrigger(Trigger),
}

/// The changes that turn `old` into `new`, in execution order.
pub fn diff(old: &Database, new: &Database, renames: &Renames) -> Vec<Change> {
    let mut d = Differ::default();
    let old = d.renamed(old, new, renames);
    d.enums(&old, new);
    d.functions(&old, new);
    d.tables(&old, new);
    d.indexes(&old, new);
    d.triggers(&old, new);
    d.finish()
}

/// Changes by stage; `finish` concatenates the stages in this order.
#[derive(Default)]
struct Differ {
    create_enums: Vec<Change>,
    renames: Vec<Change>,
    drop_triggers: Vec<Change>,
    drop_indexes: Vec<Change>,
    drop_fks: Vec<Change>,
    drop_constraints: Vec<Change>,
    functions: Vec<Change>,
    drop_tables: Vec<Change>,
    drop_columns: Vec<Change>,
    /// Columns leaving a rebuilt enum for another type: before the rebuild, which drops the old
    /// type.
    leave_rebuilt_enums: Vec<Change>,
    /// After the drops (a dropped column may hold a label the new type lacks; a dropped CHECK or
    /// index may name one), before anything creates a column of the new type.
    rebuild_enums: Vec<Change>,
    create_tables: Vec<Change>,
    alter_columns: Vec<Change>,
    rename_objects: Vec<Change>,
    add_constraints: Vec<Change>,
    add_fks: Vec<Change>,
    create_indexes: Vec<Change>,
    comments: Vec<Change>,
    create_triggers: Vec<Change>,
    drop_functions: Vec<Change>,
    drop_enums: Vec<Change>,
    validate: Vec<Change>,
    /// The enums rebuilt (labels removed or reordered).
    rebuilt: BTreeSet<String>,
    /// (table, column) of the columns whose type changes or whose enum type is rebuilt.
    retyped: BTreeSet<(String, String)>,
}

impl Differ {
    fn finish(self) -> Vec<Change> {
        [
            self.create_enums,
            self.renames,
            self.drop_triggers,
            self.drop_indexes,
            self.drop_fks,
            self.drop_constraints,
            self.functions,
            self.drop_tables,
            self.drop_columns,
            self.leave_rebuilt_enums,
            self.rebuild_enums,
            self.create_tables,
            self.alter_columns,
            self.rename_objects,
            self.add_constraints,
            self.add_fks,
            self.create_indexes,
            self.comments,
            self.create_triggers,
            self.drop_functions,
            self.drop_enums,
            self.validate,
        ]
        .concat()
    }

    /// `old` with the declared renames applied, recording the RENAMEs.
    fn renamed(&mut self, old: &Database, new: &Database, renames: &Renames) -> Database {
        let mut old = old.clone();
        for (from, to) in &renames.tables {
            if old.table(from).is_some() && old.table(to).is_none() && new.table(to).is_some() {
                self.renames.push(Change::RenameTable {
                    from: from.clone(),
                    to: to.clone(),
                });
                rename_table(&mut old, from, to);
            }
        }
        for (table, from, to) in &renames.columns {
            let Some(t) = old.tables.iter_mut().find(|t| &t.name == table) else {
                continue;
            };
            if t.column(from).is_some() && t.column(to).is_none() {
                self.renames.push(Change::RenameColumn {
                    table: table.clone(),
                    from: from.clone(),
                    to: to.clone(),
                });
                rename_column(&mut old, table, from, to);
            }
        }
        old
    }

    fn enums(&mut self, old: &Database, new: &Database) {
        for e in &new.enums {
            let Some(o) = old.enum_type(&e.name) else {
                self.create_enums.push(Change::CreateEnum(e.clone()));
                continue;
            };
            if o.comment != e.comment {
                self.comments.push(Change::CommentEnum {
                    name: e.name.clone(),
                    comment: e.comment.clone(),
                });
            }
            if o.values == e.values {
                continue;
            }
            if is_subsequence(&o.values, &e.values) {
                for (i, v) in e.values.iter().enumerate() {
                    if !o.values.contains(v) {
                        // The next label that already exists, so the new one lands in place.
                        let before = e.values[i + 1..]
                            .iter()
                            .find(|n| o.values.contains(n))
                            .cloned();
                        self.create_enums.push(Change::AddEnumValue {
                            name: e.name.clone(),
                            value: v.clone(),
                            before,
                        });
                    }
                }
            } else {
                let uses = enum_uses(old, new, &e.name);
                self.rebuilt.insert(e.name.clone());
                self.rebuild_enums.push(Change::RecreateEnum {
                    old: o.clone(),
                    new: e.clone(),
                    uses,
                });
            }
        }
        for o in &old.enums {
            if new.enum_type(&o.name).is_none() {
                self.drop_enums.push(Change::DropEnum(o.clone()));
            }
        }
    }

    fn functions(&mut self, old: &Database, new: &Database) {
        for f in &new.functions {
            match old.functions.iter().find(|o| o.name == f.name) {
                Some(o) if o == f => {}
                _ => self.functions.push(Change::CreateFunction(f.clone())),
            }
        }
        for o in &old.functions {
            if !new.functions.iter().any(|f| f.name == o.name) {
                self.drop_functions.push(Change::DropFunction(o.clone()));
            }
        }
    }

    fn tables(&mut self, old: &Database, new: &Database) {
        for t in &new.tables {
            match old.table(&t.name) {
                None => {
                    let mut created = t.clone();
                    created.foreign_keys.clear();
                    self.create_tables.push(Change::CreateTable(created));
                    for fk in &t.foreign_keys {
                        self.add_fks.push(Change::AddConstraint {
                            table: t.name.clone(),
                            constraint: Constraint::ForeignKey(fk.clone()),
                            not_valid: false,
                        });
                    }
                }
                Some(o) => self.table(o, t),
            }
        }
        // Children before parents: the reverse of creation order.
        for o in old.tables.iter().rev() {
            if new.table(&o.name).is_none() {
                for fk in &o.foreign_keys {
                    // A FK into a table that stays would block nothing; one between dropped
                    // tables goes with them. Drop FKs pointing at other dropped tables first.
                    if new.table(&fk.references).is_none() && fk.references != o.name {
                        self.drop_fks.push(Change::DropConstraint {
                            table: o.name.clone(),
                            constraint: Constraint::ForeignKey(fk.clone()),
                        });
                    }
                }
                self.drop_tables.push(Change::DropTable(o.clone()));
            }
        }
    }

    fn table(&mut self, o: &Table, t: &Table) {
        let tn = &t.name;
        if o.primary_key.name != t.primary_key.name
            && o.primary_key.columns == t.primary_key.columns
        {
            self.rename_objects.push(Change::RenameConstraint {
                table: tn.clone(),
                from: o.primary_key.name.clone(),
                to: t.primary_key.name.clone(),
            });
        }
        if o.comment != t.comment {
            self.comments.push(Change::CommentTable {
                table: tn.clone(),
                comment: t.comment.clone(),
            });
        }
        for c in &t.columns {
            let Some(oc) = o.column(&c.name) else {
                self.alter_columns.push(Change::AddColumn {
                    table: tn.clone(),
                    column: c.clone(),
                });
                continue;
            };
            // Postgres converts a column's default with it only by an assignment cast, which an
            // enum has with no other type: a default across such a change is set again after.
            let reset_default = oc.default.is_some() && oc.ty != c.ty && self.retypes(oc, c);
            // A column a rebuilt enum converts gets its new default there.
            let rebuilt = oc.ty == c.ty && self.retypes(oc, c);
            if oc.ty != c.ty {
                let stage = if self.rebuilt.contains(oc.ty.trim_end_matches("[]")) {
                    &mut self.leave_rebuilt_enums
                } else {
                    &mut self.alter_columns
                };
                let default = |default: Option<String>| Change::SetDefault {
                    table: tn.clone(),
                    column: c.name.clone(),
                    default,
                };
                if reset_default {
                    stage.push(default(None));
                }
                stage.push(Change::AlterType {
                    table: tn.clone(),
                    column: c.name.clone(),
                    from: oc.ty.clone(),
                    to: c.ty.clone(),
                });
                if reset_default && c.default.is_some() {
                    stage.push(default(c.default.clone()));
                }
            }
            if oc.default != c.default && !reset_default && !rebuilt {
                self.alter_columns.push(Change::SetDefault {
                    table: tn.clone(),
                    column: c.name.clone(),
                    default: c.default.clone(),
                });
            }
            if oc.nullable && !c.nullable {
                self.alter_columns.push(Change::SetNotNull {
                    table: tn.clone(),
                    column: c.name.clone(),
                });
                self.validate.push(Change::ValidateNotNull {
                    table: tn.clone(),
                    column: c.name.clone(),
                });
            } else if !oc.nullable && c.nullable {
                self.alter_columns.push(Change::DropNotNull {
                    table: tn.clone(),
                    column: c.name.clone(),
                });
            }
            if oc.comment != c.comment {
                self.comments.push(Change::CommentColumn {
                    table: tn.clone(),
                    column: c.name.clone(),
                    comment: c.comment.clone(),
                });
            }
        }
        for oc in &o.columns {
            if t.column(&oc.name).is_none() {
                self.drop_columns.push(Change::DropColumn {
                    table: tn.clone(),
                    column: oc.clone(),
                });
            }
        }
        let dropped: BTreeSet<&str> = o
            .columns
            .iter()
            .filter(|c| t.column(&c.name).is_none())
            .map(|c| c.name.as_str())
            .collect();
        // Postgres re-parses a CHECK on a column whose type changes, and a literal typed by the
        // old type then no longer compares (`operator does not exist: text <> status`): such a
        // CHECK is dropped before the change and added again after it.
        let retyped: BTreeSet<&str> = t
            .columns
            .iter()
            .filter(|c| o.column(&c.name).is_some_and(|oc| self.retypes(oc, c)))
            .map(|c| c.name.as_str())
            .collect();
        self.retyped
            .extend(retyped.iter().map(|c| (tn.clone(), c.to_string())));
        let remade = |c: &Constraint| {
            matches!(c, Constraint::Check(_))
                && constraint_columns(c).iter().any(|x| retyped.contains(x))
        };
        let old_cs = constraints(o);
        let new_cs = constraints(t);
        let pairs = match_by_name_then_definition(&old_cs, &new_cs, |c| c.name(), strip_name);
        for p in pairs {
            match p {
                Pair::Same(a, b) | Pair::Renamed(a, b) if remade(a) => {
                    self.remove_constraint(tn, a, &dropped);
                    self.add_constraint(tn, b);
                }
                Pair::Same(..) => {}
                Pair::Renamed(a, b) => self.rename_objects.push(Change::RenameConstraint {
                    table: tn.clone(),
                    from: a.name().to_string(),
                    to: b.name().to_string(),
                }),
                Pair::Added(c) => self.add_constraint(tn, c),
                Pair::Removed(c) => self.remove_constraint(tn, c, &dropped),
            }
        }
    }

    /// Whether a column's values change type: its type changes (beyond a type modifier such as
    /// `numeric(20,2)` to `numeric(38,18)`), or it keeps an enum type that is rebuilt.
    fn retypes(&self, old: &Column, new: &Column) -> bool {
        let base = |ty: &str| {
            let (elem, array) = match ty.strip_suffix("[]") {
                Some(e) => (e, true),
                None => (ty, false),
            };
            (elem.split('(').next().unwrap_or(elem).to_string(), array)
        };
        if old.ty == new.ty {
            self.rebuilt.contains(old.ty.trim_end_matches("[]"))
        } else {
            base(&old.ty) != base(&new.ty)
        }
    }

    fn add_constraint(&mut self, table: &str, c: &Constraint) {
        let not_valid = !matches!(c, Constraint::Unique(_));
        let change = Change::AddConstraint {
            table: table.to_string(),
            constraint: c.clone(),
            not_valid,
        };
        if matches!(c, Constraint::ForeignKey(_)) {
            self.add_fks.push(change);
        } else {
            self.add_constraints.push(change);
        }
        if not_valid {
            self.validate.push(Change::ValidateConstraint {
                table: table.to_string(),
                name: c.name().to_string(),
            });
        }
    }

    fn remove_constraint(&mut self, table: &str, c: &Constraint, dropped: &BTreeSet<&str>) {
        // A constraint on a dropped column goes with the column, except a foreign key: the
        // table it references may be dropped before the column is.
        let fk = matches!(c, Constraint::ForeignKey(_));
        if !fk && constraint_columns(c).iter().any(|x| dropped.contains(x)) {
            return;
        }
        let change = Change::DropConstraint {
            table: table.to_string(),
            constraint: c.clone(),
        };
        if fk {
            self.drop_fks.push(change);
        } else {
            self.drop_constraints.push(change);
        }
    }

    fn indexes(&mut self, old: &Database, new: &Database) {
        let pairs = match_by_name_then_definition(
            &old.indexes,
            &new.indexes,
            |i| i.name.as_str(),
            |i| Index {
                name: String::new(),
                comment: None,
                ..i.clone()
            },
        );
        // An index whose expression or predicate names a column whose type changes is re-made
        // around the change, as a CHECK is (`table`); one on plain columns Postgres rebuilds.
        let remade = |i: &Index| {
            index_words(i).any(|w| self.retyped.iter().any(|(t, c)| *t == i.table && c == w))
        };
        for p in pairs {
            match p {
                // Inside the transaction: the type change holds the table's lock anyway, and a
                // unique index must not be missing once it commits.
                Pair::Same(a, b) | Pair::Renamed(a, b) if remade(a) => {
                    self.drop_indexes.push(Change::DropIndex(a.clone()));
                    self.create_indexes.push(Change::CreateIndex {
                        index: b.clone(),
                        concurrently: false,
                    });
                }
                Pair::Same(a, b) => {
                    if a.comment != b.comment {
                        self.comments.push(Change::CommentIndex {
                            name: b.name.clone(),
                            comment: b.comment.clone(),
                        });
                    }
                }
                Pair::Renamed(a, b) => {
                    self.rename_objects.push(Change::RenameIndex {
                        from: a.name.clone(),
                        to: b.name.clone(),
                    });
                    if a.comment != b.comment {
                        self.comments.push(Change::CommentIndex {
                            name: b.name.clone(),
                            comment: b.comment.clone(),
                        });
                    }
                }
                Pair::Added(i) => self.create_indexes.push(Change::CreateIndex {
                    index: i.clone(),
                    concurrently: old.table(&i.table).is_some(),
                }),
                Pair::Removed(i) => {
                    let table_stays = new.table(&i.table).is_some();
                    let columns_stay = new.table(&i.table).is_some_and(|t| {
                        i.keys
                            .iter()
                            .all(|k| !is_bare_column(k) || t.column(bare(k)).is_some())
                    });
                    if table_stays && columns_stay {
                        self.drop_indexes.push(Change::DropIndex(i.clone()));
                    }
                }
            }
        }
    }

    fn triggers(&mut self, old: &Database, new: &Database) {
        for t in &new.triggers {
            match old
                .triggers
                .iter()
                .find(|o| o.name == t.name && o.table == t.table)
            {
                Some(o) if o == t => {}
                Some(o) => {
                    self.drop_triggers.push(Change::DropTrigger(o.clone()));
                    self.create_triggers.push(Change::CreateTrigger(t.clone()));
                }
                None => self.create_triggers.push(Change::CreateTrigger(t.clone())),
            }
        }
        for o in &old.triggers {
            let gone = !new
                .triggers
                .iter()
                .any(|t| t.name == o.name && t.table == o.table);
            if gone && new.table(&o.table).is_some() {
                self.drop_triggers.push(Change::DropTrigger(o.clone()));
            }
        }
    }
}

pub(crate) fn is_subsequence(old: &[String], new: &[String]) -> bool {
    let mut it = new.iter();
    old.iter().all(|o| it.any(|n| n == o))
}

/// The columns a rebuilt enum converts: those of the type (or an array of it) before and after,
/// with their default after. Columns dropped or leaving the type are changed before the rebuild.
fn enum_uses(
    old: &Database,
    new: &Database,
    name: &str,
) -> Vec<(String, String, bool, Option<String>)> {
    let array = format!("{name}[]");
    let mut uses = Vec::new();
    for t in &old.tables {
        for c in &t.columns {
            if c.ty != name && c.ty != array {
                continue;
            }
            let after = new.table(&t.name).and_then(|n| n.column(&c.name));
            if let Some(after) = after.filter(|a| a.ty == c.ty) {
                uses.push((
                    t.name.clone(),
                    c.name.clone(),
                    c.ty == array,
                    after.default.clone(),
                ));
            }
        }
    }
    uses
}

fn constraints(t: &Table) -> Vec<Constraint> {
    let mut v: Vec<Constraint> = Vec::new();
    v.extend(t.uniques.iter().cloned().map(Constraint::Unique));
    v.extend(t.checks.iter().cloned().map(Constraint::Check));
    v.extend(t.foreign_keys.iter().cloned().map(Constraint::ForeignKey));
    v
}

fn constraint_columns(c: &Constraint) -> Vec<&str> {
    match c {
        Constraint::Unique(k) => k.columns.iter().map(String::as_str).collect(),
        Constraint::ForeignKey(f) => f.columns.iter().map(String::as_str).collect(),
        // A CHECK names its columns inside an expression: the words of the expression.
        Constraint::Check(c) => c
            .expression
            .split(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
            .filter(|w| !w.is_empty())
            .collect(),
    }
}

/// The words of an index's expression keys and predicate (a plain column key is not one).
fn index_words(i: &Index) -> impl Iterator<Item = &str> {
    i.keys
        .iter()
        .filter(|k| !is_bare_column(k))
        .chain(&i.predicate)
        .flat_map(|e| e.split(|ch: char| !(ch.is_alphanumeric() || ch == '_')))
        .filter(|w| !w.is_empty())
}

fn strip_name(c: &Constraint) -> Constraint {
    let mut c = c.clone();
    match &mut c {
        Constraint::Unique(k) => k.name.clear(),
        Constraint::Check(k) => k.name.clear(),
        Constraint::ForeignKey(k) => k.name.clear(),
    }
    c
}

fn is_bare_column(key: &str) -> bool {
    !key.starts_with('(')
}

fn bare(key: &str) -> &str {
    let k = key.strip_suffix(" DESC").unwrap_or(key);
    k.trim_matches('"')
}

enum Pair<'a, T> {
    Same(&'a T, &'a T),
    Renamed(&'a T, &'a T),
    Added(&'a T),
    Removed(&'a T),
}

/// Pairs objects by name; an unpaired old and new object with the same definition (name aside)
/// are a rename. A same-named object whose definition changed is a removal plus an addition.
fn match_by_name_then_definition<'a, T: PartialEq, N: Fn(&T) -> &str, D: Fn(&T) -> T>(
    old: &'a [T],
    new: &'a [T],
    name: N,
    definition: D,
) -> Vec<Pair<'a, T>> {
    let mut out = Vec::new();
    let old_by: BTreeMap<&str, &T> = old.iter().map(|o| (name(o), o)).collect();
    let mut unpaired_old: Vec<&T> = Vec::new();
    let mut unpaired_new: Vec<&T> = Vec::new();
    for n in new {
        match old_by.get(name(n)) {
            Some(o) if definition(o) == definition(n) => out.push(Pair::Same(*o, n)),
            _ => unpaired_new.push(n),
        }
    }
    for o in old {
        let kept = new
            .iter()
            .any(|n| name(n) == name(o) && definition(o) == definition(n));
        if !kept {
            unpaired_old.push(o);
        }
    }
    for n in unpaired_new {
        let target = definition(n);
        let rename = unpaired_old
            .iter()
            .position(|o| definition(o) == target && !new.iter().any(|x| name(x) == name(o)));
        match rename {
            Some(i) => out.push(Pair::Renamed(unpaired_old.remove(i), n)),
            None => out.push(Pair::Added(n)),
        }
    }
    out.extend(unpaired_old.into_iter().map(Pair::Removed));
    out
}

/// Renames a table in a schema: the table, references to it, its indexes and triggers, and the
/// names derived from it (`old_...` becomes `new_...`), so a later rename match finds them.
fn rename_table(db: &mut Database, from: &str, to: &str) {
    for t in &mut db.tables {
        if t.name == from {
            t.name = to.to_string();
        }
        for fk in &mut t.foreign_keys {
            if fk.references == from {
                fk.references = to.to_string();
            }
        }
    }
    for i in &mut db.indexes {
        if i.table == from {
            i.table = to.to_string();
        }
    }
    for t in &mut db.triggers {
        if t.table == from {
            t.table = to.to_string();
        }
    }
}

/// Renames a column: the column, keys, FKs, CHECK and index expressions that name it.
fn rename_column(db: &mut Database, table: &str, from: &str, to: &str) {
    let swap = |s: &mut String| {
        if s == from {
            *s = to.to_string();
        }
    };
    for t in &mut db.tables {
        if t.name == table {
            for c in &mut t.columns {
                swap(&mut c.name);
            }
            for k in &mut t.uniques {
                k.columns.iter_mut().for_each(swap);
            }
            t.primary_key.columns.iter_mut().for_each(swap);
            for c in &mut t.checks {
                c.expression = replace_word(&c.expression, from, to);
            }
            for f in &mut t.foreign_keys {
                f.columns.iter_mut().for_each(swap);
            }
        }
        for f in &mut t.foreign_keys {
            if f.references == table {
                f.referenced_columns.iter_mut().for_each(swap);
            }
        }
    }
    for i in &mut db.indexes {
        if i.table == table {
            for k in &mut i.keys {
                *k = replace_word(k, from, to);
            }
            if let Some(p) = &mut i.predicate {
                *p = replace_word(p, from, to);
            }
        }
    }
}

/// Replaces whole identifier words outside string literals.
pub(crate) fn replace_word(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let mut in_string = false;
    let flush = |word: &mut String, out: &mut String| {
        if word == from {
            out.push_str(to);
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for ch in text.chars() {
        if in_string {
            out.push(ch);
            if ch == '\'' {
                in_string = false;
            }
        } else if ch.is_alphanumeric() || ch == '_' {
            word.push(ch);
        } else {
            flush(&mut word, &mut out);
            out.push(ch);
            if ch == '\'' {
                in_string = true;
            }
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_word_skips_strings_and_partial_words() {
        assert_eq!(
            replace_word("phone IS NOT NULL AND phones = 'phone'", "phone", "mobile"),
            "mobile IS NOT NULL AND phones = 'phone'"
        );
    }

    #[test]
    fn subsequence() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(is_subsequence(&s(&["a", "c"]), &s(&["a", "b", "c"])));
        assert!(!is_subsequence(&s(&["c", "a"]), &s(&["a", "b", "c"])));
        assert!(!is_subsequence(&s(&["a", "d"]), &s(&["a", "b", "c"])));
    }
}
