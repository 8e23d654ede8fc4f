//! xdrgen's generated codecs against rpcgen + libtirpc's C codecs, on the same bytes.
//!
//! For a handful of libvirt messages (the 24-byte packet header, bulk XML, 256 KiB of opaque
//! data, a small fixed struct, an array of 1000 domains, 256 typed parameters with union values,
//! a short stats list) this times, in one run:
//!
//! - **Rust decode**: `xdr::from_shared::<T>` and dropping the value, as the libvirt client and
//!   server decode: the input is a `Bytes` placed as a received packet's payload is (offset 28
//!   of a page-aligned buffer), and opaque data is decoded as slices of it;
//! - **Rust from_bytes**: `xdr::from_bytes::<T>` on the same placed bytes (every opaque or
//!   string copied out, as an owned decode from a plain slice);
//! - **Rust encode**: `Encode::encode` into one reused `Encoder` (`clear` between messages,
//!   like C below), and also `xdr::to_bytes` (sizing pass + a fresh exact allocation each
//!   time);
//! - **C decode**: zero the struct, `xdrmem_create(XDR_DECODE)`, `xdr_T`, `xdr_free`, on input
//!   placed the same way;
//! - **C encode**: `xdrmem_create(XDR_ENCODE)` over one buffer allocated up front, `xdr_T` on
//!   the value C decoded from the same bytes (and C's output is checked equal to Rust's).
//!
//! The C loops run inside a small C driver (`tests/src/bench_body.c`, built next to rpcgen's
//! output at `-O2` by `xdrgen_tests::c_build::build_bench_peer`), so no process boundary is
//! timed. Every measurement is calibrated to last at least 200 ms and is the best of 5 runs;
//! the runs of a message interleave Rust and C so load from elsewhere hits both sides. The
//! table prints ns/op and C/Rust ratios (above 1 means Rust is faster), then, for the bulk
//! messages, MB/s and a reference: a `memcpy` of the message's bytes from one placed buffer
//! into another (offset 28 of a page-aligned buffer on both sides), beside the owned decode. Machines are shared and noisy: read the ratios, which are measured side by side.
//!
//! After the table: the peak heap while decoding the 1 MiB reply (owned and shared), and the
//! generator against rpcgen on libvirt's nine files, wall time and peak resident memory, best
//! of 7 interleaved runs (`xdrgen_tests::generator_bench`).
//!
//! Run: `cargo bench -p xdrgen-tests --bench codec_vs_c` (a further argument filters messages
//! by substring; `XDRGEN_BENCH_MS` changes the 200 ms per measurement). Needs `rpcgen`, `gcc`
//! and libtirpc-dev, and libvirt's `.x` files (see `xdrgen_tests::paths::libvirt_dir`).
//! Without `--bench` (as `cargo test --benches` runs it) every measurement runs one iteration
//! only, as a smoke test that both sides agree on the bytes.
//!
//! Profiling: `XDRGEN_BENCH_PROFILE=<loop>:<iterations>` (`<loop>` one of `dec`, `from_bytes`,
//! `enc`, `to_bytes`) runs only that Rust loop, that many times, on each message the filter
//! selects, and exits: no C, no calibration, no table. Under `valgrind --tool=callgrind`, two
//! runs with different iteration counts give the instructions of one operation (the difference
//! of the totals divided by the difference of the counts), which unlike times is repeatable on
//! a busy machine.

