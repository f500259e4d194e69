//! Guide 000's `EventsGateway` (namespace `/events`), plus `ping` and two handlers that show the
//! default exception filter's shapes.

use gateway_core::pipeline::{ExecutionContext, Guard};
use gateway_core::{gateway, MessageBody, Namespace, Socket, WsException, WsResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The guide's `EventsGateway`.
#[derive(Debug, Default, Clone, Copy)]
pub struct EventsGateway;

/// The `message` reply's data: `{ received: true }`.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct Received {
    /// Always `true`.
    pub received: bool,
}

/// Allowed origins as the guide reads them: `ALLOWED_ORIGINS` split on commas, else `*`.
pub fn allowed_origins() -> Vec<String> {
    match std::env::var("ALLOWED_ORIGINS") {
        Ok(list) if !list.trim().is_empty() => {
            list.split(',').map(|o| o.trim().to_owned()).collect()
        }
        _ => vec!["*".to_owned()],
    }
}

/// A guard that always refuses: the client gets NestJS's `Forbidden resource`.
#[derive(Debug, Clone, Copy, Default)]
pub struct DenyGuard;

impl Guard for DenyGuard {
    async fn can_activate(&self, _cx: &ExecutionContext) -> Result<bool, WsException> {
        Ok(false)
    }
}

#[gateway(namespace = "/events", cors = allowed_origins())]
impl EventsGateway {
    fn after_init(&self, _server: Namespace) {
        tracing::info!("WebSocket Gateway initialized");
    }

    fn handle_connection(&self, client: Socket) {
        tracing::info!("Client connected: {}", client.id());
    }

    fn handle_disconnect(&self, client: Socket) {
        tracing::info!("Client disconnected: {}", client.id());
    }

    /// `message` → `{"event":"message","data":{"received":true}}`.
    ///
    /// The guide types the body `{ text: string }` but only reads `data.text`: any body but
    /// `null` (or none) is answered, as NestJS does; those two throw a `TypeError` in
    /// JavaScript, an internal error here.
    #[subscribe_message("message")]
    #[emits("message" = Received)]
    async fn handle_message(
        &self,
        MessageBody(data): MessageBody<Value>,
        client: Socket,
    ) -> Result<WsResponse<Received>, WsException> {
        if data.is_null() {
            return Err(WsException::internal(
                "Cannot read properties of null (reading 'text')",
            ));
        }
        let text = data.get("text").and_then(Value::as_str);
        tracing::info!(
            "Message from {}: {}",
            client.id(),
            text.unwrap_or("undefined")
        );
        Ok(WsResponse::new("message", Received { received: true }))
    }

    /// `ping` → `"pong"`.
    #[subscribe_message("ping")]
    async fn ping(&self) -> &'static str {
        "pong"
    }

    /// Fails with `WsException("test")`: the client gets
    /// `{"event":"exception","data":{"status":"error","message":"test","cause":{…}}}`.
    #[subscribe_message("boom")]
    async fn boom(&self) -> Result<(), WsException> {
        Err(WsException::new("test"))
    }

    /// Fails with `WsException` of an object: the client gets the object as is.
    #[subscribe_message("boomObject")]
    async fn boom_object(&self) -> Result<(), WsException> {
        Err(WsException::from_object(
            json!({"code": "E_BOOM", "message": "object error"}),
        ))
    }

    /// Behind [`DenyGuard`]: the client gets `Forbidden resource`.
    #[subscribe_message("secret")]
    #[use_guards(DenyGuard)]
    async fn secret(&self) -> &'static str {
        "unreachable"
    }

    /// Fails with a plain error: the client gets `"Internal server error"`, the server logs it.
    #[subscribe_message("crash")]
    async fn crash(&self) -> Result<(), std::io::Error> {
        Err(std::io::Error::other("the disk caught fire"))
    }
}
