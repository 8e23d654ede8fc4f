//! One server connection: the reader that validates and admits packets, the call tasks, and the
//! writer that owns the write half.
//!
//! The reader answers keepalive PINGs, closes the connection of a client that sends a REPLY,
//! drops other packets a client must not send (MESSAGE, STREAM packets for no open stream… —
//! libvirtd sends nothing back for them either), routes
//! stream packets to their stream by serial (data within the stream's byte budget, else the
//! reader waits; see `server_stream`) and admits CALLs: a normal call takes
//! one of `2 × max_requests` admission slots and then waits for one of `max_requests` running
//! slots, so up to `max_requests` calls wait behind slow ones while the reader keeps reading; a
//! `@priority: high` call takes a slot of its own budget and runs at once. When a budget is
//! empty the reader parks that one packet and stops reading until a slot frees (TCP
//! back-pressure, as libvirtd's `max_client_requests`), while it still keeps time for keepalive
//! and shutdown. Packets go out through a queue bounded in bytes: replies wait for room, events
//! and PONGs are dropped when it is full.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore, TryAcquireError};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::codec::FramedRead;

use super::frame::{encode_packet, raw_head, Packet, PacketCodec};
use super::header::{Header, MessageType, Status};
use super::keepalive;
use super::server::{Peer, ServerShared};
use super::server_dispatch::{unknown_procedure, Context, Dispatch, Reply};
use super::server_stream::{self, Core, Entry, Incoming, StreamBody};
use super::{Error, RemoteError};
use crate::mux::next_frame;
use crate::partial::Partial;
use crate::rpc::ProgramInfo;
use crate::xdr::Encode;

/// Why [`Connection::send_event`] did not queue an event.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The connection is closed.
    #[error("the connection is closed")]
    Closed,
    /// The client is not reading fast enough: its queue is full, and the event was dropped.
    #[error("the client's queue is full; the event was dropped")]
    Full,
    /// The event could not be encoded (or is over the maximum packet size).
    #[error(transparent)]
    Encode(#[from] Error),
}

/// A packet for the writer, holding its share of the byte budget until it is written.
enum Queued {
    Packet {
        head: Bytes,
        data: Option<Bytes>,
        _room: OwnedSemaphorePermit,
    },
    /// Write everything queued before, then close.
    Close,
}

struct Inner {
    id: u64,
    peer: Peer,
    state: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
    out: mpsc::UnboundedSender<Queued>,
    /// Bytes the writer may still take (`Limits::max_queued_bytes`).
    room: Arc<Semaphore>,
    max_room: usize,
    max_packet: usize,
    /// Set by [`Connection::close`]: the reader stops, the writer drains then closes.
    closing: watch::Sender<bool>,
    /// Set when the connection is gone: nothing more is written.
    dead: watch::Sender<bool>,
    events_dropped: AtomicU64,
    ignored: AtomicU64,
    /// Open streams, by their call's serial.
    streams: Mutex<HashMap<u32, Entry>>,
    /// Bytes of client data queued per write stream (`Limits::max_stream_queue`).
    max_stream_queue: usize,
    /// Streams open at once (`Limits::max_streams`).
    max_streams: usize,
    /// Set by [`Connection::start_keepalive`]: the server's PINGs begin.
    keepalive: watch::Sender<bool>,
    /// What ended the connection, when something went wrong.
    error: Mutex<Option<Arc<Error>>>,
    /// Set when the connection is closed and its streams and state dropped.
    finished: watch::Sender<bool>,
}

