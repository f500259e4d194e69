//! What any adapter flavour does on this instance for the others, whatever their wire format:
//! the app's namespaces it acts on ([`LocalNamespaces`]), answering a server-side emit, and
//! passing on the acks of a broadcast with acks.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use futures_util::StreamExt;
use gateway_core::{AckStream, Namespace, Room, SocketInfo};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The longest ack timeout honoured in another instance's broadcast with acks.
const MAX_REMOTE_ACK_TIMEOUT: Duration = Duration::from_secs(600);

/// The app's namespaces, by name, to act on other instances' behalf; emptied on close (a
/// namespace holds the app, which holds the adapter).
#[derive(Default)]
pub(crate) struct LocalNamespaces(RwLock<HashMap<String, Namespace>>);

impl LocalNamespaces {
    pub(crate) fn new(namespaces: Vec<Namespace>) -> Self {
        let by_name = namespaces
            .into_iter()
            .map(|ns| (ns.name().to_owned(), ns))
            .collect();
        Self(RwLock::new(by_name))
    }

    pub(crate) fn get(&self, name: &str) -> Option<Namespace> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// Acts on behalf of `ns` too (a dynamic gateway's concrete namespace).
    pub(crate) fn add(&self, ns: Namespace) {
        self.write().insert(ns.name().to_owned(), ns);
    }

    /// No longer acts on behalf of namespace `name` (it was dropped).
    pub(crate) fn remove(&self, name: &str) {
        self.write().remove(name);
    }

    /// Lets go of every namespace (on close).
    pub(crate) fn clear(&self) {
        self.write().clear();
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Namespace>> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// Runs `ns`'s handler of another instance's server-side emit `packet` (`[event, ...args]`);
/// its answer goes to `respond` unless the adapter closes first.
pub(crate) fn answer_server_event(
    ns: &Namespace,
    packet: Vec<Value>,
    tasks: &TaskTracker,
    cancel: &CancellationToken,
    respond: impl FnOnce(Value) + Send + 'static,
) {
    let Some(answer) = ns.dispatch_server_event(packet) else {
        return;
    };
    let cancel = cancel.clone();
    tasks.spawn(async move {
        tokio::select! {
            () = cancel.cancelled() => {}
            answer = answer => respond(answer),
        }
    });
}

/// Hands each local client's ack of another instance's broadcast to `respond`, until the acks
/// end or the adapter closes.
pub(crate) fn forward_acks(
    acks: AckStream,
    tasks: &TaskTracker,
    cancel: &CancellationToken,
    respond: impl Fn(Value) + Send + 'static,
) {
    let cancel = cancel.clone();
    tasks.spawn(async move {
        let mut acks = std::pin::pin!(acks.take_until(cancel.cancelled_owned()));
        while let Some((_, answer)) = acks.next().await {
            if let Ok(answer) = answer {
                respond(answer);
            }
        }
    });
}

/// How long to wait for the acks of another instance's broadcast: its `flags.timeout` (ms),
/// bounded, or `default`.
pub(crate) fn ack_timeout(opts: &Value, default: Duration) -> Duration {
    opts.pointer("/flags/timeout")
        .and_then(Value::as_u64)
        .map_or(default, |ms| {
            // Set by another instance: bounds how long this one keeps the acks' state.
            Duration::from_millis(ms).min(MAX_REMOTE_ACK_TIMEOUT)
        })
}

/// A socket as `fetchSockets` answers carry it.
pub(crate) fn socket_json(info: &SocketInfo) -> Value {
    json!({
        "id": info.id.as_str(),
        "handshake": info.handshake,
        "rooms": info.rooms.iter().map(Room::as_str).collect::<Vec<_>>(),
        "data": info.data,
    })
}
