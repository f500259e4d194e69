//! Redis adapters for gateway-core: rooms, broadcasts and cluster-wide operations across many
//! instances, each wire-compatible with socket.io's adapter of the same kind, so Node socket.io
//! instances can join the cluster:
//!
//! - [`RedisAdapter`]: classic pub/sub on one Redis (`@socket.io/redis-adapter` 8.3,
//!   `createAdapter`);
//! - [`ShardedRedisAdapter`]: sharded pub/sub on a Redis Cluster (`createShardedAdapter` of the
//!   same package);
//! - [`RedisStreamsAdapter`]: Redis Streams (`@socket.io/redis-streams-adapter` 0.3), which
//!   survives Redis restarts and carries connection state recovery across instances.
//!
//! Give the app one and every broadcast (`server.to("room").emit(..)`) reaches the matching
//! clients of every instance. Each instance delivers to its own clients directly; the others
//! get one message through Redis.
//!
//! ```no_run
//! use gateway_core::GatewayApp;
//! use gateway_redis::RedisAdapter;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
//! let server = GatewayApp::builder()
//!     .with_adapter(RedisAdapter::new(&url)?)
//!     .build()?
//!     .listen(("0.0.0.0", 3001))
//!     .await?;
//! server.shutdown_on(tokio::signal::ctrl_c()).await;
//! # Ok(()) }
//! ```
//!
//! What spans the cluster: broadcasts (to everyone, rooms, `except`, one socket id),
//! [`fetch_sockets`](gateway_core::BroadcastOperator::fetch_sockets),
//! [`sockets_join`](gateway_core::BroadcastOperator::sockets_join) /
//! [`sockets_leave`](gateway_core::BroadcastOperator::sockets_leave),
//! [`disconnect`](gateway_core::BroadcastOperator::disconnect),
//! [`server_side_emit`](gateway_core::Namespace::server_side_emit) (with acks), broadcasts
//! with acks, and [`server_count`](gateway_core::Namespace::server_count).
//!
//! While Redis is unreachable each instance keeps serving its own clients; messages for other
//! instances are dropped (never buffered without bound) and cluster-wide requests fail fast
//! with [`AdapterError::is_unavailable`](gateway_core::AdapterError::is_unavailable). The
//! adapters reconnect with backoff.
//!
//! For tests without a Redis server, [`MemoryBroker`] stands in for one.

// Classic, from the app's call to Redis: `adapter` -> `outbound` -> `publisher` -> `driver` /
// `redis_driver`; and back: `subscription` -> `inbound`. `running` wires them together.
// Sharded and streams speak socket.io-adapter's cluster protocol (`cluster_wire`): `sharded` /
// `streams` -> `cluster_outbound` -> their transport (`sharded_transport`, `streams_transport`)
// -> their connection; and back: the connection's readers -> `cluster_inbound`. `local` holds
// what every flavour does on this instance for the others.
mod adapter;
mod answers;
mod background;
mod backoff;
mod channels;
mod cluster_channels;
mod cluster_inbound;
mod cluster_node;
mod cluster_outbound;
mod cluster_wire;
mod config;
mod delegate;
mod driver;
mod dynamic;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod ids;
mod inbound;
mod local;
mod memory;
mod outbound;
mod pending;
mod publisher;
mod redis_driver;
mod running;
mod settings;
mod shard_subscriptions;
mod sharded;
mod sharded_connection;
mod sharded_running;
mod sharded_transport;
mod shared_connection;
mod status;
mod streams;
mod streams_connection;
mod streams_running;
mod streams_sessions;
mod streams_transport;
mod streams_wire;
mod subscription;
mod timestamp;
mod wire;

pub use adapter::RedisAdapter;
pub use cluster_channels::SubscriptionMode;
pub use driver::{Driver, DriverError, Incoming};
pub use memory::{MemoryBroker, MemoryDriver};
pub use redis_driver::RedisDriver;
pub use sharded::ShardedRedisAdapter;
pub use status::AdapterStatus;
pub use streams::RedisStreamsAdapter;
