//! [`Gateways`]: an app whose gateways are initialized and ready to serve, through
//! [`listen`](crate::GatewayApp::listen) or through a tower service mounted in another server.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use crate::accept::Endpoints;
use crate::app_namespaces::AppNamespaces;
use crate::event_bus::HandlerTasks;
use crate::gateway_parts::GatewayParts;
use crate::namespace_table::NamespaceTable;
use crate::pipeline::Enhancers;
use crate::registry::NamespaceState;
use crate::runtime::Runtime;
use crate::service::{GatewayLayer, GatewayService};
use crate::{GatewayApp, GatewayBuilder, GatewayOptions, Namespace};

/// Started gateways: the adapter is connected and every `after_init` has run. Serve them with
/// [`service`](Self::service) or [`layer`](Self::layer) in any tower-based server (axum,
/// hyper), then [`shutdown`](Self::shutdown). Cheap to clone.
///
/// ```no_run
/// # use gateway_core::GatewayApp;
/// # async fn run(app: GatewayApp) -> Result<(), Box<dyn std::error::Error>> {
/// let gateways = app.start().await?;
/// let service = gateways.service(); // mount it, e.g. axum's `fallback_service`
/// // ... serve, then:
/// gateways.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Gateways {
    pub(crate) shared: Arc<Runtime>,
    namespaces: Arc<AppNamespaces>,
    /// What each port serves; port 0 is the main one.
    endpoints: Arc<HashMap<u16, Arc<Endpoints>>>,
}

impl GatewayApp {
    /// Connects the adapter, runs every gateway's `after_init` and subscribes its `#[on_event]`
    /// handlers, without listening: serve the result with [`Gateways::service`] or
    /// [`Gateways::layer`]. Listeners given with
    /// [`with_listener`](crate::GatewayAppBuilder::with_listener) are for
    /// [`listen`](Self::listen) only.
    ///
    /// ```no_run
    /// # async fn run(app: gateway_core::GatewayApp) -> std::io::Result<()> {
    /// let gateways = app.start().await?;
    /// # Ok(()) }
    /// ```
    pub async fn start(self) -> std::io::Result<Gateways> {
        let GatewayApp {
            shared,
            namespaces,
            routes,
            ..
        } = self;
        if routes.is_some() {
            tracing::warn!("routes given with `with_routes` are served by `listen()` only");
        }
        let gateways = Gateways::new(shared, namespaces);
        gateways.init().await?;
        Ok(gateways)
    }
}

impl Gateways {
    fn new(shared: Arc<Runtime>, namespaces: AppNamespaces) -> Self {
        let mut tables: HashMap<u16, (NamespaceTable, NamespaceTable)> = HashMap::new();
        tables.entry(0).or_default();
        for ns in &namespaces.fixed {
            let (by_path, by_namespace) = tables.entry(ns.options().port()).or_default();
            by_path.insert(ns.options().path().to_owned(), ns.clone());
            by_namespace.insert(ns.name().to_owned(), ns.clone());
        }
        // A dynamic gateway's concrete namespaces are served at their names in both formats.
        for gateway in &namespaces.dynamic {
            let (by_path, by_namespace) = tables.entry(gateway.options().port()).or_default();
            by_path.add_dynamic(gateway.clone());
            by_namespace.add_dynamic(gateway.clone());
        }
        let endpoints = tables
            .into_iter()
            .map(|(port, (by_path, mut by_namespace))| {
                add_main_namespace(&mut by_namespace, &shared);
                (port, Arc::new(Endpoints::new(by_path, by_namespace)))
            })
            .collect();
        Self {
            shared,
            namespaces: Arc::new(namespaces),
            endpoints: Arc::new(endpoints),
        }
    }

    async fn init(&self) -> std::io::Result<()> {
        let handles = self
            .namespaces
            .fixed
            .iter()
            .cloned()
            .map(Namespace::from_inner)
            .collect();
        self.shared
            .adapter
            .start(handles)
            .await
            .map_err(std::io::Error::other)?;
        for ns in &self.namespaces.fixed {
            if let Some(init) = ns.hooks().init.clone() {
                init(Namespace::from_inner(ns.clone())).await;
            }
            // After `after_init`: a handler may use what it set up (e.g. the stored server).
            self.subscribe_event_handlers(ns.parts());
            tracing::info!(
                gateway = ns.gateway(),
                path = ns.options().path(),
                "gateway initialized"
            );
        }
        for gateway in &self.namespaces.dynamic {
            // Its concrete namespaces are initialized as clients create them; its bus handlers
            // belong to the gateway, not to one of them.
            self.subscribe_event_handlers(gateway.parts());
            tracing::info!(
                gateway = gateway.gateway(),
                pattern = gateway.options().namespace(),
                "dynamic gateway ready"
            );
        }
        Ok(())
    }

    /// Subscribes a gateway's `#[on_event]` handlers to the app's bus (`build()` made sure there is
    /// one if it has any).
    fn subscribe_event_handlers(&self, parts: &GatewayParts) {
        let Some(bus) = &self.shared.event_bus else {
            return;
        };
        let tasks = HandlerTasks {
            tracker: self.shared.tasks.clone(),
            hard_stop: self.shared.hard_stop.clone(),
        };
        let ids = parts
            .take_event_handlers()
            .into_iter()
            .map(|handler| bus.subscribe(parts.gateway, handler, tasks.clone()));
        self.shared
            .event_subscriptions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(ids);
    }

