//! [`Server`]: serves program versions ([`Dispatch`] implementations, usually generated
//! dispatchers) over TCP and UDP, answering what RFC 5531 asks of the server itself:
//! `RPC_MISMATCH` for an `rpcvers` other than 2, `AUTH_BADCRED` for an `AUTH_SYS` credential that
//! does not decode, `PROG_UNAVAIL`, and `PROG_MISMATCH` with the lowest and highest versions
//! served.
//!
//! Each TCP connection has its own task, so a peer that stops in the middle of a record holds
//! up only its own connection, and only for a while: a record must arrive whole within
//! [`Builder::record_timeout`] of its first byte (a peer idle between records is kept). A record
//! over [`Builder::max_record`] closes the connection before it is read. Calls on one
//! connection run concurrently, at most [`Builder::max_in_flight`] at once (the reader waits
//! for a slot: back-pressure, not unbounded queueing).
//!
//! [`Server::shutdown`] stops the accept loops and the UDP receive loops; each connection stops
//! reading, lets the calls it has running finish and their replies go out, then closes. What is
//! still running after [`Builder::shutdown_grace`] is cancelled; [`Server::closed`] waits for
//! all of it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::codec::{Encoder, FramedRead};

use super::auth::{Credentials, AUTH_SYS};
use super::dispatch::{CallError, Context, Dispatch, Protocol};
use super::msg::{AcceptStat, AuthStat, Message, RejectStat, ReplyHeader, RPC_VERSION};
use super::record::{RecordCodec, DEFAULT_MAX_RECORD};
use super::udp::MAX_DATAGRAM;
use crate::lifecycle::{stopped, Lifecycle};
use crate::mux::next_frame;
use crate::partial::Partial;
use crate::xdr::{Decoder, Encode, Encoder as XdrEncoder};

/// The default [`Builder::record_timeout`]: 60 s, libvirt's server's `packet_timeout`.
const DEFAULT_RECORD_TIMEOUT: Duration = Duration::from_secs(60);

/// The default [`Builder::shutdown_grace`]: 10 s, as libvirt's server.
const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Builds a [`Server`].
#[derive(Default)]
pub struct Builder {
    programs: BTreeMap<u32, BTreeMap<u32, Arc<dyn Dispatch>>>,
    max_record: Option<usize>,
    max_in_flight: Option<usize>,
    record_timeout: Option<Duration>,
    shutdown_grace: Option<Duration>,
}

impl Builder {
    /// Serves a program version (a later one for the same program and version replaces it).
    pub fn program(mut self, dispatch: impl Dispatch) -> Self {
        let info = dispatch.program();
        self.programs
            .entry(info.number)
            .or_default()
            .insert(info.version, Arc::new(dispatch));
        self
    }

    /// The largest call record accepted over TCP (default 4 MiB).
    pub fn max_record(mut self, max: usize) -> Self {
        self.max_record = Some(max);
        self
    }

    /// The most calls of one TCP connection (or of the UDP socket) running at once
    /// (default 64).
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = Some(n.max(1));
        self
    }

    /// How long a TCP record may take to arrive whole once its first byte has (default
    /// 60 s, libvirt's server's; at least 1 ms): a peer that sends part of a record and goes
    /// silent, or trickles it, is closed after between one and two of these. A connection
    /// idle between records stays open.
    pub fn record_timeout(mut self, timeout: Duration) -> Self {
        self.record_timeout = Some(timeout);
        self
    }

    /// How long calls running at [`Server::shutdown`] may take to finish, and then their
    /// replies to be written (default 10 s each); what is left is cancelled.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = Some(grace);
        self
    }

    /// The server.
    pub fn build(self) -> Server {
        Server {
            inner: Arc::new(Inner {
                programs: self.programs,
                max_record: self.max_record.unwrap_or(DEFAULT_MAX_RECORD),
                max_in_flight: self.max_in_flight.unwrap_or(64),
                record_timeout: self.record_timeout.unwrap_or(DEFAULT_RECORD_TIMEOUT),
                shutdown_grace: self.shutdown_grace.unwrap_or(DEFAULT_SHUTDOWN_GRACE),
                lifecycle: Lifecycle::new(),
            }),
        }
    }
}

