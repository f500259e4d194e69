//! `cargo run --example notifications`: guides 002/003's NotificationsGateway at /notifications.
//!
//! Type on stdin to push notifications through the service:
//! `user 42 Your order shipped` sends to every device of user 42, `all Maintenance at noon`
//! sends to everyone. `ship 42 1001` ships order 1001 of user 42 through the event bus: the
//! `OrdersService` publishes `order.shipped`, and its delivery timer `order.delivered` within
//! 10 s; the gateway's `#[on_event("order.*")]` handler tells user 42's devices.

use std::time::Duration;

use gateway_core::EventBus;
use gateway_examples::notifications::{console_command, NotificationsService, OrdersService};
use gateway_examples::{apps, hints, init_tracing, port_from_env};
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_tracing();
    let bus = EventBus::new();
    let app = apps::notifications(bus.clone()).build()?;
    if apps::emit_descriptions(&app, "notifications")? {
        return Ok(());
    }
    let service = NotificationsService::new(app.namespace("/notifications").ok_or("no namespace")?);
    let orders = OrdersService::new(bus);
    let server = app.listen(("0.0.0.0", port_from_env())).await?;
    tokio::spawn(orders.clone().run_deliveries(Duration::from_secs(10)));
    print!("{}", hints::notifications(server.local_addr().port()));

    tokio::spawn(async move {
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            // `ship <user id> <order id>` goes through the event bus; the rest to the service.
            if let Some(rest) = line.strip_prefix("ship ") {
                match rest.split_once(' ') {
                    Some((user, order)) => {
                        let handlers = orders.ship(order, user).await;
                        println!(
                            "order.shipped reached {handlers} handler(s); order.delivered follows within 10 s"
                        );
                    }
                    None => println!(r#"usage: "ship <user id> <order id>""#),
                }
                continue;
            }
            println!("{}", console_command(&service, &line));
        }
    });
    server.shutdown_on(tokio::signal::ctrl_c()).await;
    Ok(())
}
