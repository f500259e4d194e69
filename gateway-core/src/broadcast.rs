//! [`BroadcastOperator`]: emit to rooms, except rooms or sockets, serialized once.

use std::borrow::Cow;
use std::sync::Arc;

use serde::Serialize;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::adapter::{Adapter, AdapterError, BroadcastMessage, EventData, SocketInfo};
use crate::outbox::OutFrame;
use crate::protocol::Wire;
use crate::recipients::Recipients;
use crate::registry::NamespaceState;
use crate::{EmitError, IntoRooms, Payload, Room, Socket, SocketId};

/// Who a broadcast goes to: built with [`Namespace::to`](crate::Namespace::to),
/// [`Socket::to`](crate::Socket::to) and friends, then sent with [`emit`](Self::emit).
///
/// With no `to` the broadcast reaches the whole namespace. Several `to` rooms reach every socket
/// in any of them once. `except` removes the members of those rooms.
///
/// The event is serialized once and the same bytes are queued to every recipient; queuing never
/// waits for a slow client.
#[derive(Clone, Debug)]
#[must_use = "a broadcast operator does nothing until `emit` is called"]
pub struct BroadcastOperator {
    ns: Arc<NamespaceState>,
    target: Recipients,
    /// Only this instance's sockets (socket.io `io.local`).
    local: bool,
    /// Dropped for a client whose queue is not empty (socket.io `volatile`).
    volatile: bool,
    /// May be compressed (socket.io `compress`, true unless told otherwise).
    compress: bool,
}

impl BroadcastOperator {
    pub(crate) fn new(ns: Arc<NamespaceState>) -> Self {
        Self {
            ns,
            target: Recipients::default(),
            local: false,
            volatile: false,
            compress: true,
        }
    }

    /// Make the emit volatile, as socket.io's `volatile`: a client whose send queue is not
    /// empty (it has not taken what was sent before) does not get it, and stays connected. For
    /// data that the next emit replaces (positions, prices). A volatile event is not stored for
    /// connection state recovery. socket.io asks whether the transport is writable; ours asks
    /// the send queue, so a frame already taken by a write that is still blocked does not count:
    /// a stalled client gets one more volatile frame queued than under socket.io. Emits with
    /// acks ([`timeout`](Self::timeout)`.emit_with_ack`) are never volatile.
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// server.to("viewers").volatile().emit("position", &[12, 40]).ok();
    /// # }
    /// ```
    pub fn volatile(mut self) -> Self {
        self.volatile = true;
        self
    }

    /// Whether the event may be compressed (socket.io's `compress`; default true). Compression
    /// happens only on connections that agreed to permessage-deflate (see
    /// [`with_per_message_deflate`](crate::GatewayAppBuilder::with_per_message_deflate)), for
    /// messages over the threshold; `compress(false)` sends them as they are, for data that is
    /// already compressed (images, archives) or too random to gain. Applies to this instance's
    /// sockets: the adapter does not carry it to the others.
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// use gateway_core::Payload;
    /// let jpeg = vec![0xffu8, 0xd8, 0xff];
    /// server.to("viewers").compress(false).emit_payload("frame", &Payload::new().with_binary(jpeg));
    /// # }
    /// ```
    pub fn compress(mut self, compress: bool) -> Self {
        self.compress = compress;
        self
    }

    /// This emit's frame, marked for the writer when it must not be compressed.
    pub(crate) fn flagged(&self, frame: OutFrame) -> OutFrame {
        if self.compress {
            frame
        } else {
            frame.uncompressed()
        }
    }

    /// Reach only the sockets of this instance, not those of the other instances behind the
    /// adapter (socket.io `io.local`).
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// server.local().to("room:lobby").emit("localNews", "hi").ok();
    /// # }
    /// ```
    pub fn local(mut self) -> Self {
        self.local = true;
        self
    }

    /// Also reach the members of `rooms`.
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// server.to("room:a").to("room:b").emit("news", "hi").ok(); // each member once
    /// # }
    /// ```
    pub fn to(mut self, rooms: impl IntoRooms) -> Self {
        self.target.rooms.extend(rooms.into_rooms());
        self
    }

