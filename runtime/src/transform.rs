//! What a generated `from_mongo` / `to_mongo` needs besides the value readers of [`bsonval`]:
//! the per-document context (collection, `_id`, strict or lenient), the id_map row it records,
//! the readers for nulls, arrays, references and jsonb, and their way back to BSON.
//!
//! [`bsonval`]: crate::bsonval

use std::cell::OnceCell;

use bson::oid::ObjectId;
use bson::{Bson, RawBsonRef, RawDocument, RawJavaScriptCodeWithScopeRef};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::bsonval;
use crate::error::{TransformError, TransformErrorKind, describe_id};
use crate::ids;
use crate::json::Json;
use crate::raw;

/// What happens to a key the catalogue does not declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// It is an error ([`TransformErrorKind::UnknownField`]).
    Strict,
    /// It is recorded in [`Context::unknown`] and the document goes on.
    Lenient,
}

/// One `id_map` row: a legacy ObjectId and the uuid its row got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdMapRow {
    /// The Mongo collection.
    pub collection: &'static str,
    /// The ObjectId (its 24 hex digits, as `id_map` stores them: [`IdMapRow::legacy_object_id`]).
    pub object_id: ObjectId,
    /// The row's uuid.
    pub id: Uuid,
}

impl IdMapRow {
    /// The ObjectId as `id_map.legacy_object_id` holds it: 24 lower-case hex digits.
    pub fn legacy_object_id(&self) -> String {
        ids::object_id_hex(&self.object_id)
    }
}

/// The state of one document's transform.
#[derive(Debug, Clone)]
pub struct Context {
    /// The collection.
    pub collection: &'static str,
    /// The document's ObjectId `_id`, once [`Context::read_id`] has read it: 12 bytes, its hex
    /// (for an error) and its time (for a `default: now` field) worked out only when asked for.
    id: Option<ObjectId>,
    /// When [`Context::created`] was first asked for, for a document without an ObjectId.
    asked: OnceCell<DateTime<Utc>>,
    /// Unknown keys: an error, or recorded.
    pub mode: Mode,
    /// Unknown keys met in lenient mode, as Mongo paths.
    pub unknown: Vec<String>,
    /// The document's id_map row, once the root's `_id` is recorded ([`Context::record_id`]).
    pub id_map: Option<IdMapRow>,
}

impl Context {
    /// A context for one document of `collection`. It does not look at the document: the
    /// reader of the root's `_id` calls [`Context::read_id`], and an error raised before that
    /// (an `_id` that is not the first key) gets its id from [`TransformError::locate`].
    pub fn new(collection: &'static str, mode: Mode) -> Context {
        Context {
            collection,
            id: None,
            asked: OnceCell::new(),
            mode,
            unknown: Vec::new(),
            id_map: None,
        }
    }

    /// Reads the root document's `_id`, an ObjectId, and keeps it for errors and
    /// [`Context::created`]. Any other `_id` is an error that names it.
    pub fn read_id(&mut self, value: RawBsonRef<'_>) -> Result<ObjectId, TransformError> {
        let oid = bsonval::as_object_id(value).map_err(|kind| {
            TransformError::new(self.collection, Some(describe_id(value)), "_id", kind)
        })?;
        self.id = Some(oid);
        Ok(oid)
    }

    /// The document's `_id` as error messages show it; `None` before [`Context::read_id`].
    pub fn id(&self) -> Option<String> {
        self.id.as_ref().map(ids::object_id_hex)
    }

    /// The time a missing `default: now` field gets: when the document was created, read from
    /// its ObjectId (what Mongoose would have stamped), so a transform is repeatable. Without
    /// an ObjectId read, the time of the first call, the same for every field of the document.
    pub fn created(&self) -> DateTime<Utc> {
        match &self.id {
            Some(oid) => {
                bsonval::datetime_from_bson(oid.timestamp()).unwrap_or_else(|_| Utc::now())
            }
            None => *self.asked.get_or_init(Utc::now),
        }
    }

    /// The error `kind` at `path` of this document.
    pub fn error<P: AsRef<str> + ?Sized>(
        &self,
        path: &P,
        kind: TransformErrorKind,
    ) -> TransformError {
        TransformError::new(self.collection, self.id(), path.as_ref(), kind)
    }

    /// A key the catalogue does not declare: an error in strict mode, recorded in lenient mode.
    pub fn unknown(&mut self, path: impl Into<String>) -> Result<(), TransformError> {
        let path = path.into();
        match self.mode {
            Mode::Strict => Err(self.error(&path, TransformErrorKind::UnknownField)),
            Mode::Lenient => {
                self.unknown.push(path);
                Ok(())
            }
        }
    }

    /// A required value, or [`TransformErrorKind::Missing`] at `path`.
    ///
    /// Here and in the readers below, `path` is only read when there is an error: a [`Joined`]
    /// path is not built on the way to a value.
    pub fn required<T, P: AsRef<str> + ?Sized>(
        &self,
        value: Option<T>,
        path: &P,
    ) -> Result<T, TransformError> {
        value.ok_or_else(|| self.error(path.as_ref(), TransformErrorKind::Missing))
    }

    /// Reads one value with `read`, mapping its error to `path`.
    pub fn read<'a, T, P: AsRef<str> + ?Sized>(
        &self,
        value: RawBsonRef<'a>,
        path: &P,
        read: impl FnOnce(RawBsonRef<'a>) -> Result<T, TransformErrorKind>,
    ) -> Result<T, TransformError> {
        read(value).map_err(|k| self.error(path.as_ref(), k))
    }

    /// Like [`Context::read`], but BSON `null` (and the deprecated `undefined`) is `None`.
    pub fn read_opt<'a, T, P: AsRef<str> + ?Sized>(
        &self,
        value: RawBsonRef<'a>,
        path: &P,
        read: impl FnOnce(RawBsonRef<'a>) -> Result<T, TransformErrorKind>,
    ) -> Result<Option<T>, TransformError> {
        if is_null(value) {
            return Ok(None);
        }
        self.read(value, path, read).map(Some)
    }

