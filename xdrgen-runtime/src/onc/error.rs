//! What can go wrong in an ONC RPC call, by layer: the transport, the protocol (record marking,
//! `rpc_msg`), the payloads' XDR, and the server's refusal of a call.

use std::sync::Arc;
use std::time::Duration;

use super::msg::{AcceptStat, AuthStat, RejectStat};

/// An ONC RPC error. Cloneable, so that one dead connection can fail every pending call.
#[non_exhaustive]
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The socket failed (connect, read, write).
    #[error("transport error: {0}")]
    Io(#[source] Arc<std::io::Error>),
    /// A record longer than the configured maximum, refused before it was read.
    #[error("record of {length} bytes exceeds the maximum of {max}")]
    RecordTooLarge {
        /// The length claimed (fragments so far plus the next one).
        length: usize,
        /// The maximum.
        max: usize,
    },
    /// The peer broke the protocol: a header that does not decode, a reply to no call, …
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The call's arguments could not be encoded (e.g. a value over its `.x` bound).
    #[error("cannot encode the arguments: {0}")]
    Arguments(#[source] crate::xdr::Error),
    /// The reply's results did not decode as the procedure's result type.
    #[error("cannot decode the results: {0}")]
    Results(#[source] crate::xdr::Error),
    /// The server received the call and refused it (RFC 5531 `accept_stat` or `reject_stat`).
    #[error("the server refused the call: {0}")]
    Refused(Refusal),
    /// No reply came within the call's deadline.
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// The connection is closed; the text says why.
    #[error("connection closed: {0}")]
    Closed(String),
}

impl Error {
    /// A protocol error with this description.
    pub fn protocol(what: impl Into<String>) -> Self {
        Error::Protocol(what.into())
    }

    /// The server's refusal, if this is one.
    pub fn refusal(&self) -> Option<Refusal> {
        match self {
            Error::Refused(r) => Some(*r),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(Arc::new(e))
    }
}

/// Why a server refused a call: every non-`SUCCESS` reply of RFC 5531.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// `PROG_UNAVAIL`.
    #[error("PROG_UNAVAIL (program not served)")]
    ProgUnavail,
    /// `PROG_MISMATCH` with the versions served.
    #[error("PROG_MISMATCH (versions {low} to {high} are served)")]
    ProgMismatch {
        /// Lowest version served.
        low: u32,
        /// Highest version served.
        high: u32,
    },
    /// `PROC_UNAVAIL`.
    #[error("PROC_UNAVAIL (no such procedure)")]
    ProcUnavail,
    /// `GARBAGE_ARGS`.
    #[error("GARBAGE_ARGS (the arguments did not decode)")]
    GarbageArgs,
    /// `SYSTEM_ERR`.
    #[error("SYSTEM_ERR")]
    SystemErr,
    /// `RPC_MISMATCH` with the RPC versions supported.
    #[error("RPC_MISMATCH (RPC versions {low} to {high} are supported)")]
    RpcMismatch {
        /// Lowest RPC version.
        low: u32,
        /// Highest RPC version.
        high: u32,
    },
    /// `AUTH_ERROR` with its reason.
    #[error("AUTH_ERROR ({0})")]
    AuthError(AuthStat),
}

impl Refusal {
    /// The refusal an accepted reply's status means; `None` for `SUCCESS`.
    pub fn from_accept(stat: AcceptStat) -> Option<Self> {
        Some(match stat {
            AcceptStat::Success => return None,
            AcceptStat::ProgUnavail => Refusal::ProgUnavail,
            AcceptStat::ProgMismatch { low, high } => Refusal::ProgMismatch { low, high },
            AcceptStat::ProcUnavail => Refusal::ProcUnavail,
            AcceptStat::GarbageArgs => Refusal::GarbageArgs,
            AcceptStat::SystemErr => Refusal::SystemErr,
        })
    }

    /// The refusal a denied reply's status means.
    pub fn from_reject(stat: RejectStat) -> Self {
        match stat {
            RejectStat::RpcMismatch { low, high } => Refusal::RpcMismatch { low, high },
            RejectStat::AuthError(a) => Refusal::AuthError(a),
        }
    }
}
