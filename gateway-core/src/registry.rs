//! A registered gateway at runtime ([`NamespaceState`]): its event table with each route's
//! enhancers, its sockets and their rooms, and who a broadcast reaches.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};

use futures_util::future::BoxFuture;
use serde_json::Value;

use crate::gateway_parts::{GatewayParts, HandlerChain};
use crate::hooks::Hooks;
use crate::metrics::NamespaceMetrics;
use crate::pipeline::DynConnectionGuard;
use crate::recipients::Recipients;
use crate::recorded::RecordedEmits;
use crate::recovery::Recovery;
use crate::runtime::Runtime;
use crate::{GatewayOptions, NamespaceParams, Room, SessionStore, Socket, SocketId};

/// What created a namespace and drops it once it is empty: a dynamic gateway's table of live
/// namespaces (a trait, so that this module does not depend on the one that creates it).
pub(crate) trait NamespaceOwner: Send + Sync {
    /// Drops `ns` if it is live, empty and not kept.
    fn release_if_empty(&self, ns: &NamespaceState);
}

/// The runtime side of one namespace: a fixed gateway's, or one concrete namespace of a
/// dynamic gateway.
pub(crate) struct NamespaceState {
    parts: Arc<GatewayParts>,
    /// The concrete name, e.g. `/workspaces/acme` (a fixed gateway's: its namespace).
    name: Box<str>,
    params: NamespaceParams,
    /// The dynamic gateway that created this namespace, told when it may be dropped. Weak: the
    /// gateway holds its live namespaces.
    owner: Option<Weak<dyn NamespaceOwner>>,
    /// Set once the adapter knows a dynamic namespace and its `after_init` has run.
    pub(crate) ready: tokio::sync::OnceCell<()>,
    pub(crate) app: Arc<Runtime>,
    registry: RwLock<Registry>,
    /// Connection state recovery, when the app turned it on.
    recovery: Option<Recovery>,
    /// Emits waiting for their offset from the adapter's session store.
    recorded: RecordedEmits,
    /// Handlers of events other instances send (`Namespace::on_server_event`).
    server_events: RwLock<HashMap<Box<str>, ServerEventHandler>>,
}

/// Answers an event from another instance; the answer goes back if it asked for one.
pub(crate) type ServerEventHandler =
    Arc<dyn Fn(Vec<Value>) -> BoxFuture<'static, Value> + Send + Sync>;

/// Keyed by socket ids, which the server draws at random (clients cannot pick them): a fast
/// hash is enough there. Room names may come from clients and keep the default, DoS-resistant
/// hash.
#[derive(Default)]
struct Registry {
    sockets: foldhash::HashMap<SocketId, Entry>,
    rooms: HashMap<Room, foldhash::HashMap<SocketId, Socket>>,
    /// Connections on their way in (a dynamic namespace is not dropped under them).
    claims: usize,
    /// A dropped dynamic namespace: it takes no more claims.
    retired: bool,
}

struct Entry {
    socket: Socket,
    rooms: Vec<Room>,
}

impl NamespaceState {
    /// A fixed gateway's namespace.
    pub(crate) fn new(parts: Arc<GatewayParts>, app: Arc<Runtime>) -> Self {
        let name = parts.options.namespace().into();
        Self::with_name(parts, name, NamespaceParams::default(), None, app)
    }

    /// A concrete namespace `name` of the dynamic gateway `owner`.
    pub(crate) fn concrete(
        parts: Arc<GatewayParts>,
        name: &str,
        params: NamespaceParams,
        owner: Weak<dyn NamespaceOwner>,
        app: Arc<Runtime>,
    ) -> Self {
        Self::with_name(parts, name.into(), params, Some(owner), app)
    }

