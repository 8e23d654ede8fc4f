//! How a server connection begins and ends, with a hand-written dispatcher on real unix
//! sockets: keepalive only for clients that ask, the packet timeout, what a closed connection
//! records and drops, a stream whose reply cannot be sent, and a shutdown that lets open
//! streams finish.
#![cfg(feature = "libvirt")]

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use xdrgen_runtime::libvirt::server::{
    fallback, serve, serve_receive, serve_send, BoxFuture, Connection, Context, Dispatch, Limits,
    ReceiveData, Reply, SendData,
};
use xdrgen_runtime::libvirt::{
    encode_packet, Client, Error, Header, Keepalive, MessageType, Status,
};
use xdrgen_runtime::rpc::{ProcedureInfo, ProgramInfo};
use xdrgen_runtime::xdr::Opaque;

const ECHO: u32 = 1;
const OPEN: u32 = 2;
const KEEPALIVE: u32 = 3;
const UPLOAD: u32 = 4;
const DOWNLOAD: u32 = 5;
const HUGE_STREAM: u32 = 6;

static PROCS: [ProcedureInfo; 6] = [
    ProcedureInfo::new(ECHO, "L_PROC_ECHO", "echo"),
    ProcedureInfo::new(OPEN, "L_PROC_OPEN", "open"),
    ProcedureInfo::new(KEEPALIVE, "L_PROC_KEEPALIVE", "keepalive"),
    ProcedureInfo::new(UPLOAD, "L_PROC_UPLOAD", "upload"),
    ProcedureInfo::new(DOWNLOAD, "L_PROC_DOWNLOAD", "download"),
    ProcedureInfo::new(HUGE_STREAM, "L_PROC_HUGE_STREAM", "huge_stream"),
];
static PROG: ProgramInfo = ProgramInfo {
    name: "L_PROGRAM",
    number: 0x4c49_4645,
    version: 1,
    procedures: &PROCS,
};

/// A connection's state that says when it is dropped.
struct Session(Arc<AtomicBool>);

impl Drop for Session {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// What the handlers saw.
#[derive(Default)]
struct Seen {
    /// Connections that called `open`.
    opened: Mutex<Vec<Connection>>,
    /// Set when the `open`ed connection's state is dropped.
    session_dropped: Arc<AtomicBool>,
    /// Bytes the last upload received.
    uploaded: AtomicUsize,
    /// Set if the huge stream's body ever ran.
    huge_body_ran: AtomicBool,
}

struct Dispatcher(Arc<Seen>);

impl Dispatch for Dispatcher {
    fn program(&self) -> &'static ProgramInfo {
        &PROG
    }

    fn dispatch<'a>(
        &'a self,
        cx: &'a Context,
        args: &'a xdrgen_runtime::xdr::Bytes,
    ) -> BoxFuture<'a, Reply> {
        let seen = self.0.clone();
        match cx.procedure().number {
            ECHO => serve(cx, args, |n: u32| async move { Ok(n) }),
            OPEN => serve(cx, args, move |(): ()| async move {
                cx.connection()
                    .set_state(Session(seen.session_dropped.clone()));
                seen.opened.lock().unwrap().push(cx.connection().clone());
                Ok(())
            }),
            KEEPALIVE => serve(cx, args, |(): ()| async move {
                cx.connection().start_keepalive();
                Ok(())
            }),
            UPLOAD => serve_receive(cx, args, move |(): ()| async move {
                let body = ReceiveData::new(move |source| async move {
                    let data = source.read_all(1 << 20).await?;
                    seen.uploaded.store(data.len(), Ordering::SeqCst);
                    Ok(())
                });
                Ok(((), body))
            }),
            // Sends `n` chunks of 1000 bytes, a little apart.
            DOWNLOAD => serve_send(cx, args, |n: u32| async move {
                let body = SendData::new(move |mut sink| async move {
                    for i in 0..n {
                        sink.send(Bytes::from(vec![i as u8; 1000])).await?;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    sink.finish().await
                });
                Ok(((), body))
            }),
            // A reply over the maximum packet size, with a stream.
            HUGE_STREAM => serve_send(cx, args, move |(): ()| async move {
                let body = SendData::new(move |sink| async move {
                    seen.huge_body_ran.store(true, Ordering::SeqCst);
                    sink.finish().await
                });
                let reply = Opaque::<{ u32::MAX }>::new(vec![1; 8192]).expect("fits");
                Ok((reply, body))
            }),
            _ => fallback(cx),
        }
    }
}

