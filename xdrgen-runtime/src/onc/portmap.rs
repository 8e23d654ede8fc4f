//! Registration with rpcbind (RFC 1833), so that clients find a Rust server the way they find a
//! C one (`rpcinfo -p` lists it): `SET` and `UNSET` of a program version on a protocol and port.
//!
//! [`connect_local`] reaches rpcbind the way libtirpc's servers do: through its local socket
//! (`/run/rpcbind.sock`, version 3), where rpcbind knows the caller's uid and records it as the
//! owner, so entries of C servers and ours can replace each other; without it, through TCP port
//! 111 and version 2 (portmap). A full rpcbind client (versions 2–4, `GETPORT`, `GETADDR`,
//! `DUMP`) is generated from a `.x` file like any other program.

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

static RPCB_V3: ProgramInfo = ProgramInfo {
    name: "RPCBPROG",
    number: PMAP_PROGRAM,
    version: 3,
    procedures: &[],
};

/// Where rpcbind's local socket may be, newest first.
const LOCAL_SOCKETS: [&str; 2] = ["/run/rpcbind.sock", "/var/run/rpcbind.sock"];

/// A connection to this host's rpcbind, and whether it is the local socket (version 3) or
/// TCP (version 2).
#[derive(Debug, Clone)]
pub struct Rpcbind {
    client: Client,
    local: bool,
}

/// Connects to this host's rpcbind: its local socket when there is one, else TCP port 111.
pub async fn connect_local() -> Result<Rpcbind, Error> {
    #[cfg(unix)]
    for path in LOCAL_SOCKETS {
        if let Ok(stream) = tokio::net::UnixStream::connect(path).await {
            return Ok(Rpcbind {
                client: Client::over_stream(stream, &super::Options::default()),
                local: true,
            });
        }
    }
    Ok(Rpcbind {
        client: Client::connect_tcp(("127.0.0.1", PMAP_PORT)).await?,
        local: false,
    })
}

/// `struct rpcb` of versions 3 and 4.
struct Rpcb<'a> {
    program: u32,
    version: u32,
    netid: &'a str,
    addr: &'a str,
}

impl Encode for Rpcb<'_> {
    fn encoded_len(&self) -> usize {
        let s = |t: &str| 4 + crate::xdr::padded_len(t.len());
        8 + s(self.netid) + s(self.addr) + s("")
    }

    fn encode(&self, out: &mut Encoder) -> Result<(), crate::xdr::Error> {
        out.put_u32(self.program);
        out.put_u32(self.version);
        for text in [self.netid, self.addr, ""] {
            // The owner (empty) is filled in by rpcbind from the caller's credentials.
            out.put_var_opaque(text.as_bytes(), u32::MAX)?;
        }
        Ok(())
    }
}

impl Rpcbind {
    /// Maps a program version on `protocol` to `port` of every local address (`false` when
    /// rpcbind refused, e.g. the mapping exists).
    pub async fn set(
        &self,
        program: u32,
        version: u32,
        protocol: Protocol,
        port: u16,
    ) -> Result<bool, Error> {
        if !self.local {
            let mapping = Mapping {
                program,
                version,
                protocol: protocol.ip_number(),
                port: port.into(),
            };
            return set(&self.client, mapping).await;
        }
        let netid = match protocol {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        };
        let addr = format!("0.0.0.0.{}.{}", port >> 8, port & 0xff);
        let rpcb = Rpcb {
            program,
            version,
            netid,
            addr: &addr,
        };
        self.client.call(&RPCB_V3, SET, &rpcb).await
    }

    /// Removes every mapping of a program version (`false` when there was none).
    pub async fn unset(&self, program: u32, version: u32) -> Result<bool, Error> {
        if !self.local {
            return unset(&self.client, program, version).await;
        }
        let rpcb = Rpcb {
            program,
            version,
            netid: "",
            addr: "",
        };
        self.client.call(&RPCB_V3, UNSET, &rpcb).await
    }
}

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
    rpcbind: Rpcbind,
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
            self.rpcbind.unset(program, version).await?;
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
        rpcbind: &Rpcbind,
        tcp_port: Option<u16>,
        udp_port: Option<u16>,
    ) -> Result<Registration, Error> {
        let versions = self.programs();
        for &(program, version) in &versions {
            rpcbind.unset(program, version).await?;
            let ports = [(Protocol::Tcp, tcp_port), (Protocol::Udp, udp_port)];
            for (protocol, port) in ports {
                let Some(port) = port else { continue };
                if !rpcbind.set(program, version, protocol, port).await? {
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