/// A handle on one client connection: its id, its peer, its state, and a way to push events
/// to it. Cheap to clone; handlers may keep clones (for instance in a list of event
/// subscribers) beyond the call that gave them one.
#[derive(Clone)]
pub struct Connection {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.inner.id)
            .field("peer", &self.inner.peer)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Connection {
    /// The connection's number, unique within its server.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// Who is on the other end.
    pub fn peer(&self) -> &Peer {
        &self.inner.peer
    }

    /// The connection's value of type `T`, if one was stored.
    pub fn state<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let map = self.inner.state.lock().unwrap_or_else(|p| p.into_inner());
        let value = map.get(&TypeId::of::<T>())?.clone();
        value.downcast::<T>().ok()
    }

    /// Stores a value of type `T` on the connection (the driver connect-open opened, say),
    /// returning the one it replaces.
    pub fn set_state<T: Any + Send + Sync>(&self, value: T) -> Option<Arc<T>> {
        let mut map = self.inner.state.lock().unwrap_or_else(|p| p.into_inner());
        let old = map.insert(TypeId::of::<T>(), Arc::new(value))?;
        old.downcast::<T>().ok()
    }

    /// Removes the connection's value of type `T`.
    pub fn remove_state<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let mut map = self.inner.state.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&TypeId::of::<T>())?.downcast::<T>().ok()
    }

    /// Queues an event (a MESSAGE packet of `program`'s `procedure`, serial 1 as libvirtd
    /// sends them) without waiting. When the client's queue is full the event is dropped,
    /// counted in [`events_dropped`](Connection::events_dropped), and [`SendError::Full`]
    /// returned: a client that stops reading costs no more than its queue.
    pub fn send_event<T: Encode + ?Sized>(
        &self,
        program: &ProgramInfo,
        procedure: u32,
        message: &T,
    ) -> Result<(), SendError> {
        if self.is_closed() {
            return Err(SendError::Closed);
        }
        let header = Header {
            program: program.number,
            version: program.version,
            procedure,
            kind: MessageType::Message,
            serial: 1,
            status: Status::Ok,
        };
        let head = encode_packet(&header, message, self.inner.max_packet)?;
        if self.try_queue(head, None) {
            Ok(())
        } else {
            self.inner.events_dropped.fetch_add(1, Ordering::Relaxed);
            Err(SendError::Full)
        }
    }

    /// Events dropped because the client's queue was full.
    pub fn events_dropped(&self) -> u64 {
        self.inner.events_dropped.load(Ordering::Relaxed)
    }

    /// Packets dropped because a client must not send them (REPLY, MESSAGE, STREAM without a
    /// stream…).
    pub fn ignored(&self) -> u64 {
        self.inner.ignored.load(Ordering::Relaxed)
    }

    /// Starts the server's keepalive on this connection, as libvirtd does when a client asks
    /// whether the keepalive program is supported (`connect-supports-feature` with
    /// `VIR_DRV_FEATURE_PROGRAM_KEEPALIVE`): from then on the client is PINGed when idle and
    /// dropped when it stops answering ([`ServerBuilder::keepalive`]). A client that never
    /// asked is never PINGed (an old client would not answer), though its PINGs are answered.
    /// Does nothing when the server has no keepalive.
    ///
    /// [`ServerBuilder::keepalive`]: super::server::ServerBuilder::keepalive
    pub fn start_keepalive(&self) {
        self.inner.keepalive.send_replace(true);
    }

    /// Waits until the connection is closed (by either side, by an error, or by the server's
    /// shutdown) and its per-connection state dropped.
    pub async fn closed(&self) {
        let mut finished = self.inner.finished.subscribe();
        let _ = finished.wait_for(|f| *f).await;
    }

    /// What ended the connection, when it ended on an error: broken framing, a length word
    /// over the maximum, a packet that never arrived whole, keepalive, a REPLY from the
    /// client, or a failed write. `None` while it is open, and after a clean close.
    pub fn error(&self) -> Option<Arc<Error>> {
        self.inner
            .error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Records what ended the connection (the first cause wins).
    fn fail(&self, e: Error) {
        let mut slot = self.inner.error.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(Arc::new(e));
        }
    }

    /// True once the connection is closed or closing.
    pub fn is_closed(&self) -> bool {
        *self.inner.closing.borrow() || *self.inner.dead.borrow()
    }

    /// Closes the connection: calls in flight are cancelled, what is already queued is written,
    /// then the socket is closed.
    pub fn close(&self) {
        if !self.inner.closing.send_replace(true) {
            let _ = self.inner.out.send(Queued::Close);
        }
    }

    /// Registers a stream (replacing one of the same serial).
    pub(crate) fn add_stream(&self, entry: Entry) {
        let mut map = self.inner.streams.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(entry.core.call.serial, entry);
    }

    /// Streams open on this connection.
    fn stream_count(&self) -> usize {
        self.inner
            .streams
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// Forgets `core`'s stream: later packets for it are dropped.
    pub(crate) fn remove_stream(&self, core: &Arc<Core>) {
        let mut map = self.inner.streams.lock().unwrap_or_else(|p| p.into_inner());
        let serial = core.call.serial;
        if map.get(&serial).is_some_and(|e| Arc::ptr_eq(&e.core, core)) {
            map.remove(&serial);
        }
    }

    /// The stream a STREAM or STREAM_HOLE packet belongs to: same serial, program, version
    /// and procedure.
    fn stream_of(&self, h: &Header) -> Option<Entry> {
        let map = self.inner.streams.lock().unwrap_or_else(|p| p.into_inner());
        let e = map.get(&h.serial)?;
        let c = &e.core.call;
        ((c.program, c.version, c.procedure) == (h.program, h.version, h.procedure))
            .then(|| e.clone())
    }

    /// Bytes of client data queued per write stream before the reader waits.
    pub(crate) fn max_stream_queue(&self) -> usize {
        self.inner.max_stream_queue
    }

    /// Queues a packet if its bytes fit now.
    pub(crate) fn try_queue(&self, head: Bytes, data: Option<Bytes>) -> bool {
        let n = self.cost(head.len() + data.as_ref().map_or(0, Bytes::len));
        match self.inner.room.clone().try_acquire_many_owned(n) {
            Ok(room) => self.push(head, data, room),
            Err(_) => false,
        }
    }

    /// Queues a packet, waiting for room; false if the connection is gone.
    pub(crate) async fn queue(&self, head: Bytes, data: Option<Bytes>) -> bool {
        let n = self.cost(head.len() + data.as_ref().map_or(0, Bytes::len));
        let mut dead = self.inner.dead.subscribe();
        let room = tokio::select! {
            room = self.inner.room.clone().acquire_many_owned(n) => room,
            _ = dead.wait_for(|d| *d) => return false,
        };
        match room {
            Ok(room) => self.push(head, data, room),
            Err(_) => false,
        }
    }

    fn push(&self, head: Bytes, data: Option<Bytes>, room: OwnedSemaphorePermit) -> bool {
        let packet = Queued::Packet {
            head,
            data,
            _room: room,
        };
        !*self.inner.dead.borrow() && self.inner.out.send(packet).is_ok()
    }

    /// A packet's share of the byte budget: a packet larger than the whole budget takes all of
    /// it, so that it can still be sent, alone.
    fn cost(&self, len: usize) -> u32 {
        len.min(self.inner.max_room).min(u32::MAX as usize) as u32
    }

    /// A reply that fits in a packet, or the error that says it does not.
    // `Reply` is what every dispatcher returns: libvirt's error, unboxed.
    #[allow(clippy::result_large_err)]
    fn fit(&self, reply: Reply) -> Reply {
        match reply {
            Ok(body) if super::PAYLOAD_OFFSET + body.len() > self.inner.max_packet => {
                Err(RemoteError::rpc(&format!(
                    "reply of {} bytes is over the maximum packet size of {} bytes",
                    super::PAYLOAD_OFFSET + body.len(),
                    self.inner.max_packet
                )))
            }
            r => r,
        }
    }

    /// Sends the answer to the call `call`: its result, or libvirt's error.
    async fn reply(&self, call: Header, reply: Reply) {
        let (status, body) = match self.fit(reply) {
            Ok(body) => (Status::Ok, body),
            Err(e) => (Status::Error, e.encode()),
        };
        let header = Header {
            kind: MessageType::Reply,
            status,
            ..call
        };
        let head = raw_head(&header, body.len());
        self.queue(head, Some(Bytes::from(body))).await;
    }
}

