//! Broadcasts with acks: [`AckBroadcast`] (`server.to(room).timeout(d)`) sends an event that
//! every recipient is asked to acknowledge, and [`AckStream`] yields the answers.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, Stream, StreamExt};
use futures_util::FutureExt;
use serde::Serialize;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::adapter::{BroadcastMessage, EventData, RemoteAcks};
use crate::broadcast::BroadcastOperator;
use crate::outbox::OutFrame;
use crate::protocol::socketio;
use crate::{AckError, EmitError, Payload, SocketId};

// `timeout` is defined here rather than in broadcast.rs, so that the dependency runs one way:
// acks build on broadcasts.
impl BroadcastOperator {
    /// Emits with acks from here on, waiting up to `timeout` for each recipient's (socket.io
    /// `io.to(room).timeout(t).emitWithAck(…)`).
    ///
    /// ```
    /// # async fn demo(server: gateway_core::Namespace) -> Result<(), gateway_core::EmitError> {
    /// use std::time::Duration;
    /// let answers = server.to("voters").timeout(Duration::from_secs(5)).emit_with_ack::<_, bool>("vote", "lunch?").await?;
    /// # Ok(()) }
    /// ```
    pub fn timeout(self, timeout: Duration) -> AckBroadcast {
        AckBroadcast::new(self, timeout)
    }
}

/// A broadcast whose recipients are asked for an ack, each answer awaited up to a timeout:
/// made with [`BroadcastOperator::timeout`] or [`Namespace::timeout`](crate::Namespace::timeout)
/// (socket.io `io.to(room).timeout(t)`).
///
/// ```
/// # async fn demo(server: gateway_core::Namespace) -> Result<(), gateway_core::EmitError> {
/// let answers = server.timeout(std::time::Duration::from_secs(5)).emit_with_ack::<_, String>("roll-call", &()).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use = "an ack broadcast does nothing until `emit_with_ack` is called"]
pub struct AckBroadcast {
    operator: BroadcastOperator,
    timeout: Duration,
}

impl AckBroadcast {
    pub(crate) fn new(operator: BroadcastOperator, timeout: Duration) -> Self {
        Self { operator, timeout }
    }

    /// Sends `event` to every recipient and waits up to the timeout for each one's ack (socket.io
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
    /// let answers = server.to("voters").timeout(Duration::from_secs(5)).emit_with_ack::<_, bool>("vote", "lunch?").await?;
    /// let yes = answers.iter().filter(|(_, answer)| matches!(answer, Ok(true))).count();
    /// # Ok(()) }
    /// ```
    pub async fn emit_with_ack<T, R>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<Vec<(Option<SocketId>, Result<R, AckError>)>, EmitError>
    where
        T: Serialize + ?Sized,
        R: serde::de::DeserializeOwned,
    {
        let data = serde_json::to_string(data)?;
        let acks = self.ack_stream(event, EventData::Json(&data));
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
    /// yields each ack (its first argument) as it arrives, for up to the timeout.
    ///
    /// ```
    /// # async fn demo(server: gateway_core::Namespace) {
    /// use futures_util::StreamExt;
    /// use gateway_core::Payload;
    /// let mut acks = server
    ///     .to("voters")
    ///     .timeout(std::time::Duration::from_secs(5))
    ///     .emit_payload_with_ack("vote", &Payload::new().with_arg("lunch?".into()));
    /// while let Some((socket, answer)) = acks.next().await {
    ///     println!("{socket:?}: {answer:?}");
    /// }
    /// # }
    /// ```
    pub fn emit_payload_with_ack(&self, event: &str, payload: &Payload) -> AckStream {
        self.ack_stream(event, EventData::Payload(payload))
    }

    fn ack_stream(&self, event: &str, data: EventData<'_>) -> AckStream {
        let (operator, timeout) = (&self.operator, self.timeout);
        let mut acks = AckStream::default();
        for socket in operator.sockets() {
            let asked = socket.send_with_ack(|prefix, id| {
                operator.flagged(match data {
                    EventData::Json(json) => OutFrame::Text(Utf8Bytes::from(
                        socketio::encode_event_with_ack(prefix, id, event, json),
                    )),
                    EventData::Payload(payload) => {
                        socket
                            .wire()
                            .payload_event_frame(payload, event, Some(id), None)
                    }
                })
            });
            match asked {
                Ok((id, rx)) => {
                    operator.ns().count_sent(event, 1);
                    socket.notify_sent(event, || match data {
                        EventData::Json(json) => Cow::Borrowed(json),
                        EventData::Payload(payload) => Cow::Owned(payload.args_json()),
                    });
                    acks.expected += 1;
                    acks.local.push(Box::pin(async move {
                        let answer = socket.wait_for_ack(id, rx, timeout).await;
                        (Some(socket.id()), answer)
                    }));
                }
                Err(err) => {
                    if matches!(err, AckError::Unsupported) {
                        let _ = socket.push_frame(
                            operator.flagged(match data {
                                EventData::Json(json) => OutFrame::Text(Utf8Bytes::from(
                                    socket.wire().event_frame(event, json, None),
                                )),
                                EventData::Payload(payload) => socket
                                    .wire()
                                    .payload_event_frame(payload, event, None, None),
                            }),
                        );
                    }
                    acks.ready.push_back((Some(socket.id()), Err(err)));
                }
            }
        }
        if let Some(adapter) = operator.remote() {
            let message = BroadcastMessage {
                recipients: &operator.recipients(),
                event,
                data,
                // Every recipient is asked for an ack: an emit with acks is never volatile.
                volatile: false,
            };
            acks.remote = Some(adapter.broadcast_with_ack(operator.ns().name(), &message, timeout));
        }
        acks
    }
}

/// One broadcast's acks as they arrive: `(socket id, first ack argument)`, the id `None` for
/// sockets of other instances. Ends when every recipient answered or timed out.
///
/// ```
/// # async fn demo(server: gateway_core::Namespace) {
/// use futures_util::StreamExt;
/// let acks = server.to("voters").timeout(std::time::Duration::from_secs(1)).emit_payload_with_ack("ping", &Default::default());
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
    /// let acks = server.local().timeout(std::time::Duration::from_secs(1)).emit_payload_with_ack("ping", &Default::default());
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
