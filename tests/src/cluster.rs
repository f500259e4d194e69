//! Multi-instance test kit: a gateway whose events drive cluster-wide operations, a real
//! `redis-server` the test controls, and raw Socket.IO clients that can ack.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use gateway_core::test::TestClient;
use gateway_core::{gateway, Adapter, ClusterData, GatewayApp, MessageBody, Namespace, Socket};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

use crate::eio::{self, Frame, Ws};
use crate::{serve, ws_url, TestServer, PATIENCE};

/// The namespace of [`ClusterGateway`].
pub const NAMESPACE: &str = "/cluster";

/// Who a broadcast from a client's request is for.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Target {
    /// `to(rooms)`; everyone when empty.
    pub rooms: Vec<String>,
    /// `except(rooms)`.
    pub except: Vec<String>,
}

/// `broadcast` requests: emit `event` with `data` to a target.
#[derive(Debug, Deserialize)]
pub struct BroadcastRequest {
    /// Recipients.
    #[serde(flatten)]
    pub target: Target,
    /// Event name.
    pub event: String,
    /// Event data.
    pub data: Value,
}

/// A gateway whose events run cluster-wide operations, so a Node test client can drive a Rust
/// instance. Every reply is the operation's result (or `{"error": …}`).
pub struct ClusterGateway;

impl ClusterGateway {
    fn operator(server: &Namespace, target: &Target) -> gateway_core::BroadcastOperator {
        server
            .to(target.rooms.clone())
            .except(target.except.clone())
    }
}

#[gateway(namespace = "/cluster")]
impl ClusterGateway {
    #[subscribe_message("whoami")]
    async fn whoami(&self, client: Socket) -> String {
        client.id().to_string()
    }

    #[subscribe_message("join")]
    async fn join(
        &self,
        client: Socket,
        MessageBody(rooms): MessageBody<Vec<String>>,
    ) -> &'static str {
        // What other instances see in `fetch_sockets` (socket.io's `socket.data`).
        client
            .data()
            .insert(ClusterData(json!({ "joined": rooms.clone() })));
        client.join(rooms);
        "ok"
    }

    #[subscribe_message("broadcast")]
    async fn broadcast(
        &self,
        server: Namespace,
        MessageBody(request): MessageBody<BroadcastRequest>,
    ) -> &'static str {
        let _ = Self::operator(&server, &request.target).emit(&request.event, &request.data);
        "ok"
    }

    /// `fetch_sockets` of the target: `[{id, rooms}]` sorted by id.
    #[subscribe_message("fetch")]
    async fn fetch(&self, server: Namespace, MessageBody(target): MessageBody<Target>) -> Value {
        match Self::operator(&server, &target).fetch_sockets().await {
            Ok(sockets) => {
                let mut found: Vec<Value> = sockets
                    .iter()
                    .map(|s| {
                        let mut rooms: Vec<&str> = s.rooms.iter().map(|r| r.as_str()).collect();
                        rooms.sort();
                        json!({
                            "id": s.id.as_str(),
                            "rooms": rooms,
                            "address": s.handshake["address"],
                            "data": s.data,
                        })
                    })
                    .collect();
                found.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
                json!(found)
            }
            Err(err) => json!({"error": err.to_string()}),
        }
    }

    #[subscribe_message("serverCount")]
    async fn server_count(&self, server: Namespace) -> Value {
        match server.server_count().await {
            Ok(n) => json!(n),
            Err(err) => json!({"error": err.to_string()}),
        }
    }

    /// `server_side_emit_with_ack("hello-servers", data)`: the other instances' answers.
    #[subscribe_message("askServers")]
    async fn ask_servers(&self, server: Namespace, MessageBody(data): MessageBody<Value>) -> Value {
        let answers = server
            .server_side_emit_with_ack::<_, Value>("hello-servers", &data, PATIENCE)
            .await;
        match answers {
            Ok(answers) => json!(answers),
            Err(err) => json!({"error": err.to_string()}),
        }
    }

    #[subscribe_message("socketsJoin")]
    async fn sockets_join(
        &self,
        server: Namespace,
        MessageBody(req): MessageBody<RoomsRequest>,
    ) -> &'static str {
        Self::operator(&server, &req.target).sockets_join(req.join);
        "ok"
    }

    #[subscribe_message("socketsLeave")]
    async fn sockets_leave(
        &self,
        server: Namespace,
        MessageBody(req): MessageBody<RoomsRequest>,
    ) -> &'static str {
        Self::operator(&server, &req.target).sockets_leave(req.join);
        "ok"
    }

    #[subscribe_message("disconnectSockets")]
    async fn disconnect_sockets(
        &self,
        server: Namespace,
        MessageBody(target): MessageBody<Target>,
    ) -> &'static str {
        Self::operator(&server, &target).disconnect();
        "ok"
    }

    /// Asks every client of the target for a `vote` ack; the sorted answers come back as a
    /// `votes` event (the ack of this very socket is read only after this handler returns).
    #[subscribe_message("voteAll")]
    async fn vote_all(
        &self,
        client: Socket,
        MessageBody(target): MessageBody<Target>,
    ) -> &'static str {
        tokio::spawn(async move {
            let answers = Self::operator(&client.namespace(), &target)
                .timeout(PATIENCE)
                .emit_with_ack::<_, Value>("vote", "lunch?")
                .await
                .unwrap_or_default();
            let mut votes: Vec<String> = answers
                .into_iter()
                .map(|(_, answer)| match answer {
                    Ok(Value::String(s)) => s,
                    Ok(other) => other.to_string(),
                    Err(err) => format!("error: {err}"),
                })
                .collect();
            votes.sort();
            let _ = client.emit("votes", &votes);
        });
        "ok"
    }
}

