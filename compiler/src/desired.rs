//! Catalogue in, the relational schema it asks for out ([`Database`]): the plan's tables with
//! their keys, CHECKs, foreign keys, indexes and comments; the infrastructure tables `id_map` and
//! `pg_dualwrite_gaps`; and the invariants Mongoose hooks kept, as trigger functions.
//!
//! Names the compiler derives follow Postgres' own conventions (`<table>_pkey`,
//! `<table>_<columns>_key` / `_fkey` / `_check` / `_idx`) and are shortened to 63 bytes by
//! [`ident::derived_name`].

use crate::db::{Check, Column, Database, Enum, ForeignKey, Function, Index, Key, Table, Trigger};
use crate::ident::{self, quote_ident, quote_literal};
use crate::ir::{Catalogue, EntryValue, Model, Reference};
use crate::parse::syntax::{IndexMethod, OnDelete};
use crate::plan::{self, PlanColumn};

/// The table mapping legacy ObjectIds to uuids.
pub const ID_MAP: &str = "id_map";
/// The table of documents that could not be mirrored or backfilled.
pub const GAPS: &str = "pg_dualwrite_gaps";
/// The enum of `pg_dualwrite_gaps.operation`.
pub const GAP_OPERATION: &str = "dualwrite_operation";
/// The session setting under which the hook triggers (slug, timeline) leave a row as written:
/// the backfill sets it, since a Mongo document already is what its hooks made of it.
/// Constraints and the append-only guard still apply.
pub const SKIP_HOOKS: &str = "schemac.skip_hooks";

/// The first statement of a hook trigger's body.
const SKIP_HOOKS_GUARD: &str = "    -- A backfill loads documents as Mongo has them (SET schemac.skip_hooks = on).\n    IF current_setting('schemac.skip_hooks', true) = 'on' THEN\n        RETURN NEW;\n    END IF;\n";

/// The shared trigger function of append-only tables.
pub const REJECT_CHANGE: &str = "schemac_reject_change";

/// The schema the catalogue asks for.
pub fn database(cat: &Catalogue) -> Database {
    let schema = plan::plan(cat);
    let mut db = Database::default();
    db.enums.push(Enum {
        name: GAP_OPERATION.into(),
        values: ["insert", "update", "replace", "delete", "backfill"]
            .map(String::from)
            .to_vec(),
        comment: Some("The write that failed to reach Postgres (pg_dualwrite_gaps).".into()),
    });
    db.enums.extend(cat.enums.iter().map(|e| Enum {
        name: e.name.clone(),
        values: e.values.clone(),
        comment: None,
    }));
    infrastructure(&mut db);
    for t in &schema.tables {
        let model = cat
            .models
            .iter()
            .find(|m| m.name == t.model)
            .expect("every planned table belongs to a model");
        db.tables.push(table(t, model, &mut db.indexes));
    }
    for model in &cat.models {
        model_indexes(model, &mut db.indexes);
        invariants(model, &schema, &mut db);
    }
    db.indexes.sort_by(|a, b| a.name.cmp(&b.name));
    db.indexes.dedup_by(|a, b| a.name == b.name);
    db.functions.sort_by(|a, b| a.name.cmp(&b.name));
    db.triggers
        .sort_by(|a, b| (&a.table, &a.name).cmp(&(&b.table, &b.name)));
    db
}

fn name(full: String) -> String {
    ident::derived_name(&full).0
}

fn col(name: &str, ty: &str, nullable: bool, default: Option<&str>, comment: &str) -> Column {
    Column {
        name: name.into(),
        ty: ty.into(),
        nullable,
        default: default.map(str::to_string),
        comment: Some(comment.into()),
    }
}

fn key(name: &str, columns: &[&str]) -> Key {
    Key {
        name: name.into(),
        columns: columns.iter().map(|c| c.to_string()).collect(),
    }
}

