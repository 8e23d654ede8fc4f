//! Calls per second and client CPU per call of `domain_get_info` against a real libvirtd (the
//! test driver), at 1 and 64 calls in flight: our generated client beside libvirt's own C
//! client (libvirt.so, one thread per call in flight), run in the same session on the same
//! daemon, alternating. CPU is the client process's user + system time (`/proc` for ours,
//! getrusage for C), set-up excluded. Run: `cargo bench -p xdrgen-tests --bench client_vs_c`
//! (needs libvirt-dev for the C side; `.ci/run` does not run benchmarks).
//!
//! Beside them it prints a floor: the same calls as pre-encoded packets, as many in flight,
//! written and their replies read with blocking `write`/`read` on the daemon's socket, with no
//! runtime, no encoding and no decoding. No client can spend much less CPU per call than that
//! on this machine, so `C/floor` bounds the ratio any client can reach.
//!
//! Profiling: `XDRGEN_CLIENT_PROFILE=<side>:<in flight>:<calls>` (`<side>` `rust` or `floor`)
//! runs only that side, once, and prints its calls/s, CPU µs per call and the context switches
//! (voluntary, involuntary) per call, then exits: no C, no table. With
//! `XDRGEN_CLIENT_PROFILE_URI` set to a running daemon's URI it starts no daemon and spawns no
//! process, so that `strace -c` or `perf stat -e 'syscalls:sys_enter_*'` on the bench counts
//! the client alone (two runs with different call counts give the syscalls of one call: the
//! difference of the totals divided by the difference of the counts).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
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

/// This process's CPU time (user + system) in seconds: the time on a CPU of each of its
/// threads, in nanoseconds, from `/proc/self/task/*/schedstat` (the clock ticks of
/// `/proc/self/stat` are 10 ms, too coarse for 20,000 calls of a few µs). The threads of a
/// measurement live through it: the runtime is single-threaded.
fn cpu_seconds() -> f64 {
    let tasks = std::fs::read_dir("/proc/self/task").expect("/proc/self/task");
    let ns: u64 = tasks
        .map(|t| {
            let stat = std::fs::read_to_string(t.unwrap().path().join("schedstat")).unwrap();
            let on_cpu = stat.split_whitespace().next().expect("a schedstat line");
            on_cpu.parse::<u64>().expect("nanoseconds")
        })
        .sum();
    ns as f64 / 1e9
}

/// This process's context switches so far, (voluntary, involuntary), over all its threads.
fn context_switches() -> (u64, u64) {
    let mut total = (0, 0);
    for t in std::fs::read_dir("/proc/self/task").expect("/proc/self/task") {
        let status = std::fs::read_to_string(t.unwrap().path().join("status")).unwrap();
        for line in status.lines() {
            let field = |name: &str| line.strip_prefix(name).map(|v| v.trim().parse::<u64>());
            if let Some(v) = field("voluntary_ctxt_switches:") {
                total.0 += v.unwrap();
            } else if let Some(v) = field("nonvoluntary_ctxt_switches:") {
                total.1 += v.unwrap();
            }
        }
    }
    total
}