    /// The ports gateways declared with `port = N`, and 0 for those without one: what
    /// [`service_for_port`](Self::service_for_port) serves.
    ///
    /// ```no_run
    /// # async fn run(gateways: gateway_core::Gateways) {
    /// for port in gateways.ports() {
    ///     let service = gateways.service_for_port(port);
    /// }
    /// # }
    /// ```
    pub fn ports(&self) -> impl Iterator<Item = u16> + '_ {
        self.endpoints.keys().copied()
    }

    /// What the gateways serve at `port` (0: the main port).
    #[cfg(feature = "fuzzing")]
    pub(crate) fn endpoints(&self, port: u16) -> Option<Arc<Endpoints>> {
        self.endpoints.get(&port).cloned()
    }

    /// A tower service for the gateways without a declared port: WebSocket upgrades at their
    /// paths, Engine.IO and Socket.IO at `/socket.io/`, and NestJS's 404 for anything else.
    ///
    /// ```no_run
    /// # async fn run(gateways: gateway_core::Gateways) {
    /// let router: axum::Router = axum::Router::new()
    ///     .route("/health", axum::routing::get(|| async { "ok" }))
    ///     .fallback_service(gateways.service());
    /// # }
    /// ```
    pub fn service(&self) -> GatewayService {
        self.service_for_port(0)
            .unwrap_or_else(|| GatewayService::new(Arc::default(), self.shared.clone()))
    }

    /// The service for the gateways declared with `port` (0: those without a port), if any.
    ///
    /// ```no_run
    /// # async fn run(gateways: gateway_core::Gateways) {
    /// let admin = gateways.service_for_port(3001).expect("a gateway declares port 3001");
    /// # }
    /// ```
    pub fn service_for_port(&self, port: u16) -> Option<GatewayService> {
        let endpoints = self.endpoints.get(&port)?.clone();
        Some(GatewayService::new(endpoints, self.shared.clone()))
    }

    /// A tower layer that serves the gateways without a declared port and hands every other
    /// request to the service it wraps (e.g. an axum `Router`'s routes).
    ///
    /// ```no_run
    /// # async fn run(gateways: gateway_core::Gateways) {
    /// let router: axum::Router = axum::Router::new()
    ///     .route("/health", axum::routing::get(|| async { "ok" }))
    ///     .layer(gateways.layer());
    /// # }
    /// ```
    pub fn layer(&self) -> GatewayLayer {
        GatewayLayer::new(self.service())
    }

    /// The namespace named `name`, as [`GatewayApp::namespace`]: a fixed gateway's, or a
    /// dynamic gateway's concrete namespace while it is live (e.g. `"/workspaces/acme"`).
    ///
    /// ```no_run
    /// # async fn run(gateways: gateway_core::Gateways) {
    /// let chat = gateways.namespace("/chat").expect("registered");
    /// if let Some(acme) = gateways.namespace("/workspaces/acme") {
    ///     let _ = acme.emit("notice", "maintenance at noon");
    /// }
    /// # }
    /// ```
    pub fn namespace(&self, name: &str) -> Option<Namespace> {
        self.namespaces.find(name)
    }

    /// Graceful shutdown: the `#[on_event]` handlers are unsubscribed, new requests are
    /// answered 503, every socket finishes the message it is handling and is closed (1001), and
    /// they and the running event handler calls are waited for up to the shutdown timeout;
    /// what is still running after that is dropped. Last, the adapter disconnects. The server
    /// that mounts the service stops accepting on its own (e.g. axum's
    /// `with_graceful_shutdown`).
    ///
    /// ```no_run
    /// # async fn run(gateways: gateway_core::Gateways) {
    /// gateways.shutdown().await;
    /// # }
    /// ```
    pub async fn shutdown(self) {
        let shared = &self.shared;
        // First, so no new handler call starts once the tasks are closed.
        if let Some(bus) = &shared.event_bus {
            let ids = std::mem::take(
                &mut *shared
                    .event_subscriptions
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()),
            );
            bus.unsubscribe(&ids);
        }
        shared.shutdown.cancel();
        shared.tasks.close();
        let timeout = shared.config.shutdown_timeout;
        if tokio::time::timeout(timeout, shared.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                ?timeout,
                "shutdown timeout passed; dropping remaining connections"
            );
            shared.hard_stop.cancel();
            shared.tasks.wait().await;
        }
        shared.adapter.close().await;
    }

    /// Waits for `signal`, then [`shutdown`](Self::shutdown). Given to axum's
    /// `with_graceful_shutdown`, the sockets are closed first and axum then stops accepting.
    ///
    /// ```no_run
    /// # async fn run(gateways: gateway_core::Gateways, listener: tokio::net::TcpListener, router: axum::Router) {
    /// axum::serve(listener, router)
    ///     .with_graceful_shutdown(gateways.shutdown_on(async {
    ///         let _ = tokio::signal::ctrl_c().await;
    ///     }))
    ///     .await
    ///     .unwrap();
    /// # }
    /// ```
    pub async fn shutdown_on<F: Future>(self, signal: F) {
        signal.await;
        self.shutdown().await;
    }
}

/// socket.io's main namespace exists whether or not a gateway is on it; one without handlers
/// answers CONNECT and ignores events. It widens no origin check.
fn add_main_namespace(by_namespace: &mut NamespaceTable, shared: &Arc<Runtime>) {
    by_namespace.insert_if_absent("/", || {
        let options = GatewayOptions::new("/").with_allowed_origins(Vec::<String>::new());
        let definition = GatewayBuilder::new(options)
            .named("main namespace")
            .finish();
        let parts = GatewayParts::new(definition, &Enhancers::default(), shared);
        Arc::new(NamespaceState::new(Arc::new(parts), shared.clone()))
    });
}

impl std::fmt::Debug for Gateways {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateways")
            .field("namespaces", &self.namespaces)
            .finish()
    }
}
