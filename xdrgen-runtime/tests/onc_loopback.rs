//! The ONC RPC client and server runtimes against each other and against hand-made bytes on
//! loopback TCP and UDP, with a hand-written dispatcher: many calls in flight, cancellation by
//! drop, deadlines, retransmission and duplicate replies, every refusal the server itself
//! sends, records in many fragments and in 1-byte writes, an oversized fragment, and a peer that
//! stops mid-record while others are served, results and arguments decoded from the
//! received record without copying their data, arguments whose encoding fails or panics, and a
//! writer that fails or panics. (Generated code is tested in `tests/`.)
#![cfg(feature = "onc")]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use xdrgen_runtime::onc::msg::{CallHeader, Message, RPC_VERSION};
use xdrgen_runtime::onc::record::single_fragment;
use xdrgen_runtime::onc::{
    fallback, serve, BoxFuture, CallError, Client, Context, Credentials, Dispatch, Error,
    OpaqueAuth, Options, Protocol, Refusal, Reply, Server,
};
use xdrgen_runtime::rpc::ProgramInfo;
use xdrgen_runtime::xdr::{to_bytes, Bytes, Encode, Opaque};

// The tests crate's read half that records where reads land (this crate's tests cannot depend
// on that crate, which depends on this one).
#[path = "../../tests/src/landed.rs"]
mod landed;
use landed::Landed;

const PROG: u32 = 0x2000_0099;
static V2: ProgramInfo = ProgramInfo {
    name: "ECHO_PROG",
    number: PROG,
    version: 2,
    procedures: &[],
};
static V3: ProgramInfo = ProgramInfo { version: 3, ..V2 };
static V7: ProgramInfo = ProgramInfo { version: 7, ..V2 };

/// Procedures: 1 echo(opaque<>), 2 add(int, int), 3 sleep(ms) → ms, 4 the caller's uid,
/// 5 n zero bytes, 6 the address of the decoded opaque<> argument's data.
struct Echo {
    info: &'static ProgramInfo,
    calls: Arc<AtomicU32>,
}

impl Dispatch for Echo {
    fn program(&self) -> &'static ProgramInfo {
        self.info
    }

    fn dispatch<'a>(&'a self, cx: &'a Context, args: &'a Bytes) -> BoxFuture<'a, Reply> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        match cx.procedure() {
            1 => serve(args, |a: Opaque| async move { Ok(a) }),
            2 => serve(
                args,
                |(a, b): (i32, i32)| async move { Ok(a.wrapping_add(b)) },
            ),
            3 => serve(args, |ms: u32| async move {
                tokio::time::sleep(Duration::from_millis(ms.into())).await;
                Ok(ms)
            }),
            4 => serve(args, move |()| async move {
                match cx.credentials() {
                    Credentials::Sys(sys) => Ok(sys.uid),
                    _ => Err(CallError::Auth(xdrgen_runtime::onc::msg::AuthStat::TooWeak)),
                }
            }),
            5 => serve(args, |n: u32| async move {
                Opaque::<{ u32::MAX }>::new(vec![0u8; n.min(1 << 20) as usize])
                    .map_err(|_| CallError::SystemErr)
            }),
            6 => serve(args, |a: Opaque| async move {
                Ok(a.as_slice().as_ptr() as usize as u64)
            }),
            _ => fallback(cx, args),
        }
    }
}

struct Peers {
    tcp: SocketAddr,
    udp: SocketAddr,
    calls: Arc<AtomicU32>,
}

async fn start() -> Peers {
    let calls = Arc::new(AtomicU32::new(0));
    let echo = |info| Echo {
        info,
        calls: calls.clone(),
    };
    let server = Server::builder()
        .program(echo(&V2))
        .program(echo(&V3))
        .max_record(1 << 20)
        .build();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let peers = Peers {
        tcp: listener.local_addr().unwrap(),
        udp: socket.local_addr().unwrap(),
        calls,
    };
    let s = server.clone();
    tokio::spawn(async move { s.serve_tcp(listener).await });
    tokio::spawn(async move { server.serve_udp(socket).await });
    peers
}

