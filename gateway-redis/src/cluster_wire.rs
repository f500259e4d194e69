//! The message format of socket.io-adapter 2.5's `ClusterAdapter`, which the sharded Redis
//! adapter (`createShardedAdapter`) speaks: `{type, data, uid, nsp}`, as JSON, or as msgpack
//! when `data` holds binary.

use bytes::Bytes;
use gateway_core::{BroadcastMessage, EventData, Payload, Recipients, Room};
use rmpv::Value as Pack;
use serde_json::Value;

use crate::wire::{self, Flags, WireError};

/// `MessageType` of socket.io-adapter 2.5.
pub(crate) mod message_type {
    pub(crate) const BROADCAST: u64 = 3;
    pub(crate) const SOCKETS_JOIN: u64 = 4;
    pub(crate) const SOCKETS_LEAVE: u64 = 5;
    pub(crate) const DISCONNECT_SOCKETS: u64 = 6;
    pub(crate) const FETCH_SOCKETS: u64 = 7;
    pub(crate) const FETCH_SOCKETS_RESPONSE: u64 = 8;
    pub(crate) const SERVER_SIDE_EMIT: u64 = 9;
    pub(crate) const SERVER_SIDE_EMIT_RESPONSE: u64 = 10;
    pub(crate) const BROADCAST_CLIENT_COUNT: u64 = 11;
    pub(crate) const BROADCAST_ACK: u64 = 12;
}

/// Socket.IO's EVENT packet type.
const EVENT: u64 = 2;

/// A decoded message: its binary values are Socket.IO placeholders into `attachments`.
#[derive(Debug)]
pub(crate) struct ClusterMessage {
    pub(crate) kind: u64,
    pub(crate) uid: String,
    pub(crate) namespace: String,
    pub(crate) data: Value,
    pub(crate) attachments: Vec<Bytes>,
}

/// `{type, data, uid, nsp}`: msgpack when `data` holds binary, JSON otherwise (as the JS
/// adapter's `encode`).
pub(crate) fn encode(kind: u64, uid: &str, namespace: &str, data: Pack) -> Vec<u8> {
    let envelope = envelope(kind, uid, namespace, data);
    if has_binary(&envelope) {
        wire::to_msgpack(&envelope)
    } else {
        wire::pack_to_json(envelope, None).to_string().into_bytes()
    }
}

/// A message of this instance for the others, before encoding (each transport encodes it its
/// own way).
pub(crate) enum Outgoing<'a> {
    /// A BROADCAST: `{packet: {type: 2, data: [event, ...args]}, opts}`, with `requestId` when
    /// the sender waits for acks.
    Broadcast {
        message: &'a BroadcastMessage<'a>,
        request_id: Option<&'a str>,
        flags: Flags,
    },
    /// Any other message: its type and `data`.
    Other { kind: u64, data: Pack },
}

impl Outgoing<'_> {
    pub(crate) fn kind(&self) -> u64 {
        match self {
            Outgoing::Broadcast { .. } => message_type::BROADCAST,
            Outgoing::Other { kind, .. } => *kind,
        }
    }

    /// The one room of a broadcast without acks (which may have a channel of its own).
    pub(crate) fn single_room(&self) -> Option<&Room> {
        match self {
            Outgoing::Broadcast {
                message,
                request_id: None,
                ..
            } => match message.recipients.rooms.as_slice() {
                [room] => Some(room),
                _ => None,
            },
            _ => None,
        }
    }

    /// Whether it waits for answers, or is a broadcast with acks: the streams adapter sends
    /// those over pub/sub rather than the stream.
    pub(crate) fn is_ephemeral(&self) -> bool {
        match self {
            Outgoing::Broadcast { request_id, .. } => request_id.is_some(),
            Outgoing::Other { kind, .. } => {
                matches!(
                    *kind,
                    message_type::FETCH_SOCKETS | message_type::SERVER_SIDE_EMIT
                )
            }
        }
    }

    /// Its `data` as msgpack values.
    pub(crate) fn data(&self) -> Result<Pack, WireError> {
        match self {
            Outgoing::Broadcast {
                message,
                request_id,
                flags,
            } => broadcast_data(message, *request_id, *flags),
            Outgoing::Other { data, .. } => Ok(data.clone()),
        }
    }

    /// `{type, data, uid, nsp}`: JSON unless `data` holds binary, then msgpack (the sharded
    /// adapter's `encode`). Text-only broadcasts are written as JSON directly, the common case.
    pub(crate) fn encode(&self, uid: &str, namespace: &str) -> Result<Vec<u8>, WireError> {
        if let Outgoing::Broadcast {
            message,
            request_id,
            flags,
        } = self
        {
            match message.data {
                EventData::Json(json) => {
                    let args = [json];
                    return Ok(broadcast_json(
                        uid,
                        namespace,
                        message,
                        *request_id,
                        *flags,
                        &args,
                    ));
                }
                EventData::Payload(payload) if payload.attachments().is_empty() => {
                    let args: Vec<String> = payload.args().iter().map(Value::to_string).collect();
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    return Ok(broadcast_json(
                        uid,
                        namespace,
                        message,
                        *request_id,
                        *flags,
                        &args,
                    ));
                }
                _ => {}
            }
        }
        Ok(encode(self.kind(), uid, namespace, self.data()?))
    }

    /// `{type, data, uid, nsp}` in msgpack whatever it holds (the streams adapter's pub/sub).
    pub(crate) fn encode_msgpack(&self, uid: &str, namespace: &str) -> Result<Vec<u8>, WireError> {
        Ok(encode_msgpack(self.kind(), uid, namespace, self.data()?))
    }
}

