//! `cargo run --example events`: guide 000's EventsGateway at ws://localhost:3000/events.

use gateway_core::GatewayApp;
use gateway_examples::{events::EventsGateway, init_tracing, port_from_env};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_tracing();
    let server = GatewayApp::builder()
        .gateway(EventsGateway)
        .build()?
        .listen(("0.0.0.0", port_from_env()))
        .await?;
    println!(
        "events gateway: ws://localhost:{}/events",
        server.local_addr().port()
    );
    println!(r#"try: {{"event":"message","data":{{"text":"hello"}}}}"#);
    server.shutdown_on(tokio::signal::ctrl_c()).await;
    Ok(())
}
