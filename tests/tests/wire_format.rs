//! The NestJS platform-ws 12 JSON wire format, through a real WebSocket client.

use futures_util::stream;
use gateway_core::test::TestClient;
use gateway_core::{gateway, GatewayApp, Json, MessageBody, StreamReply, WsException, WsResponse};
use gateway_tests::{serve, ws_url};
use serde::Serialize;
use serde_json::json;

struct Wire;

#[derive(Serialize)]
struct Joined {
    joined: String,
}

#[gateway(namespace = "/wire")]
impl Wire {
    #[subscribe_message("ping")]
    async fn ping(&self) -> &'static str {
        "pong"
    }

    #[subscribe_message("push")]
    async fn push(
        &self,
        MessageBody(data): MessageBody<serde_json::Value>,
    ) -> WsResponse<serde_json::Value> {
        WsResponse::new("pop", data)
    }

    #[subscribe_message("struct")]
    async fn structure(&self) -> Joined {
        Joined {
            joined: "lobby".into(),
        }
    }

    #[subscribe_message("unit")]
    async fn unit(&self) {}

    #[subscribe_message("none")]
    async fn none(&self) -> Option<Joined> {
        None
    }

    #[subscribe_message("some")]
    async fn some(&self) -> Option<Json<u8>> {
        Some(Json(7))
    }

    #[subscribe_message("null")]
    async fn null(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    #[subscribe_message("ok")]
    async fn ok(&self) -> Result<Joined, WsException> {
        Ok(Joined { joined: "x".into() })
    }

    #[subscribe_message("stream")]
    async fn stream(&self) -> StreamReply<impl futures_util::Stream<Item = WsResponse<u32>>> {
        StreamReply::new(stream::iter((1..=3).map(|n| WsResponse::new("tick", n))))
    }

    #[subscribe_message("boom")]
    async fn boom(&self) -> Result<(), WsException> {
        Err(WsException::new("test"))
    }

    #[subscribe_message("object")]
    async fn object(&self) -> Result<(), WsException> {
        Err(WsException::from_object(
            json!({"code": "E1", "fields": ["a"]}),
        ))
    }

    #[subscribe_message("crash")]
    async fn crash(&self) -> Result<(), std::io::Error> {
        Err(std::io::Error::other("secret detail"))
    }

    #[subscribe_message("panic")]
    async fn panics(&self) -> &'static str {
        panic!("handler bug")
    }

    #[subscribe_message("typed")]
    async fn typed(&self, MessageBody(n): MessageBody<u32>) -> u32 {
        n + 1
    }
}

async fn client() -> (gateway_tests::TestServer, TestClient) {
    let server = serve(GatewayApp::builder().gateway(Wire)).await;
    let client = TestClient::connect(&ws_url(&server, "/wire")).await;
    (server, client)
}

#[tokio::test]
async fn reply_is_the_json_of_the_return_value() {
    let (_server, mut c) = client().await;
    c.emit("ping", ()).await;
    assert_eq!(c.recv().await, json!("pong"));
    c.emit("struct", ()).await;
    assert_eq!(c.recv().await, json!({"joined": "lobby"}));
    c.emit("ok", ()).await;
    assert_eq!(c.recv().await, json!({"joined": "x"}));
    c.emit("some", ()).await;
    assert_eq!(c.recv().await, json!(7));
    c.emit("typed", 41).await;
    assert_eq!(c.recv().await, json!(42));
}

#[tokio::test]
async fn ws_response_sends_event_and_data() {
    let (_server, mut c) = client().await;
    c.send_text(r#"{"event":"push","data":{"test":"test"}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        json!({"event": "pop", "data": {"test": "test"}})
    );
}

#[tokio::test]
async fn unit_none_and_null_send_nothing() {
    let (_server, mut c) = client().await;
    for event in ["unit", "none", "null"] {
        c.emit(event, ()).await;
    }
    // Messages are handled in order: if any of those had replied, it would come before this.
    c.emit("ping", ()).await;
    assert_eq!(c.recv().await, json!("pong"));
}

#[tokio::test]
async fn a_stream_sends_one_frame_per_item() {
    let (_server, mut c) = client().await;
    c.emit("stream", ()).await;
    for n in 1..=3 {
        assert_eq!(c.recv().await, json!({"event": "tick", "data": n}));
    }
}

