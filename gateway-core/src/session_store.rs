//! [`SessionStore`]: connection state recovery kept by the adapter, in a store every instance
//! shares (the Redis Streams adapter's stream and session keys), so that a client that drops
//! from one instance gets its session back on another.

use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::Value;

use crate::adapter::BroadcastMessage;
use crate::{Payload, Room, SocketId};

/// Where an adapter keeps the recovery record of every instance: the events (each published
/// with the offset the store gives it) and the sessions of dropped sockets. Given by
/// [`Adapter::session_store`](crate::Adapter::session_store); when there is one, a namespace
/// with connection state recovery uses it instead of its own in-memory record.
///
/// ```
/// use futures_util::future::BoxFuture;
/// use gateway_core::{BroadcastMessage, PersistedSession, RestoredSession, SessionStore};
///
/// /// Records nothing: every recovery fails, as with no store.
/// struct Forgetful;
/// impl SessionStore for Forgetful {
///     fn publish_recorded(&self, _: &str, _: &BroadcastMessage<'_>) -> BoxFuture<'static, Option<String>> {
///         Box::pin(async { None })
///     }
///     fn persist(&self, _: &str, _: PersistedSession) {}
///     fn restore(&self, _: &str, _: &str, _: &str) -> BoxFuture<'static, Option<RestoredSession>> {
///         Box::pin(async { None })
///     }
/// }
/// ```
pub trait SessionStore: Send + Sync {
    /// Publishes `message` to the other instances and records it; resolves to its offset
    /// (`None` if it could not be recorded: local delivery then goes on without one). The
    /// local recipients get it once this resolves, in the order the emits were made.
    fn publish_recorded(
        &self,
        namespace: &str,
        message: &BroadcastMessage<'_>,
    ) -> BoxFuture<'static, Option<String>>;

    /// Keeps a dropped socket's session (for `session.keep_for`).
    fn persist(&self, namespace: &str, session: PersistedSession);

    /// Takes session `pid` back with the events recorded for it after `offset`, if both are
    /// still kept.
    fn restore(
        &self,
        namespace: &str,
        pid: &str,
        offset: &str,
    ) -> BoxFuture<'static, Option<RestoredSession>>;
}

/// What a dropped socket leaves in a [`SessionStore`].
///
/// ```
/// use gateway_core::{PersistedSession, Room, SocketId};
/// let sid = SocketId::random();
/// let session = PersistedSession {
///     sid,
///     pid: "p".into(),
///     rooms: vec![Room::from(sid), Room::from("news")],
///     data: serde_json::json!({}),
///     keep_for: std::time::Duration::from_secs(120),
/// };
/// assert_eq!(session.rooms.len(), 2);
/// ```
#[derive(Clone, Debug)]
pub struct PersistedSession {
    /// Its socket id.
    pub sid: SocketId,
    /// Its private id, which the client shows to get it back.
    pub pid: String,
    /// Its rooms, its own-id room included.
    pub rooms: Vec<Room>,
    /// Its [`ClusterData`](crate::ClusterData) (socket.io's `socket.data`), `{}` without one.
    pub data: Value,
    /// How long it is kept (the recovery window).
    pub keep_for: Duration,
}

/// A session taken back from a [`SessionStore`], with the events its socket missed.
///
/// ```
/// use gateway_core::{MissedEvent, Payload, RestoredSession, SocketId};
/// let restored = RestoredSession {
///     sid: SocketId::random(),
///     rooms: vec![],
///     data: serde_json::json!({}),
///     missed: vec![MissedEvent { event: "news".into(), payload: Payload::new() }],
/// };
/// assert_eq!(restored.missed.len(), 1);
/// ```
#[derive(Clone, Debug)]
pub struct RestoredSession {
    /// Its socket id.
    pub sid: SocketId,
    /// Its rooms.
    pub rooms: Vec<Room>,
    /// Its [`ClusterData`](crate::ClusterData).
    pub data: Value,
    /// The events sent to it after the client's offset, oldest first.
    pub missed: Vec<MissedEvent>,
}

/// One event a restored socket missed: its arguments end with the event's offset.
///
/// ```
/// let missed = gateway_core::MissedEvent {
///     event: "news".into(),
///     payload: gateway_core::Payload::new().with_arg("1796646022798-0".into()),
/// };
/// assert_eq!(missed.payload.args().len(), 1);
/// ```
#[derive(Clone, Debug)]
pub struct MissedEvent {
    /// The event name.
    pub event: String,
    /// Its arguments (the offset last) and binary attachments.
    pub payload: Payload,
}
