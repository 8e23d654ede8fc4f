//! The two tasks of a client connection, the same for both protocols: the [`writer`], which owns
//! the write half and writes what the connection's [`Outbox`] holds, and the reader loop, which
//! owns the read half, splits it into frames with a `tokio_util` codec and hands each frame to
//! a [`Route`]. Both stop when the connection's [`Calls`](super::Calls) table closes.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::codec::{Decoder, FramedRead};

use super::outbox::{Batch, Outbox};

/// A message to write: a head (framing and header, maybe an encoded payload) and raw data that
/// follows it unchanged, so that bulk data (a libvirt stream's) is never copied into the head.
#[derive(Debug)]
pub(crate) struct Outgoing {
    /// The framing and header, and maybe an encoded payload.
    pub head: Bytes,
    /// Raw data written after `head` from its own buffer.
    pub data: Option<Bytes>,
}

/// The writer task of a connection (both protocols'): writes what is queued in `out`, a whole
/// batch per wakeup, until `closing` turns true (then stops at once, even in the middle of a
/// write that a peer which stopped reading blocks) or a write fails.
///
/// When it ends, however it ends (a panic, or its runtime shutting down, included), `close`
/// closes the connection, with the write error that ended it if any, and then the queue is
/// closed: no caller is left waiting on a queue that nobody takes from, and a caller refused
/// by the closed queue finds the connection's cause. `close` is called once; the connection
/// keeps the first cause it was closed with.
pub(crate) async fn writer<W, F>(
    out: Arc<Outbox>,
    write: W,
    closing: watch::Receiver<bool>,
    close: F,
) where
    W: AsyncWrite + Unpin,
    F: FnOnce(Option<io::Error>),
{
    let mut end = WriterEnd {
        out,
        close: Some(close),
    };
    let written = write_batches(&end.out, write, closing).await;
    end.finish(written.err());
}

/// Writes every batch taken from `out` until `closing` turns true; returns the write error
/// that ended it, if any.
async fn write_batches<W: AsyncWrite + Unpin>(
    out: &Outbox,
    mut write: W,
    mut closing: watch::Receiver<bool>,
) -> io::Result<()> {
    // One close-signal waiter for the writer's life, not one per batch.
    let closed = closing.wait_for(|c| *c);
    tokio::pin!(closed);
    let mut batch = Batch::default();
    loop {
        tokio::select! {
            biased;
            _ = &mut closed => return Ok(()),
            () = poll_fn(|cx| out.poll_take(cx, &mut batch)) => {}
        }
        tokio::select! {
            biased;
            _ = &mut closed => return Ok(()),
            written = write_batch(&mut write, &batch) => written?,
        }
        batch.clear();
    }
}

/// Writes one batch: its segments, then its tail, then flushes.
async fn write_batch<W: AsyncWrite + Unpin>(write: &mut W, batch: &Batch) -> io::Result<()> {
    for segment in &batch.segments {
        write.write_all(segment).await?;
    }
    write.write_all(&batch.tail).await?;
    write.flush().await
}

/// Closes the connection and then the writer's queue when the writer ends, however it ends.
struct WriterEnd<F: FnOnce(Option<io::Error>)> {
    out: Arc<Outbox>,
    /// Closes the connection (with the write error, if one ended the writer); taken when run.
    close: Option<F>,
}

impl<F: FnOnce(Option<io::Error>)> WriterEnd<F> {
    /// Closes the connection with `error` (or with no cause of the writer's), if not yet done.
    fn finish(&mut self, error: Option<io::Error>) {
        if let Some(close) = self.close.take() {
            close(error);
        }
    }
}

impl<F: FnOnce(Option<io::Error>)> Drop for WriterEnd<F> {
    fn drop(&mut self) {
        self.finish(None);
        self.out.close();
    }
}

/// What a connection's reader does with what it reads, and besides reading.
pub(crate) trait Route<Frame> {
    /// Why the handler ends the connection.
    type Error;
    /// Commands from the connection's handles (libvirt: start keepalive).
    type Command;

    /// Routes one received frame. Never waits: a reader that waited for one consumer would
    /// hold up every other call on the connection.
    fn frame(&mut self, frame: Frame);

    /// Obeys a command.
    fn command(&mut self, command: Self::Command) -> Result<(), Self::Error>;

    /// When [`tick`](Route::tick) is next due, if ever.
    fn deadline(&self) -> Option<Instant> {
        None
    }

