//! Errors of the libvirt RPC layer, and libvirt's own error replies (`virNetMessageError`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::xdr::{self, Decoder};

/// What can go wrong with a call, a stream or a connection. Each variant names its layer: the
/// transport ([`Io`](Error::Io)), the wire protocol ([`Protocol`](Error::Protocol),
/// [`PacketTooLarge`](Error::PacketTooLarge)), the payload ([`Xdr`](Error::Xdr)), the peer's
/// answer ([`Remote`](Error::Remote)), time ([`Timeout`](Error::Timeout),
/// [`Keepalive`](Error::Keepalive)) and the connection's end ([`Closed`](Error::Closed)).
///
/// Errors are cheap to clone, so that a dead connection can fail every pending call with the
/// same cause.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The peer answered with libvirt's error (`virNetMessageError`).
    #[error("{0}")]
    Remote(Box<RemoteError>),
    /// Reading or writing the transport failed.
    #[error("I/O error: {0}")]
    Io(Arc<std::io::Error>),
    /// A connection URI could not be used.
    #[error(transparent)]
    Uri(#[from] super::uri::UriError),
    /// The peer broke the wire protocol (bad header, unexpected packet, bad framing).
    #[error("protocol error: {0}")]
    Protocol(String),
    /// A packet's length word is over the connection's maximum (checked before reading it).
    #[error("packet of {length} bytes is over the maximum of {max} bytes")]
    PacketTooLarge {
        /// The length the packet claims (or, when sending, has).
        length: usize,
        /// The connection's maximum.
        max: usize,
    },
    /// A payload could not be encoded or decoded.
    #[error("XDR: {0}")]
    Xdr(#[from] xdr::Error),
    /// The call's deadline passed before its reply arrived; the reply will be discarded.
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// The peer stopped answering keepalive PINGs.
    #[error("connection closed: no keepalive response from the peer after {count} pings at {interval:?} intervals")]
    Keepalive {
        /// PINGs sent without an answer.
        count: u32,
        /// Their interval.
        interval: Duration,
    },
    /// The connection is closed; the cause is the error that closed it, or `None` after a
    /// local close.
    #[error("connection closed{}", .0.as_ref().map(|c| format!(": {c}")).unwrap_or_default())]
    Closed(Option<Arc<Error>>),
}

impl Error {
    /// A protocol error with this description.
    pub fn protocol(msg: impl Into<String>) -> Self {
        Error::Protocol(msg.into())
    }

    /// libvirt's error, when the peer answered with one (also through [`Error::Closed`]'s cause).
    pub fn remote(&self) -> Option<&RemoteError> {
        match self {
            Error::Remote(r) => Some(r),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(Arc::new(e))
    }
}

/// A domain or network named in an error (virnetprotocol.x marks them unused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorObject {
    /// Its name.
    pub name: String,
    /// Its UUID.
    pub uuid: [u8; 16],
    /// The domain id (0 for networks).
    pub id: i32,
}

/// libvirt's error reply (`virNetMessageError`): what `virGetLastError` shows a C client.
///
/// Strings are decoded leniently (bytes that are not UTF-8 become U+FFFD) so that an error
/// from any peer reaches the caller. `Display` prints the message as libvirt formats it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RemoteError {
    /// `virErrorNumber` (`VIR_ERR_NO_DOMAIN` is 42).
    pub code: i32,
    /// `virErrorDomain`: the part of libvirt that raised it.
    pub domain: i32,
    /// The formatted message.
    pub message: Option<String>,
    /// `virErrorLevel`: 1 warning, 2 error.
    pub level: i32,
    /// The domain concerned, if any.
    pub dom: Option<ErrorObject>,
    /// Extra information (meaning depends on `code`).
    pub str1: Option<String>,
    /// Extra information.
    pub str2: Option<String>,
    /// Extra information.
    pub str3: Option<String>,
    /// Extra information.
    pub int1: i32,
    /// Extra information.
    pub int2: i32,
    /// The network concerned, if any.
    pub net: Option<ErrorObject>,
}

