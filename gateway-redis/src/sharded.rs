//! [`ShardedRedisAdapter`]: the public face of the sharded adapter. Its settings become a
//! [`ShardedRunning`] when the app starts, and each [`Adapter`] call goes on to
//! [`ClusterOutbound`](crate::cluster_outbound::ClusterOutbound).

use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use futures_util::future::BoxFuture;
use gateway_core::{Adapter, AdapterError, Namespace, Room};
use redis::PushInfo;
use tokio::sync::mpsc;

use crate::cluster_channels::{ClusterChannels, SubscriptionMode};
use crate::cluster_outbound::ClusterOutbound;
use crate::config::Config;
use crate::delegate::delegate_to_outbound;
use crate::ids::random_hex;
use crate::settings::common_settings;
use crate::sharded_connection::ShardedConnection;
use crate::sharded_running::{ShardedRunning, Start};
use crate::sharded_transport::ShardedTransport;
use crate::status::AdapterStatus;

/// The connection and where its pushes arrive, until the app starts.
type Unstarted = (
    Arc<ShardedConnection>,
    mpsc::UnboundedReceiver<(u64, PushInfo)>,
);

/// An [`Adapter`] over a Redis Cluster's sharded pub/sub (Redis 7 and later), wire-compatible
/// with `createShardedAdapter` of `@socket.io/redis-adapter` 8.3: Node socket.io instances
/// with that adapter and these instances form one cluster.
///
/// Each namespace has a shard channel; with the default [`SubscriptionMode::Dynamic`] each
/// room with members on an instance has one too, so a broadcast to one room reaches only the
/// instances with members in it, and the channels spread over the cluster's masters. Instances
/// are counted with `PUBSUB SHARDNUMSUB` on every master.
///
/// While the cluster (or one of its masters) is unreachable the instance keeps serving its own
/// clients, drops what it would publish there (the queue is bounded), and reconnects; the
/// cluster client follows MOVED and ASK redirections and subscribes again when slots move.
///
/// ```no_run
/// use gateway_core::GatewayApp;
/// use gateway_redis::ShardedRedisAdapter;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let adapter = ShardedRedisAdapter::new(["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"])?;
/// let server = GatewayApp::builder()
///     .with_adapter(adapter)
///     .build()?
///     .listen(("0.0.0.0", 3000))
///     .await?;
/// # Ok(()) }
/// ```
pub struct ShardedRedisAdapter {
    urls: Vec<String>,
    config: Config,
    mode: SubscriptionMode,
    uid: String,
    status: AdapterStatus,
    running: Arc<OnceLock<ShardedRunning>>,
    /// Taken when the app starts: the connection and where its pushes arrive.
    unstarted: Mutex<Option<Unstarted>>,
}

common_settings!(impl [] ShardedRedisAdapter, new: "gateway_redis::ShardedRedisAdapter::new([\"redis://127.0.0.1:7000\"]).unwrap()");

impl ShardedRedisAdapter {
    /// An adapter for the cluster reachable at any of the seed nodes `urls`
    /// (`redis://[:password@]host:port`); it connects when the app starts listening. Fails only
    /// on a malformed URL or no URL at all.
    ///
    /// ```
    /// let adapter = gateway_redis::ShardedRedisAdapter::new(["redis://127.0.0.1:7000"]).unwrap();
    /// assert!(!adapter.is_connected());
    /// assert!(gateway_redis::ShardedRedisAdapter::new(Vec::<String>::new()).is_err());
    /// ```
    pub fn new<I>(urls: I) -> Result<Self, AdapterError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let urls: Vec<String> = urls.into_iter().map(|u| u.as_ref().to_owned()).collect();
        if urls.is_empty() {
            return Err(AdapterError::invalid("no Redis cluster node given"));
        }
        let status = AdapterStatus::default();
        let (connection, pushes) = ShardedConnection::new(&urls, status.clone())
            .map_err(|e| AdapterError::invalid(e.to_string()))?;
        Ok(Self {
            urls,
            config: Config::default(),
            mode: SubscriptionMode::default(),
            uid: random_hex(8),
            status,
            running: Arc::default(),
            unstarted: Mutex::new(Some((Arc::new(connection), pushes))),
        })
    }

    /// The prefix of every channel name (`channelPrefix` in the JS adapter; default
    /// `socket.io`). Instances talk to each other only if they use the same prefix.
    ///
    /// ```
    /// let adapter = gateway_redis::ShardedRedisAdapter::new(["redis://127.0.0.1:7000"])
    ///     .unwrap()
    ///     .with_channel_prefix("my-app");
    /// ```
    pub fn with_channel_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.key_prefix = prefix.into();
        self
    }

    /// Which rooms get a channel of their own (default [`SubscriptionMode::Dynamic`]). Every
    /// instance of a cluster must use the same mode.
    ///
    /// ```
    /// use gateway_redis::{ShardedRedisAdapter, SubscriptionMode};
    /// let adapter = ShardedRedisAdapter::new(["redis://127.0.0.1:7000"])
    ///     .unwrap()
    ///     .with_subscription_mode(SubscriptionMode::Static);
    /// ```
    pub fn with_subscription_mode(mut self, mode: SubscriptionMode) -> Self {
        self.mode = mode;
        self
    }

    fn running(&self) -> Option<&ShardedRunning> {
        self.running.get().filter(|running| !running.is_closed())
    }

    fn outbound(&self) -> Option<&Arc<ClusterOutbound<ShardedTransport>>> {
        self.running().map(|running| &running.node.outbound)
    }
}

impl Adapter for ShardedRedisAdapter {
    fn start(&self, namespaces: Vec<Namespace>) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async move {
            let unstarted = self
                .unstarted
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            let Some((connection, pushes)) = unstarted else {
                return Err(AdapterError::invalid("this adapter was already started"));
            };
            let channels = ClusterChannels {
                prefix: self.config.key_prefix.clone(),
                uid: self.uid.clone(),
                mode: self.mode,
            };
            let running = ShardedRunning::start(Start {
                connection,
                pushes,
                config: self.config.clone(),
                channels,
                status: self.status.clone(),
                namespaces,
            })
            .await?;
            let _ = self.running.set(running);
            Ok(())
        })
    }

    fn namespace_created(&self, namespace: Namespace) -> BoxFuture<'_, ()> {
        if let Some(running) = self.running() {
            let channels = running.channels.of_namespace(namespace.name()).to_vec();
            running.change(channels, true, true);
            running.node.inbound.namespaces.add(namespace);
        }
        Box::pin(async {})
    }

    fn namespace_dropped(&self, namespace: &str) {
        if let Some(running) = self.running() {
            running.node.inbound.namespaces.remove(namespace);
            running.change(
                running.channels.of_namespace(namespace).to_vec(),
                false,
                true,
            );
        }
    }

    fn room_created(&self, namespace: &str, room: &Room, own: bool) {
        if let Some(running) = self.running() {
            if let Some(channel) = running.channels.subscribed_for(namespace, room, own) {
                running.change(vec![channel], true, false);
            }
        }
    }

    fn room_deleted(&self, namespace: &str, room: &Room, own: bool) {
        if let Some(running) = self.running() {
            if let Some(channel) = running.channels.subscribed_for(namespace, room, own) {
                running.change(vec![channel], false, false);
            }
        }
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

impl fmt::Debug for ShardedRedisAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShardedRedisAdapter")
            .field("nodes", &self.urls)
            .field("uid", &self.uid)
            .field("mode", &self.mode)
            .field("connected", &self.is_connected())
            .finish()
    }
}
