//! Opening a connection to a libvirt daemon the way libvirt's remote driver does.

use std::time::Duration;

use xdrgen_runtime::libvirt::uri::{Transport, Uri};
use xdrgen_runtime::libvirt::{self, transport, Client, Error, Keepalive};
use xdrgen_runtime::xdr::XdrBytes;

use crate::lxc_protocol::LxcClient;
use crate::qemu_protocol::QemuClient;
use crate::remote_protocol::{
    RemoteAuthType, RemoteClient, RemoteConnectOpenArgs, RemoteConnectSupportsFeatureArgs,
};

/// `VIR_DRV_FEATURE_PROGRAM_KEEPALIVE` (libvirt_internal.h): the server speaks the keepalive
/// program.
const FEATURE_PROGRAM_KEEPALIVE: i32 = 10;
/// `VIR_CONNECT_RO`.
const CONNECT_RO: u32 = 1;

/// How to open a [`Connection`].
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Connection settings: packet maximum, default call deadline, stream queue.
    pub connection: libvirt::Options,
    /// Keepalive, if the server supports it (default: libvirt's 5 s × 5). `None` turns it off.
    pub keepalive: Option<Keepalive>,
    /// Open read-only (`VIR_CONNECT_RO`).
    pub readonly: bool,
    /// Deadline of each call of the open sequence (default 30 s).
    pub open_timeout: Duration,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            connection: libvirt::Options::default(),
            keepalive: Some(Keepalive::default()),
            readonly: false,
            open_timeout: Duration::from_secs(30),
        }
    }
}

/// An open connection to a libvirt daemon, with a client for each of its programs.
///
/// ```no_run
/// # async fn demo() -> Result<(), xdrgen_runtime::libvirt::Error> {
/// let conn = protocols::Connection::open("test+unix:///default?socket=/run/libvirt/libvirt-sock").await?;
/// let info = conn.remote.node_get_info().await?;
/// println!("{} CPUs", info.cpus);
/// conn.close().await?;
/// # Ok(())
/// # }
/// ```
///
/// Dropping it closes the transport at once; [`close`](Connection::close) first tells the
/// server, as `virConnectClose` does.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The main program (`REMOTE_PROGRAM`).
    pub remote: RemoteClient,
    /// QEMU-specific calls (`QEMU_PROGRAM`).
    pub qemu: QemuClient,
    /// LXC-specific calls (`LXC_PROGRAM`).
    pub lxc: LxcClient,
    uri: String,
}

impl Connection {
    /// Opens `uri` (`qemu:///system`, `test+unix:///default?socket=PATH`, `qemu+tcp://host/system`,
    /// `qemu+ssh://user@host/system`) with the default options.
    pub async fn open(uri: &str) -> Result<Connection, Error> {
        Connection::open_with(uri, OpenOptions::default()).await
    }

    /// Opens `uri`: connects its transport, then runs libvirt's open sequence: the list of
    /// authentication types (only "none" is supported), the keepalive feature check (starting
    /// keepalive when the server has it), then connect-open with the URI's driver part.
    pub async fn open_with(uri: &str, options: OpenOptions) -> Result<Connection, Error> {
        let parsed = Uri::parse(uri)?;
        let how: Transport = parsed.transport()?;
        let client = transport::connect(&how, options.connection).await?;
        Connection::open_on(client, &parsed, &options).await
    }

    /// Runs the open sequence on an already connected transport.
    pub async fn open_on(
        client: Client,
        uri: &Uri,
        options: &OpenOptions,
    ) -> Result<Connection, Error> {
        let remote = RemoteClient::new(client.with_timeout(Some(options.open_timeout)));
        let auth = remote.auth_list().await?;
        if let Some(other) = auth.types.iter().find(|t| **t != RemoteAuthType::None) {
            if !auth.types.contains(&RemoteAuthType::None) {
                return Err(Error::protocol(format!(
                    "the server asks for authentication ({other:?}), which this client does not support"
                )));
            }
        }
        if let Some(keepalive) = options.keepalive {
            let feature = RemoteConnectSupportsFeatureArgs {
                feature: FEATURE_PROGRAM_KEEPALIVE,
            };
            if remote.connect_supports_feature(&feature).await?.supported != 0 {
                client.start_keepalive(keepalive);
            }
        }
        let name = uri.name();
        let args = RemoteConnectOpenArgs {
            name: Some(XdrBytes::try_from(name.as_str()).map_err(Error::Xdr)?),
            flags: if options.readonly { CONNECT_RO } else { 0 },
        };
        remote.connect_open(&args).await?;
        let client = client.with_timeout(options.connection.call_timeout);
        Ok(Connection {
            remote: RemoteClient::new(client.clone()),
            qemu: QemuClient::new(client.clone()),
            lxc: LxcClient::new(client),
            uri: uri.as_str().to_string(),
        })
    }

    /// The URI this connection was opened with.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The underlying connection (for counters, keepalive, events of any program).
    pub fn client(&self) -> &Client {
        self.remote.connection()
    }

    /// Closes the connection as `virConnectClose` does: connect-close, then the transport.
    pub async fn close(self) -> Result<(), Error> {
        let result = self.remote.connect_close().await;
        self.client().close();
        result
    }
}