    /// Leave out the members of `rooms`.
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// server.to("room:a").except("muted").emit("news", "hi").ok();
    /// # }
    /// ```
    pub fn except(mut self, rooms: impl IntoRooms) -> Self {
        self.target.except.extend(rooms.into_rooms());
        self
    }

    pub(crate) fn except_socket(mut self, id: SocketId) -> Self {
        // A socket is the only member of its own room.
        self.target.except.push(Room::from(id));
        self
    }

    /// Sends `event` with `data` to every recipient; returns how many sockets of this instance
    /// it was queued to (the adapter carries it to the other instances).
    ///
    /// Fails only if `data` cannot be serialized. Recipients whose queue is full are disconnected
    /// (see the crate docs on slow consumers).
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// let reached = server.to("room:lobby").emit("newMessage", &serde_json::json!({"text": "hi"})).unwrap_or(0);
    /// # }
    /// ```
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<usize, EmitError> {
        let data = serde_json::to_string(data)?;
        Ok(self.emit_json(event, &data))
    }

    /// Sends `event` with `data` (already JSON) to every recipient.
    pub(crate) fn emit_json(&self, event: &str, data: &str) -> usize {
        if let Some(offset) = self.publish_recorded(event, EventData::Json(data)) {
            let sent = self.deliver_to(
                Some(false),
                |wire| OutFrame::Text(Utf8Bytes::from(wire.event_frame(event, data, None))),
                |socket| socket.notify_sent(event, || Cow::Borrowed(data)),
            );
            self.ns.count_sent(event, sent);
            let (event, data) = (event.to_owned(), data.to_owned());
            return sent
                + self.deliver_recorded(offset, move |op, offset| {
                    let sent = op.deliver_to(
                        Some(true),
                        |wire| {
                            OutFrame::Text(Utf8Bytes::from(wire.event_frame(&event, &data, offset)))
                        },
                        |socket| socket.notify_sent(&event, || Cow::Borrowed(&data)),
                    );
                    op.ns.count_sent(&event, sent);
                });
        }
        self.send_remote(event, EventData::Json(data));
        let sent = self.emit_frames(
            |wire, offset| OutFrame::Text(Utf8Bytes::from(wire.event_frame(event, data, offset))),
            |socket| socket.notify_sent(event, || Cow::Borrowed(data)),
        );
        self.ns.count_sent(event, sent);
        sent
    }

