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
    /// Answers `GET path` (and `HEAD`) with `body` (`content_type`), and passes every other
    /// request on to `fallback` (none: NestJS's 404).
    #[cfg_attr(not(feature = "asyncapi"), allow(dead_code))]
    pub(crate) fn document(
        path: String,
        content_type: &'static str,
        body: Bytes,
        fallback: Option<Routes>,
    ) -> Self {
        let call = move |req: Request<Incoming>| -> BoxFuture<'static, Response<RoutesBody>> {
            let method = req.method();
            let ours = req.uri().path() == path
                && (method == http::Method::GET || method == http::Method::HEAD);
            if !ours {
                return match &fallback {
                    Some(fallback) => (fallback.call)(req),
                    None => Box::pin(std::future::ready(boxed(http_answer::not_found(&req)))),
                };
            }
            let body = match *method == http::Method::HEAD {
                true => Bytes::new(),
                false => body.clone(),
            };
            let mut response = Response::new(http_body_util::Full::new(body));
            let value = http::HeaderValue::from_static(content_type);
            response
                .headers_mut()
                .insert(http::header::CONTENT_TYPE, value);
            Box::pin(std::future::ready(boxed(response)))
        };
        Self {
            call: Arc::new(call),
        }
    }
}

fn boxed(response: Response<http_body_util::Full<Bytes>>) -> Response<RoutesBody> {
    response.map(|body| body.map_err(|never| match never {}).boxed_unsync())
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
