//! A connection's bounded send queue and the writer task that drains it.
//!
//! Everything sent to a socket (replies, emits, broadcasts, the close frame) goes through one
//! bounded queue, bounded in frames and in bytes. Producers never wait: a full queue closes the
//! connection (a client that cannot keep up is disconnected rather than buffered without bound),
//! or, for a gateway that says so, drops the frame.
//! One writer task per connection ([`writer`](crate::writer)) takes everything queued at once
//! and writes it with one syscall. The queue holds no memory while it is empty: most connections are idle most of the
//! time.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::Poll;

use bytes::Bytes;
use futures_util::task::AtomicWaker;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_util::sync::CancellationToken;

use crate::{DisconnectReason, FullQueue};

/// One frame (or group of frames) waiting to be written.
#[derive(Debug, Clone)]
pub(crate) enum OutFrame {
    Text(Utf8Bytes),
    /// A binary frame (an Engine.IO binary message; only the conformance echo sends one).
    #[cfg_attr(not(feature = "conformance"), allow(dead_code))]
    Binary(Bytes),
    /// A text frame and the binary frames that belong to it (a Socket.IO packet with binary
    /// attachments), queued as one so no other frame can come between them.
    Attached(Utf8Bytes, Arc<[Bytes]>),
    Close(CloseFrame),
    /// Frames tungstenite made (pongs, the reply to a client's close), written as they are.
    Raw(Bytes),
    /// Not a frame: cancelled once everything queued before it is written (or taken by a
    /// long-polling response).
    Written(CancellationToken),
}

impl OutFrame {
    /// The bytes this frame counts against the queue's byte bound.
    pub(crate) fn queued_len(&self) -> usize {
        match self {
            OutFrame::Text(text) => text.len(),
            OutFrame::Binary(bytes) => bytes.len(),
            OutFrame::Attached(text, bins) => {
                text.len() + bins.iter().map(Bytes::len).sum::<usize>()
            }
            OutFrame::Close(_) | OutFrame::Written(_) => 0,
            OutFrame::Raw(bytes) => bytes.len(),
        }
    }
}

/// Why a frame was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushError {
    /// The connection is closing or closed.
    Closed,
    /// The queue was over its bound; the connection is being closed.
    Full,
    /// Dropped, the connection left open: the queue was over its bound under
    /// [`FullQueue::DropNewest`], or not empty for a volatile frame.
    Dropped,
}

/// The producer side of a connection's send queue. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Outbox(Arc<Inner>);

struct Inner {
    /// Emptied (and its memory released) by each take.
    queue: Mutex<Frames>,
    capacity: usize,
    /// The consumer waiting for frames.
    consumer: AtomicWaker,
    queued_bytes: AtomicUsize,
    max_queued_bytes: usize,
    /// Set once a close is queued or forced: nothing more is accepted.
    closing: AtomicBool,
    /// The writer drops what is queued and closes with `forced_frame`.
    force: CancellationToken,
    forced_frame: Mutex<Option<CloseFrame>>,
    /// Cancelled when the writer has finished (close sent, or the socket failed).
    writer_done: CancellationToken,
    reason: OnceLock<DisconnectReason>,
    /// How this connection's close frames look.
    closing_style: CloseStyle,
}

/// How a connection says why the server closed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloseStyle {
    /// The JSON format: the reason's close code, no reason text (as `ws`'s `close(code)`).
    Coded,
    /// Engine.IO: no status code (as engine.io's `ws.close()`), except for the limits a client
    /// can act on: 1009 (message too big), 1007 (invalid UTF-8) and 1008 (send queue full).
    EngineIo,
}

impl Outbox {
    /// A queue of at most `capacity` frames and `max_queued_bytes` bytes, and its consumer.
    pub(crate) fn new(
        capacity: usize,
        max_queued_bytes: usize,
        closing_style: CloseStyle,
    ) -> (Self, OutboxReceiver) {
        let inner = Inner {
            queue: Mutex::new(Frames::default()),
            capacity: capacity.max(1),
            consumer: AtomicWaker::new(),
            queued_bytes: AtomicUsize::new(0),
            max_queued_bytes,
            closing: AtomicBool::new(false),
            force: CancellationToken::new(),
            forced_frame: Mutex::new(None),
            writer_done: CancellationToken::new(),
            reason: OnceLock::new(),
            closing_style,
        };
        let inner = Arc::new(inner);
        (Self(inner.clone()), OutboxReceiver(inner))
    }