fn infrastructure(db: &mut Database) {
    db.tables.push(Table {
        name: ID_MAP.into(),
        comment: Some(
            "Legacy Mongo ObjectIds and the uuids their rows got (migration plan, rule 6).".into(),
        ),
        columns: vec![
            col("collection", "text", false, None, "The Mongo collection."),
            col(
                "legacy_object_id",
                "text",
                false,
                None,
                "The document's _id, 24 lower-case hex digits.",
            ),
            col("id", "uuid", false, None, "The row's uuid."),
            col(
                "created_at",
                "timestamptz",
                false,
                Some("now()"),
                "When the mapping was recorded.",
            ),
        ],
        primary_key: key("id_map_pkey", &["collection", "legacy_object_id"]),
        uniques: Vec::new(),
        checks: vec![Check {
            name: "id_map_legacy_object_id_check".into(),
            // 24 bytes, each a lower-case hex digit: what `~ '^[0-9a-f]{24}$'` says, at a
            // third of its cost per row (the regular expression was a quarter of an id_map
            // insert, BENCHMARKS.md section 3).
            expression: "octet_length(legacy_object_id) = 24 AND ltrim(legacy_object_id, '0123456789abcdef') = ''".into(),
        }],
        foreign_keys: Vec::new(),
    });
    db.indexes.push(Index {
        name: "id_map_id_idx".into(),
        table: ID_MAP.into(),
        unique: false,
        method: "btree".into(),
        keys: vec!["id".into()],
        predicate: None,
        comment: Some("uuid -> ObjectId lookups.".into()),
    });
    db.tables.push(Table {
        name: GAPS.into(),
        comment: Some(
            "Documents that failed to reach Postgres (dual-write or backfill), kept whole for replay."
                .into(),
        ),
        columns: vec![
            col(
                "id",
                "uuid",
                false,
                Some("gen_random_uuid()"),
                "The gap's own id.",
            ),
            col("collection", "text", false, None, "The Mongo collection."),
            col(
                "legacy_object_id",
                "text",
                true,
                None,
                "The document's _id as 24 hex digits; NULL when it has none.",
            ),
            col(
                "operation",
                GAP_OPERATION,
                false,
                None,
                "The write that failed.",
            ),
            col(
                "error",
                "text",
                false,
                None,
                "Why: the transform or Postgres error.",
            ),
            col(
                "document",
                "bytea",
                true,
                None,
                "The raw BSON document, byte for byte.",
            ),
            col(
                "attempts",
                "int4",
                false,
                Some("1"),
                "How many times the write was tried.",
            ),
            col(
                "first_failed_at",
                "timestamptz",
                false,
                Some("now()"),
                "The first failure.",
            ),
            col(
                "last_failed_at",
                "timestamptz",
                false,
                Some("now()"),
                "The latest failure.",
            ),
            col(
                "resolved_at",
                "timestamptz",
                true,
                None,
                "When a replay succeeded; NULL while open.",
            ),
        ],
        primary_key: key("pg_dualwrite_gaps_pkey", &["id"]),
        uniques: Vec::new(),
        checks: vec![Check {
            name: "pg_dualwrite_gaps_attempts_check".into(),
            expression: "attempts >= 1".into(),
        }],
        foreign_keys: Vec::new(),
    });
    db.indexes.push(Index {
        name: "pg_dualwrite_gaps_open_key".into(),
        table: GAPS.into(),
        unique: true,
        method: "btree".into(),
        keys: vec![
            "collection".into(),
            "legacy_object_id".into(),
            "operation".into(),
        ],
        predicate: Some("resolved_at IS NULL".into()),
        comment: Some("One open gap per document and operation: a retry bumps attempts.".into()),
    });
}

/// `Mongo <collection>.<path>`, then the field's description: where the value comes from.
fn column_comment(collection: &str, c: &PlanColumn) -> String {
    let source = if c.source.starts_with('(') {
        c.source.clone()
    } else {
        format!("Mongo {collection}.{}", c.source)
    };
    match &c.description {
        Some(d) => format!("{source}. {d}"),
        None => source,
    }
}

/// 2^256 - 1: numeric(78,0) holds up to 10^78 - 1, so uint256 columns get a CHECK.
const UINT256_MAX: &str =
    "115792089237316195423570985008687907853269984665640564039457584007913129639935";

