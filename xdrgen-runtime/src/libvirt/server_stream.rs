//! Server-side data streams: what `@readstream` and `@writestream` methods return.
//!
//! A stream method answers its call with its result **and** the body of its stream: a
//! [`SendData`] (for `@readstream`: the server sends data) or a [`ReceiveData`] (for
//! `@writestream`: the client sends data), each made from a closure that gets the stream once
//! the REPLY is queued. The stream therefore never exists before its reply, and the method can
//! neither wait for data that the client sends only after the reply nor fill the client's
//! queue before the reply reached it. The stream ends when the closure's future does:
//!
//! - [`SendData`]: [`StreamSink::send`] / [`StreamSink::send_hole`] the data, then
//!   [`StreamSink::finish`] (libvirt's end: an empty STREAM CONTINUE, the client's STREAM OK,
//!   ours) or [`StreamSink::abort`] (STREAM ERROR with libvirt's error). Returning `Err(e)`
//!   without either aborts with `e`; returning `Ok(())` without either aborts with an internal
//!   error.
//! - [`ReceiveData`]: read [`Chunk`]s from the [`StreamSource`] until `None` (the client's
//!   STREAM OK), then return `Ok(())`: only then does the server confirm the end with its own
//!   STREAM OK, so the client's `finish` means "the server took all of it". Returning `Err(e)`
//!   answers STREAM ERROR with `e` (the client's next stream operation fails with it);
//!   returning `Ok(())` before the end is the same with an internal error.
//!
//! A client abort (STREAM ERROR, empty) is confirmed at once with STREAM OK; the sink's next
//! operation, or the source's next item, is then an error (libvirt's `VIR_ERR_OPERATION_ABORTED`).
//!
//! The stream's future runs in the connection's task for the call after the call's slot is
//! released: streams do not count against `max_requests`. It is cancelled when the connection
//! ends.
//!
//! **Memory.** Data from the client is queued per stream up to `Limits::max_stream_queue`
//! bytes (a packet over that is queued alone); then the connection's reader waits until the
//! handler reads (back-pressure, as the client does with its read streams). Data to the client
//! goes through the connection's byte-bounded queue: [`StreamSink::send`] waits for room.
//! Stream data is never XDR-decoded, and is never copied: the source yields views of the
//! received packets, the sink sends views of the caller's buffer.
//!
//! **Holes** are accepted and sent only on sparse streams ([`SendData::sparse`],
//! [`ReceiveData::sparse`]: the method decides from its arguments, as libvirt's dispatcher does
//! from the `@sparseflag` flag). A hole on a stream that is not sparse aborts the stream with a
//! STREAM ERROR (`VIR_ERR_OPERATION_INVALID`, "Unexpected stream hole") and the handler's
//! source yields that error; the connection goes on (libvirtd closes the connection instead).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use futures_core::Stream;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use super::frame::raw_head;
use super::header::{Header, MessageType, Status, STREAM_PAYLOAD_MAX};
use super::server_conn::Connection;
use super::server_dispatch::BoxFuture;
use super::stream::Chunk;
use super::RemoteError;
use crate::xdr::{Decoder, Encoder};

// libvirt's error is what a failed stream answers; handlers use it unboxed.
#[allow(clippy::result_large_err)]
type StreamResult = Result<(), RemoteError>;

type SinkBody = Box<dyn FnOnce(StreamSink) -> BoxFuture<'static, StreamResult> + Send>;
type SourceBody = Box<dyn FnOnce(StreamSource) -> BoxFuture<'static, StreamResult> + Send>;

/// The body of a `@readstream` method's stream: what sends the data once the reply is queued.
///
/// ```no_run
/// # use xdrgen_runtime::libvirt::server::{SendData, StreamSink};
/// # fn demo(png: bytes::Bytes) -> SendData {
/// SendData::new(move |mut sink: StreamSink| async move {
///     sink.send(png).await?;
///     sink.finish().await
/// })
/// # }
/// ```
pub struct SendData {
    body: SinkBody,
    sparse: bool,
}

impl std::fmt::Debug for SendData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendData")
            .field("sparse", &self.sparse)
            .finish_non_exhaustive()
    }
}

