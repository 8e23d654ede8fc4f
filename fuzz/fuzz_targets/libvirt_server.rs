//! The libvirt server's packet reader and the generated remote dispatcher: the input is what a
//! client sends on one connection (framing, headers, every procedure's arguments, stream
//! packets, keepalive). The server must answer or close, never panic or hang; the handler
//! answers every procedure with libvirt's "not supported" after decoding its arguments.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use protocols::remote_protocol::{RemoteDispatcher, RemoteServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use xdrgen_runtime::libvirt::server::{Peer, Server};

/// Implements nothing: every method answers "not supported".
struct Nothing;

impl RemoteServer for Nothing {}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        Server::builder()
            .program(RemoteDispatcher::new(Nothing))
            .build()
    })
}

fuzz_target!(|data: &[u8]| {
    xdrgen_fuzz::runtime().block_on(async {
        let (client, served) = tokio::io::duplex(1 << 20);
        let (r, w) = tokio::io::split(served);
        assert!(server().serve_connection(r, w, Peer::Other));
        let (mut from_server, mut to_server) = tokio::io::split(client);
        let _ = to_server.write_all(data).await;
        let _ = to_server.shutdown().await;
        // The server answers what it read, then closes when the input ends.
        let mut answers = Vec::new();
        let read = from_server.read_to_end(&mut answers);
        tokio::time::timeout(Duration::from_secs(10), read)
            .await
            .expect("the server closes the connection once the input ends")
            .ok();
    });
});