/// Sends an internal error if a call task ends without its reply (its handler panicked).
struct ReplyGuard {
    connection: Connection,
    call: Header,
    done: bool,
}

impl Drop for ReplyGuard {
    fn drop(&mut self) {
        if !self.done && !self.connection.is_closed() {
            let e = RemoteError::internal("the call's handler failed without an answer");
            let header = Header {
                kind: MessageType::Reply,
                status: Status::Error,
                ..self.call
            };
            let body = e.encode();
            let head = raw_head(&header, body.len());
            self.connection.try_queue(head, Some(Bytes::from(body)));
        }
    }
}

/// The per-connection budgets of calls.
struct Budgets {
    /// Normal calls read and not finished.
    admitted: Arc<Semaphore>,
    /// Normal calls running.
    running: Arc<Semaphore>,
    /// High-priority calls read and not finished.
    priority: Arc<Semaphore>,
}

/// How the reader loop ended.
enum End {
    /// The peer left, broke the framing, or stopped answering keepalive: stop at once.
    Gone,
    /// [`Connection::close`]: cancel calls, write what is queued.
    Closed,
    /// Server shutdown, once the calls and streams in flight have finished: write what is
    /// queued, then close.
    Drained,
    /// Server shutdown, and the grace period passed first.
    Expired,
}

