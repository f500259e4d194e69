//! A NestJS-style WebSocket gateway runtime for Rust.
//!
//! Declare a gateway by annotating your own type; plain WebSocket clients speaking NestJS's
//! `platform-ws` JSON format talk to it unchanged.
//!
//! ```no_run
//! use gateway_core::{gateway, GatewayApp, MessageBody, Socket, WsException};
//! use serde::Serialize;
//!
//! #[derive(Serialize)]
//! struct Joined { joined: String }
//!
//! struct ChatGateway;
//!
//! #[gateway(namespace = "/chat")]
//! impl ChatGateway {
//!     #[subscribe_message("joinRoom")]
//!     async fn join_room(&self, client: Socket, MessageBody(room): MessageBody<String>) -> Joined {
//!         client.join(format!("room:{room}"));
//!         Joined { joined: room }                      // the reply frame
//!     }
//!
//!     #[subscribe_message("boom")]
//!     async fn boom(&self) -> Result<(), WsException> {
//!         Err(WsException::new("test"))                // {"event":"exception","data":{…}}
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let server = GatewayApp::builder().gateway(ChatGateway).build()?.listen("0.0.0.0:3000").await?;
//!     server.shutdown_on(tokio::signal::ctrl_c()).await;
//!     Ok(())
//! }
//! ```
//!
//! # Contents
//!
//! - [`GatewayApp`] / [`GatewayAppBuilder`]: register gateways and state, listen, shut down.
//! - [`Gateway`], [`GatewayOptions`], [`GatewayBuilder`]: what `#[gateway]` generates, usable by hand.
//! - Handler arguments ([`extract`] module): [`Socket`], [`MessageBody`], [`Event`],
//!   [`Handshake`], [`State`], [`Namespace`], [`Message`].
//! - Handler results: [`IntoReply`], [`WsResponse`], [`StreamReply`], [`Json`], [`reply!`].
//! - Errors for clients: [`WsException`].
//! - Guards, interceptors, pipes, exception filters: [`pipeline`]; ready ones in [`enhancers`],
//!   [`validation`] and `jwt` (feature `jwt`).
//! - Rooms and broadcasts: [`Socket::join`], [`Namespace::to`], [`BroadcastOperator`].
//! - In-process events from services to gateways (`@nestjs/event-emitter`): [`EventBus`] and
//!   `#[on_event("order.*")]` handlers; see the [`events`](guide::events) guide.
//! - The API's description (feature `asyncapi`): `GatewayApp::asyncapi`, `GatewayApp::typescript`,
//!   `#[emits]` and the [`describe`] module.
//!
//! # The JSON wire format (NestJS `platform-ws` 12)
//!
//! A gateway is served at its namespace as a URL path (`ws://host:3000/chat`), or at `path`.
//! Clients send `{"event": "joinRoom", "data": "lobby"}`. The reply is the JSON of the handler's
//! return value, exactly as returned: `"pong"`, `{"joined":"lobby"}`, or `{"event":E,"data":D}` for a
//! [`WsResponse`]. `()` and `None` send nothing; a stream sends one frame per item. Errors arrive as
//! `{"event":"exception","data":{"status":"error","message":…,"cause":{"pattern":…,"data":…}}}`.
//! Frames that are not such JSON objects, and unknown events, are dropped (logged at debug level);
//! the connection stays open. A message over the size limit closes the connection with 1009.
//!
//! # Guards, pipes, interceptors and exception filters
//!
//! The [`pipeline`] module has the traits, their closure forms and ready-made ones
//! ([`enhancers`], [`validation`], `jwt`). They attach globally (`with_global_*`), to a gateway
//! (`#[use_guards(..)]` on the impl) or to a handler (`#[use_guards(..)]` on the method), and run
//! in NestJS order:
//!
//! ```text
//!  message ─► guards ──────► interceptors (before) ─► pipes + extractors ─► handler
//!             global           global                 global                  │
//!             gateway          gateway                gateway                 ▼
//!             handler          handler                handler        interceptors (after)
//!                │                    │                     │                 │
//!                └──── any error ─────┴─────────────────────┴─────────────────┤
//!                                                                             ▼
//!                              exception filters: handler ─► gateway ─► global ─► default
//! ```
//!
//! `#[use_connection_guards(..)]` runs guards at the handshake, before the upgrade (a refused
//! client gets HTTP 401/403 with a JSON body).
//!
//! # Socket.IO
//!
//! The same gateways serve Socket.IO v5 clients at `/socket.io/` (Engine.IO v4: HTTP
//! long-polling, WebSocket, and the upgrade from one to the other, so socket.io-client works with
//! its default options). A gateway's namespace is its Socket.IO namespace. A handler's return
//! value is the ack when the client asked for one; a reply with an `event` field (a
//! [`WsResponse`]) is emitted as that event instead, as NestJS's IoAdapter does. Errors arrive as
//! the `exception` event. [`Payload`] carries several arguments and binary attachments;
//! [`Socket::timeout`] and [`BroadcastOperator::timeout`] emit with acks and wait for them; connection
//! state recovery is [`GatewayAppBuilder::with_connection_state_recovery`].
//!
//! Long-polling keeps a session in one process: behind a load balancer, use sticky sessions (or
//! have clients use `transports: ["websocket"]`).
//!
//! # Order and concurrency
//!
//! Messages from one socket are handled one at a time, in order, so a `joinRoom` is seen by the
//! `sendMessage` after it. Different sockets run concurrently. `handle_connection` finishes before
//! the socket's first message is dispatched.
//!
//! # Sending and slow clients
//!
//! Each connection has one bounded send queue (1024 frames and 16 MiB by default) and one writer
//! task that frames everything queued into one buffer and writes it with one syscall. Emitting never waits: a client whose
//! queue is full is disconnected with close code 1008 (or, under [`FullQueue::DropNewest`],
//! the emit is dropped). A volatile emit ([`BroadcastOperator::volatile`]) skips a client whose
//! queue is not empty. A broadcast is serialized once and the same bytes are queued to every
//! recipient.

