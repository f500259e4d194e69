//! [`RedisDriver`]: the [`Driver`] over a real Redis server, with the `redis` crate.

use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client};
use tokio::sync::{mpsc, Mutex};

use crate::driver::{Driver, DriverError, Incoming};

/// How long connecting, or waiting for one answer, may take before the attempt fails.
const IO_TIMEOUT: Duration = Duration::from_secs(2);

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
    client: Client,
    conn: Mutex<Option<MultiplexedConnection>>,
}

impl RedisDriver {
    /// A driver for the server at `url` (`redis://host:port/db`); connects on first use.
    pub fn new(url: &str) -> Result<Self, DriverError> {
        let client = Client::open(url).map_err(error)?;
        Ok(Self {
            client,
            conn: Mutex::new(None),
        })
    }

    async fn connection(&self) -> Result<MultiplexedConnection, DriverError> {
        let mut slot = self.conn.lock().await;
        if let Some(conn) = slot.as_ref() {
            return Ok(conn.clone());
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(IO_TIMEOUT))
            .set_response_timeout(Some(IO_TIMEOUT));
        let conn = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(error)?;
        *slot = Some(conn.clone());
        Ok(conn)
    }

    /// Runs `cmd`; a failure drops the shared connection so the next call reconnects.
    async fn query<T: redis::FromRedisValue>(
        &self,
        run: impl AsyncFnOnce(&mut MultiplexedConnection) -> redis::RedisResult<T>,
    ) -> Result<T, DriverError> {
        let mut conn = self.connection().await?;
        match run(&mut conn).await {
            Ok(value) => Ok(value),
            Err(err) => {
                *self.conn.lock().await = None;
                Err(error(err))
            }
        }
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
                let mut pubsub = self.client.get_async_pubsub().await?;
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
            self.query(async |conn| pipe.query_async::<()>(conn).await)
                .await
        })
    }

    fn num_sub(&self, channel: String) -> BoxFuture<'_, Result<usize, DriverError>> {
        Box::pin(async move {
            let (_, count): (String, usize) = self
                .query(async |conn| {
                    redis::cmd("PUBSUB")
                        .arg("NUMSUB")
                        .arg(&channel)
                        .query_async(conn)
                        .await
                })
                .await?;
            Ok(count)
        })
    }
}

fn error(err: redis::RedisError) -> DriverError {
    DriverError::new(err.to_string())
}

impl std::fmt::Debug for RedisDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisDriver")
            .field("server", &self.client.get_connection_info().addr())
            .finish()
    }
}
