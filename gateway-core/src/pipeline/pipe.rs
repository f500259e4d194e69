//! [`Pipe`]: transforms or validates one body argument (NestJS `PipeTransform`).

use std::any::Any;
use std::cell::OnceCell;

use serde_json::Value;

use crate::validation::{ValidationError, Validator};
use crate::WsException;

/// Which part of the message an argument comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgumentKind<'a> {
    /// The whole body (`MessageBody<T>`, `#[message_body]`).
    Body,
    /// One property of the body (`#[message_body("prop")]`).
    Property(&'a str),
}

/// What a pipe knows about the argument it sees (NestJS `ArgumentMetadata`).
#[derive(Debug, Clone, Copy)]
pub struct ArgumentMetadata<'a> {
    /// Where the value comes from.
    pub kind: ArgumentKind<'a>,
    /// The Rust type the value becomes (NestJS `metatype`).
    pub type_name: &'static str,
    /// The event being handled.
    pub pattern: &'a str,
}

/// A body argument after deserialization, for [`Pipe::check`].
pub struct TypedArgument<'a> {
    pub(crate) value: &'a dyn Any,
    /// The JSON text the value was read from, when no pipe transformed it.
    pub(crate) raw: &'a str,
    /// The JSON the value was deserialized from; parsed from `raw` on first use.
    pub(crate) json: &'a OnceCell<Value>,
    pub(crate) metadata: ArgumentMetadata<'a>,
    /// Found on first use (most pipes never ask) by `find_unknown_fields` on `raw`.
    pub(crate) unknown_fields: &'a OnceCell<Vec<String>>,
    pub(crate) find_unknown_fields: fn(&str) -> Vec<String>,
    /// The value's struct fields in declaration order (serde names; empty for other types).
    pub(crate) fields: fn() -> &'static [&'static str],
    pub(crate) validator: Option<Validator>,
}

impl<'a> TypedArgument<'a> {
    /// The value, if it is a `T` (a typed pipe checks the types it knows).
    pub fn downcast_ref<T: 'static>(&self) -> Option<&'a T> {
        self.value.downcast_ref()
    }

    /// The JSON the value was deserialized from (after every pipe's `transform`).
    pub fn json(&self) -> &'a Value {
        // `raw` was deserialized into the value already: it is valid JSON.
        self.json
            .get_or_init(|| serde_json::from_str(self.raw).unwrap_or(Value::Null))
    }

    /// Where the value came from and its type.
    pub fn metadata(&self) -> &ArgumentMetadata<'a> {
        &self.metadata
    }

    /// JSON properties the type did not know (paths like `a.b`), which serde ignored.
    pub fn unknown_fields(&self) -> &'a [String] {
        self.unknown_fields
            .get_or_init(|| (self.find_unknown_fields)(self.raw))
    }

    /// Runs the type's `validator::Validate` rules, if it has them and the handler was declared
    /// with `#[gateway]`: `None` when there is nothing to run.
    pub fn validate(&self) -> Option<Result<(), Vec<ValidationError>>> {
        self.validator.and_then(|validate| validate(self.value))
    }

    /// The value's struct fields in declaration order, by their serde names (empty when the value
    /// is not a struct).
    pub fn fields(&self) -> &'static [&'static str] {
        (self.fields)()
    }
}

/// A body argument whose JSON does not fit its type (a wrong-typed or missing field, a body
/// that is no object), for [`Pipe::reject`].
pub struct RejectedArgument<'a> {
    pub(crate) json: &'a Value,
    pub(crate) metadata: ArgumentMetadata<'a>,
    pub(crate) validator: Option<Validator>,
    pub(crate) describe: fn(&Value, Option<Validator>) -> Option<Vec<ValidationError>>,
}

impl<'a> RejectedArgument<'a> {
    /// The JSON received (after every pipe's `transform`).
    pub fn json(&self) -> &'a Value {
        self.json
    }

    /// Where the value came from and the type it did not fit.
    pub fn metadata(&self) -> &ArgumentMetadata<'a> {
        &self.metadata
    }

    /// What class-validator would report: each failing property in declaration order, with
    /// every rule it fails (the type's `validator` rules included). `None` when the type is no
    /// struct.
    pub fn validation_errors(&self) -> Option<Vec<ValidationError>> {
        (self.describe)(self.json, self.validator)
    }
}

impl std::fmt::Debug for RejectedArgument<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RejectedArgument")
            .field("json", &self.json)
            .field("metadata", &self.metadata)
            .finish()
    }
}

impl std::fmt::Debug for TypedArgument<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypedArgument")
            .field("metadata", &self.metadata)
            .field("unknown_fields", &self.unknown_fields())
            .finish()
    }
}