#![cfg_attr(docsrs, feature(doc_auto_cfg))]

/// The README's examples, compiled as doctests.
#[cfg(all(doctest, feature = "jwt", feature = "validation"))]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

// One message, from accept to write; each module only uses those after it on this path (and
// the leaves: runtime, registry, protocol, outbox):
//
//   server (listen: listener, accept loop) → direct (reads the request head; an upgrade is
//     answered in the connection's task, anything else goes to hyper over rewind)
//     or  any tower server
//   → service (GatewayService: is the request the gateways'?)
//   → accept (origin, connection guards, 101; Engine.IO's HTTP side)
//   → upgrade (serve the connection after the 101) → stream (split)
//   → connection (a JSON-format WebSocket)  or  engineio (a session: polling, upgrade, the
//     Socket.IO namespaces it multiplexes)
//   → protocol (decode) → dispatch (route → pipeline → handler → reply or exception)
//   → protocol::Wire (encode), broadcast (to many) → outbox (queue) → writer (write)
//
// lifecycle (a socket's hook and release) and ws_io (the WebSocket halves) serve both transports.
// Beside that path, event_bus (with event_pattern and published_event, leaves) carries services'
// events to gateways; gateways (start, shutdown) subscribes and unsubscribes their handlers.
// describe (a leaf) holds what each gateway says about itself; gateway_description and
// app_description turn it into the AsyncAPI document and TypeScript types, only when asked.
mod accept;
mod ack_broadcast;
mod acks;
mod adapter;
mod any_listeners;
mod app;
#[cfg(feature = "asyncapi")]
mod app_description;
mod app_namespaces;
mod body;
mod broadcast;
mod build_error;
mod client_address;
mod clients;
mod connection;
mod connection_rate;
mod deflate;
mod departures;
pub mod describe;
mod direct;
mod disconnect_reason;
mod dispatch;
/// Guides: one page per topic (gateways, pipeline, Socket.IO, Redis, testing, features).
mod dynamic;
mod emit_error;
mod ending;
mod engineio;
pub mod enhancers;
mod event_bus;
mod event_pattern;
mod exception;
pub mod extract;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod gateway;
#[cfg(feature = "asyncapi")]
mod gateway_description;
mod gateway_options;
mod gateway_parts;
mod gateways;
pub mod guide;
mod handler;
mod handshake;
mod hooks;
mod http_answer;
#[cfg(feature = "jwt")]
pub mod jwt;
mod lifecycle;
mod limits;
mod listener;
mod metrics;
mod namespace;
mod namespace_pattern;
mod namespace_table;
mod outbox;
mod payload;
pub mod pipeline;
mod protocol;
mod published_event;
mod rarely_ready;
mod read_ahead;
mod recipients;
mod recorded;
mod recovery;
mod registry;
mod reply;
mod rewind;
mod room;
mod routes;
mod runtime;
mod server;
mod service;
mod session_store;
mod socket;
mod state;
mod stream;
#[cfg(feature = "test-util")]
pub mod test;
mod upgrade;
pub mod validation;
mod writer;
mod ws_io;

