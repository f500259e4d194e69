//! [`ConnectionGuard`]: guards that run at the handshake, before the WebSocket upgrade.
//!
//! NestJS never runs guards on connection (nestjs/nest#882); its users check in
//! `handleConnection` and disconnect. Here a gateway can refuse the upgrade itself: the client
//! gets HTTP 403 (`Ok(false)`) or 401 (an error) with a JSON body, and never a socket.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::future::{BoxFuture, FutureExt};

use super::{Credential, IntoGuardResult};
use crate::{Handshake, SocketData, WsException};

/// What a connection guard sees: the upgrade request and the data the socket will start with.
///
/// ```
/// use gateway_core::pipeline::{connection_guard_fn, ConnectionContext};
/// #[derive(Clone)]
/// struct ApiKey(String);
/// let api_key = connection_guard_fn(|cx: ConnectionContext| async move {
///     match cx.handshake().query("key") {
///         Some(key) => { cx.data().insert(ApiKey(key.to_owned())); true }
///         None => false,
///     }
/// });
/// ```
#[derive(Debug, Clone)]
pub struct ConnectionContext {
    handshake: Handshake,
    data: std::sync::Arc<SocketData>,
    gateway: &'static str,
}

impl ConnectionContext {
    pub(crate) fn new(handshake: Handshake, gateway: &'static str) -> Self {
        Self {
            handshake,
            data: std::sync::Arc::default(),
            gateway,
        }
    }

    /// The upgrade request: headers, query, remote address.
    pub fn handshake(&self) -> &Handshake {
        &self.handshake
    }

    /// The data the socket starts with: what a guard stores here (e.g. JWT claims) is in
    /// [`Socket::data`](crate::Socket::data) once connected.
    pub fn data(&self) -> &SocketData {
        &self.data
    }

    /// The gateway's type name.
    pub fn gateway(&self) -> &'static str {
        self.gateway
    }

    /// The socket's initial data, once every guard has passed.
    pub(crate) fn into_data(self) -> std::sync::Arc<SocketData> {
        self.data
    }
}

/// Decides at the handshake whether a client may connect. `Ok(false)` refuses with 403
/// `{"status":"error","message":"Forbidden resource"}`; an error refuses with 401 and the
/// exception's payload (`{"status":"error","message":…}` for a string exception).
///
/// ```
/// use gateway_core::pipeline::{ConnectionContext, ConnectionGuard};
/// use gateway_core::WsException;
///
/// struct RequireToken;
///
/// impl ConnectionGuard for RequireToken {
///     async fn can_connect(&self, cx: &ConnectionContext) -> Result<bool, WsException> {
///         match cx.handshake().query("token") {
///             Some(_) => Ok(true),
///             None => Err(WsException::new("No token provided")),
///         }
///     }
/// }
/// ```
pub trait ConnectionGuard: Send + Sync + 'static {
    /// `Ok(true)` lets the client connect.
    fn can_connect(
        &self,
        cx: &ConnectionContext,
    ) -> impl Future<Output = Result<bool, WsException>> + Send;

    /// Where this guard reads the client's token, if it authenticates: the API description's
    /// security schemes (default: none).
    fn credentials(&self) -> Vec<Credential> {
        Vec::new()
    }
}

/// Object-safe form of [`ConnectionGuard`].
/// Why the connection guards refused a client.
pub(crate) enum Refusal {
    /// A guard answered `false`.
    Forbidden,
    /// A guard failed (or panicked): the error goes to the client.
    Failed(WsException),
}

/// Runs `guards` in order until one refuses; a panicking guard refuses with an internal error.
/// Every transport runs its guards through here.
pub(crate) async fn run_connection_guards(
    guards: &[Arc<dyn DynConnectionGuard>],
    cx: &ConnectionContext,
) -> Result<(), Refusal> {
    for guard in guards {
        match AssertUnwindSafe(guard.can_connect(cx)).catch_unwind().await {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => return Err(Refusal::Forbidden),
            Ok(Err(exception)) => return Err(Refusal::Failed(exception)),
            Err(_) => {
                let panicked = WsException::internal("connection guard panicked");
                return Err(Refusal::Failed(panicked));
            }
        }
    }
    Ok(())
}

pub(crate) trait DynConnectionGuard: Send + Sync {
    fn can_connect<'a>(
        &'a self,
        cx: &'a ConnectionContext,
    ) -> BoxFuture<'a, Result<bool, WsException>>;
    /// Read by the API description only.
    #[cfg_attr(not(feature = "asyncapi"), allow(dead_code))]
    fn credentials(&self) -> Vec<Credential>;
}

impl<G: ConnectionGuard> DynConnectionGuard for G {
    fn can_connect<'a>(
        &'a self,
        cx: &'a ConnectionContext,
    ) -> BoxFuture<'a, Result<bool, WsException>> {
        ConnectionGuard::can_connect(self, cx).boxed()
    }
    fn credentials(&self) -> Vec<Credential> {
        ConnectionGuard::credentials(self)
    }
}

/// A connection guard made from a closure; see [`connection_guard_fn`].
#[derive(Clone, Copy, Debug)]
pub struct ConnectionGuardFn<F>(F);

/// A connection guard from an async closure taking the [`ConnectionContext`].
pub fn connection_guard_fn<F, Fut>(f: F) -> ConnectionGuardFn<F>
where
    F: Fn(ConnectionContext) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: IntoGuardResult,
{
    ConnectionGuardFn(f)
}

impl<F, Fut> ConnectionGuard for ConnectionGuardFn<F>
where
    F: Fn(ConnectionContext) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: IntoGuardResult,
{
    fn can_connect(
        &self,
        cx: &ConnectionContext,
    ) -> impl Future<Output = Result<bool, WsException>> + Send {
        let fut = (self.0)(cx.clone());
        async move { fut.await.into_guard_result() }
    }
}
