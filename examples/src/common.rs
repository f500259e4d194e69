//! Guide 000's cross-cutting pieces: the JWT secret, `AllWsExceptionsFilter`, `WsLoggingInterceptor`.

use std::time::Instant;

use gateway_core::pipeline::{ExceptionFilter, ExecutionContext, Interceptor, Next};
use gateway_core::{Reply, WsException};
use serde_json::{json, Value};

/// The secret used when `JWT_SECRET` is not set. Fine for trying the examples; set
/// `JWT_SECRET` for anything else.
pub const DEFAULT_JWT_SECRET: &str = "dev-secret-change-me";

/// `JWT_SECRET` from the environment, else [`DEFAULT_JWT_SECRET`].
pub fn jwt_secret() -> String {
    std::env::var("JWT_SECRET").unwrap_or_else(|_| DEFAULT_JWT_SECRET.to_owned())
}

/// The guide's `AllWsExceptionsFilter`: `{status: 'error', ...error}` for a `WsException`, and
/// `{message: 'Internal error', code: 'INTERNAL_ERROR'}` for anything else, as an `exception` event.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllWsExceptionsFilter;

impl ExceptionFilter for AllWsExceptionsFilter {
    async fn catch(
        &self,
        exception: WsException,
        cx: &ExecutionContext,
    ) -> Result<(), WsException> {
        let mut payload = json!({"status": "error"});
        let error = if exception.is_internal() {
            json!({"message": "Internal error", "code": "INTERNAL_ERROR"})
        } else if let Some(object) = exception.object() {
            object.clone()
        } else {
            json!({"message": exception.message()})
        };
        match error {
            // JavaScript's spread of an object: its fields join `status`.
            Value::Object(fields) => {
                if let Some(out) = payload.as_object_mut() {
                    out.extend(fields);
                }
            }
            other => payload["errors"] = other,
        }
        cx.socket().emit("exception", &payload)?;
        Ok(())
    }
}

/// The guide's `WsLoggingInterceptor`: `WS {pattern} - Client: {id} - {ms}ms`.
#[derive(Debug, Clone, Copy, Default)]
pub struct WsLoggingInterceptor;

impl Interceptor for WsLoggingInterceptor {
    async fn intercept(&self, cx: &ExecutionContext, next: Next) -> Result<Reply, WsException> {
        let start = Instant::now();
        let reply = next.run().await;
        tracing::info!(
            "WS {} - Client: {} - {}ms",
            cx.pattern(),
            cx.socket().id(),
            start.elapsed().as_millis()
        );
        reply
    }
}
