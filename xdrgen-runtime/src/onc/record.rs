//! Record marking (RFC 5531 §11, first in RFC 1831): on a byte stream, each message is a
//! record sent as one or more fragments, each a 4-byte big-endian header (top bit: last
//! fragment; low 31 bits: its length) then that many bytes.
//!
//! [`RecordCodec`] is a `tokio_util` codec: decoding reassembles records from any number of
//! fragments arriving in reads of any size; the total length is checked against the maximum
//! *before* any fragment's bytes are reserved, and room grows with what arrives rather than with
//! what a header claims. Encoding splits a record into fragments of at most
//! [`RecordCodec::max_fragment`] bytes.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::Error;

/// The bit of a fragment header that marks the last fragment of a record.
const LAST: u32 = 0x8000_0000;

/// The default maximum record size: 4 MiB, enough for NFS READ/WRITE of 1 MiB and more.
pub const DEFAULT_MAX_RECORD: usize = 4 * 1024 * 1024;

/// The default largest fragment written: 1 MiB.
pub const DEFAULT_MAX_FRAGMENT: usize = 1024 * 1024;

/// Read-buffer growth step while a fragment's bytes arrive.
const GROWTH: usize = 64 * 1024;

/// Splits a byte stream into records and records into fragments.
#[derive(Debug, Clone)]
pub struct RecordCodec {
    max_record: usize,
    max_fragment: usize,
    /// The fragments of the record being reassembled, when it has more than one.
    partial: BytesMut,
    /// True while `partial` holds the start of a record.
    in_record: bool,
}

impl Default for RecordCodec {
    fn default() -> Self {
        RecordCodec::new(DEFAULT_MAX_RECORD)
    }
}

impl RecordCodec {
    /// A codec accepting records of at most `max_record` bytes (fragment headers not counted).
    pub fn new(max_record: usize) -> Self {
        RecordCodec {
            max_record,
            max_fragment: DEFAULT_MAX_FRAGMENT,
            partial: BytesMut::new(),
            in_record: false,
        }
    }

    /// Sets the largest fragment this codec writes (at least 4 bytes, at most `2^31 - 1`).
    pub fn with_max_fragment(mut self, max_fragment: usize) -> Self {
        self.max_fragment = max_fragment.clamp(4, (LAST - 1) as usize);
        self
    }

    /// The largest record accepted.
    pub fn max_record(&self) -> usize {
        self.max_record
    }

    /// The largest fragment written.
    pub fn max_fragment(&self) -> usize {
        self.max_fragment
    }

    /// Whether the fragments of a record that has not ended have been taken in (bytes still
    /// in the read buffer aside): with them, part of a record is held.
    pub fn in_record(&self) -> bool {
        self.in_record
    }
}

