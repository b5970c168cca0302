//! Coverage of the escrow catalogue in models/ against the Mongoose reference models.
//!
//! The inventory below is written by hand from the backend's Mongoose schemas (one entry per
//! collection, every path of the schema as a dotted Mongo path, embedded objects and array
//! subdocuments included). It leaves out what the compiler manages itself: `_id` (at any depth),
//! `__v` and the root `createdAt` / `updatedAt` timestamps, whose presence is listed separately.
//! Nothing here reads outside the workspace at run time.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use schemac::ir::Catalogue;
use schemac::plan::{PlanColumn, Schema};
use serde_json::Value;

/// One Mongo collection as the Mongoose schema declares it.
struct Collection {
    model: &'static str,
    collection: &'static str,
    /// Mongoose `timestamps`: (createdAt, updatedAt).
    timestamps: (bool, bool),
    /// Every path of the schema, parents before their subfields.
    paths: &'static [&'static str],
}

const INVENTORY: &[Collection] = &[
    Collection {
        model: "User",
        collection: "users",
        timestamps: (true, true),
        paths: &[
            "email",
            "emailVerified",
            "passwordHash",
            "username",
            "firstName",
            "lastName",
            "displayName",
            "phone",
            "phoneVerified",
            "avatarUrl",
            "bio",
            "role",
            "roles",
            "isActive",
            "isBanned",
            "banReason",
            "locale",
            "timezone",
            "country",
            "telegramId",
            "telegramUsername",
            "walletAddresses",
            "preferredCurrency",
            "points",
            "level",
            "referralCode",
            "referredBy",
            "referralStats",
            "referralStats.totalReferrals",
            "referralStats.activeReferrals",
            "referralStats.pointsEarned",
            "referralStats.lastReferralAt",
            "sellerProfile",
            "sellerProfile.shopName",
            "sellerProfile.verified",
            "sellerProfile.verifiedAt",
            "sellerProfile.rating",
            "sellerProfile.ratingCount",
            "sellerProfile.completedOrders",
            "notificationPrefs",
            "notificationPrefs.email",
            "notificationPrefs.telegram",
            "notificationPrefs.push",
            "notificationPrefs.marketing",
            "twoFactorEnabled",
            "twoFactorSecret",
            "passkeys",
            "passkeys.credentialId",
            "passkeys.publicKey",
            "passkeys.counter",
            "passkeys.transports",
            "passkeys.deviceType",
            "passkeys.backedUp",
            "passkeys.name",
            "passkeys.createdAt",
            "passkeys.lastUsedAt",
            "refreshTokens",
            "refreshTokens.tokenHash",
            "refreshTokens.expiresAt",
            "refreshTokens.userAgent",
            "refreshTokens.ip",
            "refreshTokens.revokedAt",
            "refreshTokens.createdAt",
            "lastLoginAt",
            "lastLoginIp",
            "loginCount",
            "termsAcceptedAt",
            "deletedAt",
        ],
    },
    Collection {
        model: "PurchaseRequest",
        collection: "purchaserequests",
        timestamps: (true, true),
        paths: &[
            "title",
            "description",
            "buyerId",
            "categoryId",
            "templateId",
            "type",
            "status",
            "quantity",
            "budget",
            "budgetMin",
            "budgetMax",
            "budgetCurrency",
            "isNegotiable",
            "condition",
            "brand",
            "productModel",
            "color",
            "size",
            "images",
            "attachments",
            "tags",
            "urgency",
            "visibility",
            "selectedOfferId",
            "selectedSellerId",
            "offerCount",
            "viewCount",
            "deadline",
            "expiresAt",
            "publishedAt",
            "completedAt",
            "cancelledAt",
            "cancellationReason",
            "escrowReleaseAt",
            "autoReleaseDays",
            "source",
            "locale",
            "deliveryInfo",
            "deliveryInfo.method",
            "deliveryInfo.preferredCarrier",
            "deliveryInfo.shippingCost",
            "deliveryInfo.estimatedDays",
            "deliveryInfo.instructions",
            "deliveryAddress",
            "deliveryAddress.fullName",
            "deliveryAddress.phone",
            "deliveryAddress.line1",
            "deliveryAddress.line2",
            "deliveryAddress.city",
            "deliveryAddress.state",
            "deliveryAddress.postalCode",
            "deliveryAddress.country",
            "sellerDeliveryInfo",
            "sellerDeliveryInfo.carrier",
            "sellerDeliveryInfo.trackingNumber",
            "sellerDeliveryInfo.trackingUrl",
            "sellerDeliveryInfo.shippedAt",
            "sellerDeliveryInfo.estimatedDeliveryAt",
            "sellerDeliveryInfo.notes",
            "serviceInfo",
            "serviceInfo.location",
            "serviceInfo.remote",
            "serviceInfo.scheduledStart",
            "serviceInfo.scheduledEnd",
            "serviceInfo.hoursEstimated",
            "serviceInfo.requirements",
            "specifications",
            "specifications.key",
            "specifications.value",
            "specifications.unit",
            "preferredSellers",
            "preferredSellers.sellerId",
            "preferredSellers.addedAt",
            "preferredSellers.note",
            "deliveryAttempts",
            "deliveryAttempts.attemptNo",
            "deliveryAttempts.carrier",
            "deliveryAttempts.trackingNumber",
            "deliveryAttempts.status",
            "deliveryAttempts.attemptedAt",
            "deliveryAttempts.failureReason",
            "deliveryAttempts.proofUrls",
            "statusHistory",
            "statusHistory.status",
            "statusHistory.at",
            "statusHistory.by",
        ],
    },
    Collection {
        model: "SellerOffer",
        collection: "selleroffers",
        timestamps: (true, true),
        paths: &[
            "purchaseRequestId",
            "sellerId",
            "price",
            "offerCurrency",
            "shippingCost",
            "message",
            "status",
            "validUntil",
            "deliveryTerms",
            "deliveryTerms.method",
            "deliveryTerms.estimatedDays",
            "deliveryTerms.carrier",
            "deliveryTerms.shipsFrom",
            "warranty",
            "warranty.months",
            "warranty.provider",
            "warranty.terms",
            "images",
            "acceptedAt",
            "rejectedAt",
            "rejectionReason",
        ],
    },
    Collection {
        model: "Payment",
        collection: "payments",
        timestamps: (true, true),
        paths: &[
            "purchaseRequestId",
            "sellerOfferId",
            "sellerId",
            "buyerId",
            "provider",
            "providerPaymentId",
            "requestId",
            "status",
            "amount",
            "currency",
            "feeAmount",
            "amlFeeAmount",
            "netAmount",
            "exchangeRate",
            "chain",
            "destinationAddress",
            "txHash",
            "blockchain",
            "blockchain.network",
            "blockchain.txHash",
            "blockchain.blockNumber",
            "blockchain.confirmations",
            "blockchain.fromAddress",
            "blockchain.toAddress",
            "blockchain.tokenContract",
            "blockchain.rawAmount",
            "blockchain.detectedAt",
            "quote",
            "quote.quoteId",
            "quote.baseCurrency",
            "quote.quoteCurrency",
            "quote.rate",
            "quote.amountIn",
            "quote.amountOut",
            "quote.source",
            "quote.expiresAt",
            "quote.createdAt",
            "metadata",
            "webhookEvents",
            "webhookEvents.event",
            "webhookEvents.receivedAt",
            "webhookEvents.payload",
            "confirmedAt",
            "heldAt",
            "releasedAt",
            "refundedAt",
            "failedAt",
            "failureReason",
            "expiresAt",
        ],
    },
    Collection {
        model: "FundsLedgerEntry",
        collection: "fundsledgerentries",
        timestamps: (true, false),
        paths: &[
            "purchaseRequestId",
            "paymentId",
            "createdBy",
            "accountType",
            "accountId",
            "entryType",
            "direction",
            "amount",
            "currency",
            "onchainAmount",
            "balanceAfter",
            "reversesEntryId",
            "idempotencyKey",
            "description",
            "metadata",
            "occurredAt",
        ],
    },
    Collection {
        model: "Dispute",
        collection: "disputes",
        timestamps: (true, true),
        paths: &[
            "purchaseRequestId",
            "paymentId",
            "openedBy",
            "againstUserId",
            "adminId",
            "chatId",
            "reason",
            "description",
            "status",
            "priority",
            "amountDisputed",
            "evidence",
            "evidence.uploadedBy",
            "evidence.kind",
            "evidence.url",
            "evidence.note",
            "evidence.uploadedAt",
            "messages",
            "messages.authorId",
            "messages.body",
            "messages.internal",
            "messages.sentAt",
            "timeline",
            "timeline.action",
            "timeline.actorId",
            "timeline.fromStatus",
            "timeline.toStatus",
            "timeline.note",
            "timeline.at",
            "adminNotes",
            "adminNotes.adminId",
            "adminNotes.note",
            "adminNotes.at",
            "resolution",
            "resolution.outcome",
            "resolution.buyerAmount",
            "resolution.sellerAmount",
            "resolution.decidedBy",
            "resolution.decidedAt",
            "resolution.summary",
            "dueAt",
            "resolvedAt",
        ],
    },
    Collection {
        model: "Category",
        collection: "categories",
        timestamps: (true, true),
        paths: &[
            "name",
            "slug",
            "description",
            "parentId",
            "icon",
            "sortOrder",
            "isActive",
            "attributes",
            "attributes.key",
            "attributes.label",
            "attributes.type",
            "attributes.options",
        ],
    },
    Collection {
        model: "ShopSettings",
        collection: "shopsettings",
        timestamps: (true, true),
        paths: &[
            "sellerId",
            "shopName",
            "description",
            "logoUrl",
            "bannerUrl",
            "reviewsEnabled",
            "autoAcceptOffers",
            "vacationMode",
            "vacationMessage",
            "paymentRails",
            "paymentRails.rail",
            "paymentRails.currency",
            "paymentRails.address",
            "paymentRails.enabled",
            "payoutAddress",
            "payoutChain",
            "returnPolicy",
            "socialLinks",
        ],
    },
    Collection {
        model: "LevelConfig",
        collection: "levelconfigs",
        timestamps: (true, true),
        paths: &[
            "level",
            "name",
            "minPoints",
            "maxPoints",
            "feeDiscountPercent",
            "badgeIcon",
            "perks",
            "isActive",
        ],
    },
    Collection {
        model: "ConfigSetting",
        collection: "configsettings",
        timestamps: (true, true),
        paths: &[
            "key",
            "value",
            "valueType",
            "category",
            "description",
            "isSecret",
            "updatedBy",
        ],
    },
    Collection {
        model: "ConfigSettingHistory",
        collection: "configsettinghistories",
        timestamps: (false, false),
        paths: &[
            "settingId",
            "key",
            "oldValue",
            "newValue",
            "changedBy",
            "reason",
            "changedAt",
        ],
    },
    Collection {
        model: "Address",
        collection: "addresses",
        timestamps: (true, true),
        paths: &[
            "userId",
            "label",
            "addressType",
            "fullName",
            "phone",
            "line1",
            "line2",
            "city",
            "state",
            "postalCode",
            "country",
            // GeoJSON point: `type` is a nested path here, not the Mongoose type keyword.
            "location",
            "location.type",
            "location.coordinates",
            "isPrimary",
        ],
    },
    Collection {
        model: "Review",
        collection: "reviews",
        timestamps: (true, true),
        paths: &[
            "reviewerId",
            "subjectType",
            "subjectId",
            "purchaseRequestId",
            "rating",
            "title",
            "comment",
            "pros",
            "cons",
            "isPublished",
            "isVerifiedPurchase",
            "sellerReply",
            "sellerReply.body",
            "sellerReply.repliedAt",
            "helpfulCount",
        ],
    },
    Collection {
        model: "BlogPost",
        collection: "blogposts",
        timestamps: (true, true),
        paths: &[
            "title",
            "slug",
            "excerpt",
            "content",
            "coverImageUrl",
            "author",
            "author.userId",
            "author.name",
            "author.avatarUrl",
            "author.bio",
            "videos",
            "videos.url",
            "videos.provider",
            "videos.title",
            "videos.durationSec",
            "seo",
            "seo.metaTitle",
            "seo.metaDescription",
            "seo.keywords",
            "seo.canonicalUrl",
            "seo.ogImageUrl",
            "tags",
            "status",
            "publishedAt",
            "readingTimeMin",
            "viewCount",
            "locale",
        ],
    },
    Collection {
        model: "PointTransaction",
        collection: "pointtransactions",
        timestamps: (true, false),
        paths: &[
            "userId",
            "type",
            "points",
            "balanceAfter",
            "reason",
            "referenceId",
            "referenceType",
            "referredUserId",
            "metadata",
        ],
    },
    Collection {
        model: "Notification",
        collection: "notifications",
        timestamps: (true, true),
        paths: &[
            "userId",
            "type",
            "title",
            "body",
            "link",
            "data",
            "channels",
            "isRead",
            "readAt",
            "deliveredAt",
        ],
    },
    Collection {
        model: "TrezorAccount",
        collection: "trezoraccounts",
        timestamps: (true, true),
        paths: &[
            "label",
            "xpub",
            "accountIndex",
            "chain",
            "derivationPathPrefix",
            "nextIndex",
            "isActive",
            "ownerId",
            "addresses",
            "addresses.path",
            "addresses.index",
            "addresses.address",
            "addresses.chain",
            "addresses.used",
            "addresses.assignedTo",
            "addresses.balance",
            "addresses.createdAt",
        ],
    },
    Collection {
        model: "RequestTemplate",
        collection: "requesttemplates",
        timestamps: (true, true),
        paths: &[
            "sellerId",
            "categoryId",
            "title",
            "description",
            "type",
            "basePrice",
            "currency",
            "maxUsage",
            "usageCount",
            "isActive",
            "images",
            "tags",
            "specifications",
            "specifications.key",
            "specifications.value",
            "specifications.unit",
            "variants",
            "variants.name",
            "variants.sku",
            "variants.priceDelta",
            "variants.stock",
            "options",
            "options.name",
            "options.values",
            "options.required",
            "faqs",
            "faqs.question",
            "faqs.answer",
            "deliveryOptions",
            "deliveryOptions.method",
            "deliveryOptions.cost",
            "deliveryOptions.estimatedDays",
            "customFields",
            "customFields.label",
            "customFields.fieldType",
            "customFields.required",
            "customFields.choices",
        ],
    },
    Collection {
        model: "DerivedDestination",
        collection: "deriveddestinations",
        timestamps: (true, true),
        paths: &[
            "kind",
            "sellerId",
            "sellerOfferId",
            "paymentId",
            "trezorAccountId",
            "derivationIndex",
            "derivationPath",
            "address",
            "chain",
            "tokenContract",
            "status",
            "expectedAmount",
            "receivedAmount",
            "sweeps",
            "sweeps.txHash",
            "sweeps.amount",
            "sweeps.gasUsed",
            "sweeps.toAddress",
            "sweeps.status",
            "sweeps.sweptAt",
            "sweeps.confirmedAt",
            "allocatedAt",
            "lastCheckedAt",
        ],
    },
    Collection {
        model: "Chat",
        collection: "chats",
        timestamps: (true, true),
        paths: &[
            "type",
            "purchaseRequestId",
            "disputeId",
            "title",
            "participants",
            "participants.userId",
            "participants.role",
            "participants.displayName",
            "participants.joinedAt",
            "participants.lastReadAt",
            "participants.muted",
            "messages",
            "messages.author",
            "messages.kind",
            "messages.body",
            "messages.attachments",
            "messages.attachments.kind",
            "messages.attachments.url",
            "messages.attachments.name",
            "messages.attachments.sizeBytes",
            "messages.attachments.mimeType",
            "messages.attachments.metadata",
            "messages.attachments.metadata.width",
            "messages.attachments.metadata.height",
            "messages.attachments.metadata.durationSec",
            "messages.attachments.metadata.thumbnailUrl",
            "messages.reactions",
            "messages.reactions.userId",
            "messages.reactions.emoji",
            "messages.reactions.at",
            "messages.readBy",
            "messages.readBy.userId",
            "messages.readBy.at",
            "messages.replyTo",
            "messages.editedAt",
            "messages.deletedAt",
            "messages.createdAt",
            "lastMessageAt",
            "lastMessagePreview",
            "isArchived",
        ],
    },
    Collection {
        model: "TelegramSession",
        collection: "telegramsessions",
        timestamps: (true, true),
        paths: &[
            "telegramUserId",
            "chatId",
            "userId",
            "state",
            "context",
            "initDataHash",
            "authDate",
            "lastActivityAt",
            "expiresAt",
        ],
    },
    Collection {
        model: "TelegramLink",
        collection: "telegramlinks",
        timestamps: (true, true),
        paths: &[
            "userId",
            "telegramUserId",
            "telegramUsername",
            "firstName",
            "lastName",
            "photoUrl",
            "languageCode",
            "isPremium",
            "linkedAt",
            "unlinkedAt",
        ],
    },
    Collection {
        model: "TempVerification",
        collection: "tempverifications",
        timestamps: (true, true),
        paths: &[
            "purpose",
            "userId",
            "email",
            "telegramUserId",
            "codeHash",
            "attempts",
            "maxAttempts",
            "payload",
            "consumedAt",
            "expiresAt",
        ],
    },
];

