//! Connection state recovery (socket.io 4.6+): raw Socket.IO frames, then the npm
//! socket.io-client reconnecting on its own (tests/node/socketio_recovery.mjs).

use std::time::Duration;

use gateway_core::{gateway, GatewayApp, Socket, WsResponse};
use gateway_tests::eio::{self, Ws};
use gateway_tests::TestServer;
use gateway_tests::{run_node, serve, wait_until};
use serde_json::Value;

/// Joins `news`; tells the room when a member drops.
struct Recovery;

#[gateway(namespace = "/recovery")]
impl Recovery {
    fn handle_disconnect(&self, client: Socket) {
        let _ = client
            .namespace()
            .to("news")
            .emit("missed", &format!("{} dropped", client.id()));
    }

    #[subscribe_message("join")]
    async fn join(&self, client: Socket) -> WsResponse<&'static str> {
        client.join("news");
        WsResponse::new("joined", "news")
    }

    #[subscribe_message("whereAmI")]
    async fn where_am_i(&self, client: Socket) -> Value {
        let mut rooms: Vec<String> = client.rooms().iter().map(|r| r.to_string()).collect();
        rooms.sort();
        serde_json::json!({ "id": client.id().to_string(), "rooms": rooms, "recovered": client.recovered() })
    }
}

async fn server() -> TestServer {
    serve(
        GatewayApp::builder()
            .gateway(Recovery)
            .with_connection_state_recovery(Duration::from_secs(60)),
    )
    .await
}

/// A new Engine.IO connection sending `connect` (a CONNECT packet); returns the CONNECT reply.
async fn connect(server: &TestServer, connect: &str) -> (Ws, Value) {
    let mut ws = eio::open(server.local_addr(), "/socket.io/?EIO=4&transport=websocket").await;
    eio::next(&mut ws).await; // open packet
    eio::send(&mut ws, connect).await;
    let reply = eio::next_skipping_pings(&mut ws).await.text();
    let json = reply.strip_prefix("40/recovery,").expect("a CONNECT reply");
    (ws, serde_json::from_str(json).unwrap())
}

/// The arguments of the next event frame (`42/recovery,[…]`).
async fn event(ws: &mut Ws) -> Vec<Value> {
    let frame = eio::next_skipping_pings(ws).await.text();
    let json = frame.strip_prefix("42/recovery,").expect("an event");
    serde_json::from_str(json).unwrap()
}

#[tokio::test]
async fn a_dropped_socket_gets_its_id_rooms_and_missed_events_back() {
    let server = server().await;
    let ns = server.namespace("/recovery").unwrap();
    let (mut ws, session) = connect(&server, "40/recovery,").await;
    let (sid, pid) = (session["sid"].clone(), session["pid"].clone());
    assert!(pid.is_string(), "{session}");

    eio::send(&mut ws, r#"42/recovery,["join"]"#).await;
    let joined = event(&mut ws).await;
    assert_eq!(joined[..2], [Value::from("joined"), Value::from("news")]);
    let offset = joined[2]
        .as_str()
        .expect("an offset as the last argument")
        .to_owned();

    // The connection drops; events go on without it.
    drop(ws);
    wait_until("the socket to be gone", || ns.socket_count() == 0).await;
    ns.to("news").emit("headline", "first").unwrap();
    ns.to("elsewhere").emit("headline", "not for you").unwrap();
    ns.emit("headline", "everyone").unwrap();

    let (mut ws, session) = connect(
        &server,
        &format!(r#"40/recovery,{{"pid":{pid},"offset":"{offset}"}}"#),
    )
    .await;
    assert_eq!((&session["sid"], &session["pid"]), (&sid, &pid));
    let mut missed = Vec::new();
    for _ in 0..3 {
        missed.push(event(&mut ws).await[..2].to_vec());
    }
    let dropped = format!("{} dropped", sid.as_str().unwrap());
    assert_eq!(
        missed,
        [
            ["missed".into(), dropped.into()],
            ["headline".into(), "first".into()],
            ["headline".into(), "everyone".into()],
        ] as [[Value; 2]; 3]
    );
    // The same socket, in the same rooms.
    eio::send(&mut ws, r#"42/recovery,1["whereAmI"]"#).await;
    let answer = eio::next_skipping_pings(&mut ws).await.text();
    let answer: Value =
        serde_json::from_str(answer.strip_prefix("43/recovery,1").unwrap()).unwrap();
    let sid_str = sid.as_str().unwrap();
    let mut rooms = vec!["news", sid_str];
    rooms.sort();
    assert_eq!(
        answer[0],
        serde_json::json!({"id": sid_str, "rooms": rooms, "recovered": true})
    );
}

#[tokio::test]
async fn an_unknown_session_or_offset_starts_afresh() {
    let server = server().await;
    let ns = server.namespace("/recovery").unwrap();
    let (mut ws, first) = connect(&server, "40/recovery,").await;
    eio::send(&mut ws, r#"42/recovery,["join"]"#).await;
    event(&mut ws).await;
    drop(ws);
    wait_until("the socket to be gone", || ns.socket_count() == 0).await;

    for auth in [
        r#"{"pid":"no-such-session","offset":"0"}"#.to_owned(),
        format!(r#"{{"pid":{},"offset":"999999"}}"#, first["pid"]),
    ] {
        let (_ws, session) = connect(&server, &format!("40/recovery,{auth}")).await;
        assert_ne!(session["sid"], first["sid"], "{auth}");
        assert_ne!(session["pid"], first["pid"], "{auth}");
    }
}

#[tokio::test]
async fn a_client_that_leaves_on_purpose_is_not_kept() {
    let server = server().await;
    let ns = server.namespace("/recovery").unwrap();
    let (mut ws, first) = connect(&server, "40/recovery,").await;
    eio::send(&mut ws, r#"42/recovery,["join"]"#).await;
    let offset = event(&mut ws).await[2].clone();
    eio::send(&mut ws, "41/recovery,").await;
    wait_until("the socket to be gone", || ns.socket_count() == 0).await;
    let auth = format!(r#"{{"pid":{},"offset":{offset}}}"#, first["pid"]);
    let (_ws, session) = connect(&server, &format!("40/recovery,{auth}")).await;
    assert_ne!(session["sid"], first["sid"]);
}

#[tokio::test]
async fn socketio_client_recovers_on_its_own() {
    let server = server().await;
    let base = format!("http://{}", server.local_addr());
    for transport in ["websocket", "polling"] {
        let out = run_node("socketio_recovery.mjs", &[&base, transport]).await;
        assert!(
            out.contains(&format!("recovery passed ({transport})")),
            "{out}"
        );
    }
}