type Fixture = common::Fixture<Seen>;

async fn start(name: &str, limits: Limits, keepalive: Option<Keepalive>) -> Fixture {
    common::start(name, Dispatcher, limits, keepalive).await
}

async fn client(f: &Fixture) -> Client {
    common::client(f).await
}

fn call(procedure: u32, serial: u32) -> Bytes {
    let header = Header {
        program: PROG.number,
        version: PROG.version,
        procedure,
        kind: MessageType::Call,
        serial,
        status: Status::Ok,
    };
    encode_packet(&header, &(), 4096).unwrap()
}

/// A raw client that has called `open` (so the test holds its server-side connection).
async fn opened_raw(f: &Fixture) -> (UnixStream, Connection) {
    let mut s = UnixStream::connect(&f.path).await.unwrap();
    s.write_all(&call(OPEN, 1)).await.unwrap();
    let mut reply = [0u8; 28];
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut reply))
        .await
        .expect("the open reply")
        .unwrap();
    let h = Header::decode(&reply[4..]).unwrap();
    assert_eq!(
        (h.kind, h.serial, h.status),
        (MessageType::Reply, 1, Status::Ok)
    );
    let connection = f
        .state
        .opened
        .lock()
        .unwrap()
        .pop()
        .expect("open was called");
    (s, connection)
}