use std::fmt::Debug;
use std::hint::black_box;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use protocols::remote_protocol::{
    RemoteConnectListAllDomainsRet, RemoteDomainBlockPeekRet, RemoteDomainGetCpuStatsRet,
    RemoteDomainGetInfoRet, RemoteDomainGetXmlDescRet, RemoteNodeGetCpuStats,
    RemoteNodeGetCpuStatsRet, RemoteNonnullDomain, RemoteNonnullString, RemoteTypedParam,
    RemoteTypedParamValue,
};
use protocols::virnetprotocol::{VirNetMessageHeader, VirNetMessageStatus, VirNetMessageType};
use xdrgen_runtime::xdr::{self, Bytes, Decode, Encode, Encoder, Opaque, VarArray};
use xdrgen_tests::alloc_probe::{peak_live_during, CountingAlloc};
use xdrgen_tests::c_bench::{CBench, Mode};
use xdrgen_tests::c_build::{build_bench_peer, tools_or_skip, PeerSpec};
use xdrgen_tests::generator_bench;
use xdrgen_tests::paths::libvirt_dir;

// Counts the bytes held at once for the peak-memory lines (a thread-local flag test per
// allocation while no probe runs).
#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// A timed loop: runs `n` iterations and returns how long they took.
type Timer = Box<dyn FnMut(u64) -> Duration>;

/// One message, its bytes, and the Rust loops over it.
struct Case {
    label: String,
    xdr_name: &'static str,
    bytes: Rc<[u8]>,
    /// Whether to report MB/s and the memcpy reference.
    bulk: bool,
    rust_decode: Timer,
    rust_from_bytes: Timer,
    rust_encode: Timer,
    rust_to_bytes: Timer,
    memcpy: Timer,
}

/// Where a packet's payload starts in its receive buffer: after the length word and header.
const PAYLOAD_OFFSET: usize = 28;

/// `bytes` copied to offset 28 of a page-aligned buffer, as a received packet's payload is
/// placed, as a `Bytes` sharing that buffer (as `PacketCodec` hands a body over).
fn placed(bytes: &[u8]) -> Bytes {
    const PAGE: usize = 4096;
    let mut buf = vec![0u8; bytes.len() + PAYLOAD_OFFSET + PAGE];
    let start = buf.as_ptr().align_offset(PAGE) + PAYLOAD_OFFSET;
    buf[start..start + bytes.len()].copy_from_slice(bytes);
    // Bytes takes the Vec's allocation as it is (its length is its capacity), so the payload
    // stays where it was put; the assertion checks it.
    let body = Bytes::from(buf).slice(start..start + bytes.len());
    assert_eq!(
        (body.as_ptr() as usize) % PAGE,
        PAYLOAD_OFFSET,
        "the payload sits at offset 28 of a page"
    );
    body
}

/// A writable buffer of `len` bytes at offset 28 of a page-aligned allocation (the memcpy
/// reference's destination), with the allocation that holds it.
fn placed_mut(len: usize) -> (Vec<u8>, usize) {
    const PAGE: usize = 4096;
    let buf = vec![0u8; len + PAYLOAD_OFFSET + PAGE];
    let start = buf.as_ptr().align_offset(PAGE) + PAYLOAD_OFFSET;
    (buf, start)
}

