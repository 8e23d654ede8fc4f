//! The real ONC RPC peers of the interop tests: rpcbind, nfs-ganesha, rpc.rstatd and
//! rpc.rusersd, started by `../shared/peers/oncrpc-peers.sh start` (see its header), and the C
//! client and server rpcgen makes from `onc_demo.x` and `onc_typedefs.x`.
//!
//! The peers are shared by every test of a run: when `rpcinfo -p` already lists them they are
//! used as they are; otherwise the first test that needs them starts them (the script installs
//! its Debian packages; it needs root) and they stay up for the tests after it (`.ci/run` stops
//! them at the end). Outside CI, peers that cannot start skip the test; under CI (`CI` set) that
//! is a failure, as for [`crate::daemon::TestDaemon`].

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::OnceLock;

/// The script: `$XDRGEN_PEERS_DIR/oncrpc-peers.sh`, else `../shared/peers/` beside the workspace.
pub fn script() -> PathBuf {
    crate::daemon::script().with_file_name("oncrpc-peers.sh")
}

/// rpcbind's TCP and UDP address on this host.
pub const RPCBIND: &str = "127.0.0.1:111";

/// What `rpcinfo -p` lists: (program, version, protocol, port) per line.
pub fn rpcinfo_p() -> Vec<(u32, u32, String, u16)> {
    let Ok(out) = Command::new("rpcinfo").arg("-p").output() else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some((
                f.first()?.parse().ok()?,
                f.get(1)?.parse().ok()?,
                f.get(2)?.to_string(),
                f.get(3)?.parse().ok()?,
            ))
        })
        .collect()
}

fn running() -> bool {
    let list = rpcinfo_p();
    let has = |p: u32, v: u32, proto: &str| {
        list.iter()
            .any(|e| (e.0, e.1, e.2.as_str()) == (p, v, proto))
    };
    has(100_000, 2, "tcp")
        && has(100_003, 3, "tcp")
        && has(100_001, 3, "udp")
        && has(100_002, 2, "udp")
}

/// Makes sure the peers run: `true` when they do, `false` (after saying why) when they cannot
/// start outside CI. Panics under CI when they cannot start.
pub fn ensure() -> bool {
    static STARTED: OnceLock<Result<(), String>> = OnceLock::new();
    let result = STARTED.get_or_init(|| {
        if running() {
            return Ok(());
        }
        let out = Command::new("bash")
            .arg(script())
            .arg("start")
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script().display()))?;
        if !out.status.success() || !running() {
            return Err(format!(
                "the ONC RPC peers did not start: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(())
    });
    match result {
        Ok(()) => true,
        Err(e) if std::env::var_os("CI").is_some() => panic!("{e}"),
        Err(e) => {
            eprintln!("skipped: {e}");
            false
        }
    }
}

/// Serialises the tests of one test binary that change rpcbind's entries (one registration per
/// program, version and protocol per host) or need them as the peers made them.
/// (An async lock: it is held across the test's awaits.)
pub async fn registration_lock() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}

/// rpcgen's C server and client of `onc_demo.x`, built once per run in `dir`.
#[derive(Debug)]
pub struct DemoPeers {
    /// The server: rpcgen -N's skeleton with its `main` and `onc_demo_server.c`.
    pub server: PathBuf,
    /// The client: rpcgen -N's stubs and `onc_demo_client.c`.
    pub client: PathBuf,
}

/// Builds the C server and client (rpcgen -N, gcc, libtirpc) under `target/`, once per run.
pub fn build_demo_peers() -> Result<&'static DemoPeers, String> {
    static BUILT: OnceLock<Result<DemoPeers, String>> = OnceLock::new();
    BUILT.get_or_init(build).as_ref().map_err(Clone::clone)
}

fn build() -> Result<DemoPeers, String> {
    let dir = copy_sources("onc_demo")?;
    let run = |prog: &str, args: &[&str]| run_in(&dir, prog, args);
    for (flag, out) in [
        ("-h", "onc_demo.h"),
        ("-c", "onc_demo_xdr.c"),
        ("-l", "onc_demo_clnt.c"),
    ] {
        let _ = std::fs::remove_file(dir.join(out));
        run("rpcgen", &["-N", flag, "-o", out, "onc_demo.x"])?;
    }
    let _ = std::fs::remove_file(dir.join("onc_demo_svc.c"));
    run(
        "rpcgen",
        &[
            "-N",
            "-s",
            "tcp",
            "-s",
            "udp",
            "-o",
            "onc_demo_svc.c",
            "onc_demo.x",
        ],
    )?;
    let cc = |out: &str, files: &[&str]| {
        let mut args = vec!["-O1", "-I/usr/include/tirpc", "-o", out];
        args.extend_from_slice(files);
        args.push("-ltirpc");
        run("gcc", &args)
    };
    cc(
        "onc_demo_server",
        &["onc_demo_svc.c", "onc_demo_xdr.c", "onc_demo_server.c"],
    )?;
    cc(
        "onc_demo_client",
        &["onc_demo_client.c", "onc_demo_clnt.c", "onc_demo_xdr.c"],
    )?;
    Ok(DemoPeers {
        server: dir.join("onc_demo_server"),
        client: dir.join("onc_demo_client"),
    })
}

