//! The long-form companion to the API reference, one page per topic:
//!
//! - [`coming_from_nestjs`]: each NestJS WebSockets decorator, provider and concept beside ours,
//!   with the differences.
//! - [`gateways`]: `#[gateway]` and `#[subscribe_message]`, handler arguments and replies,
//!   lifecycle hooks, rooms and broadcasts, the app.
//! - [`pipeline`]: guards, pipes, interceptors and exception filters; `WsException`; JWT.
//! - [`events`]: the in-process event bus (`@nestjs/event-emitter`): `EventBus`,
//!   `#[on_event]` handlers, wildcard patterns, typed payloads, errors.
//! - [`socketio`]: Socket.IO v5 / Engine.IO v4: namespaces, acks, binary data, transports,
//!   connection state recovery.
//! - [`redis`]: many instances behind the Redis adapter, wire-compatible with
//!   `@socket.io/redis-adapter`.
//! - [`testing`]: `TestClient`, loopback servers, waiting instead of sleeping.
//! - [`features`]: every cargo feature of gateway-core and gateway-redis.
//! - [`axum`]: mounting the gateways in an axum app beside REST routes; TLS; shutdown.
//! - [`connections`]: what `listen()` does with a new connection; the listen backlog and
//!   `SO_REUSEPORT` listeners for reconnect storms; what a connection costs.
//! - [`observability`]: `tracing` spans per connection and per message; metrics through the
//!   `metrics` facade, served to Prometheus.
//! - [`compression`]: permessage-deflate: turning it on, `compress(false)`, the bound on
//!   inflating, what it costs.
//! - `asyncapi` (feature `asyncapi`): the AsyncAPI 3.0 document and the TypeScript event maps
//!   generated from the declarations; `#[emits]`; serving the document; how it is checked.
//!
//! The pages are the Markdown files in `docs/guide/`; their examples are compiled as doctests.
//!
//! [`coming_from_nestjs`]: crate::guide::coming_from_nestjs
//! [`gateways`]: crate::guide::gateways
//! [`pipeline`]: crate::guide::pipeline
//! [`events`]: crate::guide::events
//! [`socketio`]: crate::guide::socketio
//! [`redis`]: crate::guide::redis
//! [`testing`]: crate::guide::testing
//! [`features`]: crate::guide::features
//! [`axum`]: crate::guide::axum
//! [`connections`]: crate::guide::connections
//! [`observability`]: crate::guide::observability
//! [`compression`]: crate::guide::compression

#[doc = include_str!("../../docs/guide/coming-from-nestjs.md")]
pub mod coming_from_nestjs {}

#[doc = include_str!("../../docs/guide/gateways.md")]
pub mod gateways {}

#[doc = include_str!("../../docs/guide/pipeline.md")]
pub mod pipeline {}

#[doc = include_str!("../../docs/guide/events.md")]
pub mod events {}

#[doc = include_str!("../../docs/guide/socketio.md")]
pub mod socketio {}

#[doc = include_str!("../../docs/guide/redis.md")]
pub mod redis {}

#[doc = include_str!("../../docs/guide/testing.md")]
pub mod testing {}

#[doc = include_str!("../../docs/guide/features.md")]
pub mod features {}

#[doc = include_str!("../../docs/guide/axum.md")]
pub mod axum {}

#[doc = include_str!("../../docs/guide/connections.md")]
pub mod connections {}

#[doc = include_str!("../../docs/guide/observability.md")]
pub mod observability {}

#[doc = include_str!("../../docs/guide/compression.md")]
pub mod compression {}

#[cfg(feature = "asyncapi")]
#[doc = include_str!("../../docs/guide/asyncapi.md")]
pub mod asyncapi {}
