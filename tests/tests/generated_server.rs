//! The server generated for `libvirt_style.x` (`DemoServer`, `DemoDispatcher`) on the runtime's
//! `libvirt::server`, driven by the generated `DemoClient` and by raw packets: answers,
//! libvirt's errors (not supported, unknown procedure or program, undecodable arguments,
//! access denied), high-priority calls beside slow ones, events, keepalive, and streams both
//! ways (end-of-stream handshakes, holes, aborts from either side, errors mid-stream).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::{mpsc, Semaphore};
use xdrgen_runtime::codegen::libvirt::server::{
    Connection, Context, Limits, Peer, ReceiveData, SendData, Server,
};
use xdrgen_runtime::codegen::libvirt::{
    encode_packet, Chunk, Client, Error, Header, MessageType, Options, RemoteError, Status,
};
use xdrgen_runtime::codegen::XdrString;
use xdrgen_tests::fixtures::libvirt_style::*;

/// A demo server: one machine `vm1`; `lookup` of `slow` waits for the test's gate.
/// `screenshot` streams [`picture`] for screen 0, fails after some data for screen 1, streams
/// until the client aborts for screen 2 and waits for `stream_gate` before finishing for
/// screen 3; `upload` keeps what it receives in `uploads` (failing after the first chunk when
/// the offset is 666, reading only once `stream_gate` opens when it is 777), and the end of every stream body in `stream_ends`.
struct Demo {
    entered: AtomicUsize,
    gate: Semaphore,
    stream_gate: Arc<Semaphore>,
    connections: Mutex<Vec<Connection>>,
    uploads: mpsc::UnboundedSender<Vec<u8>>,
    uploaded: tokio::sync::Mutex<mpsc::UnboundedReceiver<Vec<u8>>>,
    ends: mpsc::UnboundedSender<Result<(), RemoteError>>,
    stream_ends: tokio::sync::Mutex<mpsc::UnboundedReceiver<Result<(), RemoteError>>>,
}

impl Default for Demo {
    fn default() -> Self {
        let (uploads, uploaded) = mpsc::unbounded_channel();
        let (ends, stream_ends) = mpsc::unbounded_channel();
        Demo {
            entered: AtomicUsize::new(0),
            gate: Semaphore::new(0),
            stream_gate: Arc::new(Semaphore::new(0)),
            connections: Mutex::new(Vec::new()),
            uploads,
            uploaded: tokio::sync::Mutex::new(uploaded),
            ends,
            stream_ends: tokio::sync::Mutex::new(stream_ends),
        }
    }
}

impl Demo {
    /// How the next stream body ended.
    async fn stream_end(&self) -> Result<(), RemoteError> {
        let mut ends = self.stream_ends.lock().await;
        tokio::time::timeout(Duration::from_secs(10), ends.recv())
            .await
            .expect("the stream body ends")
            .expect("the demo is alive")
    }

    /// The next complete upload.
    async fn upload(&self) -> Vec<u8> {
        let mut uploaded = self.uploaded.lock().await;
        tokio::time::timeout(Duration::from_secs(10), uploaded.recv())
            .await
            .expect("the upload arrives")
            .expect("the demo is alive")
    }
}

/// The bytes `screenshot` serves: 1 MiB and a bit, not a multiple of the packet size.
fn picture() -> Bytes {
    (0..(1 << 20) + 12345)
        .map(|i: u32| (i % 251) as u8)
        .collect::<Vec<u8>>()
        .into()
}

fn failed(detail: &str) -> RemoteError {
    RemoteError::new(9, 18, "operation failed: %s", detail)
}

fn machine(name: &str) -> DemoNonnullMachine {
    DemoNonnullMachine {
        name: XdrString::try_from(name).expect("fits"),
        uuid: [7; 16],
        id: 3,
    }
}

impl DemoServer for Demo {
    async fn open(&self, cx: &Context, _args: DemoOpenArgs) -> Result<(), RemoteError> {
        self.connections
            .lock()
            .unwrap()
            .push(cx.connection().clone());
        cx.connection().set_state(String::from("opened"));
        Ok(())
    }

