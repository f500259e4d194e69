//! Slow consumers, over both wire formats: a client that stops reading is disconnected with
//! close code 1008 once its send queue reaches its bound, and every other member of the room
//! keeps receiving every broadcast, in order.

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use gateway_core::{gateway, DisconnectReason, GatewayApp, Namespace, Socket};
use gateway_tests::{serve, PATIENCE};
use serde_json::{json, Value};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// A stalled client must be disconnected well before this many broadcasts.
const MAX_BROADCASTS: usize = 100_000;

/// Which bound of the send queue a stalled client reaches.
#[derive(Clone, Copy, Debug)]
enum Bound {
    /// 256 KiB queued, with 16 KiB broadcasts.
    Bytes,
    /// 32 frames queued, with 1 KiB broadcasts.
    Frames,
}

impl Bound {
    fn app(self, builder: gateway_core::GatewayAppBuilder) -> gateway_core::GatewayAppBuilder {
        match self {
            Bound::Bytes => builder.with_max_queued_bytes(256 * 1024),
            Bound::Frames => builder.with_send_queue_capacity(32),
        }
    }

    fn payload(self) -> usize {
        match self {
            Bound::Bytes => 16 * 1024,
            Bound::Frames => 1024,
        }
    }
}

struct Room {
    disconnects: mpsc::UnboundedSender<DisconnectReason>,
}

#[gateway(namespace = "/", path = "/room")]
impl Room {
    async fn handle_disconnect(&self, _client: Socket, reason: DisconnectReason) {
        let _ = self.disconnects.send(reason);
    }

    #[subscribe_message("join")]
    async fn join(&self, client: Socket) -> &'static str {
        client.join("room");
        "joined"
    }
}

type Ws = WebSocketStream<TcpStream>;