#[cfg(feature = "asyncapi")]
pub use schemars;

pub use ack_broadcast::{AckBroadcast, AckStream};
pub use acks::{AckEmit, AckError};
pub use adapter::{
    Adapter, AdapterError, BroadcastMessage, ClusterData, EventData, LocalAdapter, RemoteAcks,
    SocketInfo,
};
pub use app::{GatewayApp, GatewayAppBuilder};
pub use broadcast::BroadcastOperator;
pub use build_error::BuildError;
pub use deflate::PerMessageDeflate;
pub use disconnect_reason::DisconnectReason;
pub use emit_error::EmitError;
pub use event_bus::{EventBus, IntoEventResult};
pub use exception::{WsException, INTERNAL_SERVER_ERROR};
pub use extract::{Ack, Event, FromMessage, Message, MessageBody, State};
pub use gateway::{EventHandlerBuilder, Gateway, GatewayBuilder, RouteBuilder};
pub use gateway_options::{AllowedOrigins, FullQueue, GatewayOptions, DEFAULT_MAX_LIVE_NAMESPACES};
pub use gateways::Gateways;
pub use handler::Handler;
pub use handshake::Handshake;
pub use hooks::IntoHookResult;
pub use namespace::Namespace;
pub use namespace_pattern::NamespaceParams;
pub use payload::Payload;
pub use published_event::{EventPayloadError, PublishedEvent};
pub use recipients::Recipients;
pub use reply::{IntoReply, Json, Reply, StreamReply, WsResponse};
pub use room::{IntoRooms, InvalidSocketId, Room, SocketId};
pub use server::RunningApp;
pub use service::{GatewayLayer, GatewayService, NotFound, ResponseFuture};
pub use session_store::{MissedEvent, PersistedSession, RestoredSession, SessionStore};
pub use socket::Socket;
pub use state::SocketData;

#[cfg(feature = "macros")]
pub use gateway_macros::{
    emits, gateway, on_event, set_metadata, subscribe_message, use_connection_guards, use_filters,
    use_guards, use_interceptors, use_pipes,
};

/// Items used by the macros' generated code. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::reply::autoref::{ReplyWrap, ViaIntoReply, ViaSerialize, ViaSerializeResult};
    pub use crate::validation::probe::{BodyProbe, ExtractorProbe, ViaNoValidate, ViaValidate};
    pub mod describe {
        pub use crate::describe::probe::*;
    }

    /// `msg` with the validation rules of the argument about to be extracted.
    pub fn with_validator(
        msg: &crate::Message,
        validator: Option<crate::validation::Validator>,
    ) -> std::borrow::Cow<'_, crate::Message> {
        msg.with_validator(validator)
    }
    pub use futures_util::future::{BoxFuture, FutureExt};
}
