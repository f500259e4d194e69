//! Lifecycle hooks, per-socket data, and in-order handling of one socket's messages.

use std::sync::{Arc, Mutex};

use gateway_core::test::TestClient;
use gateway_core::{
    gateway, DisconnectReason, GatewayApp, Handshake, MessageBody, Namespace, Socket, WsException,
};
use gateway_tests::{serve, ws_url, Counter};
use serde_json::json;
use tokio::sync::{mpsc, Notify};

#[derive(Clone, Debug, PartialEq)]
struct Greeting(String);

struct Hooks {
    inits: Arc<Counter>,
    release_connection: Arc<Notify>,
    disconnects: mpsc::UnboundedSender<DisconnectReason>,
    log: Arc<Mutex<Vec<u32>>>,
}

#[gateway(namespace = "/hooks")]
impl Hooks {
    fn after_init(&self, server: Namespace) {
        assert_eq!(server.name(), "/hooks");
        self.inits.bump();
    }

    async fn handle_connection(
        &self,
        client: Socket,
        handshake: Handshake,
    ) -> Result<(), WsException> {
        if handshake.query("reject").is_some() {
            return Err(WsException::new("Unauthorized"));
        }
        if handshake.query("slow").is_some() {
            self.release_connection.notified().await;
        }
        client.data().insert(Greeting(format!(
            "hello {}",
            handshake.query("name").unwrap_or("anon")
        )));
        Ok(())
    }

    async fn handle_disconnect(&self, client: Socket, reason: DisconnectReason) {
        assert!(client.rooms().is_empty(), "rooms are left before the hook");
        let _ = self.disconnects.send(reason);
    }

    #[subscribe_message("greeting")]
    async fn greeting(&self, client: Socket) -> Option<String> {
        client.data().get::<Greeting>().map(|g| g.0)
    }

    #[subscribe_message("append")]
    async fn append(&self, MessageBody(n): MessageBody<u32>) {
        // Yield a varying number of times: later messages must still wait their turn.
        for _ in 0..(n % 7) {
            tokio::task::yield_now().await;
        }
        self.log.lock().unwrap().push(n);
    }

    #[subscribe_message("log")]
    async fn read_log(&self) -> Vec<u32> {
        self.log.lock().unwrap().clone()
    }

    /// The guides' pattern: emit, then disconnect. The emit is delivered before the close; a
    /// reply returned after `disconnect()` would not be.
    #[subscribe_message("kick")]
    async fn kick(&self, client: Socket) -> &'static str {
        client.emit("error", &json!({"message": "bye"})).unwrap();
        client.disconnect();
        "never sent"
    }
}

struct Fixture {
    server: gateway_tests::TestServer,
    inits: Arc<Counter>,
    release_connection: Arc<Notify>,
    disconnects: mpsc::UnboundedReceiver<DisconnectReason>,
}

async fn fixture() -> Fixture {
    let inits = Arc::new(Counter::default());
    let release_connection = Arc::new(Notify::new());
    let (tx, disconnects) = mpsc::unbounded_channel();
    let gateway = Hooks {
        inits: inits.clone(),
        release_connection: release_connection.clone(),
        disconnects: tx,
        log: Arc::default(),
    };
    let server = serve(GatewayApp::builder().gateway(gateway)).await;
    Fixture {
        server,
        inits,
        release_connection,
        disconnects,
    }
}

