//! One connection's machinery: the routing tables shared by callers, the reader task that owns
//! the read half, and the writer task that owns the write half. The call table, the outgoing
//! queue, the writer and the reader loop are the ones the ONC client uses too (`crate::mux`);
//! streams, events and keepalive are libvirt's own.
//!
//! Callers put an entry in the tables (the call table's for a reply, a channel for a stream)
//! *before* their CALL is queued, then await it. The reader routes each incoming packet:
//! replies and stream packets by serial, events by program, keepalive PINGs answered at once.
//! Packets go out through one bounded queue (an [`Outbox`], which takes each packet whole, a
//! small call encoded straight into it) to the writer task, which takes the whole queue per
//! wakeup, so a caller whose future is dropped mid-call can never leave half a packet on the
//! wire. When either task ends, however it ends, the connection is closed and every waiter
//! fails with the cause (a write error's, or the reader's).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::frame::{Packet, PacketCodec};
use super::header::{Header, MessageType, Status};
use super::keepalive::{self, Keepalive};
use super::Error;
pub(crate) use crate::mux::Outgoing;
use crate::mux::{read_loop, writer, Calls, Cause, End, Outbox, Route, Waiter};

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

/// What a reply is checked against: the call's program, version and procedure.
pub(crate) type Target = (u32, u32, u32);

/// The table of calls waiting for their reply (shared with the ONC client: `crate::mux`).
pub(crate) type CallTable = Calls<Target, Packet, Error>;

/// One call's place in the table; dropping it cancels the call.
pub(crate) type CallWaiter<'a> = Waiter<'a, Target, Packet, Error>;

impl Cause for Error {
    fn vanished() -> Self {
        Error::Closed(None)
    }
}

/// The stream of one call.
struct StreamSlot {
    target: Target,
    tx: StreamTx,
}

/// One event subscriber.
struct Subscription {
    program: u32,
    tx: mpsc::Sender<(u32, Bytes)>,
    dropped: Arc<AtomicU64>,
}

/// What libvirt routes besides replies: streams by serial, events by program.
#[derive(Default)]
struct Side {
    streams: HashMap<u32, StreamSlot>,
    events: Vec<Subscription>,
    /// Set when the connection closes (after the call table, whose cause it shares).
    closed: bool,
}

/// Counters a test or a monitor can read (replies for no call are counted by the call table).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub ignored: AtomicU64,
    pub events_dropped: AtomicU64,
}

/// What the callers and both tasks share.
pub(crate) struct Shared {
    /// Calls waiting for their reply, and the connection's closed state and cause.
    pub calls: CallTable,
    side: Mutex<Side>,
    pub counters: Counters,
}

impl Shared {
    fn side(&self) -> MutexGuard<'_, Side> {
        // A panic while holding the lock cannot leave the table inconsistent (every update is
        // one insert or remove), so a poisoned lock is still usable.
        self.side.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a reply waiter under a new serial (never 0, which events use).
    pub fn register(&self, target: Target) -> Result<CallWaiter<'_>, Error> {
        self.calls.register(target)
    }

    /// Opens the stream of the call registered under `serial`.
    pub fn add_stream(&self, serial: u32, target: Target, tx: StreamTx) -> Result<(), Error> {
        let mut side = self.side();
        if side.closed {
            return Err(self.closed().unwrap_or(Error::Closed(None)));
        }
        side.streams.insert(serial, StreamSlot { target, tx });
        Ok(())
    }

    /// Forgets a stream.
    pub fn forget_stream(&self, serial: u32) {
        self.side().streams.remove(&serial);
    }

    /// Calls waiting for a reply, and open streams.
    pub fn in_flight(&self) -> (usize, usize) {
        (self.calls.in_flight(), self.side().streams.len())
    }

    /// Why the connection is closed, if it is.
    pub fn closed(&self) -> Option<Error> {
        self.calls.closed()
    }

    /// Adds an event subscriber for `program`.
    pub fn subscribe(
        &self,
        program: u32,
        capacity: usize,
    ) -> (mpsc::Receiver<(u32, Bytes)>, Arc<AtomicU64>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        let mut side = self.side();
        side.events.retain(|s| !s.tx.is_closed());
        if !side.closed {
            side.events.push(Subscription {
                program,
                tx,
                dropped: dropped.clone(),
            });
        }
        (rx, dropped)
    }

    /// Marks the connection dead and fails every waiter with `cause`. The first cause wins.
    pub fn close(&self, cause: Error) {
        if !self.calls.close(cause.clone()) {
            return;
        }
        let streams = {
            let mut side = self.side();
            side.closed = true;
            side.events.clear();
            std::mem::take(&mut side.streams)
        };
        for (_, s) in streams {
            s.tx.fail(cause.clone());
        }
    }
}

/// Commands from handles to the reader task.
#[derive(Debug)]
pub(crate) enum Control {
    StartKeepalive(Keepalive),
}

/// The parts a client handle keeps.
pub(crate) struct Parts {
    pub shared: Arc<Shared>,
    pub out: Arc<Outbox>,
    pub control: mpsc::UnboundedSender<Control>,
}

