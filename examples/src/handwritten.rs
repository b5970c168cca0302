//! The transform of three collections written by hand, the way one would without schemac:
//! `#[derive(Deserialize)]` structs mirroring the Mongo documents, read with
//! `bson::deserialize_from_slice`, then mapped field by field into the generated row structs.
//! It is the comparison point of the transform benchmark (docs/bench-transform.md).
//!
//! The conversions are the generated ones: ObjectId to UUIDv7 ([`ids::uuid_from_object_id`]),
//! child rows without `_id` keyed by [`ids::uuid_for_child`], Decimal128 to an exact [`Numeric`]
//! checked against `numeric(38,18)`, BSON dates to `chrono`, jsonb as relaxed Extended JSON,
//! enums through the generated `parse`, Mongoose defaults for absent fields and the `_id`'s
//! time for an absent `default: now` date. Unknown keys are refused (`deny_unknown_fields`, the
//! strict mode). What it does not do is the generated code's error reporting: an error says
//! what serde or the conversion said, not the document's `_id` and path, and a few edge cases
//! (an explicit `null` for a field that has a default) are not told apart from absence.
//!
//! `tests/handwritten.rs` checks that it gives the generated rows for every sample document.

use escrow_schema::schema::chat::{
    Chat, ChatMessageAttachmentsRow, ChatMessageReactionsRow, ChatMessageReadsRow, ChatMessagesRow,
    ChatParticipantsRow, ChatsRow,
};
use escrow_schema::schema::enums;
use escrow_schema::schema::payment::{Payment, PaymentQuotesRow, PaymentsRow};
use escrow_schema::schema::user::{User, UserPasskeysRow, UserRefreshTokensRow, UsersRow};
use schemac_runtime::bson::oid::ObjectId;
use schemac_runtime::bson::{self, Binary, Bson, Decimal128};
use schemac_runtime::chrono::{DateTime, Utc};
use schemac_runtime::uuid::Uuid;
use schemac_runtime::{Json, Numeric, TransformErrorKind, ids};
use serde::Deserialize;

/// What the hand-written transforms fail with: serde's message, or the conversion's.
pub type Error = TransformErrorKind;

// ---------------------------------------------------------------------------------------------
// Shared conversions
// ---------------------------------------------------------------------------------------------

/// A Mongoose `Mixed` id: an ObjectId (a row of another collection) or an external string.
#[derive(Deserialize)]
#[serde(untagged)]
enum MixedId {
    Oid(ObjectId),
    External(String),
}

impl MixedId {
    /// `(kind, id, external_ref)` as the polymorphic reference columns hold them.
    fn columns(self) -> (enums::RefKind, Option<Uuid>, Option<String>) {
        match self {
            MixedId::Oid(oid) => (enums::RefKind::Entity, Some(uuid(&oid)), None),
            MixedId::External(s) => (enums::RefKind::Template, None, Some(s)),
        }
    }
}

fn uuid(oid: &ObjectId) -> Uuid {
    ids::uuid_from_object_id(oid)
}

fn date(d: bson::DateTime) -> Result<DateTime<Utc>, Error> {
    DateTime::from_timestamp_millis(d.timestamp_millis()).ok_or_else(|| {
        TransformErrorKind::OutOfRange {
            value: d.timestamp_millis().to_string(),
            target: "timestamptz".into(),
        }
    })
}

fn opt_date(d: Option<bson::DateTime>) -> Result<Option<DateTime<Utc>>, Error> {
    d.map(date).transpose()
}

/// A `numeric(38,18)` money amount.
fn money(d: Decimal128) -> Result<Numeric, Error> {
    let n = Numeric::from_decimal128(d).map_err(|e| e.into_transform_kind("numeric(38,18)"))?;
    n.check(38, 18)
        .map_err(|e| e.into_transform_kind("numeric(38,18)"))?;
    Ok(n)
}

fn opt_money(d: Option<Decimal128>) -> Result<Option<Numeric>, Error> {
    d.map(money).transpose()
}

/// A jsonb column: relaxed Extended JSON.
fn json(b: Bson) -> Json {
    Json::from(&b.into_relaxed_extjson())
}

