//! Acks of server emits to one socket: [`AckEmit`] (`client.timeout(d)`), the table of emits
//! waiting for the client's answer, and why one got none ([`AckError`]).

use std::collections::HashMap;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::outbox::OutFrame;
use crate::protocol::socketio;
use crate::{EmitError, Socket};

/// An emit to one socket that waits for its ack, up to a timeout: made with
/// [`Socket::timeout`] (socket.io `socket.timeout(t)`).
///
/// ```
/// # async fn demo(client: gateway_core::Socket) -> Result<(), gateway_core::AckError> {
/// let ready: bool = client.timeout(std::time::Duration::from_secs(5)).emit_with_ack("ready?", &()).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug)]
#[must_use = "an ack emit does nothing until `emit_with_ack` is called"]
pub struct AckEmit<'a> {
    socket: &'a Socket,
    timeout: Duration,
}

impl<'a> AckEmit<'a> {
    pub(crate) fn new(socket: &'a Socket, timeout: Duration) -> Self {
        Self { socket, timeout }
    }

    /// Sends `event` and waits up to the timeout for the client's ack (socket.io
    /// `socket.timeout(t).emitWithAck(event, data)`); resolves with the ack's first argument.
    ///
    /// Only Socket.IO clients can ack: for a JSON-format socket this fails with
    /// [`AckError::Unsupported`].
    ///
    /// A socket's messages are handled one at a time, so its ack is read only after the current
    /// handler returns: from a handler of the same socket, wait for the ack in a spawned task
    /// (awaiting it inline would always time out).
    ///
    /// ```
    /// # async fn demo(client: gateway_core::Socket) -> Result<(), gateway_core::AckError> {
    /// let answer: String = client.timeout(std::time::Duration::from_secs(5)).emit_with_ack("question", &"ready?").await?;
    /// # Ok(()) }
    /// ```
    pub async fn emit_with_ack<T, R>(&self, event: &str, data: &T) -> Result<R, AckError>
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let data = serde_json::to_string(data).map_err(AckError::Serialize)?;
        let socket = self.socket;
        let (id, rx) = socket.send_with_ack(|prefix, id| {
            OutFrame::Text(Utf8Bytes::from(socketio::encode_event_with_ack(
                prefix, id, event, &data,
            )))
        })?;
        socket.sent(event, || std::borrow::Cow::Borrowed(data.as_str()));
        socket.wait_for_ack(id, rx, self.timeout).await
    }
}

impl Socket {
    /// Sends `frame(namespace prefix, ack id)` with this socket's next ack id; the receiver
    /// gets the ack's first argument.
    pub(crate) fn send_with_ack(
        &self,
        frame: impl FnOnce(&str, u64) -> OutFrame,
    ) -> Result<(u64, oneshot::Receiver<String>), AckError> {
        let Some(prefix) = self.wire().socketio_prefix() else {
            return Err(AckError::Unsupported);
        };
        let (tx, rx) = oneshot::channel();
        let id = {
            let mut acks = self.acks();
            let id = acks.next;
            acks.next += 1;
            acks.pending.insert(id, tx);
            id
        };
        if let Err(err) = self.push_frame(frame(prefix, id)) {
            self.forget_ack(id);
            return Err(AckError::Emit(err));
        }
        Ok((id, rx))
    }

    /// Waits up to `timeout` for ack `id`, then deserializes it.
    pub(crate) async fn wait_for_ack<R: DeserializeOwned>(
        &self,
        id: u64,
        rx: oneshot::Receiver<String>,
        timeout: Duration,
    ) -> Result<R, AckError> {
        let answer = match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => return Err(AckError::Disconnected),
            Err(_) => {
                self.forget_ack(id);
                return Err(AckError::Timeout);
            }
        };
        serde_json::from_str(&answer).map_err(AckError::Deserialize)
    }

    /// Delivers the client's ack `id`.
    pub(crate) fn resolve_ack(&self, id: u64, data: String) {
        let waiting = self.acks().pending.remove(&id);
        if let Some(tx) = waiting {
            let _ = tx.send(data);
        }
    }

    fn forget_ack(&self, id: u64) {
        self.acks().pending.remove(&id);
    }

    /// Fails every emit still waiting for an ack (the socket is gone).
    pub(crate) fn drop_pending_acks(&self) {
        self.acks().pending.clear();
    }
}

/// Server emits waiting for the client's ack, by ack id.
#[derive(Default)]
pub(crate) struct AckTable {
    pub(crate) next: u64,
    pub(crate) pending: HashMap<u64, oneshot::Sender<String>>,
}

/// Why an emit with an ack ([`AckEmit::emit_with_ack`]) got no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AckError {
    /// The socket speaks the JSON wire format, which has no acks (as NestJS's `platform-ws`).
    #[error("this socket's wire format has no acks")]
    Unsupported,
    /// The event could not be queued.
    #[error(transparent)]
    Emit(#[from] EmitError),
    /// The data could not be serialized.
    #[error("could not serialize the event data: {0}")]
    Serialize(serde_json::Error),
    /// No ack within the timeout.
    #[error("no ack within the timeout")]
    Timeout,
    /// The socket disconnected before acking.
    #[error("the socket disconnected before acking")]
    Disconnected,
    /// The ack could not be deserialized into the expected type.
    #[error("unexpected ack: {0}")]
    Deserialize(serde_json::Error),
}
