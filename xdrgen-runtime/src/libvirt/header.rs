//! The packet header: six 32-bit words after the length word (virnetprotocol.x's
//! `virNetMessageHeader`).

use super::Error;

/// Bytes of the length word that starts every packet.
pub const LEN_SIZE: usize = 4;
/// Bytes of the header after the length word.
pub const HEADER_SIZE: usize = 24;
/// The length word plus the header: where a packet's payload starts.
pub const PAYLOAD_OFFSET: usize = LEN_SIZE + HEADER_SIZE;
/// virnetprotocol.x's `VIR_NET_MESSAGE_MAX`: the largest packet, length word included.
pub const MESSAGE_MAX: usize = 33_554_432;
/// virnetprotocol.x's `VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX`: the largest data payload of one
/// stream packet that every peer accepts.
pub const STREAM_PAYLOAD_MAX: usize = 262_120;

/// `virNetMessageType`: what a packet is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// A call from client to server.
    Call = 0,
    /// The reply to a call.
    Reply = 1,
    /// An unsolicited message: an event (libvirtd gives it serial 1) or keepalive's PING/PONG
    /// (serial 0).
    Message = 2,
    /// Stream data or a stream's end or error.
    Stream = 3,
    /// A call passing file descriptors (not supported here).
    CallWithFds = 4,
    /// A reply passing file descriptors (not supported here).
    ReplyWithFds = 5,
    /// A hole in a sparse stream.
    StreamHole = 6,
}

impl MessageType {
    fn from_wire(v: i32) -> Option<Self> {
        Some(match v {
            0 => MessageType::Call,
            1 => MessageType::Reply,
            2 => MessageType::Message,
            3 => MessageType::Stream,
            4 => MessageType::CallWithFds,
            5 => MessageType::ReplyWithFds,
            6 => MessageType::StreamHole,
            _ => return None,
        })
    }
}

/// `virNetMessageStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Success; for streams, the end of the data.
    Ok = 0,
    /// An error: the payload is a `virNetMessageError`.
    Error = 1,
    /// More stream data follows.
    Continue = 2,
}

impl Status {
    fn from_wire(v: i32) -> Option<Self> {
        Some(match v {
            0 => Status::Ok,
            1 => Status::Error,
            2 => Status::Continue,
            _ => return None,
        })
    }
}

/// A decoded packet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// The program number (`REMOTE_PROGRAM`, `KEEPALIVE_PROGRAM`, …).
    pub program: u32,
    /// The program's version.
    pub version: u32,
    /// The procedure number within the program.
    pub procedure: u32,
    /// What the packet is.
    pub kind: MessageType,
    /// The call's serial (0 for unsolicited messages).
    pub serial: u32,
    /// The status.
    pub status: Status,
}

impl Header {
    /// Reads a header from the first [`HEADER_SIZE`] bytes of `bytes` (the packet after its
    /// length word). Every field is checked: an unknown type or status, a negative procedure or
    /// a short header is an error that names the field.
    ///
    /// ```
    /// use xdrgen_runtime::libvirt::{Header, MessageType, Status};
    ///
    /// let words: [u32; 6] = [0x2000_8086, 1, 16, 1, 7, 0];
    /// let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
    /// let h = Header::decode(&bytes)?;
    /// assert_eq!((h.procedure, h.kind, h.serial, h.status), (16, MessageType::Reply, 7, Status::Ok));
    /// assert_eq!(h.encode(), bytes.as_slice());
    /// # Ok::<(), xdrgen_runtime::libvirt::Error>(())
    /// ```
    pub fn decode(bytes: &[u8]) -> Result<Header, Error> {
        let Some(head) = bytes.get(..HEADER_SIZE) else {
            return Err(Error::protocol(format!(
                "packet of {} bytes is shorter than the {HEADER_SIZE}-byte header",
                bytes.len() + LEN_SIZE
            )));
        };
        let word = |i: usize| u32::from_be_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
        let procedure = word(8) as i32;
        let procedure = u32::try_from(procedure)
            .map_err(|_| Error::protocol(format!("negative procedure number {procedure}")))?;
        let kind = MessageType::from_wire(word(12) as i32)
            .ok_or_else(|| Error::protocol(format!("unknown message type {}", word(12) as i32)))?;
        let status = Status::from_wire(word(20) as i32).ok_or_else(|| {
            Error::protocol(format!("unknown message status {}", word(20) as i32))
        })?;
        Ok(Header {
            program: word(0),
            version: word(4),
            procedure,
            kind,
            serial: word(16),
            status,
        })
    }

    /// The header's 24 bytes.
    pub fn encode(&self) -> [u8; HEADER_SIZE] {
        let mut out = [0u8; HEADER_SIZE];
        let words = [
            self.program,
            self.version,
            self.procedure,
            self.kind as u32,
            self.serial,
            self.status as u32,
        ];
        for (chunk, w) in out.chunks_exact_mut(4).zip(words) {
            chunk.copy_from_slice(&w.to_be_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(words: [i32; 6]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_be_bytes()).collect()
    }

    #[test]
    fn every_field_is_checked() {
        let ok = raw([1, 1, 3, 0, 9, 0]);
        assert!(Header::decode(&ok).is_ok());
        for (bad, what) in [
            (raw([1, 1, -3, 0, 9, 0]), "negative procedure number -3"),
            (raw([1, 1, 3, 7, 9, 0]), "unknown message type 7"),
            (raw([1, 1, 3, -1, 9, 0]), "unknown message type -1"),
            (raw([1, 1, 3, 0, 9, 3]), "unknown message status 3"),
        ] {
            let e = Header::decode(&bad).unwrap_err().to_string();
            assert!(e.contains(what), "{e}");
        }
        let e = Header::decode(&ok[..20]).unwrap_err().to_string();
        assert!(e.contains("shorter than the 24-byte header"), "{e}");
    }

    #[test]
    fn wire_layout_is_six_big_endian_words() {
        let h = Header {
            program: 0x2000_8086,
            version: 1,
            procedure: 66,
            kind: MessageType::StreamHole,
            serial: 0x0102_0304,
            status: Status::Continue,
        };
        let bytes = h.encode();
        assert_eq!(
            bytes,
            [0x20, 0, 0x80, 0x86, 0, 0, 0, 1, 0, 0, 0, 66, 0, 0, 0, 6, 1, 2, 3, 4, 0, 0, 0, 2]
        );
        assert_eq!(Header::decode(&bytes).unwrap(), h);
    }
}