/// rpcgen's C server and client of `onc_typedefs.x`, built once per run.
#[derive(Debug)]
pub struct TypedefPeers {
    /// The server: rpcgen's dispatch function (`-m`) and `onc_typedefs_server.c`, whose main
    /// serves on ephemeral TCP and UDP ports without rpcbind and prints them.
    pub server: PathBuf,
    /// The client: rpcgen's stubs and `onc_typedefs_client.c` (`PORT tcp|udp`).
    pub client: PathBuf,
}

/// Builds the C server and client of `onc_typedefs.x` (rpcgen without `-N`, whose prototypes
/// for array typedefs do not compile; gcc; libtirpc) under `target/`, once per run.
pub fn build_typedef_peers() -> Result<&'static TypedefPeers, String> {
    static BUILT: OnceLock<Result<TypedefPeers, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let dir = copy_sources("onc_typedefs")?;
            let rpcgen = |flag: &str, out: &str| {
                let _ = std::fs::remove_file(dir.join(out));
                run_in(&dir, "rpcgen", &[flag, "-o", out, "onc_typedefs.x"])
            };
            rpcgen("-h", "onc_typedefs.h")?;
            rpcgen("-c", "onc_typedefs_xdr.c")?;
            rpcgen("-l", "onc_typedefs_clnt.c")?;
            rpcgen("-m", "onc_typedefs_svc.c")?;
            let cc = |out: &str, files: &[&str]| {
                let mut args = vec!["-O1", "-I/usr/include/tirpc", "-o", out];
                args.extend_from_slice(files);
                args.push("-ltirpc");
                run_in(&dir, "gcc", &args)
            };
            cc(
                "onc_typedefs_server",
                &[
                    "onc_typedefs_svc.c",
                    "onc_typedefs_xdr.c",
                    "onc_typedefs_server.c",
                ],
            )?;
            cc(
                "onc_typedefs_client",
                &[
                    "onc_typedefs_client.c",
                    "onc_typedefs_clnt.c",
                    "onc_typedefs_xdr.c",
                ],
            )?;
            Ok(TypedefPeers {
                server: dir.join("onc_typedefs_server"),
                client: dir.join("onc_typedefs_client"),
            })
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// `target/tmp/<stem>_peers/` holding `fixtures/<stem>.x`, `src/<stem>_server.c` and
/// `src/<stem>_client.c`.
fn copy_sources(stem: &str) -> Result<PathBuf, String> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = src.join(format!("../target/tmp/{stem}_peers"));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let x = format!("{stem}.x");
    std::fs::copy(src.join("fixtures").join(&x), dir.join(&x)).map_err(|e| e.to_string())?;
    for c in [format!("{stem}_server.c"), format!("{stem}_client.c")] {
        std::fs::copy(src.join("src").join(&c), dir.join(&c)).map_err(|e| e.to_string())?;
    }
    Ok(dir)
}

/// Runs `prog` in `dir`; its stderr is the error when it fails.
fn run_in(dir: &Path, prog: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(prog)
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("{prog}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{prog} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// A running C server, killed (and its rpcbind entries removed) when dropped.
#[derive(Debug)]
pub struct CServer {
    child: Child,
}

impl CServer {
    /// Starts `path` and waits until rpcbind lists its program on TCP and UDP.
    pub fn start(path: &Path, program: u32) -> Result<CServer, String> {
        let child = Command::new(path)
            .stdout(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let server = CServer { child };
        for _ in 0..100 {
            let list = rpcinfo_p();
            let on = |proto: &str| {
                list.iter()
                    .any(|e| e.0 == program && e.1 == 2 && e.2 == proto)
            };
            if on("tcp") && on("udp") {
                return Ok(server);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Err("the C server did not register with rpcbind".into())
    }
}

impl Drop for CServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Serves `server` on an ephemeral loopback TCP port and UDP port, each in a task of its own;
/// returns both addresses (TCP, UDP).
pub async fn serve_on_loopback(
    server: &xdrgen_runtime::onc::Server,
) -> (std::net::SocketAddr, std::net::SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addrs = (listener.local_addr().unwrap(), socket.local_addr().unwrap());
    let s = server.clone();
    tokio::spawn(async move { s.serve_tcp(listener).await });
    let s = server.clone();
    tokio::spawn(async move { s.serve_udp(socket).await });
    addrs
}

/// Runs one of rpcgen's C clients with `args` off the async runtime (it may call a server
/// this runtime serves) and returns its output; panics, with its output, when it fails.
pub async fn run_c_client(client: &Path, args: &[&str]) -> String {
    let mut command = Command::new(client);
    command.args(args);
    let out = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{} {args:?}:\n{text}{}",
        client.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    text
}
