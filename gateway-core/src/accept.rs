//! What the gateways do with an HTTP request that is theirs: a WebSocket upgrade to a gateway's
//! path (its connection guards run first), or Engine.IO at the Socket.IO path (long-polling, an
//! upgrade, or Engine.IO's HTTP errors). The upgraded stream is then served by
//! [`connection`](crate::connection) or [`engineio`](crate::engineio).

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::client_address::client_ip;
use crate::clients::{Held, Refusal as ClientRefusal};
use crate::engineio::{self, NamespaceTable, Protocol};
use crate::http_answer::{
    json_body, json_error, not_found, plain, refused, switching_protocols, websocket_key,
    NotAnUpgrade,
};
use crate::pipeline::{run_connection_guards, ConnectionContext, Refusal, FORBIDDEN_MESSAGE};
use crate::read_ahead::TUNGSTENITE_READ_SIZE;
use crate::registry::NamespaceState;
use crate::runtime::Runtime;
use crate::ws_io::WsConn;
use crate::{connection, stream, Handshake};

/// The errors a request body may fail with.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The gateways served at one port, by URL path.
pub(crate) type PathTable = HashMap<String, Arc<NamespaceState>>;

/// What one service serves: JSON-format gateways by path, Socket.IO namespaces by name.
#[derive(Default)]
pub(crate) struct Endpoints {
    pub(crate) by_path: PathTable,
    pub(crate) by_namespace: Arc<NamespaceTable>,
}

impl Endpoints {
    pub(crate) fn new(by_path: PathTable, by_namespace: NamespaceTable) -> Self {
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
    Gateway(Arc<NamespaceState>, Result<String, NotAnUpgrade>),
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
    let ns = endpoints.by_path.get(path)?;
    match websocket_key(req) {
        Err(NotAnUpgrade::Plain) => None,
        key => Some(Target::Gateway(ns.clone(), key)),
    }
}

/// Answers a request [`target`] found to be the gateways'.
pub(crate) async fn answer<B>(
    target: Target,
    req: Request<B>,
    shared: Arc<Runtime>,
    remote: SocketAddr,
) -> Response<Full<Bytes>>
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    match target {
        Target::Gateway(ns, key) => upgrade_to_gateway(req, ns, key, &shared, remote).await,
        Target::EngineIo(protocol) => engine_io(req, protocol, &shared, remote).await,
    }
}

