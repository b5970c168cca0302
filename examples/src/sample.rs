//! A deterministic sample of the escrow marketplace as a mongodump directory: one
//! `<collection>.bson` file per collection of the catalogue, for demos and benchmarks of the
//! backfill.
//!
//! Every document is a pure function of its collection and index: ObjectIds are built from a
//! collection tag, a counter and a fixed time, dates from a fixed day, amounts from the index.
//! Two runs with the same arguments write the same bytes.
//!
//! References hold: every ObjectId a document names (users, categories, purchase requests,
//! offers, payments, chats, disputes, Trezor accounts, derived destinations, ledger entries...)
//! belongs to a good document of the dump. Polymorphic (Mixed) ids are sometimes ObjectIds and
//! sometimes external strings (`tpl_…`, `rn:…`, `ext:…`, `system:…`), which have no target.
//! The sample also holds the awkward shapes a loader has to order: a category whose parent comes
//! later in its file, users referred by other users, purchase requests naming their selected
//! offer (a cycle with `selleroffers`), chats and disputes naming each other, Trezor accounts
//! and derived destinations naming each other, and ledger entries reversing earlier ones.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use schemac_runtime::bson::oid::ObjectId;
use schemac_runtime::bson::spec::BinarySubtype;
use schemac_runtime::bson::{Binary, Bson, DateTime, Decimal128, Document, doc};

/// What [`write_dump`] wrote to one collection's file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleCollection {
    /// The Mongo collection (`<collection>.bson`).
    pub collection: &'static str,
    /// The documents the strict transform accepts, first in the file.
    pub good: usize,
    /// The invalid documents appended after them (0 or 1).
    pub bad: usize,
}

/// Writes a mongodump-layout directory: `<collection>.bson` (concatenated BSON documents) for
/// all 23 collections of the catalogue, `docs` good documents per collection (at least 1),
/// deterministic (no randomness, no clock: ObjectIds built from counters and a fixed time, fixed
/// dates). When `bad` is true, also appends one invalid document to a few collections (payments:
/// amount as a non-numeric string; users: missing a required field; categories: a parent id of
/// the wrong type; purchase requests and disputes: an unknown enum value), each with a distinct
/// ObjectId, so a backfill records them as gaps. Returns per collection the number of good and
/// bad documents written.
pub fn write_dump(dir: &Path, docs: usize, bad: bool) -> io::Result<Vec<SampleCollection>> {
    std::fs::create_dir_all(dir)?;
    let world = World { n: docs.max(1) };
    SPECS
        .iter()
        .map(|spec| write_collection(dir, &world, spec, bad))
        .collect()
}

/// Streams one collection's documents to its file.
fn write_collection(
    dir: &Path,
    world: &World,
    spec: &Spec,
    bad: bool,
) -> io::Result<SampleCollection> {
    let file = File::create(dir.join(format!("{}.bson", spec.collection)))?;
    let mut out = BufWriter::new(file);
    for i in 0..world.n {
        write_doc(&mut out, &(spec.good)(world, i))?;
    }
    let bad_doc = spec.bad.filter(|_| bad).map(|build| build(world));
    if let Some(doc) = &bad_doc {
        write_doc(&mut out, doc)?;
    }
    out.flush()?;
    Ok(SampleCollection {
        collection: spec.collection,
        good: world.n,
        bad: usize::from(bad_doc.is_some()),
    })
}

/// Appends one document's BSON.
fn write_doc(out: &mut impl Write, doc: &Document) -> io::Result<()> {
    doc.to_writer(out).map_err(io::Error::other)
}

/// One collection: its name and the builders of its good and (optional) bad documents.
struct Spec {
    collection: &'static str,
    good: fn(&World, usize) -> Document,
    bad: Option<fn(&World) -> Document>,
}

/// The collections in the catalogue's order.
const SPECS: [Spec; 23] = [
    spec("addresses", address, None),
    spec("blogposts", blog_post, None),
    spec("categories", category, Some(bad_category)),
    spec("chats", chat, None),
    spec("configsettings", config_setting, None),
    spec("configsettinghistories", config_setting_history, None),
    spec("deriveddestinations", derived_destination, None),
    spec("disputes", dispute, Some(bad_dispute)),
    spec("fundsledgerentries", ledger_entry, None),
    spec("levelconfigs", level_config, None),
    spec("notifications", notification, None),
    spec("payments", payment, Some(bad_payment)),
    spec("pointtransactions", point_transaction, None),
    spec(
        "purchaserequests",
        purchase_request,
        Some(bad_purchase_request),
    ),
    spec("requesttemplates", request_template, None),
    spec("reviews", review, None),
    spec("selleroffers", seller_offer, None),
    spec("shopsettings", shop_settings, None),
    spec("telegramlinks", telegram_link, None),
    spec("telegramsessions", telegram_session, None),
    spec("tempverifications", temp_verification, None),
    spec("trezoraccounts", trezor_account, None),
    spec("users", user, Some(bad_user)),
];

const fn spec(
    collection: &'static str,
    good: fn(&World, usize) -> Document,
    bad: Option<fn(&World) -> Document>,
) -> Spec {
    Spec {
        collection,
        good,
        bad,
    }
}

// ---------------------------------------------------------------------------------------------
// Ids, dates, amounts
// ---------------------------------------------------------------------------------------------

/// A collection's tag, byte 4 of its ObjectIds (its 1-based place in [`SPECS`]).
#[derive(Clone, Copy)]
struct Tag(u8);

const ADDRESSES: Tag = Tag(1);
const BLOG_POSTS: Tag = Tag(2);
const CATEGORIES: Tag = Tag(3);
const CHATS: Tag = Tag(4);
const CONFIG_SETTINGS: Tag = Tag(5);
const CONFIG_HISTORY: Tag = Tag(6);
const DESTINATIONS: Tag = Tag(7);
const DISPUTES: Tag = Tag(8);
const LEDGER: Tag = Tag(9);
const LEVELS: Tag = Tag(10);
const NOTIFICATIONS: Tag = Tag(11);
const PAYMENTS: Tag = Tag(12);
const POINTS: Tag = Tag(13);
const REQUESTS: Tag = Tag(14);
const TEMPLATES: Tag = Tag(15);
const REVIEWS: Tag = Tag(16);
const OFFERS: Tag = Tag(17);
const SHOPS: Tag = Tag(18);
const TG_LINKS: Tag = Tag(19);
const TG_SESSIONS: Tag = Tag(20);
const VERIFICATIONS: Tag = Tag(21);
const TREZOR: Tag = Tag(22);
const USERS: Tag = Tag(23);

/// Byte 5 of a document's ObjectId; embedded items use their own kinds, invalid documents
/// [`BAD`].
const DOC: u8 = 0;
const PASSKEY: u8 = 1;
const REFRESH_TOKEN: u8 = 2;
const MESSAGE: u8 = 3;
const SWEEP: u8 = 4;
const TREZOR_ADDRESS: u8 = 5;
const PREFERRED_SELLER: u8 = 6;
const DELIVERY_ATTEMPT: u8 = 7;
const VARIANT: u8 = 8;
const EVIDENCE: u8 = 9;
const DISPUTE_NOTE: u8 = 10;
const BAD: u8 = 0xbd;

/// 2024-03-01T00:00:00Z: document `i` of every collection is created `i` minutes later.
const BASE_SECS: u32 = 1_709_251_200;
const BASE_MILLIS: i64 = BASE_SECS as i64 * 1000;
/// Creation minutes wrap after about a year, so huge samples keep plausible dates.
const MINUTES_WRAP: usize = 500_000;

/// The minute (after the base) document `i` is created at.
fn minute(i: usize) -> u32 {
    u32::try_from(i % MINUTES_WRAP).expect("below MINUTES_WRAP")
}

/// An ObjectId: the creation second, the collection tag, a kind, then a 48-bit counter.
fn object_id(tag: Tag, kind: u8, counter: u64, minute: u32) -> ObjectId {
    let mut bytes = [0_u8; 12];
    bytes[..4].copy_from_slice(&(BASE_SECS + minute * 60).to_be_bytes());
    bytes[4] = tag.0;
    bytes[5] = kind;
    bytes[6..].copy_from_slice(&counter.to_be_bytes()[2..]);
    ObjectId::from_bytes(bytes)
}

/// The `_id` of document `i` of a collection.
fn id(tag: Tag, i: usize) -> ObjectId {
    object_id(tag, DOC, i as u64, minute(i))
}

