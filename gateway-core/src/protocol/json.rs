//! The NestJS `platform-ws` JSON wire format.
//!
//! In: `{"event": E, "data": D}` as a text (or binary) frame. Out: the JSON of a handler's return
//! value as is, events as `{"event": E, "data": D}`, errors as `{"event":"exception","data":…}`.

use std::borrow::Cow;

use bytes::Bytes;
use std::fmt;

use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// A decoded inbound message: the event name and the raw JSON of its data.
#[derive(Debug, Clone)]
pub(crate) struct IncomingMessage {
    pub(crate) event: Utf8Bytes,
    /// `None` when the frame had no `data` key (NestJS: `undefined`).
    pub(crate) data: Option<Utf8Bytes>,
    /// Whether `data` is the array of several Socket.IO arguments.
    pub(crate) several: bool,
    /// Socket.IO binary attachments (none in the JSON format).
    pub(crate) attachments: Vec<bytes::Bytes>,
}

/// Why a frame was not a message; frames like these are dropped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DecodeError {
    #[error("frame is not a JSON object with a string `event`: {0}")]
    NotAnEnvelope(#[from] serde_json::Error),
    #[error("frame is not UTF-8")]
    NotUtf8,
    #[error("frame has no string `event`")]
    NoEventName,
}

/// `{"event": E, "data": D}` as `JSON.parse` reads it: only an object, and a repeated key's last
/// value wins. An `event` that is not a string is kept as `None` (no handler can match it).
struct Envelope<'a> {
    event: Option<Cow<'a, str>>,
    /// `None` when the key is missing; an explicit `null` is `Some("null")`.
    data: Option<&'a RawValue>,
}

impl<'de> Deserialize<'de> for Envelope<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EnvelopeVisitor)
    }
}

struct EnvelopeVisitor;

impl<'de> Visitor<'de> for EnvelopeVisitor {
    type Value = Envelope<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut envelope = Envelope {
            event: None,
            data: None,
        };
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Event => envelope.event = map.next_value::<EventName<'de>>()?.0,
                Key::Data => envelope.data = Some(map.next_value()?),
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(envelope)
    }
}

/// The `event` value: a string (borrowed from the frame unless it has escapes), or `None` for
/// any other JSON value.
struct EventName<'a>(Option<Cow<'a, str>>);

impl<'de> Deserialize<'de> for EventName<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl<'de> Visitor<'de> for NameVisitor {
            type Value = EventName<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(EventName(Some(Cow::Borrowed(s))))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(EventName(Some(Cow::Owned(s.to_owned()))))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
                Ok(EventName(Some(Cow::Owned(s))))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(EventName(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(EventName(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(EventName(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(EventName(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(EventName(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(EventName(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(EventName(None))
            }
        }
        deserializer.deserialize_any(NameVisitor)
    }
}

/// An envelope key, matched without allocating.
enum Key {
    Event,
    Data,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(match key {
                    "event" => Key::Event,
                    "data" => Key::Data,
                    _ => Key::Other,
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// Decodes one frame without copying: event and data are slices of `frame`.
pub(crate) fn decode(frame: Bytes) -> Result<IncomingMessage, DecodeError> {
    let envelope: Envelope<'_> = serde_json::from_slice(&frame)?;
    let event = match &envelope.event {
        Some(Cow::Borrowed(s)) => subslice(&frame, s),
        Some(Cow::Owned(s)) => Some(Utf8Bytes::from(s.clone())),
        None => return Err(DecodeError::NoEventName),
    }
    .ok_or(DecodeError::NotUtf8)?;
    let data = match envelope.data {
        Some(raw) => Some(subslice(&frame, raw.get()).ok_or(DecodeError::NotUtf8)?),
        None => None,
    };
    Ok(IncomingMessage {
        event,
        data,
        several: false,
        attachments: Vec::new(),
    })
}

/// `s` as a zero-copy slice of `frame` when it lies inside it, else a copy.
fn subslice(frame: &Bytes, s: &str) -> Option<Utf8Bytes> {
    let start = (s.as_ptr() as usize).checked_sub(frame.as_ptr() as usize);
    let bytes = match start {
        Some(start) if start + s.len() <= frame.len() => frame.slice(start..start + s.len()),
        _ => Bytes::copy_from_slice(s.as_bytes()),
    };
    Utf8Bytes::try_from(bytes).ok()
}

/// `{"event":<event>,"data":<data_json>}` where `data_json` is already JSON.
pub(crate) fn encode_event(event: &str, data_json: &str) -> String {
    let mut out = String::with_capacity(event.len() + data_json.len() + 24);
    out.push_str(r#"{"event":"#);
    push_json_string(&mut out, event);
    out.push_str(r#","data":"#);
    super::push_payload(&mut out, data_json);
    out.push('}');
    out
}

/// Appends `s` as a JSON string literal; event names rarely need escaping, so that case is
/// copied as is.
pub(crate) fn push_json_string(out: &mut String, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(s);
        out.push('"');
        return;
    }
    // Serializing a &str cannot fail.
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

/// Appends the decimal digits of `n` (without the formatting machinery: this is per message).
pub(crate) fn push_u64(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Result<IncomingMessage, DecodeError> {
        decode(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn decodes_event_and_data() {
        let m = dec(r#"{"event":"push","data":{"test":"test"}}"#).unwrap();
        assert_eq!(m.event.as_str(), "push");
        assert_eq!(m.data.unwrap().as_str(), r#"{"test":"test"}"#);
    }

    #[test]
    fn distinguishes_missing_and_null_data() {
        assert!(dec(r#"{"event":"a"}"#).unwrap().data.is_none());
        assert_eq!(
            dec(r#"{"event":"a","data":null}"#)
                .unwrap()
                .data
                .unwrap()
                .as_str(),
            "null"
        );
    }

    #[test]
    fn a_repeated_key_takes_its_last_value_as_json_parse_does() {
        let m = dec(r#"{"event":"nope","data":1,"event":"ping","data":2}"#).unwrap();
        assert_eq!(m.event.as_str(), "ping");
        assert_eq!(m.data.unwrap().as_str(), "2");
        assert!(dec(r#"{"event":"ping","event":3}"#).is_err());
        assert_eq!(
            dec(r#"{"event":[1,{"a":2}],"event":"x"}"#)
                .unwrap()
                .event
                .as_str(),
            "x"
        );
    }

    #[test]
    fn escaped_event_names_work() {
        assert_eq!(dec(r#"{"event":"a\"b"}"#).unwrap().event.as_str(), "a\"b");
    }

    #[test]
    fn rejects_non_envelopes() {
        for bad in [
            "",
            "nope",
            "[1]",
            r#"["ping", null]"#,
            r#""ping""#,
            "{}",
            r#"{"event":1}"#,
            r#"{"data":1}"#,
            "null",
            r#"{"event":"a""#,
        ] {
            assert!(dec(bad).is_err(), "{bad}");
        }
        assert!(decode(Bytes::from_static(b"\xff\xfe")).is_err());
    }

    #[test]
    fn encodes_event_envelope() {
        assert_eq!(
            encode_event("a\"b", "[1]"),
            r#"{"event":"a\"b","data":[1]}"#
        );
    }
}
