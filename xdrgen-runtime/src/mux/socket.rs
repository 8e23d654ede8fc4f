//! A connected stream socket (unix or TCP) split into a read half and a write half that share
//! one registration with the runtime: for reading only.
//!
//! Tokio's own sockets register for both directions, edge-triggered, so every time the peer
//! takes bytes out of the socket's buffer the runtime wakes up to be told the socket is
//! writable again, which a client whose writes go through at once never needs to know: about
//! one wakeup (a context switch and an `epoll_wait`) in three per call against libvirtd at 64
//! calls in flight. Here the write half writes straight away and only when the socket's buffer
//! is full (`EAGAIN`) registers a duplicate of the socket for writability, until a write goes
//! through whole again (with no descriptor left for the duplicate, it tries the write again
//! every millisecond instead: the runtime's time driver must be on, as the client's keepalive
//! needs it anyway).

use std::future::Future;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};

/// A connected stream socket in non-blocking mode.
pub(crate) trait Socket: AsRawFd + Send + Sync + Sized + Unpin + 'static
where
    for<'a> &'a Self: Read + Write,
{
    /// Another descriptor of the same socket.
    fn duplicate(&self) -> io::Result<Self>;
    /// Ends the writing direction.
    fn shutdown_write(&self) -> io::Result<()>;
    /// Puts the socket in non-blocking mode.
    fn nonblocking(&self) -> io::Result<()>;
}

// std's socket types have these as inherent methods, with no trait in common.
macro_rules! std_socket {
    ($($ty:ty),*) => {$(
        impl Socket for $ty {
            fn duplicate(&self) -> io::Result<Self> {
                self.try_clone()
            }
            fn shutdown_write(&self) -> io::Result<()> {
                self.shutdown(std::net::Shutdown::Write)
            }
            fn nonblocking(&self) -> io::Result<()> {
                self.set_nonblocking(true)
            }
        }
    )*};
}

std_socket!(std::os::unix::net::UnixStream, std::net::TcpStream);

/// Splits a socket (put in non-blocking mode here) into its two halves, registering it with
/// the current runtime for reading.
pub(crate) fn split<S: Socket>(sock: S) -> io::Result<(ReadHalf<S>, WriteHalf<S>)>
where
    for<'a> &'a S: Read + Write,
{
    sock.nonblocking()?;
    let fd = Arc::new(register(sock, Interest::READABLE)?);
    Ok((
        ReadHalf {
            fd: fd.clone(),
            chunk: vec![0; READ_CHUNK].into_boxed_slice(),
            bulk: false,
        },
        WriteHalf {
            fd,
            writable: None,
            retry: None,
        },
    ))
}

/// Registers `sock` with the current runtime for `interest`.
#[allow(unsafe_code)]
fn register<S: Socket>(sock: S, interest: Interest) -> io::Result<AsyncFd<S>>
where
    for<'a> &'a S: Read + Write,
{
    // SAFETY: `S` is a std `UnixStream` or `TcpStream` (the crate-private `Socket`'s only
    // implementations besides a test's wrapper of a `UnixStream`), which owns its descriptor:
    // it stays open, and `as_raw_fd` keeps returning it, until the socket is dropped, which only
    // dropping the `AsyncFd` does.
    unsafe { AsyncFd::register_with_interest(sock, interest) }.map_err(io::Error::from)
}

/// The read half's own buffer, for small reads.
const READ_CHUNK: usize = 64 * 1024;
/// The most a bulk read offers of the caller's buffer.
const READ_MAX: usize = 256 * 1024;

/// The read half.
pub(crate) struct ReadHalf<S: AsRawFd> {
    fd: Arc<AsyncFd<S>>,
    /// Where small reads go, zeroed once. The caller's buffer is usually uninitialised room (a
    /// codec's), which safe code must zero before reading into it: for replies of a few dozen
    /// bytes, copying out what a read returned costs far less than zeroing the room.
    chunk: Box<[u8]>,
    /// The last read filled what it was offered: data is streaming in, and reads go straight
    /// into the caller's buffer (zeroed first, but not copied).
    bulk: bool,
}

/// Reads from `fd` into `room`: `Pending` until the socket is readable, then the bytes read.
fn poll_read_into<S: Socket>(
    fd: &AsyncFd<S>,
    cx: &mut Context<'_>,
    room: &mut [u8],
) -> Poll<io::Result<usize>>
where
    for<'a> &'a S: Read + Write,
{
    loop {
        let mut guard = ready!(fd.poll_read_ready(cx))?;
        match guard.try_io(|s| s.get_ref().read(room)) {
            Ok(Ok(n)) => {
                if n > 0 && n < room.len() {
                    // The socket is empty: the next read waits for the runtime's word instead
                    // of trying and failing with EAGAIN.
                    guard.clear_ready();
                }
                return Poll::Ready(Ok(n));
            }
            Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
            Ok(Err(e)) => return Poll::Ready(Err(e)),
            // EAGAIN: readiness cleared, wait again.
            Err(_would_block) => {}
        }
    }
}

