//! The listening sockets of [`listen`](crate::GatewayApp::listen): their backlog, and several
//! listeners on one port (`SO_REUSEPORT`) so that accepting can run on several cores.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpSocket, ToSocketAddrs};

use crate::runtime::AppConfig;
use crate::GatewayAppBuilder;

/// The backlog when the system's bound cannot be read: more than the 128 of tokio's and std's
/// `bind`, for storms; the kernel caps it anyway.
const FALLBACK_BACKLOG: u32 = 1024;

impl GatewayAppBuilder {
    /// How many connections the kernel may hold for each listener before they are accepted
    /// (the `listen(2)` backlog). Default: the system's own bound, `net.core.somaxconn` (4096 on
    /// current Linux), which also caps any larger value. A reconnect storm past it sees its
    /// connection attempts dropped and retried by the clients' kernels, a second later.
    ///
    /// ```
    /// let builder = gateway_core::GatewayApp::builder().with_listen_backlog(8192);
    /// ```
    pub fn with_listen_backlog(mut self, connections: u32) -> Self {
        self.config.listen_backlog = Some(connections);
        self
    }

    /// Accepts on `listeners` sockets bound to the same port with `SO_REUSEPORT` (Linux), each
    /// with its own accept loop, the kernel spreading new connections over them: accepting and
    /// the handshakes then run on several cores at once (default 1: one listener). Applies to
    /// ports [`listen`](crate::GatewayApp::listen) binds, not to one given with
    /// [`with_listener`](Self::with_listener).
    ///
    /// ```
    /// let builder = gateway_core::GatewayApp::builder().with_reuse_port_listeners(2);
    /// ```
    pub fn with_reuse_port_listeners(mut self, listeners: usize) -> Self {
        self.config.reuse_port_listeners = listeners.max(1);
        self
    }
}

/// Binds the first of `addrs` that can be bound: one listener, or the configured number on the
/// same port.
pub(crate) async fn bind(
    addrs: impl ToSocketAddrs,
    config: &AppConfig,
) -> io::Result<Vec<TcpListener>> {
    let mut last_error = None;
    for addr in tokio::net::lookup_host(addrs).await? {
        match bind_addr(addr, config) {
            Ok(listeners) => return Ok(listeners),
            Err(err) => last_error = Some(err),
        }
    }
    Err(last_error
        .unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to listen on")))
}

fn bind_addr(addr: SocketAddr, config: &AppConfig) -> io::Result<Vec<TcpListener>> {
    let backlog = config.listen_backlog.unwrap_or_else(system_backlog);
    let count = config.reuse_port_listeners;
    let first = listen_on(addr, backlog, count > 1)?;
    // Port 0 picks a port once: the others join the first one's.
    let addr = first.local_addr()?;
    let mut listeners = vec![first];
    for _ in 1..count {
        listeners.push(listen_on(addr, backlog, true)?);
    }
    Ok(listeners)
}

fn listen_on(addr: SocketAddr, backlog: u32, reuse_port: bool) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // As tokio's `TcpListener::bind`: a restarted server can bind while old connections linger.
    socket.set_reuseaddr(true)?;
    if reuse_port {
        socket.set_reuseport(true)?;
    }
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// `net.core.somaxconn`: the kernel caps every backlog at it.
fn system_backlog() -> u32 {
    std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(FALLBACK_BACKLOG)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reuse_port_listeners_share_one_port() {
        let config = AppConfig {
            reuse_port_listeners: 3,
            ..AppConfig::default()
        };
        let listeners = bind("127.0.0.1:0", &config).await.unwrap();
        assert_eq!(listeners.len(), 3);
        let port = listeners[0].local_addr().unwrap().port();
        assert!(listeners
            .iter()
            .all(|l| l.local_addr().unwrap().port() == port));
    }

    #[test]
    fn the_default_backlog_is_the_systems() {
        assert!(system_backlog() >= 128);
    }
}
