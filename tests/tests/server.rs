//! HTTP routing and the upgrade, origins, ports, build errors and graceful shutdown.

use std::sync::Arc;

use gateway_core::test::TestClient;
use gateway_core::{gateway, GatewayApp, GatewayBuilder, GatewayOptions};
use gateway_tests::{raw_http, serve, upgrade_request, ws_url, Counter};
use serde_json::json;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

struct Alpha;
#[gateway(namespace = "/alpha")]
impl Alpha {
    #[subscribe_message("who")]
    async fn who(&self) -> &'static str {
        "alpha"
    }
}

struct Beta;
#[gateway(namespace = "/beta")]
impl Beta {
    #[subscribe_message("who")]
    async fn who(&self) -> &'static str {
        "beta"
    }
}

struct OwnPort;
#[gateway(namespace = "/alpha", port = 47001)]
impl OwnPort {
    #[subscribe_message("who")]
    async fn who(&self) -> &'static str {
        "own-port"
    }
}

struct PathOverride;
#[gateway(namespace = "/ns", path = "/ws-path")]
impl PathOverride {
    #[subscribe_message("who")]
    async fn who(&self) -> &'static str {
        "ws-path"
    }
}

struct Strict;
#[gateway(namespace = "/strict", cors = ["http://localhost:4200", "https://app.example"])]
impl Strict {
    #[subscribe_message("who")]
    async fn who(&self) -> &'static str {
        "strict"
    }
}

struct Open;
#[gateway(namespace = "/open", cors = "*")]
impl Open {
    #[subscribe_message("who")]
    async fn who(&self) -> &'static str {
        "open"
    }
}

async fn who(url: &str) -> serde_json::Value {
    let mut c = TestClient::connect(url).await;
    c.emit("who", ()).await;
    c.recv().await
}

#[tokio::test]
async fn gateways_share_a_port_on_different_paths() {
    let server = serve(
        GatewayApp::builder()
            .gateway(Alpha)
            .gateway(Beta)
            .gateway(PathOverride),
    )
    .await;
    assert_eq!(who(&ws_url(&server, "/alpha")).await, json!("alpha"));
    assert_eq!(who(&ws_url(&server, "/beta")).await, json!("beta"));
    assert_eq!(who(&ws_url(&server, "/ws-path")).await, json!("ws-path"));
}

