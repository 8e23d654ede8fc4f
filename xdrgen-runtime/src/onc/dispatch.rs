//! What generated dispatchers implement and call: the [`Dispatch`] trait, the per-call
//! [`Context`] (with the caller's credentials), [`CallError`] (how a method refuses a call) and
//! the generic helpers [`serve`] and [`fallback`] that keep each generated `match` arm one line.
//!
//! Arguments arrive as a [`Bytes`] view of the received record and are decoded with
//! `from_shared`, as the libvirt server does: opaque data and strings longer than 23 bytes in
//! them (an NFS WRITE's data) are slices of the record, not copies.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use super::auth::Credentials;
use super::msg::AuthStat;
use crate::rpc::ProgramInfo;
use crate::xdr::{from_shared, to_bytes, Bytes, Decode, Encode};

/// A boxed, sendable future: what [`Dispatch::dispatch`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The outcome of one call: the encoded results, or the refusal to send instead.
pub type Reply = Result<Vec<u8>, CallError>;

/// How a server method (or the dispatcher) refuses a call; each is an RFC 5531 reply status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// `PROC_UNAVAIL`: what a method without an implementation answers.
    #[error("PROC_UNAVAIL")]
    ProcUnavail,
    /// `GARBAGE_ARGS`: the arguments did not decode (the dispatcher answers it itself).
    #[error("GARBAGE_ARGS")]
    GarbageArgs,
    /// `SYSTEM_ERR`: the server could not serve the call (its results did not encode, …).
    #[error("SYSTEM_ERR")]
    SystemErr,
    /// `AUTH_ERROR` with a reason: the caller's credentials are not good enough.
    #[error("AUTH_ERROR ({0})")]
    Auth(AuthStat),
}

/// The transport a call came over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// TCP, with record marking.
    Tcp,
    /// UDP, a datagram per message.
    Udp,
}

impl Protocol {
    /// The IP protocol number rpcbind (portmap) uses for it: 6 or 17.
    pub fn ip_number(self) -> u32 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
        }
    }
}

/// What a method knows about its call.
#[derive(Debug, Clone)]
pub struct Context {
    pub(crate) xid: u32,
    pub(crate) program: &'static ProgramInfo,
    pub(crate) procedure: u32,
    pub(crate) credentials: Credentials,
    pub(crate) peer: Option<SocketAddr>,
    pub(crate) protocol: Protocol,
}

impl Context {
    /// The call's transaction id.
    pub fn xid(&self) -> u32 {
        self.xid
    }

    /// The program version called.
    pub fn program(&self) -> &'static ProgramInfo {
        self.program
    }

    /// The procedure number called.
    pub fn procedure(&self) -> u32 {
        self.procedure
    }

    /// The caller's credentials (`AUTH_NONE`, `AUTH_SYS`, or another flavour as sent).
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The caller's address, when the transport has one.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// TCP or UDP.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }
}

/// One program version served: generated dispatchers (`…V1Dispatcher<T>`) implement it by
/// decoding the arguments, calling their trait's method and encoding its results.
pub trait Dispatch: Send + Sync + 'static {
    /// The program and version this serves.
    fn program(&self) -> &'static ProgramInfo;

    /// Answers one call to `cx.procedure()` whose encoded arguments are `args` (the bytes after
    /// the call's header, a view of the received record that decoded opaque data and strings
    /// may share).
    fn dispatch<'a>(&'a self, cx: &'a Context, args: &'a Bytes) -> BoxFuture<'a, Reply>;
}

/// Decodes `args` as `A` (`GARBAGE_ARGS` when they do not decode or leave bytes over), runs
/// `f`, and encodes its results (`SYSTEM_ERR` when they do not encode). Several arguments
/// decode as a tuple. Opaque data and long strings in `A` share `args`' buffer.
pub fn serve<'a, A, R, F, Fut>(args: &'a Bytes, f: F) -> BoxFuture<'a, Reply>
where
    A: Decode + Send + 'a,
    R: Encode,
    F: FnOnce(A) -> Fut + Send + 'a,
    Fut: Future<Output = Result<R, CallError>> + Send + 'a,
{
    let decoded = from_shared::<A>(args);
    Box::pin(async move {
        let args = decoded.map_err(|_| CallError::GarbageArgs)?;
        let results = f(args).await?;
        to_bytes(&results).map_err(|_| CallError::SystemErr)
    })
}

/// What a procedure without a method gets: procedure 0 (`NULL`, RFC 5531 §12.1: every
/// program answers it, with no results) succeeds, any other is `PROC_UNAVAIL`.
pub fn fallback<'a>(cx: &Context, args: &'a Bytes) -> BoxFuture<'a, Reply> {
    let reply = match cx.procedure {
        0 if args.is_empty() => Ok(Vec::new()),
        0 => Err(CallError::GarbageArgs),
        _ => Err(CallError::ProcUnavail),
    };
    Box::pin(std::future::ready(reply))
}

/// The default body of a generated server method: `PROC_UNAVAIL`.
pub fn unavailable<R: Send>() -> impl Future<Output = Result<R, CallError>> + Send {
    std::future::ready(Err(CallError::ProcUnavail))
}
