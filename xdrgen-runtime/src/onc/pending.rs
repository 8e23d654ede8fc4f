//! The table of calls waiting for their replies, shared by a connection's callers and its
//! reader task (TCP and UDP alike): callers register their xid *before* the call goes out and
//! hold a [`Waiter`] whose drop removes the entry, so a cancelled call's late reply is
//! discarded; the reader routes each reply by xid; a dead transport fails every waiter.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use tokio::sync::oneshot;

use super::Error;

/// What a waiter receives: the whole reply record (header and results), or why none came.
pub(crate) type Delivery = Result<Bytes, Error>;

#[derive(Default)]
struct Table {
    pending: HashMap<u32, oneshot::Sender<Delivery>>,
    /// Set once the transport is dead: what every later caller gets.
    closed: Option<Error>,
}

/// The table, the xid counter and counters a test can read.
pub(crate) struct Pending {
    table: Mutex<Table>,
    xid: AtomicU32,
    /// Replies that matched no pending call (late, duplicate, or unknown).
    pub unmatched: AtomicU64,
}

impl Pending {
    /// An empty table whose xids start at `seed`.
    pub fn new(seed: u32) -> Arc<Self> {
        Arc::new(Pending {
            table: Mutex::default(),
            xid: AtomicU32::new(seed),
            unmatched: AtomicU64::new(0),
        })
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        // Every update is one insert or remove: a poisoned lock still holds a sound table.
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a new call and returns its waiter (with its xid).
    pub fn register(self: &Arc<Self>) -> Result<Waiter, Error> {
        let (tx, rx) = oneshot::channel();
        let mut t = self.table();
        if let Some(e) = &t.closed {
            return Err(e.clone());
        }
        // Skip xids still in use (after 2^32 calls with one very slow call outstanding).
        let xid = loop {
            let x = self.xid.fetch_add(1, Ordering::Relaxed);
            if !t.pending.contains_key(&x) {
                break x;
            }
        };
        t.pending.insert(xid, tx);
        Ok(Waiter {
            pending: self.clone(),
            xid,
            rx: Some(rx),
        })
    }

    /// Hands a reply to the call with this xid; `false` when no call waits for it.
    pub fn complete(&self, xid: u32, record: Bytes) -> bool {
        let tx = self.table().pending.remove(&xid);
        match tx {
            Some(tx) => {
                let _ = tx.send(Ok(record));
                true
            }
            None => {
                self.unmatched.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Fails every pending and later call with `error` (the first cause wins).
    pub fn close(&self, error: Error) {
        let drained: Vec<_> = {
            let mut t = self.table();
            let e = t.closed.get_or_insert(error).clone();
            t.pending.drain().map(|(_, tx)| (tx, e.clone())).collect()
        };
        for (tx, e) in drained {
            let _ = tx.send(Err(e));
        }
    }

    /// Why the transport is closed, if it is.
    pub fn closed(&self) -> Option<Error> {
        self.table().closed.clone()
    }
}

/// One call's place in the table; dropping it cancels the call.
pub(crate) struct Waiter {
    pending: Arc<Pending>,
    xid: u32,
    rx: Option<oneshot::Receiver<Delivery>>,
}

impl Waiter {
    /// The call's xid.
    pub fn xid(&self) -> u32 {
        self.xid
    }

    /// Waits for the reply (or the transport's death).
    pub async fn reply(&mut self) -> Delivery {
        let Some(rx) = self.rx.as_mut() else {
            return Err(Error::protocol("a call's reply was awaited twice"));
        };
        let r = rx.await;
        self.rx = None;
        r.unwrap_or_else(|_| {
            Err(self
                .pending
                .closed()
                .unwrap_or_else(|| Error::Closed("the connection's reader stopped".into())))
        })
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        if self.rx.is_some() {
            self.pending.table().pending.remove(&self.xid);
        }
    }
}
