//! [`ClusterInbound`]: what this instance does with the other instances' `ClusterAdapter`
//! messages. It delivers their broadcasts to its own clients, does what they request
//! (answering through the [`Transport`]), and hands their answers to [`PendingRequests`].

use std::sync::Arc;
use std::time::Duration;

use gateway_core::{Namespace, SocketInfo};
use rmpv::Value as Pack;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::cluster_outbound::Transport;
use crate::cluster_wire::{self, message_type as kind, ClusterMessage};
use crate::local::{self, LocalNamespaces};
use crate::pending::PendingRequests;
use crate::wire::{self, WireError};

/// Acts on the other instances' messages, on behalf of the app's namespaces.
pub(crate) struct ClusterInbound<T> {
    pub(crate) uid: String,
    pub(crate) requests_timeout: Duration,
    pub(crate) namespaces: LocalNamespaces,
    pub(crate) transport: Arc<T>,
    pub(crate) pending: PendingRequests,
    /// Ends the tasks that forward answers (of server-side emits, of acks) on close.
    pub(crate) cancel: CancellationToken,
    pub(crate) tasks: TaskTracker,
}

impl<T: Transport> ClusterInbound<T> {
    /// Acts on one message received from Redis.
    pub(crate) fn handle(self: &Arc<Self>, body: &[u8]) {
        self.handle_message(cluster_wire::decode(body), None);
    }

    /// Acts on one message already decoded, recorded at `offset` if it comes from a stream
    /// (its broadcasts carry the offset to Socket.IO clients for connection state recovery).
    pub(crate) fn handle_message(
        self: &Arc<Self>,
        message: Result<ClusterMessage, WireError>,
        offset: Option<&str>,
    ) {
        if let Err(err) = message.and_then(|message| self.on_message(message, offset)) {
            tracing::debug!(%err, "ignored a Redis message");
        }
    }

    fn on_message(
        self: &Arc<Self>,
        message: ClusterMessage,
        offset: Option<&str>,
    ) -> Result<(), WireError> {
        if message.uid == self.uid {
            return Ok(());
        }
        if matches!(
            message.kind,
            kind::FETCH_SOCKETS_RESPONSE
                | kind::SERVER_SIDE_EMIT_RESPONSE
                | kind::BROADCAST_CLIENT_COUNT
                | kind::BROADCAST_ACK
        ) {
            let mut answer = message.data;
            if let Value::Object(fields) = &mut answer {
                fields.insert("type".into(), message.kind.into());
            }
            self.pending.deliver(answer);
            return Ok(());
        }
        let Some(ns) = self.namespaces.get(&message.namespace) else {
            return Ok(());
        };
        let data = &message.data;
        let opts = data.get("opts").unwrap_or(&Value::Null);
        let recipients = wire::recipients_of(opts);
        let selected = || {
            ns.local()
                .to(recipients.rooms.clone())
                .except(recipients.except.clone())
        };
        let request_id = || {
            data.get("requestId")
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        match message.kind {
            kind::BROADCAST => {
                let packet = data.get("packet").unwrap_or(&Value::Null);
                let (event, payload) = cluster_wire::event_of(packet, message.attachments)?;
                match request_id() {
                    Some(request_id) => {
                        self.broadcast_with_ack(
                            &ns,
                            &message.uid,
                            request_id,
                            opts,
                            &event,
                            &payload,
                        );
                    }
                    None => {
                        let mut operator = selected();
                        if opts.pointer("/flags/volatile") == Some(&Value::Bool(true)) {
                            operator = operator.volatile();
                        }
                        match offset {
                            Some(offset) => {
                                operator.emit_payload_recorded(&event, &payload, offset)
                            }
                            None => operator.emit_payload(&event, &payload),
                        };
                    }
                }
            }
            kind::SOCKETS_JOIN => selected().sockets_join(wire::rooms_of(data.get("rooms"))),
            kind::SOCKETS_LEAVE => selected().sockets_leave(wire::rooms_of(data.get("rooms"))),
            kind::DISCONNECT_SOCKETS => selected().disconnect(),
            kind::FETCH_SOCKETS => {
                let request_id = request_id().ok_or_else(|| missing("requestId"))?;
                let sockets: Vec<Value> = selected()
                    .sockets()
                    .iter()
                    .map(|socket| local::socket_json(&SocketInfo::of(socket)))
                    .collect();
                let answer = json!({"requestId": request_id, "sockets": sockets});
                self.respond(&ns, &message.uid, kind::FETCH_SOCKETS_RESPONSE, &answer);
            }
            kind::SERVER_SIDE_EMIT => {
                let Some(Value::Array(packet)) = data.get("packet") else {
                    return Err(missing("packet"));
                };
                let request_id = request_id();
                let inbound = self.clone();
                let (namespace, requester) = (ns.clone(), message.uid.clone());
                let respond = move |answer: Value| {
                    if let Some(request_id) = request_id {
                        let answer = json!({"requestId": request_id, "packet": answer});
                        let kind = kind::SERVER_SIDE_EMIT_RESPONSE;
                        inbound.respond(&namespace, &requester, kind, &answer);
                    }
                };
                local::answer_server_event(&ns, packet.clone(), &self.tasks, &self.cancel, respond);
            }
            _ => {}
        }
        Ok(())
    }

    /// Another instance's broadcast with acks: deliver it here, say to how many clients, then
    /// pass on each client's ack.
    fn broadcast_with_ack(
        self: &Arc<Self>,
        ns: &Namespace,
        requester: &str,
        request_id: String,
        opts: &Value,
        event: &str,
        payload: &gateway_core::Payload,
    ) {
        let recipients = wire::recipients_of(opts);
        let acks = ns
            .local()
            .to(recipients.rooms)
            .except(recipients.except)
            .timeout(local::ack_timeout(opts, self.requests_timeout))
            .emit_payload_with_ack(event, payload);
        let count = json!({"requestId": request_id, "clientCount": acks.expected_local()});
        self.respond(ns, requester, kind::BROADCAST_CLIENT_COUNT, &count);
        let inbound = self.clone();
        let (namespace, requester) = (ns.name().to_owned(), requester.to_owned());
        local::forward_acks(acks, &self.tasks, &self.cancel, move |answer| {
            let data = Pack::Map(vec![
                ("requestId".into(), request_id.as_str().into()),
                ("packet".into(), wire::json_to_pack(&answer, &[])),
            ]);
            let kind = kind::BROADCAST_ACK;
            inbound
                .transport
                .publish_response(&namespace, &requester, kind, data);
        });
    }

    fn respond(&self, ns: &Namespace, requester: &str, kind: u64, answer: &Value) {
        let data = wire::json_to_pack(answer, &[]);
        self.transport
            .publish_response(ns.name(), requester, kind, data);
    }
}

fn missing(field: &str) -> WireError {
    WireError(format!("request without {field}"))
}
