//! `introspect` against a real database built by hand, and `diff_report` on what it read.

use schemac::db::{
    Check, Column, Database, Enum, ForeignKey, Function, Index, Key, Table, Trigger,
};
use schemac::introspect::{diff_report, introspect};
use schemac_testdb::TestDb;

const SCHEMA: &str = r#"
CREATE TYPE order_status AS ENUM ('draft', 'placed');
ALTER TYPE order_status ADD VALUE 'new' BEFORE 'draft';
COMMENT ON TYPE order_status IS 'Where an order is.';

CREATE TABLE customers (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    tags text[] NOT NULL DEFAULT '{}',
    scores float8[],
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT customers_name_key UNIQUE (name)
);
COMMENT ON TABLE customers IS 'Mongo collection customers.';
COMMENT ON COLUMN customers.name IS 'name';

CREATE TABLE orders (
    id int8 NOT NULL,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    dropped_later text,
    status order_status NOT NULL DEFAULT 'draft',
    amount numeric(38,18) NOT NULL,
    quantity int4 NOT NULL CHECK (quantity > 0),
    paid boolean NOT NULL DEFAULT false,
    note text,
    document jsonb,
    raw bytea,
    history order_status[],
    "Odd Name" int2,
    PRIMARY KEY (customer_id, id),
    CONSTRAINT orders_note_key UNIQUE (note, customer_id),
    CONSTRAINT orders_paid_check CHECK (NOT paid OR amount > 0 AND status <> 'draft')
);
ALTER TABLE orders DROP COLUMN dropped_later;

CREATE UNIQUE INDEX customers_lower_name_key ON customers ((lower(btrim(name)))) WHERE name <> '';
CREATE INDEX customers_tags_idx ON customers USING gin (tags);
COMMENT ON INDEX customers_tags_idx IS 'Tag search.';
CREATE INDEX orders_recent_idx ON orders (customer_id, id DESC, note NULLS FIRST);
CREATE INDEX orders_total_idx ON orders ((amount * quantity));

CREATE FUNCTION orders_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is not allowed', TG_OP;
END;
$$;
COMMENT ON FUNCTION orders_reject_change() IS 'Orders are append-only.';
CREATE TRIGGER orders_append_only BEFORE UPDATE OR DELETE ON orders
    FOR EACH ROW EXECUTE FUNCTION orders_reject_change();
CREATE TRIGGER orders_no_truncate BEFORE TRUNCATE ON orders
    FOR EACH STATEMENT EXECUTE FUNCTION orders_reject_change();

-- Left out: the history table, a function that is not a trigger, another schema.
CREATE TABLE schemac_migrations (version int4 PRIMARY KEY);
CREATE FUNCTION plain() RETURNS int4 LANGUAGE sql AS 'SELECT 1';
CREATE SCHEMA other;
CREATE TABLE other.elsewhere (id int4 PRIMARY KEY);
CREATE TYPE other.mood AS ENUM ('ok');
"#;

fn col(name: &str, ty: &str, nullable: bool, default: Option<&str>) -> Column {
    Column {
        name: name.into(),
        ty: ty.into(),
        nullable,
        default: default.map(Into::into),
        comment: None,
    }
}

fn key(name: &str, columns: &[&str]) -> Key {
    Key {
        name: name.into(),
        columns: columns.iter().map(|c| c.to_string()).collect(),
    }
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| v.to_string()).collect()
}

