//! `WorkspacesGateway`: a dynamic namespace, `/workspaces/{workspace}`. Each workspace
//! (`/workspaces/acme`, `/workspaces/globex`) is its own namespace, created when its first
//! client connects and dropped when its last one leaves; its rooms and broadcasts stay in it.

use gateway_core::{gateway, MessageBody, NamespaceParams, Socket};
use serde_json::{json, Value};

/// Answers `whoami` with the workspace the client connected to, and relays `announce` to
/// everyone else in that workspace.
#[derive(Debug, Default, Clone, Copy)]
pub struct WorkspacesGateway;

#[gateway(namespace = "/workspaces/{workspace}")]
impl WorkspacesGateway {
    /// `{"event":"whoami"}` → `{"workspace":"acme"}` on `/workspaces/acme`.
    #[subscribe_message("whoami")]
    async fn whoami(&self, params: NamespaceParams) -> Value {
        json!({ "workspace": params.get("workspace") })
    }

    /// Sends `data` as `announcement` to the other clients of this workspace only.
    #[subscribe_message("announce")]
    #[emits("announcement" = Value)]
    async fn announce(&self, client: Socket, MessageBody(data): MessageBody<Value>) {
        let _ = client.broadcast().emit("announcement", &data);
    }
}
