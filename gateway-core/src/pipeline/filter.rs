//! [`ExceptionFilter`]: turns an error into what the client receives (NestJS `@Catch` filters).

use std::future::Future;
use std::marker::PhantomData;

use futures_util::future::{BoxFuture, FutureExt};

use bytes::Bytes;

use super::ExecutionContext;
use crate::{Payload, Socket, WsException};

/// Handles an error from a guard, interceptor, pipe, extractor or handler.
///
/// Return `Ok(())` when the error is handled (the chain stops); return an error to pass it to
/// the next filter (handler → gateway → global → default). [`catches`](Self::catches) picks the
/// errors a filter is for (NestJS `@Catch(Type)`); by default, all of them.
///
/// ```
/// use gateway_core::pipeline::{ExceptionFilter, ExecutionContext};
/// use gateway_core::WsException;
///
/// /// Sends every error as an `error` event with just its message.
/// struct ToErrorEvent;
///
/// impl ExceptionFilter for ToErrorEvent {
///     async fn catch(&self, e: WsException, cx: &ExecutionContext) -> Result<(), WsException> {
///         cx.socket().emit("error", &serde_json::json!({"message": e.message()}))?;
///         Ok(())
///     }
/// }
/// ```
pub trait ExceptionFilter: Send + Sync + 'static {
    /// Handles `exception`, or fails to pass an error on.
    fn catch(
        &self,
        exception: WsException,
        cx: &ExecutionContext,
    ) -> impl Future<Output = Result<(), WsException>> + Send;

    /// Whether this filter handles `exception` (default: every exception).
    fn catches(&self, exception: &WsException) -> bool {
        let _ = exception;
        true
    }
}

/// Object-safe form of [`ExceptionFilter`].
pub(crate) trait DynFilter: Send + Sync {
    fn catch<'a>(
        &'a self,
        exception: WsException,
        cx: &'a ExecutionContext,
    ) -> BoxFuture<'a, Result<(), WsException>>;
    fn catches(&self, exception: &WsException) -> bool;
}

impl<F: ExceptionFilter> DynFilter for F {
    fn catch<'a>(
        &'a self,
        exception: WsException,
        cx: &'a ExecutionContext,
    ) -> BoxFuture<'a, Result<(), WsException>> {
        ExceptionFilter::catch(self, exception, cx).boxed()
    }
    fn catches(&self, exception: &WsException) -> bool {
        ExceptionFilter::catches(self, exception)
    }
}

/// NestJS 12's `BaseWsExceptionFilter`: the default filter, also usable as a global or gateway
/// filter to change `include_cause`, or from your own filter (NestJS `super.catch`).
///
/// It logs internal errors and sends `{"event":"exception","data":…}` with the payload of
/// [`WsException::payload`].
///
/// ```
/// use gateway_core::pipeline::BaseWsExceptionFilter;
/// let without_cause = BaseWsExceptionFilter::new().with_include_cause(false);
/// let app = gateway_core::GatewayApp::builder().with_global_filter(without_cause);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct BaseWsExceptionFilter {
    include_cause: bool,
}

impl Default for BaseWsExceptionFilter {
    fn default() -> Self {
        Self {
            include_cause: true,
        }
    }
}

impl BaseWsExceptionFilter {
    /// The NestJS 12 default: `cause: {pattern, data}` included.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether string exceptions carry `cause: {pattern, data}` (default `true`).
    pub fn with_include_cause(mut self, include_cause: bool) -> Self {
        self.include_cause = include_cause;
        self
    }

    /// Sends `exception` to the socket of `cx` (and logs it if it is internal).
    pub fn send(&self, exception: &WsException, cx: &ExecutionContext) {
        send_exception(
            cx.socket(),
            cx.gateway(),
            exception,
            cx.pattern(),
            cx.data_json(),
            cx.attachments(),
            self.include_cause,
        );
    }
}

impl ExceptionFilter for BaseWsExceptionFilter {
    fn catch(
        &self,
        exception: WsException,
        cx: &ExecutionContext,
    ) -> impl Future<Output = Result<(), WsException>> + Send {
        self.send(&exception, cx);
        std::future::ready(Ok(()))
    }
}

