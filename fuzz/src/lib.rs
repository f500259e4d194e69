//! The fuzz targets' shared harness: one app with gateways that exercise every decoder (rooms,
//! acks, binary attachments, a validated DTO, a JWT guard), and one entry point per target.
//!
//! The same file is compiled into the main workspace's tests (`tests/tests/fuzz_corpora.rs`),
//! which replay every committed corpus through these entry points, so CI keeps them.

use std::sync::OnceLock;

use bytes::Bytes;
use gateway_core::fuzzing::{Frame, Harness};
use gateway_core::jwt::{JwtAuthGuard, TokenSource};
use gateway_core::validation::ValidationPipe;
use gateway_core::{gateway, GatewayApp, Message, MessageBody, Namespace, Payload, Socket};
use gateway_redis::fuzzing::InboundProbe;
use gateway_redis::{Incoming, MemoryBroker, MemoryDriver, RedisAdapter};
use serde::{Deserialize, Serialize};
use validator::Validate;

/// The secret of the tokens the guard accepts.
pub const JWT_SECRET: &str = "fuzz-secret";

/// A DTO with the kinds of rules users put on message bodies.
#[derive(Debug, Deserialize, Serialize, Validate)]
#[serde(rename_all = "camelCase")]
pub struct SendMessageDto {
    #[validate(length(min = 1, max = 500))]
    pub message: String,
    #[validate(length(min = 1, max = 64))]
    pub room_id: String,
    #[validate(range(min = 0, max = 10))]
    pub priority: Option<u8>,
    #[validate(email)]
    pub email: Option<String>,
    #[validate(length(max = 8))]
    pub tags: Option<Vec<String>>,
}

/// Handlers that reach every part of dispatch: rooms, broadcasts, several arguments, binary
/// attachments, acks, a validated DTO, a guard.
pub struct FuzzGateway;

#[gateway(namespace = "/chat", path = "/chat")]
impl FuzzGateway {
    #[subscribe_message("join")]
    async fn join(&self, MessageBody(room): MessageBody<String>, client: Socket) -> Vec<String> {
        client.join(room.as_str());
        let _ = client.to(room.as_str()).emit("joined", &room);
        client
            .rooms()
            .iter()
            .map(|r| r.as_str().to_owned())
            .collect()
    }

    #[subscribe_message("leave")]
    async fn leave(&self, MessageBody(room): MessageBody<String>, client: Socket) {
        client.leave(room.as_str());
    }

    #[subscribe_message("sendMessage")]
    #[use_pipes(ValidationPipe::new())]
    async fn send_message(
        &self,
        MessageBody(dto): MessageBody<SendMessageDto>,
        server: Namespace,
    ) -> SendMessageDto {
        let _ = server.to(dto.room_id.as_str()).emit("newMessage", &dto);
        dto
    }

    /// Every argument and attachment back, as received.
    #[subscribe_message("echo")]
    async fn echo(&self, message: Message) -> Payload {
        let mut payload = Payload::new();
        if let Some(json) = message.data_json() {
            if let Ok(value) = serde_json::from_str(json) {
                payload = payload.with_arg(value);
            }
        }
        for attachment in message.attachments() {
            payload = payload.with_binary(attachment.clone());
        }
        payload
    }

    #[subscribe_message("property")]
    async fn property(&self, message: Message) -> Option<String> {
        message.property::<String>("name").ok()
    }

    #[subscribe_message("kick")]
    async fn kick(&self, client: Socket) {
        client.disconnect();
    }
}

/// The app every target runs against: the gateway above, a JWT connection guard on a second
/// namespace, and the Redis adapter over an in-process broker.
struct Fuzzed {
    harness: Harness,
    guard: JwtAuthGuard,
    redis: InboundProbe<MemoryDriver>,
}

fn fuzzed() -> &'static Fuzzed {
    static FUZZED: OnceLock<Fuzzed> = OnceLock::new();
    FUZZED.get_or_init(|| {
        let broker = MemoryBroker::new();
        let adapter = RedisAdapter::with_driver(broker.driver());
        let redis = adapter.inbound_probe();
        let app = GatewayApp::builder()
            .gateway(FuzzGateway)
            .with_adapter(adapter)
            .build()
            .expect("the fuzz app builds");
        Fuzzed {
            harness: Harness::new(app),
            guard: guard(),
            redis,
        }
    })
}

