//! The bounds on what clients may take: message and queue sizes, the HTTP request head,
//! connections and sessions per address, attachments and rooms. Each is a
//! [`GatewayAppBuilder`] method with a safe default (the README's "Limits" table).

use std::time::Duration;

use crate::GatewayAppBuilder;

impl GatewayAppBuilder {
    /// The largest message a client may send, in bytes (default 1,000,000, socket.io's
    /// `maxHttpBufferSize`). A larger message closes the connection with code 1009.
    ///
    /// ```
    /// let builder = gateway_core::GatewayApp::builder().with_max_message_size(64 * 1024);
    /// ```
    pub fn with_max_message_size(mut self, bytes: usize) -> Self {
        self.config.max_message_size = bytes;
        self
    }

    /// The most a connection reads from its socket at once (default 4 KiB). The buffer exists
    /// only while it holds unread bytes, so idle connections do not keep it; larger values mean
    /// fewer syscalls for big messages.
    ///
    /// ```
    /// let builder = gateway_core::GatewayApp::builder().with_read_buffer_size(16 * 1024);
    /// ```
    pub fn with_read_buffer_size(mut self, bytes: usize) -> Self {
        self.config.read_buffer_size = bytes;
        self
    }

    /// How many frames may wait in one connection's send queue (default 1024). Past it, the
    /// client is disconnected as too slow, or the frame dropped (see
    /// [`FullQueue`](crate::FullQueue)).
    ///
    /// ```
    /// let builder = gateway_core::GatewayApp::builder().with_send_queue_capacity(256);
    /// ```
    pub fn with_send_queue_capacity(mut self, frames: usize) -> Self {
        self.config.send_queue_capacity = frames;
        self
    }

    /// How many bytes may wait in one connection's send queue (default 16 MiB). Past it, the
    /// client is disconnected as too slow, or the frame dropped (see
    /// [`FullQueue`](crate::FullQueue)).
    ///
    /// ```
    /// let builder = gateway_core::GatewayApp::builder().with_max_queued_bytes(1 << 20);
    /// ```
    pub fn with_max_queued_bytes(mut self, bytes: usize) -> Self {
        self.config.max_queued_bytes = bytes;
        self
    }

