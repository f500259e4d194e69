//! [`Background`]: what a started adapter's tasks and the app's calls share (the requests
//! waiting for answers, the connection state, the tasks themselves), and stopping it all.

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::local::LocalNamespaces;
use crate::pending::PendingRequests;
use crate::status::AdapterStatus;

#[derive(Clone)]
pub(crate) struct Background {
    pub(crate) pending: PendingRequests,
    pub(crate) status: AdapterStatus,
    /// Ends every task on close.
    pub(crate) cancel: CancellationToken,
    pub(crate) tasks: TaskTracker,
}

impl Background {
    pub(crate) fn new(status: AdapterStatus) -> Self {
        Self {
            pending: PendingRequests::default(),
            status,
            cancel: CancellationToken::new(),
            tasks: TaskTracker::new(),
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Stops the tasks and lets go of the app's `namespaces` (a namespace holds the app, which
    /// holds the adapter).
    pub(crate) async fn stop(&self, namespaces: &LocalNamespaces) {
        self.cancel.cancel();
        self.tasks.close();
        self.tasks.wait().await;
        self.status.set_connected(false);
        namespaces.clear();
        self.pending.clear();
    }
}
