//! [`Socket`]: one connected client (NestJS `@ConnectedSocket() client`).

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::acks::{AckEmit, AckTable};
use crate::any_listeners::AnyListeners;
use crate::broadcast::BroadcastOperator;
use crate::departures::{Departures, Identity};
use crate::emit_error::EmitError;
use crate::outbox::{OutFrame, Outbox};
use crate::protocol::Wire;
use crate::registry::NamespaceState;
use crate::{Handshake, IntoRooms, Namespace, Payload, Room, SocketData, SocketId};

/// A connected client. Cheap to clone; every clone is the same socket.
///
/// It is a handler argument (NestJS `@ConnectedSocket()`), the argument of the lifecycle hooks,
/// and can be looked up from a [`Namespace`]. Once the client has disconnected, emits fail with
/// [`EmitError::Disconnected`] and room changes are ignored.
#[derive(Clone)]
pub struct Socket(Arc<Inner>);

struct Inner {
    id: SocketId,
    ns: Arc<NamespaceState>,
    outbox: Outbox,
    handshake: Handshake,
    data: Arc<SocketData>,
    wire: Wire,
    acks: Mutex<AckTable>,
    /// The private session id, when connection state recovery is on (Socket.IO only).
    pid: Option<Box<str>>,
    recovered: bool,
    /// Socket.IO: tells the session this socket left its namespace (the connection stays).
    leave: Option<Departures>,
    left: AtomicBool,
    /// Catch-all listeners (`on_any`, `on_any_outgoing`), once one is added. Boxed: every
    /// socket without any pays one word.
    any: OnceLock<Box<AnyListeners>>,
}

impl Socket {
    pub(crate) fn new(
        ns: Arc<NamespaceState>,
        outbox: Outbox,
        handshake: Handshake,
        data: Arc<SocketData>,
        wire: Wire,
        identity: Identity,
    ) -> Self {
        Self(Arc::new(Inner {
            id: identity.id,
            ns,
            outbox,
            handshake,
            data,
            wire,
            acks: Mutex::default(),
            pid: identity.pid,
            recovered: identity.recovered,
            leave: identity.leave,
            left: AtomicBool::new(false),
            any: OnceLock::new(),
        }))
    }

    /// Calls `listener` with the name and the data (JSON text) of every event this socket
    /// receives, before its handler runs, unknown events included (socket.io
    /// `socket.onAny((event, ...args) => …)`). For Socket.IO, the data of an event with several
    /// arguments is their array. A listener that panics is logged; the others still run.
    ///
    /// ```
    /// # fn demo(client: gateway_core::Socket) {
    /// let id = client.id();
    /// client.on_any(move |event, data| tracing::info!(%id, event, data, "received"));
    /// # }
    /// ```
    pub fn on_any(&self, listener: impl Fn(&str, &str) + Send + Sync + 'static) {
        self.0
            .any
            .get_or_init(Default::default)
            .add_incoming(Arc::new(listener));
    }

    /// Calls `listener` with the name and the data (JSON text) of every event sent to this
    /// socket: its own emits and the broadcasts that reach it, once queued (socket.io
    /// `socket.onAnyOutgoing`). Replies and acks are not events and are not seen.
    ///
    /// ```
    /// # fn demo(client: gateway_core::Socket) {
    /// client.on_any_outgoing(|event, data| tracing::debug!(event, data, "sent"));
    /// # }
    /// ```
    pub fn on_any_outgoing(&self, listener: impl Fn(&str, &str) + Send + Sync + 'static) {
        self.0
            .any
            .get_or_init(Default::default)
            .add_outgoing(Arc::new(listener));
    }

    /// Tells the `on_any` listeners, if any, about a received event.
    pub(crate) fn notify_received(&self, event: &str, data: &str) {
        if let Some(any) = self.0.any.get() {
            any.received(event, data);
        }
    }

