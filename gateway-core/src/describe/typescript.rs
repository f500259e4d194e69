//! TypeScript event maps for socket.io-client, from the AsyncAPI document: the named schemas
//! as interfaces and types, and per Socket.IO channel a namespace with `ServerToClientEvents`
//! and `ClientToServerEvents` (acks typed from the replies).

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::asyncapi::REPLY_KIND;

/// The `.d.ts` text for `document`.
pub(crate) fn event_maps(document: &Value) -> String {
    let mut out = String::from(
        "// Generated from the gateway declarations (gateway-core). Do not edit.\n\
         //\n\
         // import { io, Socket } from \"socket.io-client\";\n\
         // const chat: Socket<Chat.ServerToClientEvents, Chat.ClientToServerEvents> = io(\"/chat\");\n\n",
    );
    let empty = Map::new();
    let definitions = (document.pointer("/components/schemas"))
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    for (name, schema) in definitions {
        let name = type_name(name);
        if let Some(description) = schema.get("description").and_then(Value::as_str) {
            let _ = writeln!(out, "/** {} */", comment(description));
        }
        let _ = match object_body(schema, 0) {
            Some(body) => writeln!(out, "export interface {name} {body}\n"),
            None => writeln!(out, "export type {name} = {};\n", ts_type(schema, 0)),
        };
    }
    let channels = document
        .get("channels")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let operations = document
        .get("operations")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut namespaces = std::collections::HashSet::new();
    for (key, channel) in channels {
        let socketio = (channel.get("servers").and_then(Value::as_array))
            .is_some_and(|servers| servers.iter().any(is_socketio_server));
        if !socketio {
            continue;
        }
        let title = channel.get("title").and_then(Value::as_str).unwrap_or(key);
        let _ = writeln!(out, "/** Socket.IO namespace `{}`. */", comment(title));
        let mut name = namespace_name(key);
        while !namespaces.insert(name.clone()) {
            name.push('_');
        }
        let _ = writeln!(out, "export declare namespace {name} {{");
        let reference = format!("#/channels/{key}");
        let mine = || {
            operations
                .values()
                .filter(|op| op.get("channel").is_some_and(|c| points_to(c, &reference)))
        };
        out.push_str("  interface ServerToClientEvents {\n");
        for operation in mine().filter(|op| action(op) == "send") {
            if let Some(message) = first_message(document, operation) {
                let event = message.get("name").and_then(Value::as_str).unwrap_or("");
                let data = message
                    .get("payload")
                    .map_or("unknown".into(), |p| ts_type(p, 2));
                let _ = writeln!(out, "    {}: (data: {data}) => void;", property_name(event));
            }
        }
        out.push_str("  }\n  interface ClientToServerEvents {\n");
        for operation in mine().filter(|op| action(op) == "receive") {
            let Some(message) = first_message(document, operation) else {
                continue;
            };
            let event = message.get("name").and_then(Value::as_str).unwrap_or("");
            let mut params = Vec::new();
            if let Some(payload) = message.get("payload") {
                params.push(format!("data: {}", ts_type(payload, 2)));
            }
            let reply = (operation.pointer("/reply/messages/0"))
                .and_then(|r| resolve(document, r))
                .filter(|m| m.get(REPLY_KIND).and_then(Value::as_str) == Some("ack"));
            if let Some(reply) = reply {
                let data = reply
                    .get("payload")
                    .map_or("unknown".into(), |p| ts_type(p, 2));
                params.push(format!("callback: (reply: {data}) => void"));
            }
            let _ = writeln!(
                out,
                "    {}: ({}) => void;",
                property_name(event),
                params.join(", ")
            );
        }
        out.push_str("  }\n}\n\n");
    }
    out
}

