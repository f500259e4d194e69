//! The `chat` example's browser demo, served beside its gateways (`GatewayApp::with_routes`):
//!
//! - `GET /`: a chat page, plain HTML and JavaScript (`examples/chat_page/`), that signs in with a
//!   name, joins a room and chats with the browser's own `WebSocket` in NestJS's JSON format,
//!   and shows the gateway's `exception` events (validation errors) as they come;
//! - `GET /demo/chat.js`: the page's script;
//! - `POST /demo/token`: **a demo-only token endpoint**. The body is a name (text); the answer is
//!   a one-hour chat token for it, from [`mint_token`], as plain text:
//!   `curl -s -d alice http://localhost:3000/demo/token`. It gives a token to anyone who asks,
//!   for any name: fine for trying the example on your own machine, never for an app others can
//!   reach. A real app signs tokens only after checking who the user is (its own login).
//!
//! Any other path gets the 404 NestJS sends (`{"message":"Cannot GET /x",…}`), as the app does
//! without routes.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;

use crate::chat::mint_token;

/// The page at `GET /`.
pub const PAGE_HTML: &str = include_str!("../chat_page/index.html");

/// The page's script, at `GET /demo/chat.js`.
pub const PAGE_SCRIPT: &str = include_str!("../chat_page/chat.js");

/// The longest name `POST /demo/token` accepts, in characters.
pub const MAX_NAME_CHARS: usize = 32;

/// A sign-in body is a short name: anything much longer is refused before it is read whole.
const MAX_BODY_BYTES: usize = 1024;

/// The demo page, its script and the demo-only token endpoint, signing with `jwt_secret` (the
/// chat gateway's). Serve them beside the gateways with `GatewayApp::with_routes`.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use gateway_core::GatewayApp;
/// use gateway_examples::{chat::ChatGateway, chat_page};
///
/// let server = GatewayApp::builder()
///     .gateway(ChatGateway::new("secret"))
///     .build()?
///     .with_routes(chat_page::routes("secret"))
///     .listen("127.0.0.1:3000")
///     .await?;
/// # Ok(()) }
/// ```
pub fn routes(jwt_secret: &str) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/demo/chat.js", get(script))
        .route("/demo/token", post(demo_token))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(DemoSecret(jwt_secret.into()))
}

/// The secret the demo endpoint signs with.
#[derive(Clone)]
struct DemoSecret(std::sync::Arc<str>);

async fn page() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        PAGE_HTML,
    )
}

async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        PAGE_SCRIPT,
    )
}

/// Demo only: a token for whatever name is asked for (see the module docs).
async fn demo_token(
    State(secret): State<DemoSecret>,
    body: String,
) -> Result<String, (StatusCode, String)> {
    let name = demo_name(&body).ok_or_else(|| {
        let why =
            format!("the body must be a name of 1 to {MAX_NAME_CHARS} characters, e.g. alice");
        (StatusCode::BAD_REQUEST, why)
    })?;
    Ok(mint_token(&secret.0, name, None))
}

/// The name in a `POST /demo/token` body: the text without surrounding whitespace, if it is 1
/// to [`MAX_NAME_CHARS`] characters long and none of them is a control character.
///
/// ```
/// use gateway_examples::chat_page::demo_name;
///
/// assert_eq!(demo_name(" alice\n"), Some("alice"));
/// assert_eq!(demo_name("Zoë Smith"), Some("Zoë Smith"));
/// assert_eq!(demo_name("   "), None);
/// assert_eq!(demo_name("a\u{7}b"), None);
/// assert_eq!(demo_name(&"x".repeat(33)), None);
/// ```
pub fn demo_name(body: &str) -> Option<&str> {
    let name = body.trim();
    let length = name.chars().count();
    let fits = (1..=MAX_NAME_CHARS).contains(&length);
    (fits && !name.chars().any(char::is_control)).then_some(name)
}

/// NestJS's 404, as the app answers without routes.
async fn not_found(method: Method, uri: Uri) -> impl IntoResponse {
    let url = uri.path_and_query().map_or("/", |p| p.as_str());
    let body = json!({
        "message": format!("Cannot {method} {url}"),
        "error": "Not Found",
        "statusCode": 404,
    });
    let json = [(header::CONTENT_TYPE, "application/json; charset=utf-8")];
    (StatusCode::NOT_FOUND, json, body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The page's default room is the one the printed hints use, so a browser and a terminal
    /// client meet in the same room.
    #[test]
    fn the_page_starts_in_the_hints_room() {
        assert!(PAGE_HTML.contains(&format!(r#"value="{}""#, crate::chat::EXAMPLE_ROOM_ID)));
    }

    #[test]
    fn the_page_loads_the_script_it_is_served_with() {
        assert!(PAGE_HTML.contains(r#"<script src="/demo/chat.js"></script>"#));
    }
}
