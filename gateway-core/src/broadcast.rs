//! [`BroadcastOperator`]: emit to rooms, except rooms or sockets, serialized once.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, Stream, StreamExt};
use futures_util::FutureExt;
use serde::Serialize;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::adapter::{Adapter, AdapterError, BroadcastMessage, EventData, RemoteAcks, SocketInfo};
use crate::outbox::OutFrame;
use crate::protocol::{socketio, Wire};
use crate::recipients::Recipients;
use crate::registry::NamespaceState;
use crate::{AckError, EmitError, IntoRooms, Payload, Room, Socket, SocketId};

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
}

impl BroadcastOperator {
    pub(crate) fn new(ns: Arc<NamespaceState>) -> Self {
        Self {
            ns,
            target: Recipients::default(),
            local: false,
            volatile: false,
        }
    }

    /// Make the emit volatile, as socket.io's `volatile`: a client whose send queue is not
    /// empty (it has not taken what was sent before) does not get it, and stays connected. For
    /// data that the next emit replaces (positions, prices). A volatile event is not stored for
    /// connection state recovery. socket.io asks whether the transport is writable; ours asks
    /// the send queue, so a frame already taken by a write that is still blocked does not count:
    /// a stalled client gets one more volatile frame queued than under socket.io. Emits with
    /// acks ([`emit_with_ack`](Self::emit_with_ack)) are never volatile.
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
        self.send_remote(event, EventData::Json(data));
        let sent = self.emit_frames(
            |wire, offset| OutFrame::Text(Utf8Bytes::from(wire.event_frame(event, data, offset))),
            |socket| socket.notify_sent(event, || data.to_owned()),
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
        // socket.io does not store volatile events for recovery either.
        let Some(recovery) = self.ns.recovery().filter(|_| !self.volatile) else {
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
        let (mut as_json, mut as_socketio) = (None, None);
        let mut sent = 0;
        self.ns.for_each_recipient(&self.target, |socket| {
            let slot = if socket.wire().is_socketio() {
                &mut as_socketio
            } else {
                &mut as_json
            };
            let frame = slot.get_or_insert_with(|| frame(socket.wire()));
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
        self.send_remote(event, EventData::Payload(payload));
        let sent = self.emit_frames(
            |wire, offset| wire.payload_event_frame(payload, event, None, offset),
            |socket| socket.notify_sent(event, || payload.args_json()),
        );
        self.ns.count_sent(event, sent);
        sent
    }

    /// Sends `event` to every recipient and waits up to `timeout` for each one's ack (socket.io
    /// `io.timeout(t).emitWithAck(event, data)`): one answer per recipient, with the socket id
    /// for those on this instance (other instances' answers do not say which socket sent them).
    ///
    /// Fails only if `data` cannot be serialized. JSON-format sockets receive the event but
    /// cannot ack ([`AckError::Unsupported`]). From a handler, run this in a spawned task if the
    /// sender is among the recipients (its ack is read only after the handler returns).
    ///
    /// ```
    /// # async fn demo(server: gateway_core::Namespace) -> Result<(), gateway_core::EmitError> {
    /// use std::time::Duration;
    /// let answers = server.to("voters").emit_with_ack::<_, bool>("vote", "lunch?", Duration::from_secs(5)).await?;
    /// let yes = answers.iter().filter(|(_, answer)| matches!(answer, Ok(true))).count();
    /// # Ok(()) }
    /// ```
    pub async fn emit_with_ack<T, R>(
        &self,
        event: &str,
        data: &T,
        timeout: Duration,
    ) -> Result<Vec<(Option<SocketId>, Result<R, AckError>)>, EmitError>
    where
        T: Serialize + ?Sized,
        R: serde::de::DeserializeOwned,
    {
        let data = serde_json::to_string(data)?;
        let acks = self.ack_stream(event, EventData::Json(&data), timeout);
        Ok(acks
            .map(|(id, answer)| {
                let answer =
                    answer.and_then(|v| serde_json::from_value(v).map_err(AckError::Deserialize));
                (id, answer)
            })
            .collect()
            .await)
    }

    /// Sends `event` with the arguments and attachments of `payload` to every recipient and
    /// yields each ack (its first argument) as it arrives, for up to `timeout`.
    ///
    /// ```
    /// # async fn demo(server: gateway_core::Namespace) {
    /// use futures_util::StreamExt;
    /// use gateway_core::Payload;
    /// let mut acks = server.to("voters").emit_payload_with_ack(
    ///     "vote",
    ///     &Payload::new().with_arg("lunch?".into()),
    ///     std::time::Duration::from_secs(5),
    /// );
    /// while let Some((socket, answer)) = acks.next().await {
    ///     println!("{socket:?}: {answer:?}");
    /// }
    /// # }
    /// ```
    pub fn emit_payload_with_ack(
        &self,
        event: &str,
        payload: &Payload,
        timeout: Duration,
    ) -> AckStream {
        self.ack_stream(event, EventData::Payload(payload), timeout)
    }

    fn ack_stream(&self, event: &str, data: EventData<'_>, timeout: Duration) -> AckStream {
        let mut acks = AckStream::default();
        for socket in self.sockets() {
            let asked = socket.send_with_ack(|prefix, id| match data {
                EventData::Json(json) => OutFrame::Text(Utf8Bytes::from(
                    socketio::encode_event_with_ack(prefix, id, event, json),
                )),
                EventData::Payload(payload) => {
                    socket
                        .wire()
                        .payload_event_frame(payload, event, Some(id), None)
                }
            });
            match asked {
                Ok((id, rx)) => {
                    self.ns.count_sent(event, 1);
                    socket.notify_sent(event, || match data {
                        EventData::Json(json) => json.to_owned(),
                        EventData::Payload(payload) => payload.args_json(),
                    });
                    acks.expected += 1;
                    acks.local.push(Box::pin(async move {
                        let answer = socket.wait_for_ack(id, rx, timeout).await;
                        (Some(socket.id()), answer)
                    }));
                }
                Err(err) => {
                    if matches!(err, AckError::Unsupported) {
                        let _ = socket.push_frame(match data {
                            EventData::Json(json) => OutFrame::Text(Utf8Bytes::from(
                                socket.wire().event_frame(event, json, None),
                            )),
                            EventData::Payload(payload) => socket
                                .wire()
                                .payload_event_frame(payload, event, None, None),
                        });
                    }
                    acks.ready.push_back((Some(socket.id()), Err(err)));
                }
            }
        }
        if let Some(adapter) = self.remote() {
            let message = BroadcastMessage {
                recipients: &self.recipients(),
                event,
                data,
                // Every recipient is asked for an ack: an emit with acks is never volatile.
                volatile: false,
            };
            acks.remote = Some(adapter.broadcast_with_ack(self.ns.name(), &message, timeout));
        }
        acks
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
    fn recipients(&self) -> Recipients {
        self.target.clone()
    }

    /// The adapter, when this broadcast also concerns other instances.
    fn remote(&self) -> Option<&dyn Adapter> {
        let app = &self.ns.app;
        (app.clustered && !self.local).then(|| &*app.adapter)
    }
}

/// One broadcast's acks as they arrive: `(socket id, first ack argument)`, the id `None` for
/// sockets of other instances. Ends when every recipient answered or timed out.
///
/// ```
/// # async fn demo(server: gateway_core::Namespace) {
/// use futures_util::StreamExt;
/// let acks = server.to("voters").emit_payload_with_ack("ping", &Default::default(), std::time::Duration::from_secs(1));
/// let answered = acks.filter(|(_, answer)| std::future::ready(answer.is_ok())).count().await;
/// # }
/// ```
#[must_use = "acks are collected only while the stream is polled"]
#[derive(Default)]
pub struct AckStream {
    /// Acks asked of this instance's sockets.
    expected: usize,
    local: FuturesUnordered<BoxFuture<'static, AckAnswer>>,
    remote: Option<BoxFuture<'static, RemoteAcks>>,
    ready: VecDeque<AckAnswer>,
}

type AckAnswer = (Option<SocketId>, Result<Value, AckError>);

impl AckStream {
    /// How many sockets of this instance were asked for an ack (JSON-format sockets cannot
    /// ack and are not counted).
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// let acks = server.local().emit_payload_with_ack("ping", &Default::default(), std::time::Duration::from_secs(1));
    /// println!("waiting for {} acks", acks.expected_local());
    /// # }
    /// ```
    pub fn expected_local(&self) -> usize {
        self.expected
    }
}

impl Stream for AckStream {
    type Item = AckAnswer;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<AckAnswer>> {
        loop {
            if let Some(answer) = self.ready.pop_front() {
                return Poll::Ready(Some(answer));
            }
            if let Some(remote) = self.remote.as_mut() {
                if let Poll::Ready(acks) = remote.poll_unpin(cx) {
                    self.remote = None;
                    let answers = acks.answers.into_iter().map(|v| (None, Ok(v)));
                    let missing = (0..acks.missing).map(|_| (None, Err(AckError::Timeout)));
                    self.ready.extend(answers.chain(missing));
                    continue;
                }
            }
            return match self.local.poll_next_unpin(cx) {
                Poll::Ready(None) if self.remote.is_some() => Poll::Pending,
                other => other,
            };
        }
    }
}

impl std::fmt::Debug for AckStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AckStream")
            .field("expected_local", &self.expected)
            .field("pending_local", &self.local.len())
            .field("remote", &self.remote.is_some())
            .finish()
    }
}
