//! [`ShardSubscriptions`]: the shard channels an instance wants to hear, and the task that
//! keeps them subscribed.
//!
//! A subscription counts once its master confirms it (an `ssubscribe` push): the cluster
//! client answers SSUBSCRIBE without waiting for that, and one sent while the topology changes
//! can be lost (redirected, or made on a link being replaced). What is not confirmed in time
//! is subscribed again. After a node connection was lost, once every channel is confirmed
//! again, everything is subscribed once more on a fresh connection: the cluster client's own
//! repair of a master that came back was seen to leave a channel unsubscribed without a word.
//! The adapter counts as connected while every namespace's own channels are confirmed: a
//! master that is down only costs the rooms whose channels it serves.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::sharded_connection::ShardedConnection;
use crate::status::AdapterStatus;

/// How long a subscription may go unconfirmed before it is made again.
const CONFIRMATION_TIMEOUT: Duration = Duration::from_secs(2);

/// What the subscription task is told.
pub(crate) enum SubscriptionChange {
    /// Start (or stop) hearing these channels; `essential`: a namespace's own channels.
    Channels {
        channels: Vec<String>,
        subscribe: bool,
        essential: bool,
    },
    /// A node connection was lost: every channel must be confirmed again.
    Resync,
    /// The current connection's node confirmed the subscription to this channel.
    Confirmed(String),
    /// The current connection's node ended the subscription to this channel (its slot moved,
    /// or this instance unsubscribed).
    Ended(String),
}

pub(crate) struct ShardSubscriptions {
    connection: Arc<ShardedConnection>,
    wanted: HashSet<String>,
    essential: HashSet<String>,
    unconfirmed: HashSet<String>,
    status: AdapterStatus,
    backoff: Backoff,
    /// A node connection was lost since everything was last subscribed on a fresh connection.
    refresh_when_whole: bool,
}

impl ShardSubscriptions {
    /// Wanting the namespaces' own channels `initial` (subscribed already, or not).
    pub(crate) fn new(
        connection: Arc<ShardedConnection>,
        initial: Vec<String>,
        status: AdapterStatus,
        backoff: Backoff,
    ) -> Self {
        let wanted: HashSet<String> = initial.into_iter().collect();
        Self {
            connection,
            unconfirmed: wanted.clone(),
            essential: wanted.clone(),
            wanted,
            status,
            backoff,
            refresh_when_whole: false,
        }
    }

    /// Applies changes in order (those waiting together as one), and subscribes again what is
    /// not confirmed in time, until cancelled.
    pub(crate) async fn run(
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
            let first = tokio::select! {
                () = cancel.cancelled() => return,
                () = retry => None,
                change = changes.recv() => match change {
                    Some(change) => Some(change),
                    None => return,
                },
            };
            match first {
                None => {
                    self.subscribe_again().await;
                    retry_at = Some(Instant::now() + CONFIRMATION_TIMEOUT + self.backoff.next());
                }
                Some(first) => {
                    let mut batch = vec![first];
                    while let Ok(more) = changes.try_recv() {
                        batch.push(more);
                    }
                    if self.apply(batch).await && retry_at.is_none() {
                        retry_at = Some(Instant::now() + CONFIRMATION_TIMEOUT);
                    }
                }
            }
            if self.unconfirmed.is_empty() && self.refresh_when_whole {
                self.refresh_when_whole = false;
                self.connection.reset().await;
                self.unconfirmed = self.wanted.clone();
                self.subscribe_again().await;
                retry_at = Some(Instant::now() + CONFIRMATION_TIMEOUT);
            }
            let connected = self.unconfirmed.is_disjoint(&self.essential);
            if connected && !self.status.is_connected() {
                tracing::info!("sharded Redis adapter subscribed again");
            }
            self.status.set_connected(connected);
            if self.unconfirmed.is_empty() {
                retry_at = None;
                self.backoff.reset();
            }
        }
    }

    /// Subscribes again what is not confirmed.
    async fn subscribe_again(&mut self) {
        let channels: Vec<String> = self.unconfirmed.iter().cloned().collect();
        if let Err(err) = self.connection.set_subscribed(&channels, true).await {
            tracing::debug!(%err, "shard channels not subscribed yet");
        }
    }

    /// Applies `batch`, subscribing and unsubscribing its net changes at once; true if some
    /// subscription now waits for its confirmation.
    async fn apply(&mut self, batch: Vec<SubscriptionChange>) -> bool {
        let (mut subscribe, mut unsubscribe) = (HashSet::new(), HashSet::new());
        let mut waits = false;
        for change in batch {
            match change {
                SubscriptionChange::Channels {
                    channels,
                    subscribe: true,
                    essential,
                } => {
                    for channel in channels {
                        unsubscribe.remove(&channel);
                        if essential {
                            self.essential.insert(channel.clone());
                        }
                        self.wanted.insert(channel.clone());
                        self.unconfirmed.insert(channel.clone());
                        subscribe.insert(channel);
                    }
                }
                SubscriptionChange::Channels { channels, .. } => {
                    for channel in channels {
                        subscribe.remove(&channel);
                        self.essential.remove(&channel);
                        self.wanted.remove(&channel);
                        self.unconfirmed.remove(&channel);
                        unsubscribe.insert(channel);
                    }
                }
                SubscriptionChange::Confirmed(channel) => {
                    self.unconfirmed.remove(&channel);
                }
                SubscriptionChange::Ended(channel) => {
                    if self.wanted.contains(&channel) {
                        // Its slot moved: the new owner must confirm it in time.
                        self.unconfirmed.insert(channel);
                        waits = true;
                    }
                }
                SubscriptionChange::Resync => {
                    self.unconfirmed = self.wanted.clone();
                    self.refresh_when_whole = true;
                    waits = true;
                }
            }
        }
        for (channels, on) in [(subscribe, true), (unsubscribe, false)] {
            let channels: Vec<String> = channels.into_iter().collect();
            if let Err(err) = self.connection.set_subscribed(&channels, on).await {
                tracing::debug!(%err, "shard subscription change not made yet");
            }
            waits |= on && !channels.is_empty();
        }
        waits
    }
}
