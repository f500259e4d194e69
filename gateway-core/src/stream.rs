//! The byte stream under an upgraded connection, split into a read half and a write half.
//!
//! A plain TCP connection is split without a lock: what [`listen`](crate::GatewayApp::listen)
//! upgrades, and (with the `axum` feature) what hyper-util's `auto` builder upgrades, which
//! `axum::serve` uses. Any other stream (TLS, or a stream an embedding server wraps) is split
//! with tokio's lock-based `split`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

use crate::read_ahead::ReadAhead;
use crate::rewind::Rewind;

type Boxed = TokioIo<Upgraded>;

/// The read half of an upgraded connection.
pub(crate) enum StreamRead {
    Tcp(OwnedReadHalf),
    Other(tokio::io::ReadHalf<Boxed>),
}

/// The write half of an upgraded connection.
pub(crate) enum StreamWrite {
    Tcp(OwnedWriteHalf),
    Other(tokio::io::WriteHalf<Boxed>),
}

/// Splits `upgraded`; the read half first serves what hyper read past the request, in chunks
/// of up to `read_chunk` bytes.
pub(crate) fn split(upgraded: Upgraded, read_chunk: usize) -> (ReadAhead<StreamRead>, StreamWrite) {
    match tcp_stream(upgraded) {
        Ok((tcp, read_past)) => split_tcp(tcp, read_past, read_chunk),
        Err(upgraded) => {
            tracing::trace!("upgraded stream is not a plain TCP stream: split with a lock");
            // `Upgraded` serves its own read-past bytes first.
            let (read, write) = tokio::io::split(TokioIo::new(upgraded));
            let read =
                ReadAhead::with_prefix(StreamRead::Other(read), Default::default(), read_chunk);
            (read, StreamWrite::Other(write))
        }
    }
}

/// Splits a TCP stream without a lock; the read half first serves `read_past`.
pub(crate) fn split_tcp(
    tcp: TcpStream,
    read_past: Bytes,
    read_chunk: usize,
) -> (ReadAhead<StreamRead>, StreamWrite) {
    let (read, write) = tcp.into_split();
    let read = ReadAhead::with_prefix(StreamRead::Tcp(read), read_past, read_chunk);
    (read, StreamWrite::Tcp(write))
}

/// The TCP stream under `upgraded` and what hyper read past the request, when it is one.
fn tcp_stream(upgraded: Upgraded) -> Result<(TcpStream, Bytes), Upgraded> {
    let upgraded = match upgraded.downcast::<TokioIo<TcpStream>>() {
        Ok(parts) => return Ok((parts.io.into_inner(), parts.read_buf)),
        Err(upgraded) => upgraded,
    };
    // listen() hands hyper the stream with what its direct path read put back in front.
    let upgraded = match upgraded.downcast::<TokioIo<Rewind>>() {
        Ok(parts) => {
            let (unread, tcp) = parts.io.into_inner().into_parts();
            let read_past = if unread.is_empty() {
                parts.read_buf
            } else {
                [unread, parts.read_buf].concat().into()
            };
            return Ok((tcp, read_past));
        }
        Err(upgraded) => upgraded,
    };
    // hyper-util's `auto` builder wraps the stream in a private type it alone can take off.
    #[cfg(feature = "axum")]
    let upgraded =
        match hyper_util::server::conn::auto::upgrade::downcast::<TokioIo<TcpStream>>(upgraded) {
            Ok(parts) => return Ok((parts.io.into_inner(), parts.read_buf)),
            Err(upgraded) => upgraded,
        };
    Err(upgraded)
}

impl AsyncRead for StreamRead {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(read) => Pin::new(read).poll_read(cx, buf),
            Self::Other(read) => Pin::new(read).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for StreamWrite {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Tcp(write) => Pin::new(write).poll_write(cx, buf),
            Self::Other(write) => Pin::new(write).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Tcp(write) => Pin::new(write).poll_write_vectored(cx, bufs),
            Self::Other(write) => Pin::new(write).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Tcp(write) => write.is_write_vectored(),
            Self::Other(write) => write.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(write) => Pin::new(write).poll_flush(cx),
            Self::Other(write) => Pin::new(write).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(write) => Pin::new(write).poll_shutdown(cx),
            Self::Other(write) => Pin::new(write).poll_shutdown(cx),
        }
    }
}
