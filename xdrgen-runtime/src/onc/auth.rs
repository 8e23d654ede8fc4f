//! Credentials and verifiers (RFC 5531 §8, §9 and appendix A): the `opaque_auth` every call and
//! reply carries, `AUTH_NONE`, `AUTH_SYS` (`authsys_parms`), and every other flavour passed
//! through as its opaque bytes.

use crate::xdr::{Decode, Decoder, Encode, Encoder, Error, Opaque, VarArray, XdrString};

/// `AUTH_NONE` (0): no credentials.
pub const AUTH_NONE: u32 = 0;
/// `AUTH_SYS` (1), also called `AUTH_UNIX`: uid, gid and groups as the caller claims them.
pub const AUTH_SYS: u32 = 1;
/// `AUTH_SHORT` (2): a server-issued shorthand for earlier `AUTH_SYS` credentials.
pub const AUTH_SHORT: u32 = 2;
/// `AUTH_DH` (3).
pub const AUTH_DH: u32 = 3;
/// `RPCSEC_GSS` (6, RFC 2203).
pub const RPCSEC_GSS: u32 = 6;

/// The most bytes the body of an `opaque_auth` may hold (RFC 5531: `opaque body<400>`).
pub const MAX_AUTH_BYTES: u32 = 400;

/// `struct opaque_auth { auth_flavor flavor; opaque body<400>; }`: a credential or verifier
/// as it travels.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OpaqueAuth {
    /// The flavour number (`AUTH_NONE`, `AUTH_SYS`, …).
    pub flavor: u32,
    /// The flavour's body, at most 400 bytes.
    pub body: Opaque<MAX_AUTH_BYTES>,
}

impl OpaqueAuth {
    /// `AUTH_NONE` with an empty body: the verifier of almost every call and reply.
    pub fn none() -> Self {
        OpaqueAuth::default()
    }
}

impl Encode for OpaqueAuth {
    fn encoded_len(&self) -> usize {
        4 + self.body.encoded_len()
    }

    fn encode(&self, out: &mut Encoder) -> Result<(), Error> {
        out.put_u32(self.flavor);
        self.body.encode(out)
    }
}

impl Decode for OpaqueAuth {
    fn decode(input: &mut Decoder<'_>) -> Result<Self, Error> {
        let flavor = input.get_u32().map_err(|e| e.at("opaque_auth.flavor"))?;
        let body = Opaque::decode(input).map_err(|e| e.at("opaque_auth.body"))?;
        Ok(OpaqueAuth { flavor, body })
    }
}

/// `struct authsys_parms` (RFC 5531 appendix A): the body of an `AUTH_SYS` credential.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthSys {
    /// An arbitrary id the caller may choose (often the time).
    pub stamp: u32,
    /// The caller's host name, at most 255 bytes.
    pub machinename: XdrString<255>,
    /// The caller's effective user id.
    pub uid: u32,
    /// The caller's effective group id.
    pub gid: u32,
    /// Supplementary groups, at most 16.
    pub gids: VarArray<u32, 16>,
}

impl Encode for AuthSys {
    fn encoded_len(&self) -> usize {
        16 + self.machinename.encoded_len() + 4 * self.gids.len()
    }

    fn encode(&self, out: &mut Encoder) -> Result<(), Error> {
        out.put_u32(self.stamp);
        self.machinename.encode(out)?;
        out.put_u32(self.uid);
        out.put_u32(self.gid);
        out.put_len(self.gids.len(), 16)?;
        for g in &self.gids {
            out.put_u32(*g);
        }
        Ok(())
    }
}

impl Decode for AuthSys {
    fn decode(input: &mut Decoder<'_>) -> Result<Self, Error> {
        let at = |f| move |e: Error| e.at(f);
        Ok(AuthSys {
            stamp: input.get_u32().map_err(at("authsys_parms.stamp"))?,
            machinename: XdrString::decode(input).map_err(at("authsys_parms.machinename"))?,
            uid: input.get_u32().map_err(at("authsys_parms.uid"))?,
            gid: input.get_u32().map_err(at("authsys_parms.gid"))?,
            gids: input
                .get_var_array(4, Decoder::get_u32)
                .map_err(at("authsys_parms.gids"))?,
        })
    }
}

