//! The runtime context: what every namespace, connection and session of one app shares (limits,
//! shutdown signals, tasks, the adapter). A leaf: it knows nothing of how it is served.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::adapter::Adapter;
use crate::clients::{ClientLimits, Clients};
use crate::deflate::PerMessageDeflate;
use crate::engineio::polling::PollingSessions;
use crate::event_bus::SubscriptionId;
use crate::state::AppState;

/// Limits and timeouts shared by every connection.
#[derive(Debug, Clone)]
pub(crate) struct AppConfig {
    pub(crate) max_message_size: usize,
    pub(crate) read_buffer_size: usize,
    pub(crate) send_queue_capacity: usize,
    pub(crate) max_queued_bytes: usize,
    pub(crate) shutdown_timeout: Duration,
    /// How long a client may take to send its HTTP request head (`listen()`).
    pub(crate) handshake_timeout: Duration,
    /// The most bytes an HTTP request head may take (`listen()`).
    pub(crate) max_header_bytes: usize,
    /// The most headers an HTTP request may have (`listen()`).
    pub(crate) max_headers: usize,
    /// The `listen(2)` backlog (`listen()`); `None`: the system's bound.
    pub(crate) listen_backlog: Option<u32>,
    /// Listeners per port, with `SO_REUSEPORT` when more than one (`listen()`).
    pub(crate) reuse_port_listeners: usize,
    /// What client addresses may hold at once, and how fast they may connect.
    pub(crate) client_limits: ClientLimits,
    /// Proxies whose `X-Forwarded-For` names the client (none by default).
    pub(crate) trusted_proxies: Vec<std::net::IpAddr>,
    /// Most binary attachments one Socket.IO packet may announce.
    pub(crate) max_attachments: usize,
    /// Most rooms one socket may be in, its own included.
    pub(crate) max_rooms_per_socket: usize,
    pub(crate) ping_interval: Duration,
    pub(crate) ping_timeout: Duration,
    pub(crate) socketio_path: String,
    pub(crate) connect_timeout: Duration,
    /// How long a dropped Socket.IO session can be recovered, when recovery is on.
    pub(crate) recovery_window: Option<Duration>,
    /// Whether namespaces record metrics (`with_metrics`).
    pub(crate) metrics: bool,
    /// permessage-deflate, when the app allows it (`with_per_message_deflate`).
    pub(crate) per_message_deflate: Option<PerMessageDeflate>,
    /// Where a bare Engine.IO echo is served (conformance testing only).
    #[cfg(feature = "conformance")]
    pub(crate) engine_io_echo_path: Option<String>,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            max_message_size: 1_000_000,
            read_buffer_size: 4 * 1024,
            send_queue_capacity: 1024,
            max_queued_bytes: 16 << 20,
            shutdown_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            max_headers: 100,
            listen_backlog: None,
            reuse_port_listeners: 1,
            client_limits: ClientLimits::default(),
            trusted_proxies: Vec::new(),
            max_attachments: crate::protocol::socketio::MAX_ATTACHMENTS,
            max_rooms_per_socket: 1_000,
            ping_interval: Duration::from_secs(25),
            ping_timeout: Duration::from_secs(20),
            socketio_path: "/socket.io/".to_owned(),
            connect_timeout: Duration::from_secs(45),
            recovery_window: None,
            metrics: false,
            per_message_deflate: None,
            #[cfg(feature = "conformance")]
            engine_io_echo_path: None,
        }
    }
}

/// What every namespace and connection of one app shares.
pub(crate) struct Runtime {
    pub(crate) state: AppState,
    pub(crate) config: AppConfig,
    /// Graceful shutdown: finish the message in hand, close with 1001.
    pub(crate) shutdown: CancellationToken,
    /// The shutdown timeout passed: drop what is still running.
    pub(crate) hard_stop: CancellationToken,
    pub(crate) tasks: TaskTracker,
    /// Socket.IO sessions on HTTP long-polling, by sid.
    pub(crate) polling: PollingSessions,
    /// The connections and long-polling sessions each client address holds.
    pub(crate) clients: Arc<Clients>,
    /// Carries broadcasts and cluster-wide operations to the other instances.
    pub(crate) adapter: Arc<dyn Adapter>,
    /// Whether an adapter was given: without one, broadcasts skip it (and the cost of telling
    /// it who the recipients are).
    pub(crate) clustered: bool,
    /// Where the gateways' `#[on_event]` handlers subscribe, if the app was given a bus.
    pub(crate) event_bus: Option<crate::EventBus>,
    /// The subscriptions made when the app started, ended at shutdown.
    pub(crate) event_subscriptions: Mutex<Vec<SubscriptionId>>,
}
