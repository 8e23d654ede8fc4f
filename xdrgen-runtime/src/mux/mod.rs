//! Client connection plumbing shared by the libvirt and ONC RPC clients (compiled with either
//! feature): many calls multiplexed on one connection and matched by a `u32` key (a libvirt
//! serial, an ONC xid).
//!
//! - [`Calls`]: the table of calls waiting for their replies. A caller registers *before* its
//!   message is queued and holds a [`Waiter`]; dropping it cancels the call. A dead connection
//!   fails every waiter, and every later caller, with its cause.
//! - `write_queue`: ONC's writer task, fed by a bounded queue of [`Outgoing`] messages that it
//!   writes whole, so a caller whose future is dropped never leaves half a message on the wire
//!   (libvirt's client queues its packets in its own `Outbox`, which callers encode into).
//! - [`read_loop`]: the reader task, which reads frames through a `tokio_util` codec (libvirt's
//!   packets, ONC's records) and hands each to the protocol's [`Route`].
//! - [`within`]: per-call deadlines.
//! - [`socket`]: a socket's two halves registered with the runtime for reading only (the
//!   libvirt client's unix and TCP transports).
//!
//! What differs stays with each protocol: libvirt's streams, events and keepalive (its route
//! and its own side table), ONC's record marking and UDP retransmission.

mod calls;
mod io;
#[cfg(feature = "libvirt")]
pub(crate) mod socket;

pub(crate) use calls::{Calls, Cause, Waiter};
#[cfg(feature = "onc")]
pub(crate) use io::write_queue;
pub(crate) use io::{next_frame, read_loop, within, End, Outgoing, Route};
