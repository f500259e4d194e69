//! `cargo run --example redis_cluster -- --port 3001` (and `-- --port 3002` in another
//! terminal): the `chat` example's gateways as one instance of a cluster. Clients of either
//! instance see each other's rooms and messages; Node socket.io instances with the matching
//! JS adapter can join too. The environment chooses the adapter:
//!
//! - `REDIS_CLUSTER_URLS` (comma-separated seed nodes of a Redis Cluster): sharded pub/sub,
//!   as `createShardedAdapter` of `@socket.io/redis-adapter`;
//! - else `REDIS_STREAMS_URL`: Redis Streams, as `@socket.io/redis-streams-adapter`, with
//!   connection state recovery across instances (a Socket.IO client that drops from one
//!   instance gets its session back on another);
//! - otherwise `REDIS_URL` (default `redis://127.0.0.1:6379`): classic pub/sub on one Redis,
//!   as `createAdapter` of `@socket.io/redis-adapter`.
//!
//! Without Redis the instance starts anyway, serves its own clients, and reconnects.

use gateway_core::{Adapter, GatewayApp};
use gateway_examples::common::jwt_secret;
use gateway_examples::{
    chat::ChatGateway, events::EventsGateway, hints, init_tracing, port_from_args,
};
use std::time::Duration;

use gateway_redis::{RedisAdapter, RedisStreamsAdapter, ShardedRedisAdapter};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_tracing();
    let port = port_from_args(3001)?;
    match std::env::var("REDIS_CLUSTER_URLS") {
        Ok(urls) => {
            let adapter = ShardedRedisAdapter::new(urls.split(',').map(str::trim))?;
            let about = format!("instance {}, Redis Cluster at {urls}", adapter.uid());
            serve(adapter, port, about, None).await
        }
        Err(_) if std::env::var("REDIS_STREAMS_URL").is_ok() => {
            let url = std::env::var("REDIS_STREAMS_URL")?;
            let adapter = RedisStreamsAdapter::new(&url)?;
            let about = format!("instance {}, Redis Streams at {url}", adapter.uid());
            serve(adapter, port, about, Some(Duration::from_secs(120))).await
        }
        Err(_) => {
            let url =
                std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
            let adapter = RedisAdapter::new(&url)?;
            let about = format!("instance {}, Redis at {url}", adapter.uid());
            serve(adapter, port, about, None).await
        }
    }
}

/// Serves the chat app with `adapter`, and connection state recovery for `recovery` if given.
async fn serve(
    adapter: impl Adapter,
    port: u16,
    about: String,
    recovery: Option<Duration>,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut app = GatewayApp::builder()
        .with_adapter(adapter)
        .gateway(ChatGateway::new(&jwt_secret()))
        .gateway(EventsGateway);
    if let Some(window) = recovery {
        app = app.with_connection_state_recovery(window);
    }
    let server = app.build()?.listen(("0.0.0.0", port)).await?;
    let port = server.local_addr().port();
    println!("chat gateway:   {}", hints::chat_gateway("ws", port));
    println!("{about}");
    println!("events gateway: ws://localhost:{port}/events");
    server.shutdown_on(tokio::signal::ctrl_c()).await;
    Ok(())
}
