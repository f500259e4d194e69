//! Listening: accept loops, the HTTP upgrade (hyper), and [`RunningApp`] with graceful shutdown.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;

use crate::app::{find_namespace, AppShared};
use crate::engineio::{self, NamespaceTable, Service};
use crate::http_answer::{
    json_body, json_error, not_found, plain, refused, switching_protocols, websocket_key,
    NotAnUpgrade,
};
use crate::namespace::NamespaceInner;
use crate::pipeline::{ConnectionContext, Enhancers, FORBIDDEN_MESSAGE};
use crate::read_ahead::{ReadAhead, TUNGSTENITE_READ_SIZE};
use crate::ws_io::WsConn;
use crate::{
    connection, GatewayApp, GatewayBuilder, GatewayOptions, Handshake, Namespace, WsException,
};
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;

/// How long a client may take to send its HTTP request headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The gateways served on one listener, by URL path.
type PathTable = HashMap<String, Arc<NamespaceInner>>;

/// What one listener serves: JSON-format gateways by path, Socket.IO namespaces by name.
#[derive(Default)]
struct Routes {
    by_path: PathTable,
    by_namespace: Arc<NamespaceTable>,
}

/// A listening app. Dropping it leaves the server running; call [`shutdown`](Self::shutdown) to stop.
pub struct RunningApp {
    shared: Arc<AppShared>,
    namespaces: Vec<Arc<NamespaceInner>>,
    /// (declared port, bound address); declared port 0 is the main listener.
    addrs: Vec<(u16, SocketAddr)>,
    stop_accepting: CancellationToken,
    accept_loops: Vec<JoinHandle<()>>,
}

impl RunningApp {
    /// The main listener's address (gateways without their own port).
    ///
    /// ```no_run
    /// # async fn demo(server: gateway_core::RunningApp) {
    /// println!("ws://{}/chat", server.local_addr());
    /// # }
    /// ```
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr_for_port(0)
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// The address serving the gateways declared with `port` (`0`: the main listener).
    ///
    /// ```no_run
    /// # async fn demo(server: gateway_core::RunningApp) {
    /// let admin = server.local_addr_for_port(3001);
    /// # }
    /// ```
    pub fn local_addr_for_port(&self, port: u16) -> Option<SocketAddr> {
        self.addrs.iter().find(|(p, _)| *p == port).map(|(_, a)| *a)
    }

    /// The namespace named `name`, as [`GatewayApp::namespace`].
    ///
    /// ```no_run
    /// # async fn demo(server: gateway_core::RunningApp) {
    /// let chat = server.namespace("/chat").expect("registered");
    /// # }
    /// ```
    pub fn namespace(&self, name: &str) -> Option<Namespace> {
        find_namespace(&self.namespaces, name)
    }

    /// Waits for `signal` (e.g. `tokio::signal::ctrl_c()`), then shuts down gracefully.
    ///
    /// ```no_run
    /// # async fn demo(server: gateway_core::RunningApp) {
    /// server.shutdown_on(tokio::signal::ctrl_c()).await;
    /// # }
    /// ```
    pub async fn shutdown_on<F: Future>(self, signal: F) {
        signal.await;
        self.shutdown().await;
    }

    /// Graceful shutdown: stop accepting, let every socket finish the message it is handling,
    /// send close 1001 to every socket, and wait for them up to the shutdown timeout; what is
    /// still running after that is dropped. Last, the adapter disconnects from the other
    /// instances.
    ///
    /// ```no_run
    /// # async fn demo(server: gateway_core::RunningApp) {
    /// server.shutdown().await;
    /// # }
    /// ```
    pub async fn shutdown(self) {
        self.stop_accepting.cancel();
        for task in self.accept_loops {
            let _ = task.await;
        }
        self.shared.shutdown.cancel();
        self.shared.tasks.close();
        let timeout = self.shared.config.shutdown_timeout;
        if tokio::time::timeout(timeout, self.shared.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                ?timeout,
                "shutdown timeout passed; dropping remaining connections"
            );
            self.shared.hard_stop.cancel();
            self.shared.tasks.wait().await;
        }
        self.shared.adapter.close().await;
    }
}

