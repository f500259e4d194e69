//! [`ShardedConnection`]: Redis Cluster's sharded pub/sub (Redis 7: SPUBLISH, SSUBSCRIBE,
//! `PUBSUB SHARDNUMSUB`) through the `redis` crate's cluster client, which routes each
//! channel to the master owning its slot, follows MOVED and ASK, and subscribes again on the
//! new owner when slots move or a node comes back.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bytes::Bytes;
use futures_util::future::{self, BoxFuture};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{MultipleNodeRoutingInfo, RoutingInfo};
use redis::{PushInfo, PushKind, Value};
use tokio::sync::{mpsc, Mutex};

use crate::driver::{DriverError, Incoming};
use crate::publisher::Publish;
use crate::shared_connection::{error, IO_TIMEOUT};
use crate::status::AdapterStatus;

/// What the cluster pushes to this instance: messages on its shard channels, and news of its
/// connections.
pub(crate) enum Push {
    Message(Incoming),
    /// A node connection was lost (the client reconnects and subscribes again by itself).
    Disconnected,
    /// A node confirmed the subscription to a shard channel.
    Subscribed(String),
    /// A node ended the subscription to a shard channel (this instance unsubscribed, or the
    /// channel's slot moved to another master).
    Unsubscribed(String),
}

/// One cluster connection (multiplexed, one link per master), opened on first use and
/// opened afresh after [`reset`](Self::reset). Each opening is a generation: its pushes come
/// tagged with it, so news of a replaced connection is told apart from the current one's.
pub(crate) struct ShardedConnection {
    urls: Vec<String>,
    pushes: mpsc::UnboundedSender<(u64, PushInfo)>,
    conn: Mutex<Option<ClusterConnection>>,
    generation: AtomicU64,
    /// Set by [`close`](Self::close): no connection is opened again.
    closed: AtomicBool,
    /// Counts what a master that is down made this instance drop.
    status: AdapterStatus,
}

impl ShardedConnection {
    /// A connection to the cluster whose seed nodes are `urls`; the pushes arrive on the
    /// returned receiver, with the generation of the connection they came from.
    pub(crate) fn new(
        urls: &[String],
        status: AdapterStatus,
    ) -> Result<(Self, mpsc::UnboundedReceiver<(u64, PushInfo)>), DriverError> {
        // Built once here so that a malformed URL fails now.
        redis::cluster::ClusterClient::new(urls.to_vec()).map_err(error)?;
        let (pushes, received) = mpsc::unbounded_channel();
        let connection = Self {
            urls: urls.to_vec(),
            pushes,
            conn: Mutex::new(None),
            generation: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            status,
        };
        Ok((connection, received))
    }

    /// The generation of the current connection.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    /// Drops the current connection: the next use opens a new one (subscribing nothing).
    pub(crate) async fn reset(&self) {
        self.conn.lock().await.take();
    }

    async fn connection(&self) -> Result<ClusterConnection, DriverError> {
        let mut slot = self.conn.lock().await;
        if let Some(conn) = slot.as_ref() {
            return Ok(conn.clone());
        }
        if self.closed.load(Ordering::Relaxed) {
            return Err(DriverError::new("the adapter is closed"));
        }
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        let pushes = self.pushes.clone();
        let client = redis::cluster::ClusterClientBuilder::new(self.urls.clone())
            .use_protocol(redis::ProtocolVersion::RESP3)
            .connection_timeout(IO_TIMEOUT)
            .response_timeout(IO_TIMEOUT)
            .push_sender(move |push: PushInfo| pushes.send((generation, push)).map_err(|_| ()))
            .build()
            .map_err(error)?;
        let conn = tokio::time::timeout(IO_TIMEOUT * 2, client.get_async_connection())
            .await
            .map_err(|_| DriverError::new("timed out connecting to the cluster"))?
            .map_err(error)?;
        *slot = Some(conn.clone());
        Ok(conn)
    }

