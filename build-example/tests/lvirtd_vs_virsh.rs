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
//!
//! The test driver forgets every change when its last connection closes, so the comparisons
//! that change state keep a connection open to it.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use xdrgen_tests::daemon::TestDaemon;

/// How long any one virsh or lvirt run may take.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// A running `lvirtd` on a socket in a private directory, killed when dropped.
struct Lvirtd {
    child: Child,
    dir: PathBuf,
    uri: String,
}

impl Lvirtd {
    fn start() -> Lvirtd {
        Lvirtd::start_with(&[])
    }

    /// Starts lvirtd with more arguments (`--tcp ADDR`).
    fn start_with(args: &[&str]) -> Lvirtd {
        let dir = tempdir();
        let socket = dir.join("lvirtd-sock");
        let child = Command::new(env!("CARGO_BIN_EXE_lvirtd"))
            .arg("--socket")
            .arg(&socket)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("lvirtd starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            assert!(Instant::now() < deadline, "lvirtd did not listen in time");
            thread::sleep(Duration::from_millis(20));
        }
        Lvirtd {
            child,
            uri: format!("test+unix:///default?socket={}", socket.display()),
            dir,
        }
    }

    fn virsh(&self, args: &[&str]) -> (i32, String, String) {
        virsh(&self.uri, args)
    }

    fn signal(&self, name: &str) {
        kill(self.child.id(), name);
    }
}

impl Drop for Lvirtd {
    fn drop(&mut self) {
        kill(self.child.id(), "CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A new empty directory under the system's temporary directory.
fn tempdir() -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("lvirtd-test-{}-{n}", std::process::id()));
        if std::fs::create_dir(&dir).is_ok() {
            return dir;
        }
    }
}

/// libvirtd's test driver to compare with, or `None` (skip) outside CI where libvirtd or
/// virsh is not installed; under CI (`.ci/run` installs them) a daemon that cannot start
/// fails the test.
fn daemon() -> Option<TestDaemon> {
    TestDaemon::start()
}

/// Whether virsh is here, for the tests that need no test daemon: outside CI its absence
/// skips the test, under CI it fails it.
fn virsh_here() -> bool {
    let here = Command::new("sh")
        .args(["-c", "command -v virsh"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !here {
        assert!(
            std::env::var_os("CI").is_none(),
            "virsh is not installed under CI"
        );
        eprintln!("skipped: virsh is not installed (run `bash .ci/run` once)");
    }
    here
}

/// Sends signal `name` to process `pid`.
fn kill(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status();
}

/// Runs `cmd` to its end, killing it (and failing the test) after `limit`.
fn output_within(mut cmd: Command, limit: Duration) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("the process's output"),
        Err(_) => {
            kill(pid, "KILL");
            panic!("{cmd:?} did not finish within {limit:?}");
        }
    }
}

fn text(out: &Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `virsh -c URI ARGS…`: (exit code, stdout, stderr).
fn virsh(uri: &str, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new("virsh");
    cmd.arg("-c").arg(uri).args(args);
    text(&output_within(cmd, RUN_LIMIT))
}

/// `lvirt -c URI ARGS…`: (exit code, stdout, stderr).
fn lvirt(uri: &str, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lvirt"));
    cmd.arg("-c").arg(uri).args(args);
    text(&output_within(cmd, RUN_LIMIT))
}

/// Whether `line` looks like dominfo's `CPU time:` line: `^CPU time:\s+[0-9]+\.[0-9]s$`.
fn is_cpu_time_line(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("CPU time:") else {
        return false;
    };
    let value = rest.trim_start();
    let Some((whole, tenths)) = value.strip_suffix('s').and_then(|n| n.split_once('.')) else {
        return false;
    };
    value.len() < rest.len()
        && !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && tenths.len() == 1
        && tenths.bytes().all(|b| b.is_ascii_digit())
}

/// Two runs of one command: equal exit codes, stderr and stdout, except that a "CPU time:"
/// line only has to have the right shape on both sides.
fn assert_same(what: &str, ours: &(i32, String, String), theirs: &(i32, String, String)) {
    assert_eq!(
        (ours.0, &ours.2),
        (theirs.0, &theirs.2),
        "{what}: exit code and stderr (lvirtd, then libvirtd); stdouts:\n{}---\n{}",
        ours.1,
        theirs.1
    );
    let a: Vec<&str> = ours.1.split('\n').collect();
    let b: Vec<&str> = theirs.1.split('\n').collect();
    let same = a.len() == b.len()
        && a.iter().zip(&b).all(|(x, y)| {
            if y.starts_with("CPU time:") {
                is_cpu_time_line(x) && is_cpu_time_line(y)
            } else {
                x == y
            }
        });
    assert!(
        same,
        "{what}: lvirtd printed\n{}--- libvirtd printed\n{}",
        ours.1, theirs.1
    );
}

/// Runs one virsh command against lvirtd and against the test daemon; requires the same
/// output; returns lvirtd's.
fn same(l: &Lvirtd, d: &TestDaemon, args: &[&str]) -> (i32, String, String) {
    let ours = l.virsh(args);
    let theirs = d.virsh(args);
    assert_same(&format!("virsh {args:?}"), &ours, &theirs);
    ours
}

/// A connection held open to the test daemon, so that it keeps the domains' state.
struct Holder {
    runtime: tokio::runtime::Runtime,
    conn: Option<protocols::Connection>,
}

impl Holder {
    fn open(uri: &str) -> Holder {
        // One worker thread answers keepalive while the test runs commands.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let conn = runtime
            .block_on(protocols::Connection::open(uri))
            .expect("a connection to the test daemon");
        Holder {
            runtime,
            conn: Some(conn),
        }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let close = async { tokio::time::timeout(Duration::from_secs(5), conn.close()).await };
            let _ = self.runtime.block_on(close);
        }
    }
}