fn action(operation: &Value) -> &str {
    operation
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn points_to(reference: &Value, target: &str) -> bool {
    reference.get("$ref").and_then(Value::as_str) == Some(target)
}

fn first_message<'a>(document: &'a Value, operation: &'a Value) -> Option<&'a Value> {
    operation
        .pointer("/messages/0")
        .and_then(|m| resolve(document, m))
}

/// What a `$ref` (`#/channels/chat/messages/x`) points to.
fn resolve<'a>(document: &'a Value, reference: &'a Value) -> Option<&'a Value> {
    match reference.get("$ref").and_then(Value::as_str) {
        Some(target) => document.pointer(target.strip_prefix('#')?),
        None => Some(reference),
    }
}

/// The TypeScript type of a JSON Schema; `indent` is the nesting depth of the line it is on.
fn ts_type(schema: &Value, indent: usize) -> String {
    let Some(object) = schema.as_object() else {
        return match schema {
            Value::Bool(false) => "never".into(),
            _ => "unknown".into(),
        };
    };
    if let Some(target) = object.get("$ref").and_then(Value::as_str) {
        return type_name(target.rsplit('/').next().unwrap_or("unknown"));
    }
    if let Some(value) = object.get("const") {
        return literal(value);
    }
    if let Some(values) = object.get("enum").and_then(Value::as_array) {
        return union(values.iter().map(literal).collect());
    }
    // `properties` beside `anyOf` / `oneOf` / `allOf` (a flattened enum, say): both hold.
    let mut parts: Vec<String> = Vec::new();
    for (keyword, joiner) in [("anyOf", " | "), ("oneOf", " | "), ("allOf", " & ")] {
        if let Some(variants) = object.get(keyword).and_then(Value::as_array) {
            let variants: Vec<String> = (variants.iter())
                .map(|v| format!("({})", ts_type(v, indent)))
                .collect();
            parts.push(variants.join(joiner));
        }
    }
    if !parts.is_empty() {
        if let Some(body) = object_body(schema, indent) {
            parts.insert(0, body);
        }
        return match parts.len() {
            1 => parts.remove(0),
            _ => parts
                .iter()
                .map(|p| format!("({p})"))
                .collect::<Vec<_>>()
                .join(" & "),
        };
    }
    match object.get("type") {
        Some(Value::String(kind)) => typed(kind, object, indent),
        Some(Value::Array(kinds)) => union(
            (kinds.iter().filter_map(Value::as_str))
                .map(|kind| typed(kind, object, indent))
                .collect(),
        ),
        _ => "unknown".into(),
    }
}

fn typed(kind: &str, object: &Map<String, Value>, indent: usize) -> String {
    match kind {
        "string" => "string".into(),
        "number" | "integer" => "number".into(),
        "boolean" => "boolean".into(),
        "null" => "null".into(),
        "array" => match object.get("items") {
            Some(items) if items.is_array() => {
                let items: Vec<String> = (items.as_array().into_iter().flatten())
                    .map(|item| ts_type(item, indent))
                    .collect();
                format!("[{}]", items.join(", "))
            }
            Some(items) => format!("({})[]", ts_type(items, indent)),
            None => "unknown[]".into(),
        },
        "object" => object_body(&Value::Object(object.clone()), indent)
            .unwrap_or_else(|| "{ [key: string]: unknown }".into()),
        _ => "unknown".into(),
    }
}

/// `{ a: string; b?: number }` for an object schema with properties (or a map type).
fn object_body(schema: &Value, indent: usize) -> Option<String> {
    let object = schema.as_object()?;
    let is_object = match object.get("type") {
        Some(Value::String(kind)) => kind == "object",
        Some(Value::Array(kinds)) => kinds.iter().any(|kind| kind == "object"),
        _ => object.contains_key("properties"),
    };
    if !is_object {
        return None;
    }
    let properties = object.get("properties").and_then(Value::as_object);
    let extra = object.get("additionalProperties");
    let Some(properties) = properties.filter(|p| !p.is_empty()) else {
        return match extra {
            Some(Value::Bool(false)) => Some("{}".into()),
            Some(value) if value.is_object() => {
                Some(format!("{{ [key: string]: {} }}", ts_type(value, indent)))
            }
            _ => None,
        };
    };
    let required: Vec<&str> = (object.get("required").and_then(Value::as_array))
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let pad = "  ".repeat(indent + 1);
    let mut body = String::from("{\n");
    for (name, property) in properties {
        if let Some(description) = property.get("description").and_then(Value::as_str) {
            let _ = writeln!(body, "{pad}/** {} */", comment(description));
        }
        let optional = if required.contains(&name.as_str()) {
            ""
        } else {
            "?"
        };
        let _ = writeln!(
            body,
            "{pad}{}{optional}: {};",
            property_name(name),
            ts_type(property, indent + 1)
        );
    }
    // Beside named properties, an index signature must admit theirs: `unknown`.
    if extra.is_some_and(|v| v.is_object() || v == &Value::Bool(true)) {
        let _ = writeln!(body, "{pad}[key: string]: unknown;");
    }
    body.push_str(&"  ".repeat(indent));
    body.push('}');
    Some(body)
}

fn union(parts: Vec<String>) -> String {
    if parts.is_empty() {
        "never".into()
    } else {
        parts.join(" | ")
    }
}

fn literal(value: &Value) -> String {
    match value {
        Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null => value.to_string(),
        _ => "unknown".into(),
    }
}

/// A schema name as a TypeScript identifier.
fn type_name(name: &str) -> String {
    let mut out: String = (name.chars())
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) || out.is_empty() {
        out.insert(0, '_');
    }
    out
}

/// `chat` → `Chat`, `workspaces_workspace` → `WorkspacesWorkspace`.
fn namespace_name(key: &str) -> String {
    let name: String = key
        .split(['_', '-'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or(String::new(), |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect();
    type_name(&name)
}

/// A property or event name, quoted unless it is an identifier.
fn property_name(name: &str) -> String {
    let identifier = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if identifier {
        name.to_owned()
    } else {
        Value::String(name.to_owned()).to_string()
    }
}

fn comment(text: &str) -> String {
    text.replace("*/", "*\\/").replace('\n', " ")
}

fn is_socketio_server(reference: &Value) -> bool {
    (reference.get("$ref").and_then(Value::as_str))
        .is_some_and(|target| target.starts_with("#/servers/socketio"))
}
