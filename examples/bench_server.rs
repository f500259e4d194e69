//! `cargo run --release --example bench_server -- --port 3000`: the benchmark contract
//! (`bench/README.md`) on both wire formats, JSON at `ws://127.0.0.1:PORT/` and Socket.IO
//! namespace `/`. With `--redis URL`, broadcasts span every instance on that Redis; with
//! `--redis-cluster URL,URL,…`, every instance on that Redis Cluster (sharded pub/sub); with
//! `--redis-streams URL`, every instance on that Redis through its stream. `--recovery SECONDS`
//! turns connection state recovery on (with `--redis-streams`, across instances).
//! `READ_BUFFER_SIZE` overrides the per-connection read buffer (bytes). With `--axum`, the
//! gateways are layered in front of an axum `Router` (one `GET /health` route) served by
//! `axum::serve`, instead of `listen()`. With `--routes`, the same `Router` is served by
//! `listen()` beside the gateways (`GatewayApp::with_routes`), with `GET /stats` (the
//! registry's socket and room counts, for `bench/soak.py`). With `--jwt SECRET`, every client
//! needs an HS256 token signed with SECRET (the reconnect storm's JWT variant). With
//! `--reuse-port N`, `listen()` accepts on N `SO_REUSEPORT` listeners. With `--metrics`, a
//! Prometheus recorder is installed and the app records metrics (`with_metrics`); with
//! `--spans`, a `tracing` subscriber at `info` writing to a sink enables every span. With
//! `--deflate`, clients that offer permessage-deflate get it (socket.io's defaults: a 1024-byte
//! threshold, context takeover, level 1); with `--deflate-no-takeover`, without context
//! takeover on either side; `--deflate-level N` sets the compression level of either. Prints `listening on 127.0.0.1:PORT` once it accepts connections.

use std::io::Write;

use gateway_core::{GatewayApp, PerMessageDeflate};
use gateway_examples::{bench::BenchGateway, port_from_args};
use gateway_redis::{RedisAdapter, RedisStreamsAdapter, ShardedRedisAdapter};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = port_from_args(3000)?;
    let gateway = match arg_after("--jwt") {
        Some(secret) => BenchGateway::with_jwt(&secret),
        None => BenchGateway::default(),
    };
    let mut app = GatewayApp::builder().gateway(gateway);
    if std::env::args().any(|arg| arg == "--metrics") {
        let prometheus =
            metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
            loop {
                every.tick().await;
                prometheus.run_upkeep();
            }
        });
        app = app.with_metrics();
    }
    if std::env::args().any(|arg| arg == "--spans") {
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_writer(std::io::sink)
            .init();
    }
    let deflate_level = arg_after("--deflate-level").map_or(Ok(1), |level| level.parse())?;
    let deflate = PerMessageDeflate::new().with_compression_level(deflate_level);
    if std::env::args().any(|arg| arg == "--deflate") {
        app = app.with_per_message_deflate(deflate);
    }
    if std::env::args().any(|arg| arg == "--deflate-no-takeover") {
        app = app.with_per_message_deflate(
            deflate
                .with_server_no_context_takeover(true)
                .with_client_no_context_takeover(true),
        );
    }
    if let Ok(size) = std::env::var("READ_BUFFER_SIZE") {
        app = app.with_read_buffer_size(size.parse()?);
    }
    if let Some(listeners) = arg_after("--reuse-port") {
        app = app.with_reuse_port_listeners(listeners.parse()?);
    }
    if let Some(url) = arg_after("--redis") {
        app = app.with_adapter(RedisAdapter::new(&url)?.with_required_at_startup(true));
    }
    if let Some(urls) = arg_after("--redis-cluster") {
        let adapter = ShardedRedisAdapter::new(urls.split(','))?;
        app = app.with_adapter(adapter.with_required_at_startup(true));
    }
    if let Some(url) = arg_after("--redis-streams") {
        let adapter = RedisStreamsAdapter::new(&url)?.with_required_at_startup(true);
        app = app.with_adapter(adapter);
    }
    if let Some(seconds) = arg_after("--recovery") {
        let window = std::time::Duration::from_secs(seconds.parse()?);
        app = app.with_connection_state_recovery(window);
    }
    let mut app = app.build()?;
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let stop = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    };
    if std::env::args().any(|arg| arg == "--axum") {
        let gateways = app.start().await?;
        let router = health_router().layer(gateways.layer());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        println!("listening on {}", listener.local_addr()?);
        std::io::stdout().flush()?;
        gateway_examples::axum_app::serve(listener, router, gateways, stop).await?;
        return Ok(());
    }
    if std::env::args().any(|arg| arg == "--routes") {
        let namespace = app.namespace("/").expect("the bench gateway");
        app = app.with_routes(health_router().merge(stats_router(namespace)));
    }
    let server = app.listen(("127.0.0.1", port)).await?;
    println!("listening on {}", server.local_addr());
    std::io::stdout().flush()?;
    server.shutdown_on(stop).await;
    Ok(())
}

/// The argument after `flag`, if given.
fn arg_after(flag: &str) -> Option<String> {
    std::env::args().skip_while(|arg| arg != flag).nth(1)
}

/// `GET /stats`: what the registry holds (`{"sockets":N,"rooms":N}`), for the soak test.
fn stats_router(namespace: gateway_core::Namespace) -> axum::Router {
    axum::Router::new().route(
        "/stats",
        axum::routing::get(move || {
            let namespace = namespace.clone();
            async move {
                axum::Json(serde_json::json!({
                    "sockets": namespace.socket_count(),
                    "rooms": namespace.room_count(),
                }))
            }
        }),
    )
}

/// The REST side of the mixed-port variants: one `GET /health` route.
fn health_router() -> axum::Router {
    axum::Router::new().route("/health", axum::routing::get(|| async { "ok" }))
}
