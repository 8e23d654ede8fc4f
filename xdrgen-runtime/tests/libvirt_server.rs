//! The libvirt server runtime against hostile clients on real unix sockets, with a hand-written
//! dispatcher: garbage, a length word over the maximum, a REPLY sent to the server, a client
//! that stops reading, and a full server; well-behaved clients are served throughout. (A
//! truncated packet then silence, and keepalive: `libvirt_server_lifecycle.rs`; the generated
//! server is tested in `tests/`.)
#![cfg(feature = "libvirt")]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use xdrgen_runtime::libvirt::server::{
    fallback, serve, BoxFuture, Connection, Context, Dispatch, Limits, Reply, SendError,
};
use xdrgen_runtime::libvirt::{encode_packet, Client, Header, Keepalive, MessageType, Status};
use xdrgen_runtime::rpc::{ProcedureInfo, ProgramInfo};
use xdrgen_runtime::xdr::Opaque;

static PROCS: [ProcedureInfo; 3] = [
    ProcedureInfo::new(1, "T_PROC_ECHO", "echo"),
    ProcedureInfo::new(2, "T_PROC_BLOB", "blob"),
    ProcedureInfo::new(3, "T_PROC_SUBSCRIBE", "subscribe"),
];
static PROG: ProgramInfo = ProgramInfo {
    name: "T_PROGRAM",
    number: 0x1234,
    version: 1,
    procedures: &PROCS,
};

/// echo(u32) → u32; blob(n) → n bytes; subscribe() keeps the connection for events.
#[derive(Default)]
struct Test {
    subscribers: Mutex<Vec<Connection>>,
}

/// The dispatcher: a shared [`Test`].
struct TestDispatcher(Arc<Test>);

impl Dispatch for TestDispatcher {
    fn program(&self) -> &'static ProgramInfo {
        &PROG
    }

    fn dispatch<'a>(
        &'a self,
        cx: &'a Context,
        args: &'a xdrgen_runtime::xdr::Bytes,
    ) -> BoxFuture<'a, Reply> {
        match cx.procedure().number {
            1 => serve(cx, args, |n: u32| async move { Ok(n) }),
            2 => serve(cx, args, |n: u32| async move {
                Ok(Opaque::<{ u32::MAX }>::new(vec![7; n as usize]).expect("fits"))
            }),
            3 => serve(cx, args, |(): ()| async move {
                self.0
                    .subscribers
                    .lock()
                    .unwrap()
                    .push(cx.connection().clone());
                Ok(())
            }),
            _ => fallback(cx),
        }
    }
}

type Fixture = common::Fixture<Test>;

async fn start(name: &str, limits: Limits, keepalive: Option<Keepalive>) -> Fixture {
    common::start(name, TestDispatcher, limits, keepalive).await
}

async fn good_client(f: &Fixture) -> Client {
    common::client(f).await
}

async fn echo(c: &Client, n: u32) {
    let got: u32 = c.call(&PROG, 1, &n).await.unwrap();
    assert_eq!(got, n);
}

/// Reads until the server closes the connection, failing if that takes over `within`.
async fn closed_within(s: &mut UnixStream, within: Duration) -> Vec<u8> {
    let mut got = Vec::new();
    tokio::time::timeout(within, s.read_to_end(&mut got))
        .await
        .expect("the server closes the connection")
        .ok();
    got
}

