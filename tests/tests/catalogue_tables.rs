//! The escrow catalogue keeps the migration plan's uint256 columns, its append-only ledger, the
//! notifications TTL and the categories' partial unique index. (Coverage of every Mongoose path,
//! the table set and the money columns lives in catalogue_coverage.rs.)

use std::path::Path;

use schemac::ir::Catalogue;

fn catalogue() -> Catalogue {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let v = schemac::validate_dir(&dir).expect("models/ is readable");
    let rendered = schemac::diag::render_human(&v.diagnostics, &v.sources, false);
    v.catalogue
        .unwrap_or_else(|| panic!("models/ is invalid:\n{rendered}"))
}

#[test]
fn uint256_invariants_ttl_and_index_hold() {
    let cat = catalogue();
    let schema = schemac::plan::plan(&cat);
    for (t, c) in [
        ("funds_ledger_entries", "onchain_amount"),
        ("derived_destination_sweeps", "amount"),
    ] {
        let table = schema.tables.iter().find(|x| x.name == t).expect(t);
        let col = table.columns.iter().find(|x| x.name == c).expect(c);
        assert_eq!(
            col.pg.to_string(),
            "numeric(78,0)",
            "uint256 column {t}.{c}"
        );
    }
    let model = |name: &str| {
        cat.models
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("no model {name}"))
    };
    assert!(model("FundsLedgerEntry").invariants.append_only);
    assert!(model("PointTransaction").invariants.append_only);
    let ttl = model("Notification")
        .ttl
        .as_ref()
        .expect("notifications expire");
    assert_eq!(
        (ttl.column.as_str(), ttl.after_secs, ttl.cadence_secs),
        ("created_at", Some(90 * 86_400), 3600)
    );
    assert!(model("Category").indexes.iter().any(|i| i.name.as_deref()
        == Some("categories_active_name_norm_uq")
        && i.unique
        && i.expression.as_deref() == Some("lower(btrim(name))")
        && i.where_sql.as_deref() == Some("is_active = true")));
}
