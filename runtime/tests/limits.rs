//! The dump readers at MongoDB's limits: a document of exactly 16 MiB reads; one just above
//! [`MAX_DOCUMENT_SIZE`] is a located `BadLength` error after every document before it; a dump
//! cut inside its last document (plain, gzip or Extended JSON) yields every whole document, then
//! one error naming the file, the document and the byte; and a long dump is read in bounded
//! memory (one document at a time), checked on a ~200 MB stream generated on the fly.

use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use bson::oid::ObjectId;
use bson::spec::BinarySubtype;
use bson::{Binary, RawDocumentBuf, doc};
use schemac_runtime::dump::{self, BsonReader, DumpError, JsonAt, MAX_DOCUMENT_SIZE};

/// MongoDB's user limit for a document.
const SIXTEEN_MIB: usize = 16 * 1024 * 1024;

/// The tests of this file run one at a time: the memory test measures the process's peak RSS,
/// which the large documents of the other tests would raise.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A fresh directory for a test's dump files, under Cargo's temporary directory for tests.
fn dump_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("limits-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the dump directory");
    dir
}

/// The bytes of a document `{ _id, i, data: <binary> }` of exactly `size` bytes.
fn sized_document(i: i32, size: usize) -> Vec<u8> {
    // 4 (length) + 17 (`_id` ObjectId) + 7 (`i` int32) + 11 (`data` header) + n + 1 (NUL).
    let n = size - 40;
    let doc = doc! {
        "_id": ObjectId::from_bytes([7; 12]),
        "i": i,
        "data": Binary { subtype: BinarySubtype::Generic, bytes: vec![0xab; n] },
    };
    let bytes = RawDocumentBuf::try_from(&doc)
        .expect("a valid document")
        .into_bytes();
    assert_eq!(bytes.len(), size);
    bytes
}

fn small_document(i: i32) -> Vec<u8> {
    let doc =
        doc! { "_id": ObjectId::from_bytes([i as u8; 12]), "i": i, "s": "x".repeat(i as usize) };
    RawDocumentBuf::try_from(&doc)
        .expect("a valid document")
        .into_bytes()
}

/// The `i` of every document read before the first error, and that error (if any), checking
/// that nothing follows it.
fn read_until_error(
    mut docs: impl Iterator<Item = Result<RawDocumentBuf, DumpError>>,
) -> (Vec<i32>, Option<DumpError>) {
    let mut seen = Vec::new();
    for result in docs.by_ref() {
        match result {
            Ok(doc) => seen.push(doc.get_i32("i").expect("every document has an i")),
            Err(e) => {
                assert!(docs.next().is_none(), "the iteration stops after {e}");
                return (seen, Some(e));
            }
        }
    }
    (seen, None)
}

#[test]
fn a_document_of_exactly_16_mib_reads() {
    let _serial = serial();
    let dir = dump_dir("16mib");
    let big = sized_document(1, SIXTEEN_MIB);
    let mut bytes = small_document(0);
    bytes.extend_from_slice(&big);
    bytes.extend(small_document(2));
    std::fs::write(dir.join("big.bson"), &bytes).expect("write the dump");
    drop(bytes);

    let docs: Vec<RawDocumentBuf> = dump::open_collection(&dir, "big")
        .expect("open")
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("a 16 MiB document is within MongoDB's limit: {e}"));
    assert_eq!(docs.len(), 3);
    assert_eq!(
        docs[1].as_bytes(),
        big.as_slice(),
        "read back byte for byte"
    );
    assert_eq!(docs[2].get_i32("i").unwrap(), 2, "the stream stays in step");
}

#[test]
fn a_document_just_over_the_limit_is_a_located_bad_length_after_every_earlier_document() {
    let _serial = serial();
    let dir = dump_dir("over");
    let before: Vec<Vec<u8>> = (0..3).map(small_document).collect();
    let offset: usize = before.iter().map(Vec::len).sum();
    let mut bytes = before.concat();
    bytes.extend(sized_document(3, MAX_DOCUMENT_SIZE + 1));
    bytes.extend(small_document(4));
    let file = dir.join("over.bson");
    std::fs::write(&file, &bytes).expect("write the dump");
    drop(bytes);

    let (seen, error) = read_until_error(dump::open_collection(&dir, "over").expect("open"));
    assert_eq!(seen, [0, 1, 2], "every document before the bad one");
    let error = error.expect("an error for the oversized document");
    let DumpError::BadLength {
        file: named,
        offset: at,
        index,
        length,
    } = &error
    else {
        panic!("not BadLength: {error}");
    };
    assert_eq!(named, &file);
    assert_eq!((*at, *index), (offset as u64, 3));
    assert_eq!(*length as usize, MAX_DOCUMENT_SIZE + 1);
    assert_eq!(
        error.to_string(),
        format!(
            "{}: document 3 at byte {offset}: length 16793601 is outside 5..=16793600 \
             (MongoDB's 16 MiB limit)",
            file.display()
        )
    );

    // The limit itself is a document (MongoDB's 16 MiB plus its 16 KiB for internal fields).
    let at_limit = sized_document(0, MAX_DOCUMENT_SIZE);
    let read: Vec<_> = BsonReader::new("limit.bson", at_limit.as_slice()).collect();
    assert_eq!(read.len(), 1);
    assert!(read[0].is_ok(), "{:?}", read[0].as_ref().err());
}

