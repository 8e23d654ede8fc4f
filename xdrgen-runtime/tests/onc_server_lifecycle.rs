//! The ONC RPC server's lifecycle on real loopback sockets: a record cut short, or trickled a
//! byte at a time, closes its connection after `Builder::record_timeout` while another client's
//! calls go on; a connection idle between records is kept; `Server::shutdown` lets a call in
//! progress finish, refuses new connections, and closes everything within the grace period
//! (cancelling a call that outlasts it).
#![cfg(feature = "onc")]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinHandle;
use tokio::time::{timeout, Instant};
use xdrgen_runtime::onc::{fallback, serve, BoxFuture, Client, Context, Dispatch, Reply, Server};
use xdrgen_runtime::rpc::ProgramInfo;

static PROG: ProgramInfo = ProgramInfo {
    name: "LIFE_PROG",
    number: 0x2000_0f11,
    version: 1,
    procedures: &[],
};

/// A bound to detect hangs, not a timing target.
const HANG: Duration = Duration::from_secs(20);

/// Procedures: 1 add one to a u32; 2 sleep that many milliseconds and return them (counting
/// the calls that started in `started`).
struct Life {
    started: Arc<AtomicU32>,
}

impl Dispatch for Life {
    fn program(&self) -> &'static ProgramInfo {
        &PROG
    }

    fn dispatch<'a>(&'a self, cx: &'a Context, args: &'a Bytes) -> BoxFuture<'a, Reply> {
        match cx.procedure() {
            1 => serve(args, |n: u32| async move { Ok(n.wrapping_add(1)) }),
            2 => serve(args, move |ms: u32| async move {
                self.started.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(ms.into())).await;
                Ok(ms)
            }),
            _ => fallback(cx, args),
        }
    }
}

struct Running {
    server: Server,
    tcp: SocketAddr,
    started: Arc<AtomicU32>,
    serve_tcp: JoinHandle<std::io::Result<()>>,
    serve_udp: JoinHandle<std::io::Result<()>>,
}

async fn start(record_timeout: Duration, grace: Duration) -> Running {
    let started = Arc::new(AtomicU32::new(0));
    let server = Server::builder()
        .program(Life {
            started: started.clone(),
        })
        .record_timeout(record_timeout)
        .shutdown_grace(grace)
        .build();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let tcp = listener.local_addr().unwrap();
    let s = server.clone();
    let serve_tcp = tokio::spawn(async move { s.serve_tcp(listener).await });
    let s = server.clone();
    let serve_udp = tokio::spawn(async move { s.serve_udp(socket).await });
    Running {
        server,
        tcp,
        started,
        serve_tcp,
        serve_udp,
    }
}

/// Waits until the server closes `s` (a read returns 0 bytes or fails).
async fn closed_by_server(s: &mut TcpStream) {
    let mut buf = [0u8; 64];
    if let Ok(n @ 1..) = s.read(&mut buf).await {
        panic!("the server sent {n} bytes");
    }
}