/// Encodes `value` once, checks it decodes back to itself, and builds the Rust loops.
fn case<T: Encode + Decode + PartialEq + Debug + 'static>(
    label: &str,
    xdr_name: &'static str,
    value: T,
    bulk: bool,
) -> Case {
    let bytes: Rc<[u8]> = xdr::to_bytes(&value)
        .unwrap_or_else(|e| panic!("{label}: encode: {e}"))
        .into();
    let back: T = xdr::from_bytes(&bytes).unwrap_or_else(|e| panic!("{label}: decode: {e}"));
    assert!(back == value, "{label}: round trip changed the value");
    let value = Rc::new(value);

    let body = placed(&bytes);
    let shared: T = xdr::from_shared(&body).unwrap_or_else(|e| panic!("{label}: from_shared: {e}"));
    assert!(shared == *value, "{label}: from_shared changed the value");

    let input = body.clone();
    let rust_decode: Timer = Box::new(move |n| {
        let start = Instant::now();
        for _ in 0..n {
            let v: T = xdr::from_shared(black_box(&input)).expect("decoded before");
            drop(black_box(v));
        }
        start.elapsed()
    });

    let input = body.clone();
    let rust_from_bytes: Timer = Box::new(move |n| {
        let start = Instant::now();
        for _ in 0..n {
            let v: T = xdr::from_bytes(black_box(&input[..])).expect("decoded before");
            drop(black_box(v));
        }
        start.elapsed()
    });

    let input = body;
    let (mut dst, at) = placed_mut(input.len());
    let memcpy: Timer = Box::new(move |n| {
        let start = Instant::now();
        for _ in 0..n {
            dst[at..at + input.len()].copy_from_slice(black_box(&input[..]));
            black_box(&mut dst);
        }
        start.elapsed()
    });

    let v = Rc::clone(&value);
    let mut out = Encoder::with_capacity(bytes.len());
    let rust_encode: Timer = Box::new(move |n| {
        let start = Instant::now();
        for _ in 0..n {
            out.clear();
            black_box(&*v).encode(&mut out).expect("encoded before");
            black_box(out.as_bytes());
        }
        start.elapsed()
    });

    let v = Rc::clone(&value);
    let rust_to_bytes: Timer = Box::new(move |n| {
        let start = Instant::now();
        for _ in 0..n {
            drop(black_box(
                xdr::to_bytes(black_box(&*v)).expect("encoded before"),
            ));
        }
        start.elapsed()
    });

    Case {
        label: label.to_string(),
        xdr_name,
        bytes,
        bulk,
        rust_decode,
        rust_from_bytes,
        rust_encode,
        rust_to_bytes,
        memcpy,
    }
}

fn string(s: impl Into<String>) -> RemoteNonnullString {
    RemoteNonnullString::try_from(s.into()).expect("test strings are far below REMOTE_STRING_MAX")
}

/// A domain XML description of exactly `len` bytes (ASCII, so any cut is valid UTF-8).
fn domain_xml(len: usize) -> String {
    let mut xml = String::from("<domain type='kvm'>\n  <name>bench</name>\n  <devices>\n");
    let mut i = 0;
    while xml.len() < len {
        xml.push_str(&format!(
            "    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
             <source file='/var/lib/libvirt/images/vm-{i:06}.qcow2'/>\
             <target dev='vd{i}' bus='virtio'/></disk>\n"
        ));
        i += 1;
    }
    xml.truncate(len);
    xml
}

/// `n` typed parameters cycling through every union arm, as a per-CPU stats reply carries.
fn typed_params(n: usize) -> Vec<RemoteTypedParam> {
    (0..n)
        .map(|i| {
            let k = i as i64;
            let value = match i % 7 {
                0 => RemoteTypedParamValue::Int(-(i as i32)),
                1 => RemoteTypedParamValue::Uint(i as u32 * 1000),
                2 => RemoteTypedParamValue::Llong(-k * 1_000_000_007),
                3 => RemoteTypedParamValue::Ullong(k as u64 * 123_456_789_012),
                4 => RemoteTypedParamValue::Double(k as f64 * 0.75),
                5 => RemoteTypedParamValue::Boolean((i % 2) as i32),
                _ => RemoteTypedParamValue::String(string(format!("vcpu{i}-running"))),
            };
            RemoteTypedParam {
                field: string(format!("cpu.{}.time{}", i / 7, i % 7)),
                value,
            }
        })
        .collect()
}