impl SendData {
    /// A stream whose data `body` sends, from a task of the connection, once the reply is
    /// queued. The stream ends when `body`'s future does (see the module docs).
    pub fn new<F, Fut>(body: F) -> Self
    where
        F: FnOnce(StreamSink) -> Fut + Send + 'static,
        Fut: Future<Output = StreamResult> + Send + 'static,
    {
        SendData {
            body: Box::new(move |sink| Box::pin(body(sink))),
            sparse: false,
        }
    }

    /// Makes the stream sparse (it may carry holes), as the call's `@sparseflag` flag asks.
    pub fn sparse(mut self, sparse: bool) -> Self {
        self.sparse = sparse;
        self
    }
}

/// The body of a `@writestream` method's stream: what reads the client's data once the reply
/// is queued.
///
/// ```no_run
/// # use xdrgen_runtime::libvirt::server::{ReceiveData, StreamSource};
/// # fn demo() -> ReceiveData {
/// ReceiveData::new(|source: StreamSource| async move {
///     let data = source.read_all(64 << 20).await?;
///     let _ = data; // store it
///     Ok(())
/// })
/// .sparse(true)
/// # }
/// ```
pub struct ReceiveData {
    body: SourceBody,
    sparse: bool,
}

impl std::fmt::Debug for ReceiveData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiveData")
            .field("sparse", &self.sparse)
            .finish_non_exhaustive()
    }
}

impl ReceiveData {
    /// A stream whose data `body` reads, from a task of the connection, once the reply is
    /// queued. Returning `Ok(())` after the source's end confirms the client's finish.
    pub fn new<F, Fut>(body: F) -> Self
    where
        F: FnOnce(StreamSource) -> Fut + Send + 'static,
        Fut: Future<Output = StreamResult> + Send + 'static,
    {
        ReceiveData {
            body: Box::new(move |source| Box::pin(body(source))),
            sparse: false,
        }
    }

    /// Accepts holes (the stream is sparse), as the call's `@sparseflag` flag asks; without it
    /// a hole from the client aborts the stream.
    pub fn sparse(mut self, sparse: bool) -> Self {
        self.sparse = sparse;
        self
    }
}

/// A stream body a method returned, kept on the call's context until its reply is queued.
pub(crate) enum StreamBody {
    Send(SendData),
    Receive(ReceiveData),
}

impl From<SendData> for StreamBody {
    fn from(body: SendData) -> Self {
        StreamBody::Send(body)
    }
}

impl From<ReceiveData> for StreamBody {
    fn from(body: ReceiveData) -> Self {
        StreamBody::Receive(body)
    }
}

/// What the reader hands a stream.
pub(crate) enum Incoming {
    /// Data, holding its share of the stream's byte budget until it is taken.
    Data(Bytes, Option<OwnedSemaphorePermit>),
    Hole(Bytes, Option<OwnedSemaphorePermit>),
    /// The client's STREAM OK.
    End,
    /// The client's STREAM ERROR (already confirmed), or a failure the server found.
    Failed(RemoteError),
}

/// A stream as the connection's reader sees it.
#[derive(Clone)]
pub(crate) struct Entry {
    pub core: Arc<Core>,
    pub tx: mpsc::UnboundedSender<Incoming>,
    /// Write streams: the byte budget of queued data. Read streams: none.
    pub room: Option<Arc<Semaphore>>,
}

/// What a stream's handle, its entry and the runtime share.
pub(crate) struct Core {
    pub connection: Connection,
    pub call: Header,
    pub sparse: bool,
    /// Set once the stream has ended on the wire (our STREAM OK or ERROR is queued, or the
    /// client aborted and we confirmed).
    ended: AtomicBool,
    /// The client's STREAM OK arrived.
    client_finished: AtomicBool,
}

impl Core {
    fn header(&self, kind: MessageType, status: Status) -> Header {
        Header {
            kind,
            status,
            ..self.call
        }
    }

    /// Marks the stream ended; true if this call ended it.
    fn end(self: &Arc<Self>) -> bool {
        let first = !self.ended.swap(true, Ordering::SeqCst);
        if first {
            self.connection.remove_stream(self);
        }
        first
    }

    pub(crate) fn is_ended(&self) -> bool {
        self.ended.load(Ordering::SeqCst)
    }

    /// Queues a STREAM packet of ours, waiting for room.
    async fn send(&self, kind: MessageType, status: Status, body: Option<Bytes>) -> bool {
        let len = body.as_ref().map_or(0, Bytes::len);
        let head = raw_head(&self.header(kind, status), len);
        self.connection.queue(head, body).await
    }

