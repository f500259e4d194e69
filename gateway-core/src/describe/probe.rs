//! Schemas of handler bodies and replies, found at compile time by the macros (autoref
//! specialization: the most specific impl that applies wins). Not public API.
//!
//! Without feature `asyncapi`, only the impls that need no `schemars::JsonSchema` exist: bodies
//! and replies are then described by type name only, and the macros' code still compiles.

use std::marker::PhantomData;

use super::{MessageSchema, ReplySchema};
use crate::{MessageBody, WsResponse};

/// Probes an extractor type: `MessageBody<T>` (and `Validated<T>`) have a body.
pub struct BodyProbe<A>(PhantomData<fn() -> A>);

impl<A> BodyProbe<A> {
    pub const NEW: Self = Self(PhantomData);
}

pub trait ViaNoBody {
    fn __body_schema(&self) -> Option<MessageSchema> {
        None
    }
}
impl<A> ViaNoBody for BodyProbe<A> {}

pub trait ViaOpaqueBody {
    fn __body_schema(&self) -> Option<MessageSchema>;
}
impl<T> ViaOpaqueBody for &BodyProbe<MessageBody<T>> {
    fn __body_schema(&self) -> Option<MessageSchema> {
        Some(MessageSchema::opaque::<T>())
    }
}
#[cfg(feature = "validation")]
impl<T> ViaOpaqueBody for &BodyProbe<crate::validation::Validated<T>> {
    fn __body_schema(&self) -> Option<MessageSchema> {
        Some(MessageSchema::opaque::<T>())
    }
}

pub trait ViaBodySchema {
    fn __body_schema(&self) -> Option<MessageSchema>;
}
#[cfg(feature = "asyncapi")]
impl<T: schemars::JsonSchema> ViaBodySchema for &&BodyProbe<MessageBody<T>> {
    fn __body_schema(&self) -> Option<MessageSchema> {
        Some(MessageSchema::of::<T>())
    }
}
#[cfg(all(feature = "asyncapi", feature = "validation"))]
impl<T: schemars::JsonSchema> ViaBodySchema for &&BodyProbe<crate::validation::Validated<T>> {
    fn __body_schema(&self) -> Option<MessageSchema> {
        Some(MessageSchema::of::<T>())
    }
}

/// Probes a handler's return type.
pub struct ReplyProbe<R: ?Sized>(PhantomData<fn() -> *const R>);

impl<R: ?Sized> ReplyProbe<R> {
    pub const NEW: Self = Self(PhantomData);
}

/// Anything else: some reply, described by type name.
pub trait ViaOpaqueReply {
    fn __reply_schema(&self) -> ReplySchema;
}
impl<R: ?Sized> ViaOpaqueReply for ReplyProbe<R> {
    fn __reply_schema(&self) -> ReplySchema {
        ReplySchema::Ack(MessageSchema::opaque::<R>())
    }
}

/// `T: JsonSchema`.
pub trait ViaSchemaReply {
    fn __reply_schema(&self) -> ReplySchema;
}
#[cfg(feature = "asyncapi")]
impl<R: schemars::JsonSchema + ?Sized> ViaSchemaReply for &ReplyProbe<R> {
    fn __reply_schema(&self) -> ReplySchema {
        ReplySchema::Ack(MessageSchema::of::<R>())
    }
}

/// `Result<T, E>`, `Option<T>` and `Json<T>` with `T: JsonSchema`: the reply is `T`.
pub trait ViaWrappedReply {
    fn __reply_schema(&self) -> ReplySchema;
}
#[cfg(feature = "asyncapi")]
impl<T: schemars::JsonSchema, E> ViaWrappedReply for &&ReplyProbe<Result<T, E>> {
    fn __reply_schema(&self) -> ReplySchema {
        ReplySchema::Ack(MessageSchema::of::<T>())
    }
}
#[cfg(feature = "asyncapi")]
impl<T: schemars::JsonSchema> ViaWrappedReply for &&ReplyProbe<Option<T>> {
    fn __reply_schema(&self) -> ReplySchema {
        ReplySchema::Ack(MessageSchema::of::<T>())
    }
}
#[cfg(feature = "asyncapi")]
impl<T: schemars::JsonSchema> ViaWrappedReply for &&ReplyProbe<crate::Json<T>> {
    fn __reply_schema(&self) -> ReplySchema {
        ReplySchema::Ack(MessageSchema::of::<T>())
    }
}

/// `WsResponse<T>` (also in a `Result`), `T` without a schema.
pub trait ViaOpaqueEventReply {
    fn __reply_schema(&self) -> ReplySchema;
}
impl<T> ViaOpaqueEventReply for &&&ReplyProbe<WsResponse<T>> {
    fn __reply_schema(&self) -> ReplySchema {
        ReplySchema::Event(MessageSchema::opaque::<T>())
    }
}
impl<T, E> ViaOpaqueEventReply for &&&ReplyProbe<Result<WsResponse<T>, E>> {
    fn __reply_schema(&self) -> ReplySchema {
        ReplySchema::Event(MessageSchema::opaque::<T>())
    }
}

/// `WsResponse<T>` (also in a `Result`) with `T: JsonSchema`.
pub trait ViaEventReply {
    fn __reply_schema(&self) -> ReplySchema;
}
#[cfg(feature = "asyncapi")]
impl<T: schemars::JsonSchema> ViaEventReply for &&&&ReplyProbe<WsResponse<T>> {
    fn __reply_schema(&self) -> ReplySchema {
        ReplySchema::Event(MessageSchema::of::<T>())
    }
}
#[cfg(feature = "asyncapi")]
impl<T: schemars::JsonSchema, E> ViaEventReply for &&&&ReplyProbe<Result<WsResponse<T>, E>> {
    fn __reply_schema(&self) -> ReplySchema {
        ReplySchema::Event(MessageSchema::of::<T>())
    }
}

/// `()`, `Result<(), E>` and `Option<()>`: no reply.
pub trait ViaNoReply {
    fn __reply_schema(&self) -> ReplySchema;
}
impl ViaNoReply for &&&&&ReplyProbe<()> {
    fn __reply_schema(&self) -> ReplySchema {
        ReplySchema::None
    }
}
impl<E> ViaNoReply for &&&&&ReplyProbe<Result<(), E>> {
    fn __reply_schema(&self) -> ReplySchema {
        ReplySchema::None
    }
}
impl ViaNoReply for &&&&&ReplyProbe<Option<()>> {
    fn __reply_schema(&self) -> ReplySchema {
        ReplySchema::None
    }
}

/// A type's schema, or its name only.
pub struct SchemaProbe<T: ?Sized>(PhantomData<fn() -> *const T>);

impl<T: ?Sized> SchemaProbe<T> {
    pub const NEW: Self = Self(PhantomData);
}

pub trait ViaOpaqueSchema {
    fn __schema(&self) -> MessageSchema;
}
impl<T: ?Sized> ViaOpaqueSchema for SchemaProbe<T> {
    fn __schema(&self) -> MessageSchema {
        MessageSchema::opaque::<T>()
    }
}

pub trait ViaSchema {
    fn __schema(&self) -> MessageSchema;
}
#[cfg(feature = "asyncapi")]
impl<T: schemars::JsonSchema + ?Sized> ViaSchema for &SchemaProbe<T> {
    fn __schema(&self) -> MessageSchema {
        MessageSchema::of::<T>()
    }
}