    /// Reads every element of an array with `read`, each error at `path.<index>`.
    pub fn read_array<'a, T, P: AsRef<str> + ?Sized>(
        &self,
        value: RawBsonRef<'a>,
        path: &P,
        mut read: impl FnMut(RawBsonRef<'a>) -> Result<T, TransformErrorKind>,
    ) -> Result<Vec<T>, TransformError> {
        let RawBsonRef::Array(items) = value else {
            return Err(self.error(path.as_ref(), mismatch("array", value)));
        };
        let item_path = |i: usize| item(path, i);
        let mut out = Vec::new();
        for (i, item) in raw::items(items).enumerate() {
            let item = item.map_err(|e| self.error(&item_path(i), e.into()))?;
            out.push(read(item).map_err(|k| self.error(&item_path(i), k))?);
        }
        Ok(out)
    }

    /// The subdocuments of an array of objects, with their index.
    pub fn documents<'a, P: AsRef<str> + ?Sized>(
        &self,
        value: RawBsonRef<'a>,
        path: &P,
    ) -> Result<Vec<&'a RawDocument>, TransformError> {
        let RawBsonRef::Array(items) = value else {
            return Err(self.error(path.as_ref(), mismatch("array", value)));
        };
        let item_path = |i: usize| item(path, i);
        let mut out = Vec::new();
        for (i, item) in raw::items(items).enumerate() {
            match item.map_err(|e| self.error(&item_path(i), e.into()))? {
                RawBsonRef::Document(d) => out.push(d),
                other => return Err(self.error(&item_path(i), mismatch("object", other))),
            }
        }
        Ok(out)
    }

    /// A subdocument.
    pub fn document<'a, P: AsRef<str> + ?Sized>(
        &self,
        value: RawBsonRef<'a>,
        path: &P,
    ) -> Result<&'a RawDocument, TransformError> {
        match value {
            RawBsonRef::Document(d) => Ok(d),
            other => Err(self.error(path.as_ref(), mismatch("object", other))),
        }
    }

    /// Records the document's id_map row: its `_id` and its root row's uuid.
    pub fn record_id(&mut self, oid: &ObjectId, id: Uuid) {
        self.id_map = Some(IdMapRow {
            collection: self.collection,
            object_id: *oid,
            id,
        });
    }
}

/// Whether a value is BSON null or undefined.
pub fn is_null(value: RawBsonRef<'_>) -> bool {
    matches!(value, RawBsonRef::Null | RawBsonRef::Undefined)
}

fn mismatch(expected: &str, found: RawBsonRef<'_>) -> TransformErrorKind {
    TransformErrorKind::TypeMismatch {
        expected: expected.into(),
        found: bsonval::describe(found),
    }
}

/// A reference: an ObjectId, or its 24 hex digits as a string (the interface-level
/// `ObjectId | string` of the migration plan, rule 2), as the uuid of the referenced row.
pub fn as_reference(value: RawBsonRef<'_>) -> Result<Uuid, TransformErrorKind> {
    match value {
        RawBsonRef::ObjectId(oid) => Ok(ids::uuid_from_object_id(&oid)),
        RawBsonRef::String(s) => ObjectId::parse_str(s)
            .map(|oid| ids::uuid_from_object_id(&oid))
            .map_err(|_| TransformErrorKind::BadReference {
                value: s.to_string(),
            }),
        other => Err(mismatch("objectId", other)),
    }
}

/// A polymorphic reference: `(kind, id, external_ref)` with kind `entity` for an ObjectId and
/// `template` for a string that is not one.
pub fn as_polymorphic(
    value: RawBsonRef<'_>,
) -> Result<(&'static str, Option<Uuid>, Option<String>), TransformErrorKind> {
    match value {
        RawBsonRef::ObjectId(oid) => Ok(("entity", Some(ids::uuid_from_object_id(&oid)), None)),
        RawBsonRef::String(s) => Ok(("template", None, Some(s.to_string()))),
        other => Err(mismatch("objectId or string", other)),
    }
}

/// The deepest nesting of documents and arrays in a jsonb value (a document or an array is one
/// level, a scalar none): MongoDB's limit for a whole document, so no stored document is refused.
/// [`as_json`] and [`json_to_bson`] recurse (the `bson` and `serde_json` conversions do), and a
/// crafted document could nest far deeper (10,000 levels fit in 80 KB) and overflow the stack;
/// the limit also keeps what is written within the 128 levels serde_json reads back from
/// Postgres (Extended JSON adds at most 2 levels: `{"$binary": {...}}`).
pub const MAX_JSON_DEPTH: usize = 100;

/// A value for a jsonb column: relaxed Extended JSON (mongoexport's default), which keeps dates
/// (`{"$date": ...}`), ObjectIds (`{"$oid": ...}`) and decimals (`{"$numberDecimal": ...}`),
/// as text. Deeper than [`MAX_JSON_DEPTH`] is [`TransformErrorKind::TooDeep`]; a key starting
/// with `$` is [`TransformErrorKind::DollarKey`] (Extended JSON has no way to tell it from a
/// type wrapper, so it could not be read back).
pub fn as_json(value: RawBsonRef<'_>) -> Result<Json, TransformErrorKind> {
    // The common case in one pass: well-formed, within the depth limit, no `$` key. Anything
    // else takes the checked way, which reports the error.
    let mut text = String::with_capacity(256);
    if write_relaxed_extjson(&mut text, value, 1).is_some() {
        return Ok(Json::from_trusted(text));
    }
    bson_depth_within(value, MAX_JSON_DEPTH)?;
    no_dollar_keys(value)?;
    let bson = Bson::try_from(value).map_err(TransformErrorKind::from)?;
    Ok(Json::from(&bson.into_relaxed_extjson()))
}

