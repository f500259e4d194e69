//! An upgraded WebSocket connection, split in two: tungstenite reads and decodes the client's
//! frames from one half; the connection's writer task frames what the server sends itself and
//! writes it to the other half.
//!
//! Server frames are unmasked, so framing one is a 2 to 10 byte header in front of the payload:
//! the writer copies a whole batch of frames into one buffer and writes it with one syscall,
//! without tungstenite's per-message state machine, locks or buffers. tungstenite still answers
//! pings and close frames on the read side: those bytes go into the connection's send queue like
//! any other frame ([`ControlIo`]).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio_tungstenite::tungstenite::error::CapacityError;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use crate::outbox::{OutFrame, Outbox};
use crate::read_ahead::ReadAhead;
use crate::stream::{StreamRead, StreamWrite};
use crate::DisconnectReason;

/// Bytes read and discarded after a refused frame, so the close frame is not lost to a reset.
const MAX_DRAIN_BYTES: usize = 64 << 20;

pub(crate) const OPCODE_TEXT: u8 = 0x1;
pub(crate) const OPCODE_BINARY: u8 = 0x2;
pub(crate) const OPCODE_CLOSE: u8 = 0x8;

/// The frame reader of a connection.
pub(crate) type WsReader = WebSocketStream<ControlIo>;

/// A freshly upgraded connection, not yet serving.
pub(crate) struct WsConn {
    read: ReadAhead<StreamRead>,
    write: StreamWrite,
    config: WebSocketConfig,
}

impl WsConn {
    pub(crate) fn new(
        read: ReadAhead<StreamRead>,
        write: StreamWrite,
        config: WebSocketConfig,
    ) -> Self {
        Self {
            read,
            write,
            config,
        }
    }

    /// The frame reader (whose pongs and close replies go to `outbox`, once bound) and the
    /// write half for the writer task.
    pub(crate) async fn split(self, outbox: Option<Outbox>) -> (WsReader, StreamWrite) {
        let io = ControlIo {
            read: self.read,
            outbox,
        };
        let reader = WebSocketStream::from_raw_socket(io, Role::Server, Some(self.config)).await;
        (reader, self.write)
    }
}

/// What tungstenite reads from and writes to: reads come from the socket, writes (pongs, close
/// replies) are queued on the connection's outbox as ready-made frames.
pub(crate) struct ControlIo {
    read: ReadAhead<StreamRead>,
    outbox: Option<Outbox>,
}

impl ControlIo {
    /// Sends tungstenite's control frames through `outbox` from now on.
    pub(crate) fn bind(&mut self, outbox: Outbox) {
        self.outbox = Some(outbox);
    }
}

impl AsyncRead for ControlIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().read).poll_read(cx, buf)
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

/// Why to close for a frame the server refuses, as `ws` does: over the size limit (1009), or a
/// text frame that is not UTF-8 (1007). `None` for other read failures.
pub(crate) fn refused_frame(err: &WsError) -> Option<DisconnectReason> {
    match err {
        WsError::Capacity(CapacityError::MessageTooLong { .. }) => {
            Some(DisconnectReason::MessageTooBig)
        }
        WsError::Utf8(_) => Some(DisconnectReason::InvalidPayload),
        _ => None,
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

/// Appends a final (unfragmented, unmasked) frame header for a payload of `len` bytes.
pub(crate) fn push_header(out: &mut Vec<u8>, opcode: u8, len: usize) {
    out.push(0x80 | opcode);
    if len < 126 {
        out.push(len as u8);
    } else if let Ok(len) = u16::try_from(len) {
        out.push(126);
        out.extend_from_slice(&len.to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
}

/// Appends a whole frame.
pub(crate) fn push_frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8]) {
    push_header(out, opcode, payload.len());
    out.extend_from_slice(payload);
}

/// A close frame without a status code (engine.io's `ws.close()`): see [`push_close`].
pub(crate) const CLOSE_WITHOUT_STATUS: CloseFrame = CloseFrame {
    code: CloseCode::Status,
    reason: Utf8Bytes::from_static(""),
};

/// Appends a close frame: the code, then the reason (cut to fit a control frame's 125 bytes).
/// Code 1005 ("no status", which RFC 6455 forbids on the wire) makes an empty close frame.
pub(crate) fn push_close(out: &mut Vec<u8>, frame: &CloseFrame) {
    if frame.code == CloseCode::Status {
        push_header(out, OPCODE_CLOSE, 0);
        return;
    }
    let reason = frame.reason.as_str();
    let mut cut = reason.len().min(123);
    while !reason.is_char_boundary(cut) {
        cut -= 1;
    }
    push_header(out, OPCODE_CLOSE, 2 + cut);
    out.extend_from_slice(&u16::from(frame.code).to_be_bytes());
    out.extend_from_slice(&reason.as_bytes()[..cut]);
}

/// Whether `frames` (ready-made, from tungstenite) start with a close frame.
pub(crate) fn is_close(frames: &[u8]) -> bool {
    frames.first().is_some_and(|b| b & 0x0f == OPCODE_CLOSE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_for_each_length_class() {
        let mut out = Vec::new();
        push_frame(&mut out, OPCODE_TEXT, b"hi");
        assert_eq!(out, [0x81, 2, b'h', b'i']);
        out.clear();
        push_header(&mut out, OPCODE_BINARY, 300);
        assert_eq!(out, [0x82, 126, 1, 44]);
        out.clear();
        push_header(&mut out, OPCODE_TEXT, 70_000);
        assert_eq!(out, [0x81, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
    }

    #[test]
    fn close_frames_carry_code_and_a_cut_reason() {
        let mut out = Vec::new();
        let frame = CloseFrame {
            code: CloseCode::Away,
            reason: "é".repeat(100).into(),
        };
        push_close(&mut out, &frame);
        assert_eq!(out[0], 0x88);
        let len = usize::from(out[1]);
        assert!(len <= 125);
        assert_eq!(&out[2..4], &1001u16.to_be_bytes());
        assert!(std::str::from_utf8(&out[4..]).is_ok());
        assert!(is_close(&out));
    }
}
