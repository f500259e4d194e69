//! [`Credential`]: where a guard looks for the proof of who a client is, as the API description
//! states it (AsyncAPI security schemes).

/// Where an authenticating guard reads the client's token. Guards report theirs with
/// [`Guard::credentials`](super::Guard::credentials) and
/// [`ConnectionGuard::credentials`](super::ConnectionGuard::credentials); the AsyncAPI document
/// turns them into security schemes.
///
/// ```
/// use gateway_core::pipeline::{Credential, ExecutionContext, Guard};
/// use gateway_core::WsException;
///
/// struct ApiKeyGuard;
///
/// impl Guard for ApiKeyGuard {
///     async fn can_activate(&self, cx: &ExecutionContext) -> Result<bool, WsException> {
///         Ok(cx.socket().handshake().query("key") == Some("secret"))
///     }
///     fn credentials(&self) -> Vec<Credential> {
///         vec![Credential::Query("key".into())]
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Credential {
    /// A JWT in `Authorization: Bearer <token>`.
    BearerHeader,
    /// A token in the URL query parameter of this name (`?token=…`).
    Query(String),
    /// A JWT in the Socket.IO CONNECT packet's `auth.token` (socket.io-client's `auth` option).
    SocketIoAuth,
}