    /// Tells the `on_any_outgoing` listeners, if any, about an event queued to this socket;
    /// `data` is made only when there are some.
    pub(crate) fn notify_sent<'a>(&self, event: &str, data: impl FnOnce() -> Cow<'a, str>) {
        if let Some(any) = self.0.any.get() {
            any.sent(event, &data());
        }
    }

    /// Counts and announces `event`, queued to this socket by one of its own emits.
    pub(crate) fn sent<'a>(&self, event: &str, data: impl FnOnce() -> Cow<'a, str>) {
        self.0.ns.count_sent(event, 1);
        self.notify_sent(event, data);
    }

    /// Whether this socket is a session restored by connection state recovery: same id, rooms
    /// and data as before the client dropped (socket.io `socket.recovered`).
    ///
    /// ```
    /// # fn demo(client: gateway_core::Socket) {
    /// if !client.recovered() {
    ///     client.join("lobby"); // first visit: set up from scratch
    /// }
    /// # }
    /// ```
    pub fn recovered(&self) -> bool {
        self.0.recovered
    }

    pub(crate) fn pid(&self) -> Option<&str> {
        self.0.pid.as_deref()
    }

    /// This socket's id; it is also the name of a room holding only this socket.
    ///
    /// ```
    /// # fn demo(client: gateway_core::Socket) {
    /// assert!(client.rooms().contains(&client.id().into()));
    /// # }
    /// ```
    pub fn id(&self) -> SocketId {
        self.0.id
    }

    /// The namespace (gateway) this socket is connected to: NestJS's `@WebSocketServer()`.
    ///
    /// ```
    /// # fn demo(client: gateway_core::Socket) {
    /// client.namespace().to("room:lobby").emit("userJoined", &client.id().to_string()).ok();
    /// # }
    /// ```
    pub fn namespace(&self) -> Namespace {
        Namespace::from_inner(self.0.ns.clone())
    }

    /// The upgrade request this socket connected with.
    ///
    /// ```
    /// # fn demo(client: gateway_core::Socket) {
    /// let token = client.handshake().query("token");
    /// # }
    /// ```
    pub fn handshake(&self) -> &Handshake {
        &self.0.handshake
    }

    /// This socket's own typed data store (NestJS `client.data`), dropped on disconnect.
    ///
    /// ```
    /// # fn demo(client: gateway_core::Socket) {
    /// #[derive(Clone)]
    /// struct User { sub: String }
    /// client.data().insert(User { sub: "42".into() });
    /// assert_eq!(client.data().get::<User>().map(|u| u.sub), Some("42".into()));
    /// # }
    /// ```
    pub fn data(&self) -> &SocketData {
        &self.0.data
    }

    /// Joins one room or several (NestJS `client.join`).
    ///
    /// ```
    /// # fn demo(client: gateway_core::Socket) {
    /// client.join("room:lobby");
    /// client.join(["user:42", "admins"]);
    /// # }
    /// ```
    pub fn join(&self, rooms: impl IntoRooms) {
        self.0.ns.join(self, rooms.into_rooms());
    }

    /// Leaves one room or several (NestJS `client.leave`).
    ///
    /// ```
    /// # fn demo(client: gateway_core::Socket) {
    /// client.leave("room:lobby");
    /// # }
    /// ```
    pub fn leave(&self, rooms: impl IntoRooms) {
        self.0.ns.leave(self.0.id, &rooms.into_rooms());
    }

    /// The rooms this socket is in, including the room named by its own id.
    ///
    /// ```
    /// # fn demo(client: gateway_core::Socket) {
    /// for room in client.rooms() {
    ///     println!("{room}");
    /// }
    /// # }
    /// ```
    pub fn rooms(&self) -> Vec<Room> {
        self.0.ns.rooms_of(self.0.id)
    }

    /// Sends `event` with `data` to this socket only, as `{"event": event, "data": data}`.
    ///
    /// ```
    /// # fn demo(client: gateway_core::Socket) {
    /// client.emit("error", &serde_json::json!({"message": "Authentication failed"})).ok();
    /// # }
    /// ```
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        let data = serde_json::to_string(data)?;
        self.emit_json(event, &data)
    }

    /// Sends `event` with `data` to this socket only if nothing sent before is still waiting
    /// in its send queue (socket.io `socket.volatile.emit`); otherwise it is dropped with
    /// [`EmitError::Dropped`] and the socket stays connected. A volatile event is not stored
    /// for connection state recovery.
    ///
    /// ```
    /// # fn demo(client: gateway_core::Socket) {
    /// client.emit_volatile("position", &[12, 40]).ok(); // the next one replaces it anyway
    /// # }
    /// ```
    pub fn emit_volatile<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<(), EmitError> {
        let data = serde_json::to_string(data)?;
        let frame = self.0.wire.event_frame(event, &data, None);
        self.push_volatile(OutFrame::Text(Utf8Bytes::from(frame)))?;
        self.sent(event, || Cow::Owned(data));
        Ok(())
    }

    /// Sends `event` with `data` (already JSON) to this socket only.
    pub(crate) fn emit_json(&self, event: &str, data: &str) -> Result<(), EmitError> {
        if self.records_events() {
            return self.own_room_outcome(self.own_room().emit_json(event, data));
        }
        let frame = self.0.wire.event_frame(event, data, None);
        self.push(Utf8Bytes::from(frame))?;
        self.sent(event, || Cow::Borrowed(data));
        Ok(())
    }

    /// Whether emits to this socket go through the namespace's recovery record (Socket.IO with
    /// connection state recovery on), as socket.io routes them through its adapter then.
    fn records_events(&self) -> bool {
        self.0.wire.is_socketio() && self.0.ns.recovery().is_some()
    }

    /// What an emit to this socket's own room came to: it reached the socket, or the socket is
    /// gone (or was disconnected for its full queue), or its gateway dropped it (full queue).
    fn own_room_outcome(&self, reached: usize) -> Result<(), EmitError> {
        match reached {
            0 if self.is_connected() => Err(EmitError::Dropped),
            0 => Err(EmitError::Disconnected),
            _ => Ok(()),
        }
    }

    /// A broadcast to the room holding only this socket.
    fn own_room(&self) -> BroadcastOperator {
        let own = BroadcastOperator::new(self.0.ns.clone()).to(self.0.id);
        // A Socket.IO socket's events are recorded in the adapter's shared store too, as
        // socket.io publishes them then.
        if self.0.wire.is_socketio() && self.0.ns.session_store().is_some() {
            own
        } else {
            own.local()
        }
    }

    /// Sends `event` with the arguments and binary attachments of `payload` to this socket only.
    ///
    /// ```
    /// # fn demo(client: gateway_core::Socket) {
    /// use gateway_core::Payload;
    /// client.emit_payload("file", &Payload::new().with_arg("a.bin".into()).with_binary(vec![1u8, 2])).ok();
    /// # }
    /// ```
    pub fn emit_payload(&self, event: &str, payload: &Payload) -> Result<(), EmitError> {
        if self.records_events() {
            return self.own_room_outcome(self.own_room().emit_payload(event, payload));
        }
        self.push_frame(self.0.wire.payload_event_frame(payload, event, None, None))?;
        self.sent(event, || Cow::Owned(payload.args_json()));
        Ok(())
    }

    pub(crate) fn acks(&self) -> std::sync::MutexGuard<'_, AckTable> {
        self.0.acks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Emits to this socket only, compressed or not: socket.io's `socket.compress(false).emit(..)`
    /// (see [`BroadcastOperator::compress`]). As a broadcast to the socket's own room on this
    /// instance, its `emit` returns how many sockets it reached: 1, or 0 once it is gone.
    ///
    /// ```
    /// # fn demo(client: gateway_core::Socket) {
    /// client.compress(false).emit("thumbnail", &"iVBORw0KGgo...").ok();
    /// # }
    /// ```
    pub fn compress(&self, compress: bool) -> BroadcastOperator {
        self.own_room().compress(compress)
    }

    /// Emits with an ack from here on, waiting up to `timeout` for the client's answer
    /// (socket.io `socket.timeout(t).emitWithAck(…)`; see [`AckEmit`](crate::AckEmit)).
    ///
    /// ```
    /// # async fn demo(client: gateway_core::Socket) -> Result<(), gateway_core::AckError> {
    /// let answer: String = client.timeout(std::time::Duration::from_secs(5)).emit_with_ack("question", &"ready?").await?;
    /// # Ok(()) }
    /// ```
    pub fn timeout(&self, timeout: Duration) -> AckEmit<'_> {
        AckEmit::new(self, timeout)
    }

    /// Broadcasts to `rooms`, leaving this socket out (NestJS `client.to(room).emit`).
    ///
    /// ```
    /// # fn demo(client: gateway_core::Socket) {
    /// client.to("room:lobby").emit("newMessage", "hi").ok();
    /// # }
    /// ```
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.broadcast().to(rooms)
    }

    /// Broadcasts to every socket except those in `rooms` and this one.
    ///
    /// ```
    /// # fn demo(client: gateway_core::Socket) {
    /// client.except("muted").emit("announcement", "hi").ok();
    /// # }
    /// ```
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.broadcast().except(rooms)
    }

    /// Broadcasts to every socket of the namespace except this one (socket.io `socket.broadcast`).
    ///
    /// ```
    /// # fn demo(client: gateway_core::Socket) {
    /// client.broadcast().emit("userOnline", &client.id().to_string()).ok();
    /// # }
    /// ```
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.0.ns.clone()).except_socket(self.0.id)
    }

    /// Disconnects the socket after what is already queued to it has been sent.
    ///
    /// A JSON-format socket's connection closes (close code 1000). A Socket.IO socket leaves its
    /// namespace (the client sees "io server disconnect"); the Engine.IO connection and the
    /// client's other namespaces on it stay, as with socket.io's `socket.disconnect()`.
    ///
    /// Anything sent after this (including the reply of the handler that called it) is dropped.
    ///
    /// ```
    /// # fn demo(client: gateway_core::Socket) {
    /// client.emit("error", &serde_json::json!({"message": "Authentication failed"})).ok();
    /// client.disconnect();
    /// assert!(!client.is_connected());
    /// # }
    /// ```
    pub fn disconnect(&self) {
        match (self.0.wire.disconnect_frame(), &self.0.leave) {
            (Some(frame), Some(leave)) => {
                let _ = self.push(Utf8Bytes::from(frame));
                if !self.0.left.swap(true, Ordering::AcqRel) {
                    leave.push(self.0.id);
                }
            }
            _ => self
                .0
                .outbox
                .close(crate::DisconnectReason::ServerDisconnect),
        }
    }

    /// Whether the socket is still open (no close started from either side).
    ///
    /// ```
    /// # fn demo(client: gateway_core::Socket) {
    /// if client.is_connected() {
    ///     client.emit("tick", &1).ok();
    /// }
    /// # }
    /// ```
    pub fn is_connected(&self) -> bool {
        !self.0.outbox.is_closing() && !self.0.left.load(Ordering::Acquire)
    }

    pub(crate) fn outbox(&self) -> &Outbox {
        &self.0.outbox
    }

    pub(crate) fn wire(&self) -> &Wire {
        &self.0.wire
    }

    pub(crate) fn ns(&self) -> &Arc<NamespaceState> {
        &self.0.ns
    }

    pub(crate) fn push(&self, frame: Utf8Bytes) -> Result<(), EmitError> {
        self.push_frame(OutFrame::Text(frame))
    }

    /// Queues `frame`; a full queue does what the gateway says ([`FullQueue`](crate::FullQueue)).
    pub(crate) fn push_frame(&self, frame: OutFrame) -> Result<(), EmitError> {
        if self.0.left.load(Ordering::Acquire) {
            return Err(EmitError::Disconnected);
        }
        let when_full = self.0.ns.options().full_queue();
        let Some(metrics) = self.0.ns.metrics() else {
            return Ok(self.0.outbox.push_when_full(frame, when_full)?);
        };
        let len = frame.queued_len();
        let pushed = self.0.outbox.push_when_full(frame, when_full);
        metrics.pushed(&pushed, len);
        Ok(pushed?)
    }

    /// Queues `frame` only if the queue is empty.
    pub(crate) fn push_volatile(&self, frame: OutFrame) -> Result<(), EmitError> {
        if self.0.left.load(Ordering::Acquire) {
            return Err(EmitError::Disconnected);
        }
        let Some(metrics) = self.0.ns.metrics() else {
            return Ok(self.0.outbox.push_volatile(frame)?);
        };
        let len = frame.queued_len();
        let pushed = self.0.outbox.push_volatile(frame);
        metrics.pushed(&pushed, len);
        Ok(pushed?)
    }
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.0.id)
            .field("namespace", &self.0.ns.name())
            .finish()
    }
}
