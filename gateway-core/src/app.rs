//! [`GatewayApp`]: registers gateways and state, then listens.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::adapter::{Adapter, LocalAdapter};
use crate::app_namespaces::{problem, AppNamespaces};
use crate::build_error::BuildError;
use crate::clients::Clients;
use crate::deflate::PerMessageDeflate;
use crate::describe::ApiOptions;
#[cfg(feature = "asyncapi")]
use crate::describe::DescribedGateway;
use crate::gateway::GatewayDefinition;
#[cfg(feature = "asyncapi")]
use crate::gateway_description::described;
use crate::pipeline::{
    ConnectionGuard, DynConnectionGuard, DynFilter, DynGuard, DynInterceptor, DynPipe, Enhancers,
    ExceptionFilter, Guard, Interceptor, Pipe,
};
use crate::routes::Routes;
use crate::runtime::{AppConfig, Runtime};
use crate::state::AppState;
use crate::{EventBus, Gateway, GatewayBuilder, Namespace};

/// Builds a [`GatewayApp`].
///
/// ```
/// use std::time::Duration;
/// # #[derive(Clone)] struct Db;
/// let builder = gateway_core::GatewayApp::builder()
///     .with_state(Db)
///     .with_max_message_size(64 * 1024)
///     .with_shutdown_timeout(Duration::from_secs(5));
/// ```
#[derive(Default)]
pub struct GatewayAppBuilder {
    state: AppState,
    pub(crate) config: AppConfig,
    gateways: Vec<GatewayDefinition>,
    listeners: HashMap<u16, std::net::TcpListener>,
    global: Enhancers,
    adapter: Option<Arc<dyn Adapter>>,
    event_bus: Option<EventBus>,
    pub(crate) api: ApiOptions,
}

impl GatewayAppBuilder {
    /// Runs `guard` before every handler of every gateway, first (NestJS `useGlobalGuards`).
    ///
    /// ```
    /// use gateway_core::pipeline::guard_fn;
    /// let app = gateway_core::GatewayApp::builder().with_global_guard(guard_fn(|_cx| async { true }));
    /// ```
    pub fn with_global_guard(mut self, guard: impl Guard) -> Self {
        self.global
            .guards
            .push(Arc::new(guard) as Arc<dyn DynGuard>);
        self
    }

    /// Runs `guard` when a client connects to any gateway, before the gateway's own connection
    /// guards: socket.io's `io.use(middleware)`, for every namespace and both wire formats. A
    /// refusal made with [`WsException::from_object`](crate::WsException::from_object) reaches a
    /// Socket.IO client's `connect_error` as `err.data` (its `message` as `err.message`); a
    /// JSON-format client is refused before the upgrade, as by a gateway's connection guards.
    ///
    /// ```
    /// use gateway_core::pipeline::{connection_guard_fn, ConnectionContext};
    /// use gateway_core::WsException;
    /// let app = gateway_core::GatewayApp::builder().with_global_connection_guard(
    ///     connection_guard_fn(|cx: ConnectionContext| async move {
    ///         match cx.handshake().query("token") {
    ///             Some(_) => Ok(true),
    ///             None => Err(WsException::from_object(serde_json::json!({
    ///                 "message": "not authorized",
    ///                 "content": "Please sign in",
    ///             }))),
    ///         }
    ///     }),
    /// );
    /// ```
    pub fn with_global_connection_guard(mut self, guard: impl ConnectionGuard) -> Self {
        self.global
            .connection_guards
            .push(Arc::new(guard) as Arc<dyn DynConnectionGuard>);
        self
    }

    /// Wraps every handler of every gateway in `interceptor`, outermost (NestJS `useGlobalInterceptors`).
    ///
    /// ```
    /// use gateway_core::pipeline::{interceptor_fn, ExecutionContext, Next};
    /// let app = gateway_core::GatewayApp::builder()
    ///     .with_global_interceptor(interceptor_fn(|_cx: ExecutionContext, next: Next| next.run()));
    /// ```
    pub fn with_global_interceptor(mut self, interceptor: impl Interceptor) -> Self {
        self.global
            .interceptors
            .push(Arc::new(interceptor) as Arc<dyn DynInterceptor>);
        self
    }

