//! `Socket::on_any` and `Socket::on_any_outgoing` (socket.io's `onAny` / `onAnyOutgoing`), with
//! a JSON-format client and the real npm socket.io-client.

use std::sync::{Arc, Mutex};

use gateway_core::test::TestClient;
use gateway_core::{gateway, GatewayApp, Handshake, MessageBody, Namespace, Socket};
use gateway_tests::{serve, wait_until, ws_url};
use serde_json::json;

type Seen = Arc<Mutex<Vec<String>>>;

struct Watched {
    seen: Seen,
}

#[gateway(namespace = "/watched")]
impl Watched {
    fn handle_connection(&self, client: Socket, _handshake: Handshake) {
        let seen = self.seen.clone();
        client.on_any(move |event, data| seen.lock().unwrap().push(format!("in {event} {data}")));
        let seen = self.seen.clone();
        client.on_any_outgoing(move |event, data| {
            seen.lock().unwrap().push(format!("out {event} {data}"))
        });
        client.on_any(|event, _| {
            if event == "explode" {
                panic!("a listener that panics");
            }
        });
    }

    #[subscribe_message("shout")]
    async fn shout(
        &self,
        client: Socket,
        server: Namespace,
        MessageBody(text): MessageBody<String>,
    ) {
        client.emit("direct", &text).unwrap();
        let _ = server.emit("everyone", &json!({"text": text}));
    }
}

#[tokio::test]
async fn catch_all_listeners_see_every_event_in_and_out() {
    let seen = Seen::default();
    let server = serve(GatewayApp::builder().gateway(Watched { seen: seen.clone() })).await;
    let mut c = TestClient::connect(&ws_url(&server, "/watched")).await;
    c.emit("explode", 1).await; // unknown, and a listener panics: the others still run
    c.emit("shout", "hi").await;
    assert_eq!(c.recv_event("direct").await, json!("hi"));
    assert_eq!(c.recv_event("everyone").await, json!({"text": "hi"}));
    wait_until("four events seen", || seen.lock().unwrap().len() == 4).await;
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "in explode 1",
            r#"in shout "hi""#,
            r#"out direct "hi""#,
            r#"out everyone {"text":"hi"}"#,
        ]
    );
    // The connection survived the panicking listener.
    c.emit("shout", "again").await;
    assert_eq!(c.recv_event("direct").await, json!("again"));
}

#[tokio::test]
async fn over_socketio_several_arguments_are_seen_as_their_array() {
    let seen = Seen::default();
    let server = serve(GatewayApp::builder().gateway(Watched { seen: seen.clone() })).await;
    let mut ws =
        gateway_tests::eio::open(server.local_addr(), "/socket.io/?EIO=4&transport=websocket")
            .await;
    gateway_tests::eio::next(&mut ws).await; // the open packet
    gateway_tests::eio::send(&mut ws, "40/watched,").await;
    gateway_tests::eio::next(&mut ws).await; // CONNECT
    gateway_tests::eio::send(&mut ws, r#"42/watched,["many",1,{"two":2}]"#).await;
    gateway_tests::eio::send(&mut ws, r#"42/watched,["shout","hi"]"#).await;
    let direct = gateway_tests::eio::next_skipping_pings(&mut ws)
        .await
        .text();
    assert_eq!(direct, r#"42/watched,["direct","hi"]"#);
    wait_until("four events seen", || seen.lock().unwrap().len() == 4).await;
    assert_eq!(seen.lock().unwrap()[0], r#"in many [1,{"two":2}]"#);
}
