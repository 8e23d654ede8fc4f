//! [`Landed`]: a read half that records where each read put its bytes, that is, ranges of the
//! reader's own buffer. A test uses it to show that decoded data was not copied after the
//! socket read: its bytes are still where the last read put them.

use std::ops::Range;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

/// Wraps a read half and records the address range of every read's bytes.
#[derive(Debug)]
pub struct Landed<R> {
    inner: R,
    reads: Reads,
}

/// The ranges a [`Landed`] recorded, in order (a cheap clone shares them).
#[derive(Debug, Clone, Default)]
pub struct Reads(Arc<Mutex<Vec<Range<usize>>>>);

impl Reads {
    /// Whether the last read put a byte at `address`. Memory that held what a read delivered
    /// cannot also hold a copy of it made later, as long as the reader's buffer is alive.
    pub fn last_read_wrote(&self, address: *const u8) -> bool {
        let reads = self.0.lock().unwrap_or_else(|p| p.into_inner());
        reads
            .last()
            .is_some_and(|r| r.contains(&(address as usize)))
    }

    /// The range the last read wrote, for messages.
    pub fn last(&self) -> Option<Range<usize>> {
        let reads = self.0.lock().unwrap_or_else(|p| p.into_inner());
        reads.last().cloned()
    }
}

impl<R> Landed<R> {
    /// Wraps `inner`; the returned [`Reads`] sees what it records.
    pub fn new(inner: R) -> (Self, Reads) {
        let reads = Reads::default();
        (
            Landed {
                inner,
                reads: reads.clone(),
            },
            reads,
        )
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Landed<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        let landed = &buf.filled()[before..];
        if !landed.is_empty() {
            let start = landed.as_ptr() as usize;
            let mut reads = self.reads.0.lock().unwrap_or_else(|p| p.into_inner());
            reads.push(start..start + landed.len());
        }
        r
    }
}
