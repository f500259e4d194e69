//! `cargo run --example conformance`: the server the official Socket.IO and Engine.IO protocol
//! suites expect, on port 3000 (the suites' hard-coded `http://localhost:3000`).

use gateway_examples::{conformance, init_tracing, port_from_env};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_tracing();
    let server = conformance::app()
        .build()?
        .listen(("127.0.0.1", port_from_env()))
        .await?;
    let addr = server.local_addr();
    println!("conformance server: http://{addr}/socket.io/ and http://{addr}/engine.io/");
    server.shutdown_on(tokio::signal::ctrl_c()).await;
    Ok(())
}
