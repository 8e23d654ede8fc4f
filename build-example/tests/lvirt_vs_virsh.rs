//! `lvirt` against the real virsh 9.0.0, both talking to a private libvirtd with the test
//! driver (one per test): same commands, same bytes on stdout and stderr, same exit codes.
//!
//! Known differences, checked as such:
//! - `dominfo`'s "CPU time:" grows between two calls (the test driver derives it from the
//!   clock), so that line is compared by shape only.
//! - `version`: virsh names the libvirt library it was compiled against and loaded
//!   ("libvirt 9.0.0"); lvirt links none, so its first two lines say so. "Using API" is the
//!   driver type with, for virsh, its local library's version and, for lvirt, the daemon's;
//!   the two are equal here, so that line and the rest are compared exactly.
//! - A connection that cannot be made: virsh's second error line is libvirt's text for the
//!   socket error, lvirt's is its own transport's.
//!
//! The test driver forgets every change when its last connection closes, so tests that change
//! state keep one open (a `protocols::Connection`, or a running `event --loop`).

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{assert_same, loop_end, Background, Holder, Run};
use xdrgen_tests::daemon::TestDaemon;

/// `lvirt -c URI ARGS…` in `dir` (or the test's directory).
fn lvirt_in(d: &TestDaemon, dir: Option<&Path>, args: &[&str]) -> Run {
    match dir {
        Some(dir) => common::lvirt_in(&d.uri, dir, args),
        None => common::lvirt(&d.uri, args),
    }
}

/// `lvirt -c URI ARGS…`.
fn lvirt(d: &TestDaemon, args: &[&str]) -> Run {
    lvirt_in(d, None, args)
}

/// Runs the same command through lvirt and virsh and requires the same exit code, stdout and
/// stderr.
fn same_as_virsh(d: &TestDaemon, args: &[&str]) -> Run {
    let ours = lvirt(d, args);
    let theirs = d.virsh(args);
    assert_eq!(ours, theirs, "lvirt vs virsh {args:?}");
    ours
}

/// dominfo through both tools: equal line by line, except "CPU time:", whose value only has
/// to have the right shape in both.
fn dominfo_same_as_virsh(d: &TestDaemon, args: &[&str]) -> String {
    let ours = lvirt(d, args);
    assert_same(&format!("lvirt vs virsh {args:?}"), &ours, &d.virsh(args));
    ours.1
}

/// The line an event listener prints for a lifecycle event of domain `test`.
fn lifecycle(what: &str) -> String {
    common::lifecycle("test", what)
}

/// Suspends and resumes `test` with virsh until every listener has printed an event.
fn probe_until_registered(d: &TestDaemon, listeners: &mut [&mut Background]) {
    let probe = || {
        assert_eq!(d.virsh(&["suspend", "test"]).0, 0);
        assert_eq!(d.virsh(&["resume", "test"]).0, 0);
    };
    common::probe_until_registered(probe, listeners);
}

#[test]
fn read_only_commands_print_what_virsh_prints() {
    let Some(d) = TestDaemon::start() else { return };
    for args in [
        &["list", "--all"][..],
        &["list"],
        &["list", "--inactive"],
        &["domstate", "test"],
        &["domstate", "test", "--reason"],
        &["domstate", "1"],
        &["dumpxml", "test"],
        &["dumpxml", "test", "--inactive", "--security-info"],
        &["dumpxml", "6695eb01-f6a4-8304-79aa-97f2502e193f"],
        &["nodeinfo"],
    ] {
        let (code, out, _) = same_as_virsh(&d, args);
        assert_eq!(code, 0, "{args:?}");
        assert!(
            out.ends_with("\n\n"),
            "{args:?}: virsh's blank line: {out:?}"
        );
    }
    // A domain by name, id and UUID.
    for name in ["test", "1", "6695eb01-f6a4-8304-79aa-97f2502e193f"] {
        let out = dominfo_same_as_virsh(&d, &["dominfo", name]);
        assert!(
            out.contains("\nSecurity label: libvirt-test (enforcing)\n"),
            "{out}"
        );
    }
}

