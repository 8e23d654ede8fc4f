//! A client connection over a byte stream (TCP, or anything `AsyncRead + AsyncWrite`), on the
//! plumbing the libvirt client uses too (`crate::mux`): one reader task owns the read half and
//! routes each reply record to its call by xid; calls go out through the connection's
//! [`Outbox`], whose writer task owns the write half and writes everything queued per wakeup.
//! Many calls can be in flight at once.
//!
//! A call is queued as one whole record or not at all, so a call whose future is dropped never
//! leaves half a record on the wire. A small call (one fragment, up to the queue's inline size)
//! is encoded straight into the queue's buffer behind its record mark; a larger one, or one
//! that finds the queue full, is encoded into a buffer of its own, framed (split into
//! fragments when over the maximum fragment) and queued when there is room.
//!
//! A reply record in one fragment (the common case) is a slice of the reader's buffer, and so
//! is everything decoded from it with `from_shared`: a large READ's data is not copied after
//! the socket read. A record of several fragments is put together once.

use std::convert::Infallible;
use std::future::poll_fn;
use std::sync::Arc;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite};

use super::call::{reply_xid, CallMessage, CallTable, MARK};
use super::record::RecordCodec;
use super::Error;
use crate::mux::{
    encode_after, read_loop, writer, Calls, End, Outbox, Outgoing, Queued, Route, INLINE_MAX,
};

/// The client side of one stream connection.
pub(crate) struct StreamTransport {
    pub calls: Arc<CallTable>,
    /// The records queued for the writer.
    out: Arc<Outbox>,
    /// Frames the calls written (its decoder's half is the reader's).
    codec: RecordCodec,
}

impl StreamTransport {
    /// Starts the reader and writer tasks on a stream's two halves (needs a tokio runtime);
    /// xids start at `seed`.
    pub fn start<R, W>(read: R, write: W, codec: RecordCodec, seed: u32) -> Self
    where
        R: AsyncRead + Send + Unpin + 'static,
        W: AsyncWrite + Send + Unpin + 'static,
    {
        let calls = Arc::new(Calls::new(seed, false));
        let out = Arc::new(Outbox::default());
        tokio::spawn(read_replies(read, codec.clone(), calls.clone()));
        let closer = calls.clone();
        tokio::spawn(writer(out.clone(), write, calls.closing(), move |failed| {
            closer.close(failed.map_or_else(writer_stopped, Error::from));
        }));
        StreamTransport { calls, out, codec }
    }

    /// Queues `call` as one record for the writer, waiting while the queue is full: straight
    /// into the queue when it is small and there is room, else from a buffer of its own.
    pub async fn send(&self, call: &CallMessage<'_>) -> Result<(), Error> {
        if self.queue_inline(call)? {
            return Ok(());
        }
        let record = self.codec.frame_in_place(call.to_vec()?);
        let mut slot = Some(Outgoing {
            head: record,
            data: None,
        });
        poll_fn(|cx| self.out.poll_push(cx, &mut slot))
            .await
            .map_err(|()| self.closed_error())
    }

    /// Encodes `call` straight into the queue's buffer as a record of one fragment when it is
    /// small and the queue has room; whether it did.
    fn queue_inline(&self, call: &CallMessage<'_>) -> Result<bool, Error> {
        let len = call.encoded_len();
        if MARK + len > INLINE_MAX || len > self.codec.max_fragment() {
            return Ok(false);
        }
        let queued = self
            .out
            .try_encode(|buf| self.encode_record(buf, call))
            .map_err(Error::Arguments)?;
        match queued {
            Queued::Yes => Ok(true),
            Queued::Full => Ok(false),
            Queued::Closed => Err(self.closed_error()),
        }
    }

    /// Appends `call` to `buf` as a record of one fragment. The mark is written last, from the
    /// length actually encoded; on failure (or a panic of the arguments' `encode`) nothing of
    /// the record is left in `buf`.
    fn encode_record(
        &self,
        buf: &mut Vec<u8>,
        call: &CallMessage<'_>,
    ) -> Result<(), crate::xdr::Error> {
        let start = buf.len();
        buf.reserve(MARK + call.encoded_len());
        buf.extend_from_slice(&[0; MARK]);
        encode_after(buf, start, |enc| call.encode(enc))?;
        if self.codec.mark_in_place(&mut buf[start..]) {
            Ok(())
        } else {
            buf.truncate(start);
            Err(crate::xdr::Error::custom(
                "the arguments encoded to more than their encoded_len, over the largest fragment",
            ))
        }
    }

    /// The error of a closed connection: its cause.
    fn closed_error(&self) -> Error {
        self.calls.closed().unwrap_or_else(writer_stopped)
    }
}

/// Why a connection closed when its writer ended with no error of its own.
fn writer_stopped() -> Error {
    Error::Closed("the connection's writer stopped".into())
}

impl Drop for StreamTransport {
    fn drop(&mut self) {
        // Both tasks stop when the table closes.
        self.calls
            .close(Error::Closed("the client was dropped".into()));
    }
}

/// Routes reply records by xid.
struct Replies(Arc<CallTable>);

impl Route<Bytes> for Replies {
    type Error = Infallible;
    type Command = Infallible;

    fn frame(&mut self, record: Bytes) {
        match reply_xid(&record) {
            Some(xid) => {
                self.0.complete(xid, |()| Ok(record));
            }
            // A CALL from the server (no callbacks are served here) or a runt: ignored.
            None => self.0.count_unmatched(),
        }
    }

    fn command(&mut self, command: Infallible) -> Result<(), Infallible> {
        match command {}
    }
}

/// The reader task: routes replies until the stream ends or breaks the protocol.
async fn read_replies<R: AsyncRead + Unpin>(read: R, codec: RecordCodec, calls: Arc<CallTable>) {
    let mut route = Replies(calls.clone());
    let why = match read_loop(read, codec, None, calls.closing(), &mut route).await {
        End::Eof => Error::Closed("the server closed the connection".into()),
        End::Frame(e) => e,
        End::Route(never) => match never {},
        // Already closed, with its cause.
        End::Closed => return,
    };
    calls.close(why);
}
