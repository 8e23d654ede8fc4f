//! Packet framing: the length word, checked against the connection's maximum before anything is
//! read or reserved, then the header and the payload as a zero-copy [`Bytes`] view of the read
//! buffer.

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::Decoder;

use super::header::{Header, LEN_SIZE, PAYLOAD_OFFSET};
use super::Error;
use crate::mux::encode_after;
use crate::xdr::{Encode, Encoder};

/// One received packet: its validated header and its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The header.
    pub header: Header,
    /// The payload after the header: an XDR value, raw stream data, or nothing. It shares the
    /// connection's receive buffer (no copy).
    pub body: Bytes,
}

/// Splits a byte stream into [`Packet`]s (a `tokio_util` codec).
///
/// The length word counts itself and the header. It is checked before the body is read: a
/// length over the maximum or too small to hold a header is an error (the stream cannot be
/// resynchronised after it). Room for a packet is reserved as its bytes arrive, never all at
/// once from the length word, so a peer that claims a large packet and sends little costs
/// little memory.
#[derive(Debug, Clone)]
pub struct PacketCodec {
    max: usize,
}

impl PacketCodec {
    /// A codec accepting packets of at most `max` bytes, length word included.
    pub fn new(max: usize) -> Self {
        PacketCodec { max }
    }
}

/// Read-buffer growth step while a packet's bytes arrive.
const GROWTH: usize = 64 * 1024;