#[test]
fn version_differs_only_where_lvirt_has_no_library() {
    let Some(d) = TestDaemon::start() else { return };
    for args in [&["version"][..], &["version", "--daemon"]] {
        let (code, out, err) = lvirt(&d, args);
        let (v_code, v_out, v_err) = d.virsh(args);
        assert_eq!((code, err.as_str()), (v_code, v_err.as_str()));
        let ours: Vec<&str> = out.lines().collect();
        let theirs: Vec<&str> = v_out.lines().collect();
        assert!(theirs[0].starts_with("Compiled against library: libvirt "));
        assert!(theirs[1].starts_with("Using library: libvirt "));
        assert_eq!(
            ours[0],
            concat!(
                "Compiled against library: none (lvirt ",
                env!("CARGO_PKG_VERSION"),
                " speaks libvirt's RPC protocol itself)"
            )
        );
        assert_eq!(ours[1], "Using library: none");
        // Using API, Running hypervisor, Running against daemon, and the blank line.
        assert_eq!(ours[2..], theirs[2..], "lvirt:\n{out}virsh:\n{v_out}");
        assert!(out.ends_with("\n\n"));
    }
}

#[test]
fn state_changes_through_lvirt_are_seen_by_virsh_and_the_other_way_round() {
    let Some(d) = TestDaemon::start() else { return };
    let _hold = Holder::open(&d.uri);
    let state = |d: &TestDaemon| d.virsh(&["domstate", "test", "--reason"]).1;
    // Each step once through lvirt (checked with virsh), then once through virsh (checked
    // with lvirt); both print the same message.
    let steps: [(&str, &str, &str); 4] = [
        (
            "suspend",
            "Domain 'test' suspended\n\n",
            "paused (user)\n\n",
        ),
        (
            "resume",
            "Domain 'test' resumed\n\n",
            "running (unpaused)\n\n",
        ),
        (
            "destroy",
            "Domain 'test' destroyed\n\n",
            "shut off (destroyed)\n\n",
        ),
        ("start", "Domain 'test' started\n\n", "running (booted)\n\n"),
    ];
    for (verb, message, after) in steps {
        assert_eq!(
            lvirt(&d, &[verb, "test"]),
            (0, message.to_string(), String::new())
        );
        assert_eq!(state(&d), after, "after lvirt {verb}");
        if verb == "destroy" {
            // Inactive: listed with "-", no security label, same as virsh.
            same_as_virsh(&d, &["list", "--all"]);
            same_as_virsh(&d, &["list", "--inactive"]);
            same_as_virsh(&d, &["list"]);
            let info = dominfo_same_as_virsh(&d, &["dominfo", "test"]);
            assert!(info.starts_with("Id:             -\n"), "{info}");
        }
    }
    for (verb, message, after) in steps {
        assert_eq!(
            d.virsh(&[verb, "test"]),
            (0, message.to_string(), String::new())
        );
        assert_eq!(
            lvirt(&d, &["domstate", "test", "--reason"]).1,
            after,
            "after virsh {verb}"
        );
    }
    // After two starts the id is no longer 1, and both tools agree.
    same_as_virsh(&d, &["list", "--all"]);
    same_as_virsh(&d, &["dominfo", "1"]);
    same_as_virsh(&d, &["domstate", "3"]);
    // A UUID names the domain for start and destroy too; messages echo what the user typed,
    // except start's, which names the domain.
    let uuid = "6695eb01-f6a4-8304-79aa-97f2502e193f";
    assert_eq!(
        lvirt(&d, &["destroy", uuid]).1,
        format!("Domain '{uuid}' destroyed\n\n")
    );
    assert_eq!(lvirt(&d, &["start", uuid]).1, "Domain 'test' started\n\n");
    assert_eq!(state(&d), "running (booted)\n\n");
}

