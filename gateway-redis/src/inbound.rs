//! [`Inbound`]: what this instance does with the messages the other instances publish. It
//! delivers their broadcasts to its own clients, does what they request (answering through the
//! [`PublishQueue`]), and hands their answers to this instance's [`PendingRequests`].

use std::sync::Arc;
use std::time::Duration;

use gateway_core::{Namespace, SocketId, SocketInfo};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::channels::{ChannelMap, Route};
use crate::driver::Incoming;
use crate::local::{self, LocalNamespaces};
use crate::pending::PendingRequests;
use crate::publisher::PublishQueue;
use crate::wire::{self, request_type as kind, WireError};

/// Acts on the other instances' messages, on behalf of the app's namespaces.
pub(crate) struct Inbound {
    pub(crate) uid: String,
    pub(crate) requests_timeout: Duration,
    pub(crate) channels: Arc<ChannelMap>,
    /// The app's namespaces, to act on other instances' behalf.
    pub(crate) namespaces: LocalNamespaces,
    pub(crate) publish_queue: PublishQueue,
    pub(crate) pending: PendingRequests,
    /// Ends the tasks that forward answers (of server-side emits, of acks) on close.
    pub(crate) cancel: CancellationToken,
    pub(crate) tasks: TaskTracker,
}

impl Inbound {
    /// Acts on a message received on one of the subscribed channels of `channels` (the app's,
    /// or a dynamic namespace's).
    pub(crate) fn handle(self: &Arc<Self>, channels: &ChannelMap, message: Incoming) {
        let result = match channels.route(&message.channel) {
            Some(Route::Request(namespace)) => self.on_request(namespace, &message.payload),
            Some(Route::Response) => self.on_response(&message.payload),
            None => self.on_broadcast(&message.payload),
        };
        if let Err(err) = result {
            tracing::debug!(channel = %message.channel, %err, "ignored a Redis message");
        }
    }

    fn namespace(&self, name: &str) -> Option<Namespace> {
        self.namespaces.get(name)
    }

    /// Delivers another instance's broadcast to this instance's recipients.
    fn on_broadcast(&self, body: &[u8]) -> Result<(), WireError> {
        let broadcast = wire::decode_broadcast(body)?;
        if broadcast.uid == self.uid {
            return Ok(());
        }
        if let Some(ns) = self.namespace(&broadcast.namespace) {
            let mut operator = ns
                .local()
                .to(broadcast.recipients.rooms)
                .except(broadcast.recipients.except);
            if broadcast.volatile {
                operator = operator.volatile();
            }
            operator.emit_payload(&broadcast.event, &broadcast.payload);
        }
        Ok(())
    }

