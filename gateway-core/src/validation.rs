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
use std::collections::BTreeMap;
use std::marker::PhantomData;

use serde::Serialize;
use serde_json::Value;

use crate::pipeline::{Pipe, TypedArgument};
#[cfg(feature = "validation")]
use crate::MessageBody;
use crate::WsException;

/// Runs a value's validation rules: `None` if the value is not of the expected type.
#[doc(hidden)]
pub type Validator = fn(&dyn Any) -> Option<Result<(), Vec<ValidationError>>>;

/// One failed property, shaped like class-validator's `ValidationError`.
///
/// ```
/// use gateway_core::validation::ValidationError;
/// let error = ValidationError::new("message").with_constraint("isNotEmpty", "message should not be empty");
/// assert_eq!(
///     serde_json::to_value(&error).unwrap(),
///     serde_json::json!({"property": "message", "constraints": {"isNotEmpty": "message should not be empty"}, "children": []})
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidationError {
    /// The object that failed, only when [`ValidationPipe::with_target`] is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Value>,
    /// The property's value, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// The property name (an index for list items).
    pub property: String,
    /// Failed rule → message, e.g. `{"maxLength": "message must be shorter than or equal to 1000 characters"}`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub constraints: BTreeMap<String, String>,
    /// Errors of nested objects.
    pub children: Vec<ValidationError>,
}

impl ValidationError {
    /// An error for `property` with no constraints yet.
    pub fn new(property: impl Into<String>) -> Self {
        Self {
            target: None,
            value: None,
            property: property.into(),
            constraints: BTreeMap::new(),
            children: Vec::new(),
        }
    }

    /// Adds a failed rule and its message.
    pub fn with_constraint(mut self, rule: impl Into<String>, message: impl Into<String>) -> Self {
        self.constraints.insert(rule.into(), message.into());
        self
    }
}

/// Validates body arguments (NestJS `ValidationPipe` with `exceptionFactory: errors => new WsException(errors)`).
///
/// It checks the arguments of `#[gateway]` handlers (see [`Validated`] for hand-written ones).
///
/// ```
/// use gateway_core::validation::ValidationPipe;
/// let strict = ValidationPipe::new().with_forbid_unknown_fields(true);
/// let app = gateway_core::GatewayApp::builder().with_global_pipe(strict);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidationPipe {
    forbid_unknown_fields: bool,
    target: bool,
}

impl ValidationPipe {
    /// Validation with class-validator's defaults: unknown fields ignored, no `target`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rejects JSON properties the DTO does not declare (NestJS `forbidNonWhitelisted`), with the
    /// constraint `whitelistValidation: "property X should not exist"`.
    pub fn with_forbid_unknown_fields(mut self, forbid: bool) -> Self {
        self.forbid_unknown_fields = forbid;
        self
    }

    /// Includes the whole received object as `target` in each top-level error (off by default,
    /// since it echoes the payload back).
    pub fn with_target(mut self, target: bool) -> Self {
        self.target = target;
        self
    }
}

impl Pipe for ValidationPipe {
    fn transforms(&self) -> bool {
        false
    }

    fn check(&self, arg: &TypedArgument<'_>) -> Result<(), WsException> {
        let mut errors = Vec::new();
        if self.forbid_unknown_fields {
            errors.extend(arg.unknown_fields().iter().map(|field| {
                ValidationError::new(field.clone()).with_constraint(
                    "whitelistValidation",
                    format!("property {field} should not exist"),
                )
            }));
        }
        if let Some(Err(mut failed)) = arg.validate() {
            name_as_received(&mut failed, arg.json());
            errors.extend(failed);
        }
        if errors.is_empty() {
            return Ok(());
        }
        if self.target {
            for error in &mut errors {
                error.target = Some(arg.json().clone());
            }
        }
        Err(WsException::from_object(errors))
    }
}