/// `socketsJoin` / `socketsLeave` requests.
#[derive(Debug, Deserialize)]
pub struct RoomsRequest {
    /// Whose rooms change.
    #[serde(flatten)]
    pub target: Target,
    /// The rooms joined or left.
    pub join: Vec<String>,
}

/// An instance serving [`ClusterGateway`] on loopback with `adapter`; its `hello-servers`
/// server-side handler answers `{"from": "rust", "port": PORT, "got": args}`.
pub async fn instance(adapter: impl Adapter) -> TestServer {
    let server = serve(
        GatewayApp::builder()
            .with_adapter(adapter)
            .gateway(ClusterGateway),
    )
    .await;
    let port = server.local_addr().port();
    let ns = server.namespace(NAMESPACE).expect("the cluster namespace");
    ns.on_server_event("hello-servers", move |args| async move {
        json!({"from": "rust", "port": port, "got": args})
    });
    server
}

/// Checks that an app with `adapter`, which must require its broker at startup and find it
/// unreachable, refuses to listen.
pub async fn assert_listen_fails_unreachable(adapter: impl Adapter) {
    let required = GatewayApp::builder()
        .with_adapter(adapter)
        .build()
        .expect("app")
        .listen("127.0.0.1:0")
        .await;
    let err = required.expect_err("listen fails when Redis is required");
    assert!(err.to_string().contains("unreachable"), "{err}");
}

/// A JSON-format client of `server`'s cluster namespace, joined to `rooms`; returns it with its
/// socket id.
pub async fn json_client(server: &TestServer, rooms: &[&str]) -> (TestClient, String) {
    let mut client = TestClient::connect(&ws_url(server, NAMESPACE)).await;
    client.emit("whoami", ()).await;
    let id = client.recv().await.as_str().expect("an id").to_owned();
    client.emit("join", rooms).await;
    assert_eq!(client.recv().await, json!("ok"));
    (client, id)
}

/// The `(event, data)` frames `client` receives until the `markers`-th `marker` event (markers
/// not included). Broadcasts from one instance arrive in the order it sent them, so a marker
/// each origin sends last tells that everything it sent before has arrived.
pub async fn events_until(
    client: &mut TestClient,
    marker: &str,
    markers: usize,
) -> Vec<(String, Value)> {
    let mut events = Vec::new();
    let mut seen = 0;
    while seen < markers {
        let frame = client.recv().await;
        let event = frame["event"].as_str().unwrap_or_default().to_owned();
        if event == marker {
            seen += 1;
        } else {
            events.push((event, frame["data"].clone()));
        }
    }
    events
}

/// A raw Socket.IO client (WebSocket transport) of the cluster namespace, which can ack.
pub struct SioClient {
    ws: Ws,
    /// Its socket id in the namespace.
    pub id: String,
}

