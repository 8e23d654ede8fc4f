//! The generated libvirt client's suite against a running daemon: overlapping calls,
//! cancellation, events, streams, errors, keepalive on a frozen daemon and a killed one, and
//! the command transport.
//!
//! Each test is a `pub fn` taking the [`Daemon`] under test, a fresh one per test: the
//! suite runs against a private libvirtd with the test driver
//! ([`TestDaemon`](crate::daemon::TestDaemon), `tests/tests/libvirt_daemon.rs`) and against
//! `lvirtd` (`build-example/tests/client_suite_vs_lvirtd.rs`). [`client_suite_tests!`](crate::client_suite_tests!)
//! writes one `#[test]` per suite function, so that both run the whole suite.
//!
//! What a test expects of the daemon's state (domain names, UUID, vCPUs, memory, node info,
//! the screenshot's bytes) comes from `virsh` run against the same daemon, never from the
//! client under test. The URI that connect-get-uri answers is the test driver's,
//! `test:///default`, which both daemons serve (virsh's `uri` prints the client's URI, so it
//! cannot tell).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use protocols::remote_protocol::*;
use protocols::{Connection, OpenOptions};
use xdrgen_runtime::libvirt::{Error, Keepalive, RemoteError};

/// A daemon that serves libvirt's test driver (`test:///default`) on a unix socket, fresh
/// for each test (one running domain `test`).
pub trait Daemon {
    /// What virsh and our clients connect to (`test+unix:///default?socket=…`).
    fn uri(&self) -> &str;
    /// Its unix socket.
    fn socket(&self) -> &Path;
    /// A private directory the test may write files into.
    fn dir(&self) -> &Path;
    /// Sends a signal to the daemon's process (`STOP`, `CONT`, `KILL`).
    fn signal(&self, name: &str);
}

impl Daemon for crate::daemon::TestDaemon {
    fn uri(&self) -> &str {
        &self.uri
    }
    fn socket(&self) -> &Path {
        &self.socket
    }
    fn dir(&self) -> &Path {
        &self.dir
    }
    fn signal(&self, name: &str) {
        crate::daemon::TestDaemon::signal(self, name);
    }
}

/// One `#[test]` per suite function, each with a fresh daemon from `$start` (an expression
/// of type `Option<impl Daemon>`; `None` skips the test).
#[macro_export]
macro_rules! client_suite_tests {
    ($start:expr) => {
        $crate::client_suite_tests!(
            $start;
            open_list_and_lookup_match_the_daemons_state,
            a_missing_domain_is_libvirts_error_with_its_code,
            ten_thousand_calls_from_64_tasks_while_an_unread_subscription_overflows,
            a_thousand_dropped_calls_leave_no_pending_entry,
            lifecycle_events_arrive_in_order,
            screenshot_streams_the_png_and_finishes,
            a_frozen_daemon_fails_pending_calls_through_keepalive,
            a_killed_daemon_fails_pending_calls_at_once,
            the_command_transport_carries_the_connection_over_a_commands_stdio,
        );
    };
    ($start:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let Some(d) = $start else { return };
                $crate::client_suite::$name(&d);
            }
        )*
    };
}

/// The URI connect-get-uri answers on the test driver.
pub const TEST_DRIVER_URI: &str = "test:///default";