impl std::fmt::Debug for RunningApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningApp")
            .field("addrs", &self.addrs)
            .finish()
    }
}

pub(crate) async fn start(
    app: GatewayApp,
    addr: impl tokio::net::ToSocketAddrs,
) -> std::io::Result<RunningApp> {
    let GatewayApp {
        shared,
        namespaces,
        mut listeners,
    } = app;
    let main = TcpListener::bind(addr).await?;
    let main_addr = main.local_addr()?;

    let mut tables: HashMap<u16, (PathTable, NamespaceTable)> = HashMap::new();
    for ns in &namespaces {
        let (by_path, by_namespace) = tables.entry(ns.options().port()).or_default();
        by_path.insert(ns.options().path().to_owned(), ns.clone());
        by_namespace.insert(ns.name().to_owned(), ns.clone());
    }
    tables.entry(0).or_default();

    let mut bound = Vec::new();
    for (port, (by_path, mut by_namespace)) in tables {
        // socket.io's main namespace exists whether or not a gateway is on it; one without
        // handlers answers CONNECT and ignores events. It widens no origin check.
        by_namespace.entry("/".to_owned()).or_insert_with(|| {
            let options = GatewayOptions::new("/").with_allowed_origins(Vec::<String>::new());
            let definition = GatewayBuilder::new(options)
                .named("main namespace")
                .finish();
            Arc::new(NamespaceInner::new(
                definition,
                &Enhancers::default(),
                shared.clone(),
            ))
        });
        let table = Routes {
            by_path,
            by_namespace: Arc::new(by_namespace),
        };
        let listener = if port == 0 {
            None
        } else if let Some(std_listener) = listeners.remove(&port) {
            std_listener.set_nonblocking(true)?;
            Some(TcpListener::from_std(std_listener)?)
        } else {
            Some(TcpListener::bind((main_addr.ip(), port)).await?)
        };
        bound.push((port, listener, table));
    }

    let handles = namespaces
        .iter()
        .cloned()
        .map(Namespace::from_inner)
        .collect();
    shared
        .adapter
        .start(handles)
        .await
        .map_err(std::io::Error::other)?;

    for ns in &namespaces {
        let init = ns
            .hooks
            .init
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(init) = init {
            init(Namespace::from_inner(ns.clone())).await;
        }
        tracing::info!(
            gateway = ns.gateway(),
            path = ns.options().path(),
            "gateway initialized"
        );
    }

    let stop_accepting = CancellationToken::new();
    let mut addrs = Vec::new();
    let mut accept_loops = Vec::new();
    let mut main = Some(main);
    for (port, listener, table) in bound {
        let listener = match listener {
            Some(l) => l,
            None => match main.take() {
                Some(l) => l,
                None => continue,
            },
        };
        addrs.push((port, listener.local_addr()?));
        accept_loops.push(tokio::spawn(accept_loop(
            listener,
            Arc::new(table),
            shared.clone(),
            stop_accepting.clone(),
        )));
    }
    Ok(RunningApp {
        shared,
        namespaces,
        addrs,
        stop_accepting,
        accept_loops,
    })
}

