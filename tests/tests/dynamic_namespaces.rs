//! Dynamic namespaces (`#[gateway(namespace = "/workspaces/{workspace}")]`): concrete
//! namespaces created on their first connection and dropped when empty, their parameters
//! through the extractor, isolated rooms and broadcasts, and the bound on live namespaces; with
//! the real npm `socket.io-client` and `ws` (tests/node/dynamic_namespaces.mjs).

use std::sync::Arc;

use gateway_core::pipeline::{connection_guard_fn, ConnectionContext};
use gateway_core::test::TestClient;
use gateway_core::{gateway, GatewayApp, MessageBody, Namespace, NamespaceParams, Socket};
use gateway_examples::workspaces::WorkspacesGateway;
use gateway_tests::{run_node, serve, wait_until, ws_url, Counter};
use serde::Deserialize;
use serde_json::{json, Value};

/// Workspaces with rooms, at most two live at once; counts `after_init` runs (one per concrete
/// namespace created) and disconnects.
struct Workspaces {
    inits: Arc<Counter>,
    disconnects: Arc<Counter>,
}

#[derive(Deserialize)]
struct Shout {
    room: String,
    text: String,
}

#[gateway(namespace = "/workspaces/{workspace}", max_namespaces = 2)]
impl Workspaces {
    async fn after_init(&self, server: Namespace) {
        assert!(server.params().get("workspace").is_some());
        self.inits.bump();
    }

    async fn handle_disconnect(&self, _client: Socket) {
        self.disconnects.bump();
    }

    #[subscribe_message("whoami")]
    async fn whoami(&self, params: NamespaceParams) -> Value {
        json!({ "workspace": params.get("workspace") })
    }

    #[subscribe_message("join")]
    async fn join(&self, client: Socket, MessageBody(room): MessageBody<String>) -> Value {
        client.join(room);
        json!("joined")
    }

    #[subscribe_message("shout")]
    async fn shout(&self, server: Namespace, MessageBody(shout): MessageBody<Shout>) {
        let workspace = server
            .params()
            .get("workspace")
            .unwrap_or_default()
            .to_owned();
        let _ = server.to(shout.room).emit(
            "shouted",
            &json!({ "workspace": workspace, "text": shout.text }),
        );
    }
}

/// The [`Workspaces`] gateway and its counters.
fn workspaces() -> (Workspaces, Arc<Counter>, Arc<Counter>) {
    let inits = Arc::new(Counter::default());
    let disconnects = Arc::new(Counter::default());
    let gateway = Workspaces {
        inits: inits.clone(),
        disconnects: disconnects.clone(),
    };
    (gateway, inits, disconnects)
}

#[tokio::test]
async fn socketio_and_ws_clients_get_their_own_concrete_namespaces() {
    let (gateway, inits, _) = workspaces();
    let server = serve(GatewayApp::builder().gateway(gateway)).await;
    let base = format!("http://{}", server.local_addr());

    let out = run_node("dynamic_namespaces.mjs", &[&base, "first"]).await;
    assert!(out.contains("dynamic namespaces first passed"), "{out}");
    assert_eq!(inits.get(), 2, "after_init once per concrete namespace");
    wait_until("acme and globex are dropped", || {
        server.namespace("/workspaces/acme").is_none()
            && server.namespace("/workspaces/globex").is_none()
    })
    .await;

    let out = run_node("dynamic_namespaces.mjs", &[&base, "again"]).await;
    assert!(out.contains("dynamic namespaces again passed"), "{out}");
    assert_eq!(inits.get(), 4, "initech, and globex created anew");
    server.shutdown().await;
}

#[tokio::test]
async fn the_chat_examples_workspaces_answer_whoami() {
    let server = serve(GatewayApp::builder().gateway(WorkspacesGateway)).await;
    let base = format!("http://{}", server.local_addr());
    let out = run_node("dynamic_namespaces.mjs", &[&base, "example"]).await;
    assert!(out.contains("dynamic namespaces example passed"), "{out}");
    server.shutdown().await;
}

