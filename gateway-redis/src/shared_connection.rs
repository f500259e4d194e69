//! [`SharedConnection`]: one multiplexed connection to a Redis server, shared by every command
//! of an adapter, opened on first use and reopened after a failure.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client};
use tokio::sync::Mutex;

use crate::driver::DriverError;

/// How long connecting, or waiting for one answer, may take before the attempt fails.
pub(crate) const IO_TIMEOUT: Duration = Duration::from_secs(2);

pub(crate) struct SharedConnection {
    client: Client,
    conn: Mutex<Option<MultiplexedConnection>>,
}

impl SharedConnection {
    /// A connection to the server at `url`; connects on first use.
    pub(crate) fn new(url: &str) -> Result<Self, DriverError> {
        let client = Client::open(url).map_err(error)?;
        Ok(Self {
            client,
            conn: Mutex::new(None),
        })
    }

    /// The client, for connections of their own (subscriptions, blocking reads).
    pub(crate) fn client(&self) -> &Client {
        &self.client
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

    /// Runs `cmd`.
    pub(crate) async fn query<T: redis::FromRedisValue>(
        &self,
        cmd: &redis::Cmd,
    ) -> Result<T, DriverError> {
        self.run(|mut conn| async move { cmd.query_async(&mut conn).await })
            .await
    }

    /// Runs `pipe`.
    pub(crate) async fn pipeline<T: redis::FromRedisValue>(
        &self,
        pipe: &redis::Pipeline,
    ) -> Result<T, DriverError> {
        self.run(|mut conn| async move { pipe.query_async(&mut conn).await })
            .await
    }

    /// Runs `run` on the connection; a failure drops it, so that the next call reconnects.
    /// A connection found dropped (Redis restarted since it was opened) is replaced, and
    /// `run` tried once more on the new one.
    async fn run<T, F, Fut>(&self, run: F) -> Result<T, DriverError>
    where
        F: Fn(MultiplexedConnection) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let conn = self.connection().await?;
        match run(conn).await {
            Ok(value) => Ok(value),
            Err(err) if err.is_connection_dropped() && !err.is_timeout() => {
                *self.conn.lock().await = None;
                let conn = self.connection().await?;
                self.settle(run(conn).await).await
            }
            Err(err) => self.settle(Err(err)).await,
        }
    }

    /// `result`, after dropping the connection if it failed.
    async fn settle<T>(&self, result: redis::RedisResult<T>) -> Result<T, DriverError> {
        if result.is_err() {
            *self.conn.lock().await = None;
        }
        result.map_err(error)
    }
}

pub(crate) fn error(err: redis::RedisError) -> DriverError {
    DriverError::new(err.to_string())
}
