//! Attribute macros for gateway-core: `#[gateway]`, `#[subscribe_message]` and `#[on_event]`.
//!
//! Use them through `gateway_core` (they are re-exported there). `#[gateway]` reads an `impl`
//! block and generates an implementation of `gateway_core::Gateway` made only of calls to
//! `gateway_core::GatewayBuilder`, so everything it does can be written by hand.
//!
//! ```
//! use gateway_core::{gateway, Socket};
//!
//! #[derive(serde::Serialize)]
//! struct Joined { joined: String }
//!
//! struct ChatGateway;
//!
//! #[gateway(namespace = "/chat", port = 3001, cors = ["http://localhost:4200"])]
//! impl ChatGateway {
//!     async fn handle_connection(&self, client: Socket) {
//!         client.join("lobby");
//!     }
//!
//!     #[subscribe_message("joinRoom")]
//!     async fn join(&self, client: Socket, #[message_body] room: String) -> Joined {
//!         client.join(room.as_str());
//!         Joined { joined: room }
//!     }
//! }
//!
//! let app = gateway_core::GatewayApp::builder().gateway(ChatGateway).build().unwrap();
//! assert!(app.namespace("/chat").is_some());
//! ```

mod args;
mod emits;
mod expand;
mod method;
mod on_event;
mod params;

use proc_macro::TokenStream;

/// Turns an `impl` block into a gateway (NestJS `@WebSocketGateway`).
///
/// Options: `namespace = "/chat"` (default `/`), `path = "/ws"` (URL path of the JSON wire
/// format; default: the namespace), `port = 3001` (default: the app's main listener),
/// `cors = "*"`, `cors = ["https://app.example"]` or `cors = expr` where `expr` iterates over
/// strings (allowed `Origin`s), `full_queue = "drop_newest"` (what a full send queue does;
/// default `"disconnect"`, see `gateway_core::FullQueue`), and
/// `crate = "path::to::gateway_core"` when gateway-core is re-exported under another name.
///
/// A namespace with `{parameters}`, e.g. `namespace = "/workspaces/{workspace}"`, makes a
/// dynamic gateway: each concrete namespace (`/workspaces/acme`) is created on its first
/// connection and dropped when its last socket leaves, unless `keep_empty = true`; at most
/// `max_namespaces = N` are live at once (default `gateway_core::DEFAULT_MAX_LIVE_NAMESPACES`).
/// Handlers read the parameters with the `gateway_core::NamespaceParams` extractor.
/// `namespace_regex = "^/workspaces/(?<workspace>[a-z0-9-]+)$"` instead of `namespace` serves
/// every namespace the expression matches (socket.io's RegExp namespaces); its named groups
/// are the parameters.
///
/// Inside the block:
/// - `#[subscribe_message("event")]` on an `async fn(&self, args…)` handles that event. Each
///   argument is an extractor (`gateway_core::FromMessage`); `#[message_body] x: T` takes the
///   whole body as `T` and `#[message_body("prop")] x: T` one property of it. The return value
///   is the reply: `()`, any `T: Serialize`, `Option`, `Result<T, E: Into<WsException>>`,
///   `WsResponse<T>`, `StreamReply<S>`.
/// - `#[on_event("pattern")]` on an `async fn(&self[, payload: T][, event: &str])` handles the
///   `gateway_core::EventBus` events whose name matches `pattern` (`order.created`, `order.*`
///   for one segment, `order.**` for any number); several `#[on_event]` on one method subscribe
///   it to each. The payload is any `T: Clone + DeserializeOwned`, the event name is the one
///   published. It returns `()` or `Result<(), E: Display>`; an error is logged.
/// - `after_init(&self[, server: Namespace])`, `handle_connection(&self, client: Socket[,
///   handshake: Handshake])`, `handle_disconnecting(&self, client: Socket[, reason:
///   DisconnectReason])` (socket.io's `disconnecting`: the rooms are still joined) and
///   `handle_disconnect(&self, client: Socket[, reason: DisconnectReason])` are the lifecycle
///   hooks, sync or async.
#[proc_macro_attribute]
pub fn gateway(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::gateway(args.into(), input.into()).into()
}