#[test]
fn failures_print_virshs_error_lines() {
    let Some(d) = TestDaemon::start() else { return };
    let _hold = Holder::open(&d.uri);
    let missing = d.dir.join("no-such-dir/shot.png");
    let missing = missing.to_str().expect("a UTF-8 path");
    for args in [
        &["dominfo", "nosuchdomain"][..],
        &["domstate", "nosuchdomain"],
        &["dumpxml", "nosuchdomain"],
        &["suspend", "nosuchdomain"],
        &["screenshot", "nosuchdomain"],
        &[
            "event",
            "nosuchdomain",
            "--event",
            "lifecycle",
            "--timeout",
            "1",
        ],
        // Running already.
        &["resume", "test"],
        &["start", "test"],
        // start looks up by name or UUID only.
        &["start", "1"],
        &["screenshot", "test", missing],
        &["event", "--event", "no-such-event"],
        &["event", "--loop"],
    ] {
        let (code, _, err) = same_as_virsh(&d, args);
        assert_eq!(code, 1, "{args:?}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
    }
    let (_, _, err) = lvirt(&d, &["dominfo", "nosuchdomain"]);
    assert_eq!(err, "error: failed to get domain 'nosuchdomain'\n");
    let (_, _, err) = lvirt(&d, &["resume", "test"]);
    assert_eq!(
        err,
        "error: Failed to resume domain 'test'\nerror: internal error: domain 'test' not paused\n"
    );
    // Shut off: suspend, destroy and resume each fail with two lines.
    assert_eq!(lvirt(&d, &["destroy", "test"]).0, 0);
    for args in [
        &["suspend", "test"][..],
        &["destroy", "test"],
        &["resume", "test"],
    ] {
        let (code, _, err) = same_as_virsh(&d, args);
        assert_eq!(code, 1);
        assert_eq!(err.lines().count(), 2, "{args:?}: {err}");
    }
    // No daemon there: the same first line and no blank line on stdout; the second line is
    // each client's own description of the socket error.
    let nowhere = format!(
        "test+unix:///default?socket={}",
        d.dir.join("nowhere").display()
    );
    let (code, out, ours) = common::lvirt(&nowhere, &["list"]);
    let (v_code, v_out, theirs) = common::virsh(&nowhere, &["list"]);
    assert_eq!((code, out), (v_code, v_out));
    assert_eq!(ours.lines().next(), theirs.lines().next());
    assert_eq!(
        ours.lines().next(),
        Some("error: failed to connect to the hypervisor")
    );
    assert_eq!(ours.lines().count(), 2, "{ours}");
}

#[test]
fn lifecycle_events_arrive_in_order_as_virsh_prints_them() {
    let Some(d) = TestDaemon::start() else { return };
    let loop_args = ["--loop", "--timeout", "120"];
    let mut ours = Background::lvirt(
        &d.uri,
        &[&["event", "--event", "lifecycle"][..], &loop_args[..]].concat(),
    );
    let mut ours_for_test = Background::lvirt(
        &d.uri,
        &[&["event", "test", "--all"][..], &loop_args[..]].concat(),
    );
    let mut theirs = Background::virsh(
        &d.uri,
        &[&["event", "--event", "lifecycle"][..], &loop_args[..]].concat(),
    );
    probe_until_registered(&d, &mut [&mut ours, &mut ours_for_test, &mut theirs]);

    for verb in ["suspend", "resume", "destroy", "start"] {
        assert_eq!(d.virsh(&[verb, "test"]).0, 0, "virsh {verb}");
    }
    let expected: Vec<String> = [
        "Suspended Paused",
        "Resumed Unpaused",
        "Stopped Destroyed",
        "Started Booted",
    ]
    .map(lifecycle)
    .to_vec();
    let probe = [lifecycle("Suspended Paused"), lifecycle("Resumed Unpaused")];
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut all = Vec::new();
    for mut l in [ours, ours_for_test, theirs] {
        // Printed as they arrive, before the command ends.
        assert!(
            l.wait_for(deadline, |lines| lines.contains(&expected[3])),
            "{}: {:?}",
            l.what,
            l.seen
        );
        // Each listener heard some of the probes (suspend, resume; never a destroy), then the
        // four events in order.
        let destroyed = l.seen.iter().position(|s| *s == expected[2]).unwrap();
        let start = destroyed
            .checked_sub(2)
            .expect("the suspend and resume before");
        assert!(
            l.seen[..start].iter().all(|s| probe.contains(s)),
            "{:?}",
            l.seen
        );
        assert_eq!(l.seen[start..], expected[..], "{}", l.what);
        let (code, lines, err) = l.interrupt_and_finish();
        assert_eq!((code, err.as_str()), (0, ""), "{lines:?}");
        let n = start + expected.len();
        assert_eq!(
            lines[n..],
            loop_end("event loop interrupted", n),
            "{lines:?}"
        );
        // The events and how the loop ended; the counts differ by the probes each one heard.
        all.push(lines[start..=n].to_vec());
    }
    // lvirt and virsh print the same lines for the same events.
    assert_eq!(all[0], all[2]);
    assert_eq!(all[1], all[2]);
}

#[test]
fn event_loops_end_as_virshs_do() {
    let Some(d) = TestDaemon::start() else { return };
    // Nothing happens: the same two lines, the blank line, and failure.
    let args = ["event", "--loop", "--timeout", "1", "--event", "lifecycle"];
    let (code, out, _) = same_as_virsh(&d, &args);
    assert_eq!(
        (code, out.as_str()),
        (1, "event loop timed out\nevents received: 0\n\n")
    );
    // Events, then the timeout; and a one-shot listener, which stops at its first event.
    let mut timed = Background::lvirt(&d.uri, &["event", "--loop", "--timeout", "3", "--all"]);
    let mut once = Background::lvirt(
        &d.uri,
        &["event", "--event", "lifecycle", "--timeout", "60"],
    );
    probe_until_registered(&d, &mut [&mut timed, &mut once]);
    let (code, lines, err) = timed.finish();
    assert_eq!((code, err.as_str()), (0, ""));
    let n = lines.len() - 3;
    assert!(n >= 1);
    assert_eq!(lines[n..], loop_end("event loop timed out", n), "{lines:?}");
    let (code, lines, err) = once.finish();
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].starts_with("event 'lifecycle' for domain 'test': "));
    assert_eq!(lines[1..], ["events received: 1", ""]);
}

