//! What generated dispatchers implement and call: the [`Dispatch`] trait, the per-call
//! [`Context`], and the generic helpers ([`serve`], [`fallback`]) that keep each generated
//! `match` arm one line long.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::server_conn::Connection;
use super::server_stream::{ReceiveData, SendData, StreamBody};
use super::RemoteError;
use crate::rpc::{ProcedureInfo, ProgramInfo};
use crate::xdr::{from_shared, to_bytes, Bytes, Decode, Encode};

/// A boxed, sendable future: what [`Dispatch::dispatch`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The outcome of one call: the encoded result (the REPLY's payload), or libvirt's error,
/// sent as a REPLY with status ERROR.
pub type Reply = Result<Vec<u8>, RemoteError>;

/// The access hook: it sees every call's [`Context`] (its procedure's `@acl` and `@aclfilter`
/// lines in [`Context::procedure`]) after the arguments decoded and before the method runs; an
/// `Err` is the call's answer and the method is never entered. (The error is boxed: it is large,
/// and the hook's path is the one every call takes.)
pub type AccessHook = dyn Fn(&Context) -> Result<(), Box<RemoteError>> + Send + Sync;

/// A program served on a connection: generated dispatchers (`RemoteDispatcher<T>`) implement
/// it by decoding the arguments, calling their trait's method and encoding its result.
///
/// The server has already checked the header (a CALL with status OK to this program and
/// version, and a procedure listed in [`program`](Dispatch::program)'s table) when it calls
/// [`dispatch`](Dispatch::dispatch).
pub trait Dispatch: Send + Sync + 'static {
    /// The program and version this serves.
    fn program(&self) -> &'static ProgramInfo;

    /// Answers one call to `cx.procedure()` whose arguments are `args` (the CALL's payload, a
    /// view of the receive buffer that decoded opaque data and strings may share).
    fn dispatch<'a>(&'a self, cx: &'a Context, args: &'a Bytes) -> BoxFuture<'a, Reply>;
}

/// What a method knows about its call: the procedure, the call's serial, and the connection it
/// came on (its id, its peer, its state such as the driver connect-open stored, and a handle
/// to push events to the client).
pub struct Context {
    pub(crate) connection: Connection,
    pub(crate) program: &'static ProgramInfo,
    pub(crate) procedure: &'static ProcedureInfo,
    pub(crate) serial: u32,
    pub(crate) access: Option<Arc<AccessHook>>,
    pub(crate) close_after_reply: AtomicBool,
    /// The stream body a stream method returned, started once the reply is queued.
    pub(crate) stream: Mutex<Option<StreamBody>>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("connection", &self.connection.id())
            .field("program", &self.program.name)
            .field("procedure", &self.procedure.name)
            .field("serial", &self.serial)
            .finish()
    }
}

impl Context {
    /// The connection the call came on.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// The program called.
    pub fn program(&self) -> &'static ProgramInfo {
        self.program
    }

    /// The procedure called, with its annotations (`acl`, `aclfilter`, `high_priority`, …).
    pub fn procedure(&self) -> &'static ProcedureInfo {
        self.procedure
    }

    /// The call's serial.
    pub fn serial(&self) -> u32 {
        self.serial
    }

    /// Closes the connection once this call's reply is written, as libvirtd does after
    /// answering connect-close.
    pub fn close_after_reply(&self) {
        self.close_after_reply.store(true, Ordering::Relaxed);
    }

    fn set_stream(&self, body: StreamBody) {
        *self.stream.lock().unwrap_or_else(|p| p.into_inner()) = Some(body);
    }

    pub(crate) fn take_stream(&self) -> Option<StreamBody> {
        self.stream.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    fn check_access(&self) -> Result<(), Box<RemoteError>> {
        match &self.access {
            Some(hook) => hook(self),
            None => Ok(()),
        }
    }
}

