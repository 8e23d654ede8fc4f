//! `lvirtd` (the in-memory hypervisor on the generated `RemoteServer`) driven by the real,
//! unmodified virsh 9.0.0, side by side with libvirtd's test driver (`TestDaemon`): the same
//! commands print the same bytes against both.
//!
//! Compared by shape only, or not compared:
//! - dominfo's "CPU time:" (both derive it from the clock).
//! - `version`: virsh prints its own library's version on the first three lines ("Compiled
//!   against", "Using library", and the API line, which is the hypervisor type with virsh's
//!   library version), so only the type ("TEST"), "Running hypervisor" (lvirtd answers 2, as
//!   the test driver does) and "Running against daemon" (lvirtd answers 9.0.0, the version of
//!   the test daemon installed here) are lvirtd's. All lines are equal here, but the last two
//!   would differ against a libvirtd of another version.
//! - UUIDs made up for a domain defined without one (random on both sides), and the text of
//!   XML syntax errors (libvirt quotes libxml2's).
//! - `uri` echoes the socket path, which differs.
//! - Screenshots and volume upload/download: the test driver serves neither, so they are
//!   checked against what lvirtd served (`build_example::png::screenshot_png`, the uploaded
//!   file).
//!
//! The test driver forgets every change when its last connection closes, so the comparisons
//! that change state keep a connection open to it.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{
    assert_same, lifecycle, loop_end, probe_until_registered, run, virsh, virsh_here,
    wait_until_listening, write_file, Background, Holder, Lvirtd, Run,
};
use xdrgen_tests::daemon::TestDaemon;

/// What these tests do with an lvirtd beside what `common` gives.
impl Lvirtd {
    /// `virsh event [DOMAIN] --loop --event lifecycle --timeout 120`, left running.
    fn event_loop(&self, domain: Option<&str>) -> Background {
        let mut args = vec!["event"];
        args.extend(domain);
        args.extend(["--loop", "--event", "lifecycle", "--timeout", "120"]);
        Background::virsh(&self.uri, &args)
    }

    /// Suspends and resumes `test` (two lifecycle events).
    fn suspend_resume(&self) {
        assert_eq!(self.virsh(&["suspend", "test"]).0, 0);
        assert_eq!(self.virsh(&["resume", "test"]).0, 0);
    }
}

/// libvirtd's test driver to compare with, or `None` (skip) outside CI where libvirtd or
/// virsh is not installed; under CI (`.ci/run` installs them) a daemon that cannot start
/// fails the test.
fn daemon() -> Option<TestDaemon> {
    TestDaemon::start()
}

/// Runs one virsh command against lvirtd and against the test daemon; requires the same
/// output; returns lvirtd's.
fn same(l: &Lvirtd, d: &TestDaemon, args: &[&str]) -> Run {
    let ours = l.virsh(args);
    let theirs = d.virsh(args);
    assert_same(&format!("virsh {args:?}"), &ours, &theirs);
    ours
}

/// A domain definition with a fixed UUID, so that both daemons print the same XML.
const EXTRA_XML: &str = "<domain type='test'>
  <name>extra</name>
  <uuid>5d7ed6c8-2c7b-4c1d-9a59-2a0a3d2f1e11</uuid>
  <memory unit='MiB'>1024</memory>
  <vcpu>3</vcpu>
  <os>
    <type>hvm</type>
  </os>
</domain>
";