fn table(t: &plan::Table, model: &Model, indexes: &mut Vec<Index>) -> Table {
    let tn = &t.name;
    let comment = match (&t.parent, &t.description) {
        (None, Some(d)) => format!("Mongo collection {} ({}). {d}", t.source, model.name),
        (None, None) => format!("Mongo collection {} ({}).", t.source, model.name),
        (Some(p), d) => {
            let shape = if p.one_to_one {
                "embedded object"
            } else {
                "array of subdocuments"
            };
            let mut s = format!(
                "Mongo {}.{} ({shape} of {}), rows of {}.",
                model.collection, t.source, model.name, p.table
            );
            if let Some(d) = d {
                s.push(' ');
                s.push_str(d);
            }
            s
        }
    };
    let columns = t
        .columns
        .iter()
        .map(|c| Column {
            name: c.name.clone(),
            ty: c.pg.to_string(),
            nullable: c.nullable,
            default: c.default_sql.clone(),
            comment: Some(column_comment(&model.collection, c)),
        })
        .collect();
    let mut uniques = Vec::new();
    let mut checks = Vec::new();
    let mut fks = Vec::new();
    match &t.parent {
        None => uniques.push(Key {
            name: name(format!("{tn}_legacy_object_id_key")),
            columns: vec!["legacy_object_id".into()],
        }),
        Some(p) => {
            let cols = if p.one_to_one {
                vec![p.column.clone()]
            } else {
                vec![p.column.clone(), "ordinal".into()]
            };
            uniques.push(Key {
                name: name(format!("{tn}_{}_key", cols.join("_"))),
                columns: cols,
            });
            fks.push(ForeignKey {
                name: name(format!("{tn}_{}_fkey", p.column)),
                columns: vec![p.column.clone()],
                references: p.table.clone(),
                referenced_columns: vec!["id".into()],
                on_delete: "CASCADE".into(),
            });
            if !p.one_to_one {
                checks.push(Check {
                    name: name(format!("{tn}_ordinal_check")),
                    expression: "ordinal >= 0".into(),
                });
            }
        }
    }
    for c in &t.columns {
        if c.pg == crate::types::UINT256 {
            checks.push(Check {
                name: name(format!("{tn}_{}_uint256_check", c.name)),
                expression: format!(
                    "{col} >= 0 AND {col} <= {UINT256_MAX}",
                    col = quote_ident(&c.name)
                ),
            });
        }
        if let Some(expr) = &c.check {
            checks.push(Check {
                name: name(format!("{tn}_{}_check", c.name)),
                expression: expr.clone(),
            });
        }
        if let Some(Reference::Model {
            table,
            fk: true,
            on_delete,
            ..
        }) = &c.reference
        {
            fks.push(ForeignKey {
                name: name(format!("{tn}_{}_fkey", c.name)),
                columns: vec![c.name.clone()],
                references: table.clone(),
                referenced_columns: vec!["id".into()],
                on_delete: match on_delete {
                    OnDelete::Restrict => "RESTRICT",
                    OnDelete::Cascade => "CASCADE",
                    OnDelete::SetNull => "SET NULL",
                }
                .into(),
            });
        }
        if c.unique || c.index {
            let suffix = if c.unique { "key" } else { "idx" };
            indexes.push(Index {
                name: name(format!("{tn}_{}_{suffix}", c.name)),
                table: tn.clone(),
                unique: c.unique,
                method: "btree".into(),
                keys: vec![quote_ident(&c.name)],
                predicate: c
                    .sparse
                    .then(|| format!("{} IS NOT NULL", quote_ident(&c.name))),
                comment: None,
            });
        }
    }
    for p in &t.polymorphic {
        checks.push(Check {
            name: name(format!("{tn}_{}_check", ident::polymorphic_base(&p.id))),
            expression: polymorphic_check(p),
        });
        if p.index {
            for c in [&p.id, &p.external_ref] {
                indexes.push(Index {
                    name: name(format!("{tn}_{c}_idx")),
                    table: tn.clone(),
                    unique: false,
                    method: "btree".into(),
                    keys: vec![c.clone()],
                    predicate: Some(format!("{} IS NOT NULL", quote_ident(c))),
                    comment: None,
                });
            }
        }
    }
    checks.sort_by(|a, b| a.name.cmp(&b.name));
    uniques.sort_by(|a, b| a.name.cmp(&b.name));
    fks.sort_by(|a, b| a.name.cmp(&b.name));
    Table {
        name: tn.clone(),
        comment: Some(comment),
        columns,
        primary_key: Key {
            name: name(format!("{tn}_pkey")),
            columns: vec!["id".into()],
        },
        uniques,
        checks,
        foreign_keys: fks,
    }
}

