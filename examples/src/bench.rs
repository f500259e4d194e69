//! The benchmark contract (`bench/README.md`), on both wire formats at once: the JSON format at
//! path `/` and the Socket.IO namespace `/`.
//!
//! - `echo` with data D replies D;
//! - `join` joins room `bench` and replies `"ok"`;
//! - `broadcast` with data D emits `bcast` with D to room `bench`, then replies `"ok"`.
//!
//! For the enhancer-cost scenario, `echoDto` echoes a `{"text": …}` object through a typed
//! body, and `echoEnhanced` does the same behind a guard, the validation pipe and an
//! interceptor.

use gateway_core::pipeline::{guard_fn, interceptor_fn, ExecutionContext, Next};
use gateway_core::validation::ValidationPipe;
use gateway_core::{gateway, MessageBody, Namespace, Socket};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use validator::Validate;

/// The benchmark gateway.
#[derive(Debug, Default, Clone, Copy)]
pub struct BenchGateway;

/// The body of `echoDto` and `echoEnhanced`.
#[derive(Debug, Serialize, Deserialize, Validate)]
pub struct EchoDto {
    /// Any text up to 64 KiB.
    #[validate(length(max = 65536))]
    pub text: String,
}

#[gateway(namespace = "/")]
impl BenchGateway {
    #[subscribe_message("echo")]
    async fn echo(&self, MessageBody(data): MessageBody<Value>) -> Value {
        data
    }

    #[subscribe_message("join")]
    async fn join(&self, client: Socket) -> &'static str {
        client.join("bench");
        "ok"
    }

    #[subscribe_message("broadcast")]
    async fn broadcast(
        &self,
        server: Namespace,
        MessageBody(data): MessageBody<Value>,
    ) -> &'static str {
        let _ = server.to("bench").emit("bcast", &data);
        "ok"
    }

    #[subscribe_message("echoDto")]
    async fn echo_dto(&self, MessageBody(dto): MessageBody<EchoDto>) -> EchoDto {
        dto
    }

    /// A guard reading the socket, the validation pipe, and an interceptor around the handler:
    /// what a typical production handler carries.
    #[subscribe_message("echoEnhanced")]
    #[use_guards(guard_fn(|cx: ExecutionContext| async move { cx.pattern().starts_with("echo") }))]
    #[use_pipes(ValidationPipe::new())]
    #[use_interceptors(interceptor_fn(|_cx: ExecutionContext, next: Next| async move { next.run().await }))]
    async fn echo_enhanced(&self, MessageBody(dto): MessageBody<EchoDto>) -> EchoDto {
        dto
    }
}