fn expected() -> Database {
    let body = "\nBEGIN\n    RAISE EXCEPTION '% is not allowed', TG_OP;\nEND;\n";
    let trigger = |name: &str, events: &[&str], level: &str| Trigger {
        name: name.into(),
        table: "orders".into(),
        timing: "BEFORE".into(),
        events: strings(events),
        level: level.into(),
        function: "orders_reject_change".into(),
    };
    let index = |name: &str, table: &str, method: &str, keys: &[&str]| Index {
        name: name.into(),
        table: table.into(),
        unique: false,
        method: method.into(),
        keys: strings(keys),
        predicate: None,
        comment: None,
    };
    Database {
        enums: vec![Enum {
            name: "order_status".into(),
            values: strings(&["new", "draft", "placed"]),
            comment: Some("Where an order is.".into()),
        }],
        functions: vec![Function {
            name: "orders_reject_change".into(),
            body: body.into(),
            comment: Some("Orders are append-only.".into()),
        }],
        tables: vec![
            Table {
                name: "customers".into(),
                comment: Some("Mongo collection customers.".into()),
                columns: vec![
                    col("id", "uuid", false, None),
                    Column {
                        comment: Some("name".into()),
                        ..col("name", "text", false, None)
                    },
                    col("tags", "text[]", false, Some("'{}'::text[]")),
                    col("scores", "float8[]", true, None),
                    col("created_at", "timestamptz", false, Some("now()")),
                ],
                primary_key: key("customers_pkey", &["id"]),
                uniques: vec![key("customers_name_key", &["name"])],
                checks: vec![],
                foreign_keys: vec![],
            },
            Table {
                name: "orders".into(),
                comment: None,
                columns: vec![
                    col("id", "int8", false, None),
                    col("customer_id", "uuid", false, None),
                    col(
                        "status",
                        "order_status",
                        false,
                        Some("'draft'::order_status"),
                    ),
                    col("amount", "numeric(38,18)", false, None),
                    col("quantity", "int4", false, None),
                    col("paid", "boolean", false, Some("false")),
                    col("note", "text", true, None),
                    col("document", "jsonb", true, None),
                    col("raw", "bytea", true, None),
                    col("history", "order_status[]", true, None),
                    col("Odd Name", "smallint", true, None),
                ],
                primary_key: key("orders_pkey", &["customer_id", "id"]),
                uniques: vec![key("orders_note_key", &["note", "customer_id"])],
                checks: vec![
                    Check {
                        name: "orders_paid_check".into(),
                        expression:
                            "NOT paid OR amount > 0::numeric AND status <> 'draft'::order_status"
                                .into(),
                    },
                    Check {
                        name: "orders_quantity_check".into(),
                        expression: "quantity > 0".into(),
                    },
                ],
                foreign_keys: vec![ForeignKey {
                    name: "orders_customer_id_fkey".into(),
                    columns: strings(&["customer_id"]),
                    references: "customers".into(),
                    referenced_columns: strings(&["id"]),
                    on_delete: "CASCADE".into(),
                }],
            },
        ],
        indexes: vec![
            Index {
                unique: true,
                predicate: Some("name <> ''::text".into()),
                ..index(
                    "customers_lower_name_key",
                    "customers",
                    "btree",
                    &["(lower(btrim(name)))"],
                )
            },
            Index {
                comment: Some("Tag search.".into()),
                ..index("customers_tags_idx", "customers", "gin", &["tags"])
            },
            index(
                "orders_recent_idx",
                "orders",
                "btree",
                &["customer_id", "id DESC", "note NULLS FIRST"],
            ),
            index(
                "orders_total_idx",
                "orders",
                "btree",
                &["(amount * quantity::numeric)"],
            ),
        ],
        triggers: vec![
            trigger("orders_append_only", &["UPDATE", "DELETE"], "ROW"),
            trigger("orders_no_truncate", &["TRUNCATE"], "STATEMENT"),
        ],
        ..Database::default()
    }
}

#[test]
fn introspect_reads_back_a_hand_built_schema() {
    let db = TestDb::new();
    let mut client = db.client();
    client.batch_execute(SCHEMA).unwrap();
    let actual = introspect(&mut client, "public").unwrap();
    let expected = expected();
    assert_eq!(diff_report(&expected, &actual), Vec::<String>::new());
    assert_eq!(actual, expected);

    let other = introspect(&mut client, "other").unwrap();
    assert_eq!(other.tables.len(), 1);
    assert_eq!(other.enum_type("mood").unwrap().values, ["ok"]);
    assert!(other.triggers.is_empty() && other.functions.is_empty());
}

#[test]
fn diff_report_names_each_difference() {
    let actual = expected();
    let mut modified = expected();
    let orders = &mut modified.tables[1];
    orders.columns[3].ty = "numeric(10,2)".into();
    orders.columns[6].nullable = false;
    orders.columns.push(col("extra", "text", true, None));
    orders.checks.remove(1);
    orders.foreign_keys[0].on_delete = "RESTRICT".into();
    modified.tables.remove(0);
    modified.enums[0].values.push("cancelled".into());
    modified.indexes[2].keys[1] = "id".into();
    modified.indexes[3].predicate = Some("amount > 0".into());
    modified.triggers[0].events = strings(&["INSERT", "UPDATE"]);
    modified.functions[0].comment = None;

    assert_eq!(
        diff_report(&modified, &actual),
        [
            "enum order_status: missing value cancelled",
            "function orders_reject_change: comment none != \"Orders are append-only.\"",
            "extra table customers",
            "table orders: column amount: type numeric(10,2) != numeric(38,18)",
            "table orders: missing column extra",
            "table orders: column note: nullable false != true",
            "table orders: extra check orders_quantity_check",
            "table orders: foreign key orders_customer_id_fkey: on delete RESTRICT != CASCADE",
            "index orders_recent_idx: keys (customer_id, id, note NULLS FIRST) != (customer_id, id DESC, note NULLS FIRST)",
            "index orders_total_idx: predicate \"amount > 0\" != none",
            "trigger orders_append_only on orders: events (INSERT, UPDATE) != (UPDATE, DELETE)",
        ]
    );
}

#[test]
fn diff_report_is_empty_for_equal_schemas_in_any_order() {
    let db = expected();
    assert!(diff_report(&db, &db).is_empty());
    let mut reordered = expected();
    reordered.tables.reverse();
    reordered.indexes.reverse();
    reordered.triggers.reverse();
    reordered.tables[0].checks.reverse();
    assert!(diff_report(&db, &reordered).is_empty());
    assert!(diff_report(&Database::default(), &Database::default()).is_empty());

    // Column order is kept by Postgres, so it counts.
    reordered.tables[0].columns.swap(0, 1);
    assert_eq!(
        diff_report(&db, &reordered),
        [
            "table orders: column order (id, customer_id, status, amount, quantity, paid, note, document, raw, history, Odd Name) != (customer_id, id, status, amount, quantity, paid, note, document, raw, history, Odd Name)"
        ]
    );
}
