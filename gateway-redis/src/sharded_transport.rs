//! [`ShardedTransport`]: how the sharded adapter publishes (SPUBLISH on the channel its
//! [`SubscriptionMode`](crate::SubscriptionMode) picks) and counts instances.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use gateway_core::AdapterError;
use rmpv::Value as Pack;

use crate::cluster_channels::ClusterChannels;
use crate::cluster_outbound::Transport;
use crate::cluster_wire::{self, Outgoing};
use crate::publisher::PublishQueue;
use crate::sharded_connection::ShardedConnection;
use crate::status::AdapterStatus;

/// Publishes through the [`PublishQueue`] (SPUBLISH in batches) and counts instances with
/// `PUBSUB SHARDNUMSUB`.
pub(crate) struct ShardedTransport {
    pub(crate) channels: ClusterChannels,
    pub(crate) connection: Arc<ShardedConnection>,
    pub(crate) publish_queue: PublishQueue,
    pub(crate) status: AdapterStatus,
    pub(crate) requests_timeout: Duration,
}

impl Transport for ShardedTransport {
    fn publish(&self, namespace: &str, message: Outgoing<'_>) -> bool {
        let body = match message.encode(&self.channels.uid, namespace) {
            Ok(body) => body,
            Err(err) => {
                tracing::warn!(%err, "message not published");
                return false;
            }
        };
        let channel = self
            .channels
            .publish_channel(namespace, message.single_room());
        self.publish_queue.push(channel, body)
    }

    fn publish_response(&self, namespace: &str, uid: &str, kind: u64, data: Pack) {
        let body = cluster_wire::encode(kind, &self.channels.uid, namespace, data);
        let channel = self.channels.response(namespace, uid);
        self.publish_queue.push(channel, body);
    }

    fn server_count(&self, namespace: &str) -> BoxFuture<'static, Result<usize, AdapterError>> {
        let channel = self.channels.main(namespace);
        let connection = self.connection.clone();
        let connected = self.status.is_connected();
        let timeout = self.requests_timeout;
        Box::pin(async move {
            if !connected {
                return Err(AdapterError::unavailable(
                    "not connected to the Redis cluster",
                ));
            }
            match tokio::time::timeout(timeout, connection.shard_num_sub(&channel)).await {
                Ok(Ok(count)) => Ok(count.max(1)),
                Ok(Err(err)) => Err(AdapterError::unavailable(err.to_string())),
                Err(_) => Err(AdapterError::timeout("PUBSUB SHARDNUMSUB did not answer")),
            }
        })
    }
}
