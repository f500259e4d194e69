//! How `listen()` takes a connection: the upgrade it answers itself (a head in pieces, a first
//! frame in the same packet as the head), the requests it leaves to hyper (an upgrade after a
//! plain request on one connection, an upgrade with a body header), the listen backlog, and
//! several `SO_REUSEPORT` listeners.

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use gateway_core::test::TestClient;
use gateway_core::{GatewayApp, GatewayAppBuilder};
use gateway_examples::events::EventsGateway;
use gateway_tests::{upgrade_request, Serving, TestServer, PATIENCE};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

fn app() -> GatewayAppBuilder {
    GatewayApp::builder().gateway(EventsGateway)
}

async fn listening(builder: GatewayAppBuilder) -> TestServer {
    TestServer::start_with(builder, Serving::Listen).await
}

/// Reads an HTTP response head byte by byte, so that nothing after it is taken off the stream.
async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let read = async {
        while !head.ends_with(b"\r\n\r\n") {
            let byte = stream.read_u8().await.expect("the server answers");
            head.push(byte);
        }
    };
    tokio::time::timeout(PATIENCE, read)
        .await
        .expect("a response head");
    String::from_utf8(head).expect("a text head")
}

/// A client's text frame (masked, as clients must).
fn masked_text(text: &str) -> Vec<u8> {
    let mask = [0x12, 0x34, 0x56, 0x78];
    assert!(text.len() < 126);
    let mut frame = vec![0x81, 0x80 | text.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(text.bytes().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// Writes `bytes` on `stream` and expects a `101`; returns the head.
async fn upgrade_with(stream: &mut TcpStream, bytes: &[u8]) -> String {
    stream.write_all(bytes).await.unwrap();
    let head = read_head(stream).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    head
}

/// The upgraded stream as a WebSocket client: `ping` is answered `pong`.
async fn assert_ping_answered(stream: TcpStream) {
    let mut ws = WebSocketStream::from_raw_socket(stream, Role::Client, None).await;
    ws.send(Message::text(r#"{"event":"ping","data":null}"#))
        .await
        .unwrap();
    assert_pong(&mut ws).await;
}

async fn assert_pong(ws: &mut WebSocketStream<TcpStream>) {
    let reply = tokio::time::timeout(PATIENCE, ws.next())
        .await
        .expect("a reply")
        .expect("a frame")
        .expect("a valid frame");
    assert_eq!(reply, Message::text(r#""pong""#));
}

#[tokio::test]
async fn a_request_head_sent_in_pieces_is_upgraded() {
    let server = listening(app()).await;
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let request = upgrade_request("/events", "");
    let (first, rest) = request.split_at(20);
    let (second, third) = rest.split_at(40);
    for piece in [first, second, third] {
        stream.write_all(piece.as_bytes()).await.unwrap();
        stream.flush().await.unwrap();
    }
    assert!(read_head(&mut stream).await.starts_with("HTTP/1.1 101"));
    assert_ping_answered(stream).await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_first_frame_sent_with_the_head_is_read() {
    let server = listening(app()).await;
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let mut bytes = upgrade_request("/events", "").into_bytes();
    bytes.extend(masked_text(r#"{"event":"ping","data":null}"#));
    let head = upgrade_with(&mut stream, &bytes).await;
    assert!(head.contains("sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    let mut ws = WebSocketStream::from_raw_socket(stream, Role::Client, None).await;
    assert_pong(&mut ws).await;
    server.shutdown().await;
}

/// The first request goes to hyper (a route); the upgrade that follows on the same connection
/// is served over the stream hyper hands back.
#[tokio::test]
async fn an_upgrade_after_a_plain_request_on_one_connection() {
    let routes = axum::Router::new().route("/health", axum::routing::get(|| async { "ok" }));
    let app = app().build().unwrap().with_routes(routes);
    let server = TestServer::serve(app, Serving::Listen).await;
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let head = read_head(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("content-length: 2"), "{head}");
    let mut body = [0u8; 2];
    stream.read_exact(&mut body).await.unwrap();
    assert_eq!(&body, b"ok");
    upgrade_with(&mut stream, upgrade_request("/events", "").as_bytes()).await;
    assert_ping_answered(stream).await;
    server.shutdown().await;
}

#[tokio::test]
async fn an_upgrade_with_a_body_header_is_upgraded_by_hyper() {
    let server = listening(app()).await;
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let request = upgrade_request("/events", "Content-Length: 0\r\n");
    upgrade_with(&mut stream, request.as_bytes()).await;
    assert_ping_answered(stream).await;
    server.shutdown().await;
}

/// The listen backlog `ss` reports for a listening socket (its Send-Q).
async fn backlog(addr: SocketAddr) -> u32 {
    let out = tokio::process::Command::new("ss")
        .args(["-ltnH", &format!("sport = :{}", addr.port())])
        .output()
        .await
        .expect("ss (iproute2) runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let fields: Vec<&str> = text.split_whitespace().collect();
    fields
        .get(2)
        .and_then(|q| q.parse().ok())
        .unwrap_or_else(|| panic!("no listening socket in {text:?}"))
}

#[tokio::test]
async fn the_listen_backlog_follows_somaxconn_unless_set() {
    let somaxconn: u32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let server = listening(app()).await;
    assert_eq!(backlog(server.local_addr()).await, somaxconn);
    server.shutdown().await;

    let server = listening(app().with_listen_backlog(64)).await;
    assert_eq!(backlog(server.local_addr()).await, 64);
    server.shutdown().await;
}

#[tokio::test]
async fn reuse_port_listeners_serve_every_client() {
    let server = listening(app().with_reuse_port_listeners(2)).await;
    let url = format!("ws://{}/events", server.local_addr());
    let mut clients = Vec::new();
    for _ in 0..20 {
        clients.push(TestClient::connect(&url).await);
    }
    for client in &mut clients {
        client.emit("ping", ()).await;
        assert_eq!(client.recv().await, json!("pong"));
    }
    server.shutdown().await;
}
