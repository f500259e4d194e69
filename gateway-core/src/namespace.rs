//! A gateway's namespace: its event table, its sockets and rooms, and the public [`Namespace`] handle.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use serde::Serialize;
use serde_json::Value;

use crate::app::AppShared;
use crate::broadcast::{BroadcastOperator, EmitError, Target};
use crate::gateway::{GatewayDefinition, Hooks, RouteDefinition};
use crate::handler::BoxedHandler;
use crate::pipeline::{
    DynConnectionGuard, DynFilter, DynGuard, DynInterceptor, DynPipe, Enhancers, Metadata,
};
use crate::recovery::Recovery;
use crate::{AdapterError, GatewayOptions, IntoRooms, Room, Socket, SocketId, SocketInfo};

/// One event's handler with every enhancer that applies to it, in pipeline order.
pub(crate) struct Route {
    pub(crate) handler: BoxedHandler,
    pub(crate) name: Arc<str>,
    pub(crate) guards: Arc<[Arc<dyn DynGuard>]>,
    pub(crate) interceptors: Arc<[Arc<dyn DynInterceptor>]>,
    pub(crate) pipes: Arc<[Arc<dyn DynPipe>]>,
    /// Handler's first, then the gateway's, then the global ones.
    pub(crate) filters: Arc<[Arc<dyn DynFilter>]>,
    pub(crate) metadata: Metadata,
}

impl Route {
    fn new(definition: RouteDefinition, outer: &Enhancers) -> Self {
        let all = definition.enhancers.nested_in(outer);
        Self {
            handler: definition.handler,
            name: definition.name,
            guards: all.guards.into(),
            interceptors: all.interceptors.into(),
            pipes: all.pipes.into(),
            filters: all.filters.into(),
            metadata: all.metadata,
        }
    }
}

/// The runtime side of one registered gateway.
pub(crate) struct NamespaceInner {
    gateway: &'static str,
    options: GatewayOptions,
    /// Looked up once per message, by keys fixed at startup: a fast hash is enough.
    routes: foldhash::HashMap<Box<str>, Arc<Route>>,
    connection_guards: Vec<Arc<dyn DynConnectionGuard>>,
    pub(crate) hooks: Hooks,
    pub(crate) app: Arc<AppShared>,
    registry: RwLock<Registry>,
    /// Connection state recovery, when the app turned it on.
    recovery: Option<Recovery>,
    /// Handlers of events other instances send (`Namespace::on_server_event`).
    server_events: RwLock<HashMap<Box<str>, ServerEventHandler>>,
}

/// Answers an event from another instance; the answer goes back if it asked for one.
type ServerEventHandler = Arc<dyn Fn(Vec<Value>) -> BoxFuture<'static, Value> + Send + Sync>;

/// Keyed by socket ids, which the server draws at random (clients cannot pick them): a fast
/// hash is enough there. Room names may come from clients and keep the default, DoS-resistant
/// hash.
#[derive(Default)]
struct Registry {
    sockets: foldhash::HashMap<SocketId, Entry>,
    rooms: HashMap<Room, foldhash::HashMap<SocketId, Socket>>,
}

struct Entry {
    socket: Socket,
    rooms: Vec<Room>,
}

impl NamespaceInner {
    /// The namespace of `definition`, its handlers wrapped in `global`'s enhancers and its own.
    pub(crate) fn new(
        definition: GatewayDefinition,
        global: &Enhancers,
        app: Arc<AppShared>,
    ) -> Self {
        let gateway_level = definition.enhancers.nested_in(global);
        let routes = definition
            .routes
            .into_iter()
            .map(|(event, route)| (event, Arc::new(Route::new(route, &gateway_level))))
            .collect();
        Self {
            gateway: definition.gateway,
            options: definition.options,
            routes,
            connection_guards: definition.connection_guards,
            hooks: definition.hooks,
            recovery: app.config.recovery_window.map(Recovery::new),
            app,
            registry: RwLock::default(),
            server_events: RwLock::default(),
        }
    }

    pub(crate) fn name(&self) -> &str {
        self.options.namespace()
    }

