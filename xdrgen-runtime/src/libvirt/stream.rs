//! Data streams opened by `@readstream` and `@writestream` calls.
//!
//! Stream packets carry the serial, program and procedure of the call that opened the stream.
//! Data travels as STREAM packets with status CONTINUE whose payload is the raw bytes (never
//! XDR); holes of sparse streams as STREAM_HOLE packets (status CONTINUE) carrying a
//! `virNetStreamHole`. The server ends its data with an empty CONTINUE packet. The client ends
//! a stream (after the server's end, or after its own data) with STREAM status OK and no
//! payload, which the server confirms with the same. An abort is STREAM with status ERROR and
//! no payload; the server reports failures as STREAM ERROR with a `virNetMessageError`.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use futures_sink::Sink;

use super::conn::{Outgoing, StreamMsg, StreamRx};
use super::frame::raw_head;
use super::header::{Header, MessageType, Status, STREAM_PAYLOAD_MAX};
use super::{Client, Error};
use crate::mux::Outbox;
use crate::xdr::{Decoder, Encoder};

/// One piece of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk {
    /// Data bytes, a view of the received packet (not copied).
    Data(Bytes),
    /// A hole of this many bytes in a sparse stream (reads as zeros).
    Hole(u64),
}

/// The packet header of a stream packet of the call `call`.
fn stream_header(call: &Header, kind: MessageType, status: Status) -> Header {
    Header {
        kind,
        status,
        ..*call
    }
}

/// An empty STREAM packet with `status` (finish: OK; abort: ERROR).
fn control_packet(call: &Header, status: Status) -> Outgoing {
    Outgoing {
        head: raw_head(&stream_header(call, MessageType::Stream, status), 0),
        data: None,
    }
}

/// Reads a `virNetStreamHole` payload: the hole's length (flags are reserved).
fn hole_length(body: &[u8]) -> Result<u64, Error> {
    let mut d = Decoder::new(body);
    let length = d.get_i64().map_err(|e| e.at("length"))?;
    let _flags = d.get_u32().map_err(|e| e.at("flags"))?;
    d.finish()?;
    u64::try_from(length)
        .map_err(|_| Error::protocol(format!("stream hole of negative length {length}")))
}

/// A stream's pieces gathered into one buffer, holes as zeros, up to a limit: what `read_all`
/// does on both sides of a stream.
pub(crate) struct Collected {
    pub bytes: Vec<u8>,
    limit: usize,
}

impl Collected {
    pub fn new(limit: usize) -> Self {
        Collected {
            bytes: Vec::new(),
            limit,
        }
    }

