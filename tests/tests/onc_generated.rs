//! The generated ONC RPC client and server of `onc_demo.x` against each other on loopback TCP
//! and UDP: every procedure of both versions (several arguments, optional data, unions), the
//! refusals, and the caller's credentials reaching the server's methods.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use xdrgen_runtime::onc::{Client, Credentials, Server};
use xdrgen_tests::fixtures::onc_demo::{
    DemoPoint, DemoV1Dispatcher, DemoV2Client, DemoV2Dispatcher,
};
use xdrgen_tests::onc_demo::{exercise, DemoImpl};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_client_and_server_over_tcp_and_udp() {
    let imp = Arc::new(DemoImpl::default());
    let server = Server::builder()
        .program(DemoV1Dispatcher::from_arc(imp.clone()))
        .program(DemoV2Dispatcher::from_arc(imp.clone()))
        .build();
    let (tcp, udp) = xdrgen_tests::onc_peers::serve_on_loopback(&server).await;

    let clients = [
        Client::connect_tcp(tcp).await.unwrap(),
        Client::connect_udp(udp).await.unwrap(),
    ];
    for client in clients {
        exercise(&client, true).await.unwrap();
        let sys = client
            .with_credentials(&Credentials::sys("tester", 4321, 99))
            .unwrap();
        let p = DemoPoint { x: 1, y: 1 };
        DemoV2Client::new(sys).demo_echo_point(&p).await.unwrap();
        assert_eq!(imp.uid.load(Ordering::SeqCst), 4321);
    }
}
