//! Socket.IO v5 over the Engine.IO v4 WebSocket transport, spoken as raw frames.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use gateway_core::pipeline::{connection_guard_fn, ConnectionContext};
use gateway_core::{gateway, Ack, AckError, GatewayApp, MessageBody, Socket};
use gateway_tests::TestServer;
use gateway_tests::{raw_http, serve, upgrade_request, wait_until, PATIENCE};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

struct Events;

#[gateway(namespace = "/events")]
impl Events {
    #[subscribe_message("ping")]
    async fn ping(&self) -> &'static str {
        "pong"
    }

    /// The server disconnects this socket from `/events`.
    #[subscribe_message("leave")]
    async fn leave(&self, client: Socket) {
        client.disconnect();
    }

    #[subscribe_message("sum")]
    async fn sum(&self, MessageBody(numbers): MessageBody<Vec<i64>>) -> i64 {
        numbers.iter().sum()
    }

    /// NestJS's `manual-ack` test gateway: the ack is sent by hand, the return value is not.
    #[subscribe_message("manual")]
    async fn manual(&self, ack: Ack, MessageBody(data): MessageBody<Value>) -> Value {
        assert!(ack.is_requested());
        ack.send(&json!({"status": "success", "data": data}))
            .unwrap();
        json!({"status": "ignored"})
    }

    /// Asks the client a question and reports the answer (or the failure) as `answered`.
    /// The wait runs in its own task: this socket's next messages (the ack among them) are
    /// only read once this handler returns.
    #[subscribe_message("askMe")]
    async fn ask_me(&self, client: Socket, MessageBody(timeout_ms): MessageBody<u64>) {
        tokio::spawn(async move {
            let answer: Result<String, AckError> = client
                .timeout(Duration::from_millis(timeout_ms))
                .emit_with_ack("question", "ready?")
                .await;
            let report = match answer {
                Ok(answer) => json!({"answer": answer}),
                Err(err) => json!({"error": err.to_string()}),
            };
            let _ = client.emit("answered", &report);
        });
    }
}

struct Guarded;

#[gateway(namespace = "/guarded")]
#[use_connection_guards(connection_guard_fn(|cx: ConnectionContext| async move {
    cx.handshake().auth().and_then(|a| a.get("key")).and_then(Value::as_str) == Some("open-sesame")
}))]
impl Guarded {
    #[subscribe_message("hello")]
    async fn hello(&self) -> &'static str {
        "inside"
    }
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn server(ping: Duration) -> TestServer {
    serve(
        GatewayApp::builder()
            .gateway(Events)
            .gateway(Guarded)
            .with_ping_interval(ping)
            .with_ping_timeout(ping),
    )
    .await
}

async fn connect(server: &TestServer) -> (Ws, Value) {
    let url = format!(
        "ws://{}/socket.io/?EIO=4&transport=websocket",
        server.local_addr()
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let open = recv(&mut ws).await;
    let open: Value =
        serde_json::from_str(open.strip_prefix('0').expect("an open packet")).unwrap();
    (ws, open)
}

async fn send(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text)).await.unwrap();
}

