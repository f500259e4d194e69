//! What the gateways do with an HTTP request that is theirs: a WebSocket upgrade to a gateway's
//! path (its connection guards run first), or Engine.IO at the Socket.IO path (long-polling, an
//! upgrade, or Engine.IO's HTTP errors). An accepted upgrade comes back as an [`Upgrade`], which
//! serves the stream with [`connection`](crate::connection) or [`engineio`](crate::engineio).

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;

use crate::client_address::client_ip;
use crate::clients::{Held, Refusal as ClientRefusal};
use crate::deflate::offer::{self, Agreement};
use crate::engineio::{self, Protocol};
use crate::http_answer::{
    json_body, json_error, not_found, not_found_at, plain, refused, switching_protocols,
    websocket_key, NotAnUpgrade,
};
use crate::namespace_table::{Found, NamespaceTable};
use crate::pipeline::{run_connection_guards, ConnectionContext, Refusal, FORBIDDEN_MESSAGE};
use crate::runtime::Runtime;
use crate::upgrade::Upgrade;
use crate::{connection, Handshake};

/// The errors a request body may fail with.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What one service serves: JSON-format gateways by path, Socket.IO namespaces by name.
#[derive(Default)]
pub(crate) struct Endpoints {
    pub(crate) by_path: NamespaceTable,
    pub(crate) by_namespace: Arc<NamespaceTable>,
}

impl Endpoints {
    pub(crate) fn new(by_path: NamespaceTable, by_namespace: NamespaceTable) -> Self {
        Self {
            by_path,
            by_namespace: Arc::new(by_namespace),
        }
    }
}

/// The client's address, from the request's extensions (axum's `ConnectInfo`); unspecified
/// when the server gave none.
pub(crate) fn peer_addr<B>(_req: &Request<B>) -> SocketAddr {
    #[cfg(feature = "axum")]
    if let Some(axum::extract::ConnectInfo(addr)) = _req
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
    {
        return *addr;
    }
    SocketAddr::from(([0, 0, 0, 0], 0))
}

/// Whose a request is.
pub(crate) enum Target {
    /// A JSON-format gateway's path, and the upgrade's `Sec-WebSocket-Key` (or why it is not
    /// one we accept).
    Gateway(Found, Result<String, NotAnUpgrade>),
    /// The Engine.IO path: Socket.IO, or the conformance echo.
    EngineIo(Protocol),
}

/// Whose `req` is, or `None` when it is not the gateways' (it goes to the fallback). At a
/// gateway's path only an upgrade is theirs: a plain request falls through, as in NestJS, where
/// no HTTP route serves it.
pub(crate) fn target<B>(
    req: &Request<B>,
    endpoints: &Endpoints,
    shared: &Runtime,
) -> Option<Target> {
    let path = req.uri().path();
    let at = |endpoint: &str| path == endpoint || Some(path) == endpoint.strip_suffix('/');
    if at(&shared.config.socketio_path) {
        return Some(Target::EngineIo(Protocol::SocketIo(
            endpoints.by_namespace.clone(),
        )));
    }
    #[cfg(feature = "conformance")]
    if shared.config.engine_io_echo_path.as_deref().is_some_and(at) {
        return Some(Target::EngineIo(Protocol::Echo));
    }
    let found = endpoints.by_path.find(path)?;
    match websocket_key(req) {
        Err(NotAnUpgrade::Plain) => None,
        key => Some(Target::Gateway(found, key)),
    }
}

/// The answer to a request, and for a `101`, what serves the connection after it.
pub(crate) struct Answered {
    pub(crate) response: Response<Full<Bytes>>,
    pub(crate) upgrade: Option<Upgrade>,
}

impl From<Response<Full<Bytes>>> for Answered {
    fn from(response: Response<Full<Bytes>>) -> Self {
        Self {
            response,
            upgrade: None,
        }
    }
}

/// Answers a request [`target`] found to be the gateways'.
pub(crate) async fn answer<B>(
    target: Target,
    req: Request<B>,
    shared: Arc<Runtime>,
    remote: SocketAddr,
) -> Answered
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    match target {
        Target::Gateway(found, key) => upgrade_to_gateway(req, found, key, &shared, remote).await,
        Target::EngineIo(protocol) => engine_io(req, protocol, &shared, remote).await,
    }
}

