//! Property tests on every registered type (fixtures and libvirt): decode(encode(x)) == x,
//! `encoded_len`, truncations, a trailing byte, forged bool/enum/discriminant words and forged
//! lengths, with a counting allocator proving forged lengths allocate nothing large.

use xdrgen_tests::alloc_probe::{self, CountingAlloc};
use xdrgen_tests::differential::Plan;
use xdrgen_tests::registry::{Entry, FIXTURES, FIXTURES_BYTES, FIXTURES_OPEN, LIBVIRT};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn run(set: &str, entries: &[Entry], plan: Plan) {
    assert!(
        alloc_probe::installed(),
        "the counting allocator is not active"
    );
    assert!(!entries.is_empty(), "{set}: no registered types");
    let started = std::time::Instant::now();
    let mut values = 0;
    let mut failures = Vec::new();
    for e in entries {
        match (e.properties)(&plan, e.first_word, e.invalid_words) {
            Ok(stats) if stats.values == plan.values => values += stats.values,
            Ok(stats) => failures.push(format!("{e:?}: only {} values", stats.values)),
            Err(msg) => failures.push(format!("{e:?}: {msg}")),
        }
    }
    if !failures.is_empty() {
        panic!(
            "{set}: {} of {} types fail:\n{}",
            failures.len(),
            entries.len(),
            failures
                .iter()
                .take(25)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n---\n")
        );
    }
    println!(
        "roundtrip: {set}: {} types, {values} values, every property held, in {:.1?}",
        entries.len(),
        started.elapsed()
    );
}

#[test]
fn fixtures_properties() {
    let plan = Plan {
        values: 100,
        seed_base: 1_000,
        max_len: 5,
        max_depth: 6,
    }
    .from_env();
    run("fixtures", FIXTURES, plan);
    // Longer collections, so bounds up to 16 are hit exactly too.
    let long = Plan {
        values: 50,
        seed_base: 200_000,
        max_len: 16,
        max_depth: 3,
    }
    .from_env();
    run("fixtures (long collections)", FIXTURES, long);
}

/// The strings fixture with byte strings: random strings of any bytes but NUL, most of them
/// not UTF-8, hit every property.
#[test]
fn byte_string_fixture_properties() {
    let plan = Plan {
        values: 200,
        seed_base: 3_000,
        max_len: 16,
        max_depth: 4,
    }
    .from_env();
    run("fixtures (byte strings)", FIXTURES_BYTES, plan);
}

/// Fixtures with open enums: random values include enum words no member has, which must
/// round-trip like the others.
#[test]
fn open_enum_fixture_properties() {
    let plan = Plan {
        values: 200,
        seed_base: 5_000,
        max_len: 5,
        max_depth: 4,
    }
    .from_env();
    run("fixtures (open enums)", FIXTURES_OPEN, plan);
}

#[test]
fn libvirt_properties() {
    let plan = Plan {
        values: 8,
        seed_base: 1_000,
        max_len: 3,
        max_depth: 4,
    }
    .from_env();
    run("libvirt", LIBVIRT, plan);
}

#[test]
fn every_fixture_file_has_registered_types() {
    for file in xdrgen_tests::paths::fixture_files() {
        assert!(
            FIXTURES.iter().any(|e| e.file == file),
            "{file} contributes no type to the registry"
        );
    }
}
