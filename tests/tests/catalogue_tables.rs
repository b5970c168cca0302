//! The escrow catalogue in models/ maps the 23 collections to exactly the tables of the migration
//! plan (plus Chat's normalization and the two tables the plan left to name).

use std::collections::BTreeSet;
use std::path::Path;

use schemac::ir::Catalogue;

fn catalogue() -> Catalogue {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let v = schemac::validate_dir(&dir).expect("models/ is readable");
    let rendered = schemac::diag::render_human(&v.diagnostics, &v.sources, false);
    v.catalogue
        .unwrap_or_else(|| panic!("models/ is invalid:\n{rendered}"))
}

fn diff(expected: &BTreeSet<&str>, actual: &BTreeSet<&str>) -> String {
    let missing: Vec<_> = expected.difference(actual).collect();
    let unexpected: Vec<_> = actual.difference(expected).collect();
    format!("missing: {missing:?}\nunexpected: {unexpected:?}")
}

#[test]
fn catalogue_has_the_23_collections() {
    let cat = catalogue();
    let expected: BTreeSet<(&str, &str)> = [
        ("User", "users"),
        ("PurchaseRequest", "purchaserequests"),
        ("SellerOffer", "selleroffers"),
        ("Payment", "payments"),
        ("FundsLedgerEntry", "fundsledgerentries"),
        ("Dispute", "disputes"),
        ("Category", "categories"),
        ("ShopSettings", "shopsettings"),
        ("LevelConfig", "levelconfigs"),
        ("ConfigSetting", "configsettings"),
        ("ConfigSettingHistory", "configsettinghistories"),
        ("Address", "addresses"),
        ("Review", "reviews"),
        ("BlogPost", "blogposts"),
        ("PointTransaction", "pointtransactions"),
        ("Notification", "notifications"),
        ("TrezorAccount", "trezoraccounts"),
        ("RequestTemplate", "requesttemplates"),
        ("DerivedDestination", "deriveddestinations"),
        ("Chat", "chats"),
        ("TelegramSession", "telegramsessions"),
        ("TelegramLink", "telegramlinks"),
        ("TempVerification", "tempverifications"),
    ]
    .into_iter()
    .collect();
    let actual: BTreeSet<(&str, &str)> = cat
        .models
        .iter()
        .map(|m| (m.name.as_str(), m.collection.as_str()))
        .collect();
    assert_eq!(actual, expected);
}

#[test]
fn catalogue_yields_exactly_the_planned_tables() {
    let cat = catalogue();
    let schema = schemac::plan::plan(&cat);
    let expected: BTreeSet<&str> = [
        // Auth and users.
        "users",
        "user_passkeys",
        "user_refresh_tokens",
        "telegram_links",
        "telegram_sessions",
        // Marketplace.
        "categories",
        "purchase_requests",
        "purchase_request_delivery_info",
        "purchase_request_delivery_address",
        "purchase_request_seller_delivery_info",
        "purchase_request_service_info",
        "purchase_request_specifications",
        "purchase_request_preferred_sellers",
        "delivery_attempts",
        "seller_offers",
        "request_templates",
        // Payments.
        "payments",
        "payment_quotes",
        "funds_ledger_entries",
        "derived_destinations",
        "derived_destination_sweeps",
        // Points and wallet.
        "point_transactions",
        "trezor_accounts",
        "trezor_derived_addresses",
        // Config and ops.
        "config_settings",
        "config_setting_history",
        "shop_settings",
        "addresses",
        "reviews",
        // Content and social, with Chat normalized to four levels.
        "blog_posts",
        "notifications",
        "disputes",
        "chats",
        "chat_participants",
        "chat_messages",
        "chat_message_attachments",
        "chat_message_reactions",
        "chat_message_reads",
        // Not named by the plan.
        "level_configs",
        "temp_verifications",
    ]
    .into_iter()
    .collect();
    let actual: BTreeSet<&str> = schema.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(schema.tables.len(), actual.len(), "a table name repeats");
    assert!(actual == expected, "{}", diff(&expected, &actual));
}

fn column<'a>(
    schema: &'a schemac::plan::Schema,
    table: &str,
    column: &str,
) -> &'a schemac::plan::PlanColumn {
    let t = schema
        .tables
        .iter()
        .find(|t| t.name == table)
        .unwrap_or_else(|| panic!("no table {table}"));
    t.columns
        .iter()
        .find(|c| c.name == column)
        .unwrap_or_else(|| panic!("no column {table}.{column}"))
}

#[test]
fn plan_rules_hold() {
    let cat = catalogue();
    let schema = schemac::plan::plan(&cat);
    let ty = |t: &str, c: &str| column(&schema, t, c).pg.to_string();
    for (t, c) in [
        ("payments", "amount"),
        ("payments", "fee_amount"),
        ("funds_ledger_entries", "amount"),
        ("purchase_requests", "budget"),
        ("seller_offers", "price"),
        ("request_templates", "base_price"),
        ("payment_quotes", "amount_in"),
    ] {
        assert_eq!(ty(t, c), "numeric(38,18)", "money column {t}.{c}");
    }
    for (t, c) in [
        ("funds_ledger_entries", "onchain_amount"),
        ("derived_destination_sweeps", "amount"),
    ] {
        assert_eq!(ty(t, c), "numeric(78,0)", "uint256 column {t}.{c}");
    }
    for (t, c) in [
        ("telegram_links", "telegram_user_id"),
        ("telegram_sessions", "telegram_user_id"),
        ("telegram_sessions", "chat_id"),
        ("users", "telegram_id"),
    ] {
        assert_eq!(ty(t, c), "int8", "telegram id {t}.{c}");
    }
    let triples = [
        (
            "payments",
            ["purchase_request", "seller_offer", "seller"].as_slice(),
        ),
        (
            "funds_ledger_entries",
            &["purchase_request", "payment", "created_by"],
        ),
        ("derived_destinations", &["seller", "seller_offer"]),
        ("disputes", &["chat"]),
    ];
    for (table, bases) in triples {
        for base in bases {
            assert_eq!(ty(table, &format!("{base}_ref_kind")), "ref_kind");
            assert_eq!(ty(table, &format!("{base}_id")), "uuid");
            assert_eq!(ty(table, &format!("{base}_external_ref")), "text");
        }
    }
    assert!(
        !column(&schema, "payments", "purchase_request_ref_kind").nullable,
        "a required Mixed reference"
    );
    let ledger = cat
        .models
        .iter()
        .find(|m| m.name == "FundsLedgerEntry")
        .expect("ledger model");
    assert!(ledger.invariants.append_only);
    let notifications = cat
        .models
        .iter()
        .find(|m| m.name == "Notification")
        .expect("notification model");
    let ttl = notifications.ttl.as_ref().expect("notifications expire");
    assert_eq!(
        (ttl.column.as_str(), ttl.after_secs, ttl.cadence_secs),
        ("created_at", Some(90 * 86_400), 3600)
    );
    let category = cat
        .models
        .iter()
        .find(|m| m.name == "Category")
        .expect("category model");
    assert!(category.indexes.iter().any(|i| i.name.as_deref()
        == Some("categories_active_name_norm_uq")
        && i.unique
        && i.expression.as_deref() == Some("lower(btrim(name))")
        && i.where_sql.as_deref() == Some("is_active = true")));
}