/// Every Mongoose `Schema.Types.Decimal128` path: (model, path). Amounts, prices and rates alike.
const DECIMAL128: &[(&str, &str)] = &[
    ("PurchaseRequest", "budget"),
    ("PurchaseRequest", "budgetMin"),
    ("PurchaseRequest", "budgetMax"),
    ("PurchaseRequest", "deliveryInfo.shippingCost"),
    ("SellerOffer", "price"),
    ("SellerOffer", "shippingCost"),
    ("Payment", "amount"),
    ("Payment", "feeAmount"),
    ("Payment", "amlFeeAmount"),
    ("Payment", "netAmount"),
    ("Payment", "exchangeRate"),
    ("Payment", "quote.rate"),
    ("Payment", "quote.amountIn"),
    ("Payment", "quote.amountOut"),
    ("FundsLedgerEntry", "amount"),
    ("FundsLedgerEntry", "balanceAfter"),
    ("Dispute", "amountDisputed"),
    ("Dispute", "resolution.buyerAmount"),
    ("Dispute", "resolution.sellerAmount"),
    ("RequestTemplate", "basePrice"),
    ("RequestTemplate", "variants.priceDelta"),
    ("RequestTemplate", "deliveryOptions.cost"),
    ("DerivedDestination", "expectedAmount"),
];

