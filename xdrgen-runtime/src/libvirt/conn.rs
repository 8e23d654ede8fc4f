//! One connection's machinery: the routing table shared by callers, the reader task that owns
//! the read half, and the writer task that owns the write half.
//!
//! Callers put an entry in the table (a `oneshot` for a reply, a channel for a stream) *before*
//! their CALL is queued, then await it. The reader routes each incoming packet: replies and
//! stream packets by serial, events by program, keepalive PINGs answered at once. Packets go out
//! through one bounded channel to the writer task, which writes each packet whole, so a caller
//! whose future is dropped mid-call can never leave half a packet on the wire. When either task
//! ends, the connection is closed and every waiter fails with the cause.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::codec::FramedRead;

use super::frame::{Packet, PacketCodec};
use super::header::{Header, MessageType, Status};
use super::keepalive::{self, Keepalive};
use super::Error;

/// A packet to write: a head (length word, header and maybe an XDR payload) and raw data that
/// follows it unchanged (stream data, so that it is never copied into the head).
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub head: Bytes,
    pub data: Option<Bytes>,
}

/// What the stream side of a call receives.
#[derive(Debug)]
pub(crate) enum StreamMsg {
    Data(Bytes),
    Hole(Bytes),
    /// The peer's STREAM OK: end of data, or the confirmation of our finish.
    End,
    Failed(Error),
}

/// The sending side of a stream's queue, held by the reader: never waits. Queued data is
/// counted in bytes; past the stream's budget the stream fails instead of the reader waiting
/// (a waiting reader would stop answering PINGs and routing replies for the whole connection).
#[derive(Debug, Clone)]
pub(crate) struct StreamTx {
    tx: mpsc::UnboundedSender<StreamMsg>,
    queued: Arc<AtomicUsize>,
    budget: usize,
}

/// The receiving side of a stream's queue, held by a `ReadStream` or `WriteStream`.
#[derive(Debug)]
pub(crate) struct StreamRx {
    rx: mpsc::UnboundedReceiver<StreamMsg>,
    queued: Arc<AtomicUsize>,
}

/// A stream queue holding at most `budget` bytes of data not yet read.
pub(crate) fn stream_channel(budget: usize) -> (StreamTx, StreamRx) {
    let (tx, rx) = mpsc::unbounded_channel();
    let queued = Arc::new(AtomicUsize::new(0));
    (
        StreamTx {
            tx,
            queued: queued.clone(),
            budget,
        },
        StreamRx { rx, queued },
    )
}

/// Why a stream message was not queued.
enum Refused {
    /// Over the stream's byte budget: its reader fell behind.
    Full,
    /// The receiver is gone.
    Closed,
}

impl StreamTx {
    fn push(&self, msg: StreamMsg) -> Result<(), Refused> {
        let n = match &msg {
            StreamMsg::Data(b) | StreamMsg::Hole(b) => b.len(),
            _ => 0,
        };
        if n > 0 && self.queued.load(Ordering::Relaxed) + n > self.budget {
            return Err(Refused::Full);
        }
        self.queued.fetch_add(n, Ordering::Relaxed);
        self.tx.send(msg).map_err(|_| Refused::Closed)
    }

    /// Delivers a final message whatever the budget.
    fn fail(&self, e: Error) {
        let _ = self.tx.send(StreamMsg::Failed(e));
    }
}

impl StreamRx {
    pub fn poll_recv(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<StreamMsg>> {
        let r = self.rx.poll_recv(cx);
        if let std::task::Poll::Ready(Some(StreamMsg::Data(b) | StreamMsg::Hole(b))) = &r {
            self.queued.fetch_sub(b.len(), Ordering::Relaxed);
        }
        r
    }
}

/// The reply waiter of one call.
struct Pending {
    program: u32,
    version: u32,
    procedure: u32,
    tx: oneshot::Sender<Result<Packet, Error>>,
}

/// The stream of one call.
struct StreamSlot {
    program: u32,
    version: u32,
    procedure: u32,
    tx: StreamTx,
}

/// One event subscriber.
struct Subscription {
    program: u32,
    tx: mpsc::Sender<(u32, Bytes)>,
    dropped: Arc<AtomicU64>,
}

#[derive(Default)]
struct Table {
    pending: HashMap<u32, Pending>,
    streams: HashMap<u32, StreamSlot>,
    events: Vec<Subscription>,
    /// Set once the connection is dead: what every later caller gets.
    closed: Option<Error>,
}

/// Counters a test or a monitor can read.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub unknown_serial: AtomicU64,
    pub ignored: AtomicU64,
    pub events_dropped: AtomicU64,
}

