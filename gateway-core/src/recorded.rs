//! [`RecordedEmits`]: a namespace's emits waiting for the offset a
//! [`SessionStore`](crate::SessionStore) gives them, delivered to local clients in the order
//! they were made.

use std::sync::OnceLock;

use futures_util::future::BoxFuture;
use tokio::sync::mpsc;
use tokio_util::task::TaskTracker;

/// Delivers an emit locally, with its offset if the store gave one.
pub(crate) type Delivery = Box<dyn FnOnce(Option<&str>) + Send>;

type Waiting = (BoxFuture<'static, Option<String>>, Delivery);

/// The queue of one namespace, and the task draining it (started on first use).
#[derive(Default)]
pub(crate) struct RecordedEmits {
    /// Unbounded: each entry waits for one store round trip, and the store's own queue is
    /// bounded (beyond it, offsets resolve to `None` at once).
    sender: OnceLock<mpsc::UnboundedSender<Waiting>>,
}

impl RecordedEmits {
    /// Runs `deliver` once `offset` resolves, after every earlier delivery of this queue.
    pub(crate) fn push(
        &self,
        tasks: &TaskTracker,
        offset: BoxFuture<'static, Option<String>>,
        deliver: Delivery,
    ) {
        let sender = self.sender.get_or_init(|| {
            let (sender, mut waiting) = mpsc::unbounded_channel::<Waiting>();
            tasks.spawn(async move {
                while let Some((offset, deliver)) = waiting.recv().await {
                    let offset = offset.await;
                    deliver(offset.as_deref());
                }
            });
            sender
        });
        let _ = sender.send((offset, deliver));
    }
}
