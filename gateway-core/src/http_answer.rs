//! What the server answers over HTTP itself: the WebSocket handshake's `101`, and the error
//! statuses (NestJS's 404, refused upgrades, JSON error bodies).

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::WsException;

/// The `101 Switching Protocols` answer to an upgrade with `key`.
pub(crate) fn switching_protocols(key: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

/// Why a request to a gateway's path is not a WebSocket upgrade we accept.
pub(crate) enum NotAnUpgrade {
    /// Not `GET` with `Connection: upgrade` and `Upgrade: websocket`.
    Plain,
    /// `Sec-WebSocket-Version` is not 13.
    Version,
    /// No `Sec-WebSocket-Key`.
    MissingKey,
}

impl NotAnUpgrade {
    pub(crate) fn into_response(self) -> Response<Full<Bytes>> {
        let (status, body, header) = match self {
            Self::Plain => (
                StatusCode::UPGRADE_REQUIRED,
                "Upgrade Required",
                Some((header::UPGRADE, "websocket")),
            ),
            Self::Version => (
                StatusCode::UPGRADE_REQUIRED,
                "Unsupported WebSocket version",
                Some((header::SEC_WEBSOCKET_VERSION, "13")),
            ),
            Self::MissingKey => (StatusCode::BAD_REQUEST, "Missing Sec-WebSocket-Key", None),
        };
        let mut response = plain(status, body);
        if let Some((name, value)) = header {
            response
                .headers_mut()
                .insert(name, HeaderValue::from_static(value));
        }
        response
    }
}

/// The `Sec-WebSocket-Key` of a valid upgrade request.
pub(crate) fn websocket_key<B>(req: &Request<B>) -> Result<String, NotAnUpgrade> {
    let headers = req.headers();
    // Clients send the one token alone (`Upgrade: websocket`, `Connection: Upgrade`): compared
    // whole first, split only when that fails.
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.as_bytes().eq_ignore_ascii_case(token.as_bytes())
                || v.to_str()
                    .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    if req.method() != Method::GET
        || !has_token(header::CONNECTION, "upgrade")
        || !has_token(header::UPGRADE, "websocket")
    {
        return Err(NotAnUpgrade::Plain);
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v != "13")
    {
        return Err(NotAnUpgrade::Version);
    }
    match headers
        .get(header::SEC_WEBSOCKET_KEY)
        .and_then(|k| k.to_str().ok())
    {
        Some(key) if !key.trim().is_empty() => Ok(key.trim().to_owned()),
        _ => Err(NotAnUpgrade::MissingKey),
    }
}

/// NestJS's answer to a request no route serves: 404 with
/// `{"message":"Cannot GET /path","error":"Not Found","statusCode":404}`.
pub(crate) fn not_found<B>(req: &Request<B>) -> Response<Full<Bytes>> {
    not_found_at(req.method(), req.uri())
}

/// NestJS's 404 for a `method` request to `uri`.
pub(crate) fn not_found_at(method: &Method, uri: &http::Uri) -> Response<Full<Bytes>> {
    let url = uri.path_and_query().map_or("/", |p| p.as_str());
    let body = serde_json::json!({
        "message": format!("Cannot {method} {url}"),
        "error": "Not Found",
        "statusCode": 404,
    });
    json_body(StatusCode::NOT_FOUND, body.to_string())
}

pub(crate) fn plain(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=UTF-8"),
    );
    response
}

/// The answer to an upgrade a connection guard refused with `exception`: 401 with its payload,
/// or 500 for an internal error (logged).
pub(crate) fn refused(gateway: &str, exception: &WsException) -> Response<Full<Bytes>> {
    let status = if let Some(source) = exception.source() {
        tracing::error!(gateway, error = %source, "connection guard failed");
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::UNAUTHORIZED
    };
    json_body(status, exception.payload("handleConnection", None, false))
}

pub(crate) fn json_error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    json_body(
        status,
        serde_json::json!({ "status": "error", "message": message }).to_string(),
    )
}

pub(crate) fn json_body(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}
