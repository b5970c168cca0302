//! Property tests of the round trip on generated valid documents: for `payments` (Decimal128
//! money, polymorphic Mixed ids as ObjectId or string, the embedded `quote` object as a child
//! table, jsonb), `users` (arrays of subdocuments as child tables, int64 `telegramId`, flattened
//! objects, enum arrays) and `categories` (nullable self-reference, jsonb array of objects).
//!
//! The strategies follow models/*.yaml: required fields are always present, fields with a
//! default are present or absent (an explicit null there is refused: it would be a NULL in a
//! NOT NULL column), nullable fields are present, absent or null; enums take their labels
//! from the generated enums; numbers take every BSON type the readers accept exactly (int32,
//! int64, integral doubles); money is Decimal128 within `numeric(38,18)` (at most 34
//! significant digits, at most 20 before the point and 18 after, exponents included).
//!
//! For each document `doc`, with `rows = from_mongo(doc)` and `out = to_mongo(rows)`:
//! - `from_mongo(out)` gives the same rows, and `to_mongo` of those gives `out` again (a fixed
//!   point: what was written back reads back the same);
//! - every money value of `doc` comes back in `out` with the same numeric value (compared as
//!   [`Numeric`] parsed from the Decimal128's string form), and a missing `feeAmount` comes back
//!   as its default 0.
//!
//! `PROPTEST_CASES=N` runs more cases than the default below.

// The closures pass the generated `from_mongo` / `to_mongo` through, with their
// `TransformError` (see runtime/src/lib.rs for why it is not boxed).
#![allow(clippy::result_large_err)]

use escrow_schema::schema::{category, enums, payment, user};
use proptest::prelude::*;
use schemac_runtime::Numeric;
use schemac_runtime::bson::oid::ObjectId;
use schemac_runtime::bson::spec::BinarySubtype;
use schemac_runtime::bson::{Binary, Bson, DateTime, Decimal128, Document, RawDocumentBuf};
use schemac_runtime::transform::Mode;

/// How many documents each property tries (`PROPTEST_CASES` overrides it).
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(96);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A field: `None` leaves the key out of the document.
type FieldStrategy = BoxedStrategy<Option<Bson>>;

/// A required field: always there.
fn required(value: impl Strategy<Value = Bson> + 'static) -> FieldStrategy {
    value.prop_map(Some).boxed()
}

/// A field with a default: there or absent, never null.
fn defaulted(value: impl Strategy<Value = Bson> + 'static) -> FieldStrategy {
    prop_oneof![1 => Just(None), 3 => value.prop_map(Some)].boxed()
}

/// A nullable field: there, absent, or an explicit null.
fn nullable(value: impl Strategy<Value = Bson> + 'static) -> FieldStrategy {
    prop_oneof![1 => Just(None), 1 => Just(Some(Bson::Null)), 3 => value.prop_map(Some)].boxed()
}

/// A document of the given fields, in that order, without the absent ones.
fn document(fields: Vec<(&'static str, FieldStrategy)>) -> BoxedStrategy<Document> {
    let (names, values): (Vec<_>, Vec<_>) = fields.into_iter().unzip();
    values
        .prop_map(move |values| {
            let mut doc = Document::new();
            for (name, value) in names.iter().zip(values) {
                if let Some(value) = value {
                    doc.insert(*name, value);
                }
            }
            doc
        })
        .boxed()
}

fn object_id() -> impl Strategy<Value = ObjectId> {
    any::<[u8; 12]>().prop_map(ObjectId::from_bytes)
}

fn oid() -> impl Strategy<Value = Bson> {
    object_id().prop_map(Bson::ObjectId)
}

/// Any text Postgres can store (no NUL), Unicode included.
fn text() -> impl Strategy<Value = Bson> {
    "[^\u{0}]{0,12}".prop_map(Bson::String)
}

fn boolean() -> impl Strategy<Value = Bson> {
    any::<bool>().prop_map(Bson::Boolean)
}

/// A date from year 1 to 9999, and the edges around 1970.
fn date() -> impl Strategy<Value = Bson> {
    prop_oneof![
        (-62_135_596_800_000_i64..253_402_300_800_000).prop_map(DateTime::from_millis),
        (-2_i64..2).prop_map(DateTime::from_millis),
    ]
    .prop_map(Bson::DateTime)
}

/// One of an enum's labels.
fn label(labels: &'static [&'static str]) -> impl Strategy<Value = Bson> {
    proptest::sample::select(labels).prop_map(|l| Bson::String(l.to_string()))
}