/// Writes what `Bson::try_from(value)?.into_relaxed_extjson()` serializes to (compact, as
/// `serde_json::to_string` writes it), straight from the raw bytes, for a value at nesting
/// `depth` (a document or an array at depth 1 is the top level): no intermediate `Bson` or
/// `serde_json::Value` tree. `None` when an element is malformed, when the nesting goes deeper
/// than [`MAX_JSON_DEPTH`], for a key starting with `$`, or for a JavaScript code with scope
/// (whose scope the depth check also follows), for the caller to take the checked `Bson` way.
/// The types not written here go through `Bson` one value at a time.
fn write_relaxed_extjson(out: &mut String, value: RawBsonRef<'_>, depth: usize) -> Option<()> {
    // `{"$tag":"text"}`, for texts that need no escaping (hex digits, RFC 3339, decimals).
    let tagged = |out: &mut String, tag: &str, text: &str| {
        out.push_str("{\"");
        out.push_str(tag);
        out.push_str("\":\"");
        out.push_str(text);
        out.push_str("\"}");
    };
    match value {
        RawBsonRef::Document(_) | RawBsonRef::Array(_) if depth > MAX_JSON_DEPTH => return None,
        RawBsonRef::Document(doc) => {
            out.push('{');
            for (i, element) in raw::elements(doc).enumerate() {
                let (key, value) = element.ok()?;
                if key.starts_with('$') {
                    return None;
                }
                if i > 0 {
                    out.push(',');
                }
                push_json_string(out, key);
                out.push(':');
                write_relaxed_extjson(out, value, depth + 1)?;
            }
            out.push('}');
        }
        RawBsonRef::Array(items) => {
            out.push('[');
            for (i, item) in raw::items(items).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_relaxed_extjson(out, item.ok()?, depth + 1)?;
            }
            out.push(']');
        }
        RawBsonRef::String(s) => push_json_string(out, s),
        RawBsonRef::Boolean(b) => out.push_str(if b { "true" } else { "false" }),
        RawBsonRef::Null => out.push_str("null"),
        RawBsonRef::Int32(v) => push_integer(out, v.into()),
        RawBsonRef::Int64(v) => push_integer(out, v),
        // serde_json's own printing (ryu), for the same digits as its `Value`.
        RawBsonRef::Double(v) if v.is_finite() => out.push_str(&serde_json::to_string(&v).ok()?),
        RawBsonRef::ObjectId(oid) => {
            out.push_str("{\"$oid\":\"");
            ids::push_object_id_hex(out, &oid);
            out.push_str("\"}");
        }
        RawBsonRef::DateTime(date) => match rfc3339(date) {
            Some(text) => tagged(out, "$date", &text),
            None => out.push_str(&Bson::DateTime(date).into_relaxed_extjson().to_string()),
        },
        RawBsonRef::Decimal128(d) => {
            tagged(out, "$numberDecimal", &crate::numeric::decimal128_string(d))
        }
        RawBsonRef::JavaScriptCodeWithScope(_) => return None,
        other => out.push_str(
            &Bson::try_from(other)
                .ok()?
                .into_relaxed_extjson()
                .to_string(),
        ),
    }
    Some(())
}

/// `s` as a JSON string, escaped as serde_json escapes it: `"` and `\\`, the short forms of
/// backspace, form feed, newline, carriage return and tab, `\u00xx` for the other control
/// characters; everything else as it is.
fn push_json_string(out: &mut String, s: &str) {
    /// Per byte: 0 when it is written as it is, else the letter of its escape (`u`: `\u00xx`).
    const ESCAPE: [u8; 256] = {
        let mut table = [0_u8; 256];
        let mut byte = 0;
        while byte < 0x20 {
            table[byte] = b'u';
            byte += 1;
        }
        table[0x08] = b'b';
        table[0x09] = b't';
        table[0x0a] = b'n';
        table[0x0c] = b'f';
        table[0x0d] = b'r';
        table[b'"' as usize] = b'"';
        table[b'\\' as usize] = b'\\';
        table
    };
    /// Whether any of 8 bytes is a control character, `"` or `\\` (exact, by the "has a byte
    /// less than n" and "has a zero byte" word tricks).
    fn any_to_escape(word: u64) -> bool {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH != 0;
        word.wrapping_sub(ONES * 0x20) & !word & HIGH != 0
            || has_zero(word ^ (ONES * u64::from(b'"')))
            || has_zero(word ^ (ONES * u64::from(b'\\')))
    }
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Eight bytes at a time while there is nothing to escape: most text.
        if let Some(word) = bytes.get(i..i + 8) {
            let word = u64::from_le_bytes(word.try_into().expect("8 bytes"));
            if !any_to_escape(word) {
                i += 8;
                continue;
            }
        }
        let byte = bytes[i];
        let escape = ESCAPE[usize::from(byte)];
        if escape == 0 {
            i += 1;
            continue;
        }
        // `i` is at an ASCII byte, so both slices end on character boundaries.
        out.push_str(&s[start..i]);
        out.push('\\');
        match escape {
            b'u' => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("u00");
                out.push(char::from(HEX[usize::from(byte >> 4)]));
                out.push(char::from(HEX[usize::from(byte & 0xf)]));
            }
            letter => out.push(char::from(letter)),
        }
        start = i + 1;
        i += 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// An integer in decimal, without the formatting machinery.
fn push_integer(out: &mut String, value: i64) {
    let mut digits = [0_u8; 20];
    let mut at = digits.len();
    let mut rest = value.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if value < 0 {
        out.push('-');
    }
    out.extend(digits[at..].iter().map(|&d| char::from(d)));
}

/// The last millisecond of year 9999, `9999-12-31T23:59:59.999Z`.
const MAX_RFC3339_MILLIS: i64 = 253_402_300_799_999;

