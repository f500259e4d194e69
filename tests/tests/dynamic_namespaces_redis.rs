//! Dynamic namespaces across instances behind a real `redis-server`: a concrete namespace one
//! instance created on a client's connection hears the broadcasts another instance makes to it,
//! and stops listening once it is dropped.

use std::time::Duration;

use gateway_core::test::TestClient;
use gateway_core::GatewayApp;
use gateway_examples::workspaces::WorkspacesGateway;
use gateway_redis::RedisAdapter;
use gateway_tests::cluster::{events_until, RedisServer};
use gateway_tests::{serve, wait_until, ws_url, TestServer, PATIENCE};
use serde_json::json;

async fn instance(redis: &RedisServer) -> TestServer {
    let adapter = RedisAdapter::new(&redis.url())
        .unwrap()
        .with_required_at_startup(true)
        .with_reconnect_delay(Duration::from_millis(20), Duration::from_millis(500));
    serve(
        GatewayApp::builder()
            .with_adapter(adapter)
            .gateway(WorkspacesGateway),
    )
    .await
}

/// A JSON-format client of `path` on `server`, once the namespace has answered it.
async fn client(server: &TestServer, path: &str) -> TestClient {
    let mut client = TestClient::connect(&ws_url(server, path)).await;
    client.emit("whoami", ()).await;
    let workspace = path.rsplit('/').next().unwrap_or_default();
    assert_eq!(client.recv().await, json!({ "workspace": workspace }));
    client
}

#[tokio::test]
async fn a_broadcast_reaches_a_namespace_created_on_another_instance() {
    let redis = RedisServer::start().await;
    let a = instance(&redis).await;
    let b = instance(&redis).await;
    // Created on B by its first client (the upgrade is answered once B has subscribed).
    let mut acme_on_b = client(&b, "/workspaces/acme").await;
    let mut globex_on_b = client(&b, "/workspaces/globex").await;
    let mut acme_on_a = client(&a, "/workspaces/acme").await;
    let acme = a.namespace("/workspaces/acme").expect("live on A");
    assert_eq!(acme.server_count().await.unwrap(), 2, "A and B hear acme");

    // A client's broadcast on A, and a server-side emit on A, reach B's client of acme only.
    acme_on_a.emit("announce", "from a client on A").await;
    assert_eq!(
        acme_on_b.recv().await,
        json!({ "event": "announcement", "data": "from a client on A" })
    );
    acme.emit("notice", &"from the server on A").unwrap();
    acme.emit("marker", &0).unwrap();
    assert_eq!(
        events_until(&mut acme_on_b, "marker", 1).await,
        [("notice".to_owned(), json!("from the server on A"))]
    );
    let globex = b.namespace("/workspaces/globex").expect("live on B");
    globex.emit("marker", &0).unwrap();
    assert!(events_until(&mut globex_on_b, "marker", 1).await.is_empty());

    // Dropped on B when its client leaves: B stops hearing acme...
    acme_on_b.close().await;
    wait_until("acme is dropped on B", || {
        b.namespace("/workspaces/acme").is_none()
    })
    .await;
    // The unsubscription reaches Redis just after the drop: wait for it to show.
    let unsubscribed = async {
        while acme.server_count().await.unwrap() != 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(PATIENCE, unsubscribed)
        .await
        .expect("B unsubscribed from acme");
    // ...and hears it again once created anew.
    let mut again_on_b = client(&b, "/workspaces/acme").await;
    assert_eq!(acme.server_count().await.unwrap(), 2);
    acme.emit("notice", &"again").unwrap();
    acme.emit("marker", &0).unwrap();
    assert_eq!(
        events_until(&mut again_on_b, "marker", 1).await,
        [("notice".to_owned(), json!("again"))]
    );
    for client in [acme_on_a, globex_on_b, again_on_b] {
        client.close().await;
    }
    a.shutdown().await;
    b.shutdown().await;
}