/// (calls/s, CPU µs per call) of our client making `calls` calls with `in_flight` tasks.
fn rust_side(uri: &str, in_flight: usize, calls: usize) -> (f64, f64) {
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
        let per_task = calls / in_flight;
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

/// remote_protocol.x's program, version and the procedures the floor calls.
const REMOTE_PROGRAM: u32 = 0x2000_8086;
const PROC_CONNECT_OPEN: u32 = 1;
const PROC_DOMAIN_GET_INFO: u32 = 16;
const PROC_DOMAIN_LOOKUP_BY_NAME: u32 = 23;

/// A call packet, encoded by hand: length word, header (program, version 1, procedure, CALL,
/// serial, OK), then `body`.
fn packet(procedure: u32, serial: u32, body: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(28 + body.len());
    let len = u32::try_from(28 + body.len()).unwrap();
    for word in [len, REMOTE_PROGRAM, 1, procedure, 0, serial, 0] {
        p.extend_from_slice(&word.to_be_bytes());
    }
    p.extend_from_slice(body);
    p
}

/// An XDR string: length, bytes, padding.
fn xdr_string(s: &str) -> Vec<u8> {
    let mut v = u32::try_from(s.len()).unwrap().to_be_bytes().to_vec();
    v.extend_from_slice(s.as_bytes());
    v.resize(v.len().next_multiple_of(4), 0);
    v
}

/// Reads one whole reply packet into `buf` (growing it only for the first, larger ones) and
/// returns its body after checking the header's status is OK.
fn reply<'b>(sock: &mut UnixStream, buf: &'b mut Vec<u8>) -> &'b [u8] {
    let mut have = 0;
    let len = loop {
        if have >= 4 {
            let len = u32::from_be_bytes(buf[..4].try_into().unwrap()) as usize;
            if have >= len {
                break len;
            }
            if buf.len() < len {
                buf.resize(len, 0);
            }
        }
        let n = sock.read(&mut buf[have..]).unwrap();
        assert!(n > 0, "the daemon closed the connection");
        have += n;
    };
    assert_eq!(have, len, "one reply at a time");
    assert_eq!(&buf[24..28], &[0, 0, 0, 0], "an error reply");
    &buf[28..len]
}

