//! Decoding random words: for one type, inputs of 4-byte words drawn to look like XDR (mostly
//! small values, which pass for bools, enums, discriminants and short lengths, and some large
//! ones), each decoded under [`Limits::default`] while the allocator watches. A decoder must
//! return a value or an error, never panic, and never hold more memory than its limits allow.

use std::panic::{catch_unwind, AssertUnwindSafe};

use xdrgen_runtime::xdr::{Decoder, Limits};

use crate::alloc_probe::peak_live_during;
use crate::differential::Testable;

/// What decoding a type's random inputs did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Inputs that decoded to a value.
    pub decoded: usize,
    /// Inputs refused with an error.
    pub refused: usize,
    /// The most bytes held at once while decoding one input (the value included).
    pub peak: usize,
}

/// The most memory decoding `len` bytes may hold under `limits`: what the limits allow the
/// arrays of a value (`max_expansion` per input byte, plus the slack), plus one copy of the
/// input for the bytes of strings and opaque data, plus 64 KiB for the value's fixed parts.
pub fn allowance(len: usize, limits: Limits) -> usize {
    limits.max_expansion * len + Limits::EXPANSION_SLACK + len + (64 << 10)
}

/// A small deterministic generator (splitmix64): the same seed gives the same inputs.
struct Words(u64);

impl Words {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// One word: half the time 0–3, then 0–63, a length up to 5000, or anything.
    fn word(&mut self) -> u32 {
        let r = self.next();
        let v = (r >> 32) as u32;
        match r & 7 {
            0..=3 => v & 3,
            4 | 5 => v & 63,
            6 => v % 5000,
            _ => v,
        }
    }
}

/// Decodes `inputs` random inputs of `len` bytes as `T`; an error names the first input that
/// panicked or held more than [`allowance`].
pub fn random_words<T: Testable>(seed: u64, inputs: usize, len: usize) -> Result<Outcome, String> {
    let limits = Limits::default();
    let allowed = allowance(len, limits);
    let mut words = Words(seed);
    let mut outcome = Outcome::default();
    for i in 0..inputs {
        let bytes: Vec<u8> = (0..len / 4)
            .flat_map(|_| words.word().to_be_bytes())
            .collect();
        // A value may end before the input does: what follows it is not its concern.
        let decode = || {
            catch_unwind(AssertUnwindSafe(|| {
                let mut input = Decoder::with_limits(&bytes, limits)?;
                T::decode(&mut input)
            }))
        };
        let (result, peak) = peak_live_during(decode);
        match result {
            Err(_) => return Err(format!("input {i} (seed {seed}) panicked")),
            Ok(Ok(_)) => outcome.decoded += 1,
            Ok(Err(_)) => outcome.refused += 1,
        }
        if peak > allowed {
            return Err(format!(
                "input {i} (seed {seed}): {peak} bytes held at once, over the {allowed} the limits allow"
            ));
        }
        outcome.peak = outcome.peak.max(peak);
    }
    Ok(outcome)
}
