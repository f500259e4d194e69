//! [`ShardedRunning`]: a [`ShardedRedisAdapter`](crate::ShardedRedisAdapter) once started. It
//! wires the cluster connection's pushes into [`ClusterInbound`], the app's calls into
//! [`ClusterOutbound`], and keeps the shard subscriptions in step with the rooms.

use std::collections::HashSet;
use std::sync::Arc;

use gateway_core::{AdapterError, Namespace};
use redis::PushInfo;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::backoff::Backoff;
use crate::cluster_inbound::ClusterInbound;
use crate::cluster_outbound::ClusterOutbound;
use crate::config::Config;
use crate::local::LocalNamespaces;
use crate::pending::PendingRequests;
use crate::publisher::{PublishQueue, Publisher};
use crate::sharded_connection::{push_of, Push, ShardedConnection};
use crate::sharded_transport::{ShardChannels, ShardedTransport};
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
}

/// The started adapter: its tasks, and the parts the app's calls and the tasks share.
pub(crate) struct ShardedRunning {
    pub(crate) outbound: Arc<ClusterOutbound<ShardedTransport>>,
    connection: Arc<ShardedConnection>,
    pub(crate) inbound: Arc<ClusterInbound<ShardedTransport>>,
    pub(crate) channels: ShardChannels,
    /// Unbounded: fed under a namespace's lock, where waiting is not allowed; bounded by the
    /// number of rooms.
    pub(crate) changes: mpsc::UnboundedSender<SubscriptionChange>,
    pending: PendingRequests,
    status: AdapterStatus,
    cancel: CancellationToken,
    tasks: TaskTracker,
}

/// What starting needs.
pub(crate) struct Start {
    pub(crate) connection: Arc<ShardedConnection>,
    pub(crate) pushes: mpsc::UnboundedReceiver<PushInfo>,
    pub(crate) config: Config,
    pub(crate) channels: ShardChannels,
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
        let pending = PendingRequests::default();
        let cancel = CancellationToken::new();
        let tasks = TaskTracker::new();
        let backoff = || Backoff::new(config.reconnect_delay_min, config.reconnect_delay_max);
        let transport = Arc::new(ShardedTransport {
            channels: channels.clone(),
            connection: connection.clone(),
            publish_queue,
            status: status.clone(),
            requests_timeout: config.requests_timeout,
        });
        let inbound = Arc::new(ClusterInbound {
            uid: channels.uid.clone(),
            requests_timeout: config.requests_timeout,
            namespaces: LocalNamespaces::new(namespaces),
            transport: transport.clone(),
            pending: pending.clone(),
            cancel: cancel.clone(),
            tasks: tasks.clone(),
        });
        let outbound = Arc::new(ClusterOutbound {
            transport,
            uid: channels.uid.clone(),
            requests_timeout: config.requests_timeout,
            pending: pending.clone(),
        });
        let (changes, changed) = mpsc::unbounded_channel();
        let subscriptions = Subscriptions {
            connection: connection.clone(),
            wanted: initial.into_iter().collect(),
            in_step: subscribed.is_ok(),
            status: status.clone(),
            backoff: backoff(),
        };
        tasks.spawn(subscriptions.run(changed, cancel.clone()));
        tasks.spawn(read_pushes(
            pushes,
            inbound.clone(),
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
            outbound,
            connection: connection.clone(),
            inbound,
            channels,
            changes,
            pending,
            status,
            cancel,
            tasks,
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
        self.cancel.is_cancelled()
    }

    /// Stops the tasks and lets go of the app's namespaces.
    pub(crate) async fn close(&self) {
        self.cancel.cancel();
        self.tasks.close();
        self.tasks.wait().await;
        self.connection.close().await;
        self.status.set_connected(false);
        self.inbound.namespaces.clear();
        self.pending.clear();
    }
}

/// Hands the messages the cluster pushes to `inbound`, and tracks the connection's state.
async fn read_pushes(
    mut pushes: mpsc::UnboundedReceiver<PushInfo>,
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
        let Some(push) = push else { return };
        match push_of(push) {
            Some(Push::Message(message)) => inbound.handle(&message.payload),
            Some(Push::Disconnected) => {
                if status.is_connected() {
                    tracing::warn!("lost a Redis cluster connection; reconnecting");
                }
                status.set_connected(false);
                let _ = resync.send(SubscriptionChange::Resync);
            }
            None => {}
        }
    }
}

/// The shard channels this instance wants to hear, and the task applying changes to them.
struct Subscriptions {
    connection: Arc<ShardedConnection>,
    wanted: HashSet<String>,
    /// Whether every wanted channel is known to be subscribed.
    in_step: bool,
    status: AdapterStatus,
    backoff: Backoff,
}

impl Subscriptions {
    /// Applies changes in order. After a failure, subscribes every wanted channel again (with
    /// backoff) until it succeeds; the cluster client keeps them subscribed after that, across
    /// reconnections and slot moves.
    async fn run(
        mut self,
        mut changes: mpsc::UnboundedReceiver<SubscriptionChange>,
        cancel: CancellationToken,
    ) {
        loop {
            if !self.in_step {
                let delay = self.backoff.next();
                let wanted: Vec<String> = self.wanted.iter().cloned().collect();
                let attempt = async {
                    tokio::time::sleep(delay).await;
                    self.connection.set_subscribed(&wanted, true).await
                };
                let result = tokio::select! {
                    () = cancel.cancelled() => return,
                    result = attempt => result,
                };
                match result {
                    Ok(()) => {
                        tracing::info!("sharded Redis adapter subscribed again");
                        self.status.set_connected(true);
                        self.backoff.reset();
                        self.in_step = true;
                    }
                    Err(err) => {
                        tracing::debug!(%err, ?delay, "Redis cluster still unreachable");
                        // Apply what came meanwhile to the wanted set before trying again.
                        while let Ok(change) = changes.try_recv() {
                            let _ = self.note(change);
                        }
                        continue;
                    }
                }
            }
            let change = tokio::select! {
                () = cancel.cancelled() => return,
                change = changes.recv() => change,
            };
            let Some(change) = change else { return };
            let Some((channels, subscribe)) = self.note(change) else {
                continue;
            };
            if let Err(err) = self.connection.set_subscribed(&channels, subscribe).await {
                tracing::warn!(%err, "shard subscription change failed; retrying");
                self.in_step = !subscribe;
            }
        }
    }

    /// Updates the wanted channels; returns the change to make now, if any.
    fn note(&mut self, change: SubscriptionChange) -> Option<(Vec<String>, bool)> {
        match change {
            SubscriptionChange::Channels {
                channels,
                subscribe,
            } => {
                for channel in &channels {
                    if subscribe {
                        self.wanted.insert(channel.clone());
                    } else {
                        self.wanted.remove(channel);
                    }
                }
                Some((channels, subscribe))
            }
            SubscriptionChange::Resync => {
                self.in_step = false;
                None
            }
        }
    }
}
