//! One server connection: the reader that validates and admits packets, the call tasks, and the
//! writer that owns the write half.
//!
//! The reader answers keepalive PINGs, drops what a client must not send (REPLY, MESSAGE,
//! STREAM… — libvirtd sends nothing back for them either) and admits CALLs: a normal call takes
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
use futures_core::Stream;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::codec::FramedRead;

use super::frame::{encode_packet, raw_head, Packet, PacketCodec};
use super::header::{Header, MessageType, Status};
use super::keepalive;
use super::server::{Peer, ServerShared};
use super::server_dispatch::{unknown_procedure, Context, Dispatch, Reply};
use super::{Error, RemoteError};
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

    /// Queues a packet if its bytes fit now.
    fn try_queue(&self, head: Bytes, data: Option<Bytes>) -> bool {
        let n = self.cost(head.len() + data.as_ref().map_or(0, Bytes::len));
        match self.inner.room.clone().try_acquire_many_owned(n) {
            Ok(room) => self.push(head, data, room),
            Err(_) => false,
        }
    }

    /// Queues a packet, waiting for room.
    async fn queue(&self, head: Bytes, data: Option<Bytes>) -> bool {
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

    /// Sends the answer to the call `call`: its result, or libvirt's error.
    async fn reply(&self, call: Header, reply: Reply) {
        let (status, body) = match reply {
            Ok(body) if super::PAYLOAD_OFFSET + body.len() <= self.inner.max_packet => {
                (Status::Ok, body)
            }
            Ok(body) => (
                Status::Error,
                RemoteError::rpc(&format!(
                    "reply of {} bytes is over the maximum packet size of {} bytes",
                    super::PAYLOAD_OFFSET + body.len(),
                    self.inner.max_packet
                ))
                .encode(),
            ),
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
    /// Server shutdown: finish the calls in flight, write their replies, then close.
    Shutdown,
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
    let mut ka = server.keepalive.map(keepalive::State::new);
    let mut stop = server.stop.subscribe();
    let mut closing = connection.inner.closing.subscribe();
    let mut dead = connection.inner.dead.subscribe();
    // A call read while its budget was empty: the reader reads nothing more until it is in.
    let mut parked: Option<(Packet, Arc<Semaphore>, bool)> = None;
    let far = || Instant::now() + Duration::from_secs(86400 * 365);
    let end = loop {
        let deadline = ka.as_ref().map_or_else(far, |k| k.deadline);
        let budget = parked.as_ref().map(|(_, s, _)| s.clone());
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break End::Shutdown,
            _ = closing.wait_for(|c| *c) => break End::Closed,
            // The writer failed: the transport is gone.
            _ = dead.wait_for(|d| *d) => break End::Gone,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            permit = acquire(budget), if parked.is_some() => {
                if let (Some(permit), Some((p, _, priority))) = (permit, parked.take()) {
                    spawn_call(&server, &connection, &budgets, &mut tasks, p, permit, priority);
                }
            }
            packet = next(&mut framed), if parked.is_none() => match packet {
                None | Some(Err(_)) => break End::Gone,
                Some(Ok(p)) => {
                    if let Some(k) = &mut ka {
                        k.received();
                    }
                    if let Some((p, budget, priority)) = admit(&server, &connection, &budgets, p) {
                        match budget.clone().try_acquire_owned() {
                            Ok(permit) => spawn_call(
                                &server, &connection, &budgets, &mut tasks, p, permit, priority,
                            ),
                            Err(_) => parked = Some((p, budget, priority)),
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
                        Err(_) => break End::Gone,
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
        End::Shutdown => {
            // Calls still running after the grace period are cancelled.
            let finish = async { while tasks.join_next().await.is_some() {} };
            if tokio::time::timeout(limits.shutdown_grace, finish)
                .await
                .is_err()
            {
                tasks.shutdown().await;
            }
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
    connection.inner.dead.send_replace(true);
}

async fn acquire(budget: Option<Arc<Semaphore>>) -> Option<OwnedSemaphorePermit> {
    budget?.acquire_owned().await.ok()
}

async fn next<R: AsyncRead + Unpin>(
    framed: &mut FramedRead<R, PacketCodec>,
) -> Option<Result<Packet, Error>> {
    std::future::poll_fn(|cx| std::pin::Pin::new(&mut *framed).poll_next(cx)).await
}

/// Handles what needs no call task (keepalive, packets a client must not send) and returns a
/// CALL with the budget it must take.
fn admit(
    server: &ServerShared,
    connection: &Connection,
    budgets: &Budgets,
    p: Packet,
) -> Option<(Packet, Arc<Semaphore>, bool)> {
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
            Some((p, budget.clone(), priority))
        }
        MessageType::Message if h.program == keepalive::PROGRAM => {
            if h.procedure == keepalive::PING {
                connection.try_queue(ping_packet(keepalive::PONG), None);
            }
            None
        }
        _ => {
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
        let _admitted = admitted;
        let _running = match running {
            Some(s) => Some(s.acquire_owned().await),
            None => None,
        };
        let mut guard = ReplyGuard {
            connection: connection.clone(),
            call: p.header,
            done: false,
        };
        let reply = call(&server, &connection, &p).await;
        guard.done = true;
        let close = matches!(&reply, Answer::Close(_));
        let (Answer::Reply(r) | Answer::Close(r)) = reply;
        connection.reply(p.header, r).await;
        if close {
            connection.close();
        }
    });
}

enum Answer {
    Reply(Reply),
    /// The reply, after which the connection closes.
    Close(Reply),
}

/// Checks a CALL's header as libvirtd does (program and version, status, procedure) and runs
/// it.
async fn call(server: &ServerShared, connection: &Connection, p: &Packet) -> Answer {
    let h = p.header;
    let Some(dispatcher) = server.program(h.program, h.version) else {
        return Answer::Reply(Err(RemoteError::rpc(&format!(
            "Cannot find program {} version {}",
            h.program as i32, h.version as i32
        ))));
    };
    if h.kind == MessageType::CallWithFds {
        return Answer::Reply(Err(RemoteError::rpc(
            "this server does not accept file descriptors",
        )));
    }
    if h.status != Status::Ok {
        return Answer::Reply(Err(RemoteError::rpc(&format!(
            "Unexpected message status {}",
            h.status as u32
        ))));
    }
    let program = dispatcher.program();
    let Some(procedure) = program.procedure(h.procedure) else {
        return Answer::Reply(Err(unknown_procedure(h.procedure)));
    };
    let cx = Context {
        connection: connection.clone(),
        program,
        procedure,
        serial: h.serial,
        access: server.access.clone(),
        close_after_reply: AtomicBool::new(false),
    };
    let reply = dispatch(&**dispatcher, &cx, &p.body).await;
    if cx.close_after_reply.load(Ordering::Relaxed) {
        Answer::Close(reply)
    } else {
        Answer::Reply(reply)
    }
}

async fn dispatch(d: &dyn Dispatch, cx: &Context, body: &[u8]) -> Reply {
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
    let _ = result;
    connection.inner.dead.send_replace(true);
}
