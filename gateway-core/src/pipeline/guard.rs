//! [`Guard`]: decides whether a handler runs (NestJS `CanActivate`).

use std::future::Future;

use futures_util::future::{BoxFuture, FutureExt};

use super::{Credential, ExecutionContext};
use crate::WsException;

/// What NestJS sends when a guard answers `false`.
pub const FORBIDDEN_MESSAGE: &str = "Forbidden resource";

/// Decides whether the handler runs. `Ok(false)` becomes `WsException("Forbidden resource")`;
/// an `Err` reaches the client as is.
///
/// ```
/// use gateway_core::pipeline::{ExecutionContext, Guard};
/// use gateway_core::WsException;
///
/// #[derive(Clone)]
/// struct User { role: String }
///
/// /// The guide's `WsRoleGuard`.
/// struct RoleGuard(&'static str);
///
/// impl Guard for RoleGuard {
///     async fn can_activate(&self, cx: &ExecutionContext) -> Result<bool, WsException> {
///         match cx.socket().data().get::<User>() {
///             Some(user) if user.role == self.0 => Ok(true),
///             _ => Err(WsException::new("Forbidden")),
///         }
///     }
/// }
/// ```
pub trait Guard: Send + Sync + 'static {
    /// `Ok(true)` lets the handler run.
    fn can_activate(
        &self,
        cx: &ExecutionContext,
    ) -> impl Future<Output = Result<bool, WsException>> + Send;

    /// Where this guard reads the client's token, if it authenticates: the API description's
    /// security schemes (default: none).
    fn credentials(&self) -> Vec<Credential> {
        Vec::new()
    }
}

/// Object-safe form of [`Guard`], for storage.
pub(crate) trait DynGuard: Send + Sync {
    fn can_activate<'a>(
        &'a self,
        cx: &'a ExecutionContext,
    ) -> BoxFuture<'a, Result<bool, WsException>>;
    /// Read by the API description only.
    #[cfg_attr(not(feature = "asyncapi"), allow(dead_code))]
    fn credentials(&self) -> Vec<Credential>;
}

impl<G: Guard> DynGuard for G {
    fn can_activate<'a>(
        &'a self,
        cx: &'a ExecutionContext,
    ) -> BoxFuture<'a, Result<bool, WsException>> {
        Guard::can_activate(self, cx).boxed()
    }
    fn credentials(&self) -> Vec<Credential> {
        Guard::credentials(self)
    }
}

/// What a closure guard may return: `bool`, `Result<bool, E>` or `Result<(), E>`.
pub trait IntoGuardResult {
    /// Performs the conversion.
    fn into_guard_result(self) -> Result<bool, WsException>;
}

impl IntoGuardResult for bool {
    fn into_guard_result(self) -> Result<bool, WsException> {
        Ok(self)
    }
}

impl<E: Into<WsException>> IntoGuardResult for Result<bool, E> {
    fn into_guard_result(self) -> Result<bool, WsException> {
        self.map_err(Into::into)
    }
}

impl<E: Into<WsException>> IntoGuardResult for Result<(), E> {
    fn into_guard_result(self) -> Result<bool, WsException> {
        self.map(|()| true).map_err(Into::into)
    }
}

/// A guard made from a closure; see [`guard_fn`].
#[derive(Clone, Copy, Debug)]
pub struct GuardFn<F>(F);

/// A guard from an async closure taking the [`ExecutionContext`].
///
/// ```
/// use gateway_core::pipeline::{guard_fn, ExecutionContext};
/// #[derive(Clone)]
/// struct User;
/// let authenticated = guard_fn(|cx: ExecutionContext| async move { cx.socket().data().contains::<User>() });
/// ```
pub fn guard_fn<F, Fut>(f: F) -> GuardFn<F>
where
    F: Fn(ExecutionContext) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: IntoGuardResult,
{
    GuardFn(f)
}

impl<F, Fut> Guard for GuardFn<F>
where
    F: Fn(ExecutionContext) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: IntoGuardResult,
{
    fn can_activate(
        &self,
        cx: &ExecutionContext,
    ) -> impl Future<Output = Result<bool, WsException>> + Send {
        let fut = (self.0)(cx.clone());
        async move { fut.await.into_guard_result() }
    }
}