    /// Ends the stream with STREAM ERROR carrying `e`, unless it already ended.
    async fn fail(self: &Arc<Self>, e: &RemoteError) {
        if self.end() {
            self.send(
                MessageType::Stream,
                Status::Error,
                Some(Bytes::from(e.encode())),
            )
            .await;
        }
    }

    /// The reader's answer to the client's STREAM ERROR: the stream ends, confirmed with
    /// STREAM OK (from a task: the reader does not wait for room).
    pub(crate) fn client_aborted(self: &Arc<Self>, tx: &mpsc::UnboundedSender<Incoming>) {
        if self.end() {
            let _ = tx.send(Incoming::Failed(aborted()));
            let core = self.clone();
            tokio::spawn(async move { core.send(MessageType::Stream, Status::Ok, None).await });
        }
    }

    /// The reader's answer to a packet the stream must not get: the stream ends with `e`,
    /// sent as STREAM ERROR, and the handler gets `e` too.
    pub(crate) fn protocol_error(
        self: &Arc<Self>,
        tx: &mpsc::UnboundedSender<Incoming>,
        e: RemoteError,
    ) {
        if self.end() {
            let _ = tx.send(Incoming::Failed(e.clone()));
            let core = self.clone();
            let body = Bytes::from(e.encode());
            tokio::spawn(async move {
                core.send(MessageType::Stream, Status::Error, Some(body))
                    .await
            });
        }
    }

    /// The reader got the client's STREAM OK.
    pub(crate) fn client_finished(self: &Arc<Self>, tx: &mpsc::UnboundedSender<Incoming>) {
        self.client_finished.store(true, Ordering::SeqCst);
        self.connection.remove_stream(self);
        let _ = tx.send(Incoming::End);
    }
}

/// `VIR_ERR_OPERATION_ABORTED`.
const OPERATION_ABORTED: i32 = 78;
/// `VIR_FROM_STREAMS`.
const FROM_STREAMS: i32 = 38;

/// The error a stream operation returns once the client aborted the stream.
fn aborted() -> RemoteError {
    RemoteError::new(
        OPERATION_ABORTED,
        FROM_STREAMS,
        "operation aborted: %s",
        "the client aborted the stream",
    )
}

fn closed() -> RemoteError {
    RemoteError::internal("the connection is closed")
}

/// Registers the stream of the call `call` and returns the future that runs its body: call it
/// before the reply is queued, await the future after.
pub(crate) fn start(
    connection: &Connection,
    call: Header,
    body: StreamBody,
) -> BoxFuture<'static, ()> {
    let sparse = match &body {
        StreamBody::Send(s) => s.sparse,
        StreamBody::Receive(r) => r.sparse,
    };
    let core = Arc::new(Core {
        connection: connection.clone(),
        call,
        sparse,
        ended: AtomicBool::new(false),
        client_finished: AtomicBool::new(false),
    });
    let (tx, rx) = mpsc::unbounded_channel();
    match body {
        StreamBody::Send(send) => {
            connection.add_stream(Entry {
                core: core.clone(),
                tx,
                room: None,
            });
            let sink = StreamSink {
                core: core.clone(),
                control: rx,
            };
            let run = (send.body)(sink);
            Box::pin(async move {
                let _guard = Guard(core.clone());
                let result = run.await;
                let e = result.err().unwrap_or_else(|| {
                    RemoteError::internal("the stream's handler ended without finishing it")
                });
                core.fail(&e).await;
            })
        }
        StreamBody::Receive(receive) => {
            let room = Arc::new(Semaphore::new(connection.max_stream_queue()));
            connection.add_stream(Entry {
                core: core.clone(),
                tx,
                room: Some(room.clone()),
            });
            let source = StreamSource {
                core: core.clone(),
                rx,
                room,
                at_end: false,
            };
            let run = (receive.body)(source);
            Box::pin(async move {
                let _guard = Guard(core.clone());
                match run.await {
                    Ok(()) if core.client_finished.load(Ordering::SeqCst) => {
                        if core.end() {
                            core.send(MessageType::Stream, Status::Ok, None).await;
                        }
                    }
                    Ok(()) => {
                        let e = RemoteError::internal(
                            "the server stopped reading the stream before its end",
                        );
                        core.fail(&e).await;
                    }
                    Err(e) => core.fail(&e).await,
                }
            })
        }
    }
}

