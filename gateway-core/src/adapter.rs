//! The [`Adapter`] contract: how broadcasts and cluster-wide operations reach other instances.
//!
//! Every instance delivers to its own sockets itself; the adapter only carries what other
//! instances must do. [`LocalAdapter`] (the default) carries nothing: one process is the whole
//! cluster. `gateway-redis` implements the contract over Redis pub/sub.

use std::fmt;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::Value;

use crate::recipients::Recipients;
use crate::{Namespace, Payload, Room, Socket, SocketId};

/// The arguments of a broadcast event, as the emitter gave them.
///
/// ```
/// use gateway_core::EventData;
/// let data = EventData::Json(r#"{"text":"hi"}"#);
/// assert!(matches!(data, EventData::Json(_)));
/// ```
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum EventData<'a> {
    /// One argument, already serialized to JSON text.
    Json(&'a str),
    /// Several arguments and binary attachments.
    Payload(&'a Payload),
}

/// A broadcast for the other instances: deliver `event` to their sockets among `recipients`.
///
/// ```
/// use gateway_core::{BroadcastMessage, EventData, Recipients};
/// let everyone = Recipients::default();
/// let message = BroadcastMessage {
///     recipients: &everyone,
///     event: "news",
///     data: EventData::Json("1"),
///     volatile: false,
/// };
/// assert_eq!(message.event, "news");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct BroadcastMessage<'a> {
    /// Who receives it.
    pub recipients: &'a Recipients,
    /// The event name.
    pub event: &'a str,
    /// The event's arguments.
    pub data: EventData<'a>,
    /// A volatile broadcast (socket.io's `volatile`): dropped for a client whose send queue is
    /// not empty.
    pub volatile: bool,
}

/// The acks other instances collected for a broadcast with acks.
///
/// ```
/// let acks = gateway_core::RemoteAcks::default();
/// assert_eq!(acks.answers.len() + acks.missing, 0);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RemoteAcks {
    /// Each remote client's ack (its first argument).
    pub answers: Vec<Value>,
    /// Acks that did not arrive in time: unanswered clients of the instances that reported
    /// their count, plus one for each instance that did not report at all.
    pub missing: usize,
}

/// A socket of the cluster, as [`BroadcastOperator::fetch_sockets`](crate::BroadcastOperator::fetch_sockets)
/// returns it (socket.io's `RemoteSocket` data).
///
/// ```
/// # async fn demo(server: gateway_core::Namespace) -> Result<(), gateway_core::AdapterError> {
/// for socket in server.to("room:lobby").fetch_sockets().await? {
///     server.to(socket.id).emit("hello", &socket.rooms.len()).ok(); // reaches it on any instance
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SocketInfo {
    /// The socket's id.
    pub id: SocketId,
    /// Its rooms, its own-id room included.
    pub rooms: Vec<Room>,
    /// Its handshake, in socket.io's shape (`headers`, `time`, `address`, `xdomain`, `secure`,
    /// `issued`, `url`, `query`, `auth`).
    pub handshake: Value,
    /// Its `socket.data` (socket.io): for a gateway-core socket, the [`ClusterData`] in its
    /// [`data`](crate::Socket::data), or `{}`.
    pub data: Value,
}

/// The part of a socket's data other instances see in
/// [`fetch_sockets`](crate::BroadcastOperator::fetch_sockets): socket.io's `socket.data`, as
/// JSON. A socket's other [`data`](crate::Socket::data) is typed and stays on its instance.
///
/// ```
/// # fn demo(client: gateway_core::Socket) {
/// use gateway_core::ClusterData;
/// client.data().insert(ClusterData(serde_json::json!({"user": "alice"})));
/// assert_eq!(gateway_core::SocketInfo::of(&client).data["user"], "alice");
/// # }
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClusterData(pub Value);

impl SocketInfo {
    /// The data of a socket of this instance, as other instances receive it.
    ///
    /// ```
    /// # fn demo(socket: gateway_core::Socket) {
    /// let info = gateway_core::SocketInfo::of(&socket);
    /// assert_eq!(info.id, socket.id());
    /// # }
    /// ```
    pub fn of(socket: &Socket) -> Self {
        Self {
            id: socket.id(),
            rooms: socket.rooms(),
            handshake: socket.handshake().to_socketio_json(),
            data: socket
                .data()
                .get::<ClusterData>()
                .map_or_else(|| Value::Object(Default::default()), |data| data.0),
        }
    }
}

