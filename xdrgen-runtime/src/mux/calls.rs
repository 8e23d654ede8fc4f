//! The table of calls waiting for their replies, shared by a connection's callers and its
//! reader: a caller registers before its call goes out and holds a [`Waiter`], the reader hands
//! each reply to the waiter of its key (a libvirt serial, an ONC xid), and a dead connection
//! fails every waiter at once, and every later caller, with the cause that killed it.
//!
//! Dropping a [`Waiter`] before its reply came removes its entry: that is how a call is
//! cancelled (its future dropped), and why its late reply then finds nobody and is counted as
//! unmatched.
//!
//! The reply is left in the call's entry and the waiting task woken; there is no channel per
//! call (no allocation, no second synchronisation besides the table's lock).

use std::collections::HashMap;
use std::future::poll_fn;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::task::{Poll, Waker};

use tokio::sync::watch;

/// A connection error that can fail many waiters at once.
pub(crate) trait Cause: Clone {
    /// What a waiter answers when its entry vanished without a reply or a cause. Only
    /// [`Calls::close`] empties the table without answering, and it sets a cause first, so
    /// this is a safe answer to what cannot happen rather than a panic.
    fn vanished() -> Self;
}

/// One call: waiting (what the reader checks its reply against, and the task to wake), or
/// answered and not yet taken.
enum Entry<M, T, E> {
    Waiting { meta: M, waker: Option<Waker> },
    Answered(Result<T, E>),
}