/// What the callers and both tasks share.
pub(crate) struct Shared {
    table: Mutex<Table>,
    serial: AtomicU32,
    pub counters: Counters,
    /// Turns true when the connection closes, to stop the writer.
    pub(crate) closing: tokio::sync::watch::Sender<bool>,
}

impl Shared {
    fn table(&self) -> MutexGuard<'_, Table> {
        // A panic while holding the lock cannot leave the table inconsistent (every update is
        // one insert or remove), so a poisoned lock is still usable.
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next call serial (never 0, which events use).
    pub fn next_serial(&self) -> u32 {
        loop {
            let s = self.serial.fetch_add(1, Ordering::Relaxed);
            if s != 0 {
                return s;
            }
        }
    }

    /// Registers a reply waiter (and a stream, if given) for `serial`.
    pub fn register(
        &self,
        header: &Header,
        stream: Option<StreamTx>,
    ) -> Result<oneshot::Receiver<Result<Packet, Error>>, Error> {
        let (tx, rx) = oneshot::channel();
        let mut t = self.table();
        if let Some(e) = &t.closed {
            return Err(e.clone());
        }
        t.pending.insert(
            header.serial,
            Pending {
                program: header.program,
                version: header.version,
                procedure: header.procedure,
                tx,
            },
        );
        if let Some(tx) = stream {
            t.streams.insert(
                header.serial,
                StreamSlot {
                    program: header.program,
                    version: header.version,
                    procedure: header.procedure,
                    tx,
                },
            );
        }
        Ok(rx)
    }

    /// Forgets a call's reply waiter (a cancelled or finished call).
    pub fn forget_call(&self, serial: u32) {
        self.table().pending.remove(&serial);
    }

    /// Forgets a stream.
    pub fn forget_stream(&self, serial: u32) {
        self.table().streams.remove(&serial);
    }

    /// Calls waiting for a reply, and open streams.
    pub fn in_flight(&self) -> (usize, usize) {
        let t = self.table();
        (t.pending.len(), t.streams.len())
    }

    /// Why the connection is closed, if it is.
    pub fn closed(&self) -> Option<Error> {
        self.table().closed.clone()
    }

    /// Adds an event subscriber for `program`.
    pub fn subscribe(
        &self,
        program: u32,
        capacity: usize,
    ) -> (mpsc::Receiver<(u32, Bytes)>, Arc<AtomicU64>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        let mut t = self.table();
        t.events.retain(|s| !s.tx.is_closed());
        if t.closed.is_none() {
            t.events.push(Subscription {
                program,
                tx,
                dropped: dropped.clone(),
            });
        }
        (rx, dropped)
    }

    /// Marks the connection dead and fails every waiter with `cause`. The first cause wins.
    pub fn close(&self, cause: Error) {
        let (pending, streams) = {
            let mut t = self.table();
            if t.closed.is_some() {
                return;
            }
            t.closed = Some(cause.clone());
            t.events.clear();
            self.closing.send_replace(true);
            (
                std::mem::take(&mut t.pending),
                std::mem::take(&mut t.streams),
            )
        };
        for (_, p) in pending {
            let _ = p.tx.send(Err(cause.clone()));
        }
        for (_, s) in streams {
            s.tx.fail(cause.clone());
        }
    }
}

/// Commands from handles to the reader task.
#[derive(Debug)]
pub(crate) enum Control {
    StartKeepalive(Keepalive),
    Close,
}

/// The parts a client handle keeps.
pub(crate) struct Parts {
    pub shared: Arc<Shared>,
    pub out: mpsc::Sender<Outgoing>,
    pub control: mpsc::UnboundedSender<Control>,
}

/// Packets queued for the writer before callers wait.
const OUT_QUEUE: usize = 256;

