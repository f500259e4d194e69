//! The chat example's gateways, driven by the real npm `ws` client (tests/node/chat_flow.mjs).

use gateway_core::GatewayApp;
use gateway_examples::{chat::ChatGateway, events::EventsGateway};
use gateway_tests::{run_node, serve};

#[tokio::test]
async fn two_ws_clients_chat_as_in_the_guide() {
    let server = serve(
        GatewayApp::builder()
            .gateway(ChatGateway)
            .gateway(EventsGateway),
    )
    .await;
    let base = format!("ws://{}", server.local_addr());
    let out = run_node("chat_flow.mjs", &[&base]).await;
    assert!(out.contains("chat flow passed"), "{out}");
    server.shutdown().await;
}