/// Hashes the table's `u32` keys (consecutive serials) with one multiplication: no need for
/// SipHash's resistance to chosen keys, since the table allocates its keys itself.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u32(u32::from(*b));
        }
    }

    fn write_u32(&mut self, k: u32) {
        // Fibonacci hashing: the high bits, which the table's control bytes use, vary too.
        self.0 = (self.0 ^ u64::from(k)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type Entries<M, T, E> = HashMap<u32, Entry<M, T, E>, BuildHasherDefault<KeyHasher>>;

struct State<M, T, E> {
    waiting: Entries<M, T, E>,
    /// The next key to try.
    next: u32,
    /// Set once the connection is dead: what every later caller gets.
    closed: Option<E>,
}

/// The pending calls of one connection, keyed by a `u32` the table allocates. `M` is what the
/// reader needs to know about a call to check its reply (libvirt: program, version and
/// procedure; ONC: nothing), `T` the reply and `E` the connection's error.
pub(crate) struct Calls<M, T, E> {
    state: Mutex<State<M, T, E>>,
    /// Key 0 is never handed out (libvirt sends events and keepalive with serial 0).
    skip_zero: bool,
    /// Replies that matched no waiting call (late, duplicate, unknown) and other records the
    /// reader dropped.
    unmatched: AtomicU64,
    /// Turns true when the table closes: the connection's tasks stop on it.
    closing: watch::Sender<bool>,
}

impl<M, T, E: Cause> Calls<M, T, E> {
    /// An empty table whose keys start at `first` (skipping 0 when `skip_zero`).
    pub fn new(first: u32, skip_zero: bool) -> Self {
        Calls {
            state: Mutex::new(State {
                waiting: HashMap::default(),
                next: first,
                closed: None,
            }),
            skip_zero,
            unmatched: AtomicU64::new(0),
            closing: watch::channel(false).0,
        }
    }

    fn state(&self) -> MutexGuard<'_, State<M, T, E>> {
        // Every update is one insert or remove (or the swap in `close`): a poisoned lock still
        // holds a sound table.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a new call under a key no waiting call holds, or fails with the cause of the
    /// connection's death.
    pub fn register(&self, meta: M) -> Result<Waiter<'_, M, T, E>, E> {
        let mut s = self.state();
        if let Some(e) = &s.closed {
            return Err(e.clone());
        }
        // Skip keys in use: after 2^32 calls, one very slow call may still hold its key.
        let key = loop {
            let k = s.next;
            s.next = k.wrapping_add(1);
            let reserved = k == 0 && self.skip_zero;
            if !reserved && !s.waiting.contains_key(&k) {
                break k;
            }
        };
        s.waiting.insert(key, Entry::Waiting { meta, waker: None });
        Ok(Waiter {
            calls: self,
            key,
            done: false,
        })
    }

    /// Hands the call waiting under `key` its reply, which `answer` makes from the call's
    /// `meta` (so that it can check the reply against the call). Returns `false`, and counts
    /// the reply as unmatched, when no call waits under `key`.
    pub fn complete(&self, key: u32, answer: impl FnOnce(M) -> Result<T, E>) -> bool
    where
        M: Copy,
    {
        let mut s = self.state();
        let waiting = match s.waiting.get_mut(&key) {
            Some(Entry::Waiting { meta, waker }) => Some((*meta, waker.take())),
            _ => None,
        };
        // No call under `key`, or a second reply to an answered one (a peer's mistake): dropped.
        let Some((meta, waker)) = waiting else {
            drop(s);
            self.count_unmatched();
            return false;
        };
        s.waiting.insert(key, Entry::Answered(answer(meta)));
        drop(s);
        if let Some(w) = waker {
            w.wake();
        }
        true
    }

    /// Counts a received record that no call could take.
    pub fn count_unmatched(&self) {
        self.unmatched.fetch_add(1, Ordering::Relaxed);
    }

    /// Received records that no call took.
    pub fn unmatched(&self) -> u64 {
        self.unmatched.load(Ordering::Relaxed)
    }

    /// Calls waiting for their reply (or for their task to take it).
    pub fn in_flight(&self) -> usize {
        self.state().waiting.len()
    }

    /// Marks the connection dead: every waiting call and every later one fails with `cause`,
    /// and [`closing`](Calls::closing) turns true. The first cause wins; returns whether this
    /// call was the one that closed the table.
    pub fn close(&self, cause: E) -> bool {
        let waiting = {
            let mut s = self.state();
            if s.closed.is_some() {
                return false;
            }
            s.closed = Some(cause.clone());
            // Replies already in keep their place: their callers take them. The others fail.
            let mut wakers = Vec::new();
            for entry in s.waiting.values_mut() {
                if let Entry::Waiting { waker, .. } = entry {
                    wakers.extend(waker.take());
                    *entry = Entry::Answered(Err(cause.clone()));
                }
            }
            wakers
        };
        self.closing.send_replace(true);
        for w in waiting {
            w.wake();
        }
        true
    }

    /// Why the connection is closed, if it is.
    pub fn closed(&self) -> Option<E> {
        self.state().closed.clone()
    }

    /// Turns true when the connection closes.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    fn forget(&self, key: u32) {
        self.state().waiting.remove(&key);
    }
}

/// One call's place in the table; dropping it before the reply came cancels the call.
pub(crate) struct Waiter<'a, M, T, E: Cause> {
    calls: &'a Calls<M, T, E>,
    key: u32,
    /// The reply (or the cause) was taken: the entry is gone.
    done: bool,
}

impl<M, T, E: Cause> Waiter<'_, M, T, E> {
    /// The call's key (its serial or xid).
    pub fn key(&self) -> u32 {
        self.key
    }

    /// Waits for the reply, or the connection's death. Cancel-safe: a wait that is dropped
    /// (a UDP retransmission interval passing) can be started again.
    pub async fn reply(&mut self) -> Result<T, E> {
        poll_fn(|cx| {
            if self.done {
                return Poll::Ready(Err(self.calls.closed().unwrap_or_else(E::vanished)));
            }
            let mut s = self.calls.state();
            let answered = match s.waiting.get_mut(&self.key) {
                Some(Entry::Waiting { waker, .. }) => {
                    match waker {
                        Some(w) if w.will_wake(cx.waker()) => {}
                        _ => *waker = Some(cx.waker().clone()),
                    }
                    return Poll::Pending;
                }
                Some(Entry::Answered(_)) => s.waiting.remove(&self.key),
                None => None,
            };
            drop(s);
            self.done = true;
            Poll::Ready(match answered {
                Some(Entry::Answered(r)) => r,
                _ => Err(self.calls.closed().unwrap_or_else(E::vanished)),
            })
        })
        .await
    }
}

