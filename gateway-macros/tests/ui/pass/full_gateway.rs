use gateway_core::{gateway, DisconnectReason, Event, Handshake, MessageBody, Namespace, Socket, State, WsException, WsResponse};

#[derive(Clone)]
struct Config;

#[derive(serde::Serialize)]
struct Joined {
    joined: String,
}

struct Chat;

#[gateway(namespace = "/chat", path = "/ws", port = 3001, cors = ["http://localhost:4200"])]
impl Chat {
    async fn after_init(&self, _server: Namespace) {}

    fn handle_connection(&self, _client: Socket, _handshake: Handshake) {}

    async fn handle_disconnect(&self, _client: Socket, _reason: DisconnectReason) {}

    #[subscribe_message("joinRoom")]
    async fn join(&self, client: Socket, MessageBody(room): MessageBody<String>) -> Joined {
        client.join(room.as_str());
        Joined { joined: room }
    }

    #[subscribe_message("prop")]
    async fn prop(&self, #[message_body("roomId")] room: String, #[message_body] _all: serde_json::Value) -> Option<String> {
        Some(room)
    }

    #[subscribe_message("fallible")]
    async fn fallible(&self, _event: Event, State(_c): State<Config>) -> Result<WsResponse<u8>, WsException> {
        Ok(WsResponse::new("done", 1))
    }

    #[subscribe_message("io")]
    async fn io(&self) -> Result<Joined, std::io::Error> {
        Err(std::io::Error::other("x"))
    }

    #[subscribe_message("nothing")]
    async fn nothing(&self) {}

    /// Not a handler: left alone.
    fn helper(&self) -> u8 {
        1
    }
}

fn main() {
    let _ = Chat.helper();
    let _ = gateway_core::GatewayApp::builder().gateway(Chat).build();
}
