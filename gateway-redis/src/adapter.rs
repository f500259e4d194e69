//! [`RedisAdapter`]: the public face. Its settings become a [`RunningAdapter`] when the app
//! starts, and each [`Adapter`] call goes on to [`Outbound`].

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::future::BoxFuture;
use gateway_core::{
    Adapter, AdapterError, BroadcastMessage, Namespace, Recipients, RemoteAcks, Room, SocketInfo,
};
use serde_json::Value;

use crate::config::Config;
use crate::driver::Driver;
use crate::ids::random_id;
use crate::outbound::Outbound;
use crate::redis_driver::RedisDriver;
use crate::running::RunningAdapter;
use crate::status::AdapterStatus;

/// An [`Adapter`] over Redis pub/sub: broadcasts, rooms and cluster-wide operations span every
/// instance on the same Redis, Node socket.io instances with `@socket.io/redis-adapter` 8.3
/// included (same channels, same msgpack and JSON messages).
///
/// Each instance delivers to its own sockets directly and publishes one message for the
/// others. While Redis is unreachable the instance keeps serving its own clients, drops what
/// it would publish (the queue is bounded), and reconnects with backoff.
///
/// ```no_run
/// use gateway_core::GatewayApp;
/// use gateway_redis::RedisAdapter;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let adapter = RedisAdapter::new("redis://127.0.0.1:6379/")?
///     .with_requests_timeout(std::time::Duration::from_secs(3));
/// let server = GatewayApp::builder()
///     .with_adapter(adapter)
///     .build()?
///     .listen(("0.0.0.0", 3000))
///     .await?;
/// # Ok(()) }
/// ```
pub struct RedisAdapter<D: Driver = RedisDriver> {
    driver: Arc<D>,
    config: Config,
    uid: String,
    status: AdapterStatus,
    running: Arc<OnceLock<RunningAdapter<D>>>,
}

impl RedisAdapter {
    /// An adapter for the Redis server at `url` (`redis://[:password@]host:port[/db]`); it
    /// connects when the app starts listening. Fails only on a malformed URL.
    ///
    /// ```
    /// let adapter = gateway_redis::RedisAdapter::new("redis://127.0.0.1:6379/").unwrap();
    /// assert!(!adapter.is_connected());
    /// ```
    pub fn new(url: &str) -> Result<Self, AdapterError> {
        let driver = RedisDriver::new(url).map_err(|e| AdapterError::invalid(e.to_string()))?;
        Ok(Self::with_driver(driver))
    }
}

impl<D: Driver> RedisAdapter<D> {
    /// An adapter publishing and subscribing through `driver`, e.g. a
    /// [`MemoryDriver`](crate::MemoryDriver) in tests.
    ///
    /// ```
    /// let broker = gateway_redis::MemoryBroker::new();
    /// let adapter = gateway_redis::RedisAdapter::with_driver(broker.driver());
    /// ```
    pub fn with_driver(driver: D) -> Self {
        Self {
            driver: Arc::new(driver),
            config: Config::default(),
            uid: random_id(6),
            status: AdapterStatus::default(),
            running: Arc::default(),
        }
    }

    /// Hands messages to this adapter as if other instances had published them (fuzzing only).
    #[cfg(feature = "fuzzing")]
    #[doc(hidden)]
    pub fn inbound_probe(&self) -> crate::fuzzing::InboundProbe<D> {
        crate::fuzzing::InboundProbe::new(self.running.clone())
    }