/// The messages, in table order.
fn cases() -> Vec<Case> {
    let xml = |len| RemoteDomainGetXmlDescRet {
        xml: string(domain_xml(len)),
    };
    let domains: Vec<RemoteNonnullDomain> = (0..1000u32)
        .map(|i| {
            let mut uuid = [0u8; 16];
            for (j, b) in uuid.iter_mut().enumerate() {
                *b = (i as u8).wrapping_mul(31).wrapping_add(j as u8);
            }
            RemoteNonnullDomain {
                name: string(format!("instance-{i:08x}")),
                uuid,
                id: i as i32 + 1,
            }
        })
        .collect();
    let params = typed_params(256);
    let cpu_stats = ["kernel", "user", "idle", "iowait"]
        .iter()
        .zip([1_234_567_890u64, 9_876_543_210, 987_654_321_098, 12_345_678])
        .map(|(field, value)| RemoteNodeGetCpuStats {
            field: string(*field),
            value,
        })
        .collect::<Vec<_>>();
    let mut peek = vec![0u8; 256 << 10];
    for (i, b) in peek.iter_mut().enumerate() {
        *b = (i.wrapping_mul(2_654_435_761) >> 13) as u8;
    }
    vec![
        case(
            "message header (24 B)",
            "virNetMessageHeader",
            VirNetMessageHeader {
                prog: 0x2000_8086,
                vers: 1,
                proc: 16,
                r#type: VirNetMessageType::Reply,
                serial: 12_345,
                status: VirNetMessageStatus::Ok,
            },
            false,
        ),
        case(
            "block_peek_ret 256 KiB",
            "remote_domain_block_peek_ret",
            RemoteDomainBlockPeekRet {
                buffer: Opaque::new(peek).expect("256 KiB <= REMOTE_DOMAIN_BLOCK_PEEK_BUFFER_MAX"),
            },
            true,
        ),
        case(
            "get_xml_desc_ret 64 KiB",
            "remote_domain_get_xml_desc_ret",
            xml(64 << 10),
            true,
        ),
        case(
            "get_xml_desc_ret 1 MiB",
            "remote_domain_get_xml_desc_ret",
            xml(1 << 20),
            true,
        ),
        case(
            "domain_get_info_ret",
            "remote_domain_get_info_ret",
            RemoteDomainGetInfoRet {
                state: 1,
                max_mem: 8 << 20,
                memory: 4 << 20,
                nr_virt_cpu: 4,
                cpu_time: 123_456_789_012,
            },
            false,
        ),
        case(
            "list_all_domains_ret 1000",
            "remote_connect_list_all_domains_ret",
            RemoteConnectListAllDomainsRet {
                domains: VarArray::new(domains).expect("1000 <= REMOTE_DOMAIN_LIST_MAX"),
                ret: 1000,
            },
            false,
        ),
        case(
            "domain_get_cpu_stats_ret 256",
            "remote_domain_get_cpu_stats_ret",
            RemoteDomainGetCpuStatsRet {
                params: VarArray::new(params).expect("256 <= REMOTE_DOMAIN_GET_CPU_STATS_MAX"),
                nparams: 7,
            },
            false,
        ),
        case(
            "node_get_cpu_stats_ret 4",
            "remote_node_get_cpu_stats_ret",
            RemoteNodeGetCpuStatsRet {
                params: VarArray::new(cpu_stats).expect("4 <= REMOTE_NODE_CPU_STATS_MAX"),
                nparams: 4,
            },
            false,
        ),
    ]
}

/// How long each measurement lasts; `None` for the one-iteration smoke run.
#[derive(Clone, Copy)]
struct Budget(Option<Duration>);

/// How many timed runs each measurement gets; the best counts.
const ROUNDS: usize = 5;

/// Iterations for one run of `run` to last the budget (1 in the smoke run).
fn calibrate(
    budget: Budget,
    mut run: impl FnMut(u64) -> std::io::Result<Duration>,
) -> std::io::Result<u64> {
    let Some(target) = budget.0 else {
        return Ok(1);
    };
    // Grow the count until a run is long enough to time well, then scale it to the target.
    let mut iters: u64 = 1;
    let mut took = run(iters)?;
    while took < target / 8 && iters < u64::from(u32::MAX) / 16 {
        iters *= if took < target / 1000 { 16 } else { 2 };
        took = run(iters)?;
    }
    // 10% over the target, so the timed runs stay above it when the estimate was a bit high.
    let scale = 1.1 * target.as_secs_f64() / took.as_secs_f64().max(1e-9);
    Ok(((iters as f64 * scale).ceil() as u64).clamp(1, u64::from(u32::MAX)))
}