/// An `int4` value as any BSON number that holds it exactly.
fn int4(range: std::ops::RangeInclusive<i32>) -> impl Strategy<Value = Bson> {
    range.prop_flat_map(|v| {
        prop_oneof![
            Just(Bson::Int32(v)),
            Just(Bson::Int64(i64::from(v))),
            Just(Bson::Double(f64::from(v))),
        ]
    })
}

/// An `int8` value as any BSON number that holds it exactly (a double only up to 2^53).
fn int8() -> impl Strategy<Value = Bson> {
    prop_oneof![
        any::<i64>().prop_map(Bson::Int64),
        any::<i32>().prop_map(Bson::Int32),
        (-(1_i64 << 53)..=(1_i64 << 53)).prop_map(|v| Bson::Double(v as f64)),
    ]
}

/// A Decimal128 that fits `numeric(38,18)` exactly: 1 to 34 significant digits (leading zeros
/// too), written with an exponent from -18 up to what keeps 20 digits before the point, or as
/// plain digits with up to 18 after the point; either sign, so `-0` too.
fn money() -> impl Strategy<Value = Bson> {
    let exponent_form = ("-?", "[0-9]{1,34}").prop_flat_map(|(sign, digits)| {
        let max = 20 - digits.len() as i32;
        (-18..=max).prop_map(move |e| format!("{sign}{digits}E{e}"))
    });
    let plain = ("-?", "[0-9]{1,16}", "[0-9]{0,18}").prop_map(|(sign, int, frac)| {
        if frac.is_empty() {
            format!("{sign}{int}")
        } else {
            format!("{sign}{int}.{frac}")
        }
    });
    prop_oneof![exponent_form, plain].prop_map(|text| {
        let d: Decimal128 = text
            .parse()
            .unwrap_or_else(|e| panic!("{text} is a Decimal128: {e}"));
        Bson::Decimal128(d)
    })
}

/// A Mongoose Mixed id: an ObjectId, or any string (a 24-hex string stays a string).
fn mixed_id() -> impl Strategy<Value = Bson> {
    prop_oneof![
        oid(),
        text(),
        "[0-9a-f]{24}".prop_map(Bson::String),
        "(tpl_|rn:|ext:)[a-z0-9]{1,10}".prop_map(Bson::String),
    ]
}

/// A Mongoose Mixed value as MongoDB stores it: scalars of every common BSON type, and small
/// documents and arrays of them (keys without `$` or `.`, as MongoDB requires).
fn mixed() -> impl Strategy<Value = Bson> {
    let scalar = prop_oneof![
        text(),
        any::<i32>().prop_map(Bson::Int32),
        any::<i64>().prop_map(Bson::Int64),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Bson::Double),
        boolean(),
        date(),
        oid(),
        money(),
        Just(Bson::Null),
    ];
    scalar.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Bson::Array),
            proptest::collection::vec(("[a-zA-Z][a-zA-Z0-9_]{0,7}", inner), 0..4)
                .prop_map(|kvs| Bson::Document(kvs.into_iter().collect::<Document>())),
        ]
    })
}

