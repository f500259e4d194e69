//! Handler arguments: [`FromMessage`] and the extractors (NestJS parameter decorators).
//!
//! | argument | NestJS | what it gives |
//! |---|---|---|
//! | [`Socket`] | `@ConnectedSocket()` | the sending socket |
//! | [`MessageBody<T>`] | `@MessageBody()` | the message data, deserialized |
//! | `#[message_body("prop")] x: T` (macro) / [`Message::property`] | `@MessageBody('prop')` | one property of the data |
//! | [`Event`] | `getPattern()` | the event name |
//! | [`Handshake`] | the upgrade request | headers, query, remote address |
//! | [`State<T>`] | an injected provider | shared app state from `with_state` |
//! | [`Namespace`] | `@WebSocketServer()` | the gateway's namespace handle |
//! | [`Ack`] | `@Ack()` | the Socket.IO ack callback, answered by hand |
//! | [`Message`] | the raw arguments | all of the above |
//!
//! Extraction failures become an `exception` event for the client, never a silent drop.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::pipeline::{ArgumentKind, ArgumentMetadata, DynPipe, RejectedArgument, TypedArgument};
use crate::protocol::json::IncomingMessage;
use crate::validation::Validator;
use crate::{EmitError, Handshake, Namespace, Socket, WsException};

/// One inbound message: the socket it came from, its event name and its raw JSON data.
///
/// Cheap to clone (the data is a slice of the received frame).
///
/// ```no_run
/// use gateway_core::{Message, WsException};
/// fn room_of(msg: &Message) -> Result<String, WsException> {
///     msg.property::<String>("roomId")
/// }
/// ```
#[derive(Clone)]
pub struct Message {
    socket: Socket,
    event: Utf8Bytes,
    data: Option<Utf8Bytes>,
    pipes: Arc<[Arc<dyn DynPipe>]>,
    validator: Option<Validator>,
    ack: Option<u64>,
    /// Set when a handler takes the [`Ack`] extractor: its return value is then not the ack.
    ack_taken: Arc<AtomicBool>,
    several: bool,
    /// `None` when there are none (most messages): no allocation for them.
    attachments: Option<Arc<[bytes::Bytes]>>,
}

impl Message {
    pub(crate) fn new(
        socket: Socket,
        inbound: IncomingMessage,
        attachments: Option<Arc<[bytes::Bytes]>>,
        pipes: Arc<[Arc<dyn DynPipe>]>,
        ack: Option<u64>,
        ack_taken: Arc<AtomicBool>,
    ) -> Self {
        Self {
            socket,
            event: inbound.event,
            data: inbound.data,
            several: inbound.several,
            attachments,
            pipes,
            validator: None,
            ack,
            ack_taken,
        }
    }