/// A client that calls `add` in a loop until told to stop; returns how many calls succeeded.
fn busy_client(addr: SocketAddr) -> (JoinHandle<u32>, Arc<AtomicU32>) {
    let stop = Arc::new(AtomicU32::new(0));
    let flag = stop.clone();
    let task = tokio::spawn(async move {
        let client = Client::connect_tcp(addr).await.unwrap();
        let mut ok = 0;
        while flag.load(Ordering::SeqCst) == 0 {
            let n: u32 = timeout(HANG, client.call(&PROG, 1, &ok))
                .await
                .expect("a call hung")
                .expect("a call failed");
            assert_eq!(n, ok + 1);
            ok += 1;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        ok
    });
    (task, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_cut_short_is_closed_after_the_timeout_while_another_client_is_served() {
    let t = Duration::from_millis(300);
    let r = start(t, Duration::from_secs(5)).await;
    let (busy, stop) = busy_client(r.tcp);
    // A header announcing 256 bytes, then 3 of them, then silence.
    let mut half = TcpStream::connect(r.tcp).await.unwrap();
    let sent = Instant::now();
    half.write_all(&[0x80, 0, 1, 0, 1, 2, 3]).await.unwrap();
    timeout(HANG, closed_by_server(&mut half))
        .await
        .expect("the stalled connection was never closed");
    // The check runs every `t`: never before the first one.
    assert!(sent.elapsed() >= t, "closed after {:?}", sent.elapsed());
    stop.store(1, Ordering::SeqCst);
    let ok = busy.await.unwrap();
    assert!(ok > 0, "the other client made no call");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_trickled_byte_by_byte_is_closed_too() {
    let t = Duration::from_millis(300);
    let r = start(t, Duration::from_secs(5)).await;
    let (busy, stop) = busy_client(r.tcp);
    let mut trickle = TcpStream::connect(r.tcp).await.unwrap();
    // A 64 KiB record, one byte every 50 ms: progress, but no record ever completes.
    trickle.write_all(&[0x80, 1, 0, 0]).await.unwrap();
    let sent = Instant::now();
    let mut buf = [0u8; 16];
    let closed = loop {
        assert!(
            sent.elapsed() < HANG,
            "the trickling connection was never closed"
        );
        if trickle.write_all(&[7]).await.is_err() {
            break true;
        }
        match timeout(Duration::from_millis(50), trickle.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(_)) => panic!("the server sent something"),
            Err(_) => {}
        }
    };
    assert!(closed);
    assert!(sent.elapsed() >= t, "closed after {:?}", sent.elapsed());
    stop.store(1, Ordering::SeqCst);
    assert!(busy.await.unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_idle_between_records_is_kept() {
    let t = Duration::from_millis(100);
    let r = start(t, Duration::from_secs(5)).await;
    let mut s = TcpStream::connect(r.tcp).await.unwrap();
    let client = Client::connect_tcp(r.tcp).await.unwrap();
    assert_eq!(client.call::<_, u32>(&PROG, 1, &1u32).await.unwrap(), 2);
    // Five record timeouts without a byte.
    tokio::time::sleep(5 * t).await;
    assert_eq!(client.call::<_, u32>(&PROG, 1, &2u32).await.unwrap(), 3);
    // The raw connection, silent all along, is still open: a read finds nothing to read.
    let mut buf = [0u8; 4];
    assert!(timeout(Duration::from_millis(50), s.read(&mut buf))
        .await
        .is_err());
    assert_eq!(
        r.server.connections(),
        3,
        "two TCP connections and the UDP socket"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_the_call_in_progress_refuses_new_connections_and_closes() {
    let r = start(Duration::from_secs(60), Duration::from_secs(10)).await;
    let client = Client::connect_tcp(r.tcp).await.unwrap();
    let idle = TcpStream::connect(r.tcp).await.unwrap();
    let call = tokio::spawn({
        let client = client.clone();
        async move { client.call::<_, u32>(&PROG, 2, &500u32).await }
    });
    while r.started.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    r.server.shutdown();
    // The accept loop and the UDP loop return; the listener is gone.
    timeout(HANG, r.serve_tcp).await.unwrap().unwrap().unwrap();
    assert!(
        TcpStream::connect(r.tcp).await.is_err(),
        "a new connection was accepted"
    );
    // The call in progress finishes and its reply arrives.
    assert_eq!(timeout(HANG, call).await.unwrap().unwrap().unwrap(), 500);
    timeout(HANG, r.serve_udp).await.unwrap().unwrap().unwrap();
    // Everything closes, the idle connection included.
    timeout(HANG, r.server.closed()).await.unwrap();
    assert_eq!(r.server.connections(), 0);
    let mut idle = idle;
    timeout(HANG, closed_by_server(&mut idle)).await.unwrap();
    // The client's connection is closed: a new call fails.
    assert!(client.call::<_, u32>(&PROG, 1, &1u32).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_cancels_a_call_that_outlasts_the_grace_period() {
    let grace = Duration::from_millis(200);
    let r = start(Duration::from_secs(60), grace).await;
    let client = Client::connect_tcp(r.tcp).await.unwrap();
    let call = tokio::spawn({
        let client = client.clone();
        // Ten minutes: far beyond the grace period and the hang bound.
        async move { client.call::<_, u32>(&PROG, 2, &600_000u32).await }
    });
    while r.started.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    r.server.shutdown();
    timeout(HANG, r.server.closed())
        .await
        .expect("the server did not close within the hang bound");
    // The call gets no reply: its connection closed under it.
    let result = timeout(HANG, call).await.unwrap().unwrap();
    assert!(result.is_err(), "{result:?}");
}
