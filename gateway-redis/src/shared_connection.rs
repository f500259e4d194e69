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

    /// Runs `run` on the connection; a failure drops it, so that the next call reconnects.
    pub(crate) async fn run<T>(
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

pub(crate) fn error(err: redis::RedisError) -> DriverError {
    DriverError::new(err.to_string())
}
