//! Acks of server emits: the table of emits waiting for the client's answer, and why one got
//! none ([`AckError`]).

use std::collections::HashMap;

use tokio::sync::oneshot;

use crate::EmitError;

/// Server emits waiting for the client's ack, by ack id.
#[derive(Default)]
pub(crate) struct AckTable {
    pub(crate) next: u64,
    pub(crate) pending: HashMap<u64, oneshot::Sender<String>>,
}

/// Why [`Socket::emit_with_ack`](crate::Socket::emit_with_ack) got no answer.
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
