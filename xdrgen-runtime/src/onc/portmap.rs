//! Registration with rpcbind through its portmap version 2 procedures (RFC 1833 §3): `SET` and
//! `UNSET` of a (program, version, protocol) → port mapping, so that clients find a Rust server
//! the way they find a C one (`rpcinfo -p` lists it). A full rpcbind client (versions 2–4,
//! `GETPORT`, `GETADDR`, `DUMP`) is generated from a `.x` file like any other program.

use super::client::Client;
use super::dispatch::Protocol;
use super::server::Server;
use super::Error;
use crate::rpc::ProgramInfo;
use crate::xdr::{Decode, Decoder, Encode, Encoder};

/// rpcbind's program number.
pub const PMAP_PROGRAM: u32 = 100_000;
/// rpcbind's well-known port.
pub const PMAP_PORT: u16 = 111;

static PMAP_V2: ProgramInfo = ProgramInfo {
    name: "PMAP_PROG",
    number: PMAP_PROGRAM,
    version: 2,
    procedures: &[],
};

/// `PMAPPROC_SET`.
const SET: u32 = 1;
/// `PMAPPROC_UNSET`.
const UNSET: u32 = 2;

/// `struct mapping { unsigned int prog; unsigned int vers; unsigned int prot; unsigned int port; }`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping {
    /// Program number.
    pub program: u32,
    /// Version number.
    pub version: u32,
    /// IP protocol: 6 (TCP) or 17 (UDP).
    pub protocol: u32,
    /// Port.
    pub port: u32,
}

impl Encode for Mapping {
    fn encoded_len(&self) -> usize {
        16
    }

    fn encode(&self, out: &mut Encoder) -> Result<(), crate::xdr::Error> {
        for word in [self.program, self.version, self.protocol, self.port] {
            out.put_u32(word);
        }
        Ok(())
    }
}

impl Decode for Mapping {
    fn decode(input: &mut Decoder<'_>) -> Result<Self, crate::xdr::Error> {
        Ok(Mapping {
            program: input.get_u32()?,
            version: input.get_u32()?,
            protocol: input.get_u32()?,
            port: input.get_u32()?,
        })
    }
}

/// `PMAPPROC_SET`: maps a program version on a protocol to a port; `false` when rpcbind
/// refused (e.g. the mapping exists).
pub async fn set(rpcbind: &Client, mapping: Mapping) -> Result<bool, Error> {
    rpcbind.call(&PMAP_V2, SET, &mapping).await
}

/// `PMAPPROC_UNSET`: removes every mapping of a program version (protocol and port are
/// ignored); `false` when there was none.
pub async fn unset(rpcbind: &Client, program: u32, version: u32) -> Result<bool, Error> {
    let mapping = Mapping {
        program,
        version,
        protocol: 0,
        port: 0,
    };
    rpcbind.call(&PMAP_V2, UNSET, &mapping).await
}

/// The mappings a [`Server`] registered; [`Registration::unregister`] removes them.
#[derive(Debug)]
pub struct Registration {
    rpcbind: Client,
    versions: Vec<(u32, u32)>,
}

impl Registration {
    /// The (program, version) pairs registered.
    pub fn versions(&self) -> &[(u32, u32)] {
        &self.versions
    }

    /// Removes the server's mappings from rpcbind.
    pub async fn unregister(self) -> Result<(), Error> {
        for &(program, version) in &self.versions {
            unset(&self.rpcbind, program, version).await?;
        }
        Ok(())
    }
}

impl Server {
    /// Registers every program version served with rpcbind, on `tcp_port` and/or `udp_port`.
    /// Earlier mappings of the same program versions are removed first (as rpcgen's servers
    /// do), so a restarted server takes over its entries.
    pub async fn register(
        &self,
        rpcbind: &Client,
        tcp_port: Option<u16>,
        udp_port: Option<u16>,
    ) -> Result<Registration, Error> {
        let versions = self.programs();
        for &(program, version) in &versions {
            unset(rpcbind, program, version).await?;
            let ports = [(Protocol::Tcp, tcp_port), (Protocol::Udp, udp_port)];
            for (protocol, port) in ports {
                let Some(port) = port else { continue };
                let mapping = Mapping {
                    program,
                    version,
                    protocol: protocol.ip_number(),
                    port: port.into(),
                };
                if !set(rpcbind, mapping).await? {
                    return Err(Error::protocol(format!(
                        "rpcbind refused to map program {program} version {version} to port {port}"
                    )));
                }
            }
        }
        Ok(Registration {
            rpcbind: rpcbind.clone(),
            versions,
        })
    }
}
