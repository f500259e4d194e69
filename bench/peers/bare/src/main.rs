//! `bench-bare`: the floor of the tokio + tokio-tungstenite stack, with no framework layer.
//!
//! Serves the benchmark's JSON contract (NestJS platform-ws style) at `ws://127.0.0.1:PORT/`:
//! - `{"event":"echo","data":D}`      → text frame `D`
//! - `{"event":"join","data":null}`   → joins room "bench", text frame `"ok"`
//! - `{"event":"broadcast","data":D}` → `{"event":"bcast","data":D}` to every member of "bench"
//!   (the sender too, if a member), then `"ok"` to the sender
//! - unknown events and malformed frames are ignored.
//!
//! Per connection: the reader runs in the connection task, a writer task owns the sink and drains
//! a bounded queue (1024), feeding everything already queued and flushing once. A full queue
//! disconnects the client. A broadcast's frame is built once and shared (`Bytes` clones).
//!
//! Usage: `bench-bare [--port N] [--jwt SECRET]` (port also from env `PORT`; 0 picks a free
//! port). With `--jwt`, the handshake needs `?token=JWT`, an HS256 token signed with SECRET
//! with an `exp` claim (the reconnect storm's JWT variant); without one it is refused with 401.
//! Prints `listening on 127.0.0.1:PORT` once ready.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

const QUEUE: usize = 1024;

/// A member of room "bench": its outgoing queue, and a way to disconnect it when that is full.
struct Member {
    tx: mpsc::Sender<Message>,
    kill: oneshot::Sender<()>,
}

/// Room "bench": connection id → member.
type Room = RwLock<HashMap<u64, Member>>;

#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(borrow)]
    event: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

/// The claims a token must carry (`exp` is checked by `jsonwebtoken`'s default validation).
#[derive(Deserialize)]
struct Claims {
    #[allow(dead_code)] // verified, not used: the contract has no per-user behaviour
    sub: String,
}

/// What `--jwt SECRET` sets up: the key and the rules every token is checked against.
struct Jwt {
    key: jsonwebtoken::DecodingKey,
    validation: jsonwebtoken::Validation,
}

impl Jwt {
    fn new(secret: &str) -> Self {
        Self {
            key: jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()),
            validation: jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256),
        }
    }

    /// Whether the request's `token` query parameter is a valid token.
    fn verify(&self, request: &Request) -> bool {
        let query = request.uri().query().unwrap_or("");
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix("token="))
            .is_some_and(|token| {
                jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation).is_ok()
            })
    }
}

/// `--port N` (or `PORT`, default 3000) and `--jwt SECRET`.
fn args() -> (u16, Option<Jwt>) {
    let mut args = std::env::args().skip(1);
    let mut port = None;
    let mut jwt = None;
    while let Some(a) = args.next() {
        if a == "--port" {
            port = args.next();
        } else if let Some(v) = a.strip_prefix("--port=") {
            port = Some(v.to_owned());
        } else if a == "--jwt" {
            jwt = args.next().map(|secret| Jwt::new(&secret));
        }
    }
    let port = port
        .or_else(|| std::env::var("PORT").ok())
        .map(|p| p.parse().expect("port must be a number"))
        .unwrap_or(3000);
    (port, jwt)
}

#[tokio::main]
async fn main() {
    let (port, jwt) = args();
    let jwt = jwt.map(Arc::new);
    let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on 127.0.0.1:{}", addr.port()).ok();
        out.flush().ok();
    }

    let room: Arc<Room> = Arc::new(RwLock::new(HashMap::new()));
    let next_id = AtomicU64::new(1);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(_) => continue, // e.g. EMFILE: keep accepting
        };
        let _ = stream.set_nodelay(true);
        let id = next_id.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(connection(stream, id, room.clone(), jwt.clone()));
    }
}

async fn connection(stream: TcpStream, id: u64, room: Arc<Room>, jwt: Option<Arc<Jwt>>) {
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let ws = match jwt {
        None => tokio_tungstenite::accept_async_with_config(stream, Some(config)).await,
        Some(jwt) => {
            // Checked during the handshake: a refused client gets 401 and no WebSocket. (The
            // callback's error type is tungstenite's.)
            #[allow(clippy::result_large_err)]
            let check = move |request: &Request, response: Response| {
                if jwt.verify(request) {
                    return Ok(response);
                }
                let mut refusal = ErrorResponse::new(None);
                *refusal.status_mut() = StatusCode::UNAUTHORIZED;
                Err(refusal)
            };
            tokio_tungstenite::accept_hdr_async_with_config(stream, check, Some(config)).await
        }
    };
    let Ok(ws) = ws else {
        return;
    };
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::channel::<Message>(QUEUE);

    // Writer: one message, then everything already queued, then a single flush.
    let writer = tokio::spawn(async move {
        while let Some(msg) = rx.recv().await {
            if sink.feed(msg).await.is_err() {
                return;
            }
            while let Ok(msg) = rx.try_recv() {
                if sink.feed(msg).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
        let _ = sink.close().await;
    });

    let ok = Message::Text(Utf8Bytes::from_static("\"ok\""));
    let (kill_tx, mut kill_rx) = oneshot::channel::<()>();
    let mut kill_tx = Some(kill_tx); // moves into the room on the first join
    let mut killed = false;
    loop {
        let frame = tokio::select! {
            biased;
            _ = &mut kill_rx => { killed = true; break; }
            frame = stream.next() => frame,
        };
        let text = match frame {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(_)) | Err(_)) | None => break,
            Some(Ok(_)) => continue, // binary/ping/pong: pings are answered by tungstenite
        };
        let Ok(msg) = serde_json::from_str::<Incoming<'_>>(text.as_str()) else {
            continue; // malformed: ignore
        };
        let reply = match &*msg.event {
            "echo" => {
                let data = msg.data.map_or("null", RawValue::get);
                Message::Text(Utf8Bytes::from(data))
            }
            "join" => {
                if let Some(kill) = kill_tx.take() {
                    let member = Member {
                        tx: tx.clone(),
                        kill,
                    };
                    room.write().expect("room lock").insert(id, member);
                }
                ok.clone()
            }
            "broadcast" => {
                let data = msg.data.map_or("null", RawValue::get);
                let mut s = String::with_capacity(data.len() + 26);
                s.push_str(r#"{"event":"bcast","data":"#);
                s.push_str(data);
                s.push('}');
                let frame = Message::Text(Utf8Bytes::from(s));
                let mut full = Vec::new();
                for (&member, m) in room.read().expect("room lock").iter() {
                    if m.tx.try_send(frame.clone()).is_err() {
                        full.push(member);
                    }
                }
                if !full.is_empty() {
                    // A full queue disconnects that client.
                    let mut r = room.write().expect("room lock");
                    for m in &full {
                        if let Some(m) = r.remove(m) {
                            let _ = m.kill.send(());
                        }
                    }
                }
                ok.clone()
            }
            _ => continue, // unknown event: ignore
        };
        if tx.try_send(reply).is_err() {
            killed = true; // full queue: disconnect
            break;
        }
    }

    if kill_tx.is_none() {
        room.write().expect("room lock").remove(&id); // joined: leave
    }
    drop(tx);
    if killed {
        // Slow client: drop whatever is queued and close the socket now.
        writer.abort();
    }
    // Otherwise the writer drains what is queued and closes the sink once every sender is gone.
}