/// One generated `match` arm: decodes `args` as `A` (an error reply naming the problem when
/// they do not decode), runs the access hook, then awaits `method` and encodes its result.
///
/// Generic only where it must be, so that hundreds of arms stay cheap to compile.
pub fn serve<'a, A, R, F, Fut>(cx: &'a Context, args: &'a Bytes, method: F) -> BoxFuture<'a, Reply>
where
    A: Decode,
    R: Encode,
    F: FnOnce(A) -> Fut,
    Fut: Future<Output = Result<R, RemoteError>> + Send + 'a,
{
    let args = match from_shared::<A>(args) {
        Ok(a) => a,
        Err(e) => return ready(Err(undecodable(cx, &e))),
    };
    if let Err(e) = cx.check_access() {
        return ready(Err(*e));
    }
    let call = method(args);
    Box::pin(async move { encode(call.await) })
}

/// The arm of a `@readstream` procedure: as [`serve`], and the method's [`SendData`] runs once
/// the reply is queued.
pub fn serve_send<'a, A, R, F, Fut>(
    cx: &'a Context,
    args: &'a Bytes,
    method: F,
) -> BoxFuture<'a, Reply>
where
    A: Decode,
    R: Encode,
    F: FnOnce(A) -> Fut,
    Fut: Future<Output = Result<(R, SendData), RemoteError>> + Send + 'a,
{
    serve_stream(cx, args, method)
}

/// The arm of a `@writestream` procedure: as [`serve`], and the method's [`ReceiveData`] runs
/// once the reply is queued.
pub fn serve_receive<'a, A, R, F, Fut>(
    cx: &'a Context,
    args: &'a Bytes,
    method: F,
) -> BoxFuture<'a, Reply>
where
    A: Decode,
    R: Encode,
    F: FnOnce(A) -> Fut,
    Fut: Future<Output = Result<(R, ReceiveData), RemoteError>> + Send + 'a,
{
    serve_stream(cx, args, method)
}

/// [`serve`] for a method that returns its result with a stream body, which the context keeps
/// until the reply is queued.
fn serve_stream<'a, A, R, B, F, Fut>(
    cx: &'a Context,
    args: &'a Bytes,
    method: F,
) -> BoxFuture<'a, Reply>
where
    A: Decode,
    R: Encode,
    B: Into<StreamBody>,
    F: FnOnce(A) -> Fut,
    Fut: Future<Output = Result<(R, B), RemoteError>> + Send + 'a,
{
    serve(cx, args, move |a| {
        let call = method(a);
        async move {
            let (ret, body) = call.await?;
            cx.set_stream(body.into());
            Ok(ret)
        }
    })
}

/// The arm for procedures a dispatcher has no method for: a stream procedure (one the generator
/// could not give a method, such as one with both `@readstream` and `@writestream`) gets
/// libvirt's "not supported" error, anything else (an event procedure, a
/// procedure whose payloads have no codec) `unknown procedure: N`, as libvirtd answers
/// procedures without a server-side function.
pub fn fallback(cx: &Context) -> BoxFuture<'_, Reply> {
    let p = cx.procedure;
    ready(Err(if p.has_stream() {
        RemoteError::not_supported(p.name)
    } else {
        unknown_procedure(p.number)
    }))
}

/// libvirtd's answer to a procedure it does not know.
pub(crate) fn unknown_procedure(number: u32) -> RemoteError {
    RemoteError::rpc(&format!("unknown procedure: {number}"))
}

fn ready(reply: Reply) -> BoxFuture<'static, Reply> {
    Box::pin(std::future::ready(reply))
}

// libvirt's error is what a failed call answers; handlers return it unboxed.
#[allow(clippy::result_large_err)]
fn encode<R: Encode>(result: Result<R, RemoteError>) -> Reply {
    to_bytes(&result?)
        .map_err(|e| RemoteError::rpc(&format!("Unable to encode message payload: {e}")))
}

fn undecodable(cx: &Context, e: &crate::xdr::Error) -> RemoteError {
    RemoteError::rpc(&format!(
        "Unable to decode message payload of {}: {e}",
        cx.procedure.name
    ))
}

/// The default body of every generated trait method: libvirt's "this function is not supported
/// by the connection driver" error (`VIR_ERR_NO_SUPPORT`), naming the procedure.
pub fn not_supported<R>(cx: &Context) -> std::future::Ready<Result<R, RemoteError>> {
    std::future::ready(Err(RemoteError::not_supported(cx.procedure.name)))
}
