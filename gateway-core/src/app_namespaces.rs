//! [`AppNamespaces`]: the app's gateways at runtime, each a fixed namespace or a dynamic
//! gateway with its concrete namespaces; found by name for services.

use std::sync::Arc;

use crate::dynamic::DynamicNamespaces;
use crate::gateway::GatewayDefinition;
use crate::gateway_parts::GatewayParts;
use crate::namespace_pattern::NamespacePattern;
use crate::pipeline::Enhancers;
use crate::registry::NamespaceState;
use crate::runtime::Runtime;
use crate::{GatewayOptions, Namespace};

/// Every gateway of the app, in registration order within each kind.
#[derive(Debug, Default)]
pub(crate) struct AppNamespaces {
    pub(crate) fixed: Vec<Arc<NamespaceState>>,
    pub(crate) dynamic: Vec<Arc<DynamicNamespaces>>,
}

impl AppNamespaces {
    /// The namespaces of `definitions`, which [`problem`] found nothing wrong with.
    pub(crate) fn new(
        definitions: Vec<GatewayDefinition>,
        global: &Enhancers,
        app: &Arc<Runtime>,
    ) -> Self {
        let mut namespaces = Self::default();
        for definition in definitions {
            let pattern = definition
                .options
                .is_dynamic()
                .then(|| pattern_of(&definition.options));
            let parts = Arc::new(GatewayParts::new(definition, global, app));
            match pattern {
                Some(Ok(pattern)) => {
                    let gateway = DynamicNamespaces::new(parts, pattern, app.clone());
                    namespaces.dynamic.push(gateway);
                }
                // `problem` refused it at build time.
                Some(Err(_)) => {}
                None => {
                    let ns = NamespaceState::new(parts, app.clone());
                    namespaces.fixed.push(Arc::new(ns));
                }
            }
        }
        namespaces
    }

    /// The live namespace named `name`: a fixed gateway's, or a live concrete namespace of a
    /// dynamic gateway.
    pub(crate) fn find(&self, name: &str) -> Option<Namespace> {
        let fixed = self.fixed.iter().find(|ns| ns.name() == name);
        match fixed {
            Some(ns) => Some(Namespace::from_inner(ns.clone())),
            None => self.dynamic.iter().find_map(|gateway| gateway.live(name)),
        }
    }

    /// The options of every gateway.
    pub(crate) fn options(&self) -> impl Iterator<Item = &GatewayOptions> {
        let fixed = self.fixed.iter().map(|ns| ns.options());
        fixed.chain(self.dynamic.iter().map(|gateway| gateway.options()))
    }
}

/// The pattern of a dynamic gateway: its regular expression, or its `{parameters}`.
fn pattern_of(options: &GatewayOptions) -> Result<NamespacePattern, String> {
    if options.namespace_is_regex() {
        NamespacePattern::regex(options.namespace())
    } else {
        NamespacePattern::parse(options.namespace())
    }
}

/// What is wrong with a dynamic gateway's options, if anything.
pub(crate) fn problem(gateway: &str, options: &GatewayOptions) -> Option<String> {
    if !options.is_dynamic() {
        return None;
    }
    if let Err(why) = pattern_of(options) {
        return Some(format!("gateway `{gateway}`: {why}"));
    }
    (options.path() != options.namespace()).then(|| {
        format!(
            "gateway `{gateway}` has a dynamic namespace and a `path`: a dynamic gateway is \
             served at each concrete namespace's path"
        )
    })
}