/// The next text frame, skipping pings.
async fn recv(ws: &mut Ws) -> String {
    loop {
        match tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("a frame in time")
        {
            Some(Ok(Message::Text(t))) if t.as_str() != "2" => return t.as_str().to_owned(),
            Some(Ok(Message::Text(_))) => {}
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return "<closed>".to_owned(),
            Some(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn the_open_packet_has_exactly_the_expected_keys() {
    let server = server(Duration::from_secs(25)).await;
    let (_ws, open) = connect(&server).await;
    let mut keys: Vec<&String> = open.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "maxPayload",
            "pingInterval",
            "pingTimeout",
            "sid",
            "upgrades"
        ]
    );
    assert_eq!(open["upgrades"], json!([]));
    assert_eq!(open["pingInterval"], 25000);
    assert_eq!(open["maxPayload"], 1_000_000);
    assert_eq!(open["sid"].as_str().unwrap().len(), 20);
}

#[tokio::test]
async fn bad_engine_io_queries_get_400() {
    let server = server(Duration::from_secs(25)).await;
    // Refused upgrades get engine.io's bare message.
    for (query, message) in [
        ("EIO=3&transport=websocket", "Unsupported protocol version"),
        ("EIO=4&transport=carrier-pigeon", "Transport unknown"),
        ("EIO=4", "Transport unknown"),
    ] {
        let (status, text) = raw_http(
            server.local_addr(),
            &upgrade_request(&format!("/socket.io/?{query}"), ""),
        )
        .await;
        assert_eq!(status, 400, "{query}");
        assert!(
            text.ends_with(&format!("\r\n\r\n{message}")),
            "{query}: {text}"
        );
    }
    // Long-polling requests get it as JSON.
    let (status, text) = raw_http(
        server.local_addr(),
        "GET /socket.io/?EIO=3&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        text.ends_with(r#"{"code":5,"message":"Unsupported protocol version"}"#),
        "{text}"
    );
}

#[tokio::test]
async fn namespaces_events_and_acks() {
    let server = server(Duration::from_secs(25)).await;
    let (mut ws, _) = connect(&server).await;
    // The main namespace exists without a gateway on it, as in socket.io.
    send(&mut ws, "40").await;
    assert!(recv(&mut ws).await.starts_with(r#"40{"sid":""#));
    send(&mut ws, "40/nope,").await;
    assert_eq!(
        recv(&mut ws).await,
        r#"44/nope,{"message":"Invalid namespace"}"#
    );
    send(&mut ws, "40/events,").await;
    let connected = recv(&mut ws).await;
    let sid: Value = serde_json::from_str(connected.strip_prefix("40/events,").unwrap()).unwrap();
    assert_eq!(sid["sid"].as_str().unwrap().len(), 20);
    send(&mut ws, r#"42/events,7["ping"]"#).await;
    assert_eq!(recv(&mut ws).await, r#"43/events,7["pong"]"#);
    // Several arguments arrive as one array (NestJS IoAdapter).
    send(&mut ws, r#"42/events,8["sum",1,2,3]"#).await;
    assert_eq!(recv(&mut ws).await, r#"43/events,8[6]"#);
    // Without an ack id, a plain reply sends nothing: the next frame answers the next ack.
    send(&mut ws, r#"42/events,["ping"]"#).await;
    send(&mut ws, r#"42/events,9["ping"]"#).await;
    assert_eq!(recv(&mut ws).await, r#"43/events,9["pong"]"#);
    // An event for a namespace the client has not joined closes the connection, as in socket.io.
    send(&mut ws, r#"42/guarded,1["hello"]"#).await;
    assert_eq!(recv(&mut ws).await, "<closed>");
}

#[tokio::test]
async fn connection_guards_answer_with_connect_error() {
    let server = server(Duration::from_secs(25)).await;
    let (mut ws, _) = connect(&server).await;
    send(&mut ws, r#"40/guarded,{"key":"wrong"}"#).await;
    assert_eq!(
        recv(&mut ws).await,
        r#"44/guarded,{"message":"Forbidden resource"}"#
    );
    send(&mut ws, r#"40/guarded,{"key":"open-sesame"}"#).await;
    assert!(recv(&mut ws).await.starts_with(r#"40/guarded,{"sid":""#));
    send(&mut ws, r#"42/guarded,1["hello"]"#).await;
    assert_eq!(recv(&mut ws).await, r#"43/guarded,1["inside"]"#);
}

#[tokio::test]
async fn the_server_pings_and_drops_clients_that_do_not_answer() {
    let server = server(Duration::from_millis(100)).await;
    let (mut ws, open) = connect(&server).await;
    assert_eq!(open["pingInterval"], 100);
    for _ in 0..3 {
        let ping = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(ping, Message::text("2"));
        send(&mut ws, "3").await;
    }
    // Stop answering: the server closes the connection.
    loop {
        match tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("the server closes in time")
        {
            Some(Ok(Message::Text(t))) if t.as_str() == "2" => {}
            other => {
                assert!(
                    matches!(other, Some(Ok(Message::Close(_))) | None | Some(Err(_))),
                    "{other:?}"
                );
                break;
            }
        }
    }
}

#[tokio::test]
async fn invalid_packets_close_the_connection() {
    let server = server(Duration::from_secs(25)).await;
    for bad in [
        "abc",
        "2",
        r#"42["connect"]"#,
        "42{}",
        r#"4511-["a"]"#,
        r#"42abc["a"]"#,
    ] {
        let (mut ws, _) = connect(&server).await;
        send(&mut ws, "40/events,").await;
        recv(&mut ws).await;
        send(&mut ws, bad).await;
        assert_eq!(recv(&mut ws).await, "<closed>", "{bad}");
    }
}

#[tokio::test]
async fn client_disconnect_leaves_one_namespace_only() {
    let server = server(Duration::from_secs(25)).await;
    let (mut ws, _) = connect(&server).await;
    send(&mut ws, "40/events,").await;
    recv(&mut ws).await;
    send(&mut ws, r#"40/guarded,{"key":"open-sesame"}"#).await;
    recv(&mut ws).await;
    let events = server.namespace("/events").unwrap();
    assert_eq!(events.socket_count(), 1);
    send(&mut ws, "41/events,").await;
    send(&mut ws, r#"42/guarded,2["hello"]"#).await;
    assert_eq!(recv(&mut ws).await, r#"43/guarded,2["inside"]"#);
    assert_eq!(events.socket_count(), 0);
    assert_eq!(server.namespace("/guarded").unwrap().socket_count(), 1);
}

#[tokio::test]
async fn a_handler_can_answer_the_ack_by_hand() {
    let server = server(Duration::from_secs(25)).await;
    let (mut ws, _) = connect(&server).await;
    send(&mut ws, "40/events,").await;
    recv(&mut ws).await;
    send(&mut ws, r#"42/events,4["manual",{"x":1}]"#).await;
    assert_eq!(
        recv(&mut ws).await,
        r#"43/events,4[{"status":"success","data":{"x":1}}]"#
    );
    // The returned `{"status":"ignored"}` was not sent: the next frame answers the next message.
    send(&mut ws, r#"42/events,5["ping"]"#).await;
    assert_eq!(recv(&mut ws).await, r#"43/events,5["pong"]"#);
}

#[tokio::test]
async fn the_server_can_emit_and_wait_for_the_ack() {
    let server = server(Duration::from_secs(25)).await;
    let (mut ws, _) = connect(&server).await;
    send(&mut ws, "40/events,").await;
    recv(&mut ws).await;
    send(&mut ws, r#"42/events,["askMe",10000]"#).await;
    assert_eq!(recv(&mut ws).await, r#"42/events,0["question","ready?"]"#);
    send(&mut ws, r#"43/events,0["yes"]"#).await;
    assert_eq!(
        recv(&mut ws).await,
        r#"42/events,["answered",{"answer":"yes"}]"#
    );
    // No answer: a timeout.
    send(&mut ws, r#"42/events,["askMe",50]"#).await;
    assert_eq!(recv(&mut ws).await, r#"42/events,1["question","ready?"]"#);
    assert_eq!(
        recv(&mut ws).await,
        r#"42/events,["answered",{"error":"no ack within the timeout"}]"#
    );
}

/// Only `https://good.example` may connect.
struct Strict;

#[gateway(namespace = "/strict", cors = "https://good.example")]
impl Strict {}

fn polling_request(method: &str, origin: &str) -> String {
    format!(
        "{method} /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: localhost\r\n\
         Connection: close\r\nOrigin: {origin}\r\nContent-Length: 0\r\n\r\n"
    )
}

#[tokio::test]
async fn long_polling_answers_cors_for_allowed_origins_only() {
    let server = serve(GatewayApp::builder().gateway(Strict)).await;
    let addr = server.local_addr();

    let (status, preflight) =
        raw_http(addr, &polling_request("OPTIONS", "https://good.example")).await;
    assert_eq!(status, 204, "{preflight}");
    let preflight = preflight.to_ascii_lowercase();
    assert!(
        preflight.contains("access-control-allow-origin: https://good.example"),
        "{preflight}"
    );
    assert!(
        preflight.contains("access-control-allow-methods: get,head,put,patch,post,delete"),
        "{preflight}"
    );

    let (status, open) = raw_http(addr, &polling_request("GET", "https://good.example")).await;
    assert_eq!(status, 200, "{open}");
    let open_lower = open.to_ascii_lowercase();
    assert!(
        open_lower.contains("access-control-allow-origin: https://good.example"),
        "{open}"
    );
    assert!(
        open_lower.contains("access-control-allow-credentials: true"),
        "{open}"
    );
    assert!(open.contains(r#""upgrades":["websocket"]"#), "{open}");

    let (status, refused) = raw_http(addr, &polling_request("GET", "https://evil.example")).await;
    assert_eq!(status, 403, "{refused}");
    assert!(
        !refused
            .to_ascii_lowercase()
            .contains("access-control-allow-origin"),
        "{refused}"
    );
}

#[tokio::test]
async fn a_server_disconnect_leaves_the_other_namespaces_connected() {
    let server = server(Duration::from_secs(25)).await;
    let (mut ws, _) = connect(&server).await;
    send(&mut ws, "40/events,").await;
    recv(&mut ws).await;
    send(&mut ws, r#"40/guarded,{"key":"open-sesame"}"#).await;
    recv(&mut ws).await;
    send(&mut ws, r#"42/events,["leave"]"#).await;
    assert_eq!(recv(&mut ws).await, "41/events,");
    let events = server.namespace("/events").unwrap();
    wait_until("the socket to leave /events", || events.socket_count() == 0).await;
    // The connection and its other namespace are still there.
    send(&mut ws, r#"42/guarded,3["hello"]"#).await;
    assert_eq!(recv(&mut ws).await, r#"43/guarded,3["inside"]"#);
    // And the client may join /events again.
    send(&mut ws, "40/events,").await;
    assert!(recv(&mut ws).await.starts_with("40/events,"));
}

/// The close code of the server's close frame (`None` without a status), skipping other frames.
async fn close_code(ws: &mut Ws) -> Option<u16> {
    loop {
        match tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("a close in time")
        {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            None | Some(Err(_)) => panic!("the connection ended without a close frame"),
        }
    }
}

#[tokio::test]
async fn an_engine_io_message_over_the_limit_closes_with_1009() {
    let server = serve(
        GatewayApp::builder()
            .gateway(Events)
            .with_max_message_size(1024),
    )
    .await;
    let (mut ws, open) = connect(&server).await;
    assert_eq!(open["maxPayload"], 1024);
    send(&mut ws, &format!("4{}", "x".repeat(4096))).await;
    assert_eq!(close_code(&mut ws).await, Some(1009));
}

#[tokio::test]
async fn a_close_packet_over_a_websocket_is_ignored_as_by_engine_io() {
    let server = server(Duration::from_secs(25)).await;
    let (mut ws, _) = connect(&server).await;
    send(&mut ws, "40/events,").await;
    assert!(recv(&mut ws).await.starts_with("40/events,"));
    send(&mut ws, "1").await;
    send(&mut ws, "5").await;
    send(&mut ws, r#"42/events,1["ping"]"#).await;
    assert_eq!(recv(&mut ws).await, r#"43/events,1["pong"]"#);
}

#[tokio::test]
async fn a_websocket_upgrade_for_long_polling_is_closed_without_a_status() {
    let server = server(Duration::from_secs(25)).await;
    let url = format!(
        "ws://{}/socket.io/?EIO=4&transport=polling",
        server.local_addr()
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert_eq!(close_code(&mut ws).await, None);
}