/// The plan's rule 1: exactly one of id and external_ref, as the kind says; all three NULL when
/// the reference is optional and absent.
fn polymorphic_check(p: &plan::PolymorphicRef) -> String {
    let (k, id, ext) = (
        quote_ident(&p.kind),
        quote_ident(&p.id),
        quote_ident(&p.external_ref),
    );
    let mut arms = Vec::new();
    if p.kinds.iter().any(|k| k == "entity") {
        arms.push(format!(
            "({k} = 'entity' AND {id} IS NOT NULL AND {ext} IS NULL)"
        ));
    }
    if p.kinds.iter().any(|k| k == "template") {
        arms.push(format!(
            "({k} = 'template' AND {id} IS NULL AND {ext} IS NOT NULL)"
        ));
    }
    if p.optional {
        arms.push(format!("({k} IS NULL AND {id} IS NULL AND {ext} IS NULL)"));
    }
    arms.join(" OR ")
}

fn model_indexes(model: &Model, out: &mut Vec<Index>) {
    for i in &model.indexes {
        let keys: Vec<String> = match &i.expression {
            Some(e) => vec![format!("({e})")],
            None => i
                .columns
                .iter()
                .map(|(c, desc)| {
                    let c = quote_ident(c);
                    if *desc { format!("{c} DESC") } else { c }
                })
                .collect(),
        };
        let derived = || {
            let what = match &i.expression {
                Some(_) => "expr".to_string(),
                None => i
                    .columns
                    .iter()
                    .map(|(c, _)| c.as_str())
                    .collect::<Vec<_>>()
                    .join("_"),
            };
            let suffix = if i.unique { "key" } else { "idx" };
            name(format!("{}_{what}_{suffix}", i.table))
        };
        out.push(Index {
            name: i.name.clone().unwrap_or_else(derived),
            table: i.table.clone(),
            unique: i.unique,
            method: method(i.using).into(),
            keys,
            predicate: i.where_sql.clone(),
            comment: None,
        });
    }
    if let Some(ttl) = &model.ttl {
        let covered = out
            .iter()
            .any(|i| i.table == model.table && i.keys.first() == Some(&quote_ident(&ttl.column)));
        if !covered {
            out.push(Index {
                name: name(format!("{}_{}_idx", model.table, ttl.column)),
                table: model.table.clone(),
                unique: false,
                method: "btree".into(),
                keys: vec![quote_ident(&ttl.column)],
                predicate: None,
                comment: Some("Supports the TTL cleanup (sql/ttl_cleanup.sql).".into()),
            });
        }
    }
    if let Some(op) = &model.invariants.one_primary {
        out.push(Index {
            name: name(format!(
                "{}_{}_one_primary_key",
                model.table,
                op.per.join("_")
            )),
            table: model.table.clone(),
            unique: true,
            method: "btree".into(),
            keys: op.per.iter().map(|c| quote_ident(c)).collect(),
            predicate: Some(format!("{} = true", quote_ident(&op.flag))),
            comment: Some(format!(
                "At most one {} row per {} (the Mongoose pre-save hook).",
                op.flag,
                op.per.join(", ")
            )),
        });
    }
}

fn method(m: IndexMethod) -> &'static str {
    match m {
        IndexMethod::Btree => "btree",
        IndexMethod::Gin => "gin",
        IndexMethod::Gist => "gist",
        IndexMethod::Hash => "hash",
        IndexMethod::Brin => "brin",
    }
}

