//! Guide 000's `EventsGateway` (namespace `/events`), plus `ping` and two handlers that show the
//! default exception filter's shapes.

use gateway_core::{gateway, MessageBody, Namespace, Socket, WsException, WsResponse};
use serde::{Deserialize, Serialize};

/// The guide's `EventsGateway`.
#[derive(Debug, Default, Clone, Copy)]
pub struct EventsGateway;

/// The body of a `message` event: `{ text: string }`.
#[derive(Debug, Deserialize)]
pub struct MessageDto {
    /// The text; a client that leaves it out still gets its reply, as with NestJS.
    pub text: Option<String>,
}

/// The `message` reply's data: `{ received: true }`.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
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
    #[subscribe_message("message")]
    async fn handle_message(
        &self,
        MessageBody(data): MessageBody<MessageDto>,
        client: Socket,
    ) -> WsResponse<Received> {
        tracing::info!(
            "Message from {}: {}",
            client.id(),
            data.text.as_deref().unwrap_or("undefined")
        );
        WsResponse::new("message", Received { received: true })
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

    /// Fails with a plain error: the client gets `"Internal server error"`, the server logs it.
    #[subscribe_message("crash")]
    async fn crash(&self) -> Result<(), std::io::Error> {
        Err(std::io::Error::other("the disk caught fire"))
    }
}