impl Decoder for RecordCodec {
    type Item = Bytes;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, Error> {
        loop {
            let Some(word) = src.get(..4) else {
                return Ok(None);
            };
            let word = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
            let len = (word & !LAST) as usize;
            let last = word & LAST != 0;
            let total = self.partial.len().saturating_add(len);
            if total > self.max_record {
                return Err(Error::RecordTooLarge {
                    length: total,
                    max: self.max_record,
                });
            }
            if src.len() - 4 < len {
                // Grow with what has arrived, not with what the peer claims.
                let missing = len + 4 - src.len();
                src.reserve(missing.min(GROWTH.max(src.len())));
                return Ok(None);
            }
            src.advance(4);
            let fragment = src.split_to(len);
            if last && !self.in_record {
                // The common case, one fragment: no copy.
                return Ok(Some(fragment.freeze()));
            }
            self.partial.extend_from_slice(&fragment);
            self.in_record = true;
            if last {
                self.in_record = false;
                return Ok(Some(std::mem::take(&mut self.partial).freeze()));
            }
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, Error> {
        match self.decode(src)? {
            Some(record) => Ok(Some(record)),
            None if src.is_empty() && !self.in_record => Ok(None),
            None => Err(Error::protocol(format!(
                "the connection closed in the middle of a record ({} bytes of it received)",
                self.partial.len() + src.len().saturating_sub(4)
            ))),
        }
    }
}

impl<T: AsRef<[u8]>> Encoder<T> for RecordCodec {
    type Error = Error;

    fn encode(&mut self, record: T, dst: &mut BytesMut) -> Result<(), Error> {
        let record = record.as_ref();
        let fragments = record.len().div_ceil(self.max_fragment).max(1);
        dst.reserve(record.len() + 4 * fragments);
        let mut chunks = record.chunks(self.max_fragment).peekable();
        if chunks.peek().is_none() {
            dst.put_u32(LAST);
        }
        while let Some(chunk) = chunks.next() {
            // A chunk is at most max_fragment < 2^31 bytes.
            let mut word = chunk.len() as u32;
            if chunks.peek().is_none() {
                word |= LAST;
            }
            dst.put_u32(word);
            dst.put_slice(chunk);
        }
        Ok(())
    }
}

impl RecordCodec {
    /// Writes the header of a record of one fragment into the 4 bytes of room at the start of
    /// `message`, the record's bytes following them; `false` (nothing written) when the record
    /// is over [`max_fragment`](RecordCodec::max_fragment) or there is no room.
    pub(crate) fn mark_in_place(&self, message: &mut [u8]) -> bool {
        let len = message.len().saturating_sub(4);
        match message.get_mut(..4) {
            Some(mark) if len <= self.max_fragment => {
                // max_fragment < 2^31: the length fits the header's 31 bits.
                mark.copy_from_slice(&(len as u32 | LAST).to_be_bytes());
                true
            }
            _ => false,
        }
    }

    /// The record whose bytes follow 4 bytes of room at the start of `message`, framed: in
    /// place when it fits one fragment (the common case: no copy), else copied out in
    /// fragments of at most [`max_fragment`](RecordCodec::max_fragment) bytes.
    pub(crate) fn frame_in_place(&self, mut message: Vec<u8>) -> Bytes {
        if self.mark_in_place(&mut message) {
            return Bytes::from(message);
        }
        let mut out = BytesMut::new();
        let record = message.get(4..).unwrap_or_default();
        // Encoding into a BytesMut cannot fail.
        let _ = self.clone().encode(record, &mut out);
        out.freeze()
    }
}

/// `record` as one record of a single fragment, in a new buffer (for tests and small
/// messages; connections use [`RecordCodec`]'s encoder).
pub fn single_fragment(record: &[u8]) -> Result<Vec<u8>, Error> {
    let len = u32::try_from(record.len())
        .ok()
        .filter(|n| n & LAST == 0)
        .ok_or(Error::RecordTooLarge {
            length: record.len(),
            max: (LAST - 1) as usize,
        })?;
    let mut out = Vec::with_capacity(4 + record.len());
    out.extend_from_slice(&(len | LAST).to_be_bytes());
    out.extend_from_slice(record);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(codec: &mut RecordCodec, input: &[u8], step: usize) -> Vec<Bytes> {
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for chunk in input.chunks(step) {
            buf.extend_from_slice(chunk);
            while let Some(r) = codec.decode(&mut buf).unwrap() {
                out.push(r);
            }
        }
        assert!(codec.decode_eof(&mut buf).unwrap().is_none());
        out
    }

    #[test]
    fn one_fragment_has_the_rfc_layout() {
        let mut dst = BytesMut::new();
        RecordCodec::default()
            .encode(&[1u8, 2, 3, 4][..], &mut dst)
            .unwrap();
        assert_eq!(&dst[..], [0x80, 0, 0, 4, 1, 2, 3, 4]);
        assert_eq!(single_fragment(&[1, 2, 3, 4]).unwrap(), &dst[..]);
        let mut dst = BytesMut::new();
        RecordCodec::default().encode(&[][..], &mut dst).unwrap();
        assert_eq!(&dst[..], [0x80, 0, 0, 0]);
    }

    #[test]
    fn framing_in_place_matches_the_encoder() {
        for (max_fragment, n) in [(8, 0), (8, 8), (8, 9), (4, 21), (1 << 20, 1000)] {
            let codec = RecordCodec::default().with_max_fragment(max_fragment);
            let record: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let mut expected = BytesMut::new();
            codec.clone().encode(&record[..], &mut expected).unwrap();
            let message = [&[9u8; 4][..], &record].concat();
            let framed = codec.frame_in_place(message);
            assert_eq!(framed, expected, "max_fragment {max_fragment}, {n} bytes");
        }
    }

    #[test]
    fn a_single_fragment_record_is_a_slice_of_the_read_buffer() {
        // A record in one fragment is handed on without a copy: its bytes stay where the read
        // put them (what lets decoded opaque data share them).
        let mut buf = BytesMut::with_capacity(1 << 16);
        buf.extend_from_slice(&[0x80, 0, 0x10, 0]);
        buf.extend_from_slice(&[7; 0x1000]);
        let landed = buf[4..].as_ptr() as usize;
        let record = RecordCodec::default().decode(&mut buf).unwrap().unwrap();
        assert_eq!(record.len(), 0x1000);
        assert_eq!(record.as_ptr() as usize, landed);
    }

    #[test]
    fn large_records_go_out_as_fragments() {
        let mut codec = RecordCodec::default().with_max_fragment(4);
        let mut dst = BytesMut::new();
        codec
            .encode(&[1u8, 2, 3, 4, 5, 6, 7, 8, 9][..], &mut dst)
            .unwrap();
        #[rustfmt::skip]
        let expected = [
            0, 0, 0, 4, 1, 2, 3, 4,
            0, 0, 0, 4, 5, 6, 7, 8,
            0x80, 0, 0, 1, 9,
        ];
        assert_eq!(&dst[..], expected);
        assert_eq!(
            decode_all(&mut RecordCodec::default(), &expected, 100),
            [Bytes::from_static(&[1, 2, 3, 4, 5, 6, 7, 8, 9])]
        );
    }

    #[test]
    fn a_record_of_many_fragments_arriving_one_byte_at_a_time() {
        let body: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        let mut wire = BytesMut::new();
        let mut enc = RecordCodec::default().with_max_fragment(7);
        enc.encode(&body[..], &mut wire).unwrap();
        enc.encode(&[42u8][..], &mut wire).unwrap();
        assert_eq!(wire.len(), body.len() + 4 * body.len().div_ceil(7) + 5);
        let records = decode_all(&mut RecordCodec::default(), &wire, 1);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0], body);
        assert_eq!(records[1], [42][..]);
    }

