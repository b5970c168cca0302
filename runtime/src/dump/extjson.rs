//! The mongoexport reader: Extended JSON (canonical or relaxed), one document per line or one
//! streamed JSON array.

use std::io::{self, BufRead, Read};
use std::iter::FusedIterator;
use std::path::PathBuf;

use bson::{Bson, RawDocumentBuf};
use serde::Deserialize;

use super::{DumpError, JsonAt, MAX_DOCUMENT_SIZE, MAX_EXTJSON_DOCUMENT_SIZE};

/// Reads mongoexport Extended JSON, canonical or relaxed: one document per line (the default) or
/// one JSON array (`--jsonArray`), told apart by the first byte that is not whitespace.
///
/// Both forms stream. Lines: one line at a time, blank lines skipped, an error per bad line and
/// the next line read. Array: one element at a time through serde_json, the commas and brackets
/// by hand; an element that is not valid JSON stops the iteration (the rest is out of step), one
/// that is JSON but not a document does not. Memory: one document's text (at most
/// [`MAX_EXTJSON_DOCUMENT_SIZE`] bytes), its `serde_json::Value` and its BSON.
#[derive(Debug)]
pub struct ExtJsonReader<R: BufRead> {
    file: PathBuf,
    input: Counted<R>,
    form: Form,
    index: u64,
    line: u64,
    buf: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Start,
    Lines,
    Array { first: bool },
    Done,
}

impl<R: BufRead> ExtJsonReader<R> {
    /// A reader of `reader`; `file` names it in errors.
    pub fn new(file: impl Into<PathBuf>, reader: R) -> Self {
        let input = Counted {
            inner: reader,
            offset: 0,
            limit: u64::MAX,
        };
        let file = file.into();
        ExtJsonReader {
            file,
            input,
            form: Form::Start,
            index: 0,
            line: 0,
            buf: Vec::new(),
        }
    }

    fn error(&self, at: JsonAt, message: impl Into<String>) -> DumpError {
        DumpError::ExtJson {
            file: self.file.clone(),
            at,
            message: message.into(),
        }
    }

    fn element_at(&self) -> JsonAt {
        JsonAt::Element {
            index: self.index,
            offset: self.input.offset,
        }
    }

    fn start(&mut self) -> Result<(), DumpError> {
        let (first, newlines) = self
            .input
            .skip_whitespace()
            .map_err(|e| self.read_error(e))?;
        self.line = newlines;
        self.form = match first {
            None => Form::Done,
            Some(b'{') => Form::Lines,
            Some(b'[') => {
                self.input.bump();
                Form::Array { first: true }
            }
            Some(other) => {
                self.form = Form::Done;
                let at = JsonAt::Line {
                    line: self.line + 1,
                    index: 0,
                };
                let found = char::from(other);
                return Err(self.error(at, format!("expected '{{' or '[', found {found:?}")));
            }
        };
        Ok(())
    }

    fn next_line(&mut self) -> Result<Option<RawDocumentBuf>, DumpError> {
        loop {
            self.buf.clear();
            let read = self
                .input
                .read_line(&mut self.buf, MAX_EXTJSON_DOCUMENT_SIZE);
            let too_long = match read.map_err(|e| self.read_error(e))? {
                None => return Ok(None),
                Some(too_long) => too_long,
            };
            self.line += 1;
            if !too_long && self.buf.trim_ascii().is_empty() {
                continue;
            }
            let at = JsonAt::Line {
                line: self.line,
                index: self.index,
            };
            self.index += 1;
            if too_long {
                let message = format!("line longer than {MAX_EXTJSON_DOCUMENT_SIZE} bytes");
                return Err(self.error(at, message));
            }
            let value = serde_json::from_slice(self.buf.trim_ascii())
                .map_err(|e| self.error(at, format!("invalid JSON: {e}")))?;
            return to_raw(value)
                .map(Some)
                .map_err(|message| self.error(at, message));
        }
    }

    fn next_element(&mut self, first: bool) -> Result<Option<RawDocumentBuf>, DumpError> {
        let mut next = self.skip_whitespace()?;
        if !first {
            match next {
                Some(b',') => {
                    self.input.bump();
                    next = self.skip_whitespace()?;
                }
                Some(b']') => return self.end_array(),
                _ => return Err(self.unexpected(next, "',' or ']'")),
            }
        } else if next == Some(b']') {
            return self.end_array();
        }
        if next != Some(b'{') {
            return Err(self.unexpected(next, "a document"));
        }
        let at = self.element_at();
        self.index += 1;
        self.form = Form::Array { first: false };
        self.input.limit = self.input.offset + MAX_EXTJSON_DOCUMENT_SIZE as u64;
        // A document ends at its '}', so serde_json reads no byte past it.
        let mut de = serde_json::Deserializer::from_reader(&mut self.input);
        let value = serde_json::Value::deserialize(&mut de);
        self.input.limit = u64::MAX;
        let value = value.map_err(|e| {
            self.form = Form::Done;
            self.error(at, format!("invalid JSON: {e}"))
        })?;
        to_raw(value)
            .map(Some)
            .map_err(|message| self.error(at, message))
    }