struct Inner {
    programs: BTreeMap<u32, BTreeMap<u32, Arc<dyn Dispatch>>>,
    max_record: usize,
    max_in_flight: usize,
    record_timeout: Duration,
    shutdown_grace: Duration,
    /// [`Server::shutdown`]'s signal; counts the TCP connections and UDP sockets served.
    lifecycle: Lifecycle,
}

/// Counts one connection or socket as served while it lives.
struct Live(Arc<Inner>);

impl Live {
    fn new(inner: &Arc<Inner>) -> Self {
        inner.lifecycle.enter();
        Live(inner.clone())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.lifecycle.leave();
    }
}

/// How a connection's reader stopped.
enum End {
    /// The peer closed its side: the calls it sent still get their replies.
    Eof,
    /// Server shutdown: the calls running get the grace period.
    Stopping,
    /// Broken record marking, a read error or a stalled record: close at once.
    Broken,
}

/// An ONC RPC server: cheap to clone, serving the same programs on any number of listeners
/// and sockets.
#[derive(Clone)]
pub struct Server {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("programs", &self.programs())
            .finish()
    }
}

impl Server {
    /// A builder.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Stops the server: [`serve_tcp`](Server::serve_tcp) and
    /// [`serve_udp`](Server::serve_udp) return (dropping the listener, so new connections are
    /// refused), and every connection stops reading, lets the calls it has running finish
    /// within [`Builder::shutdown_grace`] (then cancels them), writes their replies and closes.
    pub fn shutdown(&self) {
        self.inner.lifecycle.shutdown();
    }

    /// TCP connections and UDP sockets being served.
    pub fn connections(&self) -> usize {
        self.inner.lifecycle.live()
    }

    /// Waits until no TCP connection or UDP socket is served (after
    /// [`shutdown`](Server::shutdown), until everything has closed).
    pub async fn closed(&self) {
        self.inner.lifecycle.closed().await
    }

    /// Every (program, version) served.
    pub fn programs(&self) -> Vec<(u32, u32)> {
        self.inner
            .programs
            .iter()
            .flat_map(|(p, vs)| vs.keys().map(move |v| (*p, *v)))
            .collect()
    }

    /// Answers one call message: the reply message to send, or `None` for a message that
    /// gets none (a REPLY, or a header that does not decode: without a sound header there is
    /// no call to answer, as in libtirpc). The dispatcher decodes the arguments from
    /// `message`'s buffer, without copying their opaque data.
    pub async fn handle(
        &self,
        message: &Bytes,
        peer: Option<SocketAddr>,
        protocol: Protocol,
    ) -> Option<Vec<u8>> {
        let mut input = Decoder::new(message);
        let Ok(Message::Call(call)) = Message::decode_from(&mut input) else {
            return None;
        };
        let xid = call.xid;
        let accepted = |stat| ReplyHeader::accepted(xid, stat);
        if call.rpcvers != RPC_VERSION {
            let stat = RejectStat::RpcMismatch {
                low: RPC_VERSION,
                high: RPC_VERSION,
            };
            return reply(ReplyHeader::denied(xid, stat), &[]);
        }
        let credentials = Credentials::from_opaque(&call.cred);
        if matches!(&credentials, Credentials::Other(a) if a.flavor == AUTH_SYS) {
            let stat = RejectStat::AuthError(AuthStat::BadCred);
            return reply(ReplyHeader::denied(xid, stat), &[]);
        }
        let Some(versions) = self.inner.programs.get(&call.program) else {
            return reply(accepted(AcceptStat::ProgUnavail), &[]);
        };
        let Some(dispatch) = versions.get(&call.version) else {
            let low = versions.keys().next().copied().unwrap_or_default();
            let high = versions.keys().next_back().copied().unwrap_or_default();
            return reply(accepted(AcceptStat::ProgMismatch { low, high }), &[]);
        };
        let cx = Context {
            xid,
            program: dispatch.program(),
            procedure: call.procedure,
            credentials,
            peer,
            protocol,
        };
        let args = message.slice(input.position()..);
        match dispatch.dispatch(&cx, &args).await {
            Ok(results) => reply(accepted(AcceptStat::Success), &results),
            Err(CallError::ProcUnavail) => reply(accepted(AcceptStat::ProcUnavail), &[]),
            Err(CallError::GarbageArgs) => reply(accepted(AcceptStat::GarbageArgs), &[]),
            Err(CallError::SystemErr) => reply(accepted(AcceptStat::SystemErr), &[]),
            Err(CallError::Auth(a)) => {
                reply(ReplyHeader::denied(xid, RejectStat::AuthError(a)), &[])
            }
        }
    }

