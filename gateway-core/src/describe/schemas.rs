//! [`Schemas`]: the JSON Schemas of message payloads, with the named ones collected for the
//! document's `components/schemas`.

use schemars::generate::{Contract, SchemaSettings};
use schemars::SchemaGenerator;
use serde_json::{json, Map, Value};

use super::MessageSchema;

/// Where the document keeps named schemas; every `$ref` points there.
const DEFINITIONS: &str = "/components/schemas";

/// Which way a payload goes: what a client sends is read as serde deserializes it, what the
/// server sends as serde serializes it (`skip_serializing_if`, `default` can differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    ToServer,
    ToClient,
}

/// Generates payload schemas (JSON Schema draft 7, which AsyncAPI schemas extend).
pub(super) struct Schemas {
    to_server: SchemaGenerator,
    to_client: SchemaGenerator,
}

impl Schemas {
    pub(super) fn new() -> Self {
        let generator = |contract| {
            SchemaSettings::draft07()
                .with(|settings| {
                    settings.definitions_path = DEFINITIONS.into();
                    settings.meta_schema = None;
                    settings.contract = contract;
                })
                .into_generator()
        };
        Self {
            to_server: generator(Contract::Deserialize),
            to_client: generator(Contract::Serialize),
        }
    }

    /// The schema of `message` going this way: its own, or (a type without one) any JSON value.
    pub(super) fn schema(&mut self, message: &MessageSchema, direction: Direction) -> Value {
        let generator = match direction {
            Direction::ToServer => &mut self.to_server,
            Direction::ToClient => &mut self.to_client,
        };
        match message.generate {
            Some(generate) => {
                // What `take_definitions(true)` does to named schemas (draft 7 forms).
                let mut schema = generate(generator);
                for transform in generator.transforms_mut() {
                    transform.transform(&mut schema);
                }
                object_schema(schema.to_value())
            }
            None => json!({
                "description": format!(
                    "`{}`: any JSON value (the type has no `schemars::JsonSchema`)",
                    message.type_name
                )
            }),
        }
    }

    /// The named schemas, and how to rename references in what was generated for clients. A
    /// name both ways with different schemas keeps the client-bound one as `<Name>Out`; a
    /// schema that refers to a renamed one differs too, so renaming repeats until it settles.
    pub(super) fn finish(mut self) -> (Map<String, Value>, Renames) {
        let mut definitions = self.to_server.take_definitions(true);
        let to_client = self.to_client.take_definitions(true);
        let mut renames = Renames::default();
        loop {
            let mut renamed_any = false;
            for (name, schema) in &to_client {
                let from = reference(name);
                if renames.0.iter().any(|(renamed, _)| *renamed == from) {
                    continue;
                }
                let mut schema = schema.clone();
                renames.apply(&mut schema);
                if definitions
                    .get(name)
                    .is_some_and(|existing| *existing != schema)
                {
                    let mut to = format!("{name}Out");
                    while definitions.contains_key(&to) || to_client.contains_key(&to) {
                        to.push('_');
                    }
                    renames.0.push((from, reference(&to)));
                    renamed_any = true;
                }
            }
            if !renamed_any {
                break;
            }
        }
        for (name, mut schema) in to_client {
            renames.apply(&mut schema);
            let from = reference(&name);
            let name = match renames.0.iter().find(|(renamed, _)| *renamed == from) {
                Some((_, to)) => to.rsplit('/').next().unwrap_or(&name).to_owned(),
                None => name,
            };
            definitions.entry(name).or_insert(schema);
        }
        for schema in definitions.values_mut() {
            *schema = object_schema(std::mem::take(schema));
        }
        definitions.sort_keys();
        (definitions, renames)
    }
}

/// A schema as an object: AsyncAPI payloads and components cannot be the boolean schemas
/// `true` (any value, as schemars describes `serde_json::Value`) and `false`.
fn object_schema(schema: Value) -> Value {
    match schema {
        Value::Bool(true) => json!({}),
        Value::Bool(false) => json!({"not": {}}),
        other => other,
    }
}

fn reference(name: &str) -> String {
    format!("#{DEFINITIONS}/{name}")
}

/// `$ref`s to rewrite in client-bound schemas.
#[derive(Debug, Default)]
pub(super) struct Renames(Vec<(String, String)>);

impl Renames {
    /// Rewrites `$ref: from` to `to` as well.
    pub(super) fn add(&mut self, from: &str, to: &str) {
        self.0.push((from.to_owned(), to.to_owned()));
    }

    pub(super) fn apply(&self, schema: &mut Value) {
        if self.0.is_empty() {
            return;
        }
        match schema {
            Value::Object(object) => {
                for (key, value) in object.iter_mut() {
                    match value {
                        Value::String(target) if key == "$ref" => {
                            if let Some((_, to)) = self.0.iter().find(|(from, _)| from == target) {
                                *target = to.clone();
                            }
                        }
                        other => self.apply(other),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.apply(item)),
            _ => {}
        }
    }
}
