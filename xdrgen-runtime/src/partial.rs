//! The check, shared by the libvirt and ONC RPC servers, that every message arrives whole within
//! a bounded time of its first byte: a peer that sends part of a packet or record and goes
//! silent, or trickles it one byte at a time, holds its connection no longer than about twice
//! that. A connection idle between messages is left alone.
//!
//! The reader calls [`Partial::stalled`] at every [`Partial::check_at`]: a connection is
//! stalled when part of a message was buffered at the previous check and no message has
//! completed since.

use std::time::Duration;

use tokio::time::Instant;

/// When to look next, and what the last look saw.
pub(crate) struct Partial {
    every: Duration,
    /// When the reader must call [`Partial::stalled`] next.
    pub check_at: Instant,
    /// Messages received when the last check found part of one buffered.
    seen: Option<u64>,
}

impl Partial {
    /// Checks every `every` (at least 1 ms).
    pub fn new(every: Duration) -> Self {
        let every = every.max(Duration::from_millis(1));
        Partial {
            every,
            check_at: Instant::now() + every,
            seen: None,
        }
    }

    /// Starts counting again (the reader paused, so buffered bytes are not the peer's delay).
    pub fn reset(&mut self) {
        self.seen = None;
        self.check_at = Instant::now() + self.every;
    }

    /// True when part of a message (`buffered`) has been held since the previous check and no
    /// message has completed since (`received` counts them); schedules the next check.
    pub fn stalled(&mut self, buffered: bool, received: u64) -> bool {
        self.check_at = Instant::now() + self.every;
        let stalled = buffered && self.seen == Some(received);
        self.seen = buffered.then_some(received);
        stalled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn stalls_only_when_a_partial_message_makes_no_progress_for_a_whole_period() {
        let mut p = Partial::new(Duration::from_secs(1));
        // Idle: nothing buffered, never stalled.
        assert!(!p.stalled(false, 0));
        assert!(!p.stalled(false, 0));
        // Part of a message at one check, still there at the next with none completed.
        assert!(!p.stalled(true, 0));
        assert!(p.stalled(true, 0));
        // Progress between the checks: a message completed.
        assert!(!p.stalled(true, 1));
        assert!(!p.stalled(true, 2));
        // A pause of the reader forgets what was seen.
        p.reset();
        assert!(!p.stalled(true, 2));
        assert!(p.stalled(true, 2));
        let before = p.check_at;
        tokio::time::advance(Duration::from_millis(10)).await;
        p.stalled(false, 2);
        assert_eq!(p.check_at - before, Duration::from_millis(10));
    }
}
