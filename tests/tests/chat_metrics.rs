//! The `chat` example's `GET /metrics` (Prometheus text, `gateway_examples::prometheus`) after
//! the real npm socket.io-client and `ws` connected, chatted and left (tests/node/metrics_flow.mjs).

use gateway_core::GatewayApp;
use gateway_examples::chat::{mint_token, ChatGateway};
use gateway_examples::events::EventsGateway;
use gateway_examples::{chat_page, prometheus};
use gateway_tests::{http, run_node, Serving, TestServer};

const SECRET: &str = "metrics-secret";

#[tokio::test]
async fn the_chat_example_serves_its_metrics_as_prometheus_text() {
    // As `cargo run --example chat` does: the recorder first, then the app.
    let metrics = prometheus::install().unwrap();
    let app = GatewayApp::builder()
        .gateway(ChatGateway::new(SECRET))
        .gateway(EventsGateway)
        .with_metrics()
        .build()
        .unwrap();
    let routes = chat_page::routes(SECRET).merge(metrics);
    let server = TestServer::serve_with_routes(app, routes, Serving::from_env()).await;

    let token = mint_token(SECRET, "alice", None);
    let base = format!("http://{}", server.local_addr());
    let out = run_node("metrics_flow.mjs", &[&base, &token]).await;
    assert!(out.contains("metrics flow passed"), "{out}");

    let (status, text) = http(server.local_addr(), "GET", "/metrics", "").await;
    assert_eq!(status, 200);
    for line in [
        r#"socket_io_connect_total{namespace="/chat"} 1"#,
        r#"socket_io_events_received_total{namespace="/chat",event="joinRoom"} 1"#,
        r#"socket_io_events_received_total{namespace="/chat",event="sendMessage"} 1"#,
        r#"gateway_exceptions_total{namespace="/chat",event="sendMessage"} 1"#,
        r#"socket_io_events_received_total{namespace="/events",event="message"} 1"#,
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
    }
    assert!(text.contains("gateway_handler_duration_seconds"), "{text}");
    server.shutdown().await;
}
