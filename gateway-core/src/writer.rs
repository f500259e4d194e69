//! A connection's writer task: drains its [`Outbox`] into the socket, a whole batch of frames
//! per syscall, until a close is sent, the socket fails, or it is told to stop.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_util::sync::CancellationToken;

use crate::outbox::{OutFrame, Outbox, OutboxReceiver};
use crate::protocol::ws_frame;
use crate::rarely_ready::RarelyReady;
use crate::stream::StreamWrite;

/// How long a close frame may take to reach a client that has stopped reading.
const CLOSE_WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the rest of the queue may take to reach a client once the connection is over.
const FINISH_TIMEOUT: Duration = Duration::from_secs(5);

/// A running writer task.
pub(crate) struct Writer {
    task: JoinHandle<StreamWrite>,
    stop: CancellationToken,
}

impl Writer {
    /// Starts writing what `rx` takes to `io`.
    pub(crate) fn spawn(io: StreamWrite, rx: OutboxReceiver, outbox: Outbox) -> Self {
        let stop = CancellationToken::new();
        let task = tokio::spawn(write_loop(io, rx, outbox, stop.clone()));
        Self { task, stop }
    }

    /// Writes out what is queued (and nothing queued later), then returns the write half.
    /// A client that stops reading gets [`FINISH_TIMEOUT`]; then the writer is dropped.
    pub(crate) async fn finish(mut self) -> Option<StreamWrite> {
        self.stop.cancel();
        match tokio::time::timeout(FINISH_TIMEOUT, &mut self.task).await {
            Ok(io) => io.ok(),
            Err(_) => {
                self.task.abort();
                None
            }
        }
    }
}

/// Writes what `rx` takes to the socket until a close is sent, the socket fails, or `stop` is
/// cancelled with the queue empty. Returns the write half so the caller can finish the
/// connection.
///
/// Each batch of queued frames is framed into one buffer and written with one syscall (a
/// stalled client is noticed when a forced close arrives mid-write).
async fn write_loop<W>(
    mut io: W,
    mut rx: OutboxReceiver,
    outbox: Outbox,
    stop: CancellationToken,
) -> W
where
    W: AsyncWrite + Unpin,
{
    let mut writer = FrameWriter::default();
    // Built once (a future per batch would register and unregister its waker every time), and
    // gated: polled again only once one of them woke the task.
    let gates = RarelyReady::new();
    let forced = gates.gate(outbox.forced());
    let stopped = gates.gate(stop.cancelled());
    tokio::pin!(forced, stopped);
    loop {
        // A forced close drops what is queued: checked before the queue (it always marks the
        // outbox closing first, so the usual case costs one atomic load).
        if outbox.is_closing() && outbox.is_forced() {
            let frame = outbox.take_forced_frame();
            writer.close_after_current(&frame);
            let _ = tokio::time::timeout(CLOSE_WRITE_TIMEOUT, writer.write_out(&mut io)).await;
            break;
        }
        tokio::select! {
            biased;
            frames = rx.recv_all() => {
                let done = writer.frame(frames, &outbox);
                let written = tokio::select! {
                    biased;
                    // A stalled client must not keep the writer from noticing a forced close.
                    _ = &mut forced => continue,
                    written = writer.write_out(&mut io) => written,
                };
                if written.is_err() || done {
                    break;
                }
            }
            _ = &mut forced => {} // handled at the loop top
            _ = &mut stopped => {
                if !writer.close_sent {
                    // As tungstenite's `close()`: a close frame without a code.
                    writer.buf.extend_from_slice(&[0x80 | ws_frame::OPCODE_CLOSE, 0]);
                }
                let _ = tokio::time::timeout(CLOSE_WRITE_TIMEOUT, async {
                    let _ = writer.write_out(&mut io).await;
                    let _ = io.shutdown().await;
                })
                .await;
                break;
            }
        }
    }
    outbox.finish_writing();
    io
}

/// Frames queued frames into one buffer and writes it out, remembering how much was written.
#[derive(Default)]
struct FrameWriter {
    buf: Vec<u8>,
    /// Bytes of `buf` already written.
    written: usize,
    close_sent: bool,
    /// Cancelled once the buffer is written out.
    on_written: Vec<CancellationToken>,
}

impl FrameWriter {
    /// Frames `frames` after what is still unwritten. Returns true once a close frame is framed
    /// (nothing after it is sent).
    fn frame(&mut self, frames: impl IntoIterator<Item = OutFrame>, outbox: &Outbox) -> bool {
        for frame in frames {
            outbox.sent(&frame);
            match frame {
                OutFrame::Text(text) => {
                    ws_frame::push_frame(&mut self.buf, ws_frame::OPCODE_TEXT, text.as_bytes())
                }
                OutFrame::Binary(bytes) => {
                    ws_frame::push_frame(&mut self.buf, ws_frame::OPCODE_BINARY, &bytes)
                }
                OutFrame::Attached(text, bins) => {
                    ws_frame::push_frame(&mut self.buf, ws_frame::OPCODE_TEXT, text.as_bytes());
                    for bin in bins.iter() {
                        ws_frame::push_frame(&mut self.buf, ws_frame::OPCODE_BINARY, bin);
                    }
                }
                OutFrame::Raw(frames) => {
                    self.buf.extend_from_slice(&frames);
                    if ws_frame::is_close(&frames) {
                        self.close_sent = true;
                        return true;
                    }
                }
                OutFrame::Close(frame) => {
                    ws_frame::push_close(&mut self.buf, &frame);
                    self.close_sent = true;
                    return true;
                }
                OutFrame::Written(signal) => self.on_written.push(signal),
            }
        }
        self.close_sent
    }

    /// Replaces what is framed but unwritten with a close frame; a write in progress (a frame
    /// may be half sent) is finished first, with the rest of its batch.
    fn close_after_current(&mut self, frame: &CloseFrame) {
        if self.written == 0 {
            // Nothing of it is out yet, a close it may hold included.
            self.buf.clear();
            self.close_sent = false;
        }
        if !self.close_sent {
            ws_frame::push_close(&mut self.buf, frame);
            self.close_sent = true;
        }
    }

    /// Writes the buffer out; an idle connection then keeps no write buffer.
    async fn write_out<W: AsyncWrite + Unpin>(&mut self, io: &mut W) -> io::Result<()> {
        while self.written < self.buf.len() {
            match io.write(&self.buf[self.written..]).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => self.written += n,
            }
        }
        // A no-op on TCP; TLS sends its buffered records.
        io.flush().await?;
        self.buf = Vec::new();
        self.written = 0;
        for signal in self.on_written.drain(..) {
            signal.cancel();
        }
        Ok(())
    }
}
