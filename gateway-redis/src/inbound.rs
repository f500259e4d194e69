//! [`Inbound`]: what this instance does with the messages the other instances publish. It
//! delivers their broadcasts to its own clients, does what they request (answering through the
//! [`PublishQueue`]), and hands their answers to this instance's [`PendingRequests`].

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::StreamExt;
use gateway_core::{Namespace, Room, SocketId, SocketInfo};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::channels::{ChannelMap, Route};
use crate::driver::Incoming;
use crate::pending::PendingRequests;
use crate::publisher::PublishQueue;
use crate::wire::{self, request_type as kind, WireError};

/// The longest ack timeout honoured in another instance's broadcast with acks.
const MAX_REMOTE_ACK_TIMEOUT: Duration = Duration::from_secs(600);

/// Acts on the other instances' messages, on behalf of the app's namespaces.
pub(crate) struct Inbound {
    pub(crate) uid: String,
    pub(crate) requests_timeout: Duration,
    pub(crate) channels: Arc<ChannelMap>,
    /// The app's namespaces, to act on other instances' behalf; emptied on close (a namespace
    /// holds the app, which holds the adapter).
    pub(crate) namespaces: RwLock<HashMap<String, Namespace>>,
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

    /// Lets go of the app's namespaces (on close).
    pub(crate) fn forget_namespaces(&self) {
        self.namespaces
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Acts on behalf of `ns` too (a dynamic gateway's concrete namespace).
    pub(crate) fn add_namespace(&self, ns: Namespace) {
        self.namespaces
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(ns.name().to_owned(), ns);
    }

    /// No longer acts on behalf of namespace `name` (it was dropped).
    pub(crate) fn remove_namespace(&self, name: &str) {
        self.namespaces
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
    }

    fn namespace(&self, name: &str) -> Option<Namespace> {
        self.namespaces
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
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
                    .map(|socket| socket_json(&SocketInfo::of(socket)))
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
                let Some(answer) = ns.dispatch_server_event(packet.clone()) else {
                    return Ok(());
                };
                let request_id = request_id.map(str::to_owned);
                let inbound = self.clone();
                let namespace = namespace.to_owned();
                self.tasks.spawn(async move {
                    let answer = tokio::select! {
                        () = inbound.cancel.cancelled() => return,
                        answer = answer => answer,
                    };
                    if let Some(request_id) = request_id {
                        let response = json!({
                            "type": kind::SERVER_SIDE_EMIT,
                            "requestId": request_id,
                            "data": answer,
                        });
                        inbound.respond(&namespace, &response);
                    }
                });
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
        let timeout = opts
            .pointer("/flags/timeout")
            .and_then(Value::as_u64)
            .map_or(self.requests_timeout, |ms| {
                // Set by another instance: bounds how long this one keeps the acks' state.
                Duration::from_millis(ms).min(MAX_REMOTE_ACK_TIMEOUT)
            });
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
        let namespace = ns.name().to_owned();
        let request_id = request_id.to_owned();
        self.tasks.spawn(async move {
            let mut acks =
                std::pin::pin!(acks.take_until(inbound.cancel.clone().cancelled_owned()));
            while let Some((_, answer)) = acks.next().await {
                let Ok(answer) = answer else { continue };
                let response = wire::to_msgpack(&rmpv::Value::Map(vec![
                    ("type".into(), kind::BROADCAST_ACK.into()),
                    ("requestId".into(), request_id.as_str().into()),
                    ("packet".into(), wire::json_to_pack(&answer, &[])),
                ]));
                let channel = inbound.channels.of(&namespace).response.clone();
                inbound.publish_queue.push(channel, response);
            }
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

fn socket_json(info: &SocketInfo) -> Value {
    json!({
        "id": info.id.as_str(),
        "handshake": info.handshake,
        "rooms": info.rooms.iter().map(Room::as_str).collect::<Vec<_>>(),
        "data": info.data,
    })
}
