//! [`ShardedRunning`]: a [`ShardedRedisAdapter`](crate::ShardedRedisAdapter) once started. It
//! wires the cluster connection's pushes into [`ClusterInbound`], the app's calls into
//! [`ClusterOutbound`], and keeps the shard subscriptions in step with the rooms.

use std::collections::HashSet;
use std::sync::Arc;

use gateway_core::{AdapterError, Namespace};
use redis::PushInfo;
use tokio::sync::mpsc;
use tokio::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

use crate::background::Background;
use crate::backoff::Backoff;
use crate::cluster_channels::ClusterChannels;
use crate::cluster_inbound::ClusterInbound;
use crate::cluster_node::ClusterNode;
use crate::config::Config;
use crate::publisher::{PublishQueue, Publisher};
use crate::sharded_connection::{push_of, Push, ShardedConnection};
use crate::sharded_transport::ShardedTransport;
use crate::status::AdapterStatus;

/// What the subscription task is told.
pub(crate) enum SubscriptionChange {
    /// Start (or stop) hearing these channels.
    Channels {
        channels: Vec<String>,
        subscribe: bool,
    },
    /// A node connection was lost: subscribe every channel again until it works (which tells
    /// that the cluster is whole again).
    Resync,
    /// The current connection's node confirmed the subscription to this channel.
    Confirmed(String),
    /// The current connection's node ended the subscription to this channel.
    Ended(String),
}

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
        let subscribed = connection.set_subscribed(&initial, true).await;
        match &subscribed {
            Ok(()) => {
                status.set_connected(true);
                tracing::info!(uid = %channels.uid, "sharded Redis adapter subscribed");
            }
            Err(err) if config.required_at_startup => {
                return Err(AdapterError::unavailable(format!(
                    "the Redis cluster is unreachable at startup: {err}"
                )));
            }
            Err(err) => tracing::warn!(
                %err,
                "the Redis cluster is unreachable at startup; serving this instance's clients \
                 only until it is reachable"
            ),
        }
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
        let wanted: HashSet<String> = initial.into_iter().collect();
        let subscriptions = Subscriptions {
            connection: connection.clone(),
            unconfirmed: wanted.clone(),
            wanted,
            status: status.clone(),
            backoff: backoff(),
        };
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
    pub(crate) fn change(&self, channels: Vec<String>, subscribe: bool) {
        let _ = self.changes.send(SubscriptionChange::Channels {
            channels,
            subscribe,
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
            Some(Push::Message(message)) => inbound.handle(&message.payload),
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
            Some(Push::Disconnected | Push::Subscribed(_) | Push::Unsubscribed(_)) | None => {}
        }
    }
}

/// How long a subscription may go unconfirmed (no `ssubscribe` push from its node) before it
/// is made again.
const CONFIRMATION_TIMEOUT: Duration = Duration::from_secs(2);

/// The shard channels this instance wants to hear, and the task applying changes to them.
///
/// A subscription counts once its node confirms it (an `ssubscribe` push): the cluster client
/// answers SSUBSCRIBE without waiting for that, and one sent while the cluster's topology
/// changes can be lost (redirected, or made on a link being replaced). What is not confirmed
/// in time is subscribed again, on a fresh connection, with backoff.
struct Subscriptions {
    connection: Arc<ShardedConnection>,
    wanted: HashSet<String>,
    unconfirmed: HashSet<String>,
    status: AdapterStatus,
    backoff: Backoff,
}

impl Subscriptions {
    async fn run(
        mut self,
        mut changes: mpsc::UnboundedReceiver<SubscriptionChange>,
        cancel: CancellationToken,
    ) {
        let mut retry_at = Some(Instant::now() + CONFIRMATION_TIMEOUT);
        loop {
            let retry = async {
                match retry_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let change = tokio::select! {
                () = cancel.cancelled() => return,
                () = retry => None,
                change = changes.recv() => match change {
                    Some(change) => Some(change),
                    None => return,
                },
            };
            match change {
                None => {
                    // Not all confirmed in time: all again, on a fresh connection.
                    self.status.set_connected(false);
                    self.connection.reset().await;
                    self.unconfirmed = self.wanted.clone();
                    let wanted: Vec<String> = self.wanted.iter().cloned().collect();
                    if let Err(err) = self.connection.set_subscribed(&wanted, true).await {
                        tracing::debug!(%err, "Redis cluster still unreachable");
                    }
                    retry_at = Some(Instant::now() + CONFIRMATION_TIMEOUT + self.backoff.next());
                }
                Some(SubscriptionChange::Channels {
                    channels,
                    subscribe,
                }) => {
                    for channel in &channels {
                        if subscribe {
                            self.wanted.insert(channel.clone());
                            self.unconfirmed.insert(channel.clone());
                        } else {
                            self.wanted.remove(channel);
                            self.unconfirmed.remove(channel);
                        }
                    }
                    if let Err(err) = self.connection.set_subscribed(&channels, subscribe).await {
                        tracing::debug!(%err, "shard subscription change failed");
                    }
                    if subscribe && retry_at.is_none() {
                        retry_at = Some(Instant::now() + CONFIRMATION_TIMEOUT);
                    }
                }
                Some(SubscriptionChange::Confirmed(channel)) => {
                    self.unconfirmed.remove(&channel);
                }
                Some(SubscriptionChange::Ended(channel)) => {
                    // A wanted channel's slot moved: the cluster client subscribes on the new
                    // owner, which must confirm it in time.
                    if self.wanted.contains(&channel) {
                        self.unconfirmed.insert(channel);
                        retry_at.get_or_insert(Instant::now() + CONFIRMATION_TIMEOUT);
                    }
                }
                Some(SubscriptionChange::Resync) => {
                    self.status.set_connected(false);
                    self.unconfirmed = self.wanted.clone();
                    retry_at = Some(Instant::now() + self.backoff.next());
                }
            }
            if self.unconfirmed.is_empty() && retry_at.is_some() {
                if !self.status.is_connected() {
                    tracing::info!("sharded Redis adapter subscribed again");
                }
                self.status.set_connected(true);
                self.backoff.reset();
                retry_at = None;
            }
        }
    }
}