fn header(procedure: u32, kind: MessageType, serial: u32) -> Header {
    Header {
        program: PROG.number,
        version: PROG.version,
        procedure,
        kind,
        serial,
        status: Status::Ok,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_oversized_lengths_close_without_an_answer() {
    let limits = Limits {
        max_packet: 4096,
        ..Limits::default()
    };
    let f = start("garbage", limits, None).await;
    let good = good_client(&f).await;
    echo(&good, 1).await;
    // An HTTP request: its length word "GET " is over the maximum.
    let mut s = UnixStream::connect(&f.path).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert!(closed_within(&mut s, Duration::from_secs(5))
        .await
        .is_empty());
    echo(&good, 2).await;
    // A length word just over the maximum, and one too small for a header.
    for len in [4097u32, 12] {
        let mut s = UnixStream::connect(&f.path).await.unwrap();
        s.write_all(&len.to_be_bytes()).await.unwrap();
        assert!(closed_within(&mut s, Duration::from_secs(5))
            .await
            .is_empty());
    }
    // An undecodable header (message type 9).
    let mut s = UnixStream::connect(&f.path).await.unwrap();
    let mut p = encode_packet(&header(1, MessageType::Call, 1), &5u32, 4096)
        .unwrap()
        .to_vec();
    p[16..20].copy_from_slice(&9u32.to_be_bytes());
    s.write_all(&p).await.unwrap();
    assert!(closed_within(&mut s, Duration::from_secs(5))
        .await
        .is_empty());
    echo(&good, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packets_a_client_must_not_send_are_dropped() {
    let f = start("reply", Limits::default(), None).await;
    let mut s = UnixStream::connect(&f.path).await.unwrap();
    for kind in [
        MessageType::Message,
        MessageType::Stream,
        MessageType::StreamHole,
    ] {
        let p = encode_packet(&header(1, kind, 1), &5u32, 4096).unwrap();
        s.write_all(&p).await.unwrap();
    }
    let p = encode_packet(&header(1, MessageType::Call, 9), &5u32, 4096).unwrap();
    s.write_all(&p).await.unwrap();
    let mut answer = [0u8; 32];
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let h = Header::decode(&answer[4..]).unwrap();
    assert_eq!(
        (h.kind, h.serial, h.status),
        (MessageType::Reply, 9, Status::Ok)
    );
    assert_eq!(answer[28..], [0, 0, 0, 5]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_sends_a_reply_is_disconnected() {
    let f = start("reply-close", Limits::default(), None).await;
    for kind in [MessageType::Reply, MessageType::ReplyWithFds] {
        let mut s = UnixStream::connect(&f.path).await.unwrap();
        let p = encode_packet(&header(1, kind, 1), &5u32, 4096).unwrap();
        s.write_all(&p).await.unwrap();
        let mut rest = Vec::new();
        let n = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest))
            .await
            .expect("closed, not held open")
            .unwrap();
        assert_eq!(n, 0, "{kind:?}: nothing is answered");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_pushed_back_and_others_are_served() {
    let limits = Limits {
        max_queued_bytes: 256 << 10,
        ..Limits::default()
    };
    let f = start("noread", limits, None).await;
    let good = good_client(&f).await;
    // Ask for 64 KiB replies and never read them: the server's queue fills, its calls wait
    // for room, it stops reading us, and our writes stall.
    let mut raw = UnixStream::connect(&f.path).await.unwrap();
    let mut stalled = false;
    for serial in 1..=10_000u32 {
        let p = encode_packet(&header(2, MessageType::Call, serial), &(64u32 << 10), 4096).unwrap();
        if tokio::time::timeout(Duration::from_millis(500), raw.write_all(&p))
            .await
            .is_err()
        {
            stalled = true;
            break;
        }
    }
    assert!(
        stalled,
        "the server kept reading a client that does not read"
    );
    echo(&good, 4).await;
    drop(raw);
    echo(&good, 5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_to_a_client_that_does_not_read_are_dropped_when_its_queue_is_full() {
    let limits = Limits {
        max_queued_bytes: 64 << 10,
        ..Limits::default()
    };
    let f = start("events", limits, None).await;
    let mut raw = UnixStream::connect(&f.path).await.unwrap();
    let p = encode_packet(&header(3, MessageType::Call, 1), &(), 4096).unwrap();
    raw.write_all(&p).await.unwrap();
    let mut answer = [0u8; 28];
    raw.read_exact(&mut answer).await.unwrap();
    let conn = f.state.subscribers.lock().unwrap()[0].clone();
    let event = Opaque::<{ u32::MAX }>::new(vec![1; 4000]).unwrap();
    let mut sent = 0;
    let full = loop {
        match conn.send_event(&PROG, 1, &event) {
            Ok(()) => sent += 1,
            Err(e) => break e,
        }
        if sent > 100_000 {
            panic!("the queue is unbounded");
        }
        tokio::task::yield_now().await;
    };
    assert!(matches!(full, SendError::Full), "{full}");
    assert_eq!(conn.events_dropped(), 1);
    // What the socket buffers plus the 64 KiB queue: far below 100,000 events.
    assert!(sent < 5_000, "{sent} events queued");
    let good = good_client(&f).await;
    echo(&good, 6).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_over_the_maximum_are_refused() {
    let limits = Limits {
        max_clients: 2,
        ..Limits::default()
    };
    let f = start("full", limits, None).await;
    let a = good_client(&f).await;
    let b = good_client(&f).await;
    echo(&a, 1).await;
    echo(&b, 1).await;
    let mut c = UnixStream::connect(&f.path).await.unwrap();
    assert!(closed_within(&mut c, Duration::from_secs(5))
        .await
        .is_empty());
    assert_eq!(f.server.refused(), 1);
    echo(&a, 2).await;
}
