//! What the other instances answer to this one's requests: the sockets of `fetchSockets`
//! answers, and one field of each answer.

use gateway_core::SocketInfo;
use serde_json::Value;

use crate::wire;

/// The sockets of every `fetchSockets` answer.
pub(crate) fn sockets_of(answers: Vec<Value>) -> Vec<SocketInfo> {
    let mut sockets = Vec::new();
    for answer in answers {
        if let Some(Value::Array(found)) = answer.get("sockets") {
            sockets.extend(found.iter().filter_map(socket_info));
        }
    }
    sockets
}

/// Field `field` of every answer (`null` where it is missing).
pub(crate) fn fields_of(answers: Vec<Value>, field: &str) -> Vec<Value> {
    answers
        .into_iter()
        .map(|mut answer| answer.get_mut(field).map(Value::take).unwrap_or_default())
        .collect()
}

/// A socket of a `fetchSockets` answer.
fn socket_info(value: &Value) -> Option<SocketInfo> {
    Some(SocketInfo {
        id: value.get("id")?.as_str()?.parse().ok()?,
        rooms: wire::rooms_of(value.get("rooms")),
        handshake: value.get("handshake").cloned().unwrap_or_default(),
        data: value.get("data").cloned().unwrap_or_default(),
    })
}