/// A filter made from a closure; see [`filter_fn`].
#[derive(Clone, Copy, Debug)]
pub struct FilterFn<F>(F);

/// A filter from an async closure taking the exception and the context.
///
/// ```
/// use gateway_core::pipeline::{filter_fn, ExecutionContext};
/// use gateway_core::WsException;
/// let to_error_event = filter_fn(|e: WsException, cx: ExecutionContext| async move {
///     cx.socket().emit("error", &serde_json::json!({"status": "error", "message": e.message()})).ok();
///     Ok::<(), WsException>(())
/// });
/// ```
pub fn filter_fn<F, Fut>(f: F) -> FilterFn<F>
where
    F: Fn(WsException, ExecutionContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), WsException>> + Send + 'static,
{
    FilterFn(f)
}

impl<F, Fut> ExceptionFilter for FilterFn<F>
where
    F: Fn(WsException, ExecutionContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), WsException>> + Send + 'static,
{
    fn catch(
        &self,
        exception: WsException,
        cx: &ExecutionContext,
    ) -> impl Future<Output = Result<(), WsException>> + Send {
        (self.0)(exception, cx.clone())
    }
}

/// A filter that only handles internal errors whose source is an `E` (NestJS `@Catch(E)`).
pub struct CatchOnly<E, F> {
    filter: F,
    error: PhantomData<fn() -> E>,
}

/// Restricts `filter` to internal errors caused by an `E`.
///
/// ```
/// use gateway_core::pipeline::{catch_only, filter_fn, ExecutionContext};
/// use gateway_core::WsException;
/// let io_errors = catch_only::<std::io::Error, _>(filter_fn(|_e: WsException, cx: ExecutionContext| async move {
///     cx.socket().emit("exception", &serde_json::json!({"message": "storage unavailable"})).ok();
///     Ok::<(), WsException>(())
/// }));
/// ```
pub fn catch_only<E, F>(filter: F) -> CatchOnly<E, F>
where
    E: std::error::Error + 'static,
    F: ExceptionFilter,
{
    CatchOnly {
        filter,
        error: PhantomData,
    }
}

impl<E, F> ExceptionFilter for CatchOnly<E, F>
where
    E: std::error::Error + 'static,
    F: ExceptionFilter,
{
    fn catch(
        &self,
        exception: WsException,
        cx: &ExecutionContext,
    ) -> impl Future<Output = Result<(), WsException>> + Send {
        self.filter.catch(exception, cx)
    }

    fn catches(&self, exception: &WsException) -> bool {
        exception
            .source()
            .is_some_and(|source| source.downcast_ref::<E>().is_some())
    }
}

impl<E, F: std::fmt::Debug> std::fmt::Debug for CatchOnly<E, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatchOnly")
            .field("error", &std::any::type_name::<E>())
            .field("filter", &self.filter)
            .finish()
    }
}

/// Sends `{"event":"exception","data":…}` in the default filter's shape, logging internal errors.
/// A `cause.data` that holds binary placeholders goes with the message's `attachments`, as
/// socket.io sends the buffers NestJS puts there.
pub(crate) fn send_exception(
    socket: &Socket,
    gateway: &str,
    exception: &WsException,
    pattern: &str,
    data: Option<&str>,
    attachments: &[Bytes],
    include_cause: bool,
) {
    if let Some(source) = exception.source() {
        tracing::error!(gateway, pattern, error = %source, "unhandled error");
    }
    let payload = exception.payload(pattern, data, include_cause);
    let carries_data = include_cause && exception.object().is_none() && data.is_some();
    if carries_data && !attachments.is_empty() {
        if let Ok(payload) = serde_json::from_str(&payload) {
            let payload = attachments
                .iter()
                .fold(Payload::new().with_arg(payload), |p, bytes| {
                    p.with_attachment(bytes.clone())
                });
            let _ = socket.emit_payload("exception", &payload);
            return;
        }
    }
    let _ = socket.emit_json("exception", &payload);
}
