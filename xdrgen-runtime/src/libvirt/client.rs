//! [`Client`]: a cloneable handle on one connection, which generated clients call.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};

use super::conn::{self, stream_channel, CallWaiter, Control, Outgoing, Parts, Shared, StreamTx};
use super::event::{Event, Events};
use super::frame::{encode_packet, encode_packet_into, Packet};
use super::header::{Header, MessageType, Status, MESSAGE_MAX, PAYLOAD_OFFSET};
use super::keepalive::Keepalive;
use super::stream::{ReadStream, WriteStream};
use super::Error;
use crate::mux::{within, Outbox, Queued, INLINE_MAX};
use crate::rpc::ProgramInfo;
use crate::xdr::{from_shared, Decode, Encode};

/// Settings of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// The largest packet sent or accepted, length word included (default
    /// `VIR_NET_MESSAGE_MAX`, 32 MiB). A received length word over it closes the connection
    /// before the packet is read.
    pub max_packet: usize,
    /// The default deadline of every call (default none); [`Client::with_timeout`] sets one
    /// per call.
    pub call_timeout: Option<Duration>,
    /// Bytes of one stream's data received and not yet read (default 64 MiB). The connection's
    /// reader never waits for a stream's consumer (it keeps answering keepalive and routing
    /// replies); a consumer that falls this far behind has its stream aborted and gets an error.
    pub stream_buffer: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_packet: MESSAGE_MAX,
            call_timeout: None,
            stream_buffer: 64 << 20,
        }
    }
}

/// Closes the connection when the last [`Client`] clone (and the last stream) is gone.
struct Handle {
    parts: Parts,
    options: Options,
}

impl Drop for Handle {
    fn drop(&mut self) {
        // The reader and writer stop when the connection closes.
        self.parts.shared.close(Error::Closed(None));
    }
}

/// A handle on one libvirt RPC connection: cheap to clone, usable from many tasks at once.
///
/// Every call gets its own serial; many calls can be in flight and their replies come back in
/// any order. Dropping a call's future cancels the call: its waiter is removed at once and the
/// late reply is discarded when it comes. The connection closes when the last clone (and the
/// last stream opened on it) is dropped, or when the transport fails; then every pending call
/// and stream fails with the cause.
///
/// Generated clients (`RemoteClient`, …) wrap it with one typed method per procedure.
#[derive(Clone)]
pub struct Client {
    handle: Arc<Handle>,
    timeout: Option<Duration>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (calls, streams) = self.in_flight();
        f.debug_struct("Client")
            .field("calls_in_flight", &calls)
            .field("streams", &streams)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Client {
    /// Starts a connection on a transport's read and write halves (spawning its reader and
    /// writer tasks on the current tokio runtime).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, as `tokio::spawn` does.
    pub fn new<R, W>(read: R, write: W, options: Options) -> Client
    where
        R: AsyncRead + Send + Unpin + 'static,
        W: AsyncWrite + Send + Unpin + 'static,
    {
        let parts = conn::start(read, write, options.max_packet);
        Client {
            handle: Arc::new(Handle { parts, options }),
            timeout: options.call_timeout,
        }
    }

    /// This handle with another per-call deadline (`None`: wait as long as the connection
    /// lives). Calls made through the returned clone fail with [`Error::Timeout`] when no reply
    /// came in time; the late reply is then discarded.
    pub fn with_timeout(&self, timeout: Option<Duration>) -> Client {
        Client {
            handle: self.handle.clone(),
            timeout,
        }
    }

    /// The per-call deadline of this handle.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    fn shared(&self) -> &Shared {
        &self.handle.parts.shared
    }

    /// Calls waiting for their reply, and open streams: (calls, streams). Both return to zero
    /// once every call has finished or been dropped.
    pub fn in_flight(&self) -> (usize, usize) {
        self.shared().in_flight()
    }

    /// Replies that arrived for no waiting call (late replies of cancelled calls, or a peer's
    /// mistake). They are discarded.
    pub fn unmatched_replies(&self) -> u64 {
        self.shared().calls.unmatched()
    }