    /// This message, with the validation rules of the argument about to be extracted.
    /// Borrowed when neither has validation rules (most arguments): no clone per argument.
    pub(crate) fn with_validator(&self, validator: Option<Validator>) -> Cow<'_, Message> {
        if validator.is_none() && self.validator.is_none() {
            return Cow::Borrowed(self);
        }
        Cow::Owned(Message {
            validator,
            ..self.clone()
        })
    }

    /// The socket the message came from.
    ///
    /// ```
    /// # fn demo(msg: gateway_core::Message) {
    /// let id = msg.socket().id();
    /// # }
    /// ```
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// The event name (NestJS `getPattern()`).
    ///
    /// ```
    /// # fn demo(msg: gateway_core::Message) {
    /// tracing::debug!(event = msg.event(), "handling");
    /// # }
    /// ```
    pub fn event(&self) -> &str {
        self.event.as_str()
    }

    /// The raw JSON of the message data, or `None` if the frame had no `data` key.
    ///
    /// ```
    /// # fn demo(msg: gateway_core::Message) {
    /// let raw: Option<&str> = msg.data_json();
    /// # }
    /// ```
    pub fn data_json(&self) -> Option<&str> {
        self.data.as_ref().map(Utf8Bytes::as_str)
    }

    /// The Socket.IO binary attachments that came with the message (none in the JSON format);
    /// see [`Payload`](crate::Payload).
    ///
    /// ```
    /// # fn demo(msg: gateway_core::Message) {
    /// let bytes: usize = msg.attachments().iter().map(|b| b.len()).sum();
    /// # }
    /// ```
    pub fn attachments(&self) -> &[bytes::Bytes] {
        self.attachments.as_deref().unwrap_or_default()
    }

    /// Whether the data is the array of several Socket.IO arguments (NestJS's mapping) rather
    /// than one argument.
    pub(crate) fn has_several_args(&self) -> bool {
        self.several
    }

    /// The data deserialized as `T` (absent data reads as `null`).
    ///
    /// ```
    /// # fn demo(msg: gateway_core::Message) {
    /// let text: Result<String, _> = msg.body::<String>();
    /// # }
    /// ```
    ///
    /// The pipes of the handler run on it (see [`Pipe`](crate::pipeline::Pipe)). Data that does
    /// not fit `T` (an array is never a struct) is described by a `ValidationPipe` as
    /// class-validator would, and otherwise answered with NestJS's "Internal server error", the
    /// details going to the log only.
    pub fn body<T: DeserializeOwned + 'static>(&self) -> Result<T, WsException> {
        self.piped(ArgumentKind::Body, self.data_json().unwrap_or("null"))
    }

    /// One property of the data object, deserialized as `T` (NestJS `@MessageBody('prop')`).
    ///
    /// ```
    /// # fn demo(msg: gateway_core::Message) {
    /// let limit: Option<u32> = msg.property("limit").unwrap_or(None);
    /// # }
    /// ```
    ///
    /// A missing property, or data that is not an object, reads as `null`, so `Option<T>` makes
    /// the property optional.
    pub fn property<T: DeserializeOwned + 'static>(&self, name: &str) -> Result<T, WsException> {
        let raw = self
            .data_json()
            .and_then(|d| {
                serde_json::from_str::<std::collections::HashMap<String, &RawValue>>(d).ok()
            })
            .and_then(|map| map.get(name).map(|r| r.get().to_owned()));
        self.piped(
            ArgumentKind::Property(name),
            raw.as_deref().unwrap_or("null"),
        )
    }

    /// Deserializes `raw` as `T`, through the pipes when there are any.
    fn piped<T: DeserializeOwned + 'static>(
        &self,
        kind: ArgumentKind<'_>,
        raw: &str,
    ) -> Result<T, WsException> {
        let metadata = ArgumentMetadata {
            kind,
            type_name: std::any::type_name::<T>(),
            pattern: self.event(),
        };
        if self.pipes.is_empty() {
            return crate::body::from_text(raw)
                .map_err(|e| self.refused::<T>(&metadata, raw, None, e));
        }
        let json = OnceCell::new();
        let unknown_fields = OnceCell::new();
        let value: T = if self.pipes.iter().any(|pipe| pipe.transforms()) {
            let mut value: serde_json::Value = serde_json::from_str(raw)
                .map_err(|e| self.refused::<T>(&metadata, raw, None, e))?;
            for pipe in self.pipes.iter() {
                value = pipe.transform(value, &metadata)?;
            }
            let mut unknown = Vec::new();
            let strict = crate::body::no_array_struct(&value, value.is_array());
            let typed = serde_ignored::deserialize(strict, |path| unknown.push(path.to_string()));
            let typed = typed.map_err(|e| self.refused::<T>(&metadata, raw, Some(&value), e))?;
            let _ = json.set(value);
            let _ = unknown_fields.set(unknown);
            typed
        } else {
            // Only checks: straight from the text; the JSON and the unknown fields are found
            // again only if a check asks for them.
            crate::body::from_text(raw).map_err(|e| self.refused::<T>(&metadata, raw, None, e))?
        };
        let typed = TypedArgument {
            value: &value,
            raw,
            json: &json,
            metadata,
            unknown_fields: &unknown_fields,
            find_unknown_fields: unknown_fields_of::<T>,
            fields: struct_fields_of::<T>,
            validator: self.validator,
        };
        for pipe in self.pipes.iter() {
            pipe.check(&typed)?;
        }
        Ok(value)
    }

    /// What the client gets for an argument that does not fit its type: what a pipe says
    /// (a `ValidationPipe` describes it as class-validator would), else NestJS's "Internal server
    /// error", the details going to the log only.
    fn refused<T: DeserializeOwned + 'static>(
        &self,
        metadata: &ArgumentMetadata<'_>,
        raw: &str,
        transformed: Option<&serde_json::Value>,
        error: serde_json::Error,
    ) -> WsException {
        let parsed;
        let json = match transformed {
            Some(json) => Some(json),
            None => {
                parsed = serde_json::from_str::<serde_json::Value>(raw).ok();
                parsed.as_ref()
            }
        };
        if let Some(json) = json {
            let rejected = RejectedArgument {
                json,
                metadata: *metadata,
                validator: self.validator,
                describe: refused_body_errors_of::<T>,
            };
            if let Some(exception) = self.pipes.iter().find_map(|pipe| pipe.reject(&rejected)) {
                return exception;
            }
        }
        WsException::internal(BodyMismatch {
            pattern: metadata.pattern.to_owned(),
            type_name: metadata.type_name,
            error,
        })
    }
}

