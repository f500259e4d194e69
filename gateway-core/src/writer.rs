//! A connection's writer task: drains its [`Outbox`] into the socket, a whole batch of frames
//! per syscall, until a close is sent, the socket fails, or it is told to stop.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_util::sync::CancellationToken;

use crate::deflate::compress::MessageCompressor;
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
    /// Starts writing what `rx` takes to `io`, compressing messages with `compressor` when the
    /// connection agreed to permessage-deflate.
    pub(crate) fn spawn(
        io: StreamWrite,
        rx: OutboxReceiver,
        outbox: Outbox,
        compressor: Option<MessageCompressor>,
    ) -> Self {
        let stop = CancellationToken::new();
        let compressor = compressor.map(Box::new);
        let task = tokio::spawn(write_loop(io, rx, outbox, stop.clone(), compressor));
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
    compressor: Option<Box<MessageCompressor>>,
) -> W
where
    W: AsyncWrite + Unpin,
{
    // Built here, not passed in: an async fn's arguments keep a slot of their own beside the
    // local they are moved to, and this future lives as long as the connection.
    let mut writer = FrameWriter {
        compressor,
        ..FrameWriter::default()
    };
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
            // Boxed, as below: the connection's last moments need not size its whole life.
            let _ = Box::pin(tokio::time::timeout(
                CLOSE_WRITE_TIMEOUT,
                writer.write_out(&mut io),
            ))
            .await;
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
                let _ = Box::pin(tokio::time::timeout(CLOSE_WRITE_TIMEOUT, async {
                    let _ = writer.write_out(&mut io).await;
                    let _ = io.shutdown().await;
                }))
                .await;
                break;
            }
        }
    }
    outbox.finish_writing();
    io
}

/// Payloads of at least this many bytes are written from where they are (`writev`), not copied
/// into the write buffer: a copy this large may be slow (see `protocol::push_payload`), and a
/// broadcast's payload is then shared by every socket it reaches.
const SHARED_PAYLOAD: usize = 2 * 1024;
/// The most slices one `writev` is given (a batch of many large payloads takes several).
const MAX_SLICES: usize = 64;

/// Frames queued frames into one buffer and writes it out, remembering how much was written.
#[derive(Default)]
struct FrameWriter {
    /// Headers and small payloads, copied.
    buf: Vec<u8>,
    /// Large payloads, each written after the first `.0` bytes of `buf`.
    shared: Vec<(usize, Bytes)>,
    /// Bytes written of the whole: `buf` with `shared` between its parts.
    written: usize,
    close_sent: bool,
    /// Cancelled once the buffer is written out.
    on_written: Vec<CancellationToken>,
    /// Compresses messages, on a connection that agreed to permessage-deflate. Boxed: the
    /// writer of every other connection pays one word for it.
    compressor: Option<Box<MessageCompressor>>,
}

