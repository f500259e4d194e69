//! [`Gateway`] and [`GatewayBuilder`]: how a gateway declares its events and hooks.
//!
//! `#[gateway]` implements [`Gateway`] for you; everything it generates is a call to
//! [`GatewayBuilder`], so a gateway can also be written by hand.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use futures_util::future::FutureExt;

use crate::describe::GatewayDescriber;
use crate::event_bus::{EventHandlerDefinition, IntoEventResult};
use crate::event_pattern::EventPattern;
use crate::handler::{boxed, BoxedHandler};
use crate::hooks::{Hooks, IntoHookResult};
use crate::pipeline::{
    ConnectionGuard, DynConnectionGuard, DynFilter, DynGuard, DynInterceptor, DynPipe, Enhancers,
    ExceptionFilter, Guard, Interceptor, Pipe,
};
use crate::{
    DisconnectReason, GatewayOptions, Handler, Handshake, Namespace, PublishedEvent, Socket,
};

/// A gateway: a type that serves one namespace (NestJS `@WebSocketGateway()` class).
///
/// Usually implemented by `#[gateway]`. By hand:
///
/// ```
/// use std::sync::Arc;
/// use gateway_core::{Gateway, GatewayBuilder, GatewayOptions, MessageBody};
///
/// struct Echo;
///
/// impl Gateway for Echo {
///     fn options(&self) -> GatewayOptions {
///         GatewayOptions::new("/echo")
///     }
///     fn register(self: Arc<Self>, gateway: &mut GatewayBuilder) {
///         gateway.on("echo", |MessageBody(text): MessageBody<String>| async move { text });
///     }
/// }
///
/// let app = gateway_core::GatewayApp::builder().gateway(Echo).build().unwrap();
/// assert!(app.namespace("/echo").is_some());
/// ```
pub trait Gateway: Send + Sync + 'static {
    /// Where and how the gateway is served.
    fn options(&self) -> GatewayOptions;

    /// Registers the gateway's event handlers and lifecycle hooks.
    fn register(self: Arc<Self>, gateway: &mut GatewayBuilder);
}

/// Collects a gateway's handlers and hooks; passed to [`Gateway::register`].
///
/// ```
/// use gateway_core::{GatewayBuilder, GatewayOptions, Socket, Handshake, DisconnectReason};
///
/// let mut gateway = GatewayBuilder::new(GatewayOptions::new("/events"));
/// gateway.on("ping", || async { "pong" });
/// gateway
///     .on_connection(|socket: Socket, _handshake: Handshake| async move {
///         println!("connected: {}", socket.id());
///     })
///     .on_disconnect(|socket: Socket, reason: DisconnectReason| async move {
///         println!("{} left: {reason}", socket.id());
///     });
/// ```
pub struct GatewayBuilder {
    name: &'static str,
    options: GatewayOptions,
    routes: HashMap<Box<str>, HandlerDefinition>,
    event_handlers: Vec<EventHandlerDefinition>,
    hooks: Hooks,
    enhancers: Enhancers,
    connection_guards: Vec<Arc<dyn DynConnectionGuard>>,
    describe: Option<fn(&mut GatewayDescriber)>,
    errors: Vec<String>,
}

/// One event's handler and its handler-level enhancers.
pub(crate) struct HandlerDefinition {
    pub(crate) handler: BoxedHandler,
    pub(crate) name: Arc<str>,
    pub(crate) enhancers: Enhancers,
}

/// A finished gateway registration.
pub(crate) struct GatewayDefinition {
    pub(crate) gateway: &'static str,
    pub(crate) options: GatewayOptions,
    pub(crate) routes: HashMap<Box<str>, HandlerDefinition>,
    /// Handlers of [`EventBus`](crate::EventBus) events, subscribed when the app starts.
    pub(crate) event_handlers: Vec<EventHandlerDefinition>,
    pub(crate) hooks: Hooks,
    pub(crate) enhancers: Enhancers,
    pub(crate) connection_guards: Vec<Arc<dyn DynConnectionGuard>>,
    /// Says what the gateway receives and sends, when a description is asked for.
    #[cfg_attr(not(feature = "asyncapi"), allow(dead_code))]
    pub(crate) describe: Option<fn(&mut GatewayDescriber)>,
    pub(crate) errors: Vec<String>,
}