#[test]
fn read_only_commands_print_what_the_test_driver_prints() {
    let Some(d) = daemon() else { return };
    let l = Lvirtd::start();
    let uuid = "6695eb01-f6a4-8304-79aa-97f2502e193f";
    for args in [
        &["list", "--all"][..],
        &["list"],
        &["list", "--inactive"],
        &["dominfo", "test"],
        &["dominfo", "1"],
        &["dominfo", uuid],
        &["domstate", "test"],
        &["domstate", "test", "--reason"],
        &["dumpxml", "test"],
        &["dumpxml", "test", "--inactive"],
        &["dumpxml", uuid],
        &["nodeinfo"],
        &["hostname"],
        &["version"],
        &["version", "--daemon"],
    ] {
        let (code, out, _) = same(&l, &d, args);
        assert_eq!(code, 0, "{args:?}");
        assert!(out.ends_with("\n\n"), "{args:?}: {out:?}");
    }
    // What lvirtd itself answers for version (see the module docs).
    let (_, out, _) = l.virsh(&["version", "--daemon"]);
    assert!(out.contains("\nUsing API: TEST "), "{out}");
    assert!(out.contains("\nRunning hypervisor: TEST 0.0.2\n"), "{out}");
    assert!(out.contains("\nRunning against daemon: 9.0.0\n"), "{out}");
    // The start state, spelt out.
    let (_, out, _) = l.virsh(&["dominfo", "test"]);
    for line in [
        "Id:             1",
        "UUID:           6695eb01-f6a4-8304-79aa-97f2502e193f",
        "CPU(s):         2",
        "Max memory:     8388608 KiB",
        "Used memory:    2097152 KiB",
        "Security label: libvirt-test (enforcing)",
    ] {
        assert!(out.lines().any(|l| l == line), "{line:?} in\n{out}");
    }
    // Lookups that fail print virsh's one line.
    for args in [
        &["dominfo", "nosuchdomain"][..],
        &["domstate", "7"],
        &["dumpxml", "6695eb01-f6a4-8304-79aa-97f2502e1930"],
    ] {
        let (code, _, err) = same(&l, &d, args);
        assert_eq!(code, 1);
        assert!(err.starts_with("error: failed to get domain '"), "{err}");
    }
}

#[test]
fn life_cycle_commands_change_state_as_on_the_test_driver() {
    let Some(d) = daemon() else { return };
    let _hold = Holder::open(&d.uri);
    let l = Lvirtd::start();
    let steps: &[&[&str]] = &[
        &["suspend", "test"],
        &["domstate", "test", "--reason"],
        &["list", "--all"],
        &["suspend", "test"],
        &["resume", "test"],
        &["domstate", "test", "--reason"],
        &["resume", "test"],
        &["destroy", "test"],
        &["domstate", "test", "--reason"],
        &["list", "--all"],
        &["list"],
        &["list", "--inactive"],
        &["dominfo", "test"],
        &["dumpxml", "test"],
        &["destroy", "test"],
        &["suspend", "test"],
        &["resume", "test"],
        &["shutdown", "test"],
        &["start", "test"],
        &["start", "test"],
        &["domstate", "test", "--reason"],
        &["dominfo", "test"],
        &["shutdown", "test"],
        &["domstate", "test", "--reason"],
        &["start", "6695eb01-f6a4-8304-79aa-97f2502e193f"],
        &["list", "--all"],
        &["domstate", "3"],
        &["dumpxml", "3"],
    ];
    for args in steps {
        same(&l, &d, args);
    }
    // The states virsh saw, spelt out.
    let state = |args: &[&str]| l.virsh(args).1;
    assert_eq!(
        state(&["domstate", "test", "--reason"]),
        "running (booted)\n\n"
    );
    assert_eq!(state(&["suspend", "test"]), "Domain 'test' suspended\n\n");
    assert_eq!(
        state(&["domstate", "test", "--reason"]),
        "paused (user)\n\n"
    );
    assert_eq!(state(&["resume", "test"]), "Domain 'test' resumed\n\n");
    assert_eq!(state(&["destroy", "test"]), "Domain 'test' destroyed\n\n");
    assert_eq!(
        state(&["domstate", "test", "--reason"]),
        "shut off (destroyed)\n\n"
    );
    assert_eq!(state(&["start", "test"]), "Domain 'test' started\n\n");
    assert_eq!(
        state(&["list"]),
        " Id   Name   State\n----------------------\n 4    test   running\n\n"
    );
}

