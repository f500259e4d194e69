//! `cargo run --example axum_app`: the chat and events gateways beside a REST API on one axum
//! server (`PORT` or `--port`, default 3000). With `TLS_CERT` and `TLS_KEY` (PEM files) set, it
//! serves `https` and `wss` with rustls.

use std::net::{Ipv4Addr, SocketAddr};

use gateway_examples::axum_app::{self, serve, serve_tls};
use gateway_examples::common::jwt_secret;
use gateway_examples::{hints, init_tracing, port_from_args};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_tracing();
    let port = port_from_args(3000)?;
    let secret = jwt_secret();
    let gateways = axum_app::gateways(&secret).build()?.start().await?;
    let router = axum_app::router(&gateways, &secret);
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let listener = std::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)))?;
    let port = listener.local_addr()?.port();
    let tls = std::env::var_os("TLS_CERT").zip(std::env::var_os("TLS_KEY"));
    let (http, ws) = if tls.is_some() {
        ("https", "wss")
    } else {
        ("http", "ws")
    };
    println!("REST:           {http}://localhost:{port}/health");
    println!("chat gateway:   {}", hints::chat_gateway(ws, port));
    println!("events gateway: {ws}://localhost:{port}/events");
    println!("socket.io:      {http}://localhost:{port}/socket.io/");
    match tls {
        Some((cert, key)) => {
            serve_tls(
                listener,
                cert.as_ref(),
                key.as_ref(),
                router,
                gateways,
                ctrl_c,
            )
            .await?
        }
        None => {
            listener.set_nonblocking(true)?;
            let listener = tokio::net::TcpListener::from_std(listener)?;
            serve(listener, router, gateways, ctrl_c).await?
        }
    }
    Ok(())
}
