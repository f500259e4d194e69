//! [`NamespaceTable`]: the namespaces one listener serves, by name (Socket.IO) or by URL path
//! (the JSON format): fixed gateways by exact key, then dynamic gateways by pattern. What a
//! lookup [`Found`] becomes, once the connection guards have let the client in, is an
//! [`Entered`] namespace.

use std::sync::Arc;

use crate::dynamic::{AtCapacity, Claim, DynamicNamespaces};
use crate::pipeline::DynConnectionGuard;
use crate::registry::NamespaceState;
use crate::{GatewayOptions, NamespaceParams};

/// Fixed namespaces by key, and the dynamic gateways tried in registration order.
#[derive(Default)]
pub(crate) struct NamespaceTable {
    /// Looked up on every connection, by keys fixed at startup: a fast hash is enough.
    fixed: foldhash::HashMap<String, Arc<NamespaceState>>,
    dynamic: Vec<Arc<DynamicNamespaces>>,
}

/// The gateway a namespace name or path belongs to.
pub(crate) enum Found {
    Fixed(Arc<NamespaceState>),
    /// A dynamic gateway's pattern matched, with these parameters.
    Dynamic(Arc<DynamicNamespaces>, NamespaceParams),
}

/// A namespace a connection may join; for a dynamic one, held until the connection lets go
/// (see [`Claim`]).
pub(crate) struct Entered {
    ns: Arc<NamespaceState>,
    _claim: Option<Claim>,
}

impl NamespaceTable {
    pub(crate) fn insert(&mut self, key: String, ns: Arc<NamespaceState>) {
        self.fixed.insert(key, ns);
    }

    /// Adds `ns` at `key` unless a namespace is there already.
    pub(crate) fn insert_if_absent(&mut self, key: &str, ns: impl FnOnce() -> Arc<NamespaceState>) {
        self.fixed.entry(key.to_owned()).or_insert_with(ns);
    }

    pub(crate) fn add_dynamic(&mut self, gateway: Arc<DynamicNamespaces>) {
        self.dynamic.push(gateway);
    }

    /// The gateway `key` belongs to: a fixed namespace first, else the first dynamic gateway
    /// whose pattern matches.
    pub(crate) fn find(&self, key: &str) -> Option<Found> {
        if let Some(ns) = self.fixed.get(key) {
            return Some(Found::Fixed(ns.clone()));
        }
        self.dynamic.iter().find_map(|gateway| {
            let params = gateway.matches(key)?;
            Some(Found::Dynamic(gateway.clone(), params))
        })
    }

    /// Whether any gateway here accepts a browser from `origin`.
    pub(crate) fn allows_origin(&self, origin: Option<&str>) -> bool {
        let fixed = self.fixed.values().map(|ns| ns.options());
        let dynamic = self.dynamic.iter().map(|gateway| gateway.options());
        fixed
            .chain(dynamic)
            .any(|options| options.allowed_origins().allows(origin))
    }

    /// The fixed namespace at `key`, if any.
    #[cfg(feature = "fuzzing")]
    pub(crate) fn fixed(&self, key: &str) -> Option<&Arc<NamespaceState>> {
        self.fixed.get(key)
    }
}

impl Found {
    pub(crate) fn gateway(&self) -> &'static str {
        match self {
            Self::Fixed(ns) => ns.gateway(),
            Self::Dynamic(gateway, _) => gateway.gateway(),
        }
    }

    pub(crate) fn options(&self) -> &GatewayOptions {
        match self {
            Self::Fixed(ns) => ns.options(),
            Self::Dynamic(gateway, _) => gateway.options(),
        }
    }

    pub(crate) fn connection_guards(&self) -> &[Arc<dyn DynConnectionGuard>] {
        match self {
            Self::Fixed(ns) => ns.connection_guards(),
            Self::Dynamic(gateway, _) => gateway.connection_guards(),
        }
    }

    /// The namespace named `name` to join: a dynamic one is created if it is not live, or
    /// refused when its gateway has as many live namespaces as it may.
    pub(crate) async fn enter(self, name: &str) -> Result<Entered, AtCapacity> {
        match self {
            Self::Fixed(ns) => Ok(Entered { ns, _claim: None }),
            Self::Dynamic(gateway, params) => {
                let claim = gateway.claim(name, params).await?;
                Ok(Entered {
                    ns: claim.namespace().clone(),
                    _claim: Some(claim),
                })
            }
        }
    }
}

impl Entered {
    pub(crate) fn namespace(&self) -> &Arc<NamespaceState> {
        &self.ns
    }
}

impl std::fmt::Debug for NamespaceTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NamespaceTable")
            .field("fixed", &self.fixed.keys().collect::<Vec<_>>())
            .field("dynamic", &self.dynamic)
            .finish()
    }
}