    async fn get_version(&self, cx: &Context) -> Result<DemoGetVersionRet, RemoteError> {
        assert!(cx.procedure().high_priority);
        let opened = cx.connection().state::<String>().is_some();
        Ok(DemoGetVersionRet {
            lib_version: if opened { 9_000_000 } else { 1 },
        })
    }

    async fn lookup(
        &self,
        _cx: &Context,
        args: DemoLookupArgs,
    ) -> Result<DemoLookupRet, RemoteError> {
        self.entered.fetch_add(1, Ordering::SeqCst);
        match &*args.name {
            "vm1" => Ok(DemoLookupRet {
                machine: machine("vm1"),
            }),
            "slow" => {
                let _pass = self.gate.acquire().await.expect("gate open");
                Ok(DemoLookupRet {
                    machine: machine("slow"),
                })
            }
            "panic" => panic!("a handler bug"),
            _ => Err(RemoteError::new(42, 10, "Domain not found", "")),
        }
    }

    /// Typedef'd payloads: a name's UUID is 16 bytes of its length; no name is an error.
    async fn uuid_of(
        &self,
        _cx: &Context,
        args: DemoUuidOfArgs,
    ) -> Result<DemoUuidOfRet, RemoteError> {
        match args {
            Some(name) => Ok([name.len() as u8; 16]),
            None => Err(failed("no name")),
        }
    }