/// Transforms or validates each body argument of a handler.
///
/// [`transform`](Self::transform) sees the JSON before it is deserialized;
/// [`check`](Self::check) sees the typed value after. Both default to doing nothing.
///
/// ```
/// use gateway_core::pipeline::{ArgumentMetadata, Pipe};
/// use gateway_core::WsException;
/// use serde_json::Value;
///
/// /// Trims every string in the body.
/// struct Trim;
///
/// impl Pipe for Trim {
///     fn transform(&self, value: Value, _arg: &ArgumentMetadata<'_>) -> Result<Value, WsException> {
///         Ok(match value {
///             Value::String(s) => Value::String(s.trim().to_owned()),
///             other => other,
///         })
///     }
/// }
/// ```
pub trait Pipe: Send + Sync + 'static {
    /// Transforms the JSON of the argument before deserialization.
    fn transform(&self, value: Value, arg: &ArgumentMetadata<'_>) -> Result<Value, WsException> {
        let _ = arg;
        Ok(value)
    }

    /// Whether [`transform`](Self::transform) may change the JSON. A pipe that only checks
    /// returns `false`: when no pipe of a handler transforms, the argument is deserialized
    /// straight from the message text, without building a `serde_json::Value` first.
    ///
    /// ```
    /// use gateway_core::pipeline::{Pipe, TypedArgument};
    /// use gateway_core::WsException;
    ///
    /// /// Refuses bodies with properties the type does not know.
    /// struct Strict;
    ///
    /// impl Pipe for Strict {
    ///     fn transforms(&self) -> bool {
    ///         false
    ///     }
    ///     fn check(&self, arg: &TypedArgument<'_>) -> Result<(), WsException> {
    ///         match arg.unknown_fields() {
    ///             [] => Ok(()),
    ///             unknown => Err(WsException::new(format!("unknown: {}", unknown.join(", ")))),
    ///         }
    ///     }
    /// }
    /// ```
    fn transforms(&self) -> bool {
        true
    }

    /// Checks the deserialized argument.
    fn check(&self, arg: &TypedArgument<'_>) -> Result<(), WsException> {
        let _ = arg;
        Ok(())
    }

    /// Describes an argument whose JSON does not fit its type. The first pipe to return an
    /// exception answers the client; when none does, the client gets "Internal server error"
    /// (as from NestJS) and the details are logged.
    ///
    /// ```
    /// use gateway_core::pipeline::{Pipe, RejectedArgument};
    /// use gateway_core::WsException;
    ///
    /// /// Names the expected type.
    /// struct Explain;
    ///
    /// impl Pipe for Explain {
    ///     fn reject(&self, arg: &RejectedArgument<'_>) -> Option<WsException> {
    ///         Some(WsException::new(format!("expected a {}", arg.metadata().type_name)))
    ///     }
    /// }
    /// ```
    fn reject(&self, arg: &RejectedArgument<'_>) -> Option<WsException> {
        let _ = arg;
        None
    }
}

/// Object-safe form of [`Pipe`] (it already is; kept for symmetry with the other enhancers).
pub(crate) trait DynPipe: Send + Sync {
    fn transform(&self, value: Value, arg: &ArgumentMetadata<'_>) -> Result<Value, WsException>;
    fn transforms(&self) -> bool;
    fn check(&self, arg: &TypedArgument<'_>) -> Result<(), WsException>;
    fn reject(&self, arg: &RejectedArgument<'_>) -> Option<WsException>;
}

impl<P: Pipe> DynPipe for P {
    fn transform(&self, value: Value, arg: &ArgumentMetadata<'_>) -> Result<Value, WsException> {
        Pipe::transform(self, value, arg)
    }
    fn transforms(&self) -> bool {
        Pipe::transforms(self)
    }
    fn check(&self, arg: &TypedArgument<'_>) -> Result<(), WsException> {
        Pipe::check(self, arg)
    }
    fn reject(&self, arg: &RejectedArgument<'_>) -> Option<WsException> {
        Pipe::reject(self, arg)
    }
}

/// A pipe made from a closure; see [`pipe_fn`].
#[derive(Clone, Copy, Debug)]
pub struct PipeFn<F>(F);

/// A transforming pipe from a closure over the argument's JSON.
///
/// ```
/// use gateway_core::pipeline::{pipe_fn, ArgumentMetadata};
/// use serde_json::Value;
/// // NestJS's guide example: append ":pipe" to string bodies.
/// let tag = pipe_fn(|value: Value, _arg: &ArgumentMetadata<'_>| match value {
///     Value::String(s) => Ok(Value::String(format!("{s}:pipe"))),
///     other => Ok(other),
/// });
/// ```
pub fn pipe_fn<F>(f: F) -> PipeFn<F>
where
    F: Fn(Value, &ArgumentMetadata<'_>) -> Result<Value, WsException> + Send + Sync + 'static,
{
    PipeFn(f)
}

impl<F> Pipe for PipeFn<F>
where
    F: Fn(Value, &ArgumentMetadata<'_>) -> Result<Value, WsException> + Send + Sync + 'static,
{
    fn transform(&self, value: Value, arg: &ArgumentMetadata<'_>) -> Result<Value, WsException> {
        (self.0)(value, arg)
    }
}
