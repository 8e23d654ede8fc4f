//! `rpc_msg` (RFC 5531 §9): the header in front of every call's arguments and every reply's
//! results. The arguments or results follow the header in the same record (TCP) or datagram
//! (UDP); [`Message::decode_from`] leaves them in the decoder.

use super::auth::OpaqueAuth;
use crate::xdr::{Decode, Decoder, Encode, Encoder, Error, ErrorKind};

/// `rpcvers`: the only version of the protocol (2).
pub const RPC_VERSION: u32 = 2;

/// `msg_type CALL`.
const CALL: u32 = 0;
/// `msg_type REPLY`.
const REPLY: u32 = 1;

/// The header of a CALL: `xid`, then `call_body`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallHeader {
    /// The transaction id that the reply repeats.
    pub xid: u32,
    /// `rpcvers`: must be [`RPC_VERSION`]; a server answers another with `RPC_MISMATCH`.
    pub rpcvers: u32,
    /// The program number.
    pub program: u32,
    /// The program version.
    pub version: u32,
    /// The procedure number.
    pub procedure: u32,
    /// The caller's credentials.
    pub cred: OpaqueAuth,
    /// The caller's verifier.
    pub verf: OpaqueAuth,
}

impl CallHeader {
    /// A version-2 call header.
    pub fn new(xid: u32, program: u32, version: u32, procedure: u32, cred: OpaqueAuth) -> Self {
        CallHeader {
            xid,
            rpcvers: RPC_VERSION,
            program,
            version,
            procedure,
            cred,
            verf: OpaqueAuth::none(),
        }
    }
}

/// The header of a REPLY: `xid`, then `reply_body`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyHeader {
    /// The xid of the call it answers.
    pub xid: u32,
    /// Accepted or denied.
    pub body: ReplyBody,
}

impl ReplyHeader {
    /// An accepted reply with an `AUTH_NONE` verifier.
    pub fn accepted(xid: u32, stat: AcceptStat) -> Self {
        ReplyHeader {
            xid,
            body: ReplyBody::Accepted {
                verf: OpaqueAuth::none(),
                stat,
            },
        }
    }

    /// A denied reply.
    pub fn denied(xid: u32, stat: RejectStat) -> Self {
        ReplyHeader {
            xid,
            body: ReplyBody::Denied(stat),
        }
    }
}

/// `reply_body`: `MSG_ACCEPTED` (0) or `MSG_DENIED` (1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyBody {
    /// `MSG_ACCEPTED`: the server's verifier and what became of the call.
    Accepted {
        /// The server's verifier.
        verf: OpaqueAuth,
        /// The outcome; results follow only after `SUCCESS`.
        stat: AcceptStat,
    },
    /// `MSG_DENIED`.
    Denied(RejectStat),
}

/// `accept_stat` with the data its arms carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptStat {
    /// `SUCCESS` (0): the procedure's results follow.
    Success,
    /// `PROG_UNAVAIL` (1): the program is not served here.
    ProgUnavail,
    /// `PROG_MISMATCH` (2): the version is not served; these are.
    ProgMismatch {
        /// Lowest version served.
        low: u32,
        /// Highest version served.
        high: u32,
    },
    /// `PROC_UNAVAIL` (3): the program has no such procedure.
    ProcUnavail,
    /// `GARBAGE_ARGS` (4): the arguments did not decode.
    GarbageArgs,
    /// `SYSTEM_ERR` (5): e.g. the server ran out of memory.
    SystemErr,
}

/// `reject_stat` with the data its arms carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectStat {
    /// `RPC_MISMATCH` (0): `rpcvers` was not 2; these are supported.
    RpcMismatch {
        /// Lowest RPC version supported.
        low: u32,
        /// Highest RPC version supported.
        high: u32,
    },
    /// `AUTH_ERROR` (1): the credentials or verifier were refused.
    AuthError(AuthStat),
}