/// The dump `0..count` with its last document cut after `keep` of its bytes, and the offset of
/// that document.
fn cut_dump(count: i32, keep: usize) -> (Vec<u8>, u64, u64) {
    let docs: Vec<Vec<u8>> = (0..count).map(small_document).collect();
    let last = docs.last().expect("at least one document").len();
    let mut bytes = docs.concat();
    let offset = (bytes.len() - last) as u64;
    bytes.truncate(offset as usize + keep);
    (bytes, offset, last as u64)
}

#[test]
fn a_truncated_last_document_yields_every_whole_document_then_one_located_error() {
    let _serial = serial();
    let dir = dump_dir("truncated");
    // Cut inside the body, and inside the 4-byte length prefix.
    for (keep, expected_len) in [(20, None), (2, Some(4))] {
        let (bytes, offset, last) = cut_dump(50, keep);
        let file = dir.join("cut.bson");
        std::fs::write(&file, &bytes).expect("write the dump");
        let (seen, error) = read_until_error(dump::open_collection(&dir, "cut").expect("open"));
        assert_eq!(seen, (0..49).collect::<Vec<_>>(), "cut after {keep} bytes");
        let error = error.expect("a truncation error");
        let DumpError::Truncated {
            file: named,
            offset: at,
            index,
            expected,
            got,
        } = &error
        else {
            panic!("not Truncated: {error}");
        };
        assert_eq!(named, &file);
        assert_eq!((*at, *index, *got), (offset, 49, keep as u64));
        assert_eq!(*expected, expected_len.unwrap_or(last));
        assert_eq!(
            error.to_string(),
            format!(
                "{}: document 49 at byte {offset}: truncated: expected {expected} bytes, got {keep}",
                file.display()
            )
        );
    }
}

#[test]
fn a_cut_gzip_dump_yields_every_whole_document_then_a_read_error() {
    let _serial = serial();
    let dir = dump_dir("gzip");
    let docs: Vec<Vec<u8>> = (0..2000).map(|i| small_document(i % 100)).collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&docs.concat()).expect("compress");
    let mut gz = gz.finish().expect("compress");
    // Cut the compressed stream in its middle: what was decompressed before the cut is whole
    // documents and part of one.
    gz.truncate(gz.len() / 2);
    let file = dir.join("cut.bson.gz");
    std::fs::write(&file, &gz).expect("write the dump");

    let (seen, error) = read_until_error(dump::open_collection(&dir, "cut").expect("open"));
    assert!(
        seen.len() > 100 && seen.len() < 2000,
        "{} documents",
        seen.len()
    );
    let expected: Vec<i32> = (0..seen.len() as i32).map(|i| i % 100).collect();
    assert_eq!(seen, expected, "the documents before the cut, in order");
    let error = error.expect("an error at the cut");
    let offset: u64 = docs[..seen.len()].iter().map(|d| d.len() as u64).sum();
    match &error {
        DumpError::Read {
            file: named,
            index,
            offset: at,
            ..
        } => {
            assert_eq!(named, &file);
            assert_eq!((*index, *at), (seen.len() as u64, offset));
        }
        DumpError::Truncated {
            file: named,
            index,
            offset: at,
            ..
        } => {
            assert_eq!(named, &file);
            assert_eq!((*index, *at), (seen.len() as u64, offset));
        }
        other => panic!("neither Read nor Truncated: {other}"),
    }
    let text = error.to_string();
    assert!(
        text.starts_with(&format!(
            "{}: document {} at byte {offset}: ",
            file.display(),
            seen.len()
        )),
        "{text}"
    );
}

#[test]
fn a_truncated_extended_json_export_yields_every_whole_line_then_one_located_error() {
    let _serial = serial();
    let dir = dump_dir("extjson");
    let mut text = String::new();
    for i in 0..20 {
        text.push_str(&format!(
            "{{\"_id\":{{\"$oid\":\"{:024x}\"}},\"i\":{{\"$numberInt\":\"{i}\"}}}}\n",
            i
        ));
    }
    text.push_str("{\"_id\":{\"$oid\":\"0000000000000000000000ff\"},\"i\":{\"$numberIn");
    let file = dir.join("cut.json");
    std::fs::write(&file, &text).expect("write the export");

    let docs: Vec<_> = dump::open_collection(&dir, "cut").expect("open").collect();
    assert_eq!(docs.len(), 21);
    let seen: Vec<i32> = docs[..20]
        .iter()
        .map(|d| d.as_ref().expect("a whole line").get_i32("i").unwrap())
        .collect();
    assert_eq!(seen, (0..20).collect::<Vec<_>>());
    let error = docs[20].as_ref().expect_err("the cut line");
    let DumpError::ExtJson {
        file: named, at, ..
    } = error
    else {
        panic!("not ExtJson: {error}");
    };
    assert_eq!(named, &file);
    assert_eq!(
        *at,
        JsonAt::Line {
            line: 21,
            index: 20
        }
    );
    assert!(
        error
            .to_string()
            .starts_with(&format!("{}: line 21 (document 20): ", file.display())),
        "{error}"
    );
}

