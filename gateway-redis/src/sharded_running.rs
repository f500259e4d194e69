//! [`ShardedRunning`]: a [`ShardedRedisAdapter`](crate::ShardedRedisAdapter) once started. It
//! wires the cluster connection's pushes into [`ClusterInbound`], the app's calls into
//! [`ClusterOutbound`], and keeps the shard subscriptions in step with the rooms.

use std::sync::Arc;

use gateway_core::{AdapterError, Namespace};
use redis::PushInfo;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::background::Background;
use crate::backoff::Backoff;
use crate::cluster_channels::ClusterChannels;
use crate::cluster_inbound::ClusterInbound;
use crate::cluster_node::ClusterNode;
use crate::config::Config;
use crate::publisher::{PublishQueue, Publisher};
use crate::shard_subscriptions::{ShardSubscriptions, SubscriptionChange};
use crate::sharded_connection::{push_of, Push, ShardedConnection};
use crate::sharded_transport::ShardedTransport;
use crate::status::AdapterStatus;

/// The started adapter: its tasks, and the parts the app's calls and the tasks share.
pub(crate) struct ShardedRunning {
    pub(crate) node: ClusterNode<ShardedTransport>,
    connection: Arc<ShardedConnection>,
    pub(crate) channels: ClusterChannels,
    /// Unbounded: fed under a namespace's lock, where waiting is not allowed; bounded by the
    /// number of rooms.
    changes: mpsc::UnboundedSender<SubscriptionChange>,
}

/// What starting needs.
pub(crate) struct Start {
    pub(crate) connection: Arc<ShardedConnection>,
    pub(crate) pushes: mpsc::UnboundedReceiver<(u64, PushInfo)>,
    pub(crate) config: Config,
    pub(crate) channels: ClusterChannels,
    pub(crate) status: AdapterStatus,
    pub(crate) namespaces: Vec<Namespace>,
}

impl ShardedRunning {
    /// Subscribes the namespaces' channels and starts the tasks. If the cluster is
    /// unreachable, fails when `config.required_at_startup`, else starts local-only and keeps
    /// trying.
    pub(crate) async fn start(start: Start) -> Result<Self, AdapterError> {
        let Start {
            connection,
            pushes,
            config,
            channels,
            status,
            namespaces,
        } = start;
        let initial: Vec<String> = namespaces
            .iter()
            .flat_map(|ns| channels.of_namespace(ns.name()))
            .collect();
        status.first_contact(
            connection.set_subscribed(&initial, true).await,
            config.required_at_startup,
            "sharded Redis adapter",
            &channels.uid,
        )?;
        let (publish_queue, queued) =
            PublishQueue::new(config.publish_queue_capacity, status.clone());
        let background = Background::new(status.clone());
        let (cancel, tasks) = (background.cancel.clone(), background.tasks.clone());
        let backoff = || Backoff::new(config.reconnect_delay_min, config.reconnect_delay_max);
        let transport = Arc::new(ShardedTransport {
            channels: channels.clone(),
            connection: connection.clone(),
            publish_queue,
            status: status.clone(),
            requests_timeout: config.requests_timeout,
        });
        let node = ClusterNode::new(
            transport,
            &channels.uid,
            config.requests_timeout,
            namespaces,
            background,
        );
        let (changes, changed) = mpsc::unbounded_channel();
        let subscriptions =
            ShardSubscriptions::new(connection.clone(), initial, status.clone(), backoff());
        tasks.spawn(subscriptions.run(changed, cancel.clone()));
        tasks.spawn(read_pushes(
            pushes,
            connection.clone(),
            node.inbound.clone(),
            changes.clone(),
            status.clone(),
            cancel.clone(),
        ));
        let publisher = Publisher {
            driver: connection.clone(),
            status: status.clone(),
            backoff: backoff(),
            cancel: cancel.clone(),
        };
        tasks.spawn(publisher.run(queued));
        Ok(Self {
            node,
            connection,
            channels,
            changes,
        })
    }

    /// Starts (or stops) hearing `channels`.
    /// `essential`: a namespace's own channels, without which it hears nothing (a room's
    /// channel only carries that room's broadcasts).
    pub(crate) fn change(&self, channels: Vec<String>, subscribe: bool, essential: bool) {
        let _ = self.changes.send(SubscriptionChange::Channels {
            channels,
            subscribe,
            essential,
        });
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.node.is_closed()
    }

    /// Stops the tasks, closes the cluster connection (its subscriptions end with it) and lets
    /// go of the app's namespaces.
    pub(crate) async fn close(&self) {
        self.node.close().await;
        self.connection.close().await;
    }
}

/// Hands the messages the cluster pushes to `inbound`, and tracks the connection's state.
async fn read_pushes(
    mut pushes: mpsc::UnboundedReceiver<(u64, PushInfo)>,
    connection: Arc<ShardedConnection>,
    inbound: Arc<ClusterInbound<ShardedTransport>>,
    resync: mpsc::UnboundedSender<SubscriptionChange>,
    status: AdapterStatus,
    cancel: CancellationToken,
) {
    loop {
        let push = tokio::select! {
            () = cancel.cancelled() => return,
            push = pushes.recv() => push,
        };
        let Some((generation, push)) = push else {
            return;
        };
        match push_of(push) {
            // A replaced connection may still deliver for a moment: only the current one's.
            Some(Push::Message(message)) if generation == connection.generation() => {
                inbound.handle(&message.payload);
            }
            // A connection replaced on purpose says so too: only the current one's matter.
            Some(Push::Disconnected) if generation == connection.generation() => {
                if status.is_connected() {
                    tracing::warn!("lost a Redis cluster connection; reconnecting");
                }
                status.set_connected(false);
                let _ = resync.send(SubscriptionChange::Resync);
            }
            Some(Push::Subscribed(channel)) if generation == connection.generation() => {
                let _ = resync.send(SubscriptionChange::Confirmed(channel));
            }
            Some(Push::Unsubscribed(channel)) if generation == connection.generation() => {
                let _ = resync.send(SubscriptionChange::Ended(channel));
            }
            Some(_) | None => {}
        }
    }
}
