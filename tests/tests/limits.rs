//! Limits on what one client may make the server hold: the time to send a request head, its
//! size and header count, and a message's announced size. Each test shows the limit, what the
//! offending client gets, and that another client is served meanwhile.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use gateway_core::test::TestClient;
use gateway_core::{gateway, GatewayApp, GatewayAppBuilder, MessageBody, Socket};
use gateway_examples::events::EventsGateway;
use gateway_tests::{eio, raw_http, Serving, TestServer, PATIENCE};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

fn app() -> GatewayAppBuilder {
    GatewayApp::builder().gateway(EventsGateway)
}

/// The HTTP limits are `listen()`'s (a server that mounts the service sets its own).
async fn listening(builder: GatewayAppBuilder) -> TestServer {
    TestServer::start_with(builder, Serving::Listen).await
}

/// Another client is served: an `/events` ping gets its pong.
async fn assert_others_served(addr: SocketAddr) {
    let mut client = TestClient::connect(&format!("ws://{addr}/events")).await;
    client.emit("ping", ()).await;
    assert_eq!(client.recv().await, json!("pong"));
}

/// Reads until the server ends the connection; returns what it sent.
async fn read_to_end(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut got))
        .await
        .expect("the server ends the connection")
        .expect("read");
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_at_the_handshake_deadline() {
    let server = listening(app().with_handshake_timeout(Duration::from_millis(300))).await;
    let mut silent = TcpStream::connect(server.local_addr()).await.unwrap();
    assert_others_served(server.local_addr()).await;
    assert_eq!(read_to_end(&mut silent).await, "");
    server.shutdown().await;
}

#[tokio::test]
async fn a_stalled_request_head_is_closed_at_the_handshake_deadline() {
    let server = listening(app().with_handshake_timeout(Duration::from_millis(300))).await;
    let mut slowloris = TcpStream::connect(server.local_addr()).await.unwrap();
    slowloris
        .write_all(b"GET /events HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n")
        .await
        .unwrap();
    assert_others_served(server.local_addr()).await;
    let answer = read_to_end(&mut slowloris).await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn an_oversized_request_head_is_answered_431() {
    let server = listening(app()).await;
    let big = "a".repeat(20 * 1024);
    let request = format!("GET /events HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n");
    let (status, _) = raw_http(server.local_addr(), &request).await;
    assert_eq!(status, 431);
    assert_others_served(server.local_addr()).await;
    server.shutdown().await;
}

#[tokio::test]
async fn too_many_headers_are_answered_431() {
    let server = listening(app().with_max_headers(20)).await;
    let headers: String = (0..30).map(|i| format!("X-H{i}: v\r\n")).collect();
    let request = format!("GET /events HTTP/1.1\r\nHost: x\r\n{headers}\r\n");
    let (status, _) = raw_http(server.local_addr(), &request).await;
    assert_eq!(status, 431);
    assert_others_served(server.local_addr()).await;
    server.shutdown().await;
}

/// A frame that announces more than the message size limit is refused from its header: the
/// client sends 10 bytes of a 100 MB frame and gets 1009 at once.
#[tokio::test]
async fn a_frame_announced_over_the_limit_is_refused_before_its_payload() {
    let server = gateway_tests::serve(app()).await;
    let url = format!("ws://{}/events", server.local_addr());
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    // FIN + text, masked, 64-bit length 100 000 000, a mask key; no payload follows.
    let mut header = vec![0x81, 0x80 | 127];
    header.extend_from_slice(&100_000_000u64.to_be_bytes());
    header.extend_from_slice(&[1, 2, 3, 4]);
    ws.get_mut().write_all(&header).await.unwrap();
    let closed = tokio::time::timeout(PATIENCE, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
                Some(Ok(_)) => {}
                Some(Err(err)) => {
                    panic!("the close frame is read before the connection ends: {err}")
                }
                None => return None,
            }
        }
    })
    .await
    .expect("the server answers the header alone");
    assert_eq!(closed, Some(CloseCode::Size));
    assert_others_served(server.local_addr()).await;
    server.shutdown().await;
}