/// The document's own fields plus `_id`, the Mongoose timestamps and `__v`.
fn with_envelope(fields: Vec<(&'static str, FieldStrategy)>) -> BoxedStrategy<Document> {
    let mut all = vec![("_id", required(oid()))];
    all.extend(fields);
    all.extend([
        ("createdAt", nullable(date())),
        ("updatedAt", nullable(date())),
        ("__v", nullable(any::<i32>().prop_map(Bson::Int32))),
    ]);
    document(all)
}

fn payment_doc() -> BoxedStrategy<Document> {
    let quote = document(vec![
        ("quoteId", nullable(text())),
        ("baseCurrency", nullable(text())),
        ("quoteCurrency", nullable(text())),
        ("rate", nullable(money())),
        ("amountIn", nullable(money())),
        ("amountOut", nullable(money())),
        ("source", nullable(text())),
        ("expiresAt", nullable(date())),
        ("createdAt", nullable(date())),
    ]);
    let blockchain = document(vec![
        ("network", nullable(text())),
        ("txHash", nullable(text())),
        ("blockNumber", nullable(int8())),
        ("confirmations", defaulted(int4(0..=i32::MAX))),
        ("fromAddress", nullable(text())),
        ("toAddress", nullable(text())),
        ("tokenContract", nullable(text())),
        (
            "rawAmount",
            nullable("[1-9][0-9]{0,60}".prop_map(Bson::String)),
        ),
        ("detectedAt", nullable(date())),
    ]);
    let webhook_event = document(vec![
        ("event", nullable(text())),
        ("receivedAt", defaulted(date())),
        ("payload", nullable(mixed())),
    ]);
    let metadata = proptest::collection::vec(("[a-zA-Z][a-zA-Z0-9_]{0,7}", mixed()), 0..4)
        .prop_map(|kvs| Bson::Document(kvs.into_iter().collect()));
    with_envelope(vec![
        ("purchaseRequestId", required(mixed_id())),
        ("sellerOfferId", nullable(mixed_id())),
        ("sellerId", required(mixed_id())),
        ("buyerId", required(oid())),
        ("provider", required(label(enums::PaymentProvider::LABELS))),
        ("providerPaymentId", nullable(text())),
        ("requestId", nullable(text())),
        ("status", defaulted(label(enums::PaymentStatus::LABELS))),
        ("amount", required(money())),
        ("currency", defaulted(text())),
        ("feeAmount", defaulted(money())),
        ("amlFeeAmount", nullable(money())),
        ("netAmount", nullable(money())),
        ("exchangeRate", nullable(money())),
        ("chain", nullable(label(enums::Chain::LABELS))),
        ("destinationAddress", nullable(text())),
        ("txHash", nullable(text())),
        ("blockchain", nullable(blockchain.prop_map(Bson::Document))),
        ("quote", nullable(quote.prop_map(Bson::Document))),
        ("metadata", defaulted(metadata)),
        (
            "webhookEvents",
            nullable(
                proptest::collection::vec(webhook_event.prop_map(Bson::Document), 0..3)
                    .prop_map(Bson::Array),
            ),
        ),
        ("confirmedAt", nullable(date())),
        ("heldAt", nullable(date())),
        ("releasedAt", nullable(date())),
        ("refundedAt", nullable(date())),
        ("failedAt", nullable(date())),
        ("failureReason", nullable(text())),
        ("expiresAt", nullable(date())),
    ])
}

/// Array items with distinct `_id`s (each item's uuid comes from its ObjectId: two items with one
/// `_id` would be one row twice).
fn items(item: BoxedStrategy<Document>) -> impl Strategy<Value = Bson> {
    proptest::collection::vec((item, object_id()), 0..4).prop_map(|items| {
        let mut seen = std::collections::BTreeSet::new();
        Bson::Array(
            items
                .into_iter()
                .filter(|(_, id)| seen.insert(*id))
                .map(|(mut doc, id)| {
                    doc.insert("_id", id);
                    Bson::Document(doc)
                })
                .collect(),
        )
    })
}

fn user_doc() -> BoxedStrategy<Document> {
    let strings = || proptest::collection::vec(text(), 0..4).prop_map(Bson::Array);
    let passkey = document(vec![
        ("credentialId", required(text())),
        (
            "publicKey",
            required(
                proptest::collection::vec(any::<u8>(), 0..40).prop_map(|bytes| {
                    Bson::Binary(Binary {
                        subtype: BinarySubtype::Generic,
                        bytes,
                    })
                }),
            ),
        ),
        ("counter", defaulted(int8())),
        ("transports", defaulted(strings())),
        (
            "deviceType",
            nullable(label(enums::UserPasskeyDeviceType::LABELS)),
        ),
        ("backedUp", defaulted(boolean())),
        ("name", nullable(text())),
        ("createdAt", defaulted(date())),
        ("lastUsedAt", nullable(date())),
    ]);
    let refresh_token = document(vec![
        ("tokenHash", required(text())),
        ("expiresAt", required(date())),
        ("userAgent", nullable(text())),
        ("ip", nullable(text())),
        ("revokedAt", nullable(date())),
        ("createdAt", defaulted(date())),
    ]);
    let referral_stats = document(vec![
        ("totalReferrals", defaulted(int4(0..=i32::MAX))),
        ("activeReferrals", defaulted(int4(0..=i32::MAX))),
        ("pointsEarned", defaulted(int4(i32::MIN..=i32::MAX))),
        ("lastReferralAt", nullable(date())),
    ]);
    let seller_profile = document(vec![
        ("shopName", nullable(text())),
        ("verified", defaulted(boolean())),
        ("verifiedAt", nullable(date())),
        ("rating", defaulted((0.0..=5.0_f64).prop_map(Bson::Double))),
        ("ratingCount", defaulted(int4(0..=i32::MAX))),
        ("completedOrders", defaulted(int4(0..=i32::MAX))),
    ]);
    let notification_prefs = document(vec![
        ("email", defaulted(boolean())),
        ("telegram", defaulted(boolean())),
        ("push", defaulted(boolean())),
        ("marketing", defaulted(boolean())),
    ]);
    with_envelope(vec![
        ("email", nullable(text())),
        ("emailVerified", defaulted(boolean())),
        ("passwordHash", nullable(text())),
        ("username", nullable(text())),
        ("firstName", nullable(text())),
        ("lastName", nullable(text())),
        ("displayName", nullable(text())),
        ("phone", nullable(text())),
        ("phoneVerified", defaulted(boolean())),
        ("avatarUrl", nullable(text())),
        ("bio", nullable(text())),
        ("role", defaulted(label(enums::UserRole::LABELS))),
        (
            "roles",
            defaulted(
                proptest::collection::vec(label(enums::UserRole::LABELS), 0..4)
                    .prop_map(Bson::Array),
            ),
        ),
        ("isActive", defaulted(boolean())),
        ("isBanned", defaulted(boolean())),
        ("banReason", nullable(text())),
        ("locale", defaulted(text())),
        ("timezone", nullable(text())),
        ("country", nullable("[A-Z]{2}".prop_map(Bson::String))),
        ("telegramId", nullable(int8())),
        ("telegramUsername", nullable(text())),
        ("walletAddresses", defaulted(strings())),
        (
            "preferredCurrency",
            defaulted(label(enums::UserPreferredCurrency::LABELS)),
        ),
        ("points", defaulted(int4(0..=i32::MAX))),
        ("level", defaulted(int4(1..=i32::MAX))),
        ("referralCode", required(text())),
        ("referredBy", nullable(oid())),
        (
            "referralStats",
            nullable(referral_stats.prop_map(Bson::Document)),
        ),
        (
            "sellerProfile",
            nullable(seller_profile.prop_map(Bson::Document)),
        ),
        (
            "notificationPrefs",
            nullable(notification_prefs.prop_map(Bson::Document)),
        ),
        ("twoFactorEnabled", defaulted(boolean())),
        ("twoFactorSecret", nullable(text())),
        ("passkeys", defaulted(items(passkey))),
        ("refreshTokens", defaulted(items(refresh_token))),
        ("lastLoginAt", nullable(date())),
        ("lastLoginIp", nullable(text())),
        ("loginCount", defaulted(int4(0..=i32::MAX))),
        ("termsAcceptedAt", nullable(date())),
        ("deletedAt", nullable(date())),
    ])
}

fn category_doc() -> BoxedStrategy<Document> {
    let attribute = document(vec![
        ("key", nullable(text())),
        ("label", nullable(text())),
        (
            "type",
            defaulted(label(enums::CategoryAttributeType::LABELS)),
        ),
        (
            "options",
            defaulted(proptest::collection::vec(text(), 0..3).prop_map(Bson::Array)),
        ),
    ]);
    with_envelope(vec![
        ("name", required(text())),
        ("slug", required(text())),
        ("description", nullable(text())),
        ("parentId", nullable(oid())),
        ("icon", nullable(text())),
        ("sortOrder", defaulted(int4(i32::MIN..=i32::MAX))),
        ("isActive", defaulted(boolean())),
        (
            "attributes",
            defaulted(
                proptest::collection::vec(attribute.prop_map(Bson::Document), 0..3)
                    .prop_map(Bson::Array),
            ),
        ),
    ])
}

fn raw(doc: &Document) -> RawDocumentBuf {
    RawDocumentBuf::try_from(doc).expect("a generated document encodes")
}

/// `from_mongo`, `to_mongo`, and the same again on the output: both transforms accept, the rows
/// of the output are the rows of the input, and the output is a fixed point. Returns the output.
fn fixed_point<R: PartialEq + std::fmt::Debug, C, E: std::fmt::Display>(
    doc: &Document,
    from_mongo: impl Fn(&schemac_runtime::bson::RawDocument) -> Result<(R, C), E>,
    to_mongo: impl Fn(&R) -> Result<Document, E>,
) -> Result<Document, TestCaseError> {
    let (rows, _) = from_mongo(&raw(doc))
        .map_err(|e| TestCaseError::fail(format!("a valid document is rejected: {e}")))?;
    let out = to_mongo(&rows).map_err(|e| TestCaseError::fail(format!("to_mongo: {e}")))?;
    let (again, _) = from_mongo(&raw(&out))
        .map_err(|e| TestCaseError::fail(format!("the output is rejected: {e}\n{out}")))?;
    prop_assert_eq!(&again, &rows, "the output reads back as other rows");
    let twice = to_mongo(&again).map_err(|e| TestCaseError::fail(format!("to_mongo: {e}")))?;
    prop_assert_eq!(&twice, &out, "not a fixed point");
    Ok(out)
}

/// The numeric value of a Decimal128, from its string form.
fn numeric(value: &Bson) -> Result<Numeric, TestCaseError> {
    let Bson::Decimal128(d) = value else {
        return Err(TestCaseError::fail(format!("not a Decimal128: {value}")));
    };
    d.to_string()
        .parse()
        .map_err(|e| TestCaseError::fail(format!("{d} does not parse as a Numeric: {e}")))
}

/// The value at a dotted path (`quote.rate`), if any.
fn at<'d>(doc: &'d Document, path: &str) -> Option<&'d Bson> {
    let (head, rest) = match path.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (path, None),
    };
    match (doc.get(head)?, rest) {
        (value, None) => Some(value),
        (Bson::Document(sub), Some(rest)) => at(sub, rest),
        _ => None,
    }
}

