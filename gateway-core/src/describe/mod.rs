//! What a gateway says about itself: the events it receives (with their bodies and replies)
//! and the events it sends, for the AsyncAPI document and the TypeScript event maps that
//! [`GatewayApp::asyncapi`](crate::GatewayApp::asyncapi) and
//! [`GatewayApp::typescript`](crate::GatewayApp::typescript) build (feature `asyncapi`).
//!
//! `#[gateway]` fills a [`GatewayDescriber`] from the declarations: each
//! `#[subscribe_message]` handler's body and return types, and each `#[emits("event" = T)]`.
//! Nothing here runs unless a document is asked for: a gateway keeps a function pointer.
//!
//! By hand:
//!
//! ```
//! use gateway_core::describe::{GatewayDescriber, MessageSchema, ReplySchema};
//! use gateway_core::{GatewayBuilder, GatewayOptions};
//!
//! fn describe(d: &mut GatewayDescriber) {
//!     d.receives("ping", None, ReplySchema::Ack(MessageSchema::opaque::<String>()));
//!     d.sends("tick", MessageSchema::opaque::<u64>());
//! }
//!
//! let mut gateway = GatewayBuilder::new(GatewayOptions::new("/clock"));
//! gateway.on("ping", || async { "pong" });
//! gateway.describe_with(describe);
//! ```

// Without feature `asyncapi` the descriptions are collected but nothing reads them.
#![cfg_attr(not(feature = "asyncapi"), allow(dead_code))]

#[cfg(feature = "asyncapi")]
mod asyncapi;
#[cfg(feature = "asyncapi")]
mod keys;
#[doc(hidden)]
pub mod probe;
#[cfg(feature = "asyncapi")]
mod schemas;
#[cfg(feature = "asyncapi")]
mod security;
#[cfg(feature = "asyncapi")]
mod servers;
#[cfg(feature = "asyncapi")]
mod typescript;

#[cfg(feature = "asyncapi")]
pub(crate) use asyncapi::document;
#[cfg(feature = "asyncapi")]
pub(crate) use typescript::event_maps;

use crate::pipeline::Credential;
use crate::GatewayOptions;

/// The JSON Schema of a message's payload, made from a Rust type when it is asked for.
///
/// With feature `asyncapi`, [`MessageSchema::of`] takes it from the type's
/// `schemars::JsonSchema`; a type without one is described by name only
/// ([`MessageSchema::opaque`]: any JSON value).
///
/// ```
/// use gateway_core::describe::MessageSchema;
///
/// let schema = MessageSchema::opaque::<Vec<u8>>();
/// assert_eq!(schema.type_name(), "alloc::vec::Vec<u8>");
/// ```
#[derive(Clone, Copy)]
pub struct MessageSchema {
    type_name: &'static str,
    #[cfg(feature = "asyncapi")]
    generate: Option<fn(&mut schemars::SchemaGenerator) -> schemars::Schema>,
}

impl MessageSchema {
    /// `T` by name only: its schema allows any JSON value.
    ///
    /// ```
    /// let schema = gateway_core::describe::MessageSchema::opaque::<String>();
    /// ```
    pub fn opaque<T: ?Sized>() -> Self {
        Self {
            type_name: std::any::type_name::<T>(),
            #[cfg(feature = "asyncapi")]
            generate: None,
        }
    }

    /// `T`'s JSON Schema, from its `schemars::JsonSchema` (feature `asyncapi`).
    ///
    /// ```
    /// #[derive(schemars::JsonSchema)]
    /// struct Joined { joined: String }
    ///
    /// let schema = gateway_core::describe::MessageSchema::of::<Joined>();
    /// ```
    #[cfg(feature = "asyncapi")]
    pub fn of<T: schemars::JsonSchema + ?Sized>() -> Self {
        Self {
            type_name: std::any::type_name::<T>(),
            generate: Some(|generator| generator.subschema_for::<T>()),
        }
    }

    /// The Rust type's name.
    ///
    /// ```
    /// let schema = gateway_core::describe::MessageSchema::opaque::<bool>();
    /// assert_eq!(schema.type_name(), "bool");
    /// ```
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }
}

impl std::fmt::Debug for MessageSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("MessageSchema")
            .field(&self.type_name)
            .finish()
    }
}

/// What a client gets back for an event it sends.
///
/// ```
/// use gateway_core::describe::{MessageSchema, ReplySchema};
///
/// let reply = ReplySchema::Ack(MessageSchema::opaque::<String>());
/// assert!(matches!(reply, ReplySchema::Ack(_)));
/// ```
#[derive(Debug, Clone, Copy)]
pub enum ReplySchema {
    /// Nothing (`()`, `Result<(), E>`).
    None,
    /// The return value: the Socket.IO ack's argument, or the JSON-format frame sent back.
    Ack(MessageSchema),
    /// A [`WsResponse`](crate::WsResponse): an event whose name the handler chooses, with this
    /// data (declare the name with `#[emits]`).
    Event(MessageSchema),
}

