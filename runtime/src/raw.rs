//! The elements of a raw BSON document, read faster than `bson`'s own iterator gives them.
//!
//! Walking a document with `RawDocument::iter` spends most of its time in `bson`'s machinery:
//! each key checked as UTF-8 by `str::from_utf8`, each element built by two iterator layers,
//! and a large error type carried through every step (a profile of the transform bench put
//! that walk at about half of a transform; see docs/bench-transform.md). [`elements`] reads
//! the common element types itself and gives exactly the items `RawDocument::iter` gives.
//! Whenever it meets anything else (a rare type, an array, a length that does not fit, a key
//! that is not UTF-8...), it hands the rest of the document to `bson`'s iterator, so errors
//! and rare types are `bson`'s own, word for word.

use bson::error::Error;
use bson::raw::{RawArray, RawBinaryRef, RawDocument, RawIter};
use bson::spec::BinarySubtype;
use bson::{DateTime, Decimal128, RawBsonRef, Timestamp};
use serde::Deserialize;
use serde::de::value::BorrowedBytesDeserializer;

/// The elements of `doc`, as `doc.iter()` gives them, with the key as a `&str`.
pub fn elements(doc: &RawDocument) -> Elements<'_> {
    Elements {
        doc,
        at: 4,
        index: 0,
        slow: None,
    }
}

/// The items of `array`, as `array.into_iter()` gives them.
pub fn items(array: &RawArray) -> Items<'_> {
    match RawDocument::from_bytes(array.as_bytes()) {
        Ok(doc) => Items::Lean(elements(doc)),
        Err(_) => Items::Bson(array.into_iter()),
    }
}

/// The iterator of [`items`]: the array's bytes are a document (keys "0", "1"...), read by
/// [`Elements`]; `bson`'s own iterator if they could not be seen as one (they always can: a
/// `RawArray` is checked as a document when it is made).
pub enum Items<'a> {
    /// Read by [`Elements`], the keys dropped.
    Lean(Elements<'a>),
    /// Read by `bson`.
    Bson(bson::raw::RawArrayIter<'a>),
}

impl<'a> Iterator for Items<'a> {
    type Item = Result<RawBsonRef<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Items::Lean(elements) => Some(elements.next()?.map(|(_, value)| value)),
            Items::Bson(items) => items.next(),
        }
    }
}

/// The iterator of [`elements`].
pub struct Elements<'a> {
    doc: &'a RawDocument,
    /// Where the next element starts (its type byte).
    at: usize,
    /// How many elements were given.
    index: usize,
    /// `bson`'s iterator, once this one has handed over.
    slow: Option<RawIter<'a>>,
}

impl<'a> Iterator for Elements<'a> {
    type Item = Result<(&'a str, RawBsonRef<'a>), Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(slow) = &mut self.slow {
            return slow_next(slow);
        }
        let bytes = self.doc.as_bytes();
        if self.at + 1 == bytes.len() && bytes[self.at] == 0 {
            return None;
        }
        match self.fast(bytes) {
            Some((key, value, next)) => {
                self.at = next;
                self.index += 1;
                Some(Ok((key, value)))
            }
            None => {
                let mut slow = self.doc.iter_elements();
                for _ in 0..self.index {
                    slow.next();
                }
                slow_next(self.slow.insert(slow))
            }
        }
    }
}

impl<'a> Elements<'a> {
    /// The element at `self.at`, and where the next starts; `None` for anything `bson` should
    /// read (an error or a type this reader leaves to it).
    fn fast(&self, bytes: &'a [u8]) -> Option<(&'a str, RawBsonRef<'a>, usize)> {
        let tag = *bytes.get(self.at)?;
        let rest = bytes.get(self.at + 1..)?;
        let nul = rest.iter().position(|&b| b == 0)?;
        let key = utf8(&rest[..nul])?;
        let start = self.at + 1 + nul + 1;
        let body = bytes.get(start..)?;
        let (value, size) = match tag {
            0x01 => (RawBsonRef::Double(f64::from_le_bytes(fixed(body)?)), 8),
            0x02 => {
                let size = string_size(body)?;
                let text = utf8(&body[4..size - 1])?;
                (RawBsonRef::String(text), size)
            }
            0x03 | 0x04 => {
                let size = usize::try_from(i32::from_le_bytes(fixed(body)?)).ok()?;
                let doc = body.get(..size)?;
                let value = if tag == 0x03 {
                    RawBsonRef::Document(RawDocument::from_bytes(doc).ok()?)
                } else {
                    RawBsonRef::Array(array(doc)?)
                };
                (value, size)
            }
            0x05 => {
                let len = usize::try_from(i32::from_le_bytes(fixed(body)?)).ok()?;
                let size = len + 5;
                let subtype = *body.get(4)?;
                if size >= i32::MAX as usize || subtype == 0x02 {
                    return None;
                }
                let data = body.get(5..size)?;
                let binary = RawBinaryRef {
                    subtype: BinarySubtype::from(subtype),
                    bytes: data,
                };
                (RawBsonRef::Binary(binary), size)
            }
            0x06 => (RawBsonRef::Undefined, 0),
            0x07 => (
                RawBsonRef::ObjectId(bson::oid::ObjectId::from_bytes(fixed(body)?)),
                12,
            ),
            0x08 => match body.first()? {
                0 => (RawBsonRef::Boolean(false), 1),
                1 => (RawBsonRef::Boolean(true), 1),
                _ => return None,
            },
            0x09 => {
                let millis = i64::from_le_bytes(fixed(body)?);
                (RawBsonRef::DateTime(DateTime::from_millis(millis)), 8)
            }
            0x0A => (RawBsonRef::Null, 0),
            0x10 => (RawBsonRef::Int32(i32::from_le_bytes(fixed(body)?)), 4),
            0x11 => {
                // The increment in the low four bytes, the time in the high four.
                let both = u64::from_le_bytes(fixed(body)?);
                let (time, increment) = ((both >> 32) as u32, both as u32);
                (RawBsonRef::Timestamp(Timestamp { time, increment }), 8)
            }
            0x12 => (RawBsonRef::Int64(i64::from_le_bytes(fixed(body)?)), 8),
            0x13 => (
                RawBsonRef::Decimal128(Decimal128::from_bytes(fixed(body)?)),
                16,
            ),
            0x7F => (RawBsonRef::MaxKey, 0),
            0xFF => (RawBsonRef::MinKey, 0),
            _ => return None,
        };
        Some((key, value, start + size))
    }
}

