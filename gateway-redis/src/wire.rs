//! The `@socket.io/redis-adapter` 8.3 wire format: msgpack broadcasts, and the JSON / msgpack
//! request-response bodies. The channel names are in `channels.rs`.

use bytes::Bytes;
use gateway_core::{BroadcastMessage, EventData, Payload, Recipients, Room};
use rmpv::Value as Pack;
use serde_json::{Map, Value};

use crate::timestamp;

/// Request and response types (`RequestType` in the JS adapter).
pub(crate) mod request_type {
    pub(crate) const SOCKETS: u64 = 0;
    pub(crate) const ALL_ROOMS: u64 = 1;
    pub(crate) const REMOTE_JOIN: u64 = 2;
    pub(crate) const REMOTE_LEAVE: u64 = 3;
    pub(crate) const REMOTE_DISCONNECT: u64 = 4;
    pub(crate) const REMOTE_FETCH: u64 = 5;
    pub(crate) const SERVER_SIDE_EMIT: u64 = 6;
    pub(crate) const BROADCAST: u64 = 7;
    pub(crate) const BROADCAST_CLIENT_COUNT: u64 = 8;
    pub(crate) const BROADCAST_ACK: u64 = 9;
}

/// Socket.IO's EVENT packet type, as the JS adapter keeps it in Redis (binary or not).
const EVENT: u64 = 2;
const BINARY_EVENT: u64 = 5;

/// The wire could not be decoded.
#[derive(Debug, thiserror::Error)]
#[error("malformed adapter message: {0}")]
pub(crate) struct WireError(pub(crate) String);

fn malformed(what: impl Into<String>) -> WireError {
    WireError(what.into())
}

/// A broadcast received from another instance.
#[derive(Debug, PartialEq)]
pub(crate) struct RemoteBroadcast {
    pub(crate) uid: String,
    pub(crate) namespace: String,
    pub(crate) event: String,
    pub(crate) payload: Payload,
    pub(crate) recipients: Recipients,
    /// `flags.volatile`: dropped for a client whose queue is not empty.
    pub(crate) volatile: bool,
}

/// `[uid, {type: 2, data: [event, ...args], nsp}, {rooms, except, flags: {}}]` in msgpack.
pub(crate) fn encode_broadcast(
    uid: &str,
    namespace: &str,
    message: &BroadcastMessage<'_>,
) -> Result<Vec<u8>, WireError> {
    let flags = Flags {
        timeout_ms: None,
        volatile: message.volatile,
    };
    let message = Pack::Array(vec![
        Pack::from(uid),
        event_packet(namespace, message.event, message.data, None)?,
        options(message.recipients, flags),
    ]);
    Ok(to_msgpack(&message))
}

/// `{type: 2, data: [event, ...args], nsp}`, with `id` when the sender waits for acks.
pub(crate) fn event_packet(
    namespace: &str,
    event: &str,
    data: EventData<'_>,
    id: Option<u64>,
) -> Result<Pack, WireError> {
    let mut args = vec![Pack::from(event)];
    match data {
        EventData::Json(json) => {
            let value: Value = serde_json::from_str(json).map_err(|e| malformed(e.to_string()))?;
            args.push(json_to_pack(&value, &[]));
        }
        EventData::Payload(payload) => {
            args.extend(
                payload
                    .args()
                    .iter()
                    .map(|arg| json_to_pack(arg, payload.attachments())),
            );
        }
        _ => return Err(malformed("unsupported event data")),
    }
    let mut packet = vec![
        (Pack::from("type"), Pack::from(EVENT)),
        (Pack::from("data"), Pack::Array(args)),
        (Pack::from("nsp"), Pack::from(namespace)),
    ];
    if let Some(id) = id {
        packet.push((Pack::from("id"), Pack::from(id)));
    }
    Ok(Pack::Map(packet))
}

/// A broadcast's `flags`, as socket.io's adapter sends them.
#[derive(Clone, Copy, Default)]
pub(crate) struct Flags {
    /// `timeout`, in milliseconds, for broadcasts with acks.
    pub(crate) timeout_ms: Option<u64>,
    /// `volatile: true`.
    pub(crate) volatile: bool,
}

/// `{rooms, except, flags}`.
pub(crate) fn options(recipients: &Recipients, flags: Flags) -> Pack {
    let rooms =
        |rooms: &[Room]| Pack::Array(rooms.iter().map(|r| Pack::from(r.as_str())).collect());
    let mut set = Vec::new();
    if let Some(ms) = flags.timeout_ms {
        set.push((Pack::from("timeout"), Pack::from(ms)));
    }
    if flags.volatile {
        set.push((Pack::from("volatile"), Pack::from(true)));
    }
    let flags = set;
    Pack::Map(vec![
        (Pack::from("rooms"), rooms(&recipients.rooms)),
        (Pack::from("except"), rooms(&recipients.except)),
        (Pack::from("flags"), Pack::Map(flags)),
    ])
}