/// One row of results, ns/op.
struct Row {
    label: String,
    bytes: usize,
    bulk: bool,
    rust_dec: f64,
    c_dec: f64,
    rust_from_bytes: f64,
    rust_enc: f64,
    c_enc: f64,
    rust_to_bytes: f64,
    /// The memcpy reference (bulk messages only).
    memcpy: Option<f64>,
}

/// The measurements of a row, in [`Row`] order after `label`/`bytes`/`bulk`; the last one
/// (memcpy) only for bulk messages.
const MEASUREMENTS: usize = 7;

fn run_case(c: &mut CBench, case: &mut Case, budget: Budget) -> std::io::Result<Row> {
    let bytes = Rc::clone(&case.bytes);
    let name = case.xdr_name;
    let kinds = if case.bulk {
        MEASUREMENTS
    } else {
        MEASUREMENTS - 1
    };
    // Measurement `k`, `n` iterations: one place that borrows both sides.
    let mut run = |k: usize, n: u64| -> std::io::Result<Duration> {
        let c_iters = || u32::try_from(n).map_err(std::io::Error::other);
        match k {
            0 => Ok((case.rust_decode)(n)),
            1 => c.time(name, Mode::Decode, c_iters()?, &bytes),
            2 => Ok((case.rust_from_bytes)(n)),
            3 => Ok((case.rust_encode)(n)),
            4 => c.time(name, Mode::Encode, c_iters()?, &bytes),
            5 => Ok((case.rust_to_bytes)(n)),
            _ => Ok((case.memcpy)(n)),
        }
    };
    let mut iters = [0u64; MEASUREMENTS];
    for (k, n) in iters.iter_mut().enumerate().take(kinds) {
        *n = calibrate(budget, |n| run(k, n))?;
    }
    // Rounds interleave Rust and C, so a burst of load from other processes on a shared
    // machine hits both sides rather than one measurement.
    let mut best = [f64::INFINITY; MEASUREMENTS];
    let rounds = if budget.0.is_some() { ROUNDS } else { 1 };
    for _ in 0..rounds {
        for k in 0..kinds {
            let ns = run(k, iters[k])?.as_nanos() as f64 / iters[k] as f64;
            best[k] = best[k].min(ns);
        }
    }
    let [rust_dec, c_dec, rust_from_bytes, rust_enc, c_enc, rust_to_bytes, memcpy] = best;
    Ok(Row {
        label: case.label.clone(),
        bytes: bytes.len(),
        bulk: case.bulk,
        rust_dec,
        c_dec,
        rust_from_bytes,
        rust_enc,
        c_enc,
        rust_to_bytes,
        memcpy: case.bulk.then_some(memcpy),
    })
}

/// ns with a unit that keeps 3–4 significant digits.
fn ns(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2} ms", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.1} us", v / 1e3)
    } else {
        format!("{v:.0} ns")
    }
}

fn mb_s(bytes: usize, ns: f64) -> String {
    format!("{:.0}", bytes as f64 / ns * 1e9 / 1e6)
}

