//! The gateways as a tower [`Service`]: [`GatewayService`], and [`GatewayLayer`] to put them in
//! front of another service (an axum `Router`'s routes).
//!
//! A request is the gateways' when it is a WebSocket upgrade at a gateway's path, or anything at
//! the Socket.IO path; [`accept`](crate::accept) answers it. Any other request goes to the
//! fallback: the wrapped service, or [`NotFound`].

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{Request, Response};
use http_body_util::{Either, Empty, Full};
use tower_layer::Layer;
use tower_service::Service;

use crate::accept::{self, Answered, BoxError, Endpoints};
use crate::handshake::detached;
use crate::http_answer::not_found;
use crate::runtime::Runtime;

/// The gateways of a started app as a tower service (from [`Gateways::service`]).
///
/// It serves WebSocket upgrades at the gateways' paths and Engine.IO / Socket.IO at the
/// Socket.IO path, over whatever stream the server upgrades (plain TCP, TLS); other requests go
/// to `F`: [`NotFound`], or the service a [`GatewayLayer`] wraps. The client's address is read
/// from the request's extensions (axum's `ConnectInfo<SocketAddr>`, with the `axum` feature).
///
/// ```no_run
/// # async fn run(gateways: gateway_core::Gateways) {
/// let router: axum::Router = axum::Router::new().fallback_service(gateways.service());
/// # }
/// ```
///
/// [`Gateways::service`]: crate::Gateways::service
#[derive(Clone)]
pub struct GatewayService<F = NotFound> {
    endpoints: Arc<Endpoints>,
    shared: Arc<Runtime>,
    fallback: F,
    /// The client's address, when the server that owns the connection says it up front.
    peer: Option<SocketAddr>,
}

impl GatewayService {
    pub(crate) fn new(endpoints: Arc<Endpoints>, shared: Arc<Runtime>) -> Self {
        Self {
            endpoints,
            shared,
            fallback: NotFound,
            peer: None,
        }
    }

    /// This service with `fallback` for the requests that are not the gateways'.
    pub(crate) fn with_fallback<G>(self, fallback: G) -> GatewayService<G> {
        GatewayService {
            endpoints: self.endpoints,
            shared: self.shared,
            fallback,
            peer: self.peer,
        }
    }
}

impl<F: Clone> GatewayService<F> {
    /// This service for one connection from `peer` (as `listen()` serves each).
    pub(crate) fn for_peer(&self, peer: SocketAddr) -> Self {
        Self {
            peer: Some(peer),
            ..self.clone()
        }
    }
}

impl<F> GatewayService<F> {
    /// What the gateways share: limits, shutdown signals.
    pub(crate) fn runtime(&self) -> &Arc<Runtime> {
        &self.shared
    }

    /// The gateways' answer to an upgrade request `listen()` parsed itself, or `None` when the
    /// request is not theirs.
    ///
    /// Boxed: the connection's task outlives the answer, and would otherwise keep room for it
    /// (some kilobytes) for as long as the client is connected.
    pub(crate) fn answer_direct(
        &self,
        req: Request<Empty<Bytes>>,
    ) -> Option<BoxFuture<'static, Answered>> {
        let target = accept::target(&req, &self.endpoints, &self.shared)?;
        let peer = self.peer.unwrap_or_else(|| accept::peer_addr(&req));
        Some(Box::pin(accept::answer(
            target,
            req,
            self.shared.clone(),
            peer,
        )))
    }
}

impl<F> std::fmt::Debug for GatewayService<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayService")
            .field("paths", &self.endpoints.by_path)
            .finish()
    }
}

impl<F, B, ResBody> Service<Request<B>> for GatewayService<F>
where
    F: Service<Request<B>, Response = Response<ResBody>> + Clone,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<Either<Full<Bytes>, ResBody>>;
    type Error = F::Error;
    type Future = ResponseFuture<F::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.fallback.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        match accept::target(&req, &self.endpoints, &self.shared) {
            Some(target) => ResponseFuture {
                answer: Answer::Gateways {
                    future: {
                        let peer = self.peer.unwrap_or_else(|| accept::peer_addr(&req));
                        let on_upgrade = hyper::upgrade::on(&mut req);
                        let req = detached(req);
                        let answer = accept::answer(target, req, self.shared.clone(), peer);
                        Box::pin(async move {
                            let answered = answer.await;
                            if let Some(upgrade) = answered.upgrade {
                                upgrade.spawn_after(on_upgrade);
                            }
                            answered.response
                        })
                    },
                },
            },
            None => {
                #[cfg(feature = "axum")]
                let req = with_connect_info(req, self.peer);
                // The clone was not made ready: swap it with the one that is.
                let ready = self.fallback.clone();
                let mut fallback = std::mem::replace(&mut self.fallback, ready);
                ResponseFuture {
                    answer: Answer::Fallback {
                        future: fallback.call(req),
                    },
                }
            }
        }
    }
}

/// `req` with axum's `ConnectInfo` when this service knows the peer (under `listen()`), so
/// the user's routes can read it as under `axum::serve`.
#[cfg(feature = "axum")]
fn with_connect_info<B>(mut req: Request<B>, peer: Option<SocketAddr>) -> Request<B> {
    if let Some(peer) = peer {
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
    }
    req
}

pin_project_lite::pin_project! {
    /// The response future of [`GatewayService`].
    pub struct ResponseFuture<Fut> {
        #[pin]
        answer: Answer<Fut>,
    }
}

pin_project_lite::pin_project! {
    #[project = AnswerProj]
    enum Answer<Fut> {
        Gateways { future: BoxFuture<'static, Response<Full<Bytes>>> },
        Fallback { #[pin] future: Fut },
    }
}

impl<Fut, ResBody, E> Future for ResponseFuture<Fut>
where
    Fut: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<Either<Full<Bytes>, ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().answer.project() {
            AnswerProj::Gateways { future } => future
                .as_mut()
                .poll(cx)
                .map(|response| Ok(response.map(Either::Left))),
            AnswerProj::Fallback { future } => future
                .poll(cx)
                .map(|result| result.map(|response| response.map(Either::Right))),
        }
    }
}

impl<Fut> std::fmt::Debug for ResponseFuture<Fut> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResponseFuture")
    }
}

/// Puts the gateways in front of another service (from [`Gateways::layer`]): their requests
/// are answered by them, the others by the wrapped service.
///
/// ```no_run
/// # async fn run(gateways: gateway_core::Gateways) {
/// let router: axum::Router = axum::Router::new()
///     .route("/health", axum::routing::get(|| async { "ok" }))
///     .layer(gateways.layer());
/// # }
/// ```
///
/// [`Gateways::layer`]: crate::Gateways::layer
#[derive(Clone, Debug)]
pub struct GatewayLayer {
    service: GatewayService,
}

impl GatewayLayer {
    pub(crate) fn new(service: GatewayService) -> Self {
        Self { service }
    }
}

impl<S> Layer<S> for GatewayLayer {
    type Service = GatewayService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GatewayService {
            endpoints: self.service.endpoints.clone(),
            shared: self.service.shared.clone(),
            fallback: inner,
            peer: None,
        }
    }
}

/// The fallback of a [`GatewayService`] that wraps nothing: NestJS's JSON 404
/// (`{"message":"Cannot GET /x","error":"Not Found","statusCode":404}`).
///
/// ```
/// let service: gateway_core::GatewayService<gateway_core::NotFound>;
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct NotFound;

impl<B> Service<Request<B>> for NotFound {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        std::future::ready(Ok(not_found(&req)))
    }
}
