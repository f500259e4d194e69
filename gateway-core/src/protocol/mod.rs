//! Wire formats: the NestJS `platform-ws` JSON format and Socket.IO v5 over Engine.IO v4.

pub(crate) mod json;
pub(crate) mod socketio;

use std::borrow::Cow;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;

/// How one socket's frames are encoded.
#[derive(Debug, Clone)]
pub(crate) enum Wire {
    /// NestJS `platform-ws`: `{"event": E, "data": D}`, replies as is.
    Json,
    /// Socket.IO: `42<prefix>["E",D]`; `prefix` is `"/chat,"` (empty for `/`).
    SocketIo { prefix: Arc<str> },
}

impl Wire {
    /// The frame that emits `event` with `data_json` (already JSON).
    pub(crate) fn event_frame(&self, event: &str, data_json: &str) -> String {
        match self {
            Wire::Json => json::encode_event(event, data_json),
            Wire::SocketIo { prefix } => socketio::encode_event(prefix, event, data_json),
        }
    }

    /// The frame for a handler's reply `json`, if this format sends one (NestJS 12 semantics):
    /// JSON format, the reply as is; Socket.IO, an object with an `event` is emitted as that
    /// event, anything else is the ack when the client asked for one.
    pub(crate) fn reply_frame(&self, json: String, ack: Option<u64>) -> Option<String> {
        match self {
            Wire::Json => Some(json),
            Wire::SocketIo { prefix } => {
                if let Some((event, data)) = event_reply(&json) {
                    return Some(socketio::encode_event(
                        prefix,
                        &event,
                        data.map_or("null", RawValue::get),
                    ));
                }
                ack.map(|id| socketio::encode_ack(prefix, id, &json))
            }
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
