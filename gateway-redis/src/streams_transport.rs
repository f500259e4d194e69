//! [`StreamsTransport`]: how the streams adapter publishes, as
//! `@socket.io/redis-streams-adapter` 0.3 does: broadcasts and room changes go into the
//! namespace's stream (`XADD`); requests, broadcasts with acks and every answer go over
//! pub/sub, in msgpack; instances are counted with `PUBSUB NUMSUB`.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use gateway_core::AdapterError;
use rmpv::Value as Pack;

use crate::cluster_channels::ClusterChannels;
use crate::cluster_outbound::Transport;
use crate::cluster_wire::{self, Outgoing};
use crate::driver::Driver;
use crate::publisher::PublishQueue;
use crate::redis_driver::RedisDriver;
use crate::status::AdapterStatus;
use crate::streams_connection::{Entry, EntryQueue};
use crate::streams_wire;

/// The streams a namespace maps to (`streamName`, `streamCount`).
#[derive(Clone, Debug)]
pub(crate) struct Streams {
    pub(crate) name: String,
    pub(crate) count: u32,
}

impl Streams {
    pub(crate) fn of(&self, namespace: &str) -> String {
        streams_wire::stream_of(&self.name, self.count, namespace)
    }
}

pub(crate) struct StreamsTransport {
    pub(crate) channels: ClusterChannels,
    pub(crate) streams: Streams,
    pub(crate) entries: EntryQueue,
    pub(crate) publish_queue: PublishQueue,
    pub(crate) driver: Arc<RedisDriver>,
    pub(crate) status: AdapterStatus,
    pub(crate) requests_timeout: Duration,
}

impl Transport for StreamsTransport {
    fn publish(&self, namespace: &str, message: Outgoing<'_>) -> bool {
        let uid = &self.channels.uid;
        if message.is_ephemeral() {
            return match message.encode_msgpack(uid, namespace) {
                Ok(body) => self.publish_queue.push(self.channels.main(namespace), body),
                Err(err) => {
                    tracing::warn!(%err, "message not published");
                    false
                }
            };
        }
        match streams_wire::entry_fields(uid, namespace, &message) {
            Ok(fields) => self.entries.push(Entry {
                stream: self.streams.of(namespace),
                fields,
                added: None,
            }),
            Err(err) => {
                tracing::warn!(%err, "message not added to the stream");
                false
            }
        }
    }

    fn publish_response(&self, namespace: &str, uid: &str, kind: u64, data: Pack) {
        let body = cluster_wire::encode_msgpack(kind, &self.channels.uid, namespace, data);
        let channel = self.channels.response(namespace, uid);
        self.publish_queue.push(channel, body);
    }

    fn server_count(&self, namespace: &str) -> BoxFuture<'static, Result<usize, AdapterError>> {
        let channel = self.channels.main(namespace);
        let driver = self.driver.clone();
        let connected = self.status.is_connected();
        let timeout = self.requests_timeout;
        Box::pin(async move {
            if !connected {
                return Err(AdapterError::unavailable("not connected to Redis"));
            }
            match tokio::time::timeout(timeout, driver.num_sub(channel)).await {
                Ok(Ok(count)) => Ok(count.max(1)),
                Ok(Err(err)) => Err(AdapterError::unavailable(err.to_string())),
                Err(_) => Err(AdapterError::timeout("PUBSUB NUMSUB did not answer")),
            }
        })
    }
}