fn catalogue() -> Catalogue {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../models"));
    let validated =
        schemac::validate_dir(dir).unwrap_or_else(|e| panic!("cannot load {}: {e}", dir.display()));
    match validated.catalogue {
        Some(cat) => cat,
        None => panic!(
            "the catalogue in {} is invalid:\n{}",
            dir.display(),
            schemac::diag::render_human(&validated.diagnostics, &validated.sources, false)
        ),
    }
}

fn set_diff<T: Ord + std::fmt::Debug>(expected: &BTreeSet<T>, actual: &BTreeSet<T>) -> String {
    let missing: Vec<&T> = expected.difference(actual).collect();
    let unexpected: Vec<&T> = actual.difference(expected).collect();
    format!("missing: {missing:?}\nunexpected: {unexpected:?}")
}

#[test]
fn catalogue_has_the_23_collections() {
    let cat = catalogue();
    let expected: BTreeSet<(&str, &str)> =
        INVENTORY.iter().map(|c| (c.model, c.collection)).collect();
    assert_eq!(expected.len(), 23, "the inventory lists 23 collections");
    let actual: BTreeSet<(&str, &str)> = cat
        .models
        .iter()
        .map(|m| (m.name.as_str(), m.collection.as_str()))
        .collect();
    assert_eq!(cat.models.len(), actual.len(), "a model is declared twice");
    assert!(
        actual == expected,
        "(model, collection) pairs differ from the Mongoose models\n{}",
        set_diff(&expected, &actual)
    );
}