#[test]
fn define_and_undefine_from_an_xml_file() {
    let Some(d) = daemon() else { return };
    let _hold = Holder::open(&d.uri);
    let l = Lvirtd::start();
    let xml = write_file(&l.dir, "extra.xml", EXTRA_XML);
    let no_os = write_file(
        &l.dir,
        "no-os.xml",
        "<domain type='test'><name>bad</name><memory>1024</memory></domain>",
    );
    let steps: &[&[&str]] = &[
        &["define", &xml],
        &["list", "--all"],
        &["list", "--inactive"],
        &["dumpxml", "extra"],
        &["dominfo", "extra"],
        &["domstate", "extra", "--reason"],
        // The same name and UUID again: an update.
        &["define", &xml],
        &["start", "extra"],
        &["list", "--all"],
        &["dumpxml", "extra"],
        &["dominfo", "extra"],
        &["destroy", "extra"],
        &["undefine", "extra"],
        &["list", "--all"],
        &["dominfo", "extra"],
        // Undefined while running: it runs on, transient, and is gone once destroyed.
        &["define", &xml],
        &["start", "extra"],
        &["undefine", "extra"],
        &["list", "--all"],
        &["destroy", "extra"],
        &["list", "--all"],
        // virsh create: transient from the start.
        &["create", &xml],
        &["list", "--all"],
        &["destroy", "extra"],
        &["list", "--all"],
        &["define", &no_os],
    ];
    for args in steps {
        same(&l, &d, args);
    }
    assert_eq!(
        l.virsh(&["define", &xml]),
        (
            0,
            format!("Domain 'extra' defined from {xml}\n\n"),
            String::new()
        )
    );
    let (_, out, _) = l.virsh(&["dumpxml", "extra"]);
    assert!(
        out.contains("<memory unit='KiB'>1048576</memory>\n"),
        "{out}"
    );
    assert!(out.contains("<vcpu placement='static'>3</vcpu>\n"), "{out}");
    assert_eq!(
        l.virsh(&["undefine", "extra"]),
        (
            0,
            "Domain 'extra' has been undefined\n\n".into(),
            String::new()
        )
    );
    // Without a UUID, each side makes one up: the rest of the output is the same.
    let fresh = write_file(
        &l.dir,
        "fresh.xml",
        "<domain type='kvm'><name>fresh</name><memory>2048</memory>\
         <os><type arch='x86_64'>hvm</type></os></domain>",
    );
    same(&l, &d, &["define", &fresh]);
    let ours = l.virsh(&["dumpxml", "fresh"]);
    let theirs = d.virsh(&["dumpxml", "fresh"]);
    let without_uuid = |s: &str| {
        s.lines()
            .filter(|l| !l.trim_start().starts_with("<uuid>"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(without_uuid(&ours.1), without_uuid(&theirs.1));
    // Defined again without a UUID, the name clashes: libvirt's error names the first UUID.
    let (code, _, err) = l.virsh(&["define", &fresh]);
    assert_eq!(code, 1);
    assert!(
        err.contains("error: operation failed: domain 'fresh' already exists with uuid "),
        "{err}"
    );
}

#[test]
fn an_event_loop_sees_the_lifecycle_events_another_virsh_causes() {
    let Some(l) = Lvirtd::if_virsh() else { return };
    let mut listener = l.event_loop(None);
    // Registered once a suspend/resume pair is heard.
    probe_until_registered(|| l.suspend_resume(), &mut [&mut listener]);
    let probes = listener.seen.len();
    let xml = write_file(&l.dir, "extra.xml", EXTRA_XML);
    for args in [
        &["suspend", "test"][..],
        &["resume", "test"],
        &["destroy", "test"],
        &["start", "test"],
        &["shutdown", "test"],
        &["define", &xml],
        &["start", "extra"],
        &["undefine", "extra"],
        &["destroy", "extra"],
    ] {
        assert_eq!(l.virsh(args).0, 0, "{args:?}");
    }
    // What the test driver's events print for the same commands.
    let expected = [
        lifecycle("test", "Suspended Paused"),
        lifecycle("test", "Resumed Unpaused"),
        lifecycle("test", "Stopped Destroyed"),
        lifecycle("test", "Started Booted"),
        lifecycle("test", "Stopped Shutdown"),
        lifecycle("extra", "Defined Added"),
        lifecycle("extra", "Started Booted"),
        lifecycle("extra", "Undefined Removed"),
        lifecycle("extra", "Stopped Destroyed"),
    ];
    let last = expected.last().cloned();
    assert!(
        listener.wait_for(Instant::now() + Duration::from_secs(30), |s| {
            s.last() == last.as_ref()
        }),
        "{:?}",
        listener.seen
    );
    let (code, lines, err) = listener.interrupt_and_finish();
    assert_eq!((code, err.as_str()), (0, ""), "{lines:?}");
    // Probes (suspend and resume of `test`, some of which may have arrived after the loop
    // above looked), then the events in order, then how the loop ended.
    let n = lines.len() - 3;
    let start = n - expected.len();
    assert!(start >= probes, "{lines:?}");
    let probe = [&expected[0], &expected[1]];
    assert!(
        lines[..start].iter().all(|l| probe.contains(&l)),
        "{lines:?}"
    );
    assert_eq!(lines[start..n], expected[..]);
    assert_eq!(lines[n..], loop_end("event loop interrupted", n));
}

#[test]
fn an_event_loop_for_one_domain_hears_only_that_domain() {
    let Some(l) = Lvirtd::if_virsh() else { return };
    let xml = write_file(&l.dir, "extra.xml", EXTRA_XML);
    assert_eq!(l.virsh(&["define", &xml]).0, 0);
    let mut listener = l.event_loop(Some("extra"));
    let probe = || {
        l.suspend_resume();
        assert_eq!(l.virsh(&["start", "extra"]).0, 0);
        assert_eq!(l.virsh(&["destroy", "extra"]).0, 0);
    };
    probe_until_registered(probe, &mut [&mut listener]);
    let (_, lines, _) = listener.interrupt_and_finish();
    assert!(lines.iter().all(|l| !l.contains("'test'")), "{lines:?}");
    assert!(lines.contains(&lifecycle("extra", "Started Booted")));
}

#[test]
fn virsh_with_default_keepalive_stays_connected_through_36_s_idle() {
    let Some(l) = Lvirtd::if_virsh() else { return };
    let log = l.dir.join("keepalive-default.log");
    // virsh's defaults (PING after 5 s idle, dead after 6 unanswered: 35 s) and lvirtd's (5 s,
    // 5: 30 s): 36 s idle is more than either side's death time, so only keepalive traffic
    // answered both ways keeps the connection.
    let mut cmd = Command::new("sh");
    cmd.env("LIBVIRT_LOG_FILTERS", "1:rpc.keepalive")
        .env("LIBVIRT_LOG_OUTPUTS", format!("1:file:{}", log.display()))
        .args([
            "-c",
            &format!(
                "(echo 'domstate test'; sleep 36; echo 'domstate test') | virsh -q -c '{}'",
                l.uri
            ),
        ]);
    let started = Instant::now();
    let (code, out, err) = run(cmd);
    assert!(started.elapsed() >= Duration::from_secs(36));
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert_eq!(out.matches("running").count(), 2, "{out}");
    let logged = std::fs::read_to_string(&log).expect("virsh's keepalive log");
    let received = logged
        .lines()
        .filter(|l| l.contains("RPC_KEEPALIVE_RECEIVED"))
        .count();
    assert!(received >= 5, "{logged}");
    assert!(!logged.contains("countToDeath=0"), "{logged}");
}

#[test]
fn virsh_with_keepalive_stays_connected_through_idle() {
    let Some(l) = Lvirtd::if_virsh() else { return };
    let log = l.dir.join("keepalive.log");
    // Interactive virsh reads two commands 5 s apart, `pause` between them (run by `sh`):
    // with `-k 1 -K 2` it gives up after 3 s without an answer to its PINGs.
    let interactive = |pause: &str| {
        let mut cmd = Command::new("sh");
        cmd.env("LIBVIRT_LOG_FILTERS", "1:rpc.keepalive")
            .env("LIBVIRT_LOG_OUTPUTS", format!("1:file:{}", log.display()))
            .args([
                "-c",
                &format!(
                    "(echo 'domstate test'; {pause}; echo 'domstate test') | virsh -q -k 1 -K 2 -c '{}'",
                    l.uri
                ),
            ]);
        run(cmd)
    };
    let started = Instant::now();
    let (code, out, err) = interactive("sleep 5");
    assert!(started.elapsed() >= Duration::from_secs(5));
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert_eq!(out.matches("running").count(), 2, "{out}");
    // virsh's log: PINGs sent and PONGs (keepalive procedure 2) received while idle.
    let logged = std::fs::read_to_string(&log).expect("virsh's keepalive log");
    let pongs = logged
        .lines()
        .filter(|l| l.contains("RPC_KEEPALIVE_RECEIVED") && l.ends_with("proc=2"))
        .count();
    assert!(pongs >= 3, "{logged}");
    assert!(!logged.contains("countToDeath=0"), "{logged}");

    // An idle event loop stays connected until its own timeout.
    let (code, out, err) = l.virsh(&[
        "-k",
        "1",
        "-K",
        "2",
        "event",
        "--loop",
        "--event",
        "lifecycle",
        "--timeout",
        "5",
    ]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (1, "event loop timed out\nevents received: 0\n\n", "")
    );

    // The control: a frozen lvirtd answers no PING, and virsh drops the connection (then
    // reconnects once lvirtd runs again).
    let pid = l.child.id();
    let (_, out, err) = interactive(&format!(
        "sleep 1; kill -STOP {pid}; sleep 5; kill -CONT {pid}"
    ));
    l.signal("CONT");
    assert!(
        err.contains("due to keepalive timeout"),
        "stdout:\n{out}stderr:\n{err}"
    );
}

#[test]
fn lvirt_prints_what_virsh_prints_against_lvirtd() {
    let Some(l) = Lvirtd::if_virsh() else { return };
    for args in [
        &["list", "--all"][..],
        &["dominfo", "test"],
        &["domstate", "test", "--reason"],
        &["dumpxml", "test"],
        &["nodeinfo"],
        &["dominfo", "nosuchdomain"],
    ] {
        let ours = l.lvirt(args);
        let theirs = l.virsh(args);
        assert_same(&format!("lvirt vs virsh {args:?}"), &ours, &theirs);
    }
    // State changes through lvirt, seen by virsh.
    assert_eq!(
        l.lvirt(&["suspend", "test"]),
        (0, "Domain 'test' suspended\n\n".into(), String::new())
    );
    assert_eq!(l.virsh(&["domstate", "test"]).1, "paused\n\n");
    let (code, _, err) = l.lvirt(&["suspend", "test"]);
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "error: Failed to suspend domain 'test'\nerror: internal error: domain 'test' not running\n"
        )
    );
    assert_eq!(l.lvirt(&["resume", "test"]).0, 0);
    assert_eq!(l.lvirt(&["destroy", "test"]).0, 0);
    assert_eq!(
        l.virsh(&["domstate", "test", "--reason"]).1,
        "shut off (destroyed)\n\n"
    );
    assert_eq!(
        l.lvirt(&["start", "test"]),
        (0, "Domain 'test' started\n\n".into(), String::new())
    );
    // The generated client, called directly.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        use protocols::remote_protocol::*;
        let conn = protocols::Connection::open(&l.uri).await.expect("open");
        let dom = conn
            .remote
            .domain_lookup_by_name(&RemoteDomainLookupByNameArgs {
                name: "test".try_into().unwrap(),
            })
            .await
            .expect("lookup")
            .dom;
        assert_eq!(dom.id, 2);
        let info = conn
            .remote
            .domain_get_info(&RemoteDomainGetInfoArgs { dom: dom.clone() })
            .await
            .expect("info");
        assert_eq!(
            (info.state, info.max_mem, info.memory, info.nr_virt_cpu),
            (1, 8_388_608, 2_097_152, 2)
        );
        let node = conn.remote.node_get_info().await.expect("node info");
        assert_eq!((node.cpus, node.mhz, node.memory), (16, 1400, 3_145_728));
        let e = conn
            .remote
            .domain_lookup_by_name(&RemoteDomainLookupByNameArgs {
                name: "nope".try_into().unwrap(),
            })
            .await
            .expect_err("no such domain");
        let e = e.remote().expect("libvirt's error").clone();
        assert_eq!((e.code, e.domain), (42, 12));
        // Not served: libvirt's "not supported", and the connection goes on.
        let e = conn
            .remote
            .domain_get_vcpus_flags(&RemoteDomainGetVcpusFlagsArgs {
                dom: dom.clone(),
                flags: 0,
            })
            .await
            .expect_err("not served");
        assert_eq!(e.remote().map(|e| e.code), Some(3));
        conn.remote
            .domain_get_state(&RemoteDomainGetStateArgs { dom, flags: 0 })
            .await
            .expect("the connection goes on");
        conn.close().await.expect("close");
    });
}

