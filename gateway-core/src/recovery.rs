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

use crate::broadcast::Target;
use crate::outbox::OutFrame;
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
    target: Target,
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
        target: &Target,
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
        // The client's last event must still be kept (or be the newest), or some were lost.
        let known =
            offset + 1 == state.next_offset || state.events.iter().any(|e| e.offset == offset);
        if !fresh || !known {
            return None;
        }
        let session = state.sessions.remove(pid)?;
        let (sid, rooms) = (session.sid, session.rooms.clone());
        let socket = attach(session);
        for event in state.events.iter().filter(|e| e.offset > offset) {
            if event.target.reaches(sid, &rooms) {
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