/// A WebSocket upgrade to a gateway's path: origin check, connection guards, the namespace
/// (a dynamic one created, or refused with 404 when its gateway is at capacity), then `101`.
async fn upgrade_to_gateway<B>(
    req: Request<B>,
    found: Found,
    key: Result<String, NotAnUpgrade>,
    shared: &Arc<Runtime>,
    remote: SocketAddr,
) -> Answered {
    if shared.shutdown.is_cancelled() {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "Shutting down").into();
    }
    let key = match key {
        Ok(key) => key,
        // A plain request at a gateway's path is one no HTTP route serves, as in NestJS.
        Err(NotAnUpgrade::Plain) => return not_found(&req).into(),
        Err(refusal) => return refusal.into_response().into(),
    };
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok());
    if !found.options().allowed_origins().allows(origin) {
        return json_error(StatusCode::FORBIDDEN, "Origin not allowed").into();
    }
    let client = client_ip(&req, remote.ip(), &shared.config.trusted_proxies);
    let slot = match shared.clients.admit(client, Held::Connection) {
        Ok(slot) => slot,
        Err(refusal) => return too_many(refusal).into(),
    };

    let (parts, _body) = req.into_parts();
    let deflate = negotiate_deflate(&parts.headers, shared);
    let handshake = Handshake::from_client(parts.uri, parts.headers, remote, client);
    let gateway = found.gateway();
    let cx = ConnectionContext::new(handshake.clone(), gateway);
    match run_connection_guards(found.connection_guards(), &cx).await {
        Ok(()) => {}
        Err(Refusal::Forbidden) => {
            return json_error(StatusCode::FORBIDDEN, FORBIDDEN_MESSAGE).into()
        }
        Err(Refusal::Failed(exception)) => return refused(gateway, &exception).into(),
    }
    let path = handshake.path().to_owned();
    // As socket.io refuses an unknown namespace: a client cannot tell a full gateway apart.
    let Ok(entered) = found.enter(&path).await else {
        tracing::warn!(gateway, namespace = %path, "live namespaces bound reached: connection refused");
        return not_found_at(&Method::GET, handshake.uri()).into();
    };
    if shared.shutdown.is_cancelled() {
        // Shutdown began while the guards ran: do not start a socket it would not wait for.
        return plain(StatusCode::SERVICE_UNAVAILABLE, "Shutting down").into();
    }
    let data = cx.into_data();
    let upgrade = Upgrade::new(shared, move |ws| async move {
        // Held while connected: a dynamic namespace is dropped once its last socket left.
        connection::serve(ws, entered.namespace().clone(), handshake, data).await;
        drop(entered);
        drop(slot);
    });
    accepted(&key, upgrade, deflate)
}

/// The permessage-deflate agreement for an upgrade with `headers`, when the app allows it and
/// the client offers it.
fn negotiate_deflate(headers: &HeaderMap, shared: &Runtime) -> Option<Agreement> {
    let config = shared.config.per_message_deflate.as_ref()?;
    offer::negotiate(headers, config)
}

/// The `101` for `key`, saying what was agreed, and `upgrade`, which then compresses.
fn accepted(key: &str, upgrade: Upgrade, deflate: Option<Agreement>) -> Answered {
    let mut response = switching_protocols(key);
    if let Some(agreement) = &deflate {
        if let Ok(value) = HeaderValue::from_str(&agreement.response()) {
            response
                .headers_mut()
                .insert(header::SEC_WEBSOCKET_EXTENSIONS, value);
        }
    }
    Answered {
        response,
        upgrade: Some(upgrade.with_deflate(deflate)),
    }
}

/// The answer to a client over what its address, or the server, may hold.
fn too_many(refusal: ClientRefusal) -> Response<Full<Bytes>> {
    match refusal {
        ClientRefusal::AddressFull => {
            json_error(StatusCode::TOO_MANY_REQUESTS, "Too many connections")
        }
        ClientRefusal::ServerFull => {
            json_error(StatusCode::SERVICE_UNAVAILABLE, "Too many sessions")
        }
        ClientRefusal::TooFast => json_error(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many connection attempts",
        ),
    }
}

