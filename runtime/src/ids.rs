//! Row keys: a MongoDB ObjectId in, a time-ordered UUID out (and back), plus stable UUIDs for
//! child rows whose array items have no `_id`.
//!
//! # ObjectId as UUIDv7
//!
//! An ObjectId is 12 bytes: a 4-byte big-endian timestamp in seconds, then 8 bytes (5 random,
//! 3 counter) that we call the tail. [`uuid_from_object_id`] lays it out as a RFC 9562 UUIDv7:
//!
//! | bits    | field        | content                                   |
//! |---------|--------------|-------------------------------------------|
//! | 0..48   | unix_ts_ms   | ObjectId seconds × 1000                    |
//! | 48..52  | ver          | `0111` (7)                                 |
//! | 52..64  | rand_a       | the tail's 12 high bits                  |
//! | 64..66  | var          | `10`                                       |
//! | 66..118 | rand_b       | the tail's 52 low bits                   |
//! | 118..128| rand_b       | [`MARKER`], a fixed 10-bit check value      |
//!
//! Sorting such UUIDs (as bytes, or as PostgreSQL `uuid`) sorts by ObjectId: timestamp first,
//! then tail. [`object_id_from_uuid`] reverses the layout; it answers `None` unless the version,
//! variant, marker and whole-second timestamp all match, so about one random UUIDv7 in a million
//! passes the check by chance: it tells derived ids from foreign ones, it does not prove origin.

use bson::oid::ObjectId;
use uuid::Uuid;

/// The 10 low bits of every UUID derived from an ObjectId.
pub const MARKER: u128 = 0b10_1101_0011;

/// Mask of the 52 tail bits stored in `rand_b`.
const LOW_TAIL_MASK: u128 = (1 << 52) - 1;

/// The UUIDv7 that stands for `oid`: deterministic, reversible and ordered like ObjectIds.
pub fn uuid_from_object_id(oid: &ObjectId) -> Uuid {
    let bytes = oid.bytes();
    let seconds = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let tail = u64::from_be_bytes([
        bytes[4], bytes[5], bytes[6], bytes[7], bytes[8], bytes[9], bytes[10], bytes[11],
    ]);
    let millis = u128::from(seconds) * 1000;
    let tail = u128::from(tail);
    let bits = (millis << 80)
        | (0x7 << 76)
        | ((tail >> 52) << 64)
        | (0b10 << 62)
        | ((tail & LOW_TAIL_MASK) << 10)
        | MARKER;
    Uuid::from_u128(bits)
}

/// The ObjectId that [`uuid_from_object_id`] turned into `uuid`, or `None` when `uuid` was not
/// made that way (wrong version, variant or marker, or a timestamp that is not whole seconds).
pub fn object_id_from_uuid(uuid: &Uuid) -> Option<ObjectId> {
    let bits = uuid.as_u128();
    let version = (bits >> 76) & 0xf;
    let variant = (bits >> 62) & 0b11;
    if version != 0x7 || variant != 0b10 || bits & 0x3ff != MARKER {
        return None;
    }
    let millis = bits >> 80;
    if !millis.is_multiple_of(1000) {
        return None;
    }
    let seconds = u32::try_from(millis / 1000).ok()?;
    let high_tail = (bits >> 64) & 0xfff;
    let low_tail = (bits >> 10) & LOW_TAIL_MASK;
    let tail = u64::try_from((high_tail << 52) | low_tail).ok()?;
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&seconds.to_be_bytes());
    bytes[4..].copy_from_slice(&tail.to_be_bytes());
    Some(ObjectId::from_bytes(bytes))
}

/// The 24 lowercase hex digits of `oid`, as [`ObjectId::to_hex`] writes them, without its
/// character-by-character collect (several times faster; it runs a few times per document).
pub fn object_id_hex(oid: &ObjectId) -> String {
    let mut hex = String::with_capacity(24);
    push_object_id_hex(&mut hex, oid);
    hex
}

/// Appends the 24 lowercase hex digits of `oid` to `out` (the jsonb writer puts them in place).
pub fn push_object_id_hex(out: &mut String, oid: &ObjectId) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for byte in oid.bytes() {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
}

/// A stable UUID for the `ordinal`-th item (0-based) of the array at Mongo path `path` inside the
/// row `parent`, for items that have no `_id` of their own.
///
/// It is a UUIDv5 (SHA-1) with `parent` as the namespace and `path`, a zero byte and the ordinal
/// (4 bytes, big-endian) as the name: the same document always yields the same child keys, so a
/// re-run of the migration is idempotent. Mongo keys cannot contain a zero byte, so distinct
/// (path, ordinal) pairs never share a name. Child UUIDs are not time-ordered; order children by
/// their ordinal column.
///
/// The SHA-1 is the `sha1` crate's, which uses the CPU's SHA instructions where it has them:
/// `Uuid::new_v5`'s own (`sha1_smol`, portable code) was 15-18% of the transform of a chat,
/// whose messages have no `_id`. The result is the same UUID (tested against `Uuid::new_v5`).
pub fn uuid_for_child(parent: Uuid, path: &str, ordinal: u32) -> Uuid {
    let len = path.len() + 5;
    let fill = |name: &mut [u8]| {
        name[..path.len()].copy_from_slice(path.as_bytes());
        name[path.len()] = 0;
        name[path.len() + 1..].copy_from_slice(&ordinal.to_be_bytes());
    };
    // Table names are short: the name is built on the stack, without an allocation per row.
    let mut small = [0_u8; 64];
    if len <= small.len() {
        fill(&mut small[..len]);
        return uuid_v5(&parent, &small[..len]);
    }
    let mut name = vec![0_u8; len];
    fill(&mut name);
    uuid_v5(&parent, &name)
}

