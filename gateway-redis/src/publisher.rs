//! Publishing to Redis: every message for the other instances goes into the bounded
//! [`PublishQueue`], and the [`Publisher`] task hands it to [`Driver::publish`] in batches.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::driver::{Driver, DriverError};
use crate::status::AdapterStatus;

/// Messages published in one round trip at most.
const PUBLISH_BATCH: usize = 256;

/// A message waiting to be published: (channel, body).
type Message = (String, Bytes);

/// The bounded queue of messages waiting to be published to Redis. Bounded so that a slow or
/// absent Redis costs dropped messages (counted in [`AdapterStatus`]), never unbounded memory.
#[derive(Clone)]
pub(crate) struct PublishQueue {
    sender: mpsc::Sender<Message>,
    status: AdapterStatus,
}

impl PublishQueue {
    /// A queue of `capacity` messages, and its receiving end for [`Publisher::run`].
    pub(crate) fn new(capacity: usize, status: AdapterStatus) -> (Self, mpsc::Receiver<Message>) {
        let (sender, receiver) = mpsc::channel(capacity);
        (Self { sender, status }, receiver)
    }

    /// Queues a message for Redis; false if it was dropped (queue full or closed).
    pub(crate) fn push(&self, channel: String, body: Vec<u8>) -> bool {
        match self.sender.try_send((channel, Bytes::from(body))) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.status.count_dropped(1);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// Where the [`Publisher`] hands its batches: a [`Driver`] (classic pub/sub) or a sharded
/// cluster connection.
pub(crate) trait Publish: Send + Sync + 'static {
    /// Publishes `messages` (channel, body) in order.
    fn publish(&self, messages: Vec<(String, Bytes)>) -> BoxFuture<'_, Result<(), DriverError>>;
}

impl<D: Driver> Publish for D {
    fn publish(&self, messages: Vec<(String, Bytes)>) -> BoxFuture<'_, Result<(), DriverError>> {
        Driver::publish(self, messages)
    }
}

/// The task draining the [`PublishQueue`] into Redis.
pub(crate) struct Publisher<D> {
    pub(crate) driver: Arc<D>,
    pub(crate) status: AdapterStatus,
    pub(crate) backoff: Backoff,
    pub(crate) cancel: CancellationToken,
}

impl<D: Publish> Publisher<D> {
    /// Publishes the queue in batches until cancelled. After a failure, what is queued before
    /// the next attempt (backing off) is dropped: a bounded loss instead of an unbounded buffer.
    pub(crate) async fn run(mut self, mut queue: mpsc::Receiver<Message>) {
        let mut retry_at: Option<Instant> = None;
        loop {
            let mut batch = Vec::with_capacity(PUBLISH_BATCH);
            let received = tokio::select! {
                () = self.cancel.cancelled() => return,
                n = queue.recv_many(&mut batch, PUBLISH_BATCH) => n,
            };
            if received == 0 {
                return;
            }
            if retry_at.is_some_and(|at| Instant::now() < at) {
                self.status.count_dropped(received);
                continue;
            }
            let result = tokio::select! {
                () = self.cancel.cancelled() => return,
                result = self.driver.publish(batch) => result,
            };
            match result {
                Ok(()) => {
                    if retry_at.take().is_some() {
                        tracing::info!(
                            dropped_so_far = self.status.dropped_messages(),
                            "publishing to Redis again"
                        );
                    }
                    self.backoff.reset();
                }
                Err(err) => {
                    if retry_at.is_none() {
                        tracing::warn!(
                            %err,
                            "cannot publish to Redis; messages for other instances are dropped \
                             until it is back"
                        );
                    }
                    self.status.count_publish_failure();
                    self.status.count_dropped(received);
                    retry_at = Some(Instant::now() + self.backoff.next());
                }
            }
        }
    }
}