/// A WebSocket to `path`; a `stalling` one has a small receive buffer, so once it stops
/// reading the server's queue for it fills quickly.
async fn connect(addr: SocketAddr, path: &str, stalling: bool) -> Ws {
    let socket = TcpSocket::new_v4().unwrap();
    if stalling {
        socket.set_recv_buffer_size(4096).unwrap();
    }
    let stream = socket.connect(addr).await.unwrap();
    let url = format!("ws://{addr}{path}");
    let (ws, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
    ws
}

async fn next_text(ws: &mut Ws) -> String {
    loop {
        let frame = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("a frame in time");
        match frame {
            Some(Ok(Message::Text(text))) => return text.to_string(),
            Some(Ok(Message::Close(_))) | None => panic!("closed while waiting for a frame"),
            Some(Ok(_)) => {}
            Some(Err(err)) => panic!("read failed: {err}"),
        }
    }
}

/// A member of the room, over `format`, joined.
async fn member(addr: SocketAddr, format: Format, stalling: bool) -> Ws {
    match format {
        Format::Json => {
            let mut ws = connect(addr, "/room", stalling).await;
            ws.send(Message::text(r#"{"event":"join"}"#)).await.unwrap();
            assert_eq!(next_text(&mut ws).await, r#""joined""#);
            ws
        }
        Format::SocketIo => {
            let mut ws = connect(addr, "/socket.io/?EIO=4&transport=websocket", stalling).await;
            assert!(next_text(&mut ws).await.starts_with('0'), "the open packet");
            ws.send(Message::text("40")).await.unwrap();
            assert!(next_text(&mut ws).await.starts_with("40"), "CONNECT");
            ws.send(Message::text(r#"421["join"]"#)).await.unwrap();
            assert_eq!(next_text(&mut ws).await, r#"431["joined"]"#);
            ws
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Format {
    Json,
    SocketIo,
}

/// The sequence number of a `bcast` frame, in either format (pings are answered).
async fn next_broadcast(ws: &mut Ws, format: Format) -> u64 {
    loop {
        let text = next_text(ws).await;
        let data: Value = match format {
            Format::Json => serde_json::from_str::<Value>(&text).unwrap()["data"].clone(),
            Format::SocketIo if text == "2" => {
                ws.send(Message::text("3")).await.unwrap();
                continue;
            }
            Format::SocketIo => {
                let args: Value = serde_json::from_str(text.strip_prefix("42").unwrap()).unwrap();
                args[1].clone()
            }
        };
        return data["seq"].as_u64().expect("a sequence number");
    }
}

/// The `seq` of the last broadcast.
const FINAL: u64 = u64::MAX;

/// Reads broadcasts until the final one, checking that each arrives once and in order, and
/// publishing how many arrived; returns that count.
fn read_all(mut ws: Ws, format: Format) -> (watch::Receiver<u64>, tokio::task::JoinHandle<u64>) {
    let (progress, seen) = watch::channel(0);
    let reader = tokio::spawn(async move {
        let mut expected = 0;
        loop {
            let seq = next_broadcast(&mut ws, format).await;
            if seq == FINAL {
                return expected;
            }
            assert_eq!(
                seq, expected,
                "{format:?}: broadcasts arrive once, in order"
            );
            expected += 1;
            progress.send_replace(expected);
        }
    });
    (seen, reader)
}

async fn stalled_clients_are_disconnected_and_the_room_keeps_every_broadcast(
    format: Format,
    bound: Bound,
) {
    let (disconnects, mut reasons) = mpsc::unbounded_channel();
    let server = serve(
        bound
            .app(GatewayApp::builder())
            .gateway(Room { disconnects }),
    )
    .await;
    let addr = server.local_addr();
    let room: Namespace = server.namespace("/").unwrap();

    let (seen_a, healthy_a) = read_all(member(addr, format, false).await, format);
    let (seen_b, healthy_b) = read_all(member(addr, format, false).await, format);
    let mut seen = [seen_a, seen_b];
    let mut stalled = member(addr, format, true).await; // never read again until the end
    assert_eq!(room.room_size("room"), 3);

    let blob = "x".repeat(bound.payload());
    let mut sent = 0u64;
    let broadcast = |seq: u64| {
        room.to("room")
            .emit("bcast", &json!({ "seq": seq, "blob": blob }))
            .unwrap();
    };
    while room.room_size("room") == 3 {
        assert!(
            (sent as usize) < MAX_BROADCASTS,
            "the stalled client was never dropped"
        );
        // The healthy members read at their pace: never more than 8 broadcasts ahead of them
        // (under either bound), so only the stalled one reaches it.
        keeping_up(&mut seen, |n| n + 8 > sent).await;
        broadcast(sent);
        sent += 1;
    }
    let reason = tokio::time::timeout(PATIENCE, reasons.recv())
        .await
        .unwrap();
    assert_eq!(reason, Some(DisconnectReason::SlowConsumer));
    // The others still get what comes after.
    for _ in 0..10 {
        broadcast(sent);
        sent += 1;
    }
    broadcast(FINAL);
    assert_eq!(healthy_a.await.unwrap(), sent);
    assert_eq!(healthy_b.await.unwrap(), sent);

    // The stalled client reads what reached it, then the end: a close with 1008 if the close
    // frame made it through its full buffers, else the connection simply ends.
    let ended = tokio::time::timeout(PATIENCE, async {
        loop {
            match stalled.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return None,
            }
        }
    })
    .await
    .expect("the stalled client's connection ends");
    if let Some(code) = ended {
        assert_eq!(
            code,
            CloseCode::Policy,
            "a slow consumer is closed with 1008"
        );
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_json_client_is_dropped_at_the_byte_bound() {
    stalled_clients_are_disconnected_and_the_room_keeps_every_broadcast(Format::Json, Bound::Bytes)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_socketio_client_is_dropped_at_the_byte_bound() {
    stalled_clients_are_disconnected_and_the_room_keeps_every_broadcast(
        Format::SocketIo,
        Bound::Bytes,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_json_client_is_dropped_at_the_frame_bound() {
    stalled_clients_are_disconnected_and_the_room_keeps_every_broadcast(
        Format::Json,
        Bound::Frames,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_socketio_client_is_dropped_at_the_frame_bound() {
    stalled_clients_are_disconnected_and_the_room_keeps_every_broadcast(
        Format::SocketIo,
        Bound::Frames,
    )
    .await;
}

/// The room of `Room`, but a full queue drops what does not fit instead of disconnecting.
struct DroppingRoom {
    disconnects: mpsc::UnboundedSender<DisconnectReason>,
}

#[gateway(namespace = "/", path = "/room", full_queue = "drop_newest")]
impl DroppingRoom {
    async fn handle_disconnect(&self, _client: Socket, reason: DisconnectReason) {
        let _ = self.disconnects.send(reason);
    }

    #[subscribe_message("join")]
    async fn join(&self, client: Socket) -> &'static str {
        client.join("room");
        "joined"
    }
}

/// Reads broadcasts until the final one, checking that they arrive in order, each at most once
/// (some may be missing); returns how many arrived.
fn read_with_gaps(mut ws: Ws, format: Format) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let (mut arrived, mut last) = (0, None);
        loop {
            let seq = next_broadcast(&mut ws, format).await;
            if seq == FINAL {
                return arrived;
            }
            assert!(
                last < Some(seq),
                "{format:?}: in order, once: {last:?} then {seq}"
            );
            last = Some(seq);
            arrived += 1;
        }
    })
}

/// A room of two members reading everything and one that stopped reading.
struct StalledRoom {
    server: gateway_tests::TestServer,
    room: Namespace,
    /// How many broadcasts each healthy member has read so far.
    seen: [watch::Receiver<u64>; 2],
    /// Each healthy member's count of broadcasts, once it has read the final one.
    healthy: [tokio::task::JoinHandle<u64>; 2],
    stalled: Ws,
}

/// `gateway` at the byte bound, pinging rarely (a ping in a queue would make it not empty),
/// with three members of its room over `format`.
async fn stalled_room(gateway: impl gateway_core::Gateway, format: Format) -> StalledRoom {
    let server = serve(
        Bound::Bytes
            .app(GatewayApp::builder())
            .with_ping_interval(std::time::Duration::from_secs(300))
            .gateway(gateway),
    )
    .await;
    let addr = server.local_addr();
    let room = server.namespace("/").unwrap();
    let (seen_a, healthy_a) = read_all(member(addr, format, false).await, format);
    let (seen_b, healthy_b) = read_all(member(addr, format, false).await, format);
    let stalled = member(addr, format, true).await;
    StalledRoom {
        server,
        room,
        seen: [seen_a, seen_b],
        healthy: [healthy_a, healthy_b],
        stalled,
    }
}

/// Waits until every healthy member's count of broadcasts read satisfies `caught_up`.
async fn keeping_up(seen: &mut [watch::Receiver<u64>; 2], caught_up: impl Fn(u64) -> bool) {
    for seen in seen.iter_mut() {
        tokio::time::timeout(PATIENCE, seen.wait_for(|&n| caught_up(n)))
            .await
            .expect("a healthy member keeps reading")
            .expect("a healthy member is still reading");
    }
}

/// The healthy members hung up once done; nobody was disconnected for its queue.
fn assert_no_slow_consumer(reasons: &mut mpsc::UnboundedReceiver<DisconnectReason>) {
    while let Ok(reason) = reasons.try_recv() {
        assert_ne!(reason, DisconnectReason::SlowConsumer);
    }
}

/// How many times a stalled client must have been skipped before the test looks at the end.
const SKIPS: usize = 20;

/// Under `full_queue = "drop_newest"`, a stalled client's full queue drops broadcasts and the
/// client stays connected; the others get every broadcast; once it reads again it gets what
/// was queued, in order, and what comes after.
async fn a_full_queue_drops_the_newest(format: Format) {
    let (disconnects, mut reasons) = mpsc::unbounded_channel();
    let StalledRoom {
        server,
        room,
        mut seen,
        healthy: [healthy_a, healthy_b],
        stalled,
    } = stalled_room(DroppingRoom { disconnects }, format).await;

    let blob = "x".repeat(Bound::Bytes.payload());
    let (mut sent, mut skips) = (0u64, 0);
    while skips < SKIPS {
        assert!(
            (sent as usize) < MAX_BROADCASTS,
            "the stalled client's queue never filled"
        );
        keeping_up(&mut seen, |n| n + 8 > sent).await;
        let reached = room
            .to("room")
            .emit("bcast", &json!({ "seq": sent, "blob": blob }))
            .unwrap();
        if reached == 2 {
            skips += 1;
        }
        sent += 1;
    }
    assert_eq!(room.room_size("room"), 3, "nobody was disconnected");
    let final_reached = room
        .to("room")
        .emit("bcast", &json!({ "seq": FINAL }))
        .unwrap();
    assert_eq!(healthy_a.await.unwrap(), sent);
    assert_eq!(healthy_b.await.unwrap(), sent);

    // The stalled client reads again: what was queued, then the end, once there is room for it.
    let stalled = read_with_gaps(stalled, format);
    tokio::time::timeout(PATIENCE, async {
        if final_reached == 3 {
            return; // the end is queued for it too
        }
        // The healthy members hang up once done, and the stalled one is still in the room
        // until it reads the end: then a broadcast that reaches anyone reaches it.
        while room.room_size("room") > 1 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        while room
            .to("room")
            .emit("bcast", &json!({ "seq": FINAL }))
            .unwrap()
            == 0
        {
            // Its queue is still full: wait for the reader to make room.
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the stalled client's queue has room again");
    let arrived = tokio::time::timeout(PATIENCE, stalled)
        .await
        .expect("the stalled client reads to the end")
        .unwrap();
    assert!(arrived < sent, "{arrived} of {sent}: some were dropped");
    assert_no_slow_consumer(&mut reasons);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_gateway_that_drops_the_newest_keeps_a_stalled_client() {
    a_full_queue_drops_the_newest(Format::Json).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socketio_gateway_that_drops_the_newest_keeps_a_stalled_client() {
    a_full_queue_drops_the_newest(Format::SocketIo).await;
}

/// A volatile broadcast skips a client whose queue is not empty (a stalled one), which stays
/// connected under the default policy; clients that keep up get every one.
async fn volatile_broadcasts_skip_a_busy_client(format: Format) {
    let (disconnects, mut reasons) = mpsc::unbounded_channel();
    let StalledRoom {
        server,
        room,
        mut seen,
        healthy: [healthy_a, healthy_b],
        stalled,
    } = stalled_room(Room { disconnects }, format).await;

    let blob = "x".repeat(Bound::Bytes.payload());
    let (mut sent, mut skips) = (0u64, 0);
    while skips < SKIPS {
        assert!(
            (sent as usize) < MAX_BROADCASTS,
            "the stalled client was never skipped"
        );
        // In lockstep: the healthy members have read everything, so their queues are empty.
        keeping_up(&mut seen, |n| n == sent).await;
        let reached = room
            .to("room")
            .volatile()
            .emit("bcast", &json!({ "seq": sent, "blob": blob }))
            .unwrap();
        assert!(
            reached >= 2,
            "the members that keep up get every volatile broadcast"
        );
        if reached == 2 {
            skips += 1;
        }
        sent += 1;
    }
    assert_eq!(room.room_size("room"), 3, "nobody was disconnected");
    // A plain broadcast ends it: the stalled client's queue holds at most one frame, so it fits.
    room.to("room")
        .emit("bcast", &json!({ "seq": FINAL }))
        .unwrap();
    assert_eq!(healthy_a.await.unwrap(), sent);
    assert_eq!(healthy_b.await.unwrap(), sent);
    let arrived = tokio::time::timeout(PATIENCE, read_with_gaps(stalled, format))
        .await
        .expect("the stalled client reads to the end")
        .unwrap();
    assert!(arrived < sent, "{arrived} of {sent}: some were skipped");
    assert_no_slow_consumer(&mut reasons);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volatile_json_broadcasts_skip_a_stalled_client() {
    volatile_broadcasts_skip_a_busy_client(Format::Json).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volatile_socketio_broadcasts_skip_a_stalled_client() {
    volatile_broadcasts_skip_a_busy_client(Format::SocketIo).await;
}
