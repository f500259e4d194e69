//! What a handler returns and how it becomes the reply frame (NestJS: the handler's return value).

use std::fmt;

use futures_util::stream::{BoxStream, Stream, StreamExt};
use serde::{Deserialize, Serialize};

use crate::WsException;

/// A handler's reply, ready to send: nothing, one JSON value, Socket.IO arguments with binary
/// attachments, or a stream of replies.
///
/// NestJS semantics: `null`/`undefined` send nothing, any other value is sent as its JSON (for the
/// JSON wire format, exactly as returned), and each item of a stream is a separate reply.
pub enum Reply {
    /// Send nothing.
    Empty,
    /// Send this JSON text.
    Json(String),
    /// Send these arguments and attachments (see [`Payload`](crate::Payload)).
    Payload(crate::Payload),
    /// Send each item as it arrives.
    Stream(BoxStream<'static, Result<Reply, WsException>>),
}

impl Reply {
    /// A reply holding the JSON of `value`; `null` becomes [`Reply::Empty`].
    ///
    /// ```
    /// use gateway_core::Reply;
    /// assert!(matches!(Reply::json(&"pong").unwrap(), Reply::Json(s) if s == "\"pong\""));
    /// assert!(matches!(Reply::json(&()).unwrap(), Reply::Empty));
    /// ```
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Reply, WsException> {
        let json = serde_json::to_string(value)?;
        Ok(if json == "null" {
            Reply::Empty
        } else {
            Reply::Json(json)
        })
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Empty => f.write_str("Empty"),
            Reply::Json(j) => f.debug_tuple("Json").field(j).finish(),
            Reply::Payload(p) => f.debug_tuple("Payload").field(p).finish(),
            Reply::Stream(_) => f.write_str("Stream(..)"),
        }
    }
}

/// Converts a handler's return value into a [`Reply`].
///
/// Implemented for `()`, [`Option`], [`Result`] (the error becomes the `exception` event),
/// [`WsResponse`], [`StreamReply`], [`Json`], strings, numbers, `bool`, [`serde_json::Value`] and
/// [`Reply`]. Handlers declared with `#[subscribe_message]` may also return any `T: Serialize` or
/// `Result<T: Serialize, E>`, through [`reply!`](crate::reply!).
///
/// ```
/// use gateway_core::{IntoReply, Reply, WsException};
///
/// let ok: Result<&str, WsException> = Ok("pong");
/// assert!(matches!(ok.into_reply(), Ok(Reply::Json(s)) if s == "\"pong\""));
/// assert!(matches!(().into_reply(), Ok(Reply::Empty)));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a gateway handler",
    note = "return `()`, `Option<T>`, `Result<T, E>`, `WsResponse<T>`, `StreamReply<S>` or `Json<T>`; \
            inside `#[gateway]` any `T: Serialize` works too"
)]
pub trait IntoReply {
    /// Performs the conversion.
    fn into_reply(self) -> Result<Reply, WsException>;
}

impl IntoReply for Reply {
    fn into_reply(self) -> Result<Reply, WsException> {
        Ok(self)
    }
}

impl IntoReply for () {
    fn into_reply(self) -> Result<Reply, WsException> {
        Ok(Reply::Empty)
    }
}

impl<T: IntoReply> IntoReply for Option<T> {
    fn into_reply(self) -> Result<Reply, WsException> {
        self.map_or(Ok(Reply::Empty), IntoReply::into_reply)
    }
}

impl<T: IntoReply, E: Into<WsException>> IntoReply for Result<T, E> {
    fn into_reply(self) -> Result<Reply, WsException> {
        self.map_err(Into::into)?.into_reply()
    }
}

macro_rules! serialize_into_reply {
    ($($ty:ty),* $(,)?) => {$(
        impl IntoReply for $ty {
            fn into_reply(self) -> Result<Reply, WsException> {
                Reply::json(&self)
            }
        }
    )*};
}
serialize_into_reply!(
    String,
    &'static str,
    bool,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    f32,
    f64,
    serde_json::Value
);

/// A reply of any `T: Serialize`, sent as its JSON.
///
/// Handlers written by hand (closures passed to [`GatewayBuilder::on`](crate::GatewayBuilder::on))
/// wrap structs in `Json`; `#[subscribe_message]` methods can return the struct directly.
///
/// ```
/// use gateway_core::{IntoReply, Json, Reply};
/// #[derive(serde::Serialize)]
/// struct Joined { joined: String }
/// let reply = Json(Joined { joined: "lobby".into() }).into_reply().unwrap();
/// assert!(matches!(reply, Reply::Json(s) if s == r#"{"joined":"lobby"}"#));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoReply for Json<T> {
    fn into_reply(self) -> Result<Reply, WsException> {
        Reply::json(&self.0)
    }
}

