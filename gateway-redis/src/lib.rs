//! Redis adapter for gateway-core: rooms and broadcasts across many instances.
//!
//! **Placeholder.** This crate exists so the workspace has its final shape; the adapter itself
//! (an `Adapter` over Redis pub/sub, wire-compatible with `@socket.io/redis-adapter`) lands in
//! its own change. Until then it exports nothing, and a `GatewayApp` delivers broadcasts to the
//! sockets of its own process only.
