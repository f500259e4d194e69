//! [`Routes`]: the user's own HTTP routes (an axum `Router`, any tower service) that
//! [`listen`](crate::GatewayApp::listen) serves on the main port beside the gateways, in place of
//! NestJS's 404 (from [`GatewayApp::with_routes`](crate::GatewayApp::with_routes)).

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{Request, Response};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use tower_service::Service;

use crate::accept::BoxError;
#[cfg(feature = "asyncapi")]
use crate::http_answer;

/// A response body of the user's routes, whatever its type was.
pub(crate) type RoutesBody = UnsyncBoxBody<Bytes, BoxError>;

type Call = dyn Fn(Request<Incoming>) -> BoxFuture<'static, Response<RoutesBody>> + Send + Sync;

/// A tower service of any type, behind one type, so [`GatewayApp`](crate::GatewayApp) need not
/// be generic over it. Only requests that are not the gateways' reach it.
#[derive(Clone)]
pub(crate) struct Routes {
    call: Arc<Call>,
}

impl Routes {
    pub(crate) fn new<S, B>(service: S) -> Self
    where
        S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let call = move |req| -> BoxFuture<'static, Response<RoutesBody>> {
            let mut service = service.clone();
            Box::pin(async move {
                let ready = std::future::poll_fn(|cx| service.poll_ready(cx)).await;
                let response = match ready {
                    Ok(()) => service.call(req).await,
                    Err(never) => Err(never),
                };
                let Ok(response) = response;
                response.map(|body| body.map_err(Into::into).boxed_unsync())
            })
        };
        Self {
            call: Arc::new(call),
        }
    }
}

impl Routes {
    /// Answers `GET path` (and `HEAD`) with the JSON `body`, and passes every other request on
    /// to `fallback` (none: NestJS's 404).
    #[cfg(feature = "asyncapi")]
    pub(crate) fn json_document(path: String, body: Bytes, fallback: Option<Routes>) -> Self {
        let call = move |req: Request<Incoming>| -> BoxFuture<'static, Response<RoutesBody>> {
            let method = req.method();
            let ours = req.uri().path() == path
                && (method == http::Method::GET || method == http::Method::HEAD);
            let response = match (ours, &fallback) {
                // hyper leaves out a HEAD response's body and keeps its length.
                (true, _) => http_answer::json_body(http::StatusCode::OK, body.clone()),
                (false, Some(fallback)) => return (fallback.call)(req),
                (false, None) => http_answer::not_found(&req),
            };
            Box::pin(std::future::ready(
                response.map(|body| body.map_err(|never| match never {}).boxed_unsync()),
            ))
        };
        Self {
            call: Arc::new(call),
        }
    }
}

impl Service<Request<Incoming>> for Routes {
    type Response = Response<RoutesBody>;
    type Error = Infallible;
    type Future = futures_util::future::Map<
        BoxFuture<'static, Response<RoutesBody>>,
        fn(Response<RoutesBody>) -> Result<Response<RoutesBody>, Infallible>,
    >;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Readiness is waited for inside the call, on the clone that serves it.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Incoming>) -> Self::Future {
        use futures_util::FutureExt as _;
        (self.call)(req).map(Ok as fn(_) -> _)
    }
}

impl std::fmt::Debug for Routes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Routes")
    }
}
