//! [`RarelyReady`]: futures that are polled again only after one of them woke the task.
//!
//! A connection's loop waits on its frames and on a few rarely-ready futures (shutdown, the
//! writer finishing, a forced close, a timer). `select!` polls every branch each time the task
//! runs, and a cancellation future's poll takes a lock (tokio's `Notify` checks its waiter list),
//! several times per message. Behind a gate, such a future costs an atomic load until a future of
//! its group fires.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;

/// The gated futures of one task, sharing one waker (one allocation): when any of them wakes
/// the task, each is polled once more.
#[derive(Clone)]
pub(crate) struct RarelyReady(Arc<Signal>);

/// The waker handed to the gated futures: counts wakes, then wakes the task.
struct Signal {
    wakes: AtomicUsize,
    task: AtomicWaker,
}

/// What a gated future has seen of its group's wakes before its first poll, and after it
/// completed or changed (it is polled at the next opportunity).
const UNSEEN: usize = usize::MAX;

impl RarelyReady {
    pub(crate) fn new() -> Self {
        Self(Arc::new(Signal {
            wakes: AtomicUsize::new(0),
            task: AtomicWaker::new(),
        }))
    }

    /// Wraps `future`: polled on its first poll, then only after a future of the group woke.
    pub(crate) fn gate<F: Future>(&self, future: F) -> WakeGated<F> {
        WakeGated {
            future,
            gates: self.clone(),
            seen: UNSEEN,
        }
    }
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Skips UNSEEN, so a wake is never mistaken for "not polled yet".
        let previous = self.wakes.fetch_add(1, Ordering::AcqRel);
        if previous == UNSEEN - 1 {
            self.wakes.fetch_add(1, Ordering::AcqRel);
        }
        self.task.wake();
    }
}

pin_project_lite::pin_project! {
    /// See [`RarelyReady::gate`].
    pub(crate) struct WakeGated<F> {
        #[pin]
        future: F,
        gates: RarelyReady,
        seen: usize,
    }
}

impl<F: Future> Future for WakeGated<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let signal = &this.gates.0;
        // Registered before the count is read, so a wake between the two is not lost.
        signal.task.register(cx.waker());
        let wakes = signal.wakes.load(Ordering::Acquire);
        if wakes == *this.seen {
            return Poll::Pending;
        }
        *this.seen = wakes;
        let waker = Waker::from(signal.clone());
        let poll = this.future.poll(&mut Context::from_waker(&waker));
        if poll.is_ready() {
            // A stream-like future may have more ready without waking again.
            *this.seen = UNSEEN;
        }
        poll
    }
}

impl<F> WakeGated<F> {
    /// The inner future, for changing what it waits for (a timer's deadline): it is polled on
    /// the next poll, to register the change.
    pub(crate) fn inner(self: Pin<&mut Self>) -> Pin<&mut F> {
        let this = self.project();
        *this.seen = UNSEEN;
        this.future
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use tokio_util::sync::CancellationToken;

    #[tokio::test]
    async fn resolves_when_its_inner_future_does() {
        let token = CancellationToken::new();
        let gates = RarelyReady::new();
        let gated = gates.gate(token.cancelled());
        tokio::pin!(gated);
        assert!(futures_util::poll!(gated.as_mut()).is_pending());
        assert!(futures_util::poll!(gated.as_mut()).is_pending());
        token.cancel();
        assert!(futures_util::poll!(gated.as_mut()).is_ready());
    }

    #[tokio::test]
    async fn is_not_polled_until_its_group_woke() {
        let polls = Cell::new(0);
        let token = CancellationToken::new();
        let gates = RarelyReady::new();
        let counted = gates.gate(std::future::poll_fn(|_| {
            polls.set(polls.get() + 1);
            Poll::<()>::Pending
        }));
        let other = gates.gate(token.cancelled());
        tokio::pin!(counted, other);
        for _ in 0..3 {
            assert!(futures_util::poll!(counted.as_mut()).is_pending());
            assert!(futures_util::poll!(other.as_mut()).is_pending());
        }
        assert_eq!(polls.get(), 1);
        token.cancel();
        assert!(futures_util::poll!(counted.as_mut()).is_pending());
        assert_eq!(polls.get(), 2);
        assert!(futures_util::poll!(other.as_mut()).is_ready());
    }

    #[tokio::test]
    async fn is_polled_again_after_its_inner_future_changed() {
        let polls = Cell::new(0);
        let gates = RarelyReady::new();
        let counted = gates.gate(std::future::poll_fn(|_| {
            polls.set(polls.get() + 1);
            Poll::<()>::Pending
        }));
        tokio::pin!(counted);
        assert!(futures_util::poll!(counted.as_mut()).is_pending());
        counted.as_mut().inner(); // as a timer reset does
        assert!(futures_util::poll!(counted.as_mut()).is_pending());
        assert_eq!(polls.get(), 2);
    }
}