    /// Accepts TCP connections until accepting fails or [`shutdown`](Server::shutdown),
    /// serving each on its own task. The listener is dropped on return, so later connections
    /// are refused by the system.
    pub async fn serve_tcp(&self, listener: TcpListener) -> std::io::Result<()> {
        let mut stop = self.inner.lifecycle.subscribe();
        loop {
            let (stream, peer) = tokio::select! {
                r = listener.accept() => r?,
                _ = stopped(&mut stop) => return Ok(()),
            };
            let _ = stream.set_nodelay(true);
            // Counted before the task starts, so that `closed` cannot miss it.
            let live = Live::new(&self.inner);
            tokio::spawn(self.clone().serve_stream(stream, peer, live));
        }
    }

    /// Serves one TCP connection until the peer closes it, breaks record marking, stalls in
    /// the middle of a record or the server shuts down.
    pub async fn connection(self, stream: TcpStream, peer: SocketAddr) {
        let live = Live::new(&self.inner);
        self.serve_stream(stream, peer, live).await
    }

    async fn serve_stream(self, stream: TcpStream, peer: SocketAddr, _live: Live) {
        let (read, mut write) = stream.into_split();
        let mut framed = FramedRead::new(read, RecordCodec::new(self.inner.max_record));
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(self.inner.max_in_flight);
        let mut writer = tokio::spawn(async move {
            let mut codec = RecordCodec::new(usize::MAX);
            let mut buf = BytesMut::new();
            while let Some(reply) = rx.recv().await {
                buf.clear();
                if codec.encode(&reply[..], &mut buf).is_err()
                    || write.write_all(&buf).await.is_err()
                {
                    return;
                }
            }
        });
        let mut calls = JoinSet::new();
        let end = self.read_calls(&mut framed, peer, &tx, &mut calls).await;
        // The read half goes now: a stalled or broken peer, or one that must stop sending.
        drop(framed);
        let grace = self.inner.shutdown_grace;
        if let End::Broken = end {
            calls.shutdown().await;
            writer.abort();
            return;
        }
        let mut stop = self.inner.lifecycle.subscribe();
        let mut deadline = matches!(end, End::Stopping).then(|| Instant::now() + grace);
        let far = || Instant::now() + Duration::from_secs(86400 * 365);
        loop {
            tokio::select! {
                next = calls.join_next() => if next.is_none() { break },
                _ = stopped(&mut stop), if deadline.is_none() => {
                    deadline = Some(Instant::now() + grace);
                }
                _ = tokio::time::sleep_until(deadline.unwrap_or_else(far)), if deadline.is_some() => {
                    calls.shutdown().await;
                    break;
                }
            }
        }
        // Replies of the calls that finished go out before the writer ends with the last
        // sender; a peer that does not read them gets the grace period.
        drop(tx);
        if tokio::time::timeout(grace, &mut writer).await.is_err() {
            writer.abort();
        }
    }

