//! The C side of the `codec_vs_c` benchmark: a long-lived driver process (built by
//! [`crate::c_build::build_bench_peer`], protocol in `bench_body.c`) that times rpcgen's
//! `xdr_T` routines over libtirpc's `xdrmem` streams in a loop of its own, so the times it
//! reports contain no pipe or process switch.

use std::path::Path;
use std::time::Duration;

use crate::driver::Driver;

/// What the C driver times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Per iteration: zero the struct, `xdrmem_create(XDR_DECODE)`, `xdr_T`, `xdr_free`.
    Decode,
    /// Decode once untimed; per iteration: `xdrmem_create(XDR_ENCODE)` over one buffer
    /// allocated up front, `xdr_T`.
    Encode,
}

/// A running benchmark driver with its type table.
pub struct CBench {
    driver: Driver,
}

impl CBench {
    /// Starts the driver at `exe`, whose table lists `types` in this order.
    pub fn spawn(exe: &Path, types: &[String]) -> std::io::Result<CBench> {
        Driver::spawn(exe, types).map(|driver| CBench { driver })
    }

    /// Times `iterations` runs of `mode` on `bytes`, a whole value of the XDR type `xdr_name`;
    /// returns the total time of the loop. Fails when the driver does not know the type, cannot
    /// decode all of `bytes`, or encodes something other than `bytes`.
    pub fn time(
        &mut self,
        xdr_name: &str,
        mode: Mode,
        iterations: u32,
        bytes: &[u8],
    ) -> std::io::Result<Duration> {
        let index = self
            .driver
            .index_of(xdr_name)
            .ok_or_else(|| std::io::Error::other(format!("{xdr_name}: not in the C table")))?;
        let mode_word = match mode {
            Mode::Decode => 0u32,
            Mode::Encode => 1,
        };
        self.driver.send(&[index, mode_word, iterations], bytes)?;
        let status = self.driver.read_u32()?;
        let high = self.driver.read_u32()?;
        let low = self.driver.read_u32()?;
        let what = match status {
            0 => {
                return Ok(Duration::from_nanos(
                    (u64::from(high) << 32) | u64::from(low),
                ))
            }
            1 => "C could not decode every byte",
            2 => "C failed to encode",
            3 => "C encoded different bytes",
            4 => "the driver does not know this type or mode",
            _ => "the driver answered an unknown status",
        };
        Err(std::io::Error::other(format!(
            "{xdr_name} ({mode:?}): {what} (status {status})"
        )))
    }
}
