//! The AsyncAPI 3.0 document of an app's gateways: a channel per namespace (and per JSON-format
//! path that differs from it), a `receive` operation per handled event with its reply, a `send`
//! operation per emitted event, both wire formats as servers, and the guards' credentials as
//! security schemes.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::keys::{channel_key, id_part, message_key, unique_key};
use super::schemas::{Direction, Schemas};
use super::security::{scheme, scheme_key, security};
use super::servers::add_servers;
use super::{ApiOptions, Body, DescribedGateway, GatewayDescriber, ReplySchema};
use crate::pipeline::Credential;

/// The extension on a reply message saying how it reaches the client: `ack` (Socket.IO ack,
/// or the JSON frame sent back) or `event` (a `WsResponse`, emitted as an event).
pub(super) const REPLY_KIND: &str = "x-reply";

/// Where the `exception` payloads point until the exception schema has its name.
const EXCEPTION_REF: &str = "#/components/schemas/gateway-core:WsException";

/// The document, as JSON.
pub(crate) fn document(
    gateways: &[DescribedGateway],
    api: &ApiOptions,
    socketio_path: &str,
) -> Value {
    let mut schemas = Schemas::new();
    let mut servers = Map::new();
    let mut channels = Map::new();
    let mut operations = Map::new();
    let mut credentials = BTreeSet::new();
    let mut sent_payloads: Vec<(String, String)> = Vec::new();

    let mut ordered: Vec<&DescribedGateway> = gateways.iter().collect();
    ordered.sort_by(|a, b| {
        (a.options.port(), a.options.namespace()).cmp(&(b.options.port(), b.options.namespace()))
    });
    for gateway in ordered {
        let port = gateway.options.port();
        let (socketio, json_server) = add_servers(&mut servers, port, socketio_path);
        let description = gateway.description();
        let base = unique_key(&channels, &channel_key(gateway.options.namespace()));
        let options = &gateway.options;
        let json_path_differs = !options.is_dynamic() && options.path() != options.namespace();
        let mut homes = vec![(
            base.clone(),
            options.namespace().to_owned(),
            vec![socketio.clone()],
        )];
        if json_path_differs {
            homes.push((
                unique_key(&channels, &format!("{base}_json")),
                options.path().to_owned(),
                vec![json_server],
            ));
        } else {
            homes[0].2.push(json_server);
        }
        for (key, address, on) in homes {
            let channel = Channel {
                key: &key,
                gateway,
                description: &description,
                socketio: on.contains(&socketio),
            };
            let (messages, keys) = channel.messages(&mut schemas, &mut sent_payloads);
            let mut object = json!({
                "address": if options.namespace_is_regex() { Value::Null } else { Value::String(address.clone()) },
                "title": address,
                "description": channel_description(options, &address),
                "servers": on.iter().map(|s| json!({"$ref": format!("#/servers/{s}")})).collect::<Vec<_>>(),
                "messages": messages,
            });
            if let Some(parameters) = parameters(options) {
                object["parameters"] = parameters;
            }
            channels.insert(key.clone(), object);
            for (id, operation) in channel.operations(&keys, &mut credentials) {
                let id = unique_key(&operations, &id);
                operations.insert(id, operation);
            }
        }
    }

    let (mut definitions, mut renames) = schemas.finish();
    // The default filter's shape, under a name no payload type has taken.
    let mut exception = "WsException".to_owned();
    while definitions.contains_key(&exception) {
        exception.insert_str(0, "Gateway");
    }
    renames.add(EXCEPTION_REF, &format!("#/components/schemas/{exception}"));
    definitions.insert(exception, exception_schema());
    for (channel, message) in &sent_payloads {
        if let Some(payload) = channels
            .get_mut(channel)
            .and_then(|c| c.pointer_mut(&format!("/messages/{message}/payload")))
        {
            renames.apply(payload);
        }
    }
    let mut components = json!({ "schemas": definitions });
    if !credentials.is_empty() {
        let schemes: Map<String, Value> = credentials
            .iter()
            .map(|credential| (scheme_key(credential), scheme(credential)))
            .collect();
        components["securitySchemes"] = Value::Object(schemes);
    }
    json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": api.title,
            "version": api.version,
            "description": "Generated from the gateway declarations. Each channel is a gateway: a \
                Socket.IO namespace, and the path of its JSON-format WebSocket (NestJS \
                `platform-ws`: frames `{\"event\": name, \"data\": payload}`).",
        },
        "defaultContentType": "application/json",
        "servers": servers,
        "channels": channels,
        "operations": operations,
        "components": components,
    })
}

/// One channel of one gateway while it is being written.
struct Channel<'a> {
    key: &'a str,
    gateway: &'a DescribedGateway,
    description: &'a GatewayDescriber,
    /// Served to Socket.IO clients (else JSON-format only: no `auth.token`).
    socketio: bool,
}

