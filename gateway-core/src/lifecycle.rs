//! A socket's life in its namespace, for both wire formats: `handle_connection` once it has
//! joined, and everything it owned released once it leaves.

use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;

use crate::pipeline::filter::send_exception;
use crate::registry::NamespaceState;
use crate::ws_io::CLOSE_GRACE;
use crate::{DisconnectReason, Handshake, Socket, WsException};

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
    if let Some(hook) = ns.hooks.disconnecting.clone() {
        let hook = hook(socket.clone(), reason);
        run_leaving_hook(hook, ns, hard_stopped, "handle_disconnecting").await;
    }
    let rooms = recoverable.map(|_| ns.rooms_of(socket.id()));
    ns.unregister(socket.id());
    socket.drop_pending_acks();
    if let Some(hook) = ns.hooks.disconnect.clone() {
        let hook = hook(socket.clone(), reason);
        run_leaving_hook(hook, ns, hard_stopped, "handle_disconnect").await;
    }
    if let (Some((recovery, pid)), Some(rooms)) = (recoverable, rooms) {
        recovery.persist(pid, socket.id(), rooms, socket.data().take_all());
    }
    socket.data().clear();
    tracing::debug!(gateway = ns.gateway(), socket = %socket.id(), %reason, "disconnected");
}

/// Awaits a hook of a leaving socket; a panic is logged. After a hard stop it gets
/// [`CLOSE_GRACE`] at most.
async fn run_leaving_hook(
    hook: impl std::future::Future<Output = ()>,
    ns: &NamespaceState,
    hard_stopped: bool,
    name: &str,
) {
    let hook = AssertUnwindSafe(hook).catch_unwind();
    if hard_stopped {
        let _ = tokio::time::timeout(CLOSE_GRACE, hook).await;
    } else if hook.await.is_err() {
        tracing::error!(gateway = ns.gateway(), hook = name, "hook panicked");
    }
}

pub(crate) async fn run_connection_hook(
    socket: &Socket,
    ns: &NamespaceState,
    handshake: Handshake,
) {
    let Some(hook) = ns.hooks.connection.clone() else {
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
