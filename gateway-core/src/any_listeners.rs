//! Catch-all listeners on one socket, socket.io's `onAny` and `onAnyOutgoing`: called with the
//! name and the data (JSON text) of every event the socket receives, or is sent.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

/// A catch-all listener: `(event, data as JSON text)`.
type AnyListener = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// A socket's catch-all listeners, created with the first one.
#[derive(Default)]
pub(crate) struct AnyListeners {
    incoming: Mutex<Vec<AnyListener>>,
    outgoing: Mutex<Vec<AnyListener>>,
}

impl AnyListeners {
    pub(crate) fn add_incoming(&self, listener: AnyListener) {
        lock(&self.incoming).push(listener);
    }

    pub(crate) fn add_outgoing(&self, listener: AnyListener) {
        lock(&self.outgoing).push(listener);
    }

    /// Calls every incoming listener with a received event.
    pub(crate) fn received(&self, event: &str, data: &str) {
        call_all(&self.incoming, event, data, "on_any");
    }

    /// Calls every outgoing listener with an event sent to the socket.
    pub(crate) fn sent(&self, event: &str, data: &str) {
        call_all(&self.outgoing, event, data, "on_any_outgoing");
    }
}

/// Calls the listeners of `list` (a copy of it: a listener may add another); one that panics
/// is logged, and the others still run.
fn call_all(list: &Mutex<Vec<AnyListener>>, event: &str, data: &str, kind: &'static str) {
    let listeners = lock(list).clone();
    for listener in listeners {
        if std::panic::catch_unwind(AssertUnwindSafe(|| listener(event, data))).is_err() {
            tracing::error!(event, "an {kind} listener panicked");
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
