//! libvirt connection URIs: `driver[+transport]://[user@][host[:port]]/path[?param=value&…]`.
//!
//! A URI names two things: how to reach the daemon (the [`Transport`]) and what to open on it
//! (the name sent in connect-open: the URI without its transport and without the parameters
//! that only the client reads, as libvirt's remote driver sends it).
//!
//! ```
//! use xdrgen_runtime::libvirt::uri::{Transport, Uri};
//!
//! let uri = Uri::parse("test+unix:///default?socket=/tmp/s")?;
//! assert_eq!(uri.name(), "test:///default");
//! assert_eq!(uri.transport()?, Transport::Unix("/tmp/s".into()));
//!
//! let uri = Uri::parse("qemu+tcp://host.example:1234/system")?;
//! assert_eq!(uri.transport()?, Transport::Tcp { host: "host.example".into(), port: 1234 });
//! assert_eq!(uri.name(), "qemu:///system");
//! # Ok::<(), xdrgen_runtime::libvirt::uri::UriError>(())
//! ```

use std::path::PathBuf;

/// A URI that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("libvirt URI `{uri}`: {reason}")]
pub struct UriError {
    /// The URI as given.
    pub uri: String,
    /// What is wrong with it.
    pub reason: String,
}

/// A parsed libvirt URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri {
    text: String,
    /// The driver (`qemu`, `test`, `lxc`, …).
    pub driver: String,
    /// The transport written after `+` (`unix`, `tcp`, `ssh`, `ext`, `tls`, …), if any.
    pub transport: Option<String>,
    /// The user before `@`.
    pub user: Option<String>,
    /// The host; `None` for a local daemon.
    pub host: Option<String>,
    /// The port after the host.
    pub port: Option<u16>,
    /// The path (`/system`, `/session`, `/default`).
    pub path: String,
    /// Query parameters in order, percent-decoded.
    pub params: Vec<(String, String)>,
}

/// How to reach the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// A unix socket.
    Unix(PathBuf),
    /// TCP, unencrypted (libvirt's default port is 16509).
    Tcp {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
    },
    /// A command whose standard input and output carry the connection (ssh, `ext`).
    Command {
        /// The program.
        program: String,
        /// Its arguments.
        args: Vec<String>,
    },
}

/// Parameters the client reads itself; they are not part of the name sent to the server.
const CLIENT_PARAMS: [&str; 17] = [
    "name",
    "command",
    "socket",
    "auth",
    "netcat",
    "keyfile",
    "sshauth",
    "no_verify",
    "no_tty",
    "pkipath",
    "known_hosts",
    "known_hosts_verify",
    "tls_priority",
    "mode",
    "proxy",
    "no_sanity",
    "authfile",
];

/// libvirtd's TCP port.
pub const DEFAULT_TCP_PORT: u16 = 16509;