#[test]
fn virsh_over_tcp_sees_the_same_hypervisor() {
    if !virsh_here() {
        return;
    }
    // A free port, picked by the system and released for lvirtd.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let l = Lvirtd::start_with(&["--tcp", &addr]);
    let tcp = format!("test+tcp://{addr}/default");
    wait_until_listening(&addr, || std::net::TcpStream::connect(&addr).is_ok());
    assert_eq!(virsh(&tcp, &["suspend", "test"]).0, 0);
    // One hypervisor behind both sockets.
    assert_eq!(l.virsh(&["domstate", "test"]).1, "paused\n\n");
    assert_eq!(virsh(&tcp, &["list", "--all"]), l.virsh(&["list", "--all"]));
}

#[test]
fn virsh_screenshot_writes_the_bytes_lvirtd_served() {
    let Some(l) = Lvirtd::if_virsh() else { return };
    let served = build_example::png::screenshot_png();
    let (shot, lshot) = (l.path("virsh.png"), l.path("lvirt.png"));
    let (code, out, err) = l.virsh(&["screenshot", "test", &shot]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    // The message has no newline of its own: the blank line after the command ends it.
    assert_eq!(
        out,
        format!("Screenshot saved to {shot}, with type of image/png\n")
    );
    assert_eq!(std::fs::read(&shot).expect("virsh's file"), served);
    // lvirt prints the same and writes the same bytes.
    let (code, out, err) = l.lvirt(&["screenshot", "test", &lshot, "--screen", "0"]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert_eq!(
        out,
        format!("Screenshot saved to {lshot}, with type of image/png\n")
    );
    assert_eq!(std::fs::read(&lshot).expect("lvirt's file"), served);
    // A domain that does not run has no screen: the test driver's error.
    assert_eq!(l.virsh(&["destroy", "test"]).0, 0);
    let (code, _, err) = l.virsh(&["screenshot", "test", &shot]);
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "error: could not take a screenshot of test\n\
             error: Requested operation is not valid: domain is not running\n"
        )
    );
}

