//! `event`: waits for domain events and prints each as virsh 9.0.0 does
//! (`tools/virsh-domain-event.c`).
//!
//! The subscription to the connection's events is taken before any callback is registered, so
//! no event the daemon sends after a registration can be missed. Each callback registered
//! (`CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY`) gets an id from the daemon; events carry it,
//! which names the event type even where two types share a message (`block-job` and
//! `block-job-2`).

use std::collections::HashMap;
use std::time::Duration;

use protocols::remote_protocol::*;
use protocols::Connection;
use tokio::signal::unix::{signal, SignalKind};
use tokio::time::Instant;

use crate::commands::{lookup, By, CmdResult, Failure, Out};
use crate::names::{self, lookup as word, EVENTS};

/// Events queued by the connection before this command prints them.
const QUEUE: usize = 1024;

/// What `event` was asked for.
#[derive(Debug, Clone, Default)]
pub struct EventArgs {
    /// Only events of this domain (id, UUID or name).
    pub domain: Option<String>,
    /// Only this event type.
    pub event: Option<String>,
    /// Every event type.
    pub all: bool,
    /// Go on until the timeout or an interrupt, rather than stop after one event.
    pub looping: bool,
    /// Stop after this many seconds.
    pub timeout: Option<u32>,
    /// Only list the event types.
    pub list: bool,
    /// Prefix each event with the time (UTC).
    pub timestamp: bool,
}

/// How the wait ended.
enum End {
    /// One event, without `--loop`.
    Done,
    TimedOut,
    Interrupted,
    /// The connection closed under us.
    Closed,
}

/// `event [DOMAIN] [--event NAME | --all | --list] [--loop] [--timeout S] [--timestamp]`.
///
/// Like virsh it prints `events received: N` at the end and fails (silently) when N is 0.
pub async fn event(conn: &Connection, out: &mut Out, args: &EventArgs) -> CmdResult {
    if args.list {
        out.print(&EVENTS.iter().map(|e| format!("{e}\n")).collect::<String>());
        return Ok(());
    }
    let ids: Vec<i32> = match (&args.event, args.all) {
        (Some(name), _) => match EVENTS.iter().position(|e| e == name) {
            Some(i) => vec![i as i32],
            None => return Err(Failure::msg(format!("unknown event type {name}"))),
        },
        (None, true) => (0..EVENTS.len() as i32).collect(),
        (None, false) => {
            return Err(Failure::msg(
                "one of --list, --all, or --event <type> is required",
            ))
        }
    };
    let dom = match &args.domain {
        Some(d) => Some(lookup(conn, d, By::Any).await?),
        None => None,
    };
    // virsh's clock starts before it registers, and so does ours.
    let deadline = args
        .timeout
        .map(|s| Instant::now() + Duration::from_secs(u64::from(s)));
    // Installed before registering: an interrupt from then on ends the loop cleanly.
    let mut interrupt = signal(SignalKind::interrupt())
        .map_err(|e| Failure::msg(format!("cannot catch SIGINT: {e}")))?;
    let mut events = conn.remote.events(QUEUE);
    let mut callbacks: HashMap<i32, &'static str> = HashMap::new();
    for (n, &id) in ids.iter().enumerate() {
        let register = RemoteConnectDomainEventCallbackRegisterAnyArgs {
            event_id: id,
            dom: dom.clone(),
        };
        match conn
            .remote
            .connect_domain_event_callback_register_any(&register)
            .await
        {
            Ok(r) => {
                callbacks.insert(r.callback_id, EVENTS[id as usize]);
            }
            Err(e) if n == 0 => return Err(Failure::libvirt(&e)),
            // As virsh assumes: an older daemon that knows fewer event types.
            Err(_) => {}
        }
    }

    let timeout = async {
        match deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(timeout);
    let mut count = 0u64;
    let end = loop {
        let next = tokio::select! {
            next = events.recv() => next,
            () = &mut timeout => break End::TimedOut,
            _ = interrupt.recv() => break End::Interrupted,
        };
        let event = match next {
            None => break End::Closed,
            // A message this client cannot decode is not one virsh would print either.
            Some(Err(_)) => continue,
            Some(Ok(event)) => event,
        };
        let Some(text) = describe(&event, |cb| callbacks.get(&cb).copied()) else {
            continue;
        };
        if args.timestamp {
            let now = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S%.3f+0000");
            out.print(&format!("{now}: {text}"));
        } else {
            out.print(&text);
        }
        count += 1;
        if !args.looping {
            break End::Done;
        }
    };
    match end {
        End::TimedOut => out.print("event loop timed out\n"),
        End::Interrupted => out.print("event loop interrupted\n"),
        End::Done | End::Closed => {}
    }
    out.print(&format!("events received: {count}\n"));
    if let End::Closed = end {
        return Err(Failure::msg(format!(
            "Disconnected from {} due to end of file",
            conn.uri()
        )));
    }
    for callback_id in callbacks.keys() {
        let args = RemoteConnectDomainEventCallbackDeregisterAnyArgs {
            callback_id: *callback_id,
        };
        let _ = conn
            .remote
            .connect_domain_event_callback_deregister_any(&args)
            .await;
    }
    if count == 0 {
        return Err(Failure::default());
    }
    Ok(())
}

/// NULLSTR: a missing string prints as `<null>`.
fn null_str(s: &RemoteString) -> std::borrow::Cow<'_, str> {
    s.as_ref()
        .map_or(std::borrow::Cow::Borrowed("<null>"), |s| s.to_str_lossy())
}