    /// Runs at the deadline (keepalive: send a PING, or give up on the peer).
    fn tick(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Why a reader loop ended.
#[derive(Debug)]
pub(crate) enum End<D, R> {
    /// The peer closed the connection between frames.
    Eof,
    /// The codec refused the stream (a frame over the maximum, a truncated frame, a read
    /// error).
    Frame(D),
    /// The route gave up (keepalive).
    Route(R),
    /// The connection was closed elsewhere, or every handle that could send commands is
    /// gone.
    Closed,
}

/// The reader loop: reads frames with `codec` and routes them until the stream ends or fails,
/// the route gives up, or `closing` turns true.
///
/// Every frame that a wakeup finds (in the read buffer or readable at once) is routed before
/// the loop waits again, and the futures it waits on (the close signal, the keepalive timer)
/// live across frames: a reply costs its decoding and routing, not a new timer and a new
/// close-signal waiter. The timer is re-armed lazily: a frame that pushes the route's deadline
/// later leaves it armed for the earlier time, and when it fires early the loop only moves it.
pub(crate) async fn read_loop<R, D, H>(
    read: R,
    codec: D,
    mut commands: Option<mpsc::UnboundedReceiver<H::Command>>,
    mut closing: watch::Receiver<bool>,
    route: &mut H,
) -> End<D::Error, H::Error>
where
    R: AsyncRead + Unpin,
    D: Decoder,
    H: Route<D::Item>,
{
    let mut framed = FramedRead::new(read, codec);
    let closed = closing.wait_for(|c| *c);
    tokio::pin!(closed);
    let timer = tokio::time::sleep_until(Instant::now());
    tokio::pin!(timer);
    // The time the timer is armed for, if it is armed.
    let mut armed: Option<Instant> = None;
    loop {
        match route.deadline() {
            Some(due) if armed.is_none_or(|at| due < at) => {
                timer.as_mut().reset(due);
                armed = Some(due);
            }
            Some(_) => {}
            None => armed = None,
        }
        tokio::select! {
            biased;
            _ = &mut closed => return End::Closed,
            // Commands before frames: under a steady flow of frames, routing them spends the
            // task's budget, and a command polled after them would wait for the flow to pause.
            c = recv(&mut commands) => match c {
                Some(c) => {
                    if let Err(e) = route.command(c) {
                        return End::Route(e);
                    }
                }
                None => return End::Closed,
            },
            end = poll_fn(|cx| route_frames(&mut framed, &mut *route, cx)) => return end,
            _ = &mut timer, if armed.is_some() => {
                armed = None;
                // Fired for a deadline that frames since moved: the top of the loop re-arms it.
                if route.deadline().is_some_and(|due| due <= Instant::now()) {
                    if let Err(e) = route.tick() {
                        return End::Route(e);
                    }
                }
            }
        }
    }
}

/// Routes every frame the reader has until it would wait (`Pending`), the stream ends or fails.
fn route_frames<R, D, H>(
    framed: &mut FramedRead<R, D>,
    route: &mut H,
    cx: &mut Context<'_>,
) -> Poll<End<D::Error, H::Error>>
where
    R: AsyncRead + Unpin,
    D: Decoder,
    H: Route<D::Item>,
{
    loop {
        match ready!(Pin::new(&mut *framed).poll_next(cx)) {
            None => return Poll::Ready(End::Eof),
            Some(Err(e)) => return Poll::Ready(End::Frame(e)),
            Some(Ok(f)) => route.frame(f),
        }
    }
}

/// The next command, or never when there is no command channel.
async fn recv<C>(commands: &mut Option<mpsc::UnboundedReceiver<C>>) -> Option<C> {
    match commands {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// The next frame of a framed reader (a `Stream`, without `StreamExt`).
pub(crate) async fn next_frame<R: AsyncRead + Unpin, D: Decoder>(
    framed: &mut FramedRead<R, D>,
) -> Option<Result<D::Item, D::Error>> {
    poll_fn(|cx| Pin::new(&mut *framed).poll_next(cx)).await
}

/// Runs `call` under a deadline: `expired(timeout)` when it does not end in time (the call's
/// future is then dropped, which cancels it).
pub(crate) async fn within<T, E>(
    timeout: Option<Duration>,
    call: impl Future<Output = Result<T, E>>,
    expired: impl FnOnce(Duration) -> E,
) -> Result<T, E> {
    match timeout {
        Some(t) => tokio::time::timeout(t, call)
            .await
            .unwrap_or_else(|_| Err(expired(t))),
        None => call.await,
    }
}
