//! The public [`Namespace`] handle: NestJS's `@WebSocketServer() server`.

use std::fmt;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use serde::Serialize;
use serde_json::Value;

use crate::broadcast::BroadcastOperator;
use crate::emit_error::EmitError;
use crate::{AdapterError, IntoRooms, Room, Socket, SocketId, SocketInfo};

use crate::registry::{NamespaceState, ServerEventHandler};

/// A handle on one gateway's namespace: NestJS's `@WebSocketServer() server`.
///
/// Cheap to clone and safe to keep in services outside the gateway (the guides' `sendToUser`,
/// `broadcastNotification` and online-users patterns). Get one from
/// [`GatewayApp::namespace`](crate::GatewayApp::namespace), [`Socket::namespace`], the
/// `after_init` hook, or as a handler argument.
///
/// ```no_run
/// # async fn demo(app: gateway_core::GatewayApp) -> Result<(), gateway_core::EmitError> {
/// let chat = app.namespace("/chat").expect("the chat gateway is registered");
/// chat.emit("announcement", "maintenance at noon")?;         // everyone in /chat
/// chat.to("room:lobby").emit("newMessage", &serde_json::json!({"text": "hi"}))?;
/// chat.to(["room:a", "room:b"]).except("muted").emit("ping", &1)?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Namespace(Arc<NamespaceState>);

impl Namespace {
    pub(crate) fn from_inner(inner: Arc<NamespaceState>) -> Self {
        Self(inner)
    }

    /// The namespace name, e.g. `/chat`.
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// println!("serving {}", server.name());
    /// # }
    /// ```
    pub fn name(&self) -> &str {
        self.0.name()
    }

    /// The parameters of a dynamic gateway's concrete namespace: for a gateway on
    /// `/workspaces/{workspace}`, the namespace `/workspaces/acme` has `workspace` = `acme`.
    /// A fixed namespace has none. Handlers take [`NamespaceParams`](crate::NamespaceParams)
    /// as an argument instead.
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// if let Some(workspace) = server.params().get("workspace") {
    ///     println!("serving workspace {workspace}");
    /// }
    /// # }
    /// ```
    pub fn params(&self) -> &crate::NamespaceParams {
        self.0.params()
    }

    /// Sends `event` to every socket of the namespace; returns how many it was queued to.
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// server.emit("onlineUsers", &vec!["alice", "bob"]).ok();
    /// # }
    /// ```
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<usize, EmitError> {
        BroadcastOperator::new(self.0.clone()).emit(event, data)
    }

    /// Sends `event` with the arguments and attachments of `payload` to every socket of the
    /// namespace (see [`Payload`](crate::Payload)); returns how many it was queued to.
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// server.emit_payload("tick", &gateway_core::Payload::new().with_binary(vec![1u8]));
    /// # }
    /// ```
    pub fn emit_payload(&self, event: &str, payload: &crate::Payload) -> usize {
        BroadcastOperator::new(self.0.clone()).emit_payload(event, payload)
    }

    /// Emits with acks to every socket of the namespace, waiting up to `timeout` for each
    /// one's (socket.io `io.timeout(t).emitWithAck(…)`; see [`AckBroadcast`](crate::AckBroadcast)).
    ///
    /// ```
    /// # async fn demo(server: gateway_core::Namespace) -> Result<(), gateway_core::EmitError> {
    /// let answers = server
    ///     .timeout(std::time::Duration::from_secs(5))
    ///     .emit_with_ack::<_, String>("roll-call", &())
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn timeout(&self, timeout: std::time::Duration) -> crate::AckBroadcast {
        BroadcastOperator::new(self.0.clone()).timeout(timeout)
    }

