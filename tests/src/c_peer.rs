//! The C peer: a long-lived driver process (built by [`crate::c_build`]) that decodes bytes with
//! rpcgen's `xdr_T` routines over libtirpc and re-encodes the value, so tests can compare
//! libtirpc's bytes with ours.

use std::collections::HashMap;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// What the C side did with one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Echo {
    /// Decoded `consumed` bytes of the input and re-encoded the value as `bytes`.
    Ok {
        /// Bytes the decoder read (`xdr_getpos`).
        consumed: u32,
        /// libtirpc's encoding of the decoded value.
        bytes: Vec<u8>,
    },
    /// `xdr_T` failed to decode, after reading `consumed` bytes.
    DecodeFailed {
        /// Where the decoder stopped.
        consumed: u32,
    },
    /// `xdr_T` decoded but failed to encode the value.
    EncodeFailed,
    /// The driver has no type at this index.
    UnknownType,
}

/// A running driver process with its type table.
pub struct CPeer {
    child: Child,
    input: Option<BufWriter<ChildStdin>>,
    output: BufReader<ChildStdout>,
    index: HashMap<String, u32>,
}

impl CPeer {
    /// Starts the driver at `exe`, whose table lists `types` in this order.
    pub fn spawn(exe: &Path, types: &[String]) -> std::io::Result<CPeer> {
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
        Ok(CPeer {
            child,
            input,
            output,
            index,
        })
    }

    /// The driver's index for an XDR type name.
    pub fn index_of(&self, xdr_name: &str) -> Option<u32> {
        self.index.get(xdr_name).copied()
    }

    /// Sends `bytes` to be decoded as the type at `index` and re-encoded.
    pub fn echo(&mut self, index: u32, bytes: &[u8]) -> std::io::Result<Echo> {
        let len = u32::try_from(bytes.len())
            .map_err(|_| std::io::Error::other("value longer than 4 GiB"))?;
        let input = self
            .input
            .as_mut()
            .ok_or_else(|| std::io::Error::other("driver input closed"))?;
        input.write_all(&index.to_be_bytes())?;
        input.write_all(&len.to_be_bytes())?;
        input.write_all(bytes)?;
        input.flush()?;
        let status = self.read_u32()?;
        let consumed = self.read_u32()?;
        let len = self.read_u32()? as usize;
        let mut out = vec![0; len];
        self.output.read_exact(&mut out)?;
        Ok(match status {
            0 => Echo::Ok {
                consumed,
                bytes: out,
            },
            1 => Echo::DecodeFailed { consumed },
            2 => Echo::EncodeFailed,
            3 => Echo::UnknownType,
            s => return Err(std::io::Error::other(format!("driver status {s}"))),
        })
    }

    /// Like [`CPeer::echo`] by type name; `Echo::UnknownType` when the table lacks it.
    pub fn echo_named(&mut self, xdr_name: &str, bytes: &[u8]) -> std::io::Result<Echo> {
        match self.index_of(xdr_name) {
            Some(i) => self.echo(i, bytes),
            None => Ok(Echo::UnknownType),
        }
    }

    fn read_u32(&mut self) -> std::io::Result<u32> {
        let mut b = [0; 4];
        self.output.read_exact(&mut b)?;
        Ok(u32::from_be_bytes(b))
    }
}

impl Drop for CPeer {
    fn drop(&mut self) {
        // Closing stdin ends the driver's loop; then reap it.
        self.input = None;
        let _ = self.child.wait();
    }
}