/// A caller's credentials as a server method sees them, and as a client sends them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Credentials {
    /// `AUTH_NONE`.
    #[default]
    None,
    /// `AUTH_SYS` with its parameters.
    Sys(AuthSys),
    /// Any other flavour (or an `AUTH_NONE`/`AUTH_SYS` body that does not decode), as sent.
    Other(OpaqueAuth),
}

impl Credentials {
    /// `AUTH_SYS` credentials for `uid`/`gid`, naming `machinename` (truncated to 255 bytes
    /// at a character boundary), with no supplementary groups.
    pub fn sys(machinename: &str, uid: u32, gid: u32) -> Self {
        let mut end = machinename.len().min(255);
        while !machinename.is_char_boundary(end) {
            end -= 1;
        }
        Credentials::Sys(AuthSys {
            stamp: 0,
            machinename: XdrString::try_from(&machinename[..end]).unwrap_or_default(),
            uid,
            gid,
            gids: VarArray::default(),
        })
    }

    /// The credentials an `opaque_auth` carries: `AUTH_NONE` and `AUTH_SYS` are decoded (an
    /// `AUTH_SYS` body with bytes left over, or that does not decode, stays opaque so that the
    /// server can answer `AUTH_BADCRED`).
    pub fn from_opaque(auth: &OpaqueAuth) -> Self {
        match auth.flavor {
            AUTH_NONE if auth.body.is_empty() => Credentials::None,
            AUTH_SYS => match crate::xdr::from_bytes::<AuthSys>(&auth.body) {
                Ok(sys) => Credentials::Sys(sys),
                Err(_) => Credentials::Other(auth.clone()),
            },
            _ => Credentials::Other(auth.clone()),
        }
    }

    /// The `opaque_auth` that carries these credentials.
    pub fn to_opaque(&self) -> Result<OpaqueAuth, Error> {
        Ok(match self {
            Credentials::None => OpaqueAuth::none(),
            Credentials::Sys(sys) => OpaqueAuth {
                flavor: AUTH_SYS,
                body: Opaque::new(crate::xdr::to_bytes(sys)?)?,
            },
            Credentials::Other(auth) => auth.clone(),
        })
    }

    /// The flavour number.
    pub fn flavor(&self) -> u32 {
        match self {
            Credentials::None => AUTH_NONE,
            Credentials::Sys(_) => AUTH_SYS,
            Credentials::Other(a) => a.flavor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xdr::{from_bytes, to_bytes};

    #[test]
    fn auth_sys_has_the_rfc_layout() {
        let creds = Credentials::Sys(AuthSys {
            stamp: 0x01020304,
            machinename: XdrString::try_from("host").unwrap(),
            uid: 1000,
            gid: 100,
            gids: VarArray::try_from(vec![4u32, 27]).unwrap(),
        });
        let auth = creds.to_opaque().unwrap();
        #[rustfmt::skip]
        let expected = [
            0, 0, 0, 1,                     // flavor AUTH_SYS
            0, 0, 0, 32,                    // body length: 4 + 8 + 4 + 4 + 12
            1, 2, 3, 4,                     // stamp
            0, 0, 0, 4, b'h', b'o', b's', b't', // machinename
            0, 0, 0x03, 0xe8,               // uid 1000
            0, 0, 0, 100,                   // gid
            0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 27, // gids
        ];
        assert_eq!(to_bytes(&auth).unwrap(), expected);
        let back: OpaqueAuth = from_bytes(&expected).unwrap();
        assert_eq!(Credentials::from_opaque(&back), creds);
    }

    #[test]
    fn other_flavours_and_bad_bodies_pass_through() {
        let dh = OpaqueAuth {
            flavor: AUTH_DH,
            body: Opaque::try_from(&[1u8, 2, 3][..]).unwrap(),
        };
        assert_eq!(
            Credentials::from_opaque(&dh),
            Credentials::Other(dh.clone())
        );
        let short_sys = OpaqueAuth {
            flavor: AUTH_SYS,
            body: Opaque::try_from(&[0u8, 0, 0, 1][..]).unwrap(),
        };
        assert!(matches!(
            Credentials::from_opaque(&short_sys),
            Credentials::Other(_)
        ));
    }

    #[test]
    fn an_oversized_body_is_refused_before_reading_it() {
        let bytes = [0, 0, 0, 1, 0, 0, 1, 145]; // 401 bytes claimed
        assert!(from_bytes::<OpaqueAuth>(&bytes).is_err());
    }
}
