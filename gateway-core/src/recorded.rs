//! [`RecordedEmits`]: a namespace's emits waiting for the offset a
//! [`SessionStore`](crate::SessionStore) gives them, delivered to local clients in the order
//! they were made.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesOrdered, StreamExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::runtime::Runtime;

/// How long an emit waits for its offset before it is delivered without one: local delivery
/// must not stall on a slow or absent store.
const OFFSET_WAIT: Duration = Duration::from_secs(2);

/// Delivers an emit locally, with its offset if the store gave one.
pub(crate) type Delivery = Box<dyn FnOnce(Option<&str>) + Send>;

/// An emit waiting for its offset until `Instant`, with its delivery.
type Waiting = (Instant, BoxFuture<'static, Option<String>>, Delivery);

/// The queue of one namespace, and the task draining it (started on first use).
#[derive(Default)]
pub(crate) struct RecordedEmits {
    /// Unbounded, but each entry waits at most [`OFFSET_WAIT`] from when it was pushed, and
    /// the store's round trips run side by side: it holds about what is emitted in that time.
    sender: OnceLock<mpsc::UnboundedSender<Waiting>>,
}

impl RecordedEmits {
    /// Runs `deliver` once `offset` resolves (or [`OFFSET_WAIT`] passed), after every earlier
    /// delivery of this queue. The queue ends with the app: once it is shutting down and
    /// empty, or at once on a hard stop; an emit made after it ended is delivered at once,
    /// without an offset.
    pub(crate) fn push(
        &self,
        runtime: &Runtime,
        offset: BoxFuture<'static, Option<String>>,
        deliver: Delivery,
    ) {
        let sender = self.sender.get_or_init(|| {
            let (sender, waiting) = mpsc::unbounded_channel::<Waiting>();
            let (shutdown, hard_stop) = (runtime.shutdown.clone(), runtime.hard_stop.clone());
            runtime.tasks.spawn(drain(waiting, shutdown, hard_stop));
            sender
        });
        let deadline = Instant::now() + OFFSET_WAIT;
        if let Err(mpsc::error::SendError((_, _, deliver))) =
            sender.send((deadline, offset, deliver))
        {
            deliver(None);
        }
    }
}

/// Delivers the queue's emits in order, each once its offset came or its deadline passed;
/// the offsets are awaited side by side.
async fn drain(
    mut waiting: mpsc::UnboundedReceiver<Waiting>,
    shutdown: CancellationToken,
    hard_stop: CancellationToken,
) {
    let mut pending: FuturesOrdered<BoxFuture<'static, (Option<String>, Delivery)>> =
        FuturesOrdered::new();
    let mut open = true;
    loop {
        tokio::select! {
            biased;
            () = hard_stop.cancelled() => return,
            Some((offset, deliver)) = pending.next(), if !pending.is_empty() => {
                deliver(offset.as_deref());
            }
            next = waiting.recv(), if open => match next {
                Some((deadline, offset, deliver)) => pending.push_back(Box::pin(async move {
                    let offset = tokio::time::timeout_at(deadline.into(), offset).await;
                    (offset.ok().flatten(), deliver)
                })),
                None => open = false,
            },
            () = shutdown.cancelled(), if pending.is_empty() && waiting.is_empty() => return,
        }
        if !open && pending.is_empty() {
            return;
        }
    }
}
