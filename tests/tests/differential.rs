//! Every registered type against rpcgen + libtirpc: random values encoded by Rust must be
//! decoded by C (consuming every byte), re-encoded by C to the same bytes, and decoded by Rust
//! back to the same value. Run with `--nocapture` to see the counts.

use std::path::PathBuf;

use xdrgen_runtime::xdr::{from_bytes, to_bytes};
use xdrgen_tests::c_build::{build_peer, tools_or_skip, PeerSpec};
use xdrgen_tests::c_peer::{CPeer, Echo};
use xdrgen_tests::differential::{hex, Plan, Stats};
use xdrgen_tests::fixtures_bytes::collections::CoText;
use xdrgen_tests::paths::{
    c_fixture_paths, fixtures_dir, libvirt_dir, libvirt_v9_dir, BYTES_FIXTURE, LIBVIRT_FILES,
    OPEN_ENUM_FIXTURES,
};
use xdrgen_tests::registry::{Entry, FIXTURES, FIXTURES_BYTES, FIXTURES_OPEN, LIBVIRT, LIBVIRT_V9};

/// Builds one C peer for `x_files`, runs every C-known entry through it, and returns the
/// number of types and the stats; panics listing every failing type.
fn run_set(set: &str, entries: &[Entry], x_files: Vec<PathBuf>, plan: Plan) -> (usize, Stats) {
    let types: Vec<String> = entries
        .iter()
        .filter(|e| e.in_c)
        .map(|e| e.xdr_name.to_string())
        .collect();
    assert!(!types.is_empty(), "{set}: no registered types");
    let spec = PeerSpec { x_files, types };
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("c-peer-{set}"));
    let exe = build_peer(&work, &spec).unwrap_or_else(|e| panic!("{set}: {e}"));
    let mut c = CPeer::spawn(&exe, &spec.types).expect("spawn the C driver");
    let mut total = Stats::default();
    let mut exercised = 0;
    let mut failures = Vec::new();
    for e in entries.iter().filter(|e| e.in_c) {
        let index = c.index_of(e.xdr_name).expect("listed above");
        match (e.differential)(&mut c, index, &plan) {
            Ok(stats) if stats.values == plan.values => {
                exercised += 1;
                total += stats;
            }
            Ok(stats) => failures.push(format!("{e:?}: only {} values", stats.values)),
            Err(msg) => {
                failures.push(format!("{e:?}: {msg}"));
                // The driver may be out of step after an I/O error: start a fresh one.
                c = CPeer::spawn(&exe, &spec.types).expect("respawn the C driver");
            }
        }
    }
    if !failures.is_empty() {
        let shown: Vec<&String> = failures.iter().take(25).collect();
        panic!(
            "{set}: {} of {} types differ from C:\n{}",
            failures.len(),
            spec.types.len(),
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n---\n")
        );
    }
    assert_eq!(
        exercised,
        spec.types.len(),
        "{set}: every registered type exercised"
    );
    (exercised, total)
}

#[test]
fn fixtures_match_rpcgen() {
    if !tools_or_skip("differential") {
        return;
    }
    let started = std::time::Instant::now();
    // Two passes: short collections (every bound <= 5 hit exactly: CO_MAX, <3>, <4>, <2>),
    // then longer ones (string<12>, string<16>, opaque<7>, <8> and <10> hit exactly).
    let short = Plan {
        values: 200,
        seed_base: 0,
        max_len: 5,
        max_depth: 6,
    }
    .from_env();
    let long = Plan {
        values: 100,
        seed_base: 100_000,
        max_len: 16,
        max_depth: 3,
    }
    .from_env();
    let (types, mut stats) = run_set("fixtures", FIXTURES, c_fixture_paths(), short);
    stats += run_set("fixtures", FIXTURES, c_fixture_paths(), long).1;
    let skipped: Vec<&str> = FIXTURES
        .iter()
        .filter(|e| !e.in_c)
        .map(|e| e.xdr_name)
        .collect();
    println!(
        "differential: fixtures: {types} types, {} values ({} bytes), all byte-identical with rpcgen \
         in {:.1?}; not in C (rpcgen rejects their file): {skipped:?}",
        stats.values,
        stats.bytes,
        started.elapsed()
    );
    assert!(stats.values > 0);
}

