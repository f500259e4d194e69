//! [`Handler`]: async functions and closures whose arguments are extractors.

use std::future::Future;
use std::sync::Arc;

use futures_util::future::{self, BoxFuture, FutureExt};

use crate::{FromMessage, IntoReply, Message, Reply, WsException};

/// Something that handles one event: an async closure or function whose arguments all implement
/// [`FromMessage`] and whose output implements [`IntoReply`].
///
/// Up to 12 arguments. Register handlers with [`GatewayBuilder::on`](crate::GatewayBuilder::on).
///
/// ```
/// use gateway_core::{GatewayBuilder, GatewayOptions, MessageBody, Socket};
///
/// let mut gateway = GatewayBuilder::new(GatewayOptions::new("/events"));
/// gateway.on("ping", || async { "pong" });
/// gateway.on("echo", |MessageBody(body): MessageBody<serde_json::Value>| async move {
///     gateway_core::Json(body)
/// });
/// gateway.on("whoami", |socket: Socket| async move { socket.id().to_string() });
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a gateway handler",
    note = "a handler is an async fn or closure whose arguments implement `FromMessage` \
            and whose output implements `IntoReply`"
)]
pub trait Handler<Args>: Send + Sync + 'static {
    /// Extracts the arguments from `msg` and runs the handler.
    fn call(&self, msg: Message) -> BoxFuture<'static, Result<Reply, WsException>>;
}

/// A type-erased handler, stored in a namespace's event table.
pub(crate) type BoxedHandler =
    Arc<dyn Fn(Message) -> BoxFuture<'static, Result<Reply, WsException>> + Send + Sync>;

pub(crate) fn boxed<H: Handler<Args>, Args>(handler: H) -> BoxedHandler {
    Arc::new(move |msg| handler.call(msg))
}

macro_rules! impl_handler {
    ($($arg:ident),*) => {
        impl<F, Fut, R, $($arg,)*> Handler<($($arg,)*)> for F
        where
            F: Fn($($arg),*) -> Fut + Send + Sync + 'static,
            Fut: Future<Output = R> + Send + 'static,
            R: IntoReply,
            $($arg: FromMessage,)*
        {
            #[allow(non_snake_case, unused_variables)]
            fn call(&self, msg: Message) -> BoxFuture<'static, Result<Reply, WsException>> {
                $(
                    let $arg = match $arg::from_message(&msg) {
                        Ok(value) => value,
                        Err(e) => return future::ready(Err(e)).boxed(),
                    };
                )*
                let fut = (self)($($arg),*);
                async move { fut.await.into_reply() }.boxed()
            }
        }
    };
}

impl_handler!();
impl_handler!(A1);
impl_handler!(A1, A2);
impl_handler!(A1, A2, A3);
impl_handler!(A1, A2, A3, A4);
impl_handler!(A1, A2, A3, A4, A5);
impl_handler!(A1, A2, A3, A4, A5, A6);
impl_handler!(A1, A2, A3, A4, A5, A6, A7);
impl_handler!(A1, A2, A3, A4, A5, A6, A7, A8);
impl_handler!(A1, A2, A3, A4, A5, A6, A7, A8, A9);
impl_handler!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10);
impl_handler!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11);
impl_handler!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12);