/// A message body that does not fit its handler's argument type (logged, never sent).
#[derive(Debug, thiserror::Error)]
#[error("the body of `{pattern}` is not a {type_name}: {error}")]
struct BodyMismatch {
    pattern: String,
    type_name: &'static str,
    error: serde_json::Error,
}

/// [`struct_fields`](crate::validation) as a function pointer for pipes.
fn struct_fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    crate::validation::struct_fields::<T>().unwrap_or_default()
}

/// class-validator's errors for a refused body, as a function pointer for pipes.
fn refused_body_errors_of<T: DeserializeOwned + 'static>(
    json: &serde_json::Value,
    validator: Option<Validator>,
) -> Option<Vec<crate::validation::ValidationError>> {
    crate::validation::refused_body_errors::<T>(json, validator)
}

/// The properties of `raw` that `T` does not know (paths like `a.b`), which serde ignores.
fn unknown_fields_of<T: DeserializeOwned>(raw: &str) -> Vec<String> {
    let mut unknown = Vec::new();
    let mut text = serde_json::Deserializer::from_str(raw);
    let _: Result<T, _> =
        serde_ignored::deserialize(&mut text, |path| unknown.push(path.to_string()));
    unknown
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("socket", &self.socket.id())
            .field("event", &self.event())
            .field("data", &self.data_json())
            .finish()
    }
}

/// A type a handler can take as an argument, built from the inbound [`Message`].
///
/// Implement it for your own argument types:
///
/// ```
/// use gateway_core::{FromMessage, Message, WsException};
///
/// /// The caller's user id, set by the connection hook.
/// #[derive(Clone)]
/// struct UserId(String);
///
/// impl FromMessage for UserId {
///     fn from_message(msg: &Message) -> Result<Self, WsException> {
///         msg.socket().data().get::<UserId>().ok_or_else(|| WsException::new("Unauthorized"))
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a gateway handler argument",
    label = "not an extractor",
    note = "handler arguments must implement `gateway_core::FromMessage`: `Socket`, `MessageBody<T>`, \
            `Event`, `Handshake`, `State<T>`, `Namespace`, `NamespaceParams`, `Message`, or your own type"
)]
pub trait FromMessage: Sized {
    /// Extracts the argument; an error is sent to the client as an `exception` event.
    fn from_message(msg: &Message) -> Result<Self, WsException>;
}

impl FromMessage for Message {
    fn from_message(msg: &Message) -> Result<Self, WsException> {
        Ok(msg.clone())
    }
}

impl FromMessage for Socket {
    fn from_message(msg: &Message) -> Result<Self, WsException> {
        Ok(msg.socket.clone())
    }
}