/// A cluster-wide operation failed: the other instances could not be reached, or did not all
/// answer in time.
///
/// ```
/// let err = gateway_core::AdapterError::timeout("fetch sockets: 1 of 2 instances answered");
/// assert!(err.is_timeout());
/// assert!(!err.is_unavailable());
/// ```
#[derive(Debug, Clone)]
pub struct AdapterError {
    kind: ErrorKind,
    message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ErrorKind {
    Unavailable,
    Timeout,
    Invalid,
}

impl AdapterError {
    /// The backend (e.g. Redis) cannot be reached.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    /// Not every instance answered within the timeout.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Timeout, message)
    }

    /// Data could not be encoded or an answer decoded.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }

    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// Whether the backend could not be reached.
    pub fn is_unavailable(&self) -> bool {
        self.kind == ErrorKind::Unavailable
    }

    /// Whether some instance did not answer in time.
    pub fn is_timeout(&self) -> bool {
        self.kind == ErrorKind::Timeout
    }

    /// Whether data could not be encoded or decoded.
    pub fn is_invalid(&self) -> bool {
        self.kind == ErrorKind::Invalid
    }
}

impl fmt::Display for AdapterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            ErrorKind::Unavailable => "adapter unavailable",
            ErrorKind::Timeout => "adapter timeout",
            ErrorKind::Invalid => "adapter data invalid",
        };
        write!(f, "{kind}: {}", self.message)
    }
}

impl std::error::Error for AdapterError {}

