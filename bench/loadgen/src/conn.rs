//! One client connection speaking either wire format of the benchmark contract.

use std::io;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The wire format: NestJS `platform-ws` JSON at `/`, or Socket.IO v5 namespace `/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Sio,
}

impl Format {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "json" => Ok(Self::Json),
            "sio" => Ok(Self::Sio),
            other => Err(format!("unknown format {other:?} (json or sio)")),
        }
    }
}

pub struct Conn {
    pub ws: Ws,
    pub format: Format,
    next_id: u64,
}

fn err(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

impl Conn {
    /// Connects to `addr` (host:port) and, for Socket.IO, joins namespace `/`.
    pub async fn connect(addr: &str, format: Format) -> io::Result<Self> {
        let url = match format {
            Format::Json => format!("ws://{addr}/"),
            Format::Sio => format!("ws://{addr}/socket.io/?EIO=4&transport=websocket"),
        };
        let config = WebSocketConfig::default().read_buffer_size(4096);
        let (ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true)
            .await
            .map_err(err)?;
        let mut conn = Self {
            ws,
            format,
            next_id: 0,
        };
        if format == Format::Sio {
            let open = conn.next_text().await?;
            if !open.starts_with('0') {
                return Err(err(format!("expected an open packet, got {open}")));
            }
            conn.send("40".to_owned()).await?;
            loop {
                let text = conn.next_text().await?;
                if text.starts_with("40") {
                    break;
                }
                if text.starts_with("44") {
                    return Err(err(format!("connect refused: {text}")));
                }
            }
        }
        Ok(conn)
    }

    /// The text of a request for `event` with `data` (JSON text; empty for none).
    pub fn request(&mut self, event: &str, data: &str) -> String {
        match self.format {
            Format::Json => {
                let data = if data.is_empty() { "null" } else { data };
                format!(r#"{{"event":"{event}","data":{data}}}"#)
            }
            Format::Sio => {
                let id = self.next_id;
                self.next_id += 1;
                if data.is_empty() {
                    format!(r#"42{id}["{event}"]"#)
                } else {
                    format!(r#"42{id}["{event}",{data}]"#)
                }
            }
        }
    }

    pub async fn send(&mut self, text: String) -> io::Result<()> {
        self.ws.send(Message::text(text)).await.map_err(err)
    }

    /// The next text frame; Socket.IO pings are answered on the way.
    pub async fn next_text(&mut self) -> io::Result<String> {
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    if self.format == Format::Sio && t.as_str() == "2" {
                        self.send("3".to_owned()).await?;
                        continue;
                    }
                    return Ok(t.as_str().to_owned());
                }
                Some(Ok(Message::Close(_))) | None => {
                    return Err(io::Error::new(io::ErrorKind::ConnectionAborted, "closed"))
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(err(e)),
            }
        }
    }

    /// Waits for the reply to the last request (skipping broadcasts).
    pub async fn reply(&mut self) -> io::Result<String> {
        loop {
            let text = self.next_text().await?;
            if is_reply(self.format, &text) {
                return Ok(text);
            }
        }
    }

    /// Sends a request and waits for its reply.
    pub async fn call(&mut self, event: &str, data: &str) -> io::Result<String> {
        let request = self.request(event, data);
        self.send(request).await?;
        self.reply().await
    }
}

/// Whether a frame answers a request (as opposed to an event the server pushed).
pub fn is_reply(format: Format, text: &str) -> bool {
    match format {
        Format::Json => !text.starts_with(r#"{"event""#),
        Format::Sio => text.starts_with("43"),
    }
}

/// `(seq, sent_at_ns)` of a `bcast` frame carrying the data `"s<seq>:<ns>:<padding>"`.
pub fn broadcast_stamp(text: &str) -> Option<(u64, u64)> {
    let at = text.find("\"s")? + 2;
    let mut parts = text[at..].splitn(3, ':');
    let seq = parts.next()?.parse().ok()?;
    let ns = parts.next()?.parse().ok()?;
    Some((seq, ns))
}

/// A JSON string literal `"xxx…"` whose content is `len` bytes.
pub fn padding(len: usize) -> String {
    format!("\"{}\"", "x".repeat(len))
}