impl FromMessage for Handshake {
    fn from_message(msg: &Message) -> Result<Self, WsException> {
        Ok(msg.socket.handshake().clone())
    }
}

impl FromMessage for Namespace {
    fn from_message(msg: &Message) -> Result<Self, WsException> {
        Ok(msg.socket.namespace())
    }
}

/// The client's ack callback (NestJS `@Ack()`): answer it yourself, and the handler's return
/// value is no longer sent as the ack.
///
/// Only Socket.IO clients send acks; for a JSON-format client, or an event sent without an ack,
/// [`send`](Self::send) does nothing.
///
/// ```
/// use gateway_core::{Ack, MessageBody};
/// async fn manual(ack: Ack, MessageBody(data): MessageBody<serde_json::Value>) {
///     // …some work, then:
///     let _ = ack.send(&serde_json::json!({"status": "success", "data": data}));
/// }
/// ```
#[derive(Debug)]
pub struct Ack {
    socket: Socket,
    id: Option<u64>,
}

impl Ack {
    /// Whether the client asked for an ack.
    pub fn is_requested(&self) -> bool {
        self.id.is_some() && self.socket.wire().is_socketio()
    }

    /// Answers the client's ack with `data`.
    pub fn send<T: serde::Serialize + ?Sized>(self, data: &T) -> Result<(), EmitError> {
        let Some(id) = self.id.filter(|_| self.socket.wire().is_socketio()) else {
            return Ok(());
        };
        let json = serde_json::to_string(data)?;
        match self.socket.wire().ack_frame(id, &json) {
            Some(frame) => self.socket.push(Utf8Bytes::from(frame)),
            None => Ok(()),
        }
    }
}

impl FromMessage for Ack {
    fn from_message(msg: &Message) -> Result<Self, WsException> {
        msg.ack_taken.store(true, Ordering::Release);
        Ok(Ack {
            socket: msg.socket.clone(),
            id: msg.ack,
        })
    }
}

/// The message data, deserialized with serde (NestJS `@MessageBody()`).
///
/// ```
/// use gateway_core::MessageBody;
/// #[derive(serde::Deserialize)]
/// struct Send { room: String }
/// fn handler(MessageBody(body): MessageBody<Send>) -> String { body.room }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromMessage for MessageBody<T> {
    fn from_message(msg: &Message) -> Result<Self, WsException> {
        msg.body().map(MessageBody)
    }
}

/// The event name of the message being handled (NestJS `getPattern()`).
///
/// ```
/// use gateway_core::Event;
/// fn handler(event: Event) -> String { event.as_str().to_owned() }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Event(Utf8Bytes);

impl Event {
    /// The event name.
    ///
    /// ```
    /// # fn demo(event: gateway_core::Event) {
    /// assert!(!event.as_str().is_empty());
    /// # }
    /// ```
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Event({:?})", self.as_str())
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromMessage for Event {
    fn from_message(msg: &Message) -> Result<Self, WsException> {
        Ok(Event(msg.event.clone()))
    }
}

/// Shared app state registered with
/// [`GatewayAppBuilder::with_state`](crate::GatewayAppBuilder::with_state), cloned per use.
///
/// Put an `Arc` inside for state that must not be copied.
///
/// ```
/// use std::sync::Arc;
/// use gateway_core::State;
/// #[derive(Clone)]
/// struct Db(Arc<()>);
/// fn handler(State(db): State<Db>) { let _ = db; }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct State<T>(pub T);

impl<T: Clone + Send + Sync + 'static> FromMessage for State<T> {
    fn from_message(msg: &Message) -> Result<Self, WsException> {
        msg.socket
            .ns()
            .app
            .state
            .get::<T>()
            .cloned()
            .map(State)
            .ok_or_else(|| {
                WsException::internal(format!(
                    "no state of type `{}`: register it with GatewayAppBuilder::with_state",
                    std::any::type_name::<T>()
                ))
            })
    }
}
