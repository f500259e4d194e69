//! `GET /metrics` in Prometheus's text format, for the gateways' metrics
//! (`GatewayAppBuilder::with_metrics`), as the `chat` example serves it.

use std::time::Duration;

use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{BuildError, PrometheusBuilder};

/// How often histograms are trimmed when nobody scrapes (they keep samples until rendered).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Installs the Prometheus recorder (process-wide; before the app is built, so its handles are
/// registered with it) and returns the `GET /metrics` route. Call it from inside the runtime.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let metrics = gateway_examples::prometheus::install()?;
/// let app = gateway_core::GatewayApp::builder()
///     .with_metrics()
///     .build()?
///     .with_routes(metrics);
/// # Ok(()) }
/// ```
pub fn install() -> Result<Router, BuildError> {
    let prometheus = PrometheusBuilder::new().install_recorder()?;
    let upkeep = prometheus.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(UPKEEP_EVERY);
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(Router::new().route(
        "/metrics",
        get(move || std::future::ready(prometheus.render())),
    ))
}