/// What an absent `default: now` date gets: the time of the document's ObjectId.
fn created(oid: &ObjectId) -> Result<DateTime<Utc>, Error> {
    date(oid.timestamp())
}

fn ordinal(i: usize) -> Result<i32, Error> {
    i32::try_from(i).map_err(|_| TransformErrorKind::OutOfRange {
        value: i.to_string(),
        target: "int4".into(),
    })
}

fn child_id(parent: Uuid, table: &str, i: usize) -> Result<Uuid, Error> {
    let ordinal = u32::try_from(i).map_err(|_| TransformErrorKind::OutOfRange {
        value: i.to_string(),
        target: "int4".into(),
    })?;
    Ok(ids::uuid_for_child(parent, table, ordinal))
}

fn from_slice<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, Error> {
    bson::deserialize_from_slice(bytes).map_err(Error::from)
}

// ---------------------------------------------------------------------------------------------
// payments
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PaymentDoc<'a> {
    #[serde(rename = "_id")]
    id: ObjectId,
    purchase_request_id: MixedId,
    seller_offer_id: Option<MixedId>,
    seller_id: MixedId,
    buyer_id: ObjectId,
    provider: &'a str,
    provider_payment_id: Option<String>,
    request_id: Option<String>,
    status: Option<&'a str>,
    amount: Decimal128,
    currency: Option<String>,
    fee_amount: Option<Decimal128>,
    aml_fee_amount: Option<Decimal128>,
    net_amount: Option<Decimal128>,
    exchange_rate: Option<Decimal128>,
    chain: Option<&'a str>,
    destination_address: Option<String>,
    tx_hash: Option<String>,
    blockchain: Option<Bson>,
    quote: Option<QuoteDoc>,
    metadata: Option<Bson>,
    webhook_events: Option<Bson>,
    confirmed_at: Option<bson::DateTime>,
    held_at: Option<bson::DateTime>,
    released_at: Option<bson::DateTime>,
    refunded_at: Option<bson::DateTime>,
    failed_at: Option<bson::DateTime>,
    failure_reason: Option<String>,
    expires_at: Option<bson::DateTime>,
    created_at: Option<bson::DateTime>,
    updated_at: Option<bson::DateTime>,
    #[serde(rename = "__v")]
    version: Option<i32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct QuoteDoc {
    quote_id: Option<String>,
    base_currency: Option<String>,
    quote_currency: Option<String>,
    rate: Option<Decimal128>,
    amount_in: Option<Decimal128>,
    amount_out: Option<Decimal128>,
    source: Option<String>,
    expires_at: Option<bson::DateTime>,
    created_at: Option<bson::DateTime>,
}