    /// The prefix of every channel name (`key` in `@socket.io/redis-adapter`; default
    /// `socket.io`). Instances talk to each other only if they use the same prefix.
    ///
    /// ```
    /// let adapter = gateway_redis::RedisAdapter::new("redis://127.0.0.1/").unwrap()
    ///     .with_key_prefix("my-app");
    /// ```
    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.key_prefix = prefix.into();
        self
    }

    /// How long fetching sockets, server-side emits with acks and counting instances wait for
    /// the other instances (default 5 s, as `requestsTimeout` in the JS adapter).
    ///
    /// ```
    /// let adapter = gateway_redis::RedisAdapter::new("redis://127.0.0.1/").unwrap()
    ///     .with_requests_timeout(std::time::Duration::from_secs(2));
    /// ```
    pub fn with_requests_timeout(mut self, timeout: Duration) -> Self {
        self.config.requests_timeout = timeout;
        self
    }

    /// Whether the app must fail to start when Redis is unreachable (default `false`: it
    /// starts serving its own clients only, says so in the log, and keeps trying).
    ///
    /// ```
    /// let adapter = gateway_redis::RedisAdapter::new("redis://127.0.0.1/").unwrap()
    ///     .with_required_at_startup(true);
    /// ```
    pub fn with_required_at_startup(mut self, required: bool) -> Self {
        self.config.required_at_startup = required;
        self
    }

    /// The first and the longest wait between reconnection attempts (default 100 ms and 2 s;
    /// each failed attempt doubles the wait, with jitter).
    ///
    /// ```
    /// use std::time::Duration;
    /// let adapter = gateway_redis::RedisAdapter::new("redis://127.0.0.1/").unwrap()
    ///     .with_reconnect_delay(Duration::from_millis(50), Duration::from_secs(5));
    /// ```
    pub fn with_reconnect_delay(mut self, min: Duration, max: Duration) -> Self {
        self.config.reconnect_delay_min = min.max(Duration::from_millis(1));
        self.config.reconnect_delay_max = max.max(self.config.reconnect_delay_min);
        self
    }

    /// How many messages for other instances may wait to be published (default 16 384);
    /// beyond that, while Redis is slow or away, new ones are dropped and counted
    /// ([`dropped_messages`](Self::dropped_messages)).
    ///
    /// ```
    /// let adapter = gateway_redis::RedisAdapter::new("redis://127.0.0.1/").unwrap()
    ///     .with_publish_queue_capacity(1024);
    /// ```
    pub fn with_publish_queue_capacity(mut self, capacity: usize) -> Self {
        self.config.publish_queue_capacity = capacity.max(1);
        self
    }

    /// Whether the adapter is subscribed to Redis right now, i.e. receives what the other
    /// instances publish.
    ///
    /// ```
    /// let adapter = gateway_redis::RedisAdapter::new("redis://127.0.0.1/").unwrap();
    /// assert!(!adapter.is_connected()); // not started
    /// ```
    pub fn is_connected(&self) -> bool {
        self.status.is_connected()
    }

    /// A handle on [`is_connected`](Self::is_connected) and
    /// [`dropped_messages`](Self::dropped_messages) that stays usable after the adapter has
    /// moved into the app.
    ///
    /// ```
    /// let adapter = gateway_redis::RedisAdapter::new("redis://127.0.0.1/").unwrap();
    /// let status = adapter.status();
    /// let app = gateway_core::GatewayApp::builder().with_adapter(adapter).build().unwrap();
    /// assert!(!status.is_connected());
    /// ```
    pub fn status(&self) -> AdapterStatus {
        self.status.clone()
    }

    /// How many messages for other instances were dropped because Redis was unreachable or
    /// the publish queue was full.
    ///
    /// ```
    /// let adapter = gateway_redis::RedisAdapter::new("redis://127.0.0.1/").unwrap();
    /// assert_eq!(adapter.dropped_messages(), 0);
    /// ```
    pub fn dropped_messages(&self) -> u64 {
        self.status.dropped_messages()
    }

    /// This instance's id in the cluster (`uid` in the JS adapter's messages).
    ///
    /// ```
    /// let adapter = gateway_redis::RedisAdapter::new("redis://127.0.0.1/").unwrap();
    /// assert_eq!(adapter.uid().len(), 6);
    /// ```
    pub fn uid(&self) -> &str {
        &self.uid
    }

    /// Where the app's calls go: nowhere before start or after close.
    fn outbound(&self) -> Option<&Arc<Outbound<D>>> {
        self.running
            .get()
            .filter(|running| !running.is_closed())
            .map(RunningAdapter::outbound)
    }
}

