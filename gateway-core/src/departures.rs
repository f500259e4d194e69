//! Who a new socket is ([`Identity`]), and the sockets a Socket.IO session's server side
//! disconnected from their namespace ([`Departures`]), for the session to remove.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

use crate::SocketId;

/// Who a new socket is (a new id, or the id of a recovered session), and for Socket.IO, how it
/// tells its session that the server disconnected it from its namespace.
pub(crate) struct Identity {
    pub(crate) id: SocketId,
    pub(crate) pid: Option<Box<str>>,
    pub(crate) recovered: bool,
    pub(crate) leave: Option<Departures>,
}

impl Identity {
    /// A new socket; `recoverable` gives it a private session id.
    pub(crate) fn new(recoverable: bool, leave: Option<Departures>) -> Self {
        Self {
            id: SocketId::random(),
            pid: recoverable.then(|| SocketId::random().to_string().into()),
            recovered: false,
            leave,
        }
    }
}

/// The sockets of a Socket.IO session that the server disconnected from their namespace, for
/// the session to remove (the connection stays). Allocates nothing until the first one.
#[derive(Clone, Default)]
pub(crate) struct Departures(Arc<DeparturesInner>);

#[derive(Default)]
struct DeparturesInner {
    ids: Mutex<VecDeque<SocketId>>,
    session: AtomicWaker,
}

impl Departures {
    pub(crate) fn push(&self, id: SocketId) {
        self.lock().push_back(id);
        self.0.session.wake();
    }

    /// The next socket that left, in order.
    pub(crate) fn poll_next(&self, cx: &mut Context<'_>) -> Poll<SocketId> {
        if let Some(id) = self.lock().pop_front() {
            return Poll::Ready(id);
        }
        self.0.session.register(cx.waker());
        // Checked again: an id pushed before the registration woke nobody.
        match self.lock().pop_front() {
            Some(id) => Poll::Ready(id),
            None => Poll::Pending,
        }
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<SocketId>> {
        // Each step leaves the queue consistent: a poisoned lock is usable.
        self.0.ids.lock().unwrap_or_else(|e| e.into_inner())
    }
}