impl RemoteError {
    /// libvirt's `VIR_ERR_NO_SUPPORT`: "this function is not supported by the connection driver".
    pub const NO_SUPPORT: i32 = 3;
    /// libvirt's `VIR_ERR_RPC`.
    pub const RPC: i32 = 39;
    /// libvirt's `VIR_ERR_NO_DOMAIN`.
    pub const NO_DOMAIN: i32 = 42;
    /// libvirt's `VIR_ERR_OPERATION_INVALID`.
    pub const OPERATION_INVALID: i32 = 55;
    /// libvirt's `VIR_ERR_INTERNAL_ERROR`.
    pub const INTERNAL_ERROR: i32 = 1;
    /// libvirt's `VIR_ERR_ACCESS_DENIED`.
    pub const ACCESS_DENIED: i32 = 88;
    /// libvirt's `VIR_FROM_NONE`: an error of no particular part of libvirt.
    pub const FROM_NONE: i32 = 0;
    /// libvirt's `VIR_FROM_RPC`: the RPC layer.
    pub const FROM_RPC: i32 = 7;
    /// libvirt's `VIR_FROM_ACCESS`: the access control manager.
    pub const FROM_ACCESS: i32 = 55;
    /// libvirt's `VIR_ERR_ERROR` level.
    pub const LEVEL_ERROR: i32 = 2;

    /// An error as libvirt's `virReportErrorHelper` fills it in: the message is `template`
    /// with its `%s` replaced by `detail`, `str1` the template, `str2` the detail, level error,
    /// `int1` and `int2` -1.
    ///
    /// ```
    /// use xdrgen_runtime::libvirt::RemoteError;
    ///
    /// let e = RemoteError::new(RemoteError::RPC, RemoteError::FROM_RPC, "%s", "unknown procedure: 9");
    /// assert_eq!(e.to_string(), "unknown procedure: 9");
    /// assert_eq!((e.str1.as_deref(), e.int1), (Some("%s"), -1));
    /// ```
    pub fn new(code: i32, domain: i32, template: &str, detail: &str) -> RemoteError {
        RemoteError {
            code,
            domain,
            message: Some(template.replacen("%s", detail, 1)),
            level: Self::LEVEL_ERROR,
            str1: Some(template.to_string()),
            str2: Some(detail.to_string()),
            int1: -1,
            int2: -1,
            ..Default::default()
        }
    }

    /// `VIR_ERR_RPC` in `VIR_FROM_RPC` with this message, as libvirtd's RPC layer reports
    /// unknown programs and procedures (template `%s`).
    pub fn rpc(message: &str) -> RemoteError {
        Self::new(Self::RPC, Self::FROM_RPC, "%s", message)
    }

    /// libvirt's "this function is not supported by the connection driver: `what`"
    /// (`VIR_ERR_NO_SUPPORT`). libvirt raises it in the API file of the object concerned, so
    /// its domain varies there; a server that does not know it says `VIR_FROM_NONE`.
    pub fn not_supported(what: &str) -> RemoteError {
        Self::new(
            Self::NO_SUPPORT,
            Self::FROM_NONE,
            "this function is not supported by the connection driver: %s",
            what,
        )
    }

    /// libvirt's access-control denial: `VIR_ERR_ACCESS_DENIED` in `VIR_FROM_ACCESS`,
    /// "access denied: `detail`".
    pub fn access_denied(detail: &str) -> RemoteError {
        Self::new(
            Self::ACCESS_DENIED,
            Self::FROM_ACCESS,
            "access denied: %s",
            detail,
        )
    }

    /// `VIR_ERR_INTERNAL_ERROR` in `VIR_FROM_RPC`: "internal error: `detail`".
    pub fn internal(detail: &str) -> RemoteError {
        Self::new(
            Self::INTERNAL_ERROR,
            Self::FROM_RPC,
            "internal error: %s",
            detail,
        )
    }

    /// Decodes the payload of an error reply.
    pub fn decode(body: &[u8]) -> Result<RemoteError, xdr::Error> {
        let mut d = Decoder::new(body);
        let e = d.within("virNetMessageError", |d| {
            Ok(RemoteError {
                code: d.get_i32().map_err(|e| e.at("code"))?,
                domain: d.get_i32().map_err(|e| e.at("domain"))?,
                message: opt_string(d).map_err(|e| e.at("message"))?,
                level: d.get_i32().map_err(|e| e.at("level"))?,
                dom: opt_object(d, true).map_err(|e| e.at("dom"))?,
                str1: opt_string(d).map_err(|e| e.at("str1"))?,
                str2: opt_string(d).map_err(|e| e.at("str2"))?,
                str3: opt_string(d).map_err(|e| e.at("str3"))?,
                int1: d.get_i32().map_err(|e| e.at("int1"))?,
                int2: d.get_i32().map_err(|e| e.at("int2"))?,
                net: opt_object(d, false).map_err(|e| e.at("net"))?,
            })
        })?;
        d.finish()?;
        Ok(e)
    }