/// A BSON date as relaxed Extended JSON writes it when it can (from 1970 to year 9999): RFC 3339
/// in UTC, the milliseconds after a point only when not zero and without their trailing zeros
/// (`2024-03-01T00:00:00.12Z`), as the `time` crate formats it for `bson`. `None` outside that
/// range (a `$numberLong` there).
fn rfc3339(date: bson::DateTime) -> Option<String> {
    use chrono::{Datelike, Timelike};
    fn push(text: &mut Vec<u8>, n: u32, width: u32) {
        for place in (0..width).rev() {
            text.push(b'0' + (n / 10_u32.pow(place) % 10) as u8);
        }
    }
    let millis = date.timestamp_millis();
    if !(0..=MAX_RFC3339_MILLIS).contains(&millis) {
        return None;
    }
    let at = DateTime::<Utc>::from_timestamp_millis(millis)?;
    let mut text = Vec::with_capacity(24);
    push(&mut text, u32::try_from(at.year()).ok()?, 4);
    for (separator, n) in [
        (b'-', at.month()),
        (b'-', at.day()),
        (b'T', at.hour()),
        (b':', at.minute()),
        (b':', at.second()),
    ] {
        text.push(separator);
        push(&mut text, n, 2);
    }
    let mut fraction = u32::try_from(millis % 1000).ok()?;
    if fraction != 0 {
        let mut width = 3;
        while fraction % 10 == 0 {
            fraction /= 10;
            width -= 1;
        }
        text.push(b'.');
        push(&mut text, fraction, width);
    }
    text.push(b'Z');
    String::from_utf8(text).ok()
}

/// The BSON of a jsonb value written by [`as_json`] (or by a trigger, in the same form). Deeper
/// than [`as_json`] writes (its limit and Extended JSON's 2 levels) is
/// [`TransformErrorKind::TooDeep`].
pub fn json_to_bson(value: &Json) -> Result<Bson, TransformErrorKind> {
    let limit = MAX_JSON_DEPTH + 2;
    let value = value.to_value().map_err(|e| match e.to_string() {
        // serde_json stops at 128 levels, without recursing further.
        m if m.starts_with("recursion limit exceeded") => TransformErrorKind::TooDeep { limit },
        m => TransformErrorKind::Bson(format!("jsonb is not JSON: {m}")),
    })?;
    json_depth_within(&value, limit)?;
    Bson::try_from(value).map_err(|e| TransformErrorKind::Bson(e.to_string()))
}

