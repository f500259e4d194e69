//! The document's security schemes: where the guards read the client's token.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::keys::id_part;
use crate::pipeline::Credential;

/// An operation's `security`: any one of `required`.
pub(super) fn security(required: &BTreeSet<Credential>) -> Value {
    required
        .iter()
        .map(|credential| json!({"$ref": format!("#/components/securitySchemes/{}", scheme_key(credential))}))
        .collect()
}

pub(super) fn scheme_key(credential: &Credential) -> String {
    match credential {
        Credential::BearerHeader => "bearerHeader".to_owned(),
        Credential::Query(name) => format!("queryToken_{}", id_part(name)),
        Credential::SocketIoAuth => "socketIoAuthToken".to_owned(),
    }
}

pub(super) fn scheme(credential: &Credential) -> Value {
    match credential {
        Credential::BearerHeader => json!({
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "`Authorization: Bearer <token>` on the handshake request.",
        }),
        Credential::Query(name) => json!({
            "type": "httpApiKey",
            "name": name,
            "in": "query",
            "description": format!("The token in the `{name}` query parameter of the handshake request."),
        }),
        Credential::SocketIoAuth => json!({
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "Socket.IO only: the token in the CONNECT packet's `auth.token` \
                (socket.io-client's `auth: { token }` option).",
            "x-socketio-auth": "token",
        }),
    }
}
