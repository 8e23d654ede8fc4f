//! A client over UDP: one call per datagram, one reply per datagram. A reader task routes
//! replies by xid; a call sends its datagram again after each retransmission interval with the
//! same xid until a reply comes or its deadline passes. The first reply completes the call;
//! duplicates (one per retransmission the server answered) find no waiter and are dropped.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::net::UdpSocket;
use tokio::task::AbortHandle;

use super::call::{reply_results, reply_xid};
use super::pending::{Pending, Waiter};
use super::Error;

/// The largest UDP payload over IPv4.
pub const MAX_DATAGRAM: usize = 65_507;

/// The client side of one connected UDP socket.
pub(crate) struct UdpTransport {
    pub pending: Arc<Pending>,
    socket: Arc<UdpSocket>,
    reader: AbortHandle,
    retransmit: Duration,
}

impl UdpTransport {
    /// Starts the reader task on a socket `connect`ed to the server.
    pub fn start(socket: UdpSocket, retransmit: Duration, seed: u32) -> Self {
        let pending = Pending::new(seed);
        let socket = Arc::new(socket);
        let reader = tokio::spawn(read_replies(socket.clone(), pending.clone()));
        UdpTransport {
            pending,
            socket,
            reader: reader.abort_handle(),
            retransmit: retransmit.max(Duration::from_millis(1)),
        }
    }

    /// Sends `message` (whose xid `waiter` holds) until its reply comes; the caller bounds the
    /// whole call with its deadline.
    pub async fn exchange(&self, waiter: &mut Waiter, message: &[u8]) -> Result<Bytes, Error> {
        if message.len() > MAX_DATAGRAM {
            return Err(Error::RecordTooLarge {
                length: message.len(),
                max: MAX_DATAGRAM,
            });
        }
        loop {
            self.socket.send(message).await?;
            if let Ok(reply) = tokio::time::timeout(self.retransmit, waiter.reply()).await {
                return reply_results(reply?);
            }
        }
    }
}

impl Drop for UdpTransport {
    fn drop(&mut self) {
        self.reader.abort();
        self.pending
            .close(Error::Closed("the client was dropped".into()));
    }
}

/// The reader task. Errors of a connected UDP socket (an ICMP "port unreachable" surfacing as
/// ECONNREFUSED) are not fatal: the call's retransmissions and deadline decide.
async fn read_replies(socket: Arc<UdpSocket>, pending: Arc<Pending>) {
    let mut buf = vec![0u8; MAX_DATAGRAM + 1];
    loop {
        match socket.recv(&mut buf).await {
            Ok(n) => match reply_xid(&buf[..n]) {
                Some(xid) => {
                    pending.complete(xid, Bytes::copy_from_slice(&buf[..n]));
                }
                None => {
                    pending
                        .unmatched
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            },
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}
