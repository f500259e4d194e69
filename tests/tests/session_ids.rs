//! Engine.IO session ids used where they do not belong (a session-hijack attempt), and
//! disallowed origins, at the Socket.IO path. As with engine.io, the sid is the session's only
//! credential: a request carrying it is served from any connection, so the checks are on how it
//! is used (docs/differences-from-nestjs.md, "Session ids").

use gateway_core::{gateway, GatewayApp};
use gateway_tests::eio;
use gateway_tests::{raw_http, serve, PATIENCE};

const PATH: &str = "/socket.io/";

/// Only `https://good.example` may connect.
struct Strict;

#[gateway(namespace = "/strict", cors = "https://good.example")]
impl Strict {
    #[subscribe_message("ping")]
    async fn ping(&self) -> &'static str {
        "pong"
    }
}

async fn server() -> gateway_tests::TestServer {
    serve(GatewayApp::builder().gateway(Strict)).await
}

/// Joins `/strict` on a polling session and checks that it answers.
async fn joined_polling(addr: std::net::SocketAddr) -> String {
    let sid = eio::start_polling(addr, PATH).await;
    assert_eq!(eio::post(addr, PATH, &sid, "40/strict,").await.0, 200);
    let (status, body) = eio::poll(addr, PATH, &sid).await;
    assert_eq!(status, 200);
    assert!(body.starts_with("40/strict,"), "{body}");
    sid
}

#[tokio::test]
async fn a_second_poll_at_once_ends_the_session_as_engine_io_does() {
    let server = server().await;
    let addr = server.local_addr();
    let sid = joined_polling(addr).await;
    // Nothing is queued, so whichever poll arrives first waits; the other overlaps it, is
    // refused, and the session is closed ("overlap from client").
    let polls = [0, 1].map(|_| {
        let sid = sid.clone();
        tokio::spawn(async move { eio::poll(addr, PATH, &sid).await })
    });
    let mut answers = Vec::new();
    for poll in polls {
        answers.push(tokio::time::timeout(PATIENCE, poll).await.unwrap().unwrap());
    }
    answers.sort();
    let [(waited, closed), (refused, _)] = [answers[0].clone(), answers[1].clone()];
    assert_eq!((waited, refused), (200, 400), "{answers:?}");
    assert!(
        closed.split('\u{1e}').any(|p| p == "1"),
        "the session is closed: {closed}"
    );
    let (status, body) = eio::poll(addr, PATH, &sid).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("Session ID unknown"), "{body}");
}

#[tokio::test]
async fn a_websocket_sessions_id_is_refused_on_long_polling_and_the_session_goes_on() {
    let server = server().await;
    let addr = server.local_addr();
    let mut ws = eio::open(addr, "/socket.io/?EIO=4&transport=websocket").await;
    let open = eio::open_packet(&eio::next(&mut ws).await.text());
    let sid = open["sid"].as_str().unwrap().to_owned();
    eio::send(&mut ws, "40/strict,").await;
    assert!(eio::next(&mut ws).await.text().starts_with("40/strict,"));

    let (status, body) = eio::poll(addr, PATH, &sid).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = eio::post(addr, PATH, &sid, r#"42/strict,["ping"]"#).await;
    assert_eq!(status, 400, "{body}");
    // A second WebSocket cannot take the session over either.
    // (A WebSocket session is not a long-polling one: its sid is unknown to an upgrade.)
    let taken = eio::try_open(addr, &format!("{PATH}?EIO=4&transport=websocket&sid={sid}")).await;
    assert!(taken.is_none(), "the upgrade is refused");

    eio::send(&mut ws, r#"42/strict,1["ping"]"#).await;
    assert_eq!(
        eio::next_skipping_pings(&mut ws).await.text(),
        r#"43/strict,1["pong"]"#
    );
}

#[tokio::test]
async fn an_unknown_or_forged_sid_is_refused() {
    let server = server().await;
    let addr = server.local_addr();
    for sid in ["AAAAAAAAAAAAAAAAAAAA", "", "../../etc", "%00"] {
        let (status, body) = eio::poll(addr, PATH, sid).await;
        assert_eq!(status, 400, "{sid}: {body}");
        let (status, body) = eio::post(addr, PATH, sid, "40").await;
        assert_eq!(status, 400, "{sid}: {body}");
    }
}

#[tokio::test]
async fn a_disallowed_origin_is_refused_on_the_socketio_websocket_too() {
    let server = server().await;
    let addr = server.local_addr();
    let request = |origin: &str| {
        format!(
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: localhost\r\n\
             Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: {origin}\r\n\r\n"
        )
    };
    let (status, body) = raw_http(addr, &request("https://evil.example")).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = raw_http(addr, &request("https://good.example")).await;
    assert_eq!(status, 101, "{body}");
}
