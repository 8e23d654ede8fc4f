//! Properties every generated codec must have, checked on random values of one type: the round
//! trip (from a slice and from a shared buffer), the computed length, and refusal of damaged or
//! hostile input without a panic and without allocating from an unchecked length.

use std::panic::{catch_unwind, AssertUnwindSafe};

use xdrgen_runtime::xdr::{self, Bytes, ErrorKind};

use crate::alloc_probe::largest_allocation_during;
use crate::differential::{hex, Plan, Stats, Testable};

/// What is known about the first 4-byte word of a type's encoding (computed from the model by
/// the build script, see `build.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstWord {
    /// A bool, enum, union discriminant, optional-data flag or small integer; this value is one
    /// it can never take, so decoding must fail.
    Invalid(u32),
    /// The length of variable opaque data or a string: a huge value must fail before any
    /// allocation.
    BytesLength,
    /// The length of a variable array: the same, with element allocation in mind.
    ArrayLength,
    /// Anything else (every value valid, e.g. an `int`).
    Other,
}

/// Allowance for the largest single allocation while decoding a hostile input of `n` bytes:
/// decoded values legitimately take more memory than their encoding (a `Vec` of 4-byte wire
/// elements that are 48-byte Rust structs), so the bound is a generous factor of the input.
/// An allocation sized from a forged length of 0xFFFFFFF0 is four gigabytes or more, far above.
pub fn hostile_allowance(n: usize) -> usize {
    n * 64 + 64 * 1024
}

/// Checks every property on `plan.values` random values of `T`. `invalid_words` lists
/// `(byte offset, word)` pairs that must each make decoding fail when forged into an encoding.
pub fn properties<T: Testable>(
    plan: &Plan,
    first: FirstWord,
    invalid_words: &[(u32, u32)],
) -> Result<Stats, String> {
    let mut stats = Stats::default();
    for seed in 0..plan.values {
        let value = T::random(&mut plan.gen(seed));
        let bytes =
            xdr::to_bytes(&value).map_err(|e| format!("seed {seed}: encode {value:?}: {e}"))?;
        let ctx = |what: &str| format!("seed {seed}: {what}\nbytes: {}", hex(&bytes));
        if value.encoded_len() != bytes.len() {
            return Err(ctx(&format!(
                "encoded_len {} != encoded {}",
                value.encoded_len(),
                bytes.len()
            )));
        }
        let back: T = xdr::from_bytes(&bytes).map_err(|e| ctx(&format!("decode: {e}")))?;
        if back != value {
            return Err(ctx(&format!("round trip changed {value:?} into {back:?}")));
        }
        // Decoding from a shared buffer (as the libvirt client and server do) gives the same
        // value, and fails on the same truncations.
        let whole = Bytes::copy_from_slice(&bytes);
        let shared: T = xdr::from_shared(&whole).map_err(|e| ctx(&format!("from_shared: {e}")))?;
        if shared != value {
            return Err(ctx(&format!(
                "from_shared decoded {shared:?}, from_bytes {value:?}"
            )));
        }
        for cut in truncations(bytes.len(), seed) {
            match decode_no_panic::<T>(&bytes[..cut]) {
                Ok(Err(_)) => {}
                Ok(Ok(v)) => return Err(ctx(&format!("truncated to {cut} bytes, decoded {v:?}"))),
                Err(p) => return Err(ctx(&format!("truncated to {cut} bytes: panic {p}"))),
            }
            if let Ok(v) = xdr::from_shared::<T>(&whole.slice(..cut)) {
                return Err(ctx(&format!(
                    "truncated to {cut} bytes, from_shared decoded {v:?}"
                )));
            }
        }
        let mut longer = bytes.clone();
        longer.push(0);
        match xdr::from_bytes::<T>(&longer) {
            Err(e) if matches!(e.kind(), ErrorKind::TrailingBytes(1)) => {}
            other => return Err(ctx(&format!("one byte appended: {other:?}"))),
        }
        check_first_word::<T>(&bytes, first).map_err(|m| ctx(&m))?;
        check_invalid_words::<T>(&bytes, invalid_words).map_err(|m| ctx(&m))?;
        check_hostile_lengths::<T>(&bytes).map_err(|m| ctx(&m))?;
        stats.values += 1;
        stats.bytes += bytes.len() as u64;
    }
    Ok(stats)
}