/// A broadcast's `data`: `{packet, requestId?, opts}`.
fn broadcast_data(
    message: &BroadcastMessage<'_>,
    request_id: Option<&str>,
    flags: Flags,
) -> Result<Pack, WireError> {
    let mut packet = match wire::event_packet("/", message.event, message.data, None)? {
        Pack::Map(entries) => entries,
        _ => return Err(WireError("event packet is not a map".into())),
    };
    // The cluster adapter's packet has no `nsp`: the envelope names the namespace.
    packet.retain(|(key, _)| key.as_str() != Some("nsp"));
    let mut data = vec![(Pack::from("packet"), Pack::Map(packet))];
    if let Some(id) = request_id {
        data.push((Pack::from("requestId"), Pack::from(id)));
    }
    data.push((Pack::from("opts"), wire::options(message.recipients, flags)));
    Ok(Pack::Map(data))
}

fn broadcast_json(
    uid: &str,
    namespace: &str,
    message: &BroadcastMessage<'_>,
    request_id: Option<&str>,
    flags: Flags,
    args: &[&str],
) -> Vec<u8> {
    let quoted = |s: &str| Value::from(s).to_string();
    let opts = wire::pack_to_json(wire::options(message.recipients, flags), None);
    let mut out = String::with_capacity(96 + args.iter().map(|a| a.len() + 1).sum::<usize>());
    out.push_str(r#"{"type":3,"data":{"packet":{"type":2,"data":["#);
    out.push_str(&quoted(message.event));
    for arg in args {
        out.push(',');
        out.push_str(arg);
    }
    out.push_str("]},");
    if let Some(id) = request_id {
        out.push_str(r#""requestId":"#);
        out.push_str(&quoted(id));
        out.push(',');
    }
    out.push_str(r#""opts":"#);
    out.push_str(&opts.to_string());
    out.push_str(r#"},"uid":"#);
    out.push_str(&quoted(uid));
    out.push_str(r#","nsp":"#);
    out.push_str(&quoted(namespace));
    out.push('}');
    out.into_bytes()
}

/// `{type, data, uid, nsp}` in msgpack whatever it holds.
pub(crate) fn encode_msgpack(kind: u64, uid: &str, namespace: &str, data: Pack) -> Vec<u8> {
    wire::to_msgpack(&envelope(kind, uid, namespace, data))
}

fn envelope(kind: u64, uid: &str, namespace: &str, data: Pack) -> Pack {
    Pack::Map(vec![
        (Pack::from("type"), Pack::from(kind)),
        (Pack::from("data"), data),
        (Pack::from("uid"), Pack::from(uid)),
        (Pack::from("nsp"), Pack::from(namespace)),
    ])
}

/// Decodes a message: JSON when it starts with `{`, msgpack otherwise.
pub(crate) fn decode(bytes: &[u8]) -> Result<ClusterMessage, WireError> {
    let mut attachments = Vec::new();
    let mut value = wire::decode_body(bytes, Some(&mut attachments))?;
    let kind = value
        .get("type")
        .and_then(Value::as_u64)
        .ok_or_else(|| WireError("message without a type".into()))?;
    let text = |value: &Value, key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    let uid = text(&value, "uid").unwrap_or_default();
    let namespace = text(&value, "nsp").unwrap_or_else(|| "/".into());
    let data = value.get_mut("data").map(Value::take).unwrap_or_default();
    Ok(ClusterMessage {
        kind,
        uid,
        namespace,
        data,
        attachments,
    })
}

/// `(event, payload)` of a BROADCAST's `packet`.
pub(crate) fn event_of(
    packet: &Value,
    attachments: Vec<Bytes>,
) -> Result<(String, Payload), WireError> {
    let kind = packet.get("type").and_then(Value::as_u64);
    if kind != Some(EVENT) && kind != Some(5) {
        return Err(WireError(format!("not an event packet: type {kind:?}")));
    }
    let (_, event, payload) = wire::decode_event_packet(packet, attachments)?;
    Ok((event, payload))
}

/// `{rooms, except, flags}` without flags, as requests carry them.
pub(crate) fn options(recipients: &Recipients) -> Pack {
    wire::options(recipients, Flags::default())
}

pub(crate) fn has_binary(value: &Pack) -> bool {
    match value {
        Pack::Binary(_) => true,
        Pack::Array(items) => items.iter().any(has_binary),
        Pack::Map(entries) => entries.iter().any(|(_, v)| has_binary(v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use gateway_core::{Recipients, Room};
    use serde_json::json;

    use super::*;

    fn message<'a>(recipients: &'a Recipients, data: EventData<'a>) -> BroadcastMessage<'a> {
        BroadcastMessage {
            recipients,
            event: "hello",
            data,
            volatile: false,
        }
    }

    #[test]
    fn text_broadcasts_are_json_as_the_js_adapter_writes_them() {
        let to_room = Recipients {
            rooms: vec![Room::from("room1")],
            except: vec![],
        };
        let message = message(&to_room, EventData::Json("1"));
        let outgoing = Outgoing::Broadcast {
            message: &message,
            request_id: None,
            flags: Flags::default(),
        };
        let body = outgoing.encode("e611423ac5e106d0", "/").unwrap();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"type":3,"data":{"packet":{"type":2,"data":["hello",1]},"opts":{"rooms":["room1"],"except":[],"flags":{}}},"uid":"e611423ac5e106d0","nsp":"/"}"#
        );
        let decoded = decode(&body).unwrap();
        assert_eq!(
            (decoded.kind, decoded.uid.as_str()),
            (3, "e611423ac5e106d0")
        );
        let (event, payload) = event_of(&decoded.data["packet"], decoded.attachments).unwrap();
        assert_eq!((event.as_str(), payload.args()), ("hello", &[json!(1)][..]));
    }

    #[test]
    fn binary_broadcasts_are_msgpack_and_come_back_as_attachments() {
        let payload = Payload::new()
            .with_arg(json!("bytes"))
            .with_binary(vec![1u8, 2, 3]);
        let everyone = Recipients::default();
        let message = message(&everyone, EventData::Payload(&payload));
        let outgoing = Outgoing::Broadcast {
            message: &message,
            request_id: Some("r1"),
            flags: Flags::default(),
        };
        let body = outgoing.encode("u", "/chat").unwrap();
        assert_ne!(body[0], b'{');
        let decoded = decode(&body).unwrap();
        assert_eq!(decoded.namespace, "/chat");
        assert_eq!(decoded.data["requestId"], "r1");
        assert!(decoded.data["packet"].get("nsp").is_none());
        let (_, payload) = event_of(&decoded.data["packet"], decoded.attachments).unwrap();
        assert_eq!(payload.attachments(), &[Bytes::from_static(&[1, 2, 3])]);
    }

    #[test]
    fn requests_are_json_unless_binary() {
        let body = encode(
            7,
            "u",
            "/",
            Pack::Map(vec![("requestId".into(), "r".into())]),
        );
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"type":7,"data":{"requestId":"r"},"uid":"u","nsp":"/"}"#
        );
        assert!(decode(b"{\"data\":1}").is_err());
    }
}
