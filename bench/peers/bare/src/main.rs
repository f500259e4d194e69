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
//! Usage: `bench-bare [--port N]` (or env `PORT`; 0 picks a free port). Prints
//! `listening on 127.0.0.1:PORT` once ready.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
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

fn port_arg() -> u16 {
    let mut args = std::env::args().skip(1);
    let mut port = None;
    while let Some(a) = args.next() {
        if a == "--port" {
            port = args.next();
        } else if let Some(v) = a.strip_prefix("--port=") {
            port = Some(v.to_owned());
        }
    }
    port.or_else(|| std::env::var("PORT").ok())
        .map(|p| p.parse().expect("port must be a number"))
        .unwrap_or(3000)
}

#[tokio::main]
async fn main() {
    let listener = TcpListener::bind(("127.0.0.1", port_arg()))
        .await
        .expect("bind");
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
        tokio::spawn(connection(stream, id, room.clone()));
    }
}

async fn connection(stream: TcpStream, id: u64, room: Arc<Room>) {
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let Ok(ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else {
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
