//! A connection's outgoing queue: every packet (a libvirt packet, an ONC record) that callers
//! and the connection itself (libvirt's PONGs and stream aborts) send, in order, for the writer
//! task ([`writer`](super::writer)).
//!
//! A small call is encoded straight into the queue's buffer, under its lock, so that it is
//! queued whole or not at all (a caller whose future is dropped never leaves half a packet),
//! with no allocation and no channel message per call. The writer takes the whole buffer per
//! wakeup and writes it with one system call. Large packets (libvirt's stream data, big ONC
//! records) keep their own buffers and are written from them, in their place in the order.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;

use super::Outgoing;
use crate::xdr::Encoder;

/// Bytes queued past which senders wait for the writer (`try_` senders are refused). A packet
/// is accepted whenever the queue holds less, so one packet can take it over. A libvirt
/// stream's `send` returns once its data is queued: up to this much goes out without waiting (and
/// without a chance to see an error the server reports meanwhile, which the next operation
/// returns).
pub(crate) const LIMIT: usize = 4 << 20;

/// Packets up to this size are copied into the queue's buffer; larger ones stay in their own.
pub(crate) const INLINE_MAX: usize = 16 * 1024;

/// A buffer the writer keeps between batches is shrunk back when it grew over this.
const KEEP: usize = 256 * 1024;

/// What became of a packet offered to the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Queued {
    /// Queued whole.
    Yes,
    /// Over [`LIMIT`]: the peer is not reading, or not as fast as packets come.
    Full,
    /// The writer is gone (the connection is closed).
    Closed,
}

#[derive(Default)]
struct State {
    /// Queued packets in order: `segments`, then `tail`.
    segments: VecDeque<Bytes>,
    tail: Vec<u8>,
    /// Bytes queued.
    queued: usize,
    /// The writer, waiting for something to write.
    writer: Option<Waker>,
    /// Senders waiting for room.
    blocked: Vec<Waker>,
    /// The writer is gone: nothing more is queued.
    closed: bool,
}

/// One connection's outgoing queue.
#[derive(Default)]
pub(crate) struct Outbox {
    state: Mutex<State>,
}

/// What the writer takes from the queue at once.
#[derive(Default)]
pub(crate) struct Batch {
    /// Packets written from their own buffers, and earlier runs of small ones, in order.
    pub segments: VecDeque<Bytes>,
    /// The small packets queued after the last segment, copied together.
    pub tail: Vec<u8>,
}

impl Batch {
    /// Empties the batch after it was written, keeping its buffer unless it grew large.
    pub fn clear(&mut self) {
        self.segments.clear();
        self.tail.clear();
        if self.tail.capacity() > KEEP {
            self.tail = Vec::new();
        }
    }
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.state();
        f.debug_struct("Outbox")
            .field("queued", &s.queued)
            .field("closed", &s.closed)
            .finish()
    }
}