impl Decoder for PacketCodec {
    type Item = Packet;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Packet>, Error> {
        let Some(word) = src.get(..LEN_SIZE) else {
            return Ok(None);
        };
        let len = u32::from_be_bytes([word[0], word[1], word[2], word[3]]) as usize;
        if len > self.max {
            return Err(Error::PacketTooLarge {
                length: len,
                max: self.max,
            });
        }
        if len < PAYLOAD_OFFSET {
            return Err(Error::protocol(format!(
                "packet length {len} is smaller than the {PAYLOAD_OFFSET}-byte length word and header"
            )));
        }
        if src.len() < len {
            // Grow with what has arrived, not with what the peer claims.
            let missing = len - src.len();
            src.reserve(missing.min(GROWTH.max(src.len())));
            return Ok(None);
        }
        let mut frame = src.split_to(len);
        frame.advance(LEN_SIZE);
        let header = Header::decode(&frame)?;
        frame.advance(PAYLOAD_OFFSET - LEN_SIZE);
        Ok(Some(Packet {
            header,
            body: frame.freeze(),
        }))
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Packet>, Error> {
        match self.decode(buf)? {
            Some(p) => Ok(Some(p)),
            None if buf.is_empty() => Ok(None),
            None => Err(Error::protocol(format!(
                "connection closed in the middle of a packet ({} bytes received)",
                buf.len()
            ))),
        }
    }
}

/// Builds one packet: length word, header, then `body` encoded as XDR. Fails before allocating
/// when the packet would be over `max` bytes.
pub fn encode_packet<T: Encode + ?Sized>(
    header: &Header,
    body: &T,
    max: usize,
) -> Result<Bytes, Error> {
    let len = PAYLOAD_OFFSET + body.encoded_len();
    if len > max {
        return Err(Error::PacketTooLarge { length: len, max });
    }
    let mut buf = Vec::with_capacity(len);
    buf.extend_from_slice(&(len as u32).to_be_bytes());
    buf.extend_from_slice(&header.encode());
    let mut out = Encoder::from_vec(buf);
    body.encode(&mut out)?;
    let buf = out.into_bytes();
    debug_assert_eq!(buf.len(), len, "encoded_len disagrees with encode");
    Ok(Bytes::from(buf))
}

/// Appends one packet of `len` bytes (length word, header, then `body`: `len` is
/// [`PAYLOAD_OFFSET`] plus `body`'s encoded length, checked against the maximum by the caller)
/// to `out`. On failure, or a panic of `body`'s `encode`, nothing of it is left in `out`.
pub(crate) fn encode_packet_into<T: Encode + ?Sized>(
    out: &mut Vec<u8>,
    header: &Header,
    body: &T,
    len: usize,
) -> Result<(), Error> {
    let start = out.len();
    out.reserve(len);
    out.extend_from_slice(&(len as u32).to_be_bytes());
    out.extend_from_slice(&header.encode());
    encode_after(out, start, |enc| body.encode(enc))?;
    debug_assert_eq!(out.len() - start, len, "encoded_len disagrees with encode");
    Ok(())
}

/// The length word and header of a packet whose payload is `body_len` raw bytes (stream data),
/// sent in front of the payload so that the data itself is not copied.
pub fn raw_head(header: &Header, body_len: usize) -> Bytes {
    let mut buf = Vec::with_capacity(PAYLOAD_OFFSET);
    buf.extend_from_slice(&((PAYLOAD_OFFSET + body_len) as u32).to_be_bytes());
    buf.extend_from_slice(&header.encode());
    Bytes::from(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::libvirt::{MessageType, Status};

    fn header() -> Header {
        Header {
            program: 0x2000_8086,
            version: 1,
            procedure: 3,
            kind: MessageType::Reply,
            serial: 5,
            status: Status::Ok,
        }
    }

    /// A body whose encoding fails, or panics, after writing a word.
    struct Broken {
        panic: bool,
    }

    impl Encode for Broken {
        fn encoded_len(&self) -> usize {
            8
        }
        fn encode(&self, out: &mut Encoder) -> Result<(), crate::xdr::Error> {
            out.put_u32(9);
            if self.panic {
                panic!("a broken Encode impl");
            }
            Err(crate::xdr::Error::custom("broken"))
        }
    }

    #[test]
    fn a_failed_or_panicking_body_leaves_the_queued_packets_whole() {
        // `out` stands for the writer's queue, holding another caller's packet.
        let queued = encode_packet(&header(), &7u32, 1 << 20).unwrap().to_vec();
        for panic in [false, true] {
            let mut out = queued.clone();
            let body = Broken { panic };
            let len = PAYLOAD_OFFSET + body.encoded_len();
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                encode_packet_into(&mut out, &header(), &body, len)
            }));
            assert_eq!(result.is_err(), panic, "panicked");
            if let Ok(r) = result {
                assert!(r.is_err());
            }
            assert_eq!(out, queued, "panic: {panic}");
        }
    }

    #[test]
    fn packets_split_across_reads_and_packed_together() {
        let one = encode_packet(&header(), &7u32, 1 << 20).unwrap();
        let two = encode_packet(&header(), &(), 1 << 20).unwrap();
        let stream: Vec<u8> = [one.as_ref(), two.as_ref()].concat();
        let mut codec = PacketCodec::new(1 << 20);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for b in stream {
            buf.extend_from_slice(&[b]);
            while let Some(p) = codec.decode(&mut buf).unwrap() {
                got.push(p);
            }
        }
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].body.as_ref(), [0, 0, 0, 7]);
        assert!(got[1].body.is_empty());
        assert_eq!(got[1].header, header());
    }

    #[test]
    fn oversized_length_fails_before_reserving() {
        let mut codec = PacketCodec::new(1024);
        let mut buf = BytesMut::from(&[0x7f, 0xff, 0xff, 0xff, 0, 0][..]);
        let cap = buf.capacity();
        match codec.decode(&mut buf) {
            Err(Error::PacketTooLarge { length, max }) => {
                assert_eq!((length, max), (0x7fff_ffff, 1024));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(buf.capacity(), cap);
    }

    #[test]
    fn claimed_length_is_not_reserved_up_front() {
        let mut codec = PacketCodec::new(32 << 20);
        let mut buf = BytesMut::from(&(32u32 << 20).to_be_bytes()[..]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        assert!(buf.capacity() <= GROWTH + 64, "{}", buf.capacity());
    }

    #[test]
    fn short_length_and_truncation_are_errors() {
        let mut codec = PacketCodec::new(1024);
        let mut buf = BytesMut::from(&[0, 0, 0, 27][..]);
        let e = codec.decode(&mut buf).unwrap_err().to_string();
        assert!(e.contains("packet length 27 is smaller"), "{e}");
        let mut buf = BytesMut::from(&[0, 0, 0, 40, 1, 2][..]);
        let e = codec.decode_eof(&mut buf).unwrap_err().to_string();
        assert!(
            e.contains("in the middle of a packet (6 bytes received)"),
            "{e}"
        );
    }

    #[test]
    fn encoding_over_the_maximum_fails() {
        let big = crate::xdr::Opaque::<{ u32::MAX }>::new(vec![0; 100]).unwrap();
        let e = encode_packet(&header(), &big, 64).unwrap_err();
        assert!(
            matches!(
                e,
                Error::PacketTooLarge {
                    length: 132,
                    max: 64
                }
            ),
            "{e:?}"
        );
    }
}
