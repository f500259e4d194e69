//! [`RedisStreamsAdapter`]: the public face of the streams adapter. Its settings become a
//! [`StreamsRunning`] when the app starts, and each [`Adapter`] call goes on to
//! [`ClusterOutbound`].

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::future::BoxFuture;
use gateway_core::{Adapter, AdapterError, Namespace, SessionStore};

use crate::cluster_channels::{ClusterChannels, SubscriptionMode};
use crate::cluster_outbound::ClusterOutbound;
use crate::config::Config;
use crate::delegate::delegate_to_outbound;
use crate::ids::random_hex;
use crate::settings::common_settings;
use crate::status::AdapterStatus;
use crate::streams_running::{Start, StreamsConfig, StreamsRunning};
use crate::streams_transport::{Streams, StreamsTransport};

/// An [`Adapter`] over Redis Streams, wire-compatible with `@socket.io/redis-streams-adapter`
/// 0.3: Node socket.io instances with that adapter and these instances form one cluster.
///
/// Broadcasts and room changes go into a stream (`XADD … MAXLEN ~`), which every instance
/// reads (`XREAD BLOCK`). When Redis goes away and comes back, each instance reads on from the
/// last entry it read: what was added meanwhile (to a Redis that kept it) is not lost, unlike
/// pub/sub. Requests, broadcasts with acks and answers go over pub/sub, as in the JS adapter.
///
/// ```no_run
/// use gateway_core::GatewayApp;
/// use gateway_redis::RedisStreamsAdapter;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let adapter = RedisStreamsAdapter::new("redis://127.0.0.1:6379/")?;
/// let server = GatewayApp::builder()
///     .with_adapter(adapter)
///     .build()?
///     .listen(("0.0.0.0", 3000))
///     .await?;
/// # Ok(()) }
/// ```
pub struct RedisStreamsAdapter {
    url: String,
    config: Config,
    streams: StreamsConfig,
    uid: String,
    status: AdapterStatus,
    running: Arc<OnceLock<StreamsRunning>>,
}

common_settings!(impl [] RedisStreamsAdapter, new: "gateway_redis::RedisStreamsAdapter::new(\"redis://127.0.0.1/\").unwrap()");

impl RedisStreamsAdapter {
    /// An adapter for the Redis server at `url` (`redis://[:password@]host:port[/db]`); it
    /// connects when the app starts listening. Fails only on a malformed URL.
    ///
    /// ```
    /// let adapter = gateway_redis::RedisStreamsAdapter::new("redis://127.0.0.1:6379/").unwrap();
    /// assert!(!adapter.is_connected());
    /// assert!(gateway_redis::RedisStreamsAdapter::new("not a url").is_err());
    /// ```
    pub fn new(url: &str) -> Result<Self, AdapterError> {
        redis::Client::open(url).map_err(|e| AdapterError::invalid(e.to_string()))?;
        Ok(Self {
            url: url.to_owned(),
            config: Config::default(),
            streams: StreamsConfig {
                streams: Streams {
                    name: "socket.io".into(),
                    count: 1,
                },
                max_len: 10_000,
                read_count: 100,
                block: Duration::from_secs(5),
                session_key_prefix: "sio:session:".into(),
            },
            uid: random_hex(8),
            status: AdapterStatus::default(),
            running: Arc::default(),
        })
    }

    /// The stream's name (`streamName`; default `socket.io`).
    ///
    /// ```
    /// let adapter = gateway_redis::RedisStreamsAdapter::new("redis://127.0.0.1/").unwrap()
    ///     .with_stream_name("my-app");
    /// ```
    pub fn with_stream_name(mut self, name: impl Into<String>) -> Self {
        self.streams.streams.name = name.into();
        self
    }