fn print_table(rows: &[Row]) {
    println!(
        "\n{:<28} {:>8} | {:>9} {:>9} {:>6} | {:>10} {:>6} | {:>9} {:>9} {:>6} | {:>9} {:>6}",
        "message",
        "bytes",
        "Rust dec",
        "C dec",
        "C/R",
        "from_bytes",
        "C/R",
        "Rust enc",
        "C enc",
        "C/R",
        "to_bytes",
        "C/R"
    );
    println!("{}", "-".repeat(136));
    for r in rows {
        println!(
            "{:<28} {:>8} | {:>9} {:>9} {:>6.2} | {:>10} {:>6.2} | {:>9} {:>9} {:>6.2} | {:>9} {:>6.2}",
            r.label,
            r.bytes,
            ns(r.rust_dec),
            ns(r.c_dec),
            r.c_dec / r.rust_dec,
            ns(r.rust_from_bytes),
            r.c_dec / r.rust_from_bytes,
            ns(r.rust_enc),
            ns(r.c_enc),
            r.c_enc / r.rust_enc,
            ns(r.rust_to_bytes),
            r.c_enc / r.rust_to_bytes,
        );
    }
    println!("C/R = C time / Rust time: above 1 means Rust is faster.");
    println!(
        "Rust dec = from_shared on a placed Bytes (as the client and server decode); \
         from_bytes = owned decode from a slice."
    );
    println!("Rust enc reuses one buffer like C; to_bytes sizes and allocates each time.");
    let bulk: Vec<&Row> = rows.iter().filter(|r| r.bulk).collect();
    if !bulk.is_empty() {
        println!(
            "\n{:<28} {:>9} {:>9} {:>10} {:>9} {:>9} {:>9} | {:>10} {:>15}",
            "MB/s",
            "Rust dec",
            "C dec",
            "from_bytes",
            "Rust enc",
            "C enc",
            "to_bytes",
            "memcpy",
            "from_bytes/memcpy"
        );
        for r in bulk {
            let memcpy = r.memcpy.unwrap_or(f64::NAN);
            println!(
                "{:<28} {:>9} {:>9} {:>10} {:>9} {:>9} {:>9} | {:>10} {:>15.2}",
                r.label,
                mb_s(r.bytes, r.rust_dec),
                mb_s(r.bytes, r.c_dec),
                mb_s(r.bytes, r.rust_from_bytes),
                mb_s(r.bytes, r.rust_enc),
                mb_s(r.bytes, r.c_enc),
                mb_s(r.bytes, r.rust_to_bytes),
                ns(memcpy),
                r.rust_from_bytes / memcpy,
            );
        }
        println!(
            "memcpy = the message's bytes from one placed buffer into another (offset 28 of a \
             page-aligned buffer on both sides); from_bytes/memcpy = owned decode time / memcpy time."
        );
    }
}

/// Peak heap bytes held while decoding `bytes` as `T` and then dropping the value: owned
/// (`from_bytes`) and shared (`from_shared` on a placed `Bytes`, itself not counted).
fn decode_peaks<T: Decode>(bytes: &[u8]) -> (usize, usize) {
    let (_, owned) = peak_live_during(|| {
        let v: T = xdr::from_bytes(bytes).expect("decodes");
        drop(black_box(v));
    });
    let body = placed(bytes);
    let (_, shared) = peak_live_during(|| {
        let v: T = xdr::from_shared(&body).expect("decodes");
        drop(black_box(v));
    });
    (owned, shared)
}

/// The generator against rpcgen, and peak memory: printed after the codec table.
fn print_generator_and_memory(budget: Budget) {
    let xml = RemoteDomainGetXmlDescRet {
        xml: string(domain_xml(1 << 20)),
    };
    let bytes = xdr::to_bytes(&xml).expect("encodes");
    let (owned, shared) = decode_peaks::<RemoteDomainGetXmlDescRet>(&bytes);
    println!(
        "\nPeak heap while decoding get_xml_desc_ret 1 MiB ({} B): owned (from_bytes) {owned} B = \
         {:.3}x the message; shared (from_shared) {shared} B.",
        bytes.len(),
        owned as f64 / bytes.len() as f64
    );
    if !generator_bench::available() {
        println!("Generator vs rpcgen: skipped (needs GNU time at /usr/bin/time).");
        return;
    }
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("generator-bench");
    let rounds = if budget.0.is_some() { 7 } else { 1 };
    match generator_bench::compare(&work, rounds) {
        Ok((x, r)) => {
            println!(
                "\n{:<44} {:>9} {:>11}",
                format!("libvirt's 9 .x files (best of {rounds})"),
                "time",
                "peak RSS"
            );
            let row = |name: &str, run: generator_bench::Run| {
                println!(
                    "{name:<44} {:>7.0} ms {:>7.1} MiB",
                    run.time.as_secs_f64() * 1e3,
                    run.peak_kib as f64 / 1024.0
                );
            };
            row("xdrgen CLI: check + generate + write", x);
            row("rpcgen -h + rpcgen -c (18 runs, sum / max)", r);
            println!(
                "rpcgen/xdrgen: time {:.2}, memory {:.2} (above 1 means xdrgen is faster / smaller)",
                r.time.as_secs_f64() / x.time.as_secs_f64(),
                r.peak_kib as f64 / x.peak_kib as f64
            );
        }
        Err(e) => println!("Generator vs rpcgen: failed: {e}"),
    }
}