/// A command left running, its stdout read line by line as it comes.
struct Background {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Background {
    fn virsh(uri: &str, args: &[&str]) -> Background {
        let mut child = Command::new("virsh")
            .arg("-c")
            .arg(uri)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("virsh runs");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Background {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits until `done` holds for the lines so far, or `deadline` passes; says which.
    fn wait_for(&mut self, deadline: Instant, done: impl Fn(&[String]) -> bool) -> bool {
        loop {
            if done(&self.seen) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => return done(&self.seen),
            }
        }
    }

    /// Sends SIGINT and waits for the end: (exit code, every stdout line, stderr).
    fn interrupt(mut self) -> (i32, Vec<String>, String) {
        kill(self.child.id(), "INT");
        let deadline = Instant::now() + RUN_LIMIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(Instant::now() < deadline, "virsh event did not end");
            thread::sleep(Duration::from_millis(20));
        };
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(10)) {
            self.seen.push(line);
        }
        let mut err = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = stderr.read_to_string(&mut err);
        }
        (
            status.code().unwrap_or(-1),
            std::mem::take(&mut self.seen),
            err,
        )
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
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

fn write_file(dir: &Path, name: &str, contents: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("the file is written");
    path.to_str().expect("a UTF-8 path").to_string()
}

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

/// The line virsh prints for a lifecycle event.
fn lifecycle(domain: &str, what: &str) -> String {
    format!("event 'lifecycle' for domain '{domain}': {what}")
}

#[test]
fn an_event_loop_sees_the_lifecycle_events_another_virsh_causes() {
    if !virsh_here() {
        return;
    }
    let l = Lvirtd::start();
    let mut listener = Background::virsh(
        &l.uri,
        &[
            "event",
            "--loop",
            "--event",
            "lifecycle",
            "--timeout",
            "120",
        ],
    );
    // Registered once a suspend/resume pair is heard.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert_eq!(l.virsh(&["suspend", "test"]).0, 0);
        assert_eq!(l.virsh(&["resume", "test"]).0, 0);
        if listener.wait_for(Instant::now() + Duration::from_millis(500), |s| {
            s.len() >= 2
        }) {
            break;
        }
        assert!(Instant::now() < deadline, "the listener did not register");
    }
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
    let (code, lines, err) = listener.interrupt();
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
    assert_eq!(
        lines[n..],
        [
            "event loop interrupted".to_string(),
            format!("events received: {n}"),
            String::new()
        ]
    );
}

#[test]
fn an_event_loop_for_one_domain_hears_only_that_domain() {
    if !virsh_here() {
        return;
    }
    let l = Lvirtd::start();
    let xml = write_file(&l.dir, "extra.xml", EXTRA_XML);
    assert_eq!(l.virsh(&["define", &xml]).0, 0);
    let mut listener = Background::virsh(
        &l.uri,
        &[
            "event",
            "extra",
            "--loop",
            "--event",
            "lifecycle",
            "--timeout",
            "120",
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert_eq!(l.virsh(&["suspend", "test"]).0, 0);
        assert_eq!(l.virsh(&["resume", "test"]).0, 0);
        assert_eq!(l.virsh(&["start", "extra"]).0, 0);
        assert_eq!(l.virsh(&["destroy", "extra"]).0, 0);
        if listener.wait_for(Instant::now() + Duration::from_millis(500), |s| {
            s.len() >= 2
        }) {
            break;
        }
        assert!(Instant::now() < deadline, "the listener did not register");
    }
    let (_, lines, _) = listener.interrupt();
    assert!(lines.iter().all(|l| !l.contains("'test'")), "{lines:?}");
    assert!(lines.contains(&lifecycle("extra", "Started Booted")));
}

#[test]
fn virsh_with_keepalive_stays_connected_through_idle() {
    if !virsh_here() {
        return;
    }
    let l = Lvirtd::start();
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
        text(&output_within(cmd, RUN_LIMIT))
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
    if !virsh_here() {
        return;
    }
    let l = Lvirtd::start();
    for args in [
        &["list", "--all"][..],
        &["dominfo", "test"],
        &["domstate", "test", "--reason"],
        &["dumpxml", "test"],
        &["nodeinfo"],
        &["dominfo", "nosuchdomain"],
    ] {
        let ours = lvirt(&l.uri, args);
        let theirs = l.virsh(args);
        assert_same(&format!("lvirt vs virsh {args:?}"), &ours, &theirs);
    }
    // State changes through lvirt, seen by virsh.
    assert_eq!(
        lvirt(&l.uri, &["suspend", "test"]),
        (0, "Domain 'test' suspended\n\n".into(), String::new())
    );
    assert_eq!(l.virsh(&["domstate", "test"]).1, "paused\n\n");
    let (code, _, err) = lvirt(&l.uri, &["suspend", "test"]);
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "error: Failed to suspend domain 'test'\nerror: internal error: domain 'test' not running\n"
        )
    );
    assert_eq!(lvirt(&l.uri, &["resume", "test"]).0, 0);
    assert_eq!(lvirt(&l.uri, &["destroy", "test"]).0, 0);
    assert_eq!(
        l.virsh(&["domstate", "test", "--reason"]).1,
        "shut off (destroyed)\n\n"
    );
    assert_eq!(
        lvirt(&l.uri, &["start", "test"]),
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
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(Instant::now() < deadline, "lvirtd did not listen on {addr}");
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(virsh(&tcp, &["suspend", "test"]).0, 0);
    // One hypervisor behind both sockets.
    assert_eq!(l.virsh(&["domstate", "test"]).1, "paused\n\n");
    assert_eq!(virsh(&tcp, &["list", "--all"]), l.virsh(&["list", "--all"]));
}