/// The keys of a channel's messages, chosen once so that no two events share one: by received
/// event (its message, its reply's), and by sent event, in [`Channel::sent`] order.
struct Keys {
    received: Vec<(String, Option<String>)>,
    sent: Vec<String>,
}

impl Channel<'_> {
    /// The channel's messages: each received event, its reply, and each sent event (the
    /// `exception` event of the default filter included).
    fn messages(
        &self,
        schemas: &mut Schemas,
        sent_payloads: &mut Vec<(String, String)>,
    ) -> (Map<String, Value>, Keys) {
        let mut messages = Map::new();
        let mut keys = Keys {
            received: Vec::new(),
            sent: Vec::new(),
        };
        for received in &self.description.received {
            let mut message = json!({
                "name": received.event,
                "title": received.event,
                "summary": format!("The client sends `{}`.", received.event),
            });
            match &received.body {
                Some(Body::Whole(schema)) => {
                    message["payload"] = schemas.schema(schema, Direction::ToServer);
                }
                Some(Body::Properties(properties)) => {
                    message["payload"] = properties_schema(properties, schemas);
                }
                None => {}
            }
            let key = unique_key(&messages, &message_key(&received.event));
            messages.insert(key.clone(), message);
            let (kind, schema) = match &received.reply {
                ReplySchema::None => {
                    keys.received.push((key, None));
                    continue;
                }
                ReplySchema::Ack(schema) => ("ack", schema),
                ReplySchema::Event(schema) => ("event", schema),
            };
            let summary = match kind {
                "ack" => format!(
                    "The reply to `{}`: the Socket.IO ack's argument (when the client asks for \
                     one), or the JSON-format frame sent back as is.",
                    received.event
                ),
                _ => format!(
                    "The reply to `{}`: emitted as an event the handler names (its \
                     `WsResponse`); JSON format: `{{\"event\": name, \"data\": payload}}`.",
                    received.event
                ),
            };
            let reply_key = unique_key(&messages, &format!("{key}.reply"));
            messages.insert(
                reply_key.clone(),
                json!({
                    "name": received.event,
                    "title": format!("{} (reply)", received.event),
                    "summary": summary,
                    "payload": schemas.schema(schema, Direction::ToClient),
                    REPLY_KIND: kind,
                }),
            );
            sent_payloads.push((self.key.to_owned(), reply_key.clone()));
            keys.received.push((key, Some(reply_key)));
        }
        for (event, schema) in self.sent() {
            let payload = match schema {
                Some(schema) => schemas.schema(&schema, Direction::ToClient),
                None => json!({ "$ref": EXCEPTION_REF }),
            };
            // An event both received and sent: `<event>.sent` for the one the server emits.
            let key = match message_key(&event) {
                key if messages.contains_key(&key) => unique_key(&messages, &format!("{key}.sent")),
                key => key,
            };
            messages.insert(
                key.clone(),
                json!({
                    "name": event,
                    "title": event,
                    "summary": format!("The server emits `{event}`."),
                    "payload": payload,
                }),
            );
            sent_payloads.push((self.key.to_owned(), key.clone()));
            keys.sent.push(key);
        }
        (messages, keys)
    }

    /// The events the gateway sends, `exception` last unless declared (`None`: the default
    /// filter's shape).
    fn sent(&self) -> Vec<(String, Option<super::MessageSchema>)> {
        let mut sent: Vec<(String, Option<super::MessageSchema>)> = (self.description.sent.iter())
            .map(|(event, schema)| (event.clone(), Some(*schema)))
            .collect();
        if !sent.iter().any(|(event, _)| event == "exception") {
            sent.push(("exception".to_owned(), None));
        }
        sent
    }

    /// The credentials among `credentials` that a client of this channel can present.
    fn usable(&self, credentials: impl Iterator<Item = Credential>) -> BTreeSet<Credential> {
        credentials
            .filter(|credential| self.socketio || *credential != Credential::SocketIoAuth)
            .collect()
    }

    fn operations(
        &self,
        keys: &Keys,
        credentials: &mut BTreeSet<Credential>,
    ) -> Vec<(String, Value)> {
        let channel = json!({"$ref": format!("#/channels/{}", self.key)});
        let message =
            |key: &str| json!({"$ref": format!("#/channels/{}/messages/{key}", self.key)});
        let gateway = self.gateway;
        let mut operations = Vec::new();
        for (received, (key, reply_key)) in self.description.received.iter().zip(&keys.received) {
            let mut operation = json!({
                "action": "receive",
                "channel": channel,
                "title": received.event,
                "summary": format!("Handles `{}` (`#[subscribe_message]`).", received.event),
                "messages": [message(key)],
            });
            if let Some(reply_key) = reply_key {
                operation["reply"] = json!({
                    "channel": channel,
                    "messages": [message(reply_key)],
                });
            }
            let own = (gateway.handler_credentials.iter())
                .filter(|(event, _)| *event == received.event)
                .flat_map(|(_, credentials)| credentials.iter().cloned());
            let required = self.usable(
                (gateway.connection_credentials.iter().cloned())
                    .chain(gateway.gateway_credentials.iter().cloned())
                    .chain(own),
            );
            if !required.is_empty() {
                operation["security"] = security(&required);
                credentials.extend(required);
            }
            let id = format!("{}_receive_{}", self.key, id_part(&received.event));
            operations.push((id, operation));
        }
        for ((event, _), key) in self.sent().into_iter().zip(&keys.sent) {
            let mut operation = json!({
                "action": "send",
                "channel": channel,
                "title": event,
                "summary": format!("Emits `{event}`."),
                "messages": [message(key)],
            });
            let required = self.usable(gateway.connection_credentials.iter().cloned());
            if !required.is_empty() {
                operation["security"] = security(&required);
                credentials.extend(required);
            }
            let id = format!("{}_send_{}", self.key, id_part(&event));
            operations.push((id, operation));
        }
        operations
    }
}

