//! Validation: [`ValidationPipe`] and errors shaped like class-validator's `ValidationError`.
//!
//! DTOs derive serde's `Deserialize` and `validator::Validate` (feature `validation`, on by
//! default). With a `ValidationPipe` in the pipeline, every body argument of a `#[gateway]`
//! handler whose type has validation rules is checked, and a failure reaches the client as
//!
//! ```json
//! {"event":"exception","data":[{"property":"roomId","value":"x","constraints":{"isUuid":"roomId must be a UUID"},"children":[]}]}
//! ```
//!
//! which is what a NestJS front end using `exceptionFactory: errors => new WsException(errors)`
//! already parses. (NestJS without that factory sends only "Internal server error".)

use std::any::Any;
use std::marker::PhantomData;

use indexmap::IndexMap;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::pipeline::{Pipe, RejectedArgument, TypedArgument};
#[cfg(feature = "validation")]
use crate::MessageBody;
use crate::WsException;

mod lenient;
mod mismatch;
#[cfg(feature = "validation")]
mod rules;

pub(crate) use lenient::struct_fields;
use mismatch::{Expected, StandIn};
#[cfg(feature = "validation")]
use rules::{convert, validate_any};
#[cfg(feature = "validation")]
pub use rules::{is_not_empty, is_string, is_uuid};

/// Runs a value's validation rules: `None` if the value is not of the expected type.
#[doc(hidden)]
pub type Validator = fn(&dyn Any) -> Option<Result<(), Vec<ValidationError>>>;

/// One failed property, shaped like class-validator's `ValidationError` (its keys in the same
/// order: `target`, `value`, `property`, `children`, `constraints`).
///
/// ```
/// use gateway_core::validation::ValidationError;
/// let error = ValidationError::new("message").with_constraint("isNotEmpty", "message should not be empty");
/// assert_eq!(
///     serde_json::to_string(&error).unwrap(),
///     r#"{"property":"message","children":[],"constraints":{"isNotEmpty":"message should not be empty"}}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidationError {
    /// The object that failed (on by default, as class-validator; see
    /// [`ValidationPipe::with_target`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Value>,
    /// The property's value, when it had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// The property name (an index for list items).
    pub property: String,
    /// Errors of nested objects.
    pub children: Vec<ValidationError>,
    /// Failed rule → message, in the order the rules ran, e.g.
    /// `{"maxLength": "message must be shorter than or equal to 1000 characters"}`.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub constraints: IndexMap<String, String>,
}

impl ValidationError {
    /// An error for `property` with no constraints yet.
    pub fn new(property: impl Into<String>) -> Self {
        Self {
            target: None,
            value: None,
            property: property.into(),
            children: Vec::new(),
            constraints: IndexMap::new(),
        }
    }

    /// Adds a failed rule and its message.
    pub fn with_constraint(mut self, rule: impl Into<String>, message: impl Into<String>) -> Self {
        self.constraints.insert(rule.into(), message.into());
        self
    }

    /// Names the property `name` (a serde name for a Rust one), in the default messages too.
    fn renamed(mut self, name: &str) -> Self {
        if self.property != name {
            let prefix = format!("{} ", self.property);
            for message in self.constraints.values_mut() {
                if let Some(rest) = message.strip_prefix(&prefix) {
                    *message = format!("{name} {rest}");
                }
            }
            self.property = name.to_owned();
        }
        self
    }
}

/// Validates body arguments (NestJS `ValidationPipe` with `exceptionFactory: errors => new WsException(errors)`).
///
/// It checks the arguments of `#[gateway]` handlers (see [`Validated`] for hand-written ones),
/// and describes a body that does not even fit the argument's type (a wrong-typed or missing
/// field, a body that is no object) the way class-validator would: one error per failing
/// property, in declaration order, each with every rule it fails.
///
/// ```
/// use gateway_core::validation::ValidationPipe;
/// let strict = ValidationPipe::new().with_forbid_unknown_fields(true);
/// let app = gateway_core::GatewayApp::builder().with_global_pipe(strict);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ValidationPipe {
    forbid_unknown_fields: bool,
    target: bool,
}

