//! Raw Engine.IO / Socket.IO clients for the conformance suites: frames exactly as they travel.

use std::net::SocketAddr;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::{http, PATIENCE};

/// A raw WebSocket connection.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One frame from the server, or the end of the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A text frame.
    Text(String),
    /// A binary frame.
    Binary(Vec<u8>),
    /// A close frame, or the connection ended.
    Closed,
}

impl Frame {
    /// The text of a text frame (panics otherwise, naming the frame).
    pub fn text(self) -> String {
        match self {
            Frame::Text(t) => t,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// Opens `ws://addr{path_and_query}`; `None` if the server refused the upgrade.
pub async fn try_open(addr: SocketAddr, path_and_query: &str) -> Option<Ws> {
    let url = format!("ws://{addr}{path_and_query}");
    tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(url))
        .await
        .expect("the server answered the upgrade")
        .ok()
        .map(|(ws, _)| ws)
}

/// Opens `ws://addr{path_and_query}`, which must succeed.
pub async fn open(addr: SocketAddr, path_and_query: &str) -> Ws {
    try_open(addr, path_and_query)
        .await
        .unwrap_or_else(|| panic!("upgrade to {path_and_query} refused"))
}

/// The next frame, whatever it is.
pub async fn next(ws: &mut Ws) -> Frame {
    loop {
        let frame = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("a frame in time");
        return match frame {
            Some(Ok(Message::Text(t))) => Frame::Text(t.as_str().to_owned()),
            Some(Ok(Message::Binary(b))) => Frame::Binary(b.to_vec()),
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => Frame::Closed,
            Some(Ok(_)) => continue,
        };
    }
}

/// The next frame that is not a ping; pings are answered, so the session stays open.
pub async fn next_skipping_pings(ws: &mut Ws) -> Frame {
    loop {
        match next(ws).await {
            Frame::Text(t) if t == "2" => send(ws, "3").await,
            other => return other,
        }
    }
}

/// Waits until the server closes the connection, skipping whatever comes before.
pub async fn closed(ws: &mut Ws) {
    while next(ws).await != Frame::Closed {}
}

/// Sends a text frame.
pub async fn send(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text)).await.expect("send");
}

/// Sends a binary frame.
pub async fn send_binary(ws: &mut Ws, bytes: &[u8]) {
    ws.send(Message::Binary(Bytes::copy_from_slice(bytes)))
        .await
        .expect("send");
}

/// The JSON of an open packet (`0{…}`).
pub fn open_packet(frame: &str) -> serde_json::Value {
    let json = frame.strip_prefix('0').expect("an open packet");
    serde_json::from_str(json).expect("open packet JSON")
}

/// The sorted keys of a JSON object.
pub fn keys(value: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

/// Starts a long-polling session at `path` (`/socket.io/` or `/engine.io/`); returns its sid.
pub async fn start_polling(addr: SocketAddr, path: &str) -> String {
    let (status, body) = http(addr, "GET", &format!("{path}?EIO=4&transport=polling"), "").await;
    assert_eq!(status, 200, "{body}");
    open_packet(&body)["sid"]
        .as_str()
        .expect("a sid")
        .to_owned()
}

/// GET on a polling session.
pub async fn poll(addr: SocketAddr, path: &str, sid: &str) -> (u16, String) {
    http(
        addr,
        "GET",
        &format!("{path}?EIO=4&transport=polling&sid={sid}"),
        "",
    )
    .await
}

/// POST on a polling session.
pub async fn post(addr: SocketAddr, path: &str, sid: &str, body: &str) -> (u16, String) {
    http(
        addr,
        "POST",
        &format!("{path}?EIO=4&transport=polling&sid={sid}"),
        body,
    )
    .await
}

/// The conformance example's server, exactly as the suites require (pings every 300 ms, 200 ms
/// timeout).
pub async fn conformance_server() -> crate::TestServer {
    crate::serve(gateway_examples::conformance::app()).await
}

/// The conformance server with a long ping timeout, for cases that are not about heartbeats: a
/// test client slow to answer a ping (a loaded machine) must not lose its session.
pub async fn patient_server() -> crate::TestServer {
    crate::serve(
        gateway_examples::conformance::app().with_ping_timeout(std::time::Duration::from_secs(30)),
    )
    .await
}

/// The conformance server pinging rarely, for cases where a ping would end a pending poll early.
pub async fn quiet_server() -> crate::TestServer {
    crate::serve(
        gateway_examples::conformance::app().with_ping_interval(std::time::Duration::from_secs(60)),
    )
    .await
}

/// Checks an open packet against the conformance server's settings: exactly the five keys,
/// `upgrades` as given, pings 300/200 ms, `maxPayload` 1 000 000.
pub fn assert_conformance_open_packet(body: &str, upgrades: serde_json::Value) {
    let open = open_packet(body);
    assert_eq!(
        keys(&open),
        [
            "maxPayload",
            "pingInterval",
            "pingTimeout",
            "sid",
            "upgrades"
        ]
    );
    assert!(open["sid"].is_string());
    assert_eq!(open["upgrades"], upgrades);
    assert_eq!(open["pingInterval"], 300);
    assert_eq!(open["pingTimeout"], 200);
    assert_eq!(open["maxPayload"], 1_000_000);
}