/// The `XDRGEN_BENCH_PROFILE` mode: one Rust loop, a fixed number of times, per selected
/// message (see the module documentation).
fn profile(spec: &str, filter: &[&String]) {
    let (kind, iters) = spec
        .split_once(':')
        .and_then(|(k, n)| Some((k, n.parse::<u64>().ok()?)))
        .unwrap_or_else(|| panic!("XDRGEN_BENCH_PROFILE={spec}: expected <loop>:<iterations>"));
    for mut case in cases()
        .into_iter()
        .filter(|c| filter.is_empty() || filter.iter().any(|f| c.label.contains(f.as_str())))
    {
        let timer = match kind {
            "dec" => &mut case.rust_decode,
            "from_bytes" => &mut case.rust_from_bytes,
            "enc" => &mut case.rust_encode,
            "to_bytes" => &mut case.rust_to_bytes,
            _ => {
                panic!("XDRGEN_BENCH_PROFILE: unknown loop {kind} (dec, from_bytes, enc, to_bytes)")
            }
        };
        let took = timer(iters);
        eprintln!("{}: {kind} x{iters} in {took:?}", case.label);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let bench = args.iter().any(|a| a == "--bench");
    let filter: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let budget = if bench {
        let ms = std::env::var("XDRGEN_BENCH_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(200);
        Budget(Some(Duration::from_millis(ms)))
    } else {
        Budget(None)
    };
    if let Ok(spec) = std::env::var("XDRGEN_BENCH_PROFILE") {
        profile(&spec, &filter);
        return;
    }
    if !tools_or_skip("codec_vs_c") {
        return;
    }

    let all = cases();
    // The C table lists every message, whatever the filter, so the driver is built once.
    let mut types: Vec<String> = all.iter().map(|c| c.xdr_name.to_string()).collect();
    types.dedup();
    let mut cases: Vec<Case> = all
        .into_iter()
        .filter(|c| filter.is_empty() || filter.iter().any(|f| c.label.contains(f.as_str())))
        .collect();
    let spec = PeerSpec {
        x_files: vec![
            libvirt_dir().join("virnetprotocol.x"),
            libvirt_dir().join("remote_protocol.x"),
        ],
        types: types.clone(),
    };
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c-bench-libvirt");
    let exe = build_bench_peer(&work, &spec).unwrap_or_else(|e| panic!("{e}"));
    let mut c = CBench::spawn(&exe, &types).expect("spawn the C bench driver");

    let mut rows = Vec::new();
    for case in &mut cases {
        let row = run_case(&mut c, case, budget).unwrap_or_else(|e| panic!("{}: {e}", case.label));
        if bench {
            eprintln!("done: {}", row.label);
        }
        rows.push(row);
    }
    if bench {
        print_table(&rows);
        print_generator_and_memory(budget);
    } else {
        print_generator_and_memory(budget);
        println!(
            "codec_vs_c: {} messages agree between Rust and C (smoke run; `cargo bench` times them)",
            rows.len()
        );
    }
}
