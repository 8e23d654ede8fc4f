//! Issue 13's hostile-input check: every type of libvirt's remote_protocol.x decodes 4 KiB of
//! random words without a panic and without holding more memory than its `Limits` allow, with
//! a counting allocator watching every allocation and free.

use xdrgen_runtime::xdr::Limits;
use xdrgen_tests::alloc_probe::{self, CountingAlloc};
use xdrgen_tests::random_words::allowance;
use xdrgen_tests::registry::LIBVIRT;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Inputs per type.
const INPUTS: usize = 64;
/// Bytes per input.
const LEN: usize = 4096;

#[test]
fn every_remote_type_decodes_random_words_within_its_limits() {
    assert!(
        alloc_probe::installed(),
        "the counting allocator is not active"
    );
    let remote: Vec<_> = LIBVIRT
        .iter()
        .filter(|e| e.file == "remote_protocol.x")
        .collect();
    assert!(remote.len() > 400, "only {} types", remote.len());
    let mut failures = Vec::new();
    let (mut decoded_types, mut decoded, mut peak) = (0, 0, 0);
    for (n, e) in remote.iter().enumerate() {
        match (e.random_words)(n as u64 + 1, INPUTS, LEN) {
            Ok(o) => {
                decoded += o.decoded;
                decoded_types += usize::from(o.decoded > 0);
                peak = peak.max(o.peak);
            }
            Err(msg) => failures.push(format!("{e:?}: {msg}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!(
        "{} types × {INPUTS} inputs of {LEN} bytes: {decoded} decoded to a value ({decoded_types} \
         types at least once), the rest refused; peak held {peak} bytes (allowed {})",
        remote.len(),
        allowance(LEN, Limits::default())
    );
    // The inputs reach past the first words: many types decode fully from them.
    assert!(
        decoded_types * 4 > remote.len(),
        "only {decoded_types} types ever decoded"
    );
}
