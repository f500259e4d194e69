//! [`RecordedEmits`]: a namespace's emits waiting for the offset a
//! [`SessionStore`](crate::SessionStore) gives them, delivered to local clients in the order
//! they were made.

use std::sync::OnceLock;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::mpsc;

use crate::runtime::Runtime;

/// How long an emit waits for its offset before it is delivered without one: local delivery
/// must not stall on a slow or absent store.
const OFFSET_WAIT: Duration = Duration::from_secs(2);

/// Delivers an emit locally, with its offset if the store gave one.
pub(crate) type Delivery = Box<dyn FnOnce(Option<&str>) + Send>;

type Waiting = (BoxFuture<'static, Option<String>>, Delivery);

/// The queue of one namespace, and the task draining it (started on first use).
#[derive(Default)]
pub(crate) struct RecordedEmits {
    /// Unbounded, but each entry waits at most [`OFFSET_WAIT`] at the head of the queue, and
    /// the entries behind it for their own round trips meanwhile: it holds about what is
    /// emitted in that time.
    sender: OnceLock<mpsc::UnboundedSender<Waiting>>,
}

impl RecordedEmits {
    /// Runs `deliver` once `offset` resolves (or [`OFFSET_WAIT`] passed), after every earlier
    /// delivery of this queue. The queue ends with the app: once it is shutting down and
    /// empty, or at once on a hard stop.
    pub(crate) fn push(
        &self,
        runtime: &Runtime,
        offset: BoxFuture<'static, Option<String>>,
        deliver: Delivery,
    ) {
        let sender =
            self.sender.get_or_init(|| {
                let (sender, mut waiting) = mpsc::unbounded_channel::<Waiting>();
                let (shutdown, hard_stop) = (runtime.shutdown.clone(), runtime.hard_stop.clone());
                runtime.tasks.spawn(async move {
                loop {
                    let next = tokio::select! {
                        biased;
                        () = hard_stop.cancelled() => return,
                        next = waiting.recv() => next,
                        () = shutdown.cancelled(), if waiting.is_empty() => return,
                    };
                    let Some((offset, deliver)) = next else { return };
                    let offset = tokio::select! {
                        () = hard_stop.cancelled() => None,
                        offset = tokio::time::timeout(OFFSET_WAIT, offset) => offset.ok().flatten(),
                    };
                    deliver(offset.as_deref());
                }
            });
                sender
            });
        let _ = sender.send((offset, deliver));
    }
}
