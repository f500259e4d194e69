//! [`WsException`]: the one error type a client ever sees, and the NestJS 12 default filter shapes.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;
use serde_json::value::RawValue;

/// The message NestJS sends for any error that is not a [`WsException`].
pub const INTERNAL_SERVER_ERROR: &str = "Internal server error";

/// An error that reaches the client as an `exception` event, like NestJS's `WsException`.
///
/// A handler, extractor or hook fails with a `WsException`; the default exception filter turns it
/// into the payload NestJS 12's `BaseWsExceptionFilter` sends:
///
/// | made with | payload of the `exception` event |
/// |---|---|
/// | [`WsException::new("msg")`](WsException::new) | `{"status":"error","message":"msg","cause":{"pattern":E,"data":D}}` |
/// | [`WsException::from_object(obj)`](WsException::from_object) | `obj`, verbatim |
/// | any other error (`?` on an `io::Error`, a panic, …) | `{"status":"error","message":"Internal server error","cause":{…}}`, and the error is logged |
///
/// Every `std::error::Error` converts into a `WsException` (as an internal error), so `?` works in
/// handlers that return `Result<T, WsException>`.
///
/// ```
/// use gateway_core::WsException;
///
/// fn check(text: &str) -> Result<(), WsException> {
///     if text.is_empty() {
///         return Err(WsException::new("text must not be empty"));
///     }
///     let _n: u32 = "42".parse()?; // a ParseIntError becomes an internal error
///     Ok(())
/// }
/// assert_eq!(check("").unwrap_err().message(), "text must not be empty");
/// assert!(check("hi").is_ok());
/// ```
pub struct WsException {
    kind: Kind,
}

enum Kind {
    Message(Cow<'static, str>),
    Object(serde_json::Value),
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl WsException {
    /// An exception with a string message (NestJS `new WsException('message')`).
    ///
    /// ```
    /// let e = gateway_core::WsException::new("Unauthorized");
    /// assert_eq!(e.message(), "Unauthorized");
    /// ```
    pub fn new(message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind: Kind::Message(message.into()),
        }
    }

    /// An exception whose payload is `error` sent verbatim (NestJS `new WsException({ ... })`).
    ///
    /// If `error` cannot be serialized, the result is an internal error.
    ///
    /// ```
    /// use gateway_core::WsException;
    /// let e = WsException::from_object(serde_json::json!({"code": "E42", "message": "nope"}));
    /// assert_eq!(e.message(), "nope");
    /// ```
    pub fn from_object(error: impl Serialize) -> Self {
        match serde_json::to_value(error) {
            Ok(value) => Self {
                kind: Kind::Object(value),
            },
            Err(err) => Self::internal(err),
        }
    }

    /// An internal error: the client sees `"Internal server error"`, the server logs `error`.
    ///
    /// ```
    /// let e = gateway_core::WsException::internal(std::io::Error::other("disk full"));
    /// assert!(e.is_internal());
    /// assert_eq!(e.message(), "Internal server error");
    /// ```
    pub fn internal(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            kind: Kind::Internal(error.into()),
        }
    }

    /// The message as NestJS's `WsException.message` computes it: the string, the object's
    /// `message` field, or `"Internal server error"` for internal errors.
    ///
    /// ```
    /// assert_eq!(gateway_core::WsException::new("x").message(), "x");
    /// ```
    pub fn message(&self) -> &str {
        match &self.kind {
            Kind::Message(m) => m,
            Kind::Object(v) => v
                .get("message")
                .and_then(|m| m.as_str())
                .unwrap_or("Ws Exception"),
            Kind::Internal(_) => INTERNAL_SERVER_ERROR,
        }
    }

    /// The object given to [`WsException::from_object`], if this exception was made that way
    /// (NestJS `getError()` for object errors).
    ///
    /// ```
    /// let e = gateway_core::WsException::from_object(serde_json::json!([1, 2]));
    /// assert_eq!(e.object(), Some(&serde_json::json!([1, 2])));
    /// ```
    pub fn object(&self) -> Option<&serde_json::Value> {
        match &self.kind {
            Kind::Object(v) => Some(v),
            _ => None,
        }
    }