/// Checks the nesting of a BSON value without recursion (a stack of the values to visit).
fn bson_depth_within(value: RawBsonRef<'_>, limit: usize) -> Result<(), TransformErrorKind> {
    let within = |depth| match depth > limit {
        true => Err(TransformErrorKind::TooDeep { limit }),
        false => Ok(()),
    };
    let mut stack = vec![(value, 1)];
    while let Some((value, depth)) = stack.pop() {
        match value {
            RawBsonRef::Document(d)
            | RawBsonRef::JavaScriptCodeWithScope(RawJavaScriptCodeWithScopeRef {
                scope: d, ..
            }) => {
                within(depth)?;
                for element in d {
                    stack.push((element?.1, depth + 1));
                }
            }
            RawBsonRef::Array(items) => {
                within(depth)?;
                for item in items {
                    stack.push((item?, depth + 1));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Refuses a key starting with `$` anywhere in a (well-formed, depth-checked) BSON value, naming
/// it with its path inside the value.
fn no_dollar_keys(value: RawBsonRef<'_>) -> Result<(), TransformErrorKind> {
    let mut stack = vec![(value, String::new())];
    while let Some((value, path)) = stack.pop() {
        let at = |key: &str| match path.is_empty() {
            true => key.to_string(),
            false => format!("{path}.{key}"),
        };
        match value {
            RawBsonRef::Document(d)
            | RawBsonRef::JavaScriptCodeWithScope(RawJavaScriptCodeWithScopeRef {
                scope: d, ..
            }) => {
                for element in d {
                    let (key, value) = element?;
                    if key.as_str().starts_with('$') {
                        return Err(TransformErrorKind::DollarKey {
                            key: at(key.as_str()),
                        });
                    }
                    stack.push((value, at(key.as_str())));
                }
            }
            RawBsonRef::Array(items) => {
                for (i, item) in items.into_iter().enumerate() {
                    stack.push((item?, at(&i.to_string())));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Checks the nesting of a JSON value without recursion.
fn json_depth_within(value: &serde_json::Value, limit: usize) -> Result<(), TransformErrorKind> {
    let mut stack = vec![(value, 1)];
    while let Some((value, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &serde_json::Value>> = match value {
            serde_json::Value::Array(items) => Box::new(items.iter()),
            serde_json::Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        if depth > limit {
            return Err(TransformErrorKind::TooDeep { limit });
        }
        stack.extend(children.map(|v| (v, depth + 1)));
    }
    Ok(())
}

/// The ObjectId a uuid was derived from, or [`TransformErrorKind::BadReference`] for a uuid made
/// in Postgres (no ObjectId behind it).
pub fn object_id(id: &Uuid) -> Result<ObjectId, TransformErrorKind> {
    ids::object_id_from_uuid(id).ok_or_else(|| TransformErrorKind::BadReference {
        value: id.to_string(),
    })
}

/// The BSON of a polymorphic reference's columns (`None` when all three are NULL).
pub fn polymorphic_to_bson(
    kind: Option<&str>,
    id: Option<&Uuid>,
    external_ref: Option<&str>,
) -> Result<Option<Bson>, TransformErrorKind> {
    match (kind, id, external_ref) {
        (Some("entity"), Some(id), _) => Ok(Some(Bson::ObjectId(object_id(id)?))),
        (Some("template"), _, Some(r)) => Ok(Some(Bson::String(r.to_string()))),
        (None, None, None) => Ok(None),
        (kind, id, r) => Err(TransformErrorKind::BadReference {
            value: format!("kind {kind:?}, id {id:?}, external_ref {r:?}"),
        }),
    }
}

/// 2^256 - 1, the largest uint256.
pub const UINT256_MAX: &str =
    "115792089237316195423570985008687907853269984665640564039457584007913129639935";

/// A uint256 (on-chain base units, numeric(78,0)): a whole number from 0 to 2^256 - 1, from a
/// decimal string or any BSON number.
pub fn as_uint256(value: RawBsonRef<'_>) -> Result<crate::Numeric, TransformErrorKind> {
    // Parsed once: parsing 78 digits on every value was a sixth of some collections' transform.
    static MAX: std::sync::OnceLock<Option<crate::Numeric>> = std::sync::OnceLock::new();
    let n = bsonval::as_numeric(value, 78, 0)?;
    let max = MAX
        .get_or_init(|| UINT256_MAX.parse().ok())
        .as_ref()
        .ok_or_else(|| TransformErrorKind::Bson("UINT256_MAX".into()))?;
    if n.is_negative() || n > *max {
        return Err(TransformErrorKind::OutOfRange {
            value: n.to_string(),
            target: "uint256 (0 to 2^256 - 1)".into(),
        });
    }
    Ok(n)
}

/// A reference that must be an ObjectId (the field is `bson: objectId`), as the uuid of the
/// referenced row.
pub fn as_object_id_reference(value: RawBsonRef<'_>) -> Result<Uuid, TransformErrorKind> {
    bsonval::as_object_id(value).map(|oid| ids::uuid_from_object_id(&oid))
}

/// An unconstrained `numeric` value (no precision or scale to check), exact.
pub fn as_any_numeric(value: RawBsonRef<'_>) -> Result<crate::Numeric, TransformErrorKind> {
    bsonval::as_numeric(
        value,
        crate::Numeric::MAX_INTEGER_DIGITS as u32 + 16_383,
        16_383,
    )
}

/// An ObjectId kept as its 24 hex digits in a text column.
pub fn as_hex_object_id(value: RawBsonRef<'_>) -> Result<String, TransformErrorKind> {
    bsonval::as_object_id(value).map(|o| o.to_hex())
}

/// A BSON binary's bytes, for a bytea column.
pub fn as_bytes(value: RawBsonRef<'_>) -> Result<Vec<u8>, TransformErrorKind> {
    match value {
        RawBsonRef::Binary(b) => Ok(b.bytes.to_vec()),
        other => Err(mismatch("binData", other)),
    }
}

/// A numeric column back to BSON: Decimal128 when the field is one in Mongo, else a double
/// when the value is one exactly (the field held a JavaScript Number), else Decimal128.
pub fn numeric_to_bson(value: &crate::Numeric, decimal: bool) -> Result<Bson, TransformErrorKind> {
    if !decimal {
        let text = value.to_string();
        if let Ok(f) = text.parse::<f64>()
            && crate::Numeric::from_f64(f).is_ok_and(|n| &n == value)
        {
            return Ok(Bson::Double(f));
        }
    }
    value
        .to_decimal128()
        .map(Bson::Decimal128)
        .map_err(|e| e.into_transform_kind("decimal"))
}

/// The rows of a child table in the order `to_mongo` wants them: by parent row, then by
/// `key`'s second part (the item's ordinal, `0` for an embedded object). Sorted once per
/// document, so that [`children_of`] finds a parent's items by binary search instead of
/// scanning every row of the table for every parent (quadratic for grandchildren).
pub fn by_parent<T>(rows: &[T], key: impl Fn(&T) -> (Uuid, i32)) -> Vec<&T> {
    let mut sorted: Vec<&T> = rows.iter().collect();
    sorted.sort_by_key(|row| key(row));
    sorted
}

/// The items of `parent` in rows sorted by [`by_parent`], in order.
pub fn children_of<'r, T>(
    sorted: &'r [&'r T],
    parent: Uuid,
    parent_of: impl Fn(&T) -> Uuid,
) -> &'r [&'r T] {
    let start = sorted.partition_point(|row| parent_of(row) < parent);
    let len = sorted[start..].partition_point(|row| parent_of(row) == parent);
    &sorted[start..start + len]
}

/// The `_id` ObjectId of a row from its `legacy_object_id`.
pub fn legacy_id(hex: &str) -> Result<ObjectId, TransformErrorKind> {
    ObjectId::parse_str(hex).map_err(|_| TransformErrorKind::BadReference {
        value: hex.to_string(),
    })
}

/// `path.key`, or `key` at the root: the Mongo path of a field for errors.
///
/// The text is built the first time it is read (as a `&str`, or into a `String`), so that the
/// readers of [`Context`], which read a path only to report an error, cost no allocation on the
/// way to a value. `path` may itself be a [`Joined`] (or an [`item`]), built only then too.
pub fn join<'a, P: AsRef<str> + ?Sized>(path: &'a P, key: &'a str) -> Joined<'a, P> {
    Joined {
        parent: path,
        last: Last::Key(key),
        text: OnceCell::new(),
    }
}

/// `path.index`: the Mongo path of an array item, built on first read like [`join`]'s.
pub fn item<P: AsRef<str> + ?Sized>(path: &P, index: usize) -> Joined<'_, P> {
    Joined {
        parent: path,
        last: Last::Index(index),
        text: OnceCell::new(),
    }
}

/// A Mongo path made by [`join`] or [`item`], built on first read.
pub struct Joined<'a, P: ?Sized = str> {
    parent: &'a P,
    last: Last<'a>,
    text: OnceCell<String>,
}

/// The last step of a [`Joined`] path.
#[derive(Debug, Clone, Copy)]
enum Last<'a> {
    Key(&'a str),
    Index(usize),
}

impl<P: AsRef<str> + ?Sized> Joined<'_, P> {
    fn build(&self) -> String {
        let parent = self.parent.as_ref();
        let mut text = String::with_capacity(parent.len() + 24);
        if !parent.is_empty() {
            text.push_str(parent);
            text.push('.');
        }
        match self.last {
            Last::Key(key) => text.push_str(key),
            Last::Index(index) => {
                use std::fmt::Write as _;
                let _ = write!(text, "{index}");
            }
        }
        text
    }
}

impl<P: AsRef<str> + ?Sized> std::ops::Deref for Joined<'_, P> {
    type Target = str;

    fn deref(&self) -> &str {
        self.text.get_or_init(|| self.build())
    }
}

impl<P: AsRef<str> + ?Sized> AsRef<str> for Joined<'_, P> {
    fn as_ref(&self) -> &str {
        self
    }
}

impl<P: AsRef<str> + ?Sized> std::fmt::Display for Joined<'_, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self)
    }
}

impl<P: AsRef<str> + ?Sized> std::fmt::Debug for Joined<'_, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", &**self)
    }
}

