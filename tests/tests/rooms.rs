//! Rooms and broadcasts: who receives what, from handlers and from outside the gateway.

use gateway_core::test::TestClient;
use gateway_core::{gateway, GatewayApp, MessageBody, Namespace, Socket};
use gateway_tests::TestServer;
use gateway_tests::{serve, ws_url};
use serde::Deserialize;
use serde_json::{json, Value};

struct Rooms;

#[derive(Deserialize)]
struct Target {
    rooms: Vec<String>,
    #[serde(default)]
    except: Vec<String>,
}

#[gateway(namespace = "/rooms")]
impl Rooms {
    #[subscribe_message("ping")]
    async fn ping(&self) -> &'static str {
        "pong"
    }

    #[subscribe_message("join")]
    async fn join(
        &self,
        client: Socket,
        MessageBody(rooms): MessageBody<Vec<String>>,
    ) -> Vec<String> {
        client.join(rooms);
        sorted_rooms(&client)
    }

    #[subscribe_message("leave")]
    async fn leave(&self, client: Socket, MessageBody(room): MessageBody<String>) -> Vec<String> {
        client.leave(room);
        sorted_rooms(&client)
    }

    #[subscribe_message("whoami")]
    async fn whoami(&self, client: Socket) -> String {
        client.id().to_string()
    }

    /// `server.to(rooms).except(except).emit`: the sender is included when it matches.
    #[subscribe_message("serverTo")]
    async fn server_to(&self, server: Namespace, MessageBody(t): MessageBody<Target>) -> usize {
        let mut op = server.to(t.rooms);
        if !t.except.is_empty() {
            op = op.except(t.except);
        }
        op.emit("news", "hello").unwrap()
    }

    /// `client.to(rooms).emit`: never the sender.
    #[subscribe_message("clientTo")]
    async fn client_to(&self, client: Socket, MessageBody(t): MessageBody<Target>) -> usize {
        client.to(t.rooms).emit("news", "hello").unwrap()
    }

    #[subscribe_message("everyone")]
    async fn everyone(&self, server: Namespace) -> usize {
        server.emit("news", "hello").unwrap()
    }

    #[subscribe_message("exceptRoom")]
    async fn except_room(
        &self,
        server: Namespace,
        MessageBody(room): MessageBody<String>,
    ) -> usize {
        server.except(room).emit("news", "hello").unwrap()
    }

    #[subscribe_message("broadcast")]
    async fn broadcast(&self, client: Socket) -> usize {
        client.broadcast().emit("news", "hello").unwrap()
    }

    #[subscribe_message("toSocket")]
    async fn to_socket(&self, server: Namespace, MessageBody(id): MessageBody<String>) -> usize {
        server.to(id).emit("news", "direct").unwrap()
    }
}

fn sorted_rooms(client: &Socket) -> Vec<String> {
    let own = client.id().to_string();
    let mut rooms: Vec<String> = client
        .rooms()
        .iter()
        .map(|r| r.to_string())
        .filter(|r| *r != own)
        .collect();
    rooms.sort();
    rooms
}

struct Group {
    server: TestServer,
    clients: Vec<TestClient>,
}

/// `n` clients; client i joins the rooms in `memberships[i]`.
async fn group(memberships: &[&[&str]]) -> Group {
    let server = serve(GatewayApp::builder().gateway(Rooms)).await;
    let mut clients = Vec::new();
    for rooms in memberships {
        let mut c = TestClient::connect(&ws_url(&server, "/rooms")).await;
        c.emit("join", rooms).await;
        c.recv().await;
        clients.push(c);
    }
    Group { server, clients }
}

/// Has `c` received `news` before the reply to a fresh `ping`? (Replies keep order.)
async fn got_news(c: &mut TestClient) -> bool {
    c.emit("ping", ()).await;
    match c.recv().await {
        Value::String(s) if s == "pong" => false,
        frame => {
            assert_eq!(frame["event"], "news", "{frame}");
            assert_eq!(c.recv().await, json!("pong"));
            true
        }
    }
}

async fn receivers(g: &mut Group) -> Vec<bool> {
    let mut out = Vec::new();
    for c in &mut g.clients {
        out.push(got_news(c).await);
    }
    out
}

