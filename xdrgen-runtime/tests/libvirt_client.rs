//! The libvirt client runtime against scripted servers of our own on an in-memory pipe:
//! overlapping calls, cancellation, deadlines, error replies, events, streams, keepalive, and
//! hostile peers. (The generated clients against a real libvirtd are tested in `tests/`.)
#![cfg(feature = "libvirt")]

use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, ReadHalf, WriteHalf};
use xdrgen_runtime::libvirt::{
    encode_packet, Chunk, Client, Error, Event, Header, Keepalive, MessageType, Options,
    RemoteError, Status,
};
use xdrgen_runtime::rpc::{ProcedureInfo, ProgramInfo};

static PROCS: [ProcedureInfo; 3] = [
    ProcedureInfo::new(1, "T_PROC_ECHO", "echo"),
    ProcedureInfo::new(2, "T_PROC_EVENT", "event"),
    ProcedureInfo::new(3, "T_PROC_STREAM", "stream"),
];
static PROG: ProgramInfo = ProgramInfo {
    name: "T_PROGRAM",
    number: 0x1234,
    version: 1,
    procedures: &PROCS,
};

/// The server's end of the pipe.
struct Peer {
    r: ReadHalf<DuplexStream>,
    w: WriteHalf<DuplexStream>,
}

impl Peer {
    async fn read(&mut self) -> Option<(Header, Vec<u8>)> {
        let mut len = [0u8; 4];
        self.r.read_exact(&mut len).await.ok()?;
        let len = u32::from_be_bytes(len) as usize;
        let mut rest = vec![0u8; len - 4];
        self.r.read_exact(&mut rest).await.ok()?;
        let h = Header::decode(&rest).unwrap();
        Some((h, rest[24..].to_vec()))
    }

    async fn send<T: xdrgen_runtime::xdr::Encode + ?Sized>(&mut self, h: Header, body: &T) {
        let p = encode_packet(&h, body, 1 << 26).unwrap();
        self.w.write_all(&p).await.unwrap();
    }

    async fn raw(&mut self, bytes: &[u8]) {
        self.w.write_all(bytes).await.unwrap();
    }

    async fn reply<T: xdrgen_runtime::xdr::Encode + ?Sized>(&mut self, call: Header, body: &T) {
        let h = Header {
            kind: MessageType::Reply,
            ..call
        };
        self.send(h, body).await;
    }
}

fn pair(options: Options) -> (Client, Peer) {
    pair_with_buffer(options, 1 << 20)
}

fn pair_with_buffer(options: Options, buffer: usize) -> (Client, Peer) {
    let (a, b) = tokio::io::duplex(buffer);
    let (ar, aw) = tokio::io::split(a);
    let (br, bw) = tokio::io::split(b);
    (Client::new(ar, aw, options), Peer { r: br, w: bw })
}