/// Ends a stream whose body panicked or was cancelled with an internal error, so that the
/// client is not left waiting.
struct Guard(Arc<Core>);

impl Drop for Guard {
    fn drop(&mut self) {
        if self.0.end() {
            let e = RemoteError::internal("the stream's handler failed");
            let body = Bytes::from(e.encode());
            let head = raw_head(
                &self.0.header(MessageType::Stream, Status::Error),
                body.len(),
            );
            self.0.connection.try_queue(head, Some(body));
        }
    }
}

/// Where a `@readstream` method's stream body writes the data the client reads.
///
/// Data is sent in packets of at most `VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX` (262120) bytes,
/// each a view of the buffer given (not copied), through the connection's byte-bounded queue:
/// [`send`](StreamSink::send) waits while the client is not reading.
pub struct StreamSink {
    core: Arc<Core>,
    control: mpsc::UnboundedReceiver<Incoming>,
}

impl std::fmt::Debug for StreamSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamSink")
            .field("serial", &self.core.call.serial)
            .field("sparse", &self.core.sparse)
            .field("ended", &self.core.is_ended())
            .finish()
    }
}

// libvirt's error is what a failed stream answers; handlers use it unboxed.
#[allow(clippy::result_large_err)]
impl StreamSink {
    /// True if the stream may carry holes.
    pub fn is_sparse(&self) -> bool {
        self.core.sparse
    }

    /// Sends data (split into packets as needed). Fails once the client aborted the stream
    /// (libvirt's "operation aborted") or the connection closed.
    pub async fn send(&mut self, mut data: Bytes) -> StreamResult {
        while !data.is_empty() {
            let n = data.len().min(STREAM_PAYLOAD_MAX);
            let chunk = data.split_to(n);
            self.packet(MessageType::Stream, Some(chunk)).await?;
        }
        Ok(())
    }

    /// Sends a hole of `length` bytes; only on a sparse stream.
    pub async fn send_hole(&mut self, length: u64) -> StreamResult {
        if !self.core.sparse {
            return Err(RemoteError::new(
                RemoteError::OPERATION_INVALID,
                FROM_STREAMS,
                "Requested operation is not valid: %s",
                "holes on a stream that is not sparse",
            ));
        }
        let length = i64::try_from(length).map_err(|_| {
            RemoteError::internal(&format!("a hole of {length} bytes is too large"))
        })?;
        let mut body = Encoder::with_capacity(12);
        body.put_i64(length);
        body.put_u32(0);
        self.packet(
            MessageType::StreamHole,
            Some(Bytes::from(body.into_bytes())),
        )
        .await
    }

    /// Ends the data: libvirt's empty STREAM CONTINUE, then waits for the client's STREAM OK
    /// and confirms it with ours. Fails if the client aborted instead.
    pub async fn finish(mut self) -> StreamResult {
        self.check()?;
        if !self.core.client_finished.load(Ordering::SeqCst) {
            self.packet(MessageType::Stream, Some(Bytes::new())).await?;
            match self.control.recv().await {
                Some(Incoming::End) => {}
                Some(Incoming::Failed(e)) => return Err(e),
                Some(_) => {}
                None => return Err(closed()),
            }
        }
        if self.core.end() {
            if self.core.send(MessageType::Stream, Status::Ok, None).await {
                Ok(())
            } else {
                Err(closed())
            }
        } else {
            Err(aborted())
        }
    }

    /// Aborts the stream with libvirt's error `e` (STREAM ERROR): the client's read fails with
    /// it.
    pub async fn abort(self, e: RemoteError) {
        self.core.fail(&e).await;
    }

    /// Fails if the client aborted or finished early, or the stream ended.
    fn check(&mut self) -> StreamResult {
        while let Ok(msg) = self.control.try_recv() {
            self.handle(msg)?;
        }
        if self.core.is_ended() {
            return Err(aborted());
        }
        Ok(())
    }

    fn handle(&mut self, msg: Incoming) -> StreamResult {
        match msg {
            Incoming::Failed(e) => Err(e),
            // The client's STREAM OK before our end: `finish` confirms it.
            _ => Ok(()),
        }
    }

    async fn packet(&mut self, kind: MessageType, body: Option<Bytes>) -> StreamResult {
        self.check()?;
        let status = Status::Continue;
        let len = body.as_ref().map_or(0, Bytes::len);
        let head = raw_head(&self.core.header(kind, status), len);
        let connection = self.core.connection.clone();
        let queue = connection.queue(head, body);
        tokio::pin!(queue);
        loop {
            tokio::select! {
                queued = &mut queue => return if queued { Ok(()) } else { Err(closed()) },
                Some(msg) = self.control.recv() => self.handle(msg)?,
            }
        }
    }
}

