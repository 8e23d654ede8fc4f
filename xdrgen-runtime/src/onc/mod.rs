//! Standard ONC RPC (RFC 5531, feature `onc`): the [`Client`] that generated clients
//! (`…V1Client`) call, the [`Server`] that generated dispatchers (`…V1Dispatcher`) plug into,
//! and the pieces under them: `rpc_msg` ([`msg`]), credentials ([`auth`]), record marking
//! ([`record`]) and rpcbind registration ([`portmap`]).
//!
//! # Wire rules
//!
//! Every message is an `rpc_msg` header (xid, CALL or REPLY) followed by the procedure's
//! arguments or results. Over TCP each message is one record of one or more fragments
//! (RFC 1831 record marking), its length checked against a maximum before any of it is read;
//! over UDP each message is one datagram.
//!
//! # Concurrency and cancellation
//!
//! A TCP client has one reader task routing replies by xid and one writer task writing the
//! calls queued whole (each a complete record), so many calls can be in flight on one
//! connection; a UDP client resends a call after each retransmission interval with the same
//! xid and drops duplicate replies. A call registers its xid before it is sent and forgets it
//! when its future ends in any way: dropping the future cancels the call. A dead connection
//! fails every pending call at once. The table of pending calls, the outgoing queue, the
//! writer task and the reader loop are the libvirt client's own (one crate-internal module
//! serves both).
//!
//! # No copies of received data
//!
//! Results (client) and arguments (server) are decoded from the received record's buffer
//! ([`from_shared`](crate::xdr::from_shared)): opaque data and strings longer than 23 bytes
//! in them are slices of it, so an NFS READ's or WRITE's data is not copied after the socket
//! read. A record of several fragments is put together once; a UDP datagram is copied once out
//! of the socket's receive buffer.
//!
//! # Example
//!
//! ```no_run
//! # async fn demo() -> Result<(), xdrgen_runtime::onc::Error> {
//! use xdrgen_runtime::onc::{portmap, Client};
//!
//! let rpcbind = Client::connect_tcp(("127.0.0.1", portmap::PMAP_PORT)).await?;
//! // rpcbind's NULL procedure (0): no arguments, no results.
//! rpcbind.call_raw(portmap::PMAP_PROGRAM, 2, 0, &()).await?;
//! # Ok(()) }
//! ```

pub mod auth;
mod call;
mod client;
mod dispatch;
mod error;
pub mod msg;
pub mod portmap;
pub mod record;
mod server;
mod tcp;
mod udp;

pub use auth::{AuthSys, Credentials, OpaqueAuth};
pub use client::{Client, Options};
pub use dispatch::{
    fallback, serve, unavailable, BoxFuture, CallError, Context, Dispatch, Protocol, Reply,
};
pub use error::{Error, Refusal};
pub use record::RecordCodec;
pub use server::{Builder, Server};
pub use udp::MAX_DATAGRAM;
