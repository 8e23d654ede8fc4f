//! A client over UDP: one call per datagram, one reply per datagram, on the same table of
//! pending calls as the stream client (`crate::mux`). A reader task routes replies by xid; a
//! call sends its datagram again after each retransmission interval with the same xid until a
//! reply comes or its deadline passes. The first reply completes the call; duplicates (one per
//! retransmission the server answered) find no waiter and are dropped.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::net::UdpSocket;

use super::call::{reply_results, reply_xid, CallTable, CallWaiter};
use super::Error;
use crate::mux::Calls;

/// The largest UDP payload over IPv4.
pub const MAX_DATAGRAM: usize = 65_507;

/// The client side of one connected UDP socket.
pub(crate) struct UdpTransport {
    pub calls: Arc<CallTable>,
    socket: Arc<UdpSocket>,
    retransmit: Duration,
}

impl UdpTransport {
    /// Starts the reader task on a socket `connect`ed to the server; xids start at `seed`.
    pub fn start(socket: UdpSocket, retransmit: Duration, seed: u32) -> Self {
        let calls = Arc::new(Calls::new(seed, false));
        let socket = Arc::new(socket);
        tokio::spawn(read_replies(socket.clone(), calls.clone()));
        UdpTransport {
            calls,
            socket,
            retransmit: retransmit.max(Duration::from_millis(1)),
        }
    }

    /// Sends `message` (whose xid `waiter` holds) until its reply comes; the caller bounds the
    /// whole call with its deadline. Returns the reply's results.
    pub async fn exchange(
        &self,
        waiter: &mut CallWaiter<'_>,
        message: &[u8],
    ) -> Result<Bytes, Error> {
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
        // The reader stops when the table closes.
        self.calls
            .close(Error::Closed("the client was dropped".into()));
    }
}

/// The reader task. Errors of a connected UDP socket (an ICMP "port unreachable" surfacing as
/// ECONNREFUSED) are not fatal: the call's retransmissions and deadline decide.
///
/// Each datagram is copied once out of the receive buffer, into a record of its own size;
/// results are then decoded from that record without a further copy.
async fn read_replies(socket: Arc<UdpSocket>, calls: Arc<CallTable>) {
    let mut buf = vec![0u8; MAX_DATAGRAM + 1];
    let mut closing = calls.closing();
    loop {
        let received = tokio::select! {
            r = socket.recv(&mut buf) => r,
            _ = closing.wait_for(|c| *c) => return,
        };
        match received {
            Ok(n) => match reply_xid(&buf[..n]) {
                Some(xid) => {
                    calls.complete(xid, |()| Ok(Bytes::copy_from_slice(&buf[..n])));
                }
                None => calls.count_unmatched(),
            },
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}
