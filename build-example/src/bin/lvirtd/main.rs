//! `lvirtd`: an in-memory hypervisor served over libvirt's RPC protocol, built on the
//! generated `RemoteServer` trait and the runtime's `libvirt::server`, that an unmodified
//! `virsh` drives.
//!
//! ```text
//! lvirtd --socket PATH [--tcp ADDR]
//! virsh -c 'test+unix:///default?socket=PATH' list --all
//! ```
//!
//! It starts as libvirtd's test driver (`test:///default`) does: one running domain `test`
//! (2 vCPUs, 8 GiB maximum and 2 GiB current memory) on an i686 node with 16 CPUs. It serves
//! connect open and close, authentication (none), features (keepalive, event and close
//! callbacks), type, versions, hostname and URI, node info, domain listing and lookups,
//! info, state, XML, define and undefine, create, start, destroy, shutdown, suspend and
//! resume, and lifecycle events to the clients that registered for them; screenshots (a PNG,
//! `build_example::png::screenshot_png`); and the storage pool `default-pool`: pool lookup,
//! list, info, XML and refresh, volume create (from XML), lookup by name, key and path,
//! info, XML, delete, and upload and download streams with offset, length and holes. Volumes
//! are kept in memory. Everything else answers libvirt's "not supported". Keepalive PINGs are answered; clients
//! that ask for keepalive (virsh does) are pinged every 5 s when idle and dropped after 5
//! unanswered PINGs, as libvirtd does.
//!
//! Unlike the test driver, the state lives as long as the daemon, not as long as the last
//! connection.

// The generated trait's methods answer libvirt's `RemoteError` unboxed (it is what a failed
// call sends); the driver's helpers return the same type rather than boxing and unboxing it.
#![allow(clippy::result_large_err)]

mod driver;
mod events;
mod remote;
mod storage;
mod xml;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use protocols::remote_protocol::RemoteDispatcher;
use xdrgen_runtime::libvirt::server::Server;
use xdrgen_runtime::libvirt::Keepalive;

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "lvirtd",
    version,
    about = "An in-memory hypervisor that speaks libvirt's RPC protocol"
)]
struct Cli {
    /// The unix socket to listen on (replaced if it exists).
    #[arg(long, value_name = "PATH")]
    socket: PathBuf,
    /// Also listen on TCP at this address (no authentication, no TLS).
    #[arg(long, value_name = "ADDR")]
    tcp: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("lvirtd: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lvirtd: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> std::io::Result<()> {
    let hypervisor = Arc::new(remote::Lvirtd::new());
    let server = Server::builder()
        .program(RemoteDispatcher::from_arc(hypervisor))
        .access(remote::read_only_access)
        .keepalive(Some(Keepalive {
            interval: Duration::from_secs(5),
            count: 5,
        }))
        .build();
    let _ = std::fs::remove_file(&cli.socket);
    let unix = tokio::net::UnixListener::bind(&cli.socket)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", cli.socket.display())))?;
    let tcp = match &cli.tcp {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| std::io::Error::new(e.kind(), format!("{addr}: {e}")))?,
        ),
        None => None,
    };
    eprintln!("lvirtd: listening on {}", cli.socket.display());
    if let Some(l) = &tcp {
        eprintln!("lvirtd: listening on tcp {}", l.local_addr()?);
    }
    let serve_unix = tokio::spawn({
        let server = server.clone();
        async move { server.serve_unix(unix).await }
    });
    let serve_tcp = tcp.map(|l| {
        let server = server.clone();
        tokio::spawn(async move { server.serve_tcp(l).await })
    });
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    server.shutdown();
    let _ = serve_unix.await;
    if let Some(t) = serve_tcp {
        let _ = t.await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), server.closed()).await;
    let _ = std::fs::remove_file(&cli.socket);
    Ok(())
}
