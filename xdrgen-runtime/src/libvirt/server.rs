//! A libvirt RPC server: accept loops on unix sockets and TCP, one task pair per connection,
//! and the programs it serves (generated dispatchers such as `RemoteDispatcher<T>`).
//!
//! ```no_run
//! # async fn demo(dispatcher: impl xdrgen_runtime::libvirt::server::Dispatch) -> std::io::Result<()> {
//! use xdrgen_runtime::libvirt::server::Server;
//!
//! let server = Server::builder()
//!     .program(dispatcher)
//!     .access(|cx| {
//!         // Deny what a read-only client must not do, from the procedure's @acl lines.
//!         let _ = cx.procedure().acl;
//!         Ok(())
//!     })
//!     .build();
//! let listener = tokio::net::UnixListener::bind("/tmp/demo-sock")?;
//! server.serve_unix(listener).await
//! # }
//! ```
//!
//! Every header is checked as libvirtd checks it: a length word over the maximum or an
//! undecodable header closes the connection without an answer; a CALL to an unknown program,
//! version or procedure, with a status other than OK, or whose arguments do not decode gets
//! libvirt's error reply and the connection goes on; REPLY and MESSAGE packets from a client,
//! and STREAM packets for no open stream, are dropped. See the connection module docs for the
//! per-client limits, and [`SendData`] / [`ReceiveData`] for streams.
//!
//! A connection's state ([`Connection::set_state`]) is dropped when it closes, and
//! [`Connection::closed`] / [`Connection::error`] tell handlers that kept a connection when and
//! why. Not supported: file descriptor passing (a `CALL_WITH_FDS` gets libvirt's error reply),
//! TLS and SASL (serve a TLS stream through [`Server::serve_connection`]).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};

use super::header::MESSAGE_MAX;
use super::keepalive::Keepalive;
pub use super::server_conn::{Connection, SendError};
pub use super::server_dispatch::{
    fallback, not_supported, serve, serve_receive, serve_send, AccessHook, BoxFuture, Context,
    Dispatch, Reply,
};
pub use super::server_stream::{ReceiveData, SendData, StreamSink, StreamSource};
use super::RemoteError;
use crate::lifecycle::{stopped, Lifecycle};

/// Who is on the other end of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Peer {
    /// A unix socket client, with its credentials when the system gives them.
    Unix {
        /// The client's user id.
        uid: Option<u32>,
        /// The client's group id.
        gid: Option<u32>,
        /// The client's process id.
        pid: Option<i32>,
    },
    /// A TCP client.
    Tcp(SocketAddr),
    /// A transport handed to [`Server::serve_connection`].
    Other,
}

/// A server's limits. The defaults are libvirtd's where it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once (libvirtd's `max_clients`, 5000); more are closed at accept.
    pub max_clients: usize,
    /// The largest packet accepted or sent, length word included (`VIR_NET_MESSAGE_MAX`). A
    /// longer length word closes the connection before the packet is read.
    pub max_packet: usize,
    /// Normal calls running at once per client (libvirtd's `max_client_requests`, 5). As many
    /// again are read and wait; beyond that the server stops reading the client.
    pub max_requests: usize,
    /// `@priority: high` calls in flight per client, beside the normal ones (5): they never
    /// wait behind slow calls.
    pub max_priority_requests: usize,
    /// Bytes queued to a client before replies wait and events are dropped (4 MiB; a packet
    /// larger than this is still sent, alone).
    pub max_queued_bytes: usize,
    /// Bytes of client data queued per write stream before the connection's reader waits
    /// for the handler to read (4 MiB; a packet larger than this is still queued, alone).
    pub max_stream_queue: usize,
    /// Streams open at once per client (64): a stream call beyond it is answered with an
    /// error and its stream never starts.
    pub max_streams: usize,
    /// How long a stopping connection may take to finish its calls and streams, and then to
    /// write what it has queued (10 s each).
    pub shutdown_grace: Duration,
    /// How long a packet may take to arrive whole once its first bytes have (60 s): a client
    /// that sends part of a packet and goes silent, or trickles it, is closed after between
    /// one and two of these. Keepalive cannot free it: it only runs for clients that ask.
    pub packet_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_clients: 5000,
            max_packet: MESSAGE_MAX,
            max_requests: 5,
            max_priority_requests: 5,
            max_queued_bytes: 4 << 20,
            max_stream_queue: 4 << 20,
            max_streams: 64,
            shutdown_grace: Duration::from_secs(10),
            packet_timeout: Duration::from_secs(60),
        }
    }
}

/// Builds a [`Server`]: the programs it serves, its access hook, limits and keepalive.
#[derive(Default)]
pub struct ServerBuilder {
    programs: Vec<Arc<dyn Dispatch>>,
    access: Option<Arc<AccessHook>>,
    limits: Limits,
    keepalive: Option<Keepalive>,
}

impl ServerBuilder {
    /// Serves a program (a generated dispatcher). Several programs (remote, qemu, …) share
    /// one server; keepalive is always answered.
    pub fn program(mut self, dispatcher: impl Dispatch) -> Self {
        self.programs.push(Arc::new(dispatcher));
        self
    }