/// Starts the reader and writer tasks on a transport's two halves.
pub(crate) fn start<R, W>(read: R, write: W, max_packet: usize) -> Parts
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    let shared = Arc::new(Shared {
        table: Mutex::new(Table::default()),
        serial: AtomicU32::new(1),
        counters: Counters::default(),
        closing: tokio::sync::watch::channel(false).0,
    });
    let (out, out_rx) = mpsc::channel(OUT_QUEUE);
    let (control, control_rx) = mpsc::unbounded_channel();
    let framed = FramedRead::new(read, PacketCodec::new(max_packet));
    tokio::spawn(writer(out_rx, write, shared.clone()));
    tokio::spawn(reader(framed, control_rx, out.clone(), shared.clone()));
    Parts {
        shared,
        out,
        control,
    }
}

async fn writer<W: AsyncWrite + Unpin>(
    mut rx: mpsc::Receiver<Outgoing>,
    write: W,
    shared: Arc<Shared>,
) {
    let mut w = BufWriter::with_capacity(64 * 1024, write);
    let mut closing = shared.closing.subscribe();
    let result: std::io::Result<()> = async {
        loop {
            let first = tokio::select! {
                p = rx.recv() => match p {
                    Some(p) => p,
                    None => break,
                },
                // The connection died (or was closed): stop writing and drop the transport.
                _ = closing.wait_for(|c| *c) => return Ok(()),
            };
            // Write everything queued, then flush once: small calls share a syscall. A peer
            // that stops reading blocks the write: closing (keepalive, `close`) ends it.
            let batch = async {
                let mut next = Some(first);
                while let Some(p) = next {
                    w.write_all(&p.head).await?;
                    if let Some(data) = &p.data {
                        w.write_all(data).await?;
                    }
                    next = rx.try_recv().ok();
                }
                w.flush().await
            };
            tokio::select! {
                r = batch => r?,
                _ = closing.wait_for(|c| *c) => return Ok(()),
            }
        }
        w.shutdown().await
    }
    .await;
    if let Err(e) = result {
        shared.close(Error::Closed(Some(Arc::new(Error::from(e)))));
    }
}

async fn reader<R: AsyncRead + Unpin>(
    mut framed: FramedRead<R, PacketCodec>,
    mut control: mpsc::UnboundedReceiver<Control>,
    out: mpsc::Sender<Outgoing>,
    shared: Arc<Shared>,
) {
    let mut ka: Option<keepalive::State> = None;
    let mut closing = shared.closing.subscribe();
    let far = || Instant::now() + Duration::from_secs(86400 * 365);
    let cause = loop {
        let deadline = ka.as_ref().map_or_else(far, |k| k.deadline);
        tokio::select! {
            packet = next(&mut framed) => match packet {
                None => break Error::protocol("the peer closed the connection"),
                Some(Err(e)) => break e,
                Some(Ok(p)) => {
                    if let Some(k) = &mut ka {
                        k.received();
                    }
                    route(p, &shared, &out);
                }
            },
            // Closed elsewhere (the writer failed): stop reading.
            _ = closing.wait_for(|c| *c) => break Error::Closed(None),
            c = control.recv() => match c {
                Some(Control::StartKeepalive(cfg)) => ka = Some(keepalive::State::new(cfg)),
                Some(Control::Close) | None => break Error::Closed(None),
            },
            _ = tokio::time::sleep_until(deadline) => {
                if let Some(k) = &mut ka {
                    match k.tick() {
                        Ok(()) => {
                            // A full queue means the peer is not reading: the missing PONG will
                            // tell.
                            let _ = out.try_send(keepalive::packet(keepalive::PING));
                        }
                        Err(e) => break e,
                    }
                }
            }
        }
    };
    let cause = match cause {
        Error::Closed(c) => Error::Closed(c),
        other => Error::Closed(Some(Arc::new(other))),
    };
    shared.close(cause);
}

async fn next<R: AsyncRead + Unpin>(
    framed: &mut FramedRead<R, PacketCodec>,
) -> Option<Result<Packet, Error>> {
    std::future::poll_fn(|cx| std::pin::Pin::new(&mut *framed).poll_next(cx)).await
}

