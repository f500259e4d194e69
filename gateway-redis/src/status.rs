//! [`AdapterStatus`]: whether the adapter is connected, and what it dropped.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// The live state of a [`RedisAdapter`](crate::RedisAdapter), readable after the adapter moved
/// into the app.
///
/// ```
/// let status = gateway_redis::RedisAdapter::new("redis://127.0.0.1/").unwrap().status();
/// assert!(!status.is_connected());
/// assert_eq!(status.dropped_messages(), 0);
/// ```
#[derive(Clone, Debug, Default)]
pub struct AdapterStatus {
    connected: Arc<AtomicBool>,
    dropped: Arc<AtomicU64>,
}

impl AdapterStatus {
    /// Whether the adapter is subscribed to Redis right now.
    ///
    /// ```
    /// let status = gateway_redis::RedisAdapter::new("redis://127.0.0.1/").unwrap().status();
    /// assert!(!status.is_connected()); // not started
    /// ```
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    /// How many messages for other instances were dropped so far.
    ///
    /// ```
    /// let status = gateway_redis::RedisAdapter::new("redis://127.0.0.1/").unwrap().status();
    /// assert_eq!(status.dropped_messages(), 0);
    /// ```
    pub fn dropped_messages(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The outcome of an adapter's first subscription: connected (`Some`, and the status says
    /// so), or Redis unreachable: an error when `required`, else logged and `None` (the
    /// adapter serves this instance's clients and keeps trying).
    pub(crate) fn first_contact<T, E: std::fmt::Display>(
        &self,
        result: Result<T, E>,
        required: bool,
        adapter: &str,
        uid: &str,
    ) -> Result<Option<T>, gateway_core::AdapterError> {
        match result {
            Ok(value) => {
                self.set_connected(true);
                tracing::info!(uid, "{adapter} subscribed");
                Ok(Some(value))
            }
            Err(err) if required => Err(gateway_core::AdapterError::unavailable(format!(
                "Redis is unreachable at startup: {err}"
            ))),
            Err(err) => {
                tracing::warn!(
                    %err,
                    "Redis is unreachable at startup; serving this instance's clients only \
                     until it is reachable"
                );
                Ok(None)
            }
        }
    }

    /// Also recorded as the `gateway_redis_connected` gauge (1 or 0) through the `metrics`
    /// facade.
    pub(crate) fn set_connected(&self, connected: bool) {
        self.connected.store(connected, Ordering::Release);
        metrics::gauge!("gateway_redis_connected").set(f64::from(u8::from(connected)));
    }

    /// Also recorded as the `gateway_redis_dropped_messages_total` counter.
    pub(crate) fn count_dropped(&self, messages: usize) {
        self.dropped.fetch_add(messages as u64, Ordering::Relaxed);
        metrics::counter!("gateway_redis_dropped_messages_total").increment(messages as u64);
    }

    /// A publish to Redis failed: recorded as the `gateway_redis_publish_failures_total` counter.
    pub(crate) fn count_publish_failure(&self) {
        metrics::counter!("gateway_redis_publish_failures_total").increment(1);
    }
}
