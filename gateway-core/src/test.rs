//! Test utilities (feature `test-util`): [`TestClient`], a JSON-wire-format WebSocket client.
//!
//! Every wait has a generous timeout ([`TestClient::DEFAULT_TIMEOUT`]) and fails the test with a
//! message instead of hanging; nothing here sleeps and hopes.
//!
//! ```no_run
//! # async fn demo(addr: std::net::SocketAddr) {
//! use gateway_core::test::TestClient;
//! let mut client = TestClient::connect(&format!("ws://{addr}/events")).await;
//! client.emit("ping", ()).await;
//! assert_eq!(client.recv().await, serde_json::json!("pong"));
//! # }
//! ```

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A WebSocket client that speaks the NestJS JSON wire format. Panics (failing the test) on
/// errors and timeouts.
#[derive(Debug)]
pub struct TestClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    timeout: Duration,
}

impl TestClient {
    /// How long a receive waits before failing the test.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

    /// Connects to `url` (e.g. `ws://127.0.0.1:3000/chat`).
    ///
    /// # Panics
    /// If the connection or the upgrade fails.
    pub async fn connect(url: &str) -> Self {
        match Self::try_connect(url).await {
            Ok(client) => client,
            Err(err) => panic!("connecting to {url} failed: {err}"),
        }
    }

    /// Connects with a custom request (headers such as `Origin` or `Authorization`), returning
    /// the error instead of panicking, so refused upgrades can be tested.
    pub async fn try_connect(
        request: impl IntoClientRequest + Unpin,
    ) -> Result<Self, tokio_tungstenite::tungstenite::Error> {
        let (ws, _response) = tokio_tungstenite::connect_async(request).await?;
        Ok(Self {
            ws,
            timeout: Self::DEFAULT_TIMEOUT,
        })
    }

    /// Sends `{"event": event, "data": data}`.
    pub async fn emit(&mut self, event: &str, data: impl Serialize) {
        let frame = serde_json::json!({ "event": event, "data": data });
        self.send_text(&frame.to_string()).await;
    }

    /// Sends a raw text frame.
    pub async fn send_text(&mut self, text: &str) {
        if let Err(err) = self.ws.send(WsMessage::text(text)).await {
            panic!("sending {text:?} failed: {err}");
        }
    }

    /// Sends a raw binary frame.
    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        if let Err(err) = self.ws.send(WsMessage::binary(bytes)).await {
            panic!("sending a binary frame failed: {err}");
        }
    }

    /// The next data frame, parsed as JSON.
    ///
    /// # Panics
    /// On timeout, on a close, or if the frame is not JSON.
    pub async fn recv(&mut self) -> Value {
        match self.next_frame().await {
            Frame::Data(value) => value,
            Frame::Closed(code) => panic!("expected a message, the connection closed ({code:?})"),
        }
    }

    /// Skips frames until `{"event": event, ...}` arrives and returns its `data`.
    pub async fn recv_event(&mut self, event: &str) -> Value {
        loop {
            let value = self.recv().await;
            if value.get("event").and_then(Value::as_str) == Some(event) {
                return value.get("data").cloned().unwrap_or(Value::Null);
            }
        }
    }

    /// Waits for the server's close frame and returns its code (`None` if it closed without one).
    ///
    /// # Panics
    /// If a data frame arrives first, or on timeout.
    pub async fn expect_close(&mut self) -> Option<u16> {
        match self.next_frame().await {
            Frame::Closed(code) => {
                // tungstenite sends its close reply on the next read: finish the handshake.
                let _ = tokio::time::timeout(self.timeout, self.ws.next()).await;
                code
            }
            Frame::Data(value) => panic!("expected the connection to close, got {value}"),
        }
    }

    /// Closes the connection with code 1000 and waits for the server's reply.
    pub async fn close(self) {
        self.close_with(1000).await;
    }

    /// Closes the connection with `code` and waits for the server's reply.
    pub async fn close_with(mut self, code: u16) {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: "".into(),
        };
        let _ = self.ws.close(Some(frame)).await;
        while let Ok(Some(Ok(_))) = tokio::time::timeout(self.timeout, self.ws.next()).await {}
    }

    async fn next_frame(&mut self) -> Frame {
        loop {
            let next = match tokio::time::timeout(self.timeout, self.ws.next()).await {
                Ok(next) => next,
                Err(_) => panic!("no frame from the server within {:?}", self.timeout),
            };
            let bytes = match next {
                None | Some(Err(_)) => return Frame::Closed(None),
                Some(Ok(WsMessage::Close(frame))) => {
                    return Frame::Closed(frame.map(|f| u16::from(f.code)))
                }
                Some(Ok(WsMessage::Text(text))) => bytes::Bytes::from(text),
                Some(Ok(WsMessage::Binary(bytes))) => bytes,
                Some(Ok(_)) => continue,
            };
            return match serde_json::from_slice(&bytes) {
                Ok(value) => Frame::Data(value),
                Err(err) => panic!("the server sent a frame that is not JSON ({err}): {bytes:?}"),
            };
        }
    }
}

enum Frame {
    Data(Value),
    Closed(Option<u16>),
}
