//! [`DynamicSubscriptions`]: the channels of the concrete namespaces dynamic gateways create
//! on this instance. Each gets its own [`Subscription`] while it is live, so a broadcast another
//! instance makes to `/workspaces/acme` reaches this instance's clients of it; it is cancelled
//! when the namespace is dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use gateway_core::Namespace;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::backoff::Backoff;
use crate::channels::ChannelMap;
use crate::config::Config;
use crate::driver::Driver;
use crate::inbound::Inbound;
use crate::status::AdapterStatus;
use crate::subscription::Subscription;

/// The subscriptions of the live concrete namespaces, by name.
pub(crate) struct DynamicSubscriptions<D> {
    pub(crate) driver: Arc<D>,
    pub(crate) config: Config,
    pub(crate) uid: String,
    pub(crate) inbound: Arc<Inbound>,
    /// The adapter's: closing the adapter ends every subscription.
    pub(crate) cancel: CancellationToken,
    pub(crate) tasks: TaskTracker,
    /// Ends each namespace's subscription. Bounded by the gateways' live-namespace bounds.
    pub(crate) live: Mutex<HashMap<String, CancellationToken>>,
}

impl<D: Driver> DynamicSubscriptions<D> {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, CancellationToken>> {
        // Each step leaves the map consistent: a poisoned lock is usable.
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hears the other instances on behalf of `ns` (its broadcast pattern, request and response
    /// channels, as for the app's fixed namespaces); done once the first attempt to subscribe
    /// is over. If Redis is unreachable, the subscription keeps trying with backoff.
    pub(crate) fn add(&self, ns: Namespace) -> impl std::future::Future<Output = ()> + use<D> {
        let name = ns.name().to_owned();
        self.inbound.namespaces.add(ns);
        let cancel = self.cancel.child_token();
        if let Some(previous) = self.lock().insert(name.clone(), cancel.clone()) {
            previous.cancel();
        }
        let subscription = Subscription {
            driver: self.driver.clone(),
            channels: Arc::new(ChannelMap::new(
                &self.config.key_prefix,
                &self.uid,
                [name.as_str()],
            )),
            inbound: self.inbound.clone(),
            // The adapter's status follows its main subscription only.
            status: AdapterStatus::default(),
            backoff: Backoff::new(
                self.config.reconnect_delay_min,
                self.config.reconnect_delay_max,
            ),
            cancel,
            uid: self.uid.clone(),
        };
        let (subscribed, first_attempt) = oneshot::channel();
        self.tasks.spawn(async move {
            let first = tokio::select! {
                () = subscription.cancel.cancelled() => return,
                result = subscription.subscribe() => result,
            };
            let first = match first {
                Ok(messages) => Some(messages),
                Err(err) => {
                    tracing::warn!(%err, "could not subscribe for a new namespace; retrying");
                    None
                }
            };
            let _ = subscribed.send(());
            subscription.run(first).await;
        });
        async move {
            let _ = first_attempt.await;
        }
    }

    /// Stops hearing the other instances on behalf of namespace `name`.
    pub(crate) fn remove(&self, name: &str) {
        if let Some(cancel) = self.lock().remove(name) {
            cancel.cancel();
        }
        self.inbound.namespaces.remove(name);
    }
}
