//! [`ClusterNode`]: the two halves of an adapter that speaks socket.io-adapter's cluster
//! protocol over a [`Transport`]: [`ClusterOutbound`] for the app's calls, [`ClusterInbound`]
//! for the other instances' messages.

use std::sync::Arc;
use std::time::Duration;

use gateway_core::Namespace;

use crate::background::Background;
use crate::cluster_inbound::ClusterInbound;
use crate::cluster_outbound::{ClusterOutbound, Transport};
use crate::local::LocalNamespaces;

pub(crate) struct ClusterNode<T> {
    pub(crate) outbound: Arc<ClusterOutbound<T>>,
    pub(crate) inbound: Arc<ClusterInbound<T>>,
    pub(crate) background: Background,
}

impl<T: Transport> ClusterNode<T> {
    /// Instance `uid`'s halves over `transport`, acting for `namespaces`.
    pub(crate) fn new(
        transport: Arc<T>,
        uid: &str,
        requests_timeout: Duration,
        namespaces: Vec<Namespace>,
        background: Background,
    ) -> Self {
        let inbound = Arc::new(ClusterInbound {
            uid: uid.to_owned(),
            requests_timeout,
            namespaces: LocalNamespaces::new(namespaces),
            transport: transport.clone(),
            pending: background.pending.clone(),
            cancel: background.cancel.clone(),
            tasks: background.tasks.clone(),
        });
        let outbound = Arc::new(ClusterOutbound {
            transport,
            requests_timeout,
            pending: background.pending.clone(),
        });
        Self {
            outbound,
            inbound,
            background,
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.background.is_closed()
    }

    /// Stops the tasks and lets go of the app's namespaces.
    pub(crate) async fn close(&self) {
        self.background.stop(&self.inbound.namespaces).await;
    }
}
