//! An app-wide connection guard (`with_global_connection_guard`, socket.io's `io.use`), driven
//! by the real npm socket.io-client and `ws` (tests/node/global_middleware.mjs).

use gateway_core::pipeline::{connection_guard_fn, ConnectionContext};
use gateway_core::{gateway, GatewayApp, Socket, WsException};
use gateway_tests::{run_node, serve};

struct Root;

#[gateway(namespace = "/")]
impl Root {
    #[subscribe_message("whoami")]
    async fn whoami(&self, client: Socket) -> String {
        client.namespace().name().to_owned()
    }
}

struct Second;

#[gateway(namespace = "/second")]
impl Second {
    #[subscribe_message("whoami")]
    async fn whoami(&self, client: Socket) -> String {
        client.namespace().name().to_owned()
    }
}

#[tokio::test]
async fn a_global_connection_guard_refuses_with_data_in_every_namespace() {
    let guard = connection_guard_fn(|cx: ConnectionContext| async move {
        match cx.handshake().query("token") {
            Some("letmein") => Ok(true),
            _ => Err(WsException::from_object(serde_json::json!({
                "message": "not authorized",
                "content": "Please sign in",
            }))),
        }
    });
    let app = GatewayApp::builder()
        .with_global_connection_guard(guard)
        .gateway(Root)
        .gateway(Second);
    let server = serve(app).await;
    let out = run_node(
        "global_middleware.mjs",
        &[&format!("http://{}", server.local_addr())],
    )
    .await;
    assert!(out.contains("global middleware passed"), "{out}");
    server.shutdown().await;
}