/// Adds handler-level enhancers to the handler just registered with [`GatewayBuilder::on`]
/// (NestJS decorators on a `@SubscribeMessage` method).
///
/// ```
/// use gateway_core::pipeline::guard_fn;
/// use gateway_core::{GatewayBuilder, GatewayOptions};
///
/// #[derive(Clone)]
/// struct RequiredRole(&'static str);
///
/// let mut gateway = GatewayBuilder::new(GatewayOptions::new("/admin"));
/// gateway
///     .on("adminAction", || async { "done" })
///     .metadata(RequiredRole("admin"))
///     .guard(guard_fn(|cx| async move { cx.metadata::<RequiredRole>().is_some() }));
/// ```
pub struct RouteBuilder<'a> {
    route: &'a mut HandlerDefinition,
}

impl RouteBuilder<'_> {
    /// Runs `guard` before this handler, after the global and gateway guards.
    pub fn guard(self, guard: impl Guard) -> Self {
        self.route
            .enhancers
            .guards
            .push(Arc::new(guard) as Arc<dyn DynGuard>);
        self
    }

    /// Wraps this handler in `interceptor`, inside the global and gateway interceptors.
    pub fn interceptor(self, interceptor: impl Interceptor) -> Self {
        self.route
            .enhancers
            .interceptors
            .push(Arc::new(interceptor) as Arc<dyn DynInterceptor>);
        self
    }

    /// Runs `pipe` on this handler's body arguments, after the global and gateway pipes.
    pub fn pipe(self, pipe: impl Pipe) -> Self {
        self.route
            .enhancers
            .pipes
            .push(Arc::new(pipe) as Arc<dyn DynPipe>);
        self
    }

    /// Tries `filter` on this handler's errors before the gateway and global filters.
    pub fn filter(self, filter: impl ExceptionFilter) -> Self {
        self.route
            .enhancers
            .filters
            .push(Arc::new(filter) as Arc<dyn DynFilter>);
        self
    }

    /// Attaches `value` to this handler, read with
    /// [`ExecutionContext::metadata`](crate::pipeline::ExecutionContext::metadata).
    pub fn metadata<T: Send + Sync + 'static>(self, value: T) -> Self {
        self.route.enhancers.metadata.insert(value);
        self
    }

    /// Names the handler for [`ExecutionContext::handler`](crate::pipeline::ExecutionContext::handler)
    /// (default: the event name; `#[gateway]` uses the method name).
    pub fn name(self, name: &str) -> Self {
        self.route.name = name.into();
        self
    }
}

impl std::fmt::Debug for RouteBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteBuilder")
            .field("name", &self.route.name)
            .finish()
    }
}

/// Names the event handler just registered with [`GatewayBuilder::on_event`], for its log lines.
///
/// ```
/// use gateway_core::{GatewayBuilder, GatewayOptions, PublishedEvent};
///
/// let mut gateway = GatewayBuilder::new(GatewayOptions::new("/orders"));
/// gateway
///     .on_event("order.created", |_event: PublishedEvent| async {})
///     .name("on_order_created");
/// ```
pub struct EventHandlerBuilder<'a> {
    /// `None` when the pattern was malformed (the error is already recorded).
    handler: Option<&'a mut EventHandlerDefinition>,
}

impl EventHandlerBuilder<'_> {
    /// Names the handler in log lines (default: its pattern; `#[on_event]` uses the method name).
    pub fn name(mut self, name: &str) -> Self {
        if let Some(handler) = &mut self.handler {
            handler.name = name.into();
        }
        self
    }
}

impl std::fmt::Debug for EventHandlerBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventHandlerBuilder")
            .field("name", &self.handler.as_ref().map(|h| &*h.name))
            .finish()
    }
}

impl GatewayBuilder {
    /// An empty gateway with these options.
    pub fn new(options: GatewayOptions) -> Self {
        Self {
            name: "gateway",
            options,
            routes: HashMap::new(),
            event_handlers: Vec::new(),
            hooks: Hooks::default(),
            enhancers: Enhancers::default(),
            connection_guards: Vec::new(),
            describe: None,
            errors: Vec::new(),
        }
    }

