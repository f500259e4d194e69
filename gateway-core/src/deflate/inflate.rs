//! [`InflatingReader`]: the client's compressed messages inflated on their way to tungstenite,
//! which has no extension support and refuses a frame with RSV1 set.
//!
//! It reads the client's frames from the socket and hands tungstenite a stream of plain frames:
//! an uncompressed frame (control frames included) as it is, a compressed message as an opening
//! fragment, its inflated bytes in fragments of at most [`FRAGMENT`] bytes, and a closing
//! fragment. These frames are masked with a zero key (tungstenite requires masked client
//! frames), so their bytes need no masking. tungstenite then sees the message, and any misuse
//! of RSV1 or of fragmentation, exactly as if it had come uncompressed.
//!
//! Inflating is pulled by tungstenite's reads, one fragment at a time, and stops once the
//! message passes the size limit: a small compressed message that would inflate to gigabytes
//! (a zip bomb) is refused after inflating just past the limit ([`Refused::TooBig`], close
//! 1009). Compressed data that does not inflate is [`Refused::Corrupt`] (close 1007, as `ws`).

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use flate2::{Decompress, FlushDecompress, Status};
use tokio::io::{AsyncRead, ReadBuf};

use super::offer::Agreement;
use super::pending::{Pending, MASKED};
use crate::protocol::ws_frame::{self, OPCODE_BINARY, OPCODE_TEXT};

/// The most inflated bytes handed to tungstenite in one fragment.
pub(crate) const FRAGMENT: usize = 16 * 1024;
/// The most compressed bytes read from the socket at a time.
const INPUT_CHUNK: usize = 8 * 1024;
/// The most of an uncompressed frame's end passed on at a time (tungstenite reads 256 bytes).
const PASS_THROUGH_CHUNK: usize = 1024;
/// What RFC 7692 has the sender remove from each message, and the receiver put back.
const SYNC_FLUSH_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

const OPCODE_CONTINUATION: u8 = 0x0;
/// The longest frame header: 2 bytes, a 64-bit length, a mask key.
const MAX_HEADER: usize = 14;
const FIN: u8 = 0x80;
const RSV1: u8 = ws_frame::RSV1_COMPRESSED;

/// Why a compressed message was refused: carried in the `io::Error` tungstenite passes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refused {
    /// It inflates (or its compressed form runs) past the message size limit.
    #[error("compressed message over the size limit")]
    TooBig,
    /// It is not a valid deflate stream.
    #[error("compressed message does not inflate")]
    Corrupt,
}

impl Refused {
    /// The refusal `err` carries, if it is one.
    pub(crate) fn of(err: &io::Error) -> Option<Self> {
        err.get_ref()?.downcast_ref::<Self>().copied()
    }

    fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self)
    }
}

/// Reads client frames from `inner` and hands them on with compressed messages inflated.
pub(crate) struct InflatingReader<R> {
    inner: R,
    max_message_size: usize,
    /// Whether the client keeps its context between messages (so must the inflater).
    takeover: bool,
    /// Created on the first compressed message; without context takeover, dropped after each.
    inflater: Option<Decompress>,
    /// Bytes for tungstenite: a header, then a payload.
    out: Pending,
    step: Step,
    /// The compressed message being read, if any.
    message: Option<Message>,
    refused: Option<Refused>,
}

/// Where the reader is in the client's stream.
enum Step {
    /// Reading a frame header: `have` bytes of it so far.
    Header {
        bytes: [u8; MAX_HEADER],
        have: usize,
    },
    /// Handing an uncompressed frame's payload on as it is.
    PassThrough { left: u64 },
    /// Reading and inflating a compressed message's frame.
    Inflate {
        left: u64,
        mask: [u8; 4],
        mask_at: usize,
        fin: bool,
    },
}