    async fn set_params(&self, _cx: &Context, _args: DemoSetParamsArgs) -> Result<(), RemoteError> {
        self.entered.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn screenshot(
        &self,
        _cx: &Context,
        args: DemoScreenshotArgs,
    ) -> Result<(DemoScreenshotRet, SendData), RemoteError> {
        let ends = self.ends.clone();
        let gate = self.stream_gate.clone();
        let screen = args.screen;
        if screen > 3 {
            return Err(failed("no such screen"));
        }
        let body = SendData::new(move |mut sink| async move {
            let result = async {
                match screen {
                    0 => {
                        // In pieces, one of them larger than a packet.
                        let mut data = picture();
                        while !data.is_empty() {
                            let n = data.len().min(300_000);
                            sink.send(data.split_to(n)).await?;
                        }
                        sink.finish().await
                    }
                    1 => {
                        sink.send(Bytes::from_static(b"partial")).await?;
                        Err(failed("the screen went away"))
                    }
                    2 => loop {
                        sink.send(Bytes::from_static(&[1; 4096])).await?;
                        tokio::task::yield_now().await;
                    },
                    _ => {
                        sink.send(Bytes::from_static(b"first")).await?;
                        let _pass = gate.acquire().await.expect("gate open");
                        sink.send(Bytes::from_static(b"second")).await?;
                        sink.finish().await
                    }
                }
            }
            .await;
            let _ = ends.send(result.clone());
            result
        });
        let mime = XdrString::try_from("image/png").expect("fits");
        Ok((DemoScreenshotRet { mime: Some(mime) }, body))
    }

    async fn upload(
        &self,
        _cx: &Context,
        args: DemoUploadArgs,
    ) -> Result<(DemoUploadRet, ReceiveData), RemoteError> {
        let (uploads, ends) = (self.uploads.clone(), self.ends.clone());
        let fail = args.offset == 666;
        let gate = (args.offset == 777).then(|| self.stream_gate.clone());
        let body = ReceiveData::new(move |mut source| async move {
            let result = async {
                if let Some(gate) = gate {
                    let _pass = gate.acquire().await.expect("gate open");
                }
                let mut data = Vec::new();
                while let Some(chunk) = source.next_chunk().await {
                    match chunk? {
                        Chunk::Data(d) => data.extend_from_slice(&d),
                        Chunk::Hole(n) => data.resize(data.len() + n as usize, 0),
                    }
                    if fail {
                        return Err(failed("disk full"));
                    }
                    // A slow disk: the stream's queue fills and the reader waits.
                    tokio::task::yield_now().await;
                }
                let _ = uploads.send(data);
                Ok(())
            }
            .await;
            let _ = ends.send(result.clone());
            result
        })
        // The fixture's DEMO_UPLOAD_SPARSE is 1.
        .sparse(args.flags & 1 != 0);
        Ok((
            DemoUploadRet {
                accepted: args.offset,
            },
            body,
        ))
    }
}

fn limits() -> Limits {
    Limits {
        max_requests: 2,
        // Small, so that uploads fill it and the reader waits.
        max_stream_queue: 256 << 10,
        ..Limits::default()
    }
}

/// A server of `demo` that denies `@acl: machine:write` procedures, uploads aside.
fn server(demo: Arc<Demo>) -> Server {
    Server::builder()
        .program(DemoDispatcher::from_arc(demo))
        .access(|cx| {
            // Uploads (also `machine:write`) are allowed.
            if cx.procedure().acl.contains(&"machine:write") && !cx.procedure().has_stream() {
                Err(Box::new(RemoteError::access_denied(
                    "'machine:write' denied access",
                )))
            } else {
                Ok(())
            }
        })
        .limits(limits())
        .build()
}

/// A generated client connected to `server` through an in-memory pipe.
fn connect(server: &Server) -> DemoClient {
    let (ours, theirs) = tokio::io::duplex(1 << 16);
    let (r, w) = tokio::io::split(theirs);
    assert!(server.serve_connection(r, w, Peer::Other));
    let (r, w) = tokio::io::split(ours);
    DemoClient::new(Client::new(r, w, Options::default()))
}

fn remote(e: Error) -> RemoteError {
    e.remote()
        .cloned()
        .unwrap_or_else(|| panic!("not a remote error: {e:?}"))
}

fn lookup_args(name: &str) -> DemoLookupArgs {
    DemoLookupArgs {
        name: XdrString::try_from(name).expect("fits"),
    }
}

#[tokio::test]
async fn calls_are_answered_and_errors_are_libvirts() {
    let demo = Arc::new(Demo::default());
    let server = server(demo.clone());
    let client = connect(&server);
    assert_eq!(client.get_version().await.unwrap().lib_version, 1);
    client
        .open(&DemoOpenArgs {
            name: None,
            flags: 0,
        })
        .await
        .unwrap();
    // connect-open's state is the connection's.
    assert_eq!(client.get_version().await.unwrap().lib_version, 9_000_000);
    let ret = client.lookup(&lookup_args("vm1")).await.unwrap();
    assert_eq!(ret.machine, machine("vm1"));
    let e = remote(client.lookup(&lookup_args("nope")).await.unwrap_err());
    assert_eq!((e.code, e.domain), (42, 10));

    // Not implemented: libvirt's "not supported".
    let e = remote(client.list().await.unwrap_err());
    assert_eq!((e.code, e.domain), (RemoteError::NO_SUPPORT, 0));
    assert_eq!(
        e.to_string(),
        "this function is not supported by the connection driver: DEMO_PROC_LIST"
    );
    // A handler that panics: an internal error, and the connection goes on.
    let e = remote(client.lookup(&lookup_args("panic")).await.unwrap_err());
    assert_eq!(e.code, RemoteError::INTERNAL_ERROR);
    client.lookup(&lookup_args("vm1")).await.unwrap();

    // A procedure whose argument is a typedef of optional data and whose result one of fixed
    // opaque data.
    let name = XdrString::try_from("seven").expect("fits");
    assert_eq!(client.uuid_of(&Some(name)).await.unwrap(), [5; 16]);
    let e = remote(client.uuid_of(&None).await.unwrap_err());
    assert_eq!(e, failed("no name"));
}

#[tokio::test]
async fn access_denied_calls_never_enter_the_method() {
    let demo = Arc::new(Demo::default());
    let server = server(demo.clone());
    let client = connect(&server);
    let args = DemoSetParamsArgs {
        machine: machine("vm1"),
        params: Default::default(),
        flags: 0,
    };
    let e = remote(client.set_params(&args).await.unwrap_err());
    assert_eq!(
        (e.code, e.domain),
        (RemoteError::ACCESS_DENIED, RemoteError::FROM_ACCESS)
    );
    assert_eq!(
        e.to_string(),
        "access denied: 'machine:write' denied access"
    );
    assert_eq!(demo.entered.load(Ordering::SeqCst), 0);
    client.lookup(&lookup_args("vm1")).await.unwrap();
    assert_eq!(demo.entered.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn high_priority_calls_pass_slow_ones() {
    let demo = Arc::new(Demo::default());
    let server = server(demo.clone());
    let client = connect(&server);
    // Two slow calls run (max_requests = 2) and two more wait behind them.
    let slow: Vec<_> = (0..4)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.lookup(&lookup_args("slow")).await })
        })
        .collect();
    while demo.entered.load(Ordering::SeqCst) < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let version = tokio::time::timeout(Duration::from_secs(5), client.get_version())
        .await
        .expect("a high-priority call is not queued behind slow ones")
        .unwrap();
    assert_eq!(version.lib_version, 1);
    assert_eq!(demo.entered.load(Ordering::SeqCst), 2, "the limit holds");
    demo.gate.add_permits(4);
    for s in slow {
        assert_eq!(s.await.unwrap().unwrap().machine, machine("slow"));
    }
}