    pub(crate) fn gateway(&self) -> &'static str {
        self.gateway
    }

    pub(crate) fn options(&self) -> &GatewayOptions {
        &self.options
    }

    pub(crate) fn connection_guards(&self) -> &[Arc<dyn DynConnectionGuard>] {
        &self.connection_guards
    }

    pub(crate) fn recovery(&self) -> Option<&Recovery> {
        self.recovery.as_ref()
    }

    pub(crate) fn route(&self, event: &str) -> Option<&Arc<Route>> {
        self.routes.get(event)
    }

    fn read(&self) -> RwLockReadGuard<'_, Registry> {
        // The registry is updated in small steps that leave it consistent: a poisoned lock is usable.
        self.registry.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Registry> {
        self.registry.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a new socket, in the room named by its id.
    pub(crate) fn register(&self, socket: &Socket) {
        let own = Room::from(socket.id());
        let mut reg = self.write();
        reg.rooms
            .entry(own.clone())
            .or_default()
            .insert(socket.id(), socket.clone());
        reg.sockets.insert(
            socket.id(),
            Entry {
                socket: socket.clone(),
                rooms: vec![own],
            },
        );
    }

    /// Removes a socket and all its room memberships.
    pub(crate) fn unregister(&self, id: SocketId) {
        let mut reg = self.write();
        let Some(entry) = reg.sockets.remove(&id) else {
            return;
        };
        for room in entry.rooms {
            remove_member(&mut reg.rooms, &room, id);
        }
    }

    pub(crate) fn join(&self, socket: &Socket, rooms: Vec<Room>) {
        let id = socket.id();
        let mut reg = self.write();
        let Registry {
            sockets,
            rooms: by_room,
        } = &mut *reg;
        let Some(entry) = sockets.get_mut(&id) else {
            return; // disconnected: joining would leak the membership
        };
        for room in rooms {
            if !entry.rooms.contains(&room) {
                by_room
                    .entry(room.clone())
                    .or_default()
                    .insert(id, socket.clone());
                entry.rooms.push(room);
            }
        }
    }

    pub(crate) fn leave(&self, id: SocketId, rooms: &[Room]) {
        let mut reg = self.write();
        let Registry {
            sockets,
            rooms: by_room,
        } = &mut *reg;
        let Some(entry) = sockets.get_mut(&id) else {
            return;
        };
        for room in rooms {
            if let Some(pos) = entry.rooms.iter().position(|r| r == room) {
                entry.rooms.swap_remove(pos);
                remove_member(by_room, room, id);
            }
        }
    }

    pub(crate) fn rooms_of(&self, id: SocketId) -> Vec<Room> {
        self.read()
            .sockets
            .get(&id)
            .map(|e| e.rooms.clone())
            .unwrap_or_default()
    }

    /// Calls `f` once for every socket `target` reaches. `f` must not block.
    pub(crate) fn for_each_recipient(&self, target: &Target, mut f: impl FnMut(&Socket)) {
        let reg = self.read();
        let excluded = |id: &SocketId| {
            target.except_socket.as_ref() == Some(id)
                || target
                    .except_rooms
                    .iter()
                    .any(|r| reg.rooms.get(r).is_some_and(|m| m.contains_key(id)))
        };
        match target.rooms.as_slice() {
            [] => {
                for (id, entry) in &reg.sockets {
                    if !excluded(id) {
                        f(&entry.socket);
                    }
                }
            }
            [room] => {
                for (id, socket) in reg.rooms.get(room).into_iter().flatten() {
                    if !excluded(id) {
                        f(socket);
                    }
                }
            }
            rooms => {
                let mut seen = HashSet::new();
                for room in rooms {
                    for (id, socket) in reg.rooms.get(room).into_iter().flatten() {
                        if seen.insert(*id) && !excluded(id) {
                            f(socket);
                        }
                    }
                }
            }
        }
    }
}

fn remove_member(
    rooms: &mut HashMap<Room, foldhash::HashMap<SocketId, Socket>>,
    room: &Room,
    id: SocketId,
) {
    if let Some(members) = rooms.get_mut(room) {
        members.remove(&id);
        if members.is_empty() {
            rooms.remove(room);
        }
    }
}

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
pub struct Namespace(Arc<NamespaceInner>);

impl Namespace {
    pub(crate) fn from_inner(inner: Arc<NamespaceInner>) -> Self {
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

    /// Sends `event` to every socket of the namespace and waits up to `timeout` for each ack
    /// (see [`BroadcastOperator::emit_with_ack`]).
    ///
    /// ```
    /// # async fn demo(server: gateway_core::Namespace) -> Result<(), gateway_core::EmitError> {
    /// let answers = server.emit_with_ack::<_, String>("roll-call", &(), std::time::Duration::from_secs(5)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn emit_with_ack<T, R>(
        &self,
        event: &str,
        data: &T,
        timeout: std::time::Duration,
    ) -> Result<Vec<(Option<SocketId>, Result<R, crate::AckError>)>, EmitError>
    where
        T: Serialize + ?Sized,
        R: serde::de::DeserializeOwned,
    {
        BroadcastOperator::new(self.0.clone())
            .emit_with_ack(event, data, timeout)
            .await
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
        self.0
            .server_events
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(event.into(), handler);
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
        let handler = self
            .0
            .server_events
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(event.as_str())
            .cloned()?;
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
        self.0.read().rooms.keys().cloned().collect()
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
        self.0.read().sockets.get(&id).map(|e| e.socket.clone())
    }

    /// Every connected socket.
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// let ids: Vec<String> = server.sockets().iter().map(|s| s.id().to_string()).collect();
    /// # }
    /// ```
    pub fn sockets(&self) -> Vec<Socket> {
        self.0
            .read()
            .sockets
            .values()
            .map(|e| e.socket.clone())
            .collect()
    }

    /// How many sockets are connected.
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// println!("{} online", server.socket_count());
    /// # }
    /// ```
    pub fn socket_count(&self) -> usize {
        self.0.read().sockets.len()
    }

    /// How many rooms exist, counting each socket's own-id room.
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// assert!(server.room_count() >= server.socket_count());
    /// # }
    /// ```
    pub fn room_count(&self) -> usize {
        self.0.read().rooms.len()
    }

    /// How many sockets are in `room`.
    ///
    /// ```
    /// # fn demo(server: gateway_core::Namespace) {
    /// let devices = server.room_size("user:42");
    /// # }
    /// ```
    pub fn room_size(&self, room: impl Into<Room>) -> usize {
        self.0
            .read()
            .rooms
            .get(&room.into())
            .map_or(0, HashMap::len)
    }
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Namespace")
            .field("name", &self.name())
            .field("gateway", &self.0.gateway)
            .finish()
    }
}

impl fmt::Debug for NamespaceInner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NamespaceInner")
            .field("name", &self.name())
            .finish()
    }
}