// Enhancer attributes: consumed by `#[gateway]`, which must come first (above them on the impl).
// On their own they are a compile error.
macro_rules! misplaced_enhancer {
    ($($name:ident),*) => {$(
        #[doc = concat!("`#[", stringify!($name), "(...)]`: only after `#[gateway]`, on its impl or on a handler; see `gateway_core::pipeline`.")]
        #[proc_macro_attribute]
        pub fn $name(_args: TokenStream, input: TokenStream) -> TokenStream {
            misplaced(stringify!($name), input)
        }
    )*};
}
misplaced_enhancer!(
    use_guards,
    use_interceptors,
    use_pipes,
    use_filters,
    set_metadata,
    use_connection_guards
);

/// Declares events a gateway emits and their payload types: `#[emits("userJoined" =
/// RoomEvent, "userLeft" = RoomEvent)]`, on the `#[gateway]` impl or on any method of it (the
/// one that emits them). They become `send` operations of the AsyncAPI document and
/// `ServerToClientEvents` of the TypeScript event maps (gateway-core feature `asyncapi`).
///
/// Only meaningful inside a `#[gateway]` impl block, which consumes it; anywhere else it is a
/// compile error.
///
/// ```
/// use gateway_core::{gateway, MessageBody, Socket};
///
/// #[derive(serde::Serialize)]
/// struct RoomEvent { room_id: String }
///
/// struct ChatGateway;
///
/// #[gateway(namespace = "/chat")]
/// impl ChatGateway {
///     #[subscribe_message("joinRoom")]
///     #[emits("userJoined" = RoomEvent)]
///     async fn join(&self, client: Socket, MessageBody(room_id): MessageBody<String>) {
///         client.join(room_id.as_str());
///         let _ = client.namespace().to(room_id.as_str()).emit("userJoined", &RoomEvent { room_id });
///     }
/// }
/// ```
#[proc_macro_attribute]
pub fn emits(_args: TokenStream, input: TokenStream) -> TokenStream {
    misplaced("emits", input)
}

fn misplaced(name: &str, input: TokenStream) -> TokenStream {
    let input = proc_macro2::TokenStream::from(input);
    let error = syn::Error::new(
        proc_macro2::Span::call_site(),
        format!("`#[{name}]` must come after `#[gateway]`, on its impl block or on a `#[subscribe_message]` handler"),
    )
    .to_compile_error();
    quote::quote!(#error #input).into()
}

/// Marks a gateway method as a handler of `gateway_core::EventBus` events whose name matches the
/// pattern (`@nestjs/event-emitter`'s `@OnEvent`).
///
/// Only meaningful inside a `#[gateway]` impl block, which consumes it; anywhere else it is a
/// compile error.
///
/// ```
/// use gateway_core::gateway;
///
/// #[derive(Clone, serde::Serialize, serde::Deserialize)]
/// struct OrderShipped { order_id: u64, user_id: String }
///
/// struct OrdersGateway;
///
/// #[gateway(namespace = "/orders")]
/// impl OrdersGateway {
///     #[on_event("order.*")]
///     async fn on_order(&self, order: OrderShipped, event: &str) {
///         println!("{event}: order {} of user {}", order.order_id, order.user_id);
///     }
/// }
///
/// let app = gateway_core::GatewayApp::builder()
///     .with_event_bus(gateway_core::EventBus::new())
///     .gateway(OrdersGateway)
///     .build()
///     .unwrap();
/// ```
#[proc_macro_attribute]
pub fn on_event(_args: TokenStream, input: TokenStream) -> TokenStream {
    let input = proc_macro2::TokenStream::from(input);
    let error = syn::Error::new(
        proc_macro2::Span::call_site(),
        "`#[on_event]` must be used on a method inside a `#[gateway]` impl block",
    )
    .to_compile_error();
    quote::quote!(#error #input).into()
}

/// Marks a gateway method as the handler of an event (NestJS `@SubscribeMessage`).
///
/// Only meaningful inside a `#[gateway]` impl block, which consumes it; anywhere else it is a
/// compile error.
#[proc_macro_attribute]
pub fn subscribe_message(_args: TokenStream, input: TokenStream) -> TokenStream {
    let input = proc_macro2::TokenStream::from(input);
    let error = syn::Error::new(
        proc_macro2::Span::call_site(),
        "`#[subscribe_message]` must be used on a method inside a `#[gateway]` impl block",
    )
    .to_compile_error();
    quote::quote!(#error #input).into()
}