async fn accept_loop(
    listener: TcpListener,
    table: Arc<Routes>,
    shared: Arc<AppShared>,
    stop: CancellationToken,
) {
    loop {
        let (stream, remote) = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let table = table.clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            let service_shared = shared.clone();
            let service = service_fn(move |req| {
                let table = table.clone();
                let shared = service_shared.clone();
                async move { Ok::<_, Infallible>(route(req, &table, &shared, remote).await) }
            });
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = shared.shutdown.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
}

/// Answers one HTTP request: a WebSocket upgrade to a gateway's path, or an error status.
async fn route(
    mut req: Request<Incoming>,
    table: &Routes,
    shared: &Arc<AppShared>,
    remote: SocketAddr,
) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    let at = |endpoint: &str| path == endpoint || Some(path) == endpoint.strip_suffix('/');
    if !table.by_namespace.is_empty() && at(&shared.config.socketio_path) {
        let service = Service::SocketIo(table.by_namespace.clone());
        return socketio(req, service, shared, remote).await;
    }
    if shared.config.engine_io_echo_path.as_deref().is_some_and(at) {
        return socketio(req, Service::Echo, shared, remote).await;
    }
    let Some(ns) = table.by_path.get(path) else {
        return not_found(&req);
    };
    if shared.shutdown.is_cancelled() {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "Shutting down");
    }
    let key = match websocket_key(&req) {
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

    let on_upgrade = hyper::upgrade::on(&mut req);
    let handshake = Handshake::new(req.uri().clone(), req.headers().clone(), remote);
    let cx = ConnectionContext::new(handshake.clone(), ns.gateway());
    for guard in ns.connection_guards() {
        let verdict = AssertUnwindSafe(guard.can_connect(&cx))
            .catch_unwind()
            .await;
        match verdict {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => return json_error(StatusCode::FORBIDDEN, FORBIDDEN_MESSAGE),
            Ok(Err(exception)) => return refused(ns.gateway(), &exception),
            Err(_) => {
                return refused(
                    ns.gateway(),
                    &WsException::internal("connection guard panicked"),
                )
            }
        }
    }
    if shared.shutdown.is_cancelled() {
        // Shutdown began while the guards ran: do not start a socket it would not wait for.
        return plain(StatusCode::SERVICE_UNAVAILABLE, "Shutting down");
    }
    let data = cx.into_data();
    let ns = ns.clone();
    spawn_websocket(shared, on_upgrade, move |ws| {
        connection::serve(ws, ns, handshake, data)
    });

    switching_protocols(&key)
}

/// Answers a request to the Socket.IO path: Engine.IO long-polling (handshake, GET, POST), a
/// WebSocket upgrade (new, or of a polling session), or Engine.IO's HTTP 400 errors. Namespaces
/// are joined later, inside the session.
async fn socketio(
    mut req: Request<Incoming>,
    service: Service,
    shared: &Arc<AppShared>,
    remote: SocketAddr,
) -> Response<Full<Bytes>> {
    let handshake = Handshake::new(req.uri().clone(), req.headers().clone(), remote);
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(str::to_owned);
    let origin_allowed = match &service {
        Service::SocketIo(namespaces) => namespaces
            .values()
            .any(|ns| ns.options().allowed_origins().allows(origin.as_deref())),
        Service::Echo => true,
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
        spawn_websocket(shared, on_upgrade, engineio::close_without_status);
        return switching_protocols(&key);
    }
    if transport.as_deref() == Some("polling") {
        let body = match (req.method(), polling) {
            (&Method::GET, None) => engineio::start_polling(service, handshake, shared),
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
                let Ok(collected) = http_body_util::BodyExt::collect(body).await else {
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
    let on_upgrade = hyper::upgrade::on(&mut req);
    let app = shared.clone();
    spawn_websocket(shared, on_upgrade, move |ws| async move {
        match polling {
            Some(session) => engineio::upgrade(ws, session).await,
            None => engineio::serve_websocket(ws, service, handshake, app).await,
        }
    });
    switching_protocols(&key)
}

/// Waits (in a tracked task) for the upgrade to complete, then runs `serve` on the connection.
fn spawn_websocket<F, Fut>(shared: &AppShared, on_upgrade: hyper::upgrade::OnUpgrade, serve: F)
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
        // Every connection is a TCP stream served by hyper: take it back to split it in two.
        let parts = match upgraded.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => parts,
            Err(_) => return tracing::error!("upgraded connection is not a TCP stream"),
        };
        let (read, write) = parts.io.into_inner().into_split();
        let read = ReadAhead::with_prefix(read, parts.read_buf, read_chunk);
        serve(WsConn::new(read, write, config)).await;
    });
}

fn websocket_config(shared: &AppShared) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(TUNGSTENITE_READ_SIZE)
        .max_message_size(Some(shared.config.max_message_size))
        .max_frame_size(Some(shared.config.max_message_size))
}