impl<D: Driver> Adapter for RedisAdapter<D> {
    fn start(&self, namespaces: Vec<Namespace>) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async move {
            if self.running.get().is_some() {
                return Err(AdapterError::invalid(
                    "the Redis adapter is already started",
                ));
            }
            let running = RunningAdapter::start(
                self.driver.clone(),
                self.config.clone(),
                self.uid.clone(),
                self.status.clone(),
                namespaces,
            )
            .await?;
            // Another start won the race meanwhile: stop this one's tasks.
            if let Err(running) = self.running.set(running) {
                running.close().await;
                return Err(AdapterError::invalid(
                    "the Redis adapter is already started",
                ));
            }
            Ok(())
        })
    }

    fn namespace_created(&self, namespace: Namespace) -> BoxFuture<'_, ()> {
        match self.running.get().filter(|running| !running.is_closed()) {
            Some(running) => Box::pin(running.dynamic().add(namespace)),
            None => Box::pin(async {}),
        }
    }

    fn namespace_dropped(&self, namespace: &str) {
        if let Some(running) = self.running.get() {
            running.dynamic().remove(namespace);
        }
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Some(running) = self.running.get() {
                running.close().await;
            }
        })
    }

    fn broadcast(&self, namespace: &str, message: &BroadcastMessage<'_>) {
        if let Some(outbound) = self.outbound() {
            outbound.broadcast(namespace, message);
        }
    }

    fn broadcast_with_ack(
        &self,
        namespace: &str,
        message: &BroadcastMessage<'_>,
        timeout: Duration,
    ) -> BoxFuture<'static, RemoteAcks> {
        match self.outbound() {
            Some(outbound) => outbound
                .clone()
                .broadcast_with_ack(namespace, message, timeout),
            None => Box::pin(async { RemoteAcks::default() }),
        }
    }

    fn fetch_sockets(
        &self,
        namespace: &str,
        recipients: &Recipients,
    ) -> BoxFuture<'static, Result<Vec<SocketInfo>, AdapterError>> {
        match self.outbound() {
            Some(outbound) => outbound.clone().fetch_sockets(namespace, recipients),
            None => Box::pin(async { Ok(Vec::new()) }),
        }
    }

    fn add_sockets(&self, namespace: &str, recipients: &Recipients, rooms: &[Room]) {
        if let Some(outbound) = self.outbound() {
            outbound.change_rooms(namespace, recipients, rooms, true);
        }
    }

    fn del_sockets(&self, namespace: &str, recipients: &Recipients, rooms: &[Room]) {
        if let Some(outbound) = self.outbound() {
            outbound.change_rooms(namespace, recipients, rooms, false);
        }
    }

    fn disconnect_sockets(&self, namespace: &str, recipients: &Recipients) {
        if let Some(outbound) = self.outbound() {
            outbound.disconnect_sockets(namespace, recipients);
        }
    }

    fn server_side_emit(&self, namespace: &str, event: &str, args: &[Value]) {
        if let Some(outbound) = self.outbound() {
            outbound.server_side_emit(namespace, event, args);
        }
    }

    fn server_side_emit_with_ack(
        &self,
        namespace: &str,
        event: &str,
        args: &[Value],
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Vec<Value>, AdapterError>> {
        match self.outbound() {
            Some(outbound) => outbound
                .clone()
                .server_side_emit_with_ack(namespace, event, args, timeout),
            None => Box::pin(async { Ok(Vec::new()) }),
        }
    }

    fn server_count(&self, namespace: &str) -> BoxFuture<'static, Result<usize, AdapterError>> {
        match self.outbound() {
            Some(outbound) => outbound.clone().server_count(namespace),
            None => Box::pin(async { Ok(1) }),
        }
    }
}

impl<D: Driver> fmt::Debug for RedisAdapter<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisAdapter")
            .field("uid", &self.uid)
            .field("config", &self.config)
            .field("started", &self.running.get().is_some())
            .field("connected", &self.is_connected())
            .finish()
    }
}
