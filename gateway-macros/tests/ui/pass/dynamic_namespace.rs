use gateway_core::{gateway, GatewayApp, Namespace, NamespaceParams};

struct Workspaces;

#[gateway(namespace = "/workspaces/{workspace}", keep_empty = true, max_namespaces = 10)]
impl Workspaces {
    async fn after_init(&self, server: Namespace) {
        let _ = server.params().get("workspace");
    }

    #[subscribe_message("whoami")]
    async fn whoami(&self, params: NamespaceParams) -> serde_json::Value {
        serde_json::json!({ "workspace": params.get("workspace") })
    }
}

struct Rooms;

#[gateway(namespace_regex = r"^/rooms/(?<room>[a-z0-9-]+)$", max_namespaces = 5)]
impl Rooms {
    #[subscribe_message("whereami")]
    async fn whereami(&self, params: NamespaceParams) -> Option<String> {
        params.get("room").map(str::to_owned)
    }
}

fn main() {
    let rooms = gateway_core::Gateway::options(&Rooms);
    assert!(rooms.namespace_is_regex());
    assert_eq!(rooms.max_live_namespaces(), 5);
    let options = gateway_core::Gateway::options(&Workspaces);
    assert!(options.is_dynamic());
    assert!(options.keep_empty());
    assert_eq!(options.max_live_namespaces(), 10);
    let app = GatewayApp::builder().gateway(Workspaces).build().unwrap();
    assert!(app.namespace("/workspaces/acme").is_none());
}