impl<S: Socket> AsyncRead for ReadHalf<S>
where
    for<'a> &'a S: Read + Write,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.bulk {
            let room = buf.initialize_unfilled_to(buf.remaining().min(READ_MAX));
            let want = room.len();
            let n = ready!(poll_read_into(&this.fd, cx, room))?;
            this.bulk = n == want && want > 0;
            buf.advance(n);
        } else {
            let want = this.chunk.len().min(buf.remaining());
            let n = ready!(poll_read_into(&this.fd, cx, &mut this.chunk[..want]))?;
            buf.put_slice(&this.chunk[..n]);
            this.bulk = n == want && want > 0;
        }
        Poll::Ready(Ok(()))
    }
}

/// How long the write half waits before writing again to a full socket when it cannot be told
/// when there is room (no descriptor left for the duplicate).
const FULL_RETRY: std::time::Duration = std::time::Duration::from_millis(1);

/// The write half.
pub(crate) struct WriteHalf<S: AsRawFd> {
    fd: Arc<AsyncFd<S>>,
    /// A duplicate of the socket registered for writability, while its buffer is full.
    writable: Option<AsyncFd<S>>,
    /// While the buffer is full and no duplicate could be registered: when to write again.
    retry: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<S: Socket> AsyncWrite for WriteHalf<S>
where
    for<'a> &'a S: Read + Write,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            if let Some(w) = &this.writable {
                let mut guard = ready!(w.poll_write_ready(cx))?;
                match guard.try_io(|s| s.get_ref().write(data)) {
                    Ok(Ok(n)) => {
                        if n == data.len() {
                            // Room again: back to writing without the registration.
                            this.writable = None;
                        }
                        return Poll::Ready(Ok(n));
                    }
                    Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                    Ok(Err(e)) => return Poll::Ready(Err(e)),
                    Err(_would_block) => {}
                }
                continue;
            }
            if let Some(sleep) = &mut this.retry {
                ready!(sleep.as_mut().poll(cx));
                this.retry = None;
            }
            match this.fd.get_ref().write(data) {
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
            match this.fd.get_ref().duplicate() {
                Ok(dup) => this.writable = Some(register(dup, Interest::WRITABLE)?),
                // Out of descriptors (EMFILE, or another reason `dup` fails): a full socket is
                // no reason to drop the connection; poll it for room instead of being told.
                Err(_) => this.retry = Some(Box::pin(tokio::time::sleep(FULL_RETRY))),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.fd.get_ref().shutdown_write())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Writes `len` bytes through `write` to `read`, many times a socket's buffer so that the
    /// writer meets EAGAIN, reading only after `pause`; checks that every byte arrived in order
    /// and returns the write half.
    async fn send_through<S: Socket>(
        mut read: ReadHalf<std::os::unix::net::UnixStream>,
        mut write: WriteHalf<S>,
        len: u32,
        pause: std::time::Duration,
    ) -> WriteHalf<S>
    where
        for<'a> &'a S: Read + Write,
    {
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let sent = data.clone();
        let writer = tokio::spawn(async move {
            write.write_all(&sent).await.unwrap();
            write.shutdown().await.unwrap();
            write
        });
        tokio::time::sleep(pause).await;
        let mut got = Vec::new();
        read.read_to_end(&mut got).await.unwrap();
        let write = writer.await.unwrap();
        assert!(
            got == data,
            "{} bytes received of {}",
            got.len(),
            data.len()
        );
        write
    }

    #[tokio::test]
    async fn a_full_socket_waits_for_room_and_loses_nothing() {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let (read, _a_write) = split(a).unwrap();
        let (_b_read, write) = split(b).unwrap();
        let write = send_through(read, write, 4 << 20, std::time::Duration::ZERO).await;
        // Back to writing without the registration once writes went through whole.
        assert!(write.writable.is_none());
    }

    /// A socket with no descriptor to spare: `duplicate` fails as `dup` does with EMFILE.
    struct NoSpareFd(std::os::unix::net::UnixStream);

    impl AsRawFd for NoSpareFd {
        fn as_raw_fd(&self) -> std::os::fd::RawFd {
            self.0.as_raw_fd()
        }
    }

    impl Read for &NoSpareFd {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            (&self.0).read(buf)
        }
    }

    impl Write for &NoSpareFd {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            (&self.0).write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Socket for NoSpareFd {
        fn duplicate(&self) -> io::Result<Self> {
            Err(io::Error::from_raw_os_error(24)) // EMFILE
        }
        fn shutdown_write(&self) -> io::Result<()> {
            self.0.shutdown_write()
        }
        fn nonblocking(&self) -> io::Result<()> {
            self.0.nonblocking()
        }
    }

    #[tokio::test]
    async fn a_full_socket_without_a_spare_descriptor_still_waits_for_room() {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let (read, _a_write) = split(a).unwrap();
        let (_b_read, write) = split(NoSpareFd(b)).unwrap();
        // The writer fills the socket and meets the missing descriptor before the reading.
        let pause = std::time::Duration::from_millis(20);
        let write = send_through(read, write, 1 << 20, pause).await;
        assert!(write.writable.is_none() && write.retry.is_none());
    }
}