/// `auth_stat`: why authentication failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthStat {
    /// `AUTH_OK` (0).
    Ok,
    /// `AUTH_BADCRED` (1): bad credential (seal broken).
    BadCred,
    /// `AUTH_REJECTEDCRED` (2): the client must begin a new session.
    RejectedCred,
    /// `AUTH_BADVERF` (3): bad verifier (seal broken).
    BadVerf,
    /// `AUTH_REJECTEDVERF` (4): verifier expired or replayed.
    RejectedVerf,
    /// `AUTH_TOOWEAK` (5): rejected for security reasons.
    TooWeak,
    /// `AUTH_INVALIDRESP` (6): bogus response verifier.
    InvalidResp,
    /// `AUTH_FAILED` (7): reason unknown.
    Failed,
    /// `RPCSEC_GSS_CREDPROBLEM` (13): no credentials for the user.
    GssCredProblem,
    /// `RPCSEC_GSS_CTXPROBLEM` (14): problem with the context.
    GssCtxProblem,
    /// Any other value, as sent.
    Other(u32),
}

impl AuthStat {
    fn to_u32(self) -> u32 {
        match self {
            AuthStat::Ok => 0,
            AuthStat::BadCred => 1,
            AuthStat::RejectedCred => 2,
            AuthStat::BadVerf => 3,
            AuthStat::RejectedVerf => 4,
            AuthStat::TooWeak => 5,
            AuthStat::InvalidResp => 6,
            AuthStat::Failed => 7,
            AuthStat::GssCredProblem => 13,
            AuthStat::GssCtxProblem => 14,
            AuthStat::Other(n) => n,
        }
    }

    fn from_u32(n: u32) -> Self {
        match n {
            0 => AuthStat::Ok,
            1 => AuthStat::BadCred,
            2 => AuthStat::RejectedCred,
            3 => AuthStat::BadVerf,
            4 => AuthStat::RejectedVerf,
            5 => AuthStat::TooWeak,
            6 => AuthStat::InvalidResp,
            7 => AuthStat::Failed,
            13 => AuthStat::GssCredProblem,
            14 => AuthStat::GssCtxProblem,
            n => AuthStat::Other(n),
        }
    }
}

impl std::fmt::Display for AuthStat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            AuthStat::Ok => "AUTH_OK",
            AuthStat::BadCred => "AUTH_BADCRED",
            AuthStat::RejectedCred => "AUTH_REJECTEDCRED",
            AuthStat::BadVerf => "AUTH_BADVERF",
            AuthStat::RejectedVerf => "AUTH_REJECTEDVERF",
            AuthStat::TooWeak => "AUTH_TOOWEAK",
            AuthStat::InvalidResp => "AUTH_INVALIDRESP",
            AuthStat::Failed => "AUTH_FAILED",
            AuthStat::GssCredProblem => "RPCSEC_GSS_CREDPROBLEM",
            AuthStat::GssCtxProblem => "RPCSEC_GSS_CTXPROBLEM",
            AuthStat::Other(n) => return write!(f, "auth_stat {n}"),
        };
        f.write_str(name)
    }
}

/// `rpc_msg`: a call or a reply header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A CALL.
    Call(CallHeader),
    /// A REPLY.
    Reply(ReplyHeader),
}

impl Message {
    /// The transaction id.
    pub fn xid(&self) -> u32 {
        match self {
            Message::Call(c) => c.xid,
            Message::Reply(r) => r.xid,
        }
    }

    /// Reads a header from `input`, leaving the arguments or results after it unread.
    pub fn decode_from(input: &mut Decoder<'_>) -> Result<Self, Error> {
        input.within("rpc_msg", |input| {
            let xid = input.get_u32().map_err(|e| e.at("xid"))?;
            match input.get_u32().map_err(|e| e.at("mtype"))? {
                CALL => Ok(Message::Call(CallHeader {
                    xid,
                    rpcvers: input.get_u32().map_err(|e| e.at("rpcvers"))?,
                    program: input.get_u32().map_err(|e| e.at("prog"))?,
                    version: input.get_u32().map_err(|e| e.at("vers"))?,
                    procedure: input.get_u32().map_err(|e| e.at("proc"))?,
                    cred: OpaqueAuth::decode(input).map_err(|e| e.at("cred"))?,
                    verf: OpaqueAuth::decode(input).map_err(|e| e.at("verf"))?,
                })),
                REPLY => Ok(Message::Reply(ReplyHeader {
                    xid,
                    body: decode_reply_body(input)?,
                })),
                other => Err(unknown(other).at("mtype")),
            }
        })
    }
}

