//! [`ExecutionContext`]: what guards, interceptors and filters see (NestJS `ExecutionContext`).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::{Socket, WsException};

/// The message being handled: its socket, pattern and data, the gateway and handler, and the
/// handler's metadata. Cheap to clone.
///
/// ```
/// use gateway_core::pipeline::{guard_fn, ExecutionContext};
///
/// #[derive(Clone)]
/// struct Roles(&'static [&'static str]);
///
/// let guard = guard_fn(|cx: ExecutionContext| async move {
///     let needed = cx.metadata::<Roles>().map_or(&[][..], |r| r.0);
///     needed.is_empty() || cx.socket().data().get::<String>().is_some_and(|role| needed.contains(&role.as_str()))
/// });
/// ```
#[derive(Clone)]
pub struct ExecutionContext(Arc<Inner>);

struct Inner {
    socket: Socket,
    pattern: Utf8Bytes,
    data: Option<Utf8Bytes>,
    /// The Socket.IO binary attachments the data's placeholders stand for.
    attachments: Option<Arc<[Bytes]>>,
    gateway: &'static str,
    handler: Arc<str>,
    metadata: Metadata,
}

impl ExecutionContext {
    pub(crate) fn new(
        socket: Socket,
        pattern: Utf8Bytes,
        data: Option<Utf8Bytes>,
        attachments: Option<Arc<[Bytes]>>,
        gateway: &'static str,
        handler: Arc<str>,
        metadata: Metadata,
    ) -> Self {
        Self(Arc::new(Inner {
            socket,
            pattern,
            data,
            attachments,
            gateway,
            handler,
            metadata,
        }))
    }

    /// The socket the message came from (NestJS `switchToWs().getClient()`).
    pub fn socket(&self) -> &Socket {
        &self.0.socket
    }

    /// The event name (NestJS `switchToWs().getPattern()`).
    pub fn pattern(&self) -> &str {
        self.0.pattern.as_str()
    }

    /// The raw JSON of the message data, `None` if the frame had none (NestJS `getData()`).
    pub fn data_json(&self) -> Option<&str> {
        self.0.data.as_ref().map(Utf8Bytes::as_str)
    }

    /// The binary attachments the data's placeholders stand for (Socket.IO only).
    pub(crate) fn attachments(&self) -> &[Bytes] {
        self.0.attachments.as_deref().unwrap_or_default()
    }

    /// The message data deserialized as `T` (an array is never a struct). Data that does not fit
    /// is an internal error: the client gets "Internal server error", the log the details.
    pub fn data<T: DeserializeOwned>(&self) -> Result<T, WsException> {
        crate::body::from_text(self.data_json().unwrap_or("null")).map_err(WsException::internal)
    }

    /// The gateway's type name (NestJS `getClass()`).
    pub fn gateway(&self) -> &'static str {
        self.0.gateway
    }

    /// The handler's name (NestJS `getHandler()`): the method name under `#[gateway]`, else the event.
    pub fn handler(&self) -> &str {
        &self.0.handler
    }

    /// Metadata of type `T` set on the handler, or else on the gateway (NestJS `SetMetadata` read
    /// with `Reflector.getAllAndOverride`).
    pub fn metadata<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.0.metadata.get()
    }
}

impl fmt::Debug for ExecutionContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecutionContext")
            .field("socket", &self.0.socket.id())
            .field("pattern", &self.pattern())
            .field("gateway", &self.0.gateway)
            .field("handler", &self.0.handler)
            .finish()
    }
}

/// Values attached to a gateway or handler, keyed by type (NestJS `SetMetadata` / `Reflector`).
///
/// ```
/// use gateway_core::pipeline::Metadata;
/// #[derive(Debug, PartialEq)]
/// struct Roles(Vec<String>);
/// let mut metadata = Metadata::default();
/// metadata.insert(Roles(vec!["admin".into()]));
/// assert_eq!(metadata.get::<Roles>(), Some(&Roles(vec!["admin".into()])));
/// ```
#[derive(Clone, Default)]
pub struct Metadata(HashMap<TypeId, Arc<dyn Any + Send + Sync>>);

impl Metadata {
    /// Attaches `value`, replacing any value of the same type.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        self.0.insert(TypeId::of::<T>(), Arc::new(value));
    }

    /// The value of type `T`, if attached.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.0
            .get(&TypeId::of::<T>())
            .and_then(|v| v.downcast_ref())
    }

    /// `self`'s values, plus `outer`'s for types `self` lacks.
    pub(crate) fn over(&self, outer: &Metadata) -> Metadata {
        let mut merged = outer.clone();
        merged.0.extend(self.0.iter().map(|(k, v)| (*k, v.clone())));
        merged
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metadata")
            .field("len", &self.0.len())
            .finish()
    }
}