    fn end_array(&mut self) -> Result<Option<RawDocumentBuf>, DumpError> {
        self.input.bump();
        self.form = Form::Done;
        match self.skip_whitespace()? {
            None => Ok(None),
            Some(_) => Err(self.error(self.element_at(), "text after the closing ']'")),
        }
    }

    fn skip_whitespace(&mut self) -> Result<Option<u8>, DumpError> {
        let skipped = self
            .input
            .skip_whitespace()
            .map_err(|e| self.read_error(e))?;
        Ok(skipped.0)
    }

    fn unexpected(&mut self, found: Option<u8>, expected: &str) -> DumpError {
        self.form = Form::Done;
        let found = match found {
            Some(byte) => format!("{:?}", char::from(byte)),
            None => "the end of the file (unterminated array)".to_owned(),
        };
        self.error(
            self.element_at(),
            format!("expected {expected}, found {found}"),
        )
    }

    fn read_error(&self, source: io::Error) -> DumpError {
        let (file, index, offset) = (self.file.clone(), self.index, self.input.offset);
        DumpError::Read {
            file,
            index,
            offset,
            source,
        }
    }
}

impl<R: BufRead> Iterator for ExtJsonReader<R> {
    type Item = Result<RawDocumentBuf, DumpError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.form == Form::Start
            && let Err(e) = self.start()
        {
            return Some(Err(e));
        }
        let result = match self.form {
            Form::Start | Form::Done => return None,
            Form::Lines => self.next_line(),
            Form::Array { first } => self.next_element(first),
        };
        match &result {
            Ok(None) | Err(DumpError::Read { .. }) => self.form = Form::Done,
            _ => {}
        }
        result.transpose()
    }
}

impl<R: BufRead> FusedIterator for ExtJsonReader<R> {}

/// One Extended JSON value to a BSON document, or what was wrong with it.
fn to_raw(value: serde_json::Value) -> Result<RawDocumentBuf, String> {
    let doc = match Bson::try_from(value) {
        Ok(Bson::Document(doc)) => doc,
        Ok(other) => return Err(format!("not a document but {:?}", other.element_type())),
        Err(e) => return Err(format!("not Extended JSON: {e}")),
    };
    let raw = RawDocumentBuf::try_from(&doc).map_err(|e| format!("not encodable as BSON: {e}"))?;
    let size = raw.as_bytes().len();
    if size > MAX_DOCUMENT_SIZE {
        return Err(format!(
            "{size} bytes of BSON, over MongoDB's limit of {MAX_DOCUMENT_SIZE}"
        ));
    }
    Ok(raw)
}

/// A buffered reader that counts the bytes consumed and, as [`Read`], refuses to go past `limit`.
#[derive(Debug)]
struct Counted<R> {
    inner: R,
    offset: u64,
    limit: u64,
}

impl<R: BufRead> Counted<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        loop {
            match self.inner.fill_buf() {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Re-borrowed so the loop can go round after an interruption.
                Ok(_) => return self.inner.fill_buf(),
                Err(e) => return Err(e),
            }
        }
    }

    fn consume(&mut self, n: usize) {
        self.inner.consume(n);
        self.offset += n as u64;
    }

    /// Consumes the byte a `fill_buf` showed.
    fn bump(&mut self) {
        self.consume(1);
    }

    /// Skips JSON whitespace; returns the next byte (not consumed) and the newlines skipped.
    fn skip_whitespace(&mut self) -> io::Result<(Option<u8>, u64)> {
        let mut newlines = 0;
        loop {
            let buf = self.fill_buf()?;
            let Some(&first) = buf.first() else {
                return Ok((None, newlines));
            };
            let n = buf
                .iter()
                .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
                .count();
            newlines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
            if n == 0 {
                return Ok((Some(first), newlines));
            }
            self.consume(n);
        }
    }

    /// Appends one line, its newline included, to `buf`; `None` at the end of the stream,
    /// `Some(true)` when the line is longer than `max` (then `buf` is left empty and the rest of
    /// the line is skipped).
    fn read_line(&mut self, buf: &mut Vec<u8>, max: usize) -> io::Result<Option<bool>> {
        let (mut any, mut too_long) = (false, false);
        loop {
            let avail = self.fill_buf()?;
            if avail.is_empty() {
                return Ok(any.then_some(too_long));
            }
            any = true;
            let (n, done) = match avail.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (avail.len(), false),
            };
            if !too_long && buf.len() + n > max + 1 {
                too_long = true;
                buf.clear();
            } else if !too_long {
                buf.extend_from_slice(&avail[..n]);
            }
            self.consume(n);
            if done {
                return Ok(Some(too_long));
            }
        }
    }
}

impl<R: BufRead> Read for Counted<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let room = self.limit.saturating_sub(self.offset);
        let avail = self.fill_buf()?;
        if room == 0 && !avail.is_empty() {
            let message = format!("document longer than {MAX_EXTJSON_DOCUMENT_SIZE} bytes");
            return Err(io::Error::other(message));
        }
        let n = out
            .len()
            .min(avail.len())
            .min(usize::try_from(room).unwrap_or(usize::MAX));
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}
