//! The enhancer pipeline: guards, interceptors, pipes and exception filters (NestJS 12 semantics).
//!
//! ```text
//!  message ─► guards ──────► interceptors (before) ─► pipes + extractors ─► handler
//!             global           global                 global                  │
//!             gateway          gateway                gateway                 ▼
//!             handler          handler                handler        interceptors (after)
//!                │                    │                     │                 │
//!                └──── any error ─────┴─────────────────────┴─────────────────┤
//!                                                                             ▼
//!                              exception filters: handler ─► gateway ─► global ─► default
//! ```
//!
//! - A guard that answers `false` fails with `WsException("Forbidden resource")`; a guard may
//!   also fail with its own exception.
//! - Interceptors wrap everything after them: each gets a [`Next`] and may time it, map or replace
//!   the reply, catch its error, or answer without calling it.
//! - Pipes see each body argument (`MessageBody<T>`, `#[message_body]`, `#[message_body("prop")]`):
//!   [`Pipe::transform`] the JSON before it is deserialized, [`Pipe::check`] the typed value after.
//!   When no pipe of a handler transforms ([`Pipe::transforms`] is `false`, as for
//!   `ValidationPipe`), the value is deserialized straight from the message text.
//! - Filters run from the most specific level to the global one. A filter that handles the error
//!   ends the chain; one that fails passes its error on to the next level, and the default
//!   filter ([`BaseWsExceptionFilter`]) handles whatever is left. Unlike NestJS, global filters
//!   apply to gateways.
//!
//! Each kind is a trait for structs and has a closure form: [`guard_fn`], [`interceptor_fn`],
//! [`pipe_fn`], [`filter_fn`].

mod connection_guard;
mod context;
mod credential;
pub(crate) mod filter;
mod guard;
mod interceptor;
mod pipe;

pub use connection_guard::{
    connection_guard_fn, ConnectionContext, ConnectionGuard, ConnectionGuardFn,
};
pub use context::{ExecutionContext, Metadata};
pub use credential::Credential;
pub use filter::{
    catch_only, filter_fn, BaseWsExceptionFilter, CatchOnly, ExceptionFilter, FilterFn,
};
pub use guard::{guard_fn, Guard, GuardFn, IntoGuardResult, FORBIDDEN_MESSAGE};
pub use interceptor::{interceptor_fn, Interceptor, InterceptorFn, Next};
pub use pipe::{
    pipe_fn, ArgumentKind, ArgumentMetadata, Pipe, PipeFn, RejectedArgument, TypedArgument,
};

pub(crate) use connection_guard::{run_connection_guards, DynConnectionGuard, Refusal};
pub(crate) use filter::DynFilter;
pub(crate) use guard::DynGuard;
pub(crate) use interceptor::DynInterceptor;
pub(crate) use pipe::DynPipe;

use std::sync::Arc;

/// The enhancers of one level (global, gateway or handler), in registration order.
#[derive(Clone, Default)]
pub(crate) struct Enhancers {
    pub(crate) guards: Vec<Arc<dyn DynGuard>>,
    pub(crate) interceptors: Vec<Arc<dyn DynInterceptor>>,
    pub(crate) pipes: Vec<Arc<dyn DynPipe>>,
    pub(crate) filters: Vec<Arc<dyn DynFilter>>,
    pub(crate) metadata: Metadata,
    /// Connection guards (the global level only: a gateway's are in its definition).
    pub(crate) connection_guards: Vec<Arc<dyn DynConnectionGuard>>,
}

/// `first` then `second`, as one list.
fn chain<T: Clone>(first: &[T], second: &[T]) -> Vec<T> {
    first.iter().chain(second).cloned().collect()
}

impl Enhancers {
    /// The enhancers of a handler: `outer` (global, then gateway) around `self` (the handler's),
    /// with filters in the opposite order and the handler's metadata overriding.
    pub(crate) fn nested_in(&self, outer: &Enhancers) -> Enhancers {
        Enhancers {
            guards: chain(&outer.guards, &self.guards),
            interceptors: chain(&outer.interceptors, &self.interceptors),
            pipes: chain(&outer.pipes, &self.pipes),
            filters: chain(&self.filters, &outer.filters),
            metadata: self.metadata.over(&outer.metadata),
            connection_guards: chain(&outer.connection_guards, &self.connection_guards),
        }
    }
}