impl Default for ValidationPipe {
    fn default() -> Self {
        Self {
            forbid_unknown_fields: false,
            target: true,
        }
    }
}

impl ValidationPipe {
    /// Validation with class-validator's defaults: unknown fields ignored, `target` included.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rejects JSON properties the DTO does not declare (NestJS `forbidNonWhitelisted`), with the
    /// constraint `whitelistValidation: "property X should not exist"`.
    pub fn with_forbid_unknown_fields(mut self, forbid: bool) -> Self {
        self.forbid_unknown_fields = forbid;
        self
    }

    /// Whether each top-level error carries the received object as `target` (default `true`, as
    /// class-validator; NestJS's `validationError: { target: false }` turns it off).
    pub fn with_target(mut self, target: bool) -> Self {
        self.target = target;
        self
    }

    fn exception(&self, mut errors: Vec<ValidationError>, target: &Value) -> WsException {
        if self.target {
            // class-validator validates a body that is no object as an empty one.
            let empty = Value::Object(Default::default());
            let target = match target {
                Value::Object(_) | Value::Array(_) => target,
                _ => &empty,
            };
            set_targets(&mut errors, target);
        }
        order_constraints(&mut errors);
        WsException::from_object(errors)
    }
}

impl Pipe for ValidationPipe {
    fn transforms(&self) -> bool {
        false
    }

    fn check(&self, arg: &TypedArgument<'_>) -> Result<(), WsException> {
        let mut errors = Vec::new();
        if let Some(Err(failed)) = arg.validate() {
            errors = in_declaration_order(failed, arg.fields(), arg.json());
        }
        if self.forbid_unknown_fields {
            errors.extend(arg.unknown_fields().iter().map(|field| {
                ValidationError::new(field.clone()).with_constraint(
                    "whitelistValidation",
                    format!("property {field} should not exist"),
                )
            }));
        }
        if errors.is_empty() {
            return Ok(());
        }
        Err(self.exception(errors, arg.json()))
    }

    fn reject(&self, arg: &RejectedArgument<'_>) -> Option<WsException> {
        let errors = arg.validation_errors()?;
        Some(self.exception(errors, arg.json()))
    }
}

/// Where a rule's constraint is listed among a property's: class-validator lists them in the
/// reverse of the order the decorators are written (TypeScript applies them bottom-up), and
/// DTOs are written type first, then presence, then the rest (`@IsString() @IsNotEmpty()
/// @MaxLength(1000)` lists `maxLength`, `isNotEmpty`, `isString`).
fn constraint_rank(rule: &str) -> u8 {
    match rule {
        "isNotEmpty" | "isDefined" => 1,
        "isString" | "isInt" | "isNumber" | "isBoolean" | "isArray" | "isObject"
        | "nestedValidation" => 2,
        _ => 0,
    }
}

/// Orders each property's constraints as class-validator lists them ([`constraint_rank`]).
fn order_constraints(errors: &mut [ValidationError]) {
    for error in errors {
        error
            .constraints
            .sort_by(|a, _, b, _| constraint_rank(a).cmp(&constraint_rank(b)));
        order_constraints(&mut error.children);
    }
}

/// Gives each error the object it was found in, as class-validator does.
fn set_targets(errors: &mut [ValidationError], target: &Value) {
    for error in errors {
        error.target = Some(target.clone());
        if let Some(value) = &error.value {
            let value = value.clone();
            set_targets(&mut error.children, &value);
        }
    }
}

