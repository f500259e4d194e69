//! [`RedisDriver`]: the [`Driver`] over a real Redis server, with the `redis` crate.

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::driver::{Driver, DriverError, Incoming};
use crate::shared_connection::{error, SharedConnection, IO_TIMEOUT};

/// Messages buffered between the subscription connection and the adapter.
const SUBSCRIPTION_BUFFER: usize = 1024;

/// A [`Driver`] talking to one Redis server (standalone, RESP2 or RESP3).
///
/// Publishing and `PUBSUB NUMSUB` share one multiplexed connection, opened on first use and
/// reopened after a failure; each subscription uses a connection of its own.
///
/// ```
/// let driver = gateway_redis::RedisDriver::new("redis://127.0.0.1:6379/").unwrap();
/// ```
pub struct RedisDriver {
    shared: SharedConnection,
}

impl RedisDriver {
    /// A driver for the server at `url` (`redis://host:port/db`); connects on first use.
    pub fn new(url: &str) -> Result<Self, DriverError> {
        Ok(Self {
            shared: SharedConnection::new(url)?,
        })
    }
}

impl Driver for RedisDriver {
    fn subscribe(
        &self,
        channels: Vec<String>,
        patterns: Vec<String>,
    ) -> BoxFuture<'_, Result<mpsc::Receiver<Incoming>, DriverError>> {
        Box::pin(async move {
            let connect = async {
                let mut pubsub = self.shared.client().get_async_pubsub().await?;
                if !channels.is_empty() {
                    pubsub.subscribe(&channels).await?;
                }
                if !patterns.is_empty() {
                    pubsub.psubscribe(&patterns).await?;
                }
                Ok::<_, redis::RedisError>(pubsub)
            };
            let pubsub = tokio::time::timeout(IO_TIMEOUT, connect)
                .await
                .map_err(|_| DriverError::new("timed out subscribing"))?
                .map_err(error)?;
            let (tx, rx) = mpsc::channel(SUBSCRIPTION_BUFFER);
            tokio::spawn(async move {
                // The sink keeps the connection's subscriptions alive while we read.
                let (_sink, mut stream) = pubsub.split();
                loop {
                    let msg = tokio::select! {
                        msg = stream.next() => msg,
                        () = tx.closed() => break,
                    };
                    let Some(msg) = msg else { break };
                    let incoming = Incoming {
                        channel: msg.get_channel_name().to_owned(),
                        payload: Bytes::copy_from_slice(msg.get_payload_bytes()),
                    };
                    if tx.send(incoming).await.is_err() {
                        break;
                    }
                }
            });
            Ok(rx)
        })
    }

    fn publish(&self, messages: Vec<(String, Bytes)>) -> BoxFuture<'_, Result<(), DriverError>> {
        Box::pin(async move {
            let mut pipe = redis::pipe();
            for (channel, body) in &messages {
                pipe.cmd("PUBLISH").arg(channel).arg(body.as_ref()).ignore();
            }
            self.shared.pipeline::<()>(&pipe).await
        })
    }

    fn num_sub(&self, channel: String) -> BoxFuture<'_, Result<usize, DriverError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("PUBSUB");
            cmd.arg("NUMSUB").arg(&channel);
            let (_, count): (String, usize) = self.shared.query(&cmd).await?;
            Ok(count)
        })
    }
}

impl std::fmt::Debug for RedisDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisDriver")
            .field("server", &self.shared.client().get_connection_info().addr())
            .finish()
    }
}