/// The strings fixture in byte-string mode against the same C: random strings of any bytes but
/// NUL (which C's `strlen` would cut), most of them not UTF-8, in every string-holding type.
#[test]
fn byte_string_fixture_matches_rpcgen() {
    if !tools_or_skip("differential") {
        return;
    }
    let plan = Plan {
        values: 200,
        seed_base: 7_000,
        max_len: 16,
        max_depth: 4,
    }
    .from_env();
    let files = vec![fixtures_dir().join(BYTES_FIXTURE)];
    let (types, stats) = run_set("fixtures-bytes", FIXTURES_BYTES, files, plan);
    println!(
        "differential: byte strings: {types} types, {} values ({} bytes), all byte-identical",
        stats.values, stats.bytes
    );
    assert!(stats.values > 0);
}

/// The fixtures with open enums against the same C (whose `xdr_enum` takes any word): random
/// values, about one enum in every few an unknown value, travel Rust → C → Rust byte-exact.
#[test]
fn open_enum_fixtures_match_rpcgen() {
    if !tools_or_skip("differential") {
        return;
    }
    let plan = Plan {
        values: 200,
        seed_base: 9_000,
        max_len: 5,
        max_depth: 4,
    }
    .from_env();
    let files = OPEN_ENUM_FIXTURES
        .iter()
        .map(|f| fixtures_dir().join(f))
        .collect();
    let (types, stats) = run_set("fixtures-open", FIXTURES_OPEN, files, plan);
    println!(
        "differential: open enums: {types} types, {} values ({} bytes), all byte-identical",
        stats.values, stats.bytes
    );
    assert!(stats.values > 0);
}

/// `text` as XDR writes a string, built by hand from RFC 4506 4.11: the length word, the bytes,
/// zero padding to a multiple of four.
fn xdr_string(text: &[u8]) -> Vec<u8> {
    let mut wire = (text.len() as u32).to_be_bytes().to_vec();
    wire.extend_from_slice(text);
    while !wire.len().is_multiple_of(4) {
        wire.push(0);
    }
    wire
}

/// Every byte value from 0x01 to 0xff, alone, between ASCII letters, and all together in both
/// orders, in a `string<>` (`co_text`) in byte-string mode: Rust encodes it as RFC 4506 says,
/// libtirpc decodes all of it and re-encodes the same bytes, and Rust decodes libtirpc's bytes
/// back to the very bytes it started from.
#[test]
fn every_byte_value_round_trips_through_libtirpc_in_byte_strings() {
    if !tools_or_skip("differential") {
        return;
    }
    let spec = PeerSpec {
        x_files: vec![fixtures_dir().join(BYTES_FIXTURE)],
        types: vec!["co_text".to_string()],
    };
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c-peer-every-byte");
    let exe = build_peer(&work, &spec).unwrap_or_else(|e| panic!("{e}"));
    let mut c = CPeer::spawn(&exe, &spec.types).expect("spawn the C driver");
    let index = c.index_of("co_text").expect("listed");

    let mut inputs: Vec<Vec<u8>> = Vec::new();
    for b in 1..=255u8 {
        inputs.push(vec![b]);
        inputs.push(vec![b'a', b, b'z']);
    }
    let all: Vec<u8> = (1..=255).collect();
    inputs.push(all.iter().rev().copied().collect());
    inputs.push(all);

    for text in &inputs {
        let value = CoText::try_from(&text[..]).expect("unbounded");
        let wire = xdr_string(text);
        let ours = to_bytes(&value).expect("encodes");
        assert_eq!(ours, wire, "Rust's encoding of {}", hex(text));
        match c.echo(index, &ours).expect("talk to the C driver") {
            Echo::Ok { consumed, bytes } => {
                assert_eq!(consumed as usize, wire.len(), "C read all of {}", hex(text));
                assert_eq!(bytes, wire, "libtirpc re-encoded {}", hex(text));
                let back: CoText = from_bytes(&bytes).expect("Rust decodes libtirpc's bytes");
                assert_eq!(back.as_bytes(), &text[..]);
            }
            other => panic!("C refused {}: {other:?}", hex(text)),
        }
    }
}

