//! libvirt's keepalive protocol (virkeepaliveprotocol.x): PING and PONG messages with no payload.
//!
//! As libvirt does it: once both sides agree (the client asks the server whether it supports the
//! keepalive program), a side that has received nothing for `interval` sends a PING; any packet
//! received resets the count; after `count` PINGs without anything received, and one more
//! interval, the peer is declared dead. Both sides answer a PING with a PONG.

use std::time::Duration;

use tokio::time::Instant;

use super::conn::Outgoing;
use super::frame::raw_head;
use super::header::{Header, MessageType, Status};
use super::Error;

/// `KEEPALIVE_PROGRAM`.
pub const PROGRAM: u32 = 0x6b65_6570;
/// `KEEPALIVE_PROTOCOL_VERSION`.
pub const VERSION: u32 = 1;
/// `KEEPALIVE_PROC_PING`.
pub const PING: u32 = 1;
/// `KEEPALIVE_PROC_PONG`.
pub const PONG: u32 = 2;

/// Keepalive settings: libvirt's defaults are an interval of 5 s and a count of 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// Idle time before a PING is sent.
    pub interval: Duration,
    /// PINGs without an answer before the peer is declared dead.
    pub count: u32,
}

impl Default for Keepalive {
    fn default() -> Self {
        Keepalive {
            interval: Duration::from_secs(5),
            count: 5,
        }
    }
}

/// The reader task's keepalive clock.
#[derive(Debug)]
pub(crate) struct State {
    cfg: Keepalive,
    /// PINGs sent since the last packet received.
    sent: u32,
    /// When the next PING is due (or death is declared).
    pub deadline: Instant,
}

impl State {
    pub fn new(cfg: Keepalive) -> Self {
        State {
            cfg,
            sent: 0,
            deadline: Instant::now() + cfg.interval,
        }
    }

    /// Something arrived: the peer is alive.
    pub fn received(&mut self) {
        self.sent = 0;
        self.deadline = Instant::now() + self.cfg.interval;
    }

    /// The deadline passed: send a PING (`Ok`), or give up.
    pub fn tick(&mut self) -> Result<(), Error> {
        if self.sent >= self.cfg.count {
            return Err(Error::Keepalive {
                count: self.sent,
                interval: self.cfg.interval,
            });
        }
        self.sent += 1;
        self.deadline = Instant::now() + self.cfg.interval;
        Ok(())
    }
}

/// A PING or PONG packet.
pub(crate) fn packet(procedure: u32) -> Outgoing {
    let header = Header {
        program: PROGRAM,
        version: VERSION,
        procedure,
        kind: MessageType::Message,
        serial: 0,
        status: Status::Ok,
    };
    Outgoing {
        head: raw_head(&header, 0),
        data: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn dead_after_count_pings_and_one_more_interval() {
        let cfg = Keepalive {
            interval: Duration::from_secs(5),
            count: 3,
        };
        let start = Instant::now();
        let mut s = State::new(cfg);
        let (mut pings, mut reset) = (0, false);
        loop {
            tokio::time::sleep_until(s.deadline).await;
            match s.tick() {
                Ok(()) => pings += 1,
                Err(e) => {
                    assert!(matches!(e, Error::Keepalive { count: 3, .. }), "{e:?}");
                    break;
                }
            }
            if pings == 2 && !reset {
                // A packet arrives after the second PING: the count starts again.
                s.received();
                reset = true;
                assert_eq!(start.elapsed(), Duration::from_secs(10));
            }
        }
        // 10 s, then 3 PINGs at 15, 20, 25 and death at 30.
        assert_eq!(start.elapsed(), Duration::from_secs(30));
    }

    #[test]
    fn ping_is_an_empty_message_with_serial_zero() {
        let p = packet(PING);
        assert!(p.data.is_none());
        assert_eq!(
            p.head.as_ref(),
            [
                0, 0, 0, 28, 0x6b, 0x65, 0x65, 0x70, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0,
                0, 0, 0, 0, 0
            ]
        );
    }
}