impl<M, T, E: Cause> Drop for Waiter<'_, M, T, E> {
    fn drop(&mut self) {
        if !self.done {
            self.calls.forget(self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct Dead(&'static str);

    impl Cause for Dead {
        fn vanished() -> Self {
            Dead("vanished")
        }
    }

    type Table = Calls<u8, &'static str, Dead>;

    #[tokio::test]
    async fn replies_reach_their_waiter_by_key() {
        let calls = Table::new(7, false);
        let mut a = calls.register(1).unwrap();
        let mut b = calls.register(2).unwrap();
        assert_eq!((a.key(), b.key()), (7, 8));
        assert!(calls.complete(8, |meta| {
            assert_eq!(meta, 2);
            Ok("for b")
        }));
        assert!(calls.complete(7, |_| Ok("for a")));
        assert_eq!(b.reply().await, Ok("for b"));
        assert_eq!(a.reply().await, Ok("for a"));
        assert_eq!(calls.in_flight(), 0);
        assert_eq!(calls.unmatched(), 0);
    }

    #[tokio::test]
    async fn a_dropped_waiter_cancels_its_call() {
        let calls = Table::new(1, false);
        let w = calls.register(0).unwrap();
        let key = w.key();
        assert_eq!(calls.in_flight(), 1);
        drop(w);
        assert_eq!(calls.in_flight(), 0);
        assert!(!calls.complete(key, |_| Ok("late")));
        assert_eq!(calls.unmatched(), 1);
    }

    #[tokio::test]
    async fn close_fails_every_waiter_and_later_caller_with_the_first_cause() {
        let calls = Table::new(1, false);
        let mut closing = calls.closing();
        let mut a = calls.register(0).unwrap();
        let mut b = calls.register(0).unwrap();
        assert!(calls.close(Dead("reset")));
        assert!(!calls.close(Dead("second")));
        assert!(*closing.borrow_and_update());
        assert_eq!(a.reply().await, Err(Dead("reset")));
        assert_eq!(b.reply().await, Err(Dead("reset")));
        assert_eq!(calls.register(0).err(), Some(Dead("reset")));
        assert_eq!(calls.closed(), Some(Dead("reset")));
    }

    #[tokio::test]
    async fn a_reply_that_came_before_the_close_is_still_taken() {
        let calls = Table::new(1, false);
        let mut a = calls.register(0).unwrap();
        let mut b = calls.register(0).unwrap();
        assert!(calls.complete(a.key(), |_| Ok("in time")));
        // A second reply to the same call is a peer's mistake: dropped and counted.
        assert!(!calls.complete(a.key(), |_| Ok("again")));
        assert_eq!(calls.unmatched(), 1);
        assert!(calls.close(Dead("reset")));
        assert_eq!(a.reply().await, Ok("in time"));
        assert_eq!(b.reply().await, Err(Dead("reset")));
        assert_eq!(calls.in_flight(), 0);
    }

    #[test]
    fn keys_in_use_and_zero_are_skipped_when_the_counter_wraps() {
        let calls = Table::new(u32::MAX - 1, true);
        let slow = calls.register(0).unwrap();
        assert_eq!(slow.key(), u32::MAX - 1);
        assert_eq!(calls.register(0).unwrap().key(), u32::MAX);
        // 0 is skipped; 1 is free again after the previous waiter was dropped.
        let one = calls.register(0).unwrap();
        assert_eq!(one.key(), 1);
        let mut state = calls.state();
        state.next = u32::MAX - 1;
        drop(state);
        // u32::MAX - 1 is still held by `slow`: the next free key is u32::MAX.
        assert_eq!(calls.register(0).unwrap().key(), u32::MAX);
        let calls = Table::new(0, false);
        assert_eq!(calls.register(0).unwrap().key(), 0);
    }
}
