//! A gateway's lifecycle hooks (`after_init`, `handle_connection`, `handle_disconnecting`,
//! `handle_disconnect`) as the runtime stores them, and what they may return.

use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::{DisconnectReason, Handshake, Namespace, Socket, WsException};

/// What a lifecycle hook may return: `()` or `Result<(), E>` with `E: Into<WsException>`.
///
/// ```
/// use gateway_core::{IntoHookResult, WsException};
/// assert!(().into_hook_result().is_ok());
/// assert!(Err::<(), _>(WsException::new("Unauthorized")).into_hook_result().is_err());
/// ```
pub trait IntoHookResult {
    /// Performs the conversion.
    fn into_hook_result(self) -> Result<(), WsException>;
}

impl IntoHookResult for () {
    fn into_hook_result(self) -> Result<(), WsException> {
        Ok(())
    }
}

impl<E: Into<WsException>> IntoHookResult for Result<(), E> {
    fn into_hook_result(self) -> Result<(), WsException> {
        self.map_err(Into::into)
    }
}

type InitHook = Arc<dyn Fn(Namespace) -> BoxFuture<'static, ()> + Send + Sync>;
type ConnectionHook =
    Arc<dyn Fn(Socket, Handshake) -> BoxFuture<'static, Result<(), WsException>> + Send + Sync>;
type DisconnectHook = Arc<dyn Fn(Socket, DisconnectReason) -> BoxFuture<'static, ()> + Send + Sync>;

/// The lifecycle hooks of one gateway.
#[derive(Default)]
pub(crate) struct Hooks {
    pub(crate) init: Option<InitHook>,
    pub(crate) connection: Option<ConnectionHook>,
    pub(crate) disconnecting: Option<DisconnectHook>,
    pub(crate) disconnect: Option<DisconnectHook>,
}
