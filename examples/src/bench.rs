//! The benchmark contract (`bench/README.md`), on both wire formats at once: the JSON format at
//! path `/` and the Socket.IO namespace `/`.
//!
//! - `echo` with data D replies D;
//! - `join` joins room `bench` and replies `"ok"`;
//! - `broadcast` with data D emits `bcast` with D to room `bench`, then replies `"ok"`.
//!
//! A connection guard runs at every handshake (it refuses a `?banned` query), so the
//! connection-setup scenario measures handshake + connection guard + room join. With
//! [`BenchGateway::with_jwt`], a JWT guard (HS256, the token from the Socket.IO CONNECT's
//! `auth.token`, `Authorization: Bearer` or `?token=`) runs after it, for the reconnect storm.
//!
//! For the enhancer-cost scenario, `echoDto` echoes a `{"text": …}` object through a typed
//! body, and `echoEnhanced` does the same behind a guard, the validation pipe and an
//! interceptor.

use gateway_core::jwt::JwtAuthGuard;
use gateway_core::pipeline::{
    guard_fn, interceptor_fn, ConnectionContext, ConnectionGuard, ExecutionContext, Next,
};
use gateway_core::validation::ValidationPipe;
use gateway_core::{gateway, Message, MessageBody, Namespace, Reply, Socket, WsException};
use serde::{Deserialize, Serialize};
use validator::Validate;

/// The benchmark gateway.
#[derive(Debug, Default, Clone)]
pub struct BenchGateway {
    auth: Option<JwtAuthGuard>,
}

impl BenchGateway {
    /// The gateway with a JWT connection guard: every client needs an HS256 token signed with
    /// `secret`.
    pub fn with_jwt(secret: &str) -> Self {
        Self {
            auth: Some(JwtAuthGuard::hs256(secret)),
        }
    }
}

/// The bench gateway's connection guard: refuses a `?banned` query, then checks the token when
/// the gateway has a JWT guard.
#[derive(Debug, Clone)]
struct BenchConnectionGuard(Option<JwtAuthGuard>);

impl ConnectionGuard for BenchConnectionGuard {
    async fn can_connect(&self, cx: &ConnectionContext) -> Result<bool, WsException> {
        if cx.handshake().query("banned").is_some() {
            return Ok(false);
        }
        match &self.0 {
            Some(auth) => auth.can_connect(cx).await,
            None => Ok(true),
        }
    }
}

/// The body of `echoDto` and `echoEnhanced`.
#[derive(Debug, Serialize, Deserialize, Validate)]
pub struct EchoDto {
    /// Any text up to 64 KiB.
    #[validate(length(max = 65536))]
    pub text: String,
}

#[gateway(namespace = "/")]
#[use_connection_guards(BenchConnectionGuard(self.auth.clone()))]
impl BenchGateway {
    /// Passes the data's JSON text back as is, never parsed: what the bare peer does too. (A
    /// typed body costs a parse and a serialization: see `echoDto`.)
    #[subscribe_message("echo")]
    async fn echo(&self, message: Message) -> Reply {
        match message.data_json() {
            Some(json) => Reply::Json(json.to_owned()),
            None => Reply::Empty,
        }
    }

    #[subscribe_message("join")]
    async fn join(&self, client: Socket) -> &'static str {
        client.join("bench");
        "ok"
    }

    #[subscribe_message("broadcast")]
    async fn broadcast(&self, server: Namespace, message: Message) -> &'static str {
        let data = message.data_json().unwrap_or("null");
        // Serialized once for every recipient; the raw JSON is copied, not parsed.
        if let Ok(raw) = serde_json::value::RawValue::from_string(data.to_owned()) {
            let _ = server.to("bench").emit("bcast", &raw);
        }
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