    fn with_name(
        parts: Arc<GatewayParts>,
        name: Box<str>,
        params: NamespaceParams,
        owner: Option<Weak<dyn NamespaceOwner>>,
        app: Arc<Runtime>,
    ) -> Self {
        Self {
            parts,
            name,
            params,
            owner,
            ready: tokio::sync::OnceCell::new(),
            recovery: app.config.recovery_window.map(Recovery::new),
            recorded: RecordedEmits::default(),
            app,
            registry: RwLock::default(),
            server_events: RwLock::default(),
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn params(&self) -> &NamespaceParams {
        &self.params
    }

    pub(crate) fn gateway(&self) -> &'static str {
        self.parts.gateway
    }

    /// What this gateway's namespaces share.
    pub(crate) fn parts(&self) -> &GatewayParts {
        &self.parts
    }

    pub(crate) fn hooks(&self) -> &Hooks {
        &self.parts.hooks
    }

    /// The dynamic gateway this namespace is a concrete namespace of, if any.
    pub(crate) fn owner(&self) -> Option<Arc<dyn NamespaceOwner>> {
        self.owner.as_ref().and_then(Weak::upgrade)
    }

    /// The namespace's metric handles, when the app records metrics.
    pub(crate) fn metrics(&self) -> Option<&NamespaceMetrics> {
        self.parts.metrics.as_deref()
    }

    /// Counts `event` emitted to `recipients` sockets, when the namespace records metrics.
    pub(crate) fn count_sent(&self, event: &str, recipients: usize) {
        if let Some(metrics) = self.metrics() {
            metrics.sent(event, recipients);
        }
    }

    pub(crate) fn options(&self) -> &GatewayOptions {
        &self.parts.options
    }

    pub(crate) fn connection_guards(&self) -> &[Arc<dyn DynConnectionGuard>] {
        &self.parts.connection_guards
    }

    pub(crate) fn recovery(&self) -> Option<&Recovery> {
        self.recovery.as_ref()
    }

    /// The adapter's store of connection state recovery across instances, when recovery is on
    /// and the adapter keeps one: then it replaces [`recovery`](Self::recovery)'s record.
    pub(crate) fn session_store(&self) -> Option<&dyn SessionStore> {
        self.recovery.as_ref()?;
        if !self.app.clustered {
            return None;
        }
        self.app.adapter.session_store()
    }

    /// How long a dropped socket's session is kept, when recovery is on.
    pub(crate) fn recovery_window(&self) -> Option<std::time::Duration> {
        self.app.config.recovery_window
    }

    /// Delivers, once `offset` resolves and after this namespace's earlier such emits.
    pub(crate) fn deliver_recorded(
        &self,
        offset: BoxFuture<'static, Option<String>>,
        deliver: crate::recorded::Delivery,
    ) {
        self.recorded.push(&self.app, offset, deliver);
    }

    pub(crate) fn route(&self, event: &str) -> Option<&Arc<HandlerChain>> {
        self.parts.routes.get(event)
    }

    /// Holds a dynamic namespace for a connection on its way in; `false` once it is dropped.
    pub(crate) fn try_claim(&self) -> bool {
        let mut reg = self.write();
        if reg.retired {
            return false;
        }
        reg.claims += 1;
        true
    }

    /// Lets go of a [`try_claim`](Self::try_claim).
    pub(crate) fn unclaim(&self) {
        let mut reg = self.write();
        reg.claims = reg.claims.saturating_sub(1);
    }

    /// Retires the namespace if no socket is in it and none is on its way in.
    pub(crate) fn retire_if_unused(&self) -> bool {
        let mut reg = self.write();
        if reg.sockets.is_empty() && reg.claims == 0 {
            reg.retired = true;
        }
        reg.retired
    }

    /// Tells the adapter that `room` has its first member here (called under the lock, so
    /// that it hears of a room's creations and deletions in order).
    fn room_created(&self, room: &Room, own: bool) {
        if self.app.clustered {
            self.app.adapter.room_created(&self.name, room, own);
        }
    }

    /// Tells the adapter that `room` lost its last member here (under the lock, as above).
    fn room_deleted(&self, room: &Room, own: bool) {
        if self.app.clustered {
            self.app.adapter.room_deleted(&self.name, room, own);
        }
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
        if let Some(metrics) = self.metrics() {
            metrics.connected();
        }
        let own = Room::from(socket.id());
        let mut reg = self.write();
        let members = reg.rooms.entry(own.clone()).or_default();
        if members.is_empty() {
            self.room_created(&own, true);
        }
        members.insert(socket.id(), socket.clone());
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
            if remove_member(&mut reg.rooms, &room, id) {
                self.room_deleted(&room, room.as_str() == id.as_str());
            }
        }
    }