fn invariants(model: &Model, schema: &plan::Schema, db: &mut Database) {
    let inv = &model.invariants;
    if inv.append_only {
        if !db.functions.iter().any(|f| f.name == REJECT_CHANGE) {
            db.functions.push(Function {
                name: REJECT_CHANGE.into(),
                body: "\nBEGIN\n    RAISE EXCEPTION '% on % is not allowed: the table is append-only', TG_OP, TG_TABLE_NAME\n        USING ERRCODE = 'restrict_violation',\n              HINT = 'Record a correcting entry instead.';\nEND;\n".into(),
                comment: Some("Rejects UPDATE, DELETE and TRUNCATE on append-only tables (catalogue invariant append_only).".into()),
            });
        }
        for t in schema.tables.iter().filter(|t| t.model == model.name) {
            db.triggers.push(Trigger {
                name: name(format!("{}_append_only", t.name)),
                table: t.name.clone(),
                timing: "BEFORE".into(),
                events: vec!["UPDATE".into(), "DELETE".into()],
                level: "ROW".into(),
                function: REJECT_CHANGE.into(),
            });
            db.triggers.push(Trigger {
                name: name(format!("{}_no_truncate", t.name)),
                table: t.name.clone(),
                timing: "BEFORE".into(),
                events: vec!["TRUNCATE".into()],
                level: "STATEMENT".into(),
                function: REJECT_CHANGE.into(),
            });
        }
    }
    if let Some(slug) = &inv.slug {
        let f = name(format!("{}_set_{}", model.table, slug.column));
        let (s, from) = (quote_ident(&slug.column), quote_ident(&slug.from));
        db.functions.push(Function {
            name: f.clone(),
            body: format!(
                "\nBEGIN\n{SKIP_HOOKS_GUARD}    IF NEW.{s} IS NULL OR NEW.{s} = ''\n       OR (TG_OP = 'UPDATE' AND NEW.{from} IS DISTINCT FROM OLD.{from} AND NEW.{s} IS NOT DISTINCT FROM OLD.{s}) THEN\n        NEW.{s} := btrim(regexp_replace(lower(NEW.{from}), '[^a-z0-9]+', '-', 'g'), '-');\n    END IF;\n    RETURN NEW;\nEND;\n"
            ),
            comment: Some(format!(
                "Derives {}.{} from {} as the Mongoose pre-save hook did, unless the writer set it or {SKIP_HOOKS} is on.",
                model.table, slug.column, slug.from
            )),
        });
        db.triggers.push(Trigger {
            name: name(format!("{}_{}", model.table, slug.column)),
            table: model.table.clone(),
            timing: "BEFORE".into(),
            events: vec!["INSERT".into(), "UPDATE".into()],
            level: "ROW".into(),
            function: f,
        });
    }
    if let Some(tl) = &inv.timeline {
        let column = schema
            .tables
            .iter()
            .find(|t| t.name == model.table)
            .and_then(|t| t.columns.iter().find(|c| c.source == tl.field))
            .map(|c| c.name.clone())
            .unwrap_or_else(|| ident::column_name(&tl.field));
        let f = name(format!("{}_append_{}", model.table, column));
        let (c, st) = (quote_ident(&column), quote_ident(&tl.status));
        let object = |entry: &[(String, EntryValue)]| {
            let args: Vec<String> = entry
                .iter()
                .map(|(k, v)| {
                    let value = match v {
                        EntryValue::Status => format!("NEW.{st}"),
                        // Relaxed Extended JSON, as the transforms store BSON dates in jsonb.
                        EntryValue::Now => {
                            "jsonb_build_object('$date', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'))"
                                .to_string()
                        }
                        EntryValue::Text(t) => quote_literal(t),
                    };
                    format!("{}, {value}", quote_literal(k))
                })
                .collect();
            format!("jsonb_build_object({})", args.join(", "))
        };
        let mut body = format!("\nBEGIN\n{SKIP_HOOKS_GUARD}");
        if tl.insert_entry.is_empty() {
            body.push_str("    IF TG_OP = 'UPDATE'\n");
        } else {
            body.push_str(&format!(
                "    IF TG_OP = 'INSERT' THEN\n        IF coalesce(jsonb_array_length(NEW.{c}), 0) = 0 THEN\n            NEW.{c} := jsonb_build_array({});\n        END IF;\n    ELSIF TG_OP = 'UPDATE'\n",
                object(&tl.insert_entry)
            ));
        }
        body.push_str(&format!(
            "       AND NEW.{st} IS DISTINCT FROM OLD.{st}\n       AND coalesce(jsonb_array_length(NEW.{c}), 0) <= coalesce(jsonb_array_length(OLD.{c}), 0) THEN\n        NEW.{c} := coalesce(NEW.{c}, '[]'::jsonb) || {};\n",
            object(&tl.entry)
        ));
        for (value, date_col) in &tl.stamps {
            let d = quote_ident(date_col);
            let once = if tl.stamp_once.contains(date_col) {
                format!(" AND NEW.{d} IS NULL")
            } else {
                String::new()
            };
            body.push_str(&format!(
                "        IF NEW.{st} = {}{once} THEN\n            NEW.{d} := now();\n        END IF;\n",
                quote_literal(value)
            ));
        }
        body.push_str("    END IF;\n    RETURN NEW;\nEND;\n");
        db.functions.push(Function {
            name: f.clone(),
            body,
            comment: Some(format!(
                "Appends to {}.{} as the Mongoose pre-save hook did, unless the writer already appended or {SKIP_HOOKS} is on.",
                model.table, column
            )),
        });
        db.triggers.push(Trigger {
            name: name(format!("{}_{}", model.table, column)),
            table: model.table.clone(),
            timing: "BEFORE".into(),
            events: vec!["INSERT".into(), "UPDATE".into()],
            level: "ROW".into(),
            function: f,
        });
    }
}