    /// Runs `pipe` on every body argument of every gateway, first (NestJS `useGlobalPipes`).
    ///
    /// ```
    /// let app = gateway_core::GatewayApp::builder()
    ///     .with_global_pipe(gateway_core::validation::ValidationPipe::new());
    /// ```
    pub fn with_global_pipe(mut self, pipe: impl Pipe) -> Self {
        self.global.pipes.push(Arc::new(pipe) as Arc<dyn DynPipe>);
        self
    }

    /// Tries `filter` on every gateway's errors, after the handler and gateway filters. NestJS
    /// never applies global filters to gateways; here they do.
    ///
    /// ```
    /// use gateway_core::pipeline::BaseWsExceptionFilter;
    /// let app = gateway_core::GatewayApp::builder()
    ///     .with_global_filter(BaseWsExceptionFilter::new().with_include_cause(false));
    /// ```
    pub fn with_global_filter(mut self, filter: impl ExceptionFilter) -> Self {
        self.global
            .filters
            .push(Arc::new(filter) as Arc<dyn DynFilter>);
        self
    }

    /// Registers a gateway (NestJS: listing it in a module's `providers`).
    ///
    /// ```
    /// # struct EventsGateway;
    /// # impl gateway_core::Gateway for EventsGateway {
    /// #     fn options(&self) -> gateway_core::GatewayOptions { gateway_core::GatewayOptions::new("/events") }
    /// #     fn register(self: std::sync::Arc<Self>, _: &mut gateway_core::GatewayBuilder) {}
    /// # }
    /// let app = gateway_core::GatewayApp::builder().gateway(EventsGateway).build().unwrap();
    /// assert!(app.namespace("/events").is_some());
    /// ```
    pub fn gateway<G: Gateway>(mut self, gateway: G) -> Self {
        let mut builder = GatewayBuilder::new(gateway.options()).named(std::any::type_name::<G>());
        Arc::new(gateway).register(&mut builder);
        self.gateways.push(builder.finish());
        self
    }