/// `errors` (with Rust field names) under the serde names of `fields`, in their order, with
/// each received value filled in.
fn in_declaration_order(
    errors: Vec<ValidationError>,
    fields: &[&str],
    json: &Value,
) -> Vec<ValidationError> {
    let loose = |s: &str| s.replace('_', "").to_ascii_lowercase();
    let mut named: Vec<(usize, ValidationError)> = errors
        .into_iter()
        .map(|error| {
            let wanted = loose(&error.property);
            let at = fields.iter().position(|f| loose(f) == wanted);
            let error = match at {
                Some(at) => error.renamed(fields[at]),
                None => error,
            };
            (at.unwrap_or(usize::MAX), error)
        })
        .collect();
    named.sort_by_key(|(at, _)| *at);
    named
        .into_iter()
        .map(|(_, mut error)| {
            if error.value.is_none() {
                error.value = json.get(&error.property).cloned();
            }
            error
        })
        .collect()
}

thread_local! {
    /// Set while a refused body's stand-in values are validated: type rules
    /// ([`is_string`](rules::is_string)) then fail, telling which fields declare one.
    static PROBING_TYPES: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with the type rules failing.
fn probing_types<R>(f: impl FnOnce() -> R) -> R {
    PROBING_TYPES.with(|p| p.set(true));
    let result = f();
    PROBING_TYPES.with(|p| p.set(false));
    result
}

/// The rules that only say what type a value has (serde guarantees it for values that fit).
const TYPE_RULES: &[&str] = &["isString"];

/// What class-validator reports for `json`, a body serde refused as a `T`: each property that
/// fails, in declaration order, with every rule it fails. `None` if `T` is no struct or cannot
/// be read even leniently.
pub(crate) fn refused_body_errors<T: DeserializeOwned + 'static>(
    json: &Value,
    validator: Option<Validator>,
) -> Option<Vec<ValidationError>> {
    let low = lenient::read::<T>(json, StandIn::Low)?;
    let high = lenient::read::<T>(json, StandIn::High)?;
    if low.fields.is_empty() {
        return None;
    }
    let failures = |value: &T| {
        let found = validator.and_then(|validate| probing_types(|| validate(value)));
        match found {
            Some(Err(errors)) => in_declaration_order(errors, low.fields, json),
            _ => Vec::new(),
        }
    };
    let (low_failures, high_failures) = (failures(&low.value), failures(&high.value));
    let object = json.as_object();
    let errors = low.fields.iter().filter_map(|&field| {
        let received = object.and_then(|o| o.get(field));
        let rules = |found: &[ValidationError]| {
            found
                .iter()
                .filter(|e| e.property == field)
                .flat_map(|e| e.constraints.clone())
                .collect::<Vec<_>>()
        };
        let mismatch = low
            .mismatches
            .iter()
            .find(|m| m.path == field || m.path.starts_with(&format!("{field}.")));
        let mut error = ValidationError::new(field);
        error.value = received.cloned();
        match mismatch {
            Some(mismatch) => {
                for (rule, message) in rules(&low_failures)
                    .into_iter()
                    .chain(rules(&high_failures))
                {
                    let presence = matches!(rule.as_str(), "isNotEmpty" | "isDefined");
                    if !(presence && mismatch.value.is_some()) {
                        error.constraints.entry(rule).or_insert(message);
                    }
                }
                if error.constraints.is_empty() {
                    let (rule, message) = type_rule(mismatch.expected, field);
                    error.constraints.insert(rule.to_owned(), message);
                }
            }
            None => {
                for (rule, message) in rules(&low_failures) {
                    if !TYPE_RULES.contains(&rule.as_str()) {
                        error.constraints.insert(rule, message);
                    }
                }
            }
        }
        (!error.constraints.is_empty()).then_some(error)
    });
    Some(errors.collect())
}

/// The class-validator rule that a value of the wrong JSON type fails.
fn type_rule(expected: Expected, field: &str) -> (&'static str, String) {
    match expected {
        Expected::String => ("isString", format!("{field} must be a string")),
        Expected::Integer => ("isInt", format!("{field} must be an integer number")),
        Expected::Number => (
            "isNumber",
            format!("{field} must be a number conforming to the specified constraints"),
        ),
        Expected::Boolean => ("isBoolean", format!("{field} must be a boolean value")),
        Expected::Array => ("isArray", format!("{field} must be an array")),
        Expected::Object => (
            "nestedValidation",
            format!("nested property {field} must be either object or array"),
        ),
    }
}