    pub(crate) fn named(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// Handles `event` with `handler` (NestJS `@SubscribeMessage(event)`).
    ///
    /// Registering the same event twice is an error reported by `GatewayAppBuilder::build`.
    /// Returns a [`RouteBuilder`] for the handler's own guards, pipes, interceptors and filters.
    pub fn on<H, Args>(&mut self, event: &str, handler: H) -> RouteBuilder<'_>
    where
        H: Handler<Args>,
    {
        let route = HandlerDefinition {
            handler: boxed(handler),
            name: event.into(),
            enhancers: Enhancers::default(),
        };
        let slot = match self.routes.entry(event.into()) {
            std::collections::hash_map::Entry::Occupied(mut existing) => {
                self.errors.push(format!(
                    "gateway `{}` handles the event \"{event}\" twice",
                    self.name
                ));
                existing.insert(route);
                existing.into_mut()
            }
            std::collections::hash_map::Entry::Vacant(vacant) => vacant.insert(route),
        };
        RouteBuilder { route: slot }
    }

    /// Handles the [`EventBus`](crate::EventBus) events whose name matches `pattern`
    /// (`@nestjs/event-emitter`'s `@OnEvent(pattern)`): `order.created`, `order.*` (one
    /// segment), `order.**` (any number). `#[on_event]` generates this call.
    ///
    /// The handler is subscribed when the app starts, after every `after_init`. Each call runs
    /// in its own task; what it returns ([`IntoEventResult`]) is logged if it is an error, and so
    /// is a panic. A malformed pattern is an error reported by `GatewayAppBuilder::build`. Returns
    /// an [`EventHandlerBuilder`] to name the handler in logs.
    ///
    /// ```
    /// use gateway_core::{EventPayloadError, GatewayBuilder, GatewayOptions, PublishedEvent};
    ///
    /// #[derive(Clone, serde::Serialize, serde::Deserialize)]
    /// struct OrderShipped { order_id: u64, user_id: String }
    ///
    /// let mut gateway = GatewayBuilder::new(GatewayOptions::new("/orders"));
    /// gateway
    ///     .on_event("order.*", |event: PublishedEvent| async move {
    ///         let order: OrderShipped = event.payload()?;
    ///         println!("{} for user {}", event.name(), order.user_id);
    ///         Ok::<_, EventPayloadError>(())
    ///     })
    ///     .name("log_orders");
    /// ```
    pub fn on_event<F, Fut>(&mut self, pattern: &str, handler: F) -> EventHandlerBuilder<'_>
    where
        F: Fn(PublishedEvent) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoEventResult,
    {
        let pattern = match EventPattern::parse(pattern) {
            Ok(pattern) => pattern,
            Err(reason) => {
                self.errors.push(format!(
                    "gateway `{}` subscribes to the invalid event pattern \"{pattern}\": {reason}",
                    self.name
                ));
                return EventHandlerBuilder { handler: None };
            }
        };
        self.event_handlers.push(EventHandlerDefinition {
            name: pattern.as_str().into(),
            pattern,
            listener: Arc::new(move |event| {
                let call = handler(event);
                async move { call.await.into_event_result() }.boxed()
            }),
        });
        EventHandlerBuilder {
            handler: self.event_handlers.last_mut(),
        }
    }

    /// Runs `guard` before every handler of the gateway (NestJS `@UseGuards` on the class).
    pub fn guard(&mut self, guard: impl Guard) -> &mut Self {
        self.enhancers
            .guards
            .push(Arc::new(guard) as Arc<dyn DynGuard>);
        self
    }

    /// Wraps every handler of the gateway in `interceptor` (NestJS `@UseInterceptors` on the class).
    pub fn interceptor(&mut self, interceptor: impl Interceptor) -> &mut Self {
        self.enhancers
            .interceptors
            .push(Arc::new(interceptor) as Arc<dyn DynInterceptor>);
        self
    }

    /// Runs `pipe` on every body argument of the gateway (NestJS `@UsePipes` on the class).
    pub fn pipe(&mut self, pipe: impl Pipe) -> &mut Self {
        self.enhancers
            .pipes
            .push(Arc::new(pipe) as Arc<dyn DynPipe>);
        self
    }

    /// Tries `filter` on the errors of every handler of the gateway (NestJS `@UseFilters` on the class).
    pub fn filter(&mut self, filter: impl ExceptionFilter) -> &mut Self {
        self.enhancers
            .filters
            .push(Arc::new(filter) as Arc<dyn DynFilter>);
        self
    }

    /// Runs `guard` at the handshake, before the upgrade: a refused client gets an HTTP error and
    /// never connects (see [`ConnectionGuard`]).
    pub fn connection_guard(&mut self, guard: impl ConnectionGuard) -> &mut Self {
        self.connection_guards
            .push(Arc::new(guard) as Arc<dyn DynConnectionGuard>);
        self
    }

    /// Attaches `value` to every handler of the gateway; a handler's own value of the same type wins.
    pub fn metadata<T: Send + Sync + 'static>(&mut self, value: T) -> &mut Self {
        self.enhancers.metadata.insert(value);
        self
    }