    /// Does what another instance asks of this one, and answers if it waits for an answer.
    fn on_request(self: &Arc<Self>, namespace: &str, body: &[u8]) -> Result<(), WireError> {
        let request = wire::decode_body(body, None)?;
        if request.get("uid").and_then(Value::as_str) == Some(self.uid.as_str()) {
            return Ok(());
        }
        let Some(ns) = self.namespace(namespace) else {
            return Ok(());
        };
        let request_id = request.get("requestId").and_then(Value::as_str);
        let recipients = wire::recipients_of(request.get("opts").unwrap_or(&Value::Null));
        let selected = || {
            ns.local()
                .to(recipients.rooms.clone())
                .except(recipients.except.clone())
        };
        let needs_id = || request_id.ok_or_else(|| WireError("request without requestId".into()));
        match request.get("type").and_then(Value::as_u64) {
            Some(kind::SOCKETS) => {
                let ids: Vec<String> = selected()
                    .sockets()
                    .iter()
                    .map(|s| s.id().to_string())
                    .collect();
                self.respond(
                    namespace,
                    &json!({"requestId": needs_id()?, "sockets": ids}),
                );
            }
            Some(kind::ALL_ROOMS) => {
                let rooms: Vec<String> = ns.rooms().iter().map(|r| r.as_str().to_owned()).collect();
                self.respond(
                    namespace,
                    &json!({"requestId": needs_id()?, "rooms": rooms}),
                );
            }
            Some(kind @ (kind::REMOTE_JOIN | kind::REMOTE_LEAVE)) => {
                let join = kind == kind::REMOTE_JOIN;
                if request.get("opts").is_some() {
                    let rooms = wire::rooms_of(request.get("rooms"));
                    if join {
                        selected().sockets_join(rooms);
                    } else {
                        selected().sockets_leave(rooms);
                    }
                } else {
                    // The legacy per-socket form: `{requestId, sid, room}`, answered.
                    let socket = legacy_socket(&ns, &request);
                    let room = wire::rooms_of(Some(&json!([request.get("room")])));
                    if let (Some(socket), false) = (socket, room.is_empty()) {
                        if join {
                            socket.join(room);
                        } else {
                            socket.leave(room);
                        }
                        self.respond(namespace, &json!({"requestId": needs_id()?}));
                    }
                }
            }
            Some(kind::REMOTE_DISCONNECT) => {
                if request.get("opts").is_some() {
                    selected().disconnect();
                } else if let Some(socket) = legacy_socket(&ns, &request) {
                    socket.disconnect();
                    self.respond(namespace, &json!({"requestId": needs_id()?}));
                }
            }
            Some(kind::REMOTE_FETCH) => {
                let sockets: Vec<Value> = selected()
                    .sockets()
                    .iter()
                    .map(|socket| local::socket_json(&SocketInfo::of(socket)))
                    .collect();
                self.respond(
                    namespace,
                    &json!({"requestId": needs_id()?, "sockets": sockets}),
                );
            }
            Some(kind::SERVER_SIDE_EMIT) => {
                let Some(Value::Array(packet)) = request.get("data") else {
                    return Err(WireError("server-side emit without data".into()));
                };
                let request_id = request_id.map(str::to_owned);
                let inbound = self.clone();
                let namespace = namespace.to_owned();
                local::answer_server_event(
                    &ns,
                    packet.clone(),
                    &self.tasks,
                    &self.cancel,
                    move |answer| {
                        if let Some(request_id) = request_id {
                            let response = json!({
                                "type": kind::SERVER_SIDE_EMIT,
                                "requestId": request_id,
                                "data": answer,
                            });
                            inbound.respond(&namespace, &response);
                        }
                    },
                );
            }
            Some(kind::BROADCAST) => self.on_broadcast_with_ack(&ns, body, needs_id()?)?,
            Some(_) | None => {}
        }
        Ok(())
    }

    /// Another instance's broadcast with acks: deliver it here, say to how many clients, then
    /// pass on each client's ack.
    fn on_broadcast_with_ack(
        self: &Arc<Self>,
        ns: &Namespace,
        body: &[u8],
        request_id: &str,
    ) -> Result<(), WireError> {
        let mut attachments = Vec::new();
        let request = wire::decode_body(body, Some(&mut attachments))?;
        let packet = request.get("packet").unwrap_or(&Value::Null);
        let (_, event, payload) = wire::decode_event_packet(packet, attachments)?;
        let opts = request.get("opts").unwrap_or(&Value::Null);
        let recipients = wire::recipients_of(opts);
        let timeout = local::ack_timeout(opts, self.requests_timeout);
        let acks = ns
            .local()
            .to(recipients.rooms)
            .except(recipients.except)
            .timeout(timeout)
            .emit_payload_with_ack(&event, &payload);
        let count = json!({
            "type": kind::BROADCAST_CLIENT_COUNT,
            "requestId": request_id,
            "clientCount": acks.expected_local(),
        });
        self.respond(ns.name(), &count);
        let inbound = self.clone();
        let channel = self.channels.of(ns.name()).response.clone();
        let request_id = request_id.to_owned();
        local::forward_acks(acks, &self.tasks, &self.cancel, move |answer| {
            let response = wire::to_msgpack(&rmpv::Value::Map(vec![
                ("type".into(), kind::BROADCAST_ACK.into()),
                ("requestId".into(), request_id.as_str().into()),
                ("packet".into(), wire::json_to_pack(&answer, &[])),
            ]));
            inbound.publish_queue.push(channel.clone(), response);
        });
        Ok(())
    }

    /// Routes an answer to the request of this instance waiting for it.
    fn on_response(&self, body: &[u8]) -> Result<(), WireError> {
        self.pending.deliver(wire::decode_body(body, None)?);
        Ok(())
    }

    fn respond(&self, namespace: &str, response: &Value) {
        let channel = self.channels.of(namespace).response.clone();
        self.publish_queue
            .push(channel, response.to_string().into_bytes());
    }
}

/// The socket a legacy per-socket request (`sid`) names, if it is here.
fn legacy_socket(ns: &Namespace, request: &Value) -> Option<gateway_core::Socket> {
    let sid: SocketId = request.get("sid")?.as_str()?.parse().ok()?;
    ns.socket(sid)
}