/// A compressed message in progress.
struct Message {
    /// Inflated bytes so far, bounded by the message size limit.
    inflated: usize,
    /// Compressed bytes so far, bounded too.
    compressed: usize,
    /// Compressed bytes read (unmasked) and not yet taken by the inflater.
    input: Vec<u8>,
    input_at: usize,
    /// The inflater last filled its output: it may hold more.
    draining: bool,
    /// The final frame's tail (0x00 0x00 0xff 0xff) was given to the inflater.
    tail_given: bool,
    /// The client ended the deflate stream (a final block): the next message starts a new one.
    stream_ended: bool,
}

/// What one inflating step came to.
enum Progress {
    /// Something changed: go on.
    Continue,
    /// The client went away mid-message.
    Eof,
}

impl<R: AsyncRead + Unpin> InflatingReader<R> {
    pub(crate) fn new(inner: R, agreement: &Agreement, max_message_size: usize) -> Self {
        Self {
            inner,
            max_message_size,
            takeover: !agreement.client_no_context_takeover,
            inflater: None,
            out: Pending::default(),
            step: Step::Header {
                bytes: [0; MAX_HEADER],
                have: 0,
            },
            message: None,
            refused: None,
        }
    }

    /// The socket underneath, to drain past a refused frame without inflating it.
    pub(crate) fn raw(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The most compressed bytes one message may take: the size limit, plus what deflate may
    /// add to data it cannot compress (5 bytes per stored block) and to each fragment's flush.
    fn max_compressed(&self) -> usize {
        self.max_message_size
            .saturating_add(self.max_message_size / 64)
            .saturating_add(1024)
    }

    /// Reads on in the header; `true` once it is whole (and the next step is set), `false` if
    /// the client is gone.
    fn poll_header(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        let Step::Header { bytes, have } = &mut self.step else {
            return Poll::Ready(Ok(true));
        };
        loop {
            let needed = header_len(&bytes[..*have]);
            if *have == needed {
                break;
            }
            let mut read = ReadBuf::new(&mut bytes[*have..needed]);
            ready!(Pin::new(&mut self.inner).poll_read(cx, &mut read))?;
            match read.filled().len() {
                0 => return Poll::Ready(Ok(false)),
                n => *have += n,
            }
        }
        let header = *bytes;
        let len = *have;
        self.start_frame(&header[..len])?;
        Poll::Ready(Ok(true))
    }

    /// Decides what to do with the frame whose whole `header` was read.
    fn start_frame(&mut self, header: &[u8]) -> io::Result<()> {
        let (first, second) = (header[0], header[1]);
        let opcode = first & 0x0f;
        let masked = second & MASKED != 0;
        let len = payload_len(header);
        let compressed_start = first & RSV1 != 0
            && matches!(opcode, OPCODE_TEXT | OPCODE_BINARY)
            && self.message.is_none();
        let compressed_more =
            first & RSV1 == 0 && opcode == OPCODE_CONTINUATION && self.message.is_some();
        if !masked || !(compressed_start || compressed_more) {
            // Anything else goes to tungstenite as it is, misuse of RSV1 included: it refuses
            // that as it refuses any other protocol error.
            self.out.set_header(header);
            self.step = Step::PassThrough { left: len };
            return Ok(());
        }
        if compressed_start {
            self.message = Some(Message {
                inflated: 0,
                compressed: 0,
                input: Vec::new(),
                input_at: 0,
                draining: false,
                tail_given: false,
                stream_ended: false,
            });
            // The opening fragment: from now on tungstenite is inside a fragmented message,
            // and refuses a data frame that is not a continuation.
            self.out.refill();
            self.out.set_fragment(false, opcode, 0);
        }
        let max_compressed = self.max_compressed();
        let message = self
            .message
            .as_mut()
            .ok_or_else(|| Refused::Corrupt.into_io())?;
        let total = usize::try_from(len)
            .ok()
            .and_then(|len| message.compressed.checked_add(len));
        match total {
            Some(total) if total <= max_compressed => message.compressed = total,
            _ => return Err(self.refuse(Refused::TooBig)),
        }
        let mut mask = [0u8; 4];
        mask.copy_from_slice(&header[header.len() - 4..]);
        self.step = Step::Inflate {
            left: len,
            mask,
            mask_at: 0,
            fin: first & FIN != 0,
        };
        Ok(())
    }

    fn refuse(&mut self, refused: Refused) -> io::Error {
        self.refused = Some(refused);
        self.message = None;
        self.inflater = None;
        refused.into_io()
    }

    /// One step of a compressed frame: inflate what is read, read more, or end the frame.
    fn poll_inflate(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Progress>> {
        let Step::Inflate {
            left,
            mask,
            mask_at,
            fin,
        } = &mut self.step
        else {
            return Poll::Ready(Ok(Progress::Continue));
        };
        let Some(message) = self.message.as_mut() else {
            return Poll::Ready(Err(Refused::Corrupt.into_io()));
        };
        if message.input_at < message.input.len() || message.draining {
            // One byte past the limit is enough to know it is over.
            let room = FRAGMENT.min(
                self.max_message_size
                    .saturating_add(1)
                    .saturating_sub(message.inflated),
            );
            let inflater = self.inflater.get_or_insert_with(|| Decompress::new(false));
            match inflate(inflater, message, self.out.refill(), room) {
                // Input taken without output yet (`inflate` refuses a stream that stalls).
                Ok(0) if message.input_at < message.input.len() => {
                    return Poll::Ready(Ok(Progress::Continue))
                }
                Ok(0) => {}
                Ok(produced) => {
                    message.inflated += produced;
                    if message.inflated > self.max_message_size {
                        return Poll::Ready(Err(self.refuse(Refused::TooBig)));
                    }
                    self.out.set_fragment(false, OPCODE_CONTINUATION, produced);
                    return Poll::Ready(Ok(Progress::Continue));
                }
                Err(refused) => return Poll::Ready(Err(self.refuse(refused))),
            }
        }
        if *left > 0 {
            let want = usize::try_from(*left)
                .unwrap_or(usize::MAX)
                .min(INPUT_CHUNK);
            message.input.clear();
            message.input_at = 0;
            message.input.resize(want, 0);
            let mut read = ReadBuf::new(&mut message.input);
            let polled = Pin::new(&mut self.inner).poll_read(cx, &mut read);
            let n = match polled {
                Poll::Ready(Ok(())) => read.filled().len(),
                other => {
                    message.input.clear();
                    return other.map_ok(|()| Progress::Continue);
                }
            };
            message.input.truncate(n);
            if n == 0 {
                return Poll::Ready(Ok(Progress::Eof));
            }
            for (i, byte) in message.input.iter_mut().enumerate() {
                *byte ^= mask[(*mask_at + i) % 4];
            }
            *mask_at = (*mask_at + n) % 4;
            *left -= n as u64;
            return Poll::Ready(Ok(Progress::Continue));
        }
        if !*fin {
            self.step = Step::Header {
                bytes: [0; MAX_HEADER],
                have: 0,
            };
            return Poll::Ready(Ok(Progress::Continue));
        }
        if !message.tail_given {
            message.tail_given = true;
            message.input.clear();
            message.input.extend_from_slice(&SYNC_FLUSH_TAIL);
            message.input_at = 0;
            return Poll::Ready(Ok(Progress::Continue));
        }
        // The whole message is inflated: close it for tungstenite.
        let stream_ended = message.stream_ended;
        self.message = None;
        self.out.release_payload();
        self.out.set_fragment(true, OPCODE_CONTINUATION, 0);
        if !self.takeover {
            self.inflater = None;
        } else if stream_ended {
            if let Some(inflater) = &mut self.inflater {
                inflater.reset(false);
            }
        }
        self.step = Step::Header {
            bytes: [0; MAX_HEADER],
            have: 0,
        };
        Poll::Ready(Ok(Progress::Continue))
    }

    /// Hands on up to `out.remaining()` bytes of an uncompressed frame's payload.
    fn poll_pass_through(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let Step::PassThrough { left } = &mut self.step else {
            return Poll::Ready(Ok(()));
        };
        let n = if out.remaining() as u64 <= *left {
            // The frame goes on past what `out` takes: read straight into it.
            let before = out.filled().len();
            ready!(Pin::new(&mut self.inner).poll_read(cx, out))?;
            out.filled().len() - before
        } else {
            // The frame ends first: through the stack, as `out` cannot be limited without
            // unsafe code and the next frame's header must not be handed on unread.
            let mut scratch = [0u8; PASS_THROUGH_CHUNK];
            let want = usize::try_from(*left)
                .map_or(PASS_THROUGH_CHUNK, |left| left.min(PASS_THROUGH_CHUNK));
            let mut read = ReadBuf::new(&mut scratch[..want]);
            ready!(Pin::new(&mut self.inner).poll_read(cx, &mut read))?;
            out.put_slice(read.filled());
            read.filled().len()
        };
        *left -= n as u64;
        if *left == 0 {
            self.step = Step::Header {
                bytes: [0; MAX_HEADER],
                have: 0,
            };
        }
        Poll::Ready(Ok(()))
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for InflatingReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(refused) = this.refused {
            return Poll::Ready(Err(refused.into_io()));
        }
        if out.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            if !this.out.is_empty() {
                this.out.serve(out);
                return Poll::Ready(Ok(()));
            }
            match this.step {
                Step::Header { .. } => {
                    if !ready!(this.poll_header(cx))? {
                        return Poll::Ready(Ok(())); // the client is gone
                    }
                }
                Step::PassThrough { left: 0 } => {
                    this.step = Step::Header {
                        bytes: [0; MAX_HEADER],
                        have: 0,
                    };
                }
                Step::PassThrough { .. } => return this.poll_pass_through(cx, out),
                Step::Inflate { .. } => match ready!(this.poll_inflate(cx))? {
                    Progress::Continue => {}
                    Progress::Eof => return Poll::Ready(Ok(())),
                },
            }
        }
    }
}

/// The whole length of a header that starts with `start` (the first 2 bytes tell).
fn header_len(start: &[u8]) -> usize {
    let Some(&second) = start.get(1) else {
        return 2;
    };
    let length_bytes = match second & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let mask_bytes = if second & MASKED != 0 { 4 } else { 0 };
    2 + length_bytes + mask_bytes
}

/// The payload length a whole `header` gives.
fn payload_len(header: &[u8]) -> u64 {
    match header[1] & 0x7f {
        126 => u64::from(u16::from_be_bytes([header[2], header[3]])),
        127 => {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&header[2..10]);
            u64::from_be_bytes(bytes)
        }
        len => u64::from(len),
    }
}

