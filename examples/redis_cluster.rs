//! `cargo run --example redis_cluster -- --port 3001` (and `-- --port 3002` in another
//! terminal): the `chat` example's gateways as one instance of a cluster on Redis
//! (`REDIS_URL`, default `redis://127.0.0.1:6379`). Clients of either instance see each other's
//! rooms and messages; Node socket.io instances with `@socket.io/redis-adapter` can join too.
//! Without Redis the instance starts anyway, serves its own clients, and reconnects.

use gateway_core::GatewayApp;
use gateway_examples::common::jwt_secret;
use gateway_examples::{
    chat::ChatGateway, events::EventsGateway, hints, init_tracing, port_from_args,
};
use gateway_redis::RedisAdapter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_tracing();
    let port = port_from_args(3001)?;
    let redis_url =
        std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let adapter = RedisAdapter::new(&redis_url)?;
    let uid = adapter.uid().to_owned();
    let server = GatewayApp::builder()
        .with_adapter(adapter)
        .gateway(ChatGateway::new(&jwt_secret()))
        .gateway(EventsGateway)
        .build()?
        .listen(("0.0.0.0", port))
        .await?;
    let port = server.local_addr().port();
    println!("chat gateway:   {}", hints::chat_gateway("ws", port));
    println!("instance {uid}, Redis at {redis_url}");
    println!("events gateway: ws://localhost:{port}/events");
    server.shutdown_on(tokio::signal::ctrl_c()).await;
    Ok(())
}