/// The next item of `bson`'s iterator, as `RawDocument::iter` gives it.
fn slow_next<'a>(raw: &mut RawIter<'a>) -> Option<Result<(&'a str, RawBsonRef<'a>), Error>> {
    Some(match raw.next()? {
        Ok(element) => element.value().map(|value| (element.key().as_str(), value)),
        Err(e) => Err(e),
    })
}

/// The array whose bytes (a document with keys "0", "1"...) are `doc`.
///
/// `bson` has no public constructor of a borrowed `RawArray`; its serde implementation builds
/// one from bytes handed over as borrowed bytes (what it does for formats other than BSON),
/// with the same checks as a `RawDocument`'s.
fn array(doc: &[u8]) -> Option<&RawArray> {
    let bytes = BorrowedBytesDeserializer::<serde::de::value::Error>::new(doc);
    <&RawArray>::deserialize(bytes).ok()
}

/// `bytes` as text, when they are UTF-8. Keys and most strings are ASCII, which a word-wide
/// test tells faster than `str::from_utf8`'s general check (a third of a walk's time).
fn utf8(bytes: &[u8]) -> Option<&str> {
    if bytes.is_ascii() {
        // SAFETY: ASCII bytes are UTF-8.
        Some(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        std::str::from_utf8(bytes).ok()
    }
}

/// The first `N` bytes of `body`.
fn fixed<const N: usize>(body: &[u8]) -> Option<[u8; N]> {
    body.get(..N)?.try_into().ok()
}

/// The size of a BSON string at the start of `body` (its length, its bytes, its NUL), when it
/// fits and ends with a NUL.
fn string_size(body: &[u8]) -> Option<usize> {
    let len = usize::try_from(i32::from_le_bytes(fixed(body)?)).ok()?;
    let size = len.checked_add(4)?;
    (size >= 5 && body.get(size - 1) == Some(&0)).then_some(size)
}

/// Reads `doc`, and every document and array inside it, with [`elements`] and [`items`] and
/// with `bson`'s own iterators, and returns how many items they both gave, or the first place
/// where they differ: another value (doubles compared bit for bit), another error message, or
/// one ending before the other. For the tests and the fuzz target that hold this reader to
/// `bson`'s.
pub fn check_against_bson(doc: &RawDocument) -> Result<usize, String> {
    let mut count = 0;
    check_document(doc, "document", &mut count)?;
    Ok(count)
}

fn check_document(doc: &RawDocument, at: &str, count: &mut usize) -> Result<(), String> {
    let theirs = doc
        .iter()
        .map(|item| item.map(|(key, value)| (key.as_str(), value)));
    check_items(elements(doc), theirs, at, count)
}

fn check_array(array: &RawArray, at: &str, count: &mut usize) -> Result<(), String> {
    let ours = items(array).enumerate();
    let theirs = array.into_iter().enumerate();
    check_items(
        ours.map(|(i, item)| item.map(|value| (i, value))),
        theirs.map(|(i, item)| item.map(|value| (i, value))),
        at,
        count,
    )
}

fn check_items<'a, K: PartialEq + std::fmt::Debug>(
    mut ours: impl Iterator<Item = Result<(K, RawBsonRef<'a>), Error>>,
    mut theirs: impl Iterator<Item = Result<(K, RawBsonRef<'a>), Error>>,
    at: &str,
    count: &mut usize,
) -> Result<(), String> {
    for index in 0.. {
        match (ours.next(), theirs.next()) {
            (None, None) => break,
            (Some(Ok((k1, v1))), Some(Ok((k2, v2)))) if k1 == k2 && same_value(v1, v2) => {
                *count += 1;
                let inner = format!("{at}.{k1:?}");
                match v1 {
                    RawBsonRef::Document(doc) => check_document(doc, &inner, count)?,
                    RawBsonRef::Array(array) => check_array(array, &inner, count)?,
                    RawBsonRef::JavaScriptCodeWithScope(code) => {
                        check_document(code.scope, &inner, count)?
                    }
                    _ => {}
                }
            }
            (Some(Err(e1)), Some(Err(e2))) if e1.to_string() == e2.to_string() => *count += 1,
            (ours, theirs) => {
                return Err(format!(
                    "{at}, item {index}: this reader gave {ours:?}, bson's {theirs:?}"
                ));
            }
        }
    }
    Ok(())
}

/// `a == b`, but doubles bit for bit (NaN is itself, -0 is not 0).
fn same_value(a: RawBsonRef<'_>, b: RawBsonRef<'_>) -> bool {
    match (a, b) {
        (RawBsonRef::Double(a), RawBsonRef::Double(b)) => a.to_bits() == b.to_bits(),
        _ => a == b,
    }
}
