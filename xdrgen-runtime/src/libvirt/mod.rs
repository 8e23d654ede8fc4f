//! libvirt's RPC protocol (feature `libvirt`): packet framing, the multiplexed async
//! [`Client`] that generated clients (`RemoteClient`, …) call, events, streams, keepalive,
//! transports, and the [`server`] that generated dispatchers (`RemoteDispatcher`, …) plug into.
//!
//! # Wire rules
//!
//! A connection carries packets: a big-endian length word that counts the whole packet, a
//! 24-byte [`Header`] (program, version, procedure, type, serial, status), then the payload.
//! The length word is checked against the connection's maximum ([`Options::max_packet`],
//! default `VIR_NET_MESSAGE_MAX`) before the packet is read. Replies and stream packets carry
//! their call's serial; events (MESSAGE) are routed by program, whatever their serial
//! (libvirtd sends 1, keepalive 0).
//!
//! # Concurrency and cancellation
//!
//! One reader task per connection routes every packet; one writer task writes them whole. A
//! call registers its serial before its CALL is queued and removes it when its future ends in
//! any way, so dropping a call's future cancels it and its late reply is discarded. When the
//! transport fails, the peer misbehaves at the framing level or keepalive gives up, every
//! pending call and stream fails at once with [`Error::Closed`] naming the cause. The call
//! table, the outgoing queue, the writer and the reader loop are shared with the ONC RPC client
//! (feature `onc`); streams, events and keepalive are libvirt's own.

mod client;
mod conn;
mod error;
mod event;
mod frame;
mod header;
pub mod keepalive;
pub mod server;
mod server_conn;
mod server_dispatch;
mod server_stream;
mod stream;
pub mod transport;
pub mod uri;

pub use client::{Client, Options};
pub use error::{Error, ErrorObject, RemoteError};
pub use event::{Event, Events};
pub use frame::{encode_packet, Packet, PacketCodec};
pub use header::{
    Header, MessageType, Status, HEADER_SIZE, LEN_SIZE, MESSAGE_MAX, PAYLOAD_OFFSET,
    STREAM_PAYLOAD_MAX,
};
pub use keepalive::Keepalive;
pub use stream::{Chunk, ReadStream, WriteStream};
