//! The server the official Socket.IO and Engine.IO conformance suites expect
//! (socketio/socket.io-protocol and socketio/engine.io-protocol `test-suite/`): pings every
//! 300 ms with a 200 ms timeout, a 1 000 000-byte `maxPayload`, a 1 s connect timeout, any origin.
//!
//! - Socket.IO at `/socket.io/`: namespace `/` sends `auth` (the CONNECT payload) on connection,
//!   answers `message` with `message-back` and the same arguments (binary ones too), and acks
//!   `message-with-ack` with its arguments; namespace `/custom` sends `auth` only.
//! - Engine.IO at `/engine.io/`: every message packet is sent back unchanged.

use std::time::Duration;

use gateway_core::{gateway, GatewayApp, GatewayAppBuilder, Handshake, Payload, Socket};

/// Namespace `/` of the socket.io-protocol suite.
#[derive(Debug, Default, Clone, Copy)]
pub struct MainNamespace;

#[gateway(namespace = "/", cors = "*")]
impl MainNamespace {
    fn handle_connection(&self, client: Socket, handshake: Handshake) {
        send_auth(&client, &handshake);
    }

    /// Sends `message-back` with the arguments as they came.
    #[subscribe_message("message")]
    async fn message(&self, client: Socket, payload: Payload) {
        let _ = client.emit_payload("message-back", &payload);
    }

    /// Acks with the arguments as they came.
    #[subscribe_message("message-with-ack")]
    async fn message_with_ack(&self, payload: Payload) -> Payload {
        payload
    }
}

/// Namespace `/custom` of the socket.io-protocol suite.
#[derive(Debug, Default, Clone, Copy)]
pub struct CustomNamespace;

#[gateway(namespace = "/custom", cors = "*")]
impl CustomNamespace {
    fn handle_connection(&self, client: Socket, handshake: Handshake) {
        send_auth(&client, &handshake);
    }
}

/// `auth` with the CONNECT payload (`{}` when there was none).
fn send_auth(client: &Socket, handshake: &Handshake) {
    let auth = handshake
        .auth()
        .cloned()
        .unwrap_or_else(|| serde_json::json!({}));
    let _ = client.emit("auth", &auth);
}

/// The app configured as both suites require.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let server = gateway_examples::conformance::app().build()?.listen(("127.0.0.1", 3000)).await?;
/// # Ok(()) }
/// ```
pub fn app() -> GatewayAppBuilder {
    GatewayApp::builder()
        .gateway(MainNamespace)
        .gateway(CustomNamespace)
        .with_ping_interval(Duration::from_millis(300))
        .with_ping_timeout(Duration::from_millis(200))
        .with_max_message_size(1_000_000)
        .with_connect_timeout(Duration::from_secs(1))
        .with_engine_io_echo("/engine.io/")
}
