//! The `chat` example's browser demo (`GET /`, `examples/chat_page/`) in a real browser: headless
//! Chromium (Debian's `chromium`, which `scripts/test.sh` installs) driven by npm
//! playwright-core (tests/node/browser_chat.mjs). Two pages sign in through the demo token
//! endpoint, chat in one room, and the gateway's validation errors show on the page. The demo's
//! HTTP side is checked here with a plain HTTP client.

use gateway_core::GatewayApp;
use gateway_examples::chat::ChatGateway;
use gateway_examples::chat_page;
use gateway_examples::events::EventsGateway;
use gateway_tests::{
    chromium_executable, http, run_node_within, Serving, TestServer, BROWSER_PATIENCE,
};

const SECRET: &str = "browser-secret";

/// The chat example's app, as `cargo run --example chat` builds it, on a loopback port.
async fn chat_example() -> TestServer {
    let app = GatewayApp::builder()
        .gateway(ChatGateway::new(SECRET))
        .gateway(EventsGateway)
        .build()
        .unwrap();
    TestServer::serve_with_routes(app, chat_page::routes(SECRET), Serving::from_env()).await
}

#[tokio::test]
async fn two_browser_pages_chat_and_see_validation_errors() {
    let server = chat_example().await;
    let base = format!("http://{}", server.local_addr());
    let out = run_node_within(
        "browser_chat.mjs",
        &[&base, &chromium_executable()],
        BROWSER_PATIENCE,
    )
    .await;
    assert!(out.contains("browser chat passed"), "{out}");
    server.shutdown().await;
}

#[tokio::test]
async fn the_demo_serves_its_page_and_tokens_and_refuses_bad_names() {
    let server = chat_example().await;
    let addr = server.local_addr();

    let (status, page) = http(addr, "GET", "/", "").await;
    assert_eq!(status, 200);
    assert_eq!(page, chat_page::PAGE_HTML);
    let (status, script) = http(addr, "GET", "/demo/chat.js", "").await;
    assert_eq!(status, 200);
    assert_eq!(script, chat_page::PAGE_SCRIPT);

    // The token endpoint's answer is a token the chat gateway accepts.
    let (status, token) = http(addr, "POST", "/demo/token", "alice").await;
    assert_eq!(status, 200, "{token}");
    let url = format!("ws://{addr}/chat?token={token}");
    let mut alice = gateway_core::test::TestClient::connect(&url).await;
    alice.emit("joinRoom", "lobby").await;
    assert_eq!(alice.recv_event("userJoined").await["userId"], "alice");

    let too_long = "x".repeat(chat_page::MAX_NAME_CHARS + 1);
    for bad in ["", "  \n", "a\u{0}b", too_long.as_str()] {
        let (status, body) = http(addr, "POST", "/demo/token", bad).await;
        assert_eq!(status, 400, "{bad:?}: {body}");
    }
    let (status, _) = http(addr, "POST", "/demo/token", &"x".repeat(100_000)).await;
    assert_eq!(status, 413, "a body far over any name is refused unread");
    let (status, _) = http(addr, "GET", "/demo/token", "").await;
    assert_eq!(status, 405);

    // Any other path: NestJS's 404, as without the demo.
    let (status, body) = http(addr, "GET", "/nope?x=1", "").await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        r#"{"message":"Cannot GET /nope?x=1","error":"Not Found","statusCode":404}"#
    );
    server.shutdown().await;
}