/// A TCP connection to `server` from the loopback address `127.0.0.last`.
async fn tcp_from(last: u8, server: SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::from(([127, 0, 0, last], 0)))
        .unwrap();
    socket.connect(server).await.unwrap()
}

/// Opens a WebSocket at `path` from `127.0.0.last`; the HTTP status when refused.
async fn websocket_from(last: u8, server: SocketAddr, path: &str) -> Result<(), u16> {
    let stream = tcp_from(last, server).await;
    let url = format!("ws://{server}{path}");
    match tokio_tungstenite::client_async(url, stream).await {
        Ok((ws, _)) => {
            // Kept open until the server closes it.
            tokio::spawn(async move {
                let mut ws = ws;
                while let Some(Ok(_)) = ws.next().await {}
            });
            Ok(())
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(err) => panic!("unexpected handshake error: {err}"),
    }
}

/// A long-polling handshake from `127.0.0.last`: the HTTP status.
async fn polling_from(last: u8, server: SocketAddr) -> u16 {
    let mut stream = tcp_from(last, server).await;
    let request =
        "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    stream.write_all(request.as_bytes()).await.unwrap();
    let answer = read_to_end(&mut stream).await;
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("an HTTP status")
}

#[tokio::test]
async fn connections_per_address_are_bounded_and_other_addresses_are_served() {
    let server = gateway_tests::serve(app().with_max_connections_per_address(2)).await;
    let addr = server.local_addr();
    assert_eq!(websocket_from(1, addr, "/events").await, Ok(()));
    assert_eq!(
        websocket_from(1, addr, "/socket.io/?EIO=4&transport=websocket").await,
        Ok(())
    );
    assert_eq!(websocket_from(1, addr, "/events").await, Err(429));
    assert_eq!(polling_from(1, addr).await, 429);
    assert_eq!(websocket_from(2, addr, "/events").await, Ok(()));
    assert_eq!(polling_from(2, addr).await, 200);
    server.shutdown().await;
}

#[tokio::test]
async fn long_polling_sessions_are_bounded_per_address_and_in_all() {
    let server = gateway_tests::serve(app().with_max_polling_sessions(3, 2)).await;
    let addr = server.local_addr();
    assert_eq!(polling_from(1, addr).await, 200);
    assert_eq!(polling_from(1, addr).await, 200);
    assert_eq!(polling_from(1, addr).await, 429, "per address");
    assert_eq!(polling_from(2, addr).await, 200);
    assert_eq!(polling_from(3, addr).await, 503, "in all");
    // WebSockets are not long-polling sessions: still served.
    assert_eq!(websocket_from(3, addr, "/events").await, Ok(()));
    server.shutdown().await;
}

#[tokio::test]
async fn a_packet_announcing_too_many_attachments_ends_the_session() {
    let server = gateway_tests::serve(app().with_max_attachments(2)).await;
    let addr = server.local_addr();
    let mut ws = eio::open(addr, "/socket.io/?EIO=4&transport=websocket").await;
    assert!(eio::next(&mut ws).await.text().starts_with('0'));
    eio::send(&mut ws, "40").await;
    assert!(eio::next_skipping_pings(&mut ws)
        .await
        .text()
        .starts_with("40"));
    eio::send(&mut ws, r#"453-["message",{"_placeholder":true,"num":0}]"#).await;
    eio::closed(&mut ws).await;
    assert_others_served(addr).await;
    server.shutdown().await;
}

struct ManyRooms;

#[gateway(namespace = "/rooms")]
impl ManyRooms {
    /// Joins `n` rooms; answers how many rooms the socket is in.
    #[subscribe_message("join")]
    async fn join(&self, client: Socket, MessageBody(n): MessageBody<usize>) -> usize {
        client.join((0..n).map(|i| format!("room:{i}")).collect::<Vec<_>>());
        client.rooms().len()
    }
}

#[tokio::test]
async fn joins_past_the_rooms_per_socket_bound_are_ignored() {
    let server = gateway_tests::serve(app().gateway(ManyRooms).with_max_rooms_per_socket(5)).await;
    let mut client = TestClient::connect(&format!("ws://{}/rooms", server.local_addr())).await;
    client.emit("join", 10).await;
    assert_eq!(client.recv().await, json!(5), "its own room and four more");
    assert_others_served(server.local_addr()).await;
    server.shutdown().await;
}

#[tokio::test]
async fn connection_attempts_per_address_are_rate_limited_and_other_addresses_are_served() {
    let server = gateway_tests::serve(
        app().with_max_connection_rate_per_address(3, Duration::from_secs(3600)),
    )
    .await;
    let addr = server.local_addr();
    assert_eq!(websocket_from(4, addr, "/events").await, Ok(()));
    assert_eq!(
        websocket_from(4, addr, "/socket.io/?EIO=4&transport=websocket").await,
        Ok(())
    );
    assert_eq!(polling_from(4, addr).await, 200);
    // Three attempts in the period: the fourth, of any kind, is refused.
    assert_eq!(websocket_from(4, addr, "/events").await, Err(429));
    assert_eq!(polling_from(4, addr).await, 429);
    assert_eq!(websocket_from(5, addr, "/events").await, Ok(()));
    assert_others_served(addr).await;
    server.shutdown().await;
}

/// Answers the handshake's client address.
struct WhoAmI;

#[gateway(namespace = "/whoami")]
impl WhoAmI {
    #[subscribe_message("whoami")]
    async fn whoami(&self, client: Socket) -> String {
        client.handshake().client_ip().to_string()
    }
}

/// A JSON-format WebSocket to `/whoami` from `127.0.0.last` carrying `X-Forwarded-For:
/// forwarded`: the address the server says it came from, or the HTTP status of the refusal.
async fn forwarded_from(last: u8, server: SocketAddr, forwarded: &str) -> Result<String, u16> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let stream = tcp_from(last, server).await;
    let mut request = format!("ws://{server}/whoami")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("x-forwarded-for", forwarded.parse().unwrap());
    let (mut ws, _) = match tokio_tungstenite::client_async(request, stream).await {
        Ok(connected) => connected,
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            return Err(response.status().as_u16())
        }
        Err(err) => panic!("unexpected handshake error: {err}"),
    };
    futures_util::SinkExt::send(&mut ws, Message::text(r#"{"event":"whoami"}"#))
        .await
        .unwrap();
    let answer = tokio::time::timeout(PATIENCE, ws.next())
        .await
        .expect("an answer")
        .unwrap()
        .unwrap();
    // Kept open, so it keeps counting against its address.
    tokio::spawn(async move { while let Some(Ok(_)) = ws.next().await {} });
    Ok(serde_json::from_str(answer.to_text().unwrap()).unwrap())
}

#[tokio::test]
async fn x_forwarded_for_names_the_client_only_behind_a_trusted_proxy() {
    let proxy = std::net::IpAddr::from([127, 0, 0, 6]);
    let server = gateway_tests::serve(
        GatewayApp::builder()
            .gateway(WhoAmI)
            .with_trusted_proxies([proxy])
            .with_max_connections_per_address(1),
    )
    .await;
    let addr = server.local_addr();
    // Through the proxy: each forwarded client has its own bound.
    assert_eq!(
        forwarded_from(6, addr, "203.0.113.1").await,
        Ok("203.0.113.1".into())
    );
    assert_eq!(
        forwarded_from(6, addr, "198.51.100.9, 203.0.113.2").await,
        Ok("203.0.113.2".into()),
        "the right-most entry is the one the proxy saw"
    );
    assert_eq!(forwarded_from(6, addr, "203.0.113.1").await, Err(429));
    // Not from the proxy: the header is ignored, the peer's own address counts.
    assert_eq!(
        forwarded_from(7, addr, "203.0.113.3").await,
        Ok("127.0.0.7".into())
    );
    assert_eq!(forwarded_from(7, addr, "203.0.113.4").await, Err(429));
    server.shutdown().await;
}
