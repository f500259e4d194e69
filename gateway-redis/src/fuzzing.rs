//! What the fuzz target of the Redis adapter calls (cargo feature `fuzzing`; not public API).

use std::sync::{Arc, OnceLock};

use crate::driver::{Driver, Incoming};
use crate::running::RunningAdapter;

/// Messages handed to a started adapter as if another instance had published them, handled
/// as the subscriber task handles them.
pub struct InboundProbe<D>(Arc<OnceLock<RunningAdapter<D>>>);

impl<D: Driver> InboundProbe<D> {
    pub(crate) fn new(running: Arc<OnceLock<RunningAdapter<D>>>) -> Self {
        Self(running)
    }

    /// Handles `message`; nothing happens before the app has started.
    pub fn receive(&self, message: Incoming) {
        if let Some(running) = self.0.get() {
            running.receive(message);
        }
    }
}

impl<D> std::fmt::Debug for InboundProbe<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InboundProbe")
    }
}