/// UNKNOWNSTR: an enum value past virsh's table prints as `unsupported value`.
fn known(table: &[&'static str], value: i32) -> &'static str {
    word(table, value, "unsupported value")
}

/// An event's text as virsh prints it (one or more lines, each ending in `\n`), or `None` for
/// a message of no callback of ours. `name_of` gives the event type name of a callback id.
pub fn describe(
    event: &RemoteEvent,
    name_of: impl Fn(i32) -> Option<&'static str>,
) -> Option<String> {
    use RemoteEvent as E;
    let callback_id = match event {
        E::DomainEventCallbackLifecycle(m) => m.callback_id,
        E::DomainEventCallbackReboot(m) => m.callback_id,
        E::DomainEventCallbackRtcChange(m) => m.callback_id,
        E::DomainEventCallbackWatchdog(m) => m.callback_id,
        E::DomainEventCallbackIoError(m) => m.callback_id,
        E::DomainEventCallbackGraphics(m) => m.callback_id,
        E::DomainEventCallbackIoErrorReason(m) => m.callback_id,
        E::DomainEventCallbackControlError(m) => m.callback_id,
        E::DomainEventCallbackBlockJob(m) => m.callback_id,
        E::DomainEventCallbackDiskChange(m) => m.callback_id,
        E::DomainEventCallbackTrayChange(m) => m.callback_id,
        E::DomainEventCallbackPmwakeup(m) => m.callback_id,
        E::DomainEventCallbackPmsuspend(m) => m.callback_id,
        E::DomainEventCallbackBalloonChange(m) => m.callback_id,
        E::DomainEventCallbackPmsuspendDisk(m) => m.callback_id,
        E::DomainEventCallbackDeviceRemoved(m) => m.callback_id,
        E::DomainEventBlockJob2(m) => m.callback_id,
        E::DomainEventCallbackTunable(m) => m.callback_id,
        E::DomainEventCallbackAgentLifecycle(m) => m.callback_id,
        E::DomainEventCallbackDeviceAdded(m) => m.callback_id,
        E::DomainEventCallbackMigrationIteration(m) => m.callback_id,
        E::DomainEventCallbackJobCompleted(m) => m.callback_id,
        E::DomainEventCallbackDeviceRemovalFailed(m) => m.callback_id,
        E::DomainEventCallbackMetadataChange(m) => m.callback_id,
        E::DomainEventBlockThreshold(m) => m.callback_id,
        E::DomainEventMemoryFailure(m) => m.callback_id,
        E::DomainEventMemoryDeviceSizeChange(m) => m.callback_id,
        // Legacy (non-callback) messages, and events of other objects: not registered here.
        _ => return None,
    };
    let name = name_of(callback_id)?;
    let generic = |dom: &RemoteNonnullDomain| {
        format!("event '{name}' for domain '{}'\n", dom.name.to_str_lossy())
    };
    let block_job = |dom: &RemoteNonnullDomain, disk: &str, kind: i32, status: i32| {
        format!(
            "event '{name}' for domain '{}': {} for {disk} {}\n",
            dom.name.to_str_lossy(),
            word(names::BLOCK_JOB_TYPES, kind, "Unknown job"),
            word(names::BLOCK_JOB_STATUSES, status, "unknown"),
        )
    };
    let text = match event {
        E::DomainEventCallbackLifecycle(m) => {
            let (kind, detail) = names::lifecycle(m.msg.event, m.msg.detail);
            format!(
                "event 'lifecycle' for domain '{}': {kind} {detail}\n",
                m.msg.dom.name.to_str_lossy()
            )
        }
        E::DomainEventCallbackReboot(m) => generic(&m.msg.dom),
        E::DomainEventCallbackRtcChange(m) => format!(
            "event 'rtc-change' for domain '{}': {}\n",
            m.msg.dom.name.to_str_lossy(),
            m.msg.offset
        ),
        E::DomainEventCallbackWatchdog(m) => format!(
            "event 'watchdog' for domain '{}': {}\n",
            m.msg.dom.name.to_str_lossy(),
            word(names::WATCHDOG_ACTIONS, m.msg.action, "unknown")
        ),
        E::DomainEventCallbackIoError(m) => format!(
            "event 'io-error' for domain '{}': {} ({}) {}\n",
            m.msg.dom.name.to_str_lossy(),
            m.msg.src_path.to_str_lossy(),
            m.msg.dev_alias.to_str_lossy(),
            word(names::IO_ERROR_ACTIONS, m.msg.action, "unknown")
        ),
        E::DomainEventCallbackGraphics(m) => {
            let g = &m.msg;
            let address = |a: &RemoteDomainEventGraphicsAddress| {
                format!(
                    "{} {} {}",
                    word(names::GRAPHICS_ADDRESSES, a.family, "unknown"),
                    a.node.to_str_lossy(),
                    a.service.to_str_lossy()
                )
            };
            let mut text = format!(
                "event 'graphics' for domain '{}': {} local[{}] remote[{}] {}\n",
                g.dom.name.to_str_lossy(),
                word(names::GRAPHICS_PHASES, g.phase, "unknown"),
                address(&g.local),
                address(&g.remote),
                g.auth_scheme.to_str_lossy()
            );
            for id in g.subject.iter() {
                text.push_str(&format!(
                    "\t{}={}\n",
                    id.r#type.to_str_lossy(),
                    id.name.to_str_lossy()
                ));
            }
            text
        }
        E::DomainEventCallbackIoErrorReason(m) => format!(
            "event 'io-error-reason' for domain '{}': {} ({}) {} due to {}\n",
            m.msg.dom.name.to_str_lossy(),
            m.msg.src_path.to_str_lossy(),
            m.msg.dev_alias.to_str_lossy(),
            word(names::IO_ERROR_ACTIONS, m.msg.action, "unknown"),
            m.msg.reason.to_str_lossy()
        ),
        E::DomainEventCallbackControlError(m) => generic(&m.msg.dom),
        E::DomainEventCallbackBlockJob(m) => block_job(
            &m.msg.dom,
            &m.msg.path.to_str_lossy(),
            m.msg.r#type,
            m.msg.status,
        ),
        E::DomainEventBlockJob2(m) => block_job(&m.dom, &m.dst.to_str_lossy(), m.r#type, m.status),
        E::DomainEventCallbackDiskChange(m) => format!(
            "event 'disk-change' for domain '{}' disk {}: {} -> {}: {}\n",
            m.msg.dom.name.to_str_lossy(),
            m.msg.dev_alias.to_str_lossy(),
            null_str(&m.msg.old_src_path),
            null_str(&m.msg.new_src_path),
            word(names::DISK_CHANGE_REASONS, m.msg.reason, "unknown")
        ),
        E::DomainEventCallbackTrayChange(m) => format!(
            "event 'tray-change' for domain '{}' disk {}: {}\n",
            m.msg.dom.name.to_str_lossy(),
            m.msg.dev_alias.to_str_lossy(),
            word(names::TRAY_CHANGE_REASONS, m.msg.reason, "unknown")
        ),
        // libvirt defines no reasons for PM events: virsh prints them as generic events.
        E::DomainEventCallbackPmwakeup(m) => generic(&m.msg.dom),
        E::DomainEventCallbackPmsuspend(m) => generic(&m.msg.dom),
        E::DomainEventCallbackPmsuspendDisk(m) => generic(&m.msg.dom),
        E::DomainEventCallbackBalloonChange(m) => format!(
            "event 'balloon-change' for domain '{}': {}KiB\n",
            m.msg.dom.name.to_str_lossy(),
            m.msg.actual
        ),
        E::DomainEventCallbackDeviceRemoved(m) => format!(
            "event 'device-removed' for domain '{}': {}\n",
            m.msg.dom.name.to_str_lossy(),
            m.msg.dev_alias.to_str_lossy()
        ),
        E::DomainEventCallbackTunable(m) => typed_params("tunable", &m.dom, m.params.iter()),
        E::DomainEventCallbackAgentLifecycle(m) => format!(
            "event 'agent-lifecycle' for domain '{}': state: '{}' reason: '{}'\n",
            m.dom.name.to_str_lossy(),
            known(names::AGENT_STATES, m.state),
            known(names::AGENT_REASONS, m.reason)
        ),
        E::DomainEventCallbackDeviceAdded(m) => format!(
            "event 'device-added' for domain '{}': {}\n",
            m.dom.name.to_str_lossy(),
            m.dev_alias.to_str_lossy()
        ),
        E::DomainEventCallbackMigrationIteration(m) => format!(
            "event 'migration-iteration' for domain '{}': iteration: '{}'\n",
            m.dom.name.to_str_lossy(),
            m.iteration
        ),
        E::DomainEventCallbackJobCompleted(m) => {
            typed_params("job-completed", &m.dom, m.params.iter())
        }
        E::DomainEventCallbackDeviceRemovalFailed(m) => format!(
            "event 'device-removal-failed' for domain '{}': {}\n",
            m.dom.name.to_str_lossy(),
            m.dev_alias.to_str_lossy()
        ),
        E::DomainEventCallbackMetadataChange(m) => format!(
            "event 'metadata-change' for domain '{}': type {}, uri {}\n",
            m.dom.name.to_str_lossy(),
            known(names::METADATA_TYPES, m.r#type),
            null_str(&m.nsuri)
        ),
        E::DomainEventBlockThreshold(m) => format!(
            "event 'block-threshold' for domain '{}': dev: {}({}) {} {}\n",
            m.dom.name.to_str_lossy(),
            m.dev.to_str_lossy(),
            null_str(&m.path),
            m.threshold,
            m.excess
        ),
        E::DomainEventMemoryFailure(m) => format!(
            "event 'memory-failure' for domain '{}':\nrecipient: {}\naction: {}\n\
             flags:\n\taction required: {}\n\trecursive: {}\n",
            m.dom.name.to_str_lossy(),
            known(names::MEMORY_FAILURE_RECIPIENTS, m.recipient),
            known(names::MEMORY_FAILURE_ACTIONS, m.action),
            m.flags & 1,
            (m.flags >> 1) & 1
        ),
        E::DomainEventMemoryDeviceSizeChange(m) => format!(
            "event 'memory-device-size-change' for domain '{}':\nalias: {}\nsize: {}\n",
            m.dom.name.to_str_lossy(),
            m.alias.to_str_lossy(),
            m.size
        ),
        _ => return None,
    };
    Some(text)
}

/// An event that carries typed parameters: a heading line, then `\tfield: value` each.
fn typed_params<'a>(
    name: &str,
    dom: &RemoteNonnullDomain,
    params: impl Iterator<Item = &'a RemoteTypedParam>,
) -> String {
    let mut text = format!("event '{name}' for domain '{}':\n", dom.name.to_str_lossy());
    for p in params {
        text.push_str(&format!(
            "\t{}: {}\n",
            p.field.to_str_lossy(),
            typed_value(&p.value)
        ));
    }
    text
}

/// `virTypedParameterToString`.
fn typed_value(value: &RemoteTypedParamValue) -> String {
    use RemoteTypedParamValue as V;
    match value {
        V::Int(v) | V::Boolean(v) => v.to_string(),
        V::Uint(v) => v.to_string(),
        V::Llong(v) => v.to_string(),
        V::Ullong(v) => v.to_string(),
        V::Double(v) => c_g(*v),
        V::String(s) => s.to_str_lossy().to_string(),
    }
}

/// C's `printf("%g")`: six significant digits, fixed or exponent notation by the exponent,
/// trailing zeros removed.
fn c_g(v: f64) -> String {
    if v.is_nan() {
        return if v.is_sign_negative() { "-nan" } else { "nan" }.to_string();
    }
    if v.is_infinite() {
        return if v < 0.0 { "-inf" } else { "inf" }.to_string();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // Rounded to six significant digits, the exponent decides the notation.
    let sci = format!("{v:.5e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if (-4..6).contains(&exp) {
        let decimals = (5 - exp) as usize;
        trim(&format!("{v:.decimals$}"))
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa), exp.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xdrgen_runtime::xdr::XdrBytes;

    fn dom() -> RemoteNonnullDomain {
        RemoteNonnullDomain {
            name: XdrBytes::try_from("test").unwrap(),
            uuid: [0; 16],
            id: 1,
        }
    }

    #[test]
    fn lifecycle_events_print_like_virsh() {
        let event =
            RemoteEvent::DomainEventCallbackLifecycle(RemoteDomainEventCallbackLifecycleMsg {
                callback_id: 7,
                msg: RemoteDomainEventLifecycleMsg {
                    dom: dom(),
                    event: 3,
                    detail: 0,
                },
            });
        let ours = |cb| (cb == 7).then_some("lifecycle");
        assert_eq!(
            describe(&event, ours).as_deref(),
            Some("event 'lifecycle' for domain 'test': Suspended Paused\n")
        );
        // Someone else's callback.
        assert_eq!(describe(&event, |_| None), None);
    }

    #[test]
    fn generic_and_block_job_events_take_the_callbacks_name() {
        let reboot = RemoteEvent::DomainEventCallbackReboot(RemoteDomainEventCallbackRebootMsg {
            callback_id: 1,
            msg: RemoteDomainEventRebootMsg { dom: dom() },
        });
        assert_eq!(
            describe(&reboot, |_| Some("reboot")).as_deref(),
            Some("event 'reboot' for domain 'test'\n")
        );
        let job = RemoteEvent::DomainEventBlockJob2(RemoteDomainEventBlockJob2Msg {
            callback_id: 2,
            dom: dom(),
            dst: XdrBytes::try_from("vda").unwrap(),
            r#type: 2,
            status: 3,
        });
        assert_eq!(
            describe(&job, |_| Some("block-job-2")).as_deref(),
            Some("event 'block-job-2' for domain 'test': Block Copy for vda ready\n")
        );
    }

    #[test]
    fn doubles_print_as_c_percent_g() {
        for (v, c) in [
            (1.0, "1"),
            (0.5, "0.5"),
            (123456.0, "123456"),
            (1234567.0, "1.23457e+06"),
            (0.0001, "0.0001"),
            (0.00001234, "1.234e-05"),
            (-2.5, "-2.5"),
            (100.0, "100"),
            (999999.5, "1e+06"),
            (0.0, "0"),
        ] {
            assert_eq!(c_g(v), c, "{v}");
        }
    }
}
