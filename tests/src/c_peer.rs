//! The C peer: a long-lived driver process (built by [`crate::c_build`]) that decodes bytes with
//! rpcgen's `xdr_T` routines over libtirpc and re-encodes the value, so tests can compare
//! libtirpc's bytes with ours.

use std::path::Path;

use crate::driver::Driver;

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

/// A running echo driver with its type table.
pub struct CPeer {
    driver: Driver,
}

impl CPeer {
    /// Starts the driver at `exe`, whose table lists `types` in this order.
    pub fn spawn(exe: &Path, types: &[String]) -> std::io::Result<CPeer> {
        Driver::spawn(exe, types).map(|driver| CPeer { driver })
    }

    /// The driver's index for an XDR type name.
    pub fn index_of(&self, xdr_name: &str) -> Option<u32> {
        self.driver.index_of(xdr_name)
    }

    /// Sends `bytes` to be decoded as the type at `index` and re-encoded.
    pub fn echo(&mut self, index: u32, bytes: &[u8]) -> std::io::Result<Echo> {
        self.driver.send(&[index], bytes)?;
        let status = self.driver.read_u32()?;
        let consumed = self.driver.read_u32()?;
        let len = self.driver.read_u32()? as usize;
        let out = self.driver.read_bytes(len)?;
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
}
