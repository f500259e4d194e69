use gateway_core::{gateway, MessageBody, Socket, WsResponse};

#[derive(serde::Serialize, serde::Deserialize)]
struct RoomEvent {
    room: String,
}

struct ChatGateway;

#[gateway(namespace = "/chat")]
#[emits("announcement" = String)]
impl ChatGateway {
    #[emits("error" = RoomEvent)]
    fn handle_connection(&self, _client: Socket) {}

    #[subscribe_message("join")]
    #[emits("userJoined" = RoomEvent, "userCount" = u32)]
    async fn join(&self, MessageBody(room): MessageBody<String>) -> RoomEvent {
        RoomEvent { room }
    }

    #[subscribe_message("echo")]
    #[emits("echoed" = RoomEvent)]
    async fn echo(&self, #[message_body("room")] room: String) -> WsResponse<RoomEvent> {
        WsResponse::new("echoed", RoomEvent { room })
    }

    #[subscribe_message("count")]
    async fn count(&self) -> Result<Option<u32>, gateway_core::WsException> {
        Ok(Some(1))
    }
}

fn main() {
    let app = gateway_core::GatewayApp::builder().gateway(ChatGateway).build().unwrap();
    assert!(app.namespace("/chat").is_some());
}