/// The `_id` of embedded item `k` (below 16) of kind `kind` in document `i`.
fn item_id(tag: Tag, kind: u8, i: usize, k: usize) -> ObjectId {
    object_id(tag, kind, ((i as u64) << 4) | (k as u64 & 0xf), minute(i))
}

/// The `_id` of a collection's invalid document.
fn bad_id(tag: Tag) -> ObjectId {
    object_id(tag, BAD, 0, 0)
}

/// A date `offset` minutes after document `i`'s creation.
fn at(i: usize, offset: i64) -> DateTime {
    DateTime::from_millis(BASE_MILLIS + (i64::from(minute(i)) + offset) * 60_000)
}

/// A decimal from its text.
fn dec(text: &str) -> Decimal128 {
    text.parse()
        .expect("sample amounts are plain decimal literals")
}

/// An amount in cents as a two-decimal Decimal128 (`"12.50"`).
fn money(cents: u64) -> Decimal128 {
    dec(&format!("{}.{:02}", cents / 100, cents % 100))
}

/// The price of document `i`, in cents: 20.00 to 2,019.99.
fn price_cents(i: usize) -> u64 {
    2_000 + (i as u64 * 3_701) % 200_000
}

/// An int4 value; samples stay far below its range.
fn int(v: usize) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