    /// Adds shared state, available to handlers as [`State<T>`](crate::State). One value per type.
    ///
    /// ```
    /// #[derive(Clone)]
    /// struct Db(std::sync::Arc<Vec<String>>);
    /// let builder = gateway_core::GatewayApp::builder().with_state(Db(Default::default()));
    /// ```
    pub fn with_state<T: Clone + Send + Sync + 'static>(mut self, state: T) -> Self {
        self.state.insert(state);
        self
    }

    /// How long a graceful shutdown waits for running handlers and close handshakes (default 10 s).
    ///
    /// ```
    /// let builder = gateway_core::GatewayApp::builder().with_shutdown_timeout(std::time::Duration::from_secs(3));
    /// ```
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.config.shutdown_timeout = timeout;
        self
    }

    /// How often Socket.IO clients are pinged (default 25 s, as socket.io).
    ///
    /// ```
    /// let builder = gateway_core::GatewayApp::builder().with_ping_interval(std::time::Duration::from_secs(10));
    /// ```
    pub fn with_ping_interval(mut self, interval: Duration) -> Self {
        self.config.ping_interval = interval;
        self
    }

    /// How long a Socket.IO client may take to answer a ping before it is disconnected
    /// (default 20 s, as socket.io).
    ///
    /// ```
    /// let builder = gateway_core::GatewayApp::builder().with_ping_timeout(std::time::Duration::from_secs(5));
    /// ```
    pub fn with_ping_timeout(mut self, timeout: Duration) -> Self {
        self.config.ping_timeout = timeout;
        self
    }

    /// How long a Socket.IO client may take to join its first namespace before its connection is
    /// closed (socket.io `connectTimeout`, default 45 s).
    ///
    /// ```
    /// let builder = gateway_core::GatewayApp::builder().with_connect_timeout(std::time::Duration::from_secs(5));
    /// ```
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// Turns on connection state recovery for Socket.IO clients (socket.io 4.6+
    /// `connectionStateRecovery`): a client that drops without disconnecting and comes back
    /// within `max_disconnection_duration` keeps its socket id, rooms and
    /// [`data`](crate::Socket::data), and receives the events it missed
    /// ([`Socket::recovered`](crate::Socket::recovered) tells). socket.io's default is 2 minutes.
    ///
    /// Every event sent to Socket.IO clients then carries an offset as its last argument
    /// (socket.io-client strips it) and is kept for the window, so memory grows with the event
    /// rate times the window. Connection guards run again on recovery, and so does
    /// `handle_connection`. JSON-format clients are not affected.
    ///
    /// ```
    /// let builder = gateway_core::GatewayApp::builder()
    ///     .with_connection_state_recovery(std::time::Duration::from_secs(120));
    /// ```
    pub fn with_connection_state_recovery(mut self, max_disconnection_duration: Duration) -> Self {
        self.config.recovery_window = Some(max_disconnection_duration);
        self
    }

    /// Records metrics through the [`metrics`](https://docs.rs/metrics) facade: connections,
    /// disconnections by reason, events received and sent, bytes, handler durations, guard
    /// refusals, exceptions, dropped frames and slow-consumer disconnects, each labelled with the
    /// namespace (names as socket.io-prometheus's where they overlap; see the
    /// [observability guide](crate::guide::observability)). Install the recorder (for example
    /// `metrics-exporter-prometheus`) before building the app: the handles are registered then.
    /// Off by default; off, nothing is recorded and nothing is measured.
    ///
    /// ```
    /// let builder = gateway_core::GatewayApp::builder().with_metrics();
    /// ```
    pub fn with_metrics(mut self) -> Self {
        self.config.metrics = true;
        self
    }

    /// Compresses WebSocket messages for clients that offer permessage-deflate (RFC 7692), on
    /// both wire formats: browsers, npm `ws` and socket.io-client do. Off by default, as in
    /// socket.io (`perMessageDeflate: false`) and NestJS's `platform-ws`. Compression trades CPU
    /// and memory for bytes on the wire: see the [compression guide](crate::guide::compression)
    /// for the figures, and [`PerMessageDeflate`] for the threshold and context takeover.
    ///
    /// ```
    /// use gateway_core::PerMessageDeflate;
    /// let builder = gateway_core::GatewayApp::builder()
    ///     .with_per_message_deflate(PerMessageDeflate::new().with_threshold(1024));
    /// ```
    pub fn with_per_message_deflate(mut self, deflate: PerMessageDeflate) -> Self {
        self.config.per_message_deflate = Some(deflate);
        self
    }

    /// Also serves a bare Engine.IO v4 echo at `path` on every listener: each message packet
    /// (text or binary) is sent back unchanged. This is the server the official
    /// engine.io-protocol conformance suite expects at `/engine.io/`; it has no other use.
    ///
    /// ```
    /// let builder = gateway_core::GatewayApp::builder().with_engine_io_echo("/engine.io/");
    /// ```
    #[cfg(feature = "test-util")]
    #[cfg(feature = "conformance")]
    pub fn with_engine_io_echo(mut self, path: impl Into<String>) -> Self {
        let path = path.into();
        self.config.engine_io_echo_path = Some(path.trim_end_matches('/').to_owned() + "/");
        self
    }

    /// The URL path of the Socket.IO endpoint on every listener (default `/socket.io/`).
    ///
    /// ```
    /// let builder = gateway_core::GatewayApp::builder().with_socketio_path("/realtime/");
    /// ```
    pub fn with_socketio_path(mut self, path: impl Into<String>) -> Self {
        let path = path.into();
        let path = if path.starts_with('/') {
            path
        } else {
            format!("/{path}")
        };
        self.config.socketio_path = if path.ends_with('/') {
            path
        } else {
            format!("{path}/")
        };
        self
    }

    /// Serves the gateways declared with `port = N` on this already-bound listener instead of
    /// binding port `N` (useful in tests, and for sockets handed over by a supervisor).
    ///
    /// ```
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let builder = gateway_core::GatewayApp::builder().with_listener(3001, listener);
    /// ```
    pub fn with_listener(mut self, port: u16, listener: std::net::TcpListener) -> Self {
        self.listeners.insert(port, listener);
        self
    }

    /// Spreads rooms and broadcasts over several instances through `adapter` (e.g.
    /// `gateway_redis::RedisAdapter`); the default, [`LocalAdapter`], serves this instance only.
    ///
    /// ```
    /// let builder = gateway_core::GatewayApp::builder().with_adapter(gateway_core::LocalAdapter);
    /// ```
    pub fn with_adapter(mut self, adapter: impl Adapter) -> Self {
        self.adapter = Some(Arc::new(adapter));
        self
    }

    /// Subscribes the gateways' `#[on_event]` handlers to `bus` when the app starts, and
    /// unsubscribes them when it shuts down (`EventEmitterModule.forRoot()`). The bus is also
    /// app state: handlers can take it as `State<EventBus>` to publish.
    ///
    /// ```
    /// let bus = gateway_core::EventBus::new();
    /// let builder = gateway_core::GatewayApp::builder().with_event_bus(bus.clone());
    /// // hand `bus` to the services that publish
    /// ```
    pub fn with_event_bus(mut self, bus: EventBus) -> Self {
        self.state.insert(bus.clone());
        self.event_bus = Some(bus);
        self
    }

    /// Checks the configuration and creates the namespaces.
    ///
    /// ```
    /// let app = gateway_core::GatewayApp::builder().build().unwrap();
    /// assert!(app.namespace("/chat").is_none());
    /// ```
    pub fn build(self) -> Result<GatewayApp, BuildError> {
        let mut problems: Vec<String> = Vec::new();
        let mut seen: HashMap<(u16, String), &'static str> = HashMap::new();
        for gateway in &self.gateways {
            problems.extend(gateway.errors.iter().cloned());
            problems.extend(problem(gateway.gateway, &gateway.options));
            if self.event_bus.is_none() && !gateway.event_handlers.is_empty() {
                problems.push(format!(
                    "gateway `{}` handles bus events (`#[on_event]`) but the app has no event bus: \
                     give it one with `with_event_bus`",
                    gateway.gateway
                ));
            }
            let key = (gateway.options.port(), gateway.options.path().to_owned());
            if let Some(first) = seen.insert(key, gateway.gateway) {
                problems.push(format!(
                    "gateways `{first}` and `{}` are both served at path {} on port {}",
                    gateway.gateway,
                    gateway.options.path(),
                    gateway.options.port()
                ));
            }
        }
        if !problems.is_empty() {
            return Err(BuildError::new(problems));
        }
        let clients = Arc::new(Clients::new(self.config.client_limits));
        let shared = Arc::new(Runtime {
            state: self.state,
            config: self.config,
            shutdown: CancellationToken::new(),
            hard_stop: CancellationToken::new(),
            tasks: TaskTracker::new(),
            polling: Default::default(),
            clients,
            clustered: self.adapter.is_some(),
            adapter: self.adapter.unwrap_or_else(|| Arc::new(LocalAdapter)),
            event_bus: self.event_bus,
            event_subscriptions: Default::default(),
        });
        #[cfg(feature = "asyncapi")]
        let described = (self.gateways.iter())
            .map(|gateway| described(gateway, &self.global))
            .collect();
        let namespaces = AppNamespaces::new(self.gateways, &self.global, &shared);
        Ok(GatewayApp {
            shared,
            namespaces,
            listeners: self.listeners,
            routes: None,
            #[cfg(feature = "asyncapi")]
            described,
            api: self.api,
        })
    }
}

