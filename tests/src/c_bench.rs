//! The C side of the `codec_vs_c` benchmark: a long-lived driver process (built by
//! [`crate::c_build::build_bench_peer`], protocol in `bench_body.c`) that times rpcgen's
//! `xdr_T` routines over libtirpc's `xdrmem` streams in a loop of its own, so the times it
//! reports contain no pipe or process switch.

use std::collections::HashMap;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

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
    child: Child,
    input: Option<BufWriter<ChildStdin>>,
    output: BufReader<ChildStdout>,
    index: HashMap<String, u32>,
}

impl CBench {
    /// Starts the driver at `exe`, whose table lists `types` in this order.
    pub fn spawn(exe: &Path, types: &[String]) -> std::io::Result<CBench> {
        let mut child = Command::new(exe)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let input = child.stdin.take().map(BufWriter::new);
        let output = child
            .stdout
            .take()
            .map(BufReader::new)
            .ok_or_else(|| std::io::Error::other("driver has no stdout"))?;
        let index = types
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        Ok(CBench {
            child,
            input,
            output,
            index,
        })
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
            .index
            .get(xdr_name)
            .copied()
            .ok_or_else(|| std::io::Error::other(format!("{xdr_name}: not in the C table")))?;
        let len = u32::try_from(bytes.len())
            .map_err(|_| std::io::Error::other("value longer than 4 GiB"))?;
        let mode_word = match mode {
            Mode::Decode => 0u32,
            Mode::Encode => 1,
        };
        let input = self
            .input
            .as_mut()
            .ok_or_else(|| std::io::Error::other("driver input closed"))?;
        for word in [index, mode_word, iterations, len] {
            input.write_all(&word.to_be_bytes())?;
        }
        input.write_all(bytes)?;
        input.flush()?;
        let status = self.read_u32()?;
        let high = self.read_u32()?;
        let low = self.read_u32()?;
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

    fn read_u32(&mut self) -> std::io::Result<u32> {
        let mut b = [0; 4];
        self.output.read_exact(&mut b)?;
        Ok(u32::from_be_bytes(b))
    }
}

impl Drop for CBench {
    fn drop(&mut self) {
        // Closing stdin ends the driver's loop; then reap it.
        self.input = None;
        let _ = self.child.wait();
    }
}