/// A WebSocket upgrade to a gateway's path: origin check, connection guards, then `101`.
async fn upgrade_to_gateway<B>(
    mut req: Request<B>,
    ns: Arc<NamespaceState>,
    key: Result<String, NotAnUpgrade>,
    shared: &Arc<Runtime>,
    remote: SocketAddr,
) -> Response<Full<Bytes>> {
    if shared.shutdown.is_cancelled() {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "Shutting down");
    }
    let key = match key {
        Ok(key) => key,
        // A plain request at a gateway's path is one no HTTP route serves, as in NestJS.
        Err(NotAnUpgrade::Plain) => return not_found(&req),
        Err(refusal) => return refusal.into_response(),
    };
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok());
    if !ns.options().allowed_origins().allows(origin) {
        return json_error(StatusCode::FORBIDDEN, "Origin not allowed");
    }
    let client = client_ip(&req, remote.ip(), &shared.config.trusted_proxies);
    let slot = match shared.clients.admit(client, Held::Connection) {
        Ok(slot) => slot,
        Err(refusal) => return too_many(refusal),
    };

    let on_upgrade = hyper::upgrade::on(&mut req);
    let handshake =
        Handshake::from_client(req.uri().clone(), req.headers().clone(), remote, client);
    let cx = ConnectionContext::new(handshake.clone(), ns.gateway());
    match run_connection_guards(ns.connection_guards(), &cx).await {
        Ok(()) => {}
        Err(Refusal::Forbidden) => return json_error(StatusCode::FORBIDDEN, FORBIDDEN_MESSAGE),
        Err(Refusal::Failed(exception)) => return refused(ns.gateway(), &exception),
    }
    if shared.shutdown.is_cancelled() {
        // Shutdown began while the guards ran: do not start a socket it would not wait for.
        return plain(StatusCode::SERVICE_UNAVAILABLE, "Shutting down");
    }
    let data = cx.into_data();
    spawn_websocket(shared, on_upgrade, move |ws| async move {
        connection::serve(ws, ns, handshake, data).await;
        drop(slot);
    });

    switching_protocols(&key)
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
    mut req: Request<B>,
    protocol: Protocol,
    shared: &Arc<Runtime>,
    remote: SocketAddr,
) -> Response<Full<Bytes>>
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let client = client_ip(&req, remote.ip(), &shared.config.trusted_proxies);
    let handshake =
        Handshake::from_client(req.uri().clone(), req.headers().clone(), remote, client);
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(str::to_owned);
    let origin_allowed = match &protocol {
        Protocol::SocketIo(namespaces) => namespaces
            .values()
            .any(|ns| ns.options().allowed_origins().allows(origin.as_deref())),
        #[cfg(feature = "conformance")]
        Protocol::Echo => true,
    };
    let cors = |mut response: Response<Full<Bytes>>| {
        if let (Some(origin), true) = (&origin, origin_allowed) {
            if let Ok(value) = HeaderValue::from_str(origin) {
                let headers = response.headers_mut();
                headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
                headers.insert(
                    header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                    HeaderValue::from_static("true"),
                );
            }
        }
        response
    };
    // `Err(Plain)` for a long-polling request; an upgrade with another flaw is refused by the
    // WebSocket handshake, after Engine.IO's own checks.
    let upgrade = websocket_key(&req);
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
    if req.method() == Method::OPTIONS {
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
        return response;
    }
    if !origin_allowed {
        return json_error(StatusCode::FORBIDDEN, "Origin not allowed");
    }
    let transport = handshake.query("transport").map(str::to_owned);
    if !matches!(transport.as_deref(), Some("websocket" | "polling")) {
        return cors(engine_error(0, "Transport unknown"));
    }
    if handshake.query("EIO") != Some("4") {
        return cors(engine_error(5, "Unsupported protocol version"));
    }
    if shared.shutdown.is_cancelled() {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "Shutting down");
    }
    let polling = match handshake.query("sid") {
        None => None,
        Some(sid) => match shared.polling.get(sid) {
            Some(session) => Some(session),
            None => return cors(engine_error(1, "Session ID unknown")),
        },
    };

    if transport.as_deref() == Some("polling") && is_upgrade {
        // As engine.io: the WebSocket handshake completes, then long-polling, which handles no
        // upgraded connection, closes it.
        let key = match upgrade {
            Ok(key) => key,
            Err(refusal) => return refusal.into_response(),
        };
        let on_upgrade = hyper::upgrade::on(&mut req);
        spawn_websocket(shared, on_upgrade, engineio::upgrade::close_without_status);
        return switching_protocols(&key);
    }
    if transport.as_deref() == Some("polling") {
        let body = match (req.method(), polling) {
            (&Method::GET, None) => match shared.clients.admit(client, Held::PollingSession) {
                Ok(slot) => engineio::start_polling(protocol, handshake, shared, slot),
                Err(refusal) => return cors(too_many(refusal)),
            },
            (&Method::GET, Some(session)) => {
                let wait = shared.config.ping_interval + shared.config.ping_timeout;
                match session.poll(wait).await {
                    Ok(body) => body,
                    Err(_) => return cors(engine_error(3, "Bad request")),
                }
            }
            (&Method::POST, Some(session)) => {
                let limit = shared.config.max_message_size;
                let body = http_body_util::Limited::new(req.into_body(), limit);
                // A body trickled in slowly would hold the request open: the handshake deadline
                // bounds it too.
                let collect = http_body_util::BodyExt::collect(body);
                let Ok(Ok(collected)) =
                    tokio::time::timeout(shared.config.handshake_timeout, collect).await
                else {
                    return cors(engine_error(3, "Bad request"));
                };
                let bytes = collected.to_bytes();
                let Ok(text) = std::str::from_utf8(&bytes) else {
                    return cors(engine_error(3, "Bad request"));
                };
                if session.post(text).await.is_err() {
                    return cors(engine_error(3, "Bad request"));
                }
                "ok".to_owned()
            }
            _ => return cors(engine_error(2, "Bad handshake method")),
        };
        let mut response = cors(plain(StatusCode::OK, ""));
        *response.body_mut() = Full::new(Bytes::from(body));
        return response;
    }

    let key = match upgrade {
        Ok(key) => key,
        Err(NotAnUpgrade::Plain) => return cors(engine_error(3, "Bad request")),
        Err(refusal) => return refusal.into_response(),
    };
    // The upgrade of a long-polling session holds the session's place.
    let slot = match polling {
        Some(_) => None,
        None => match shared.clients.admit(client, Held::Connection) {
            Ok(slot) => Some(slot),
            Err(refusal) => return cors(too_many(refusal)),
        },
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    let app = shared.clone();
    spawn_websocket(shared, on_upgrade, move |ws| async move {
        match polling {
            Some(session) => engineio::upgrade::upgrade(ws, session).await,
            None => engineio::serve_websocket(ws, protocol, handshake, app).await,
        }
        drop(slot);
    });
    switching_protocols(&key)
}

/// Waits (in a tracked task) for the upgrade to complete, then runs `serve` on the connection.
fn spawn_websocket<F, Fut>(shared: &Runtime, on_upgrade: hyper::upgrade::OnUpgrade, serve: F)
where
    F: FnOnce(WsConn) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let config = websocket_config(shared);
    let read_chunk = shared.config.read_buffer_size;
    shared.tasks.spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(err) => return tracing::debug!(error = %err, "upgrade failed"),
        };
        let (read, write) = stream::split(upgraded, read_chunk);
        serve(WsConn::new(read, write, config)).await;
    });
}

fn websocket_config(shared: &Runtime) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(TUNGSTENITE_READ_SIZE)
        .max_message_size(Some(shared.config.max_message_size))
        .max_frame_size(Some(shared.config.max_message_size))
}
