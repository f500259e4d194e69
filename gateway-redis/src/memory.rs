//! [`MemoryBroker`] and [`MemoryDriver`]: Redis pub/sub in process, for multi-instance tests
//! without a Redis server.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use tokio::sync::mpsc;

use crate::driver::{Driver, DriverError, Incoming};

/// Messages buffered per subscriber; a subscriber that falls further behind is disconnected,
/// as Redis disconnects a pub/sub client over its output buffer limit.
const SUBSCRIBER_BUFFER: usize = 4096;

/// An in-process stand-in for a Redis server's pub/sub: instances whose adapters use drivers
/// of the same broker see each other. It can be taken down and brought back, like a server.
///
/// ```
/// use gateway_redis::{MemoryBroker, RedisAdapter};
/// let broker = MemoryBroker::new();
/// let first = RedisAdapter::with_driver(broker.driver());
/// let second = RedisAdapter::with_driver(broker.driver());
/// ```
#[derive(Clone, Default)]
pub struct MemoryBroker(Arc<Mutex<Broker>>);

#[derive(Default)]
struct Broker {
    down: bool,
    subscribers: Vec<Subscriber>,
}

struct Subscriber {
    channels: HashSet<String>,
    patterns: Vec<String>,
    tx: mpsc::Sender<Incoming>,
}

impl Subscriber {
    fn wants(&self, channel: &str) -> bool {
        self.channels.contains(channel) || self.patterns.iter().any(|p| glob_match(p, channel))
    }
}

impl MemoryBroker {
    /// A broker with no subscribers.
    pub fn new() -> Self {
        Self::default()
    }

    /// A driver connected to this broker.
    pub fn driver(&self) -> MemoryDriver {
        MemoryDriver(self.clone())
    }

    /// Simulates the server going away: every subscription ends and every operation fails
    /// until [`start`](Self::start).
    ///
    /// ```
    /// let broker = gateway_redis::MemoryBroker::new();
    /// broker.stop();
    /// broker.start();
    /// ```
    pub fn stop(&self) {
        let mut broker = self.lock();
        broker.down = true;
        broker.subscribers.clear();
    }

    /// Brings the server back after [`stop`](Self::stop).
    pub fn start(&self) {
        self.lock().down = false;
    }

    fn lock(&self) -> MutexGuard<'_, Broker> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn up(&self) -> Result<MutexGuard<'_, Broker>, DriverError> {
        let broker = self.lock();
        if broker.down {
            return Err(DriverError::new(
                "connection refused (memory broker stopped)",
            ));
        }
        Ok(broker)
    }
}

impl std::fmt::Debug for MemoryBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let broker = self.lock();
        f.debug_struct("MemoryBroker")
            .field("down", &broker.down)
            .field("subscribers", &broker.subscribers.len())
            .finish()
    }
}

/// A [`Driver`] on a [`MemoryBroker`] (see the [`Driver`] example).
///
/// ```
/// let driver: gateway_redis::MemoryDriver = gateway_redis::MemoryBroker::new().driver();
/// ```
#[derive(Clone, Debug)]
pub struct MemoryDriver(MemoryBroker);

impl Driver for MemoryDriver {
    fn subscribe(
        &self,
        channels: Vec<String>,
        patterns: Vec<String>,
    ) -> BoxFuture<'_, Result<mpsc::Receiver<Incoming>, DriverError>> {
        let result = self.0.up().map(|mut broker| {
            let (tx, rx) = mpsc::channel(SUBSCRIBER_BUFFER);
            broker.subscribers.push(Subscriber {
                channels: channels.into_iter().collect(),
                patterns,
                tx,
            });
            rx
        });
        Box::pin(async move { result })
    }

    fn publish(&self, messages: Vec<(String, Bytes)>) -> BoxFuture<'_, Result<(), DriverError>> {
        let result = self.0.up().map(|mut broker| {
            for (channel, payload) in messages {
                // A closed or overflowing subscriber is disconnected.
                broker.subscribers.retain(|sub| {
                    !sub.wants(&channel)
                        || sub
                            .tx
                            .try_send(Incoming {
                                channel: channel.clone(),
                                payload: payload.clone(),
                            })
                            .is_ok()
                });
            }
        });
        Box::pin(async move { result })
    }

    fn num_sub(&self, channel: String) -> BoxFuture<'_, Result<usize, DriverError>> {
        let result = self.0.up().map(|broker| {
            broker
                .subscribers
                .iter()
                .filter(|s| !s.tx.is_closed() && s.channels.contains(&channel))
                .count()
        });
        Box::pin(async move { result })
    }
}

/// Redis glob matching: `*`, `?` and `\x` escapes (character classes are not needed here).
fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                backtrack = Some((pi, ti));
                pi += 1;
                continue;
            }
            Some('?') => {
                pi += 1;
                ti += 1;
                continue;
            }
            Some('\\') if p.get(pi + 1) == Some(&t[ti]) => {
                pi += 2;
                ti += 1;
                continue;
            }
            Some(c) if *c != '\\' && *c == t[ti] => {
                pi += 1;
                ti += 1;
                continue;
            }
            _ => {}
        }
        match backtrack {
            Some((star, matched)) => {
                pi = star + 1;
                ti = matched + 1;
                backtrack = Some((star, matched + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("socket.io#/#*", "socket.io#/#"));
        assert!(glob_match("socket.io#/#*", "socket.io#/#room1#"));
        assert!(!glob_match("socket.io#/#*", "socket.io#/chat#"));
        assert!(glob_match("a?c", "abc"));
        assert!(glob_match("a\\*c*", "a*cd"));
        assert!(!glob_match("a\\*c", "abc"));
    }
}
