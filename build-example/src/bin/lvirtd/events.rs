//! Domain event callbacks (`connect-domain-event-callback-register-any`, 316/317) and the
//! lifecycle events (318) pushed to the connections that registered them.

use std::sync::Mutex;

use protocols::remote_protocol::{
    RemoteDomainEventCallbackLifecycleMsg, RemoteDomainEventLifecycleMsg, RemoteNonnullDomain,
    RemoteProcedure, REMOTE_PROGRAM_INFO,
};
use xdrgen_runtime::libvirt::server::{Connection, SendError};
use xdrgen_runtime::libvirt::RemoteError;

use crate::driver::Events;

/// `VIR_DOMAIN_EVENT_ID_LIFECYCLE`.
pub const EVENT_ID_LIFECYCLE: i32 = 0;
/// `VIR_DOMAIN_EVENT_ID_LAST` in libvirt 9.0.0: ids 0..=26 may be registered.
pub const EVENT_ID_LAST: i32 = 27;
/// `VIR_ERR_INVALID_ARG`.
const INVALID_ARG: i32 = 8;
/// `VIR_FROM_REMOTE`.
const FROM_REMOTE: i32 = 13;

/// One registered callback.
#[derive(Debug)]
struct Callback {
    connection: Connection,
    id: i32,
    event_id: i32,
    /// Only this domain's events (by UUID), or every domain's.
    domain: Option<[u8; 16]>,
}

/// The callbacks of every connection.
#[derive(Debug, Default)]
pub struct Callbacks {
    inner: Mutex<Registry>,
}

#[derive(Debug, Default)]
struct Registry {
    callbacks: Vec<Callback>,
    next_id: i32,
}

impl Callbacks {
    /// Registers a callback for `event_id` on `connection`; returns its id.
    pub fn register(
        &self,
        connection: &Connection,
        event_id: i32,
        domain: Option<&RemoteNonnullDomain>,
    ) -> Result<i32, RemoteError> {
        if !(0..EVENT_ID_LAST).contains(&event_id) {
            return Err(RemoteError::new(
                INVALID_ARG,
                FROM_REMOTE,
                "invalid argument: %s",
                &format!("unsupported event ID {event_id}"),
            ));
        }
        let mut r = self.lock();
        r.callbacks.retain(|c| !c.connection.is_closed());
        let id = r.next_id;
        r.next_id += 1;
        r.callbacks.push(Callback {
            connection: connection.clone(),
            id,
            event_id,
            domain: domain.map(|d| d.uuid),
        });
        Ok(id)
    }

    /// Removes a callback of `connection`.
    pub fn deregister(&self, connection: &Connection, id: i32) -> Result<(), RemoteError> {
        let mut r = self.lock();
        let before = r.callbacks.len();
        r.callbacks
            .retain(|c| !(c.id == id && c.connection.id() == connection.id()));
        if r.callbacks.len() == before {
            return Err(RemoteError::new(
                INVALID_ARG,
                FROM_REMOTE,
                "invalid argument: %s",
                &format!("domain event callback {id} not registered"),
            ));
        }
        Ok(())
    }

    /// Removes every callback of `connection` (it is closing).
    pub fn forget(&self, connection: &Connection) {
        self.lock()
            .callbacks
            .retain(|c| c.connection.id() != connection.id());
    }

    /// Sends lifecycle events to every callback that wants them.
    pub fn send(&self, events: &Events) {
        let mut r = self.lock();
        r.callbacks.retain(|c| !c.connection.is_closed());
        for (dom, what) in events {
            for c in &r.callbacks {
                if c.event_id != EVENT_ID_LIFECYCLE || c.domain.is_some_and(|u| u != dom.uuid) {
                    continue;
                }
                let msg = RemoteDomainEventCallbackLifecycleMsg {
                    callback_id: c.id,
                    msg: RemoteDomainEventLifecycleMsg {
                        dom: dom.clone(),
                        event: what.0,
                        detail: what.1,
                    },
                };
                let sent = c.connection.send_event(
                    &REMOTE_PROGRAM_INFO,
                    RemoteProcedure::DomainEventCallbackLifecycle as u32,
                    &msg,
                );
                if let Err(e @ (SendError::Full | SendError::Encode(_))) = sent {
                    eprintln!(
                        "lvirtd: event for connection {} dropped: {e}",
                        c.connection.id()
                    );
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}
