//! [`delegate_to_outbound!`]: the `Adapter` methods every Redis adapter implements the same
//! way, by handing the call to its outbound side once started.

/// The [`Adapter`](gateway_core::Adapter) methods that only hand the call on to the started
/// adapter's outbound side (`Outbound`, `ClusterOutbound`). Expands inside `impl Adapter for X`,
/// where `X::outbound(&self) -> Option<&Arc<_>>` is `None` before start and after close: then
/// the calls concern this instance alone (no other instance's sockets, answers or acks; a
/// server count of 1).
macro_rules! delegate_to_outbound {
    () => {
        fn broadcast(&self, namespace: &str, message: &gateway_core::BroadcastMessage<'_>) {
            if let Some(outbound) = self.outbound() {
                outbound.broadcast(namespace, message);
            }
        }

        fn broadcast_with_ack(
            &self,
            namespace: &str,
            message: &gateway_core::BroadcastMessage<'_>,
            timeout: std::time::Duration,
        ) -> futures_util::future::BoxFuture<'static, gateway_core::RemoteAcks> {
            match self.outbound() {
                Some(outbound) => outbound
                    .clone()
                    .broadcast_with_ack(namespace, message, timeout),
                None => Box::pin(async { gateway_core::RemoteAcks::default() }),
            }
        }

        fn fetch_sockets(
            &self,
            namespace: &str,
            recipients: &gateway_core::Recipients,
        ) -> futures_util::future::BoxFuture<
            'static,
            Result<Vec<gateway_core::SocketInfo>, gateway_core::AdapterError>,
        > {
            match self.outbound() {
                Some(outbound) => outbound.clone().fetch_sockets(namespace, recipients),
                None => Box::pin(async { Ok(Vec::new()) }),
            }
        }

        fn add_sockets(
            &self,
            namespace: &str,
            recipients: &gateway_core::Recipients,
            rooms: &[gateway_core::Room],
        ) {
            if let Some(outbound) = self.outbound() {
                outbound.change_rooms(namespace, recipients, rooms, true);
            }
        }

        fn del_sockets(
            &self,
            namespace: &str,
            recipients: &gateway_core::Recipients,
            rooms: &[gateway_core::Room],
        ) {
            if let Some(outbound) = self.outbound() {
                outbound.change_rooms(namespace, recipients, rooms, false);
            }
        }

        fn disconnect_sockets(&self, namespace: &str, recipients: &gateway_core::Recipients) {
            if let Some(outbound) = self.outbound() {
                outbound.disconnect_sockets(namespace, recipients);
            }
        }

        fn server_side_emit(&self, namespace: &str, event: &str, args: &[serde_json::Value]) {
            if let Some(outbound) = self.outbound() {
                outbound.server_side_emit(namespace, event, args);
            }
        }

        fn server_side_emit_with_ack(
            &self,
            namespace: &str,
            event: &str,
            args: &[serde_json::Value],
            timeout: std::time::Duration,
        ) -> futures_util::future::BoxFuture<
            'static,
            Result<Vec<serde_json::Value>, gateway_core::AdapterError>,
        > {
            match self.outbound() {
                Some(outbound) => outbound
                    .clone()
                    .server_side_emit_with_ack(namespace, event, args, timeout),
                None => Box::pin(async { Ok(Vec::new()) }),
            }
        }

        fn server_count(
            &self,
            namespace: &str,
        ) -> futures_util::future::BoxFuture<'static, Result<usize, gateway_core::AdapterError>> {
            match self.outbound() {
                Some(outbound) => outbound.clone().server_count(namespace),
                None => Box::pin(async { Ok(1) }),
            }
        }
    };
}
pub(crate) use delegate_to_outbound;
