//! `cargo run --example notifications`: guides 002/003's NotificationsGateway at /notifications.
//!
//! Type on stdin to push notifications through the service:
//! `user 42 Your order shipped` sends to every device of user 42, `all Maintenance at noon`
//! sends to everyone.

use gateway_core::GatewayApp;
use gateway_examples::notifications::{
    console_command, NotificationsGateway, NotificationsService,
};
use gateway_examples::{hints, init_tracing, port_from_env};
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_tracing();
    let app = GatewayApp::builder()
        .gateway(NotificationsGateway::default())
        .build()?;
    let service = NotificationsService::new(app.namespace("/notifications").ok_or("no namespace")?);
    let server = app.listen(("0.0.0.0", port_from_env())).await?;
    print!("{}", hints::notifications(server.local_addr().port()));

    tokio::spawn(async move {
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            println!("{}", console_command(&service, &line));
        }
    });
    server.shutdown_on(tokio::signal::ctrl_c()).await;
    Ok(())
}
