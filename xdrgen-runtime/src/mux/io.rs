//! The two tasks of a client connection: the writer (ONC's; libvirt's has its own queue, its
//! `Outbox`), which owns the write half and writes each queued message whole, and the reader
//! loop, which owns the read half, splits it into frames
//! with a `tokio_util` codec and hands each frame to a [`Route`]. Both stop when the
//! connection's [`Calls`](super::Calls) table closes.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use tokio::io::AsyncRead;
#[cfg(feature = "onc")]
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::codec::{Decoder, FramedRead};

/// A message to write: a head (framing and header, maybe an encoded payload) and raw data that
/// follows it unchanged, so that bulk data (a libvirt stream's) is never copied into the head.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub head: Bytes,
    pub data: Option<Bytes>,
}

/// How much the writer gathers before a write: small messages queued together share a
/// syscall; a larger one is written straight from its own buffer.
#[cfg(feature = "onc")]
const WRITE_BUFFER: usize = 64 * 1024;

/// The writer task's body: writes every queued message whole, flushing once per batch of
/// messages queued together, until the queue's senders are gone (then shuts the write half
/// down) or `closing` turns true (then stops at once, even in the middle of a write that a
/// peer which stopped reading blocks). Returns the write error that ended it, if any: the
/// caller closes the connection with it.
#[cfg(feature = "onc")]
pub(crate) async fn write_queue<W: AsyncWrite + Unpin>(
    mut rx: mpsc::Receiver<Outgoing>,
    write: W,
    mut closing: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut w = BufWriter::with_capacity(WRITE_BUFFER, write);
    // One close-signal waiter for the writer's life, not one per batch.
    let closed = closing.wait_for(|c| *c);
    tokio::pin!(closed);
    loop {
        let first = tokio::select! {
            biased;
            _ = &mut closed => return Ok(()),
            m = rx.recv() => match m {
                Some(m) => m,
                None => break,
            },
        };
        let batch = async {
            let mut next = Some(first);
            while let Some(m) = next {
                w.write_all(&m.head).await?;
                if let Some(data) = &m.data {
                    w.write_all(data).await?;
                }
                next = rx.try_recv().ok();
            }
            w.flush().await
        };
        tokio::select! {
            biased;
            _ = &mut closed => return Ok(()),
            r = batch => r?,
        }
    }
    w.shutdown().await
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
