//! What the examples print when they start: where to connect, how to get a token, and frames to
//! paste. The text lives here rather than in the binaries so that a test can paste exactly what
//! a user is told to (`tests/tests/example_hints.rs`): every frame line is sent as printed.
//!
//! Frames are printed one per line, indented, with nothing else on the line, so they can be
//! copied whole into a WebSocket client such as websocat.

use serde_json::json;

use crate::chat::EXAMPLE_ROOM_ID;
use crate::common::DEFAULT_JWT_SECRET;

/// The chat gateway's URL and what it needs, for the examples that serve it.
///
/// ```
/// let line = gateway_examples::hints::chat_gateway("ws", 3000);
/// assert!(line.starts_with("ws://localhost:3000/chat "));
/// ```
pub fn chat_gateway(ws_scheme: &str, port: u16) -> String {
    format!(
        "{ws_scheme}://localhost:{port}/chat (needs ?token=<JWT>: see cargo run --example chat)"
    )
}

/// What `cargo run --example chat` prints, for the app on `port`: the gateways, the browser
/// demo, and a terminal session that works as pasted (a token, the URL with it, and frames
/// that pass the chat's validation).
///
/// ```
/// let hint = gateway_examples::hints::chat(3000);
/// assert!(hint.contains("http://localhost:3000/"));
/// assert!(hint.contains(r#"websocat "ws://localhost:3000/chat?token=$alice""#));
/// ```
pub fn chat(port: u16) -> String {
    let join = json!({"event": "joinRoom", "data": EXAMPLE_ROOM_ID});
    let send = json!({
        "event": "sendMessage",
        "data": {"roomId": EXAMPLE_ROOM_ID, "message": "hi"},
    });
    format!(
        "\
chat gateway:   ws://localhost:{port}/chat (needs a token: see below)
events gateway: ws://localhost:{port}/events
browser demo:   http://localhost:{port}/ (sign in with any name; open it twice to chat)
metrics:        curl http://localhost:{port}/metrics

To chat from a terminal, get a token signed with the server's JWT_SECRET (default {DEFAULT_JWT_SECRET}):
    alice=$(cargo run -q --example mint_token -- alice)
or, demo only, from this server's token endpoint (it signs for anyone):
    alice=$(curl -s -d alice http://localhost:{port}/demo/token)
connect with it in ?token= (websocat: cargo install websocat):
    websocat \"ws://localhost:{port}/chat?token=$alice\"
and paste these frames (sendMessage's roomId must be a UUID):
    {join}
    {send}
"
    )
}

/// What `cargo run --example events` prints, for the app on `port`.
///
/// ```
/// let hint = gateway_examples::hints::events(3000);
/// assert!(hint.contains(r#"{"event":"message","data":{"text":"hello"}}"#));
/// ```
pub fn events(port: u16) -> String {
    let message = json!({"event": "message", "data": {"text": "hello"}});
    format!(
        "\
events gateway: ws://localhost:{port}/events
connect (websocat ws://localhost:{port}/events) and paste:
    {message}
"
    )
}

/// What `cargo run --example notifications` prints, for the app on `port`.
///
/// ```
/// let hint = gateway_examples::hints::notifications(3000);
/// assert!(hint.contains(r#"{"event":"join","data":{"userId":"42"}}"#));
/// ```
pub fn notifications(port: u16) -> String {
    let join = json!({"event": "join", "data": {"userId": "42"}});
    format!(
        "\
notifications gateway: ws://localhost:{port}/notifications
connect (websocat ws://localhost:{port}/notifications) and paste, to get user 42's notifications:
    {join}
then type here \"user 42 <text>\" (to every device of user 42) or \"all <text>\" (to everyone),
or \"ship 42 <order id>\" (through the event bus: shipped, then delivered within 10 s)
"
    )
}
