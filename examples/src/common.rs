//! Guide 000's cross-cutting pieces: the JWT secret, `AllWsExceptionsFilter`, `WsLoggingInterceptor`.

use std::time::Instant;

use gateway_core::pipeline::{ExceptionFilter, ExecutionContext, Interceptor, Next};
use gateway_core::{Reply, WsException};
use serde_json::{json, Map, Value};

/// The secret used when `JWT_SECRET` is not set. Fine for trying the examples; set
/// `JWT_SECRET` for anything else.
pub const DEFAULT_JWT_SECRET: &str = "dev-secret-change-me";

/// `JWT_SECRET` from the environment, else [`DEFAULT_JWT_SECRET`].
pub fn jwt_secret() -> String {
    std::env::var("JWT_SECRET").unwrap_or_else(|_| DEFAULT_JWT_SECRET.to_owned())
}

/// The guide's `AllWsExceptionsFilter`: `{status: 'error', ...error}` for a `WsException`, and
/// `{message: 'Internal error', code: 'INTERNAL_ERROR'}` for anything else, as an `exception` event.
///
/// Ported with JavaScript's spread semantics, so clients see what the guide's filter sends: a
/// string error (`new WsException('Forbidden')`) is spread character by character,
/// `{"0":"F","1":"o",…,"status":"error"}`. Write `{status, message}` in your own filter.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllWsExceptionsFilter;

impl ExceptionFilter for AllWsExceptionsFilter {
    async fn catch(
        &self,
        exception: WsException,
        cx: &ExecutionContext,
    ) -> Result<(), WsException> {
        let error = if exception.is_internal() {
            json!({"message": "Internal error", "code": "INTERNAL_ERROR"})
        } else if let Some(object) = exception.object() {
            object.clone()
        } else {
            Value::String(exception.message().to_owned())
        };
        let mut payload = Map::new();
        payload.insert("status".to_owned(), json!("error"));
        js_spread(&mut payload, &error);
        cx.socket().emit("exception", &payload)?;
        Ok(())
    }
}

/// `{...target, ...source}` in JavaScript: an object's fields, or a string's characters or an
/// array's items under their indexes; other values add nothing. Index keys then come first, in
/// ascending order, as JavaScript enumerates them. (A JavaScript string spreads UTF-16 units;
/// this spreads characters, the same for text without surrogate pairs.)
fn js_spread(target: &mut Map<String, Value>, source: &Value) {
    match source {
        Value::Object(fields) => target.extend(fields.clone()),
        Value::String(text) => target.extend(
            text.chars()
                .enumerate()
                .map(|(i, c)| (i.to_string(), Value::String(c.to_string()))),
        ),
        Value::Array(items) => target.extend(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v.clone())),
        ),
        _ => return,
    }
    let index = |key: &str| key.parse::<u32>().ok().filter(|i| i.to_string() == key);
    let (mut indexed, named): (Vec<_>, Vec<_>) = std::mem::take(target)
        .into_iter()
        .partition(|(key, _)| index(key).is_some());
    indexed.sort_by_key(|(key, _)| index(key));
    target.extend(indexed.into_iter().chain(named));
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