#[test]
fn catalogue_yields_exactly_the_planned_tables() {
    let schema = schemac::plan::plan(&catalogue());
    let expected: BTreeSet<&str> = [
        "users",
        "user_passkeys",
        "user_refresh_tokens",
        "telegram_links",
        "telegram_sessions",
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
        "payments",
        "payment_quotes",
        "funds_ledger_entries",
        "derived_destinations",
        "derived_destination_sweeps",
        "point_transactions",
        "trezor_accounts",
        "trezor_derived_addresses",
        "config_settings",
        "config_setting_history",
        "shop_settings",
        "addresses",
        "reviews",
        "blog_posts",
        "notifications",
        "disputes",
        "chats",
        "chat_participants",
        "chat_messages",
        "chat_message_attachments",
        "chat_message_reactions",
        "chat_message_reads",
        "level_configs",
        "temp_verifications",
    ]
    .into_iter()
    .collect();
    assert_eq!(expected.len(), 40);
    let names: Vec<&str> = schema.tables.iter().map(|t| t.name.as_str()).collect();
    let actual: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(
        names.len(),
        actual.len(),
        "a table name is used twice: {names:?}"
    );
    assert!(
        actual == expected,
        "the plan's tables differ from the migration plan\n{}",
        set_diff(&expected, &actual)
    );
}