/// The payload of a body read by properties (`#[message_body("p")]`): an object of them,
/// each required unless its schema accepts `null` (a missing property reads as `null`).
fn properties_schema(
    properties: &[(String, super::MessageSchema)],
    schemas: &mut Schemas,
) -> Value {
    let mut object = Map::new();
    let mut required: Vec<&String> = Vec::new();
    for (name, schema) in properties {
        if object.contains_key(name) {
            continue;
        }
        let schema = schemas.schema(schema, Direction::ToServer);
        if !accepts_null(&schema) {
            required.push(name);
        }
        object.insert(name.clone(), schema);
    }
    json!({"type": "object", "properties": object, "required": required})
}

/// Whether a schema admits `null`, as far as its own keywords tell: no type, a type list with
/// `null`, or an `anyOf` / `oneOf` branch that does.
fn accepts_null(schema: &Value) -> bool {
    let Some(object) = schema.as_object() else {
        return schema == &Value::Bool(true);
    };
    let branches: Vec<&Value> = ["anyOf", "oneOf"]
        .iter()
        .filter_map(|keyword| object.get(*keyword)?.as_array())
        .flatten()
        .collect();
    if !branches.is_empty() {
        return branches.into_iter().any(accepts_null);
    }
    match object.get("type") {
        None => !["$ref", "enum", "const", "allOf", "not"]
            .iter()
            .any(|keyword| object.contains_key(*keyword)),
        Some(Value::String(kind)) => kind == "null",
        Some(Value::Array(kinds)) => kinds.iter().any(|kind| kind == "null"),
        Some(_) => false,
    }
}

fn channel_description(options: &crate::GatewayOptions, address: &str) -> String {
    if options.namespace_is_regex() {
        format!(
            "Every namespace matching the regular expression `{}`; its named groups are the \
             parameters. The JSON format serves each at the namespace's path.",
            options.namespace()
        )
    } else if options.is_dynamic() {
        format!(
            "Each namespace matching `{address}` (a dynamic namespace, created on its first \
             connection), on both wire formats."
        )
    } else if address == options.namespace() && options.path() != address {
        format!("Socket.IO namespace `{address}`.")
    } else if address == options.namespace() {
        format!("Socket.IO namespace `{address}`, and the JSON-format path `{address}`.")
    } else {
        format!(
            "The JSON-format path `{address}` of namespace `{}`.",
            options.namespace()
        )
    }
}

/// A dynamic namespace's `{parameters}`.
fn parameters(options: &crate::GatewayOptions) -> Option<Value> {
    if !options.is_dynamic() || options.namespace_is_regex() {
        return None;
    }
    let parameters: Map<String, Value> = (options.namespace().split('/'))
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            let description = format!("The `{name}` segment of the namespace.");
            (name.to_owned(), json!({ "description": description }))
        })
        .collect();
    Some(Value::Object(parameters))
}

/// What the default exception filter (`BaseWsExceptionFilter`) emits.
fn exception_schema() -> Value {
    json!({
        "title": "WsException",
        "description": "An error, as NestJS's `BaseWsExceptionFilter` sends it: `{status, message}` \
            for an exception made with a message, the exception's own object or array as is \
            (a `ValidationPipe`'s errors, say). A custom filter may send another shape.",
        "anyOf": [
            {
                "type": "object",
                "properties": {
                    "status": {"type": "string", "const": "error"},
                    "message": {"description": "The exception's message."},
                    "cause": {
                        "type": "object",
                        "properties": {"pattern": {"type": "string"}, "data": {}},
                        "required": ["pattern", "data"],
                    },
                },
                "required": ["status"],
            },
            {"type": ["object", "array"]},
        ],
    })
}
