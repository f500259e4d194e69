//! [`EmitError`]: why an emit failed.

use crate::outbox::PushError;

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
    /// The emit was dropped and the socket stays connected: its queue was full under
    /// [`FullQueue::DropNewest`](crate::FullQueue::DropNewest), or not empty for a volatile
    /// emit.
    #[error(
        "the emit was dropped: the socket's send queue was full, or not empty for a volatile emit"
    )]
    Dropped,
}

impl From<PushError> for EmitError {
    fn from(error: PushError) -> Self {
        match error {
            PushError::Closed => EmitError::Disconnected,
            PushError::Full => EmitError::QueueFull,
            PushError::Dropped => EmitError::Dropped,
        }
    }
}