#[tokio::test]
async fn ws_exception_with_a_string_has_nest_12_shape() {
    let (_server, mut c) = client().await;
    c.send_text(r#"{"event":"boom","data":{"test":"test"}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        json!({"event":"exception","data":{"status":"error","message":"test","cause":{"pattern":"boom","data":{"test":"test"}}}})
    );
    // No data key: JSON.stringify drops `cause.data`.
    c.send_text(r#"{"event":"boom"}"#).await;
    assert_eq!(
        c.recv().await,
        json!({"event":"exception","data":{"status":"error","message":"test","cause":{"pattern":"boom"}}})
    );
}

#[tokio::test]
async fn ws_exception_with_an_object_is_sent_verbatim() {
    let (_server, mut c) = client().await;
    c.emit("object", 1).await;
    assert_eq!(
        c.recv().await,
        json!({"event":"exception","data":{"code":"E1","fields":["a"]}})
    );
}

#[tokio::test]
async fn other_errors_and_panics_are_internal_server_errors() {
    let (_server, mut c) = client().await;
    c.emit("crash", 1).await;
    assert_eq!(
        c.recv().await,
        json!({"event":"exception","data":{"status":"error","message":"Internal server error","cause":{"pattern":"crash","data":1}}})
    );
    c.emit("panic", ()).await;
    let exception = c.recv_event("exception").await;
    assert_eq!(exception["message"], "Internal server error");
    // The connection survives both.
    c.emit("ping", ()).await;
    assert_eq!(c.recv().await, json!("pong"));
}

#[tokio::test]
async fn a_body_of_the_wrong_type_is_an_internal_error_not_a_drop() {
    let (_server, mut c) = client().await;
    c.emit("typed", "not a number").await;
    // As NestJS answers a handler that throws: no Rust type names or serde messages.
    assert_eq!(
        c.recv_event("exception").await,
        json!({"status": "error", "message": "Internal server error", "cause": {"pattern": "typed", "data": "not a number"}})
    );
}

#[tokio::test]
async fn binary_frames_holding_json_are_handled_like_text() {
    let (_server, mut c) = client().await;
    c.send_binary(br#"{"event":"ping"}"#.to_vec()).await;
    assert_eq!(c.recv().await, json!("pong"));
}

#[tokio::test]
async fn bad_frames_and_unknown_events_are_dropped_without_closing() {
    let (_server, mut c) = client().await;
    for frame in [
        "not json",
        "[\"ping\", null]",
        "42",
        r#"{"event": 1}"#,
        r#"{"data": "no event"}"#,
        r#"{"event":"nobody-handles-this","data":1}"#,
    ] {
        c.send_text(frame).await;
    }
    c.send_binary(vec![0xff, 0x00, 0xfe]).await;
    c.emit("ping", ()).await;
    assert_eq!(c.recv().await, json!("pong"));
}

#[tokio::test]
async fn a_message_over_the_limit_closes_with_1009() {
    let server = serve(
        GatewayApp::builder()
            .gateway(Wire)
            .with_max_message_size(1024),
    )
    .await;
    let mut c = TestClient::connect(&ws_url(&server, "/wire")).await;
    c.emit("ping", "x".repeat(900)).await; // under the limit
    assert_eq!(c.recv().await, json!("pong"));
    c.emit("ping", "x".repeat(4096)).await;
    assert_eq!(c.expect_close().await, Some(1009));
}

#[tokio::test]
async fn the_default_limit_is_a_million_bytes_as_socket_io() {
    let (_server, mut c) = client().await;
    // `{"event":"ping","data":"…"}` wraps the text in 26 bytes.
    c.emit("ping", "x".repeat(1_000_000 - 26)).await;
    assert_eq!(c.recv().await, json!("pong"));
    c.emit("ping", "x".repeat(1_000_000 - 25)).await;
    assert_eq!(c.expect_close().await, Some(1009));
}

#[tokio::test]
async fn a_text_frame_that_is_not_utf8_closes_with_1007() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::Message;

    let server = serve(GatewayApp::builder().gateway(Wire)).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url(&server, "/wire"))
        .await
        .unwrap();
    let invalid = Frame::message(vec![0x7b, 0xff, 0x7d], OpCode::Data(Data::Text), true);
    ws.send(Message::Frame(invalid)).await.unwrap();
    let close = loop {
        match tokio::time::timeout(gateway_tests::PATIENCE, ws.next())
            .await
            .expect("a close in time")
        {
            Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            other => panic!("the connection ended without a close frame: {other:?}"),
        }
    };
    assert_eq!(close, Some(1007));
}
