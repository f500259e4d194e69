//! Wire formats: the NestJS `platform-ws` JSON format and Socket.IO v5 over Engine.IO v4.

pub(crate) mod json;
pub(crate) mod socketio;
pub(crate) mod ws_frame;

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
