//! The apps of the `chat`, `events` and `notifications` examples, before they listen: the
//! examples serve them, the tests describe them, and `--emit-types` / `--emit-asyncapi` write
//! their TypeScript event maps and AsyncAPI documents.

use std::path::PathBuf;

use gateway_core::{EventBus, GatewayApp, GatewayAppBuilder};

use crate::chat::ChatGateway;
use crate::events::EventsGateway;
use crate::notifications::NotificationsGateway;
use crate::workspaces::WorkspacesGateway;

/// The chat example's gateways (`/chat`, `/events`, `/workspaces/{workspace}`), with its
/// AsyncAPI document at `GET /asyncapi.json`.
///
/// ```
/// let app = gateway_examples::apps::chat("secret").build().unwrap();
/// assert_eq!(app.asyncapi()["info"]["title"], "Chat example");
/// ```
pub fn chat(jwt_secret: &str) -> GatewayAppBuilder {
    GatewayApp::builder()
        .gateway(ChatGateway::new(jwt_secret))
        .gateway(EventsGateway)
        .gateway(WorkspacesGateway)
        .with_api_info("Chat example", env!("CARGO_PKG_VERSION"))
        .with_asyncapi_route("/asyncapi.json")
}

/// The events example's gateway (`/events`).
///
/// ```
/// let app = gateway_examples::apps::events().build().unwrap();
/// assert_eq!(app.asyncapi()["channels"]["events"]["address"], "/events");
/// ```
pub fn events() -> GatewayAppBuilder {
    GatewayApp::builder()
        .gateway(EventsGateway)
        .with_api_info("Events example", env!("CARGO_PKG_VERSION"))
}

/// The notifications example's gateway (`/notifications`), on `bus`.
///
/// ```
/// let app = gateway_examples::apps::notifications(gateway_core::EventBus::new()).build().unwrap();
/// assert!(app.asyncapi()["operations"]["notifications_send_notification"].is_object());
/// ```
pub fn notifications(bus: EventBus) -> GatewayAppBuilder {
    GatewayApp::builder()
        .with_event_bus(bus)
        .gateway(NotificationsGateway::default())
        .with_api_info("Notifications example", env!("CARGO_PKG_VERSION"))
}

/// Handles `--emit-types DIR` (writes `DIR/NAME.d.ts`) and `--emit-asyncapi DIR` (writes
/// `DIR/NAME.asyncapi.json`) on the command line. Returns whether it wrote anything: the
/// example then exits instead of serving.
///
/// ```no_run
/// let app = gateway_examples::apps::events().build().unwrap();
/// if gateway_examples::apps::emit_descriptions(&app, "events").unwrap() {
///     return;
/// }
/// ```
pub fn emit_descriptions(app: &GatewayApp, name: &str) -> Result<bool, String> {
    let types = directory_after("--emit-types")?;
    let asyncapi = directory_after("--emit-asyncapi")?;
    let write = |dir: &PathBuf, file: String, text: String| -> Result<(), String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = dir.join(file);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("wrote {}", path.display());
        Ok(())
    };
    if let Some(dir) = &types {
        write(dir, format!("{name}.d.ts"), app.typescript())?;
    }
    if let Some(dir) = &asyncapi {
        let document = serde_json::to_string_pretty(&app.asyncapi()).map_err(|e| e.to_string())?;
        write(dir, format!("{name}.asyncapi.json"), document + "\n")?;
    }
    Ok(types.is_some() || asyncapi.is_some())
}

fn directory_after(flag: &str) -> Result<Option<PathBuf>, String> {
    let mut args = std::env::args().skip_while(|arg| arg != flag);
    match (args.next(), args.next()) {
        (Some(_), Some(dir)) => Ok(Some(PathBuf::from(dir))),
        (Some(_), None) => Err(format!("{flag} needs a directory, e.g. {flag} out/")),
        _ => Ok(None),
    }
}
