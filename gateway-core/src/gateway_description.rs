//! [`described`]: a finished gateway registration as the API description sees it.

use crate::describe::DescribedGateway;
use crate::gateway::GatewayDefinition;
use crate::pipeline::{Credential, Enhancers};

/// The gateway as the API description sees it, with the credentials of its guards and of
/// the app's `global` ones.
pub(crate) fn described(definition: &GatewayDefinition, global: &Enhancers) -> DescribedGateway {
    let connection_credentials = (global.connection_guards.iter())
        .chain(&definition.connection_guards)
        .flat_map(|guard| guard.credentials())
        .collect();
    let gateway_credentials = (global.guards.iter())
        .chain(&definition.enhancers.guards)
        .flat_map(|guard| guard.credentials())
        .collect();
    let mut handler_credentials: Vec<(String, Vec<Credential>)> = (definition.routes.iter())
        .map(|(event, route)| {
            let credentials = route.enhancers.guards.iter();
            (
                event.to_string(),
                credentials.flat_map(|g| g.credentials()).collect(),
            )
        })
        .filter(|(_, credentials): &(String, Vec<Credential>)| !credentials.is_empty())
        .collect();
    handler_credentials.sort();
    DescribedGateway {
        options: definition.options.clone(),
        describe: definition.describe,
        connection_credentials,
        gateway_credentials,
        handler_credentials,
    }
}