    /// Events discarded because a subscriber's queue was full, over all subscribers.
    pub fn events_dropped(&self) -> u64 {
        self.shared()
            .counters
            .events_dropped
            .load(Ordering::Relaxed)
    }

    /// Why the connection is closed, or `None` while it is open.
    pub fn closed(&self) -> Option<Error> {
        self.shared().closed()
    }

    /// Turns true when the connection closes.
    pub(crate) fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.shared().calls.closing()
    }

    /// Closes the connection now: pending calls and streams fail with [`Error::Closed`].
    pub fn close(&self) {
        self.shared().close(Error::Closed(None));
    }

    /// Starts sending keepalive PINGs when the connection is idle, and declares it dead when
    /// the peer stops answering (see [`Keepalive`]). Call it once the server has said it
    /// supports the keepalive program.
    pub fn start_keepalive(&self, keepalive: Keepalive) {
        let _ = self
            .handle
            .parts
            .control
            .send(Control::StartKeepalive(keepalive));
    }

    /// Subscribes to the events (MESSAGE packets) of `E`'s program, through a queue of
    /// `capacity` events. Subscribe before asking the server for events.
    ///
    /// The queue is bounded and never blocks the connection: when it is full, new events for
    /// this subscriber are **dropped** and counted in [`Events::dropped`], so a consumer that
    /// stops reading costs no memory beyond its queue and delays no reply.
    pub fn events<E: Event>(&self, capacity: usize) -> Events<E> {
        let (rx, dropped) = self.shared().subscribe(E::PROGRAM.number, capacity);
        Events::new(rx, dropped, self.clone())
    }

    /// Calls `procedure` of `program` with `args` and decodes its reply as `R`.
    pub async fn call<A: Encode + ?Sized, R: Decode>(
        &self,
        program: &'static ProgramInfo,
        procedure: u32,
        args: &A,
    ) -> Result<R, Error> {
        let waiter = self.shared().register(target(program, procedure))?;
        let header = call_header(program, procedure, waiter.key());
        let packet = self.queue_call(&header, args)?;
        let reply = self.round_trip(waiter, header, packet, None).await?;
        Ok(from_shared(&reply.body)?)
    }

    /// Encodes a call's packet straight into the writer's queue when it is small and the
    /// queue has room (`None`), else into a buffer of its own to queue when there is room.
    fn queue_call<A: Encode + ?Sized>(
        &self,
        header: &Header,
        args: &A,
    ) -> Result<Option<bytes::Bytes>, Error> {
        let max = self.handle.options.max_packet;
        let len = PAYLOAD_OFFSET + args.encoded_len();
        if len <= INLINE_MAX.min(max) {
            match self
                .out()
                .try_encode(|buf| encode_packet_into(buf, header, args, len))?
            {
                Queued::Yes => return Ok(None),
                Queued::Closed => return Err(self.closed_error()),
                Queued::Full => {}
            }
        }
        encode_packet(header, args, max).map(Some)
    }

    /// Calls a `@readstream` procedure: the reply, then the data the server sends.
    pub async fn call_read_stream<A: Encode + ?Sized, R: Decode>(
        &self,
        program: &'static ProgramInfo,
        procedure: u32,
        args: &A,
    ) -> Result<(R, ReadStream), Error> {
        let waiter = self.shared().register(target(program, procedure))?;
        let header = call_header(program, procedure, waiter.key());
        let packet = encode_packet(&header, args, self.handle.options.max_packet)?;
        let (tx, rx) = stream_channel(self.handle.options.stream_buffer);
        let reply = self
            .round_trip(waiter, header, Some(packet), Some(tx))
            .await?;
        // From here the stream is open on the server: dropping it (even on a bad reply) aborts.
        let stream = ReadStream::new(self.clone(), header, rx);
        let value = from_shared(&reply.body)?;
        Ok((value, stream))
    }

    /// Calls a `@writestream` procedure: the reply, then a sink for the data to send.
    pub async fn call_write_stream<A: Encode + ?Sized, R: Decode>(
        &self,
        program: &'static ProgramInfo,
        procedure: u32,
        args: &A,
    ) -> Result<(R, WriteStream), Error> {
        let waiter = self.shared().register(target(program, procedure))?;
        let header = call_header(program, procedure, waiter.key());
        let packet = encode_packet(&header, args, self.handle.options.max_packet)?;
        // The server sends only its end or an error on a write stream.
        let (tx, rx) = stream_channel(0);
        let reply = self
            .round_trip(waiter, header, Some(packet), Some(tx))
            .await?;
        let stream = WriteStream::new(self.clone(), header, rx);
        let value = from_shared(&reply.body)?;
        Ok((value, stream))
    }

    /// Opens the stream (if any) of the registered call, queues its packet (unless
    /// [`queue_call`](Client::queue_call) queued it: `None`) and waits for the reply: the one
    /// non-generic path every generated method shares. The guard forgets the call (and its
    /// stream) if this future is dropped, times out or fails.
    async fn round_trip(
        &self,
        waiter: CallWaiter<'_>,
        header: Header,
        packet: Option<bytes::Bytes>,
        stream: Option<StreamTx>,
    ) -> Result<Packet, Error> {
        let mut guard = CallGuard {
            client: self,
            header,
            stream: stream.is_some(),
            waiter,
        };
        if let Some(tx) = stream {
            self.shared()
                .add_stream(header.serial, target_of(&header), tx)?;
        }
        let wait = async {
            if let Some(head) = packet {
                self.send(Outgoing { head, data: None }).await?;
            }
            guard.waiter.reply().await
        };
        let reply = within(self.timeout, wait, Error::Timeout).await?;
        if reply.header.status == Status::Error {
            return Err(conn::remote_error(&reply.body));
        }
        // Success: the stream (if any) now belongs to its ReadStream/WriteStream.
        guard.stream = false;
        Ok(reply)
    }

    /// Queues a packet for the writer, waiting while its queue is full.
    pub(crate) async fn send(&self, packet: Outgoing) -> Result<(), Error> {
        let mut slot = Some(packet);
        std::future::poll_fn(|cx| self.out().poll_push(cx, &mut slot))
            .await
            .map_err(|()| self.closed_error())
    }

    /// The error of a closed connection.
    pub(crate) fn closed_error(&self) -> Error {
        self.closed().unwrap_or(Error::Closed(None))
    }

    pub(crate) fn forget_stream(&self, serial: u32) {
        self.shared().forget_stream(serial);
    }

    /// The writer's queue.
    pub(crate) fn out(&self) -> &Arc<Outbox> {
        &self.handle.parts.out
    }
}