    /// Encodes it as a `virNetMessageError` payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = xdr::Encoder::new();
        out.put_i32(self.code);
        out.put_i32(self.domain);
        put_opt_string(&mut out, self.message.as_deref());
        out.put_i32(self.level);
        put_opt_object(&mut out, self.dom.as_ref(), true);
        for s in [&self.str1, &self.str2, &self.str3] {
            put_opt_string(&mut out, s.as_deref());
        }
        out.put_i32(self.int1);
        out.put_i32(self.int2);
        put_opt_object(&mut out, self.net.as_ref(), false);
        out.into_bytes()
    }
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) => f.write_str(m),
            None => write!(
                f,
                "libvirt error code {} (domain {})",
                self.code, self.domain
            ),
        }
    }
}

impl std::error::Error for RemoteError {}

/// `VIR_NET_MESSAGE_STRING_MAX`.
const STRING_MAX: u32 = 4_194_304;

fn opt_string(d: &mut Decoder<'_>) -> Result<Option<String>, xdr::Error> {
    d.get_optional(|d| {
        let bytes = d.get_var_opaque_ref(STRING_MAX)?;
        Ok(String::from_utf8_lossy(bytes).into_owned())
    })
}

fn opt_object(d: &mut Decoder<'_>, with_id: bool) -> Result<Option<ErrorObject>, xdr::Error> {
    d.get_optional(|d| {
        let name = String::from_utf8_lossy(d.get_var_opaque_ref(STRING_MAX)?).into_owned();
        let uuid = d.get_fixed_opaque::<16>()?;
        let id = if with_id { d.get_i32()? } else { 0 };
        Ok(ErrorObject { name, uuid, id })
    })
}

fn put_opt_string(out: &mut xdr::Encoder, s: Option<&str>) {
    out.put_bool(s.is_some());
    if let Some(s) = s {
        // A message over 4 MiB is cut rather than failing the whole error reply.
        let bytes = &s.as_bytes()[..s.len().min(STRING_MAX as usize)];
        let _ = out.put_var_opaque(bytes, STRING_MAX);
    }
}

fn put_opt_object(out: &mut xdr::Encoder, o: Option<&ErrorObject>, with_id: bool) {
    out.put_bool(o.is_some());
    if let Some(o) = o {
        put_opt_string_nonnull(out, &o.name);
        out.put_fixed_opaque(&o.uuid);
        if with_id {
            out.put_i32(o.id);
        }
    }
}

fn put_opt_string_nonnull(out: &mut xdr::Encoder, s: &str) {
    let bytes = &s.as_bytes()[..s.len().min(STRING_MAX as usize)];
    let _ = out.put_var_opaque(bytes, STRING_MAX);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_reply_layout_matches_virnetprotocol() {
        // code 42, domain 10, message "no", level 2, dom absent, str1 "x", str2/str3 absent,
        // int1 -1, int2 0, net absent: written out by hand from virnetprotocol.x.
        let wire: Vec<u8> = [
            &[0, 0, 0, 42][..],
            &[0, 0, 0, 10],
            &[0, 0, 0, 1, 0, 0, 0, 2, b'n', b'o', 0, 0],
            &[0, 0, 0, 2],
            &[0, 0, 0, 0],
            &[0, 0, 0, 1, 0, 0, 0, 1, b'x', 0, 0, 0],
            &[0, 0, 0, 0],
            &[0, 0, 0, 0],
            &[0xff, 0xff, 0xff, 0xff],
            &[0, 0, 0, 0],
            &[0, 0, 0, 0],
        ]
        .concat();
        let e = RemoteError::decode(&wire).unwrap();
        assert_eq!(e.code, RemoteError::NO_DOMAIN);
        assert_eq!(e.domain, 10);
        assert_eq!(e.message.as_deref(), Some("no"));
        assert_eq!(e.str1.as_deref(), Some("x"));
        assert_eq!((e.int1, e.int2, e.level), (-1, 0, 2));
        assert_eq!(e.encode(), wire);
        assert_eq!(e.to_string(), "no");
    }

    #[test]
    fn non_utf8_messages_are_received() {
        let mut e = RemoteError {
            message: Some(String::new()),
            ..Default::default()
        };
        let mut wire = e.encode();
        // Patch the empty message into one byte 0xff.
        wire[8..16].copy_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1]);
        wire.splice(16..16, [0xff, 0, 0, 0]);
        e = RemoteError::decode(&wire).unwrap();
        assert_eq!(e.message.as_deref(), Some("\u{fffd}"));
    }

    #[test]
    fn truncated_error_names_the_field() {
        let e = RemoteError::decode(&[0, 0, 0, 1, 0, 0]).unwrap_err();
        assert_eq!(e.path(), "virNetMessageError.domain");
    }
}
