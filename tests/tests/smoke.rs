use gateway_core::{gateway, GatewayApp, MessageBody, Socket, WsException, WsResponse};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

struct Events;

#[gateway(namespace = "/events")]
impl Events {
    async fn handle_connection(&self, client: Socket) {
        client.data().insert(7u32);
    }

    #[subscribe_message("message")]
    async fn message(&self, MessageBody(_d): MessageBody<serde_json::Value>) -> WsResponse<serde_json::Value> {
        WsResponse::new("message", serde_json::json!({"received": true}))
    }

    #[subscribe_message("ping")]
    async fn ping(&self) -> &'static str {
        "pong"
    }

    #[subscribe_message("boom")]
    async fn boom(&self) -> Result<(), WsException> {
        Err(WsException::new("test"))
    }
}

#[tokio::test]
async fn smoke() {
    let app = GatewayApp::builder().gateway(Events).build().unwrap();
    let server = app.listen("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/events", server.local_addr());
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    for msg in [r#"{"event":"message","data":{"text":"hi"}}"#, r#"{"event":"ping"}"#, r#"{"event":"boom","data":1}"#] {
        ws.send(Message::text(msg)).await.unwrap();
        let reply = ws.next().await.unwrap().unwrap();
        println!("{reply}");
    }
    server.shutdown().await;
    let close = ws.next().await;
    println!("{close:?}");
}