/// One `payments` document (its BSON bytes) as rows.
pub fn payment(bytes: &[u8]) -> Result<Payment, Error> {
    let d: PaymentDoc<'_> = from_slice(bytes)?;
    let id = uuid(&d.id);
    let created = created(&d.id)?;
    let (purchase_request_ref_kind, purchase_request_id, purchase_request_external_ref) =
        d.purchase_request_id.columns();
    let (seller_offer_ref_kind, seller_offer_id, seller_offer_external_ref) =
        match d.seller_offer_id.map(MixedId::columns) {
            Some((kind, id, external)) => (Some(kind), id, external),
            None => (None, None, None),
        };
    let (seller_ref_kind, seller_id, seller_external_ref) = d.seller_id.columns();
    let payment_quotes = match d.quote {
        Some(q) => vec![PaymentQuotesRow {
            id: child_id(id, "payment_quotes", 0)?,
            payment_id: id,
            quote_id: q.quote_id,
            base_currency: q.base_currency,
            quote_currency: q.quote_currency,
            rate: opt_money(q.rate)?,
            amount_in: opt_money(q.amount_in)?,
            amount_out: opt_money(q.amount_out)?,
            source: q.source,
            expires_at: opt_date(q.expires_at)?,
            created_at: opt_date(q.created_at)?,
        }],
        None => Vec::new(),
    };
    let payments = PaymentsRow {
        id,
        legacy_object_id: d.id.to_hex(),
        purchase_request_ref_kind,
        purchase_request_id,
        purchase_request_external_ref,
        seller_offer_ref_kind,
        seller_offer_id,
        seller_offer_external_ref,
        seller_ref_kind,
        seller_id,
        seller_external_ref,
        buyer_id: uuid(&d.buyer_id),
        provider: enums::PaymentProvider::parse(d.provider)?,
        provider_payment_id: d.provider_payment_id,
        request_id: d.request_id,
        status: enums::PaymentStatus::parse(d.status.unwrap_or("created"))?,
        amount: money(d.amount)?,
        currency: d.currency.unwrap_or_else(|| "USDT".to_string()),
        fee_amount: match d.fee_amount {
            Some(fee) => money(fee)?,
            None => Numeric::zero(),
        },
        aml_fee_amount: opt_money(d.aml_fee_amount)?,
        net_amount: opt_money(d.net_amount)?,
        exchange_rate: opt_money(d.exchange_rate)?,
        chain: d.chain.map(enums::Chain::parse).transpose()?,
        destination_address: d.destination_address,
        tx_hash: d.tx_hash,
        blockchain: d.blockchain.map(json),
        metadata: d.metadata.map_or_else(Json::empty_object, json),
        webhook_events: d.webhook_events.map(json),
        confirmed_at: opt_date(d.confirmed_at)?,
        held_at: opt_date(d.held_at)?,
        released_at: opt_date(d.released_at)?,
        refunded_at: opt_date(d.refunded_at)?,
        failed_at: opt_date(d.failed_at)?,
        failure_reason: d.failure_reason,
        expires_at: opt_date(d.expires_at)?,
        created_at: opt_date(d.created_at)?.unwrap_or(created),
        updated_at: opt_date(d.updated_at)?.unwrap_or(created),
        mongo_version: d.version,
    };
    Ok(Payment {
        payments,
        payment_quotes,
    })
}