    /// Queues a text frame without waiting.
    pub(crate) fn push_text(&self, text: Utf8Bytes) -> Result<(), PushError> {
        self.push(OutFrame::Text(text))
    }

    /// Queues a frame (not a close) without waiting; a full queue closes the connection.
    pub(crate) fn push(&self, frame: OutFrame) -> Result<(), PushError> {
        self.push_when_full(frame, FullQueue::Disconnect)
    }

    /// Queues a frame (not a close) without waiting; `when_full` says what a full queue does.
    pub(crate) fn push_when_full(
        &self,
        frame: OutFrame,
        when_full: FullQueue,
    ) -> Result<(), PushError> {
        if self.0.closing.load(Ordering::Acquire) {
            return Err(PushError::Closed);
        }
        let len = frame.queued_len();
        let queued = self.0.queued_bytes.fetch_add(len, Ordering::AcqRel) + len;
        let queued = queued <= self.0.max_queued_bytes && self.try_enqueue(frame);
        if queued {
            return Ok(());
        }
        self.0.queued_bytes.fetch_sub(len, Ordering::AcqRel);
        match when_full {
            FullQueue::Disconnect => {
                self.force_close(DisconnectReason::SlowConsumer);
                Err(PushError::Full)
            }
            FullQueue::DropNewest => Err(PushError::Dropped),
        }
    }

    /// Queues a volatile frame (socket.io's `volatile`): only when nothing is waiting to be
    /// written, else it is dropped.
    pub(crate) fn push_volatile(&self, frame: OutFrame) -> Result<(), PushError> {
        if self.0.closing.load(Ordering::Acquire) {
            return Err(PushError::Closed);
        }
        if self.0.queued_bytes.load(Ordering::Acquire) > 0 {
            return Err(PushError::Dropped);
        }
        self.push_when_full(frame, FullQueue::DropNewest)
    }

    /// Appends `frame` unless the queue holds `capacity` frames; wakes the consumer.
    fn try_enqueue(&self, frame: OutFrame) -> bool {
        let mut queue = self.0.lock_queue();
        if queue.len() >= self.0.capacity {
            return false;
        }
        queue.push(frame);
        drop(queue);
        self.0.consumer.wake();
        true
    }

    /// Resolves once everything queued so far is written to the socket (taken, on
    /// long-polling), or the connection is closing. As Engine.IO's `writable`: what is queued
    /// after this leaves in a later write.
    pub(crate) async fn written(&self) {
        let signal = CancellationToken::new();
        if self.push(OutFrame::Written(signal.clone())).is_err() {
            return;
        }
        tokio::select! {
            _ = signal.cancelled() => {}
            _ = self.writer_done() => {}
            _ = self.forced() => {}
        }
    }

    /// Accounts for `frame`, taken off the queue by a long-polling response.
    pub(crate) fn sent(&self, frame: &OutFrame) {
        self.0
            .queued_bytes
            .fetch_sub(frame.queued_len(), Ordering::AcqRel);
    }

    /// Resolves when a close has been forced (the queue is to be dropped).
    pub(crate) fn forced(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.0.force.cancelled()
    }

    /// Marks the connection written to the end, for transports without a writer task
    /// (long-polling hands the close packet to the client in a response).
    pub(crate) fn finish_writing(&self) {
        self.seal();
        self.0.writer_done.cancel();
    }

    /// Queues a close frame after what is already queued, and refuses anything after it.
    pub(crate) fn close(&self, reason: DisconnectReason) {
        let _ = self.0.reason.set(reason);
        if self.0.closing.swap(true, Ordering::AcqRel) {
            return;
        }
        if !self.try_enqueue(OutFrame::Close(self.close_frame(reason))) {
            self.force_close(reason);
        }
    }