    /// Adds a piece; `Err` (with the message to report) when it would pass the limit.
    pub fn push(&mut self, chunk: Chunk) -> Result<(), String> {
        let n = match &chunk {
            Chunk::Data(d) => d.len(),
            Chunk::Hole(n) => usize::try_from(*n).unwrap_or(usize::MAX),
        };
        if self.bytes.len().saturating_add(n) > self.limit {
            return Err(format!(
                "stream data exceeds the limit of {} bytes",
                self.limit
            ));
        }
        match chunk {
            Chunk::Data(d) => self.bytes.extend_from_slice(&d),
            Chunk::Hole(_) => self.bytes.resize(self.bytes.len() + n, 0),
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadState {
    Open,
    /// The server sent its end; ours is queued and its confirmation awaited.
    Finishing,
    Done,
}

/// The data a `@readstream` call receives: a [`Stream`] of [`Chunk`]s ending with `None` once
/// the server has finished and the end-of-stream handshake is done.
///
/// Data waits here until it is read, up to [`Options::stream_buffer`](super::Options) bytes; the
/// connection's reader never waits for it, so replies, events and keepalive go on while the
/// stream is read slowly. A stream whose reader falls further behind is aborted on the server
/// and yields an error. Dropping it before its end aborts the stream on the server.
#[derive(Debug)]
pub struct ReadStream {
    client: Client,
    call: Header,
    rx: StreamRx,
    state: ReadState,
}

impl ReadStream {
    pub(crate) fn new(client: Client, call: Header, rx: StreamRx) -> Self {
        ReadStream {
            client,
            call,
            rx,
            state: ReadState::Open,
        }
    }

    /// The next piece: data, a hole, an error, or `None` at the end.
    pub async fn next_chunk(&mut self) -> Option<Result<Chunk, Error>> {
        std::future::poll_fn(|cx| self.poll_chunk(cx)).await
    }

    /// Reads everything to the end, holes as zeros. Fails (and aborts the stream) once the
    /// data would exceed `limit` bytes.
    pub async fn read_all(mut self, limit: usize) -> Result<Vec<u8>, Error> {
        let mut out = Collected::new(limit);
        while let Some(chunk) = self.next_chunk().await {
            if let Err(over) = out.push(chunk?) {
                let _ = self.abort().await;
                return Err(Error::protocol(over));
            }
        }
        Ok(out.bytes)
    }

    /// Aborts the stream: the server stops sending and the rest of the data is discarded.
    pub async fn abort(mut self) -> Result<(), Error> {
        if self.state == ReadState::Done {
            return Ok(());
        }
        self.state = ReadState::Done;
        self.client
            .send(control_packet(&self.call, Status::Error))
            .await
    }

    fn done(&mut self) {
        self.state = ReadState::Done;
        self.client.forget_stream(self.call.serial);
    }

    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Chunk, Error>>> {
        loop {
            if self.state == ReadState::Done {
                return Poll::Ready(None);
            }
            let msg = ready!(self.rx.poll_recv(cx));
            match (self.state, msg) {
                (_, None) => {
                    self.done();
                    return Poll::Ready(Some(Err(self.client.closed_error())));
                }
                (_, Some(StreamMsg::Failed(e))) => {
                    self.done();
                    return Poll::Ready(Some(Err(e)));
                }
                (ReadState::Open, Some(StreamMsg::Data(d))) if !d.is_empty() => {
                    return Poll::Ready(Some(Ok(Chunk::Data(d))));
                }
                (ReadState::Open, Some(StreamMsg::Hole(h))) => {
                    return Poll::Ready(Some(hole_length(&h).map(Chunk::Hole)));
                }
                (ReadState::Open, Some(StreamMsg::Data(_))) => {
                    // An empty CONTINUE packet is the server's end of data: finish as
                    // virStreamFinish does, with our STREAM OK, which the server confirms.
                    self.state = ReadState::Finishing;
                    let client = self.client.clone();
                    let packet = control_packet(&self.call, Status::Ok);
                    tokio::spawn(async move { client.send(packet).await });
                }
                (_, Some(StreamMsg::End)) => {
                    self.done();
                    return Poll::Ready(None);
                }
                // Data after the end: the peer's mistake, ignored.
                (_, Some(_)) => {}
            }
        }
    }
}

impl Stream for ReadStream {
    type Item = Result<Chunk, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_chunk(cx)
    }
}

impl Drop for ReadStream {
    fn drop(&mut self) {
        if self.state != ReadState::Done {
            let client = self.client.clone();
            let packet = control_packet(&self.call, Status::Error);
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move { client.send(packet).await });
            }
        }
        self.client.forget_stream(self.call.serial);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WriteState {
    Open,
    /// Our STREAM OK is queued; waiting for the server's.
    Finishing,
    Done,
}

/// The sink a `@writestream` call sends its data into: a [`Sink`] of [`Bytes`] whose `close`
/// is [`finish`](WriteStream::finish).
///
/// Data is sent in packets of at most `VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX` bytes, each a view
/// of the caller's buffer (not copied). A failure the server reports while data is flowing is
/// returned by the next operation. Dropping the sink before `finish` aborts the stream.
#[derive(Debug)]
pub struct WriteStream {
    client: Client,
    call: Header,
    rx: StreamRx,
    out: Arc<Outbox>,
    /// Data accepted by `start_send` and not yet queued.
    pending: Option<Outgoing>,
    rest: Bytes,
    state: WriteState,
}

impl WriteStream {
    pub(crate) fn new(client: Client, call: Header, rx: StreamRx) -> Self {
        let out = client.out().clone();
        WriteStream {
            client,
            call,
            rx,
            out,
            pending: None,
            rest: Bytes::new(),
            state: WriteState::Open,
        }
    }

    /// Sends data (split into packets as needed).
    pub async fn send(&mut self, data: Bytes) -> Result<(), Error> {
        std::future::poll_fn(|cx| self.poll_drain(cx)).await?;
        self.rest = data;
        std::future::poll_fn(|cx| self.poll_drain(cx)).await
    }

    /// Sends a hole of `length` bytes (for sparse streams).
    pub async fn send_hole(&mut self, length: u64) -> Result<(), Error> {
        std::future::poll_fn(|cx| self.poll_drain(cx)).await?;
        let length = i64::try_from(length)
            .map_err(|_| Error::protocol(format!("hole of {length} bytes is too large")))?;
        let mut body = Encoder::with_capacity(12);
        body.put_i64(length);
        body.put_u32(0);
        let header = stream_header(&self.call, MessageType::StreamHole, Status::Continue);
        let body = Bytes::from(body.into_bytes());
        self.pending = Some(Outgoing {
            head: raw_head(&header, body.len()),
            data: Some(body),
        });
        std::future::poll_fn(|cx| self.poll_drain(cx)).await
    }

    /// Ends the stream: sends what is left and the end of the data, then waits for the server
    /// to confirm that it took all of it (or to report its error).
    pub async fn finish(mut self) -> Result<(), Error> {
        std::future::poll_fn(|cx| self.poll_finish(cx)).await
    }

    /// Aborts the stream: the server discards it.
    pub async fn abort(mut self) -> Result<(), Error> {
        self.state = WriteState::Done;
        self.rest = Bytes::new();
        self.pending = None;
        self.client
            .send(control_packet(&self.call, Status::Error))
            .await
    }

    /// A failure the server reported, without waiting.
    fn check_failed(&mut self, cx: &mut Context<'_>) -> Result<(), Error> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(StreamMsg::Failed(e))) => {
                self.state = WriteState::Done;
                Err(e)
            }
            Poll::Ready(None) => {
                self.state = WriteState::Done;
                Err(self.client.closed_error())
            }
            Poll::Ready(Some(_)) => Err(Error::protocol(
                "the server sent data or its end on a write stream",
            )),
            Poll::Pending => Ok(()),
        }
    }