impl std::fmt::Debug for GatewayAppBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayAppBuilder")
            .field("config", &self.config)
            .field("gateways", &self.gateways.len())
            .finish()
    }
}

/// An app of gateways, ready to [`listen`](Self::listen).
///
/// ```no_run
/// # use gateway_core::GatewayApp;
/// # struct ChatGateway;
/// # impl gateway_core::Gateway for ChatGateway {
/// #     fn options(&self) -> gateway_core::GatewayOptions { gateway_core::GatewayOptions::new("/chat") }
/// #     fn register(self: std::sync::Arc<Self>, _: &mut gateway_core::GatewayBuilder) {}
/// # }
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let app = GatewayApp::builder().gateway(ChatGateway).build()?;
/// let chat = app.namespace("/chat").unwrap(); // hand this to services
/// let server = app.listen("0.0.0.0:3000").await?;
/// println!("listening on ws://{}/chat", server.local_addr());
/// server.shutdown_on(tokio::signal::ctrl_c()).await;
/// # Ok(()) }
/// ```
pub struct GatewayApp {
    pub(crate) shared: Arc<Runtime>,
    pub(crate) namespaces: AppNamespaces,
    pub(crate) listeners: HashMap<u16, std::net::TcpListener>,
    pub(crate) routes: Option<Routes>,
    /// The gateways as the API description sees them.
    #[cfg(feature = "asyncapi")]
    pub(crate) described: Vec<DescribedGateway>,
    #[cfg_attr(not(feature = "asyncapi"), allow(dead_code))]
    pub(crate) api: ApiOptions,
}

