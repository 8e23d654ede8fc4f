//! The generated libvirt client's suite (`xdrgen_tests::client_suite`, which
//! `tests/tests/libvirt_daemon.rs` runs against a real libvirtd) against `lvirtd`: one
//! `#[test]` per suite function, each with a fresh lvirtd on a socket in a private directory.
//! The suite takes its expectations from virsh run against the same daemon, so virsh is
//! required: outside CI its absence skips the tests, under CI it fails them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use xdrgen_tests::client_suite::Daemon;

/// A running `lvirtd`, killed (and its directory removed) when dropped.
struct Lvirtd {
    child: Child,
    dir: PathBuf,
    socket: PathBuf,
    uri: String,
}

impl Lvirtd {
    /// Starts lvirtd and waits until it accepts connections; `None` (skip) when virsh is not
    /// installed and this is not CI.
    fn start() -> Option<Lvirtd> {
        let virsh = Command::new("sh")
            .args(["-c", "command -v virsh"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !virsh {
            assert!(
                std::env::var_os("CI").is_none(),
                "virsh is not installed under CI"
            );
            eprintln!("skipped: virsh is not installed (run `bash .ci/run` once)");
            return None;
        }
        let dir = tempdir();
        let socket = dir.join("lvirtd-sock");
        let child = Command::new(env!("CARGO_BIN_EXE_lvirtd"))
            .arg("--socket")
            .arg(&socket)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("lvirtd starts");
        let d = Lvirtd {
            child,
            uri: format!("test+unix:///default?socket={}", socket.display()),
            socket,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::os::unix::net::UnixStream::connect(&d.socket).is_err() {
            assert!(
                Instant::now() < deadline,
                "lvirtd did not listen on {} in time",
                d.socket.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(d)
    }
}

impl Daemon for Lvirtd {
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
        xdrgen_tests::daemon::signal(self.child.id(), name);
    }
}

impl Drop for Lvirtd {
    fn drop(&mut self) {
        // SIGKILL works on a stopped process too.
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
        let dir =
            std::env::temp_dir().join(format!("client-suite-lvirtd-{}-{n}", std::process::id()));
        if std::fs::create_dir(&dir).is_ok() {
            return dir;
        }
    }
}

xdrgen_tests::client_suite_tests!(Lvirtd::start());
