//! [`Driver`]: the three pub/sub operations the adapter needs from Redis.

use bytes::Bytes;
use futures_util::future::BoxFuture;
use tokio::sync::mpsc;

/// A message received on a subscribed channel (or a channel matching a subscribed pattern).
///
/// ```
/// let message = gateway_redis::Incoming { channel: "socket.io#/#".into(), payload: "x".into() };
/// assert_eq!(message.payload.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// The channel it was published to.
    pub channel: String,
    /// Its body.
    pub payload: Bytes,
}

/// The Redis connection failed or answered with an error.
///
/// ```
/// let err = gateway_redis::DriverError::new("connection refused");
/// assert_eq!(err.to_string(), "redis: connection refused");
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[error("redis: {0}")]
pub struct DriverError(String);

impl DriverError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Redis pub/sub as the adapter uses it: [`RedisDriver`](crate::RedisDriver) talks to a real
/// server, [`MemoryDriver`](crate::MemoryDriver) to an in-process broker (for tests).
///
/// The adapter handles reconnection: when a subscription's receiver ends it subscribes again
/// (with backoff). A failed publish drops its batch, and what is queued until the next attempt
/// (after a backoff), counting them in `AdapterStatus::dropped_messages`.
///
/// ```
/// use gateway_redis::{Driver, MemoryBroker};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let broker = MemoryBroker::new();
/// let mut messages = broker.driver().subscribe(vec!["news".into()], vec![]).await.unwrap();
/// broker.driver().publish(vec![("news".into(), "hello".into())]).await.unwrap();
/// assert_eq!(messages.recv().await.unwrap().payload, "hello");
/// assert_eq!(broker.driver().num_sub("news".into()).await.unwrap(), 1);
/// # }
/// ```
pub trait Driver: Send + Sync + 'static {
    /// Subscribes a fresh connection to `channels` and to the glob `patterns` (PSUBSCRIBE).
    /// Resolves once the subscriptions are in place; the receiver then yields messages in
    /// order and ends when the connection is lost.
    fn subscribe(
        &self,
        channels: Vec<String>,
        patterns: Vec<String>,
    ) -> BoxFuture<'_, Result<mpsc::Receiver<Incoming>, DriverError>>;

    /// Publishes `messages` (channel, body) in order.
    fn publish(&self, messages: Vec<(String, Bytes)>) -> BoxFuture<'_, Result<(), DriverError>>;

    /// How many connections subscribe to `channel` (`PUBSUB NUMSUB`).
    fn num_sub(&self, channel: String) -> BoxFuture<'_, Result<usize, DriverError>>;
}
