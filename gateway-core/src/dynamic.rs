//! [`DynamicNamespaces`]: the concrete namespaces of one dynamic gateway (a namespace with
//! `{parameters}`), created on their first connection and dropped when their last socket
//! leaves (unless the gateway keeps them), at most `max_live_namespaces` at once.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use futures_util::FutureExt;

use crate::gateway_parts::GatewayParts;
use crate::namespace_pattern::NamespacePattern;
use crate::pipeline::DynConnectionGuard;
use crate::registry::{NamespaceOwner, NamespaceState};
use crate::runtime::Runtime;
use crate::{GatewayOptions, Namespace, NamespaceParams};

/// One dynamic gateway at runtime.
pub(crate) struct DynamicNamespaces {
    pattern: NamespacePattern,
    parts: Arc<GatewayParts>,
    app: Arc<Runtime>,
    /// The live concrete namespaces by name. Clients pick the names: the default,
    /// DoS-resistant hash.
    live: Mutex<HashMap<Box<str>, Arc<NamespaceState>>>,
    /// Handed to each concrete namespace, which tells us when it may be dropped.
    this: Weak<DynamicNamespaces>,
}

/// Why a connection got no concrete namespace.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct AtCapacity;

impl DynamicNamespaces {
    pub(crate) fn new(
        parts: Arc<GatewayParts>,
        pattern: NamespacePattern,
        app: Arc<Runtime>,
    ) -> Arc<Self> {
        Arc::new_cyclic(|this| Self {
            pattern,
            parts,
            app,
            live: Mutex::default(),
            this: this.clone(),
        })
    }

    pub(crate) fn gateway(&self) -> &'static str {
        self.parts.gateway
    }

    /// What this gateway's namespaces share.
    pub(crate) fn parts(&self) -> &GatewayParts {
        &self.parts
    }

    pub(crate) fn options(&self) -> &GatewayOptions {
        &self.parts.options
    }

    pub(crate) fn connection_guards(&self) -> &[Arc<dyn DynConnectionGuard>] {
        &self.parts.connection_guards
    }

    /// The parameters `name` matches this gateway's pattern with, if it does.
    pub(crate) fn matches(&self, name: &str) -> Option<NamespaceParams> {
        self.pattern.matches(name)
    }

    /// The live concrete namespace `name`, if any.
    pub(crate) fn live(&self, name: &str) -> Option<Namespace> {
        self.lock().get(name).cloned().map(Namespace::from_inner)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Box<str>, Arc<NamespaceState>>> {
        // Each step leaves the table consistent: a poisoned lock is usable.
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The concrete namespace `name` (matched with `params`) for a connection on its way in:
    /// created if it is not live, and ready (the adapter knows it, its `after_init` has run).
    /// It is not dropped while the [`Claim`] is held; register the socket before letting go.
    pub(crate) async fn claim(
        &self,
        name: &str,
        params: NamespaceParams,
    ) -> Result<Claim, AtCapacity> {
        let ns = self.claim_live_or_new(name, params)?;
        let claim = Claim {
            ns,
            owner: self.this.clone(),
        };
        claim
            .ns
            .ready
            .get_or_init(|| self.make_ready(claim.ns.clone()))
            .await;
        Ok(claim)
    }

    fn claim_live_or_new(
        &self,
        name: &str,
        params: NamespaceParams,
    ) -> Result<Arc<NamespaceState>, AtCapacity> {
        let mut live = self.lock();
        if let Some(ns) = live.get(name) {
            // Namespaces are retired under this lock and removed at once: a live one takes claims.
            if ns.try_claim() {
                return Ok(ns.clone());
            }
        }
        if live.len() >= self.options().max_live_namespaces() {
            return Err(AtCapacity);
        }
        let ns = Arc::new(NamespaceState::concrete(
            self.parts.clone(),
            name,
            params,
            self.this.clone() as Weak<dyn NamespaceOwner>,
            self.app.clone(),
        ));
        ns.try_claim();
        live.insert(name.into(), ns.clone());
        tracing::debug!(
            gateway = self.gateway(),
            namespace = name,
            "namespace created"
        );
        Ok(ns)
    }

    /// Tells the adapter of a new concrete namespace (it subscribes to its channels), then runs
    /// the gateway's `after_init` with it; a panic there is logged.
    async fn make_ready(&self, ns: Arc<NamespaceState>) {
        self.app
            .adapter
            .namespace_created(Namespace::from_inner(ns.clone()))
            .await;
        if let Some(init) = self.parts.hooks.init.clone() {
            let init = AssertUnwindSafe(init(Namespace::from_inner(ns.clone()))).catch_unwind();
            if init.await.is_err() {
                tracing::error!(
                    gateway = self.gateway(),
                    namespace = ns.name(),
                    "after_init panicked"
                );
            }
        }
    }
}

impl NamespaceOwner for DynamicNamespaces {
    /// Drops `ns` if it is live, empty and not kept: the adapter forgets it, and the next
    /// connection to its name creates it anew.
    fn release_if_empty(&self, ns: &NamespaceState) {
        if self.options().keep_empty() {
            return;
        }
        let mut live = self.lock();
        let is_current = live
            .get(ns.name())
            .is_some_and(|current| std::ptr::eq(Arc::as_ptr(current), ns));
        if !is_current || !ns.retire_if_unused() {
            return;
        }
        live.remove(ns.name());
        // Under the lock: the adapter hears of the drop before a new namespace of that name.
        self.app.adapter.namespace_dropped(ns.name());
        tracing::debug!(
            gateway = self.gateway(),
            namespace = ns.name(),
            "namespace dropped"
        );
    }
}

/// A concrete namespace held for a connection on its way in; letting go drops the namespace
/// if the connection did not join it and nobody else is in it.
pub(crate) struct Claim {
    ns: Arc<NamespaceState>,
    owner: Weak<DynamicNamespaces>,
}

impl Claim {
    pub(crate) fn namespace(&self) -> &Arc<NamespaceState> {
        &self.ns
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.ns.unclaim();
        if let Some(owner) = self.owner.upgrade() {
            owner.release_if_empty(&self.ns);
        }
    }
}

impl std::fmt::Debug for DynamicNamespaces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamicNamespaces")
            .field("pattern", &self.pattern.to_string())
            .finish()
    }
}
