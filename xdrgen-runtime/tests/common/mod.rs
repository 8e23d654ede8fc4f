//! What the server tests share: a server on a unix socket of its own, with a hand-written
//! dispatcher and the state it records, and a client of the runtime connected to it.
#![allow(dead_code)] // each test binary uses its own part

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UnixStream;
use xdrgen_runtime::libvirt::server::{Dispatch, Limits, Server};
use xdrgen_runtime::libvirt::{Client, Keepalive, Options};

/// A running server, the state its dispatcher shares with the test, and its socket. Dropping
/// it stops the server and removes the socket's directory.
pub struct Fixture<S> {
    pub server: Server,
    pub state: Arc<S>,
    pub path: PathBuf,
}

impl<S> Drop for Fixture<S> {
    fn drop(&mut self) {
        self.server.shutdown();
        let _ = std::fs::remove_dir_all(self.path.parent().expect("a directory"));
    }
}

/// Starts a server for the dispatcher `make` builds around a fresh shared `S`, on a socket
/// in a directory named after `name` and this process.
pub async fn start<S: Default, D: Dispatch>(
    name: &str,
    make: impl FnOnce(Arc<S>) -> D,
    limits: Limits,
    keepalive: Option<Keepalive>,
) -> Fixture<S> {
    let dir = std::env::temp_dir().join(format!("xdrgen-srv-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let state = Arc::new(S::default());
    let server = Server::builder()
        .program(make(state.clone()))
        .limits(limits)
        .keepalive(keepalive)
        .build();
    tokio::spawn({
        let server = server.clone();
        async move { server.serve_unix(listener).await }
    });
    Fixture {
        server,
        state,
        path,
    }
}

/// A client of the runtime on the fixture's socket, with a 5 s deadline per call.
pub async fn client<S>(f: &Fixture<S>) -> Client {
    let (r, w) = UnixStream::connect(&f.path).await.unwrap().into_split();
    Client::new(r, w, Options::default()).with_timeout(Some(Duration::from_secs(5)))
}