/// Serves one connection until it ends.
pub(crate) async fn run<R, W>(server: Arc<ServerShared>, id: u64, peer: Peer, read: R, write: W)
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    let limits = server.limits;
    let (out, out_rx) = mpsc::unbounded_channel();
    let connection = Connection {
        inner: Arc::new(Inner {
            id,
            peer,
            state: Mutex::new(HashMap::new()),
            out,
            room: Arc::new(Semaphore::new(limits.max_queued_bytes.max(1))),
            max_room: limits.max_queued_bytes.max(1),
            max_packet: limits.max_packet,
            closing: watch::channel(false).0,
            dead: watch::channel(false).0,
            events_dropped: AtomicU64::new(0),
            ignored: AtomicU64::new(0),
            streams: Mutex::new(HashMap::new()),
            max_stream_queue: limits.max_stream_queue.clamp(1, u32::MAX as usize),
            max_streams: limits.max_streams,
            keepalive: watch::channel(false).0,
            error: Mutex::new(None),
            finished: watch::channel(false).0,
        }),
    };
    let mut writer = tokio::spawn(writer(out_rx, write, connection.clone()));
    let budgets = Budgets {
        admitted: Arc::new(Semaphore::new(limits.max_requests.max(1) * 2)),
        running: Arc::new(Semaphore::new(limits.max_requests.max(1))),
        priority: Arc::new(Semaphore::new(limits.max_priority_requests.max(1))),
    };
    let mut framed = FramedRead::new(read, PacketCodec::new(limits.max_packet));
    let mut tasks = JoinSet::new();
    // The server's PINGs start when the client asks for them (Connection::start_keepalive).
    let mut ka: Option<keepalive::State> = None;
    let mut ka_asked = connection.inner.keepalive.subscribe();
    let mut stop = server.lifecycle.subscribe();
    let mut closing = connection.inner.closing.subscribe();
    let mut dead = connection.inner.dead.subscribe();
    // A call read while its budget was empty, or stream data while its stream's queue was
    // full: the reader reads nothing more until it is in.
    let mut parked: Option<Admitted> = None;
    // Set at server shutdown: new calls are refused, and the reader goes on serving the calls
    // and streams in flight (whose ends the client sends) until they finish or this passes.
    let mut draining: Option<Instant> = None;
    let mut partial = Partial::new(limits.packet_timeout);
    let mut received: u64 = 0;
    let far = || Instant::now() + Duration::from_secs(86400 * 365);
    let end = loop {
        if draining.is_some() && tasks.is_empty() && parked.is_none() {
            break End::Drained;
        }
        let deadline = ka.as_ref().map_or_else(far, |k| k.deadline);
        let budget = parked.as_ref().map(Admitted::budget);
        tokio::select! {
            _ = stop.wait_for(|s| *s), if draining.is_none() => {
                draining = Some(Instant::now() + limits.shutdown_grace);
                if let Some(Admitted::Call(p, ..)) = parked.take_if(|a| matches!(a, Admitted::Call(..))) {
                    refuse(&connection, p.header);
                }
            }
            _ = tokio::time::sleep_until(draining.unwrap_or_else(far)), if draining.is_some() => {
                break End::Expired;
            }
            _ = closing.wait_for(|c| *c) => break End::Closed,
            // The writer failed: the transport is gone.
            _ = dead.wait_for(|d| *d) => break End::Gone,
            _ = ka_asked.wait_for(|k| *k), if ka.is_none() && server.keepalive.is_some() => {
                ka = server.keepalive.map(keepalive::State::new);
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            permit = acquire(budget), if parked.is_some() => {
                if let (Some(permit), Some(a)) = (permit, parked.take()) {
                    deliver(&server, &connection, &budgets, &mut tasks, a, permit);
                }
                // A closed budget: the stream is gone and its data dropped.
                parked = None;
                partial.reset();
            }
            _ = tokio::time::sleep_until(partial.check_at), if parked.is_none() => {
                if partial.stalled(!framed.read_buffer().is_empty(), received) {
                    connection.fail(Error::Protocol(format!(
                        "a packet did not arrive whole within {:?}",
                        limits.packet_timeout
                    )));
                    break End::Gone;
                }
            }
            packet = next_frame(&mut framed), if parked.is_none() => match packet {
                None => break End::Gone,
                Some(Err(e)) => {
                    connection.fail(e);
                    break End::Gone;
                }
                Some(Ok(p)) => {
                    received += 1;
                    if let Some(k) = &mut ka {
                        k.received();
                    }
                    let call = matches!(p.header.kind, MessageType::Call | MessageType::CallWithFds);
                    if draining.is_some() && call {
                        refuse(&connection, p.header);
                    } else if let Some(a) = admit(&server, &connection, &budgets, p) {
                        let (budget, n) = a.budget();
                        match budget.try_acquire_many_owned(n) {
                            Ok(permit) => {
                                deliver(&server, &connection, &budgets, &mut tasks, a, permit);
                            }
                            Err(TryAcquireError::NoPermits) => parked = Some(a),
                            Err(TryAcquireError::Closed) => {}
                        }
                    }
                }
            },
            _ = tokio::time::sleep_until(deadline) => {
                if let Some(k) = &mut ka {
                    match k.tick() {
                        Ok(()) => {
                            // A full queue means the client is not reading: the count goes on.
                            connection.try_queue(ping_packet(keepalive::PING), None);
                        }
                        Err(e) => {
                            connection.fail(e);
                            break End::Gone;
                        }
                    }
                }
            }
        }
    };
    match end {
        End::Gone => {
            connection.inner.dead.send_replace(true);
            tasks.shutdown().await;
        }
        End::Closed => tasks.shutdown().await,
        End::Drained => connection.close(),
        End::Expired => {
            // Calls and streams still running after the grace period are cancelled.
            tasks.shutdown().await;
            connection.close();
        }
    }
    if tokio::time::timeout(limits.shutdown_grace, &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    }
    connection.inner.closing.send_replace(true);
    // Streams hold the connection, and the state (a driver, say) is the client's: both go
    // before anyone waiting in `closed` is told.
    let streams = std::mem::take(
        &mut *connection
            .inner
            .streams
            .lock()
            .unwrap_or_else(|p| p.into_inner()),
    );
    drop(streams);
    let state = std::mem::take(
        &mut *connection
            .inner
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner()),
    );
    drop(state);
    connection.inner.dead.send_replace(true);
    connection.inner.finished.send_replace(true);
}