#[tokio::test]
async fn events_reach_the_clients_events_stream() {
    let demo = Arc::new(Demo::default());
    let server = server(demo.clone());
    let client = connect(&server);
    let mut events = client.events(8);
    client
        .open(&DemoOpenArgs {
            name: None,
            flags: 0,
        })
        .await
        .unwrap();
    let conn = demo.connections.lock().unwrap()[0].clone();
    let msg = DemoStateEventMsg {
        callback_id: 4,
        machine: Some(machine("vm1")),
        state: 1,
        reason: 2,
    };
    conn.send_event(&DEMO_PROGRAM_INFO, 8, &msg).unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .expect("the event arrives")
        .expect("the stream is open")
        .unwrap();
    assert_eq!(got, DemoEvent::StateEvent(msg));
}

/// The client's end of a raw connection to a server.
struct Raw(DuplexStream);

impl Raw {
    fn new(server: &Server) -> Raw {
        let (ours, theirs) = tokio::io::duplex(1 << 16);
        let (r, w) = tokio::io::split(theirs);
        assert!(server.serve_connection(r, w, Peer::Other));
        Raw(ours)
    }

    async fn send(&mut self, header: Header, body: &[u8]) {
        let mut packet = encode_packet(&header, &(), 1 << 20).unwrap().to_vec();
        packet.extend_from_slice(body);
        let len = packet.len() as u32;
        packet[..4].copy_from_slice(&len.to_be_bytes());
        self.0.write_all(&packet).await.unwrap();
    }

    async fn read(&mut self) -> (Header, Vec<u8>) {
        let read = async {
            let mut len = [0u8; 4];
            self.0.read_exact(&mut len).await.unwrap();
            let mut rest = vec![0u8; u32::from_be_bytes(len) as usize - 4];
            self.0.read_exact(&mut rest).await.unwrap();
            (Header::decode(&rest).unwrap(), rest[24..].to_vec())
        };
        tokio::time::timeout(Duration::from_secs(5), read)
            .await
            .expect("an answer")
    }

    /// Sends a call and returns the error reply it gets.
    async fn error_of(&mut self, call: Header, body: &[u8]) -> RemoteError {
        self.send(call, body).await;
        let (h, body) = self.read().await;
        assert_eq!(
            (h.kind, h.status, h.serial, h.procedure),
            (
                MessageType::Reply,
                Status::Error,
                call.serial,
                call.procedure
            )
        );
        RemoteError::decode(&body).unwrap()
    }
}

fn call(procedure: u32, serial: u32) -> Header {
    Header {
        program: DEMO_PROGRAM,
        version: DEMO_PROTOCOL_VERSION,
        procedure,
        kind: MessageType::Call,
        serial,
        status: Status::Ok,
    }
}

