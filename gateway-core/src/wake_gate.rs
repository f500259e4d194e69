//! [`WakeGated`]: a future that is polled again only after it asked to be woken.
//!
//! A connection's loop waits on its frames and on a few rarely-ready futures (shutdown, the
//! writer finishing, a forced close). `select!` polls every branch each time the task runs, and a
//! cancellation future's poll takes a lock (tokio's `Notify` checks its waiter list), several
//! times per message. Behind a gate, such a future costs an atomic load until its waker fires.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;

/// Wraps `future` so that it is polled only on its first poll and after it woke its task.
pub(crate) fn gate<F: Future>(future: F) -> WakeGated<F> {
    WakeGated {
        future,
        signal: Arc::new(Signal {
            woken: AtomicBool::new(true),
            task: AtomicWaker::new(),
        }),
    }
}

pin_project_lite::pin_project! {
    /// See [`gate`].
    pub(crate) struct WakeGated<F> {
        #[pin]
        future: F,
        signal: Arc<Signal>,
    }
}

/// The waker handed to the inner future: marks the gate open, then wakes the task.
struct Signal {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

impl<F: Future> Future for WakeGated<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        // Registered before the flag is read, so a wake between the two is not lost.
        this.signal.task.register(cx.waker());
        if !this.signal.woken.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        let waker = Waker::from(this.signal.clone());
        let poll = this.future.poll(&mut Context::from_waker(&waker));
        if poll.is_ready() {
            // A stream-like future may have more ready without waking again.
            this.signal.woken.store(true, Ordering::Release);
        }
        poll
    }
}

impl<F> WakeGated<F> {
    /// The inner future, for changing what it waits for (a timer's deadline): it is polled on
    /// the next poll, to register the change.
    pub(crate) fn inner(self: Pin<&mut Self>) -> Pin<&mut F> {
        let this = self.project();
        this.signal.woken.store(true, Ordering::Release);
        this.future
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_util::sync::CancellationToken;

    #[tokio::test]
    async fn resolves_when_its_inner_future_does() {
        let token = CancellationToken::new();
        let gated = gate(token.cancelled());
        tokio::pin!(gated);
        assert!(futures_util::poll!(gated.as_mut()).is_pending());
        assert!(futures_util::poll!(gated.as_mut()).is_pending());
        let waiter = tokio::spawn({
            let token = token.clone();
            async move { gate(token.cancelled()).await }
        });
        token.cancel();
        assert!(futures_util::poll!(gated.as_mut()).is_ready());
        waiter.await.unwrap();
    }

    #[tokio::test]
    async fn is_not_polled_until_woken() {
        let polls = std::cell::Cell::new(0);
        let gated = gate(std::future::poll_fn(|_| {
            polls.set(polls.get() + 1);
            Poll::<()>::Pending
        }));
        tokio::pin!(gated);
        for _ in 0..3 {
            assert!(futures_util::poll!(gated.as_mut()).is_pending());
        }
        assert_eq!(polls.get(), 1);
    }
}