fn unknown(n: u32) -> Error {
    Error::new(ErrorKind::UnknownEnumValue(n as i32))
}

fn decode_reply_body(input: &mut Decoder<'_>) -> Result<ReplyBody, Error> {
    let low_high = |input: &mut Decoder<'_>| -> Result<(u32, u32), Error> {
        Ok((
            input.get_u32().map_err(|e| e.at("low"))?,
            input.get_u32().map_err(|e| e.at("high"))?,
        ))
    };
    match input.get_u32().map_err(|e| e.at("stat"))? {
        0 => {
            let verf = OpaqueAuth::decode(input).map_err(|e| e.at("verf"))?;
            let stat = match input.get_u32().map_err(|e| e.at("accept_stat"))? {
                0 => AcceptStat::Success,
                1 => AcceptStat::ProgUnavail,
                2 => {
                    let (low, high) = low_high(input).map_err(|e| e.at("mismatch_info"))?;
                    AcceptStat::ProgMismatch { low, high }
                }
                3 => AcceptStat::ProcUnavail,
                4 => AcceptStat::GarbageArgs,
                5 => AcceptStat::SystemErr,
                n => return Err(unknown(n).at("accept_stat")),
            };
            Ok(ReplyBody::Accepted { verf, stat })
        }
        1 => Ok(ReplyBody::Denied(
            match input.get_u32().map_err(|e| e.at("reject_stat"))? {
                0 => {
                    let (low, high) = low_high(input).map_err(|e| e.at("mismatch_info"))?;
                    RejectStat::RpcMismatch { low, high }
                }
                1 => RejectStat::AuthError(AuthStat::from_u32(
                    input.get_u32().map_err(|e| e.at("auth_stat"))?,
                )),
                n => return Err(unknown(n).at("reject_stat")),
            },
        )),
        n => Err(unknown(n).at("reply_stat")),
    }
}

impl Encode for Message {
    fn encoded_len(&self) -> usize {
        8 + match self {
            Message::Call(c) => 16 + c.cred.encoded_len() + c.verf.encoded_len(),
            Message::Reply(r) => match &r.body {
                ReplyBody::Accepted { verf, stat } => {
                    8 + verf.encoded_len()
                        + match stat {
                            AcceptStat::ProgMismatch { .. } => 8,
                            _ => 0,
                        }
                }
                ReplyBody::Denied(RejectStat::RpcMismatch { .. }) => 16,
                ReplyBody::Denied(RejectStat::AuthError(_)) => 12,
            },
        }
    }