/// The ancestors of a dotted path, nearest last: `a.b.c` -> `a`, `a.b`.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('.').map(move |(i, _)| &path[..i])
}

#[test]
fn every_mongoose_path_is_mapped_or_skipped() {
    // The inventory itself: no duplicates, and every subfield's parent is listed.
    for c in INVENTORY {
        let paths: BTreeSet<&str> = c.paths.iter().copied().collect();
        assert_eq!(
            paths.len(),
            c.paths.len(),
            "{}: a path repeats",
            c.collection
        );
        for p in c.paths {
            for a in ancestors(p) {
                assert!(paths.contains(a), "{}: {p} without {a}", c.collection);
            }
        }
    }

    let json = schemac::inspect::inspect(&catalogue());
    let doc: Value = serde_json::from_str(&json).expect("inspect prints JSON");
    let models = doc["models"].as_array().expect("inspect has models[]");

    let mut missing: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut unexpected: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut no_reason: Vec<String> = Vec::new();
    let mut timestamps: Vec<String> = Vec::new();
    for c in INVENTORY {
        let Some(model) = models.iter().find(|m| m["collection"] == c.collection) else {
            missing
                .entry(c.collection)
                .or_default()
                .push("(the whole model)");
            continue;
        };
        // mongo_path -> storage
        let fields: BTreeMap<&str, &str> = model["fields"]
            .as_array()
            .expect("fields[]")
            .iter()
            .map(|f| {
                let path = f["mongo_path"].as_str().expect("mongo_path");
                let storage = f["storage"].as_str().expect("storage");
                if storage == "skipped" && f["reason"].as_str().is_none_or(|r| r.trim().is_empty())
                {
                    no_reason.push(format!("{}: {path}", c.collection));
                }
                (path, storage)
            })
            .collect();
        // A path below a jsonb column (or below a skipped object) is covered by that ancestor.
        let covered_by_ancestor = |p: &str| {
            ancestors(p).any(|a| matches!(fields.get(a), Some(&"jsonb") | Some(&"skipped")))
        };

        for p in c.paths {
            if !fields.contains_key(p) && !covered_by_ancestor(p) {
                missing.entry(c.collection).or_default().push(p);
            }
        }

        // The other way round: a declared path the Mongoose schema does not have is a typo.
        // Shapes documented inside a jsonb column are free to describe more than the schema.
        let inventory: BTreeSet<&str> = c.paths.iter().copied().collect();
        for (&p, &storage) in &fields {
            let system = matches!(storage, "id" | "version_key" | "timestamp");
            if !system && !inventory.contains(p) && !covered_by_ancestor(p) {
                unexpected
                    .entry(c.collection)
                    .or_default()
                    .push(format!("{p} ({storage})"));
            }
        }

        let stamp = |p: &str| fields.get(p) == Some(&"timestamp");
        let actual = (stamp("createdAt"), stamp("updatedAt"));
        if actual != c.timestamps {
            timestamps.push(format!(
                "{}: (createdAt, updatedAt) timestamps are {actual:?}, Mongoose has {:?}",
                c.collection, c.timestamps
            ));
        }
    }

    let mut report = String::new();
    for (collection, paths) in &missing {
        report += &format!("{collection}: not mapped: {}\n", paths.join(", "));
    }
    for (collection, paths) in &unexpected {
        report += &format!(
            "{collection}: not in the Mongoose schema: {}\n",
            paths.join(", ")
        );
    }
    for path in &no_reason {
        report += &format!("{path}: skipped without a reason\n");
    }
    for t in &timestamps {
        report += &format!("{t}\n");
    }
    assert!(
        report.is_empty(),
        "the catalogue does not cover the Mongoose schemas:\n{report}"
    );
}