    /// Whether this is an internal error (not made with `new` or `from_object`).
    ///
    /// ```
    /// assert!(!gateway_core::WsException::new("x").is_internal());
    /// ```
    pub fn is_internal(&self) -> bool {
        matches!(self.kind, Kind::Internal(_))
    }

    /// The underlying error of an internal exception, for logging or downcasting.
    ///
    /// ```
    /// let e = gateway_core::WsException::internal(std::io::Error::other("boom"));
    /// assert!(e.source().unwrap().downcast_ref::<std::io::Error>().is_some());
    /// ```
    pub fn source(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        match &self.kind {
            Kind::Internal(e) => Some(e.as_ref()),
            _ => None,
        }
    }

    /// The payload the default exception filter sends for this exception (NestJS 12
    /// `BaseWsExceptionFilter` with `includeCause: true`), as JSON text.
    ///
    /// `pattern` is the event name, `data` the raw JSON of the message data (absent data leaves
    /// `cause.data` out, as `JSON.stringify` drops `undefined`).
    ///
    /// ```
    /// let e = gateway_core::WsException::new("test");
    /// assert_eq!(
    ///     e.default_payload("push", Some(r#"{"test":"test"}"#)),
    ///     r#"{"status":"error","message":"test","cause":{"pattern":"push","data":{"test":"test"}}}"#
    /// );
    /// ```
    pub fn default_payload(&self, pattern: &str, data: Option<&str>) -> String {
        self.payload(pattern, data, true)
    }

    /// The payload of [`BaseWsExceptionFilter`](crate::pipeline::BaseWsExceptionFilter), with or
    /// without `cause` (NestJS `includeCause`).
    ///
    /// ```
    /// let e = gateway_core::WsException::new("test");
    /// assert_eq!(e.payload("push", None, false), r#"{"status":"error","message":"test"}"#);
    /// ```
    pub fn payload(&self, pattern: &str, data: Option<&str>, include_cause: bool) -> String {
        if let Kind::Object(value) = &self.kind {
            return value.to_string();
        }
        let data = data.and_then(|d| serde_json::from_str::<&RawValue>(d).ok());
        let payload = ErrorPayload {
            status: "error",
            message: self.message(),
            cause: include_cause.then_some(Cause { pattern, data }),
        };
        serde_json::to_string(&payload).unwrap_or_else(|_| {
            format!(r#"{{"status":"error","message":"{INTERNAL_SERVER_ERROR}"}}"#)
        })
    }
}

#[derive(Serialize)]
struct ErrorPayload<'a> {
    status: &'static str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cause: Option<Cause<'a>>,
}

#[derive(Serialize)]
struct Cause<'a> {
    pattern: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a RawValue>,
}

impl<E> From<E> for WsException
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn from(error: E) -> Self {
        Self::internal(error)
    }
}

impl fmt::Debug for WsException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Message(m) => f.debug_tuple("WsException").field(m).finish(),
            Kind::Object(v) => f.debug_tuple("WsException").field(v).finish(),
            Kind::Internal(e) => f.debug_tuple("WsException::Internal").field(e).finish(),
        }
    }
}

impl fmt::Display for WsException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Internal(e) => write!(f, "internal error: {e}"),
            Kind::Object(v) => write!(f, "{v}"),
            Kind::Message(m) => f.write_str(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_exception_has_cause_with_and_without_data() {
        let e = WsException::new("boom");
        assert_eq!(
            e.default_payload("ev", None),
            r#"{"status":"error","message":"boom","cause":{"pattern":"ev"}}"#
        );
        assert_eq!(
            e.default_payload("ev", Some("null")),
            r#"{"status":"error","message":"boom","cause":{"pattern":"ev","data":null}}"#
        );
    }

    #[test]
    fn object_exception_is_verbatim() {
        let e = WsException::from_object(serde_json::json!({"a": 1}));
        assert_eq!(e.default_payload("ev", Some("1")), r#"{"a":1}"#);
    }

    #[test]
    fn other_errors_are_internal() {
        let e: WsException = std::io::Error::other("secret").into();
        let payload = e.default_payload("crash", Some("{}"));
        assert_eq!(
            payload,
            r#"{"status":"error","message":"Internal server error","cause":{"pattern":"crash","data":{}}}"#
        );
        assert!(!payload.contains("secret"));
    }
}