/// Answers a call that arrives while the server shuts down, without waiting: when the client's
/// queue is full (it is not reading), the answer is dropped, so that a client that keeps
/// calling costs nothing while the server drains.
fn refuse(connection: &Connection, call: Header) {
    let header = Header {
        kind: MessageType::Reply,
        status: Status::Error,
        ..call
    };
    let body = RemoteError::rpc("the server is shutting down").encode();
    connection.try_queue(raw_head(&header, body.len()), Some(Bytes::from(body)));
}

async fn acquire(budget: Option<(Arc<Semaphore>, u32)>) -> Option<OwnedSemaphorePermit> {
    let (budget, n) = budget?;
    budget.acquire_many_owned(n).await.ok()
}

/// A packet the reader hands on once it has its budget.
enum Admitted {
    /// A CALL: the call budget it takes, and whether it is high-priority.
    Call(Packet, Arc<Semaphore>, bool),
    /// Stream data or a hole for a write stream: its stream's byte budget.
    Stream {
        packet: Packet,
        room: Arc<Semaphore>,
        /// Its share of the budget: its bytes, at most the whole budget (it then goes alone).
        cost: u32,
        tx: mpsc::UnboundedSender<Incoming>,
    },
}

impl Admitted {
    /// The budget and the permits this packet needs.
    fn budget(&self) -> (Arc<Semaphore>, u32) {
        match self {
            Admitted::Call(_, budget, _) => (budget.clone(), 1),
            Admitted::Stream { room, cost, .. } => (room.clone(), *cost),
        }
    }
}

