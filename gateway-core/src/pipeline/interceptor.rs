//! [`Interceptor`]: code around the rest of the pipeline (NestJS `NestInterceptor`).

use std::future::Future;
use std::sync::Arc;

use futures_util::future::{BoxFuture, FutureExt};

use super::ExecutionContext;
use crate::{Reply, WsException};

/// Runs around everything after it: later interceptors, pipes, extraction and the handler.
///
/// ```
/// use std::time::Instant;
/// use gateway_core::pipeline::{ExecutionContext, Interceptor, Next};
/// use gateway_core::{Reply, WsException};
///
/// /// The guide's `WsLoggingInterceptor`.
/// struct Timing;
///
/// impl Interceptor for Timing {
///     async fn intercept(&self, cx: &ExecutionContext, next: Next) -> Result<Reply, WsException> {
///         let start = Instant::now();
///         let reply = next.run().await;
///         println!("WS {} - Client: {} - {:?}", cx.pattern(), cx.socket().id(), start.elapsed());
///         reply
///     }
/// }
/// ```
pub trait Interceptor: Send + Sync + 'static {
    /// Calls `next.run()` (or not) and returns the reply.
    fn intercept(
        &self,
        cx: &ExecutionContext,
        next: Next,
    ) -> impl Future<Output = Result<Reply, WsException>> + Send;
}

/// Object-safe form of [`Interceptor`].
pub(crate) trait DynInterceptor: Send + Sync {
    fn intercept<'a>(
        &'a self,
        cx: &'a ExecutionContext,
        next: Next,
    ) -> BoxFuture<'a, Result<Reply, WsException>>;
}

impl<I: Interceptor> DynInterceptor for I {
    fn intercept<'a>(
        &'a self,
        cx: &'a ExecutionContext,
        next: Next,
    ) -> BoxFuture<'a, Result<Reply, WsException>> {
        Interceptor::intercept(self, cx, next).boxed()
    }
}

type Endpoint = Box<dyn FnOnce() -> BoxFuture<'static, Result<Reply, WsException>> + Send>;

/// The rest of the pipeline, as seen by an interceptor (NestJS `CallHandler`).
pub struct Next {
    chain: Arc<[Arc<dyn DynInterceptor>]>,
    index: usize,
    cx: ExecutionContext,
    endpoint: Endpoint,
}

impl Next {
    pub(crate) fn new(
        chain: Arc<[Arc<dyn DynInterceptor>]>,
        cx: ExecutionContext,
        endpoint: Endpoint,
    ) -> Self {
        Self {
            chain,
            index: 0,
            cx,
            endpoint,
        }
    }

    /// Runs the rest of the pipeline (NestJS `next.handle()`).
    pub async fn run(self) -> Result<Reply, WsException> {
        match self.chain.get(self.index).cloned() {
            None => (self.endpoint)().await,
            Some(interceptor) => {
                let cx = self.cx.clone();
                let next = Next {
                    index: self.index + 1,
                    ..self
                };
                interceptor.intercept(&cx, next).await
            }
        }
    }
}

impl std::fmt::Debug for Next {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Next")
            .field(
                "remaining",
                &(self.chain.len() - self.index.min(self.chain.len())),
            )
            .finish()
    }
}

/// An interceptor made from a closure; see [`interceptor_fn`].
#[derive(Clone, Copy, Debug)]
pub struct InterceptorFn<F>(F);

/// An interceptor from an async closure taking the context and [`Next`].
///
/// ```
/// use gateway_core::pipeline::{interceptor_fn, ExecutionContext, Next};
/// use gateway_core::Reply;
/// // Replace every reply with a fixed one, without calling the handler.
/// let maintenance = interceptor_fn(|_cx: ExecutionContext, _next: Next| async move {
///     Reply::json(&"maintenance")
/// });
/// ```
pub fn interceptor_fn<F, Fut>(f: F) -> InterceptorFn<F>
where
    F: Fn(ExecutionContext, Next) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Reply, WsException>> + Send + 'static,
{
    InterceptorFn(f)
}

impl<F, Fut> Interceptor for InterceptorFn<F>
where
    F: Fn(ExecutionContext, Next) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Reply, WsException>> + Send + 'static,
{
    fn intercept(
        &self,
        cx: &ExecutionContext,
        next: Next,
    ) -> impl Future<Output = Result<Reply, WsException>> + Send {
        (self.0)(cx.clone(), next)
    }
}
