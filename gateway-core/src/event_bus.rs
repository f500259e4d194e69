//! [`EventBus`]: typed events published in-process by services and handled by gateways'
//! `#[on_event]` methods (`@nestjs/event-emitter`).
//!
//! An app subscribes its gateways' handlers when it starts (`listen()` or `start()`, after every
//! `after_init`) and unsubscribes them when it shuts down, as `@nestjs/event-emitter` does at
//! application bootstrap and shutdown. Each handler call runs in its own task of the app that
//! subscribed it: graceful shutdown waits for it, and one handler's error or panic is logged
//! without touching the others.

use std::any::Any;
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use futures_util::future::{BoxFuture, FutureExt};
use serde::Serialize;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::event_pattern::{segments, EventPattern};
use crate::PublishedEvent;

/// The in-process event bus (`@nestjs/event-emitter`'s `EventEmitter2`): services
/// [`publish`](Self::publish) typed events, gateways handle them in `#[on_event("pattern")]`
/// methods. A cheap, cloneable handle: give one clone to the app with
/// [`GatewayAppBuilder::with_event_bus`](crate::GatewayAppBuilder::with_event_bus) and one to
/// each service that publishes.
///
/// Patterns split names at `.`: `order.*` matches `order.created` (exactly one segment),
/// `order.**` matches `order`, `order.created` and `order.item.added` (any number). See the
/// [`events`](crate::guide::events) guide.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use gateway_core::{gateway, EventBus, GatewayApp};
///
/// #[derive(Clone, Default)]
/// struct AuditGateway { seen: Arc<Mutex<Vec<String>>> }
///
/// #[gateway(namespace = "/audit")]
/// impl AuditGateway {
///     #[on_event("order.*")]
///     async fn record(&self, order_id: u64, event: &str) {
///         self.seen.lock().unwrap().push(format!("{event} {order_id}"));
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let bus = EventBus::new();
/// let audit = AuditGateway::default();
/// let app = GatewayApp::builder().with_event_bus(bus.clone()).gateway(audit.clone()).build()?;
/// let gateways = app.start().await?; // subscribes `record`
/// assert_eq!(bus.publish_and_wait("order.created", 7u64).await, 1);
/// assert_eq!(*audit.seen.lock().unwrap(), ["order.created 7"]);
/// gateways.shutdown().await; // unsubscribes it
/// assert_eq!(bus.publish("order.created", 8u64), 0);
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct EventBus {
    subscriptions: Arc<RwLock<Subscriptions>>,
}

#[derive(Default)]
struct Subscriptions {
    next_id: u64,
    list: Vec<Arc<Subscription>>,
}

/// Names one subscription, to end it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SubscriptionId(u64);

/// A type-erased event handler.
pub(crate) type EventListener =
    Arc<dyn Fn(PublishedEvent) -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// One event handler of a gateway, as registered and before the app subscribes it.
pub(crate) struct EventHandlerDefinition {
    pub(crate) pattern: EventPattern,
    /// The method name with `#[on_event]`; the pattern when registered by hand.
    pub(crate) name: Arc<str>,
    pub(crate) listener: EventListener,
}

/// Where an app runs its handlers' calls: tracked for graceful shutdown, dropped at the hard stop.
#[derive(Clone)]
pub(crate) struct HandlerTasks {
    pub(crate) tracker: TaskTracker,
    pub(crate) hard_stop: CancellationToken,
}

struct Subscription {
    gateway: &'static str,
    id: SubscriptionId,
    handler: EventHandlerDefinition,
    tasks: HandlerTasks,
}

