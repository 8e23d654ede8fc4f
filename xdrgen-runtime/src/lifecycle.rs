//! What the libvirt and ONC RPC servers share to stop gracefully: the shutdown signal their
//! accept loops and connections watch, and the count of connections being served, which
//! `closed()` waits to fall to zero.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{watch, Notify};

/// A server's shutdown signal and live connections.
pub(crate) struct Lifecycle {
    stop: watch::Sender<bool>,
    live: AtomicUsize,
    /// Told when `live` falls to 0.
    idle: Notify,
}

impl Lifecycle {
    /// Running, with nothing served.
    pub fn new() -> Self {
        Lifecycle {
            stop: watch::channel(false).0,
            live: AtomicUsize::new(0),
            idle: Notify::new(),
        }
    }

    /// Signals shutdown to everyone watching.
    pub fn shutdown(&self) {
        self.stop.send_replace(true);
    }

    /// Whether shutdown has been signalled.
    #[cfg_attr(not(feature = "libvirt"), allow(dead_code))] // the ONC server only watches
    pub fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// A receiver for [`stopped`].
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Counts one more connection; returns how many there were before.
    pub fn enter(&self) -> usize {
        self.live.fetch_add(1, Ordering::SeqCst)
    }

    /// Counts one connection less (one [`enter`](Lifecycle::enter) each).
    pub fn leave(&self) {
        if self.live.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
    }

    /// Connections counted.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    /// Waits until no connection is counted.
    pub async fn closed(&self) {
        loop {
            let idle = self.idle.notified();
            if self.live() == 0 {
                return;
            }
            idle.await;
        }
    }
}

/// Waits for shutdown (without holding the watch's guard across awaits, so that the future
/// stays `Send` inside `select!`).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn closed_waits_for_the_last_connection_and_stopped_for_shutdown() {
        let l = Arc::new(Lifecycle::new());
        let mut stop = l.subscribe();
        assert_eq!(l.enter(), 0);
        assert_eq!(l.enter(), 1);
        let waiter = tokio::spawn({
            let l = l.clone();
            async move { l.closed().await }
        });
        l.leave();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            !waiter.is_finished(),
            "closed returned with one connection left"
        );
        l.leave();
        tokio::time::timeout(Duration::from_secs(10), waiter)
            .await
            .expect("closed did not return")
            .unwrap();
        assert!(!l.stopping());
        l.shutdown();
        assert!(l.stopping());
        tokio::time::timeout(Duration::from_secs(10), stopped(&mut stop))
            .await
            .expect("stopped did not return");
    }
}
