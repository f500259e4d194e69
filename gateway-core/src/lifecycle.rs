//! A socket's life in its namespace, for both wire formats: `handle_connection` once it has
//! joined, and everything it owned released once it leaves.

use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;

use crate::pipeline::filter::send_exception;
use crate::registry::NamespaceState;
use crate::ws_io::CLOSE_GRACE;
use crate::{ClusterData, DisconnectReason, Handshake, PersistedSession, Socket, WsException};

/// Releases everything a socket owns: `handle_disconnecting` (its rooms still joined), its
/// registry entry and room memberships, then `handle_disconnect` (each hook bounded after a
/// hard stop), then its data.
pub(crate) async fn finish_socket(
    socket: &Socket,
    ns: &NamespaceState,
    reason: DisconnectReason,
    hard_stopped: bool,
) {
    let recoverable = ns
        .recovery()
        .zip(socket.pid())
        .filter(|_| reason.is_recoverable());
    // After a hard stop, both hooks together get `CLOSE_GRACE`.
    let deadline = tokio::time::Instant::now() + CLOSE_GRACE;
    let deadline = hard_stopped.then_some(deadline);
    if let Some(hook) = ns.hooks().disconnecting.clone() {
        let hook = hook(socket.clone(), reason);
        run_leaving_hook(hook, ns, deadline, "handle_disconnecting").await;
    }
    let rooms = recoverable.map(|_| ns.rooms_of(socket.id()));
    ns.unregister(socket.id());
    if let Some(metrics) = ns.metrics() {
        metrics.disconnected(reason);
    }
    socket.drop_pending_acks();
    if let Some(hook) = ns.hooks().disconnect.clone() {
        let hook = hook(socket.clone(), reason);
        run_leaving_hook(hook, ns, deadline, "handle_disconnect").await;
    }
    if let (Some((recovery, pid)), Some(rooms)) = (recoverable, rooms) {
        match (ns.session_store(), ns.recovery_window()) {
            (Some(store), Some(keep_for)) => store.persist(
                ns.name(),
                PersistedSession {
                    sid: socket.id(),
                    pid: pid.to_owned(),
                    rooms,
                    data: socket
                        .data()
                        .get::<ClusterData>()
                        .map_or_else(|| serde_json::json!({}), |data| data.0),
                    keep_for,
                },
            ),
            _ => recovery.persist(pid, socket.id(), rooms, socket.data().take_all()),
        }
    }
    socket.data().clear();
    tracing::debug!(gateway = ns.gateway(), socket = %socket.id(), %reason, "disconnected");
    // Last, once the hooks are done with it: a dynamic namespace left empty is dropped.
    if let Some(owner) = ns.owner() {
        owner.release_if_empty(ns);
    }
}

/// Awaits a hook of a leaving socket, until `deadline` if there is one (after a hard stop); a
/// panic is logged.
async fn run_leaving_hook(
    hook: impl std::future::Future<Output = ()>,
    ns: &NamespaceState,
    deadline: Option<tokio::time::Instant>,
    name: &str,
) {
    let hook = AssertUnwindSafe(hook).catch_unwind();
    let outcome = match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, hook).await.ok(),
        None => Some(hook.await),
    };
    if let Some(Err(_)) = outcome {
        tracing::error!(gateway = ns.gateway(), hook = name, "hook panicked");
    }
}

pub(crate) async fn run_connection_hook(
    socket: &Socket,
    ns: &NamespaceState,
    handshake: Handshake,
) {
    let Some(hook) = ns.hooks().connection.clone() else {
        return;
    };
    let result = match AssertUnwindSafe(hook(socket.clone(), handshake))
        .catch_unwind()
        .await
    {
        Ok(result) => result,
        Err(_) => Err(WsException::internal("handle_connection panicked")),
    };
    if let Err(exception) = result {
        send_exception(
            socket,
            ns.gateway(),
            &exception,
            "handleConnection",
            None,
            &[],
            true,
        );
        socket.disconnect();
    }
}