pub(crate) fn to_msgpack(value: &Pack) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut out, value);
    out
}

/// How deep a message's values may nest, as serde_json's recursion limit: rmpv's own (1024)
/// would let a message take [`pack_to_json`]'s recursion deep enough to overflow a thread's
/// stack in a debug build.
const MAX_DEPTH: usize = 128;

/// One msgpack value, nested at most [`MAX_DEPTH`] deep.
fn read_msgpack(bytes: &[u8]) -> Result<Pack, WireError> {
    rmpv::decode::read_value_with_max_depth(&mut &bytes[..], MAX_DEPTH)
        .map_err(|e| malformed(e.to_string()))
}

/// Decodes a broadcast published by any instance (Node's or ours).
pub(crate) fn decode_broadcast(bytes: &[u8]) -> Result<RemoteBroadcast, WireError> {
    let message = read_msgpack(bytes)?;
    let Pack::Array(parts) = message else {
        return Err(malformed("broadcast is not an array"));
    };
    let mut parts = parts.into_iter();
    let (Some(uid), Some(packet), opts) = (parts.next(), parts.next(), parts.next()) else {
        return Err(malformed("broadcast has fewer than 2 parts"));
    };
    let uid = uid.as_str().unwrap_or_default().to_owned();
    let mut attachments = Vec::new();
    let packet = pack_to_json(packet, Some(&mut attachments));
    let opts = opts.map(|o| pack_to_json(o, None)).unwrap_or(Value::Null);
    let (namespace, event, payload) = decode_event_packet(&packet, attachments)?;
    Ok(RemoteBroadcast {
        uid,
        namespace,
        event,
        payload,
        recipients: recipients_of(&opts),
        volatile: opts
            .pointer("/flags/volatile")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

/// `(namespace, event, payload)` of a `{type, data: [event, ...args], nsp}` packet already in
/// JSON form (binary values as placeholders into `attachments`).
pub(crate) fn decode_event_packet(
    packet: &Value,
    attachments: Vec<Bytes>,
) -> Result<(String, String, Payload), WireError> {
    let kind = packet.get("type").and_then(Value::as_u64);
    if !matches!(kind, Some(EVENT | BINARY_EVENT)) {
        return Err(malformed(format!("not an event packet: type {kind:?}")));
    }
    let namespace = packet
        .get("nsp")
        .and_then(Value::as_str)
        .unwrap_or("/")
        .to_owned();
    let Some(Value::Array(data)) = packet.get("data") else {
        return Err(malformed("event packet without data"));
    };
    let Some(Value::String(event)) = data.first() else {
        return Err(malformed("event packet without an event name"));
    };
    let mut payload = Payload::new();
    for arg in &data[1..] {
        payload = payload.with_arg(arg.clone());
    }
    for attachment in attachments {
        payload = payload.with_attachment(attachment);
    }
    Ok((namespace, event.clone(), payload))
}

/// The `{rooms, except}` of a request's or broadcast's options; rooms may be numbers.
pub(crate) fn recipients_of(opts: &Value) -> Recipients {
    Recipients {
        rooms: rooms_of(opts.get("rooms")),
        except: rooms_of(opts.get("except")),
    }
}

/// Room names from a JSON array of strings or numbers.
pub(crate) fn rooms_of(value: Option<&Value>) -> Vec<Room> {
    let Some(Value::Array(rooms)) = value else {
        return Vec::new();
    };
    rooms
        .iter()
        .filter_map(|room| match room {
            Value::String(s) => Some(Room::from(s.as_str())),
            Value::Number(n) => Some(Room::from(n.to_string())),
            _ => None,
        })
        .collect()
}

/// A request or response body: JSON when it starts with `{`, msgpack otherwise. Binary values
/// become placeholders into `attachments` when given, Node's `Buffer` JSON otherwise.
pub(crate) fn decode_body(
    bytes: &[u8],
    attachments: Option<&mut Vec<Bytes>>,
) -> Result<Value, WireError> {
    if bytes.first() == Some(&b'{') {
        return serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()));
    }
    let pack = read_msgpack(bytes)?;
    Ok(pack_to_json(pack, attachments))
}

/// msgpack to JSON. Binary values become Socket.IO placeholders into `attachments` or, without
/// it, Node's JSON form of a `Buffer`. Dates (timestamp extension) become ISO 8601 strings, as
/// `JSON.stringify` prints them; `undefined` and unknown extensions become `null`.
pub(crate) fn pack_to_json(value: Pack, mut attachments: Option<&mut Vec<Bytes>>) -> Value {
    match value {
        Pack::Nil => Value::Null,
        Pack::Boolean(b) => Value::Bool(b),
        Pack::Integer(i) => match (i.as_u64(), i.as_i64()) {
            (Some(u), _) => Value::from(u),
            (None, Some(i)) => Value::from(i),
            _ => Value::Null,
        },
        Pack::F32(f) => float(f64::from(f)),
        Pack::F64(f) => float(f),
        Pack::String(s) => Value::String(s.into_str().unwrap_or_default()),
        Pack::Binary(bytes) => match attachments {
            Some(attachments) => {
                attachments.push(Bytes::from(bytes));
                Payload::placeholder(attachments.len() - 1)
            }
            None => serde_json::json!({"type": "Buffer", "data": bytes}),
        },
        Pack::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|item| pack_to_json(item, attachments.as_deref_mut()))
                .collect(),
        ),
        Pack::Map(entries) => {
            let mut map = Map::new();
            for (key, value) in entries {
                let key = match key {
                    Pack::String(s) => s.into_str().unwrap_or_default(),
                    other => other.to_string(),
                };
                map.insert(key, pack_to_json(value, attachments.as_deref_mut()));
            }
            Value::Object(map)
        }
        Pack::Ext(-1, bytes) => timestamp::iso8601(&bytes).map_or(Value::Null, Value::String),
        Pack::Ext(_, _) => Value::Null,
    }
}