#[tokio::test]
async fn bad_calls_get_error_replies_and_the_connection_goes_on() {
    let server = server(Arc::new(Demo::default()));
    let mut raw = Raw::new(&server);
    let e = raw.error_of(call(99, 1), &[]).await;
    assert_eq!(
        (e.code, e.domain),
        (RemoteError::RPC, RemoteError::FROM_RPC)
    );
    assert_eq!(e.to_string(), "unknown procedure: 99");
    // An event procedure has no server side.
    let e = raw.error_of(call(8, 2), &[]).await;
    assert_eq!(e.to_string(), "unknown procedure: 8");
    let e = raw
        .error_of(
            Header {
                program: 0x1234,
                version: 3,
                ..call(1, 3)
            },
            &[],
        )
        .await;
    assert_eq!(e.to_string(), "Cannot find program 4660 version 3");
    let e = raw
        .error_of(
            Header {
                status: Status::Continue,
                ..call(3, 4)
            },
            &[],
        )
        .await;
    assert_eq!(e.to_string(), "Unexpected message status 2");
    // lookup's name claims 1000 bytes of a 64-byte string.
    let e = raw.error_of(call(4, 5), &[0, 0, 3, 0xe8]).await;
    assert_eq!(e.code, RemoteError::RPC);
    assert!(
        e.to_string()
            .starts_with("Unable to decode message payload of DEMO_PROC_LOOKUP"),
        "{e}"
    );
    // Trailing bytes after the arguments do not decode either.
    let e = raw.error_of(call(3, 6), &[0, 0, 0, 0]).await;
    assert!(e.to_string().starts_with("Unable to decode"), "{e}");
    // The connection is still served after all of these.
    raw.send(call(3, 8), &[]).await;
    let (h, body) = raw.read().await;
    assert_eq!((h.serial, h.status), (8, Status::Ok));
    assert_eq!(body, [0, 0, 0, 0, 0, 0, 0, 1]);
}

#[tokio::test]
async fn keepalive_pings_get_pongs() {
    let server = server(Arc::new(Demo::default()));
    let mut raw = Raw::new(&server);
    let ping = Header {
        program: 0x6b65_6570,
        version: 1,
        procedure: 1,
        kind: MessageType::Message,
        serial: 0,
        status: Status::Ok,
    };
    raw.send(ping, &[]).await;
    let (h, body) = raw.read().await;
    assert_eq!(
        h,
        Header {
            procedure: 2,
            ..ping
        }
    );
    assert!(body.is_empty());
}

