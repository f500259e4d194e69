//! `cargo run --example chat`: guide 000's ChatGateway at /chat and EventsGateway at /events,
//! one app on one port. Chat clients need a JWT (`cargo run --example mint_token -- alice`),
//! signed with `JWT_SECRET` (default: `dev-secret-change-me`).

use gateway_core::GatewayApp;
use gateway_examples::common::jwt_secret;
use gateway_examples::{chat::ChatGateway, events::EventsGateway, init_tracing, port_from_env};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_tracing();
    let server = GatewayApp::builder()
        .gateway(ChatGateway::new(&jwt_secret()))
        .gateway(EventsGateway)
        .build()?
        .listen(("0.0.0.0", port_from_env()))
        .await?;
    let port = server.local_addr().port();
    println!("chat gateway:   ws://localhost:{port}/chat");
    println!("events gateway: ws://localhost:{port}/events");
    println!(
        r#"try: {{"event":"joinRoom","data":"general"}} then {{"event":"sendMessage","data":{{"roomId":"general","message":"hi"}}}}"#
    );
    server.shutdown_on(tokio::signal::ctrl_c()).await;
    Ok(())
}