#[test]
fn storage_commands_print_what_the_test_driver_prints() {
    let Some(d) = daemon() else { return };
    let _hold = Holder::open(&d.uri);
    let l = Lvirtd::start();
    let steps: &[&[&str]] = &[
        &["pool-list", "--all"],
        &["pool-info", "default-pool"],
        &["pool-info", "dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566"],
        &["pool-dumpxml", "default-pool"],
        &["pool-refresh", "default-pool"],
        &["vol-list", "default-pool"],
        &["vol-create-as", "default-pool", "v1", "64M"],
        &["vol-create-as", "default-pool", "v1", "64M"],
        &["vol-list", "default-pool"],
        &["vol-info", "--pool", "default-pool", "v1"],
        &["vol-info", "/default-pool/v1"],
        &["vol-dumpxml", "--pool", "default-pool", "v1"],
        &["pool-info", "default-pool"],
        &["vol-delete", "--pool", "default-pool", "v1"],
        &["vol-list", "default-pool"],
        &["pool-info", "nosuchpool"],
    ];
    for args in steps {
        same(&l, &d, args);
    }
}

/// `len` bytes that look random (xorshift64), the same for the same `seed`.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn vol_upload_then_download_returns_the_same_bytes() {
    let Some(l) = Lvirtd::if_virsh() else { return };
    const MIB: usize = 1 << 20;
    let ok = |args: &[&str]| {
        let (code, out, err) = l.virsh(args);
        assert_eq!((code, err.as_str()), (0, ""), "{args:?}: {out}");
        out
    };
    assert_eq!(
        ok(&["vol-create-as", "default-pool", "big", "64M"]),
        "Vol big created\n\n"
    );
    let input = write_file(&l.dir, "in", noise(64 * MIB, 7));
    let output = l.path("out");
    ok(&["vol-upload", "--pool", "default-pool", "big", &input]);
    ok(&["vol-download", "--pool", "default-pool", "big", &output]);
    let read = |p: &str| std::fs::read(p).expect("a file virsh wrote");
    assert!(
        read(&output) == read(&input),
        "the 64 MiB came back changed"
    );

    // A part of it, by offset and length.
    let part = l.path("part");
    let (offset, length) = (3 * MIB + 5, MIB + 7);
    ok(&[
        "vol-download",
        "/default-pool/big",
        &part,
        "--offset",
        &offset.to_string(),
        "--length",
        &length.to_string(),
    ]);
    assert!(read(&part) == read(&input)[offset..offset + length]);

    // Sparse both ways: a 64 MiB file with data at 10 MiB and near the end, holes elsewhere.
    ok(&["vol-create-as", "default-pool", "sparse", "64M"]);
    let sparse = l.path("sparse");
    let mut file = vec![0; 64 * MIB];
    file[10 * MIB..13 * MIB].copy_from_slice(&noise(3 * MIB, 9));
    file[60 * MIB..60 * MIB + 4096].copy_from_slice(&noise(4096, 11));
    std::fs::write(&sparse, &file).expect("the sparse file");
    ok(&[
        "vol-upload",
        "--pool",
        "default-pool",
        "sparse",
        &sparse,
        "--sparse",
    ]);
    let back = l.path("sparse-back");
    ok(&[
        "vol-download",
        "--pool",
        "default-pool",
        "sparse",
        &back,
        "--sparse",
    ]);
    assert!(read(&back) == file);
    // Written with holes: virsh seeks over them, so the copy takes less than its length.
    use std::os::unix::fs::MetadataExt;
    let blocks = std::fs::metadata(&back).expect("metadata").blocks();
    assert!(blocks * 512 < 16 * MIB as u64, "{blocks} blocks");

    // Upload at an offset; past the end fails; delete.
    let small = write_file(&l.dir, "small", noise(1000, 13));
    ok(&[
        "vol-upload",
        "--pool",
        "default-pool",
        "sparse",
        &small,
        "--offset",
        "100",
    ]);
    ok(&[
        "vol-download",
        "--pool",
        "default-pool",
        "sparse",
        &back,
        "--offset",
        "100",
        "--length",
        "1000",
    ]);
    assert!(read(&back) == read(&small));
    let (code, _, err) = l.virsh(&[
        "vol-upload",
        "--pool",
        "default-pool",
        "sparse",
        &input,
        "--offset",
        "100",
    ]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        ok(&["vol-delete", "--pool", "default-pool", "sparse"]),
        "Vol sparse deleted\n\n"
    );
    let (code, _, err) = l.virsh(&["vol-info", "--pool", "default-pool", "sparse"]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("error: failed to get vol 'sparse'\n"),
        "{err}"
    );
}