    fn encode(&self, out: &mut Encoder) -> Result<(), Error> {
        out.put_u32(self.xid());
        match self {
            Message::Call(c) => {
                out.put_u32(CALL);
                out.put_u32(c.rpcvers);
                out.put_u32(c.program);
                out.put_u32(c.version);
                out.put_u32(c.procedure);
                c.cred.encode(out)?;
                c.verf.encode(out)?;
            }
            Message::Reply(r) => {
                out.put_u32(REPLY);
                match &r.body {
                    ReplyBody::Accepted { verf, stat } => {
                        out.put_u32(0);
                        verf.encode(out)?;
                        match *stat {
                            AcceptStat::Success => out.put_u32(0),
                            AcceptStat::ProgUnavail => out.put_u32(1),
                            AcceptStat::ProgMismatch { low, high } => {
                                out.put_u32(2);
                                out.put_u32(low);
                                out.put_u32(high);
                            }
                            AcceptStat::ProcUnavail => out.put_u32(3),
                            AcceptStat::GarbageArgs => out.put_u32(4),
                            AcceptStat::SystemErr => out.put_u32(5),
                        }
                    }
                    ReplyBody::Denied(stat) => {
                        out.put_u32(1);
                        match *stat {
                            RejectStat::RpcMismatch { low, high } => {
                                out.put_u32(0);
                                out.put_u32(low);
                                out.put_u32(high);
                            }
                            RejectStat::AuthError(a) => {
                                out.put_u32(1);
                                out.put_u32(a.to_u32());
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

impl Decode for Message {
    fn decode(input: &mut Decoder<'_>) -> Result<Self, Error> {
        Message::decode_from(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onc::auth::AUTH_SYS;
    use crate::xdr::{from_bytes, to_bytes, Opaque};

    fn roundtrip(msg: Message, bytes: &[u8]) {
        assert_eq!(msg.encoded_len(), bytes.len(), "{msg:?}");
        assert_eq!(to_bytes(&msg).unwrap(), bytes, "{msg:?}");
        assert_eq!(from_bytes::<Message>(bytes).unwrap(), msg);
    }

    #[test]
    fn a_call_has_the_rfc_layout() {
        let cred = OpaqueAuth {
            flavor: AUTH_SYS,
            body: Opaque::try_from(&[9u8, 9, 9, 9][..]).unwrap(),
        };
        #[rustfmt::skip]
        let bytes = [
            0xde, 0xad, 0xbe, 0xef, // xid
            0, 0, 0, 0,             // CALL
            0, 0, 0, 2,             // rpcvers
            0, 1, 0x86, 0xa0,       // prog 100000
            0, 0, 0, 4,             // vers
            0, 0, 0, 3,             // proc
            0, 0, 0, 1, 0, 0, 0, 4, 9, 9, 9, 9, // cred AUTH_SYS, 4 bytes
            0, 0, 0, 0, 0, 0, 0, 0, // verf AUTH_NONE
        ];
        roundtrip(
            Message::Call(CallHeader::new(0xdeadbeef, 100000, 4, 3, cred)),
            &bytes,
        );
    }

    #[test]
    fn every_accepted_status_has_the_rfc_layout() {
        let head = |xid: u8| [0, 0, 0, xid, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let cases: [(AcceptStat, &[u8]); 6] = [
            (AcceptStat::Success, &[0, 0, 0, 0]),
            (AcceptStat::ProgUnavail, &[0, 0, 0, 1]),
            (
                AcceptStat::ProgMismatch { low: 2, high: 3 },
                &[0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3],
            ),
            (AcceptStat::ProcUnavail, &[0, 0, 0, 3]),
            (AcceptStat::GarbageArgs, &[0, 0, 0, 4]),
            (AcceptStat::SystemErr, &[0, 0, 0, 5]),
        ];
        for (stat, tail) in cases {
            let mut bytes = head(7).to_vec();
            bytes.extend_from_slice(tail);
            roundtrip(Message::Reply(ReplyHeader::accepted(7, stat)), &bytes);
        }
    }

    #[test]
    fn every_denied_status_has_the_rfc_layout() {
        let head = [0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 1];
        let mismatch = RejectStat::RpcMismatch { low: 2, high: 2 };
        let mut bytes = head.to_vec();
        bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2]);
        roundtrip(Message::Reply(ReplyHeader::denied(7, mismatch)), &bytes);
        for n in [0u32, 1, 2, 3, 4, 5, 6, 7, 13, 14, 99] {
            let stat = AuthStat::from_u32(n);
            assert_eq!(stat.to_u32(), n);
            let mut bytes = head.to_vec();
            bytes.extend_from_slice(&[0, 0, 0, 1]);
            bytes.extend_from_slice(&n.to_be_bytes());
            roundtrip(
                Message::Reply(ReplyHeader::denied(7, RejectStat::AuthError(stat))),
                &bytes,
            );
        }
        assert_eq!(AuthStat::TooWeak.to_string(), "AUTH_TOOWEAK");
    }

    #[test]
    fn results_stay_in_the_decoder() {
        let bytes = [
            0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 42,
        ];
        let mut input = Decoder::new(&bytes);
        Message::decode_from(&mut input).unwrap();
        assert_eq!(input.rest(), [0, 0, 0, 42]);
    }

    #[test]
    fn bad_headers_are_errors() {
        for bytes in [
            &[0u8, 0, 0, 7, 0, 0, 0, 2][..],       // mtype 2
            &[0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 2], // reply_stat 2
            &[
                0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6,
            ], // accept_stat 6
            &[0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2], // reject_stat 2
            &[0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 2], // truncated call
        ] {
            let err = from_bytes::<Message>(bytes).unwrap_err();
            assert!(err.path().starts_with("rpc_msg"), "{err}");
        }
    }
}
