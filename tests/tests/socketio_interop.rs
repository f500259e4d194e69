//! The npm `socket.io-client` 4.8 against our Socket.IO server over each transport: its
//! default (long-polling, then the upgrade to WebSocket), long-polling only, and WebSocket only.
//! Namespaces multiplexed, auth, several arguments, binary both ways, acks both ways, and a
//! broadcast collecting every recipient's ack (tests/node/socketio_interop.mjs). Then the same
//! with an independent client implementation, python-socketio (tests/python/socketio_client.py).

use gateway_core::{gateway, AckError, Socket};
use gateway_examples::conformance;
use gateway_tests::{run_node, run_python, serve, PATIENCE};
use serde_json::json;

/// Server → client acks, one by one and from a whole room.
struct Interop;

#[gateway(namespace = "/interop")]
impl Interop {
    /// Asks the client `question` and reports its ack as `answered`.
    #[subscribe_message("askMe")]
    async fn ask_me(&self, client: Socket) {
        // The ack is read after this handler returns: wait for it in a task.
        tokio::spawn(async move {
            let answer: Result<String, AckError> = client
                .timeout(PATIENCE)
                .emit_with_ack("question", "ready?")
                .await;
            let _ = client.emit("answered", &json!({ "answer": answer.ok() }));
        });
    }

    #[subscribe_message("join")]
    async fn join(&self, client: Socket) -> &'static str {
        client.join("voters");
        "joined"
    }

    /// Asks every voter and sends the sorted answers back as `results`.
    #[subscribe_message("poll")]
    async fn poll(&self, client: Socket) {
        tokio::spawn(async move {
            let answers = client
                .namespace()
                .to("voters")
                .timeout(PATIENCE)
                .emit_with_ack::<_, String>("vote", "lunch?")
                .await
                .unwrap_or_default();
            let mut answers: Vec<String> = answers
                .into_iter()
                .filter_map(|(_, answer)| answer.ok())
                .collect();
            answers.sort();
            let _ = client.emit("results", &answers);
        });
    }
}

async fn run(mode: &str) {
    let server = serve(conformance::app().gateway(Interop)).await;
    let base = format!("http://{}", server.local_addr());
    let out = run_node("socketio_interop.mjs", &[&base, mode]).await;
    assert!(
        out.contains(&format!("socket.io interop passed ({mode})")),
        "{out}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn default_transports_poll_then_upgrade() {
    run("default").await;
}

#[tokio::test]
async fn long_polling_only() {
    run("polling").await;
}

#[tokio::test]
async fn websocket_only() {
    run("websocket").await;
}

async fn run_python_client(transports: &str) {
    let server = serve(conformance::app().gateway(Interop)).await;
    let base = format!("http://{}", server.local_addr());
    let out = run_python("socketio_client.py", &[&base, transports]).await;
    assert!(
        out.contains(&format!("python-socketio passed ({transports})")),
        "{out}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn python_socketio_default_transports() {
    run_python_client("polling,websocket").await;
}

#[tokio::test]
async fn python_socketio_long_polling_only() {
    run_python_client("polling").await;
}

#[tokio::test]
async fn python_socketio_websocket_only() {
    run_python_client("websocket").await;
}
