//! A C driver process built from rpcgen's output, spoken to over its stdin and stdout in
//! big-endian words: what the echo peer ([`crate::c_peer`]) and the benchmark
//! ([`crate::c_bench`]) share.

use std::collections::HashMap;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// A running driver with its table of XDR type names.
pub struct Driver {
    child: Child,
    input: Option<BufWriter<ChildStdin>>,
    output: BufReader<ChildStdout>,
    index: HashMap<String, u32>,
}

impl Driver {
    /// Starts the driver at `exe`, whose table lists `types` in this order.
    pub fn spawn(exe: &Path, types: &[String]) -> std::io::Result<Driver> {
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
        Ok(Driver {
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

    /// Sends one request: `words`, then the length of `bytes` as a word, then `bytes`.
    pub fn send(&mut self, words: &[u32], bytes: &[u8]) -> std::io::Result<()> {
        let len = u32::try_from(bytes.len())
            .map_err(|_| std::io::Error::other("value longer than 4 GiB"))?;
        let input = self
            .input
            .as_mut()
            .ok_or_else(|| std::io::Error::other("driver input closed"))?;
        for word in words.iter().chain([&len]) {
            input.write_all(&word.to_be_bytes())?;
        }
        input.write_all(bytes)?;
        input.flush()
    }

    /// Reads one word of the answer.
    pub fn read_u32(&mut self) -> std::io::Result<u32> {
        let mut b = [0; 4];
        self.output.read_exact(&mut b)?;
        Ok(u32::from_be_bytes(b))
    }

    /// Reads `len` bytes of the answer.
    pub fn read_bytes(&mut self, len: usize) -> std::io::Result<Vec<u8>> {
        let mut out = vec![0; len];
        self.output.read_exact(&mut out)?;
        Ok(out)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Closing stdin ends the driver's loop; then reap it.
        self.input = None;
        let _ = self.child.wait();
    }
}
