//! A client connection over a byte stream (TCP, or anything `AsyncRead + AsyncWrite`): one
//! reader task owns the read half and routes each reply record to its call by xid, one writer
//! task owns the write half and writes each call whole, so a call whose future is dropped never
//! leaves half a record on the wire. Many calls can be in flight at once.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio_util::codec::{Encoder, FramedRead};

use super::call::reply_xid;
use super::pending::Pending;
use super::record::RecordCodec;
use super::Error;

/// Calls queued for the writer; a caller waits for room (the writer drains it as fast as the
/// socket takes bytes).
const QUEUE: usize = 64;

/// The client side of one stream connection.
pub(crate) struct TcpTransport {
    pub pending: Arc<Pending>,
    tx: mpsc::Sender<Vec<u8>>,
    tasks: [AbortHandle; 2],
}

impl TcpTransport {
    /// Starts the reader and writer tasks on `stream` (needs a tokio runtime).
    pub fn start<S>(stream: S, codec: RecordCodec, seed: u32) -> Self
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let pending = Pending::new(seed);
        let (read, write) = tokio::io::split(stream);
        let (tx, rx) = mpsc::channel(QUEUE);
        let reader = tokio::spawn(read_replies(read, codec.clone(), pending.clone()));
        let writer = tokio::spawn(write_calls(write, codec, rx, pending.clone()));
        TcpTransport {
            pending,
            tx,
            tasks: [reader.abort_handle(), writer.abort_handle()],
        }
    }

    /// Queues one whole call message for the writer.
    pub async fn send(&self, message: Vec<u8>) -> Result<(), Error> {
        self.tx.send(message).await.map_err(|_| {
            self.pending
                .closed()
                .unwrap_or_else(|| Error::Closed("the connection's writer stopped".into()))
        })
    }
}

impl Drop for TcpTransport {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        self.pending
            .close(Error::Closed("the client was dropped".into()));
    }
}

/// The reader task: routes replies until the stream ends or breaks the protocol.
async fn read_replies<R: AsyncRead + Unpin>(read: R, codec: RecordCodec, pending: Arc<Pending>) {
    let mut framed = FramedRead::new(read, codec);
    let why = loop {
        match poll_fn(|cx| Pin::new(&mut framed).poll_next(cx)).await {
            Some(Ok(record)) => route(&pending, record),
            Some(Err(e)) => break e,
            None => break Error::Closed("the server closed the connection".into()),
        }
    };
    pending.close(why);
}

fn route(pending: &Pending, record: Bytes) {
    match reply_xid(&record) {
        Some(xid) => {
            pending.complete(xid, record);
        }
        // A CALL from the server (no callbacks are served here) or a runt: ignored.
        None => {
            pending
                .unmatched
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// The writer task: frames and writes each queued call whole.
async fn write_calls<W: AsyncWrite>(
    write: W,
    mut codec: RecordCodec,
    mut rx: mpsc::Receiver<Vec<u8>>,
    pending: Arc<Pending>,
) {
    let mut write = std::pin::pin!(write);
    let mut buf = BytesMut::new();
    while let Some(message) = rx.recv().await {
        buf.clear();
        let result = match codec.encode(&message[..], &mut buf) {
            Ok(()) => write.write_all(&buf).await.map_err(Error::from),
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            pending.close(e);
            return;
        }
    }
}