/// One Socket.IO event: its ack id (if the server waits for an ack) and its arguments.
#[derive(Debug)]
pub struct SioEvent {
    /// The ack id.
    pub ack: Option<u64>,
    /// The event name.
    pub event: String,
    /// The arguments.
    pub args: Vec<Value>,
}

impl SioClient {
    /// Connects to `addr` and joins the cluster namespace.
    pub async fn connect(addr: SocketAddr) -> Self {
        let mut ws = eio::open(addr, "/socket.io/?EIO=4&transport=websocket").await;
        eio::open_packet(&eio::next(&mut ws).await.text());
        eio::send(&mut ws, &format!("40{NAMESPACE},")).await;
        let connect = eio::next_skipping_pings(&mut ws).await.text();
        let body = connect
            .strip_prefix(&format!("40{NAMESPACE},"))
            .unwrap_or_else(|| panic!("a CONNECT packet, got {connect}"));
        let sid: Value = serde_json::from_str(body).expect("CONNECT JSON");
        let id = sid["sid"].as_str().expect("a sid").to_owned();
        Self { ws, id }
    }

    /// The next event packet (pings are answered on the way).
    pub async fn next_event(&mut self) -> SioEvent {
        let text = eio::next_skipping_pings(&mut self.ws).await.text();
        let rest = text
            .strip_prefix(&format!("42{NAMESPACE},"))
            .unwrap_or_else(|| panic!("an EVENT packet, got {text}"));
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        let ack = rest[..digits].parse().ok();
        let mut args: Vec<Value> = serde_json::from_str(&rest[digits..]).expect("EVENT JSON");
        let event = args.remove(0).as_str().expect("an event name").to_owned();
        SioEvent { ack, event, args }
    }

    /// Answers the event with ack id `id`.
    pub async fn ack(&mut self, id: u64, answer: &Value) {
        eio::send(&mut self.ws, &format!("43{NAMESPACE},{id}[{answer}]")).await;
    }

    /// Waits until the server closes the namespace or the connection.
    pub async fn disconnected(&mut self) {
        loop {
            match eio::next_skipping_pings(&mut self.ws).await {
                Frame::Closed => return,
                Frame::Text(t) if t.starts_with(&format!("41{NAMESPACE}")) => return,
                _ => {}
            }
        }
    }
}

/// A `redis-server` process on a free loopback port, killed on drop. The test can kill it
/// (`SIGKILL`) and start it again on the same port.
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server with no persistence and waits until it answers `PING`.
    pub async fn start() -> Self {
        for _ in 0..5 {
            let port = free_port();
            let mut server = Self { port, child: None };
            if server.try_start().await {
                return server;
            }
        }
        panic!("redis-server did not start on a free port (5 tries)");
    }

    /// A server on a free port that is not running yet: [`restart`](Self::restart) starts it.
    pub fn unstarted() -> Self {
        Self {
            port: free_port(),
            child: None,
        }
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server (`SIGKILL`) and waits for it to exit.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Starts it (again) on its port.
    pub async fn restart(&mut self) {
        assert!(
            self.try_start().await,
            "redis-server restarts on port {}",
            self.port
        );
    }

    async fn try_start(&mut self) -> bool {
        let port = self.port.to_string();
        let mut command = Command::new("redis-server");
        command.args(["--port", &port, "--bind", "127.0.0.1"]);
        command.args(["--save", "", "--appendonly", "no"]);
        self.child = spawn_redis(command, self.port).await;
        self.child.is_some()
    }
}

