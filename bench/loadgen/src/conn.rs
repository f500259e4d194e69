//! One client connection speaking either wire format of the benchmark contract.

use std::io;
use std::net::{IpAddr, SocketAddr};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
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

/// A WebSocket error as an I/O error that keeps its kind where there is one (the storm counts
/// refused, reset and rejected connects apart).
fn ws_err(e: tokio_tungstenite::tungstenite::Error) -> io::Error {
    use tokio_tungstenite::tungstenite::error::{Error, ProtocolError};
    match e {
        Error::Io(e) => e,
        Error::Http(response) if matches!(response.status().as_u16(), 401 | 403) => io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("HTTP {}", response.status()),
        ),
        Error::ConnectionClosed
        | Error::AlreadyClosed
        | Error::Protocol(
            ProtocolError::ResetWithoutClosingHandshake | ProtocolError::HandshakeIncomplete,
        ) => io::Error::new(io::ErrorKind::ConnectionReset, e.to_string()),
        e => err(e),
    }
}

impl Conn {
    /// Connects to `addr` (host:port) and, for Socket.IO, joins namespace `/`.
    pub async fn connect(addr: &str, format: Format) -> io::Result<Self> {
        Self::connect_with_token(addr, format, None).await
    }

    /// [`Conn::connect`] with a JWT if `token`: the `token` query parameter for JSON, the
    /// CONNECT packet's `auth.token` for Socket.IO.
    pub async fn connect_with_token(
        addr: &str,
        format: Format,
        token: Option<&str>,
    ) -> io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let peer = stream.peer_addr()?;
        let ws = Self::handshake(stream, peer, format, token).await?;
        Self::open(ws, format, token).await
    }

    /// [`Conn::tcp_from`], [`Conn::handshake`] and [`Conn::open`] in one.
    pub async fn connect_from(
        source: IpAddr,
        addr: SocketAddr,
        format: Format,
        token: Option<&str>,
    ) -> io::Result<Self> {
        let stream = Self::tcp_from(source, addr).await?;
        let ws = Self::handshake(stream, addr, format, token).await?;
        Self::open(ws, format, token).await
    }

    /// A TCP connection from `source` (a local address, bound before connecting, so that
    /// clients can spread over several source addresses) to `addr`.
    pub async fn tcp_from(source: IpAddr, addr: SocketAddr) -> io::Result<TcpStream> {
        let socket = TcpSocket::new_v4()?;
        bind_address_no_port(&socket)?;
        socket.bind(SocketAddr::new(source, 0))?;
        let stream = socket.connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    /// The WebSocket handshake over `stream`, with a JWT if `token`: the `token` query
    /// parameter for JSON (Socket.IO sends it in [`Conn::open`]). A refusal (401, 403) is an
    /// error of kind `PermissionDenied`; socket errors keep their kind.
    pub async fn handshake(
        stream: TcpStream,
        addr: SocketAddr,
        format: Format,
        token: Option<&str>,
    ) -> io::Result<Ws> {
        let url = match (format, token) {
            (Format::Json, None) => format!("ws://{addr}/"),
            (Format::Json, Some(token)) => format!("ws://{addr}/?token={token}"),
            (Format::Sio, _) => format!("ws://{addr}/socket.io/?EIO=4&transport=websocket"),
        };
        let config = WebSocketConfig::default().read_buffer_size(4096);
        let (ws, _) = tokio_tungstenite::client_async_with_config(
            url,
            MaybeTlsStream::Plain(stream),
            Some(config),
        )
        .await
        .map_err(ws_err)?;
        Ok(ws)
    }

    /// A client over a WebSocket just set up; for Socket.IO, once it joined namespace `/`
    /// (with `token` as `auth.token`; a CONNECT_ERROR is an error of kind `PermissionDenied`).
    pub async fn open(ws: Ws, format: Format, token: Option<&str>) -> io::Result<Self> {
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
            let connect = match token {
                None => "40".to_owned(),
                Some(token) => format!(r#"40{{"token":"{token}"}}"#),
            };
            conn.send(connect).await?;
            loop {
                let text = conn.next_text().await?;
                if text.starts_with("40") {
                    break;
                }
                if text.starts_with("44") {
                    return Err(io::Error::new(
                        io::ErrorKind::PermissionDenied,
                        format!("connect refused: {text}"),
                    ));
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
        self.ws.send(Message::text(text)).await.map_err(ws_err)
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
                Some(Err(e)) => return Err(ws_err(e)),
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

/// Sets `IP_BIND_ADDRESS_NO_PORT`: `bind` then takes only the address, and `connect` picks the
/// port, needing only the (source, destination) pair to be unique. Without it, `bind` to port 0
/// searches for a port no other socket bound on that address holds, which the kernel does
/// slower and slower with thousands bound (and in TIME_WAIT from earlier runs): in a storm of
/// 5,000 clients per address, whole seconds of system time charged to the load generator.
fn bind_address_no_port(socket: &TcpSocket) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let on: libc::c_int = 1;
    // SAFETY: `socket` is an open socket for the call's duration, and the option value points
    // to a `c_int` of the length given.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    match rc {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
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

#[cfg(test)]
mod tests {
    use super::broadcast_stamp;

    #[test]
    fn stamp_of_a_broadcast_with_or_without_an_offset() {
        // JSON, Socket.IO, and Socket.IO with connection state recovery: the stream entry id
        // (or any offset) comes as an extra last argument and does not change the stamp.
        for text in [
            r#"{"event":"bcast","data":"s7:123:xx"}"#,
            r#"42["bcast","s7:123:xx"]"#,
            r#"42["bcast","s7:123:xx","1733580000000-0"]"#,
        ] {
            assert_eq!(broadcast_stamp(text), Some((7, 123)), "{text}");
        }
        // The Socket.IO CONNECT reply ("sid") is not a broadcast.
        assert_eq!(broadcast_stamp(r#"40{"sid":"abc","pid":"def"}"#), None);
    }
}
