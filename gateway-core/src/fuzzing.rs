//! What the fuzz targets of `fuzz/` call (cargo feature `fuzzing`; not public API). Each entry
//! point hands untrusted input to the server's own decoding, the way the server does, with an
//! app's real gateways behind it, and cleans up after itself so that one run leaves nothing
//! behind for the next. The corpora are replayed through the same calls in `cargo test`.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Uri};
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocket, WebSocketConfig};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::accept::{self, Endpoints};
use crate::deflate::inflate::InflatingReader;
use crate::deflate::offer;
use crate::departures::Identity;
use crate::dispatch::handle_message;
use crate::engineio::polling::decode_polling_packet;
use crate::engineio::{InFrame, Multiplexer};
use crate::http_answer::websocket_key;
use crate::jwt::JwtAuthGuard;
use crate::lifecycle::finish_socket;
use crate::outbox::{CloseStyle, OutFrame, Outbox, OutboxReceiver};
use crate::protocol::socketio::{self, EioPacket, SioPacket};
use crate::protocol::{json, Wire};
use crate::{
    DisconnectReason, GatewayApp, Gateways, Handshake, PerMessageDeflate, Socket, SocketData,
};

/// One frame of an Engine.IO session, as a client sends it.
#[derive(Debug, Clone, Copy)]
pub enum Frame<'a> {
    /// A text frame.
    Text(&'a str),
    /// A binary frame.
    Binary(&'a [u8]),
}

/// A started app, and a runtime to run its gateways on, for many fuzz inputs in a row.
pub struct Harness {
    runtime: tokio::runtime::Runtime,
    gateways: Gateways,
    endpoints: Arc<Endpoints>,
}

impl Harness {
    /// Starts `app` (its `after_init` hooks run) on a single-threaded runtime.
    pub fn new(app: GatewayApp) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let gateways = runtime.block_on(app.start()).expect("the app starts");
        let endpoints = gateways.endpoints(0).expect("the main port's gateways");
        Self {
            runtime,
            gateways,
            endpoints,
        }
    }

    /// Runs `f` on the app's runtime, then lets the tasks it spawned run.
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        self.runtime.block_on(async {
            let result = f();
            tokio::task::yield_now().await;
            result
        })
    }

    /// A JSON-format frame from a client of the gateway at `path`: decoded, dispatched through
    /// its pipeline, answered; then the socket leaves (its disconnect hooks run).
    pub fn json_frame(&self, path: &str, frame: &[u8]) {
        let Some(ns) = self.endpoints.by_path.fixed(path).cloned() else {
            return;
        };
        let config = &self.gateways.shared.config;
        let (outbox, rx) = Outbox::new(
            config.send_queue_capacity,
            config.max_queued_bytes,
            CloseStyle::Coded,
        );
        let socket = Socket::new(
            ns.clone(),
            outbox.clone(),
            handshake(path),
            Arc::new(SocketData::default()),
            Wire::Json,
            Identity::new(false, None),
        );
        ns.register(&socket);
        let frame = Bytes::copy_from_slice(frame);
        // Nothing waits for the replies to be written: they stay queued until `rx` is dropped.
        self.runtime.block_on(async {
            if let Ok(inbound) = json::decode(frame) {
                handle_message(&socket, &ns, inbound, None).await;
            }
            outbox.seal();
            finish_socket(&socket, &ns, DisconnectReason::TransportClose, false).await;
            outbox.finish_writing();
        });
        drop(rx);
    }

    /// A Socket.IO session that receives `frames` (Engine.IO packets; binary frames are
    /// attachments), as a session's read loop handles them, until one is refused; then every
    /// namespace it joined is left.
    pub fn socketio_session(&self, frames: &[Frame<'_>]) {
        let config = &self.gateways.shared.config;
        let (outbox, rx) = Outbox::new(
            config.send_queue_capacity,
            config.max_queued_bytes,
            CloseStyle::EngineIo,
        );
        let mut session = Multiplexer::new(
            self.endpoints.by_namespace.clone(),
            handshake("/socket.io/?EIO=4&transport=websocket"),
            outbox.clone(),
            config.max_attachments,
        );
        let departures = session.departures();
        self.runtime.block_on(async {
            let drained = tokio::spawn(drain(rx, outbox.clone()));
            for frame in frames {
                let refused = {
                    let work = match *frame {
                        Frame::Binary(bytes) => session.on_binary(Bytes::copy_from_slice(bytes)),
                        Frame::Text(text) => {
                            match socketio::decode(Utf8Bytes::from(text.to_owned())) {
                                Ok(EioPacket::Message(message)) => session.on_text(message),
                                Ok(EioPacket::Close) => break,
                                Ok(EioPacket::Pong | EioPacket::Noop) => Ok(None),
                                Err(err) => Err(err),
                            }
                        }
                    };
                    match work {
                        Ok(Some(work)) => {
                            work.await;
                            false
                        }
                        Ok(None) => false,
                        Err(_) => true,
                    }
                };
                if refused {
                    break;
                }
                // Sockets the server disconnected from their namespace leave it, as the
                // session's loop has them leave.
                while let Some(id) = std::future::poll_fn(|cx| match departures.poll_next(cx) {
                    std::task::Poll::Ready(id) => std::task::Poll::Ready(Some(id)),
                    std::task::Poll::Pending => std::task::Poll::Ready(None),
                })
                .await
                {
                    if let Some(work) = session.remove(id) {
                        work.await;
                    }
                }
            }
            outbox.seal();
            for (socket, ns) in session.take_sockets() {
                finish_socket(&socket, &ns, DisconnectReason::TransportClose, false).await;
            }
            outbox.finish_writing();
            drained.abort();
        });
    }

    /// A long-polling POST body: split and decoded as a session decodes it; when every packet
    /// is well formed, they are handled as the frames of one session.
    pub fn polling_body(&self, body: &str) {
        let mut frames = Vec::new();
        for packet in body.split('\u{1e}') {
            match decode_polling_packet(packet) {
                Some(frame) => frames.push(frame),
                None => return,
            }
        }
        let frames: Vec<Frame<'_>> = frames
            .iter()
            .map(|frame| match frame {
                InFrame::Text(text) => Frame::Text(text.as_str()),
                InFrame::Binary(bytes) => Frame::Binary(bytes),
            })
            .collect();
        self.socketio_session(&frames);
    }

    /// An HTTP request head (`GET /path?query HTTP/1.1` and headers, as hyper parses it), then
    /// a Socket.IO CONNECT packet: whose the request is, its upgrade key, the handshake's query
    /// and headers, and the JWT that `guard` finds in it (header, query, or the CONNECT `auth`
    /// payload), verified.
    pub fn request_head(&self, head: &[u8], connect: &str, guard: &JwtAuthGuard) {
        let Some(req) = parse_head(head) else {
            return;
        };
        let _ = accept::target(&req, &self.endpoints, &self.gateways.shared);
        let _ = websocket_key(&req);
        let handshake = Handshake::new(req.uri().clone(), req.headers().clone(), peer());
        for name in ["EIO", "transport", "sid", "token"] {
            let _ = handshake.query(name);
        }
        let _ = handshake.to_socketio_json();
        verify(guard, &handshake);
        if let Ok(SioPacket::Connect {
            auth: Some(auth), ..
        }) = socketio::decode_packet(&Utf8Bytes::from(connect.to_owned()), 10)
        {
            verify(guard, &handshake.with_auth(auth));
        }
    }
}