/// Every money value of `doc` is in `out`, numerically equal; an absent or null one is absent
/// from `out` unless it has a default (`feeAmount`: 0).
fn money_survives(doc: &Document, out: &Document) -> Result<(), TestCaseError> {
    const MONEY: &[&str] = &[
        "amount",
        "feeAmount",
        "amlFeeAmount",
        "netAmount",
        "exchangeRate",
        "quote.rate",
        "quote.amountIn",
        "quote.amountOut",
    ];
    for path in MONEY {
        match (at(doc, path).filter(|v| **v != Bson::Null), at(out, path)) {
            (Some(before), Some(after)) => {
                prop_assert_eq!(
                    numeric(before)?,
                    numeric(after)?,
                    "{} changed: {} became {}",
                    path,
                    before,
                    after
                );
            }
            (None, Some(after)) if *path == "feeAmount" => {
                prop_assert_eq!(numeric(after)?, Numeric::zero(), "the default of feeAmount");
            }
            (None, None) => {}
            (before, after) => {
                return Err(TestCaseError::fail(format!(
                    "{path}: {before:?} became {after:?}"
                )));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn payments_round_trip_to_a_fixed_point_with_exact_money(doc in payment_doc()) {
        let out = fixed_point(
            &doc,
            |d| payment::from_mongo(d, Mode::Strict),
            payment::to_mongo,
        )?;
        money_survives(&doc, &out)?;
    }

    #[test]
    fn users_round_trip_to_a_fixed_point(doc in user_doc()) {
        let out = fixed_point(&doc, |d| user::from_mongo(d, Mode::Strict), user::to_mongo)?;
        for key in ["passkeys", "refreshTokens"] {
            let given = match doc.get(key) {
                Some(Bson::Array(items)) => items.len(),
                _ => 0,
            };
            let back = match out.get(key) {
                Some(Bson::Array(items)) => items.len(),
                other => return Err(TestCaseError::fail(format!("{key} came back as {other:?}"))),
            };
            prop_assert_eq!(given, back, "{} items", key);
        }
        if let Some(id) = doc.get("telegramId").filter(|v| **v != Bson::Null) {
            let expect = match id {
                Bson::Int64(v) => *v,
                Bson::Int32(v) => i64::from(*v),
                Bson::Double(v) => *v as i64,
                other => return Err(TestCaseError::fail(format!("generated {other}"))),
            };
            prop_assert_eq!(out.get("telegramId"), Some(&Bson::Int64(expect)));
        }
    }

    #[test]
    fn categories_round_trip_to_a_fixed_point(doc in category_doc()) {
        fixed_point(&doc, |d| category::from_mongo(d, Mode::Strict), category::to_mongo)?;
    }
}

/// The helpers the properties rest on see what they should: a money value that changes is
/// caught, and the dotted path reaches into the embedded object.
#[test]
fn the_money_check_catches_a_changed_value() {
    let d = |s: &str| Bson::Decimal128(s.parse().unwrap());
    let doc: Document = [
        ("amount".to_string(), d("1.50")),
        (
            "quote".to_string(),
            Bson::Document([("rate".to_string(), d("1E-18"))].into_iter().collect()),
        ),
    ]
    .into_iter()
    .collect();
    let mut same = doc.clone();
    same.insert("amount", d("1.5"));
    same.insert("feeAmount", d("0"));
    assert!(money_survives(&doc, &same).is_ok());
    let mut changed = same.clone();
    changed.insert(
        "quote",
        Bson::Document([("rate".to_string(), d("1E-17"))].into_iter().collect()),
    );
    assert!(money_survives(&doc, &changed).is_err());
    let mut lost = same.clone();
    lost.remove("quote");
    assert!(money_survives(&doc, &lost).is_err());
}
