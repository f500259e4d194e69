//! [`Subscription`]: the connection on which this instance hears the others. It subscribes to
//! the namespaces' channels, hands each message to [`Inbound`], and when the connection is lost
//! resubscribes with backoff, keeping [`AdapterStatus::is_connected`] up to date.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::channels::ChannelMap;
use crate::driver::{Driver, DriverError, Incoming};
use crate::inbound::Inbound;
use crate::status::AdapterStatus;

/// The subscriber task and what it needs.
pub(crate) struct Subscription<D> {
    pub(crate) driver: Arc<D>,
    pub(crate) channels: Arc<ChannelMap>,
    pub(crate) inbound: Arc<Inbound>,
    pub(crate) status: AdapterStatus,
    pub(crate) backoff: Backoff,
    pub(crate) cancel: CancellationToken,
    /// This instance's id, for the log.
    pub(crate) uid: String,
}

impl<D: Driver> Subscription<D> {
    /// Subscribes a fresh connection to every channel of the app's namespaces.
    pub(crate) async fn subscribe(&self) -> Result<mpsc::Receiver<Incoming>, DriverError> {
        let (exact, patterns) = self.channels.subscriptions();
        self.driver.subscribe(exact, patterns).await
    }

    /// Reads the subscription (`first`, if the one made at startup succeeded); when it ends,
    /// resubscribes with backoff until cancelled.
    pub(crate) async fn run(mut self, first: Option<mpsc::Receiver<Incoming>>) {
        let mut subscription = first;
        loop {
            if let Some(mut messages) = subscription.take() {
                self.status.set_connected(true);
                self.backoff.reset();
                loop {
                    let message = tokio::select! {
                        () = self.cancel.cancelled() => return,
                        message = messages.recv() => message,
                    };
                    match message {
                        Some(message) => self.inbound.handle(&self.channels, message),
                        None => break,
                    }
                }
                self.status.set_connected(false);
                tracing::warn!(
                    "lost the Redis subscription; serving this instance's clients only while \
                     reconnecting"
                );
            }
            let delay = self.backoff.next();
            let attempt = async {
                tokio::time::sleep(delay).await;
                self.subscribe().await
            };
            let result = tokio::select! {
                () = self.cancel.cancelled() => return,
                result = attempt => result,
            };
            match result {
                Ok(messages) => {
                    tracing::info!(uid = %self.uid, "Redis adapter subscribed again");
                    subscription = Some(messages);
                }
                Err(err) => tracing::debug!(%err, ?delay, "Redis still unreachable"),
            }
        }
    }
}
