//! The chat example's gateways, driven by the real npm `ws` client (tests/node/chat_flow.mjs).

use gateway_core::GatewayApp;
use gateway_examples::chat::{mint_token, ChatGateway};
use gateway_examples::events::EventsGateway;
use gateway_tests::{run_node, serve};

#[tokio::test]
async fn two_ws_clients_chat_as_in_the_guide() {
    let app = GatewayApp::builder()
        .gateway(ChatGateway::new("node-secret"))
        .gateway(EventsGateway);
    let server = serve(app).await;
    let base = format!("ws://{}", server.local_addr());
    let alice = mint_token("node-secret", "alice", None);
    let bob = mint_token("node-secret", "bob", None);
    let out = run_node("chat_flow.mjs", &[&base, &alice, &bob]).await;
    assert!(out.contains("chat flow passed"), "{out}");
    server.shutdown().await;
}

#[tokio::test]
async fn socketio_client_talks_to_the_same_gateways() {
    let app = GatewayApp::builder()
        .gateway(ChatGateway::new("node-secret"))
        .gateway(EventsGateway);
    let server = serve(app).await;
    let base = format!("http://{}", server.local_addr());
    let tokens: Vec<String> = ["alice", "bob", "carol"]
        .iter()
        .map(|user| mint_token("node-secret", user, None))
        .collect();
    let out = run_node(
        "socketio_flow.mjs",
        &[&base, &tokens[0], &tokens[1], &tokens[2]],
    )
    .await;
    assert!(out.contains("socket.io flow passed"), "{out}");
    server.shutdown().await;
}