/// One event a gateway receives.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) event: String,
    pub(crate) body: Option<Body>,
    pub(crate) reply: ReplySchema,
}

/// A received event's body: the whole of it, or some of its properties.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    Whole(MessageSchema),
    Properties(Vec<(String, MessageSchema)>),
}

/// Collects what one gateway receives and sends; filled by the function given to
/// [`GatewayBuilder::describe_with`](crate::GatewayBuilder::describe_with).
///
/// ```
/// use gateway_core::describe::{GatewayDescriber, MessageSchema, ReplySchema};
///
/// fn describe(d: &mut GatewayDescriber) {
///     d.receives("joinRoom", Some(MessageSchema::opaque::<String>()), ReplySchema::None);
///     d.receives_property("move", "x", MessageSchema::opaque::<i32>());
///     d.sends("userJoined", MessageSchema::opaque::<String>());
/// }
/// ```
#[derive(Debug, Default)]
pub struct GatewayDescriber {
    pub(crate) received: Vec<Received>,
    pub(crate) sent: Vec<(String, MessageSchema)>,
}

impl GatewayDescriber {
    /// `event` arrives with `body` (`None`: the handler reads no body) and is answered with
    /// `reply`. A second description of the same event replaces the first.
    ///
    /// ```
    /// # use gateway_core::describe::{GatewayDescriber, MessageSchema, ReplySchema};
    /// let mut d = GatewayDescriber::default();
    /// d.receives("ping", None, ReplySchema::Ack(MessageSchema::opaque::<String>()));
    /// ```
    pub fn receives(&mut self, event: &str, body: Option<MessageSchema>, reply: ReplySchema) {
        self.received.retain(|r| r.event != event);
        self.received.push(Received {
            event: event.to_owned(),
            body: body.map(Body::Whole),
            reply,
        });
    }

    /// The body of `event` (already described with [`receives`](Self::receives), or it is
    /// added) has property `name` of this schema (`#[message_body("name")]`).
    ///
    /// ```
    /// # use gateway_core::describe::{GatewayDescriber, MessageSchema, ReplySchema};
    /// let mut d = GatewayDescriber::default();
    /// d.receives("move", None, ReplySchema::None);
    /// d.receives_property("move", "x", MessageSchema::opaque::<i32>());
    /// ```
    pub fn receives_property(&mut self, event: &str, name: &str, schema: MessageSchema) {
        let index = match self.received.iter().position(|r| r.event == event) {
            Some(index) => index,
            None => {
                self.receives(event, None, ReplySchema::None);
                self.received.len() - 1
            }
        };
        let received = &mut self.received[index];
        match &mut received.body {
            Some(Body::Properties(properties)) => properties.push((name.to_owned(), schema)),
            _ => received.body = Some(Body::Properties(vec![(name.to_owned(), schema)])),
        }
    }

    /// The gateway emits `event` with this payload (`#[emits("event" = T)]`). The first
    /// declaration of an event wins.
    ///
    /// ```
    /// # use gateway_core::describe::{GatewayDescriber, MessageSchema};
    /// let mut d = GatewayDescriber::default();
    /// d.sends("userJoined", MessageSchema::opaque::<String>());
    /// ```
    pub fn sends(&mut self, event: &str, payload: MessageSchema) {
        if !self.sent.iter().any(|(name, _)| name == event) {
            self.sent.push((event.to_owned(), payload));
        }
    }
}

/// One gateway as the app keeps it for describing: its options, its describe function and the
/// credentials its guards accept. Function pointers and a few strings: nothing runs until a
/// document is asked for.
#[derive(Clone)]
pub(crate) struct DescribedGateway {
    pub(crate) options: GatewayOptions,
    pub(crate) describe: Option<fn(&mut GatewayDescriber)>,
    /// Credentials checked at the handshake (connection guards: gateway and global).
    pub(crate) connection_credentials: Vec<Credential>,
    /// Credentials checked before every handler (gateway and global guards).
    pub(crate) gateway_credentials: Vec<Credential>,
    /// Credentials checked before one handler (its own guards), by event.
    pub(crate) handler_credentials: Vec<(String, Vec<Credential>)>,
}

impl DescribedGateway {
    /// What the gateway's describe function says.
    pub(crate) fn description(&self) -> GatewayDescriber {
        let mut describer = GatewayDescriber::default();
        if let Some(describe) = self.describe {
            describe(&mut describer);
        }
        describer
    }
}

/// The app-wide parts of the API description: its title and version, and where `listen`
/// serves the AsyncAPI document.
#[derive(Debug, Clone)]
pub(crate) struct ApiOptions {
    pub(crate) title: String,
    pub(crate) version: String,
    pub(crate) route: Option<String>,
}

impl Default for ApiOptions {
    fn default() -> Self {
        Self {
            title: "Gateway API".to_owned(),
            version: "1.0.0".to_owned(),
            route: None,
        }
    }
}