/// A guard as the chat example configures one: every token source.
fn guard() -> JwtAuthGuard {
    JwtAuthGuard::hmac(JWT_SECRET).with_token_sources([
        TokenSource::AuthorizationHeader,
        TokenSource::Query("token".into()),
        TokenSource::AuthPayload,
    ])
}

/// Splits `data` at `\n\0`: the parts a target needs (frames, or a head and a packet).
fn parts(data: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while let Some(at) = rest.windows(2).position(|w| w == b"\n\0") {
        parts.push(&rest[..at]);
        rest = &rest[at + 2..];
    }
    parts.push(rest);
    parts
}

/// A JSON-format frame (the NestJS `{"event","data"}` envelope) to the gateway.
pub fn json_envelope(data: &[u8]) {
    fuzzed().harness.json_frame("/chat", data);
}

/// A Socket.IO session: frames separated by `\n\0`; a frame starting with `\x01` is binary
/// (an attachment), any other is text (an Engine.IO packet).
pub fn socketio_packets(data: &[u8]) {
    let frames: Vec<Frame<'_>> = parts(data)
        .into_iter()
        .filter_map(|part| match part.split_first() {
            Some((1, bytes)) => Some(Frame::Binary(bytes)),
            _ => std::str::from_utf8(part).ok().map(Frame::Text),
        })
        .collect();
    fuzzed().harness.socketio_session(&frames);
}

/// A long-polling POST body (UTF-8, as the server requires of one).
pub fn polling_body(data: &[u8]) {
    if let Ok(body) = std::str::from_utf8(data) {
        fuzzed().harness.polling_body(body);
    }
}

/// An HTTP request head, then (after `\n\0`) a Socket.IO CONNECT packet with an `auth` payload.
pub fn handshake(data: &[u8]) {
    let parts = parts(data);
    let head = parts[0];
    let connect = parts
        .get(1)
        .and_then(|p| std::str::from_utf8(p).ok())
        .unwrap_or("");
    let fuzzed = fuzzed();
    fuzzed.harness.request_head(head, connect, &fuzzed.guard);
}

/// A message from another instance over Redis: the first byte picks the channel (broadcast,
/// request, response, or a room's broadcast channel), the rest is the body, as
/// `@socket.io/redis-adapter` publishes it (msgpack, or JSON for requests and responses).
pub fn redis_inbound(data: &[u8]) {
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    let channel = match kind % 4 {
        0 => "socket.io#/chat#",
        1 => "socket.io-request#/chat#",
        2 => "socket.io-response#/chat#",
        _ => "socket.io#/chat#room#",
    };
    let fuzzed = fuzzed();
    let message = Incoming {
        channel: channel.to_owned(),
        payload: Bytes::copy_from_slice(body),
    };
    fuzzed.harness.run(|| fuzzed.redis.receive(message));
}

/// A `sendMessage` body, through the `ValidationPipe` into `SendMessageDto`, over both wire
/// formats.
pub fn validated_body(data: &[u8]) {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(body) = serde_json::from_str::<serde_json::Value>(body) else {
        return;
    };
    let json = serde_json::json!({ "event": "sendMessage", "data": body }).to_string();
    fuzzed().harness.json_frame("/chat", json.as_bytes());
    let packet = format!("42/chat,1{}", serde_json::json!(["sendMessage", body]));
    fuzzed()
        .harness
        .socketio_session(&[Frame::Text("40/chat,"), Frame::Text(&packet)]);
}

/// A `Sec-WebSocket-Extensions` offer, a newline, then a client's WebSocket frames: the
/// permessage-deflate negotiation, then the frames read as the server reads them, compressed
/// messages inflated within the message size limit.
pub fn deflate_stream(data: &[u8]) {
    gateway_core::fuzzing::deflate_stream(data);
}
