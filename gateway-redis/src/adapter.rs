//! [`RedisAdapter`]: the public face. Its settings become a [`RunningAdapter`] when the app
//! starts, and each [`Adapter`] call goes on to [`Outbound`].

use std::fmt;
use std::sync::{Arc, OnceLock};

use futures_util::future::BoxFuture;
use gateway_core::{Adapter, AdapterError, Namespace};

use crate::config::Config;
use crate::delegate::delegate_to_outbound;
use crate::driver::Driver;
use crate::ids::random_id;
use crate::outbound::Outbound;
use crate::redis_driver::RedisDriver;
use crate::running::RunningAdapter;
use crate::settings::common_settings;
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

common_settings!(impl [D: Driver] RedisAdapter<D>, new: "gateway_redis::RedisAdapter::new(\"redis://127.0.0.1/\").unwrap()");

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

    delegate_to_outbound!();
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