    /// With the adapter's [`SessionStore`](crate::SessionStore) (recovery across instances),
    /// publishes the event there and returns its offset to come; `None` when this emit goes
    /// the usual way (no store, a volatile or local emit).
    fn publish_recorded(
        &self,
        event: &str,
        data: EventData<'_>,
    ) -> Option<futures_util::future::BoxFuture<'static, Option<String>>> {
        if self.volatile || self.local {
            return None;
        }
        let store = self.ns.session_store()?;
        let message = BroadcastMessage {
            recipients: &self.target,
            event,
            data,
            volatile: false,
        };
        Some(store.publish_recorded(self.ns.name(), &message))
    }

    /// Has `deliver` run once the offset is known, after this namespace's earlier recorded
    /// emits; returns how many Socket.IO recipients there are now. (JSON-format clients have
    /// no offsets and get the event at once.)
    fn deliver_recorded(
        &self,
        offset: futures_util::future::BoxFuture<'static, Option<String>>,
        deliver: impl FnOnce(&Self, Option<&str>) + Send + 'static,
    ) -> usize {
        let mut recipients = 0;
        self.ns.for_each_recipient(&self.target, |socket| {
            recipients += usize::from(socket.wire().is_socketio());
        });
        let op = self.clone();
        self.ns.deliver_recorded(
            offset,
            Box::new(move |offset| {
                // Socket.IO clients get the offset as the event's last argument.
                deliver(&op, offset);
            }),
        );
        recipients
    }

    /// Delivers to this instance's recipients an event another instance recorded at `offset`
    /// in the adapter's [`SessionStore`](crate::SessionStore): with connection state recovery
    /// on, Socket.IO clients get the offset as the event's last argument. For adapters; it
    /// does not go to other instances.
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// use gateway_core::Payload;
    /// let payload = Payload::new().with_arg(serde_json::json!("hello"));
    /// server.local().emit_payload_recorded("news", &payload, "1796646022798-0");
    /// # }
    /// ```
    pub fn emit_payload_recorded(&self, event: &str, payload: &Payload, offset: &str) -> usize {
        let offset = (self.ns.recovery().is_some() && !self.volatile).then_some(offset);
        let sent = self.deliver(
            |wire| wire.payload_event_frame(payload, event, None, offset),
            |socket| socket.notify_sent(event, || Cow::Owned(payload.args_json())),
        );
        self.ns.count_sent(event, sent);
        sent
    }

    /// Hands the broadcast to the adapter for the other instances (unless it is local).
    fn send_remote(&self, event: &str, data: EventData<'_>) {
        if let Some(adapter) = self.remote() {
            let message = BroadcastMessage {
                recipients: &self.recipients(),
                event,
                data,
                volatile: self.volatile,
            };
            adapter.broadcast(self.ns.name(), &message);
        }
    }

    /// Queues `frame(wire, offset)` to every recipient, built once per wire format on first use.
    /// Under connection state recovery the Socket.IO frame carries an offset and is recorded
    /// (then it is built up front, recipients or not).
    /// `queued` is called with each socket the frame was queued to.
    fn emit_frames(
        &self,
        frame: impl Fn(&Wire, Option<&str>) -> OutFrame,
        queued: impl Fn(&Socket),
    ) -> usize {
        // socket.io does not store volatile events for recovery either. With a shared store,
        // what is not recorded there (a local emit) has no offset a client could come back
        // with.
        let recorded_here = !self.volatile && self.ns.session_store().is_none();
        let Some(recovery) = self.ns.recovery().filter(|_| recorded_here) else {
            return self.deliver(|wire| frame(wire, None), queued);
        };
        let socketio = Wire::socketio(self.ns.name());
        recovery.emit(
            &self.target,
            |offset| frame(&socketio, Some(offset)),
            |recorded| {
                self.deliver(
                    |wire| {
                        if wire.is_socketio() {
                            recorded.clone()
                        } else {
                            frame(wire, None)
                        }
                    },
                    &queued,
                )
            },
        )
    }

    /// Queues one frame per wire format, each built once on first use, to every recipient.
    fn deliver(&self, frame: impl Fn(&Wire) -> OutFrame, queued: impl Fn(&Socket)) -> usize {
        self.deliver_to(None, frame, queued)
    }

    /// [`deliver`](Self::deliver) to the recipients of one wire format only (`Some(true)`:
    /// Socket.IO; `Some(false)`: the JSON format).
    fn deliver_to(
        &self,
        socketio: Option<bool>,
        frame: impl Fn(&Wire) -> OutFrame,
        queued: impl Fn(&Socket),
    ) -> usize {
        let (mut as_json, mut as_socketio) = (None, None);
        let mut sent = 0;
        self.ns.for_each_recipient(&self.target, |socket| {
            if socketio.is_some_and(|s| s != socket.wire().is_socketio()) {
                return;
            }
            let slot = if socket.wire().is_socketio() {
                &mut as_socketio
            } else {
                &mut as_json
            };
            let frame = slot.get_or_insert_with(|| self.flagged(frame(socket.wire())));
            let pushed = if self.volatile {
                socket.push_volatile(frame.clone())
            } else {
                socket.push_frame(frame.clone())
            };
            if pushed.is_ok() {
                queued(socket);
                sent += 1;
            }
        });
        sent
    }

    /// Sends `event` with the arguments and binary attachments of `payload` to every recipient
    /// (see [`Payload`](crate::Payload)); returns how many it was queued to. Encoded once per
    /// wire format.
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// use gateway_core::Payload;
    /// server.to("viewers").emit_payload("frame", &Payload::new().with_binary(vec![0u8; 64]));
    /// # }
    /// ```
    pub fn emit_payload(&self, event: &str, payload: &Payload) -> usize {
        if let Some(offset) = self.publish_recorded(event, EventData::Payload(payload)) {
            let sent = self.deliver_to(
                Some(false),
                |wire| wire.payload_event_frame(payload, event, None, None),
                |socket| socket.notify_sent(event, || Cow::Owned(payload.args_json())),
            );
            self.ns.count_sent(event, sent);
            let (event, payload) = (event.to_owned(), payload.clone());
            return sent
                + self.deliver_recorded(offset, move |op, offset| {
                    let sent = op.deliver_to(
                        Some(true),
                        |wire| wire.payload_event_frame(&payload, &event, None, offset),
                        |socket| socket.notify_sent(&event, || Cow::Owned(payload.args_json())),
                    );
                    op.ns.count_sent(&event, sent);
                });
        }
        self.send_remote(event, EventData::Payload(payload));
        let sent = self.emit_frames(
            |wire, offset| wire.payload_event_frame(payload, event, None, offset),
            |socket| socket.notify_sent(event, || Cow::Owned(payload.args_json())),
        );
        self.ns.count_sent(event, sent);
        sent
    }

    /// The sockets of every instance this broadcast would reach (socket.io `fetchSockets`).
    ///
    /// With the default in-memory adapter these are the sockets of this instance.
    ///
    /// ```
    /// # async fn demo(server: gateway_core::Namespace) -> Result<(), gateway_core::AdapterError> {
    /// let everywhere = server.to("room:lobby").fetch_sockets().await?;
    /// # Ok(()) }
    /// ```
    pub async fn fetch_sockets(&self) -> Result<Vec<SocketInfo>, AdapterError> {
        let mut found: Vec<SocketInfo> = self.sockets().iter().map(SocketInfo::of).collect();
        if let Some(adapter) = self.remote() {
            let remote = adapter.fetch_sockets(self.ns.name(), &self.recipients());
            found.extend(remote.await?);
        }
        Ok(found)
    }

    /// Makes every socket this broadcast would reach, on every instance, join `rooms`
    /// (socket.io `socketsJoin`).
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// server.to("user:42").sockets_join("room:vip"); // all of user 42's devices
    /// # }
    /// ```
    pub fn sockets_join(&self, rooms: impl IntoRooms) {
        self.change_rooms(rooms.into_rooms(), true);
    }

    /// Makes every socket this broadcast would reach, on every instance, leave `rooms`
    /// (socket.io `socketsLeave`).
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// server.to("room:closed").sockets_leave("room:closed");
    /// # }
    /// ```
    pub fn sockets_leave(&self, rooms: impl IntoRooms) {
        self.change_rooms(rooms.into_rooms(), false);
    }

    /// Makes the recipients on every instance join (or leave) `rooms`.
    fn change_rooms(&self, rooms: Vec<Room>, join: bool) {
        for socket in self.sockets() {
            if join {
                socket.join(rooms.clone());
            } else {
                socket.leave(rooms.clone());
            }
        }
        if let Some(adapter) = self.remote() {
            let recipients = self.recipients();
            if join {
                adapter.add_sockets(self.ns.name(), &recipients, &rooms);
            } else {
                adapter.del_sockets(self.ns.name(), &recipients, &rooms);
            }
        }
    }

    /// The sockets this broadcast would reach, on this instance.
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// let in_lobby = server.to("room:lobby").sockets().len();
    /// # }
    /// ```
    pub fn sockets(&self) -> Vec<Socket> {
        let mut out = Vec::new();
        self.ns
            .for_each_recipient(&self.target, |s| out.push(s.clone()));
        out
    }

    /// Disconnects every socket this broadcast would reach, on every instance (socket.io
    /// `disconnectSockets`).
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// server.to("room:closed").disconnect();
    /// # }
    /// ```
    pub fn disconnect(&self) {
        for socket in self.sockets() {
            socket.disconnect();
        }
        if let Some(adapter) = self.remote() {
            adapter.disconnect_sockets(self.ns.name(), &self.recipients());
        }
    }

    /// Who this broadcast is for, in the adapter's terms.
    /// The namespace the broadcast is in.
    pub(crate) fn ns(&self) -> &NamespaceState {
        &self.ns
    }

    pub(crate) fn recipients(&self) -> Recipients {
        self.target.clone()
    }

    /// The adapter, when this broadcast also concerns other instances.
    pub(crate) fn remote(&self) -> Option<&dyn Adapter> {
        let app = &self.ns.app;
        (app.clustered && !self.local).then(|| &*app.adapter)
    }
}