/// Starts the reader and writer tasks on a transport's two halves.
pub(crate) fn start<R, W>(read: R, write: W, max_packet: usize) -> Parts
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    let shared = Arc::new(Shared {
        calls: Calls::new(1, true),
        side: Mutex::new(Side::default()),
        counters: Counters::default(),
    });
    let out = Arc::new(Outbox::default());
    let (control, control_rx) = mpsc::unbounded_channel();
    let closer = shared.clone();
    tokio::spawn(writer(
        out.clone(),
        write,
        shared.calls.closing(),
        move |failed| closer.close(Error::Closed(failed.map(|e| Arc::new(Error::from(e))))),
    ));
    tokio::spawn(reader(
        read,
        PacketCodec::new(max_packet),
        control_rx,
        out.clone(),
        shared.clone(),
    ));
    Parts {
        shared,
        out,
        control,
    }
}

/// The reader's route: replies and stream packets by serial, events by program, keepalive.
struct Router {
    shared: Arc<Shared>,
    out: Arc<Outbox>,
    keepalive: Option<keepalive::State>,
}

impl Route<Packet> for Router {
    type Error = Error;
    type Command = Control;

    fn frame(&mut self, p: Packet) {
        if let Some(k) = &mut self.keepalive {
            k.received();
        }
        route(p, &self.shared, &self.out);
    }

    fn command(&mut self, c: Control) -> Result<(), Error> {
        match c {
            Control::StartKeepalive(cfg) => self.keepalive = Some(keepalive::State::new(cfg)),
        }
        Ok(())
    }

    fn deadline(&self) -> Option<Instant> {
        self.keepalive.as_ref().map(|k| k.deadline)
    }

    fn tick(&mut self) -> Result<(), Error> {
        if let Some(k) = &mut self.keepalive {
            k.tick()?;
            // A full queue means the peer is not reading: the missing PONG will tell.
            self.out.try_push(keepalive::packet(keepalive::PING));
        }
        Ok(())
    }
}

async fn reader<R: AsyncRead + Unpin>(
    read: R,
    codec: PacketCodec,
    control: mpsc::UnboundedReceiver<Control>,
    out: Arc<Outbox>,
    shared: Arc<Shared>,
) {
    let mut router = Router {
        shared: shared.clone(),
        out,
        keepalive: None,
    };
    let closing = shared.calls.closing();
    let cause = match read_loop(read, codec, Some(control), closing, &mut router).await {
        End::Eof => Error::protocol("the peer closed the connection"),
        End::Frame(e) | End::Route(e) => e,
        // Closed elsewhere (the writer failed, a handle closed it): stop reading.
        End::Closed => Error::Closed(None),
    };
    let cause = match cause {
        Error::Closed(c) => Error::Closed(c),
        other => Error::Closed(Some(Arc::new(other))),
    };
    shared.close(cause);
}

/// Sends one incoming packet where it belongs.
fn route(p: Packet, shared: &Shared, out: &Outbox) {
    let h = p.header;
    match h.kind {
        MessageType::Reply | MessageType::ReplyWithFds => {
            // No waiter: a cancelled call's late reply, or a peer's mistake. Dropped either
            // way (and counted).
            shared
                .calls
                .complete(h.serial, |target| check_reply(p, target));
        }
        MessageType::Message if h.program == keepalive::PROGRAM => {
            if h.procedure == keepalive::PING {
                out.try_push(keepalive::packet(keepalive::PONG));
            }
        }
        MessageType::Message => deliver_event(shared, h, p.body),
        MessageType::Stream | MessageType::StreamHole => {
            let tx = {
                let side = shared.side();
                match side.streams.get(&h.serial) {
                    Some(s) if s.target == (h.program, h.version, h.procedure) => {
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
                    out.try_push(Outgoing {
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

/// A reply for the call to `target`, or why it does not answer that call.
fn check_reply(p: Packet, (program, version, procedure): Target) -> Result<Packet, Error> {
    let h = &p.header;
    if (h.program, h.version, h.procedure) != (program, version, procedure) {
        Err(Error::protocol(format!(
            "reply to serial {} is for program {:#x} version {} procedure {}, \
             but the call was to program {:#x} version {} procedure {}",
            h.serial, h.program, h.version, h.procedure, program, version, procedure
        )))
    } else if h.kind == MessageType::ReplyWithFds {
        Err(Error::protocol(
            "reply passes file descriptors, which this client does not support",
        ))
    } else if h.status == Status::Continue {
        Err(Error::protocol("reply with status CONTINUE"))
    } else {
        Ok(p)
    }
}

/// Hands an event to every subscriber of its program without ever waiting: a full queue drops
/// the event for that subscriber and counts it.
fn deliver_event(shared: &Shared, h: Header, body: Bytes) {
    let mut side = shared.side();
    side.events.retain(|s| !s.tx.is_closed());
    let mut delivered = false;
    for s in side.events.iter().filter(|s| s.program == h.program) {
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