    /// Queues the pending packet and the rest of the data, packet by packet.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.state == WriteState::Done {
            return Poll::Ready(Err(Error::protocol("the stream is finished")));
        }
        self.check_failed(cx)?;
        loop {
            if self.pending.is_none() && !self.rest.is_empty() {
                let n = self.rest.len().min(STREAM_PAYLOAD_MAX);
                let data = self.rest.split_to(n);
                let header = stream_header(&self.call, MessageType::Stream, Status::Continue);
                self.pending = Some(Outgoing {
                    head: raw_head(&header, n),
                    data: Some(data),
                });
            }
            let Some(_) = &self.pending else {
                return Poll::Ready(Ok(()));
            };
            if ready!(self.out.poll_push(cx, &mut self.pending)).is_err() {
                return Poll::Ready(Err(self.client.closed_error()));
            }
        }
    }

    fn poll_finish(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        loop {
            match self.state {
                WriteState::Done => return Poll::Ready(Ok(())),
                WriteState::Open => {
                    ready!(self.poll_drain(cx))?;
                    // Queued once: `Finishing` sends it (again polled if the queue is full).
                    self.pending = Some(control_packet(&self.call, Status::Ok));
                    self.state = WriteState::Finishing;
                }
                WriteState::Finishing => {
                    if self.pending.is_some() {
                        ready!(self.poll_drain(cx))?;
                    }
                    let msg = ready!(self.rx.poll_recv(cx));
                    self.state = WriteState::Done;
                    self.client.forget_stream(self.call.serial);
                    return Poll::Ready(match msg {
                        Some(StreamMsg::End) => Ok(()),
                        Some(StreamMsg::Failed(e)) => Err(e),
                        Some(_) => Err(Error::protocol(
                            "the server sent data instead of confirming the end of a write stream",
                        )),
                        None => Err(self.client.closed_error()),
                    });
                }
            }
        }
    }
}

impl Sink<Bytes> for WriteStream {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_drain(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Bytes) -> Result<(), Error> {
        let this = self.get_mut();
        if this.state != WriteState::Open {
            return Err(Error::protocol("the stream is finished"));
        }
        this.rest = item;
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_drain(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_finish(cx)
    }
}

impl Drop for WriteStream {
    fn drop(&mut self) {
        if self.state != WriteState::Done {
            let client = self.client.clone();
            let packet = control_packet(&self.call, Status::Error);
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move { client.send(packet).await });
            }
        }
        self.client.forget_stream(self.call.serial);
    }
}