/// The UUIDv5 of `name` in `namespace` (RFC 9562, section 5.5), as `Uuid::new_v5` makes it.
fn uuid_v5(namespace: &Uuid, name: &[u8]) -> Uuid {
    use sha1::{Digest, Sha1};
    let hash = Sha1::new()
        .chain_update(namespace.as_bytes())
        .chain_update(name)
        .finalize();
    let mut bytes = [0_u8; 16];
    bytes.copy_from_slice(&hash[..16]);
    uuid::Builder::from_sha1_bytes(bytes).into_uuid()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use uuid::{Variant, Version};

    use super::*;

    #[test]
    fn derived_uuid_is_a_v7_with_the_objectid_time() {
        let oid = ObjectId::parse_str("650f1c2e9d1b2a3c4d5e6f70").expect("valid hex");
        let uuid = uuid_from_object_id(&oid);
        assert_eq!(uuid.get_version(), Some(Version::SortRand));
        assert_eq!(uuid.get_variant(), Variant::RFC4122);
        let (seconds, nanos) = uuid
            .get_timestamp()
            .map(|t| t.to_unix())
            .unwrap_or_default();
        assert_eq!(seconds, 0x650f_1c2e);
        assert_eq!(nanos, 0);
        assert_eq!(object_id_from_uuid(&uuid), Some(oid));
    }

    #[test]
    fn foreign_uuids_are_not_mistaken_for_derived_ones() {
        let oid = ObjectId::parse_str("650f1c2e9d1b2a3c4d5e6f70").expect("valid hex");
        let bits = uuid_from_object_id(&oid).as_u128();
        assert_eq!(object_id_from_uuid(&Uuid::nil()), None);
        assert_eq!(
            object_id_from_uuid(&Uuid::from_u128(bits ^ 1)),
            None,
            "marker"
        );
        assert_eq!(
            object_id_from_uuid(&Uuid::from_u128(bits + (1 << 80))),
            None,
            "milliseconds"
        );
        let v4 = Uuid::from_u128((bits & !(0xf << 76)) | (0x4 << 76));
        assert_eq!(object_id_from_uuid(&v4), None, "version");
    }

    #[test]
    fn child_uuids_of_long_paths_hash_the_same_name() {
        let parent = uuid_from_object_id(&ObjectId::from_bytes([7; 12]));
        for path in ["m", &"p".repeat(59), &"p".repeat(60), &"q".repeat(200)] {
            let mut name = path.as_bytes().to_vec();
            name.push(0);
            name.extend_from_slice(&3_u32.to_be_bytes());
            assert_eq!(
                uuid_for_child(parent, path, 3),
                Uuid::new_v5(&parent, &name)
            );
        }
    }

    #[test]
    fn child_uuids_are_stable_and_distinct() {
        let parent = uuid_from_object_id(&ObjectId::from_bytes([7; 12]));
        let first = uuid_for_child(parent, "messages", 0);
        assert_eq!(first, uuid_for_child(parent, "messages", 0));
        assert_ne!(first, uuid_for_child(parent, "messages", 1));
        assert_ne!(first, uuid_for_child(parent, "attachments", 0));
        assert_ne!(first, uuid_for_child(Uuid::nil(), "messages", 0));
        assert_eq!(first.get_version(), Some(Version::Sha1));
    }

    proptest! {
        /// Any parent, any path (short ones on the stack, long ones not), any ordinal: the UUID
        /// `uuid`'s own `new_v5` makes of the same name.
        #[test]
        fn child_uuids_are_uuid_s_own_v5(parent in any::<u128>(), path in "\\PC{0,80}", ordinal in any::<u32>()) {
            let parent = Uuid::from_u128(parent);
            let mut name = path.as_bytes().to_vec();
            name.push(0);
            name.extend_from_slice(&ordinal.to_be_bytes());
            prop_assert_eq!(uuid_for_child(parent, &path, ordinal), Uuid::new_v5(&parent, &name));
        }

        #[test]
        fn hex_is_the_objectid_hex(bytes in any::<[u8; 12]>()) {
            let oid = ObjectId::from_bytes(bytes);
            prop_assert_eq!(object_id_hex(&oid), oid.to_hex());
        }

        #[test]
        fn round_trips_every_objectid(bytes in any::<[u8; 12]>()) {
            let oid = ObjectId::from_bytes(bytes);
            prop_assert_eq!(object_id_from_uuid(&uuid_from_object_id(&oid)), Some(oid));
        }

        #[test]
        fn uuid_order_is_objectid_order(a in any::<[u8; 12]>(), b in any::<[u8; 12]>()) {
            let (ua, ub) = (
                uuid_from_object_id(&ObjectId::from_bytes(a)),
                uuid_from_object_id(&ObjectId::from_bytes(b)),
            );
            prop_assert_eq!(ua.cmp(&ub), a.cmp(&b));
            prop_assert_eq!(ua.as_bytes().cmp(ub.as_bytes()), a.cmp(&b));
        }

        #[test]
        fn same_second_ids_keep_their_order(seconds in any::<u32>(), x in any::<u64>(), y in any::<u64>()) {
            let make = |tail: u64| {
                let mut bytes = [0u8; 12];
                bytes[..4].copy_from_slice(&seconds.to_be_bytes());
                bytes[4..].copy_from_slice(&tail.to_be_bytes());
                uuid_from_object_id(&ObjectId::from_bytes(bytes))
            };
            prop_assert_eq!(make(x).cmp(&make(y)), x.cmp(&y));
        }
    }
}