impl Uri {
    /// Parses a URI.
    pub fn parse(text: &str) -> Result<Uri, UriError> {
        let err = |reason: &str| UriError {
            uri: text.to_string(),
            reason: reason.to_string(),
        };
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| err("expected `driver://…` or `driver+transport://…`"))?;
        let (driver, transport) = match scheme.split_once('+') {
            Some((d, t)) => (d, Some(t.to_string())),
            None => (scheme, None),
        };
        if driver.is_empty()
            || !driver
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(err("the driver name is empty or not a word"));
        }
        let (before_query, query) = match rest.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (rest, None),
        };
        let (authority, path) = match before_query.find('/') {
            Some(i) => (&before_query[..i], &before_query[i..]),
            None => (before_query, ""),
        };
        let (user, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(decode(u)), h),
            None => (None, authority),
        };
        let (host, port) = split_port(hostport).map_err(|r| err(&r))?;
        let params = query
            .map(|q| {
                q.split('&')
                    .filter(|kv| !kv.is_empty())
                    .map(|kv| match kv.split_once('=') {
                        Some((k, v)) => (decode(k), decode(v)),
                        None => (decode(kv), String::new()),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Uri {
            text: text.to_string(),
            driver: driver.to_string(),
            transport,
            user,
            host: (!host.is_empty()).then(|| host.to_string()),
            port,
            path: path.to_string(),
            params,
        })
    }

    /// The URI as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The value of a query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The name sent in connect-open: the driver, the path and the parameters meant for the
    /// server (`test:///default`), without user, host, port or transport. A `name` parameter
    /// overrides it, as in libvirt.
    pub fn name(&self) -> String {
        if let Some(n) = self.param("name") {
            return n.to_string();
        }
        // As libvirt's remote driver: user, host, port and transport are the client's business.
        let mut s = format!("{}://", self.driver);
        s.push_str(&self.path);
        let server: Vec<String> = self
            .params
            .iter()
            .filter(|(k, _)| !CLIENT_PARAMS.contains(&k.as_str()))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !server.is_empty() {
            s.push('?');
            s.push_str(&server.join("&"));
        }
        s
    }

    /// How to reach the daemon: `unix` (the default without a host), `tcp`, `ssh` (through the
    /// `ssh` command and `nc` on the far side) or `ext` (the `command` parameter).
    pub fn transport(&self) -> Result<Transport, UriError> {
        let err = |reason: String| UriError {
            uri: self.text.clone(),
            reason,
        };
        let default = if self.host.is_some() { "tls" } else { "unix" };
        match self.transport.as_deref().unwrap_or(default) {
            "unix" => Ok(Transport::Unix(match self.param("socket") {
                Some(s) => PathBuf::from(s),
                None => self.default_socket(),
            })),
            "tcp" => Ok(Transport::Tcp {
                host: self
                    .host
                    .clone()
                    .ok_or_else(|| err("the tcp transport needs a host".into()))?,
                port: self.port.unwrap_or(DEFAULT_TCP_PORT),
            }),
            "ssh" => {
                let host = self
                    .host
                    .clone()
                    .ok_or_else(|| err("the ssh transport needs a host".into()))?;
                let mut args = vec!["-T".to_string(), "-e".into(), "none".into()];
                if let Some(p) = self.port {
                    args.extend(["-p".into(), p.to_string()]);
                }
                if let Some(u) = &self.user {
                    args.extend(["-l".into(), u.clone()]);
                }
                let socket = match self.param("socket") {
                    Some(s) => s.to_string(),
                    None => self.default_socket().display().to_string(),
                };
                let netcat = self.param("netcat").unwrap_or("nc");
                args.extend(["--".into(), host, netcat.into(), "-U".into(), socket]);
                Ok(Transport::Command {
                    program: "ssh".into(),
                    args,
                })
            }
            "ext" => {
                let command = self
                    .param("command")
                    .ok_or_else(|| err("the ext transport needs a `command` parameter".into()))?;
                Ok(Transport::Command {
                    program: command.to_string(),
                    args: Vec::new(),
                })
            }
            other => Err(err(format!(
                "transport `{other}` is not supported (use unix, tcp, ssh or ext)"
            ))),
        }
    }

    /// libvirtd's socket: `/run/libvirt/libvirt-sock` for system URIs, under
    /// `$XDG_RUNTIME_DIR` for `/session`.
    fn default_socket(&self) -> PathBuf {
        if self.path == "/session" {
            if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR") {
                return PathBuf::from(dir).join("libvirt/libvirt-sock");
            }
        }
        let ro = self.param("readonly").is_some() || self.param("ro").is_some();
        PathBuf::from(if ro {
            "/run/libvirt/libvirt-sock-ro"
        } else {
            "/run/libvirt/libvirt-sock"
        })
    }
}

fn split_port(hostport: &str) -> Result<(&str, Option<u16>), String> {
    // `[::1]:16509` or `host:16509`.
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, p)) => (h, p.strip_prefix(':')),
            None => return Err("unclosed `[` in the host".into()),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let port = match port {
        Some(p) => Some(p.parse().map_err(|_| format!("bad port `{p}`"))?),
        None => None,
    };
    Ok((host, port))
}

/// Percent-decoding; malformed escapes are kept as written.
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (b[i], b.get(i + 1).copied(), b.get(i + 2).copied()) {
            (b'%', Some(h), Some(l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_as_libvirt_writes_them() {
        let u = Uri::parse("qemu:///system").unwrap();
        assert_eq!(u.name(), "qemu:///system");
        assert_eq!(
            u.transport().unwrap(),
            Transport::Unix("/run/libvirt/libvirt-sock".into())
        );

        let u = Uri::parse("qemu+ssh://alice@host:2222/system").unwrap();
        assert_eq!(u.name(), "qemu:///system");
        let Transport::Command { program, args } = u.transport().unwrap() else {
            panic!()
        };
        assert_eq!(program, "ssh");
        assert_eq!(
            args.join(" "),
            "-T -e none -p 2222 -l alice -- host nc -U /run/libvirt/libvirt-sock"
        );

        let u = Uri::parse("test+unix:///default?socket=/a%20b/s&foo=1").unwrap();
        assert_eq!(u.name(), "test:///default?foo=1");
        assert_eq!(u.transport().unwrap(), Transport::Unix("/a b/s".into()));

        let u = Uri::parse("qemu+tcp://[::1]/system").unwrap();
        assert_eq!(
            u.transport().unwrap(),
            Transport::Tcp {
                host: "::1".into(),
                port: 16509
            }
        );
    }

    #[test]
    fn bad_uris_say_why() {
        for (uri, why) in [
            ("default", "expected `driver://"),
            ("qemu+tcp:///system", "tcp transport needs a host"),
            ("qemu+tls://h/system", "transport `tls` is not supported"),
            ("qemu+tcp://h:x/system", "bad port `x`"),
            ("qemu+ext:///system", "needs a `command` parameter"),
        ] {
            let e = Uri::parse(uri).and_then(|u| u.transport()).unwrap_err();
            assert!(e.to_string().contains(why), "{uri}: {e}");
        }
    }
}