#[tokio::test]
async fn an_empty_namespace_is_dropped_and_created_anew() {
    let (gateway, inits, _) = workspaces();
    let server = serve(GatewayApp::builder().gateway(gateway)).await;
    assert!(
        server.namespace("/workspaces/acme").is_none(),
        "none before a client"
    );

    let mut client = TestClient::connect(&ws_url(&server, "/workspaces/acme")).await;
    client.emit("whoami", ()).await;
    assert_eq!(client.recv().await, json!({ "workspace": "acme" }));
    let acme = server.namespace("/workspaces/acme").expect("live");
    assert_eq!(acme.params().get("workspace"), Some("acme"));
    assert_eq!(acme.socket_count(), 1);
    client.close().await;
    wait_until("acme is dropped", || {
        server.namespace("/workspaces/acme").is_none()
    })
    .await;

    let mut again = TestClient::connect(&ws_url(&server, "/workspaces/acme")).await;
    again.emit("whoami", ()).await;
    assert_eq!(again.recv().await, json!({ "workspace": "acme" }));
    assert_eq!(inits.get(), 2, "after_init ran again for the new namespace");
    again.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn paths_that_do_not_match_the_pattern_are_not_served() {
    let (gateway, _, _) = workspaces();
    let server = serve(GatewayApp::builder().gateway(gateway)).await;
    for path in ["/workspaces/", "/workspaces", "/workspaces/acme/extra"] {
        let refused = TestClient::try_connect(ws_url(&server, path)).await;
        assert!(refused.is_err(), "{path} is not a concrete namespace");
    }
    assert!(server.namespace("/workspaces/").is_none());
    server.shutdown().await;
}

/// Keeps its empty namespaces.
struct KeptWorkspaces {
    inits: Arc<Counter>,
    disconnects: Arc<Counter>,
}

#[gateway(namespace = "/kept/{workspace}", keep_empty = true)]
impl KeptWorkspaces {
    async fn after_init(&self) {
        self.inits.bump();
    }

    async fn handle_disconnect(&self, _client: Socket) {
        self.disconnects.bump();
    }

    #[subscribe_message("whoami")]
    async fn whoami(&self, params: NamespaceParams) -> Value {
        json!({ "workspace": params.get("workspace") })
    }
}

#[tokio::test]
async fn keep_empty_keeps_a_namespace_without_sockets() {
    let inits = Arc::new(Counter::default());
    let disconnects = Arc::new(Counter::default());
    let gateway = KeptWorkspaces {
        inits: inits.clone(),
        disconnects: disconnects.clone(),
    };
    let server = serve(GatewayApp::builder().gateway(gateway)).await;
    let client = TestClient::connect(&ws_url(&server, "/kept/acme")).await;
    let kept = server.namespace("/kept/acme").expect("live");
    client.close().await;
    disconnects.wait_for(1).await;
    assert_eq!(kept.socket_count(), 0);

    let mut again = TestClient::connect(&ws_url(&server, "/kept/acme")).await;
    again.emit("whoami", ()).await;
    assert_eq!(again.recv().await, json!({ "workspace": "acme" }));
    assert!(server.namespace("/kept/acme").is_some());
    assert_eq!(inits.get(), 1, "the same namespace, not a new one");
    server.shutdown().await;
}

/// A regular-expression namespace, as socket.io's RegExp namespaces.
struct Rooms;

#[gateway(namespace_regex = r"^/rooms/(?<room>[a-z0-9-]+)$", max_namespaces = 1)]
impl Rooms {
    #[subscribe_message("whereami")]
    async fn whereami(&self, params: NamespaceParams) -> Value {
        json!({ "room": params.get("room") })
    }
}

#[tokio::test]
async fn a_regex_namespace_takes_its_params_from_named_groups() {
    let server = serve(GatewayApp::builder().gateway(Rooms)).await;
    let mut client = TestClient::connect(&ws_url(&server, "/rooms/lobby-1")).await;
    client.emit("whereami", ()).await;
    assert_eq!(client.recv().await, json!({ "room": "lobby-1" }));
    assert!(server.namespace("/rooms/lobby-1").is_some());
    // Not matched, and over the bound of one live namespace: both refused.
    for path in ["/rooms/UPPER", "/rooms/other"] {
        let refused = TestClient::try_connect(ws_url(&server, path)).await;
        assert!(refused.is_err(), "{path} is refused");
    }
    client.close().await;
    server.shutdown().await;
}

/// Lets in only clients with `?key=open-sesame`.
struct GuardedWorkspaces;

#[gateway(namespace = "/guarded/{workspace}", max_namespaces = 1)]
#[use_connection_guards(connection_guard_fn(|cx: ConnectionContext| async move {
    cx.handshake().query("key") == Some("open-sesame")
}))]
impl GuardedWorkspaces {
    #[subscribe_message("whoami")]
    async fn whoami(&self, params: NamespaceParams) -> Value {
        json!({ "workspace": params.get("workspace") })
    }
}

#[tokio::test]
async fn a_refused_client_creates_no_namespace() {
    let server = serve(GatewayApp::builder().gateway(GuardedWorkspaces)).await;
    // The guards run before the namespace is created: refused clients cannot fill the bound.
    for name in ["a", "b", "c"] {
        let refused = TestClient::try_connect(ws_url(&server, &format!("/guarded/{name}"))).await;
        assert!(refused.is_err(), "refused without the key");
        assert!(server.namespace(&format!("/guarded/{name}")).is_none());
    }
    let mut admitted = TestClient::connect(&ws_url(&server, "/guarded/d?key=open-sesame")).await;
    admitted.emit("whoami", ()).await;
    assert_eq!(admitted.recv().await, json!({ "workspace": "d" }));
    admitted.close().await;
    server.shutdown().await;
}
