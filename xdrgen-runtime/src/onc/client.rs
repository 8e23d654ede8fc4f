//! [`Client`]: calls to an ONC RPC server over TCP (record marking, many calls in flight on one
//! connection) or UDP (a datagram per call, retransmitted until answered). Generated clients
//! (`…V1Client`) hold one and call [`Client::call`] with their procedure table and number.
//!
//! Results are decoded from the received record's buffer (`from_shared`): opaque data and
//! strings longer than 23 bytes in them are slices of it, not copies.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, ToSocketAddrs, UdpSocket};

use super::auth::{Credentials, OpaqueAuth};
use super::call::{reply_results, CallMessage, MARK};
use super::record::{RecordCodec, DEFAULT_MAX_RECORD};
use super::tcp::StreamTransport;
use super::udp::UdpTransport;
use super::Error;
use crate::mux::within;
use crate::rpc::ProgramInfo;
use crate::xdr::{Decode, Decoder, Encode, Limits};

/// How a client connection behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// The largest record accepted from the server and sent to it (TCP), default 4 MiB.
    pub max_record: usize,
    /// The largest fragment written (TCP), default 1 MiB; larger calls go out in fragments.
    pub max_fragment: usize,
    /// The default deadline of every call: `None` for TCP, 25 s for UDP (as libtirpc).
    pub call_timeout: Option<Duration>,
    /// UDP: the time after which an unanswered call is sent again (default 1 s).
    pub retransmit: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_record: DEFAULT_MAX_RECORD,
            max_fragment: super::record::DEFAULT_MAX_FRAGMENT,
            call_timeout: None,
            retransmit: Duration::from_secs(1),
        }
    }
}

enum Transport {
    Tcp(StreamTransport),
    Udp(UdpTransport),
}

/// A handle to one ONC RPC connection (TCP) or socket (UDP). Clones share the connection;
/// each may have its own credentials and deadline. The connection closes when the last clone
/// is dropped.
///
/// Dropping a call's future cancels the call: its xid is forgotten and a late reply dropped.
#[derive(Clone)]
pub struct Client {
    transport: Arc<Transport>,
    cred: Arc<OpaqueAuth>,
    timeout: Option<Duration>,
    max_record: usize,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match *self.transport {
            Transport::Tcp(_) => "tcp",
            Transport::Udp(_) => "udp",
        };
        f.debug_struct("Client")
            .field("transport", &kind)
            .field("cred_flavor", &self.cred.flavor)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A starting xid that differs between processes and runs, so that a server's duplicate
/// request cache does not take a new client's calls for an old one's.
fn xid_seed() -> u32 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    now.subsec_nanos() ^ (now.as_secs() as u32).rotate_left(16) ^ std::process::id()
}

