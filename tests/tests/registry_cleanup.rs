//! Everything a socket owns is released on disconnect: 10 000 sockets connect, join a room,
//! store data and disconnect; afterwards the registries are empty and the data dropped.

use std::sync::Arc;

use gateway_core::test::TestClient;
use gateway_core::{gateway, GatewayApp, Socket};
use gateway_tests::{serve, ws_url, Counter};
use serde_json::json;

const SOCKETS: usize = 10_000;
const AT_ONCE: usize = 50;

/// Counts its drops, to prove per-socket data is released.
struct DropToken(Arc<Counter>);
impl Drop for DropToken {
    fn drop(&mut self) {
        self.0.bump();
    }
}

struct Churn {
    disconnects: Arc<Counter>,
    drops: Arc<Counter>,
}

#[gateway(namespace = "/churn")]
impl Churn {
    fn handle_connection(&self, client: Socket) {
        client.data().insert(DropToken(self.drops.clone()));
    }

    fn handle_disconnect(&self) {
        self.disconnects.bump();
    }

    #[subscribe_message("join")]
    async fn join(&self, client: Socket) -> usize {
        client.join(["lobby", "room:1"]);
        client.rooms().len()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_sockets_leave_nothing_behind() {
    let disconnects = Arc::new(Counter::default());
    let drops = Arc::new(Counter::default());
    let gateway = Churn {
        disconnects: disconnects.clone(),
        drops: drops.clone(),
    };
    let server = serve(GatewayApp::builder().gateway(gateway)).await;
    let url = ws_url(&server, "/churn");
    let ns = server.namespace("/churn").unwrap();

    for batch in 0..SOCKETS / AT_ONCE {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..AT_ONCE {
            let url = url.clone();
            tasks.spawn(async move {
                let mut c = TestClient::connect(&url).await;
                c.emit("join", ()).await;
                assert_eq!(c.recv().await, json!(3));
                c.close().await;
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        assert!(ns.socket_count() <= SOCKETS, "batch {batch}");
    }

    disconnects.wait_for(SOCKETS).await;
    drops.wait_for(SOCKETS).await;
    assert_eq!(ns.socket_count(), 0);
    assert_eq!(ns.room_count(), 0);
    assert_eq!(ns.room_size("lobby"), 0);
    server.shutdown().await;
}