/// JSON numbers cannot be NaN or infinite; `JSON.stringify` prints those as `null`.
fn float(f: f64) -> Value {
    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// JSON to msgpack; Socket.IO placeholders become their attachment as binary.
pub(crate) fn json_to_pack(value: &Value, attachments: &[Bytes]) -> Pack {
    match value {
        Value::Null => Pack::Nil,
        Value::Bool(b) => Pack::Boolean(*b),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Pack::from(u)
            } else if let Some(i) = n.as_i64() {
                Pack::from(i)
            } else {
                Pack::F64(n.as_f64().unwrap_or_default())
            }
        }
        Value::String(s) => Pack::from(s.as_str()),
        Value::Array(items) => Pack::Array(
            items
                .iter()
                .map(|item| json_to_pack(item, attachments))
                .collect(),
        ),
        Value::Object(map) => {
            if let Some(bytes) = placeholder_target(map, attachments) {
                return Pack::Binary(bytes.to_vec());
            }
            Pack::Map(
                map.iter()
                    .map(|(k, v)| (Pack::from(k.as_str()), json_to_pack(v, attachments)))
                    .collect(),
            )
        }
    }
}

/// The attachment a `{"_placeholder": true, "num": i}` object stands for.
fn placeholder_target<'a>(map: &Map<String, Value>, attachments: &'a [Bytes]) -> Option<&'a Bytes> {
    if map.len() != 2 || map.get("_placeholder") != Some(&Value::Bool(true)) {
        return None;
    }
    let num = map.get("num")?.as_u64()?;
    attachments.get(usize::try_from(num).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// `io.to("room1").emit("ev", 1, "two", Buffer.from([1,2]))` from socket.io 4.8.4 with
    /// `@socket.io/redis-adapter` 8.3.0 (protocol.md §3.1).
    const CAPTURED_ROOM_BROADCAST: &str = "93 a6 71 6f 79 71 2d 4e
        83 a4 74797065 02 a4 64617461 94 a2 6576 01 a3 74776f c4 02 0102 a3 6e7370 a1 2f
        83 a5 726f6f6d73 91 a5 726f6f6d31 a6 657863657074 90 a5 666c616773 80";

    #[test]
    fn decodes_a_captured_node_broadcast() {
        let decoded = decode_broadcast(&hex(CAPTURED_ROOM_BROADCAST)).unwrap();
        assert_eq!(decoded.uid, "qoyq-N");
        assert_eq!(decoded.namespace, "/");
        assert_eq!(decoded.event, "ev");
        assert_eq!(decoded.recipients.rooms, vec![Room::from("room1")]);
        assert!(decoded.recipients.except.is_empty());
        let expected = Payload::new()
            .with_arg(1.into())
            .with_arg("two".into())
            .with_binary(vec![1u8, 2]);
        assert_eq!(decoded.payload, expected);
    }

    #[test]
    fn encodes_what_node_sends() {
        let payload = Payload::new()
            .with_arg(1.into())
            .with_arg("two".into())
            .with_binary(vec![1u8, 2]);
        let recipients = Recipients {
            rooms: vec![Room::from("room1")],
            except: vec![],
        };
        let message = BroadcastMessage {
            recipients: &recipients,
            event: "ev",
            data: EventData::Payload(&payload),
            volatile: false,
        };
        let bytes = encode_broadcast("qoyq-N", "/", &message).unwrap();
        assert_eq!(bytes, hex(CAPTURED_ROOM_BROADCAST));
    }

    #[test]
    fn json_data_round_trips_floats_and_nulls() {
        let message = BroadcastMessage {
            recipients: &Recipients::default(),
            event: "all",
            data: EventData::Json(r#"{"a":1.5,"u":null,"n":-3}"#),
            volatile: false,
        };
        let bytes = encode_broadcast("u", "/chat", &message).unwrap();
        let decoded = decode_broadcast(&bytes).unwrap();
        assert_eq!(decoded.namespace, "/chat");
        assert!(!decoded.volatile);
        assert_eq!(
            decoded.payload.args(),
            &[serde_json::json!({"a": 1.5, "u": null, "n": -3})]
        );
    }

    #[test]
    fn deeply_nested_values_are_refused_not_recursed_into() {
        // [uid, {type: 2, data: ["ev", [[[…1,000 deep…]]]], nsp: "/"}, {}]
        let mut bytes = vec![0x93, 0xa1, b'u', 0x83, 0xa4];
        bytes.extend_from_slice(b"type");
        bytes.extend_from_slice(&[0x02, 0xa4]);
        bytes.extend_from_slice(b"data");
        bytes.extend_from_slice(&[0x92, 0xa2, b'e', b'v']);
        bytes.extend(std::iter::repeat_n(0x91, 1000));
        bytes.push(0xc0);
        bytes.extend_from_slice(&[0xa3, b'n', b's', b'p', 0xa1, b'/', 0x80]);
        assert!(decode_broadcast(&bytes).is_err());
        assert!(decode_body(&bytes, None).is_err());
    }

    #[test]
    fn volatile_is_a_flag_as_socket_io_sends_it() {
        let message = BroadcastMessage {
            recipients: &Recipients::default(),
            event: "tick",
            data: EventData::Json("1"),
            volatile: true,
        };
        let bytes = encode_broadcast("u", "/", &message).unwrap();
        let Pack::Array(parts) = rmpv::decode::read_value(&mut &bytes[..]).unwrap() else {
            panic!("not an array");
        };
        let opts = pack_to_json(parts[2].clone(), None);
        assert_eq!(opts["flags"], serde_json::json!({ "volatile": true }));
        assert!(decode_broadcast(&bytes).unwrap().volatile);
    }

    #[test]
    fn bodies_are_json_or_msgpack() {
        let json = decode_body(br#"{"type":5,"requestId":"x"}"#, None).unwrap();
        assert_eq!(json["type"], 5);
        let pack = to_msgpack(&Pack::Map(vec![
            (Pack::from("type"), Pack::from(9)),
            (Pack::from("packet"), Pack::Binary(vec![7])),
        ]));
        let mut attachments = Vec::new();
        let value = decode_body(&pack, Some(&mut attachments)).unwrap();
        assert_eq!(value["type"], 9);
        assert_eq!(attachments.len(), 1);
        let value = decode_body(&pack, None).unwrap();
        assert_eq!(
            value["packet"],
            serde_json::json!({"type": "Buffer", "data": [7]})
        );
        assert!(decode_body(b"\x92\x01", None).is_err()); // truncated array
    }

    #[test]
    fn dates_and_legacy_undefined() {
        // new Date(0) and notepack 2.x's undefined (ext type 0).
        assert_eq!(
            pack_to_json(Pack::Ext(-1, vec![0, 0, 0, 0]), None),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(pack_to_json(Pack::Ext(0, vec![0]), None), Value::Null);
        assert_eq!(
            pack_to_json(Pack::Binary(vec![1]), None),
            serde_json::json!({"type": "Buffer", "data": [1]})
        );
    }

    #[test]
    fn rooms_may_be_numbers() {
        let opts = serde_json::json!({"rooms": ["a", 7], "except": ["b"]});
        let r = recipients_of(&opts);
        assert_eq!(r.rooms, vec![Room::from("a"), Room::from("7")]);
        assert_eq!(r.except, vec![Room::from("b")]);
    }
}
