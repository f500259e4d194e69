//! [`GatewayParts`]: what every namespace of one gateway shares (its event table with each
//! route's enhancers, connection guards, hooks and metric handles), built once at startup. A
//! fixed gateway has one namespace; a dynamic one shares its parts with every concrete
//! namespace it creates.

use std::sync::{Arc, Mutex};

use crate::event_bus::EventHandlerDefinition;
use crate::gateway::{GatewayDefinition, HandlerDefinition};
use crate::handler::BoxedHandler;
use crate::hooks::Hooks;
use crate::metrics::NamespaceMetrics;
use crate::pipeline::{
    DynConnectionGuard, DynFilter, DynGuard, DynInterceptor, DynPipe, Enhancers, Metadata,
};
use crate::runtime::Runtime;
use crate::GatewayOptions;

/// One event's handler with every enhancer that applies to it, in pipeline order.
pub(crate) struct HandlerChain {
    pub(crate) handler: BoxedHandler,
    pub(crate) name: Arc<str>,
    pub(crate) guards: Arc<[Arc<dyn DynGuard>]>,
    pub(crate) interceptors: Arc<[Arc<dyn DynInterceptor>]>,
    pub(crate) pipes: Arc<[Arc<dyn DynPipe>]>,
    /// Handler's first, then the gateway's, then the global ones.
    pub(crate) filters: Arc<[Arc<dyn DynFilter>]>,
    pub(crate) metadata: Metadata,
}

impl HandlerChain {
    fn new(definition: HandlerDefinition, outer: &Enhancers) -> Self {
        let all = definition.enhancers.nested_in(outer);
        Self {
            handler: definition.handler,
            name: definition.name,
            guards: all.guards.into(),
            interceptors: all.interceptors.into(),
            pipes: all.pipes.into(),
            filters: all.filters.into(),
            metadata: all.metadata,
        }
    }
}

/// The parts of a gateway its namespaces share.
pub(crate) struct GatewayParts {
    pub(crate) gateway: &'static str,
    pub(crate) options: GatewayOptions,
    /// Looked up once per message, by keys fixed at startup: a fast hash is enough.
    pub(crate) routes: foldhash::HashMap<Box<str>, Arc<HandlerChain>>,
    pub(crate) connection_guards: Vec<Arc<dyn DynConnectionGuard>>,
    pub(crate) hooks: Hooks,
    /// `#[on_event]` handlers, taken when the app starts and subscribes them (once per gateway,
    /// dynamic or not).
    event_handlers: Mutex<Vec<EventHandlerDefinition>>,
    /// Metric handles, when the app records metrics. A dynamic gateway's namespaces share
    /// them, labelled with its pattern: a label per concrete namespace would grow without end.
    pub(crate) metrics: Option<Arc<NamespaceMetrics>>,
}

impl GatewayParts {
    /// The parts of `definition`, its handlers wrapped in `global`'s enhancers and its own.
    pub(crate) fn new(definition: GatewayDefinition, global: &Enhancers, app: &Runtime) -> Self {
        let gateway_level = definition.enhancers.nested_in(global);
        let routes: foldhash::HashMap<Box<str>, Arc<HandlerChain>> = definition
            .routes
            .into_iter()
            .map(|(event, route)| (event, Arc::new(HandlerChain::new(route, &gateway_level))))
            .collect();
        let metrics = app.config.metrics.then(|| {
            let events = routes.keys().map(|event| &**event);
            NamespaceMetrics::new(definition.options.namespace(), events)
        });
        Self {
            metrics,
            gateway: definition.gateway,
            options: definition.options,
            routes,
            connection_guards: global
                .connection_guards
                .iter()
                .cloned()
                .chain(definition.connection_guards)
                .collect(),
            hooks: definition.hooks,
            event_handlers: Mutex::new(definition.event_handlers),
        }
    }

    /// The gateway's event handlers, to subscribe; empty after the first call.
    pub(crate) fn take_event_handlers(&self) -> Vec<EventHandlerDefinition> {
        std::mem::take(
            &mut *self
                .event_handlers
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        )
    }
}