    /// How many streams the namespaces are spread over (`streamCount`; default 1), each read
    /// on a connection of its own. As in the JS adapter, a namespace whose name hashes to a
    /// negative number maps to a stream nobody reads (`socket.io--3`): keep 1 unless every
    /// namespace name was checked.
    ///
    /// ```
    /// let adapter = gateway_redis::RedisStreamsAdapter::new("redis://127.0.0.1/").unwrap()
    ///     .with_stream_count(2);
    /// ```
    pub fn with_stream_count(mut self, count: u32) -> Self {
        self.streams.streams.count = count.max(1);
        self
    }

    /// The prefix of the pub/sub channels (`channelPrefix`; default `socket.io`).
    ///
    /// ```
    /// let adapter = gateway_redis::RedisStreamsAdapter::new("redis://127.0.0.1/").unwrap()
    ///     .with_channel_prefix("my-app");
    /// ```
    pub fn with_channel_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.key_prefix = prefix.into();
        self
    }

    /// About how many entries the stream keeps (`maxLen`; default 10 000; `MAXLEN ~`).
    ///
    /// ```
    /// let adapter = gateway_redis::RedisStreamsAdapter::new("redis://127.0.0.1/").unwrap()
    ///     .with_max_len(100_000);
    /// ```
    pub fn with_max_len(mut self, max_len: usize) -> Self {
        self.streams.max_len = max_len.max(1);
        self
    }

    /// How many entries one `XREAD` takes at most (`readCount`; default 100).
    ///
    /// ```
    /// let adapter = gateway_redis::RedisStreamsAdapter::new("redis://127.0.0.1/").unwrap()
    ///     .with_read_count(500);
    /// ```
    pub fn with_read_count(mut self, count: usize) -> Self {
        self.streams.read_count = count.max(1);
        self
    }

    /// The prefix of the keys keeping dropped sockets' sessions (`sessionKeyPrefix`; default
    /// `sio:session:`).
    ///
    /// ```
    /// let adapter = gateway_redis::RedisStreamsAdapter::new("redis://127.0.0.1/").unwrap()
    ///     .with_session_key_prefix("my-app:session:");
    /// ```
    pub fn with_session_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.streams.session_key_prefix = prefix.into();
        self
    }

    fn running(&self) -> Option<&StreamsRunning> {
        self.running.get().filter(|running| !running.is_closed())
    }

    fn outbound(&self) -> Option<&Arc<ClusterOutbound<StreamsTransport>>> {
        self.running().map(|running| &running.node.outbound)
    }
}

impl Adapter for RedisStreamsAdapter {
    fn start(&self, namespaces: Vec<Namespace>) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async move {
            if self.running.get().is_some() {
                return Err(AdapterError::invalid("this adapter was already started"));
            }
            let channels = ClusterChannels {
                prefix: self.config.key_prefix.clone(),
                uid: self.uid.clone(),
                mode: SubscriptionMode::Static,
            };
            let running = StreamsRunning::start(Start {
                url: self.url.clone(),
                config: self.config.clone(),
                streams: self.streams.clone(),
                channels,
                status: self.status.clone(),
                namespaces,
            })
            .await?;
            // Another start won the race meanwhile: stop this one's tasks.
            if let Err(running) = self.running.set(running) {
                running.close().await;
                return Err(AdapterError::invalid("this adapter was already started"));
            }
            Ok(())
        })
    }

    fn namespace_created(&self, namespace: Namespace) -> BoxFuture<'_, ()> {
        if let Some(running) = self.running() {
            running.add_namespace(namespace);
        }
        Box::pin(async {})
    }

    fn namespace_dropped(&self, namespace: &str) {
        if let Some(running) = self.running() {
            running.remove_namespace(namespace);
        }
    }

    fn session_store(&self) -> Option<&dyn SessionStore> {
        self.running()
            .map(|running| &running.sessions as &dyn SessionStore)
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Some(running) = self.running() {
                running.close().await;
            }
        })
    }

    delegate_to_outbound!();
}

impl fmt::Debug for RedisStreamsAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStreamsAdapter")
            .field("uid", &self.uid)
            .field("streams", &self.streams)
            .field("connected", &self.is_connected())
            .finish()
    }
}