impl GatewayApp {
    /// Starts building an app.
    ///
    /// ```
    /// let builder = gateway_core::GatewayApp::builder();
    /// ```
    pub fn builder() -> GatewayAppBuilder {
        GatewayAppBuilder::default()
    }

    /// The namespace named `name` (e.g. `"/chat"`), to emit from outside the gateway.
    ///
    /// If gateways on several ports share a namespace name, this is the first registered. For
    /// a dynamic gateway, `name` is a concrete namespace (e.g. `"/workspaces/acme"`), found
    /// while it is live: none is before the app serves.
    pub fn namespace(&self, name: &str) -> Option<Namespace> {
        self.namespaces.find(name)
    }

    /// Serves `routes` (an axum `Router`, any tower service) on the main port of
    /// [`listen`](Self::listen), for every request that is not the gateways': one port for REST
    /// and WebSockets, with `listen()`'s HTTP/1.1 server and its limits. Without routes, such a
    /// request gets NestJS's JSON 404. With the `axum` feature, each request carries axum's
    /// `ConnectInfo<SocketAddr>`.
    ///
    /// To serve the gateways from another server (TLS, `axum::serve`), use
    /// [`start`](Self::start) and [`Gateways::layer`](crate::Gateways::layer) instead: `start()`
    /// does not serve these routes (a warning is logged if they were given).
    ///
    /// ```no_run
    /// # async fn run(app: gateway_core::GatewayApp) -> std::io::Result<()> {
    /// let routes = axum::Router::new().route("/health", axum::routing::get(|| async { "ok" }));
    /// let server = app.with_routes(routes).listen("0.0.0.0:3000").await?;
    /// server.shutdown_on(tokio::signal::ctrl_c()).await;
    /// # Ok(()) }
    /// ```
    pub fn with_routes<S, B>(mut self, routes: S) -> Self
    where
        S: tower_service::Service<
                http::Request<hyper::body::Incoming>,
                Response = http::Response<B>,
                Error = std::convert::Infallible,
            > + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send,
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        self.routes = Some(Routes::new(routes));
        self
    }
}

impl std::fmt::Debug for GatewayApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayApp")
            .field("namespaces", &self.namespaces)
            .finish()
    }
}