// ---------------------------------------------------------------------------------------------
// users
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UserDoc<'a> {
    #[serde(rename = "_id")]
    id: ObjectId,
    email: Option<String>,
    email_verified: Option<bool>,
    password_hash: Option<String>,
    username: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    display_name: Option<String>,
    phone: Option<String>,
    phone_verified: Option<bool>,
    avatar_url: Option<String>,
    bio: Option<String>,
    role: Option<&'a str>,
    #[serde(borrow)]
    roles: Option<Vec<&'a str>>,
    is_active: Option<bool>,
    is_banned: Option<bool>,
    ban_reason: Option<String>,
    locale: Option<String>,
    timezone: Option<String>,
    country: Option<String>,
    telegram_id: Option<i64>,
    telegram_username: Option<String>,
    wallet_addresses: Option<Vec<String>>,
    preferred_currency: Option<&'a str>,
    points: Option<i32>,
    level: Option<i32>,
    referral_code: String,
    referred_by: Option<ObjectId>,
    referral_stats: Option<ReferralStatsDoc>,
    seller_profile: Option<SellerProfileDoc>,
    notification_prefs: Option<NotificationPrefsDoc>,
    two_factor_enabled: Option<bool>,
    two_factor_secret: Option<String>,
    #[serde(borrow)]
    passkeys: Option<Vec<PasskeyDoc<'a>>>,
    refresh_tokens: Option<Vec<RefreshTokenDoc>>,
    last_login_at: Option<bson::DateTime>,
    last_login_ip: Option<String>,
    login_count: Option<i32>,
    terms_accepted_at: Option<bson::DateTime>,
    deleted_at: Option<bson::DateTime>,
    created_at: Option<bson::DateTime>,
    updated_at: Option<bson::DateTime>,
    #[serde(rename = "__v")]
    version: Option<i32>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReferralStatsDoc {
    total_referrals: Option<i32>,
    active_referrals: Option<i32>,
    points_earned: Option<i32>,
    last_referral_at: Option<bson::DateTime>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SellerProfileDoc {
    shop_name: Option<String>,
    verified: Option<bool>,
    verified_at: Option<bson::DateTime>,
    rating: Option<f64>,
    rating_count: Option<i32>,
    completed_orders: Option<i32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NotificationPrefsDoc {
    email: Option<bool>,
    telegram: Option<bool>,
    push: Option<bool>,
    marketing: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PasskeyDoc<'a> {
    #[serde(rename = "_id")]
    id: ObjectId,
    credential_id: String,
    public_key: Binary,
    counter: Option<i64>,
    transports: Option<Vec<String>>,
    device_type: Option<&'a str>,
    backed_up: Option<bool>,
    name: Option<String>,
    created_at: Option<bson::DateTime>,
    last_used_at: Option<bson::DateTime>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RefreshTokenDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    token_hash: String,
    expires_at: bson::DateTime,
    user_agent: Option<String>,
    ip: Option<String>,
    revoked_at: Option<bson::DateTime>,
    created_at: Option<bson::DateTime>,
}

/// One `users` document (its BSON bytes) as rows.
pub fn user(bytes: &[u8]) -> Result<User, Error> {
    let d: UserDoc<'_> = from_slice(bytes)?;
    let id = uuid(&d.id);
    let created = created(&d.id)?;
    let stats = d.referral_stats.unwrap_or_default();
    let seller = d.seller_profile.unwrap_or_default();
    let prefs = d.notification_prefs.unwrap_or_default();
    let roles = match d.roles {
        Some(roles) => roles
            .into_iter()
            .map(enums::UserRole::parse)
            .collect::<Result<_, _>>()?,
        None => vec![enums::UserRole::Buyer],
    };
    let user_passkeys = d
        .passkeys
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, k)| {
            Ok(UserPasskeysRow {
                id: uuid(&k.id),
                user_id: id,
                ordinal: ordinal(i)?,
                legacy_object_id: k.id.to_hex(),
                credential_id: k.credential_id,
                public_key: k.public_key.bytes,
                counter: k.counter.unwrap_or(0),
                transports: k.transports.unwrap_or_default(),
                device_type: k
                    .device_type
                    .map(enums::UserPasskeyDeviceType::parse)
                    .transpose()?,
                backed_up: k.backed_up.unwrap_or(false),
                name: k.name,
                created_at: opt_date(k.created_at)?.unwrap_or(created),
                last_used_at: opt_date(k.last_used_at)?,
            })
        })
        .collect::<Result<_, Error>>()?;
    let user_refresh_tokens = d
        .refresh_tokens
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            Ok(UserRefreshTokensRow {
                id: uuid(&t.id),
                user_id: id,
                ordinal: ordinal(i)?,
                legacy_object_id: t.id.to_hex(),
                token_hash: t.token_hash,
                expires_at: date(t.expires_at)?,
                user_agent: t.user_agent,
                ip: t.ip,
                revoked_at: opt_date(t.revoked_at)?,
                created_at: opt_date(t.created_at)?.unwrap_or(created),
            })
        })
        .collect::<Result<_, Error>>()?;
    let users = UsersRow {
        id,
        legacy_object_id: d.id.to_hex(),
        email: d.email,
        email_verified: d.email_verified.unwrap_or(false),
        password_hash: d.password_hash,
        username: d.username,
        first_name: d.first_name,
        last_name: d.last_name,
        display_name: d.display_name,
        phone: d.phone,
        phone_verified: d.phone_verified.unwrap_or(false),
        avatar_url: d.avatar_url,
        bio: d.bio,
        role: enums::UserRole::parse(d.role.unwrap_or("buyer"))?,
        roles,
        is_active: d.is_active.unwrap_or(true),
        is_banned: d.is_banned.unwrap_or(false),
        ban_reason: d.ban_reason,
        locale: d.locale.unwrap_or_else(|| "en".to_string()),
        timezone: d.timezone,
        country: d.country,
        telegram_id: d.telegram_id,
        telegram_username: d.telegram_username,
        wallet_addresses: d.wallet_addresses.unwrap_or_default(),
        preferred_currency: enums::UserPreferredCurrency::parse(
            d.preferred_currency.unwrap_or("USDT"),
        )?,
        points: d.points.unwrap_or(0),
        level: d.level.unwrap_or(1),
        referral_code: d.referral_code,
        referred_by: d.referred_by.as_ref().map(uuid),
        referral_stats_total_referrals: stats.total_referrals.unwrap_or(0),
        referral_stats_active_referrals: stats.active_referrals.unwrap_or(0),
        referral_stats_points_earned: stats.points_earned.unwrap_or(0),
        referral_stats_last_referral_at: opt_date(stats.last_referral_at)?,
        seller_profile_shop_name: seller.shop_name,
        seller_profile_verified: seller.verified.unwrap_or(false),
        seller_profile_verified_at: opt_date(seller.verified_at)?,
        seller_profile_rating: seller.rating.unwrap_or(0.0),
        seller_profile_rating_count: seller.rating_count.unwrap_or(0),
        seller_profile_completed_orders: seller.completed_orders.unwrap_or(0),
        notification_prefs_email: prefs.email.unwrap_or(true),
        notification_prefs_telegram: prefs.telegram.unwrap_or(true),
        notification_prefs_push: prefs.push.unwrap_or(false),
        notification_prefs_marketing: prefs.marketing.unwrap_or(false),
        two_factor_enabled: d.two_factor_enabled.unwrap_or(false),
        two_factor_secret: d.two_factor_secret,
        last_login_at: opt_date(d.last_login_at)?,
        last_login_ip: d.last_login_ip,
        login_count: d.login_count.unwrap_or(0),
        terms_accepted_at: opt_date(d.terms_accepted_at)?,
        deleted_at: opt_date(d.deleted_at)?,
        created_at: opt_date(d.created_at)?.unwrap_or(created),
        updated_at: opt_date(d.updated_at)?.unwrap_or(created),
        mongo_version: d.version,
    };
    Ok(User {
        users,
        user_passkeys,
        user_refresh_tokens,
    })
}

