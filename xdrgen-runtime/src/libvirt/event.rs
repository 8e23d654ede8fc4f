//! Events: MESSAGE packets of a program, decoded into the program's generated event enum.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use tokio::sync::mpsc;

use super::{Client, Error};
use crate::rpc::ProgramInfo;

/// The event enum of a program (`RemoteEvent`), implemented by generated code.
pub trait Event: Sized + Send + 'static {
    /// The program whose MESSAGE packets this enum decodes.
    const PROGRAM: &'static ProgramInfo;

    /// Decodes the payload of a MESSAGE packet of `procedure`; `Ok(None)` when `procedure` is
    /// not an event of this program. `body` is a view of the receive buffer, which decoded
    /// opaque data and strings may share.
    fn decode_event(procedure: u32, body: &Bytes) -> Result<Option<Self>, crate::xdr::Error>;
}

/// A subscription to a program's events, from [`Client::events`].
///
/// Events arrive in the order the server sent them. The queue is bounded: when it is full,
/// further events are dropped (never queued without bound, never holding up replies to other
/// calls) and counted by [`dropped`](Events::dropped). The subscription ends (`None`) when the
/// connection closes. It keeps the connection open while it lives.
pub struct Events<E> {
    rx: mpsc::Receiver<(u32, Bytes)>,
    dropped: Arc<AtomicU64>,
    client: Client,
    _event: std::marker::PhantomData<fn() -> E>,
}

impl<E> std::fmt::Debug for Events<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("dropped", &self.dropped.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<E: Event> Events<E> {
    pub(crate) fn new(
        rx: mpsc::Receiver<(u32, Bytes)>,
        dropped: Arc<AtomicU64>,
        client: Client,
    ) -> Self {
        Events {
            rx,
            dropped,
            client,
            _event: std::marker::PhantomData,
        }
    }

    /// The next event; `None` once the connection is closed. A MESSAGE whose payload does not
    /// decode is returned as an error (the subscription goes on); one of a procedure that is
    /// not an event of `E` is skipped.
    pub async fn recv(&mut self) -> Option<Result<E, Error>> {
        std::future::poll_fn(|cx| self.poll_event(cx)).await
    }

    /// Events dropped because this subscription's queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The connection the events come from.
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<E, Error>>> {
        loop {
            match self.rx.poll_recv(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some((procedure, body))) => match E::decode_event(procedure, &body) {
                    Ok(Some(e)) => return Poll::Ready(Some(Ok(e))),
                    Ok(None) => continue,
                    Err(e) => return Poll::Ready(Some(Err(Error::Xdr(e)))),
                },
            }
        }
    }
}

impl<E: Event> Stream for Events<E> {
    type Item = Result<E, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_event(cx)
    }
}