/// What a `@writestream` method's stream body reads: a [`Stream`] of the client's [`Chunk`]s
/// (data as views of the received packets, holes on sparse streams), ending with `None` at the
/// client's STREAM OK. A client abort or a protocol error is an `Err` item, after which the
/// stream ends.
pub struct StreamSource {
    core: Arc<Core>,
    rx: mpsc::UnboundedReceiver<Incoming>,
    room: Arc<Semaphore>,
    at_end: bool,
}

impl std::fmt::Debug for StreamSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamSource")
            .field("serial", &self.core.call.serial)
            .field("sparse", &self.core.sparse)
            .field("at_end", &self.at_end)
            .finish()
    }
}

// libvirt's error is what a failed stream answers; handlers use it unboxed.
#[allow(clippy::result_large_err)]
impl StreamSource {
    /// True if the stream may carry holes.
    pub fn is_sparse(&self) -> bool {
        self.core.sparse
    }

    /// The next piece: data, a hole, an error, or `None` at the client's end.
    pub async fn next_chunk(&mut self) -> Option<Result<Chunk, RemoteError>> {
        std::future::poll_fn(|cx| self.poll_chunk(cx)).await
    }

    /// Reads everything to the end, holes as zeros. Fails (and aborts the stream) once the
    /// data would exceed `limit` bytes.
    pub async fn read_all(mut self, limit: usize) -> Result<Vec<u8>, RemoteError> {
        let mut out = super::stream::Collected::new(limit);
        while let Some(chunk) = self.next_chunk().await {
            out.push(chunk?)
                .map_err(|over| RemoteError::internal(&over))?;
        }
        Ok(out.bytes)
    }

    fn poll_chunk(&mut self, cx: &mut TaskContext<'_>) -> Poll<Option<Result<Chunk, RemoteError>>> {
        if self.at_end {
            return Poll::Ready(None);
        }
        let Some(msg) = std::task::ready!(self.rx.poll_recv(cx)) else {
            self.at_end = true;
            return Poll::Ready(Some(Err(closed())));
        };
        Poll::Ready(match msg {
            Incoming::Data(d, _permit) => Some(Ok(Chunk::Data(d))),
            Incoming::Hole(body, _permit) => match hole_length(&body) {
                Ok(n) => Some(Ok(Chunk::Hole(n))),
                Err(e) => {
                    self.at_end = true;
                    Some(Err(e))
                }
            },
            Incoming::End => {
                self.at_end = true;
                None
            }
            Incoming::Failed(e) => {
                self.at_end = true;
                Some(Err(e))
            }
        })
    }
}

impl Stream for StreamSource {
    type Item = Result<Chunk, RemoteError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_chunk(cx)
    }
}

impl Drop for StreamSource {
    fn drop(&mut self) {
        // A reader waiting for room for this stream gives up; its packet is dropped.
        self.room.close();
    }
}

/// Reads a `virNetStreamHole` payload (checked by the reader already): the hole's length.
#[allow(clippy::result_large_err)]
fn hole_length(body: &[u8]) -> Result<u64, RemoteError> {
    let bad = |what: String| RemoteError::rpc(&format!("malformed stream hole: {what}"));
    let mut d = Decoder::new(body);
    let length = d.get_i64().map_err(|e| bad(e.to_string()))?;
    let _flags = d.get_u32().map_err(|e| bad(e.to_string()))?;
    d.finish().map_err(|e| bad(e.to_string()))?;
    u64::try_from(length).map_err(|_| bad(format!("negative length {length}")))
}

/// Checks a hole from the client before it is queued: the stream must be sparse (else
/// libvirt's "Unexpected stream hole") and the payload a `virNetStreamHole`.
#[allow(clippy::result_large_err)]
pub(crate) fn check_hole(core: &Core, body: &[u8]) -> Result<(), RemoteError> {
    if !core.sparse {
        return Err(RemoteError::new(
            RemoteError::OPERATION_INVALID,
            FROM_STREAMS,
            "Requested operation is not valid: %s",
            "Unexpected stream hole",
        ));
    }
    hole_length(body).map(drop)
}