impl FrameWriter {
    /// Frames `frames` after what is still unwritten. Returns true once a close frame is framed
    /// (nothing after it is sent).
    fn frame(&mut self, frames: impl IntoIterator<Item = OutFrame>, outbox: &Outbox) -> bool {
        for frame in frames {
            outbox.sent(&frame);
            match frame {
                OutFrame::Text(text) => self.push_message(ws_frame::OPCODE_TEXT, text.into()),
                OutFrame::Binary(bytes) => self.push_message(ws_frame::OPCODE_BINARY, bytes),
                OutFrame::Attached(text, bins) => {
                    self.push_message(ws_frame::OPCODE_TEXT, text.into());
                    for bin in bins.iter() {
                        self.push_message(ws_frame::OPCODE_BINARY, bin.clone());
                    }
                }
                OutFrame::Uncompressed(text, bins) => {
                    self.push_frame(ws_frame::OPCODE_TEXT, text.into());
                    for bin in bins.iter() {
                        self.push_frame(ws_frame::OPCODE_BINARY, bin.clone());
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

    /// Frames one message, compressed when the connection agreed to it and it is long enough.
    fn push_message(&mut self, opcode: u8, payload: Bytes) {
        let compressed = self
            .compressor
            .as_mut()
            .and_then(|compressor| compressor.compress(&payload));
        match compressed {
            Some(compressed) => self.push_payload(
                ws_frame::first_byte(opcode) | ws_frame::RSV1_COMPRESSED,
                compressed.into(),
            ),
            None => self.push_frame(opcode, payload),
        }
    }

    /// Frames one payload as it is.
    fn push_frame(&mut self, opcode: u8, payload: Bytes) {
        self.push_payload(ws_frame::first_byte(opcode), payload);
    }

    /// Frames one payload after a header starting with `first_byte`: copied when small, shared
    /// when large.
    fn push_payload(&mut self, first_byte: u8, payload: Bytes) {
        ws_frame::push_header_with(&mut self.buf, first_byte, payload.len());
        if payload.len() < SHARED_PAYLOAD {
            self.buf.extend_from_slice(&payload);
        } else {
            self.shared.push((self.buf.len(), payload));
        }
    }

    /// Replaces what is framed but unwritten with a close frame; a write in progress (a frame
    /// may be half sent) is finished first, with the rest of its batch.
    fn close_after_current(&mut self, frame: &CloseFrame) {
        if self.written == 0 {
            // Nothing of it is out yet, a close it may hold included.
            self.buf.clear();
            self.shared.clear();
            self.close_sent = false;
        }
        if !self.close_sent {
            ws_frame::push_close(&mut self.buf, frame);
            self.close_sent = true;
        }
    }

    /// Bytes framed in all.
    fn len(&self) -> usize {
        self.buf.len()
            + self
                .shared
                .iter()
                .map(|(_, payload)| payload.len())
                .sum::<usize>()
    }

    /// The unwritten bytes, in order, as up to [`MAX_SLICES`] slices into `slices`; returns how
    /// many.
    fn unwritten<'a>(&'a self, slices: &mut [IoSlice<'a>; MAX_SLICES]) -> usize {
        let mut skip = self.written;
        let mut count = 0;
        let mut push = |piece: &'a [u8]| {
            if skip >= piece.len() {
                skip -= piece.len();
            } else if count < MAX_SLICES {
                slices[count] = IoSlice::new(&piece[skip..]);
                skip = 0;
                count += 1;
            }
        };
        let mut from = 0;
        for (at, payload) in &self.shared {
            push(&self.buf[from..*at]);
            push(payload);
            from = *at;
        }
        push(&self.buf[from..]);
        count
    }

    /// Writes the buffer out; an idle connection then keeps no write buffer.
    async fn write_out<W: AsyncWrite + Unpin>(&mut self, io: &mut W) -> io::Result<()> {
        let len = self.len();
        while self.written < len {
            let n = if self.shared.is_empty() {
                io.write(&self.buf[self.written..]).await?
            } else {
                // The slices are built on each poll: held across the await, they would make
                // every connection's writer future 1 KiB larger.
                std::future::poll_fn(|cx| {
                    let mut slices = [IoSlice::new(&[]); MAX_SLICES];
                    let count = self.unwritten(&mut slices);
                    Pin::new(&mut *io).poll_write_vectored(cx, &slices[..count])
                })
                .await?
            };
            match n {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => self.written += n,
            }
        }
        // A no-op on TCP; TLS sends its buffered records.
        io.flush().await?;
        self.buf = Vec::new();
        self.shared = Vec::new();
        self.written = 0;
        for signal in self.on_written.drain(..) {
            signal.cancel();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::task::{Context, Poll};

    use tokio_tungstenite::tungstenite::Utf8Bytes;

    use super::*;
    use crate::outbox::CloseStyle;

    /// Takes at most `step` bytes per write, vectored or not, as a socket with a full buffer.
    struct Trickle {
        out: Vec<u8>,
        step: usize,
        vectored: bool,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let n = buf.len().min(self.step);
            self.get_mut().out.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }

        fn poll_write_vectored(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            let this = self.get_mut();
            if !this.vectored {
                let first = bufs
                    .iter()
                    .find(|b| !b.is_empty())
                    .map_or(&[][..], |b| &b[..]);
                return Pin::new(this).poll_write(cx, first);
            }
            let mut left = this.step;
            for buf in bufs {
                let n = buf.len().min(left);
                this.out.extend_from_slice(&buf[..n]);
                left -= n;
            }
            Poll::Ready(Ok(this.step - left))
        }

        fn is_write_vectored(&self) -> bool {
            self.vectored
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn frames() -> Vec<OutFrame> {
        let large = |fill: char| Utf8Bytes::from(fill.to_string().repeat(SHARED_PAYLOAD + 7));
        vec![
            OutFrame::Text(large('a')),
            OutFrame::Text(Utf8Bytes::from_static("small")),
            OutFrame::Binary(Bytes::from(vec![1u8; 70_000])),
            OutFrame::Attached(large('b'), vec![Bytes::from_static(b"bin")].into()),
            OutFrame::Text(large('c')),
        ]
    }

    /// The frames one after another, each copied: what the wire must carry.
    fn expected() -> Vec<u8> {
        let mut out = Vec::new();
        for frame in frames() {
            match frame {
                OutFrame::Text(text) => {
                    ws_frame::push_frame(&mut out, ws_frame::OPCODE_TEXT, text.as_bytes())
                }
                OutFrame::Binary(bytes) => {
                    ws_frame::push_frame(&mut out, ws_frame::OPCODE_BINARY, &bytes)
                }
                OutFrame::Attached(text, bins) => {
                    ws_frame::push_frame(&mut out, ws_frame::OPCODE_TEXT, text.as_bytes());
                    for bin in bins.iter() {
                        ws_frame::push_frame(&mut out, ws_frame::OPCODE_BINARY, bin);
                    }
                }
                _ => unreachable!(),
            }
        }
        out
    }

    #[tokio::test]
    async fn large_payloads_are_written_in_order_through_partial_writes() {
        let (outbox, _rx) = Outbox::new(16, usize::MAX, CloseStyle::Coded);
        for vectored in [true, false] {
            for step in [1, 3, 4096, 5000, 1 << 20] {
                let mut writer = FrameWriter::default();
                writer.frame(frames(), &outbox);
                assert_eq!(writer.shared.len(), 4, "the large payloads are not copied");
                let mut io = Trickle {
                    out: Vec::new(),
                    step,
                    vectored,
                };
                writer.write_out(&mut io).await.unwrap();
                assert!(
                    io.out == expected(),
                    "vectored {vectored}, {step} bytes a write"
                );
                assert_eq!((writer.buf.capacity(), writer.shared.capacity()), (0, 0));
            }
        }
    }

    #[test]
    fn a_batch_of_many_large_payloads_is_given_at_most_max_slices_at_a_time() {
        let (outbox, _rx) = Outbox::new(1000, usize::MAX, CloseStyle::Coded);
        let payload = Bytes::from(vec![0u8; SHARED_PAYLOAD]);
        let mut writer = FrameWriter::default();
        writer.frame((0..100).map(|_| OutFrame::Binary(payload.clone())), &outbox);
        assert_eq!(
            writer.unwritten(&mut [IoSlice::new(&[]); MAX_SLICES]),
            MAX_SLICES
        );
        writer.written = writer.len() - 1;
        let mut slices = [IoSlice::new(&[]); MAX_SLICES];
        assert_eq!(writer.unwritten(&mut slices), 1);
        assert_eq!(slices[0].len(), 1);
    }
}
