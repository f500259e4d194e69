//! [`listen`](crate::GatewayApp::listen): accept loops that serve each connection with hyper and
//! the gateways' [`GatewayService`], and [`RunningApp`] with graceful shutdown.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::direct::{self, Fallback};
use crate::listener;
use crate::service::GatewayService;

use crate::{GatewayApp, Gateways, Namespace};

/// A listening app. Dropping it leaves the server running; call [`shutdown`](Self::shutdown) to stop.
pub struct RunningApp {
    gateways: Gateways,
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
        self.gateways.namespace(name)
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
        self.gateways.shutdown().await;
    }

    /// The started gateways this app serves.
    ///
    /// ```no_run
    /// # async fn demo(server: gateway_core::RunningApp) {
    /// let gateways = server.gateways().clone();
    /// # }
    /// ```
    pub fn gateways(&self) -> &Gateways {
        &self.gateways
    }
}

impl std::fmt::Debug for RunningApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningApp")
            .field("addrs", &self.addrs)
            .finish()
    }
}

impl GatewayApp {
    /// Binds `addr` (and the ports of gateways declared with `port = N`), runs every gateway's
    /// `after_init`, subscribes its `#[on_event]` handlers, and starts serving in the background.
    pub async fn listen(self, addr: impl tokio::net::ToSocketAddrs) -> std::io::Result<RunningApp> {
        start(self, addr).await
    }
}

async fn start(
    mut app: GatewayApp,
    addr: impl tokio::net::ToSocketAddrs,
) -> std::io::Result<RunningApp> {
    let mut given = std::mem::take(&mut app.listeners);
    let routes = app.routes.take();
    #[cfg(feature = "asyncapi")]
    let routes = app.routes_with_document(routes);
    let config = app.shared.config.clone();
    let main = listener::bind(addr, &config).await?;
    let main_addr = main[0].local_addr()?;
    let mut ports: Vec<u16> = app
        .namespaces
        .options()
        .map(|options| options.port())
        .collect();
    ports.sort_unstable();
    ports.dedup();
    let mut bound: HashMap<u16, Vec<TcpListener>> = HashMap::new();
    for port in ports {
        let listeners = if port == 0 {
            continue;
        } else if let Some(std_listener) = given.remove(&port) {
            std_listener.set_nonblocking(true)?;
            vec![TcpListener::from_std(std_listener)?]
        } else {
            listener::bind((main_addr.ip(), port), &config).await?
        };
        bound.insert(port, listeners);
    }
    bound.insert(0, main);

    let gateways = app.start().await?;
    let stop_accepting = CancellationToken::new();
    let mut addrs = Vec::new();
    let mut accept_loops = Vec::new();
    for (port, listeners) in bound {
        let Some(service) = gateways.service_for_port(port) else {
            continue;
        };
        addrs.push((port, listeners[0].local_addr()?));
        for listener in listeners {
            let stop = stop_accepting.clone();
            accept_loops.push(match (&routes, port) {
                (Some(routes), 0) => {
                    let service = service.clone().with_fallback(routes.clone());
                    tokio::spawn(accept_loop(listener, service, stop))
                }
                _ => tokio::spawn(accept_loop(listener, service.clone(), stop)),
            });
        }
    }
    Ok(RunningApp {
        gateways,
        addrs,
        stop_accepting,
        accept_loops,
    })
}

async fn accept_loop<F: Fallback>(
    listener: TcpListener,
    service: GatewayService<F>,
    stop: CancellationToken,
) {
    let stopped = stop.cancelled();
    tokio::pin!(stopped);
    // Every connection waiting in the backlog is taken in one wakeup: `accept` returns at once
    // while the listener is ready (tokio yields after its budget of 128).
    loop {
        let (stream, remote) = tokio::select! {
            biased;
            _ = &mut stopped => return,
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
        tokio::spawn(direct::serve(stream, service.for_peer(remote)));
    }
}