/// A server that answers every ECHO call with its argument plus one.
fn echo_server(mut peer: Peer) -> tokio::task::JoinHandle<Peer> {
    tokio::spawn(async move {
        while let Some((h, body)) = peer.read().await {
            if h.procedure != 1 {
                continue;
            }
            let v: u32 = xdrgen_runtime::xdr::from_bytes(&body).unwrap();
            peer.reply(h, &(v + 1)).await;
        }
        peer
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_calls_from_many_tasks_get_their_own_replies() {
    let (client, peer) = pair(Options::default());
    // Replies come back in reverse order of each batch of 8.
    tokio::spawn(async move {
        let mut peer = peer;
        let mut batch = Vec::new();
        while let Some((h, body)) = peer.read().await {
            batch.push((h, body));
            if batch.len() == 8 {
                for (h, body) in batch.drain(..).rev() {
                    let v: u32 = xdrgen_runtime::xdr::from_bytes(&body).unwrap();
                    peer.reply(h, &(v * 2)).await;
                }
            }
        }
    });
    let tasks: Vec<_> = (0..64u32)
        .map(|t| {
            let c = client.clone();
            tokio::spawn(async move {
                let r: u32 = c.call(&PROG, 1, &t).await.unwrap();
                assert_eq!(r, t * 2);
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(client.in_flight(), (0, 0));
}

#[tokio::test]
async fn dropped_calls_leave_nothing_behind_and_late_replies_are_discarded() {
    let (client, mut peer) = pair(Options::default());
    let mut calls = Vec::new();
    for i in 0..100u32 {
        let c = client.clone();
        calls.push(tokio::spawn(async move {
            let _: Result<u32, _> = c.call(&PROG, 1, &i).await;
        }));
    }
    let mut seen = Vec::new();
    for _ in 0..100 {
        seen.push(peer.read().await.unwrap().0);
    }
    assert_eq!(client.in_flight(), (100, 0));
    for c in &calls {
        c.abort();
    }
    for c in calls {
        let _ = c.await;
    }
    assert_eq!(client.in_flight(), (0, 0));
    for h in seen {
        peer.reply(h, &0u32).await;
    }
    let peer = echo_server(peer);
    let r: u32 = client.call(&PROG, 1, &41u32).await.unwrap();
    assert_eq!(r, 42);
    assert_eq!(client.unmatched_replies(), 100);
    drop(client);
    peer.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_deadline_fails_the_call_and_forgets_it() {
    let (client, mut peer) = pair(Options {
        call_timeout: Some(Duration::from_secs(3)),
        ..Options::default()
    });
    let e = client.call::<_, u32>(&PROG, 1, &1u32).await.unwrap_err();
    assert!(
        matches!(e, Error::Timeout(d) if d == Duration::from_secs(3)),
        "{e:?}"
    );
    assert_eq!(client.in_flight(), (0, 0));
    // A clone without a deadline waits for its reply.
    let (h, _) = peer.read().await.unwrap();
    let untimed = client.with_timeout(None);
    let call = tokio::spawn(async move { untimed.call::<_, u32>(&PROG, 1, &2u32).await });
    let (h2, _) = peer.read().await.unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    peer.reply(h, &7u32).await;
    peer.reply(h2, &8u32).await;
    assert_eq!(call.await.unwrap().unwrap(), 8);
}

#[tokio::test]
async fn error_replies_carry_libvirts_fields() {
    let (client, mut peer) = pair(Options::default());
    tokio::spawn(async move {
        let (h, _) = peer.read().await.unwrap();
        let err = RemoteError {
            code: 42,
            domain: 12,
            message: Some("Domain not found".into()),
            level: 2,
            str1: Some("Domain not found".into()),
            int1: -1,
            int2: -1,
            ..Default::default()
        };
        let h = Header {
            kind: MessageType::Reply,
            status: Status::Error,
            ..h
        };
        let p = encode_packet(&h, &(), 1 << 20).unwrap();
        let body = err.encode();
        let mut bytes = p.to_vec();
        bytes[..4].copy_from_slice(&((28 + body.len()) as u32).to_be_bytes());
        bytes.extend_from_slice(&body);
        peer.raw(&bytes).await;
        peer
    });
    let e = client.call::<_, u32>(&PROG, 1, &1u32).await.unwrap_err();
    let r = e.remote().expect("a libvirt error");
    assert_eq!((r.code, r.domain, r.level), (42, 12, 2));
    assert_eq!(e.to_string(), "Domain not found");
}

#[tokio::test]
async fn a_dead_connection_fails_every_pending_call_with_the_cause() {
    let (client, mut peer) = pair(Options::default());
    let calls: Vec<_> = (0..10u32)
        .map(|i| {
            let c = client.clone();
            tokio::spawn(async move { c.call::<_, u32>(&PROG, 1, &i).await })
        })
        .collect();
    for _ in 0..10 {
        peer.read().await.unwrap();
    }
    drop(peer);
    for c in calls {
        let e = c.await.unwrap().unwrap_err();
        assert!(
            e.to_string().contains("the peer closed the connection"),
            "{e}"
        );
    }
    let e = client.call::<_, u32>(&PROG, 1, &1u32).await.unwrap_err();
    assert!(matches!(e, Error::Closed(Some(_))), "{e:?}");
}

/// Starts a call, lets the peer misbehave, and returns what the call got.
async fn hostile(act: impl AsyncFnOnce(&mut Peer, Header)) -> Result<u32, Error> {
    let (client, mut peer) = pair(Options {
        max_packet: 1 << 16,
        call_timeout: Some(Duration::from_secs(5)),
        ..Options::default()
    });
    let c = client.clone();
    let call = tokio::spawn(async move { c.call::<_, u32>(&PROG, 1, &1u32).await });
    let (h, _) = peer.read().await.unwrap();
    act(&mut peer, h).await;
    let r = call.await.unwrap();
    assert_eq!(client.in_flight(), (0, 0));
    drop(peer);
    r
}

#[tokio::test]
async fn a_length_word_over_the_maximum_closes_the_connection() {
    let e = hostile(async |p, _| p.raw(&[0x7f, 0xff, 0xff, 0xff]).await)
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("packet of 2147483647 bytes is over the maximum of 65536 bytes"),
        "{e}"
    );
}

#[tokio::test]
async fn a_truncated_packet_then_eof_is_an_error() {
    let e = hostile(async |p, h| {
        let packet = encode_packet(
            &Header {
                kind: MessageType::Reply,
                ..h
            },
            &5u32,
            1 << 20,
        )
        .unwrap();
        p.raw(&packet[..30]).await;
        p.w.shutdown().await.unwrap();
    })
    .await
    .unwrap_err();
    assert!(e.to_string().contains("in the middle of a packet"), "{e}");
}

#[tokio::test]
async fn a_reply_with_an_unknown_serial_is_ignored() {
    let r = hostile(async |p, h| {
        p.reply(
            Header {
                serial: h.serial + 1000,
                ..h
            },
            &9u32,
        )
        .await;
        p.reply(h, &5u32).await;
    })
    .await;
    assert_eq!(r.unwrap(), 5);
}

#[tokio::test]
async fn a_reply_with_the_wrong_program_fails_that_call() {
    let e = hostile(async |p, h| p.reply(Header { program: 99, ..h }, &5u32).await)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("is for program 0x63"), "{e}");
}

#[tokio::test]
async fn garbage_closes_the_connection_cleanly() {
    let e = hostile(async |p, _| p.raw(&[0xde, 0xad, 0xbe, 0xef, 1, 2, 3]).await)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Closed(Some(_))), "{e:?}");
    let e = hostile(async |p, _| {
        // A plausible length, then a header with message type 77.
        let mut b = vec![0, 0, 0, 28];
        b.extend([0u8; 12]);
        b.extend(77u32.to_be_bytes());
        b.extend([0u8; 8]);
        p.raw(&b).await;
    })
    .await
    .unwrap_err();
    assert!(e.to_string().contains("unknown message type 77"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn keepalive_gives_up_on_a_silent_peer() {
    let (client, mut peer) = pair(Options::default());
    client.start_keepalive(Keepalive {
        interval: Duration::from_secs(5),
        count: 5,
    });
    let c = client.clone();
    let start = tokio::time::Instant::now();
    let call = tokio::spawn(async move { c.call::<_, u32>(&PROG, 1, &1u32).await });
    let mut pings = 0;
    // The peer reads everything (so PINGs go out) and answers nothing.
    let reader = tokio::spawn(async move {
        while let Some((h, _)) = peer.read().await {
            if h.program == 0x6b65_6570 {
                pings += 1;
            }
        }
        pings
    });
    let e = call.await.unwrap().unwrap_err();
    assert!(e.to_string().contains("no keepalive response"), "{e}");
    assert_eq!(start.elapsed(), Duration::from_secs(30));
    assert_eq!(reader.await.unwrap(), 5);
}

#[tokio::test]
async fn pings_are_answered() {
    let (_client, mut peer) = pair(Options::default());
    let ping = Header {
        program: 0x6b65_6570,
        version: 1,
        procedure: 1,
        kind: MessageType::Message,
        serial: 0,
        status: Status::Ok,
    };
    peer.send(ping, &()).await;
    let (h, body) = peer.read().await.unwrap();
    assert_eq!(
        (h.program, h.procedure, h.kind),
        (0x6b65_6570, 2, MessageType::Message)
    );
    assert!(body.is_empty());
}

#[derive(Debug, PartialEq)]
struct Ev(u32);

impl Event for Ev {
    const PROGRAM: &'static ProgramInfo = &PROG;
    fn decode_event(
        procedure: u32,
        body: &xdrgen_runtime::xdr::Bytes,
    ) -> Result<Option<Self>, xdrgen_runtime::xdr::Error> {
        Ok((procedure == 2)
            .then(|| xdrgen_runtime::xdr::from_shared(body))
            .transpose()?
            .map(Ev))
    }
}

#[tokio::test]
async fn events_are_delivered_in_order_and_a_full_queue_drops_without_blocking_replies() {
    let (client, mut peer) = pair(Options::default());
    let mut reader = client.events::<Ev>(16);
    let stuck = client.events::<Ev>(4);
    let c = client.clone();
    let call = tokio::spawn(async move { c.call::<_, u32>(&PROG, 1, &1u32).await });
    let (h, _) = peer.read().await.unwrap();
    let ev = Header {
        program: PROG.number,
        version: 1,
        procedure: 2,
        kind: MessageType::Message,
        serial: 1,
        status: Status::Ok,
    };
    for i in 0..10u32 {
        peer.send(ev, &i).await;
    }
    peer.reply(h, &3u32).await;
    assert_eq!(call.await.unwrap().unwrap(), 3);
    for i in 0..10u32 {
        assert_eq!(reader.recv().await.unwrap().unwrap(), Ev(i));
    }
    assert_eq!(reader.dropped(), 0);
    assert_eq!(stuck.dropped(), 6);
    assert_eq!(client.events_dropped(), 6);
}

#[tokio::test]
async fn read_stream_delivers_data_and_holes_then_finishes() {
    let (client, mut peer) = pair(Options::default());
    let server = tokio::spawn(async move {
        let (h, _) = peer.read().await.unwrap();
        peer.reply(h, &7u32).await;
        let st = |kind, status| Header { kind, status, ..h };
        let data = xdrgen_runtime::xdr::Opaque::<{ u32::MAX }>::new(b"abcd".to_vec()).unwrap();
        // Raw data, not XDR: send the opaque's bytes after its length word only.
        let p = encode_packet(&st(MessageType::Stream, Status::Continue), &data, 1 << 20).unwrap();
        let mut raw = p[..28].to_vec();
        raw[..4].copy_from_slice(&32u32.to_be_bytes());
        raw.extend_from_slice(b"abcd");
        peer.raw(&raw).await;
        let mut hole = 3i64.to_be_bytes().to_vec();
        hole.extend(0u32.to_be_bytes());
        let hole = xdrgen_runtime::xdr::Opaque::<{ u32::MAX }>::new(hole).unwrap();
        let mut raw = encode_packet(
            &st(MessageType::StreamHole, Status::Continue),
            &hole,
            1 << 20,
        )
        .unwrap()
        .to_vec();
        raw.drain(28..32);
        raw[..4].copy_from_slice(&40u32.to_be_bytes());
        peer.raw(&raw).await;
        peer.send(st(MessageType::Stream, Status::Continue), &())
            .await;
        let (fin, body) = peer.read().await.unwrap();
        assert_eq!(
            (fin.kind, fin.status, fin.serial),
            (MessageType::Stream, Status::Ok, h.serial)
        );
        assert!(body.is_empty());
        peer.send(st(MessageType::Stream, Status::Ok), &()).await;
        peer
    });
    let (ret, mut stream): (u32, _) = client.call_read_stream(&PROG, 3, &()).await.unwrap();
    assert_eq!(ret, 7);
    assert_eq!(
        stream.next_chunk().await.unwrap().unwrap(),
        Chunk::Data(Bytes::from_static(b"abcd"))
    );
    assert_eq!(stream.next_chunk().await.unwrap().unwrap(), Chunk::Hole(3));
    assert!(stream.next_chunk().await.is_none());
    server.await.unwrap();
    assert_eq!(client.in_flight(), (0, 0));
}

#[tokio::test]
async fn write_stream_sends_packets_and_waits_for_the_servers_end() {
    let (client, mut peer) = pair(Options::default());
    let server = tokio::spawn(async move {
        let (h, _) = peer.read().await.unwrap();
        peer.reply(h, &()).await;
        let mut got = Vec::new();
        let mut packets = 0;
        loop {
            let (p, body) = peer.read().await.unwrap();
            assert_eq!((p.serial, p.procedure), (h.serial, 3));
            match (p.kind, p.status) {
                (MessageType::Stream, Status::Continue) => {
                    packets += 1;
                    got.extend(body);
                }
                (MessageType::Stream, Status::Ok) => break,
                other => panic!("{other:?}"),
            }
        }
        peer.send(
            Header {
                kind: MessageType::Stream,
                status: Status::Ok,
                ..h
            },
            &(),
        )
        .await;
        (got, packets)
    });
    let (_, mut sink): ((), _) = client.call_write_stream(&PROG, 3, &()).await.unwrap();
    let data: Vec<u8> = (0..600_000u32).map(|i| i as u8).collect();
    sink.send(Bytes::from(data.clone())).await.unwrap();
    sink.finish().await.unwrap();
    let (got, packets) = server.await.unwrap();
    assert_eq!(got, data);
    assert_eq!(packets, 3, "262120-byte packets");
    assert_eq!(client.in_flight(), (0, 0));
}

#[tokio::test]
async fn write_stream_reports_the_servers_error() {
    let (client, mut peer) = pair(Options::default());
    tokio::spawn(async move {
        let (h, _) = peer.read().await.unwrap();
        peer.reply(h, &()).await;
        let err = RemoteError {
            code: 1,
            message: Some("disk full".into()),
            ..Default::default()
        };
        let head = Header {
            kind: MessageType::Stream,
            status: Status::Error,
            ..h
        };
        let body = err.encode();
        let mut raw = encode_packet(&head, &(), 1 << 20).unwrap().to_vec();
        raw[..4].copy_from_slice(&((28 + body.len()) as u32).to_be_bytes());
        raw.extend(body);
        peer.raw(&raw).await;
        while peer.read().await.is_some() {}
    });
    let (_, sink): ((), _) = client.call_write_stream(&PROG, 3, &()).await.unwrap();
    let e = sink.finish().await.unwrap_err();
    assert_eq!(e.to_string(), "disk full");
}

#[tokio::test]
async fn finishing_behind_a_full_queue_sends_all_data_then_one_end_of_stream() {
    use futures_sink::Sink;
    // A 4 KiB pipe that the server does not read yet: the writer's buffer and queue fill up.
    let (client, mut peer) = pair_with_buffer(Options::default(), 4096);
    let c = client.clone();
    let call = tokio::spawn(async move { c.call_write_stream::<_, ()>(&PROG, 3, &()).await });
    let (h, _) = peer.read().await.unwrap();
    peer.reply(h, &()).await;
    let ((), mut sink) = call.await.unwrap().unwrap();
    let mut sent = 0u32;
    let wait = Duration::from_millis(20);
    while tokio::time::timeout(wait, sink.send(Bytes::from_static(b"data")))
        .await
        .is_ok()
    {
        sent += 1;
    }
    // The end of stream cannot be queued yet: the first attempt stays pending.
    let close = std::future::poll_fn(|cx| std::pin::Pin::new(&mut sink).poll_close(cx));
    assert!(tokio::time::timeout(wait, close).await.is_err());
    let server = tokio::spawn(async move {
        let (mut data, mut ends) = (0u32, 0);
        loop {
            let Ok(Some((p, _))) =
                tokio::time::timeout(Duration::from_millis(300), peer.read()).await
            else {
                break;
            };
            match p.status {
                Status::Continue => data += 1,
                Status::Ok => {
                    ends += 1;
                    let end = Header {
                        kind: MessageType::Stream,
                        status: Status::Ok,
                        ..h
                    };
                    peer.send(end, &()).await;
                }
                Status::Error => panic!("abort"),
            }
        }
        (data, ends)
    });
    sink.finish().await.unwrap();
    let (data, ends) = server.await.unwrap();
    // Every data packet (the one whose send timed out included) and one end of stream.
    assert_eq!((data, ends), (sent + 1, 1));
}

#[tokio::test]
async fn an_unread_read_stream_never_stalls_the_connection() {
    let (client, mut peer) = pair(Options {
        stream_buffer: 64 << 10,
        ..Options::default()
    });
    let c = client.clone();
    let (ret, mut stream): (u32, _) = {
        let call = tokio::spawn(async move { c.call_read_stream(&PROG, 3, &()).await });
        let (h, _) = peer.read().await.unwrap();
        peer.reply(h, &1u32).await;
        // 40 packets of 4 KiB: 160 KiB, over the 64 KiB buffer, never read by the client.
        let head = Header {
            kind: MessageType::Stream,
            status: Status::Continue,
            ..h
        };
        let chunk = xdrgen_runtime::xdr::Opaque::<{ u32::MAX }>::new(vec![7; 4092]).unwrap();
        for _ in 0..40 {
            // The opaque's length word stands in as the first 4 data bytes: raw data anyway.
            peer.send(head, &chunk).await;
        }
        call.await.unwrap().unwrap()
    };
    assert_eq!(ret, 1);
    // Meanwhile another call is answered: the reader did not wait for the stream.
    let c = client.clone();
    let other = tokio::spawn(async move { c.call::<_, u32>(&PROG, 1, &5u32).await });
    let mut aborted = false;
    loop {
        let (h, body) = peer.read().await.unwrap();
        match (h.kind, h.status) {
            (MessageType::Stream, Status::Error) => aborted = true,
            (MessageType::Call, _) => {
                let v: u32 = xdrgen_runtime::xdr::from_bytes(&body).unwrap();
                peer.reply(h, &(v + 1)).await;
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(other.await.unwrap().unwrap(), 6);
    assert!(aborted, "the stream was aborted on the server");
    // The reader gets what fit, then the error.
    let mut got = 0;
    let e = loop {
        match stream.next_chunk().await {
            Some(Ok(Chunk::Data(d))) => got += d.len(),
            Some(Err(e)) => break e,
            other => panic!("{other:?}"),
        }
    };
    assert!(got <= 64 << 10 && got > 0, "{got}");
    assert!(
        e.to_string().contains("over the 65536-byte stream buffer"),
        "{e}"
    );
    drop(stream);
    assert_eq!(client.in_flight(), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_stops_reading_fails_every_call_through_keepalive() {
    // A 1 KiB pipe the peer never reads: the writer blocks, its queue fills, callers wait.
    let (client, peer) = pair_with_buffer(Options::default(), 1024);
    client.start_keepalive(Keepalive {
        interval: Duration::from_secs(5),
        count: 5,
    });
    // 4 KiB arguments: past the writer's 64 KiB buffer and 256-packet queue, callers wait to
    // queue their packet, not only for their reply.
    let calls: Vec<_> = (0..400u32)
        .map(|_| {
            let c = client.clone();
            let arg = xdrgen_runtime::xdr::Opaque::<{ u32::MAX }>::new(vec![1; 4096]).unwrap();
            tokio::spawn(async move { c.call::<_, u32>(&PROG, 1, &arg).await })
        })
        .collect();
    for c in calls {
        let e = tokio::time::timeout(Duration::from_secs(120), c)
            .await
            .expect("no call hangs")
            .unwrap()
            .unwrap_err();
        assert!(matches!(e, Error::Closed(Some(_))), "{e:?}");
    }
    assert_eq!(client.in_flight(), (0, 0));
    drop(peer);
}
