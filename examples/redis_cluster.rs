//! `cargo run --example redis_cluster -- --port 3001` (and `-- --port 3002` in another
//! terminal): the `chat` example's gateways as one instance of a cluster. Clients of either
//! instance see each other's rooms and messages; Node socket.io instances with the matching
//! JS adapter can join too. The environment chooses the adapter:
//!
//! - `REDIS_CLUSTER_URLS` (comma-separated seed nodes of a Redis Cluster): sharded pub/sub,
//!   as `createShardedAdapter` of `@socket.io/redis-adapter`;
//! - otherwise `REDIS_URL` (default `redis://127.0.0.1:6379`): classic pub/sub on one Redis,
//!   as `createAdapter` of `@socket.io/redis-adapter`.
//!
//! Without Redis the instance starts anyway, serves its own clients, and reconnects.

use gateway_core::{Adapter, GatewayApp};
use gateway_examples::common::jwt_secret;
use gateway_examples::{
    chat::ChatGateway, events::EventsGateway, hints, init_tracing, port_from_args,
};
use gateway_redis::{RedisAdapter, ShardedRedisAdapter};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_tracing();
    let port = port_from_args(3001)?;
    match std::env::var("REDIS_CLUSTER_URLS") {
        Ok(urls) => {
            let adapter = ShardedRedisAdapter::new(urls.split(',').map(str::trim))?;
            let about = format!("instance {}, Redis Cluster at {urls}", adapter.uid());
            serve(adapter, port, about).await
        }
        Err(_) => {
            let url =
                std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
            let adapter = RedisAdapter::new(&url)?;
            let about = format!("instance {}, Redis at {url}", adapter.uid());
            serve(adapter, port, about).await
        }
    }
}

async fn serve(
    adapter: impl Adapter,
    port: u16,
    about: String,
) -> Result<(), Box<dyn std::error::Error>> {
    let server = GatewayApp::builder()
        .with_adapter(adapter)
        .gateway(ChatGateway::new(&jwt_secret()))
        .gateway(EventsGateway)
        .build()?
        .listen(("0.0.0.0", port))
        .await?;
    let port = server.local_addr().port();
    println!("chat gateway:   {}", hints::chat_gateway("ws", port));
    println!("{about}");
    println!("events gateway: ws://localhost:{port}/events");
    server.shutdown_on(tokio::signal::ctrl_c()).await;
    Ok(())
}
