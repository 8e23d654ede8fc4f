//! The words virsh 9.0.0 prints for libvirt's enums: domain states and their reasons
//! (`virsh-domain-monitor.c`), event types and details (`virsh-domain-event.c`). Each table is in
//! the enum's order from 0; a value past its end prints as virsh's fallback word.

/// `virDomainState`, as `list`, `dominfo` and `domstate` print it.
const STATES: &[&str] = &[
    "no state",
    "running",
    "idle",
    "paused",
    "in shutdown",
    "shut off",
    "crashed",
    "pmsuspended",
];

/// The reasons of each state (`virDomain*Reason`), indexed by state.
const STATE_REASONS: &[&[&str]] = &[
    &["unknown"],
    &[
        "unknown",
        "booted",
        "migrated",
        "restored",
        "from snapshot",
        "unpaused",
        "migration canceled",
        "save canceled",
        "event wakeup",
        "crashed",
        "post-copy",
        "post-copy failed",
    ],
    &["unknown"],
    &[
        "unknown",
        "user",
        "migrating",
        "saving",
        "dumping",
        "I/O error",
        "watchdog",
        "from snapshot",
        "shutting down",
        "creating snapshot",
        "crashed",
        "starting up",
        "post-copy",
        "post-copy failed",
    ],
    &["unknown", "user"],
    &[
        "unknown",
        "shutdown",
        "destroyed",
        "crashed",
        "migrated",
        "saved",
        "failed",
        "from snapshot",
        "daemon",
    ],
    &["unknown", "panicked"],
    &["unknown"],
];

/// `virDomainEventID` in virsh 9.0.0's order: the names `event --event NAME` takes and
/// `event --list` prints. The index is the event ID registered with the server.
pub const EVENTS: &[&str] = &[
    "lifecycle",
    "reboot",
    "rtc-change",
    "watchdog",
    "io-error",
    "graphics",
    "io-error-reason",
    "control-error",
    "block-job",
    "disk-change",
    "tray-change",
    "pm-wakeup",
    "pm-suspend",
    "balloon-change",
    "pm-suspend-disk",
    "device-removed",
    "block-job-2",
    "tunable",
    "agent-lifecycle",
    "device-added",
    "migration-iteration",
    "job-completed",
    "device-removal-failed",
    "metadata-change",
    "block-threshold",
    "memory-failure",
    "memory-device-size-change",
];

/// `virDomainEventType`: the first word of a lifecycle event.
const LIFECYCLE: &[&str] = &[
    "Defined",
    "Undefined",
    "Started",
    "Suspended",
    "Resumed",
    "Stopped",
    "Shutdown",
    "PMSuspended",
    "Crashed",
];

/// The details of each lifecycle event type, indexed by type.
const LIFECYCLE_DETAILS: &[&[&str]] = &[
    &["Added", "Updated", "Renamed", "Snapshot"],
    &["Removed", "Renamed"],
    &["Booted", "Migrated", "Restored", "Snapshot", "Event wakeup"],
    &[
        "Paused",
        "Migrated",
        "I/O Error",
        "Watchdog",
        "Restored",
        "Snapshot",
        "API error",
        "Post-copy",
        "Post-copy Error",
    ],
    &[
        "Unpaused",
        "Migrated",
        "Snapshot",
        "Post-copy",
        "Post-copy Error",
    ],
    &[
        "Shutdown",
        "Destroyed",
        "Crashed",
        "Migrated",
        "Saved",
        "Failed",
        "Snapshot",
    ],
    &[
        "Finished",
        "Finished after guest request",
        "Finished after host request",
    ],
    &["Memory", "Disk"],
    &["Panicked", "Crashloaded"],
];

/// `virDomainEventWatchdogAction`.
pub const WATCHDOG_ACTIONS: &[&str] = &[
    "none",
    "pause",
    "reset",
    "poweroff",
    "shutdown",
    "debug",
    "inject-nmi",
];

/// `virDomainEventIOErrorAction`.
pub const IO_ERROR_ACTIONS: &[&str] = &["none", "pause", "report"];

/// `virDomainEventGraphicsPhase`.
pub const GRAPHICS_PHASES: &[&str] = &["connect", "initialize", "disconnect"];

/// `virDomainEventGraphicsAddressType`.
pub const GRAPHICS_ADDRESSES: &[&str] = &["IPv4", "IPv6", "unix"];

