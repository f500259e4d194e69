//! [`Upgrade`]: what serves a connection once its `101 Switching Protocols` is written.
//!
//! [`accept`](crate::accept) decides; the server that owns the connection runs the result:
//! `listen()`'s [`direct`](crate::direct) path in the connection's own task on the TCP stream it
//! already holds, or a tower service (under hyper) in a task that waits for hyper to hand the
//! upgraded stream over.

use bytes::Bytes;
use futures_util::future::BoxFuture;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::task::task_tracker::TrackedFuture;
use tokio_util::task::TaskTracker;

use crate::deflate::offer::Agreement;
use crate::read_ahead::TUNGSTENITE_READ_SIZE;
use crate::runtime::Runtime;
use crate::stream;
use crate::ws_io::WsConn;

/// The socket's life on the upgraded connection.
type Serve = Box<dyn FnOnce(WsConn) -> BoxFuture<'static, ()> + Send>;

/// A socket being served, as a future of a few words.
pub(crate) type Serving = TrackedFuture<BoxFuture<'static, ()>>;

/// An accepted WebSocket upgrade: how to serve the connection after the `101`.
pub(crate) struct Upgrade {
    serve: Serve,
    config: WebSocketConfig,
    /// permessage-deflate, when the `101` agreed to it.
    deflate: Option<Agreement>,
    read_chunk: usize,
    tasks: TaskTracker,
}

impl Upgrade {
    /// An upgrade whose connection `serve` serves, with `shared`'s frame limits and read size.
    pub(crate) fn new<F, Fut>(shared: &Runtime, serve: F) -> Self
    where
        F: FnOnce(WsConn) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        Self {
            serve: Box::new(move |conn| Box::pin(serve(conn))),
            config: WebSocketConfig::default()
                .read_buffer_size(TUNGSTENITE_READ_SIZE)
                .max_message_size(Some(shared.config.max_message_size))
                .max_frame_size(Some(shared.config.max_message_size)),
            deflate: None,
            read_chunk: shared.config.read_buffer_size,
            tasks: shared.tasks.clone(),
        }
    }

    /// The connection compresses as agreed (`None`: not at all).
    pub(crate) fn with_deflate(mut self, deflate: Option<Agreement>) -> Self {
        self.deflate = deflate;
        self
    }

    /// The socket's life on `tcp` (`read_past`: what was read after the request head), to run
    /// in the connection's own task. Tracked, so a graceful shutdown waits for the socket.
    pub(crate) fn serve_tcp(self, tcp: TcpStream, read_past: Bytes) -> Serving {
        let (read, write) = stream::split_tcp(tcp, read_past, self.read_chunk);
        let conn = WsConn::new(read, write, self.config, self.deflate);
        self.tasks.track_future((self.serve)(conn))
    }

    /// Serves the connection in a tracked task, once hyper hands the upgraded stream over.
    pub(crate) fn spawn_after(self, on_upgrade: hyper::upgrade::OnUpgrade) {
        let tasks = self.tasks.clone();
        tasks.spawn(async move {
            let upgraded = match on_upgrade.await {
                Ok(upgraded) => upgraded,
                Err(err) => return tracing::debug!(error = %err, "upgrade failed"),
            };
            let (read, write) = stream::split(upgraded, self.read_chunk);
            (self.serve)(WsConn::new(read, write, self.config, self.deflate)).await;
        });
    }
}
