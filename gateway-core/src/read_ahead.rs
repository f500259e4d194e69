//! [`ReadAhead`]: the socket side of a WebSocket connection, read in large chunks into a buffer
//! that exists only while it holds unread bytes.
//!
//! tungstenite zero-fills its whole read buffer before every read attempt (including those that
//! find nothing to read), and keeps that buffer for the life of the connection. Giving it a small
//! buffer and serving its reads from this one keeps the syscalls large, the zero-filling small,
//! and idle connections free of read buffers.

use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, ReadBuf};

/// How much tungstenite reads (and zero-fills) at a time once [`ReadAhead`] is underneath.
pub(crate) const TUNGSTENITE_READ_SIZE: usize = 256;

/// Reads of up to this many bytes go through the stack (the default read size is 4 KiB).
const STACK_CHUNK: usize = 8 * 1024;

/// Reads up to `chunk` bytes per syscall into a buffer allocated on demand and released as soon
/// as it is drained and the socket has nothing more.
pub(crate) struct ReadAhead<S> {
    inner: S,
    buf: BytesMut,
    chunk: usize,
}

impl<S> ReadAhead<S> {
    #[cfg(test)]
    pub(crate) fn new(inner: S, chunk: usize) -> Self {
        Self::with_prefix(inner, bytes::Bytes::new(), chunk)
    }

    /// Reads `prefix` (bytes already taken off the socket, e.g. by the HTTP parser) first.
    ///
    /// The prefix is copied: as a slice of the HTTP parser's read buffer, even an empty one, it
    /// would keep that whole buffer (8 KiB) alive for the life of the connection.
    pub(crate) fn with_prefix(inner: S, prefix: bytes::Bytes, chunk: usize) -> Self {
        Self {
            inner,
            buf: BytesMut::from(&prefix[..]),
            chunk: chunk.max(TUNGSTENITE_READ_SIZE),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ReadAhead<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.buf.is_empty() {
            if out.remaining() >= this.chunk {
                return Pin::new(&mut this.inner).poll_read(cx, out);
            }
            // No buffer held (the first read after an idle spell): through the stack, so that a
            // message `out` takes whole allocates nothing. A buffer still held (a large message
            // being read) is reused.
            if this.buf.capacity() == 0 && this.chunk <= STACK_CHUNK {
                return this.poll_read_via_stack(cx, out);
            }
            this.buf.reserve(this.chunk);
            let read = tokio_util::io::poll_read_buf(Pin::new(&mut this.inner), cx, &mut this.buf);
            match read {
                Poll::Ready(Ok(n)) if n > 0 => {}
                // Nothing buffered: an idle connection keeps no read buffer.
                other => {
                    this.buf = BytesMut::new();
                    return other.map_ok(|_| ());
                }
            }
        }
        let n = out.remaining().min(this.buf.len());
        out.put_slice(&this.buf[..n]);
        this.buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> ReadAhead<S> {
    /// One read of up to `chunk` bytes into the stack: what `out` takes is copied there, only
    /// the rest is kept on the heap. A message that fits in `out` allocates nothing.
    fn poll_read_via_stack(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut scratch = [MaybeUninit::<u8>::uninit(); STACK_CHUNK];
        let mut read = ReadBuf::uninit(&mut scratch[..self.chunk]);
        ready!(Pin::new(&mut self.inner).poll_read(cx, &mut read))?;
        let read = read.filled();
        let n = out.remaining().min(read.len());
        out.put_slice(&read[..n]);
        if n < read.len() {
            // More follows, likely: a whole chunk's buffer, reused until the socket is drained.
            self.buf.reserve(self.chunk);
            self.buf.extend_from_slice(&read[n..]);
        }
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn small_reads_are_served_from_one_large_read_and_the_buffer_is_released() {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let mut reader = ReadAhead::new(server, 4096);
        let mut client = client;
        client.write_all(&[7u8; 1000]).await.unwrap();
        let mut got = Vec::new();
        while got.len() < 1000 {
            let mut small = [0u8; 100];
            let n = reader.read(&mut small).await.unwrap();
            got.extend_from_slice(&small[..n]);
        }
        assert_eq!(got, vec![7u8; 1000]);
        assert!(reader.buf.is_empty());
        drop(client);
        let mut rest = [0u8; 10];
        assert_eq!(reader.read(&mut rest).await.unwrap(), 0);
        assert_eq!(reader.buf.capacity(), 0);
    }
}