/// Every cut for short encodings; for long ones the first and last 64 and a spread between.
fn truncations(len: usize, seed: u64) -> Vec<usize> {
    if len <= 256 {
        return (0..len).collect();
    }
    let mut cuts: Vec<usize> = (0..64).chain(len - 64..len).collect();
    let step = (len / 64).max(1);
    cuts.extend((seed as usize % step..len).step_by(step));
    cuts
}

/// Decodes, turning a panic into an `Err` with its message.
fn decode_no_panic<T: Testable>(bytes: &[u8]) -> Result<Result<T, xdr::Error>, String> {
    catch_unwind(AssertUnwindSafe(|| xdr::from_bytes::<T>(bytes))).map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "(non-string panic)".into())
    })
}

/// Replaces the first word according to what it is, and checks decoding fails.
fn check_first_word<T: Testable>(bytes: &[u8], first: FirstWord) -> Result<(), String> {
    let forged = match first {
        FirstWord::Invalid(v) => v,
        FirstWord::BytesLength | FirstWord::ArrayLength => 0xFFFF_FFF0,
        FirstWord::Other => return Ok(()),
    };
    let mut bad = bytes.to_vec();
    bad[..4].copy_from_slice(&forged.to_be_bytes());
    let (result, largest) = largest_allocation_during(|| decode_no_panic::<T>(&bad));
    match result {
        Ok(Err(_)) => {}
        Ok(Ok(v)) => {
            return Err(format!(
                "first word {forged:#x} ({first:?}) decoded as {v:?}"
            ))
        }
        Err(p) => return Err(format!("first word {forged:#x}: panic {p}")),
    }
    // A length that fails its check must not have been allocated from: only the error's own
    // small bookkeeping may allocate.
    let allowed = bad.len().max(256);
    if first != FirstWord::Other && largest > allowed {
        return Err(format!(
            "first word {forged:#x} ({first:?}): an allocation of {largest} bytes (allowed {allowed})"
        ));
    }
    Ok(())
}

/// Forges each listed word and checks decoding fails (and does not panic).
fn check_invalid_words<T: Testable>(bytes: &[u8], words: &[(u32, u32)]) -> Result<(), String> {
    for &(at, word) in words {
        let at = at as usize;
        let Some(slot) = bytes.get(at..at + 4) else {
            return Err(format!("offset {at} is past the encoding's end"));
        };
        let mut bad = bytes.to_vec();
        if slot == word.to_be_bytes() {
            return Err(format!(
                "the encoding already holds the invalid word {word:#x} at {at}"
            ));
        }
        bad[at..at + 4].copy_from_slice(&word.to_be_bytes());
        match decode_no_panic::<T>(&bad) {
            Ok(Err(_)) => {}
            Ok(Ok(v)) => return Err(format!("word {word:#x} at byte {at} decoded as {v:?}")),
            Err(p) => return Err(format!("word {word:#x} at byte {at}: panic {p}")),
        }
    }
    Ok(())
}

/// Puts 0xFFFFFFF0 in each word position in turn (sampled for long encodings): decoding may
/// succeed (the word was an `int`) or fail, but never panic or allocate from the forged value.
fn check_hostile_lengths<T: Testable>(bytes: &[u8]) -> Result<(), String> {
    let words = bytes.len() / 4;
    let step = (words / 128).max(1);
    for w in (0..words).step_by(step) {
        let mut bad = bytes.to_vec();
        bad[w * 4..w * 4 + 4].copy_from_slice(&0xFFFF_FFF0u32.to_be_bytes());
        let (result, largest) = largest_allocation_during(|| decode_no_panic::<T>(&bad));
        if let Err(p) = result {
            return Err(format!("0xfffffff0 at word {w}: panic {p}"));
        }
        if largest > hostile_allowance(bad.len()) {
            return Err(format!(
                "0xfffffff0 at word {w}: an allocation of {largest} bytes for {} input bytes",
                bad.len()
            ));
        }
    }
    Ok(())
}
