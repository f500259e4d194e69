//! What client addresses hold at once: connections and long-polling sessions, bounded so that
//! one address cannot take the server's capacity from the others.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::connection_rate::ConnectionRate;

/// The bounds (see the `GatewayAppBuilder` methods that set them).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientLimits {
    /// Connections (WebSockets and long-polling sessions) per address; `None`: no bound.
    pub(crate) connections_per_address: Option<usize>,
    /// Long-polling sessions at once, in all.
    pub(crate) polling_sessions: usize,
    /// Long-polling sessions at once, per address.
    pub(crate) polling_sessions_per_address: usize,
    /// New connections per address in a period; `None`: no bound.
    pub(crate) connection_rate: Option<(u32, Duration)>,
}

impl Default for ClientLimits {
    fn default() -> Self {
        Self {
            connections_per_address: None,
            polling_sessions: 10_000,
            polling_sessions_per_address: 100,
            connection_rate: None,
        }
    }
}

/// What a client is admitted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Held {
    /// A WebSocket that starts a session (not the upgrade of a long-polling one).
    Connection,
    /// A long-polling session (a connection too).
    PollingSession,
}

/// Why a client was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Its address holds as many as it may.
    AddressFull,
    /// The server holds as many long-polling sessions as it may.
    ServerFull,
    /// Its address opened connections faster than it may.
    TooFast,
}

/// The connections and sessions held, by address.
#[derive(Debug, Default)]
pub(crate) struct Clients {
    limits: ClientLimits,
    rate: Option<ConnectionRate>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    by_address: HashMap<IpAddr, Count>,
    polling_sessions: usize,
}

#[derive(Debug, Default, Clone, Copy)]
struct Count {
    connections: usize,
    polling_sessions: usize,
}

impl Clients {
    pub(crate) fn new(limits: ClientLimits) -> Self {
        Self {
            limits,
            rate: limits
                .connection_rate
                .map(|(attempts, period)| ConnectionRate::new(attempts, period)),
            state: Mutex::default(),
        }
    }

    /// Admits a new connection from a client at `address` for `held`, or says why not. The
    /// slot gives it back when dropped. An unspecified address (a server that does not say who
    /// its clients are) is bounded only in all.
    pub(crate) fn admit(self: &Arc<Self>, address: IpAddr, held: Held) -> Result<Slot, Refusal> {
        let polling = held == Held::PollingSession;
        let per_address = !address.is_unspecified();
        if let Some(rate) = self.rate.as_ref().filter(|_| per_address) {
            if !rate.attempt(address, Instant::now()) {
                return Err(Refusal::TooFast);
            }
        }
        if !polling && (self.limits.connections_per_address.is_none() || !per_address) {
            // Nothing bounds it: no lock, no count (every WebSocket comes through here).
            return Ok(Slot::default());
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if polling && state.polling_sessions >= self.limits.polling_sessions {
            return Err(Refusal::ServerFull);
        }
        if per_address {
            let count = state.by_address.get(&address).copied().unwrap_or_default();
            let too_many_connections = self
                .limits
                .connections_per_address
                .is_some_and(|max| count.connections >= max);
            let too_many_sessions =
                polling && count.polling_sessions >= self.limits.polling_sessions_per_address;
            if too_many_connections || too_many_sessions {
                return Err(Refusal::AddressFull);
            }
            let count = state.by_address.entry(address).or_default();
            count.connections += 1;
            count.polling_sessions += usize::from(polling);
        }
        state.polling_sessions += usize::from(polling);
        Ok(Slot {
            held: Some((self.clone(), per_address.then_some(address), polling)),
        })
    }

    fn release(&self, address: Option<IpAddr>, polling: bool) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.polling_sessions -= usize::from(polling);
        let Some(address) = address else { return };
        if let Some(count) = state.by_address.get_mut(&address) {
            count.connections -= 1;
            count.polling_sessions -= usize::from(polling);
            if count.connections == 0 {
                state.by_address.remove(&address);
            }
        }
    }
}

/// A connection or session held by a client; given back when dropped. Empty when nothing
/// counts it.
#[derive(Debug, Default)]
pub(crate) struct Slot {
    held: Option<(Arc<Clients>, Option<IpAddr>, bool)>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some((clients, address, polling)) = self.held.take() {
            clients.release(address, polling);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn bounds_per_address_and_in_all_and_gives_back_on_drop() {
        let clients = Arc::new(Clients::new(ClientLimits {
            connections_per_address: Some(2),
            polling_sessions: 3,
            polling_sessions_per_address: 1,
            connection_rate: None,
        }));
        let a = clients.admit(ip(1), Held::Connection).unwrap();
        let b = clients.admit(ip(1), Held::Connection).unwrap();
        assert_eq!(
            clients.admit(ip(1), Held::Connection).unwrap_err(),
            Refusal::AddressFull
        );
        drop(a);
        let _c = clients.admit(ip(1), Held::Connection).unwrap();
        drop(b);

        let _p = clients.admit(ip(2), Held::PollingSession).unwrap();
        assert_eq!(
            clients.admit(ip(2), Held::PollingSession).unwrap_err(),
            Refusal::AddressFull
        );
        let _q = clients.admit(ip(3), Held::PollingSession).unwrap();
        let _r = clients.admit(ip(4), Held::PollingSession).unwrap();
        assert_eq!(
            clients.admit(ip(5), Held::PollingSession).unwrap_err(),
            Refusal::ServerFull
        );
    }

    #[test]
    fn an_unknown_address_is_bounded_only_in_all() {
        let clients = Arc::new(Clients::new(ClientLimits {
            connections_per_address: Some(1),
            polling_sessions: 2,
            polling_sessions_per_address: 1,
            connection_rate: None,
        }));
        let unknown = IpAddr::from([0, 0, 0, 0]);
        let _a = clients.admit(unknown, Held::Connection).unwrap();
        let _b = clients.admit(unknown, Held::Connection).unwrap();
        let _p = clients.admit(unknown, Held::PollingSession).unwrap();
        let _q = clients.admit(unknown, Held::PollingSession).unwrap();
        assert_eq!(
            clients.admit(unknown, Held::PollingSession).unwrap_err(),
            Refusal::ServerFull
        );
    }
}