/// Carries broadcasts and cluster-wide operations to the other instances of an app.
///
/// The app calls [`start`](Self::start) once when it starts listening (with its namespaces, so
/// the adapter can act on them for the other instances, through [`Namespace::local`]) and
/// [`close`](Self::close) on shutdown. Every other method concerns the *other* instances only:
/// the caller has already done the local part. Fire-and-forget methods must not block.
///
/// Every method has a default that does nothing, which is [`LocalAdapter`]: one instance.
///
/// ```
/// use gateway_core::{Adapter, BroadcastMessage, GatewayApp};
///
/// /// Logs what would go to other instances.
/// struct Logging;
/// impl Adapter for Logging {
///     fn broadcast(&self, namespace: &str, message: &BroadcastMessage<'_>) {
///         println!("{namespace}: {} to {:?}", message.event, message.recipients);
///     }
/// }
/// let app = GatewayApp::builder().with_adapter(Logging).build().unwrap();
/// ```
pub trait Adapter: Send + Sync + 'static {
    /// Connects to the other instances on behalf of `namespaces`. An error stops the app from
    /// listening.
    fn start(&self, namespaces: Vec<Namespace>) -> BoxFuture<'_, Result<(), AdapterError>> {
        drop(namespaces);
        Box::pin(async { Ok(()) })
    }

    /// A dynamic gateway created concrete namespace `namespace` on this instance (its first
    /// client is connecting): start hearing the other instances on its behalf, as
    /// [`start`](Self::start) does for the app's fixed namespaces. The client's CONNECT is
    /// answered once this is done. The default does nothing.
    ///
    /// ```
    /// use futures_util::future::BoxFuture;
    /// use gateway_core::{Adapter, Namespace};
    /// struct Logging;
    /// impl Adapter for Logging {
    ///     fn namespace_created(&self, namespace: Namespace) -> BoxFuture<'_, ()> {
    ///         println!("now serving {}", namespace.name());
    ///         Box::pin(async {})
    ///     }
    /// }
    /// ```
    fn namespace_created(&self, namespace: Namespace) -> BoxFuture<'_, ()> {
        drop(namespace);
        Box::pin(async {})
    }

    /// A dynamic gateway dropped concrete namespace `namespace` (its last socket left): stop
    /// hearing the other instances on its behalf, and let go of its [`Namespace`]. The default
    /// does nothing.
    ///
    /// ```
    /// use gateway_core::Adapter;
    /// struct Logging;
    /// impl Adapter for Logging {
    ///     fn namespace_dropped(&self, namespace: &str) {
    ///         println!("no longer serving {namespace}");
    ///     }
    /// }
    /// ```
    fn namespace_dropped(&self, namespace: &str) {
        let _ = namespace;
    }

    /// The first socket of this instance joined `room` of `namespace` (`own`: the room is that
    /// socket's own-id room, created when it connects). An adapter that subscribes per room
    /// (socket.io's sharded Redis adapter) starts hearing it here. Called in order with
    /// [`room_deleted`](Self::room_deleted) for the same room, under the namespace's lock:
    /// it must not block nor call into the namespace. The default does nothing.
    ///
    /// ```
    /// use gateway_core::{Adapter, Room};
    /// struct Logging;
    /// impl Adapter for Logging {
    ///     fn room_created(&self, namespace: &str, room: &Room, own: bool) {
    ///         println!("{namespace}: {room} has members here (own room: {own})");
    ///     }
    /// }
    /// ```
    fn room_created(&self, namespace: &str, room: &Room, own: bool) {
        let _ = (namespace, room, own);
    }

    /// The last socket of this instance left `room` of `namespace` (`own` as in
    /// [`room_created`](Self::room_created)), under the same rules. The default does nothing.
    ///
    /// ```
    /// use gateway_core::{Adapter, Room};
    /// struct Logging;
    /// impl Adapter for Logging {
    ///     fn room_deleted(&self, namespace: &str, room: &Room, own: bool) {
    ///         println!("{namespace}: {room} has no members here any more");
    ///     }
    /// }
    /// ```
    fn room_deleted(&self, namespace: &str, room: &Room, own: bool) {
        let _ = (namespace, room, own);
    }

    /// The store that keeps connection state recovery across instances, if this adapter has
    /// one (the Redis Streams adapter). The default has none: each instance keeps its own
    /// record, and a client recovers only on the instance it left.
    ///
    /// ```
    /// use gateway_core::{Adapter, LocalAdapter};
    /// assert!(LocalAdapter.session_store().is_none());
    /// ```
    fn session_store(&self) -> Option<&dyn crate::SessionStore> {
        None
    }

    /// Disconnects; the app is shutting down.
    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    /// Delivers `message` to the recipients on the other instances.
    fn broadcast(&self, namespace: &str, message: &BroadcastMessage<'_>) {
        let _ = (namespace, message);
    }

    /// Delivers `message` to the recipients on the other instances and collects their acks
    /// for up to `timeout`.
    fn broadcast_with_ack(
        &self,
        namespace: &str,
        message: &BroadcastMessage<'_>,
        timeout: Duration,
    ) -> BoxFuture<'static, RemoteAcks> {
        let _ = (namespace, message, timeout);
        Box::pin(async { RemoteAcks::default() })
    }

    /// The sockets among `recipients` on the other instances.
    fn fetch_sockets(
        &self,
        namespace: &str,
        recipients: &Recipients,
    ) -> BoxFuture<'static, Result<Vec<SocketInfo>, AdapterError>> {
        let _ = (namespace, recipients);
        Box::pin(async { Ok(Vec::new()) })
    }

    /// Makes the sockets among `recipients` on the other instances join `rooms`.
    fn add_sockets(&self, namespace: &str, recipients: &Recipients, rooms: &[Room]) {
        let _ = (namespace, recipients, rooms);
    }

    /// Makes the sockets among `recipients` on the other instances leave `rooms`.
    fn del_sockets(&self, namespace: &str, recipients: &Recipients, rooms: &[Room]) {
        let _ = (namespace, recipients, rooms);
    }

    /// Disconnects the sockets among `recipients` on the other instances.
    fn disconnect_sockets(&self, namespace: &str, recipients: &Recipients) {
        let _ = (namespace, recipients);
    }

    /// Sends `event` with `args` to the other instances' server-side handlers
    /// ([`Namespace::on_server_event`]).
    fn server_side_emit(&self, namespace: &str, event: &str, args: &[Value]) {
        let _ = (namespace, event, args);
    }

    /// As [`server_side_emit`](Self::server_side_emit), then waits up to `timeout` for every
    /// other instance's answer.
    fn server_side_emit_with_ack(
        &self,
        namespace: &str,
        event: &str,
        args: &[Value],
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Vec<Value>, AdapterError>> {
        let _ = (namespace, event, args, timeout);
        Box::pin(async { Ok(Vec::new()) })
    }

    /// How many instances serve `namespace`, this one included.
    fn server_count(&self, namespace: &str) -> BoxFuture<'static, Result<usize, AdapterError>> {
        let _ = namespace;
        Box::pin(async { Ok(1) })
    }
}

/// The default adapter: this process is the whole cluster, nothing goes anywhere else.
///
/// ```
/// let app = gateway_core::GatewayApp::builder()
///     .with_adapter(gateway_core::LocalAdapter)
///     .build()
///     .unwrap();
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct LocalAdapter;

impl Adapter for LocalAdapter {}