// ---------------------------------------------------------------------------------------------
// chats
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ChatDoc<'a> {
    #[serde(rename = "_id")]
    id: ObjectId,
    #[serde(rename = "type")]
    kind: &'a str,
    purchase_request_id: Option<ObjectId>,
    dispute_id: Option<ObjectId>,
    title: Option<String>,
    #[serde(borrow)]
    participants: Option<Vec<ParticipantDoc<'a>>>,
    #[serde(borrow)]
    messages: Option<Vec<MessageDoc<'a>>>,
    last_message_at: Option<bson::DateTime>,
    last_message_preview: Option<String>,
    is_archived: Option<bool>,
    created_at: Option<bson::DateTime>,
    updated_at: Option<bson::DateTime>,
    #[serde(rename = "__v")]
    version: Option<i32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ParticipantDoc<'a> {
    user_id: ObjectId,
    role: &'a str,
    display_name: Option<String>,
    joined_at: Option<bson::DateTime>,
    last_read_at: Option<bson::DateTime>,
    muted: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MessageDoc<'a> {
    #[serde(rename = "_id")]
    id: ObjectId,
    author: ObjectId,
    kind: Option<&'a str>,
    body: Option<String>,
    #[serde(borrow)]
    attachments: Option<Vec<AttachmentDoc<'a>>>,
    reactions: Option<Vec<ReactionDoc>>,
    read_by: Option<Vec<ReadDoc>>,
    reply_to: Option<ObjectId>,
    edited_at: Option<bson::DateTime>,
    deleted_at: Option<bson::DateTime>,
    created_at: Option<bson::DateTime>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AttachmentDoc<'a> {
    kind: &'a str,
    url: String,
    name: Option<String>,
    size_bytes: Option<i64>,
    mime_type: Option<String>,
    metadata: Option<AttachmentMetadataDoc>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AttachmentMetadataDoc {
    width: Option<i32>,
    height: Option<i32>,
    duration_sec: Option<f64>,
    thumbnail_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReactionDoc {
    user_id: Option<ObjectId>,
    emoji: Option<String>,
    at: Option<bson::DateTime>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReadDoc {
    user_id: Option<ObjectId>,
    at: Option<bson::DateTime>,
}

/// One `chats` document (its BSON bytes) as rows.
pub fn chat(bytes: &[u8]) -> Result<Chat, Error> {
    let d: ChatDoc<'_> = from_slice(bytes)?;
    let id = uuid(&d.id);
    let created = created(&d.id)?;
    let mut rows = Chat {
        chats: ChatsRow {
            id,
            legacy_object_id: d.id.to_hex(),
            r#type: enums::ChatType::parse(d.kind)?,
            purchase_request_id: d.purchase_request_id.as_ref().map(uuid),
            dispute_id: d.dispute_id.as_ref().map(uuid),
            title: d.title,
            last_message_at: opt_date(d.last_message_at)?,
            last_message_preview: d.last_message_preview,
            is_archived: d.is_archived.unwrap_or(false),
            created_at: opt_date(d.created_at)?.unwrap_or(created),
            updated_at: opt_date(d.updated_at)?.unwrap_or(created),
            mongo_version: d.version,
        },
        chat_participants: Vec::new(),
        chat_messages: Vec::new(),
        chat_message_attachments: Vec::new(),
        chat_message_reactions: Vec::new(),
        chat_message_reads: Vec::new(),
    };
    for (i, p) in d.participants.unwrap_or_default().into_iter().enumerate() {
        rows.chat_participants.push(ChatParticipantsRow {
            id: child_id(id, "chat_participants", i)?,
            chat_id: id,
            ordinal: ordinal(i)?,
            user_id: uuid(&p.user_id),
            role: enums::ChatParticipantRole::parse(p.role)?,
            display_name: p.display_name,
            joined_at: opt_date(p.joined_at)?.unwrap_or(created),
            last_read_at: opt_date(p.last_read_at)?,
            muted: p.muted.unwrap_or(false),
        });
    }
    for (i, m) in d.messages.unwrap_or_default().into_iter().enumerate() {
        let message_id = uuid(&m.id);
        rows.chat_messages.push(ChatMessagesRow {
            id: message_id,
            chat_id: id,
            ordinal: ordinal(i)?,
            legacy_object_id: m.id.to_hex(),
            author: uuid(&m.author),
            kind: enums::ChatMessageKind::parse(m.kind.unwrap_or("text"))?,
            body: m.body,
            reply_to: m.reply_to.as_ref().map(uuid),
            edited_at: opt_date(m.edited_at)?,
            deleted_at: opt_date(m.deleted_at)?,
            created_at: opt_date(m.created_at)?.unwrap_or(created),
        });
        for (j, a) in m.attachments.unwrap_or_default().into_iter().enumerate() {
            let meta = a.metadata.unwrap_or_default();
            rows.chat_message_attachments
                .push(ChatMessageAttachmentsRow {
                    id: child_id(message_id, "chat_message_attachments", j)?,
                    message_id,
                    ordinal: ordinal(j)?,
                    kind: enums::ChatAttachmentKind::parse(a.kind)?,
                    url: a.url,
                    name: a.name,
                    size_bytes: a.size_bytes,
                    mime_type: a.mime_type,
                    metadata_width: meta.width,
                    metadata_height: meta.height,
                    metadata_duration_sec: meta.duration_sec,
                    metadata_thumbnail_url: meta.thumbnail_url,
                });
        }
        for (j, r) in m.reactions.unwrap_or_default().into_iter().enumerate() {
            rows.chat_message_reactions.push(ChatMessageReactionsRow {
                id: child_id(message_id, "chat_message_reactions", j)?,
                message_id,
                ordinal: ordinal(j)?,
                user_id: r.user_id.as_ref().map(uuid),
                emoji: r.emoji,
                at: opt_date(r.at)?.unwrap_or(created),
            });
        }
        for (j, r) in m.read_by.unwrap_or_default().into_iter().enumerate() {
            rows.chat_message_reads.push(ChatMessageReadsRow {
                id: child_id(message_id, "chat_message_reads", j)?,
                message_id,
                ordinal: ordinal(j)?,
                user_id: r.user_id.as_ref().map(uuid),
                at: opt_date(r.at)?.unwrap_or(created),
            });
        }
    }
    Ok(rows)
}
