//! `cargo run --example notifications`: guides 002/003's NotificationsGateway at /notifications.
//!
//! Type on stdin to push notifications through the service:
//! `user 42 Your order shipped` sends to every device of user 42, `all Maintenance at noon`
//! sends to everyone.

use gateway_core::GatewayApp;
use gateway_examples::notifications::{Notice, NotificationsGateway, NotificationsService};
use gateway_examples::{init_tracing, port_from_env};
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_tracing();
    let app = GatewayApp::builder()
        .gateway(NotificationsGateway::default())
        .build()?;
    let service = NotificationsService::new(app.namespace("/notifications").ok_or("no namespace")?);
    let server = app.listen(("0.0.0.0", port_from_env())).await?;
    println!(
        "notifications gateway: ws://localhost:{}/notifications",
        server.local_addr().port()
    );
    println!(
        r#"clients send {{"event":"join","data":{{"userId":"42"}}}}; type "user 42 <text>" or "all <text>" here"#
    );

    tokio::spawn(async move {
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let sent = match line.split_once(' ') {
                Some(("all", text)) => service.broadcast_notification(text),
                Some(("user", rest)) => match rest.split_once(' ') {
                    Some((user, text)) => service.send_to_user(
                        user,
                        "notification",
                        &Notice {
                            message: text.to_owned(),
                        },
                    ),
                    None => continue,
                },
                _ => {
                    println!(r#"usage: "user <id> <text>" or "all <text>""#);
                    continue;
                }
            };
            match sent {
                Ok(n) => println!("sent to {n} socket(s)"),
                Err(err) => println!("failed: {err}"),
            }
        }
    });
    server.shutdown_on(tokio::signal::ctrl_c()).await;
    Ok(())
}