    pub(crate) fn join(&self, socket: &Socket, rooms: Vec<Room>) {
        let id = socket.id();
        let mut reg = self.write();
        let Registry {
            sockets,
            rooms: by_room,
            ..
        } = &mut *reg;
        let Some(entry) = sockets.get_mut(&id) else {
            return; // disconnected: joining would leak the membership
        };
        let max = self.app.config.max_rooms_per_socket;
        for room in rooms {
            if entry.rooms.len() >= max {
                tracing::warn!(gateway = self.gateway(), socket = %id, max, "rooms per socket bound reached: join ignored");
                break;
            }
            if !entry.rooms.contains(&room) {
                let members = by_room.entry(room.clone()).or_default();
                if members.is_empty() {
                    self.room_created(&room, false);
                }
                members.insert(id, socket.clone());
                entry.rooms.push(room);
            }
        }
    }

    pub(crate) fn leave(&self, id: SocketId, rooms: &[Room]) {
        let mut reg = self.write();
        let Registry {
            sockets,
            rooms: by_room,
            ..
        } = &mut *reg;
        let Some(entry) = sockets.get_mut(&id) else {
            return;
        };
        for room in rooms {
            if let Some(pos) = entry.rooms.iter().position(|r| r == room) {
                entry.rooms.swap_remove(pos);
                if remove_member(by_room, room, id) {
                    self.room_deleted(room, room.as_str() == id.as_str());
                }
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

    /// Every room, each socket's own-id room included.
    pub(crate) fn rooms(&self) -> Vec<Room> {
        self.read().rooms.keys().cloned().collect()
    }

    pub(crate) fn socket(&self, id: SocketId) -> Option<Socket> {
        self.read().sockets.get(&id).map(|e| e.socket.clone())
    }

    pub(crate) fn sockets(&self) -> Vec<Socket> {
        self.read()
            .sockets
            .values()
            .map(|e| e.socket.clone())
            .collect()
    }

    pub(crate) fn socket_count(&self) -> usize {
        self.read().sockets.len()
    }

    pub(crate) fn room_count(&self) -> usize {
        self.read().rooms.len()
    }

    pub(crate) fn room_size(&self, room: &Room) -> usize {
        self.read()
            .rooms
            .get(room)
            .map_or(0, |members| members.len())
    }

    /// Handles server-side `event` from other instances with `handler` (replacing any).
    pub(crate) fn set_server_event(&self, event: &str, handler: ServerEventHandler) {
        self.server_events
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(event.into(), handler);
    }

    pub(crate) fn server_event(&self, event: &str) -> Option<ServerEventHandler> {
        self.server_events
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(event)
            .cloned()
    }

    /// Calls `f` once for every socket `target` reaches. `f` must not block.
    pub(crate) fn for_each_recipient(&self, target: &Recipients, mut f: impl FnMut(&Socket)) {
        let reg = self.read();
        // The first left-out room (usually the only one: the sender's own) is looked up once for
        // the whole broadcast, without allocating.
        let (first, more) = match target.except.split_first() {
            Some((first, more)) => (reg.rooms.get(first), more),
            None => (None, &[][..]),
        };
        let excluded = |id: &SocketId| {
            first.is_some_and(|members| members.contains_key(id))
                || more.iter().any(|r| {
                    reg.rooms
                        .get(r)
                        .is_some_and(|members| members.contains_key(id))
                })
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

/// Removes `id` from `room`; true if that left the room empty (and it is gone).
fn remove_member(
    rooms: &mut HashMap<Room, foldhash::HashMap<SocketId, Socket>>,
    room: &Room,
    id: SocketId,
) -> bool {
    let Some(members) = rooms.get_mut(room) else {
        return false;
    };
    members.remove(&id);
    let emptied = members.is_empty();
    if emptied {
        rooms.remove(room);
    }
    emptied
}

impl fmt::Debug for NamespaceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NamespaceState")
            .field("name", &self.name())
            .finish()
    }
}