#[tokio::test]
async fn unix_socket_and_graceful_shutdown() {
    let dir = std::env::temp_dir().join(format!("xdrgen-server-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("sock");
    let _ = std::fs::remove_file(&path);
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let server = server(Arc::new(Demo::default()));
    let accept = tokio::spawn({
        let server = server.clone();
        async move { server.serve_unix(listener).await }
    });
    let (r, w) = tokio::net::UnixStream::connect(&path)
        .await
        .unwrap()
        .into_split();
    let client = DemoClient::new(Client::new(r, w, Options::default()));
    assert_eq!(client.get_version().await.unwrap().lib_version, 1);
    assert_eq!(server.connections(), 1);
    server.shutdown();
    accept.await.unwrap().unwrap();
    tokio::time::timeout(Duration::from_secs(5), server.closed())
        .await
        .expect("connections close after shutdown");
    assert!(client.get_version().await.is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

fn screenshot_args(screen: u32) -> DemoScreenshotArgs {
    DemoScreenshotArgs {
        machine: machine("vm1"),
        screen,
    }
}

fn upload_args(offset: u64, flags: u32) -> DemoUploadArgs {
    DemoUploadArgs {
        machine: machine("vm1"),
        offset,
        flags,
    }
}

const STREAM_TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn a_read_stream_arrives_intact_and_finishes() {
    let demo = Arc::new(Demo::default());
    let server = server(demo.clone());
    let client = connect(&server);
    for _ in 0..2 {
        let (ret, stream) = client.screenshot(&screenshot_args(0)).await.unwrap();
        assert_eq!(ret.mime.as_deref(), Some("image/png"));
        let data = tokio::time::timeout(STREAM_TIMEOUT, stream.read_all(4 << 20))
            .await
            .expect("the stream ends")
            .unwrap();
        assert!(data == picture(), "the data differs");
        // The sink's finish saw the client's STREAM OK.
        demo.stream_end().await.unwrap();
    }
    // A failing call opens no stream; the connection goes on.
    let e = remote(client.screenshot(&screenshot_args(9)).await.unwrap_err());
    assert_eq!(e.to_string(), "operation failed: no such screen");
    client.lookup(&lookup_args("vm1")).await.unwrap();
}

#[tokio::test]
async fn read_stream_errors_and_aborts() {
    let demo = Arc::new(Demo::default());
    let server = server(demo.clone());
    let client = connect(&server);
    // The server fails mid-stream: its libvirt error reaches the client's read.
    let (_, mut stream) = client.screenshot(&screenshot_args(1)).await.unwrap();
    let first = stream.next_chunk().await.unwrap().unwrap();
    assert_eq!(first, Chunk::Data(Bytes::from_static(b"partial")));
    let e = remote(stream.next_chunk().await.unwrap().unwrap_err());
    assert_eq!((e.code, e.domain), (9, 18));
    assert_eq!(e.to_string(), "operation failed: the screen went away");
    assert!(demo.stream_end().await.is_err());
    drop(stream);
    client.lookup(&lookup_args("vm1")).await.unwrap();

    // The client aborts an endless stream: the server's sink fails with "aborted".
    let (_, mut stream) = client.screenshot(&screenshot_args(2)).await.unwrap();
    for _ in 0..3 {
        stream.next_chunk().await.unwrap().unwrap();
    }
    stream.abort().await.unwrap();
    let e = demo.stream_end().await.unwrap_err();
    assert_eq!(e.code, 78, "{e}");
    client.lookup(&lookup_args("vm1")).await.unwrap();
}

#[tokio::test]
async fn calls_are_answered_while_a_stream_is_open() {
    let demo = Arc::new(Demo::default());
    let server = server(demo.clone());
    let client = connect(&server);
    let (_, mut stream) = client.screenshot(&screenshot_args(3)).await.unwrap();
    assert_eq!(
        stream.next_chunk().await.unwrap().unwrap(),
        Chunk::Data(Bytes::from_static(b"first"))
    );
    // An upload beside it, and calls.
    let (_, mut upload) = client.upload(&upload_args(1, 0)).await.unwrap();
    upload.send(Bytes::from_static(b"beside")).await.unwrap();
    for _ in 0..5 {
        client.lookup(&lookup_args("vm1")).await.unwrap();
    }
    upload.finish().await.unwrap();
    assert_eq!(demo.upload().await, b"beside");
    demo.stream_gate.add_permits(1);
    assert_eq!(
        stream.next_chunk().await.unwrap().unwrap(),
        Chunk::Data(Bytes::from_static(b"second"))
    );
    assert!(stream.next_chunk().await.is_none());
    demo.stream_end().await.unwrap(); // the upload
    demo.stream_end().await.unwrap(); // the screenshot
}

#[tokio::test]
async fn a_sparse_upload_arrives_intact() {
    let demo = Arc::new(Demo::default());
    let server = server(demo.clone());
    let client = connect(&server);
    let part: Bytes = (0..3 << 20)
        .map(|i: u32| (i % 253) as u8)
        .collect::<Vec<u8>>()
        .into();
    let (ret, mut upload) = client.upload(&upload_args(42, 1)).await.unwrap();
    assert_eq!(ret.accepted, 42);
    let send = async {
        upload.send(part.clone()).await?;
        upload.send_hole(2 << 20).await?;
        upload.send(part.clone()).await?;
        upload.finish().await
    };
    tokio::time::timeout(STREAM_TIMEOUT, send)
        .await
        .expect("the upload ends")
        .unwrap();
    let got = demo.upload().await;
    let mut want = part.to_vec();
    want.resize(want.len() + (2 << 20), 0);
    want.extend_from_slice(&part);
    assert_eq!(got.len(), 8 << 20);
    assert!(got == want, "the data differs");
    demo.stream_end().await.unwrap();
    client.lookup(&lookup_args("vm1")).await.unwrap();
}

#[tokio::test]
async fn write_stream_aborts_errors_and_holes_on_plain_streams() {
    let demo = Arc::new(Demo::default());
    let server = server(demo.clone());
    let client = connect(&server);

    // The client aborts: the handler's source yields "aborted".
    let (_, mut upload) = client.upload(&upload_args(1, 1)).await.unwrap();
    upload.send(Bytes::from_static(b"some")).await.unwrap();
    upload.abort().await.unwrap();
    let e = demo.stream_end().await.unwrap_err();
    assert_eq!(e.code, 78, "{e}");
    client.lookup(&lookup_args("vm1")).await.unwrap();

    // The server fails mid-stream: the client's finish reports its error.
    let (_, mut upload) = client.upload(&upload_args(666, 0)).await.unwrap();
    upload.send(Bytes::from(vec![5; 1 << 20])).await.unwrap();
    let e = remote(upload.finish().await.unwrap_err());
    assert_eq!(e.to_string(), "operation failed: disk full");
    assert!(demo.stream_end().await.is_err());
    client.lookup(&lookup_args("vm1")).await.unwrap();

    // A hole on a stream that is not sparse: the stream fails, the connection goes on.
    let (_, mut upload) = client.upload(&upload_args(1, 0)).await.unwrap();
    upload.send(Bytes::from_static(b"data")).await.unwrap();
    let _ = upload.send_hole(10).await;
    let e = remote(upload.finish().await.unwrap_err());
    assert_eq!(
        (e.code, e.to_string().as_str()),
        (
            55,
            "Requested operation is not valid: Unexpected stream hole"
        )
    );
    assert_eq!(demo.stream_end().await.unwrap_err().code, 55);
    client.lookup(&lookup_args("vm1")).await.unwrap();
}

/// A STREAM packet header of the call `call`.
fn stream(call: Header, kind: MessageType, status: Status) -> Header {
    Header {
        kind,
        status,
        ..call
    }
}

#[tokio::test]
async fn streams_on_the_wire_are_libvirts() {
    let demo = Arc::new(Demo::default());
    let server = server(demo.clone());
    let mut raw = Raw::new(&server);

    // Read stream: the REPLY first, data packets of at most 262120 bytes, an empty CONTINUE
    // as the end; our STREAM OK is confirmed with the server's.
    let shot = call(7, 5);
    let packet = encode_packet(&shot, &screenshot_args(0), 1 << 20).unwrap();
    raw.0.write_all(&packet).await.unwrap();
    let (h, _) = raw.read().await;
    assert_eq!(
        (h.kind, h.status, h.serial),
        (MessageType::Reply, Status::Ok, 5)
    );
    let mut data = Vec::new();
    loop {
        let (h, body) = raw.read().await;
        assert_eq!(h, stream(shot, MessageType::Stream, Status::Continue));
        assert!(body.len() <= 262_120);
        if body.is_empty() {
            break;
        }
        data.extend_from_slice(&body);
    }
    assert!(data == picture(), "the data differs");
    raw.send(stream(shot, MessageType::Stream, Status::Ok), &[])
        .await;
    let (h, body) = raw.read().await;
    assert_eq!(h, stream(shot, MessageType::Stream, Status::Ok));
    assert!(body.is_empty());
    demo.stream_end().await.unwrap();

    // A packet for no stream is dropped without an answer.
    let nobody = stream(call(10, 99), MessageType::Stream, Status::Continue);
    raw.send(nobody, b"lost").await;

    // Write stream: data is not answered; the client's STREAM OK is confirmed.
    let up = call(10, 6);
    let packet = encode_packet(&up, &upload_args(1, 0), 1 << 20).unwrap();
    raw.0.write_all(&packet).await.unwrap();
    let (h, _) = raw.read().await;
    assert_eq!(
        (h.kind, h.status, h.serial),
        (MessageType::Reply, Status::Ok, 6)
    );
    raw.send(stream(up, MessageType::Stream, Status::Continue), b"abc")
        .await;
    raw.send(stream(up, MessageType::Stream, Status::Continue), b"def")
        .await;
    raw.send(stream(up, MessageType::Stream, Status::Ok), &[])
        .await;
    let (h, body) = raw.read().await;
    assert_eq!(h, stream(up, MessageType::Stream, Status::Ok));
    assert!(body.is_empty());
    assert_eq!(demo.upload().await, b"abcdef");
    demo.stream_end().await.unwrap();

    // An abort (STREAM ERROR, empty) is confirmed with STREAM OK.
    let up = call(10, 7);
    let packet = encode_packet(&up, &upload_args(1, 0), 1 << 20).unwrap();
    raw.0.write_all(&packet).await.unwrap();
    raw.read().await;
    raw.send(stream(up, MessageType::Stream, Status::Continue), b"x")
        .await;
    raw.send(stream(up, MessageType::Stream, Status::Error), &[])
        .await;
    let (h, body) = raw.read().await;
    assert_eq!(h, stream(up, MessageType::Stream, Status::Ok));
    assert!(body.is_empty());
    assert_eq!(demo.stream_end().await.unwrap_err().code, 78);

    // The connection goes on.
    let e = raw.error_of(call(9999, 8), &[]).await;
    assert_eq!(e.to_string(), "unknown procedure: 9999");
}

#[tokio::test]
async fn a_handler_that_does_not_read_pushes_back_on_the_client() {
    let demo = Arc::new(Demo::default());
    let server = server(demo.clone());
    let mut raw = Raw::new(&server);
    let up = call(10, 1);
    let packet = encode_packet(&up, &upload_args(777, 0), 1 << 20).unwrap();
    raw.0.write_all(&packet).await.unwrap();
    let (h, _) = raw.read().await;
    assert_eq!((h.kind, h.status), (MessageType::Reply, Status::Ok));
    // 4 MiB against a stream queue of 256 KiB and a 64 KiB pipe: the server stops reading.
    let chunk: Vec<u8> = (0..65536).map(|i: u32| (i % 241) as u8).collect();
    let (mut r, mut w) = tokio::io::split(raw.0);
    let writer = tokio::spawn(async move {
        for _ in 0..64 {
            let mut packet = encode_packet(
                &stream(up, MessageType::Stream, Status::Continue),
                &(),
                1 << 20,
            )
            .unwrap()
            .to_vec();
            packet.extend_from_slice(&chunk);
            let len = packet.len() as u32;
            packet[..4].copy_from_slice(&len.to_be_bytes());
            w.write_all(&packet).await.unwrap();
        }
        let end = encode_packet(&stream(up, MessageType::Stream, Status::Ok), &(), 1 << 20);
        w.write_all(&end.unwrap()).await.unwrap();
        w
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!writer.is_finished(), "the server read everything");
    demo.stream_gate.add_permits(1);
    let _w = tokio::time::timeout(STREAM_TIMEOUT, writer)
        .await
        .expect("the server reads again")
        .unwrap();
    let got = demo.upload().await;
    assert_eq!(got.len(), 64 << 16);
    assert!(got.chunks(65536).all(|c| c[..] == got[..65536]));
    let mut head = [0u8; 28];
    r.read_exact(&mut head).await.unwrap();
    let h = Header::decode(&head[4..]).unwrap();
    assert_eq!(h, stream(up, MessageType::Stream, Status::Ok));
    demo.stream_end().await.unwrap();
}

#[tokio::test]
async fn a_client_cannot_open_streams_without_bound() {
    let demo = Arc::new(Demo::default());
    let server = Server::builder()
        .program(DemoDispatcher::from_arc(demo.clone()))
        .limits(Limits {
            max_streams: 2,
            ..limits()
        })
        .build();
    let client = connect(&server);
    // Two endless streams stay open; a third stream call is refused, and calls go on.
    let (_, mut a) = client.screenshot(&screenshot_args(2)).await.unwrap();
    let (_, mut b) = client.screenshot(&screenshot_args(2)).await.unwrap();
    a.next_chunk().await.unwrap().unwrap();
    b.next_chunk().await.unwrap().unwrap();
    let e = remote(client.screenshot(&screenshot_args(2)).await.unwrap_err());
    assert_eq!(
        e.to_string(),
        "too many open streams on this connection (at most 2)"
    );
    client.lookup(&lookup_args("vm1")).await.unwrap();
    // Once one is aborted (and the server has let it go), a new one opens.
    a.abort().await.unwrap();
    demo.stream_end().await.unwrap_err();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match client.screenshot(&screenshot_args(2)).await {
            Ok((_, mut c)) => {
                c.next_chunk().await.unwrap().unwrap();
                break;
            }
            Err(e) => assert!(std::time::Instant::now() < deadline, "{e}"),
        }
        tokio::task::yield_now().await;
    }
}