/// A long value.
fn long(v: usize) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A pseudo-random but deterministic 64-bit value, distinct for distinct `(salt, i)` (salts below
/// 2^16 and `i` below 2^48 do not overlap, and the odd multiplier makes the map a bijection).
fn scramble(salt: u64, i: usize) -> u64 {
    ((salt << 48) ^ i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// A 64-hex-digit hash (transaction hashes, token hashes).
fn hash_hex(salt: u64, i: usize) -> String {
    let a = scramble(salt, i);
    format!(
        "{a:016x}{:016x}{:016x}{:016x}",
        a.rotate_left(17) ^ 0x5bd1_e995,
        a.rotate_left(31),
        !a
    )
}

/// An address on `chain`, distinct for distinct `(salt, i)`.
fn chain_address(chain: &str, salt: u64, i: usize) -> String {
    let seed = scramble(salt, i);
    match chain {
        "tron" => format!("T{:017X}{seed:016X}", salt),
        "bitcoin" => format!("bc1q{:022x}{seed:016x}", salt),
        _ => format!("0x{:024x}{seed:016x}", salt),
    }
}

/// A 0x transaction hash.
fn tx_hash(salt: u64, i: usize) -> String {
    format!("0x{}", hash_hex(salt, i))
}

/// Picks from a list by index.
fn pick<T: Copy>(list: &[T], i: usize) -> T {
    list[i % list.len()]
}

/// Mongoose timestamps and version key of document `i`.
fn stamp(doc: &mut Document, i: usize) {
    doc.insert("createdAt", at(i, 0));
    doc.insert("updatedAt", at(i, 95));
    doc.insert("__v", int(i % 4));
}

// ---------------------------------------------------------------------------------------------
// Who is who
// ---------------------------------------------------------------------------------------------

/// The size of the sample; every collection has `n` good documents.
struct World {
    n: usize,
}

impl World {
    /// The user who buys in purchase request `i` (even users).
    fn buyer(&self, i: usize) -> usize {
        (2 * i) % self.n
    }

    /// The user who sells in purchase request `i` (odd users).
    fn seller(&self, i: usize) -> usize {
        (2 * i + 1) % self.n
    }

    /// The user who referred user `u`, always an earlier one.
    fn referrer(u: usize) -> Option<usize> {
        (u > 0 && !u.is_multiple_of(3)).then_some(u / 3)
    }

    /// The parent of category `c`: category 0's parent is category 1, later in the file.
    fn parent(&self, c: usize) -> Option<usize> {
        match (c, c % 4) {
            (0, _) => (self.n > 1).then_some(1),
            (_, 1) => None,
            (_, 0) => Some(c - 3),
            (_, r) => Some(c - r + 1),
        }
    }

    /// The Trezor account (and derivation index) that derived destination `d` comes from.
    fn trezor_of(d: usize) -> (usize, usize) {
        (d / 2, d % 2)
    }
}

/// Whether document `i` is "the interesting one" every `every` documents.
fn every(i: usize, every: usize, offset: usize) -> bool {
    i % every == offset
}

// ---------------------------------------------------------------------------------------------
// Sample vocabularies
// ---------------------------------------------------------------------------------------------

const PEOPLE: [(&str, &str, &str, &str, &str); 12] = [
    // handle, first name, last name, country, locale
    ("amara", "Amara", "Okafor", "NG", "en-NG"),
    ("zoe", "Zoë", "Müller", "JP", "ja-JP"),
    ("kenji", "健二", "渡辺", "JP", "ja"),
    ("maryam", "مريم", "الحسيني", "AE", "ar-AE"),
    ("yaroslav", "Ярослав", "Ковальчук", "UA", "uk"),
    ("lucia", "Lucía", "García", "ES", "es-ES"),
    ("oren", "אורן", "כהן", "IL", "he"),
    ("priya", "Priya", "Sharma", "IN", "hi-IN"),
    ("tobias", "Tobias", "Berg", "DE", "de-DE"),
    ("mei", "Mei", "Chen", "TW", "zh-TW"),
    ("kwame", "Kwame", "Mensah", "GH", "en-GH"),
    ("ingrid", "Ingrid", "Larsen", "NO", "nb-NO"),
];

const CITIES: [(&str, &str, f64, f64); 8] = [
    // city, country, longitude, latitude
    ("Lagos", "NG", 3.4219, 6.4281),
    ("Tokyo", "JP", 139.6917, 35.6895),
    ("Dubai", "AE", 55.2708, 25.2048),
    ("Kyiv", "UA", 30.5234, 50.4501),
    ("Madrid", "ES", -3.7038, 40.4168),
    ("Berlin", "DE", 13.405, 52.52),
    ("Taipei", "TW", 121.5654, 25.033),
    ("Oslo", "NO", 10.7522, 59.9139),
];

const CATEGORY_NAMES: [(&str, &str, &str); 12] = [
    ("Electronics", "electronics", "💻"),
    ("Phones & Tablets", "phones-tablets", "📱"),
    ("Books", "books", "📚"),
    ("Cameras", "cameras", "📷"),
    ("Keyboards", "keyboards", "⌨️"),
    ("Home & Garden", "home-garden", "🏡"),
    ("Fashion", "fashion", "👗"),
    ("Design Services", "design-services", "🎨"),
    ("Translation", "translation", "🌐"),
    ("Collectibles", "collectibles", "🏺"),
    ("Sports", "sports", "⚽"),
    ("家電・カメラ", "kaden-kamera", "🔌"),
];

const PRODUCTS: [(&str, &str, &str); 8] = [
    // title, brand, model
    (
        "Mechanical keyboard, 75% layout, hot-swap ⌨️",
        "Keychron",
        "Q3 Pro",
    ),
    ("Mirrorless camera body", "Fujifilm", "X-T5"),
    ("Used calculus textbook", "Pearson", "Thomas 14e"),
    ("Logo design — تصميم شعار", "Studio", "Brand kit"),
    ("Noise-cancelling headphones", "Sony", "WH-1000XM5"),
    ("Vintage film camera 📷", "Canon", "AE-1"),
    ("Phone screen repair", "iFixit", "Service"),
    ("Japanese → English translation", "—", "10 pages"),
];

const REQUEST_STATUSES: [&str; 13] = [
    "open",
    "offers_received",
    "offer_selected",
    "awaiting_payment",
    "paid",
    "in_progress",
    "shipped",
    "delivered",
    "completed",
    "disputed",
    "cancelled",
    "draft",
    "expired",
];

const CHAINS: [&str; 5] = ["ethereum", "tron", "bsc", "polygon", "bitcoin"];

const PAYMENT_STATUSES: [&str; 9] = [
    "released",
    "held",
    "confirmed",
    "pending",
    "refunded",
    "created",
    "confirming",
    "failed",
    "expired",
];

const PAYMENT_PROVIDERS: [&str; 4] = [
    "request_network",
    "amn_scanner",
    "direct_transfer",
    "manual",
];

/// Ledger entries: (entry type, account type, direction).
const LEDGER_KINDS: [(&str, &str, &str); 6] = [
    ("deposit", "buyer", "credit"),
    ("hold", "escrow", "debit"),
    ("fee", "fee", "credit"),
    ("release", "seller", "credit"),
    ("refund", "buyer", "credit"),
    ("aml_fee", "platform", "debit"),
];

const DISPUTE_STATUSES: [&str; 6] = [
    "open",
    "under_review",
    "resolved",
    "escalated",
    "awaiting_seller",
    "closed",
];

const DISPUTE_REASONS: [&str; 6] = [
    "not_received",
    "not_as_described",
    "damaged",
    "late",
    "fraud",
    "other",
];

const DESTINATION_STATUSES: [&str; 5] = ["allocated", "funded", "swept", "released", "abandoned"];

const NOTIFICATION_TYPES: [&str; 8] = [
    "offer_received",
    "offer_accepted",
    "payment_confirmed",
    "funds_released",
    "dispute_opened",
    "message",
    "review_received",
    "system",
];

const VERIFICATION_PURPOSES: [&str; 5] = [
    "email_verify",
    "email_change",
    "password_reset",
    "telegram_link",
    "login_2fa",
];
const CURRENCIES: [&str; 4] = ["USDT", "USDC", "ETH", "BTC"];

// ---------------------------------------------------------------------------------------------
// users
// ---------------------------------------------------------------------------------------------

/// The role of user `u`: user 0 runs the platform, odd users sell, even users buy.
fn role(u: usize) -> &'static str {
    match u {
        0 => "admin",
        _ if u % 2 == 1 => "seller",
        _ => "buyer",
    }
}

/// User `u`'s email (unique).
fn email(u: usize) -> String {
    format!("{}.{u}@example.com", pick(&PEOPLE, u).0)
}

/// User `u`'s Telegram id (unique, beyond 2^31).
fn telegram_id(u: usize) -> i64 {
    7_000_000_000 + long(u)
}

fn user(_: &World, u: usize) -> Document {
    let (handle, first, last, country, locale) = pick(&PEOPLE, u);
    let mut d = doc! {
        "_id": id(USERS, u),
        "email": email(u),
        "emailVerified": u % 3 != 2,
        "passwordHash": format!("$argon2id$v=19$m=65536,t=3,p=4${}", &hash_hex(1, u)[..43]),
        "username": format!("{handle}_{u}"),
        "firstName": first,
        "lastName": last,
        "displayName": format!("{first} {}.", last.chars().next().unwrap_or('X')),
        "role": role(u),
        "roles": user_roles(u),
        "isActive": true,
        "isBanned": false,
        "locale": locale,
        "country": country,
        "telegramId": telegram_id(u),
        "telegramUsername": format!("{handle}_tg{u}"),
        "walletAddresses": [chain_address("ethereum", 0x0ae, u)],
        "preferredCurrency": pick(&["USDT", "USDC", "ETH", "BTC", "TRY", "USD"], u),
        "points": int((u * 137) % 5_000),
        "level": int(1 + u % 4),
        "referralCode": format!("REF-{u:06}"),
        "referralStats": {
            "totalReferrals": int(2),
            "activeReferrals": int(1),
            "pointsEarned": int(100),
        },
        "notificationPrefs": {
            "email": true,
            "telegram": u.is_multiple_of(2),
            "push": false,
            "marketing": false,
        },
        "twoFactorEnabled": u.is_multiple_of(5),
        "passkeys": passkeys(u),
        "refreshTokens": [refresh_token(u)],
        "lastLoginAt": at(u, 60 * 24 * 3),
        "lastLoginIp": format!("203.0.113.{}", u % 250 + 1),
        "loginCount": int(u % 97 + 1),
        "termsAcceptedAt": at(u, 1),
    };
    if role(u) == "seller" {
        d.insert("sellerProfile", seller_profile(u));
    }
    if let Some(r) = World::referrer(u) {
        d.insert("referredBy", id(USERS, r));
    }
    stamp(&mut d, u);
    d
}

fn user_roles(u: usize) -> Bson {
    match role(u) {
        "admin" => Bson::from(vec!["admin", "support", "buyer"]),
        "seller" => Bson::from(vec!["buyer", "seller"]),
        _ => Bson::from(vec!["buyer"]),
    }
}

fn seller_profile(u: usize) -> Document {
    doc! {
        "shopName": format!("{} Shop {u}", pick(&PEOPLE, u).1),
        "verified": u % 3 == 1,
        "verifiedAt": at(u, 600),
        "rating": 3.5 + (u % 4) as f64 * 0.5,
        "ratingCount": int(u % 40),
        "completedOrders": int(u % 35),
    }
}

/// Passkeys of every fourth user, with credential ids unique across users.
fn passkeys(u: usize) -> Vec<Document> {
    if u % 4 != 1 {
        return Vec::new();
    }
    let key = scramble(2, u).to_be_bytes().repeat(4);
    vec![doc! {
        "_id": item_id(USERS, PASSKEY, u, 0),
        "credentialId": format!("cred-{u:06}-{}", &hash_hex(3, u)[..16]),
        "publicKey": Binary { subtype: BinarySubtype::Generic, bytes: key },
        "counter": i64::from(u32::MAX) - long(u % 1000),
        "transports": ["internal", "hybrid"],
        "deviceType": "multiDevice",
        "backedUp": true,
        "name": "Laptop — Touch ID",
        "createdAt": at(u, 5),
        "lastUsedAt": at(u, 60 * 24),
    }]
}

fn refresh_token(u: usize) -> Document {
    doc! {
        "_id": item_id(USERS, REFRESH_TOKEN, u, 0),
        "tokenHash": hash_hex(4, u),
        "expiresAt": at(u, 60 * 24 * 30),
        "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/124.0",
        "ip": "2001:db8::7",
        "createdAt": at(u, 10),
    }
}

/// A user without the required `referralCode`.
fn bad_user(_: &World) -> Document {
    doc! {
        "_id": bad_id(USERS),
        "email": "no.referral.code@example.com",
        "username": "no_referral_code",
        "role": "buyer",
        "createdAt": at(0, 0),
        "updatedAt": at(0, 0),
    }
}

// ---------------------------------------------------------------------------------------------
// categories
// ---------------------------------------------------------------------------------------------

/// Every ninth category is retired: inactive, under a (possibly repeated) legacy name.
fn category_active(c: usize) -> bool {
    !every(c, 9, 8)
}

/// Category `c`'s name: unique among active categories (case-insensitively, trimmed).
fn category_name(c: usize) -> String {
    let base = pick(&CATEGORY_NAMES, c).0;
    match (category_active(c), c / CATEGORY_NAMES.len()) {
        (false, _) => format!("{base} (legacy)"),
        (true, 0) => base.to_string(),
        (true, round) => format!("{base} {}", round + 1),
    }
}

fn category(w: &World, c: usize) -> Document {
    let (_, slug, icon) = pick(&CATEGORY_NAMES, c);
    let mut d = doc! {
        "_id": id(CATEGORIES, c),
        "name": category_name(c),
        "slug": format!("{slug}-{c}"),
        "description": format!("{} and related listings", pick(&CATEGORY_NAMES, c).0),
        "icon": icon,
        "sortOrder": int(c % 10),
        "isActive": category_active(c),
        "attributes": [
            { "key": "brand", "label": "Brand", "type": "text", "options": [] },
            {
                "key": "condition",
                "label": "Condition",
                "type": "select",
                "options": ["new", "used"],
            },
        ],
    };
    if let Some(p) = w.parent(c) {
        d.insert("parentId", id(CATEGORIES, p));
    }
    stamp(&mut d, c);
    d
}

/// A category whose parent id is a string, not an ObjectId.
fn bad_category(_: &World) -> Document {
    doc! {
        "_id": bad_id(CATEGORIES),
        "name": "Orphans",
        "slug": "orphans-bad",
        "parentId": "electronics",
        "createdAt": at(0, 0),
        "updatedAt": at(0, 0),
    }
}

// ---------------------------------------------------------------------------------------------
// request templates, purchase requests, seller offers
// ---------------------------------------------------------------------------------------------

fn request_template(w: &World, t: usize) -> Document {
    let (title, brand, model) = pick(&PRODUCTS, t);
    let seller = id(USERS, w.seller(t));
    // Legacy documents hold some ids as 24-hex strings.
    let seller = if every(t, 4, 3) {
        Bson::String(seller.to_hex())
    } else {
        Bson::ObjectId(seller)
    };
    let mut d = doc! {
        "_id": id(TEMPLATES, t),
        "sellerId": seller,
        "categoryId": id(CATEGORIES, t),
        "title": format!("{title} (template {t})"),
        "description": format!("{brand} {model}, built to order"),
        "type": if t % 4 == 3 { "service" } else { "product" },
        "basePrice": money(price_cents(t)),
        "currency": pick(&CURRENCIES, t),
        "maxUsage": int(100),
        "usageCount": int(t % 100),
        "isActive": true,
        "images": [format!("https://cdn.example.com/rt/{t}/1.jpg")],
        "tags": [brand.to_lowercase(), "template"],
        "specifications": [{ "key": "model", "value": model }],
        "variants": [
            {
                "_id": item_id(TEMPLATES, VARIANT, t, 0),
                "name": "Standard",
                "priceDelta": dec("0"),
                "stock": int(5),
            },
            {
                "_id": item_id(TEMPLATES, VARIANT, t, 1),
                "name": "Deluxe",
                "sku": format!("SKU-{t}-DLX"),
                "priceDelta": dec("25.00"),
            },
        ],
        "options": [{ "name": "Colour", "values": ["Black", "White"], "required": false }],
        "faqs": [{ "question": "Ships abroad?", "answer": "Yes, worldwide 🌍" }],
        "deliveryOptions": [{ "method": "shipping", "cost": money(1250), "estimatedDays": int(3) }],
        "customFields": [
            { "label": "Engraving", "fieldType": "text", "required": false, "choices": [] },
        ],
    };
    stamp(&mut d, t);
    d
}

/// Purchase request `r`'s status.
fn request_status(r: usize) -> &'static str {
    pick(&REQUEST_STATUSES, r)
}

/// Whether purchase request `r` has selected its offer (offer `r`).
fn request_selected(r: usize) -> bool {
    matches!(
        request_status(r),
        "offer_selected"
            | "awaiting_payment"
            | "paid"
            | "in_progress"
            | "shipped"
            | "delivered"
            | "completed"
            | "disputed"
    )
}

fn purchase_request(w: &World, r: usize) -> Document {
    let (title, brand, model) = pick(&PRODUCTS, r);
    let status = request_status(r);
    let budget = price_cents(r) + 1_000;
    let category = id(CATEGORIES, r);
    let category = if every(r, 7, 6) {
        Bson::String(category.to_hex())
    } else {
        Bson::ObjectId(category)
    };
    let mut d = doc! {
        "_id": id(REQUESTS, r),
        "title": format!("{title} #{r}"),
        "description": format!("Looking for a {brand} {model}.\nAny region is fine — どちらでも OK."),
        "buyerId": id(USERS, w.buyer(r)),
        "categoryId": category,
        "type": if r % 8 == 3 || r % 8 == 7 { "service" } else { "product" },
        "status": status,
        "quantity": int(1 + r % 3),
        "budget": money(budget),
        "budgetMin": money(budget / 2),
        "budgetMax": money(budget * 2),
        "budgetCurrency": pick(&["USDT", "USDC", "ETH", "BTC", "BNB", "TRX"], r),
        "isNegotiable": r.is_multiple_of(2),
        "condition": pick(&["new", "used", "refurbished", "any"], r),
        "brand": brand,
        "productModel": model,
        "images": [format!("https://cdn.example.com/pr/{r}/ref-1.jpg")],
        "tags": [brand.to_lowercase(), "escrow"],
        "urgency": pick(&["low", "normal", "high"], r),
        "visibility": pick(&["public", "public", "private", "invite_only"], r),
        "offerCount": int(1),
        "viewCount": int(r * 7 % 1000),
        "deadline": at(r, 60 * 24 * 30),
        "autoReleaseDays": int(14),
        "source": pick(&["web", "telegram", "api"], r),
        "locale": pick(&PEOPLE, w.buyer(r)).4,
        "deliveryInfo": {
            "method": "shipping",
            "preferredCarrier": "DHL",
            "shippingCost": money(1250),
            "estimatedDays": int(3),
        },
        "deliveryAddress": delivery_address(r),
        "specifications": [
            { "key": "brand", "value": brand },
            { "key": "model", "value": model, "unit": "" },
        ],
        "preferredSellers": [{
            "_id": item_id(REQUESTS, PREFERRED_SELLER, r, 0),
            "sellerId": id(USERS, w.seller(r)),
            "addedAt": at(r, 2),
            "note": "Good reviews",
        }],
        "statusHistory": status_history(w, r),
    };
    if every(r, 3, 0) {
        d.insert("templateId", id(TEMPLATES, r));
    }
    if status != "draft" {
        d.insert("publishedAt", at(r, 1));
    }
    if request_selected(r) {
        d.insert("selectedOfferId", id(OFFERS, r));
        d.insert("selectedSellerId", id(USERS, w.seller(r)));
    }
    add_request_progress(&mut d, r, status);
    stamp(&mut d, r);
    d
}

fn delivery_address(r: usize) -> Document {
    let (city, country, _, _) = pick(&CITIES, r);
    doc! {
        "fullName": format!("{} {}", pick(&PEOPLE, r).1, pick(&PEOPLE, r).2),
        "phone": format!("+1 555 01{:02}", r % 100),
        "line1": format!("{} Market Street", r % 300 + 1),
        "city": city,
        "postalCode": format!("{:05}", 10_000 + r % 90_000),
        "country": country,
    }
}

/// `[{status: open}, {status: <current>}]`, as the pre-save hook appended them.
fn status_history(w: &World, r: usize) -> Vec<Document> {
    let status = request_status(r);
    let mut history = Vec::new();
    if status != "draft" {
        history.push(doc! { "status": "open", "at": at(r, 1), "by": id(USERS, w.buyer(r)) });
    }
    if status != "draft" && status != "open" {
        history.push(doc! { "status": status, "at": at(r, 60 * 24) });
    }
    history
}

/// Shipping, delivery and completion stamps of a request that got that far.
fn add_request_progress(d: &mut Document, r: usize, status: &str) {
    let shipped = matches!(status, "shipped" | "delivered" | "completed" | "disputed");
    if shipped {
        d.insert(
            "sellerDeliveryInfo",
            doc! {
                "carrier": "DHL Express",
                "trackingNumber": format!("JD{:018}", r),
                "trackingUrl": format!("https://track.example.com/JD{:018}", r),
                "shippedAt": at(r, 60 * 24 * 2),
                "estimatedDeliveryAt": at(r, 60 * 24 * 5),
            },
        );
        d.insert(
            "deliveryAttempts",
            vec![doc! {
                "_id": item_id(REQUESTS, DELIVERY_ATTEMPT, r, 0),
                "attemptNo": int(1),
                "carrier": "DHL Express",
                "trackingNumber": format!("JD{:018}", r),
                "status": if status == "shipped" { "in_transit" } else { "delivered" },
                "attemptedAt": at(r, 60 * 24 * 4),
                "proofUrls": [format!("https://cdn.example.com/pod/{r}.jpg")],
            }],
        );
    }
    match status {
        "completed" => {
            d.insert("completedAt", at(r, 60 * 24 * 6));
            d.insert("escrowReleaseAt", at(r, 60 * 24 * 20));
        }
        "cancelled" => {
            d.insert("cancelledAt", at(r, 60 * 24));
            d.insert("cancellationReason", "Changed plans / 计划有变 🙏");
        }
        _ => {}
    }
}

/// A purchase request whose status is not in the enum.
fn bad_purchase_request(w: &World) -> Document {
    doc! {
        "_id": bad_id(REQUESTS),
        "title": "Teleporter",
        "description": "Status from a future release.",
        "buyerId": id(USERS, w.buyer(0)),
        "categoryId": id(CATEGORIES, 0),
        "status": "teleported",
        "budget": money(100),
        "createdAt": at(0, 0),
        "updatedAt": at(0, 0),
    }
}

fn seller_offer(w: &World, o: usize) -> Document {
    let request = id(REQUESTS, o);
    let request = if every(o, 5, 2) {
        Bson::String(request.to_hex())
    } else {
        Bson::ObjectId(request)
    };
    let status = if request_selected(o) {
        "accepted"
    } else {
        pick(&["pending", "rejected", "withdrawn", "expired"], o)
    };
    let mut d = doc! {
        "_id": id(OFFERS, o),
        "purchaseRequestId": request,
        "sellerId": id(USERS, w.seller(o)),
        "price": money(price_cents(o)),
        "offerCurrency": pick(&["USDT", "USDC", "ETH", "BTC", "TRY"], o),
        "shippingCost": money(1250),
        "message": "New in box 📦 — ships in 3 days.",
        "status": status,
        "validUntil": at(o, 60 * 24 * 7),
        "deliveryTerms": {
            "method": "shipping",
            "estimatedDays": int(3),
            "carrier": "Yamato",
            "shipsFrom": pick(&CITIES, o).0,
        },
        "warranty": {
            "months": int(12),
            "provider": "manufacturer",
            "terms": "1 year, international",
        },
        "images": [format!("https://cdn.example.com/so/{o}/a.jpg")],
    };
    if status == "accepted" {
        d.insert("acceptedAt", at(o, 60 * 12));
    }
    if status == "rejected" {
        d.insert("rejectedAt", at(o, 60 * 12));
        d.insert("rejectionReason", "Budget too low");
    }
    stamp(&mut d, o);
    d
}

// ---------------------------------------------------------------------------------------------
// payments, ledger
// ---------------------------------------------------------------------------------------------

/// Payment `p`'s purchase request: an ObjectId, or every fifth an external template id.
fn payment_request_ref(p: usize) -> Bson {
    if every(p, 5, 4) {
        Bson::String(format!("tpl_{}", &hash_hex(5, p)[..8]))
    } else {
        Bson::ObjectId(id(REQUESTS, p))
    }
}

fn payment(w: &World, p: usize) -> Document {
    let amount = price_cents(p);
    let fee = amount / 100;
    let status = pick(&PAYMENT_STATUSES, p);
    let chain = pick(&CHAINS, p);
    let provider = pick(&PAYMENT_PROVIDERS, p);
    let seller = if every(p, 6, 5) {
        Bson::String(format!("ext:seller:{p}"))
    } else {
        Bson::ObjectId(id(USERS, w.seller(p)))
    };
    let mut d = doc! {
        "_id": id(PAYMENTS, p),
        "purchaseRequestId": payment_request_ref(p),
        "sellerId": seller,
        "buyerId": id(USERS, w.buyer(p)),
        "provider": provider,
        "providerPaymentId": format!("{}-{p:06}", &provider[..2]),
        "status": status,
        "amount": money(amount),
        "currency": pick(&CURRENCIES, p),
        "feeAmount": money(fee),
        "netAmount": money(amount - fee),
        "exchangeRate": dec("1.000123456789012345"),
        "chain": chain,
        "destinationAddress": chain_address(chain, 7, p / 2),
        "metadata": {
            "checkoutSession": format!("cs_{}", &hash_hex(6, p)[..12]),
            "utm": { "source": "telegram" },
        },
        "webhookEvents": [{
            "event": "payment.created",
            "receivedAt": at(p, 1),
            "payload": { "status": "created" },
        }],
        "expiresAt": at(p, 60),
    };
    if let Some(offer) = payment_offer_ref(p) {
        d.insert("sellerOfferId", offer);
    }
    if provider == "request_network" {
        d.insert("requestId", hash_hex(8, p));
    }
    if !matches!(status, "created" | "pending" | "expired") {
        add_payment_onchain(&mut d, p, chain, amount);
    }
    add_payment_stamps(&mut d, p, status);
    stamp(&mut d, p);
    d
}

/// The offer a payment settles: an ObjectId, an external template id, or none.
fn payment_offer_ref(p: usize) -> Option<Bson> {
    match p % 7 {
        6 => None,
        _ if every(p, 5, 4) => Some(Bson::String(format!("tpl_offer_{p}"))),
        _ => Some(Bson::ObjectId(id(OFFERS, p))),
    }
}

/// The transaction that funded the payment, and the quote it was priced with.
fn add_payment_onchain(d: &mut Document, p: usize, chain: &str, amount: u64) {
    let tx = tx_hash(9, p);
    d.insert("txHash", tx.clone());
    d.insert(
        "blockchain",
        doc! {
            "network": chain,
            "txHash": tx,
            "blockNumber": 19_876_543_i64 + long(p),
            "confirmations": int(12),
            "fromAddress": chain_address(chain, 10, p),
            "toAddress": chain_address(chain, 7, p / 2),
            "rawAmount": (amount * 10_000).to_string(),
            "detectedAt": at(p, 3),
        },
    );
    d.insert(
        "quote",
        doc! {
            "quoteId": format!("q_{}", &hash_hex(11, p)[..6]),
            "baseCurrency": "USD",
            "quoteCurrency": "USDT",
            "rate": dec("0.999876543210987654"),
            "amountIn": money(amount),
            "amountOut": money(amount),
            "source": "aggregator-v2",
            "expiresAt": at(p, 15),
            "createdAt": at(p, 0),
        },
    );
}

fn add_payment_stamps(d: &mut Document, p: usize, status: &str) {
    let stamps: &[(&str, i64)] = match status {
        "confirmed" | "confirming" => &[("confirmedAt", 5)],
        "held" => &[("confirmedAt", 5), ("heldAt", 6)],
        "released" => &[
            ("confirmedAt", 5),
            ("heldAt", 6),
            ("releasedAt", 60 * 24 * 7),
        ],
        "refunded" => &[("confirmedAt", 5), ("refundedAt", 60 * 24 * 3)],
        "failed" => &[("failedAt", 10)],
        _ => &[],
    };
    for (key, offset) in stamps {
        d.insert(*key, at(p, *offset));
    }
    if status == "failed" {
        d.insert("failureReason", "Underpaid by 0.01");
    }
}

/// A payment whose amount is not a number.
fn bad_payment(w: &World) -> Document {
    doc! {
        "_id": bad_id(PAYMENTS),
        "purchaseRequestId": id(REQUESTS, 0),
        "sellerId": id(USERS, w.seller(0)),
        "buyerId": id(USERS, w.buyer(0)),
        "provider": "manual",
        "amount": "twelve fifty",
        "currency": "USDT",
        "createdAt": at(0, 0),
        "updatedAt": at(0, 0),
    }
}

/// Ledger entry `e`: a hold or release of payment `e`; entries `e % 10 == 1` reverse entry
/// `e - 1`.
fn ledger_entry(w: &World, e: usize) -> Document {
    let reversal = every(e, 10, 1);
    let (entry_type, account_type, direction) = if reversal {
        ("reversal", "escrow", "credit")
    } else {
        pick(&LEDGER_KINDS, e)
    };
    let account = if account_type == "seller" {
        w.seller(e)
    } else {
        w.buyer(e)
    };
    let mut d = doc! {
        "_id": id(LEDGER, e),
        "purchaseRequestId": payment_request_ref(e),
        "paymentId": ledger_payment_ref(e),
        "createdBy": ledger_creator(e),
        "accountType": account_type,
        "accountId": id(USERS, account),
        "entryType": entry_type,
        "direction": direction,
        "amount": money(price_cents(e)),
        "currency": pick(&CURRENCIES, e),
        "onchainAmount": (price_cents(e) * 10_000).to_string(),
        "balanceAfter": money(price_cents(e) * 2),
        "idempotencyKey": format!("{entry_type}:pay{e}:{e}"),
        "description": format!("{entry_type} for payment {e}"),
        "metadata": { "job": "escrow", "attempt": int(1) },
        "occurredAt": at(e, 2),
        "createdAt": at(e, 2),
        "__v": int(0),
    };
    if reversal {
        d.insert("reversesEntryId", id(LEDGER, e - 1));
    }
    d
}

fn ledger_payment_ref(e: usize) -> Bson {
    if every(e, 4, 3) {
        Bson::String(format!("rn:{}", &hash_hex(12, e)[..32]))
    } else {
        Bson::ObjectId(id(PAYMENTS, e))
    }
}

fn ledger_creator(e: usize) -> Bson {
    if e % 3 == 2 {
        Bson::String("system:auto-release".into())
    } else {
        Bson::ObjectId(id(USERS, 0))
    }
}

// ---------------------------------------------------------------------------------------------
// disputes, chats
// ---------------------------------------------------------------------------------------------

/// Whether chat `c` is the conversation of dispute `c` (and names it).
fn chat_is_dispute(c: usize) -> bool {
    every(c, 3, 0)
}

fn dispute(w: &World, i: usize) -> Document {
    let status = pick(&DISPUTE_STATUSES, i);
    let (buyer, seller) = (id(USERS, w.buyer(i)), id(USERS, w.seller(i)));
    let chat = if chat_is_dispute(i) {
        Bson::ObjectId(id(CHATS, i))
    } else {
        Bson::String(format!("ext:zendesk:{}", 48_000 + i))
    };
    let mut d = doc! {
        "_id": id(DISPUTES, i),
        "purchaseRequestId": id(REQUESTS, i),
        "paymentId": id(PAYMENTS, i),
        "openedBy": buyer,
        "againstUserId": seller,
        "adminId": id(USERS, 0),
        "chatId": chat,
        "reason": pick(&DISPUTE_REASONS, i),
        "description": "Two keycaps missing; box dented. 二つのキーキャップが欠品 😕",
        "status": status,
        "priority": pick(&["low", "medium", "high", "urgent"], i),
        "amountDisputed": money(price_cents(i) / 2),
        "evidence": [{
            "_id": item_id(DISPUTES, EVIDENCE, i, 0),
            "uploadedBy": buyer,
            "kind": "image",
            "url": format!("https://cdn.example.com/d/{i}/box.jpg"),
            "note": "Dented corner",
            "uploadedAt": at(i, 5),
        }],
        "messages": [{
            "_id": item_id(DISPUTES, DISPUTE_NOTE, i, 0),
            "authorId": buyer,
            "body": "Please see photos.",
            "internal": false,
            "sentAt": at(i, 6),
        }],
        "timeline": dispute_timeline(i, buyer, status),
        "adminNotes": [{
            "_id": item_id(DISPUTES, DISPUTE_NOTE, i, 1),
            "adminId": id(USERS, 0),
            "note": "Checking tracking",
            "at": at(i, 60),
        }],
        "dueAt": at(i, 60 * 24 * 7),
    };
    if status == "resolved" {
        let half = money(price_cents(i) / 4);
        d.insert(
            "resolution",
            doc! {
                "outcome": "split",
                "buyerAmount": half,
                "sellerAmount": half,
                "decidedBy": id(USERS, 0),
                "decidedAt": at(i, 60 * 24 * 3),
                "summary": "Both parties agreed.",
            },
        );
        d.insert("resolvedAt", at(i, 60 * 24 * 3));
    }
    stamp(&mut d, i);
    d
}

/// The entries the pre-save hook appended: opened, then the current status.
fn dispute_timeline(i: usize, opener: ObjectId, status: &str) -> Vec<Document> {
    let mut timeline =
        vec![doc! { "action": "opened", "actorId": opener, "toStatus": "open", "at": at(i, 0) }];
    if status != "open" {
        timeline.push(doc! {
            "action": "status_changed",
            "actorId": id(USERS, 0),
            "fromStatus": "open",
            "toStatus": status,
            "at": at(i, 60 * 24 * 3),
        });
    }
    timeline
}

/// A dispute whose reason is not in the enum.
fn bad_dispute(w: &World) -> Document {
    doc! {
        "_id": bad_id(DISPUTES),
        "purchaseRequestId": id(REQUESTS, 0),
        "openedBy": id(USERS, w.buyer(0)),
        "againstUserId": id(USERS, w.seller(0)),
        "reason": "changed_my_mind",
        "description": "Reason from a future release.",
        "timeline": [{ "action": "opened", "toStatus": "open", "at": at(0, 0) }],
        "createdAt": at(0, 0),
        "updatedAt": at(0, 0),
    }
}

fn chat(w: &World, c: usize) -> Document {
    let (buyer, seller) = (id(USERS, w.buyer(c)), id(USERS, w.seller(c)));
    let kind = match c % 7 {
        6 => "direct",
        _ if chat_is_dispute(c) => "dispute",
        _ => "purchase_request",
    };
    let mut participants = vec![
        participant(c, buyer, "buyer", "Buyer", 0),
        participant(c, seller, "seller", "Seller", 1),
    ];
    if kind == "dispute" {
        participants.push(participant(c, id(USERS, 0), "admin", "Ops", 30));
    }
    let messages = chat_messages(c, buyer, seller);
    let mut d = doc! {
        "_id": id(CHATS, c),
        "type": kind,
        "title": format!("{} — chat {c}", pick(&PRODUCTS, c).0),
        "participants": participants,
        "messages": messages,
        "lastMessageAt": at(c, 40),
        "lastMessagePreview": "Shipped today 📦",
        "isArchived": c % 10 == 9,
    };
    if kind != "direct" {
        d.insert("purchaseRequestId", id(REQUESTS, c));
    }
    if kind == "dispute" {
        d.insert("disputeId", id(DISPUTES, c));
    }
    stamp(&mut d, c);
    d
}

fn participant(c: usize, user: ObjectId, role: &str, name: &str, joined: i64) -> Document {
    doc! {
        "userId": user,
        "role": role,
        "displayName": name,
        "joinedAt": at(c, joined),
        "lastReadAt": at(c, 40),
        "muted": false,
    }
}

/// Three messages: a question, an answer with attachments replying to it, a delivery notice.
fn chat_messages(c: usize, buyer: ObjectId, seller: ObjectId) -> Vec<Document> {
    let first = item_id(CHATS, MESSAGE, c, 0);
    vec![
        doc! {
            "_id": first,
            "author": buyer,
            "kind": "text",
            "body": "Hi! Is it still available? 🙂",
            "attachments": [],
            "reactions": [{ "userId": seller, "emoji": "👍", "at": at(c, 11) }],
            "readBy": [{ "userId": seller, "at": at(c, 11) }],
            "createdAt": at(c, 10),
        },
        doc! {
            "_id": item_id(CHATS, MESSAGE, c, 1),
            "author": seller,
            "kind": "text",
            "body": "Yes — photos below. はい!",
            "attachments": [
                {
                    "kind": "image",
                    "url": format!("https://cdn.example.com/c/{c}/front.jpg"),
                    "name": "front.jpg",
                    "sizeBytes": 2_457_600_i64,
                    "mimeType": "image/jpeg",
                    "metadata": {
                        "width": int(4032),
                        "height": int(3024),
                        "thumbnailUrl": format!("https://cdn.example.com/c/{c}/front_t.jpg"),
                    },
                },
                {
                    "kind": "video",
                    "url": format!("https://cdn.example.com/c/{c}/demo.mp4"),
                    "sizeBytes": 5_368_709_120_i64,
                    "mimeType": "video/mp4",
                    "metadata": { "width": int(1920), "height": int(1080), "durationSec": 12.48 },
                },
            ],
            "reactions": [{ "userId": buyer, "emoji": "❤️", "at": at(c, 21) }],
            "readBy": [{ "userId": buyer, "at": at(c, 21) }],
            "replyTo": first,
            "editedAt": at(c, 22),
            "createdAt": at(c, 20),
        },
        doc! {
            "_id": item_id(CHATS, MESSAGE, c, 2),
            "author": seller,
            "kind": "delivery",
            "body": "Shipped today 📦",
            "createdAt": at(c, 40),
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// Trezor accounts, derived destinations
// ---------------------------------------------------------------------------------------------

/// The chain of Trezor account `t` (and of its derived destinations).
fn trezor_chain(t: usize) -> &'static str {
    pick(&CHAINS, t)
}

/// The BIP44 coin type of a chain.
fn coin_type(chain: &str) -> u32 {
    match chain {
        "tron" => 195,
        "bitcoin" => 0,
        _ => 60,
    }
}

/// The address derived at index `k` of Trezor account `t`.
fn derived_address(t: usize, k: usize) -> String {
    chain_address(trezor_chain(t), 13, 2 * t + k)
}

fn derivation_prefix(t: usize) -> String {
    let chain = trezor_chain(t);
    let purpose = if chain == "bitcoin" { 84 } else { 44 };
    format!("m/{purpose}'/{}'/{t}'", coin_type(chain))
}

fn trezor_account(w: &World, t: usize) -> Document {
    let chain = trezor_chain(t);
    let addresses: Vec<Document> = (0..2).map(|k| trezor_address(w, t, k)).collect();
    let mut d = doc! {
        "_id": id(TREZOR, t),
        "label": format!("Ops {} #{t}", chain.to_uppercase()),
        "xpub": format!("xpub6C{}", &hash_hex(14, t)[..48]),
        "accountIndex": int(t),
        "chain": chain,
        "derivationPathPrefix": derivation_prefix(t),
        "nextIndex": int(2),
        "isActive": true,
        "ownerId": id(USERS, 0),
        "addresses": addresses,
    };
    stamp(&mut d, t);
    d
}

/// Address `k` of account `t`, assigned to derived destination `2t + k` when it exists.
fn trezor_address(w: &World, t: usize, k: usize) -> Document {
    let destination = 2 * t + k;
    let mut d = doc! {
        "_id": item_id(TREZOR, TREZOR_ADDRESS, t, k),
        "path": format!("{}/0/{k}", derivation_prefix(t)),
        "index": int(k),
        "address": derived_address(t, k),
        "chain": trezor_chain(t),
        "used": destination < w.n,
        "balance": "0",
        "createdAt": at(t, long(k)),
    };
    if destination < w.n {
        d.insert("assignedTo", id(DESTINATIONS, destination));
    }
    d
}

fn derived_destination(w: &World, i: usize) -> Document {
    let (t, k) = World::trezor_of(i);
    let chain = trezor_chain(t);
    let kind = if i.is_multiple_of(2) {
        "offer"
    } else {
        "seller"
    };
    let status = pick(&DESTINATION_STATUSES, i);
    let seller = if every(i, 5, 3) {
        Bson::String(format!("ext:seller:{}", 8_800 + i))
    } else {
        Bson::ObjectId(id(USERS, w.seller(i)))
    };
    let expected = price_cents(i);
    let mut d = doc! {
        "_id": id(DESTINATIONS, i),
        "kind": kind,
        "sellerId": seller,
        "trezorAccountId": id(TREZOR, t),
        "derivationIndex": int(k),
        "derivationPath": format!("{}/0/{k}", derivation_prefix(t)),
        "address": derived_address(t, k),
        "chain": chain,
        "status": status,
        "expectedAmount": money(expected),
        "allocatedAt": at(i, 0),
        "lastCheckedAt": at(i, 30),
    };
    if kind == "offer" {
        let offer = if every(i, 4, 2) {
            Bson::String(format!("tpl_offer_{i}"))
        } else {
            Bson::ObjectId(id(OFFERS, i))
        };
        d.insert("sellerOfferId", offer);
        d.insert("paymentId", id(PAYMENTS, i));
    }
    if chain == "ethereum" {
        d.insert(
            "tokenContract",
            "0xdac17f958d2ee523a2206206994597c13d831ec7",
        );
    }
    if status != "allocated" {
        d.insert("receivedAmount", (expected * 10_000).to_string());
    }
    if matches!(status, "swept" | "released") {
        d.insert("sweeps", vec![sweep(i, chain, expected)]);
    }
    stamp(&mut d, i);
    d
}

fn sweep(i: usize, chain: &str, amount: u64) -> Document {
    doc! {
        "_id": item_id(DESTINATIONS, SWEEP, i, 0),
        "txHash": tx_hash(15, i),
        "amount": (amount * 10_000).to_string(),
        "gasUsed": "21000",
        "toAddress": chain_address(chain, 16, 0),
        "status": "confirmed",
        "sweptAt": at(i, 60),
        "confirmedAt": at(i, 62),
    }
}

// ---------------------------------------------------------------------------------------------
// Per-user collections
// ---------------------------------------------------------------------------------------------

/// The type of a user's second address.
const SECOND_ADDRESSES: [&str; 4] = ["Work", "Billing", "Shipping", "Other"];

/// Address `a` belongs to user `a / 2`; the first of each pair is the primary one.
fn address(_: &World, a: usize) -> Document {
    let (city, country, lng, lat) = pick(&CITIES, a);
    let (_, first, last, _, _) = pick(&PEOPLE, a / 2);
    let primary = a.is_multiple_of(2);
    let mut d = doc! {
        "_id": id(ADDRESSES, a),
        "userId": id(USERS, a / 2),
        "label": if primary { "Home 🏠" } else { "Work" },
        "addressType": if primary { "Home" } else { pick(&SECOND_ADDRESSES, a / 2) },
        "fullName": format!("{first} {last}"),
        "phone": format!("+1 555 02{:02}", a % 100),
        "line1": format!("{} Harbour Road", a % 400 + 1),
        "line2": format!("Flat {}B", a % 9 + 1),
        "city": city,
        "postalCode": format!("{:05}", 20_000 + a % 70_000),
        "country": country,
        "location": { "type": "Point", "coordinates": [lng, lat] },
        "isPrimary": primary,
    };
    stamp(&mut d, a);
    d
}

/// Shop `s` belongs to user `s` (one shop per seller).
fn shop_settings(_: &World, s: usize) -> Document {
    let (handle, first, ..) = pick(&PEOPLE, s);
    let mut d = doc! {
        "_id": id(SHOPS, s),
        "sellerId": id(USERS, s),
        "shopName": format!("{first}'s Atelier {s}"),
        "description": "Restored keyboards and film cameras.",
        "logoUrl": format!("https://cdn.example.com/s/{s}/logo.svg"),
        "bannerUrl": format!("https://cdn.example.com/s/{s}/banner.webp"),
        "reviewsEnabled": true,
        "autoAcceptOffers": s.is_multiple_of(4),
        "vacationMode": false,
        "paymentRails": [
            {
                "rail": "request_network",
                "currency": "USDT",
                "address": chain_address("ethereum", 0x0ae, s),
                "enabled": true,
            },
            { "rail": "amn", "currency": "USDC" },
        ],
        "payoutAddress": chain_address("ethereum", 0x0ae, s),
        "payoutChain": "ethereum",
        "returnPolicy": "14 days, buyer pays return shipping.",
        "socialLinks": {
            "telegram": format!("https://t.me/{handle}_tg{s}"),
            "instagram": format!("https://instagram.example/{handle}{s}"),
        },
    };
    stamp(&mut d, s);
    d
}

/// Review `r` of purchase request `r` by its buyer, about the seller, the request or the shop.
fn review(w: &World, r: usize) -> Document {
    let (subject_type, subject) = match r % 3 {
        0 => ("User", id(USERS, w.seller(r))),
        1 => ("PurchaseRequest", id(REQUESTS, r)),
        _ => ("ShopSettings", id(SHOPS, w.seller(r))),
    };
    let mut d = doc! {
        "_id": id(REVIEWS, r),
        "reviewerId": id(USERS, w.buyer(r)),
        "subjectType": subject_type,
        "subjectId": subject,
        "purchaseRequestId": id(REQUESTS, r),
        "rating": int(r % 5 + 1),
        "title": pick(&["Perfect 完璧", "Good", "Okay", "Slow shipping", "Great seller"], r),
        "comment": "Fast shipping, exactly as described.",
        "pros": ["fast", "honest"],
        "cons": ["pricey"],
        "isPublished": true,
        "isVerifiedPurchase": r.is_multiple_of(2),
        "helpfulCount": int(r % 20),
    };
    if r.is_multiple_of(4) {
        d.insert(
            "sellerReply",
            doc! { "body": "ありがとうございます!", "repliedAt": at(r, 60 * 24) },
        );
    }
    stamp(&mut d, r);
    d
}

fn notification(w: &World, i: usize) -> Document {
    let kind = pick(&NOTIFICATION_TYPES, i);
    let mut d = doc! {
        "_id": id(NOTIFICATIONS, i),
        "userId": id(USERS, i % w.n),
        "type": kind,
        "title": format!("{} 🔔", kind.replace('_', " ")),
        "body": format!("Update on request #{i}"),
        "link": format!("/requests/{}", id(REQUESTS, i).to_hex()),
        "data": { "purchaseRequestId": id(REQUESTS, i), "amount": money(price_cents(i)) },
        "channels": ["in_app", "email"],
        "isRead": i.is_multiple_of(2),
        "deliveredAt": at(i, 1),
    };
    if i.is_multiple_of(2) {
        d.insert("readAt", at(i, 30));
    }
    stamp(&mut d, i);
    d
}

/// Points journal: a referral bonus where user `i` was referred, else an earn, spend or level
/// bonus.
fn point_transaction(w: &World, i: usize) -> Document {
    let referred = i % w.n;
    let mut d = doc! { "_id": id(POINTS, i) };
    if let Some(referrer) = World::referrer(referred) {
        d.insert("userId", id(USERS, referrer));
        d.insert("type", "referral_bonus");
        d.insert("points", int(50));
        d.insert("reason", "Referral");
        d.insert("referenceId", id(USERS, referred));
        d.insert("referenceType", "User");
        d.insert("referredUserId", id(USERS, referred));
    } else {
        let (kind, points, reference, ref_type) = match i % 3 {
            0 => ("earn", 120, id(REQUESTS, i), "PurchaseRequest"),
            1 => ("level_bonus", 75, id(USERS, referred), "User"),
            _ => ("spend", -40, id(REVIEWS, i), "Review"),
        };
        d.insert("userId", id(USERS, referred));
        d.insert("type", kind);
        d.insert("points", points);
        d.insert("reason", format!("{kind} on #{i}"));
        d.insert("referenceId", reference);
        d.insert("referenceType", ref_type);
    }
    d.insert("balanceAfter", int(1_000 + i % 500));
    d.insert(
        "metadata",
        doc! { "campaign": "春セール", "multiplier": 1.5 },
    );
    d.insert("createdAt", at(i, 3));
    d.insert("__v", int(0));
    d
}

fn telegram_link(_: &World, u: usize) -> Document {
    let (handle, first, last, _, locale) = pick(&PEOPLE, u);
    let mut d = doc! {
        "_id": id(TG_LINKS, u),
        "userId": id(USERS, u),
        "telegramUserId": telegram_id(u),
        "telegramUsername": format!("{handle}_tg{u}"),
        "firstName": first,
        "lastName": last,
        "photoUrl": format!("https://t.example/i/userpic/{handle}{u}.jpg"),
        "languageCode": &locale[..2],
        "isPremium": u.is_multiple_of(5),
        "linkedAt": at(u, 15),
    };
    stamp(&mut d, u);
    d
}

fn telegram_session(_: &World, u: usize) -> Document {
    // Private chats share the user's id; every third session is in a group (negative id).
    let chat_id = if u % 3 == 2 {
        -1_001_000_000_000 - long(u)
    } else {
        telegram_id(u)
    };
    let mut d = doc! {
        "_id": id(TG_SESSIONS, u),
        "telegramUserId": telegram_id(u),
        "chatId": chat_id,
        "userId": id(USERS, u),
        "state": pick(&["idle", "awaiting_offer_price", "awaiting_confirmation"], u),
        "context": {
            "step": int(u % 3),
            "draft": { "price": money(price_cents(u)), "currency": "USDT" },
        },
        "initDataHash": hash_hex(17, u),
        "authDate": at(u, 20),
        "lastActivityAt": at(u, 25),
        "expiresAt": at(u, 60 * 24),
    };
    stamp(&mut d, u);
    d
}

fn temp_verification(_: &World, u: usize) -> Document {
    let purpose = pick(&VERIFICATION_PURPOSES, u);
    let mut d = doc! {
        "_id": id(VERIFICATIONS, u),
        "purpose": purpose,
        "userId": id(USERS, u),
        "email": email(u),
        "codeHash": hash_hex(18, u),
        "attempts": int(u % 3),
        "maxAttempts": int(5),
        "payload": { "ip": "2001:db8::1", "ua": "📱" },
        "expiresAt": at(u, 30),
    };
    if purpose == "telegram_link" {
        d.insert("telegramUserId", telegram_id(u));
    }
    if u.is_multiple_of(2) {
        d.insert("consumedAt", at(u, 4));
    }
    stamp(&mut d, u);
    d
}

// ---------------------------------------------------------------------------------------------
// Settings and content
// ---------------------------------------------------------------------------------------------

/// The first settings are the platform's real ones; the rest are feature flags.
const SETTINGS: [(&str, &str, &str); 5] = [
    ("confirmations.ethereum", "number", "blockchain"),
    ("site.tagline", "string", "general"),
    ("fees.aml.enabled", "boolean", "fees"),
    ("fees.schedule", "json", "fees"),
    ("chains.enabled", "json", "blockchain"),
];

/// Setting `s`'s key (unique), value type and category.
fn setting(s: usize) -> (String, &'static str, &'static str) {
    match SETTINGS.get(s) {
        Some(&(key, value_type, category)) => (key.to_string(), value_type, category),
        None => (format!("features.flag_{s}"), "boolean", "features"),
    }
}

/// A value of setting `s`, version `version`, matching its value type.
fn setting_value(s: usize, version: usize) -> Bson {
    match setting(s).1 {
        "number" => Bson::Int32(int(6 * (version + 1))),
        "string" => Bson::String(format!("Escrow you can trust ✨ (v{version})")),
        "json" if s == 3 => Bson::Document(doc! {
            "default": dec("0.01"),
            "tiers": [
                { "min": int(0), "rate": 0.015 },
                { "min": 10_000_000_000_i64, "rate": 0.0075 },
            ],
        }),
        "json" => Bson::from(vec!["ethereum", "tron", "bsc"]),
        _ => Bson::Boolean((s + version).is_multiple_of(2)),
    }
}

fn config_setting(_: &World, s: usize) -> Document {
    let (key, value_type, category) = setting(s);
    let mut d = doc! {
        "_id": id(CONFIG_SETTINGS, s),
        "key": key.clone(),
        "value": setting_value(s, 1),
        "valueType": value_type,
        "category": category,
        "description": format!("The {key} setting"),
        "isSecret": false,
        "updatedBy": id(USERS, 0),
    };
    stamp(&mut d, s);
    d
}

/// History entry `h`: the change of setting `h` from version 0 to version 1.
fn config_setting_history(_: &World, h: usize) -> Document {
    doc! {
        "_id": id(CONFIG_HISTORY, h),
        "settingId": id(CONFIG_SETTINGS, h),
        "key": setting(h).0,
        "oldValue": setting_value(h, 0),
        "newValue": setting_value(h, 1),
        "changedBy": id(USERS, 0),
        "reason": "Reorg risk — 再編成リスク",
        "changedAt": at(h, 90),
        "__v": int(0),
    }
}

const LEVEL_NAMES: [&str; 5] = [
    "Bronze 🥉",
    "Silver 🥈",
    "Gold 🥇",
    "Platinum",
    "Diamond 💎",
];

fn level_config(w: &World, l: usize) -> Document {
    let mut d = doc! {
        "_id": id(LEVELS, l),
        "level": int(l + 1),
        "name": format!("{} {}", pick(&LEVEL_NAMES, l), l / 5 + 1),
        "minPoints": int(l * 1_000),
        "feeDiscountPercent": (l as f64 * 0.5).min(100.0),
        "badgeIcon": format!("https://cdn.example.com/badges/{l}.svg"),
        "perks": ["Standard support"],
        "isActive": true,
    };
    if l + 1 < w.n {
        d.insert("maxPoints", int(l * 1_000 + 999));
    }
    stamp(&mut d, l);
    d
}

const BLOG_CONTENT: &str =
    "# Escrow\n\nThe buyer pays, the platform **holds**, the seller ships.\n\n> 安心取引\n";

fn blog_post(w: &World, b: usize) -> Document {
    let author = if b.is_multiple_of(2) { 0 } else { w.seller(b) };
    let status = pick(&["published", "published", "draft", "archived"], b);
    let (_, first, last, ..) = pick(&PEOPLE, author);
    let mut d = doc! {
        "_id": id(BLOG_POSTS, b),
        "title": format!("How escrow protects both sides, part {}", b + 1),
        "slug": format!("how-escrow-protects-both-sides-part-{}", b + 1),
        "excerpt": "Funds wait until delivery.",
        "content": BLOG_CONTENT,
        "coverImageUrl": format!("https://cdn.example.com/blog/{b}/cover.jpg"),
        "author": { "userId": id(USERS, author), "name": format!("{first} {last}") },
        "videos": [{
            "url": format!("https://youtube.example/watch?v=esc{b}"),
            "provider": "youtube",
            "title": "Escrow in 5 minutes",
            "durationSec": 312.5,
        }],
        "seo": {
            "metaTitle": "Escrow explained",
            "metaDescription": "How funds are held.",
            "keywords": ["escrow", "crypto"],
        },
        "tags": ["escrow", "guide"],
        "status": status,
        "readingTimeMin": int(3 + b % 7),
        "viewCount": int(b * 31 % 10_000),
        "locale": "en",
    };
    if status != "draft" {
        d.insert("publishedAt", at(b, 60));
    }
    stamp(&mut d, b);
    d
}