/// Hands an admitted packet on with its permit.
fn deliver(
    server: &Arc<ServerShared>,
    connection: &Connection,
    budgets: &Budgets,
    tasks: &mut JoinSet<()>,
    a: Admitted,
    permit: OwnedSemaphorePermit,
) {
    match a {
        Admitted::Call(p, _, priority) => {
            spawn_call(server, connection, budgets, tasks, p, permit, priority)
        }
        Admitted::Stream { packet, tx, .. } => {
            let item = if packet.header.kind == MessageType::StreamHole {
                Incoming::Hole(packet.body, Some(permit))
            } else {
                Incoming::Data(packet.body, Some(permit))
            };
            // A handler that dropped its source: the data is dropped.
            let _ = tx.send(item);
        }
    }
}

/// Handles what needs no call task (keepalive, packets a client must not send) and returns a
/// CALL with the budget it must take.
fn admit(
    server: &ServerShared,
    connection: &Connection,
    budgets: &Budgets,
    p: Packet,
) -> Option<Admitted> {
    let h = p.header;
    match h.kind {
        MessageType::Call | MessageType::CallWithFds => {
            let priority = server
                .program(h.program, h.version)
                .and_then(|d| d.program().procedure(h.procedure))
                .is_some_and(|info| info.high_priority);
            let budget = if priority {
                &budgets.priority
            } else {
                &budgets.admitted
            };
            Some(Admitted::Call(p, budget.clone(), priority))
        }
        MessageType::Message if h.program == keepalive::PROGRAM => {
            if h.procedure == keepalive::PING {
                connection.try_queue(ping_packet(keepalive::PONG), None);
            }
            None
        }
        MessageType::Stream | MessageType::StreamHole => route_stream(connection, p),
        MessageType::Reply | MessageType::ReplyWithFds => {
            // Only a server replies: a client that does is broken or hostile, and nothing it
            // sends next can be trusted. (libvirtd only logs it; closing is stricter.)
            connection.inner.ignored.fetch_add(1, Ordering::Relaxed);
            connection.fail(Error::Protocol(format!(
                "the client sent a REPLY (serial {}): only a server replies",
                h.serial
            )));
            connection.close();
            None
        }
        MessageType::Message => {
            connection.inner.ignored.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

fn ping_packet(procedure: u32) -> Bytes {
    keepalive::packet(procedure).head
}

/// Starts the task that answers one admitted CALL.
fn spawn_call(
    server: &Arc<ServerShared>,
    connection: &Connection,
    budgets: &Budgets,
    tasks: &mut JoinSet<()>,
    p: Packet,
    admitted: OwnedSemaphorePermit,
    priority: bool,
) {
    let running = (!priority).then(|| budgets.running.clone());
    let (server, connection) = (server.clone(), connection.clone());
    tasks.spawn(async move {
        let running = match running {
            Some(s) => s.acquire_owned().await.ok(),
            None => None,
        };
        let mut guard = ReplyGuard {
            connection: connection.clone(),
            call: p.header,
            done: false,
        };
        let (reply, stream) = call(&server, &connection, &p).await;
        guard.done = true;
        let close = matches!(&reply, Answer::Close(_));
        let (Answer::Reply(r) | Answer::Close(r)) = reply;
        // A reply too large for a packet is an error, and its stream never starts.
        let mut r = connection.fit(r);
        // A client may not open streams without bound: each holds a task and its queue.
        if stream.is_some()
            && r.is_ok()
            && connection.stream_count() >= connection.inner.max_streams
        {
            r = Err(RemoteError::rpc(&format!(
                "too many open streams on this connection (at most {})",
                connection.inner.max_streams
            )));
        }
        // The stream is registered before its reply is queued: the client may send stream
        // packets as soon as it has the reply.
        let stream = match stream {
            Some(body) if r.is_ok() => Some(server_stream::start(&connection, p.header, body)),
            _ => None,
        };
        connection.reply(p.header, r).await;
        if close {
            connection.close();
        }
        // Streams do not hold the call's slots.
        drop((admitted, running));
        if let Some(stream) = stream {
            stream.await;
        }
    });
}

enum Answer {
    Reply(Reply),
    /// The reply, after which the connection closes.
    Close(Reply),
}

/// Routes a STREAM or STREAM_HOLE packet to its stream: data and holes for a write stream
/// come back to be queued within its budget; the client's end and abort are handled here;
/// anything else (no such stream, data on a read stream, an empty CONTINUE) is dropped.
fn route_stream(connection: &Connection, p: Packet) -> Option<Admitted> {
    let h = p.header;
    let Some(Entry { core, tx, room }) = connection.stream_of(&h) else {
        connection.inner.ignored.fetch_add(1, Ordering::Relaxed);
        return None;
    };
    let cost = (super::PAYLOAD_OFFSET + p.body.len()).min(connection.max_stream_queue()) as u32;
    match (h.kind, h.status, room) {
        (MessageType::Stream, Status::Error, _) => core.client_aborted(&tx),
        (MessageType::Stream, Status::Ok, _) => core.client_finished(&tx),
        (MessageType::Stream, Status::Continue, Some(room)) if !p.body.is_empty() => {
            return Some(Admitted::Stream {
                packet: p,
                room,
                cost,
                tx,
            });
        }
        (MessageType::StreamHole, Status::Continue, Some(room)) => {
            match server_stream::check_hole(&core, &p.body) {
                Ok(()) => {
                    return Some(Admitted::Stream {
                        packet: p,
                        room,
                        cost,
                        tx,
                    })
                }
                Err(e) => core.protocol_error(&tx, e),
            }
        }
        _ => {
            connection.inner.ignored.fetch_add(1, Ordering::Relaxed);
        }
    }
    None
}

/// Checks a CALL's header as libvirtd does (program and version, status, procedure) and runs
/// it.
async fn call(
    server: &ServerShared,
    connection: &Connection,
    p: &Packet,
) -> (Answer, Option<StreamBody>) {
    let h = p.header;
    let Some(dispatcher) = server.program(h.program, h.version) else {
        return (
            Answer::Reply(Err(RemoteError::rpc(&format!(
                "Cannot find program {} version {}",
                h.program as i32, h.version as i32
            )))),
            None,
        );
    };
    if h.kind == MessageType::CallWithFds {
        return (
            Answer::Reply(Err(RemoteError::rpc(
                "this server does not accept file descriptors",
            ))),
            None,
        );
    }
    if h.status != Status::Ok {
        return (
            Answer::Reply(Err(RemoteError::rpc(&format!(
                "Unexpected message status {}",
                h.status as u32
            )))),
            None,
        );
    }
    let program = dispatcher.program();
    let Some(procedure) = program.procedure(h.procedure) else {
        return (Answer::Reply(Err(unknown_procedure(h.procedure))), None);
    };
    let cx = Context {
        connection: connection.clone(),
        program,
        procedure,
        serial: h.serial,
        access: server.access.clone(),
        close_after_reply: AtomicBool::new(false),
        stream: Mutex::new(None),
    };
    let reply = dispatch(&**dispatcher, &cx, &p.body).await;
    let stream = cx.take_stream();
    if cx.close_after_reply.load(Ordering::Relaxed) {
        (Answer::Close(reply), stream)
    } else {
        (Answer::Reply(reply), stream)
    }
}

async fn dispatch(d: &dyn Dispatch, cx: &Context, body: &Bytes) -> Reply {
    d.dispatch(cx, body).await
}

/// Writes queued packets whole, flushing when the queue is empty; ends at [`Queued::Close`],
/// when the connection dies, or on a write error.
async fn writer<W: AsyncWrite + Unpin>(
    mut rx: mpsc::UnboundedReceiver<Queued>,
    write: W,
    connection: Connection,
) {
    let mut w = BufWriter::with_capacity(64 * 1024, write);
    let mut dead = connection.inner.dead.subscribe();
    let result: std::io::Result<()> = async {
        loop {
            let first = tokio::select! {
                q = rx.recv() => match q {
                    Some(q) => q,
                    None => break,
                },
                _ = dead.wait_for(|d| *d) => return Ok(()),
            };
            let mut next = Some(first);
            while let Some(q) = next {
                match q {
                    Queued::Packet { head, data, _room } => {
                        w.write_all(&head).await?;
                        if let Some(data) = &data {
                            w.write_all(data).await?;
                        }
                    }
                    Queued::Close => {
                        w.flush().await?;
                        return w.shutdown().await;
                    }
                }
                next = rx.try_recv().ok();
            }
            w.flush().await?;
        }
        w.shutdown().await
    }
    .await;
    if let Err(e) = result {
        connection.fail(Error::Io(Arc::new(e)));
    }
    connection.inner.dead.send_replace(true);
}