/// Runs `virsh -c URI ARGS…` against the daemon; requires success; returns stdout.
pub fn virsh(d: &dyn Daemon, args: &[&str]) -> String {
    let out = Command::new("virsh")
        .arg("-c")
        .arg(d.uri())
        .args(args)
        .output()
        .expect("virsh runs");
    assert!(
        out.status.success(),
        "virsh {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The number on the line `key` of virsh's `key: value [unit]` output.
fn field(out: &str, key: &str) -> u64 {
    out.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no number for {key:?} in {out}"))
}

/// What `virsh dominfo NAME` says: (vCPUs, max memory in KiB).
fn virsh_dominfo(d: &dyn Daemon, name: &str) -> (u16, u64) {
    let out = virsh(d, &["dominfo", name]);
    (field(&out, "CPU(s):") as u16, field(&out, "Max memory:"))
}

/// What `virsh domuuid NAME` says, as bytes.
fn virsh_uuid(d: &dyn Daemon, name: &str) -> [u8; 16] {
    let out = virsh(d, &["domuuid", name]);
    let hex: String = out.trim().chars().filter(|c| *c != '-').collect();
    assert_eq!(hex.len(), 32, "a UUID: {out}");
    let mut uuid = [0u8; 16];
    for (i, b) in uuid.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex");
    }
    uuid
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn lookup(conn: &Connection, name: &str) -> RemoteNonnullDomain {
    let args = RemoteDomainLookupByNameArgs {
        name: name.try_into().unwrap(),
    };
    conn.remote.domain_lookup_by_name(&args).await.unwrap().dom
}

async fn state(conn: &Connection, dom: &RemoteNonnullDomain) -> i32 {
    let args = RemoteDomainGetStateArgs {
        dom: dom.clone(),
        flags: 0,
    };
    conn.remote.domain_get_state(&args).await.unwrap().state
}

/// virDomainState values (libvirt-domain.h).
const RUNNING: i32 = 1;
const PAUSED: i32 = 3;

/// Open, URI, list, lookup, info and node info, against what virsh reports of the daemon.
pub fn open_list_and_lookup_match_the_daemons_state(d: &dyn Daemon) {
    let names_from_virsh: Vec<String> = virsh(d, &["list", "--all", "--name"])
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    assert_eq!(names_from_virsh, ["test"], "the test driver's start state");
    let uuid = virsh_uuid(d, "test");
    let info_from_virsh = virsh_dominfo(d, "test");
    let nodeinfo = virsh(d, &["nodeinfo"]);
    let node_from_virsh = (
        field(&nodeinfo, "CPU(s):") as i32,
        field(&nodeinfo, "Memory size:"),
    );
    runtime().block_on(async {
        let conn = Connection::open(d.uri()).await.unwrap();
        let uri = conn.remote.connect_get_uri().await.unwrap().uri;
        assert_eq!(uri.as_str(), Ok(TEST_DRIVER_URI));
        let all = conn
            .remote
            .connect_list_all_domains(&RemoteConnectListAllDomainsArgs {
                need_results: 1,
                flags: 3,
            })
            .await
            .unwrap();
        let names: Vec<&str> = all
            .domains
            .iter()
            .map(|d| d.name.as_str().expect("UTF-8 names"))
            .collect();
        assert_eq!(names, names_from_virsh);
        let dom = lookup(&conn, "test").await;
        assert_eq!(dom.uuid, uuid, "the UUID virsh prints");
        let info = conn
            .remote
            .domain_get_info(&RemoteDomainGetInfoArgs { dom })
            .await
            .unwrap();
        assert_eq!((info.nr_virt_cpu, info.max_mem), info_from_virsh);
        let node = conn.remote.node_get_info().await.unwrap();
        assert_eq!((node.cpus, node.memory), node_from_virsh);
        conn.close().await.unwrap();
    });
}

/// A lookup of a domain that does not exist.
pub fn a_missing_domain_is_libvirts_error_with_its_code(d: &dyn Daemon) {
    runtime().block_on(async {
        let conn = Connection::open(d.uri()).await.unwrap();
        let args = RemoteDomainLookupByNameArgs {
            name: "nosuchdomain".try_into().unwrap(),
        };
        let e = conn.remote.domain_lookup_by_name(&args).await.unwrap_err();
        let r = e.remote().expect("a libvirt error");
        assert_eq!(r.code, RemoteError::NO_DOMAIN);
        assert_eq!(r.level, 2);
        assert!(
            r.message.as_deref().unwrap().contains("Domain not found"),
            "{r:?}"
        );
        // The connection is still good.
        assert_eq!(lookup(&conn, "test").await.name.as_str(), Ok("test"));
    });
}

/// 10 000 overlapping calls on one connection, while events fire from another connection
/// into a subscription that is never read.
pub fn ten_thousand_calls_from_64_tasks_while_an_unread_subscription_overflows(d: &dyn Daemon) {
    let want_info = virsh_dominfo(d, "test");
    runtime().block_on(async {
        let conn = Connection::open(d.uri()).await.unwrap();
        let dom = lookup(&conn, "test").await;
        // A subscriber that never reads, and events that keep firing from another connection.
        let never_read = conn.remote.events(8);
        conn.remote
            .connect_domain_event_callback_register_any(
                &RemoteConnectDomainEventCallbackRegisterAnyArgs {
                    event_id: 0,
                    dom: None,
                },
            )
            .await
            .unwrap();
        let driver = Connection::open(d.uri()).await.unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flipper = {
            let (dom, stop) = (dom.clone(), stop.clone());
            tokio::spawn(async move {
                let mut flips = 0u32;
                // At least 20 events, more than the subscriber's queue holds.
                while flips < 20 || !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let args = RemoteDomainSuspendArgs { dom: dom.clone() };
                    driver.remote.domain_suspend(&args).await.unwrap();
                    let args = RemoteDomainResumeArgs { dom: dom.clone() };
                    driver.remote.domain_resume(&args).await.unwrap();
                    flips += 2;
                }
                flips
            })
        };
        let tasks: Vec<_> = (0..64)
            .map(|t| {
                let (conn, dom) = (conn.clone(), dom.clone());
                tokio::spawn(async move {
                    let calls = if t < 16 { 157 } else { 156 };
                    for _ in 0..calls {
                        let args = RemoteDomainGetInfoArgs { dom: dom.clone() };
                        let info = conn.remote.domain_get_info(&args).await.unwrap();
                        assert_eq!((info.nr_virt_cpu, info.max_mem), want_info);
                        assert!(info.state == RUNNING as u8 || info.state == PAUSED as u8);
                    }
                    calls
                })
            })
            .collect();
        let mut total = 0;
        for t in tasks {
            total += t.await.unwrap();
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let flips = flipper.await.unwrap();
        assert_eq!(total, 10_000);
        // Every event beyond the 8 queued is dropped, and counted (the last ones may still be
        // on their way: wait for them).
        let deadline = Instant::now() + Duration::from_secs(10);
        while never_read.dropped() + 8 < u64::from(flips) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(never_read.dropped() + 8, u64::from(flips));
        assert_eq!(conn.client().in_flight(), (0, 0));
    });
}

/// A thousand calls dropped mid-flight.
pub fn a_thousand_dropped_calls_leave_no_pending_entry(d: &dyn Daemon) {
    runtime().block_on(async {
        let conn = Connection::open(d.uri()).await.unwrap();
        let dom = lookup(&conn, "test").await;
        let calls: Vec<_> = (0..1000)
            .map(|_| {
                let (conn, dom) = (conn.clone(), dom.clone());
                tokio::spawn(async move {
                    let args = RemoteDomainGetXmlDescArgs { dom, flags: 0 };
                    conn.remote.domain_get_xml_desc(&args).await
                })
            })
            .collect();
        // Let some go out, then drop them all mid-flight.
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(2)).await;
        for c in &calls {
            c.abort();
        }
        let mut cancelled = 0;
        for c in calls {
            if c.await.is_err() {
                cancelled += 1;
            }
        }
        assert!(cancelled > 0, "no call was still in flight");
        assert_eq!(conn.client().in_flight(), (0, 0));
        // The connection is still usable, and the late replies were discarded.
        let xml = conn
            .remote
            .domain_get_xml_desc(&RemoteDomainGetXmlDescArgs { dom, flags: 0 })
            .await
            .unwrap();
        assert!(xml.xml.to_str_lossy().contains("<name>test</name>"));
        assert_eq!(conn.client().in_flight(), (0, 0));
    });
}

/// Suspend, resume, destroy and create, and the lifecycle events they cause.
pub fn lifecycle_events_arrive_in_order(d: &dyn Daemon) {
    runtime().block_on(async {
        let conn = Connection::open(d.uri()).await.unwrap();
        let dom = lookup(&conn, "test").await;
        let mut events = conn.remote.events(64);
        let reg = conn
            .remote
            .connect_domain_event_callback_register_any(
                &RemoteConnectDomainEventCallbackRegisterAnyArgs {
                    event_id: 0,
                    dom: None,
                },
            )
            .await
            .unwrap();
        let r = &conn.remote;
        r.domain_suspend(&RemoteDomainSuspendArgs { dom: dom.clone() })
            .await
            .unwrap();
        assert_eq!(state(&conn, &dom).await, PAUSED);
        r.domain_resume(&RemoteDomainResumeArgs { dom: dom.clone() })
            .await
            .unwrap();
        r.domain_destroy(&RemoteDomainDestroyArgs { dom: dom.clone() })
            .await
            .unwrap();
        r.domain_create(&RemoteDomainCreateArgs { dom: dom.clone() })
            .await
            .unwrap();
        assert_eq!(state(&conn, &dom).await, RUNNING);
        // (event, detail): Suspended Paused, Resumed Unpaused, Stopped Destroyed, Started Booted.
        let want = [(3, 0), (4, 0), (5, 1), (2, 0)];
        for w in want {
            let e = tokio::time::timeout(Duration::from_secs(10), events.recv())
                .await
                .expect("an event within 10 s")
                .unwrap()
                .unwrap();
            let RemoteEvent::DomainEventCallbackLifecycle(m) = e else {
                panic!("{e:?}")
            };
            assert_eq!(m.callback_id, reg.callback_id);
            assert_eq!(m.msg.dom.name.as_str(), Ok("test"));
            assert_eq!((m.msg.event, m.msg.detail), w);
        }
        assert_eq!(events.dropped(), 0);
    });
}

/// The screenshot stream, against the bytes virsh saved from the same daemon.
pub fn screenshot_streams_the_png_and_finishes(d: &dyn Daemon) {
    let from_virsh = d.dir().join("virsh.png");
    virsh(d, &["screenshot", "test", from_virsh.to_str().unwrap()]);
    let want = std::fs::read(&from_virsh).unwrap();
    runtime().block_on(async {
        let conn = Connection::open(d.uri()).await.unwrap();
        let dom = lookup(&conn, "test").await;
        let args = RemoteDomainScreenshotArgs {
            dom,
            screen: 0,
            flags: 0,
        };
        let (ret, stream) = conn.remote.domain_screenshot(&args).await.unwrap();
        assert_eq!(ret.mime.as_ref().map(|m| m.as_str()), Some(Ok("image/png")));
        let got = stream.read_all(64 << 20).await.unwrap();
        assert_eq!(got, want, "the bytes virsh saved");
        assert_eq!(conn.client().in_flight(), (0, 0));
        // The stream's handshake left the connection usable.
        conn.remote.node_get_info().await.unwrap();
    });
}

/// `n` calls of `domain_get_info`, each in its own task.
fn get_info_calls(
    conn: &Connection,
    dom: &RemoteNonnullDomain,
    n: usize,
) -> Vec<tokio::task::JoinHandle<Result<RemoteDomainGetInfoRet, Error>>> {
    (0..n)
        .map(|_| {
            let (conn, dom) = (conn.clone(), dom.clone());
            tokio::spawn(async move {
                conn.remote
                    .domain_get_info(&RemoteDomainGetInfoArgs { dom })
                    .await
            })
        })
        .collect()
}

fn fast_keepalive() -> OpenOptions {
    OpenOptions {
        keepalive: Some(Keepalive {
            interval: Duration::from_secs(1),
            count: 2,
        }),
        ..OpenOptions::default()
    }
}

/// A daemon frozen (SIGSTOP) with calls pending: keepalive fails them.
pub fn a_frozen_daemon_fails_pending_calls_through_keepalive(d: &dyn Daemon) {
    runtime().block_on(async {
        let conn = Connection::open_with(d.uri(), fast_keepalive())
            .await
            .unwrap();
        let dom = lookup(&conn, "test").await;
        d.signal("STOP");
        let start = Instant::now();
        let pending = get_info_calls(&conn, &dom, 8);
        for p in pending {
            let e = tokio::time::timeout(Duration::from_secs(20), p)
                .await
                .expect("pending calls fail, never hang")
                .unwrap()
                .unwrap_err();
            assert!(e.to_string().contains("no keepalive response"), "{e}");
            assert!(matches!(e, Error::Closed(Some(_))), "{e:?}");
        }
        // interval × (count + 1) = 3 s, plus a margin for a loaded machine.
        let took = start.elapsed();
        assert!(took < Duration::from_secs(8), "took {took:?}");
        assert_eq!(conn.client().in_flight(), (0, 0));
        d.signal("CONT");
    });
}

/// A daemon killed (SIGKILL) with calls pending: they fail at once.
pub fn a_killed_daemon_fails_pending_calls_at_once(d: &dyn Daemon) {
    runtime().block_on(async {
        let conn = Connection::open(d.uri()).await.unwrap();
        let dom = lookup(&conn, "test").await;
        d.signal("STOP");
        let pending = get_info_calls(&conn, &dom, 8);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let start = Instant::now();
        d.signal("KILL");
        for p in pending {
            let e = tokio::time::timeout(Duration::from_secs(5), p)
                .await
                .expect("pending calls fail at once")
                .unwrap()
                .unwrap_err();
            assert!(matches!(e, Error::Closed(Some(_))), "{e:?}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
        let e = conn.remote.node_get_info().await.unwrap_err();
        assert!(matches!(e, Error::Closed(Some(_))), "{e:?}");
    });
}

/// `test+ext:///default?command=…`: the connection over a command's stdin and stdout.
pub fn the_command_transport_carries_the_connection_over_a_commands_stdio(d: &dyn Daemon) {
    // Our own stdio-to-socket bridge, standing where ssh + nc (or virt-ssh-helper) would.
    let bridge = d.dir().join("bridge");
    let script = format!(
        "#!/usr/bin/env python3\n\
         import os, socket, threading\n\
         s = socket.socket(socket.AF_UNIX)\n\
         s.connect({:?})\n\
         def up():\n\
         \x20   while True:\n\
         \x20       b = os.read(0, 65536)\n\
         \x20       if not b:\n\
         \x20           s.shutdown(socket.SHUT_WR)\n\
         \x20           return\n\
         \x20       s.sendall(b)\n\
         threading.Thread(target=up, daemon=True).start()\n\
         while True:\n\
         \x20   b = s.recv(65536)\n\
         \x20   if not b:\n\
         \x20       break\n\
         \x20   os.write(1, b)\n",
        d.socket().display().to_string()
    );
    std::fs::write(&bridge, script).unwrap();
    let status = Command::new("chmod")
        .arg("+x")
        .arg(&bridge)
        .status()
        .unwrap();
    assert!(status.success());
    let uri = format!("test+ext:///default?command={}", bridge.display());
    runtime().block_on(async {
        let conn = Connection::open(&uri).await.unwrap();
        assert_eq!(conn.uri(), uri);
        let dom = lookup(&conn, "test").await;
        assert_eq!(state(&conn, &dom).await, RUNNING);
        conn.close().await.unwrap();
    });
}