/// A reply that names its event: NestJS's `WsResponse<T>` (`{ event, data }`).
///
/// With the JSON wire format the client receives `{"event": E, "data": D}`.
///
/// ```
/// use gateway_core::{IntoReply, Reply, WsResponse};
/// let reply = WsResponse::new("message", serde_json::json!({"received": true})).into_reply();
/// assert!(matches!(reply, Ok(Reply::Json(s)) if s == r#"{"event":"message","data":{"received":true}}"#));
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WsResponse<T> {
    /// The event name the client receives.
    pub event: String,
    /// The event's data.
    pub data: T,
}

impl<T> WsResponse<T> {
    /// A response emitting `event` with `data`.
    ///
    /// ```
    /// let r = gateway_core::WsResponse::new("pop", 1);
    /// assert_eq!(r.event, "pop");
    /// ```
    pub fn new(event: impl Into<String>, data: T) -> Self {
        Self {
            event: event.into(),
            data,
        }
    }
}

impl<T: Serialize> IntoReply for WsResponse<T> {
    fn into_reply(self) -> Result<Reply, WsException> {
        Reply::json(&self)
    }
}

/// A reply that sends one frame per item of a stream (NestJS: an `Observable` return value).
///
/// The stream is drained in the background, so later messages from the same socket are not held
/// up by it; it stops when the socket disconnects.
///
/// ```
/// use gateway_core::{IntoReply, Reply, StreamReply, WsResponse};
/// let ticks = futures_util::stream::iter((1..=3).map(|n| WsResponse::new("tick", n)));
/// assert!(matches!(StreamReply::new(ticks).into_reply(), Ok(Reply::Stream(_))));
/// ```
pub struct StreamReply<S>(S);

impl<S> StreamReply<S>
where
    S: Stream + Send + 'static,
    S::Item: Serialize,
{
    /// Wraps `stream`; each item is sent as its JSON.
    pub fn new(stream: S) -> Self {
        Self(stream)
    }
}

impl<S> IntoReply for StreamReply<S>
where
    S: Stream + Send + 'static,
    S::Item: Serialize,
{
    fn into_reply(self) -> Result<Reply, WsException> {
        Ok(Reply::Stream(self.0.map(|item| Reply::json(&item)).boxed()))
    }
}

impl<S> fmt::Debug for StreamReply<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StreamReply(..)")
    }
}

/// Converts any value a `#[subscribe_message]` handler may return into `Result<Reply, WsException>`.
///
/// It accepts every [`IntoReply`] type, plus any `T: Serialize` and `Result<T: Serialize, E>`
/// where `E: Into<WsException>`. The macros use it so that a handler can return its own structs;
/// hand-written code may use it too.
///
/// ```
/// use gateway_core::{reply, Reply, WsException};
/// #[derive(serde::Serialize)]
/// struct Joined { joined: String }
///
/// let a = reply!(Joined { joined: "lobby".into() });
/// assert!(matches!(a, Ok(Reply::Json(s)) if s == r#"{"joined":"lobby"}"#));
/// let b = reply!(Err::<Joined, _>(WsException::new("no")));
/// assert_eq!(b.unwrap_err().message(), "no");
/// let c = reply!(());
/// assert!(matches!(c, Ok(Reply::Empty)));
/// ```
#[macro_export]
macro_rules! reply {
    ($value:expr) => {{
        #[allow(unused_imports)]
        use $crate::__private::{ViaIntoReply as _, ViaSerialize as _, ViaSerializeResult as _};
        (&&&$crate::__private::ReplyWrap::new($value)).__gateway_reply()
    }};
}

/// Autoref-specialization helpers for [`reply!`]; not public API.
#[doc(hidden)]
pub(crate) mod autoref {
    use std::cell::Cell;

    use serde::Serialize;

    use super::{IntoReply, Reply};
    use crate::WsException;

    pub struct ReplyWrap<T>(Cell<Option<T>>);

    impl<T> ReplyWrap<T> {
        pub fn new(value: T) -> Self {
            Self(Cell::new(Some(value)))
        }
        fn take(&self) -> Option<T> {
            self.0.take()
        }
    }

    pub trait ViaIntoReply {
        fn __gateway_reply(&self) -> Result<Reply, WsException>;
    }
    impl<T: IntoReply> ViaIntoReply for &&ReplyWrap<T> {
        fn __gateway_reply(&self) -> Result<Reply, WsException> {
            self.take().map_or(Ok(Reply::Empty), IntoReply::into_reply)
        }
    }

    pub trait ViaSerializeResult {
        fn __gateway_reply(&self) -> Result<Reply, WsException>;
    }
    impl<T: Serialize, E: Into<WsException>> ViaSerializeResult for &ReplyWrap<Result<T, E>> {
        fn __gateway_reply(&self) -> Result<Reply, WsException> {
            match self.take() {
                Some(Ok(v)) => Reply::json(&v),
                Some(Err(e)) => Err(e.into()),
                None => Ok(Reply::Empty),
            }
        }
    }

    pub trait ViaSerialize {
        fn __gateway_reply(&self) -> Result<Reply, WsException>;
    }
    impl<T: Serialize> ViaSerialize for ReplyWrap<T> {
        fn __gateway_reply(&self) -> Result<Reply, WsException> {
            self.take().map_or(Ok(Reply::Empty), |v| Reply::json(&v))
        }
    }
}
