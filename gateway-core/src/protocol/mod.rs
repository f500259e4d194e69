//! Wire formats: the NestJS `platform-ws` JSON format and Socket.IO v5 over Engine.IO v4.

pub(crate) mod json;
pub(crate) mod socketio;
pub(crate) mod ws_frame;

use std::borrow::Cow;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::outbox::OutFrame;
use crate::Payload;

/// How one socket's frames are encoded.
#[derive(Debug, Clone)]
pub(crate) enum Wire {
    /// NestJS `platform-ws`: `{"event": E, "data": D}`, replies as is.
    Json,
    /// Socket.IO: `42<prefix>["E",D]`; `prefix` is `"/chat,"` (empty for `/`).
    SocketIo { prefix: Arc<str> },
}

impl Wire {
    /// Socket.IO in namespace `nsp`.
    pub(crate) fn socketio(nsp: &str) -> Self {
        Wire::SocketIo {
            prefix: socketio::nsp_prefix(nsp).into(),
        }
    }

    /// Whether this is Socket.IO (which has acks, CONNECT/DISCONNECT packets, recovery).
    pub(crate) fn is_socketio(&self) -> bool {
        matches!(self, Wire::SocketIo { .. })
    }

    /// The frame answering the client's ack `id` with `data_json`; the JSON format has no acks.
    pub(crate) fn ack_frame(&self, id: u64, data_json: &str) -> Option<String> {
        match self {
            Wire::Json => None,
            Wire::SocketIo { prefix } => Some(socketio::encode_ack(prefix, id, data_json)),
        }
    }

    /// The frame telling the client the server disconnected it from the namespace, if the
    /// format has one (the JSON format closes the connection instead).
    pub(crate) fn disconnect_frame(&self) -> Option<String> {
        match self {
            Wire::Json => None,
            Wire::SocketIo { prefix } => Some(socketio::encode_disconnect(prefix)),
        }
    }

    /// The Socket.IO namespace prefix (`"/chat,"`, empty for `/`), for Socket.IO.
    pub(crate) fn socketio_prefix(&self) -> Option<&str> {
        match self {
            Wire::Json => None,
            Wire::SocketIo { prefix } => Some(prefix),
        }
    }

    /// The frame that emits `event` with `data_json` (already JSON). A Socket.IO `offset`
    /// (connection state recovery) is appended as the last argument.
    pub(crate) fn event_frame(&self, event: &str, data_json: &str, offset: Option<&str>) -> String {
        match (self, offset) {
            (Wire::Json, _) => json::encode_event(event, data_json),
            (Wire::SocketIo { prefix }, None) => socketio::encode_event(prefix, event, data_json),
            (Wire::SocketIo { prefix }, Some(offset)) => {
                let args = format!("{data_json},{}", serde_json::Value::from(offset));
                socketio::encode_event_args(prefix, None, event, &args, 0)
            }
        }
    }

    /// The frame(s) emitting `event` with the arguments of `payload`; a Socket.IO `offset`
    /// (connection state recovery) is appended as the last argument.
    pub(crate) fn payload_event_frame(
        &self,
        payload: &Payload,
        event: &str,
        ack: Option<u64>,
        offset: Option<&str>,
    ) -> OutFrame {
        match self {
            Wire::Json => OutFrame::Text(Utf8Bytes::from(json::encode_event(
                event,
                &payload.json_data().to_string(),
            ))),
            Wire::SocketIo { prefix } => {
                let mut args = payload.args_json();
                if let Some(offset) = offset {
                    let offset = Value::from(offset).to_string();
                    args = if args.is_empty() {
                        offset
                    } else {
                        format!("{args},{offset}")
                    };
                }
                payload.socketio_frame(socketio::encode_event_args(
                    prefix,
                    ack,
                    event,
                    &args,
                    payload.attachment_count(),
                ))
            }
        }
    }

    /// The reply frame carrying `payload` (`ack` is the client's ack id, if it asked for one).
    pub(crate) fn payload_reply_frame(
        &self,
        payload: &Payload,
        ack: Option<u64>,
    ) -> Option<OutFrame> {
        match self {
            Wire::Json => Some(OutFrame::Text(Utf8Bytes::from(
                payload.json_data().to_string(),
            ))),
            Wire::SocketIo { prefix } => ack.map(|id| {
                payload.socketio_frame(socketio::encode_ack_args(
                    prefix,
                    id,
                    &payload.args_json(),
                    payload.attachment_count(),
                ))
            }),
        }
    }
}

/// `{"event": E, "data": D}` replies (NestJS `WsResponse`): the event and the raw data.
pub(crate) fn event_reply(json: &str) -> Option<(Cow<'_, str>, Option<&RawValue>)> {
    #[derive(Deserialize)]
    struct EventReply<'a> {
        #[serde(borrow, default)]
        event: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        data: Option<&'a RawValue>,
    }
    if !json.starts_with('{') {
        return None;
    }
    let reply: EventReply<'_> = serde_json::from_str(json).ok()?;
    reply
        .event
        .filter(|e| !e.is_empty())
        .map(|event| (event, reply.data))
}

/// Copies of at most this many bytes stay below glibc's `rep movsb` threshold.
const COPY_PIECE: usize = 2 * 1024;

/// Appends `json` (a payload, possibly large) in pieces of at most [`COPY_PIECE`] bytes.
///
/// glibc (2.36) copies larger blocks with `rep movsb`, which on AMD EPYC takes about 25× longer
/// (9 µs instead of 0.35 µs for 16 KiB) when the destination lies 1 to 31 bytes after the
/// source modulo 4 KiB, a placement the heap gives some payloads and not others. Smaller
/// copies use vector moves, at full speed for every placement (bench/NOTES.md, "16 KiB echo").
pub(crate) fn push_payload(out: &mut String, json: &str) {
    let mut rest = json;
    while rest.len() > COPY_PIECE {
        let mut cut = COPY_PIECE;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&rest[..cut]);
        rest = &rest[cut..];
    }
    out.push_str(rest);
}

#[cfg(test)]
mod copy_tests {
    use super::*;

    #[test]
    fn push_payload_copies_every_byte_and_cuts_only_between_characters() {
        let json = "é€😀a".repeat(1000);
        let mut out = String::from("[");
        push_payload(&mut out, &json);
        assert_eq!(out, format!("[{json}"));
    }
}