/// Renames each error's property to the matching key of `json` and fills in missing values.
fn name_as_received(errors: &mut [ValidationError], json: &Value) {
    let Some(object) = json.as_object() else {
        return;
    };
    let loose = |s: &str| s.replace('_', "").to_ascii_lowercase();
    for error in errors {
        if !object.contains_key(&error.property) {
            let wanted = loose(&error.property);
            if let Some(key) = object.keys().find(|k| loose(k) == wanted) {
                // Default messages start with the field name: rename it there too.
                let prefix = format!("{} ", error.property);
                for message in error.constraints.values_mut() {
                    if let Some(rest) = message.strip_prefix(&prefix) {
                        *message = format!("{key} {rest}");
                    }
                }
                error.property = key.clone();
            }
        }
        let received = object.get(&error.property);
        if error.value.is_none() {
            error.value = received.cloned();
        }
        if let Some(nested) = received {
            name_as_received(&mut error.children, nested);
        }
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
        let value: T = msg.body()?;
        if let Err(errors) = value.validate() {
            let mut errors = convert(&errors);
            let json: Value =
                serde_json::from_str(msg.data_json().unwrap_or("null")).unwrap_or(Value::Null);
            name_as_received(&mut errors, &json);
            return Err(WsException::from_object(errors));
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

#[cfg(feature = "validation")]
fn validate_any<T: validator::Validate + 'static>(
    value: &dyn Any,
) -> Option<Result<(), Vec<ValidationError>>> {
    value
        .downcast_ref::<T>()
        .map(|v| v.validate().map_err(|e| convert(&e)))
}

/// Converts validator's errors to class-validator's shape, sorted by property.
#[cfg(feature = "validation")]
fn convert(errors: &validator::ValidationErrors) -> Vec<ValidationError> {
    use validator::ValidationErrorsKind;
    let mut fields: Vec<_> = errors.errors().iter().collect();
    fields.sort_by(|a, b| a.0.cmp(b.0));
    fields
        .into_iter()
        .map(|(field, kind)| {
            let field = field.to_string();
            match kind {
                ValidationErrorsKind::Field(failed) => {
                    let mut error = ValidationError::new(field.clone());
                    error.value = failed.iter().find_map(|e| e.params.get("value").cloned());
                    for e in failed {
                        let (rule, message) = describe(&field, e);
                        error.constraints.insert(rule, message);
                    }
                    error
                }
                ValidationErrorsKind::Struct(inner) => ValidationError {
                    children: convert(inner),
                    ..ValidationError::new(field)
                },
                ValidationErrorsKind::List(items) => ValidationError {
                    children: items
                        .iter()
                        .map(|(index, inner)| ValidationError {
                            children: convert(inner),
                            ..ValidationError::new(index.to_string())
                        })
                        .collect(),
                    ..ValidationError::new(field)
                },
            }
        })
        .collect()
}

/// A failed rule's class-validator name and message (the rule's own message if it set one).
#[cfg(feature = "validation")]
fn describe(field: &str, error: &validator::ValidationError) -> (String, String) {
    let param = |name: &str| error.params.get(name).map(|v| v.to_string());
    let length = error
        .params
        .get("value")
        .and_then(Value::as_str)
        .map(|v| v.chars().count());
    let too_long = match (length, param("max").and_then(|m| m.parse::<usize>().ok())) {
        (Some(length), Some(max)) => length > max,
        _ => false,
    };
    let (rule, default) = match error.code.as_ref() {
        "length" => match (param("min"), param("max")) {
            (_, Some(max)) if too_long => (
                "maxLength".to_owned(),
                format!("{field} must be shorter than or equal to {max} characters"),
            ),
            (Some(min), _) => (
                "minLength".to_owned(),
                format!("{field} must be longer than or equal to {min} characters"),
            ),
            _ => ("length".to_owned(), format!("{field} has the wrong length")),
        },
        "range" => match (param("min"), param("max")) {
            (Some(min), _)
                if error.params.get("value").and_then(Value::as_f64) < min.parse().ok() =>
            {
                (
                    "min".to_owned(),
                    format!("{field} must not be less than {min}"),
                )
            }
            (_, Some(max)) => (
                "max".to_owned(),
                format!("{field} must not be greater than {max}"),
            ),
            _ => ("range".to_owned(), format!("{field} is out of range")),
        },
        "email" => ("isEmail".to_owned(), format!("{field} must be an email")),
        "url" => ("isUrl".to_owned(), format!("{field} must be a URL address")),
        "required" => (
            "isDefined".to_owned(),
            format!("{field} should not be null or undefined"),
        ),
        "isUuid" => ("isUuid".to_owned(), format!("{field} must be a UUID")),
        "isNotEmpty" => (
            "isNotEmpty".to_owned(),
            format!("{field} should not be empty"),
        ),
        other => (other.to_owned(), format!("{field} is invalid")),
    };
    let message = error.message.as_ref().map_or(default, |m| m.to_string());
    (rule, message)
}

/// A `validator` custom rule: the string is a UUID (class-validator `@IsUUID()`).
///
/// ```
/// # #[cfg(feature = "validation")] {
/// use gateway_core::validation::is_uuid;
/// assert!(is_uuid("6f1c2a2e-3b4d-4c5e-8f90-1a2b3c4d5e6f").is_ok());
/// assert!(is_uuid("room-1").is_err());
/// # }
/// ```
#[cfg(feature = "validation")]
pub fn is_uuid(value: &str) -> Result<(), validator::ValidationError> {
    let groups: Vec<&str> = value.split('-').collect();
    let lengths_ok = groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12]);
    if lengths_ok
        && groups
            .iter()
            .all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
    {
        Ok(())
    } else {
        Err(validator::ValidationError::new("isUuid"))
    }
}

/// A `validator` custom rule: the string has non-whitespace content (class-validator `@IsNotEmpty()`).
///
/// ```
/// # #[cfg(feature = "validation")] {
/// assert!(gateway_core::validation::is_not_empty("hi").is_ok());
/// assert!(gateway_core::validation::is_not_empty("").is_err());
/// # }
/// ```
#[cfg(feature = "validation")]
pub fn is_not_empty(value: &str) -> Result<(), validator::ValidationError> {
    if value.is_empty() {
        Err(validator::ValidationError::new("isNotEmpty"))
    } else {
        Ok(())
    }
}
