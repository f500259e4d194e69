//! `cargo run --example chat`: guide 000's ChatGateway at /chat and EventsGateway at /events,
//! and a dynamic namespace, `/workspaces/{workspace}` (`WorkspacesGateway`: `whoami` answers
//! `{"workspace":"<id>"}`), one app on one port, with a browser demo beside them: a chat page at `GET /` and its
//! demo-only token endpoint `POST /demo/token` (`gateway_examples::chat_page`), and the gateways'
//! metrics in Prometheus's text format at `GET /metrics`. Chat clients
//! need a JWT (`cargo run --example mint_token -- alice`), signed with `JWT_SECRET` (default:
//! `dev-secret-change-me`).

use gateway_examples::common::jwt_secret;
use gateway_examples::{apps, chat_page, hints, prometheus};
use gateway_examples::{init_tracing, port_from_env};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_tracing();
    let secret = jwt_secret();
    let app = apps::chat(&secret).with_metrics().build()?;
    if apps::emit_descriptions(&app, "chat")? {
        return Ok(());
    }
    let metrics = prometheus::install()?;
    let server = app
        .with_routes(chat_page::routes(&secret).merge(metrics))
        .listen(("0.0.0.0", port_from_env()))
        .await?;
    print!("{}", hints::chat(server.local_addr().port()));
    server.shutdown_on(tokio::signal::ctrl_c()).await;
    Ok(())
}
