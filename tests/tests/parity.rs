//! Differential parity with real NestJS 12.1.1 (tests/parity): every client scenario runs
//! against the NestJS twin of the chat example (once on `@nestjs/platform-ws`, once on
//! `@nestjs/platform-socket.io`) and against ours, and the normalized transcripts must be
//! identical, apart from the deviations each scenario declares (listed in
//! docs/differences-from-nestjs.md).

use gateway_core::GatewayApp;
use gateway_examples::chat::ChatGateway;
use gateway_examples::events::EventsGateway;
use gateway_tests::{run_parity, serve};

#[tokio::test]
async fn chat_example_answers_every_client_as_nestjs_does() {
    let secret = "parity-secret";
    let app = GatewayApp::builder()
        .gateway(ChatGateway::new(secret))
        .gateway(EventsGateway);
    let server = serve(app).await;
    let ours = format!("http://{}", server.local_addr());
    let report = run_parity(&["--ours", &ours, "--secret", secret]).await;
    assert!(report.contains(" 0 different"), "{report}");
    server.shutdown().await;
}
