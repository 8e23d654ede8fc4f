//! A private libvirtd with the in-memory test driver, per test: started with
//! `../shared/peers/libvirtd-test-daemon.sh start DIR` and stopped when dropped, so tests that
//! change domain state, freeze or kill the daemon never disturb each other.

use std::path::PathBuf;
use std::process::Command;

/// A running test daemon.
#[derive(Debug)]
pub struct TestDaemon {
    /// Its private directory (sockets, config, logs).
    pub dir: PathBuf,
    /// Its process id.
    pub pid: u32,
    /// Its read-write unix socket.
    pub socket: PathBuf,
    /// `test+unix:///default?socket=…`: what virsh and our clients connect to.
    pub uri: String,
}

/// The script that runs the daemon: `$XDRGEN_PEERS_DIR/libvirtd-test-daemon.sh`, else
/// `../shared/peers/` beside the workspace.
pub fn script() -> PathBuf {
    let dir = std::env::var_os("XDRGEN_PEERS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/peers"));
    dir.join("libvirtd-test-daemon.sh")
}

/// `PATH` with `/usr/sbin` and `/sbin` added: libvirtd lives in `/usr/sbin`, which a user's
/// `PATH` may lack (the daemon script looks for it with `command -v`).
fn sbin_path() -> std::ffi::OsString {
    let mut path = std::env::var_os("PATH").unwrap_or_default();
    path.push(":/usr/sbin:/sbin");
    path
}

impl TestDaemon {
    /// Starts a daemon, or returns `None` (after saying why on stderr) when libvirtd is not
    /// installed and this is not CI. Under CI (`CI` set) a daemon that cannot start is a panic:
    /// `.ci/run` installs the packages, so a missing daemon there is a failure, not a skip.
    pub fn start() -> Option<TestDaemon> {
        let installed = Command::new("sh")
            .args(["-c", "command -v libvirtd && command -v virsh"])
            .env("PATH", sbin_path())
            .output()
            .is_ok_and(|o| o.status.success());
        let ci = std::env::var_os("CI").is_some();
        if !installed && !ci {
            eprintln!("skipped: libvirtd/virsh are not installed (run `bash .ci/run` once)");
            return None;
        }
        let dir = tempdir();
        let out = Command::new("bash")
            .arg(script())
            .arg("start")
            .env("PATH", sbin_path())
            .arg(&dir)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script().display()));
        assert!(
            out.status.success(),
            "test daemon did not start: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let env = String::from_utf8_lossy(&out.stdout).into_owned();
        let get = |key: &str| {
            env.lines()
                .find_map(|l| l.strip_prefix(&format!("{key}=")))
                .map(|v| v.trim_matches('\'').to_string())
                .unwrap_or_else(|| panic!("{key} missing from the daemon's output: {env}"))
        };
        Some(TestDaemon {
            pid: get("LIBVIRTD_PID").parse().expect("a pid"),
            socket: PathBuf::from(get("LIBVIRTD_SOCK")),
            uri: get("LIBVIRT_TEST_URI"),
            dir,
        })
    }

    /// Sends a signal to the daemon (`STOP`, `CONT`, `KILL`).
    pub fn signal(&self, name: &str) {
        signal(self.pid, name);
    }

    /// Runs `virsh -c URI ARGS…` and returns (exit code, stdout, stderr).
    pub fn virsh(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new("virsh")
            .arg("-c")
            .arg(&self.uri)
            .args(args)
            .output()
            .expect("virsh runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        // A frozen daemon cannot stop itself.
        let _ = Command::new("kill")
            .args(["-CONT", &self.pid.to_string()])
            .status();
        let _ = Command::new("bash")
            .arg(script())
            .arg("stop")
            .arg(&self.dir)
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Sends signal `name` (`STOP`, `CONT`, `KILL`) to `pid`. After `STOP` it waits until the
/// process is seen stopped: `kill` returns before a busy process on another core has stopped,
/// and a test that then counts on silence would race with it.
pub fn signal(pid: u32, name: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -{name} {pid} failed");
    if name == "STOP" {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        // Every thread must be stopped, not just the main one.
        while !all_threads_stopped(pid) {
            assert!(
                std::time::Instant::now() < deadline,
                "process {pid} did not stop"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}

/// Whether every thread of `pid` is in state `T` (stopped), from `/proc/PID/task/*/stat`.
fn all_threads_stopped(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.filter_map(Result::ok).all(|t| {
        std::fs::read_to_string(t.path().join("stat")).is_ok_and(|stat| {
            // The state follows the command name, which is in parentheses.
            stat.rfind(')')
                .and_then(|i| stat[i + 1..].split_whitespace().next())
                .is_some_and(|state| state == "T")
        })
    })
}

/// A new empty directory under the system's temporary directory.
fn tempdir() -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let base = std::env::temp_dir();
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!("xdrgen-libvirtd-{}-{n}", std::process::id()));
        if std::fs::create_dir(&dir).is_ok() {
            return dir;
        }
    }
}
