//! `cargo run --example events`: guide 000's EventsGateway at ws://localhost:3000/events.

use gateway_examples::{apps, hints, init_tracing, port_from_env};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_tracing();
    let app = apps::events().build()?;
    if apps::emit_descriptions(&app, "events")? {
        return Ok(());
    }
    let server = app.listen(("0.0.0.0", port_from_env())).await?;
    print!("{}", hints::events(server.local_addr().port()));
    server.shutdown_on(tokio::signal::ctrl_c()).await;
    Ok(())
}
