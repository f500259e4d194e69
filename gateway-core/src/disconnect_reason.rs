//! [`DisconnectReason`]: why a socket disconnected, and the close code it sends.

use std::fmt;

/// Why a socket disconnected; given to `handle_disconnect`.
///
/// ```
/// use gateway_core::DisconnectReason;
/// assert_eq!(DisconnectReason::ServerShutdown.close_code(), Some(1001));
/// assert_eq!(DisconnectReason::ClientClose(Some(4000)).close_code(), Some(4000));
/// assert_eq!(DisconnectReason::ServerDisconnect.to_string(), "server namespace disconnect");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The client sent a close frame, with this code (NestJS `platform-ws` passes the code); for
    /// Socket.IO, the client left the namespace (a DISCONNECT packet).
    ClientClose(Option<u16>),
    /// The connection ended without a close frame; for Socket.IO, the Engine.IO connection
    /// closed, whichever side closed it, without the namespace saying goodbye (recoverable).
    TransportClose,
    /// Reading from or writing to the connection failed.
    TransportError,
    /// The server called [`Socket::disconnect`](crate::Socket::disconnect).
    ServerDisconnect,
    /// The server is shutting down (close code 1001).
    ServerShutdown,
    /// The client sent a message over the size limit (close code 1009).
    MessageTooBig,
    /// The client sent a text frame that is not valid UTF-8 (close code 1007).
    InvalidPayload,
    /// The socket's send queue overflowed (close code 1008).
    SlowConsumer,
    /// A Socket.IO client did not answer a ping in time.
    PingTimeout,
    /// A Socket.IO client sent a packet that is not valid.
    ParseError,
}

impl DisconnectReason {
    /// Whether connection state recovery keeps the session (socket.io's recoverable reasons:
    /// the client did not leave on purpose and was not thrown out).
    pub(crate) fn is_recoverable(&self) -> bool {
        matches!(
            self,
            Self::TransportClose | Self::TransportError | Self::PingTimeout | Self::ServerShutdown
        )
    }

    /// The WebSocket close code sent or received for this reason.
    pub fn close_code(&self) -> Option<u16> {
        match self {
            Self::ClientClose(code) => *code,
            Self::ServerDisconnect => Some(1000),
            Self::ServerShutdown => Some(1001),
            Self::MessageTooBig => Some(1009),
            Self::InvalidPayload => Some(1007),
            Self::SlowConsumer => Some(1008),
            Self::TransportClose | Self::TransportError | Self::PingTimeout | Self::ParseError => {
                None
            }
        }
    }

    /// A short name in socket.io's vocabulary.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::ClientClose(_) => "client namespace disconnect",
            Self::TransportClose => "transport close",
            Self::TransportError => "transport error",
            Self::ServerDisconnect => "server namespace disconnect",
            Self::ServerShutdown => "server shutting down",
            Self::MessageTooBig => "message too big",
            Self::InvalidPayload => "invalid payload",
            Self::SlowConsumer => "send queue full",
            Self::PingTimeout => "ping timeout",
            Self::ParseError => "parse error",
        }
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
