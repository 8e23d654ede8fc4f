//! What the tests that run virsh and lvirt share: running a command with a time limit,
//! comparing two runs' output, commands left running (`event --loop`) read line by line, a
//! connection held open to the test driver, private directories, and `lvirtd` itself
//! ([`Lvirtd`]).

// Each test crate uses its own subset.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How long any one virsh or lvirt run may take before the test gives up on it.
pub const RUN_LIMIT: Duration = Duration::from_secs(60);

/// A finished run: (exit code, stdout, stderr).
pub type Run = (i32, String, String);

/// Sends signal `name` to process `pid`.
pub fn kill(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status();
}

/// Runs `cmd` to its end, killing it (and failing the test) after `limit`.
pub fn output_within(mut cmd: Command, limit: Duration) -> Output {
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

/// A process's output as text.
pub fn text(out: &Output) -> Run {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `cmd` within [`RUN_LIMIT`], as text.
pub fn run(cmd: Command) -> Run {
    text(&output_within(cmd, RUN_LIMIT))
}

/// `TOOL -c URI ARGS…` (no command yet run).
fn tool(program: &str, uri: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(program);
    cmd.arg("-c").arg(uri).args(args);
    cmd
}

/// The `virsh -c URI ARGS…` command.
pub fn virsh_command(uri: &str, args: &[&str]) -> Command {
    tool("virsh", uri, args)
}

/// The `lvirt -c URI ARGS…` command.
pub fn lvirt_command(uri: &str, args: &[&str]) -> Command {
    tool(env!("CARGO_BIN_EXE_lvirt"), uri, args)
}

/// `virsh -c URI ARGS…`.
pub fn virsh(uri: &str, args: &[&str]) -> Run {
    run(virsh_command(uri, args))
}

/// `lvirt -c URI ARGS…`.
pub fn lvirt(uri: &str, args: &[&str]) -> Run {
    run(lvirt_command(uri, args))
}

/// `lvirt -c URI ARGS…` run in directory `dir`.
pub fn lvirt_in(uri: &str, dir: &Path, args: &[&str]) -> Run {
    let mut cmd = lvirt_command(uri, args);
    cmd.current_dir(dir);
    run(cmd)
}

/// Whether virsh is here, for the tests that need no test daemon: outside CI its absence
/// skips the test, under CI it fails it.
pub fn virsh_here() -> bool {
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

/// A new empty directory under the system's temporary directory.
pub fn tempdir() -> PathBuf {
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

/// Writes `contents` to `dir/name`; returns the path as a string.
pub fn write_file(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> String {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("the file is written");
    path.to_str().expect("a UTF-8 path").to_string()
}

/// Whether `line` looks like dominfo's `CPU time:` line: `^CPU time:\s+[0-9]+\.[0-9]s$`.
pub fn is_cpu_time_line(line: &str) -> bool {
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
pub fn assert_same(what: &str, ours: &Run, theirs: &Run) {
    assert_eq!(
        (ours.0, &ours.2),
        (theirs.0, &theirs.2),
        "{what}: exit code and stderr (ours, then theirs); stdouts:\n{}---\n{}",
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
        "{what}: ours printed\n{}--- theirs printed\n{}",
        ours.1, theirs.1
    );
}

/// A connection held open to the test driver, so that it keeps the domains' state (it
/// forgets every change when its last connection closes).
pub struct Holder {
    runtime: tokio::runtime::Runtime,
    conn: Option<protocols::Connection>,
}

impl Holder {
    /// Opens a connection to `uri`.
    pub fn open(uri: &str) -> Holder {
        // One worker thread answers the daemon's keepalive while the test runs commands.
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

/// A command left running (`event --loop`), its stdout read line by line as it comes.
pub struct Background {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// The lines read so far.
    pub seen: Vec<String>,
    /// The command, for messages.
    pub what: String,
}

impl Background {
    /// Starts `cmd`.
    pub fn spawn(mut cmd: Command) -> Background {
        let what = format!("{cmd:?}");
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
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
            what,
        }
    }

    /// `lvirt -c URI ARGS…`, left running.
    pub fn lvirt(uri: &str, args: &[&str]) -> Background {
        Background::spawn(lvirt_command(uri, args))
    }

    /// `virsh -c URI ARGS…`, left running.
    pub fn virsh(uri: &str, args: &[&str]) -> Background {
        Background::spawn(virsh_command(uri, args))
    }

    /// Waits until `done` holds for the lines so far, or `deadline` passes; says which.
    pub fn wait_for(&mut self, deadline: Instant, done: impl Fn(&[String]) -> bool) -> bool {
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

    /// Sends SIGINT, as Ctrl-C would.
    pub fn interrupt(&self) {
        kill(self.child.id(), "INT");
    }

    /// Waits for the command to end: (exit code, every stdout line, stderr).
    pub fn finish(mut self) -> (i32, Vec<String>, String) {
        let deadline = Instant::now() + RUN_LIMIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(Instant::now() < deadline, "{} did not end", self.what);
            thread::sleep(Duration::from_millis(20));
        };
        // The reader ends at EOF, which closes the channel.
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

    /// [`interrupt`](Background::interrupt), then [`finish`](Background::finish).
    pub fn interrupt_and_finish(self) -> (i32, Vec<String>, String) {
        self.interrupt();
        self.finish()
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

/// The line an event listener prints for a lifecycle event of `domain`.
pub fn lifecycle(domain: &str, what: &str) -> String {
    format!("event 'lifecycle' for domain '{domain}': {what}")
}

/// The last lines of an event loop that heard `n` events and ended with `how` ("event loop
/// interrupted", "event loop timed out").
pub fn loop_end(how: &str, n: usize) -> [String; 3] {
    [
        how.to_string(),
        format!("events received: {n}"),
        String::new(),
    ]
}

/// Runs `probe` (commands that cause events) until every listener has printed a line, so
/// that all are known to be registered.
pub fn probe_until_registered(probe: impl Fn(), listeners: &mut [&mut Background]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        probe();
        let wait = Instant::now() + Duration::from_millis(500);
        let heard = listeners
            .iter_mut()
            .all(|l| l.wait_for(wait, |lines| !lines.is_empty()));
        if heard {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the listeners did not register in time"
        );
    }
}

/// A running `lvirtd` on a socket in a private directory; killed (and its directory removed)
/// when dropped.
pub struct Lvirtd {
    /// The process.
    pub child: Child,
    /// Its private directory.
    pub dir: PathBuf,
    /// Its unix socket.
    pub socket: PathBuf,
    /// `test+unix:///default?socket=…`.
    pub uri: String,
}

impl Lvirtd {
    /// Starts lvirtd and waits until it accepts connections.
    pub fn start() -> Lvirtd {
        Lvirtd::start_with(&[])
    }

    /// Starts lvirtd with more arguments (`--tcp ADDR`).
    pub fn start_with(args: &[&str]) -> Lvirtd {
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
        wait_until_listening(&format!("{}", socket.display()), || {
            std::os::unix::net::UnixStream::connect(&socket).is_ok()
        });
        Lvirtd {
            child,
            uri: format!("test+unix:///default?socket={}", socket.display()),
            socket,
            dir,
        }
    }

    /// [`Lvirtd::start`] if virsh is here (see [`virsh_here`]).
    pub fn if_virsh() -> Option<Lvirtd> {
        virsh_here().then(Lvirtd::start)
    }

    /// Sends a signal (`STOP` returns once lvirtd is stopped).
    pub fn signal(&self, name: &str) {
        xdrgen_tests::daemon::signal(self.child.id(), name);
    }

    /// `virsh -c URI ARGS…` against it.
    pub fn virsh(&self, args: &[&str]) -> Run {
        virsh(&self.uri, args)
    }

    /// `lvirt -c URI ARGS…` against it.
    pub fn lvirt(&self, args: &[&str]) -> Run {
        lvirt(&self.uri, args)
    }

    /// A path in lvirtd's private directory, as a string.
    pub fn path(&self, name: &str) -> String {
        self.dir
            .join(name)
            .to_str()
            .expect("a UTF-8 path")
            .to_string()
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

/// Waits (20 s at most) until `up` says lvirtd listens on `what`.
pub fn wait_until_listening(what: &str, up: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !up() {
        assert!(
            Instant::now() < deadline,
            "lvirtd did not listen on {what} in time"
        );
        thread::sleep(Duration::from_millis(20));
    }
}