impl Outbox {
    fn state(&self) -> MutexGuard<'_, State> {
        // Every update leaves whole packets (a failed encoding is cut off before the lock is
        // released): a poisoned lock still holds a sound queue.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues one packet that `fill` appends to the queue's buffer (at most [`INLINE_MAX`]
    /// bytes), unless the queue is full or closed. When `fill` fails, what it appended is cut
    /// off and its error returned.
    pub fn try_encode<E>(
        &self,
        fill: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<Queued, E> {
        let mut s = self.state();
        if s.closed {
            return Ok(Queued::Closed);
        }
        if s.queued >= LIMIT {
            return Ok(Queued::Full);
        }
        let at = s.tail.len();
        if let Err(e) = fill(&mut s.tail) {
            s.tail.truncate(at);
            return Err(e);
        }
        let len = s.tail.len() - at;
        Self::added(s, len);
        Ok(Queued::Yes)
    }

    /// Queues `packet` unless the queue is full or closed (the packet is then dropped).
    #[cfg_attr(not(feature = "libvirt"), allow(dead_code))] // ONC callers wait for room
    pub fn try_push(&self, packet: Outgoing) -> Queued {
        let mut slot = Some(packet);
        let s = self.state();
        if s.closed {
            return Queued::Closed;
        }
        if s.queued >= LIMIT {
            return Queued::Full;
        }
        Self::push(s, &mut slot);
        Queued::Yes
    }

    /// Queues the packet in `slot` (taking it) once the queue has room; `Err` when the queue
    /// is closed.
    pub fn poll_push(
        &self,
        cx: &mut Context<'_>,
        slot: &mut Option<Outgoing>,
    ) -> Poll<Result<(), ()>> {
        let mut s = self.state();
        if s.closed {
            return Poll::Ready(Err(()));
        }
        if s.queued >= LIMIT {
            if !s.blocked.iter().any(|w| w.will_wake(cx.waker())) {
                s.blocked.push(cx.waker().clone());
            }
            return Poll::Pending;
        }
        Self::push(s, slot);
        Poll::Ready(Ok(()))
    }

    /// Moves the packet in `slot` to the queue: copied into its buffer when small, else kept
    /// in its own.
    fn push(mut s: MutexGuard<'_, State>, slot: &mut Option<Outgoing>) {
        let Some(Outgoing { head, data }) = slot.take() else {
            return;
        };
        let len = head.len() + data.as_ref().map_or(0, Bytes::len);
        if len <= INLINE_MAX {
            s.tail.extend_from_slice(&head);
            if let Some(data) = &data {
                s.tail.extend_from_slice(data);
            }
        } else {
            if !s.tail.is_empty() {
                let small = std::mem::take(&mut s.tail);
                s.segments.push_back(Bytes::from(small));
            }
            s.segments.push_back(head);
            s.segments.extend(data);
        }
        Self::added(s, len);
    }

    /// Counts `len` bytes just queued and wakes the writer if it waits.
    fn added(mut s: MutexGuard<'_, State>, len: usize) {
        s.queued += len;
        let writer = s.writer.take();
        drop(s);
        if let Some(w) = writer {
            w.wake();
        }
    }

    /// The writer's side: moves everything queued into `batch` (which must be empty), or waits
    /// while nothing is queued. Wakes the senders waiting for room.
    pub fn poll_take(&self, cx: &mut Context<'_>, batch: &mut Batch) -> Poll<()> {
        let mut s = self.state();
        if s.queued == 0 {
            match &s.writer {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => s.writer = Some(cx.waker().clone()),
            }
            return Poll::Pending;
        }
        std::mem::swap(&mut s.tail, &mut batch.tail);
        std::mem::swap(&mut s.segments, &mut batch.segments);
        s.queued = 0;
        let blocked = std::mem::take(&mut s.blocked);
        drop(s);
        for w in blocked {
            w.wake();
        }
        Poll::Ready(())
    }

    /// The writer is gone: drops what is queued, refuses what comes, and wakes the senders
    /// waiting for room (they fail).
    pub fn close(&self) {
        let blocked = {
            let mut s = self.state();
            s.closed = true;
            s.segments.clear();
            s.tail = Vec::new();
            s.queued = 0;
            std::mem::take(&mut s.blocked)
        };
        for w in blocked {
            w.wake();
        }
    }
}

/// Encodes with `encode` after the bytes of `out`, which holds the start of a packet (its
/// framing) from `start` on. `out`'s bytes are lent to the encoder and put back even when
/// `encode` panics: `out` may be the queue's buffer, holding other callers' packets. A packet
/// not finished (`encode` failed or panicked) is cut off at `start`.
pub(crate) fn encode_after<E>(
    out: &mut Vec<u8>,
    start: usize,
    encode: impl FnOnce(&mut Encoder) -> Result<(), E>,
) -> Result<(), E> {
    let bytes = std::mem::take(out);
    let mut lent = Lent {
        out,
        enc: Encoder::from_vec(bytes),
        start,
        done: false,
    };
    let encoded = encode(&mut lent.enc);
    lent.done = encoded.is_ok();
    drop(lent);
    encoded
}

/// `out`'s bytes, lent to an encoder, and put back when dropped (a panic included).
struct Lent<'a> {
    out: &'a mut Vec<u8>,
    enc: Encoder,
    /// Where the packet being encoded starts.
    start: usize,
    /// Whether it was encoded whole.
    done: bool,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        *self.out = std::mem::take(&mut self.enc).into_bytes();
        if !self.done {
            self.out.truncate(self.start);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;

    fn packet(head: &'static [u8], data: Option<Vec<u8>>) -> Outgoing {
        Outgoing {
            head: Bytes::from_static(head),
            data: data.map(Bytes::from),
        }
    }

    /// Everything a batch would write, in order.
    fn written(batch: &Batch) -> Vec<u8> {
        let mut out: Vec<u8> = batch.segments.iter().flatten().copied().collect();
        out.extend_from_slice(&batch.tail);
        out
    }

    #[tokio::test]
    async fn packets_keep_their_order_small_or_large() {
        let outbox = Outbox::default();
        let big = vec![7u8; INLINE_MAX + 1];
        assert_eq!(
            outbox.try_encode(|b| {
                b.extend_from_slice(b"one ");
                Ok::<(), ()>(())
            }),
            Ok(Queued::Yes)
        );
        assert_eq!(
            outbox.try_push(packet(b"two ", Some(big.clone()))),
            Queued::Yes
        );
        assert_eq!(outbox.try_push(packet(b"three", None)), Queued::Yes);
        // A failed encoding leaves nothing behind.
        assert_eq!(
            outbox.try_encode(|b| {
                b.extend_from_slice(b"half");
                Err("bound")
            }),
            Err("bound")
        );
        let mut batch = Batch::default();
        poll_fn(|cx| outbox.poll_take(cx, &mut batch)).await;
        let mut expected = b"one two ".to_vec();
        expected.extend_from_slice(&big);
        expected.extend_from_slice(b"three");
        assert!(written(&batch) == expected);
        // The large data is not copied.
        assert_eq!(batch.segments.len(), 3);
    }

    #[test]
    fn an_encoding_that_fails_or_panics_leaves_the_queued_bytes_whole() {
        for panic in [false, true] {
            let mut out = b"queued".to_vec();
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                out.extend_from_slice(b"mark");
                encode_after(&mut out, 6, |enc| {
                    enc.put_u32(9);
                    if panic {
                        panic!("a broken Encode impl");
                    }
                    Err("broken")
                })
            }));
            assert_eq!(result.is_err(), panic);
            assert_eq!(out, b"queued", "panic: {panic}");
        }
        let mut out = b"queued".to_vec();
        assert_eq!(
            encode_after(&mut out, 6, |enc| {
                enc.put_u32(9);
                Ok::<(), ()>(())
            }),
            Ok(())
        );
        assert_eq!(out, b"queued\0\0\0\x09");
    }

    #[tokio::test]
    async fn a_full_queue_refuses_or_waits_and_a_closed_one_fails() {
        let outbox = std::sync::Arc::new(Outbox::default());
        assert_eq!(
            outbox.try_push(packet(b"", Some(vec![0; LIMIT]))),
            Queued::Yes
        );
        assert_eq!(outbox.try_push(packet(b"late", None)), Queued::Full);
        let waiting = {
            let outbox = outbox.clone();
            tokio::spawn(async move {
                let mut slot = Some(packet(b"waited", None));
                poll_fn(|cx| outbox.poll_push(cx, &mut slot)).await
            })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        let mut batch = Batch::default();
        poll_fn(|cx| outbox.poll_take(cx, &mut batch)).await;
        assert_eq!(waiting.await.unwrap(), Ok(()));
        batch.clear();
        poll_fn(|cx| outbox.poll_take(cx, &mut batch)).await;
        assert_eq!(batch.tail, b"waited");
        outbox.close();
        assert_eq!(outbox.try_push(packet(b"after", None)), Queued::Closed);
        let mut slot = Some(packet(b"after", None));
        assert_eq!(poll_fn(|cx| outbox.poll_push(cx, &mut slot)).await, Err(()));
    }
}
