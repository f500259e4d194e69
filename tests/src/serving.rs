//! Starting a test app on loopback, in one of the two ways an app is served: its own
//! `listen()`, or mounted in axum (`GATEWAY_TEST_SERVING=axum`). `scripts/test.sh` runs the
//! end-to-end tests both ways.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::Router;
use gateway_core::{GatewayApp, GatewayAppBuilder, Gateways, Namespace, RunningApp};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How a test app is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serving {
    /// `GatewayApp::listen`.
    Listen,
    /// `axum::serve` with the gateways' service as the router's fallback, one server per port.
    Axum,
}

impl Serving {
    /// The way chosen by `GATEWAY_TEST_SERVING` (`listen`, the default, or `axum`).
    pub fn from_env() -> Self {
        match std::env::var("GATEWAY_TEST_SERVING").as_deref() {
            Ok("axum") => Self::Axum,
            Ok("listen") | Err(_) => Self::Listen,
            Ok(other) => panic!("GATEWAY_TEST_SERVING={other}: expected listen or axum"),
        }
    }
}

/// A test app, served on `127.0.0.1:0`.
pub struct TestServer {
    gateways: Gateways,
    addrs: HashMap<u16, SocketAddr>,
    stop: Stop,
}

enum Stop {
    Listen(RunningApp),
    Axum(Vec<(u16, oneshot::Sender<()>, JoinHandle<std::io::Result<()>>)>),
}

impl TestServer {
    /// Builds the app and serves it the way `GATEWAY_TEST_SERVING` says.
    pub async fn start(builder: GatewayAppBuilder) -> Self {
        Self::start_with(builder, Serving::from_env()).await
    }

    /// Builds the app and serves it `serving`.
    pub async fn start_with(builder: GatewayAppBuilder, serving: Serving) -> Self {
        Self::serve(builder.build().expect("the test app is valid"), serving).await
    }

    /// Serves a built app `serving`.
    pub async fn serve(app: GatewayApp, serving: Serving) -> Self {
        Self::serve_maybe_with_routes(app, None, serving).await
    }

    /// Serves a built app `serving`, with `routes` beside the gateways on the main port: given
    /// to `with_routes` under `listen()`, layered under the gateways under axum.
    pub async fn serve_with_routes(app: GatewayApp, routes: Router, serving: Serving) -> Self {
        Self::serve_maybe_with_routes(app, Some(routes), serving).await
    }

    async fn serve_maybe_with_routes(
        app: GatewayApp,
        routes: Option<Router>,
        serving: Serving,
    ) -> Self {
        match serving {
            Serving::Listen => {
                let app = match routes {
                    Some(routes) => app.with_routes(routes),
                    None => app,
                };
                let running = app.listen("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
                let gateways = running.gateways().clone();
                let addrs = gateways
                    .ports()
                    .filter_map(|port| Some((port, running.local_addr_for_port(port)?)))
                    .collect();
                Self {
                    gateways,
                    addrs,
                    stop: Stop::Listen(running),
                }
            }
            Serving::Axum => {
                let gateways = app.start().await.expect("the app starts");
                let mut addrs = HashMap::new();
                let mut servers = Vec::new();
                for port in gateways.ports().collect::<Vec<_>>() {
                    let service = gateways.service_for_port(port).expect("a port it has");
                    let router = match (&routes, port) {
                        (Some(routes), 0) => routes.clone().layer(gateways.layer()),
                        _ => Router::new().fallback_service(service),
                    };
                    // Declared ports are bound as declared (tests pick free ones).
                    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                        .await
                        .expect("bind a loopback port");
                    addrs.insert(port, listener.local_addr().expect("bound"));
                    let (stop, stopped) = oneshot::channel::<()>();
                    // As a dropped `RunningApp`, a dropped `TestServer` keeps serving.
                    let signal = async {
                        if stopped.await.is_err() {
                            std::future::pending::<()>().await;
                        }
                    };
                    // The main port's server shuts the gateways down as the example does; the
                    // others only stop serving.
                    let task = if port == 0 {
                        tokio::spawn(gateway_examples::axum_app::serve(
                            listener,
                            router,
                            gateways.clone(),
                            signal,
                        ))
                    } else {
                        tokio::spawn(async move {
                            axum::serve(
                                listener,
                                router.into_make_service_with_connect_info::<SocketAddr>(),
                            )
                            .with_graceful_shutdown(signal)
                            .await
                        })
                    };
                    servers.push((port, stop, task));
                }
                Self {
                    gateways,
                    addrs,
                    stop: Stop::Axum(servers),
                }
            }
        }
    }

    /// The address of the gateways without a declared port.
    pub fn local_addr(&self) -> SocketAddr {
        self.addrs[&0]
    }

    /// The address serving the gateways declared with `port`.
    pub fn local_addr_for_port(&self, port: u16) -> Option<SocketAddr> {
        self.addrs.get(&port).copied()
    }

    /// The namespace named `name`.
    pub fn namespace(&self, name: &str) -> Option<Namespace> {
        self.gateways.namespace(name)
    }

    /// Shuts down gracefully, as the way of serving does it.
    pub async fn shutdown(self) {
        match self.stop {
            Stop::Listen(running) => running.shutdown().await,
            Stop::Axum(servers) => {
                // The main port's server first: it shuts the gateways down.
                let mut servers = servers;
                servers.sort_by_key(|(port, ..)| *port);
                for (_, stop, task) in servers {
                    let _ = stop.send(());
                    task.await.expect("axum task").expect("axum served");
                }
            }
        }
    }
}
