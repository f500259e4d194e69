//! [`ClusterOutbound`]: the app's cluster-wide calls as socket.io-adapter `ClusterAdapter`
//! messages, handed to a [`Transport`] (the sharded Redis one), and the answers gathered
//! through [`PendingRequests`].

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use gateway_core::{AdapterError, BroadcastMessage, Recipients, RemoteAcks, Room, SocketInfo};
use rmpv::Value as Pack;
use serde_json::Value;
use tokio::time::Instant;

use crate::answers;
use crate::cluster_wire::{self, message_type as kind, Outgoing};
use crate::ids::random_hex;
use crate::pending::PendingRequests;
use crate::wire::{self, Flags};

/// How the messages of the cluster protocol reach the other instances; each transport
/// encodes them its own way.
pub(crate) trait Transport: Send + Sync + 'static {
    /// Publishes `message` for every other instance serving `namespace`. False if dropped.
    fn publish(&self, namespace: &str, message: Outgoing<'_>) -> bool;

    /// Publishes the answer `data` (of type `kind`) for instance `uid` only.
    fn publish_response(&self, namespace: &str, uid: &str, kind: u64, data: Pack);

    /// How many instances serve `namespace`, this one included.
    fn server_count(&self, namespace: &str) -> BoxFuture<'static, Result<usize, AdapterError>>;
}

/// Publishes this instance's broadcasts and requests, and gathers the answers.
pub(crate) struct ClusterOutbound<T> {
    pub(crate) transport: Arc<T>,
    pub(crate) requests_timeout: Duration,
    pub(crate) pending: PendingRequests,
}

impl<T: Transport> ClusterOutbound<T> {
    pub(crate) fn broadcast(&self, namespace: &str, message: &BroadcastMessage<'_>) {
        let flags = Flags {
            timeout_ms: None,
            volatile: message.volatile,
        };
        let outgoing = Outgoing::Broadcast {
            message,
            request_id: None,
            flags,
        };
        self.transport.publish(namespace, outgoing);
    }

    pub(crate) fn change_rooms(
        &self,
        namespace: &str,
        recipients: &Recipients,
        rooms: &[Room],
        join: bool,
    ) {
        let rooms = rooms.iter().map(|r| Pack::from(r.as_str())).collect();
        let data = Pack::Map(vec![
            ("opts".into(), cluster_wire::options(recipients)),
            ("rooms".into(), Pack::Array(rooms)),
        ]);
        let kind = if join {
            kind::SOCKETS_JOIN
        } else {
            kind::SOCKETS_LEAVE
        };
        self.publish(namespace, kind, data);
    }

    pub(crate) fn disconnect_sockets(&self, namespace: &str, recipients: &Recipients) {
        let data = Pack::Map(vec![
            ("opts".into(), cluster_wire::options(recipients)),
            ("close".into(), false.into()),
        ]);
        self.publish(namespace, kind::DISCONNECT_SOCKETS, data);
    }

    pub(crate) fn server_side_emit(&self, namespace: &str, event: &str, args: &[Value]) {
        let data = Pack::Map(vec![("packet".into(), server_event(event, args))]);
        self.publish(namespace, kind::SERVER_SIDE_EMIT, data);
    }

    fn publish(&self, namespace: &str, kind: u64, data: Pack) -> bool {
        self.transport
            .publish(namespace, Outgoing::Other { kind, data })
    }

    pub(crate) fn server_count(
        &self,
        namespace: &str,
    ) -> BoxFuture<'static, Result<usize, AdapterError>> {
        self.transport.server_count(namespace)
    }

    pub(crate) fn fetch_sockets(
        self: Arc<Self>,
        namespace: &str,
        recipients: &Recipients,
    ) -> BoxFuture<'static, Result<Vec<SocketInfo>, AdapterError>> {
        let request_id = random_hex(8);
        let data = Pack::Map(vec![
            ("opts".into(), cluster_wire::options(recipients)),
            ("requestId".into(), request_id.as_str().into()),
        ]);
        let namespace = namespace.to_owned();
        Box::pin(async move {
            let timeout = self.requests_timeout;
            let answers = self
                .ask_every_instance(&namespace, kind::FETCH_SOCKETS, request_id, data, timeout)
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
        let request_id = random_hex(8);
        let data = Pack::Map(vec![
            ("requestId".into(), request_id.as_str().into()),
            ("packet".into(), server_event(event, args)),
        ]);
        let namespace = namespace.to_owned();
        Box::pin(async move {
            let answers = self
                .ask_every_instance(
                    &namespace,
                    kind::SERVER_SIDE_EMIT,
                    request_id,
                    data,
                    timeout,
                )
                .await?;
            Ok(answers::fields_of(answers, "packet"))
        })
    }

    /// Publishes a request and waits up to `timeout` (server count included) for one answer
    /// from every other instance.
    async fn ask_every_instance(
        &self,
        namespace: &str,
        kind: u64,
        request_id: String,
        data: Pack,
        timeout: Duration,
    ) -> Result<Vec<Value>, AdapterError> {
        let deadline = Instant::now() + timeout;
        let count = self.transport.server_count(namespace);
        let publish = || self.publish(namespace, kind, data);
        self.pending.ask(request_id, deadline, count, publish).await
    }

    pub(crate) fn broadcast_with_ack(
        self: Arc<Self>,
        namespace: &str,
        message: &BroadcastMessage<'_>,
        timeout: Duration,
    ) -> BoxFuture<'static, RemoteAcks> {
        let request_id = random_hex(8);
        let flags = Flags {
            timeout_ms: Some(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX)),
            volatile: message.volatile,
        };
        // Published now, as the local sockets get it now: delivery must not wait for the
        // server count, nor depend on the caller polling for the acks.
        let deadline = Instant::now() + timeout;
        let pending = self.pending.register(request_id.clone());
        let outgoing = Outgoing::Broadcast {
            message,
            request_id: Some(&request_id),
            flags,
        };
        let published = self.transport.publish(namespace, outgoing);
        let count = self.transport.server_count(namespace);
        let types = (kind::BROADCAST_CLIENT_COUNT, kind::BROADCAST_ACK);
        Box::pin(pending.acks(deadline, count, published, types))
    }
}

/// socket.io's server-side emit packet: the event name, then its arguments.
fn server_event(event: &str, args: &[Value]) -> Pack {
    let mut packet = Vec::with_capacity(args.len() + 1);
    packet.push(Pack::from(event));
    packet.extend(args.iter().map(|arg| wire::json_to_pack(arg, &[])));
    Pack::Array(packet)
}