async fn next_reason(rx: &mut mpsc::UnboundedReceiver<DisconnectReason>) -> DisconnectReason {
    tokio::time::timeout(gateway_tests::PATIENCE, rx.recv())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn after_init_runs_once_before_listen_returns() {
    let f = fixture().await;
    assert_eq!(f.inits.get(), 1);
    let mut c = TestClient::connect(&ws_url(&f.server, "/hooks?name=ann")).await;
    c.emit("greeting", ()).await;
    assert_eq!(c.recv().await, json!("hello ann"));
    assert_eq!(f.inits.get(), 1);
}

#[tokio::test]
async fn handle_connection_finishes_before_the_first_message_is_handled() {
    let f = fixture().await;
    let mut c = TestClient::connect(&ws_url(&f.server, "/hooks?slow=1&name=bo")).await;
    // Sent while the hook is still waiting.
    c.emit("greeting", ()).await;
    f.release_connection.notify_one();
    assert_eq!(c.recv().await, json!("hello bo"));
}

#[tokio::test]
async fn a_failing_connection_hook_sends_the_exception_then_closes() {
    let mut f = fixture().await;
    let mut c = TestClient::connect(&ws_url(&f.server, "/hooks?reject=1")).await;
    assert_eq!(
        c.recv().await,
        json!({"event":"exception","data":{"status":"error","message":"Unauthorized","cause":{"pattern":"handleConnection"}}})
    );
    assert_eq!(c.expect_close().await, Some(1000));
    assert_eq!(
        next_reason(&mut f.disconnects).await,
        DisconnectReason::ServerDisconnect
    );
}

#[tokio::test]
async fn handle_disconnect_gets_the_reason() {
    let mut f = fixture().await;
    let c = TestClient::connect(&ws_url(&f.server, "/hooks")).await;
    c.close().await;
    assert_eq!(
        next_reason(&mut f.disconnects).await,
        DisconnectReason::ClientClose(Some(1000))
    );
    let c = TestClient::connect(&ws_url(&f.server, "/hooks")).await;
    c.close_with(4000).await;
    assert_eq!(
        next_reason(&mut f.disconnects).await,
        DisconnectReason::ClientClose(Some(4000))
    );

    let mut c = TestClient::connect(&ws_url(&f.server, "/hooks")).await;
    c.emit("kick", ()).await;
    assert_eq!(
        c.recv().await,
        json!({"event": "error", "data": {"message": "bye"}})
    );
    assert_eq!(c.expect_close().await, Some(1000));
    assert_eq!(
        next_reason(&mut f.disconnects).await,
        DisconnectReason::ServerDisconnect
    );

    let c = TestClient::connect(&ws_url(&f.server, "/hooks")).await;
    drop(c); // no close frame
    assert_eq!(
        next_reason(&mut f.disconnects).await,
        DisconnectReason::TransportClose
    );
}

#[tokio::test]
async fn messages_from_one_socket_are_handled_in_order() {
    let f = fixture().await;
    let mut c = TestClient::connect(&ws_url(&f.server, "/hooks")).await;
    for n in 0..200u32 {
        c.emit("append", n).await;
    }
    c.emit("log", ()).await;
    assert_eq!(c.recv().await, json!((0..200).collect::<Vec<u32>>()));
}

/// What the leaving hooks saw, in order.
#[derive(Debug, PartialEq)]
enum Leaving {
    /// `handle_disconnecting`: the socket's rooms then.
    Disconnecting(Vec<String>),
    /// `handle_disconnect`: the socket's rooms then.
    Disconnected(Vec<String>),
}

struct Leaver {
    seen: mpsc::UnboundedSender<Leaving>,
}

#[gateway(namespace = "/leaving")]
impl Leaver {
    fn handle_disconnecting(&self, client: Socket) {
        let _ = self.seen.send(Leaving::Disconnecting(room_names(&client)));
    }

    fn handle_disconnect(&self, client: Socket) {
        let _ = self.seen.send(Leaving::Disconnected(room_names(&client)));
    }

    #[subscribe_message("join")]
    async fn join(&self, client: Socket) -> &'static str {
        client.join("lobby");
        "joined"
    }
}

/// The rooms of `client` other than its own.
fn room_names(client: &Socket) -> Vec<String> {
    let own = client.id().to_string();
    let mut rooms: Vec<String> = client
        .rooms()
        .iter()
        .map(|room| room.as_str().to_owned())
        .filter(|room| *room != own)
        .collect();
    rooms.sort();
    rooms
}

async fn next_leaving(rx: &mut mpsc::UnboundedReceiver<Leaving>) -> Leaving {
    tokio::time::timeout(gateway_tests::PATIENCE, rx.recv())
        .await
        .expect("a hook ran in time")
        .expect("the gateway is alive")
}

/// The two hooks ran, in order: the rooms were still joined in the first, left in the second.
async fn assert_left_the_lobby(leaving: &mut mpsc::UnboundedReceiver<Leaving>) {
    assert_eq!(
        next_leaving(leaving).await,
        Leaving::Disconnecting(vec!["lobby".into()])
    );
    assert_eq!(next_leaving(leaving).await, Leaving::Disconnected(vec![]));
}

#[tokio::test]
async fn handle_disconnecting_still_sees_the_rooms_over_both_formats() {
    let (seen, mut leaving) = mpsc::unbounded_channel();
    let server = serve(GatewayApp::builder().gateway(Leaver { seen })).await;

    let mut json_client = TestClient::connect(&ws_url(&server, "/leaving")).await;
    json_client.emit("join", ()).await;
    assert_eq!(json_client.recv().await, json!("joined"));
    json_client.close().await;
    assert_left_the_lobby(&mut leaving).await;

    let addr = server.local_addr();
    let mut sio = gateway_tests::eio::open(addr, "/socket.io/?EIO=4&transport=websocket").await;
    assert!(gateway_tests::eio::next(&mut sio)
        .await
        .text()
        .starts_with('0'));
    gateway_tests::eio::send(&mut sio, "40/leaving,").await;
    assert!(gateway_tests::eio::next(&mut sio)
        .await
        .text()
        .starts_with("40/leaving,"));
    gateway_tests::eio::send(&mut sio, r#"42/leaving,1["join"]"#).await;
    assert_eq!(
        gateway_tests::eio::next(&mut sio).await.text(),
        r#"43/leaving,1["joined"]"#
    );
    gateway_tests::eio::send(&mut sio, "41/leaving,").await;
    assert_left_the_lobby(&mut leaving).await;
    server.shutdown().await;
}