impl<P: AsRef<str> + ?Sized> From<Joined<'_, P>> for String {
    fn from(mut joined: Joined<'_, P>) -> String {
        match joined.text.take() {
            Some(text) => text,
            None => joined.build(),
        }
    }
}

/// A catalogue default for a numeric column. schemac checks the literal when it generates the
/// code, so it always parses.
pub fn numeric_default(text: &'static str) -> crate::Numeric {
    text.parse().unwrap_or_else(|_| {
        unreachable!("schemac generated a numeric default that does not parse: {text}")
    })
}

/// An array index as an `ordinal` value (a 16 MiB document holds far fewer than 2^31 items).
pub fn ordinal(index: usize) -> Result<i32, TransformErrorKind> {
    i32::try_from(index).map_err(|_| TransformErrorKind::OutOfRange {
        value: index.to_string(),
        target: "int4".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{doc, rawdoc};

    #[test]
    fn dollar_keys_are_refused_with_their_path() {
        // Extended JSON would read these back as a date wrapper, or fail: refused, never stored.
        for (value, key) in [
            (rawdoc! { "$date": 1, "x": 2 }, "$date"),
            (
                rawdoc! { "a": [ { "ok": 1 }, { "$oid": "x" } ] },
                "a.1.$oid",
            ),
            (
                rawdoc! { "a": { "b": { "$numberDecimal": "1" } } },
                "a.b.$numberDecimal",
            ),
        ] {
            assert_eq!(
                as_json(RawBsonRef::Document(&value)),
                Err(TransformErrorKind::DollarKey { key: key.into() })
            );
        }
        // A `$` elsewhere in a key, or in a value, is plain data.
        let plain = rawdoc! { "price$": "$5", "a": { "b$c": 1 } };
        let json = as_json(RawBsonRef::Document(&plain)).unwrap();
        assert_eq!(json.as_str(), r#"{"price$":"$5","a":{"b$c":1}}"#);
        assert_eq!(
            json_to_bson(&json).unwrap(),
            Bson::Document(bson::Document::try_from(plain.as_ref()).unwrap())
        );
    }

    #[test]
    fn children_are_found_by_parent_in_ordinal_order() {
        let (a, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        // (parent, ordinal, label), as rows read back from Postgres come: in no useful order.
        let rows = [
            (b, 1, "b1"),
            (a, 2, "a2"),
            (b, 0, "b0"),
            (a, 0, "a0"),
            (a, 1, "a1"),
        ];
        let sorted = by_parent(&rows, |r| (r.0, r.1));
        let labels = |parent| -> Vec<&str> {
            children_of(&sorted, parent, |r| r.0)
                .iter()
                .map(|r| r.2)
                .collect()
        };
        assert_eq!(labels(a), ["a0", "a1", "a2"]);
        assert_eq!(labels(b), ["b0", "b1"]);
        assert!(labels(c).is_empty());
        assert!(labels(Uuid::nil()).is_empty());
    }

    #[test]
    fn unknown_keys_are_errors_or_records() {
        let d = rawdoc! { "_id": ObjectId::parse_str("650f1c2e9d1b2a3c4d5e6f70").unwrap() };
        let mut strict = Context::new("payments", Mode::Strict);
        strict.read_id(d.get("_id").unwrap().unwrap()).unwrap();
        let e = strict.unknown("extra").unwrap_err();
        assert_eq!(
            e.to_string(),
            "payments 650f1c2e9d1b2a3c4d5e6f70: field extra: not declared in the catalogue"
        );
        let mut lenient = Context::new("payments", Mode::Lenient);
        lenient.unknown("extra").unwrap();
        assert_eq!(lenient.unknown, ["extra"]);
    }

    #[test]
    fn the_id_and_creation_time_come_from_the_id() {
        let oid = ObjectId::parse_str("650f1c2e9d1b2a3c4d5e6f70").unwrap();
        let mut cx = Context::new("c", Mode::Strict);
        assert_eq!(cx.id(), None);
        let read = cx.read_id(RawBsonRef::ObjectId(oid)).unwrap();
        assert_eq!(read, oid);
        assert_eq!(cx.id().as_deref(), Some("650f1c2e9d1b2a3c4d5e6f70"));
        assert_eq!(cx.created().timestamp(), 0x650f_1c2e);
        assert_eq!(
            cx.error("x", TransformErrorKind::Missing).to_string(),
            "c 650f1c2e9d1b2a3c4d5e6f70: field x: required, but missing"
        );

        // Another `_id` is an error that names it.
        let mut cx = Context::new("c", Mode::Strict);
        let e = cx.read_id(RawBsonRef::String("a\"b")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "c \"a\\\"b\": field _id: expected objectId, found string \"a\\\"b\""
        );

        // Without an ObjectId, every `default: now` of a document gets the same time.
        let first = cx.created();
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert_eq!(cx.created(), first);
    }

    #[test]
    fn an_error_before_the_id_is_located_on_the_way_out() {
        let d =
            rawdoc! { "x": "one", "_id": ObjectId::parse_str("650f1c2e9d1b2a3c4d5e6f70").unwrap() };
        let cx = Context::new("c", Mode::Strict);
        let e = cx.error("x", TransformErrorKind::Missing);
        assert_eq!(e.id, None);
        assert_eq!(e.locate(&d).id.as_deref(), Some("650f1c2e9d1b2a3c4d5e6f70"));
        // An id already known is kept; a document without one leaves it out.
        let known =
            TransformError::new("c", Some("known".into()), "x", TransformErrorKind::Missing);
        assert_eq!(known.locate(&d).id.as_deref(), Some("known"));
        let e = cx.error("x", TransformErrorKind::Missing);
        assert_eq!(e.locate(&rawdoc! { "x": 1 }).id, None);
    }

    #[test]
    fn item_paths_nest_and_build_once() {
        let messages = join("", "messages");
        let message = item(&messages, 3);
        let attachments = join(&message, "attachments");
        let attachment = item(&attachments, 0);
        assert_eq!(&*attachment, "messages.3.attachments.0");
        assert_eq!(format!("{attachment:?}"), "\"messages.3.attachments.0\"");
        // The parents were built on the way and are kept.
        assert_eq!(&*message, "messages.3");
        let cx = Context::new("chats", Mode::Strict);
        let e = cx.error(&join(&attachment, "url"), TransformErrorKind::Missing);
        assert_eq!(e.path, "messages.3.attachments.0.url");
    }

    #[test]
    fn array_errors_name_the_index() {
        let d = rawdoc! { "xs": [1, 2, "three"] };
        let cx = Context::new("c", Mode::Strict);
        let v = d.get("xs").unwrap().unwrap();
        let e = cx.read_array(v, "xs", bsonval::as_i32).unwrap_err();
        assert_eq!(e.path, "xs.2");
    }

    #[test]
    fn references_accept_hex_strings_and_reject_others() {
        let oid = ObjectId::parse_str("650f1c2e9d1b2a3c4d5e6f70").unwrap();
        let from_oid = as_reference(RawBsonRef::ObjectId(oid)).unwrap();
        let from_str = as_reference(RawBsonRef::String("650f1c2e9d1b2a3c4d5e6f70")).unwrap();
        assert_eq!(from_oid, from_str);
        assert_eq!(object_id(&from_oid).unwrap(), oid);
        assert!(matches!(
            as_reference(RawBsonRef::String("not-an-id")),
            Err(TransformErrorKind::BadReference { .. })
        ));
    }

    #[test]
    fn polymorphic_round_trip() {
        let oid = ObjectId::parse_str("650f1c2e9d1b2a3c4d5e6f70").unwrap();
        let (k, id, r) = as_polymorphic(RawBsonRef::ObjectId(oid)).unwrap();
        assert_eq!(
            polymorphic_to_bson(Some(k), id.as_ref(), r.as_deref()).unwrap(),
            Some(Bson::ObjectId(oid))
        );
        let (k, id, r) = as_polymorphic(RawBsonRef::String("tpl-7")).unwrap();
        assert_eq!((k, id, r.as_deref()), ("template", None, Some("tpl-7")));
        assert!(polymorphic_to_bson(Some("entity"), None, None).is_err());
    }

    /// The text the one-pass writer makes of a top-level value, `None` when it leaves the
    /// value to the checked way.
    fn relaxed(value: RawBsonRef<'_>) -> Option<String> {
        let mut out = String::new();
        write_relaxed_extjson(&mut out, value, 1).map(|()| out)
    }

    #[test]
    fn jsonb_from_raw_bytes_is_the_bson_conversion() {
        use bson::spec::BinarySubtype;
        use bson::{Binary, Decimal128, Regex, Timestamp};
        let d = doc! {
            "s": "x", "esc": "q\"b\\n\nr\rt\tb\u{8}f\u{c}z\u{0}u\u{1f}d\u{7f}é\u{2028}😀",
            "e\"k\u{1}": 1, "lmin": i64::MIN, "imin": i32::MIN, "b": true, "n": null, "i": 7, "l": -8_i64, "f": 1.5, "z": -0.0,
            "nan": f64::NAN, "inf": f64::NEG_INFINITY, "big": 1e300,
            "oid": ObjectId::parse_str("650f1c2e9d1b2a3c4d5e6f70").unwrap(),
            "at": bson::DateTime::from_millis(1_700_000_000_123),
            "old": bson::DateTime::from_millis(-1),
            "far": bson::DateTime::from_millis(300_000_000_000_000),
            "dec": "12.500".parse::<Decimal128>().unwrap(),
            "bin": Binary { subtype: BinarySubtype::Generic, bytes: vec![1, 2, 3] },
            "re": Regex { pattern: "a+".try_into().unwrap(), options: "xi".try_into().unwrap() },
            "ts": Timestamp { time: 1, increment: 2 },
            "js": Bson::JavaScriptCode("f()".into()),
            "sym": Bson::Symbol("s".into()),
            "undef": Bson::Undefined, "min": Bson::MinKey, "max": Bson::MaxKey,
            "arr": [1, "two", { "three": [3.0, null] }, []],
            "sub": { "z": 1, "a": { "deep": [{ "x": 1 }] } },
            "empty": {},
        };
        let mut raw = bson::RawDocumentBuf::try_from(&d).unwrap();
        let value = RawBsonRef::Document(&raw);
        let slow = Bson::try_from(value).unwrap().into_relaxed_extjson();
        assert_eq!(relaxed(value), Some(slow.to_string()), "the same text");
        // A repeated key is written twice; read back (serde_json, or PostgreSQL's jsonb) the
        // last value wins, as in the `Bson` conversion.
        raw.append(bson::raw::cstr!("s"), "again");
        let value = RawBsonRef::Document(&raw);
        let slow = Bson::try_from(value).unwrap().into_relaxed_extjson();
        let fast = as_json(value).unwrap();
        assert_eq!(fast.to_value().unwrap(), slow);
        assert!(fast.as_str().ends_with(r#","s":"again"}"#));
        // A code with scope is left to the checked way, which follows its scope's depth.
        raw.append(
            bson::raw::cstr!("jsw"),
            bson::RawBson::JavaScriptCodeWithScope(bson::RawJavaScriptCodeWithScope {
                code: "g()".into(),
                scope: rawdoc! { "k": 1 },
            }),
        );
        let value = RawBsonRef::Document(&raw);
        assert!(relaxed(value).is_none());
        let slow = Bson::try_from(value).unwrap().into_relaxed_extjson();
        assert_eq!(as_json(value).unwrap().to_value().unwrap(), slow);
    }

    #[test]
    fn jsonb_that_is_too_deep_or_malformed_takes_the_checked_way() {
        let mut deep = doc! { "x": 1 };
        for _ in 0..MAX_JSON_DEPTH {
            deep = doc! { "d": deep };
        }
        let raw = bson::RawDocumentBuf::try_from(&deep).unwrap();
        assert!(relaxed(RawBsonRef::Document(&raw)).is_none());
        assert!(matches!(
            as_json(RawBsonRef::Document(&raw)),
            Err(TransformErrorKind::TooDeep { .. })
        ));
        let inner = raw.get_document("d").unwrap();
        assert!(relaxed(RawBsonRef::Document(inner)).is_some());
        // A string whose bytes are not UTF-8: the same error as the `Bson` conversion.
        let mut bytes = bson::RawDocumentBuf::try_from(&doc! { "s": "ab" })
            .unwrap()
            .into_bytes();
        let at = bytes.len() - 4;
        bytes[at] = 0xff;
        let bad = bson::RawDocument::from_bytes(&bytes).unwrap();
        assert!(relaxed(RawBsonRef::Document(bad)).is_none());
        assert_eq!(
            as_json(RawBsonRef::Document(bad)).unwrap_err().to_string(),
            TransformErrorKind::from(Bson::try_from(RawBsonRef::Document(bad)).unwrap_err())
                .to_string()
        );
    }

    proptest::proptest! {
        #[test]
        fn json_strings_are_escaped_as_serde_json_escapes_them(
            s in proptest::prop_oneof![".*", "[\\x00-\\x7f\"\\\\é]{0,40}"],
        ) {
            let mut out = String::new();
            push_json_string(&mut out, &s);
            proptest::prop_assert_eq!(out, serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn integers_are_written_as_serde_json_writes_them(v in proptest::prelude::any::<i64>()) {
            let mut out = String::new();
            push_integer(&mut out, v);
            proptest::prop_assert_eq!(out, serde_json::to_string(&v).unwrap());
        }

        #[test]
        fn jsonb_dates_and_ids_are_the_bson_conversion(
            millis in proptest::prop_oneof![
                -2_000_000_000_000_i64..MAX_RFC3339_MILLIS + 2_000_000_000_000,
                proptest::prelude::any::<i64>(),
                proptest::prelude::Just(0_i64),
                proptest::prelude::Just(MAX_RFC3339_MILLIS),
                proptest::prelude::Just(MAX_RFC3339_MILLIS + 1),
            ],
            oid in proptest::prelude::any::<[u8; 12]>(),
        ) {
            let date = bson::DateTime::from_millis(millis);
            let fast = relaxed(RawBsonRef::DateTime(date)).unwrap();
            proptest::prop_assert_eq!(fast, Bson::DateTime(date).into_relaxed_extjson().to_string());
            let oid = ObjectId::from_bytes(oid);
            let fast = relaxed(RawBsonRef::ObjectId(oid)).unwrap();
            proptest::prop_assert_eq!(fast, Bson::ObjectId(oid).into_relaxed_extjson().to_string());
        }
    }

    #[test]
    fn jsonb_dates_keep_the_digits_the_bson_crate_writes() {
        for millis in [
            0,
            1,
            10,
            100,
            120,
            999,
            1_709_251_200_000,
            1_709_251_200_450,
        ] {
            let date = bson::DateTime::from_millis(millis);
            assert_eq!(
                rfc3339(date).map(serde_json::Value::String),
                Some(Bson::DateTime(date).into_relaxed_extjson()["$date"].clone()),
                "{millis}"
            );
        }
    }

    #[test]
    fn uint256_bounds() {
        let max = as_uint256(RawBsonRef::String(UINT256_MAX)).unwrap();
        assert_eq!(max.to_string(), UINT256_MAX);
        let above =
            "115792089237316195423570985008687907853269984665640564039457584007913129639936";
        for bad in [RawBsonRef::String(above), RawBsonRef::Int32(-1)] {
            assert!(matches!(
                as_uint256(bad),
                Err(TransformErrorKind::OutOfRange { .. })
            ));
        }
        assert_eq!(as_uint256(RawBsonRef::Int64(7)).unwrap().to_string(), "7");
    }

    #[test]
    fn joined_paths_are_built_when_read() {
        assert_eq!(&*join("", "a"), "a");
        assert_eq!(&*join("a.0", "b"), "a.0.b");
        assert_eq!(String::from(join("a", "b")), "a.b");
        let p = join("a", "b");
        assert_eq!(p.to_string(), "a.b");
        assert_eq!(String::from(p), "a.b");
        let d = rawdoc! { "xs": [{ "k": 1 }, 2] };
        let cx = Context::new("c", Mode::Strict);
        let v = d.get("xs").unwrap().unwrap();
        let e = cx.documents(v, &join("doc", "xs")).unwrap_err();
        assert_eq!(e.path, "doc.xs.1");
        let e = cx.required::<i32, _>(None, &join("", "k")).unwrap_err();
        assert_eq!(e.path, "k");
    }

    #[test]
    fn jsonb_keeps_bson_types() {
        let d = doc! { "at": bson::DateTime::from_millis(-1), "n": 5_i64, "d": 1.5, "s": "x" };
        let raw = bson::RawDocumentBuf::try_from(&d).unwrap();
        let json = as_json(RawBsonRef::Document(&raw)).unwrap();
        let back = json_to_bson(&json).unwrap();
        assert_eq!(back.as_document().unwrap().get("at"), d.get("at"));
        assert_eq!(back.as_document().unwrap().get("s"), d.get("s"));
    }
}