fn opaque(n: usize) -> Opaque {
    Opaque::new((0..n).map(|i| i as u8).collect::<Vec<u8>>()).unwrap()
}

/// A TCP client writing fragments of at most 1000 bytes.
async fn small_fragments(p: &Peers) -> Client {
    let options = Options {
        max_fragment: 1000,
        ..Options::default()
    };
    let stream = TcpStream::connect(p.tcp).await.unwrap();
    Client::over_stream(stream, &options)
}

async fn both(p: &Peers) -> [Client; 2] {
    [
        Client::connect_tcp(p.tcp).await.unwrap(),
        Client::connect_udp(p.udp).await.unwrap(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_and_every_refusal_over_tcp_and_udp() {
    let p = start().await;
    for client in both(&p).await {
        let sum: i32 = client.call(&V2, 2, &(&40i32, &2i32)).await.unwrap();
        assert_eq!(sum, 42);
        let back: Opaque = client.call(&V3, 1, &opaque(1000)).await.unwrap();
        assert_eq!(back, opaque(1000));
        // NULL is answered by default, with no results.
        let () = client.call(&V2, 0, &()).await.unwrap();
        let refused = |r: Result<(), Error>| r.unwrap_err().refusal();
        assert_eq!(
            refused(client.call(&V2, 99, &()).await),
            Some(Refusal::ProcUnavail)
        );
        assert_eq!(
            refused(client.call(&V7, 0, &()).await),
            Some(Refusal::ProgMismatch { low: 2, high: 3 })
        );
        let other = ProgramInfo {
            number: PROG + 1,
            ..V2
        };
        assert_eq!(
            refused(client.call(&other, 0, &()).await),
            Some(Refusal::ProgUnavail)
        );
        // One int where two are due.
        assert_eq!(
            refused(client.call(&V2, 2, &1i32).await),
            Some(Refusal::GarbageArgs)
        );
        assert_eq!(
            refused(client.call(&V2, 4, &()).await),
            Some(Refusal::AuthError(
                xdrgen_runtime::onc::msg::AuthStat::TooWeak
            ))
        );
        let sys = client
            .with_credentials(&Credentials::sys("box", 1234, 5))
            .unwrap();
        let uid: u32 = sys.call(&V2, 4, &()).await.unwrap();
        assert_eq!(uid, 1234);
    }
    // Results too large for a datagram: SYSTEM_ERR over UDP, delivered over TCP.
    let [tcp, udp] = both(&p).await;
    let big: Result<Opaque, Error> = udp.call(&V2, 5, &70_000u32).await;
    assert_eq!(big.unwrap_err().refusal(), Some(Refusal::SystemErr));
    let big: Opaque = tcp.call(&V2, 5, &70_000u32).await.unwrap();
    assert_eq!(big.len(), 70_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_calls_in_flight_on_one_connection_and_large_records_in_fragments() {
    let p = start().await;
    let client = small_fragments(&p).await;
    // The slow calls finish last although they were sent first: replies are matched by xid.
    let slow = client.call::<_, u32>(&V2, 3, &200u32);
    let fast = async {
        let mut out = Vec::new();
        for i in 0..50 {
            let r: i32 = client.call(&V2, 2, &(&i, &1i32)).await.unwrap();
            out.push(r);
        }
        out
    };
    let (slow, fast) = tokio::join!(slow, fast);
    assert_eq!(slow.unwrap(), 200);
    assert_eq!(fast, (1..=50).collect::<Vec<i32>>());
    let big = opaque(300_000);
    let back: Opaque = client.call(&V2, 1, &big).await.unwrap();
    assert_eq!(back, big);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_and_cancellation() {
    let p = start().await;
    let client = Client::connect_tcp(p.tcp).await.unwrap();
    let quick = client.with_timeout(Some(Duration::from_millis(50)));
    let err = quick.call::<_, u32>(&V2, 3, &500u32).await.unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err}");
    // A dropped call's late reply is discarded; the connection goes on.
    drop(
        tokio::time::timeout(
            Duration::from_millis(20),
            client.call::<_, u32>(&V2, 3, &100u32),
        )
        .await,
    );
    assert_eq!(client.in_flight(), 0);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(client.unmatched_replies(), 2);
    let sum: i32 = client.call(&V2, 2, &(&1i32, &1i32)).await.unwrap();
    assert_eq!(sum, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_retransmits_and_drops_duplicate_replies() {
    let p = start().await;
    let options = Options {
        retransmit: Duration::from_millis(60),
        ..Options::default()
    };
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.connect(p.udp).await.unwrap();
    let client = Client::over_udp(socket, &options);
    // Each call takes 200 ms: the client sends it about four times, the server answers each.
    let before = p.calls.load(Ordering::SeqCst);
    let ms: u32 = client.call(&V2, 3, &200u32).await.unwrap();
    assert_eq!(ms, 200);
    assert!(p.calls.load(Ordering::SeqCst) - before >= 3);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        client.unmatched_replies() >= 2,
        "{}",
        client.unmatched_replies()
    );

    // A server that drops the first datagram of each call: the retransmission gets through.
    let lossy = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let lossy_addr = lossy.local_addr().unwrap();
    let real = p.udp;
    tokio::spawn(async move {
        let relay = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut buf = vec![0u8; 70_000];
        let mut seen = std::collections::HashSet::new();
        loop {
            let (n, from) = lossy.recv_from(&mut buf).await.unwrap();
            if seen.insert(buf[..4].to_vec()) {
                continue;
            }
            relay.send_to(&buf[..n], real).await.unwrap();
            let m = relay.recv(&mut buf).await.unwrap();
            lossy.send_to(&buf[..m], from).await.unwrap();
        }
    });
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.connect(lossy_addr).await.unwrap();
    let client = Client::over_udp(socket, &options);
    let sum: i32 = client.call(&V2, 2, &(&2i32, &3i32)).await.unwrap();
    assert_eq!(sum, 5);
    // Nobody answers: the deadline ends the call.
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.connect(silent.local_addr().unwrap()).await.unwrap();
    let client = Client::over_udp(socket, &options).with_timeout(Some(Duration::from_millis(200)));
    let err = client.call::<_, ()>(&V2, 0, &()).await.unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err}");
}

/// A raw CALL message for the echo program.
fn raw_call(xid: u32, rpcvers: u32, procedure: u32, args: &dyn Encode) -> Vec<u8> {
    let mut header = CallHeader::new(xid, PROG, 2, procedure, OpaqueAuth::none());
    header.rpcvers = rpcvers;
    let mut bytes = to_bytes(&Message::Call(header)).unwrap();
    bytes.extend(to_bytes(&args).unwrap());
    bytes
}

/// Reads one single-fragment reply record and returns it without its header word.
async fn read_record(stream: &mut TcpStream) -> Vec<u8> {
    let word = stream.read_u32().await.unwrap();
    assert_ne!(word & 0x8000_0000, 0);
    let mut body = vec![0; (word & 0x7fff_ffff) as usize];
    stream.read_exact(&mut body).await.unwrap();
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_and_odd_peers() {
    let p = start().await;
    // A record in 7-byte fragments, written one byte at a time.
    let mut s = TcpStream::connect(p.tcp).await.unwrap();
    let call = raw_call(1, RPC_VERSION, 2, &(&20i32, &22i32));
    let mut wire = Vec::new();
    let chunks: Vec<&[u8]> = call.chunks(7).collect();
    for (i, c) in chunks.iter().enumerate() {
        let last = if i + 1 == chunks.len() {
            0x8000_0000
        } else {
            0
        };
        wire.extend_from_slice(&(c.len() as u32 | last).to_be_bytes());
        wire.extend_from_slice(c);
    }
    for b in &wire {
        s.write_all(&[*b]).await.unwrap();
        s.flush().await.unwrap();
    }
    let reply = read_record(&mut s).await;
    assert_eq!(&reply[..4], [0, 0, 0, 1]);
    assert_eq!(&reply[reply.len() - 4..], 42i32.to_be_bytes());

    // rpcvers 3: RPC_MISMATCH 2..2.
    s.write_all(&single_fragment(&raw_call(2, 3, 0, &())).unwrap())
        .await
        .unwrap();
    let reply = read_record(&mut s).await;
    assert_eq!(
        reply,
        [0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2]
    );

    // A peer that stops mid-record holds up only its own connection.
    let mut stalled = TcpStream::connect(p.tcp).await.unwrap();
    stalled.write_all(&[0x80, 0, 1, 0, 1, 2, 3]).await.unwrap();
    let client = Client::connect_tcp(p.tcp).await.unwrap();
    let sum: i32 =
        tokio::time::timeout(Duration::from_secs(5), client.call(&V2, 2, &(&1i32, &2i32)))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(sum, 3);

    // A fragment over the maximum (1 MiB here) closes the connection without reading it.
    let mut big = TcpStream::connect(p.tcp).await.unwrap();
    big.write_all(&[0x80, 0x10, 0, 1]).await.unwrap();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(5), big.read(&mut buf))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(n, 0);

    // Garbage that is no rpc_msg gets no reply; the connection goes on.
    s.write_all(&single_fragment(&[1, 2, 3]).unwrap())
        .await
        .unwrap();
    s.write_all(&single_fragment(&raw_call(3, RPC_VERSION, 0, &())).unwrap())
        .await
        .unwrap();
    let reply = read_record(&mut s).await;
    assert_eq!(&reply[..4], [0, 0, 0, 3]);
    drop(stalled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_are_decoded_from_the_received_record_without_a_copy() {
    let p = start().await;
    let (read, write) = TcpStream::connect(p.tcp).await.unwrap().into_split();
    let (read, reads) = Landed::new(read);
    let client = Client::over_halves(read, write, &Options::default());
    // An NFS READ's worth of data, echoed back: the reply record ends with it.
    let data = opaque(256 * 1024);
    let back: Opaque = client.call(&V2, 1, &data).await.unwrap();
    assert_eq!(back, data);
    // The reply's last bytes are the data's last bytes. The last read put them in the reader's
    // buffer, which the record and everything decoded from it share; a copy would have
    // put them in memory allocated after that read, while the buffer was still alive.
    let last_byte = &back.as_slice()[back.len() - 1];
    assert!(
        reads.last_read_wrote(last_byte),
        "the data's last byte is at {last_byte:p}, the last read wrote {:#x?}",
        reads.last()
    );
}

#[tokio::test]
async fn arguments_are_decoded_from_the_received_record_without_a_copy() {
    let server = Server::builder()
        .program(Echo {
            info: &V2,
            calls: Arc::default(),
        })
        .build();
    let record = Bytes::from(raw_call(9, RPC_VERSION, 6, &opaque(1000)));
    let reply = server.handle(&record, None, Protocol::Tcp).await.unwrap();
    // The results are the address of the argument's data, as procedure 6 decoded it.
    let tail: [u8; 8] = reply[reply.len() - 8..].try_into().unwrap();
    let address = u64::from_be_bytes(tail) as usize;
    let args = record.as_ptr() as usize + record.len() - 1000;
    assert_eq!(address, args, "record at {:#x?}", record.as_ptr_range());
}

/// Calls can be spawned: their futures are `Send` whatever the arguments' lifetimes.
#[test]
fn call_futures_are_send() {
    fn send<T: Send>(_: T) {}
    let _ = |client: Client| {
        send(async move {
            let (a, b) = (1i32, 2i32);
            client.call::<_, i32>(&V2, 2, &(&a, &b)).await
        })
    };
}

/// Arguments whose encoding writes `len` bytes and then fails, or panics, or (neither) says
/// it is `claimed` bytes long whatever it writes.
#[derive(Clone)]
struct Broken {
    len: usize,
    claimed: usize,
    end: Ending,
}

#[derive(Clone, Copy, PartialEq)]
enum Ending {
    Fail,
    Panic,
    Finish,
}

impl Encode for Broken {
    fn encoded_len(&self) -> usize {
        self.claimed
    }

    fn encode(
        &self,
        out: &mut xdrgen_runtime::xdr::Encoder,
    ) -> Result<(), xdrgen_runtime::xdr::Error> {
        let bytes = vec![0u8; self.len];
        Opaque::<{ u32::MAX }>::new(bytes)?.encode(out)?;
        match self.end {
            Ending::Fail => Err(xdrgen_runtime::xdr::Error::custom("broken")),
            Ending::Panic => panic!("a broken Encode impl"),
            Ending::Finish => Ok(()),
        }
    }
}

/// Calls echo (procedure 1) with `args` in a task of its own, which may panic.
async fn echo_in_task(client: &Client, args: Broken) -> Option<Result<Opaque, Error>> {
    let client = client.clone();
    tokio::spawn(async move { client.call(&V2, 1, &args).await })
        .await
        .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arguments_that_fail_or_panic_to_encode_leave_no_bytes_on_the_wire() {
    let p = start().await;
    let client = small_fragments(&p).await;
    // Small calls (encoded straight into the writer's queue) and large ones (own buffers).
    for len in [8i32, 900, 40_000] {
        for end in [Ending::Fail, Ending::Panic] {
            let args = Broken {
                len: len as usize,
                claimed: len as usize + 4,
                end,
            };
            match echo_in_task(&client, args).await {
                None => assert!(end == Ending::Panic),
                Some(r) => assert!(matches!(r, Err(Error::Arguments(_))), "{r:?}"),
            }
            let sum: i32 =
                tokio::time::timeout(Duration::from_secs(5), client.call(&V2, 2, &(&len, &1i32)))
                    .await
                    .expect("the connection still answers")
                    .unwrap();
            assert_eq!(sum, len + 1);
        }
    }
    // A record's mark is the length encoded, whatever `encoded_len` said.
    for (len, claimed) in [(100, 4), (100, 400), (2_000, 4)] {
        let args = Broken {
            len,
            claimed,
            end: Ending::Finish,
        };
        let r = echo_in_task(&client, args).await.unwrap();
        if len + 40 > 1000 && claimed < 1000 {
            // Encoded in the queue as one fragment, over the largest fragment: refused.
            assert!(matches!(r, Err(Error::Arguments(_))), "{r:?}");
        } else {
            assert_eq!(r.unwrap().len(), len);
        }
    }
    let sum: i32 = client.call(&V2, 2, &(&2i32, &3i32)).await.unwrap();
    assert_eq!(sum, 5);
}

/// A write half that fails every write, or panics.
struct BadWriter {
    panic: bool,
}

impl tokio::io::AsyncWrite for BadWriter {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        _: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        if self.panic {
            panic!("a broken writer");
        }
        std::task::Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_that_fails_or_panics_fails_the_calls_with_its_cause() {
    for panic in [false, true] {
        // The read half stays open and silent: only the writer can end the connection.
        let (read, _peer) = tokio::io::duplex(64);
        let client = Client::over_halves(read, BadWriter { panic }, &Options::default());
        let call = client.call::<_, i32>(&V2, 2, &(&1i32, &2i32));
        let err = tokio::time::timeout(Duration::from_secs(5), call)
            .await
            .expect("the call fails instead of waiting")
            .unwrap_err();
        match (panic, &err) {
            (false, Error::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe),
            (true, Error::Closed(why)) => assert!(why.contains("writer stopped"), "{why}"),
            _ => panic!("panic: {panic}: {err}"),
        }
        // Later calls fail at once with the same cause.
        let again = client.call::<_, i32>(&V2, 2, &(&1i32, &2i32)).await;
        assert_eq!(again.unwrap_err().to_string(), err.to_string());
    }
}
