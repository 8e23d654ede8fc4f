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

/// The CALL message for `xid`, after [`MARK`] bytes of room: header then arguments, sized
/// once. `max` bounds the message (the room not counted).
pub(crate) fn encode_call(
    xid: u32,
    (program, version, procedure): (u32, u32, u32),
    cred: &OpaqueAuth,
    args: &dyn Encode,
    max: usize,
) -> Result<Vec<u8>, Error> {
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
    let mut buf = Vec::with_capacity(MARK + len);
    buf.extend_from_slice(&[0; MARK]);
    let mut out = Encoder::from_vec(buf);
    header.encode(&mut out).map_err(Error::Arguments)?;
    args.encode(&mut out).map_err(Error::Arguments)?;
    Ok(out.into_bytes())
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