fn column<'a>(schema: &'a Schema, table: &str, column: &str) -> &'a PlanColumn {
    let t = schema
        .tables
        .iter()
        .find(|t| t.name == table)
        .unwrap_or_else(|| panic!("the plan has no table {table}"));
    t.columns
        .iter()
        .find(|c| c.name == column)
        .unwrap_or_else(|| {
            let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
            panic!("the plan has no column {table}.{column}; {table} has {names:?}")
        })
}

#[test]
fn plan_rules_hold() {
    let schema = schemac::plan::plan(&catalogue());
    let mut errors: Vec<String> = Vec::new();
    let mut expect = |table: &str, col: &str, pg: &str, nullable: Option<bool>, what: &str| {
        let c = column(&schema, table, col);
        let actual = c.pg.to_string();
        if actual != pg {
            errors.push(format!("{what}: {table}.{col} is {actual}, expected {pg}"));
        }
        if let Some(n) = nullable
            && c.nullable != n
        {
            let say = |n: bool| if n { "NULL" } else { "NOT NULL" };
            errors.push(format!(
                "{what}: {table}.{col} is {}, expected {}",
                say(c.nullable),
                say(n)
            ));
        }
    };

    // Money: the named amounts are numeric(38,18).
    for (table, col) in [
        ("payments", "amount"),
        ("payments", "fee_amount"),
        ("payments", "aml_fee_amount"),
        ("payments", "net_amount"),
        ("payment_quotes", "amount_in"),
        ("payment_quotes", "amount_out"),
        ("funds_ledger_entries", "amount"),
        ("funds_ledger_entries", "balance_after"),
        ("purchase_requests", "budget"),
        ("purchase_requests", "budget_min"),
        ("purchase_requests", "budget_max"),
        ("purchase_request_delivery_info", "shipping_cost"),
        ("seller_offers", "price"),
        ("seller_offers", "shipping_cost"),
        ("request_templates", "base_price"),
        ("disputes", "amount_disputed"),
        ("derived_destinations", "expected_amount"),
    ] {
        expect(table, col, "numeric(38,18)", None, "money");
    }

    // Telegram ids exceed 2^31.
    for (table, col) in [
        ("telegram_links", "telegram_user_id"),
        ("telegram_sessions", "telegram_user_id"),
        ("telegram_sessions", "chat_id"),
        ("users", "telegram_id"),
    ] {
        expect(table, col, "int8", None, "telegram id");
    }

    // Mixed references: kind / id / external_ref, the kind NOT NULL exactly when Mongoose requires.
    for (table, base, required) in [
        ("payments", "purchase_request", true),
        ("payments", "seller_offer", false),
        ("payments", "seller", true),
        ("funds_ledger_entries", "purchase_request", false),
        ("funds_ledger_entries", "payment", false),
        ("funds_ledger_entries", "created_by", true),
        ("derived_destinations", "seller", false),
        ("derived_destinations", "seller_offer", false),
        ("disputes", "chat", false),
    ] {
        let what = "polymorphic reference";
        expect(
            table,
            &format!("{base}_ref_kind"),
            "ref_kind",
            Some(!required),
            what,
        );
        expect(table, &format!("{base}_id"), "uuid", Some(true), what);
        expect(
            table,
            &format!("{base}_external_ref"),
            "text",
            Some(true),
            what,
        );
    }

    // Every column whose source is a Decimal128 path, wherever the models put it, is money.
    let decimal: BTreeSet<(&str, &str)> = DECIMAL128.iter().copied().collect();
    let mut seen: BTreeSet<(&str, &str)> = BTreeSet::new();
    for t in &schema.tables {
        for c in &t.columns {
            let key = (t.model.as_str(), c.source.as_str());
            if let Some(&k) = decimal.get(&key) {
                seen.insert(k);
                if c.pg.to_string() != "numeric(38,18)" {
                    errors.push(format!(
                        "Decimal128 {}.{}: {}.{} is {}, expected numeric(38,18)",
                        key.0, key.1, t.name, c.name, c.pg
                    ));
                }
            }
        }
    }
    // Those not stored in a column of their own must sit inside a jsonb column.
    for &(model, path) in decimal.difference(&seen) {
        let inside_jsonb = ancestors(path).any(|a| {
            schema.tables.iter().any(|t| {
                t.model == model
                    && t.columns
                        .iter()
                        .any(|c| c.source == a && c.pg.to_string() == "jsonb")
            })
        });
        if !inside_jsonb {
            errors.push(format!(
                "Decimal128 {model}.{path} has no column of its own and no jsonb ancestor"
            ));
        }
    }

    assert!(
        errors.is_empty(),
        "plan rules broken:\n{}",
        errors.join("\n")
    );
}