async fn closed_within(connection: &Connection, within: Duration) {
    tokio::time::timeout(within, connection.closed())
        .await
        .expect("the connection closes in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_leaves_has_its_state_dropped_and_closed_resolves() {
    let f = start("leave", Limits::default(), None).await;
    let (s, connection) = opened_raw(&f).await;
    assert!(!connection.is_closed());
    assert!(!f.state.session_dropped.load(Ordering::SeqCst));
    drop(s);
    closed_within(&connection, Duration::from_secs(5)).await;
    // The handler still holds the connection, but its state is gone.
    assert!(f.state.session_dropped.load(Ordering::SeqCst));
    assert!(connection.state::<Session>().is_none());
    assert!(connection.is_closed());
    assert!(connection.error().is_none(), "{:?}", connection.error());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_ended_by_the_client_breaking_the_rules_records_why() {
    let limits = Limits {
        max_packet: 4096,
        ..Limits::default()
    };
    let f = start("why", limits, None).await;
    // A length word over the maximum.
    let (mut s, connection) = opened_raw(&f).await;
    s.write_all(&4097u32.to_be_bytes()).await.unwrap();
    closed_within(&connection, Duration::from_secs(5)).await;
    let e = connection.error().expect("an error is recorded");
    assert!(
        matches!(
            &*e,
            Error::PacketTooLarge {
                length: 4097,
                max: 4096
            }
        ),
        "{e:?}"
    );
    // A REPLY from the client.
    let (mut s, connection) = opened_raw(&f).await;
    let mut reply = call(ECHO, 7).to_vec();
    reply[16..20].copy_from_slice(&(MessageType::Reply as u32).to_be_bytes());
    s.write_all(&reply).await.unwrap();
    closed_within(&connection, Duration::from_secs(5)).await;
    let e = connection.error().expect("an error is recorded");
    assert!(
        e.to_string().contains("the client sent a REPLY (serial 7)"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_packet_that_never_arrives_whole_closes_the_connection() {
    let limits = Limits {
        packet_timeout: Duration::from_millis(200),
        ..Limits::default()
    };
    let f = start("partial", limits, None).await;
    let good = client(&f).await;
    // Half a packet, then silence.
    let (mut s, connection) = opened_raw(&f).await;
    let started = Instant::now();
    s.write_all(&call(ECHO, 2)[..20]).await.unwrap();
    closed_within(&connection, Duration::from_secs(5)).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    let e = connection.error().expect("an error is recorded");
    assert!(
        e.to_string().contains("did not arrive whole within 200ms"),
        "{e}"
    );
    // A packet trickled a byte every 50 ms: never stalled for long, never finished.
    let (mut s, connection) = opened_raw(&f).await;
    let packet = call(ECHO, 3);
    let trickle = async {
        for b in packet.iter().take(27) {
            if s.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::join!(trickle, closed_within(&connection, Duration::from_secs(5)));
    assert!(connection.error().is_some());
    // Meanwhile a well-behaved client is served, and an idle one (nothing buffered) is not
    // closed.
    let idle = client(&f).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let n: u32 = good.call(&PROG, ECHO, &5u32).await.unwrap();
    assert_eq!(n, 5);
    let n: u32 = idle.call(&PROG, ECHO, &6u32).await.unwrap();
    assert_eq!(n, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalive_pings_only_clients_that_asked_for_it() {
    let keepalive = Keepalive {
        interval: Duration::from_millis(100),
        count: 2,
    };
    let f = start("keepalive", Limits::default(), Some(keepalive)).await;
    // A client that never asked: no PING in 1 s (10 intervals), still served.
    let (mut quiet, quiet_connection) = opened_raw(&f).await;
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(1), quiet.read(&mut buf)).await;
    assert!(
        read.is_err(),
        "nothing is sent to a client that did not ask: {read:?}"
    );
    assert!(!quiet_connection.is_closed());
    // A client that asks and then says nothing: two PINGs, then it is dropped.
    let (mut asked, connection) = opened_raw(&f).await;
    asked.write_all(&call(KEEPALIVE, 2)).await.unwrap();
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), asked.read_to_end(&mut got))
        .await
        .expect("closed")
        .unwrap();
    // The reply (28 bytes), then two PINGs of 28 bytes each.
    assert_eq!(got.len(), 3 * 28, "{got:?}");
    let ping = Header::decode(&got[32..]).unwrap();
    assert_eq!((ping.program, ping.procedure), (0x6b65_6570, 1));
    closed_within(&connection, Duration::from_secs(5)).await;
    let e = connection.error().expect("an error is recorded");
    assert!(matches!(&*e, Error::Keepalive { count: 2, .. }), "{e:?}");
    assert!(!quiet_connection.is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_whose_reply_is_too_large_never_starts() {
    let limits = Limits {
        max_packet: 4096,
        ..Limits::default()
    };
    let f = start("huge", limits, None).await;
    let c = client(&f).await;
    let got = c
        .call_read_stream::<(), Opaque<{ u32::MAX }>>(&PROG, HUGE_STREAM, &())
        .await;
    match got {
        Err(Error::Remote(e)) => assert!(
            e.message
                .as_deref()
                .is_some_and(|m| m.contains("over the maximum packet size of 4096 bytes")),
            "{e:?}"
        ),
        other => panic!("expected an error reply, got {other:?}"),
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!f.state.huge_body_ran.load(Ordering::SeqCst));
    let n: u32 = c.call(&PROG, ECHO, &9u32).await.unwrap();
    assert_eq!(n, 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_refuses_new_calls_and_lets_open_streams_finish() {
    let limits = Limits {
        shutdown_grace: Duration::from_secs(60),
        ..Limits::default()
    };
    let f = start("shutdown", limits, None).await;
    let up = client(&f).await;
    let down = client(&f).await;
    let ((), mut sink) = up
        .call_write_stream::<(), ()>(&PROG, UPLOAD, &())
        .await
        .unwrap();
    sink.send(Bytes::from(vec![1u8; 3000])).await.unwrap();
    let ((), mut source) = down
        .call_read_stream::<u32, ()>(&PROG, DOWNLOAD, &5u32)
        .await
        .unwrap();
    let first = source.next_chunk().await.expect("a chunk").unwrap();
    let started = Instant::now();
    f.server.shutdown();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // A new call is refused with libvirt's error; the connection stays for its stream.
    match up.call::<u32, u32>(&PROG, ECHO, &1).await {
        Err(Error::Remote(e)) => assert_eq!(
            e.message.as_deref(),
            Some("the server is shutting down"),
            "{e:?}"
        ),
        other => panic!("expected an error reply, got {other:?}"),
    }
    // Both streams finish: the server reads the upload's data and end, and the download's
    // end handshake.
    sink.send(Bytes::from(vec![2u8; 4000])).await.unwrap();
    sink.finish().await.unwrap();
    assert_eq!(f.state.uploaded.load(Ordering::SeqCst), 7000);
    let rest = source.read_all(1 << 20).await.unwrap();
    assert_eq!(first_len(&first) + rest.len(), 5000);
    tokio::time::timeout(Duration::from_secs(5), f.server.closed())
        .await
        .expect("every connection closes well before the grace period");
    assert!(started.elapsed() < Duration::from_secs(10));
}

fn first_len(chunk: &xdrgen_runtime::libvirt::Chunk) -> usize {
    match chunk {
        xdrgen_runtime::libvirt::Chunk::Data(d) => d.len(),
        xdrgen_runtime::libvirt::Chunk::Hole(_) => 0,
    }
}