impl EventBus {
    /// A bus without subscribers.
    ///
    /// ```
    /// let bus = gateway_core::EventBus::new();
    /// assert_eq!(bus.publish("order.created", 7), 0);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Publishes `payload` as the event `event` (`EventEmitter2.emit`) and returns at once: each
    /// handler whose pattern matches runs in its own task. Returns how many handlers it was
    /// given to; 0 when none matches, or when called outside a Tokio runtime (logged).
    ///
    /// A handler that takes the payload's own type gets a clone of it; another type is
    /// converted through JSON (see [`PublishedEvent::payload`]). `event` is a name, not a
    /// pattern: a `*` in it is an ordinary character. Calls for successive events may overlap;
    /// use [`publish_and_wait`](Self::publish_and_wait) where order matters.
    ///
    /// ```
    /// #[derive(Clone, serde::Serialize, serde::Deserialize)]
    /// struct OrderCreated { order_id: u64, user_id: String }
    ///
    /// let bus = gateway_core::EventBus::new();
    /// let reached = bus.publish("order.created", OrderCreated { order_id: 7, user_id: "42".into() });
    /// assert_eq!(reached, 0); // no app has subscribed yet
    /// ```
    pub fn publish<T: Serialize + Send + Sync + 'static>(&self, event: &str, payload: T) -> usize {
        self.start(event, payload).len()
    }

    /// Publishes as [`publish`](Self::publish), then waits until every handler it reached has
    /// finished (`EventEmitter2.emitAsync`). Handlers' errors and panics are logged, not
    /// returned: the publisher does not depend on its subscribers.
    ///
    /// ```
    /// # async fn demo() {
    /// let bus = gateway_core::EventBus::new();
    /// let handled = bus.publish_and_wait("order.shipped", 7u64).await;
    /// // Every handler of `order.shipped` has finished here.
    /// # }
    /// ```
    pub async fn publish_and_wait<T: Serialize + Send + Sync + 'static>(
        &self,
        event: &str,
        payload: T,
    ) -> usize {
        let calls = self.start(event, payload);
        let reached = calls.len();
        for call in calls {
            // An error means the runtime dropped the task (its panics are caught inside).
            let _ = call.await;
        }
        reached
    }

    /// Starts a task for each matching handler.
    fn start<T: Serialize + Send + Sync + 'static>(
        &self,
        event: &str,
        payload: T,
    ) -> Vec<JoinHandle<()>> {
        let name = segments(event);
        let matching: Vec<Arc<Subscription>> = self
            .read()
            .list
            .iter()
            .filter(|s| s.handler.pattern.matches(&name))
            .cloned()
            .collect();
        if matching.is_empty() {
            tracing::debug!(event, "published event has no handler");
            return Vec::new();
        }
        let Ok(runtime) = Handle::try_current() else {
            tracing::error!(
                event,
                handlers = matching.len(),
                "event published outside a Tokio runtime: no handler ran"
            );
            return Vec::new();
        };
        let published = PublishedEvent::new(event, payload);
        matching
            .into_iter()
            .map(|subscription| {
                let event = published.clone();
                let tracker = subscription.tasks.tracker.clone();
                tracker.spawn_on(subscription.call(event), &runtime)
            })
            .collect()
    }

    /// Subscribes `handler` of `gateway`; its calls run on `tasks`.
    pub(crate) fn subscribe(
        &self,
        gateway: &'static str,
        handler: EventHandlerDefinition,
        tasks: HandlerTasks,
    ) -> SubscriptionId {
        let mut subscriptions = self.write();
        let id = SubscriptionId(subscriptions.next_id);
        subscriptions.next_id += 1;
        tracing::debug!(
            gateway,
            handler = &*handler.name,
            pattern = handler.pattern.as_str(),
            "event handler subscribed"
        );
        subscriptions.list.push(Arc::new(Subscription {
            gateway,
            id,
            handler,
            tasks,
        }));
        id
    }

    /// Ends the subscriptions `ids`; calls already started finish.
    pub(crate) fn unsubscribe(&self, ids: &[SubscriptionId]) {
        self.write().list.retain(|s| !ids.contains(&s.id));
    }

    fn read(&self) -> RwLockReadGuard<'_, Subscriptions> {
        // Every update is one push or one retain: a poisoned lock still holds a consistent list.
        self.subscriptions.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Subscriptions> {
        self.subscriptions
            .write()
            .unwrap_or_else(|e| e.into_inner())
    }
}

impl Subscription {
    /// Runs the handler on `event` and logs how it failed, if it did.
    async fn call(self: Arc<Self>, event: PublishedEvent) {
        let name = event.name().to_owned();
        // The listener itself is called inside `catch_unwind` too: one written by hand may
        // panic before it returns its future.
        let listener = self.handler.listener.clone();
        let call = AssertUnwindSafe(async move { listener(event).await }).catch_unwind();
        let outcome = tokio::select! {
            outcome = call => outcome,
            () = self.tasks.hard_stop.cancelled() => {
                tracing::warn!(
                    event = name,
                    gateway = self.gateway,
                    handler = &*self.handler.name,
                    "event handler dropped: the shutdown timeout passed"
                );
                return;
            }
        };
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::error!(
                event = name,
                pattern = self.handler.pattern.as_str(),
                gateway = self.gateway,
                handler = &*self.handler.name,
                error = %error,
                "event handler failed"
            ),
            Err(panic) => tracing::error!(
                event = name,
                pattern = self.handler.pattern.as_str(),
                gateway = self.gateway,
                handler = &*self.handler.name,
                panic = %panic_message(&*panic),
                "event handler panicked"
            ),
        }
    }
}

/// The text a panic was raised with, when it has one.
fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

impl fmt::Debug for EventBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let subscriptions = self.read();
        f.debug_struct("EventBus")
            .field(
                "subscriptions",
                &subscriptions
                    .list
                    .iter()
                    .map(|s| s.handler.pattern.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// What an event handler may return: `()`, or `Result<(), E>` whose error is logged with
/// `E`'s `Display` (`@nestjs/event-emitter`'s `suppressErrors`, its default).
///
/// ```
/// use gateway_core::IntoEventResult;
/// assert_eq!(().into_event_result(), Ok(()));
/// assert_eq!(Err::<(), _>("no stock").into_event_result(), Err("no stock".to_owned()));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not what an event handler returns",
    note = "an `#[on_event]` handler returns `()` or `Result<(), E>` with `E: Display`"
)]
pub trait IntoEventResult {
    /// The handler's error as text, to be logged.
    fn into_event_result(self) -> Result<(), String>;
}

impl IntoEventResult for () {
    fn into_event_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: fmt::Display> IntoEventResult for Result<(), E> {
    fn into_event_result(self) -> Result<(), String> {
        self.map_err(|e| e.to_string())
    }
}

#[cfg(test)]
#[path = "event_bus_tests.rs"]
mod tests;