/// (calls/s, CPU µs per call) of pre-encoded `domain_get_info` calls, `in_flight` at a time,
/// over blocking socket calls: each read takes whatever replies have arrived, and one write
/// sends as many new calls. The floor of any client's CPU per call at that many in flight.
fn floor(uri: &str, in_flight: usize, total: usize) -> (f64, f64) {
    let path = uri.split_once("socket=").expect("a socket in the URI").1;
    let mut sock = UnixStream::connect(path).unwrap();
    let mut buf = vec![0u8; 4096];
    // connect-open: remote_string name (present) + flags; then the domain's handle, whose
    // encoding is the lookup's whole reply body and the get-info call's whole argument.
    let mut open = vec![0, 0, 0, 1];
    open.extend_from_slice(&xdr_string("test:///default"));
    open.extend_from_slice(&[0; 4]);
    sock.write_all(&packet(PROC_CONNECT_OPEN, 1, &open))
        .unwrap();
    reply(&mut sock, &mut buf);
    let lookup = packet(PROC_DOMAIN_LOOKUP_BY_NAME, 2, &xdr_string("test"));
    sock.write_all(&lookup).unwrap();
    let dom = reply(&mut sock, &mut buf).to_vec();
    let mut call = packet(PROC_DOMAIN_GET_INFO, 3, &dom);
    let mut serial = 3u32;
    let mut calls = |n: usize, batch: &mut Vec<u8>| {
        batch.clear();
        for _ in 0..n {
            call[20..24].copy_from_slice(&serial.to_be_bytes());
            batch.extend_from_slice(&call);
            serial += 1;
        }
    };
    // Replies of the calls in flight fit many times over.
    let mut buf = vec![0u8; 1 << 16];
    let mut batch = Vec::new();
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let mut sent = in_flight.min(total);
    calls(sent, &mut batch);
    sock.write_all(&batch).unwrap();
    let (mut done, mut have) = (0, 0);
    while done < total {
        let n = sock.read(&mut buf[have..]).unwrap();
        assert!(n > 0, "the daemon closed the connection");
        have += n;
        let (mut at, mut got) = (0, 0);
        while have - at >= 4 {
            let len = u32::from_be_bytes(buf[at..at + 4].try_into().unwrap()) as usize;
            if have - at < len {
                break;
            }
            let packet = &buf[at..at + len];
            assert_eq!(&packet[24..28], &[0, 0, 0, 0], "an error reply");
            // state (4), maxMem (8), memory (8), then nrVirtCpu.
            assert_eq!(&packet[48..52], &[0, 0, 0, 2], "nrVirtCpu");
            at += len;
            got += 1;
        }
        buf.copy_within(at..have, 0);
        have -= at;
        done += got;
        let more = got.min(total - sent);
        if more > 0 {
            calls(more, &mut batch);
            sock.write_all(&batch).unwrap();
            sent += more;
        }
    }
    let (cpu, wall) = (cpu_seconds() - cpu0, t0.elapsed().as_secs_f64());
    (total as f64 / wall, cpu / total as f64 * 1e6)
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

/// The `XDRGEN_CLIENT_PROFILE` mode: one side, once (see the module documentation).
fn profile(spec: &str) {
    let parts: Vec<&str> = spec.split(':').collect();
    let [side, in_flight, calls] = parts[..] else {
        panic!("XDRGEN_CLIENT_PROFILE={spec}: expected <side>:<in flight>:<calls>");
    };
    let (in_flight, calls) = (in_flight.parse().unwrap(), calls.parse().unwrap());
    let daemon;
    let uri = match std::env::var("XDRGEN_CLIENT_PROFILE_URI") {
        Ok(uri) => uri,
        Err(_) => {
            let Some(d) = TestDaemon::start() else {
                return;
            };
            daemon = d;
            daemon.uri.clone()
        }
    };
    let cs0 = context_switches();
    let (rate, cpu) = match side {
        "rust" => rust_side(&uri, in_flight, calls),
        "floor" => floor(&uri, in_flight, calls),
        _ => panic!("XDRGEN_CLIENT_PROFILE: unknown side {side} (rust, floor)"),
    };
    let cs = context_switches();
    let per = |a: u64, b: u64| (a - b) as f64 / calls as f64;
    eprintln!(
        "{side} {in_flight} in flight, {calls} calls: {rate:.0} calls/s, {cpu:.2} µs CPU, \
         {:.3} voluntary + {:.3} involuntary context switches per call (set-up included)",
        per(cs.0, cs0.0),
        per(cs.1, cs0.1)
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if let Ok(spec) = std::env::var("XDRGEN_CLIENT_PROFILE") {
        profile(&spec);
        return;
    }
    let Some(daemon) = TestDaemon::start() else {
        return;
    };
    let c = build_c();
    println!("domain_get_info on libvirtd's test driver, {CALLS} calls, best of {ROUNDS}");
    println!(
        "{:>9} | {:>12} {:>12} | {:>12} {:>12} | {:>9} | {:>11} {:>9}",
        "in flight",
        "Rust calls/s",
        "Rust µs CPU",
        "C calls/s",
        "C µs CPU",
        "CPU C/Rust",
        "floor µs CPU",
        "C/floor"
    );
    for in_flight in [1, 64] {
        let (mut rust, mut cside, mut low) =
            ((0.0f64, f64::MAX), (0.0f64, f64::MAX), (0.0f64, f64::MAX));
        for _ in 0..ROUNDS {
            let r = floor(&daemon.uri, in_flight, CALLS);
            low = (low.0.max(r.0), low.1.min(r.1));
            let r = rust_side(&daemon.uri, in_flight, CALLS);
            rust = (rust.0.max(r.0), rust.1.min(r.1));
            if let Some(exe) = &c {
                let r = c_side(exe, &daemon.uri, in_flight);
                cside = (cside.0.max(r.0), cside.1.min(r.1));
            }
        }
        let (c_rate, c_cpu, ratio, c_floor) = if c.is_some() {
            (
                format!("{:.0}", cside.0),
                format!("{:.1}", cside.1),
                format!("{:.2}", cside.1 / rust.1),
                format!("{:.2}", cside.1 / low.1),
            )
        } else {
            ("-".into(), "-".into(), "-".into(), "-".into())
        };
        println!(
            "{in_flight:>9} | {:>12.0} {:>12.1} | {c_rate:>12} {c_cpu:>12} | {ratio:>9} | {:>11.1} {c_floor:>9}",
            rust.0, rust.1, low.1
        );
    }
}
