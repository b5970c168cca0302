//! The mongodump reader: concatenated BSON documents, each length-checked and validated.

use std::io::{self, Read};
use std::iter::FusedIterator;
use std::path::{Path, PathBuf};

use bson::{RawArray, RawBsonRef, RawDocument, RawDocumentBuf};

use super::{DumpError, MAX_DOCUMENT_SIZE};

/// Reads concatenated BSON documents (a mongodump `.bson` file), one at a time.
///
/// A clean end of stream between documents ends the iteration. After a [`DumpError::Truncated`],
/// [`DumpError::BadLength`] or [`DumpError::Read`] the iteration stops; after a
/// [`DumpError::InvalidBson`] it goes on, since the length prefix kept the stream in step.
/// Memory: one document, at most [`MAX_DOCUMENT_SIZE`] bytes. Pass a buffered reader.
#[derive(Debug)]
pub struct BsonReader<R: Read> {
    file: PathBuf,
    reader: R,
    offset: u64,
    index: u64,
    done: bool,
}

impl<R: Read> BsonReader<R> {
    /// A reader of `reader`; `file` names it in errors.
    pub fn new(file: impl Into<PathBuf>, reader: R) -> Self {
        BsonReader {
            file: file.into(),
            reader,
            offset: 0,
            index: 0,
            done: false,
        }
    }

    /// The byte offset of the next document.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The index of the next document, from 0.
    pub fn index(&self) -> u64 {
        self.index
    }

    fn read_document(&mut self) -> Result<Option<RawDocumentBuf>, DumpError> {
        let (offset, index) = (self.offset, self.index);
        let truncated = |file: &Path, expected: u64, got: u64| DumpError::Truncated {
            file: file.to_path_buf(),
            offset,
            index,
            expected,
            got,
        };
        let mut prefix = [0u8; 4];
        let got = read_full(&mut self.reader, &mut prefix).map_err(|e| self.read_error(e))?;
        match got {
            0 => return Ok(None),
            1..=3 => return Err(truncated(&self.file, 4, got as u64)),
            _ => {}
        }
        let length = i32::from_le_bytes(prefix);
        let size = match usize::try_from(length) {
            Ok(size @ 5..=MAX_DOCUMENT_SIZE) => size,
            _ => {
                let file = self.file.clone();
                return Err(DumpError::BadLength {
                    file,
                    offset,
                    index,
                    length,
                });
            }
        };
        let mut data = Vec::with_capacity(size);
        data.extend_from_slice(&prefix);
        let rest = (size - 4) as u64;
        let got = (&mut self.reader)
            .take(rest)
            .read_to_end(&mut data)
            .map_err(|e| self.read_error(e))?;
        if (got as u64) < rest {
            return Err(truncated(&self.file, size as u64, 4 + got as u64));
        }
        self.offset += size as u64;
        self.index += 1;
        let invalid = |source| DumpError::InvalidBson {
            file: self.file.clone(),
            offset,
            index,
            source,
        };
        let doc = RawDocumentBuf::from_bytes(data).map_err(invalid)?;
        validate(&doc).map_err(invalid)?;
        Ok(Some(doc))
    }

    fn read_error(&self, source: io::Error) -> DumpError {
        let (file, index, offset) = (self.file.clone(), self.index, self.offset);
        DumpError::Read {
            file,
            index,
            offset,
            source,
        }
    }
}

impl<R: Read> Iterator for BsonReader<R> {
    type Item = Result<RawDocumentBuf, DumpError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let result = self.read_document();
        self.done = match &result {
            Ok(doc) => doc.is_none(),
            Err(e) => !matches!(e, DumpError::InvalidBson { .. }),
        };
        result.transpose()
    }
}

impl<R: Read> FusedIterator for BsonReader<R> {}

/// Reads into `buf` until it is full or the stream ends; returns the bytes read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Walks every element of `doc`, nested ones included: `RawDocumentBuf::from_bytes` checks only
/// the length and the final NUL, and the rest would fail later, far from the file. A stack, not
/// recursion, so a deeply nested document cannot overflow ours. It reads with [`crate::raw`],
/// which gives `bson`'s own items and errors, faster.
fn validate(doc: &RawDocument) -> Result<(), bson::error::Error> {
    enum Node<'a> {
        Doc(&'a RawDocument),
        Array(&'a RawArray),
    }
    fn push_nested<'a>(stack: &mut Vec<Node<'a>>, value: RawBsonRef<'a>) {
        match value {
            RawBsonRef::Document(d) => stack.push(Node::Doc(d)),
            RawBsonRef::Array(a) => stack.push(Node::Array(a)),
            RawBsonRef::JavaScriptCodeWithScope(c) => stack.push(Node::Doc(c.scope)),
            _ => {}
        }
    }
    let mut stack = vec![Node::Doc(doc)];
    while let Some(node) = stack.pop() {
        match node {
            Node::Doc(d) => {
                for element in crate::raw::elements(d) {
                    push_nested(&mut stack, element?.1);
                }
            }
            Node::Array(a) => {
                for value in crate::raw::items(a) {
                    push_nested(&mut stack, value?);
                }
            }
        }
    }
    Ok(())
}
