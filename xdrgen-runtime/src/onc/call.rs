//! A call's bytes out and its reply's bytes back: the `rpc_msg` header and the arguments in
//! one buffer, and a reply checked and cut down to its results (a slice of the received
//! record, not a copy). Shared by the TCP and UDP clients, with their table of pending calls.

use bytes::Bytes;

use super::auth::OpaqueAuth;
use super::msg::{CallHeader, Message, ReplyBody};
use super::{Error, Refusal};
use crate::mux::{Calls, Cause, Waiter};
use crate::xdr::{Decoder, Encode, Encoder};

/// The calls of one connection or socket waiting for their reply record, by xid (the table
/// the libvirt client uses too).
pub(crate) type CallTable = Calls<(), Bytes, Error>;

/// One call's place in the table; dropping it cancels the call.
pub(crate) type CallWaiter<'a> = Waiter<'a, (), Bytes, Error>;

impl Cause for Error {
    fn vanished() -> Self {
        Error::Closed("the connection's reader stopped".into())
    }
}

/// Room left in front of an encoded call for its record-marking header (TCP), so that a call
/// sent as one fragment is framed in place.
pub(crate) const MARK: usize = 4;

/// One CALL message, ready to be encoded where its transport wants it: its `rpc_msg` header,
/// its arguments, and its length, checked against the maximum.
pub(crate) struct CallMessage<'a> {
    header: Message,
    args: &'a (dyn Encode + Sync),
    len: usize,
}

impl<'a> CallMessage<'a> {
    /// The CALL message for `xid`; `max` bounds its length.
    pub fn new(
        xid: u32,
        (program, version, procedure): (u32, u32, u32),
        cred: &OpaqueAuth,
        args: &'a (dyn Encode + Sync),
        max: usize,
    ) -> Result<Self, Error> {
        let header = Message::Call(CallHeader::new(
            xid,
            program,
            version,
            procedure,
            cred.clone(),
        ));
        let len = header.encoded_len() + args.encoded_len();
        if len > max {
            return Err(Error::RecordTooLarge { length: len, max });
        }
        Ok(CallMessage { header, args, len })
    }

    /// Its length in bytes (as the arguments' `encoded_len` says).
    pub fn encoded_len(&self) -> usize {
        self.len
    }

    /// Appends the header then the arguments to `out`.
    pub fn encode(&self, out: &mut Encoder) -> Result<(), crate::xdr::Error> {
        self.header.encode(out)?;
        self.args.encode(out)
    }

    /// The message after [`MARK`] bytes of room, in a buffer sized once.
    pub fn to_vec(&self) -> Result<Vec<u8>, Error> {
        let mut buf = Vec::with_capacity(MARK + self.len);
        buf.extend_from_slice(&[0; MARK]);
        let mut out = Encoder::from_vec(buf);
        self.encode(&mut out).map_err(Error::Arguments)?;
        Ok(out.into_bytes())
    }
}

/// The xid of a received record, if it is a REPLY (what readers route by). Calls and records
/// too short to say are `None`.
pub(crate) fn reply_xid(record: &[u8]) -> Option<u32> {
    let word = |i: usize| record.get(i..i + 4).map(|w| [w[0], w[1], w[2], w[3]]);
    let xid = u32::from_be_bytes(word(0)?);
    (u32::from_be_bytes(word(4)?) == 1).then_some(xid)
}

/// The results of a reply record: its payload after a `SUCCESS` header, otherwise the
/// server's refusal as an error.
pub(crate) fn reply_results(record: Bytes) -> Result<Bytes, Error> {
    let mut input = Decoder::new(&record);
    let header = Message::decode_from(&mut input)
        .map_err(|e| Error::protocol(format!("bad reply header: {e}")))?;
    let offset = input.position();
    match header {
        Message::Reply(r) => match r.body {
            ReplyBody::Accepted { stat, .. } => match Refusal::from_accept(stat) {
                None => Ok(record.slice(offset..)),
                Some(refusal) => Err(Error::Refused(refusal)),
            },
            ReplyBody::Denied(stat) => Err(Error::Refused(Refusal::from_reject(stat))),
        },
        Message::Call(_) => Err(Error::protocol("a CALL arrived where a REPLY was due")),
    }
}
