//! Client connection plumbing shared by the libvirt and ONC RPC clients (compiled with either
//! feature): many calls multiplexed on one connection and matched by a `u32` key (a libvirt
//! serial, an ONC xid).
//!
//! - [`Calls`]: the table of calls waiting for their replies. A caller registers *before* its
//!   message is queued and holds a [`Waiter`]; dropping it cancels the call. A dead connection
//!   fails every waiter, and every later caller, with its cause.
//! - [`Outbox`]: a connection's bounded queue of outgoing packets (libvirt packets, ONC
//!   records). Callers encode a small call straight into its buffer under its lock
//!   ([`Outbox::try_encode`], with [`encode_after`] putting the buffer back whatever the
//!   encoding does) or queue an [`Outgoing`] packet whole, waiting while the queue is full, so
//!   a caller whose future is dropped never leaves half a packet on the wire.
//! - [`writer`]: the writer task, which takes the whole queue per wakeup and writes it, and
//!   closes the queue and the connection however it ends.
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
mod outbox;
#[cfg(feature = "libvirt")]
pub(crate) mod socket;

pub(crate) use calls::{Calls, Cause, Waiter};
pub(crate) use io::{next_frame, read_loop, within, writer, End, Outgoing, Route};
pub(crate) use outbox::{encode_after, Outbox, Queued, INLINE_MAX};
