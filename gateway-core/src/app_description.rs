//! The app's description of its gateways (feature `asyncapi`): the AsyncAPI 3.0 document, the
//! TypeScript event maps, and serving the document at a path.

use bytes::Bytes;

use crate::describe;
use crate::routes::Routes;
use crate::{GatewayApp, GatewayAppBuilder};

impl GatewayAppBuilder {
    /// The title and version of the AsyncAPI document (default `Gateway API`, `1.0.0`).
    ///
    /// ```
    /// let builder = gateway_core::GatewayApp::builder().with_api_info("Chat", "2.1.0");
    /// ```
    pub fn with_api_info(mut self, title: impl Into<String>, version: impl Into<String>) -> Self {
        self.api.title = title.into();
        self.api.version = version.into();
        self
    }

    /// Has [`listen`](GatewayApp::listen) serve the AsyncAPI document ([`GatewayApp::asyncapi`])
    /// at `GET path` (and `HEAD`) on the main port, e.g. `/asyncapi.json`. It is built once,
    /// when the app starts listening. Other paths go on to [`GatewayApp::with_routes`]'s
    /// routes, or get NestJS's 404. (Mounted in axum, serve `app.asyncapi()` from a route of
    /// your own.)
    ///
    /// ```
    /// let builder = gateway_core::GatewayApp::builder().with_asyncapi_route("/asyncapi.json");
    /// ```
    pub fn with_asyncapi_route(mut self, path: impl Into<String>) -> Self {
        let path = path.into();
        self.api.route = Some(match path.starts_with('/') {
            true => path,
            false => format!("/{path}"),
        });
        self
    }
}

impl GatewayApp {
    /// The AsyncAPI 3.0 document of the app's gateways, built from their declarations: a
    /// channel per namespace, a `receive` operation per `#[subscribe_message]` (with its reply),
    /// a `send` operation per `#[emits]` event and for `exception`, payload schemas from the
    /// types' `schemars::JsonSchema`, and security schemes from the guards' credentials.
    ///
    /// ```
    /// use gateway_core::{gateway, GatewayApp, MessageBody};
    ///
    /// #[derive(serde::Serialize, schemars::JsonSchema)]
    /// struct Joined { joined: String }
    ///
    /// struct ChatGateway;
    ///
    /// #[gateway(namespace = "/chat")]
    /// impl ChatGateway {
    ///     #[subscribe_message("joinRoom")]
    ///     async fn join(&self, MessageBody(room): MessageBody<String>) -> Joined {
    ///         Joined { joined: room }
    ///     }
    /// }
    ///
    /// let app = GatewayApp::builder().gateway(ChatGateway).build().unwrap();
    /// let document = app.asyncapi();
    /// assert_eq!(document["asyncapi"], "3.0.0");
    /// assert_eq!(document["channels"]["chat"]["address"], "/chat");
    /// assert_eq!(document["operations"]["chat_receive_joinRoom"]["action"], "receive");
    /// ```
    pub fn asyncapi(&self) -> serde_json::Value {
        describe::document(
            &self.described,
            &self.api,
            &self.shared.config.socketio_path,
        )
    }

    /// TypeScript declarations for socket.io-client: the payload types, and per namespace
    /// `ServerToClientEvents` and `ClientToServerEvents` (acks typed from the replies), as a
    /// `.d.ts` file's text.
    ///
    /// ```
    /// use gateway_core::{gateway, GatewayApp};
    ///
    /// struct PingGateway;
    ///
    /// #[gateway(namespace = "/ping")]
    /// impl PingGateway {
    ///     #[subscribe_message("ping")]
    ///     async fn ping(&self) -> &'static str {
    ///         "pong"
    ///     }
    /// }
    ///
    /// let app = GatewayApp::builder().gateway(PingGateway).build().unwrap();
    /// let types = app.typescript();
    /// assert!(types.contains("export declare namespace Ping {"));
    /// assert!(types.contains("ping: (callback: (reply: string) => void) => void;"));
    /// ```
    pub fn typescript(&self) -> String {
        describe::event_maps(&self.asyncapi())
    }

    /// The user's routes, with the AsyncAPI document in front of them if it is to be served.
    pub(crate) fn routes_with_document(&self, routes: Option<Routes>) -> Option<Routes> {
        let Some(path) = self.api.route.clone() else {
            return routes;
        };
        let body = serde_json::to_vec_pretty(&self.asyncapi()).unwrap_or_default();
        Some(Routes::json_document(path, Bytes::from(body), routes))
    }
}
