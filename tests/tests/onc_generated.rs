//! The generated ONC RPC client and server of `onc_demo.x` against each other on loopback TCP
//! and UDP: every procedure of both versions (several arguments, optional data, unions), the
//! refusals, and the caller's credentials reaching the server's methods. Also: a generated
//! dispatcher decodes its arguments from the received record without copying them.

use std::ops::Range;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use xdrgen_runtime::onc::msg::{CallHeader, Message};
use xdrgen_runtime::onc::{CallError, Client, Context, Credentials, OpaqueAuth, Protocol, Server};
use xdrgen_runtime::xdr::{to_bytes, Bytes};
use xdrgen_tests::fixtures::onc_demo::{
    DemoName, DemoPoint, DemoV1Client, DemoV1Dispatcher, DemoV1Server, DemoV2Client,
    DemoV2Dispatcher,
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

/// Serves `GREET` by echoing the name, and records where the decoded name's bytes were.
#[derive(Default)]
struct Where(Mutex<Option<Range<usize>>>);

impl DemoV1Server for Where {
    async fn demo_greet(&self, _cx: &Context, arg: DemoName) -> Result<DemoName, CallError> {
        let start = arg.as_str().as_ptr() as usize;
        *self.0.lock().unwrap() = Some(start..start + arg.len());
        Ok(arg)
    }
}

#[tokio::test]
async fn generated_dispatchers_decode_arguments_from_the_received_record() {
    let imp = Arc::new(Where::default());
    let server = Server::builder()
        .program(DemoV1Dispatcher::from_arc(imp.clone()))
        .build();
    // Longer than the 23 bytes a string holds inline, and a multiple of 4 (no padding).
    let name = "a name of forty-four bytes, not held inline.";
    assert_eq!(name.len(), 44);
    let info = DemoV1Client::INFO;
    let header = CallHeader::new(7, info.number, info.version, 2, OpaqueAuth::none());
    let mut call = to_bytes(&Message::Call(header)).unwrap();
    call.extend(to_bytes(&DemoName::new(name.to_owned()).unwrap()).unwrap());
    let record = Bytes::from(call);
    let reply = server.handle(&record, None, Protocol::Tcp).await.unwrap();
    assert!(reply.ends_with(name.as_bytes()));
    // The name is the record's last 44 bytes: decoded in place, not copied.
    let end = record.as_ptr() as usize + record.len();
    let seen = imp.0.lock().unwrap().clone().unwrap();
    assert_eq!(seen, end - 44..end, "record ends at {end:#x}");
}