/// The message size limit [`deflate_stream`] reads under.
pub const DEFLATE_MAX_MESSAGE: usize = 64 * 1024;

/// A client's `Sec-WebSocket-Extensions` offer (the input's first line), negotiated as the
/// server negotiates it; when permessage-deflate is agreed, the rest of the input is the
/// client's frames, read as the server reads them: compressed messages inflated under
/// tungstenite, within a [`DEFLATE_MAX_MESSAGE`] limit, until one side refuses. The server
/// asks clients for no context takeover when the offer mentions `client_no_context_takeover`.
///
/// # Panics
/// If a message read is over the limit (the bound did not hold).
pub fn deflate_stream(data: &[u8]) {
    let (offer_line, frames) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let mut headers = http::HeaderMap::new();
    if let Ok(value) = http::HeaderValue::from_bytes(offer_line) {
        headers.insert(http::header::SEC_WEBSOCKET_EXTENSIONS, value);
    }
    let client_no_context_takeover = offer_line
        .windows(26)
        .any(|w| w == b"client_no_context_takeover");
    let config =
        PerMessageDeflate::new().with_client_no_context_takeover(client_no_context_takeover);
    let Some(agreement) = offer::negotiate(&headers, &config) else {
        return;
    };
    let _ = agreement.response();
    let reader = InflatingReader::new(frames, &agreement, DEFLATE_MAX_MESSAGE);
    let config = WebSocketConfig::default()
        .max_message_size(Some(DEFLATE_MAX_MESSAGE))
        .max_frame_size(Some(DEFLATE_MAX_MESSAGE));
    let mut ws = WebSocket::from_raw_socket(Ready(reader), Role::Server, Some(config));
    while let Ok(message) = ws.read() {
        assert!(
            message.len() <= DEFLATE_MAX_MESSAGE,
            "a {}-byte message passed the limit",
            message.len()
        );
    }
}

/// A reader that is always ready (over a slice), as the blocking `Read + Write` tungstenite's
/// synchronous `WebSocket` reads from; what it writes (pongs) is dropped.
struct Ready<R>(R);

impl<R: tokio::io::AsyncRead + Unpin> std::io::Read for Ready<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut read = tokio::io::ReadBuf::new(buf);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match std::pin::Pin::new(&mut self.0).poll_read(&mut cx, &mut read) {
            std::task::Poll::Ready(Ok(())) => Ok(read.filled().len()),
            std::task::Poll::Ready(Err(err)) => Err(err),
            std::task::Poll::Pending => Err(std::io::ErrorKind::WouldBlock.into()),
        }
    }
}

impl<R> std::io::Write for Ready<R> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness").finish_non_exhaustive()
    }
}

/// The token `guard` finds in `handshake`, verified.
fn verify(guard: &JwtAuthGuard, handshake: &Handshake) {
    if let Some(token) = guard.token(handshake) {
        let _ = guard.verify(token);
    }
}

/// A request head parsed as hyper parses one (`httparse`, up to 100 headers).
fn parse_head(head: &[u8]) -> Option<Request<()>> {
    let mut headers = [httparse::EMPTY_HEADER; 100];
    let mut parsed = httparse::Request::new(&mut headers);
    parsed.parse(head).ok()?;
    let mut req = Request::builder()
        .method(parsed.method?)
        .uri(parsed.path?.parse::<Uri>().ok()?);
    for header in parsed.headers.iter() {
        req = req.header(header.name, header.value);
    }
    req.body(()).ok()
}

fn peer() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 40000))
}

fn handshake(path: &str) -> Handshake {
    let uri = path.parse().unwrap_or_else(|_| Uri::from_static("/"));
    Handshake::new(uri, Default::default(), peer())
}

/// Takes what the gateways queue, as a writer would, and says it is written.
async fn drain(mut rx: OutboxReceiver, outbox: Outbox) {
    loop {
        for frame in rx.recv_all().await {
            outbox.sent(&frame);
            if let OutFrame::Written(written) = frame {
                written.cancel();
            }
        }
    }
}
