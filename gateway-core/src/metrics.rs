//! A namespace's metrics, recorded through the [`metrics`] facade when the app was built
//! [`with_metrics`](crate::GatewayAppBuilder::with_metrics).
//!
//! The names follow socket.io-prometheus where the two overlap (`socket_io_*`); the rest are
//! `gateway_*`. Every metric carries the `namespace` label. Handles are registered once, when
//! the namespace is built (and once per event name seen), so a message costs a few atomic
//! updates, not a registry lookup. Event labels are bounded: the events a gateway subscribes
//! to, and at most [`MAX_SENT_EVENTS`] distinct names emitted; anything else is `(other)`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use metrics::{counter, gauge, histogram, Counter, Gauge, Histogram, Label, SharedString};

use crate::outbox::PushError;
use crate::DisconnectReason;

/// The event label for a received event no handler subscribes to, or an emitted event past
/// [`MAX_SENT_EVENTS`]: client-chosen names must not grow the label set.
pub(crate) const OTHER_EVENT: &str = "(other)";
/// The most distinct emitted event names given a label of their own, per namespace.
const MAX_SENT_EVENTS: usize = 256;

/// One namespace's metric handles.
pub(crate) struct NamespaceMetrics {
    namespace: SharedString,
    connected: Gauge,
    connects: Counter,
    receive_bytes: Counter,
    transmit_bytes: Counter,
    frames_dropped: Counter,
    slow_consumer_disconnects: Counter,
    /// By subscribed event, and [`OTHER_EVENT`].
    received: HashMap<Box<str>, EventMetrics>,
    sent: RwLock<HashMap<Box<str>, Counter>>,
    disconnects: RwLock<HashMap<&'static str, Counter>>,
}

/// What is recorded per received event.
pub(crate) struct EventMetrics {
    received: Counter,
    handler_duration: Histogram,
    guard_refusals: Counter,
    exceptions: Counter,
}

impl NamespaceMetrics {
    /// Registers the handles of namespace `namespace`, whose gateway subscribes to `events`.
    pub(crate) fn new<'a>(namespace: &str, events: impl Iterator<Item = &'a str>) -> Arc<Self> {
        let ns = SharedString::from(namespace.to_owned());
        let received = events
            .chain([OTHER_EVENT])
            .map(|event| (event.into(), EventMetrics::new(&ns, event)))
            .collect();
        Arc::new(Self {
            connected: gauge!("socket_io_connected", "namespace" => ns.clone()),
            connects: counter!("socket_io_connect_total", "namespace" => ns.clone()),
            receive_bytes: counter!("socket_io_receive_bytes", "namespace" => ns.clone()),
            transmit_bytes: counter!("socket_io_transmit_bytes", "namespace" => ns.clone()),
            frames_dropped: counter!("gateway_frames_dropped_total", "namespace" => ns.clone()),
            slow_consumer_disconnects: counter!(
                "gateway_slow_consumer_disconnects_total",
                "namespace" => ns.clone()
            ),
            received,
            sent: RwLock::default(),
            disconnects: RwLock::default(),
            namespace: ns,
        })
    }

    pub(crate) fn connected(&self) {
        self.connected.increment(1.0);
        self.connects.increment(1);
    }

    pub(crate) fn disconnected(&self, reason: DisconnectReason) {
        self.connected.decrement(1.0);
        let reason = reason.as_str();
        if let Some(counter) = read(&self.disconnects).get(reason) {
            return counter.increment(1);
        }
        let counter = counter!(
            "socket_io_disconnect_total",
            "namespace" => self.namespace.clone(),
            "reason" => reason,
        );
        counter.increment(1);
        write(&self.disconnects).insert(reason, counter);
    }

    /// A frame of `len` bytes read from a client.
    pub(crate) fn received_bytes(&self, len: usize) {
        self.receive_bytes.increment(len as u64);
    }

    /// What queueing a frame of `len` bytes to a client came to.
    pub(crate) fn pushed(&self, pushed: &Result<(), PushError>, len: usize) {
        match pushed {
            Ok(()) => self.transmit_bytes.increment(len as u64),
            Err(PushError::Dropped) => self.frames_dropped.increment(1),
            Err(PushError::Full) => self.slow_consumer_disconnects.increment(1),
            Err(PushError::Closed) => {}
        }
    }

    /// The handles of received event `event` (those of [`OTHER_EVENT`] if none subscribes).
    pub(crate) fn event(&self, event: &str) -> &EventMetrics {
        match self.received.get(event) {
            Some(metrics) => metrics,
            None => &self.received[OTHER_EVENT],
        }
    }

    /// `event` emitted to `recipients` sockets.
    pub(crate) fn sent(&self, event: &str, recipients: usize) {
        if recipients == 0 {
            return;
        }
        if let Some(counter) = read(&self.sent).get(event) {
            return counter.increment(recipients as u64);
        }
        let mut sent = write(&self.sent);
        let event = if sent.len() < MAX_SENT_EVENTS {
            event
        } else {
            OTHER_EVENT
        };
        sent.entry(event.into())
            .or_insert_with(|| {
                counter!(
                    "socket_io_events_sent_total",
                    "namespace" => self.namespace.clone(),
                    "event" => event.to_owned(),
                )
            })
            .increment(recipients as u64);
    }
}

impl EventMetrics {
    fn new(namespace: &SharedString, event: &str) -> Self {
        let labels = [
            Label::new("namespace", namespace.clone()),
            Label::new("event", event.to_owned()),
        ];
        Self {
            received: counter!("socket_io_events_received_total", labels.to_vec()),
            handler_duration: histogram!("gateway_handler_duration_seconds", labels.to_vec()),
            guard_refusals: counter!("gateway_guard_refusals_total", labels.to_vec()),
            exceptions: counter!("gateway_exceptions_total", labels.to_vec()),
        }
    }

    pub(crate) fn received(&self) {
        self.received.increment(1);
    }

    /// The pipeline (guards, interceptors, pipes, handler) took `took`.
    pub(crate) fn handled(&self, took: Duration) {
        self.handler_duration.record(took);
    }

    pub(crate) fn guard_refused(&self) {
        self.guard_refusals.increment(1);
    }

    /// An exception was sent to the client (after the filters).
    pub(crate) fn exception_sent(&self) {
        self.exceptions.increment(1);
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
