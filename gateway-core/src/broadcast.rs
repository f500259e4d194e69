//! [`BroadcastOperator`]: emit to rooms, except rooms or sockets, serialized once.

use std::sync::Arc;

use serde::Serialize;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::namespace::NamespaceInner;
use crate::outbox::OutFrame;
use crate::protocol::{socketio, Wire};
use crate::{AckError, IntoRooms, Room, Socket, SocketId};

/// Why an emit failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmitError {
    /// The data could not be serialized to JSON.
    #[error("could not serialize the event data: {0}")]
    Serialize(#[from] serde_json::Error),
    /// The socket has disconnected or is closing.
    #[error("the socket is disconnected")]
    Disconnected,
    /// The socket's send queue is full; it is being disconnected.
    #[error("the socket's send queue is full; it is being disconnected")]
    QueueFull,
}

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
    ns: Arc<NamespaceInner>,
    target: Target,
}

/// The recipients of a broadcast.
#[derive(Clone, Debug, Default)]
pub(crate) struct Target {
    pub(crate) rooms: Vec<Room>,
    pub(crate) except_rooms: Vec<Room>,
    pub(crate) except_socket: Option<SocketId>,
}

impl Target {
    /// Whether a socket `sid` in `rooms` (its own room included) is a recipient.
    pub(crate) fn reaches(&self, sid: SocketId, rooms: &[Room]) -> bool {
        let included = self.rooms.is_empty() || self.rooms.iter().any(|r| rooms.contains(r));
        let excluded =
            self.except_socket == Some(sid) || self.except_rooms.iter().any(|r| rooms.contains(r));
        included && !excluded
    }
}

impl BroadcastOperator {
    pub(crate) fn new(ns: Arc<NamespaceInner>) -> Self {
        Self {
            ns,
            target: Target::default(),
        }
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
        self.target.except_rooms.extend(rooms.into_rooms());
        self
    }

    pub(crate) fn except_socket(mut self, id: SocketId) -> Self {
        self.target.except_socket = Some(id);
        self
    }

    /// Sends `event` with `data` to every recipient; returns how many it was queued to.
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
        self.emit_frames(|wire, offset| {
            OutFrame::Text(Utf8Bytes::from(wire.event_frame(event, data, offset)))
        })
    }

    /// Queues `frame(wire, offset)` to every recipient, built once per wire format on first use.
    /// Under connection state recovery the Socket.IO frame carries an offset and is recorded
    /// (then it is built up front, recipients or not).
    fn emit_frames(&self, frame: impl Fn(&Wire, Option<&str>) -> OutFrame) -> usize {
        let Some(recovery) = self.ns.recovery() else {
            return self.deliver(|wire| frame(wire, None));
        };
        let socketio = Wire::SocketIo {
            prefix: socketio::nsp_prefix(self.ns.name()).into(),
        };
        recovery.emit(
            &self.target,
            |offset| frame(&socketio, Some(offset)),
            |recorded| {
                self.deliver(|wire| match wire {
                    Wire::Json => frame(wire, None),
                    Wire::SocketIo { .. } => recorded.clone(),
                })
            },
        )
    }

    /// Queues one frame per wire format, each built once on first use, to every recipient.
    fn deliver(&self, frame: impl Fn(&Wire) -> OutFrame) -> usize {
        let (mut as_json, mut as_socketio) = (None, None);
        let mut sent = 0;
        self.ns.for_each_recipient(&self.target, |socket| {
            let slot = match socket.wire() {
                Wire::Json => &mut as_json,
                Wire::SocketIo { .. } => &mut as_socketio,
            };
            let frame = slot.get_or_insert_with(|| frame(socket.wire()));
            if socket.push_frame(frame.clone()).is_ok() {
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
    pub fn emit_payload(&self, event: &str, payload: &crate::Payload) -> usize {
        self.emit_frames(|wire, offset| payload.event_frame(wire, event, None, offset))
    }

    /// Sends `event` to every recipient and waits up to `timeout` for each one's ack (socket.io
    /// `io.timeout(t).emitWithAck(event, data)`): one answer per recipient, by socket id.
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
        timeout: std::time::Duration,
    ) -> Result<Vec<(SocketId, Result<R, AckError>)>, EmitError>
    where
        T: Serialize + ?Sized,
        R: serde::de::DeserializeOwned,
    {
        let data = serde_json::to_string(data)?;
        let waits = self.sockets().into_iter().map(|socket| {
            let data = &data;
            async move {
                let answer = match socket.wire() {
                    Wire::Json => {
                        let frame = socket.wire().event_frame(event, data, None);
                        let _ = socket.push(Utf8Bytes::from(frame));
                        Err(AckError::Unsupported)
                    }
                    Wire::SocketIo { .. } => match socket.send_with_ack(event, data) {
                        Ok((id, rx)) => socket.wait_for_ack(id, rx, timeout).await,
                        Err(err) => Err(err),
                    },
                };
                (socket.id(), answer)
            }
        });
        Ok(futures_util::future::join_all(waits).await)
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

    /// Disconnects every socket this broadcast would reach.
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
    }
}