    /// Runs `hook` once when the app starts listening (NestJS `afterInit(server)`). For a
    /// dynamic gateway (a namespace with `{parameters}`), it runs once per concrete namespace
    /// as that namespace is created, with its [`Namespace`], before its first client's CONNECT
    /// is answered (and again if the namespace is dropped and created anew).
    pub fn on_init<F, Fut>(&mut self, hook: F) -> &mut Self
    where
        F: Fn(Namespace) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.hooks.init = Some(Arc::new(move |ns| hook(ns).boxed()));
        self
    }

    /// Runs `hook` for each new socket, before any of its messages is handled
    /// (NestJS `handleConnection(client, request)`, but awaited).
    ///
    /// If the hook fails, the client receives the `exception` event (pattern
    /// `"handleConnection"`) and is disconnected.
    pub fn on_connection<F, Fut>(&mut self, hook: F) -> &mut Self
    where
        F: Fn(Socket, Handshake) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoHookResult,
    {
        self.hooks.connection = Some(Arc::new(move |socket, handshake| {
            let fut = hook(socket, handshake);
            async move { fut.await.into_hook_result() }.boxed()
        }));
        self
    }

    /// Runs `hook` when a socket is disconnecting, before it leaves its rooms, so
    /// [`Socket::rooms`] still lists them (socket.io's `disconnecting` event). Runs before
    /// [`on_disconnect`](Self::on_disconnect). Broadcasts to its rooms reach the others; what
    /// the hook emits to this socket itself is delivered only if its connection is still open
    /// (a Socket.IO client that left one namespace). Until the hook returns, the socket is
    /// still in its rooms and in `fetch_sockets`: keep it short (socket.io's listeners are
    /// synchronous).
    ///
    /// ```
    /// use gateway_core::{DisconnectReason, GatewayBuilder, GatewayOptions, Socket};
    /// let mut gateway = GatewayBuilder::new(GatewayOptions::new("/chat"));
    /// gateway.on_disconnecting(|socket: Socket, _reason: DisconnectReason| async move {
    ///     for room in socket.rooms() {
    ///         socket.to(room).emit("userLeft", &socket.id().to_string()).ok();
    ///     }
    /// });
    /// ```
    pub fn on_disconnecting<F, Fut>(&mut self, hook: F) -> &mut Self
    where
        F: Fn(Socket, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.hooks.disconnecting =
            Some(Arc::new(move |socket, reason| hook(socket, reason).boxed()));
        self
    }

    /// Runs `hook` after a socket has disconnected and left its rooms
    /// (NestJS `handleDisconnect(client, reason)`).
    pub fn on_disconnect<F, Fut>(&mut self, hook: F) -> &mut Self
    where
        F: Fn(Socket, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.hooks.disconnect = Some(Arc::new(move |socket, reason| hook(socket, reason).boxed()));
        self
    }

    /// Describes the gateway's events for the AsyncAPI document and the TypeScript event maps
    /// (`#[gateway]` generates this from the handlers and `#[emits]`). `describe` runs only
    /// when a description is asked for; a second call replaces the first.
    ///
    /// ```
    /// use gateway_core::describe::{GatewayDescriber, MessageSchema, ReplySchema};
    /// use gateway_core::{GatewayBuilder, GatewayOptions};
    ///
    /// let mut gateway = GatewayBuilder::new(GatewayOptions::new("/clock"));
    /// gateway.on("ping", || async { "pong" });
    /// gateway.describe_with(|d: &mut GatewayDescriber| {
    ///     d.receives("ping", None, ReplySchema::Ack(MessageSchema::opaque::<String>()));
    /// });
    /// ```
    pub fn describe_with(&mut self, describe: fn(&mut GatewayDescriber)) -> &mut Self {
        self.describe = Some(describe);
        self
    }

    pub(crate) fn finish(self) -> GatewayDefinition {
        GatewayDefinition {
            gateway: self.name,
            options: self.options,
            routes: self.routes,
            event_handlers: self.event_handlers,
            hooks: self.hooks,
            enhancers: self.enhancers,
            connection_guards: self.connection_guards,
            describe: self.describe,
            errors: self.errors,
        }
    }
}

impl std::fmt::Debug for GatewayBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayBuilder")
            .field("name", &self.name)
            .field("options", &self.options)
            .field("events", &self.routes.keys().collect::<Vec<_>>())
            .field(
                "event_patterns",
                &self
                    .event_handlers
                    .iter()
                    .map(|h| h.pattern.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}