/// The message body, deserialized and checked with its `validator::Validate` rules, whatever the
/// pipes (feature `validation`).
///
/// `#[gateway]` handlers get validation from a [`ValidationPipe`] on any body argument, because
/// the macro finds each argument's rules at compile time. Hand-written handlers (closures given
/// to [`GatewayBuilder::on`](crate::GatewayBuilder::on)) have no such probe: take `Validated<T>`
/// there. A failure is the same class-validator-shaped `exception`.
///
/// ```
/// use gateway_core::validation::Validated;
/// #[derive(serde::Deserialize, validator::Validate)]
/// struct Dto { #[validate(length(max = 10))] name: String }
///
/// let mut gateway = gateway_core::GatewayBuilder::new(gateway_core::GatewayOptions::new("/v"));
/// gateway.on("hello", |Validated(dto): Validated<Dto>| async move { dto.name });
/// ```
#[cfg(feature = "validation")]
#[derive(Debug, Clone, Copy, Default)]
pub struct Validated<T>(pub T);

#[cfg(feature = "validation")]
impl<T> crate::FromMessage for Validated<T>
where
    T: serde::de::DeserializeOwned + validator::Validate + 'static,
{
    fn from_message(msg: &crate::Message) -> Result<Self, WsException> {
        let raw = msg.data_json().unwrap_or("null");
        let json = || serde_json::from_str(raw).unwrap_or(Value::Null);
        let pipe = ValidationPipe::new();
        let value: T = match crate::body::from_text(raw) {
            Ok(value) => value,
            Err(error) => {
                let json = json();
                let errors = refused_body_errors::<T>(&json, Some(validate_any::<T>));
                return Err(match errors {
                    Some(errors) => pipe.exception(errors, &json),
                    None => WsException::internal(error),
                });
            }
        };
        if let Err(errors) = value.validate() {
            let fields = struct_fields::<T>().unwrap_or_default();
            let json = json();
            let errors = in_declaration_order(convert(&errors), fields, &json);
            return Err(pipe.exception(errors, &json));
        }
        Ok(Validated(value))
    }
}

/// Validators for `validator::Validate` types, found at compile time by the macros.
#[doc(hidden)]
pub mod probe {
    use super::*;

    /// Probes a body type `T` (`#[message_body] x: T`).
    pub struct BodyProbe<T>(PhantomData<fn() -> T>);
    /// Probes an extractor type (`MessageBody<T>` has a body type; others do not).
    pub struct ExtractorProbe<A>(PhantomData<fn() -> A>);

    impl<T> BodyProbe<T> {
        pub const NEW: Self = Self(PhantomData);
    }
    impl<A> ExtractorProbe<A> {
        pub const NEW: Self = Self(PhantomData);
    }

    pub trait ViaNoValidate {
        fn __validator(&self) -> Option<super::Validator> {
            None
        }
    }
    impl<T> ViaNoValidate for BodyProbe<T> {}
    impl<A> ViaNoValidate for ExtractorProbe<A> {}

    #[cfg(feature = "validation")]
    pub trait ViaValidate {
        fn __validator(&self) -> Option<super::Validator>;
    }
    #[cfg(feature = "validation")]
    impl<T: validator::Validate + 'static> ViaValidate for &BodyProbe<T> {
        fn __validator(&self) -> Option<super::Validator> {
            Some(super::validate_any::<T>)
        }
    }
    #[cfg(feature = "validation")]
    impl<T: validator::Validate + 'static> ViaValidate for &ExtractorProbe<MessageBody<T>> {
        fn __validator(&self) -> Option<super::Validator> {
            Some(super::validate_any::<T>)
        }
    }
    /// Without the feature, nothing is ever validated; the macros' code still compiles.
    #[cfg(not(feature = "validation"))]
    pub trait ViaValidate {}
}
