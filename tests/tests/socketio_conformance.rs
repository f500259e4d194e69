//! The 32 cases of the official socket.io-protocol test suite (socketio/socket.io-protocol
//! `test-suite/`), written from its expectations (../shared/reference/protocol.md §1.1) and run
//! against the conformance example at `/socket.io/`.
//!
//! The upstream client never answers pings, so every exchange must fit in the 500 ms before the
//! server gives up on it; on a loaded machine that is a race. Here the cases that are not about
//! heartbeats run with a long ping timeout and answer pings, and timing-based steps wait for
//! their outcome instead.

use gateway_tests::eio::{self, Frame, Ws};
use gateway_tests::http;
use gateway_tests::TestServer;

const PATH: &str = "/socket.io/";
const WS: &str = "/socket.io/?EIO=4&transport=websocket";

use gateway_tests::eio::{
    assert_conformance_open_packet as assert_open_packet, conformance_server as server,
    patient_server, quiet_server,
};

/// A WebSocket session past the Engine.IO handshake.
async fn engine_io(server: &TestServer) -> Ws {
    let mut ws = eio::open(server.local_addr(), WS).await;
    assert!(eio::next(&mut ws).await.text().starts_with('0'));
    ws
}

/// A session connected to `/` (CONNECT reply and `auth` packet consumed).
async fn socket_io(server: &TestServer) -> Ws {
    let mut ws = engine_io(server).await;
    eio::send(&mut ws, "40").await;
    assert!(eio::next_skipping_pings(&mut ws)
        .await
        .text()
        .starts_with("40"));
    assert_eq!(
        eio::next_skipping_pings(&mut ws).await,
        Frame::Text(r#"42["auth",{}]"#.into())
    );
    ws
}

/// The next `n` frames, pings answered and left out.
async fn packets(ws: &mut Ws, n: usize) -> Vec<Frame> {
    let mut out = Vec::new();
    while out.len() < n {
        out.push(eio::next_skipping_pings(ws).await);
    }
    out
}

/// Checks a CONNECT reply (`40<prefix>{"sid":…}`, nothing else) and the `auth` packet after it.
async fn assert_connected(ws: &mut Ws, prefix: &str, auth: &str) {
    let connect = eio::next_skipping_pings(ws).await.text();
    let payload = connect
        .strip_prefix(&format!("40{prefix}"))
        .unwrap_or_else(|| panic!("{connect}"));
    let handshake: serde_json::Value = serde_json::from_str(payload).unwrap();
    assert_eq!(eio::keys(&handshake), ["sid"]);
    assert!(handshake["sid"].is_string());
    assert_eq!(
        eio::next_skipping_pings(ws).await,
        Frame::Text(format!(r#"42{prefix}["auth",{auth}]"#))
    );
}

mod engine_io_handshake_polling {
    use super::*;

    #[tokio::test]
    async fn should_successfully_open_a_session() {
        let server = server().await;
        let (status, body) = http(
            server.local_addr(),
            "GET",
            "/socket.io/?EIO=4&transport=polling",
            "",
        )
        .await;
        assert_eq!(status, 200);
        assert!(body.starts_with('0'), "{body}");
        assert_open_packet(&body, serde_json::json!(["websocket"]));
    }

    #[tokio::test]
    async fn should_fail_with_an_invalid_eio_query_parameter() {
        let server = server().await;
        for query in ["transport=polling", "EIO=abc&transport=polling"] {
            let path = format!("{PATH}?{query}");
            assert_eq!(http(server.local_addr(), "GET", &path, "").await.0, 400);
        }
    }

    #[tokio::test]
    async fn should_fail_with_an_invalid_transport_query_parameter() {
        let server = server().await;
        for query in ["EIO=4", "EIO=4&transport=abc"] {
            let path = format!("{PATH}?{query}");
            assert_eq!(http(server.local_addr(), "GET", &path, "").await.0, 400);
        }
    }

    #[tokio::test]
    async fn should_fail_with_an_invalid_request_method() {
        let server = server().await;
        for method in ["POST", "PUT"] {
            let path = "/socket.io/?EIO=4&transport=polling";
            assert_eq!(http(server.local_addr(), method, path, "").await.0, 400);
        }
    }
}

mod engine_io_handshake_websocket {
    use super::*;

    #[tokio::test]
    async fn should_successfully_open_a_session() {
        let server = server().await;
        let mut ws = eio::open(server.local_addr(), WS).await;
        let open = eio::next(&mut ws).await.text();
        assert!(open.starts_with('0'), "{open}");
        assert_open_packet(&open, serde_json::json!([]));
    }

    #[tokio::test]
    async fn should_fail_with_an_invalid_eio_query_parameter() {
        let server = server().await;
        for query in ["transport=websocket", "EIO=abc&transport=websocket"] {
            let path = format!("{PATH}?{query}");
            assert!(eio::try_open(server.local_addr(), &path).await.is_none());
        }
    }

    #[tokio::test]
    async fn should_fail_with_an_invalid_transport_query_parameter() {
        let server = server().await;
        for query in ["EIO=4", "EIO=4&transport=abc"] {
            let path = format!("{PATH}?{query}");
            assert!(eio::try_open(server.local_addr(), &path).await.is_none());
        }
    }
}

mod engine_io_heartbeat {
    use super::*;

    #[tokio::test]
    async fn polling_should_send_ping_pong_packets() {
        let server = server().await;
        let addr = server.local_addr();
        let sid = eio::start_polling(addr, PATH).await;
        for _ in 0..3 {
            assert_eq!(eio::poll(addr, PATH, &sid).await, (200, "2".to_owned()));
            assert_eq!(eio::post(addr, PATH, &sid, "3").await.0, 200);
        }
    }

    #[tokio::test]
    async fn polling_should_close_the_session_upon_ping_timeout() {
        let server = server().await;
        let addr = server.local_addr();
        let sid = eio::start_polling(addr, PATH).await;
        assert_eq!(eio::poll(addr, PATH, &sid).await, (200, "2".to_owned()));
        let (status, body) = eio::poll(addr, PATH, &sid).await;
        assert!(
            (status, body.as_str()) == (200, "1") || status == 400,
            "{status} {body}"
        );
        assert_eq!(eio::poll(addr, PATH, &sid).await.0, 400);
    }

    #[tokio::test]
    async fn websocket_should_send_ping_pong_packets() {
        let server = server().await;
        let mut ws = engine_io(&server).await;
        for _ in 0..3 {
            assert_eq!(eio::next(&mut ws).await, Frame::Text("2".into()));
            eio::send(&mut ws, "3").await;
        }
    }

    #[tokio::test]
    async fn websocket_should_close_the_session_upon_ping_timeout() {
        let server = server().await;
        let mut ws = eio::open(server.local_addr(), WS).await;
        eio::closed(&mut ws).await;
    }
}

mod engine_io_close {
    use super::*;

    #[tokio::test]
    async fn polling_should_forcefully_close_the_session() {
        let server = quiet_server().await;
        let addr = server.local_addr();
        let sid = eio::start_polling(addr, PATH).await;
        let (pending, closing) = tokio::join!(
            eio::poll(addr, PATH, &sid),
            eio::post(addr, PATH, &sid, "1")
        );
        assert_eq!(closing.0, 200);
        assert_eq!(pending, (200, "6".to_owned()));
        assert_eq!(eio::poll(addr, PATH, &sid).await.0, 400);
    }

    /// socket.io ignores a close packet over a WebSocket (only long-polling acts on it): the
    /// unanswered ping then ends the session, as against socket.io itself.
    #[tokio::test]
    async fn websocket_should_forcefully_close_the_session() {
        let server = server().await;
        let mut ws = engine_io(&server).await;
        eio::send(&mut ws, "1").await;
        eio::closed(&mut ws).await;
    }
}

mod engine_io_upgrade {
    use super::*;

    /// Probes and upgrades a new polling session; returns its sid and the WebSocket, proven
    /// to carry the session by a Socket.IO CONNECT.
    async fn upgraded(server: &TestServer) -> (String, Ws) {
        let addr = server.local_addr();
        let sid = eio::start_polling(addr, PATH).await;
        let mut ws = eio::open(addr, &format!("{WS}&sid={sid}")).await;
        eio::send(&mut ws, "2probe").await;
        assert_eq!(eio::next(&mut ws).await, Frame::Text("3probe".into()));
        eio::send(&mut ws, "5").await;
        eio::send(&mut ws, "40").await;
        assert_connected(&mut ws, "", "{}").await;
        (sid, ws)
    }

    #[tokio::test]
    async fn should_successfully_upgrade_from_http_long_polling_to_websocket() {
        let server = patient_server().await;
        upgraded(&server).await;
    }

    #[tokio::test]
    async fn should_ignore_http_requests_with_same_sid_after_upgrade() {
        let server = patient_server().await;
        let (sid, _ws) = upgraded(&server).await;
        assert_eq!(eio::poll(server.local_addr(), PATH, &sid).await.0, 400);
    }

    #[tokio::test]
    async fn should_ignore_websocket_connection_with_same_sid_after_upgrade() {
        let server = patient_server().await;
        let (sid, mut ws) = upgraded(&server).await;
        if let Some(mut second) =
            eio::try_open(server.local_addr(), &format!("{WS}&sid={sid}")).await
        {
            eio::closed(&mut second).await;
        }
        // The upgraded session is unaffected.
        eio::send(&mut ws, r#"42["message","still here"]"#).await;
        assert_eq!(
            eio::next_skipping_pings(&mut ws).await,
            Frame::Text(r#"42["message-back","still here"]"#.into())
        );
    }
}

mod connect {
    use super::*;

    #[tokio::test]
    async fn should_allow_connection_to_the_main_namespace() {
        let server = patient_server().await;
        let mut ws = engine_io(&server).await;
        eio::send(&mut ws, "40").await;
        assert_connected(&mut ws, "", "{}").await;
    }

    #[tokio::test]
    async fn should_allow_connection_to_the_main_namespace_with_a_payload() {
        let server = patient_server().await;
        let mut ws = engine_io(&server).await;
        eio::send(&mut ws, r#"40{"token":"123"}"#).await;
        assert_connected(&mut ws, "", r#"{"token":"123"}"#).await;
    }

    #[tokio::test]
    async fn should_allow_connection_to_a_custom_namespace() {
        let server = patient_server().await;
        let mut ws = engine_io(&server).await;
        eio::send(&mut ws, "40/custom,").await;
        assert_connected(&mut ws, "/custom,", "{}").await;
    }

    #[tokio::test]
    async fn should_allow_connection_to_a_custom_namespace_with_a_payload() {
        let server = patient_server().await;
        let mut ws = engine_io(&server).await;
        eio::send(&mut ws, r#"40/custom,{"token":"abc"}"#).await;
        assert_connected(&mut ws, "/custom,", r#"{"token":"abc"}"#).await;
    }

    #[tokio::test]
    async fn should_disallow_connection_to_an_unknown_namespace() {
        let server = patient_server().await;
        let mut ws = engine_io(&server).await;
        eio::send(&mut ws, "40/random").await;
        assert_eq!(
            eio::next_skipping_pings(&mut ws).await,
            Frame::Text(r#"44/random,{"message":"Invalid namespace"}"#.into())
        );
    }

    #[tokio::test]
    async fn should_disallow_connection_with_an_invalid_handshake() {
        let server = patient_server().await;
        let mut ws = engine_io(&server).await;
        eio::send(&mut ws, "4abc").await;
        eio::closed(&mut ws).await;
    }

    #[tokio::test]
    async fn should_close_the_connection_if_no_handshake_is_received() {
        // Pings are answered, so only the 1 s connect timeout can end the session.
        let server = patient_server().await;
        let mut ws = engine_io(&server).await;
        assert_eq!(eio::next_skipping_pings(&mut ws).await, Frame::Closed);
    }
}

mod disconnect {
    use super::*;

    #[tokio::test]
    async fn should_disconnect_from_the_main_namespace() {
        let server = patient_server().await;
        let mut ws = socket_io(&server).await;
        eio::send(&mut ws, "41").await;
        // The Engine.IO session stays open: the next frame is a ping.
        assert_eq!(eio::next(&mut ws).await, Frame::Text("2".into()));
    }

    #[tokio::test]
    async fn should_connect_then_disconnect_from_a_custom_namespace() {
        let server = patient_server().await;
        let mut ws = socket_io(&server).await;
        assert_eq!(eio::next(&mut ws).await, Frame::Text("2".into()));
        eio::send(&mut ws, "3").await;
        eio::send(&mut ws, "40/custom").await;
        assert_connected(&mut ws, "/custom,", "{}").await;
        eio::send(&mut ws, "41/custom").await;
        eio::send(&mut ws, r#"42["message","message to main namespace"]"#).await;
        assert_eq!(
            eio::next_skipping_pings(&mut ws).await,
            Frame::Text(r#"42["message-back","message to main namespace"]"#.into())
        );
    }
}

mod message {
    use super::*;

    const TWO_PLACEHOLDERS: &str = r#"{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}"#;

    #[tokio::test]
    async fn should_send_a_plain_text_packet() {
        let server = patient_server().await;
        let mut ws = socket_io(&server).await;
        eio::send(&mut ws, r#"42["message",1,"2",{"3":[true]}]"#).await;
        assert_eq!(
            eio::next_skipping_pings(&mut ws).await,
            Frame::Text(r#"42["message-back",1,"2",{"3":[true]}]"#.into())
        );
    }

    #[tokio::test]
    async fn should_send_a_packet_with_binary_attachments() {
        let server = patient_server().await;
        let mut ws = socket_io(&server).await;
        eio::send(&mut ws, &format!(r#"452-["message",{TWO_PLACEHOLDERS}]"#)).await;
        eio::send_binary(&mut ws, &[1, 2, 3]).await;
        eio::send_binary(&mut ws, &[4, 5, 6]).await;
        assert_eq!(
            packets(&mut ws, 3).await,
            [
                Frame::Text(format!(r#"452-["message-back",{TWO_PLACEHOLDERS}]"#)),
                Frame::Binary(vec![1, 2, 3]),
                Frame::Binary(vec![4, 5, 6]),
            ]
        );
    }

    #[tokio::test]
    async fn should_send_a_plain_text_packet_with_an_ack() {
        let server = patient_server().await;
        let mut ws = socket_io(&server).await;
        eio::send(&mut ws, r#"42456["message-with-ack",1,"2",{"3":[false]}]"#).await;
        assert_eq!(
            eio::next_skipping_pings(&mut ws).await,
            Frame::Text(r#"43456[1,"2",{"3":[false]}]"#.into())
        );
    }

    #[tokio::test]
    async fn should_send_a_packet_with_binary_attachments_and_an_ack() {
        let server = patient_server().await;
        let mut ws = socket_io(&server).await;
        eio::send(
            &mut ws,
            &format!(r#"452-789["message-with-ack",{TWO_PLACEHOLDERS}]"#),
        )
        .await;
        eio::send_binary(&mut ws, &[1, 2, 3]).await;
        eio::send_binary(&mut ws, &[4, 5, 6]).await;
        assert_eq!(
            packets(&mut ws, 3).await,
            [
                Frame::Text(format!("462-789[{TWO_PLACEHOLDERS}]")),
                Frame::Binary(vec![1, 2, 3]),
                Frame::Binary(vec![4, 5, 6]),
            ]
        );
    }

    async fn closes_upon(packet: &str) {
        let server = patient_server().await;
        let mut ws = socket_io(&server).await;
        eio::send(&mut ws, packet).await;
        eio::closed(&mut ws).await;
    }

    #[tokio::test]
    async fn should_close_the_connection_upon_invalid_format_unknown_packet_type() {
        closes_upon("4abc").await;
    }

    #[tokio::test]
    async fn should_close_the_connection_upon_invalid_format_invalid_payload_format() {
        closes_upon("42{}").await;
    }

    #[tokio::test]
    async fn should_close_the_connection_upon_invalid_format_invalid_ack_id() {
        closes_upon(r#"42abc["message-with-ack",1,"2",{"3":[false]}]"#).await;
    }
}
