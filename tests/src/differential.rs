//! One type against the C peer: random values encoded by Rust, decoded and re-encoded by
//! rpcgen's routines over libtirpc, then decoded by Rust again.

use std::fmt::Debug;

use xdrgen_runtime::random::{Gen, Random};
use xdrgen_runtime::xdr::{self, Decode, Encode};

use crate::c_peer::{CPeer, Echo};

/// How many values to make per type, and how.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Seeds `0..values` (offset by `seed_base`), one value each.
    pub values: u64,
    /// Added to every seed, so separate runs can look at different values.
    pub seed_base: u64,
    /// `Gen::with_max_len`: small, so bounds like 4 or 8 are hit exactly.
    pub max_len: usize,
    /// `Gen::with_max_depth`: how deep optional data nests.
    pub max_depth: u32,
}

impl Plan {
    /// Applies the environment's overrides: `XDRGEN_TEST_SCALE` multiplies `values` (for a
    /// longer run), `XDRGEN_TEST_SEED` sets `seed_base` (to look at other values, or to
    /// reproduce a failure printed with its seed), `XDRGEN_TEST_MAX_LEN` sets `max_len`.
    pub fn from_env(mut self) -> Plan {
        let var = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
        if let Some(scale) = var("XDRGEN_TEST_SCALE") {
            self.values = self.values.saturating_mul(scale);
        }
        if let Some(seed) = var("XDRGEN_TEST_SEED") {
            self.seed_base = seed;
        }
        if let Some(n) = var("XDRGEN_TEST_MAX_LEN") {
            self.max_len = n as usize;
        }
        self
    }

    /// The generator for one seed.
    pub fn gen(&self, seed: u64) -> Gen {
        Gen::new(self.seed_base.wrapping_add(seed))
            .with_max_len(self.max_len)
            .with_max_depth(self.max_depth)
    }
}

/// What a run compared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Values checked.
    pub values: u64,
    /// Bytes of encoding checked.
    pub bytes: u64,
}

impl std::ops::AddAssign for Stats {
    fn add_assign(&mut self, rhs: Stats) {
        self.values += rhs.values;
        self.bytes += rhs.bytes;
    }
}

/// What the generic checks need of a generated type.
pub trait Testable: Encode + Decode + Random + PartialEq + Debug + 'static {}
impl<T: Encode + Decode + Random + PartialEq + Debug + 'static> Testable for T {}

/// Hex of a byte string, grouped by XDR word, for failure messages.
pub fn hex(bytes: &[u8]) -> String {
    bytes
        .chunks(4)
        .map(|w| w.iter().map(|b| format!("{b:02x}")).collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks `plan.values` random values of `T` against the C peer's type at `index`.
pub fn differential<T: Testable>(c: &mut CPeer, index: u32, plan: &Plan) -> Result<Stats, String> {
    let mut stats = Stats::default();
    for seed in 0..plan.values {
        let value = T::random(&mut plan.gen(seed));
        let ours = xdr::to_bytes(&value)
            .map_err(|e| format!("seed {seed}: Rust failed to encode {value:?}: {e}"))?;
        if value.encoded_len() != ours.len() {
            return Err(format!(
                "seed {seed}: encoded_len {} but encode wrote {} bytes",
                value.encoded_len(),
                ours.len()
            ));
        }
        let echo = c
            .echo(index, &ours)
            .map_err(|e| format!("seed {seed}: talking to the C peer: {e}"))?;
        let theirs = match echo {
            Echo::Ok { consumed, bytes } if consumed as usize == ours.len() => bytes,
            Echo::Ok { consumed, .. } => {
                return Err(format!(
                    "seed {seed}: C decoded only {consumed} of {} bytes: {}",
                    ours.len(),
                    hex(&ours)
                ))
            }
            other => {
                return Err(format!(
                    "seed {seed}: C could not take Rust's bytes ({other:?}): {}\nvalue: {value:?}",
                    hex(&ours)
                ))
            }
        };
        if theirs != ours {
            let at = ours.iter().zip(&theirs).take_while(|(a, b)| a == b).count();
            return Err(format!(
                "seed {seed}: C re-encoded differently from byte {at}:\n rust: {}\n    c: {}\nvalue: {value:?}",
                hex(&ours),
                hex(&theirs)
            ));
        }
        let back: T = xdr::from_bytes(&theirs)
            .map_err(|e| format!("seed {seed}: Rust failed to decode C's bytes: {e}"))?;
        if back != value {
            return Err(format!(
                "seed {seed}: decoded value differs:\n before: {value:?}\n  after: {back:?}"
            ));
        }
        stats.values += 1;
        stats.bytes += ours.len() as u64;
    }
    Ok(stats)
}