    /// Whether a close was forced: the queue is dropped and the session is over.
    pub(crate) fn is_forced(&self) -> bool {
        self.0.force.is_cancelled()
    }

    /// Closes now, dropping whatever is still queued.
    pub(crate) fn force_close(&self, reason: DisconnectReason) {
        let _ = self.0.reason.set(reason);
        self.0.closing.store(true, Ordering::Release);
        let mut slot = self
            .0
            .forced_frame
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let frame = self.close_frame(reason);
        slot.get_or_insert(frame);
        drop(slot);
        self.0.force.cancel();
    }

    /// Refuses further frames without sending a close (the peer is gone).
    pub(crate) fn seal(&self) {
        self.0.closing.store(true, Ordering::Release);
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.0.closing.load(Ordering::Acquire)
    }

    /// The first reason recorded for closing, if any.
    pub(crate) fn reason(&self) -> Option<DisconnectReason> {
        self.0.reason.get().copied()
    }

    pub(crate) fn record_reason(&self, reason: DisconnectReason) {
        let _ = self.0.reason.set(reason);
    }

    /// Resolves once the writer has finished.
    pub(crate) fn writer_done(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.0.writer_done.cancelled()
    }

    /// The close frame a forced close sends.
    pub(crate) fn take_forced_frame(&self) -> CloseFrame {
        self.0
            .forced_frame
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or_else(|| self.close_frame(DisconnectReason::ServerDisconnect))
    }

    /// The close frame for `reason`; `CloseCode::Status` (1005, never sent on the wire) stands
    /// for a close frame without a status code.
    fn close_frame(&self, reason: DisconnectReason) -> CloseFrame {
        let code = match (self.0.closing_style, reason) {
            // Answered by the WebSocket layer itself (`ws`), whatever the protocol above.
            (
                _,
                DisconnectReason::MessageTooBig
                | DisconnectReason::InvalidPayload
                | DisconnectReason::SlowConsumer,
            ) => reason.close_code().unwrap_or(1000),
            (CloseStyle::Coded, _) => reason.close_code().unwrap_or(1000),
            (CloseStyle::EngineIo, _) => 1005,
        };
        CloseFrame {
            code: CloseCode::from(code),
            reason: Utf8Bytes::default(),
        }
    }
}

/// Queued frames, in order. The first is held inline: most batches are one frame (a reply, a
/// broadcast), and they then cost no allocation.
#[derive(Default)]
pub(crate) struct Frames {
    first: Option<OutFrame>,
    rest: VecDeque<OutFrame>,
}

impl Frames {
    fn push(&mut self, frame: OutFrame) {
        if self.first.is_none() {
            self.first = Some(frame);
        } else {
            self.rest.push_back(frame);
        }
    }

    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    fn is_empty(&self) -> bool {
        self.first.is_none()
    }
}

impl IntoIterator for Frames {
    type Item = OutFrame;
    type IntoIter = std::iter::Chain<
        std::option::IntoIter<OutFrame>,
        std::collections::vec_deque::IntoIter<OutFrame>,
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.first.into_iter().chain(self.rest)
    }
}

impl Inner {
    fn lock_queue(&self) -> MutexGuard<'_, Frames> {
        // Each step leaves the queue consistent: a poisoned lock is usable.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The consumer side of a connection's send queue: its writer task, or the long-polling
/// requests of a session.
pub(crate) struct OutboxReceiver(Arc<Inner>);

impl OutboxReceiver {
    /// Waits until frames are queued, then takes them all, in order. Cancel-safe.
    pub(crate) async fn recv_all(&mut self) -> Frames {
        std::future::poll_fn(|cx| {
            let frames = self.take();
            if !frames.is_empty() {
                return Poll::Ready(frames);
            }
            self.0.consumer.register(cx.waker());
            // Checked again: a frame queued before the registration woke nobody.
            let frames = self.take();
            if frames.is_empty() {
                Poll::Pending
            } else {
                Poll::Ready(frames)
            }
        })
        .await
    }

    fn take(&self) -> Frames {
        std::mem::take(&mut *self.0.lock_queue())
    }
}
