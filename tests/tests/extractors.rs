//! Handler arguments: body, body property, event name, handshake, app state, namespace, message.

use gateway_core::test::TestClient;
use gateway_core::{gateway, Event, GatewayApp, Handshake, Message, MessageBody, Namespace, State};
use gateway_tests::{serve, ws_url};
use serde::Deserialize;
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[derive(Clone)]
struct Config {
    greeting: &'static str,
}

#[derive(Clone)]
struct NeverRegistered;

#[derive(Deserialize)]
struct Point {
    x: i32,
    y: i32,
}

struct Extract;

#[gateway(namespace = "/extract")]
impl Extract {
    #[subscribe_message("sum")]
    async fn sum(&self, MessageBody(p): MessageBody<Point>) -> i32 {
        p.x + p.y
    }

    #[subscribe_message("plainBody")]
    async fn plain_body(&self, #[message_body] p: Point) -> i32 {
        p.x * p.y
    }

    #[subscribe_message("room")]
    async fn room(
        &self,
        #[message_body("roomId")] room: String,
        #[message_body("limit")] limit: Option<u32>,
    ) -> String {
        format!("{room}:{}", limit.unwrap_or(10))
    }

    #[subscribe_message("pattern")]
    async fn pattern(&self, event: Event) -> String {
        event.to_string()
    }

    #[subscribe_message("handshake")]
    async fn handshake(&self, hs: Handshake) -> serde_json::Value {
        json!({
            "path": hs.path(),
            "token": hs.query("token"),
            "auth": hs.header("authorization"),
            "loopback": hs.remote_addr().ip().is_loopback(),
        })
    }

    #[subscribe_message("state")]
    async fn state(&self, State(config): State<Config>) -> &'static str {
        config.greeting
    }

    #[subscribe_message("missingState")]
    async fn missing_state(&self, State(_): State<NeverRegistered>) {}

    #[subscribe_message("namespace")]
    async fn namespace(&self, server: Namespace) -> String {
        server.name().to_owned()
    }

    #[subscribe_message("raw")]
    async fn raw(&self, msg: Message) -> serde_json::Value {
        json!({"event": msg.event(), "data": msg.data_json()})
    }
}

async fn client() -> (gateway_tests::TestServer, TestClient) {
    let server = serve(
        GatewayApp::builder()
            .gateway(Extract)
            .with_state(Config { greeting: "hi" }),
    )
    .await;
    let mut request = ws_url(&server, "/extract?token=t%201")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("authorization", "Bearer abc".parse().unwrap());
    let client = TestClient::try_connect(request).await.unwrap();
    (server, client)
}

#[tokio::test]
async fn body_and_properties() {
    let (_s, mut c) = client().await;
    c.emit("sum", json!({"x": 2, "y": 3})).await;
    assert_eq!(c.recv().await, json!(5));
    c.emit("plainBody", json!({"x": 2, "y": 3})).await;
    assert_eq!(c.recv().await, json!(6));
    c.emit("room", json!({"roomId": "lobby", "limit": 3})).await;
    assert_eq!(c.recv().await, json!("lobby:3"));
    c.emit("room", json!({"roomId": "lobby"})).await;
    assert_eq!(c.recv().await, json!("lobby:10"));
    c.emit("room", json!({"limit": 3})).await;
    let exception = c.recv_event("exception").await;
    assert_eq!(exception["message"], "Internal server error", "{exception}");
}

#[tokio::test]
async fn event_handshake_namespace_and_message() {
    let (_s, mut c) = client().await;
    c.emit("pattern", ()).await;
    assert_eq!(c.recv().await, json!("pattern"));
    c.emit("handshake", ()).await;
    assert_eq!(
        c.recv().await,
        json!({"path": "/extract", "token": "t 1", "auth": "Bearer abc", "loopback": true})
    );
    c.emit("namespace", ()).await;
    assert_eq!(c.recv().await, json!("/extract"));
    c.send_text(r#"{"event":"raw","data":{"a":[1, 2]}}"#).await;
    assert_eq!(
        c.recv().await,
        json!({"event": "raw", "data": "{\"a\":[1, 2]}"})
    );
}

#[tokio::test]
async fn app_state() {
    let (_s, mut c) = client().await;
    c.emit("state", ()).await;
    assert_eq!(c.recv().await, json!("hi"));
    c.emit("missingState", ()).await;
    assert_eq!(
        c.recv_event("exception").await["message"],
        "Internal server error"
    );
}
