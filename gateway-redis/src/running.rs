//! [`RunningAdapter`]: a [`RedisAdapter`](crate::RedisAdapter) once started. Starting wires the
//! parts together: the [`Subscription`] feeding [`Inbound`], [`Outbound`] for the app's calls,
//! and the [`Publisher`] behind the [`PublishQueue`] both of those publish through.

use std::sync::Arc;

use gateway_core::{AdapterError, Namespace};

use crate::background::Background;
use crate::backoff::Backoff;
use crate::channels::ChannelMap;
use crate::config::Config;
use crate::driver::Driver;
use crate::dynamic::DynamicSubscriptions;
use crate::inbound::Inbound;
use crate::local::LocalNamespaces;
use crate::outbound::Outbound;
use crate::publisher::{PublishQueue, Publisher};
use crate::status::AdapterStatus;
use crate::subscription::Subscription;

/// The started adapter: its tasks, and the parts the app's calls and the tasks share.
pub(crate) struct RunningAdapter<D> {
    outbound: Arc<Outbound<D>>,
    dynamic: DynamicSubscriptions<D>,
    inbound: Arc<Inbound>,
    background: Background,
}

impl<D: Driver> RunningAdapter<D> {
    /// Subscribes and starts the subscriber and publisher tasks. If Redis is unreachable, fails
    /// when `config.required_at_startup`, else starts local-only and keeps trying.
    pub(crate) async fn start(
        driver: Arc<D>,
        config: Config,
        uid: String,
        status: AdapterStatus,
        namespaces: Vec<Namespace>,
    ) -> Result<Self, AdapterError> {
        let channels = Arc::new(ChannelMap::new(
            &config.key_prefix,
            &uid,
            namespaces.iter().map(Namespace::name),
        ));
        let (publish_queue, queued) =
            PublishQueue::new(config.publish_queue_capacity, status.clone());
        let background = Background::new(status.clone());
        let pending = background.pending.clone();
        let (cancel, tasks) = (background.cancel.clone(), background.tasks.clone());
        let backoff = || Backoff::new(config.reconnect_delay_min, config.reconnect_delay_max);
        let inbound = Arc::new(Inbound {
            uid: uid.clone(),
            requests_timeout: config.requests_timeout,
            channels: channels.clone(),
            namespaces: LocalNamespaces::new(namespaces),
            publish_queue: publish_queue.clone(),
            pending: pending.clone(),
            cancel: cancel.clone(),
            tasks: tasks.clone(),
        });
        let outbound = Arc::new(Outbound {
            driver: driver.clone(),
            uid: uid.clone(),
            requests_timeout: config.requests_timeout,
            status: status.clone(),
            channels: channels.clone(),
            publish_queue,
            pending: pending.clone(),
        });
        let dynamic = DynamicSubscriptions {
            driver: driver.clone(),
            config: config.clone(),
            uid: uid.clone(),
            inbound: inbound.clone(),
            cancel: cancel.clone(),
            tasks: tasks.clone(),
            live: Default::default(),
        };
        let subscription = Subscription {
            driver: driver.clone(),
            channels,
            inbound: inbound.clone(),
            status: status.clone(),
            backoff: backoff(),
            cancel: cancel.clone(),
            uid,
        };
        let first = status.first_contact(
            subscription.subscribe().await,
            config.required_at_startup,
            "Redis adapter",
            &subscription.uid,
        )?;
        let publisher = Publisher {
            driver,
            status: status.clone(),
            backoff: backoff(),
            cancel: cancel.clone(),
        };
        tasks.spawn(publisher.run(queued));
        tasks.spawn(subscription.run(first));
        Ok(Self {
            outbound,
            dynamic,
            inbound,
            background,
        })
    }

    /// Handles a message as if the subscriber task had received it.
    #[cfg(feature = "fuzzing")]
    pub(crate) fn receive(&self, message: crate::driver::Incoming) {
        self.inbound.handle(&self.inbound.channels, message);
    }

    /// Where the app's calls go while running.
    pub(crate) fn outbound(&self) -> &Arc<Outbound<D>> {
        &self.outbound
    }

    /// The subscriptions of dynamic gateways' concrete namespaces.
    pub(crate) fn dynamic(&self) -> &DynamicSubscriptions<D> {
        &self.dynamic
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.background.is_closed()
    }

    /// Stops the tasks and lets go of the app's namespaces.
    pub(crate) async fn close(&self) {
        self.background.stop(&self.inbound.namespaces).await;
    }
}
