//! Connection state recovery (socket.io 4.6+ `connectionStateRecovery`), per namespace.
//!
//! Every event sent to Socket.IO clients carries an offset as its last argument and is kept for
//! the recovery window. A socket that drops without saying goodbye leaves its session (id,
//! rooms, data) behind under a private id, `pid`. A client reconnecting within the window sends
//! `{pid, offset}` in its CONNECT: it gets its id, rooms and data back, then the events it
//! missed after `offset`.
//!
//! Recording an event and delivering it happen under one lock, as does restoring a session:
//! a restored socket sees each event once, live or replayed, in order.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::outbox::OutFrame;
use crate::recipients::Recipients;
use crate::state::DataMap;
use crate::{Room, SocketId};

/// The recovery state of one namespace.
pub(crate) struct Recovery {
    window: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    next_offset: u64,
    /// Events sent within the window, oldest first.
    events: VecDeque<Recorded>,
    /// Sessions of sockets that dropped, by private id.
    sessions: HashMap<String, Persisted>,
}

struct Recorded {
    offset: u64,
    at: Instant,
    target: Recipients,
    /// The Socket.IO frame, offset included.
    frame: OutFrame,
}

/// What a dropped socket leaves behind.
pub(crate) struct Persisted {
    pub(crate) sid: SocketId,
    pub(crate) rooms: Vec<Room>,
    pub(crate) data: DataMap,
    at: Instant,
}

impl Recovery {
    pub(crate) fn new(window: Duration) -> Self {
        Self {
            window,
            state: Mutex::default(),
        }
    }

    /// Records an event for `target` and delivers it, under the lock: `frame` builds its
    /// Socket.IO frame from the offset, `deliver` queues it to the current recipients.
    pub(crate) fn emit<R>(
        &self,
        target: &Recipients,
        frame: impl FnOnce(&str) -> OutFrame,
        deliver: impl FnOnce(&OutFrame) -> R,
    ) -> R {
        let mut state = self.lock();
        let now = Instant::now();
        while state
            .events
            .front()
            .is_some_and(|e| now.duration_since(e.at) > self.window)
        {
            state.events.pop_front();
        }
        let offset = state.next_offset;
        state.next_offset += 1;
        let frame = frame(&offset.to_string());
        let delivered = deliver(&frame);
        state.events.push_back(Recorded {
            offset,
            at: now,
            target: target.clone(),
            frame,
        });
        delivered
    }

    /// Keeps a dropped socket's session for the window.
    pub(crate) fn persist(&self, pid: &str, sid: SocketId, rooms: Vec<Room>, data: DataMap) {
        let mut state = self.lock();
        let now = Instant::now();
        let window = self.window;
        state
            .sessions
            .retain(|_, s| now.duration_since(s.at) <= window);
        state.sessions.insert(
            pid.to_owned(),
            Persisted {
                sid,
                rooms,
                data,
                at: now,
            },
        );
    }

    /// Restores session `pid` if it is within the window and the events after `offset` are
    /// all still kept: `attach` brings the socket back (registered, in its rooms, its CONNECT
    /// queued), then the events it missed are queued, all under the lock. `None` leaves
    /// nothing changed.
    pub(crate) fn restore<S>(
        &self,
        pid: &str,
        offset: &str,
        attach: impl FnOnce(Persisted) -> S,
        replay: impl Fn(&S, &OutFrame),
    ) -> Option<S> {
        let offset: u64 = offset.parse().ok()?;
        let mut state = self.lock();
        let now = Instant::now();
        let fresh = state
            .sessions
            .get(pid)
            .is_some_and(|s| now.duration_since(s.at) <= self.window);
        // Recorded offsets are contiguous, `first..next_offset`. Every event after the client's
        // last one must still be kept, or some were lost. (Compared first: `offset` is the
        // client's and may be anything.)
        let first = state.events.front().map_or(state.next_offset, |e| e.offset);
        let known = offset < state.next_offset && offset + 1 >= first;
        if !fresh || !known {
            return None;
        }
        let session = state.sessions.remove(pid)?;
        // The recorded rooms hold the socket's own room (a recipient test needs it), once.
        let mut rooms = session.rooms.clone();
        let own = Room::from(session.sid);
        if !rooms.contains(&own) {
            rooms.push(own);
        }
        let socket = attach(session);
        let already_seen = usize::try_from(offset + 1 - first).unwrap_or(usize::MAX);
        for event in state.events.iter().skip(already_seen) {
            if event.target.reaches(&rooms) {
                replay(&socket, &event.frame);
            }
        }
        Some(socket)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Every update leaves the state consistent: a poisoned lock is usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> OutFrame {
        OutFrame::Text(tokio_tungstenite::tungstenite::Utf8Bytes::from(
            s.to_owned(),
        ))
    }

    #[test]
    fn restores_from_any_kept_offset_and_refuses_the_rest() {
        let recovery = Recovery::new(Duration::from_secs(60));
        let everyone = Recipients::default();
        for n in 0..3 {
            recovery.emit(&everyone, |_| text(&n.to_string()), |_| ());
        }
        let sid = SocketId::random();
        let replayed = |offset: &str| {
            recovery.persist("pid", sid, vec![Room::from(sid)], DataMap::default());
            let seen = Mutex::new(Vec::new());
            let restored = recovery.restore(
                "pid",
                offset,
                |_| (),
                |_, frame| {
                    if let OutFrame::Text(t) = frame {
                        seen.lock().unwrap().push(t.as_str().to_owned());
                    }
                },
            );
            restored.map(|()| seen.into_inner().unwrap())
        };
        assert_eq!(replayed("0"), Some(vec!["1".to_owned(), "2".to_owned()]));
        assert_eq!(replayed("2"), Some(vec![]));
        for unknown in ["3", "18446744073709551615", "-1", "x"] {
            assert_eq!(replayed(unknown), None, "{unknown}");
        }
    }
}
