//! [`StreamsConnection`]: the Redis commands of the streams adapter beside pub/sub: `XADD`
//! (through the [`StreamWriter`] task, in batches), `XREAD BLOCK` (a connection per reader),
//! and the session keys of connection state recovery.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::streams::{StreamRangeReply, StreamReadReply};
use redis::{AsyncConnectionConfig, Client};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::driver::DriverError;
use crate::shared_connection::{SharedConnection, IO_TIMEOUT};
use crate::status::AdapterStatus;

/// Entries added in one round trip at most.
const WRITE_BATCH: usize = 256;

/// The commands over the adapter's [`SharedConnection`].
pub(crate) struct StreamsConnection {
    shared: SharedConnection,
}

impl StreamsConnection {
    pub(crate) fn new(url: &str) -> Result<Self, DriverError> {
        Ok(Self {
            shared: SharedConnection::new(url)?,
        })
    }

    pub(crate) fn client(&self) -> &Client {
        self.shared.client()
    }

    pub(crate) async fn query<T: redis::FromRedisValue>(
        &self,
        cmd: &redis::Cmd,
    ) -> Result<T, DriverError> {
        self.shared.query(cmd).await
    }

    pub(crate) async fn pipeline<T: redis::FromRedisValue>(
        &self,
        pipe: &redis::Pipeline,
    ) -> Result<T, DriverError> {
        self.shared.pipeline(pipe).await
    }

    /// `XRANGE stream start end COUNT count`.
    pub(crate) async fn range(
        &self,
        stream: &str,
        start: &str,
        end: &str,
        count: usize,
    ) -> Result<StreamRangeReply, DriverError> {
        let mut cmd = redis::cmd("XRANGE");
        cmd.arg(stream).arg(start).arg(end).arg("COUNT").arg(count);
        self.query(&cmd).await
    }
}

/// A stream entry waiting to be added, and who waits for its id (the recovery offset).
pub(crate) struct Entry {
    pub(crate) stream: String,
    pub(crate) fields: Vec<(&'static str, Vec<u8>)>,
    pub(crate) added: Option<oneshot::Sender<Option<String>>>,
}

/// The bounded queue of entries for [`StreamWriter::run`].
#[derive(Clone)]
pub(crate) struct EntryQueue {
    sender: mpsc::Sender<Entry>,
    status: AdapterStatus,
}

impl EntryQueue {
    pub(crate) fn new(capacity: usize, status: AdapterStatus) -> (Self, mpsc::Receiver<Entry>) {
        let (sender, receiver) = mpsc::channel(capacity);
        (Self { sender, status }, receiver)
    }

    /// Queues an entry; false if it was dropped (queue full or closed).
    pub(crate) fn push(&self, entry: Entry) -> bool {
        match self.sender.try_send(entry) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.status.count_dropped(1);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// The task adding queued entries with `XADD … MAXLEN ~ max_len *`, in batches.
pub(crate) struct StreamWriter {
    pub(crate) connection: Arc<StreamsConnection>,
    pub(crate) max_len: usize,
    pub(crate) status: AdapterStatus,
    pub(crate) backoff: Backoff,
    pub(crate) cancel: CancellationToken,
}

impl StreamWriter {
    /// Adds the queue in batches until cancelled. After a failure, what is queued before the
    /// next attempt (backing off) is dropped, as the publisher does.
    pub(crate) async fn run(mut self, mut queue: mpsc::Receiver<Entry>) {
        let mut retry_at: Option<Instant> = None;
        loop {
            let mut batch = Vec::with_capacity(WRITE_BATCH);
            let received = tokio::select! {
                () = self.cancel.cancelled() => return,
                n = queue.recv_many(&mut batch, WRITE_BATCH) => n,
            };
            if received == 0 {
                return;
            }
            if retry_at.is_some_and(|at| Instant::now() < at) {
                self.status.count_dropped(received);
                continue;
            }
            let mut pipe = redis::pipe();
            for entry in &batch {
                let cmd = pipe.cmd("XADD").arg(&entry.stream);
                cmd.arg("MAXLEN").arg("~").arg(self.max_len).arg("*");
                for (field, value) in &entry.fields {
                    cmd.arg(*field).arg(value.as_slice());
                }
            }
            let result = tokio::select! {
                () = self.cancel.cancelled() => return,
                result = self.connection.pipeline::<Vec<String>>(&pipe) => result,
            };
            match result {
                Ok(ids) => {
                    retry_at = None;
                    self.backoff.reset();
                    for (entry, id) in batch.into_iter().zip(ids) {
                        if let Some(added) = entry.added {
                            let _ = added.send(Some(id));
                        }
                    }
                }
                Err(err) => {
                    if retry_at.is_none() {
                        tracing::warn!(%err, "cannot add to the Redis stream; messages for other instances are dropped until it is back");
                    }
                    self.status.count_publish_failure();
                    self.status.count_dropped(received);
                    retry_at = Some(Instant::now() + self.backoff.next());
                }
            }
        }
    }
}

/// Reads one stream with `XREAD BLOCK` from where it left off, on a connection of its own, and
/// hands each entry to `on_entry`. After an error it reconnects (backing off) and goes on from
/// the last id it read, so nothing added meanwhile is missed (unless trimmed).
pub(crate) async fn read_stream(
    client: Client,
    stream: String,
    read_count: usize,
    block: Duration,
    mut backoff: Backoff,
    cancel: CancellationToken,
    on_entry: impl Fn(&redis::streams::StreamId),
) {
    let mut offset = "$".to_owned();
    let mut conn: Option<MultiplexedConnection> = None;
    loop {
        if conn.is_none() {
            let config = AsyncConnectionConfig::new()
                .set_connection_timeout(Some(IO_TIMEOUT))
                .set_response_timeout(Some(block + IO_TIMEOUT));
            let connect = client.get_multiplexed_async_connection_with_config(&config);
            let connected = tokio::select! {
                () = cancel.cancelled() => return,
                connected = connect => connected,
            };
            match connected {
                Ok(c) => conn = Some(c),
                Err(err) => {
                    let delay = backoff.next();
                    tracing::debug!(%err, ?delay, stream, "cannot read the stream yet");
                    tokio::select! {
                        () = cancel.cancelled() => return,
                        () = tokio::time::sleep(delay) => continue,
                    }
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT").arg(read_count);
        cmd.arg("BLOCK")
            .arg(u64::try_from(block.as_millis()).unwrap_or(u64::MAX));
        cmd.arg("STREAMS").arg(&stream).arg(&offset);
        let read = tokio::select! {
            () = cancel.cancelled() => return,
            read = cmd.query_async::<Option<StreamReadReply>>(c) => read,
        };
        match read {
            Ok(reply) => {
                backoff.reset();
                for key in reply.map(|r| r.keys).unwrap_or_default() {
                    for entry in &key.ids {
                        offset.clone_from(&entry.id);
                        on_entry(entry);
                    }
                }
            }
            Err(err) => {
                conn = None;
                let delay = backoff.next();
                tracing::warn!(%err, stream, after = %offset, "lost the Redis stream; reading on from the last entry once back");
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}