    /// Reads records and starts a call task for each until the connection or the server
    /// stops.
    async fn read_calls(
        &self,
        framed: &mut FramedRead<OwnedReadHalf, RecordCodec>,
        peer: SocketAddr,
        tx: &mpsc::Sender<Vec<u8>>,
        calls: &mut JoinSet<()>,
    ) -> End {
        let slots = Arc::new(Semaphore::new(self.inner.max_in_flight));
        let mut stop = self.inner.lifecycle.subscribe();
        let mut partial = Partial::new(self.inner.record_timeout);
        let mut received: u64 = 0;
        loop {
            let record = tokio::select! {
                _ = stopped(&mut stop) => return End::Stopping,
                Some(_) = calls.join_next(), if !calls.is_empty() => continue,
                _ = tokio::time::sleep_until(partial.check_at) => {
                    let held = !framed.read_buffer().is_empty() || framed.decoder().in_record();
                    if partial.stalled(held, received) {
                        return End::Broken;
                    }
                    continue;
                }
                record = next_frame(framed) => record,
            };
            let record = match record {
                Some(Ok(record)) => record,
                None => return End::Eof,
                Some(Err(_)) => return End::Broken,
            };
            received += 1;
            // Back-pressure: no reading while every slot is taken, so no record is timed.
            let slot = tokio::select! {
                slot = slots.clone().acquire_owned() => slot,
                _ = stopped(&mut stop) => return End::Stopping,
            };
            let Ok(slot) = slot else {
                return End::Broken;
            };
            partial.reset();
            let (server, tx) = (self.clone(), tx.clone());
            calls.spawn(async move {
                if let Some(reply) = server.handle(&record, Some(peer), Protocol::Tcp).await {
                    let _ = tx.send(reply).await;
                }
                drop(slot);
            });
        }
    }

    /// Serves calls arriving on a UDP socket until receiving fails or
    /// [`shutdown`](Server::shutdown) (the calls running then get the grace period); each reply
    /// goes back to its sender in one datagram (results too large for one are answered
    /// `SYSTEM_ERR`).
    pub async fn serve_udp(&self, socket: UdpSocket) -> std::io::Result<()> {
        let _live = Live::new(&self.inner);
        let socket = Arc::new(socket);
        let max = self.inner.max_in_flight;
        let slots = Arc::new(Semaphore::new(max));
        let mut stop = self.inner.lifecycle.subscribe();
        let mut buf = vec![0u8; MAX_DATAGRAM + 1];
        loop {
            let received = tokio::select! {
                r = socket.recv_from(&mut buf) => r,
                _ = stopped(&mut stop) => {
                    // Every slot back: the calls running have finished (or the grace passed,
                    // and they go on detached, their socket closing after them).
                    let all = slots.acquire_many(max as u32);
                    let _ = tokio::time::timeout(self.inner.shutdown_grace, all).await;
                    return Ok(());
                }
            };
            let (n, peer) = match received {
                Ok(r) => r,
                // An ICMP error for an earlier reply's destination: not this socket's fault.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => continue,
                Err(e) => return Err(e),
            };
            let message = Bytes::copy_from_slice(&buf[..n]);
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return Ok(());
            };
            let (server, socket) = (self.clone(), socket.clone());
            tokio::spawn(async move {
                if let Some(mut reply) = server.handle(&message, Some(peer), Protocol::Udp).await {
                    if reply.len() > MAX_DATAGRAM {
                        // Results too large for a datagram: the caller learns why, as from
                        // libtirpc (which answers SYSTEM_ERR when svc_sendreply fails).
                        let Some(&[a, b, c, d]) = reply.get(..4) else {
                            return;
                        };
                        let xid = u32::from_be_bytes([a, b, c, d]);
                        match self::reply(ReplyHeader::accepted(xid, AcceptStat::SystemErr), &[]) {
                            Some(r) => reply = r,
                            None => return,
                        }
                    }
                    let _ = socket.send_to(&reply, peer).await;
                }
                drop(slot);
            });
        }
    }
}

/// A reply message: header then results.
fn reply(header: ReplyHeader, results: &[u8]) -> Option<Vec<u8>> {
    let header = Message::Reply(header);
    let mut out = XdrEncoder::with_capacity(header.encoded_len() + results.len());
    // A reply header has no bounded fields that could fail to encode.
    header.encode(&mut out).ok()?;
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(results);
    Some(bytes)
}
