//! [`Outbound`]: what this instance publishes for the other instances, i.e. the cluster-wide
//! side of each [`Adapter`](gateway_core::Adapter) call: broadcasts, room changes,
//! disconnects and server-side emits into the [`PublishQueue`], and the requests whose answers
//! it awaits through [`PendingRequests`].

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use gateway_core::{AdapterError, BroadcastMessage, Recipients, RemoteAcks, Room, SocketInfo};
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::answers;
use crate::channels::{ChannelMap, Channels};
use crate::driver::Driver;
use crate::ids::random_id;
use crate::pending::PendingRequests;
use crate::publisher::PublishQueue;
use crate::status::AdapterStatus;
use crate::wire::{self, request_type as kind};

/// Publishes this instance's broadcasts and requests, and gathers the answers.
pub(crate) struct Outbound<D> {
    pub(crate) driver: Arc<D>,
    pub(crate) uid: String,
    pub(crate) requests_timeout: Duration,
    /// Whether Redis is reachable: requests fail fast when it is not.
    pub(crate) status: AdapterStatus,
    pub(crate) channels: Arc<ChannelMap>,
    pub(crate) publish_queue: PublishQueue,
    pub(crate) pending: PendingRequests,
}

impl<D: Driver> Outbound<D> {
    pub(crate) fn broadcast(&self, namespace: &str, message: &BroadcastMessage<'_>) {
        let channels = self.channels.of(namespace);
        match wire::encode_broadcast(&self.uid, namespace, message) {
            Ok(body) => {
                self.publish_queue
                    .push(channels.broadcast_channel(message.recipients), body);
            }
            Err(err) => tracing::warn!(%err, event = message.event, "broadcast not published"),
        }
    }

    pub(crate) fn change_rooms(
        &self,
        namespace: &str,
        recipients: &Recipients,
        rooms: &[Room],
        join: bool,
    ) {
        let request = json!({
            "uid": self.uid,
            "type": if join { kind::REMOTE_JOIN } else { kind::REMOTE_LEAVE },
            "opts": opts_json(recipients),
            "rooms": rooms.iter().map(Room::as_str).collect::<Vec<_>>(),
        });
        self.request_and_forget(namespace, &request);
    }

    pub(crate) fn disconnect_sockets(&self, namespace: &str, recipients: &Recipients) {
        let request = json!({
            "uid": self.uid,
            "type": kind::REMOTE_DISCONNECT,
            "opts": opts_json(recipients),
            "close": false,
        });
        self.request_and_forget(namespace, &request);
    }

    pub(crate) fn server_side_emit(&self, namespace: &str, event: &str, args: &[Value]) {
        let request = json!({
            "uid": self.uid,
            "type": kind::SERVER_SIDE_EMIT,
            "data": server_event(event, args),
        });
        self.request_and_forget(namespace, &request);
    }

    fn request_and_forget(&self, namespace: &str, request: &Value) {
        let channel = self.channels.of(namespace).request.clone();
        self.publish_queue
            .push(channel, request.to_string().into_bytes());
    }

