//! Procedures whose arguments and results are typedef'd arrays, optional data and fixed opaque
//! data (`tests/fixtures/onc_typedefs.x`, see `xdrgen_tests::onc_typedefs`): the generated
//! client and server against each other on loopback TCP and UDP, and against rpcgen's C server
//! and client (libtirpc), which serve and call on loopback ports directly, without rpcbind.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use xdrgen_runtime::onc::{Client, Server};
use xdrgen_tests::c_build::tools_or_skip;
use xdrgen_tests::fixtures::onc_typedefs::TdV1Dispatcher;
use xdrgen_tests::onc_peers::{build_typedef_peers, run_c_client, serve_on_loopback};
use xdrgen_tests::onc_typedefs::{exercise, TdImpl};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_client_and_server_over_tcp_and_udp() {
    let server = Server::builder()
        .program(TdV1Dispatcher::new(TdImpl))
        .build();
    let (tcp, udp) = serve_on_loopback(&server).await;
    exercise(&Client::connect_tcp(tcp).await.unwrap())
        .await
        .unwrap();
    exercise(&Client::connect_udp(udp).await.unwrap())
        .await
        .unwrap();
}

/// The C server, killed when dropped.
struct CServer(Child);

impl Drop for CServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_calls_rpcgens_c_server() {
    if !tools_or_skip("our_client_calls_rpcgens_c_server") {
        return;
    }
    let peers = build_typedef_peers().unwrap();
    let mut child = Command::new(&peers.server)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _server = CServer(child);
    // "tcp PORT" then "udp PORT".
    let ports: Vec<u16> = BufReader::new(stdout)
        .lines()
        .take(2)
        .map(|l| {
            l.unwrap()
                .split_whitespace()
                .nth(1)
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(ports.len(), 2, "the C server printed no ports");
    let tcp = Client::connect_tcp(("127.0.0.1", ports[0])).await.unwrap();
    exercise(&tcp).await.unwrap();
    let udp = Client::connect_udp(([127, 0, 0, 1], ports[1]).into())
        .await
        .unwrap();
    exercise(&udp).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpcgens_c_client_calls_our_server() {
    if !tools_or_skip("rpcgens_c_client_calls_our_server") {
        return;
    }
    let peers = build_typedef_peers().unwrap();
    let server = Server::builder()
        .program(TdV1Dispatcher::new(TdImpl))
        .build();
    let (tcp, udp) = serve_on_loopback(&server).await;
    for (proto, port) in [("tcp", tcp.port()), ("udp", udp.port())] {
        let text = run_c_client(&peers.client, &[&port.to_string(), proto]).await;
        // Every check ran, the last one included.
        assert_eq!(text.matches("ok ").count(), 10, "{text}");
        assert!(text.contains("ok 17 numbers refused"), "{text}");
    }
}