/// Starts `command` (a `redis-server`, output discarded, killed on drop) and waits until it
/// answers `PING` on `port`; `None` if it exited first (its ports were taken) or did not answer
/// within [`PATIENCE`].
pub(crate) async fn spawn_redis(mut command: Command, port: u16) -> Option<Child> {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| {
            panic!("redis-server could not run ({e}); `bash scripts/test.sh` installs it")
        });
    let ready = async {
        loop {
            if ping(port).await {
                return true;
            }
            if child.try_wait().ok().flatten().is_some() {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let started = tokio::time::timeout(PATIENCE, ready).await.unwrap_or(false);
    if started {
        Some(child)
    } else {
        let _ = child.kill().await;
        None
    }
}

/// A loopback port nobody listens on right now (the OS picks it; another process may take it
/// before the caller binds it, hence the retries of the callers).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Whether a Redis server on loopback `port` answers `PING` with `PONG`.
pub(crate) async fn ping(port: u16) -> bool {
    let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    if stream.write_all(b"PING\r\n").await.is_err() {
        return false;
    }
    let mut answer = [0u8; 7];
    stream.read_exact(&mut answer).await.is_ok() && &answer == b"+PONG\r\n"
}

/// The cluster namespace of `server`.
pub fn namespace(server: &TestServer) -> Namespace {
    server.namespace(NAMESPACE).expect("the cluster namespace")
}

/// A JSON-format client of one instance, with what a broadcast check needs to know about it.
pub struct Member {
    /// The client.
    pub client: TestClient,
    /// Its socket id.
    pub id: String,
    /// The rooms it joined.
    pub rooms: Vec<&'static str>,
    /// The index of its instance.
    pub instance: usize,
}

/// Two clients per instance: the first in room `a`, the second in rooms `b` and `muted`.
pub async fn members(servers: &[TestServer]) -> Vec<Member> {
    let mut members = Vec::new();
    for (instance, server) in servers.iter().enumerate() {
        for rooms in [vec!["a"], vec!["b", "muted"]] {
            let (client, id) = json_client(server, &rooms).await;
            members.push(Member {
                client,
                id,
                rooms,
                instance,
            });
        }
    }
    members
}

/// From every instance in turn, broadcasts to everyone, to room `a`, to rooms `a` and `b`
/// except `muted`, and to one socket of the next instance, then a `marker`; checks that every
/// client received exactly the broadcasts meant for it, each once.
pub async fn check_broadcasts(servers: &[TestServer], members: &mut [Member]) {
    let n = servers.len();
    for (origin, server) in servers.iter().enumerate() {
        let ns = namespace(server);
        let target = members
            .iter()
            .find(|m| m.instance == (origin + 1) % n && m.rooms.contains(&"b"))
            .expect("a member in b on the next instance")
            .id
            .clone();
        ns.emit("all", &origin).unwrap();
        ns.to("a").emit("toA", &origin).unwrap();
        ns.to(["a", "b"])
            .except("muted")
            .emit("aNotMuted", &origin)
            .unwrap();
        ns.to(target).emit("direct", &origin).unwrap();
        ns.emit("marker", &origin).unwrap();
    }
    for member in members.iter_mut() {
        let mut want = Vec::new();
        for origin in 0..n {
            let o = origin as u64;
            want.push(("all".to_owned(), o));
            if member.rooms.contains(&"a") {
                want.push(("toA".to_owned(), o));
                want.push(("aNotMuted".to_owned(), o));
            }
            let next = (origin + 1) % n;
            if member.instance == next && member.rooms.contains(&"b") {
                want.push(("direct".to_owned(), o));
            }
        }
        want.sort();
        let mut got = events_until(&mut member.client, "marker", n)
            .await
            .into_iter()
            .map(|(event, data)| (event, data.as_u64().expect("an origin index")))
            .collect::<Vec<_>>();
        // A broadcast to one room may travel on a channel of its own (the sharded adapter's),
        // unordered with the markers: what is still missing may come after them.
        let rest = async {
            while want.iter().any(|w| !got.contains(w)) {
                let frame = member.client.recv().await;
                let event = frame["event"].as_str().unwrap_or_default().to_owned();
                got.push((event, frame["data"].as_u64().expect("an origin index")));
            }
        };
        let _ = tokio::time::timeout(PATIENCE, rest).await;
        got.sort();
        assert_eq!(
            got, want,
            "client {} (instance {}, rooms {:?})",
            member.id, member.instance, member.rooms
        );
    }
}

/// Broadcasts `probe` to `room` from `from` until `to`, its only member, receives one: after an
/// outage the sender may still be backing off. Then checks that a broadcast and a marker
/// arrive, once each.
pub async fn wait_for_delivery(from: &TestServer, to: &mut TestClient, room: &str) {
    let ns = namespace(from).to(room);
    let probing = async {
        for attempt in 0u64.. {
            ns.emit("probe", &attempt).unwrap();
            if let Ok(frame) = tokio::time::timeout(Duration::from_millis(100), to.recv()).await {
                assert_eq!(frame["event"], "probe", "{frame}");
                return;
            }
        }
    };
    tokio::time::timeout(PATIENCE, probing)
        .await
        .expect("a probe crossed instances after the outage");
    ns.emit("after", &1).unwrap();
    ns.emit("marker", &0).unwrap();
    let events = events_until(to, "marker", 1).await;
    let after: Vec<_> = events.iter().filter(|(e, _)| e == "after").collect();
    assert_eq!(after.len(), 1, "{events:?}");
    assert!(
        events.iter().all(|(e, _)| e == "after" || e == "probe"),
        "{events:?}"
    );
}

/// Between two instances of one cluster: `fetch_sockets` (rooms and data included),
/// `server_side_emit_with_ack`, remote join and leave, a broadcast with acks and a remote
/// disconnect, each checked from the first instance on a client of the second.
pub async fn check_cluster_wide_operations(servers: &[TestServer; 2]) {
    let (mut alice, alice_id) = json_client(&servers[0], &["a"]).await;
    let (mut bob, bob_id) = json_client(&servers[1], &["b"]).await;
    let ns_a = namespace(&servers[0]);

    // fetch_sockets sees both instances' sockets, with rooms and data.
    let mut want = vec![alice_id.clone(), bob_id.clone()];
    want.sort();
    assert_eq!(fetched_ids(&ns_a).await, want);
    let in_b = ns_a.to("b").fetch_sockets().await.unwrap();
    assert_eq!(in_b.len(), 1);
    assert_eq!(in_b[0].data, json!({"joined": ["b"]}));

    // server_side_emit with acks: the other instance answers.
    let answers = ns_a
        .server_side_emit_with_ack::<_, Value>("hello-servers", &7, PATIENCE)
        .await
        .unwrap();
    let port = servers[1].local_addr().port();
    assert_eq!(answers, [json!({"from": "rust", "port": port, "got": [7]})]);

    // Remote join and leave, then a broadcast to the joined room reaches bob.
    ns_a.to("b").sockets_join("c");
    wait_until_fetched(&servers[0], "c", 1).await;
    wait_for_delivery(&servers[0], &mut bob, "c").await;
    ns_a.to("c").sockets_leave("c");
    wait_until_fetched(&servers[0], "c", 0).await;

    // Broadcast with acks across instances.
    let mut voter = SioClient::connect(servers[1].local_addr()).await;
    let operator = ns_a.to(voter.id.clone()).timeout(PATIENCE);
    let acks =
        tokio::spawn(async move { operator.emit_with_ack::<_, Value>("vote", "lunch?").await });
    let asked = voter.next_event().await;
    assert_eq!(asked.event, "vote");
    voter
        .ack(asked.ack.expect("an ack id"), &json!("pizza"))
        .await;
    let answers: Vec<Value> = acks
        .await
        .unwrap()
        .unwrap()
        .into_iter()
        .map(|(_, answer)| answer.unwrap())
        .collect();
    assert_eq!(answers, [json!("pizza")]);

    // Remote disconnect.
    ns_a.to(bob_id.as_str()).disconnect();
    bob.expect_close().await;
    wait_until_fetched(&servers[0], &bob_id, 0).await;
    alice.emit("whoami", ()).await;
    assert_eq!(alice.recv().await, json!(alice_id));
}

/// The ids of every socket `ns.fetch_sockets()` finds (all instances), sorted.
pub async fn fetched_ids(ns: &Namespace) -> Vec<String> {
    let sockets = ns.fetch_sockets().await.expect("fetch_sockets");
    let mut ids: Vec<String> = sockets.iter().map(|s| s.id.to_string()).collect();
    ids.sort();
    ids
}

/// Waits until `fetch_sockets` in `room` (from `server`) finds `n` sockets.
pub async fn wait_until_fetched(server: &TestServer, room: &str, n: usize) {
    let ns = namespace(server);
    let found = async {
        while ns.to(room).fetch_sockets().await.map(|s| s.len()).ok() != Some(n) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(PATIENCE, found)
        .await
        .unwrap_or_else(|_| panic!("{n} sockets in {room}"));
}

/// Waits until every instance counts `n` instances (each subscribes in the background).
pub async fn wait_for_servers(servers: &[TestServer], n: usize) {
    for server in servers {
        let ns = namespace(server);
        let counted = async {
            while ns.server_count().await.ok() != Some(n) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(PATIENCE, counted)
            .await
            .expect("every instance counted");
    }
}
