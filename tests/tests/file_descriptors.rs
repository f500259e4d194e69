//! Out of file descriptors: accepting backs off and resumes, existing clients keep being served,
//! and new ones are served again once descriptors free up.
//!
//! Its own test binary: it lowers this process's descriptor limit (`prlimit`), which would
//! starve any other test running beside it.

use std::io::ErrorKind;

use gateway_core::test::TestClient;
use gateway_core::GatewayApp;
use gateway_examples::events::EventsGateway;
use gateway_tests::{serve, wait_until, PATIENCE};
use serde_json::json;
use tokio::net::TcpStream;

/// Descriptors this process has open now.
fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
}

async fn ping(client: &mut TestClient) {
    client.emit("ping", ()).await;
    assert_eq!(client.recv().await, json!("pong"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_out_of_descriptors_pauses_accepting_and_spares_existing_clients() {
    let server = serve(GatewayApp::builder().gateway(EventsGateway)).await;
    let url = format!("ws://{}/events", server.local_addr());
    let mut existing = TestClient::connect(&url).await;

    // Room for a few dozen more descriptors, then none.
    let limit = open_descriptors() + 40;
    let status = std::process::Command::new("prlimit")
        .arg(format!("--pid={}", std::process::id()))
        .arg(format!("--nofile={limit}:{limit}"))
        .status()
        .expect("prlimit runs");
    assert!(status.success(), "prlimit lowered the descriptor limit");

    // Each connection costs a descriptor here and one in the server (same process), until
    // neither side can have more.
    let mut hogs = Vec::new();
    loop {
        assert!(hogs.len() < 1000, "the limit was never reached");
        match tokio::time::timeout(PATIENCE, TcpStream::connect(server.local_addr())).await {
            Ok(Ok(stream)) => hogs.push(stream),
            Ok(Err(err)) if err.raw_os_error() == Some(24) || err.kind() == ErrorKind::Other => {
                break
            }
            Ok(Err(err)) => panic!("unexpected connect error: {err}"),
            Err(_) => panic!("connect hung"),
        }
    }
    // The server has hit EMFILE on accept by now (or soon will): the existing client is
    // served all along.
    for _ in 0..5 {
        ping(&mut existing).await;
    }

    // Descriptors come back; a new client is accepted and served again.
    drop(hogs);
    wait_until("descriptors are released", || {
        open_descriptors() + 10 < limit
    })
    .await;
    let mut newcomer = tokio::time::timeout(PATIENCE, TestClient::connect(&url))
        .await
        .expect("a new client is accepted once descriptors free up");
    ping(&mut newcomer).await;
    ping(&mut existing).await;
    server.shutdown().await;
}
