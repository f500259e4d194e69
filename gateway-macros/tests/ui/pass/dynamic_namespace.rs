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

fn main() {
    let options = gateway_core::Gateway::options(&Workspaces);
    assert!(options.is_dynamic());
    assert!(options.keep_empty());
    assert_eq!(options.max_live_namespaces(), 10);
    let app = GatewayApp::builder().gateway(Workspaces).build().unwrap();
    assert!(app.namespace("/workspaces/acme").is_none());
}
