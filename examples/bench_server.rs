//! `cargo run --release --example bench_server -- --port 3000`: the benchmark contract
//! (`bench/README.md`) on both wire formats, JSON at `ws://127.0.0.1:PORT/` and Socket.IO
//! namespace `/`. With `--redis URL`, broadcasts span every instance on that Redis.
//! `READ_BUFFER_SIZE` overrides the per-connection read buffer (bytes). Prints
//! `listening on 127.0.0.1:PORT` once it accepts connections.

use std::io::Write;

use gateway_core::GatewayApp;
use gateway_examples::{bench::BenchGateway, port_from_args};
use gateway_redis::RedisAdapter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = port_from_args(3000)?;
    let mut app = GatewayApp::builder().gateway(BenchGateway);
    if let Ok(size) = std::env::var("READ_BUFFER_SIZE") {
        app = app.with_read_buffer_size(size.parse()?);
    }
    let mut args = std::env::args().skip_while(|arg| arg != "--redis").skip(1);
    if let Some(url) = args.next() {
        app = app.with_adapter(RedisAdapter::new(&url)?.with_required_at_startup(true));
    }
    let server = app.build()?.listen(("127.0.0.1", port)).await?;
    println!("listening on {}", server.local_addr());
    std::io::stdout().flush()?;
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    server
        .shutdown_on(async {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        })
        .await;
    Ok(())
}