/// `virDomainBlockJobType` (fallback "Unknown job").
pub const BLOCK_JOB_TYPES: &[&str] = &[
    "Unknown job",
    "Block Pull",
    "Block Copy",
    "Block Commit",
    "Active Block Commit",
    "Backup",
];

/// `virConnectDomainEventBlockJobStatus`.
pub const BLOCK_JOB_STATUSES: &[&str] = &["completed", "failed", "canceled", "ready"];

/// `virConnectDomainEventDiskChangeReason`.
pub const DISK_CHANGE_REASONS: &[&str] = &["changed", "dropped"];

/// `virDomainEventTrayChangeReason`.
pub const TRAY_CHANGE_REASONS: &[&str] = &["opened", "closed"];

/// `virConnectDomainEventAgentLifecycleState` (fallback "unsupported value").
pub const AGENT_STATES: &[&str] = &["unknown", "connected", "disconnected"];

/// `virConnectDomainEventAgentLifecycleReason` (fallback "unsupported value").
pub const AGENT_REASONS: &[&str] = &["unknown", "domain started", "channel event"];

/// `virDomainMetadataType` (fallback "unsupported value").
pub const METADATA_TYPES: &[&str] = &["description", "title", "element"];

/// `virDomainMemoryFailureRecipientType` (fallback "unsupported value").
pub const MEMORY_FAILURE_RECIPIENTS: &[&str] = &["hypervisor", "guest"];

/// `virDomainMemoryFailureActionType` (fallback "unsupported value").
pub const MEMORY_FAILURE_ACTIONS: &[&str] = &["ignore", "inject", "fatal", "reset"];

/// The entry `value` of `table`, or `fallback` when it has none (negative or past the end).
pub fn lookup(table: &[&'static str], value: i32, fallback: &'static str) -> &'static str {
    usize::try_from(value)
        .ok()
        .and_then(|i| table.get(i).copied())
        .unwrap_or(fallback)
}

/// A domain state as virsh prints it ("no state" when unknown).
pub fn state(state: i32) -> &'static str {
    lookup(STATES, state, "no state")
}

/// The reason of a domain state ("unknown" when unknown).
pub fn state_reason(state: i32, reason: i32) -> &'static str {
    let reasons = usize::try_from(state)
        .ok()
        .and_then(|s| STATE_REASONS.get(s))
        .copied()
        .unwrap_or(&[]);
    lookup(reasons, reason, "unknown")
}

/// A lifecycle event's type and detail ("unknown" for either when unknown).
pub fn lifecycle(event: i32, detail: i32) -> (&'static str, &'static str) {
    let details = usize::try_from(event)
        .ok()
        .and_then(|e| LIFECYCLE_DETAILS.get(e))
        .copied()
        .unwrap_or(&[]);
    (
        lookup(LIFECYCLE, event, "unknown"),
        lookup(details, detail, "unknown"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_and_reasons_fall_back_like_virsh() {
        assert_eq!(state(1), "running");
        assert_eq!(state(5), "shut off");
        assert_eq!(state(8), "no state");
        assert_eq!(state(-1), "no state");
        assert_eq!(state_reason(3, 1), "user");
        assert_eq!(state_reason(5, 2), "destroyed");
        assert_eq!(state_reason(1, -1), "unknown");
        assert_eq!(state_reason(3, 14), "unknown");
        assert_eq!(state_reason(42, 0), "unknown");
    }

    #[test]
    fn lifecycle_words() {
        assert_eq!(lifecycle(3, 0), ("Suspended", "Paused"));
        assert_eq!(lifecycle(4, 0), ("Resumed", "Unpaused"));
        assert_eq!(lifecycle(5, 1), ("Stopped", "Destroyed"));
        assert_eq!(lifecycle(2, 0), ("Started", "Booted"));
        assert_eq!(lifecycle(9, 0), ("unknown", "unknown"));
        assert_eq!(lifecycle(2, 5), ("Started", "unknown"));
    }

    #[test]
    fn virsh_9_0_knows_27_events() {
        assert_eq!(EVENTS.len(), 27);
        assert_eq!(EVENTS[16], "block-job-2");
        assert_eq!(EVENTS[26], "memory-device-size-change");
    }
}