#[tokio::test]
async fn join_leave_and_rooms() {
    let mut g = group(&[&["a", "b"]]).await;
    let c = &mut g.clients[0];
    c.emit("join", ["b", "c"]).await;
    assert_eq!(c.recv().await, json!(["a", "b", "c"]));
    c.emit("leave", "b").await;
    assert_eq!(c.recv().await, json!(["a", "c"]));
    c.emit("leave", "never-joined").await;
    assert_eq!(c.recv().await, json!(["a", "c"]));
}

#[tokio::test]
async fn server_to_room_reaches_members_including_the_sender() {
    let mut g = group(&[&["a"], &["a"], &["b"]]).await;
    g.clients[0].emit("serverTo", json!({"rooms": ["a"]})).await;
    assert_eq!(g.clients[0].recv().await["event"], "news");
    assert_eq!(g.clients[0].recv().await, json!(2));
    assert_eq!(receivers(&mut g).await, [false, true, false]);
}

#[tokio::test]
async fn client_to_room_leaves_the_sender_out() {
    let mut g = group(&[&["a"], &["a"], &["b"]]).await;
    g.clients[0].emit("clientTo", json!({"rooms": ["a"]})).await;
    assert_eq!(g.clients[0].recv().await, json!(1));
    assert_eq!(receivers(&mut g).await, [false, true, false]);
}

#[tokio::test]
async fn several_rooms_reach_each_socket_once() {
    let mut g = group(&[&[], &["a", "b"], &["b"], &["c"]]).await;
    g.clients[0]
        .emit("serverTo", json!({"rooms": ["a", "b"]}))
        .await;
    assert_eq!(g.clients[0].recv().await, json!(2));
    assert_eq!(receivers(&mut g).await, [false, true, true, false]);
}

#[tokio::test]
async fn except_removes_room_members() {
    let mut g = group(&[&[], &["a"], &["a", "muted"], &["b"]]).await;
    g.clients[0]
        .emit(
            "serverTo",
            json!({"rooms": ["a", "b"], "except": ["muted"]}),
        )
        .await;
    assert_eq!(g.clients[0].recv().await, json!(2));
    assert_eq!(receivers(&mut g).await, [false, true, false, true]);

    g.clients[0].emit("exceptRoom", "a").await;
    assert_eq!(g.clients[0].recv().await["event"], "news");
    assert_eq!(g.clients[0].recv().await, json!(2));
    assert_eq!(receivers(&mut g).await, [false, false, false, true]);
}

#[tokio::test]
async fn emit_to_everyone_and_broadcast_except_sender() {
    let mut g = group(&[&[], &[], &[]]).await;
    g.clients[0].emit("everyone", ()).await;
    assert_eq!(g.clients[0].recv().await["event"], "news");
    assert_eq!(g.clients[0].recv().await, json!(3));
    assert_eq!(receivers(&mut g).await, [false, true, true]);

    g.clients[0].emit("broadcast", ()).await;
    assert_eq!(g.clients[0].recv().await, json!(2));
    assert_eq!(receivers(&mut g).await, [false, true, true]);
}

#[tokio::test]
async fn emit_to_one_socket_id() {
    let mut g = group(&[&[], &[], &[]]).await;
    g.clients[2].emit("whoami", ()).await;
    let id = g.clients[2].recv().await;
    g.clients[0].emit("toSocket", &id).await;
    assert_eq!(g.clients[0].recv().await, json!(1));
    assert_eq!(receivers(&mut g).await, [false, false, true]);
}

#[tokio::test]
async fn services_emit_through_a_namespace_handle() {
    let mut g = group(&[&["user:1"], &["user:1"], &["user:2"]]).await;
    let server = g.server.namespace("/rooms").unwrap();
    assert_eq!(server.socket_count(), 3);
    assert_eq!(server.room_size("user:1"), 2);
    assert_eq!(
        server.to("user:1").emit("news", &json!({"n": 1})).unwrap(),
        2
    );
    assert_eq!(receivers(&mut g).await, [true, true, false]);
    assert_eq!(server.emit("news", "all").unwrap(), 3);
    assert_eq!(receivers(&mut g).await, [true, true, true]);
    assert_eq!(server.to("user:2").sockets().len(), 1);
}
