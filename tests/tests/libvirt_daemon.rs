//! The generated libvirt client against a real libvirtd (Debian's, with the in-memory test
//! driver; a private daemon per test): overlapping calls, cancellation, events, streams,
//! errors, keepalive on a frozen daemon and a killed one.

use std::time::{Duration, Instant};

use protocols::remote_protocol::*;
use protocols::{Connection, OpenOptions};
use xdrgen_runtime::libvirt::{Error, Keepalive, RemoteError};
use xdrgen_tests::daemon::TestDaemon;

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

#[test]
fn open_list_and_lookup_match_the_test_driver() {
    let Some(d) = TestDaemon::start() else { return };
    runtime().block_on(async {
        let conn = Connection::open(&d.uri).await.unwrap();
        let uri = conn.remote.connect_get_uri().await.unwrap().uri;
        assert_eq!(uri.as_str(), "test:///default");
        let all = conn
            .remote
            .connect_list_all_domains(&RemoteConnectListAllDomainsArgs {
                need_results: 1,
                flags: 3,
            })
            .await
            .unwrap();
        let names: Vec<&str> = all.domains.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["test"]);
        let dom = lookup(&conn, "test").await;
        // The UUID that virsh prints for the test driver's domain.
        assert_eq!(
            dom.uuid,
            [
                0x66, 0x95, 0xeb, 0x01, 0xf6, 0xa4, 0x83, 0x04, 0x79, 0xaa, 0x97, 0xf2, 0x50, 0x2e,
                0x19, 0x3f
            ]
        );
        let info = conn
            .remote
            .domain_get_info(&RemoteDomainGetInfoArgs { dom })
            .await
            .unwrap();
        assert_eq!((info.nr_virt_cpu, info.max_mem), (2, 8_388_608));
        let node = conn.remote.node_get_info().await.unwrap();
        assert_eq!((node.cpus, node.memory), (16, 3_145_728));
        conn.close().await.unwrap();
    });
}

#[test]
fn a_missing_domain_is_libvirts_error_with_its_code() {
    let Some(d) = TestDaemon::start() else { return };
    runtime().block_on(async {
        let conn = Connection::open(&d.uri).await.unwrap();
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
        assert_eq!(lookup(&conn, "test").await.name.as_str(), "test");
    });
}

#[test]
fn ten_thousand_calls_from_64_tasks_while_an_unread_subscription_overflows() {
    let Some(d) = TestDaemon::start() else { return };
    runtime().block_on(async {
        let conn = Connection::open(&d.uri).await.unwrap();
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
        let driver = Connection::open(&d.uri).await.unwrap();
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
                        assert_eq!((info.nr_virt_cpu, info.max_mem), (2, 8_388_608));
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

#[test]
fn a_thousand_dropped_calls_leave_no_pending_entry() {
    let Some(d) = TestDaemon::start() else { return };
    runtime().block_on(async {
        let conn = Connection::open(&d.uri).await.unwrap();
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
        assert!(xml.xml.as_str().contains("<name>test</name>"));
        assert_eq!(conn.client().in_flight(), (0, 0));
    });
}

#[test]
fn lifecycle_events_arrive_in_order() {
    let Some(d) = TestDaemon::start() else { return };
    runtime().block_on(async {
        let conn = Connection::open(&d.uri).await.unwrap();
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
            assert_eq!(m.msg.dom.name.as_str(), "test");
            assert_eq!((m.msg.event, m.msg.detail), w);
        }
        assert_eq!(events.dropped(), 0);
    });
}

#[test]
fn screenshot_streams_the_png_and_finishes() {
    let Some(d) = TestDaemon::start() else { return };
    let from_virsh = d.dir.join("virsh.png");
    let (code, _, err) = d.virsh(&["screenshot", "test", from_virsh.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let want = std::fs::read(&from_virsh).unwrap();
    runtime().block_on(async {
        let conn = Connection::open(&d.uri).await.unwrap();
        let dom = lookup(&conn, "test").await;
        let args = RemoteDomainScreenshotArgs {
            dom,
            screen: 0,
            flags: 0,
        };
        let (ret, stream) = conn.remote.domain_screenshot(&args).await.unwrap();
        assert_eq!(ret.mime.as_ref().map(|m| m.as_str()), Some("image/png"));
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

#[test]
fn a_frozen_daemon_fails_pending_calls_through_keepalive() {
    let Some(d) = TestDaemon::start() else { return };
    runtime().block_on(async {
        let conn = Connection::open_with(&d.uri, fast_keepalive())
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

#[test]
fn a_killed_daemon_fails_pending_calls_at_once() {
    let Some(d) = TestDaemon::start() else { return };
    runtime().block_on(async {
        let conn = Connection::open(&d.uri).await.unwrap();
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

#[test]
fn the_command_transport_carries_the_connection_over_a_commands_stdio() {
    let Some(d) = TestDaemon::start() else { return };
    // Our own stdio-to-socket bridge, standing where ssh + nc (or virt-ssh-helper) would.
    let bridge = d.dir.join("bridge");
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
        d.socket.display().to_string()
    );
    std::fs::write(&bridge, script).unwrap();
    let status = std::process::Command::new("chmod")
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
