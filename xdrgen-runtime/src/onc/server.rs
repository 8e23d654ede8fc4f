//! [`Server`]: serves program versions ([`Dispatch`] implementations, usually generated
//! dispatchers) over TCP and UDP, answering what RFC 5531 asks of the server itself:
//! `RPC_MISMATCH` for an `rpcvers` other than 2, `AUTH_BADCRED` for an `AUTH_SYS` credential that
//! does not decode, `PROG_UNAVAIL`, and `PROG_MISMATCH` with the lowest and highest versions
//! served.
//!
//! Each TCP connection has its own task, so a peer that stops in the middle of a record holds
//! up only its own connection; a record over [`Builder::max_record`] closes the connection
//! before it is read. Calls on one connection run concurrently, at most
//! [`Builder::max_in_flight`] at once (the reader waits for a slot: back-pressure, not
//! unbounded queueing).

use std::collections::BTreeMap;
use std::future::poll_fn;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, Semaphore};
use tokio_util::codec::{Encoder, FramedRead};

use super::auth::{Credentials, AUTH_SYS};
use super::dispatch::{CallError, Context, Dispatch, Protocol};
use super::msg::{AcceptStat, AuthStat, Message, RejectStat, ReplyHeader, RPC_VERSION};
use super::record::{RecordCodec, DEFAULT_MAX_RECORD};
use super::udp::MAX_DATAGRAM;
use crate::xdr::{Decoder, Encode, Encoder as XdrEncoder};

/// Builds a [`Server`].
#[derive(Default)]
pub struct Builder {
    programs: BTreeMap<u32, BTreeMap<u32, Arc<dyn Dispatch>>>,
    max_record: Option<usize>,
    max_in_flight: Option<usize>,
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

    /// The server.
    pub fn build(self) -> Server {
        Server {
            inner: Arc::new(Inner {
                programs: self.programs,
                max_record: self.max_record.unwrap_or(DEFAULT_MAX_RECORD),
                max_in_flight: self.max_in_flight.unwrap_or(64),
            }),
        }
    }
}

struct Inner {
    programs: BTreeMap<u32, BTreeMap<u32, Arc<dyn Dispatch>>>,
    max_record: usize,
    max_in_flight: usize,
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

    /// Accepts TCP connections until accepting fails, serving each on its own task.
    pub async fn serve_tcp(&self, listener: TcpListener) -> std::io::Result<()> {
        loop {
            let (stream, peer) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            tokio::spawn(self.clone().connection(stream, peer));
        }
    }

    /// Serves one TCP connection until the peer closes it or breaks record marking.
    pub async fn connection(self, stream: TcpStream, peer: SocketAddr) {
        let (read, mut write) = stream.into_split();
        let mut framed = FramedRead::new(read, RecordCodec::new(self.inner.max_record));
        let slots = Arc::new(Semaphore::new(self.inner.max_in_flight));
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(self.inner.max_in_flight);
        let writer = tokio::spawn(async move {
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
        while let Some(Ok(record)) = poll_fn(|cx| Pin::new(&mut framed).poll_next(cx)).await {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                break;
            };
            let (server, tx) = (self.clone(), tx.clone());
            tokio::spawn(async move {
                if let Some(reply) = server.handle(&record, Some(peer), Protocol::Tcp).await {
                    let _ = tx.send(reply).await;
                }
                drop(slot);
            });
        }
        // Replies of calls still running go out before the writer ends with the last sender.
        drop(tx);
        let _ = writer.await;
    }

    /// Serves calls arriving on a UDP socket until receiving fails; each reply goes back to
    /// its sender in one datagram (results too large for one are answered `SYSTEM_ERR`).
    pub async fn serve_udp(&self, socket: UdpSocket) -> std::io::Result<()> {
        let socket = Arc::new(socket);
        let slots = Arc::new(Semaphore::new(self.inner.max_in_flight));
        let mut buf = vec![0u8; MAX_DATAGRAM + 1];
        loop {
            let (n, peer) = match socket.recv_from(&mut buf).await {
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
