//! The `axum_app` example: the gateways layered in front of REST routes on one axum port, over
//! plain TCP and over TLS, driven by real clients (tests/node/axum_flow.mjs), and its graceful
//! shutdown through axum's `with_graceful_shutdown`. The same routes served by `listen()`
//! (`GatewayApp::with_routes`) pass the same flow.

use std::net::SocketAddr;
use std::path::PathBuf;

use gateway_core::test::TestClient;
use gateway_core::Gateways;
use gateway_examples::axum_app;
use gateway_examples::chat::mint_token;
use gateway_tests::{raw_http, run_node};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const SECRET: &str = "axum-secret";

/// How the example's gateways and routes are served.
#[derive(Clone, Copy, PartialEq)]
enum Serving {
    /// `axum::serve`, the gateways layered in front of the router.
    Axum,
    /// axum-server with rustls.
    AxumTls,
    /// `listen()`, with the router as the app's routes.
    Listen,
}

/// The example app, served on loopback until `stop` is sent.
struct AxumApp {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    served: JoinHandle<std::io::Result<()>>,
}

fn tls_fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/tls")
        .join(name)
}

async fn start(serving: Serving) -> AxumApp {
    if serving == Serving::Listen {
        let app = axum_app::gateways(SECRET).build().unwrap();
        let routes = axum_app::routes(app.namespace("/chat").unwrap(), SECRET);
        let server = app.with_routes(routes).listen("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(async move {
            server
                .shutdown_on(async {
                    let _ = stopped.await;
                })
                .await;
            Ok(())
        });
        return AxumApp { addr, stop, served };
    }
    let gateways: Gateways = axum_app::gateways(SECRET)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let router = axum_app::router(&gateways, SECRET);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let signal = async {
        let _ = stopped.await;
    };
    let served = if serving == Serving::AxumTls {
        tokio::spawn(async move {
            let (cert, key) = (tls_fixture("server.pem"), tls_fixture("server.key"));
            axum_app::serve_tls(listener, &cert, &key, router, gateways, signal).await
        })
    } else {
        listener.set_nonblocking(true).unwrap();
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        tokio::spawn(axum_app::serve(listener, router, gateways, signal))
    };
    AxumApp { addr, stop, served }
}

impl AxumApp {
    async fn shutdown(self) {
        let _ = self.stop.send(());
        self.served.await.unwrap().unwrap();
    }
}

async fn every_client_and_rest_on_one_port(serving: Serving) {
    let app = start(serving).await;
    let base = format!("http://{}", app.addr);
    let (alice, bob) = (
        mint_token(SECRET, "alice", None),
        mint_token(SECRET, "bob", None),
    );
    let out = run_node("axum_flow.mjs", &[&base, &alice, &bob]).await;
    assert!(out.contains("axum flow passed"), "{out}");
    app.shutdown().await;
}

#[tokio::test]
async fn rest_and_every_client_share_one_port() {
    every_client_and_rest_on_one_port(Serving::Axum).await;
}

#[tokio::test]
async fn listen_serves_the_same_routes_beside_the_gateways() {
    every_client_and_rest_on_one_port(Serving::Listen).await;
}

#[tokio::test]
async fn routes_under_listen_see_the_client_address() {
    let app = gateway_core::GatewayApp::builder().build().unwrap();
    let routes = axum::Router::new().route(
        "/whoami",
        axum::routing::get(
            |axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>| async move {
                peer.ip().to_string()
            },
        ),
    );
    let server = app.with_routes(routes).listen("127.0.0.1:0").await.unwrap();
    let (status, body) = raw_http(
        server.local_addr(),
        "GET /whoami HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.ends_with("127.0.0.1"), "{body}");
    server.shutdown().await;
}

#[tokio::test]
async fn wss_and_https_with_a_trusted_test_ca() {
    let app = start(Serving::AxumTls).await;
    let base = format!("https://localhost:{}", app.addr.port());
    let (alice, bob) = (
        mint_token(SECRET, "alice", None),
        mint_token(SECRET, "bob", None),
    );
    let ca = tls_fixture("ca.pem");
    let out = run_node(
        "axum_flow.mjs",
        &[&base, &alice, &bob, ca.to_str().unwrap()],
    )
    .await;
    assert!(out.contains("axum flow passed"), "{out}");
    app.shutdown().await;
}

#[tokio::test]
async fn unknown_paths_reach_axum_and_plain_requests_at_a_gateway_path_too() {
    let app = start(Serving::Axum).await;
    let (status, _) = raw_http(app.addr, "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(status, 404);
    let (status, body) = raw_http(app.addr, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(status, 200, "{body}");
    // Not an upgrade: the gateways leave it to the router, which has no such route.
    let (status, _) = raw_http(app.addr, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(status, 404);
    app.shutdown().await;
}

#[tokio::test]
async fn axum_graceful_shutdown_closes_sockets_with_1001() {
    let app = start(Serving::Axum).await;
    let mut client = TestClient::connect(&format!("ws://{}/events", app.addr)).await;
    client.emit("ping", ()).await;
    assert_eq!(client.recv().await, serde_json::json!("pong"));
    let _ = app.stop.send(());
    assert_eq!(client.expect_close().await, Some(1001));
    app.served.await.unwrap().unwrap();
    let refused = TestClient::try_connect(format!("ws://{}/events", app.addr)).await;
    assert!(refused.is_err(), "the port is closed after shutdown");
}