    pub(crate) fn server_count(
        self: Arc<Self>,
        namespace: &str,
    ) -> BoxFuture<'static, Result<usize, AdapterError>> {
        let channel = self.channels.of(namespace).request.clone();
        Box::pin(async move { self.count_servers(channel).await })
    }

    /// Counts the instances (this one included) by their subscriptions to the request channel.
    async fn count_servers(&self, request_channel: String) -> Result<usize, AdapterError> {
        if !self.status.is_connected() {
            return Err(AdapterError::unavailable("not connected to Redis"));
        }
        match tokio::time::timeout(self.requests_timeout, self.driver.num_sub(request_channel))
            .await
        {
            Ok(Ok(count)) => Ok(count.max(1)),
            Ok(Err(err)) => Err(AdapterError::unavailable(err.to_string())),
            Err(_) => Err(AdapterError::timeout("PUBSUB NUMSUB did not answer")),
        }
    }

    pub(crate) fn fetch_sockets(
        self: Arc<Self>,
        namespace: &str,
        recipients: &Recipients,
    ) -> BoxFuture<'static, Result<Vec<SocketInfo>, AdapterError>> {
        let request_id = random_id(16);
        let request = json!({
            "uid": self.uid,
            "requestId": request_id,
            "type": kind::REMOTE_FETCH,
            "opts": opts_json(recipients),
        });
        let channels = self.channels.of(namespace).into_owned();
        Box::pin(async move {
            let request = request.to_string().into_bytes();
            let timeout = self.requests_timeout;
            let answers = self
                .ask_every_instance(&channels, request_id, request, timeout)
                .await?;
            Ok(answers::sockets_of(answers))
        })
    }

    pub(crate) fn server_side_emit_with_ack(
        self: Arc<Self>,
        namespace: &str,
        event: &str,
        args: &[Value],
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Vec<Value>, AdapterError>> {
        let request_id = random_id(16);
        let request = json!({
            "uid": self.uid,
            "requestId": request_id,
            "type": kind::SERVER_SIDE_EMIT,
            "data": server_event(event, args),
        });
        let channels = self.channels.of(namespace).into_owned();
        Box::pin(async move {
            let request = request.to_string().into_bytes();
            let answers = self
                .ask_every_instance(&channels, request_id, request, timeout)
                .await?;
            Ok(answers::fields_of(answers, "data"))
        })
    }

    /// Publishes a request and waits up to `timeout` (server count included) for one answer
    /// from every other instance.
    async fn ask_every_instance(
        &self,
        channels: &Channels,
        request_id: String,
        request: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<Value>, AdapterError> {
        let deadline = Instant::now() + timeout;
        let count = self.count_servers(channels.request.clone());
        let publish = || self.publish_queue.push(channels.request.clone(), request);
        self.pending.ask(request_id, deadline, count, publish).await
    }

    pub(crate) fn broadcast_with_ack(
        self: Arc<Self>,
        namespace: &str,
        message: &BroadcastMessage<'_>,
        timeout: Duration,
    ) -> BoxFuture<'static, RemoteAcks> {
        let request_id = random_id(16);
        let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        let packet = wire::event_packet(namespace, message.event, message.data, None);
        let channels = self.channels.of(namespace).into_owned();
        let request = packet.map(|packet| {
            wire::to_msgpack(&rmpv::Value::Map(vec![
                ("uid".into(), self.uid.as_str().into()),
                ("requestId".into(), request_id.as_str().into()),
                ("type".into(), kind::BROADCAST.into()),
                ("packet".into(), packet),
                (
                    "opts".into(),
                    wire::options(
                        message.recipients,
                        wire::Flags {
                            timeout_ms: Some(timeout_ms),
                            volatile: message.volatile,
                        },
                    ),
                ),
            ]))
        });
        // Published now, as the local sockets get it now: delivery must not wait for the
        // server count, nor depend on the caller polling for the acks.
        let deadline = Instant::now() + timeout;
        let request = match request {
            Ok(request) => request,
            Err(err) => {
                tracing::warn!(%err, "broadcast with acks not published");
                return Box::pin(async { RemoteAcks::default() });
            }
        };
        let pending = self.pending.register(request_id);
        let published = self.publish_queue.push(channels.request.clone(), request);
        let types = (kind::BROADCAST_CLIENT_COUNT, kind::BROADCAST_ACK);
        Box::pin(async move {
            let count = self.count_servers(channels.request);
            pending.acks(deadline, count, published, types).await
        })
    }
}

fn opts_json(recipients: &Recipients) -> Value {
    fn names(rooms: &[Room]) -> Vec<&str> {
        rooms.iter().map(Room::as_str).collect()
    }
    json!({"rooms": names(&recipients.rooms), "except": names(&recipients.except)})
}

/// socket.io's server-side emit packet: the event name, then its arguments.
fn server_event(event: &str, args: &[Value]) -> Vec<Value> {
    let mut packet = Vec::with_capacity(args.len() + 1);
    packet.push(Value::from(event));
    packet.extend_from_slice(args);
    packet
}
