//! An upgraded WebSocket connection, split in two: tungstenite reads and decodes the client's
//! frames from one half; the connection's writer task frames what the server sends itself and
//! writes it to the other half.
//!
//! Server frames are framed by [`ws_frame`](crate::protocol::ws_frame): the writer copies a whole
//! batch into one buffer and writes it with one syscall, without tungstenite's per-message state
//! machine, locks or buffers. tungstenite still answers
//! pings and close frames on the read side: those bytes go into the connection's send queue like
//! any other frame ([`ControlIo`]).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio_tungstenite::tungstenite::error::CapacityError;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::WebSocketStream;

use crate::deflate::compress::MessageCompressor;
use crate::deflate::inflate::{InflatingReader, Refused};
use crate::deflate::offer::Agreement;
use crate::outbox::{OutFrame, Outbox};
use crate::read_ahead::ReadAhead;
use crate::stream::{StreamRead, StreamWrite};
use crate::writer::Writer;
use crate::DisconnectReason;

/// How long to wait for the client's close frame after ours, and for a hook after a hard stop.
pub(crate) const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Bytes read and discarded after a refused frame, so the close frame is not lost to a reset.
const MAX_DRAIN_BYTES: usize = 64 << 20;

/// The frame reader of a connection.
pub(crate) type WsReader = WebSocketStream<ControlIo>;

/// A freshly upgraded connection, not yet serving.
pub(crate) struct WsConn {
    read: ReadAhead<StreamRead>,
    write: StreamWrite,
    config: WebSocketConfig,
    /// permessage-deflate, when the upgrade agreed to it.
    deflate: Option<Agreement>,
}

impl WsConn {
    pub(crate) fn new(
        read: ReadAhead<StreamRead>,
        write: StreamWrite,
        config: WebSocketConfig,
        deflate: Option<Agreement>,
    ) -> Self {
        Self {
            read,
            write,
            config,
            deflate,
        }
    }

    /// The frame reader (whose pongs and close replies go to `outbox`, once bound), the write
    /// half for the writer task, and what compresses the server's messages when the upgrade
    /// agreed to permessage-deflate. (Made here: held by the caller across this await, it would
    /// sit in every connection's future.)
    pub(crate) async fn split(
        self,
        outbox: Option<Outbox>,
    ) -> (WsReader, StreamWrite, Option<MessageCompressor>) {
        let compressor = self.deflate.as_ref().map(MessageCompressor::new);
        let read = match &self.deflate {
            None => ClientFrames::Plain(self.read),
            Some(agreement) => {
                let max_message_size = self.config.max_message_size.unwrap_or(usize::MAX);
                ClientFrames::Inflating(Box::new(InflatingReader::new(
                    self.read,
                    agreement,
                    max_message_size,
                )))
            }
        };
        let io = ControlIo { read, outbox };
        let reader = WebSocketStream::from_raw_socket(io, Role::Server, Some(self.config)).await;
        (reader, self.write, compressor)
    }
}

/// What tungstenite reads from and writes to: reads come from the socket, writes (pongs, close
/// replies) are queued on the connection's outbox as ready-made frames.
pub(crate) struct ControlIo {
    read: ClientFrames,
    outbox: Option<Outbox>,
}

/// The client's frames: from the socket as they are, or with compressed messages inflated.
enum ClientFrames {
    Plain(ReadAhead<StreamRead>),
    /// Boxed: its buffers and state exist only on connections that agreed to compression.
    Inflating(Box<InflatingReader<ReadAhead<StreamRead>>>),
}

impl ControlIo {
    /// Sends tungstenite's control frames through `outbox` from now on.
    pub(crate) fn bind(&mut self, outbox: Outbox) {
        self.outbox = Some(outbox);
    }

    /// The socket itself, to drain after a refused frame: nothing more is inflated.
    pub(crate) fn socket(&mut self) -> &mut ReadAhead<StreamRead> {
        match &mut self.read {
            ClientFrames::Plain(read) => read,
            ClientFrames::Inflating(inflating) => inflating.raw(),
        }
    }
}

impl AsyncRead for ControlIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.get_mut().read {
            ClientFrames::Plain(read) => Pin::new(read).poll_read(cx, buf),
            ClientFrames::Inflating(inflating) => Pin::new(inflating.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ControlIo {
    /// tungstenite writes its whole output buffer (complete frames) in one call: it is queued as
    /// is. A closing connection refuses it, which is right: nothing follows our close.
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(outbox) = &self.outbox {
            let _ = outbox.push(OutFrame::Raw(Bytes::copy_from_slice(buf)));
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Why to close for a frame the server refuses, as `ws` does: over the size limit (1009, a
/// compressed message that inflates past it too), or a text frame that is not UTF-8 or
/// compressed data that does not inflate (1007). `None` for other read failures.
pub(crate) fn refused_frame(err: &WsError) -> Option<DisconnectReason> {
    match err {
        WsError::Capacity(CapacityError::MessageTooLong { .. }) => {
            Some(DisconnectReason::MessageTooBig)
        }
        WsError::Utf8(_) => Some(DisconnectReason::InvalidPayload),
        WsError::Io(err) => match Refused::of(err)? {
            Refused::TooBig => Some(DisconnectReason::MessageTooBig),
            Refused::Corrupt => Some(DisconnectReason::InvalidPayload),
        },
        _ => None,
    }
}

/// Stops `writer` once what is queued is written; after a refused frame (`reason`), lingers so
/// the client reads our close frame.
pub(crate) async fn finish(
    writer: Writer,
    reason: Option<DisconnectReason>,
    stream: &mut WsReader,
) {
    let Some(mut io) = writer.finish().await else {
        return;
    };
    if matches!(
        reason,
        Some(DisconnectReason::MessageTooBig | DisconnectReason::InvalidPayload)
    ) {
        Box::pin(linger(&mut io, stream.get_mut().socket(), CLOSE_GRACE)).await;
    }
}

/// Ends a connection whose close frame is written while the client may still be sending (a
/// refused frame): half-closes (the server ends the TCP connection, RFC 6455 §7.1.1), then reads
/// and discards what arrives until the client closes its side, so our close frame is not lost
/// to a reset. Bounded by `grace` and [`MAX_DRAIN_BYTES`].
pub(crate) async fn linger<W, R>(write: &mut W, read: &mut R, grace: Duration)
where
    W: AsyncWrite + Unpin,
    R: AsyncRead + Unpin,
{
    let _ = tokio::time::timeout(grace, async {
        let _ = write.shutdown().await;
        let mut buf = vec![0u8; 16 * 1024];
        let mut total = 0;
        while total < MAX_DRAIN_BYTES {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    })
    .await;
}
