//! Calls per second and client CPU per call of `domain_get_info` against a real libvirtd (the
//! test driver), at 1 and 64 calls in flight: our generated client beside libvirt's own C
//! client (libvirt.so, one thread per call in flight), run in the same session on the same
//! daemon, alternating. CPU is the client process's user + system time (getrusage), set-up
//! excluded. Run: `cargo bench -p xdrgen-tests --bench client_vs_c` (needs libvirt-dev for
//! the C side; `.ci/run` does not run benchmarks).

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use protocols::remote_protocol::{RemoteDomainGetInfoArgs, RemoteDomainLookupByNameArgs};
use protocols::Connection;
use xdrgen_tests::daemon::TestDaemon;

/// Calls per measurement.
const CALLS: usize = 20_000;
/// Measurements per side and setting (the best is kept).
const ROUNDS: usize = 3;

/// This process's user + system CPU time, all threads, from `/proc/self/stat` (in clock
/// ticks of 10 ms: a measurement spans hundreds of them).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the command name (which may hold spaces) start at field 3; utime and stime
    // are fields 14 and 15.
    let rest = &stat[stat.rfind(')').expect("a command name") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields[i - 3].parse::<f64>().expect("a tick count");
    (ticks(14) + ticks(15)) / 100.0
}

/// (calls/s, CPU µs per call) of our client with `in_flight` tasks.
fn rust_side(uri: &str, in_flight: usize) -> (f64, f64) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let conn = Connection::open(uri).await.unwrap();
        let dom = conn
            .remote
            .domain_lookup_by_name(&RemoteDomainLookupByNameArgs {
                name: "test".try_into().unwrap(),
            })
            .await
            .unwrap()
            .dom;
        let per_task = CALLS / in_flight;
        let (cpu0, t0) = (cpu_seconds(), Instant::now());
        let tasks: Vec<_> = (0..in_flight)
            .map(|_| {
                let (conn, dom) = (conn.clone(), dom.clone());
                tokio::spawn(async move {
                    let args = RemoteDomainGetInfoArgs { dom };
                    for _ in 0..per_task {
                        let info = conn.remote.domain_get_info(&args).await.unwrap();
                        assert_eq!(info.nr_virt_cpu, 2);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let (cpu, wall) = (cpu_seconds() - cpu0, t0.elapsed().as_secs_f64());
        let done = (per_task * in_flight) as f64;
        conn.close().await.unwrap();
        (done / wall, cpu / done * 1e6)
    })
}

fn build_c() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("client_vs_c");
    std::fs::create_dir_all(&dir).unwrap();
    let exe = dir.join("libvirt_bench");
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/libvirt_bench.c");
    let ok = Command::new("gcc")
        .args(["-O2", "-o"])
        .arg(&exe)
        .arg(&src)
        .args(["-lvirt", "-lpthread"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("C side skipped: gcc or libvirt's headers missing (apt-get install libvirt-dev)");
        return None;
    }
    Some(exe)
}

fn c_side(exe: &PathBuf, uri: &str, in_flight: usize) -> (f64, f64) {
    let out = Command::new(exe)
        .arg(uri)
        .arg(in_flight.to_string())
        .arg(CALLS.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.split_whitespace().map(|v| v.parse::<f64>().unwrap());
    (it.next().unwrap(), it.next().unwrap())
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let Some(daemon) = TestDaemon::start() else {
        return;
    };
    let c = build_c();
    println!("domain_get_info on libvirtd's test driver, {CALLS} calls, best of {ROUNDS}");
    println!(
        "{:>9} | {:>12} {:>12} | {:>12} {:>12} | {:>9}",
        "in flight", "Rust calls/s", "Rust µs CPU", "C calls/s", "C µs CPU", "CPU C/Rust"
    );
    for in_flight in [1, 64] {
        let (mut rust, mut cside) = ((0.0f64, f64::MAX), (0.0f64, f64::MAX));
        for _ in 0..ROUNDS {
            let r = rust_side(&daemon.uri, in_flight);
            rust = (rust.0.max(r.0), rust.1.min(r.1));
            if let Some(exe) = &c {
                let r = c_side(exe, &daemon.uri, in_flight);
                cside = (cside.0.max(r.0), cside.1.min(r.1));
            }
        }
        let (c_rate, c_cpu, ratio) = if c.is_some() {
            (
                format!("{:.0}", cside.0),
                format!("{:.1}", cside.1),
                format!("{:.2}", cside.1 / rust.1),
            )
        } else {
            ("-".into(), "-".into(), "-".into())
        };
        println!(
            "{in_flight:>9} | {:>12.0} {:>12.1} | {c_rate:>12} {c_cpu:>12} | {ratio:>9}",
            rust.0, rust.1
        );
    }
}