#[tokio::test]
async fn unknown_paths_get_404_not_a_dropped_connection() {
    let server = serve(GatewayApp::builder().gateway(Alpha)).await;
    let (status, _) = raw_http(server.local_addr(), &upgrade_request("/nope", "")).await;
    assert_eq!(status, 404);
    // The query string does not take part in routing.
    let (status, _) = raw_http(server.local_addr(), &upgrade_request("/alpha?token=x", "")).await;
    assert_eq!(status, 101);
    // `/ns` is served at its explicit path only.
    let server = serve(GatewayApp::builder().gateway(PathOverride)).await;
    let (status, _) = raw_http(server.local_addr(), &upgrade_request("/ns", "")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn plain_http_requests_get_clear_statuses() {
    let server = serve(GatewayApp::builder().gateway(Alpha)).await;
    let addr = server.local_addr();
    let (status, text) = raw_http(
        addr,
        "GET /alpha HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    // No HTTP route there: NestJS's 404.
    assert_eq!(status, 404, "{text}");
    assert!(
        text.ends_with(r#"{"message":"Cannot GET /alpha","error":"Not Found","statusCode":404}"#),
        "{text}"
    );
    let bad_version = upgrade_request("/alpha", "").replace("Version: 13", "Version: 8");
    let (status, text) = raw_http(addr, &bad_version).await;
    assert_eq!(status, 426);
    assert!(
        text.to_ascii_lowercase()
            .contains("sec-websocket-version: 13"),
        "{text}"
    );
    let no_key = upgrade_request("/alpha", "")
        .replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "");
    let (status, _) = raw_http(addr, &no_key).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_upgrade_answers_with_the_right_accept_key() {
    let server = serve(GatewayApp::builder().gateway(Alpha)).await;
    let (status, text) = raw_http(server.local_addr(), &upgrade_request("/alpha", "")).await;
    assert_eq!(status, 101);
    // RFC 6455's example key and answer.
    assert!(text.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{text}");
}

#[tokio::test]
async fn origins_are_checked_at_the_upgrade() {
    let server = serve(GatewayApp::builder().gateway(Strict).gateway(Open)).await;
    let addr = server.local_addr();
    let refused = upgrade_request("/strict", "Origin: http://evil.example\r\n");
    let (status, text) = raw_http(addr, &refused).await;
    assert_eq!(status, 403);
    assert!(text.contains(r#""message":"Origin not allowed""#), "{text}");
    let allowed = upgrade_request("/strict", "Origin: https://app.example\r\n");
    assert_eq!(raw_http(addr, &allowed).await.0, 101);
    // No Origin header: not a browser, allowed.
    assert_eq!(raw_http(addr, &upgrade_request("/strict", "")).await.0, 101);
    // `cors = "*"` allows any origin.
    let any = upgrade_request("/open", "Origin: http://evil.example\r\n");
    assert_eq!(raw_http(addr, &any).await.0, 101);

    // And through a real client, the refusal is an HTTP error, not a hang.
    let mut request = ws_url(&server, "/strict").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("origin", "http://evil.example".parse().unwrap());
    let err = TestClient::try_connect(request).await.unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
}

#[tokio::test]
async fn a_gateway_can_take_its_own_port() {
    // `port = 47001` is served on a listener the test bound itself, so the test needs no fixed port.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let server = serve(
        GatewayApp::builder()
            .gateway(Alpha)
            .gateway(OwnPort)
            .with_listener(47001, listener),
    )
    .await;
    let own = server.local_addr_for_port(47001).unwrap();
    assert_ne!(own, server.local_addr());
    assert_eq!(who(&format!("ws://{own}/alpha")).await, json!("own-port"));
    assert_eq!(who(&ws_url(&server, "/alpha")).await, json!("alpha"));
    // Each listener serves only its own gateways.
    assert_eq!(raw_http(own, &upgrade_request("/beta", "")).await.0, 404);
}

#[tokio::test]
async fn conflicting_registrations_fail_to_build() {
    let err = GatewayApp::builder()
        .gateway(Alpha)
        .gateway(Alpha)
        .build()
        .unwrap_err();
    assert_eq!(err.problems().len(), 1);
    assert!(err.to_string().contains("/alpha"), "{err}");

    struct Twice;
    impl gateway_core::Gateway for Twice {
        fn options(&self) -> GatewayOptions {
            GatewayOptions::new("/twice")
        }
        fn register(self: Arc<Self>, gateway: &mut GatewayBuilder) {
            gateway.on("a", || async {});
            gateway.on("a", || async {});
        }
    }
    let err = GatewayApp::builder().gateway(Twice).build().unwrap_err();
    assert!(
        err.to_string().contains("handles the event \"a\" twice"),
        "{err}"
    );
}

/// A gateway whose `slow` handler waits for the test to release it.
struct Slow {
    started: Arc<Counter>,
    release: Arc<Notify>,
}

#[gateway(namespace = "/slow")]
impl Slow {
    #[subscribe_message("slow")]
    async fn slow(&self) -> &'static str {
        self.started.bump();
        self.release.notified().await;
        "finished"
    }

    #[subscribe_message("ping")]
    async fn ping(&self) -> &'static str {
        "pong"
    }
}

#[tokio::test]
async fn shutdown_lets_running_handlers_finish_then_closes_with_1001() {
    let started = Arc::new(Counter::default());
    let release = Arc::new(Notify::new());
    let gateway = Slow {
        started: started.clone(),
        release: release.clone(),
    };
    let server = serve(GatewayApp::builder().gateway(gateway)).await;
    let addr = server.local_addr();
    let mut busy = TestClient::connect(&ws_url(&server, "/slow")).await;
    let mut idle = TestClient::connect(&ws_url(&server, "/slow")).await;
    idle.emit("ping", ()).await;
    assert_eq!(idle.recv().await, json!("pong"));

    busy.emit("slow", ()).await;
    started.wait_for(1).await;
    let shutdown = tokio::spawn(server.shutdown());

    // The idle socket is closed right away with 1001.
    assert_eq!(idle.expect_close().await, Some(1001));
    // New connections are no longer accepted.
    assert!(TestClient::try_connect(format!("ws://{addr}/slow"))
        .await
        .is_err());
    // The running handler finishes, its reply is delivered, then the close.
    release.notify_one();
    assert_eq!(busy.recv().await, json!("finished"));
    assert_eq!(busy.expect_close().await, Some(1001));
    shutdown.await.unwrap();
}

#[tokio::test]
async fn shutdown_is_bounded_by_its_timeout() {
    let started = Arc::new(Counter::default());
    let gateway = Slow {
        started: started.clone(),
        release: Arc::new(Notify::new()),
    };
    let server = serve(
        GatewayApp::builder()
            .gateway(gateway)
            .with_shutdown_timeout(std::time::Duration::from_millis(200)),
    )
    .await;
    let mut stuck = TestClient::connect(&ws_url(&server, "/slow")).await;
    stuck.emit("slow", ()).await;
    started.wait_for(1).await;
    // The handler never finishes; shutdown still returns, and the connection is dropped.
    server.shutdown().await;
    assert_eq!(stuck.expect_close().await, None);
}
