//! The gateways of the NestJS guides, ported: the code behind `cargo run --example NAME`.
//!
//! Each module keeps the guide's event names and payload shapes, so a client written for the
//! NestJS version works unchanged. The tests drive these same gateways.

pub mod apps;
pub mod axum_app;
pub mod bench;
pub mod chat;
pub mod chat_page;
pub mod common;
pub mod conformance;
pub mod events;
pub mod hints;
pub mod notifications;
pub mod prometheus;
pub mod workspaces;

/// The port to listen on: `PORT` from the environment, else 3000.
pub fn port_from_env() -> u16 {
    std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000)
}

/// The port to listen on: `--port N` on the command line, else `PORT` from the environment,
/// else `default`.
///
/// ```
/// assert_eq!(gateway_examples::port_from_args(3001).unwrap(), 3001);
/// ```
pub fn port_from_args(default: u16) -> Result<u16, String> {
    let mut args = std::env::args().skip_while(|arg| arg != "--port");
    let given = match (args.next(), args.next()) {
        (Some(_), Some(port)) => Some(port),
        (Some(_), None) => return Err("--port needs a value, e.g. --port 3001".into()),
        _ => std::env::var("PORT").ok(),
    };
    match given {
        Some(port) => port
            .parse()
            .map_err(|_| format!("not a port number: {port:?}")),
        None => Ok(default),
    }
}

/// Logs to stderr; `RUST_LOG` overrides the default level (`info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

/// The current time as JavaScript's `new Date().toISOString()` prints it.
pub fn iso_timestamp() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}