/// Answers a request to the Socket.IO path: Engine.IO long-polling (handshake, GET, POST), a
/// WebSocket upgrade (new, or of a polling session), or Engine.IO's HTTP 400 errors. Namespaces
/// are joined later, inside the session.
async fn engine_io<B>(
    req: Request<B>,
    protocol: Protocol,
    shared: &Arc<Runtime>,
    remote: SocketAddr,
) -> Answered
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let client = client_ip(&req, remote.ip(), &shared.config.trusted_proxies);
    // `Err(Plain)` for a long-polling request; an upgrade with another flaw is refused by the
    // WebSocket handshake, after Engine.IO's own checks.
    let upgrade = websocket_key(&req);
    let (parts, body) = req.into_parts();
    let deflate = negotiate_deflate(&parts.headers, shared);
    let method = parts.method;
    let origin = parts.headers.get(header::ORIGIN).cloned();
    let handshake = Handshake::from_client(parts.uri, parts.headers, remote, client);
    let origin_allowed = match &protocol {
        Protocol::SocketIo(namespaces) => {
            let origin = origin.as_ref().and_then(|o| o.to_str().ok());
            namespaces.allows_origin(origin)
        }
        #[cfg(feature = "conformance")]
        Protocol::Echo => true,
    };
    let cors = |mut response: Response<Full<Bytes>>| {
        if let (Some(origin), true) = (&origin, origin_allowed) {
            let headers = response.headers_mut();
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        response
    };
    let is_upgrade = !matches!(upgrade, Err(NotAnUpgrade::Plain));
    // engine.io answers a refused upgrade with the bare message, a polling request with JSON.
    let engine_error = |code: u8, message: &'static str| {
        if is_upgrade {
            let mut response = plain(StatusCode::BAD_REQUEST, message);
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return response;
        }
        json_body(
            StatusCode::BAD_REQUEST,
            serde_json::json!({ "code": code, "message": message }).to_string(),
        )
    };
    if method == Method::OPTIONS {
        let mut response = cors(plain(StatusCode::NO_CONTENT, ""));
        let headers = response.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET,HEAD,PUT,PATCH,POST,DELETE"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type"),
        );
        return response.into();
    }
    if !origin_allowed {
        return json_error(StatusCode::FORBIDDEN, "Origin not allowed").into();
    }
    let polling_transport = match handshake.query("transport") {
        Some("polling") => true,
        Some("websocket") => false,
        _ => return cors(engine_error(0, "Transport unknown")).into(),
    };
    if handshake.query("EIO") != Some("4") {
        return cors(engine_error(5, "Unsupported protocol version")).into();
    }
    if shared.shutdown.is_cancelled() {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "Shutting down").into();
    }
    let polling = match handshake.query("sid") {
        None => None,
        Some(sid) => match shared.polling.get(sid) {
            Some(session) => Some(session),
            None => return cors(engine_error(1, "Session ID unknown")).into(),
        },
    };

    if polling_transport && is_upgrade {
        // As engine.io: the WebSocket handshake completes, then long-polling, which handles no
        // upgraded connection, closes it.
        let key = match upgrade {
            Ok(key) => key,
            Err(refusal) => return refusal.into_response().into(),
        };
        return Answered {
            response: switching_protocols(&key),
            upgrade: Some(Upgrade::new(
                shared,
                engineio::upgrade::close_without_status,
            )),
        };
    }
    if polling_transport {
        let body = match (&method, polling) {
            (&Method::GET, None) => match shared.clients.admit(client, Held::PollingSession) {
                Ok(slot) => engineio::start_polling(protocol, handshake, shared, slot),
                Err(refusal) => return cors(too_many(refusal)).into(),
            },
            (&Method::GET, Some(session)) => {
                let wait = shared.config.ping_interval + shared.config.ping_timeout;
                match session.poll(wait).await {
                    Ok(body) => body,
                    Err(_) => return cors(engine_error(3, "Bad request")).into(),
                }
            }
            (&Method::POST, Some(session)) => {
                let limit = shared.config.max_message_size;
                let body = http_body_util::Limited::new(body, limit);
                // A body trickled in slowly would hold the request open: the handshake deadline
                // bounds it too.
                let collect = http_body_util::BodyExt::collect(body);
                let Ok(Ok(collected)) =
                    tokio::time::timeout(shared.config.handshake_timeout, collect).await
                else {
                    return cors(engine_error(3, "Bad request")).into();
                };
                let bytes = collected.to_bytes();
                let Ok(text) = std::str::from_utf8(&bytes) else {
                    return cors(engine_error(3, "Bad request")).into();
                };
                if session.post(text).await.is_err() {
                    return cors(engine_error(3, "Bad request")).into();
                }
                "ok".to_owned()
            }
            _ => return cors(engine_error(2, "Bad handshake method")).into(),
        };
        let mut response = cors(plain(StatusCode::OK, ""));
        *response.body_mut() = Full::new(Bytes::from(body));
        return response.into();
    }

    let key = match upgrade {
        Ok(key) => key,
        Err(NotAnUpgrade::Plain) => return cors(engine_error(3, "Bad request")).into(),
        Err(refusal) => return refusal.into_response().into(),
    };
    // The upgrade of a long-polling session holds the session's place.
    let slot = match polling {
        Some(_) => None,
        None => match shared.clients.admit(client, Held::Connection) {
            Ok(slot) => Some(slot),
            Err(refusal) => return cors(too_many(refusal)).into(),
        },
    };
    let app = shared.clone();
    let upgrade = Upgrade::new(shared, move |ws| async move {
        match polling {
            Some(session) => engineio::upgrade::upgrade(ws, session).await,
            None => engineio::serve_websocket(ws, protocol, handshake, app).await,
        }
        drop(slot);
    });
    accepted(&key, upgrade, deflate)
}