    /// How long a client may take to send its HTTP request head, from the moment it connects
    /// (default 10 s). A connection that sends nothing, or part of a request and stalls
    /// (slowloris), is closed then. Applies to [`listen`](crate::GatewayApp::listen); a server that
    /// mounts the service sets its own.
    ///
    /// ```
    /// let builder = gateway_core::GatewayApp::builder().with_handshake_timeout(std::time::Duration::from_secs(5));
    /// ```
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.config.handshake_timeout = timeout;
        self
    }

    /// The most bytes an HTTP request head may take (default 16 KiB, as Node's
    /// `--max-http-header-size`; at least 8 KiB). A bigger one is answered 431. Applies to
    /// [`listen`](crate::GatewayApp::listen).
    ///
    /// ```
    /// let builder = gateway_core::GatewayApp::builder().with_max_header_bytes(32 * 1024);
    /// ```
    pub fn with_max_header_bytes(mut self, bytes: usize) -> Self {
        self.config.max_header_bytes = bytes.max(8 * 1024);
        self
    }

    /// The most headers an HTTP request may have (default 100). More are answered 431. Applies
    /// to [`listen`](crate::GatewayApp::listen).
    ///
    /// ```
    /// let builder = gateway_core::GatewayApp::builder().with_max_headers(50);
    /// ```
    pub fn with_max_headers(mut self, count: usize) -> Self {
        self.config.max_headers = count;
        self
    }

    /// The most connections (WebSockets and long-polling sessions, both formats) one client
    /// address may hold at once (default: no bound). Over it, the upgrade or the long-polling
    /// handshake is answered 429. The address is the TCP peer's (under axum, its
    /// `ConnectInfo<SocketAddr>` with the `axum` feature; without one, no per-address bound
    /// applies); behind a proxy, every client has the proxy's address unless the proxy is
    /// trusted ([`with_trusted_proxies`](Self::with_trusted_proxies)).
    ///
    /// ```
    /// let builder = gateway_core::GatewayApp::builder().with_max_connections_per_address(50);
    /// ```
    pub fn with_max_connections_per_address(mut self, connections: usize) -> Self {
        self.config.client_limits.connections_per_address = Some(connections);
        self
    }

    /// How fast one client address may open connections: at most `attempts` (at least 1) new
    /// connections (WebSockets and long-polling sessions, both formats) in any `period`,
    /// regained continuously (default: no bound). Over it, the upgrade or the long-polling
    /// handshake is answered 429. The upgrade of a long-polling session and the requests of an
    /// open session are not new connections. IPv6 clients are counted per /64 prefix. Up to
    /// 100,000 addresses are tracked at once; past that, every address starts afresh. Behind a
    /// proxy, see [`with_trusted_proxies`](Self::with_trusted_proxies).
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = gateway_core::GatewayApp::builder()
    ///     .with_max_connection_rate_per_address(20, Duration::from_secs(10));
    /// ```
    pub fn with_max_connection_rate_per_address(mut self, attempts: u32, period: Duration) -> Self {
        self.config.client_limits.connection_rate = Some((attempts, period));
        self
    }

    /// The proxies (load balancers) in front of the server whose `X-Forwarded-For` header is
    /// believed (default: none, the header is ignored). When a request comes from one of them,
    /// the client's address is the right-most address in the header that is not one of them;
    /// the per-address bounds apply to it, and [`Handshake::client_ip`](crate::Handshake::client_ip)
    /// reports it. Never list an address a client can connect from: it could then name any
    /// address it likes.
    ///
    /// ```
    /// use std::net::IpAddr;
    /// let builder = gateway_core::GatewayApp::builder()
    ///     .with_trusted_proxies([IpAddr::from([10, 0, 0, 1])])
    ///     .with_max_connections_per_address(50);
    /// ```
    pub fn with_trusted_proxies(
        mut self,
        proxies: impl IntoIterator<Item = std::net::IpAddr>,
    ) -> Self {
        self.config.trusted_proxies = proxies.into_iter().collect();
        self
    }

    /// The most long-polling sessions at once, in all (default 10,000; over it, 503) and per
    /// client address (default 100; over it, 429). A session that upgrades to a WebSocket
    /// keeps its place until it ends.
    ///
    /// ```
    /// let builder = gateway_core::GatewayApp::builder().with_max_polling_sessions(1_000, 10);
    /// ```
    pub fn with_max_polling_sessions(mut self, in_all: usize, per_address: usize) -> Self {
        self.config.client_limits.polling_sessions = in_all;
        self.config.client_limits.polling_sessions_per_address = per_address;
        self
    }

    /// The most binary attachments one Socket.IO packet may announce (default 10, as
    /// socket.io-parser's `maxAttachments`). A packet announcing more closes the session as a
    /// parse error, as socket.io does; each attachment is bounded by the message size.
    ///
    /// ```
    /// let builder = gateway_core::GatewayApp::builder().with_max_attachments(4);
    /// ```
    pub fn with_max_attachments(mut self, attachments: usize) -> Self {
        self.config.max_attachments = attachments;
        self
    }

    /// The most rooms one socket may be in, its own room included (default 1,000). Joins past
    /// it are ignored and logged, so a handler that joins rooms a client names cannot be made
    /// to grow the registry without bound.
    ///
    /// ```
    /// let builder = gateway_core::GatewayApp::builder().with_max_rooms_per_socket(100);
    /// ```
    pub fn with_max_rooms_per_socket(mut self, rooms: usize) -> Self {
        self.config.max_rooms_per_socket = rooms.max(1);
        self
    }
}