/// Every typedef (of libvirt's files and of our fixtures rpcgen takes) is in the registry the
/// differential runs, so each is passed alone to `to_bytes`/`from_bytes` and to its own
/// rpcgen `xdr_` routine.
#[test]
fn every_typedef_is_checked_on_its_own() {
    let typedefs = |files: Vec<PathBuf>, options: xdrgen::check::Options| -> Vec<String> {
        let loaded = xdrgen::load(&files, &options).unwrap_or_else(|e| panic!("{}", e.render()));
        loaded
            .model
            .modules
            .iter()
            .flat_map(|m| &m.types)
            .filter(|t| matches!(t.kind, xdrgen::model::TypeKind::Alias(_)))
            .map(|t| t.xdr_name.clone())
            .collect()
    };
    let dir = libvirt_dir();
    let libvirt = typedefs(
        LIBVIRT_FILES.iter().map(|f| dir.join(f)).collect(),
        xdrgen::check::Options {
            constants: xdrgen::presets::libvirt_constants(),
            ..Default::default()
        },
    );
    let fixtures = typedefs(c_fixture_paths(), Default::default());
    for (set, names, entries) in [
        ("libvirt", &libvirt, LIBVIRT),
        ("fixtures", &fixtures, FIXTURES),
    ] {
        for name in names {
            assert!(
                entries.iter().any(|e| e.xdr_name == name && e.in_c),
                "{set}: typedef {name} is not checked against C"
            );
        }
    }
    assert!(libvirt.iter().any(|n| n == "remote_uuid"), "{libvirt:?}");
    assert!(libvirt.iter().any(|n| n == "remote_string"), "{libvirt:?}");
    println!(
        "typedefs checked alone against C: libvirt {}, fixtures {}",
        libvirt.len(),
        fixtures.len()
    );
}

#[test]
fn libvirt_matches_rpcgen() {
    if !tools_or_skip("differential") {
        return;
    }
    libvirt_set("libvirt", LIBVIRT, &libvirt_dir());
}

/// One libvirt release's files from `dir`, every type of `entries` through the differential.
fn libvirt_set(name: &str, entries: &[Entry], dir: &std::path::Path) {
    let started = std::time::Instant::now();
    let plan = Plan {
        values: 24,
        seed_base: 0,
        max_len: 3,
        max_depth: 4,
    }
    .from_env();
    let files = LIBVIRT_FILES.iter().map(|f| dir.join(f)).collect();
    let (types, stats) = run_set(name, entries, files, plan);
    println!(
        "differential: {name}: {types} types, {} values ({} bytes), all byte-identical with rpcgen in {:.1?}",
        stats.values,
        stats.bytes,
        started.elapsed()
    );
    assert!(stats.values > 0);
}

/// libvirt 9.0.0 (what Debian 12's libvirtd speaks), generated by `build.rs` as `protocols`
/// generates 11.3.0, through the same differential: every type, typedefs included.
#[test]
fn libvirt_v9_matches_rpcgen() {
    if !tools_or_skip("differential") {
        return;
    }
    if LIBVIRT_V9.is_empty() {
        let dir = libvirt_v9_dir();
        assert!(
            std::env::var_os("CI").is_none(),
            "libvirt 9.0.0's .x files are missing from {} (CI must have them)",
            dir.display()
        );
        eprintln!(
            "note: libvirt 9.0.0 skipped: no .x files in {}",
            dir.display()
        );
        return;
    }
    libvirt_set("libvirt-9.0.0", LIBVIRT_V9, &libvirt_v9_dir());
}
