//! The `validator` rules' class-validator names and messages, and the rules `validator` lacks.

use std::any::Any;
use std::cell::Cell;

use serde_json::Value;

use super::{ValidationError, PROBING_TYPES};

pub(super) fn validate_any<T: validator::Validate + 'static>(
    value: &dyn Any,
) -> Option<Result<(), Vec<ValidationError>>> {
    value
        .downcast_ref::<T>()
        .map(|v| v.validate().map_err(|e| convert(&e)))
}

/// Converts validator's errors to class-validator's shape (properties in no particular order;
/// the caller orders them).
pub(super) fn convert(errors: &validator::ValidationErrors) -> Vec<ValidationError> {
    use validator::ValidationErrorsKind;
    errors
        .errors()
        .iter()
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
        "isString" => ("isString".to_owned(), format!("{field} must be a string")),
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
pub fn is_not_empty(value: &str) -> Result<(), validator::ValidationError> {
    if value.is_empty() {
        Err(validator::ValidationError::new("isNotEmpty"))
    } else {
        Ok(())
    }
}

/// A `validator` custom rule: the value is a string (class-validator `@IsString()`).
///
/// A `String` field always holds one, so the rule never fails for a body that deserialized; it
/// makes a wrong-typed value's error list `isString`, as class-validator's would.
///
/// ```
/// # #[cfg(feature = "validation")] {
/// #[derive(serde::Deserialize, validator::Validate)]
/// struct SendMessageDto {
///     #[validate(custom(function = "gateway_core::validation::is_string"))]
///     message: String,
/// }
/// assert!(gateway_core::validation::is_string("hi").is_ok());
/// # }
/// ```
pub fn is_string(_value: &str) -> Result<(), validator::ValidationError> {
    if PROBING_TYPES.with(Cell::get) {
        Err(validator::ValidationError::new("isString"))
    } else {
        Ok(())
    }
}