    /// Closes the connection to every node (their subscriptions end with it) for good.
    pub(crate) async fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
        self.conn.lock().await.take();
    }

    /// SSUBSCRIBE (or SUNSUBSCRIBE) `channels`, each on the master owning its slot.
    pub(crate) async fn set_subscribed(
        &self,
        channels: &[String],
        subscribed: bool,
    ) -> Result<(), DriverError> {
        if channels.is_empty() {
            return Ok(());
        }
        let conn = self.connection().await?;
        // One command per channel: a command's channels must share a slot.
        let commands = channels.iter().map(|channel| {
            let mut conn = conn.clone();
            async move {
                if subscribed {
                    conn.ssubscribe(channel).await
                } else {
                    conn.sunsubscribe(channel).await
                }
            }
        });
        for result in future::join_all(commands).await {
            result.map_err(error)?;
        }
        Ok(())
    }

    /// `PUBSUB SHARDNUMSUB channel` summed over every master (each counts its own
    /// subscribers), as the JS adapter counts instances.
    pub(crate) async fn shard_num_sub(&self, channel: &str) -> Result<usize, DriverError> {
        let mut conn = self.connection().await?;
        let mut cmd = redis::cmd("PUBSUB");
        cmd.arg("SHARDNUMSUB").arg(channel);
        let routing = RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllMasters, None));
        let answer = conn.route_command(cmd, routing).await.map_err(error)?;
        let per_node = match answer {
            Value::Map(per_node) => per_node.into_iter().map(|(_, v)| v).collect(),
            single => vec![single],
        };
        let mut total = 0;
        for answer in per_node {
            let (_, count): (String, usize) =
                redis::from_redis_value(answer).map_err(|e| error(e.into()))?;
            total += count;
        }
        Ok(total)
    }
}

impl Publish for ShardedConnection {
    fn publish(&self, messages: Vec<(String, Bytes)>) -> BoxFuture<'_, Result<(), DriverError>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            // One pipeline per channel (its commands share a slot, so one master gets it in
            // order), the channels at once: the cluster client runs concurrent requests in
            // any order, and a channel's messages must keep theirs.
            let mut by_channel: Vec<(&str, redis::Pipeline)> = Vec::new();
            for (channel, body) in &messages {
                let at = match by_channel.iter().position(|(c, _)| *c == channel.as_str()) {
                    Some(at) => at,
                    None => {
                        by_channel.push((channel, redis::pipe()));
                        by_channel.len() - 1
                    }
                };
                by_channel[at]
                    .1
                    .cmd("SPUBLISH")
                    .arg(channel)
                    .arg(body.as_ref())
                    .ignore();
            }
            let groups = by_channel.len();
            let sends = by_channel.into_iter().map(|(_, pipe)| {
                let mut conn = conn.clone();
                async move {
                    let sent = pipe.query_async::<()>(&mut conn).await;
                    (pipe.len(), sent)
                }
            });
            // A master that is down costs the channels it serves, not the others'.
            let (mut failed, mut dropped, mut last_error) = (0, 0, None);
            for (messages, sent) in future::join_all(sends).await {
                if let Err(err) = sent {
                    failed += 1;
                    dropped += messages;
                    last_error = Some(err);
                }
            }
            match last_error {
                Some(err) if failed == groups => return Err(error(err)),
                Some(err) => {
                    tracing::debug!(%err, dropped, "some shard channels could not be published to");
                    self.status.count_publish_failure();
                    self.status.count_dropped(dropped);
                }
                None => {}
            }
            Ok(())
        })
    }
}

/// What a push from the cluster means to the adapter; `None` for what it ignores.
pub(crate) fn push_of(push: PushInfo) -> Option<Push> {
    match push.kind {
        PushKind::SMessage => {
            let mut data = push.data.into_iter();
            let (Some(channel), Some(payload)) = (data.next(), data.next()) else {
                return None;
            };
            let channel: String = redis::from_redis_value(channel).ok()?;
            let payload: Vec<u8> = redis::from_redis_value(payload).ok()?;
            Some(Push::Message(Incoming {
                channel,
                payload: Bytes::from(payload),
            }))
        }
        PushKind::Disconnection => Some(Push::Disconnected),
        PushKind::SSubscribe => {
            let channel = push.data.into_iter().next()?;
            Some(Push::Subscribed(redis::from_redis_value(channel).ok()?))
        }
        PushKind::SUnsubscribe => {
            let channel = push.data.into_iter().next()?;
            Some(Push::Unsubscribed(redis::from_redis_value(channel).ok()?))
        }
        _ => None,
    }
}

impl std::fmt::Debug for ShardedConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardedConnection").finish_non_exhaustive()
    }
}