/// Inflates `message`'s unread input into `out` (empty), at most `room` bytes. Returns how many
/// bytes came out.
fn inflate(
    inflater: &mut Decompress,
    message: &mut Message,
    out: &mut Vec<u8>,
    room: usize,
) -> Result<usize, Refused> {
    out.clear();
    out.resize(room, 0);
    let (before_in, before_out) = (inflater.total_in(), inflater.total_out());
    let input = message.input.get(message.input_at..).unwrap_or_default();
    let status = inflater.decompress(input, out, FlushDecompress::None);
    let consumed =
        usize::try_from(inflater.total_in() - before_in).map_err(|_| Refused::Corrupt)?;
    let produced =
        usize::try_from(inflater.total_out() - before_out).map_err(|_| Refused::Corrupt)?;
    out.truncate(produced);
    message.input_at += consumed;
    match status {
        Err(_) => return Err(Refused::Corrupt),
        Ok(Status::StreamEnd) => {
            // A final block: whatever follows it (the tail we put back) is not inflated.
            message.stream_ended = true;
            message.input_at = message.input.len();
        }
        Ok(Status::Ok | Status::BufError) => {}
    }
    let unread = message.input_at < message.input.len();
    if produced == 0 && consumed == 0 && unread && room > 0 {
        // Input left, room left, and nothing moves: the stream is broken.
        return Err(Refused::Corrupt);
    }
    message.draining = produced == room && room > 0;
    Ok(produced)
}

#[cfg(test)]
#[path = "inflate_tests.rs"]
mod tests;