    #[test]
    fn empty_fragments_are_allowed() {
        let wire = [0, 0, 0, 0, 0, 0, 0, 2, 1, 2, 0x80, 0, 0, 0];
        assert_eq!(
            decode_all(&mut RecordCodec::default(), &wire, 3),
            [Bytes::from_static(&[1, 2])]
        );
    }

    #[test]
    fn an_oversized_fragment_is_refused_before_allocating() {
        let mut codec = RecordCodec::new(1000);
        let mut buf = BytesMut::from(&[0x80, 0, 0x03, 0xe9][..]); // 1001 bytes
        let err = codec.decode(&mut buf).unwrap_err();
        assert!(
            matches!(
                err,
                Error::RecordTooLarge {
                    length: 1001,
                    max: 1000
                }
            ),
            "{err}"
        );
        // A header claiming 2 GiB reserves only what a read would bring.
        let mut codec = RecordCodec::new(usize::MAX);
        let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xff][..]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        assert!(buf.capacity() <= 4 + GROWTH, "{}", buf.capacity());
    }

    #[test]
    fn fragments_adding_up_past_the_maximum_are_refused() {
        let mut codec = RecordCodec::new(10);
        let mut buf = BytesMut::from(&[0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3][..]);
        let err = codec.decode(&mut buf).unwrap_err();
        assert!(
            matches!(
                err,
                Error::RecordTooLarge {
                    length: 11,
                    max: 10
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_record_cut_short_is_an_error_at_eof() {
        let mut codec = RecordCodec::default();
        let mut buf = BytesMut::from(&[0, 0, 0, 1, 7, 0x80, 0, 0, 4, 1][..]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        assert!(codec.decode_eof(&mut buf).is_err());
    }
}