    /// A broadcast to the members of `rooms` (a socket id is a room too).
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// server.to("user:42").emit("notification", &serde_json::json!({"title": "hi"})).ok();
    /// # }
    /// ```
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        BroadcastOperator::new(self.0.clone()).to(rooms)
    }

    /// A broadcast to every socket except the members of `rooms`.
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// server.except("room:quiet").emit("announcement", "hi").ok();
    /// # }
    /// ```
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        BroadcastOperator::new(self.0.clone()).except(rooms)
    }

    /// A broadcast to this instance's sockets only, not those of the other instances behind
    /// the adapter (socket.io `io.local`).
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// server.local().emit("localNews", "hi").ok();
    /// # }
    /// ```
    pub fn local(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.0.clone()).local()
    }

    /// A volatile broadcast to the whole namespace (socket.io `io.volatile`); see
    /// [`BroadcastOperator::volatile`].
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// server.volatile().emit("tick", &1).ok();
    /// # }
    /// ```
    pub fn volatile(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.0.clone()).volatile()
    }

    /// A broadcast to the whole namespace, compressed or not (socket.io `io.compress(false)`);
    /// see [`BroadcastOperator::compress`].
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// server.compress(false).emit("snapshot", &"already compressed").ok();
    /// # }
    /// ```
    pub fn compress(&self, compress: bool) -> BroadcastOperator {
        BroadcastOperator::new(self.0.clone()).compress(compress)
    }

    /// Every socket of the namespace on every instance (socket.io `fetchSockets`); see
    /// [`BroadcastOperator::fetch_sockets`].
    ///
    /// ```
    /// # async fn demo(server: gateway_core::Namespace) -> Result<(), gateway_core::AdapterError> {
    /// println!("{} online in the cluster", server.fetch_sockets().await?.len());
    /// # Ok(()) }
    /// ```
    pub async fn fetch_sockets(&self) -> Result<Vec<SocketInfo>, AdapterError> {
        BroadcastOperator::new(self.0.clone()).fetch_sockets().await
    }

    /// How many instances serve this namespace, this one included (1 without a cluster
    /// adapter).
    ///
    /// ```
    /// # async fn demo(server: gateway_core::Namespace) -> Result<(), gateway_core::AdapterError> {
    /// println!("{} instances", server.server_count().await?);
    /// # Ok(()) }
    /// ```
    pub async fn server_count(&self) -> Result<usize, AdapterError> {
        self.0.app.adapter.server_count(self.name()).await
    }

    /// Handles `event` when another instance sends it with
    /// [`server_side_emit`](Self::server_side_emit) (socket.io `io.on(event, ...)` for
    /// server-side events). The handler gets the event's arguments; what it returns is the
    /// answer to [`server_side_emit_with_ack`](Self::server_side_emit_with_ack). A second
    /// handler for the same event replaces the first.
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// server.on_server_event("hello-servers", |args| async move {
    ///     serde_json::json!({"got": args.len()})
    /// });
    /// # }
    /// ```
    pub fn on_server_event<F, Fut>(&self, event: &str, handler: F)
    where
        F: Fn(Vec<Value>) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Value> + Send + 'static,
    {
        let handler: ServerEventHandler = Arc::new(move |args| handler(args).boxed());
        self.0.set_server_event(event, handler);
    }

    /// Runs the handler of a server-side event from another instance: `packet` is the event
    /// name followed by its arguments (socket.io's form). `None` if nothing handles it. For
    /// adapters.
    ///
    /// ```
    /// # async fn demo(server: gateway_core::Namespace) {
    /// let packet = vec![serde_json::json!("hello-servers"), serde_json::json!(42)];
    /// if let Some(answer) = server.dispatch_server_event(packet) {
    ///     println!("answered {}", answer.await);
    /// }
    /// # }
    /// ```
    pub fn dispatch_server_event(
        &self,
        mut packet: Vec<Value>,
    ) -> Option<BoxFuture<'static, Value>> {
        let event = match packet.first() {
            Some(Value::String(event)) => event.clone(),
            _ => return None,
        };
        let handler = self.0.server_event(&event)?;
        packet.remove(0);
        Some(handler(packet))
    }

    /// Sends `event` with `data` to the server-side handlers of the other instances
    /// ([`on_server_event`](Self::on_server_event)); not to clients.
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// server.server_side_emit("cache:invalidate", &"user:42").ok();
    /// # }
    /// ```
    pub fn server_side_emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<(), EmitError> {
        let data = serde_json::to_value(data)?;
        self.0
            .app
            .adapter
            .server_side_emit(self.name(), event, &[data]);
        Ok(())
    }

    /// As [`server_side_emit`](Self::server_side_emit), then waits up to `timeout` for every
    /// other instance's answer; fails if some instance did not answer in time.
    ///
    /// ```
    /// # async fn demo(server: gateway_core::Namespace) -> Result<(), gateway_core::AdapterError> {
    /// let counts: Vec<usize> = server
    ///     .server_side_emit_with_ack("count-users", &(), std::time::Duration::from_secs(2))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn server_side_emit_with_ack<T, R>(
        &self,
        event: &str,
        data: &T,
        timeout: std::time::Duration,
    ) -> Result<Vec<R>, AdapterError>
    where
        T: Serialize + ?Sized,
        R: serde::de::DeserializeOwned,
    {
        let data = serde_json::to_value(data).map_err(|e| AdapterError::invalid(e.to_string()))?;
        let answers = self
            .0
            .app
            .adapter
            .server_side_emit_with_ack(self.name(), event, &[data], timeout)
            .await?;
        answers
            .into_iter()
            .map(|answer| {
                serde_json::from_value(answer).map_err(|e| AdapterError::invalid(e.to_string()))
            })
            .collect()
    }

    /// Every room of this instance, each socket's own-id room included.
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// let rooms = server.rooms();
    /// # }
    /// ```
    pub fn rooms(&self) -> Vec<Room> {
        self.0.rooms()
    }

    /// The connected socket with this id, if any.
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// let id: gateway_core::SocketId = "AAAAAAAAAAAAAAAAAAAA".parse().unwrap();
    /// if let Some(socket) = server.socket(id) {
    ///     socket.disconnect();
    /// }
    /// # }
    /// ```
    pub fn socket(&self, id: SocketId) -> Option<Socket> {
        self.0.socket(id)
    }

    /// Every connected socket.
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// let ids: Vec<String> = server.sockets().iter().map(|s| s.id().to_string()).collect();
    /// # }
    /// ```
    pub fn sockets(&self) -> Vec<Socket> {
        self.0.sockets()
    }

    /// How many sockets are connected.
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// println!("{} online", server.socket_count());
    /// # }
    /// ```
    pub fn socket_count(&self) -> usize {
        self.0.socket_count()
    }

    /// How many rooms exist, counting each socket's own-id room.
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// assert!(server.room_count() >= server.socket_count());
    /// # }
    /// ```
    pub fn room_count(&self) -> usize {
        self.0.room_count()
    }

    /// How many sockets are in `room`.
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// let devices = server.room_size("user:42");
    /// # }
    /// ```
    pub fn room_size(&self, room: impl Into<Room>) -> usize {
        self.0.room_size(&room.into())
    }
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Namespace")
            .field("name", &self.name())
            .field("gateway", &self.0.gateway())
            .finish()
    }
}