/// What a reply to a call of `program`'s `procedure` must name.
fn target(program: &ProgramInfo, procedure: u32) -> conn::Target {
    (program.number, program.version, procedure)
}

fn target_of(h: &Header) -> conn::Target {
    (h.program, h.version, h.procedure)
}

fn call_header(program: &ProgramInfo, procedure: u32, serial: u32) -> Header {
    Header {
        program: program.number,
        version: program.version,
        procedure,
        kind: MessageType::Call,
        serial,
        status: Status::Ok,
    }
}

/// Removes a call's stream, unless the call succeeded, when the call ends in any way, including
/// its future being dropped (its waiter, dropped with it, removes the call's entry). A stream
/// call that did not succeed is also aborted on the server, which may already have opened it.
struct CallGuard<'a> {
    client: &'a Client,
    header: Header,
    stream: bool,
    waiter: CallWaiter<'a>,
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        if self.stream {
            let shared = self.client.shared();
            shared.forget_stream(self.header.serial);
            if shared.closed().is_none() {
                let abort = Header {
                    kind: MessageType::Stream,
                    status: Status::Error,
                    ..self.header
                };
                self.client.out().try_push(Outgoing {
                    head: super::frame::raw_head(&abort, 0),
                    data: None,
                });
            }
        }
    }
}