impl Client {
    /// Connects over TCP with default [`Options`].
    pub async fn connect_tcp(addr: impl ToSocketAddrs) -> Result<Client, Error> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (read, write) = stream.into_split();
        Ok(Client::over_halves(read, write, &Options::default()))
    }

    /// Opens a UDP socket towards `addr` with default [`Options`].
    pub async fn connect_udp(addr: std::net::SocketAddr) -> Result<Client, Error> {
        let local: std::net::SocketAddr = if addr.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(local).await?;
        socket.connect(addr).await?;
        Ok(Client::over_udp(socket, &Options::default()))
    }

    /// A client over an established byte stream (TCP, a Unix socket, …), with record marking.
    pub fn over_stream<S>(stream: S, options: &Options) -> Client
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (read, write) = tokio::io::split(stream);
        Client::over_halves(read, write, options)
    }

    /// A client over the two halves of an established byte stream, with record marking.
    pub fn over_halves<R, W>(read: R, write: W, options: &Options) -> Client
    where
        R: AsyncRead + Send + Unpin + 'static,
        W: AsyncWrite + Send + Unpin + 'static,
    {
        let codec = RecordCodec::new(options.max_record).with_max_fragment(options.max_fragment);
        Client {
            transport: Arc::new(Transport::Tcp(StreamTransport::start(
                read,
                write,
                codec,
                xid_seed(),
            ))),
            cred: Arc::new(OpaqueAuth::none()),
            timeout: options.call_timeout,
            max_record: options.max_record,
        }
    }

    /// A client over a UDP socket already `connect`ed to the server.
    pub fn over_udp(socket: UdpSocket, options: &Options) -> Client {
        Client {
            transport: Arc::new(Transport::Udp(UdpTransport::start(
                socket,
                options.retransmit,
                xid_seed(),
            ))),
            cred: Arc::new(OpaqueAuth::none()),
            timeout: options.call_timeout.or(Some(Duration::from_secs(25))),
            max_record: options.max_record.min(super::udp::MAX_DATAGRAM),
        }
    }

    /// This handle with other credentials (the verifier stays `AUTH_NONE`).
    pub fn with_credentials(&self, credentials: &Credentials) -> Result<Client, Error> {
        Ok(Client {
            cred: Arc::new(credentials.to_opaque().map_err(Error::Arguments)?),
            ..self.clone()
        })
    }

    /// This handle with another per-call deadline (`None`: wait as long as the connection
    /// lives; UDP calls then retransmit until answered).
    pub fn with_timeout(&self, timeout: Option<Duration>) -> Client {
        Client {
            timeout,
            ..self.clone()
        }
    }

    /// The per-call deadline of this handle.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Calls waiting for their reply on this connection (or socket), from every clone. It
    /// returns to zero once every call has finished or been dropped.
    pub fn in_flight(&self) -> usize {
        match &*self.transport {
            Transport::Tcp(t) => t.calls.in_flight(),
            Transport::Udp(u) => u.calls.in_flight(),
        }
    }

    /// Replies received that matched no waiting call (late, duplicate or unknown xids).
    pub fn unmatched_replies(&self) -> u64 {
        match &*self.transport {
            Transport::Tcp(t) => t.calls.unmatched(),
            Transport::Udp(u) => u.calls.unmatched(),
        }
    }

    /// Calls procedure `procedure` of the program version `program` describes with `args`
    /// and decodes its results as `R`. Several arguments go as a tuple: `&(&a, &b)`.
    ///
    /// Bytes after the results are ignored, as libtirpc's clients ignore them: real servers
    /// send some (Debian's `rpc.rstatd` 4.0.1 follows `statstime` with an extra zero word).
    /// Everything `R` itself holds is checked as strictly as anywhere else.
    ///
    /// The results are decoded from the reply record's buffer: opaque data and strings longer
    /// than 23 bytes in `R` share it (keeping one keeps the record's buffer alive; `detach()`
    /// copies it out).
    pub async fn call<A, R>(
        &self,
        program: &ProgramInfo,
        procedure: u32,
        args: &A,
    ) -> Result<R, Error>
    where
        A: Encode + Sync + ?Sized,
        R: Decode,
    {
        let results = self
            .call_raw(program.number, program.version, procedure, &args)
            .await?;
        let mut input = Decoder::shared(&results, Limits::default()).map_err(Error::Results)?;
        R::decode(&mut input).map_err(Error::Results)
    }

    /// Calls a procedure by number and returns the encoded results (the bytes after the
    /// reply's header, a slice of the received record). The future is `Send`, so calls can
    /// be spawned.
    pub async fn call_raw(
        &self,
        program: u32,
        version: u32,
        procedure: u32,
        args: &(dyn Encode + Sync),
    ) -> Result<Bytes, Error> {
        let call = self.exchange((program, version, procedure), args);
        within(self.timeout, call, Error::Timeout).await
    }

    async fn exchange(
        &self,
        ids: (u32, u32, u32),
        args: &(dyn Encode + Sync),
    ) -> Result<Bytes, Error> {
        match &*self.transport {
            Transport::Tcp(t) => {
                let mut waiter = t.calls.register(())?;
                let call = CallMessage::new(waiter.key(), ids, &self.cred, args, self.max_record)?;
                t.send(&call).await?;
                reply_results(waiter.reply().await?)
            }
            Transport::Udp(u) => {
                let mut waiter = u.calls.register(())?;
                let call = CallMessage::new(waiter.key(), ids, &self.cred, args, self.max_record)?;
                let message = call.to_vec()?;
                u.exchange(&mut waiter, &message[MARK..]).await
            }
        }
    }
}
