//! [`PublishedEvent`]: one event of the [`EventBus`](crate::EventBus) as its handlers receive
//! it, and how its payload becomes the type a handler asks for.

use std::any::Any;
use std::fmt;
use std::sync::{Arc, OnceLock};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// What the bus needs of a payload, whatever its type.
trait ErasedPayload: Send + Sync {
    fn as_any(&self) -> &dyn Any;
    fn type_name(&self) -> &'static str;
    fn to_json(&self) -> Result<Value, serde_json::Error>;
}

impl<T: Serialize + Send + Sync + 'static> ErasedPayload for T {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn type_name(&self) -> &'static str {
        std::any::type_name::<T>()
    }

    fn to_json(&self) -> Result<Value, serde_json::Error> {
        serde_json::to_value(self)
    }
}

/// An event published on the [`EventBus`](crate::EventBus): its name and its payload, shared by
/// every handler it reaches. Cheap to clone.
///
/// `#[on_event]` handlers take the payload as a typed argument; a handler registered by hand with
/// [`GatewayBuilder::on_event`](crate::GatewayBuilder::on_event) takes this and calls
/// [`payload`](Self::payload).
///
/// ```
/// use gateway_core::PublishedEvent;
///
/// #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
/// struct OrderCreated { order_id: u64 }
///
/// let event = PublishedEvent::new("order.created", OrderCreated { order_id: 7 });
/// assert_eq!(event.name(), "order.created");
/// assert_eq!(event.payload::<OrderCreated>().unwrap(), OrderCreated { order_id: 7 });
/// ```
#[derive(Clone)]
pub struct PublishedEvent(Arc<Inner>);

struct Inner {
    name: Box<str>,
    payload: Box<dyn ErasedPayload>,
    /// The payload as JSON, made the first time a handler asks for another type.
    json: OnceLock<Result<Value, String>>,
}

impl PublishedEvent {
    /// The event `name` carrying `payload`, as [`EventBus::publish`](crate::EventBus::publish)
    /// makes it (useful to call a handler directly in a test).
    ///
    /// ```
    /// let event = gateway_core::PublishedEvent::new("user.signed_in", "alice".to_owned());
    /// assert_eq!(event.payload::<String>().unwrap(), "alice");
    /// ```
    pub fn new<T: Serialize + Send + Sync + 'static>(name: &str, payload: T) -> Self {
        Self(Arc::new(Inner {
            name: name.into(),
            payload: Box::new(payload),
            json: OnceLock::new(),
        }))
    }

    /// The name it was published under (`order.created`), also when a wildcard pattern caught it.
    ///
    /// ```
    /// let event = gateway_core::PublishedEvent::new("order.shipped", ());
    /// assert_eq!(event.name(), "order.shipped");
    /// ```
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The payload as a `T`.
    ///
    /// When it was published as a `T`, this is a clone of it: no serialization. Otherwise it is
    /// converted through JSON, as a NestJS listener takes any object of the right shape: a
    /// `serde_json::Value` always works, and so does another struct with the same fields. When
    /// that fails, the error names both types and what did not fit.
    ///
    /// ```
    /// #[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
    /// struct OrderCreated { order_id: u64 }
    /// #[derive(Clone, Debug, serde::Deserialize)]
    /// struct UserCreated { user_id: String }
    ///
    /// let event = gateway_core::PublishedEvent::new("order.created", OrderCreated { order_id: 7 });
    /// let json: serde_json::Value = event.payload().unwrap();
    /// assert_eq!(json, serde_json::json!({"order_id": 7}));
    /// let error = event.payload::<UserCreated>().unwrap_err();
    /// assert!(error.to_string().contains("missing field `user_id`"));
    /// ```
    pub fn payload<T: Clone + DeserializeOwned + 'static>(&self) -> Result<T, EventPayloadError> {
        if let Some(same) = self.0.payload.as_any().downcast_ref::<T>() {
            return Ok(same.clone());
        }
        let mismatch = |reason: String| EventPayloadError {
            event: self.0.name.clone(),
            published: self.0.payload.type_name(),
            expected: std::any::type_name::<T>(),
            reason,
        };
        let json = self
            .0
            .json
            .get_or_init(|| self.0.payload.to_json().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| mismatch(format!("it does not serialize to JSON: {e}")))?;
        let converted = T::deserialize(json).map_err(|e| mismatch(e.to_string()))?;
        tracing::debug!(
            event = self.name(),
            published = self.0.payload.type_name(),
            expected = std::any::type_name::<T>(),
            "event payload converted through JSON"
        );
        Ok(converted)
    }
}

impl fmt::Debug for PublishedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublishedEvent")
            .field("name", &self.0.name)
            .field("payload", &self.0.payload.type_name())
            .finish()
    }
}

/// A handler asked for a payload type the published one does not convert to
/// (see [`PublishedEvent::payload`]). `#[on_event]` handlers log it as their error.
///
/// ```
/// let event = gateway_core::PublishedEvent::new("order.created", 42u32);
/// let error = event.payload::<String>().unwrap_err().to_string();
/// // The handler's type is named as `std::any::type_name` spells it.
/// assert!(error.starts_with("event \"order.created\" carries a `u32`, which does not convert to the handler's `"));
/// assert!(error.ends_with("String`: invalid type: integer `42`, expected a string"));
/// ```
#[derive(Debug, thiserror::Error)]
#[error("event \"{event}\" carries a `{published}`, which does not convert to the handler's `{expected}`: {reason}")]
pub struct EventPayloadError {
    event: Box<str>,
    published: &'static str,
    expected: &'static str,
    reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts its serializations: a payload that reaches a handler of its own type must not be
    /// serialized.
    #[derive(Clone, Debug, PartialEq, serde::Deserialize)]
    struct Counted(u32);

    static SERIALIZED: AtomicUsize = AtomicUsize::new(0);

    impl Serialize for Counted {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            SERIALIZED.fetch_add(1, Ordering::SeqCst);
            self.0.serialize(serializer)
        }
    }

    #[test]
    fn the_same_type_is_cloned_without_serializing() {
        let event = PublishedEvent::new("counted", Counted(5));
        for _ in 0..3 {
            assert_eq!(event.payload::<Counted>().unwrap(), Counted(5));
        }
        assert_eq!(SERIALIZED.load(Ordering::SeqCst), 0);
        // Another type goes through JSON, made once for every handler.
        assert_eq!(event.payload::<u32>().unwrap(), 5);
        assert_eq!(event.payload::<Value>().unwrap(), Value::from(5));
        assert_eq!(SERIALIZED.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_mismatch_names_both_types_and_the_reason() {
        #[derive(Clone, Debug, serde::Serialize)]
        struct Shipped {
            order_id: u64,
        }
        #[derive(Clone, Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Refund {
            amount: u64,
        }
        let event = PublishedEvent::new("order.shipped", Shipped { order_id: 1 });
        let error = event.payload::<Refund>().unwrap_err().to_string();
        assert!(error.contains("\"order.shipped\""), "{error}");
        assert!(error.contains("Shipped`"), "{error}");
        assert!(error.contains("Refund`"), "{error}");
        assert!(error.contains("missing field `amount`"), "{error}");
    }

    #[test]
    fn a_payload_that_does_not_serialize_is_an_error_not_a_panic() {
        #[derive(Clone, Debug)]
        struct Unserializable;
        impl Serialize for Unserializable {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("no JSON for this"))
            }
        }
        let event = PublishedEvent::new("odd", Unserializable);
        let error = event.payload::<Value>().unwrap_err().to_string();
        assert!(
            error.contains("does not serialize to JSON: no JSON for this"),
            "{error}"
        );
    }
}