#[test]
fn screenshots_are_byte_identical_to_virshs() {
    let Some(d) = TestDaemon::start() else { return };
    let ours = d.dir.join("lvirt.png");
    let theirs = d.dir.join("virsh.png");
    let (ours_s, theirs_s) = (ours.to_str().unwrap(), theirs.to_str().unwrap());
    let (code, out, err) = lvirt(&d, &["screenshot", "test", ours_s]);
    let (v_code, v_out, v_err) = d.virsh(&["screenshot", "test", theirs_s]);
    assert_eq!((code, err.as_str()), (v_code, v_err.as_str()));
    assert_eq!(code, 0);
    // The message has no newline of its own: the blank line after the command ends it.
    assert_eq!(
        out,
        format!("Screenshot saved to {ours_s}, with type of image/png\n")
    );
    assert_eq!(out.replace(ours_s, theirs_s), v_out);
    let image = std::fs::read(&theirs).unwrap();
    assert!(image.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert_eq!(std::fs::read(&ours).unwrap(), image);

    // An existing file is overwritten, not appended to; --screen is passed on.
    std::fs::write(&ours, vec![b'x'; image.len() * 2]).unwrap();
    let (code, _, _) = lvirt(&d, &["screenshot", "1", ours_s, "--screen", "0"]);
    assert_eq!(code, 0);
    assert_eq!(std::fs::read(&ours).unwrap(), image);

    // No file: virsh's name, DOMAIN-YYYY-MM-DD-HH:MM:SS.png, in the current directory.
    let dir = d.dir.join("shots");
    std::fs::create_dir(&dir).unwrap();
    let (code, out, _) = lvirt_in(&d, Some(&dir), &["screenshot", "test"]);
    assert_eq!(code, 0);
    let name = out
        .strip_prefix("Screenshot saved to ")
        .and_then(|rest| rest.strip_suffix(", with type of image/png\n"))
        .unwrap_or_else(|| panic!("{out:?}"));
    let stamp = name
        .strip_prefix("test-")
        .and_then(|rest| rest.strip_suffix(".png"))
        .unwrap_or_else(|| panic!("{name}"));
    let shape: String = stamp
        .chars()
        .map(|c| if c.is_ascii_digit() { '9' } else { c })
        .collect();
    assert_eq!(shape, "9999-99-99-99:99:99");
    assert_eq!(std::fs::read(dir.join(name)).unwrap(), image);
}
