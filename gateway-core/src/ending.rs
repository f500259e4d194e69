//! How a connection ends, the same for every transport's read loop: the app's shutdown closes
//! it (1001), the writer's end seals it, and once it is closing the close handshake gets a
//! grace period ([`CLOSE_GRACE`]) before the loop gives up on the client.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::time::Sleep;
use tokio_util::sync::WaitForCancellationFuture;

use crate::outbox::Outbox;
use crate::rarely_ready::{RarelyReady, WakeGated};
use crate::runtime::Runtime;
use crate::ws_io::CLOSE_GRACE;
use crate::DisconnectReason;

/// When the writer has finished while the connection is closing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnceWritten {
    /// The connection is over (nothing more is read from it).
    Over,
    /// Wait for the client's side of the close handshake, within the grace period.
    AwaitClient,
}

pin_project_lite::pin_project! {
    /// A future that resolves with the reason once the connection is over; meanwhile it
    /// closes the outbox on shutdown and seals it when the writer ends. Polled first in a read
    /// loop's `select!`, so a busy client cannot hold off a shutdown.
    pub(crate) struct Ending<'a> {
        outbox: &'a Outbox,
        #[pin]
        shutting_down: WakeGated<WaitForCancellationFuture<'a>>,
        #[pin]
        writer_done: WakeGated<WaitForCancellationFuture<'a>>,
        // Allocated once the connection is closing: idle connections do not carry a timer.
        grace: Option<Pin<Box<Sleep>>>,
        once_written: OnceWritten,
    }
}

impl<'a> Ending<'a> {
    /// The ending of the connection whose queue is `outbox`, its futures gated by `gates`.
    pub(crate) fn new(
        outbox: &'a Outbox,
        app: &'a Runtime,
        gates: &RarelyReady,
        once_written: OnceWritten,
    ) -> Self {
        Self {
            outbox,
            shutting_down: gates.gate(app.shutdown.cancelled()),
            writer_done: gates.gate(outbox.writer_done()),
            grace: None,
            once_written,
        }
    }

    /// Whether the connection is closing: the loop handles no more messages. The outbox says
    /// so as soon as a close is queued, before this future has been polled again.
    pub(crate) fn is_closing(&self) -> bool {
        self.grace.is_some() || self.outbox.is_closing()
    }
}

impl Future for Ending<'_> {
    type Output = DisconnectReason;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<DisconnectReason> {
        let mut this = self.project();
        loop {
            if this.grace.is_none() && this.outbox.is_closing() {
                *this.grace = Some(Box::pin(tokio::time::sleep(CLOSE_GRACE)));
            }
            let closing = this.grace.is_some();
            if !closing && this.shutting_down.as_mut().poll(cx).is_ready() {
                this.outbox.close(DisconnectReason::ServerShutdown);
                continue;
            }
            let wait_for_writer = !closing || *this.once_written == OnceWritten::Over;
            if wait_for_writer && this.writer_done.as_mut().poll(cx).is_ready() {
                if closing {
                    return Poll::Ready(reason(this.outbox));
                }
                // The writer failed or force-closed.
                this.outbox.seal();
                continue;
            }
            return match this.grace.as_mut() {
                Some(grace) => grace.as_mut().poll(cx).map(|()| reason(this.outbox)),
                None => Poll::Pending,
            };
        }
    }
}

fn reason(outbox: &Outbox) -> DisconnectReason {
    outbox.reason().unwrap_or(DisconnectReason::TransportClose)
}
