//! The server generated for `libvirt_style.x` (`DemoServer`, `DemoDispatcher`) on the runtime's
//! `libvirt::server`, driven by the generated `DemoClient` and by raw packets: answers,
//! libvirt's errors (not supported, unknown procedure or program, undecodable arguments,
//! access denied), high-priority calls beside slow ones, events, keepalive.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::Semaphore;
use xdrgen_runtime::codegen::libvirt::server::{Connection, Context, Limits, Peer, Server};
use xdrgen_runtime::codegen::libvirt::{
    encode_packet, Client, Error, Header, MessageType, Options, RemoteError, Status,
};
use xdrgen_runtime::codegen::XdrString;
use xdrgen_tests::fixtures::libvirt_style::*;

/// A demo server: one machine `vm1`; `lookup` of `slow` waits for the test's gate.
struct Demo {
    entered: AtomicUsize,
    gate: Semaphore,
    connections: Mutex<Vec<Connection>>,
}

impl Default for Demo {
    fn default() -> Self {
        Demo {
            entered: AtomicUsize::new(0),
            gate: Semaphore::new(0),
            connections: Mutex::new(Vec::new()),
        }
    }
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

    async fn set_params(&self, _cx: &Context, _args: DemoSetParamsArgs) -> Result<(), RemoteError> {
        self.entered.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn limits() -> Limits {
    Limits {
        max_requests: 2,
        ..Limits::default()
    }
}

/// A server of `demo` that denies `@acl: machine:write` procedures.
fn server(demo: Arc<Demo>) -> Server {
    Server::builder()
        .program(DemoDispatcher::from_arc(demo))
        .access(|cx| {
            if cx.procedure().acl.contains(&"machine:write") {
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
    // A stream procedure: not supported either (streams are not served yet).
    let args = DemoScreenshotArgs {
        machine: machine("vm1"),
        screen: 0,
    };
    let e = remote(client.screenshot(&args).await.unwrap_err());
    assert_eq!(e.code, RemoteError::NO_SUPPORT);
    // A handler that panics: an internal error, and the connection goes on.
    let e = remote(client.lookup(&lookup_args("panic")).await.unwrap_err());
    assert_eq!(e.code, RemoteError::INTERNAL_ERROR);
    client.lookup(&lookup_args("vm1")).await.unwrap();
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
    // A REPLY from a client is dropped without an answer; the next call is answered.
    raw.send(
        Header {
            kind: MessageType::Reply,
            ..call(3, 7)
        },
        &[],
    )
    .await;
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
