//! The Redis Streams adapter's entries (`@socket.io/redis-streams-adapter` 0.3): `XADD` fields
//! `uid`, `nsp`, `type` and `data` (JSON, or base64 msgpack when `data` holds binary), and
//! which stream a namespace writes to.

use std::collections::HashMap;

use base64::Engine;
use redis::Value as RedisValue;

use crate::cluster_wire::{self, message_type as kind, ClusterMessage, Outgoing};
use crate::wire::{self, WireError};

/// The fields of the stream entry carrying `message`.
pub(crate) fn entry_fields(
    uid: &str,
    namespace: &str,
    message: &Outgoing<'_>,
) -> Result<Vec<(&'static str, Vec<u8>)>, WireError> {
    let kind = message.kind();
    let data = message.data()?;
    let may_hold_binary = matches!(
        kind,
        kind::BROADCAST
            | kind::FETCH_SOCKETS_RESPONSE
            | kind::SERVER_SIDE_EMIT
            | kind::SERVER_SIDE_EMIT_RESPONSE
            | kind::BROADCAST_ACK
    );
    let data = if may_hold_binary && cluster_wire::has_binary(&data) {
        base64::engine::general_purpose::STANDARD
            .encode(wire::to_msgpack(&data))
            .into_bytes()
    } else {
        wire::pack_to_json(data, None).to_string().into_bytes()
    };
    Ok(vec![
        ("uid", uid.as_bytes().to_vec()),
        ("nsp", namespace.as_bytes().to_vec()),
        ("type", kind.to_string().into_bytes()),
        ("data", data),
    ])
}

/// The message a stream entry carries.
pub(crate) fn decode_entry(
    fields: &HashMap<String, RedisValue>,
) -> Result<ClusterMessage, WireError> {
    let text = |name: &str| -> Option<String> {
        fields
            .get(name)
            .and_then(|v| redis::from_redis_value_ref::<String>(v).ok())
    };
    let kind = text("type")
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| WireError("entry without a type".into()))?;
    let mut attachments = Vec::new();
    let data = match fields.get("data") {
        Some(value) => {
            let raw: Vec<u8> = redis::from_redis_value_ref(value)
                .map_err(|e| WireError(format!("entry data: {e}")))?;
            if raw.first() == Some(&b'{') {
                wire::decode_body(&raw, Some(&mut attachments))?
            } else {
                let packed = base64::engine::general_purpose::STANDARD
                    .decode(&raw)
                    .map_err(|e| WireError(format!("entry data: {e}")))?;
                wire::decode_body(&packed, Some(&mut attachments))?
            }
        }
        None => serde_json::Value::Null,
    };
    Ok(ClusterMessage {
        kind,
        uid: text("uid").unwrap_or_default(),
        namespace: text("nsp").unwrap_or_else(|| "/".into()),
        data,
        attachments,
    })
}

/// The stream `namespace` writes to: `name` alone, or with `streamCount` streams
/// `name-<hashCode(namespace) % count>`, Java's `String.hashCode` over UTF-16 code units as
/// the JS adapter computes it (the remainder keeps the hash's sign, as JavaScript's `%` does).
pub(crate) fn stream_of(name: &str, count: u32, namespace: &str) -> String {
    if count <= 1 {
        return name.to_owned();
    }
    let hash = namespace.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    });
    let count = i32::try_from(count).unwrap_or(i32::MAX);
    format!("{name}-{}", hash % count)
}

/// The streams this instance reads: `name`, or `name-0` … `name-<count - 1>`.
pub(crate) fn streams_read(name: &str, count: u32) -> Vec<String> {
    if count <= 1 {
        return vec![name.to_owned()];
    }
    (0..count).map(|i| format!("{name}-{i}")).collect()
}

#[cfg(test)]
mod tests {
    use gateway_core::{BroadcastMessage, EventData, Payload, Recipients, Room};
    use serde_json::json;

    use super::*;
    use crate::wire::Flags;

    #[test]
    fn streams_of_namespaces_as_the_js_adapter() {
        assert_eq!(stream_of("socket.io", 1, "/chat"), "socket.io");
        assert_eq!(stream_of("socket.io", 4, "/"), "socket.io-3");
        assert_eq!(stream_of("socket.io", 4, "/admin"), "socket.io-0");
        assert_eq!(stream_of("socket.io", 4, "/chatroom"), "socket.io--2");
        assert_eq!(stream_of("socket.io", 4, "/abcdefg"), "socket.io--3");
        assert_eq!(streams_read("s", 2), ["s-0", "s-1"]);
    }

    fn fields_map(fields: Vec<(&'static str, Vec<u8>)>) -> HashMap<String, RedisValue> {
        fields
            .into_iter()
            .map(|(k, v)| (k.to_owned(), RedisValue::BulkString(v)))
            .collect()
    }

    #[test]
    fn text_entries_are_json_and_binary_ones_base64_msgpack() {
        let to_room = Recipients {
            rooms: vec![Room::from("room1")],
            except: vec![Room::from("x")],
        };
        let text = BroadcastMessage {
            recipients: &to_room,
            event: "hello",
            data: EventData::Json("1"),
            volatile: false,
        };
        let outgoing = Outgoing::Broadcast {
            message: &text,
            request_id: None,
            flags: Flags::default(),
        };
        let fields = entry_fields("9081fb9aea2a80ca", "/", &outgoing).unwrap();
        assert_eq!(
            String::from_utf8(fields[3].1.clone()).unwrap(),
            r#"{"packet":{"type":2,"data":["hello",1]},"opts":{"rooms":["room1"],"except":["x"],"flags":{}}}"#
        );
        assert_eq!(fields[2].1, b"3");

        let everyone = Recipients::default();
        let payload = Payload::new()
            .with_arg(json!("bin"))
            .with_binary(vec![1u8, 2, 3]);
        let binary = BroadcastMessage {
            recipients: &everyone,
            event: "bin",
            data: EventData::Payload(&payload),
            volatile: false,
        };
        let outgoing = Outgoing::Broadcast {
            message: &binary,
            request_id: None,
            flags: Flags::default(),
        };
        let fields = entry_fields("u", "/", &outgoing).unwrap();
        let decoded = decode_entry(&fields_map(fields)).unwrap();
        assert_eq!((decoded.kind, decoded.uid.as_str()), (3, "u"));
        assert_eq!(decoded.attachments.len(), 1);
        // What the JS adapter wrote for the same broadcast (captured with MONITOR).
        let js = "gqZwYWNrZXSCpHR5cGUCpGRhdGGSo2JpbsQDAQIDpG9wdHODpXJvb21zkKZleGNlcHSQpWZsYWdzgA==";
        let mut from_js = HashMap::new();
        from_js.insert("type".to_owned(), RedisValue::BulkString(b"3".to_vec()));
        from_js.insert(
            "data".to_owned(),
            RedisValue::BulkString(js.as_bytes().to_vec()),
        );
        let decoded = decode_entry(&from_js).unwrap();
        assert_eq!(decoded.data["packet"]["data"][0], "bin");
        assert_eq!(&decoded.attachments[0][..], &[1, 2, 3]);
    }
}
