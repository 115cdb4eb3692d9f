//! The canonical byte encoding: fixed-width big-endian integers, raw byte arrays and
//! length-prefixed UTF-8. Used for ids, hashes, signatures, the wire and the block log.

use thiserror::Error;

/// Why bytes could not be decoded. Decoding never panics, whatever the input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The input ended inside a value.
    #[error("input ended early: {what} needs {needed} more bytes, {remaining} left")]
    UnexpectedEnd {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes left.
        remaining: usize,
    },
    /// A tag byte that names no known variant.
    #[error("unknown {what} tag {tag:#04x}")]
    UnknownTag {
        /// Which enum the tag selects.
        what: &'static str,
        /// The byte found.
        tag: u8,
    },
    /// A length prefix beyond the documented maximum.
    #[error("{what} is {len} long, more than the maximum {max}")]
    TooLong {
        /// What the length counts.
        what: &'static str,
        /// Length found.
        len: u64,
        /// Largest accepted.
        max: u64,
    },
    /// A message text that is not UTF-8.
    #[error("message text is not valid UTF-8")]
    InvalidUtf8,
    /// Bytes left over after a complete value.
    #[error("{count} trailing bytes after a complete value")]
    TrailingBytes {
        /// Bytes left over.
        count: usize,
    },
}

/// Appends canonical encodings to a byte buffer.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Writer { buf: Vec::with_capacity(capacity) }
    }

    /// One byte.
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    /// Four bytes, big-endian.
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// Eight bytes, big-endian.
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// Raw bytes, no length prefix.
    pub fn bytes(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }

    /// A u32 byte length followed by the UTF-8 bytes.
    pub fn str(&mut self, v: &str) {
        self.u32(v.len() as u32);
        self.bytes(v.as_bytes());
    }

    /// The bytes written so far.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads canonical encodings from a byte slice, failing cleanly at its end.
#[derive(Debug)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// The unread bytes, without consuming them.
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < n {
            return Err(DecodeError::UnexpectedEnd { what, needed: n, remaining: self.rest.len() });
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    /// A fixed-size array.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    /// One byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }

    /// A big-endian u32.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    /// A big-endian u64.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    /// A u32-length-prefixed UTF-8 string of at most `max` bytes.
    pub fn str(&mut self, what: &'static str, max: usize) -> Result<&'a str, DecodeError> {
        let len = self.u32(what)? as usize;
        if len > max {
            return Err(DecodeError::TooLong { what, len: len as u64, max: max as u64 });
        }
        std::str::from_utf8(self.take(len, what)?).map_err(|_| DecodeError::InvalidUtf8)
    }

    /// A u32 count of at most `max` items.
    pub fn count(&mut self, what: &'static str, max: usize) -> Result<usize, DecodeError> {
        let n = self.u32(what)? as usize;
        if n > max {
            return Err(DecodeError::TooLong { what, len: n as u64, max: max as u64 });
        }
        Ok(n)
    }

    /// Fails unless every byte has been read.
    pub fn finish(self) -> Result<(), DecodeError> {
        match self.rest.len() {
            0 => Ok(()),
            count => Err(DecodeError::TrailingBytes { count }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let mut w = Writer::default();
        w.u8(7);
        w.u32(0x0102_0304);
        w.u64(u64::MAX - 1);
        w.str("héllo");
        let bytes = w.finish();
        assert_eq!(&bytes[..5], &[7, 1, 2, 3, 4]);
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u8("a"), Ok(7));
        assert_eq!(r.u32("b"), Ok(0x0102_0304));
        assert_eq!(r.u64("c"), Ok(u64::MAX - 1));
        assert_eq!(r.str("d", 100), Ok("héllo"));
        assert_eq!(r.finish(), Ok(()));

        let mut r = Reader::new(&bytes[..3]);
        r.u8("a").unwrap();
        assert_eq!(r.u32("b"), Err(DecodeError::UnexpectedEnd { what: "b", needed: 4, remaining: 2 }));
        let mut r = Reader::new(&bytes[13..]);
        assert_eq!(r.str("d", 3), Err(DecodeError::TooLong { what: "d", len: 6, max: 3 }));
        assert_eq!(Reader::new(&[0, 0, 0, 1, 0xff]).str("d", 9), Err(DecodeError::InvalidUtf8));
        assert_eq!(Reader::new(&[1]).finish(), Err(DecodeError::TrailingBytes { count: 1 }));
    }
}