/// Sends one incoming packet where it belongs.
fn route(p: Packet, shared: &Shared, out: &mpsc::Sender<Outgoing>) {
    let h = p.header;
    match h.kind {
        MessageType::Reply | MessageType::ReplyWithFds => {
            let Some(pending) = shared.table().pending.remove(&h.serial) else {
                // A cancelled call's late reply, or a peer's mistake: dropped either way.
                shared
                    .counters
                    .unknown_serial
                    .fetch_add(1, Ordering::Relaxed);
                return;
            };
            let result = if (h.program, h.version, h.procedure)
                != (pending.program, pending.version, pending.procedure)
            {
                Err(Error::protocol(format!(
                    "reply to serial {} is for program {:#x} version {} procedure {}, \
                     but the call was to program {:#x} version {} procedure {}",
                    h.serial,
                    h.program,
                    h.version,
                    h.procedure,
                    pending.program,
                    pending.version,
                    pending.procedure
                )))
            } else if h.kind == MessageType::ReplyWithFds {
                Err(Error::protocol(
                    "reply passes file descriptors, which this client does not support",
                ))
            } else if h.status == Status::Continue {
                Err(Error::protocol("reply with status CONTINUE"))
            } else {
                Ok(p)
            };
            let _ = pending.tx.send(result);
        }
        MessageType::Message if h.program == keepalive::PROGRAM => {
            if h.procedure == keepalive::PING {
                let _ = out.try_send(keepalive::packet(keepalive::PONG));
            }
        }
        MessageType::Message => deliver_event(shared, h, p.body),
        MessageType::Stream | MessageType::StreamHole => {
            let tx = {
                let t = shared.table();
                match t.streams.get(&h.serial) {
                    Some(s)
                        if (s.program, s.version, s.procedure)
                            == (h.program, h.version, h.procedure) =>
                    {
                        Some(s.tx.clone())
                    }
                    _ => None,
                }
            };
            let Some(tx) = tx else {
                shared.counters.ignored.fetch_add(1, Ordering::Relaxed);
                return;
            };
            let msg = match (h.kind, h.status) {
                (MessageType::StreamHole, _) => StreamMsg::Hole(p.body),
                (_, Status::Continue) => StreamMsg::Data(p.body),
                (_, Status::Ok) => StreamMsg::End,
                (_, Status::Error) => StreamMsg::Failed(remote_error(&p.body)),
            };
            // A finished stream keeps its slot until its owner forgets it: the end of a write
            // stream is the confirmation that `finish` waits for.
            match tx.push(msg) {
                Ok(()) => {}
                Err(Refused::Closed) => shared.forget_stream(h.serial),
                Err(Refused::Full) => {
                    // Its reader fell behind by the whole budget: abort the stream on the
                    // server and tell the reader, rather than stall the connection.
                    shared.forget_stream(h.serial);
                    tx.fail(Error::protocol(format!(
                        "stream data not read in time: over the {}-byte stream buffer",
                        tx.budget
                    )));
                    let abort = Header {
                        kind: MessageType::Stream,
                        status: Status::Error,
                        ..h
                    };
                    let _ = out.try_send(Outgoing {
                        head: super::frame::raw_head(&abort, 0),
                        data: None,
                    });
                }
            }
        }
        MessageType::Call | MessageType::CallWithFds => {
            shared.counters.ignored.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Hands an event to every subscriber of its program without ever waiting: a full queue drops
/// the event for that subscriber and counts it.
fn deliver_event(shared: &Shared, h: Header, body: Bytes) {
    let mut t = shared.table();
    t.events.retain(|s| !s.tx.is_closed());
    let mut delivered = false;
    for s in t.events.iter().filter(|s| s.program == h.program) {
        delivered = true;
        if s.tx.try_send((h.procedure, body.clone())).is_err() {
            s.dropped.fetch_add(1, Ordering::Relaxed);
            shared
                .counters
                .events_dropped
                .fetch_add(1, Ordering::Relaxed);
        }
    }
    if !delivered {
        shared.counters.ignored.fetch_add(1, Ordering::Relaxed);
    }
}

/// The error a STREAM ERROR or REPLY ERROR packet carries.
pub(crate) fn remote_error(body: &[u8]) -> Error {
    match super::RemoteError::decode(body) {
        Ok(e) => Error::Remote(Box::new(e)),
        Err(e) => Error::protocol(format!("undecodable error payload: {e}")),
    }
}