// ---------------------------------------------------------------------------------------------
// Bounded memory.

/// A mongodump stream of `count` documents of `size` bytes, generated as it is read (never held
/// whole): one template document, with its `i` field patched to the document's index.
struct Generated {
    template: Vec<u8>,
    /// Where the template's `i` (int32, little-endian) is.
    i_at: usize,
    count: u64,
    position: u64,
}

impl Generated {
    fn new(count: u64, size: usize) -> Generated {
        let template = sized_document(0, size);
        // `i` follows the 4-byte length, the 17-byte `_id` element and `\x10i\0`.
        let i_at = 4 + 17 + 3;
        assert_eq!(&template[i_at - 3..i_at], b"\x10i\0");
        Generated {
            template,
            i_at,
            count,
            position: 0,
        }
    }

    fn len(&self) -> u64 {
        self.count * self.template.len() as u64
    }
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let size = self.template.len() as u64;
        if self.position >= self.len() {
            return Ok(0);
        }
        let (doc, at) = (self.position / size, (self.position % size) as usize);
        let n = buf.len().min(self.template.len() - at);
        buf[..n].copy_from_slice(&self.template[at..at + n]);
        let index = (doc as i32).to_le_bytes();
        for (k, byte) in index.iter().enumerate() {
            let p = self.i_at + k;
            if (at..at + n).contains(&p) {
                buf[p - at] = *byte;
            }
        }
        self.position += n as u64;
        Ok(n)
    }
}

/// The process's peak resident set size (`VmHWM`), in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmHWM line")
}

/// Resets the peak RSS to the current RSS (Linux 4.0+); where that is refused, the test compares
/// the peak before and after, which bounds the growth all the same.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

#[test]
fn a_long_dump_is_read_in_bounded_memory() {
    let _serial = serial();
    const DOCS: u64 = 200;
    const SIZE: usize = 1024 * 1024;
    let stream = Generated::new(DOCS, SIZE);
    assert!(stream.len() >= 200_000_000, "a ~200 MB dump");
    reset_peak_rss();
    let before = peak_rss_kib();

    let mut count = 0u64;
    for doc in BsonReader::new("generated.bson", BufReader::new(stream)) {
        let doc = doc.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(doc.as_bytes().len(), SIZE);
        assert_eq!(doc.get_i32("i").unwrap() as u64, count, "in order");
        count += 1;
    }
    assert_eq!(count, DOCS, "every document");

    let grown_mib = peak_rss_kib().saturating_sub(before) / 1024;
    assert!(
        grown_mib < 64,
        "reading a {} MB dump raised the peak RSS by {grown_mib} MiB: the reader must hold one \
         document at a time",
        DOCS * SIZE as u64 / 1_000_000
    );
}

// ---------------------------------------------------------------------------------------------
// Nesting in jsonb values.

/// `{ a: { a: ... {} } }`, `levels` documents deep in all, written flat.
fn deep_document(levels: usize) -> RawDocumentBuf {
    let mut bytes = Vec::with_capacity(8 * levels);
    for k in 0..levels - 1 {
        let length = 8 * (levels - k) - 3;
        bytes.extend_from_slice(&(length as i32).to_le_bytes());
        bytes.extend_from_slice(b"\x03a\0");
    }
    bytes.extend_from_slice(&[5, 0, 0, 0, 0]);
    bytes.extend(std::iter::repeat_n(0u8, levels - 1));
    RawDocumentBuf::from_bytes(bytes).expect("framed")
}

#[test]
fn jsonb_values_nest_up_to_mongodbs_limit_and_no_deeper() {
    use schemac_runtime::TransformErrorKind;
    use schemac_runtime::transform::{MAX_JSON_DEPTH, as_json, json_to_bson};
    let _serial = serial();
    let run = |levels: usize| {
        // A thread with the default stack: deep input must not overflow it.
        std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || {
                let doc = deep_document(levels);
                as_json(bson::RawBsonRef::Document(&doc)).and_then(|json| {
                    let back = json_to_bson(&json)?;
                    assert_eq!(
                        bson::RawDocumentBuf::try_from(back.as_document().expect("a document"))
                            .expect("valid")
                            .as_bytes(),
                        doc.as_bytes(),
                        "the same document comes back"
                    );
                    Ok(())
                })
            })
            .expect("spawn")
            .join()
            .expect("no panic, no overflow")
    };
    assert_eq!(run(MAX_JSON_DEPTH), Ok(()));
    let too_deep = TransformErrorKind::TooDeep {
        limit: MAX_JSON_DEPTH,
    };
    assert_eq!(run(MAX_JSON_DEPTH + 1), Err(too_deep.clone()));
    assert_eq!(run(10_000), Err(too_deep.clone()));
    assert_eq!(
        too_deep.to_string(),
        "nested deeper than 100 levels of documents and arrays (MongoDB allows 100)"
    );
}
