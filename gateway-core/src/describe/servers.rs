//! The document's servers: the Socket.IO and the JSON-format wire format of each port.

use serde_json::{json, Map, Value};

/// The servers of the gateways on `port` (0: the app's main listener), added once; returns
/// the keys of the Socket.IO and the JSON-format server.
pub(super) fn add_servers(
    servers: &mut Map<String, Value>,
    port: u16,
    socketio_path: &str,
) -> (String, String) {
    let suffix = if port == 0 {
        String::new()
    } else {
        format!("_{port}")
    };
    let (socketio, json_format) = (format!("socketio{suffix}"), format!("json{suffix}"));
    let (host, variables) = if port == 0 {
        (
            "{host}".to_owned(),
            json!({"host": {"default": "localhost:3000", "description": "Where the app listens (host:port)."}}),
        )
    } else {
        (
            format!("{{hostname}}:{port}"),
            json!({"hostname": {"default": "localhost", "description": "The app's host name."}}),
        )
    };
    servers.entry(socketio.clone()).or_insert_with(|| {
        json!({
            "host": host,
            "protocol": "ws",
            "pathname": socketio_path,
            "title": "Socket.IO",
            "summary": "Socket.IO v5 over Engine.IO v4 (WebSocket, or HTTP long-polling upgraded to it).",
            "description": "socket.io-client connects to `http://<host>/<namespace>`; a channel's \
                address is its namespace. Events carry their payload as the first argument; a \
                reply is the ack's argument when the client asks for one. Errors arrive as the \
                `exception` event.",
            "variables": variables,
        })
    });
    servers.entry(json_format.clone()).or_insert_with(|| {
        json!({
            "host": host,
            "protocol": "ws",
            "title": "JSON format",
            "summary": "Plain WebSocket with NestJS `platform-ws` JSON frames.",
            "description": "A client opens `ws://<host><address>` and sends \
                `{\"event\": name, \"data\": payload}`. A reply is the JSON of the handler's \
                return value, sent back as is; emitted events arrive as \
                `{\"event\": name, \"data\": payload}`.",
            "variables": variables,
        })
    });
    (socketio, json_format)
}
