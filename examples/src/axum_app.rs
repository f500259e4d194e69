//! `cargo run --example axum_app`: the chat and events gateways and a small REST API on one
//! axum server and one port, as a NestJS app serves its gateways on the HTTP app's port.
//!
//! - `GET /health` answers 200.
//! - `POST /rooms/{id}/messages` with `{"message": "…"}` and the chat's JWT
//!   (`Authorization: Bearer …`) sends `newMessage` to the room through the `/chat` namespace
//!   (NestJS's service-injects-gateway pattern), and answers 201 `{"sent":true}`.
//! - Everything the gateways serve (`/chat`, `/events`, `/socket.io/`) goes to them.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path as FilePath;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::{Json, Router};
use gateway_core::jwt::JwtAuthGuard;
use gateway_core::{GatewayApp, GatewayAppBuilder, Gateways, Namespace};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::chat::{chat_auth, ChatGateway, ChatService, NewMessage, User};
use crate::events::EventsGateway;
use crate::iso_timestamp;

/// The gateways `axum_app` serves: chat (JWT signed with `jwt_secret`) and events.
///
/// ```
/// let app = gateway_examples::axum_app::gateways("secret").build().unwrap();
/// ```
pub fn gateways(jwt_secret: &str) -> GatewayAppBuilder {
    GatewayApp::builder()
        .gateway(ChatGateway::new(jwt_secret))
        .gateway(EventsGateway)
}

/// What the REST routes share: the chat namespace, and the chat's JWT guard.
#[derive(Clone)]
struct Rest {
    chat: ChatService,
    auth: JwtAuthGuard,
}

/// The REST routes, with the gateways layered in front of them (for `axum::serve`, or any
/// server that mounts a tower service).
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let gateways = gateway_examples::axum_app::gateways("secret").build()?.start().await?;
/// let router = gateway_examples::axum_app::router(&gateways, "secret");
/// # Ok(()) }
/// ```
pub fn router(gateways: &Gateways, jwt_secret: &str) -> Router {
    let chat = gateways
        .namespace("/chat")
        .expect("the chat gateway is registered");
    routes(chat, jwt_secret).layer(gateways.layer())
}

/// The REST routes alone, sending through `chat`: what `GatewayApp::with_routes` serves beside
/// the gateways under `listen()`.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use gateway_examples::axum_app;
/// let app = axum_app::gateways("secret").build()?;
/// let routes = axum_app::routes(app.namespace("/chat").unwrap(), "secret");
/// let server = app.with_routes(routes).listen("127.0.0.1:3000").await?;
/// # Ok(()) }
/// ```
pub fn routes(chat: Namespace, jwt_secret: &str) -> Router {
    let rest = Rest {
        chat: ChatService::new(chat),
        auth: chat_auth(jwt_secret),
    };
    Router::new()
        .route("/health", get(|| async { Json(json!({ "status": "ok" })) }))
        .route("/rooms/{id}/messages", post(post_message))
        .with_state(rest)
}

/// `POST /rooms/{id}/messages` body.
#[derive(Debug, Deserialize)]
struct PostMessage {
    message: Value,
}

/// Sends `newMessage` to `room:{id}` as the token's user.
async fn post_message(
    State(rest): State<Rest>,
    Path(room_id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<PostMessage>, JsonRejection>,
) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .and_then(|rest| rest.split(' ').next())
        .filter(|token| !token.is_empty());
    let user = token
        .and_then(|token| rest.auth.verify(token).ok())
        .and_then(|claims| serde_json::from_value::<User>(claims.0).ok());
    let Some(user) = user else {
        // NestJS's UnauthorizedException.
        let body = json!({ "message": "Unauthorized", "statusCode": 401 });
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    };
    let message = match body {
        Ok(Json(PostMessage {
            message: Value::String(text),
        })) if !text.is_empty() && text.chars().count() <= 1000 => text,
        // NestJS's ValidationPipe.
        _ => {
            let body = json!({
                "message": ["message must be a non-empty string of at most 1000 characters"],
                "error": "Bad Request",
                "statusCode": 400,
            });
            return (StatusCode::BAD_REQUEST, Json(body)).into_response();
        }
    };
    let payload = NewMessage {
        user_id: user.sub,
        message,
        timestamp: iso_timestamp(),
    };
    match rest
        .chat
        .broadcast_to_room(&room_id, "newMessage", &payload)
    {
        Ok(_) => (StatusCode::CREATED, Json(json!({ "sent": true }))).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "newMessage not sent");
            let body = json!({ "message": "Internal server error", "statusCode": 500 });
            (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
        }
    }
}

/// Serves `router` on `listener` over plain HTTP until `signal`, then shuts the gateways down
/// (their sockets get 1001) and lets axum finish.
///
/// ```no_run
/// # async fn run(gateways: gateway_core::Gateways, router: axum::Router) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// gateway_examples::axum_app::serve(listener, router, gateways, async {
///     let _ = tokio::signal::ctrl_c().await;
/// })
/// .await
/// # }
/// ```
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    gateways: Gateways,
    signal: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router.into_make_service_with_connect_info::<SocketAddr>();
    // Small frames go out at once, as `listen()` does.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(gateways.shutdown_on(signal))
        .await
}

/// Serves `router` on `listener` over TLS (rustls, `cert` and `key` PEM files) until
/// `signal`, then shuts the gateways down and lets the server finish.
///
/// ```no_run
/// # async fn run(gateways: gateway_core::Gateways, router: axum::Router) -> std::io::Result<()> {
/// let listener = std::net::TcpListener::bind("127.0.0.1:3443")?;
/// gateway_examples::axum_app::serve_tls(
///     listener, "cert.pem".as_ref(), "key.pem".as_ref(), router, gateways,
///     async { let _ = tokio::signal::ctrl_c().await; },
/// )
/// .await
/// # }
/// ```
pub async fn serve_tls(
    listener: std::net::TcpListener,
    cert: &FilePath,
    key: &FilePath,
    router: Router,
    gateways: Gateways,
    signal: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key).await?;
    let handle = axum_server::Handle::new();
    let stopping = handle.clone();
    tokio::spawn(async move {
        gateways.shutdown_on(signal).await;
        stopping.graceful_shutdown(None);
    });
    listener.set_nonblocking(true)?;
    axum_server::from_tcp_rustls(listener, config)?
        .handle(handle)
        .serve(router.into_make_service_with_connect_info::<SocketAddr>())
        .await
}