    /// Runs `hook` before every method: an `Err` is the call's answer (use
    /// [`RemoteError::access_denied`] for libvirt's error) and the method is never entered.
    pub fn access(
        mut self,
        hook: impl Fn(&Context) -> Result<(), Box<RemoteError>> + Send + Sync + 'static,
    ) -> Self {
        self.access = Some(Arc::new(hook));
        self
    }

    /// The server's limits (default [`Limits::default`]).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// PINGs clients that have sent nothing for `interval`, and drops those that send nothing
    /// through `count` PINGs (default none: PINGs from clients are answered either way). As
    /// libvirtd does, this starts for a client only when it asks, through
    /// [`Connection::start_keepalive`], which the `connect-supports-feature` handler calls for
    /// `VIR_DRV_FEATURE_PROGRAM_KEEPALIVE`: a client that never asked would not answer.
    pub fn keepalive(mut self, keepalive: Option<Keepalive>) -> Self {
        self.keepalive = keepalive;
        self
    }

    /// The server.
    pub fn build(self) -> Server {
        Server {
            shared: Arc::new(ServerShared {
                programs: self.programs,
                access: self.access,
                limits: self.limits,
                keepalive: self.keepalive,
                next_id: AtomicU64::new(1),
                refused: AtomicU64::new(0),
                lifecycle: Lifecycle::new(),
            }),
        }
    }
}

/// What the connections of a server share.
pub(crate) struct ServerShared {
    programs: Vec<Arc<dyn Dispatch>>,
    pub access: Option<Arc<AccessHook>>,
    pub limits: Limits,
    pub keepalive: Option<Keepalive>,
    next_id: AtomicU64,
    refused: AtomicU64,
    /// The shutdown signal, and the connections served.
    pub lifecycle: Lifecycle,
}

impl ServerShared {
    /// The dispatcher of a program version.
    pub fn program(&self, number: u32, version: u32) -> Option<&Arc<dyn Dispatch>> {
        self.programs.iter().find(|d| {
            let p = d.program();
            (p.number, p.version) == (number, version)
        })
    }
}

/// A libvirt RPC server: cheap to clone; every clone serves and stops the same server.
#[derive(Clone)]
pub struct Server {
    shared: Arc<ServerShared>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("connections", &self.connections())
            .field("limits", &self.shared.limits)
            .finish()
    }
}

impl Server {
    /// A builder.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// Accepts unix socket clients until [`shutdown`](Server::shutdown).
    pub async fn serve_unix(&self, listener: UnixListener) -> std::io::Result<()> {
        let mut stop = self.shared.lifecycle.subscribe();
        loop {
            let (stream, _) = tokio::select! {
                r = listener.accept() => r?,
                _ = stopped(&mut stop) => return Ok(()),
            };
            let peer = match stream.peer_cred() {
                Ok(c) => Peer::Unix {
                    uid: Some(c.uid()),
                    gid: Some(c.gid()),
                    pid: c.pid(),
                },
                Err(_) => Peer::Unix {
                    uid: None,
                    gid: None,
                    pid: None,
                },
            };
            let (r, w) = stream.into_split();
            self.serve_connection(r, w, peer);
        }
    }

    /// Accepts TCP clients until [`shutdown`](Server::shutdown).
    pub async fn serve_tcp(&self, listener: TcpListener) -> std::io::Result<()> {
        let mut stop = self.shared.lifecycle.subscribe();
        loop {
            let (stream, addr) = tokio::select! {
                r = listener.accept() => r?,
                _ = stopped(&mut stop) => return Ok(()),
            };
            let _ = stream.set_nodelay(true);
            let (r, w) = stream.into_split();
            self.serve_connection(r, w, Peer::Tcp(addr));
        }
    }

    /// Serves one connection on a transport's two halves in a task of its own; returns false
    /// (and drops the transport) when the server is at `max_clients` or shutting down.
    pub fn serve_connection<R, W>(&self, read: R, write: W, peer: Peer) -> bool
    where
        R: AsyncRead + Send + Unpin + 'static,
        W: AsyncWrite + Send + Unpin + 'static,
    {
        let shared = &self.shared;
        let taken = shared.lifecycle.enter();
        if taken >= shared.limits.max_clients || shared.lifecycle.stopping() {
            self.release();
            shared.refused.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        let server = self.clone();
        tokio::spawn(async move {
            super::server_conn::run(server.shared.clone(), id, peer, read, write).await;
            server.release();
        });
        true
    }

    fn release(&self) {
        self.shared.lifecycle.leave();
    }

    /// Connections being served.
    pub fn connections(&self) -> usize {
        self.shared.lifecycle.live()
    }

    /// Connections closed at accept because the server was full or stopping.
    pub fn refused(&self) -> u64 {
        self.shared.refused.load(Ordering::Relaxed)
    }

    /// Stops the server: the accept loops return, and every connection refuses new calls
    /// (libvirt's error "the server is shutting down"), finishes the calls and streams it has
    /// in flight (it goes on reading for them: a stream's end comes from the client), writes
    /// their replies and closes. What is still running after `Limits::shutdown_grace` is
    /// cancelled. [`closed`](Server::closed) waits for all of that.
    pub fn shutdown(&self) {
        self.shared.lifecycle.shutdown();
    }

    /// Waits until no connection is left (after [`shutdown`](Server::shutdown), until every
    /// connection has closed).
    pub async fn closed(&self) {
        self.shared.lifecycle.closed().await
    }
}
