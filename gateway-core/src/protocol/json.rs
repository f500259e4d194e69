//! The NestJS `platform-ws` JSON wire format.
//!
//! In: `{"event": E, "data": D}` as a text (or binary) frame. Out: the JSON of a handler's return
//! value as is, events as `{"event": E, "data": D}`, errors as `{"event":"exception","data":…}`.

use std::borrow::Cow;

use bytes::Bytes;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// A decoded inbound message: the event name and the raw JSON of its data.
#[derive(Debug, Clone)]
pub(crate) struct Inbound {
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
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    event: Cow<'a, str>,
    #[serde(default, borrow, deserialize_with = "present")]
    data: Option<&'a RawValue>,
}

/// Keeps an explicit `null` as `Some("null")`, so only a missing key is `None`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// Decodes one frame without copying: event and data are slices of `frame`.
pub(crate) fn decode(frame: Bytes) -> Result<Inbound, DecodeError> {
    let envelope: Envelope<'_> = serde_json::from_slice(&frame)?;
    let event = match &envelope.event {
        Cow::Borrowed(s) => subslice(&frame, s),
        Cow::Owned(s) => Some(Utf8Bytes::from(s.clone())),
    }
    .ok_or(DecodeError::NotUtf8)?;
    let data = match envelope.data {
        Some(raw) => Some(subslice(&frame, raw.get()).ok_or(DecodeError::NotUtf8)?),
        None => None,
    };
    Ok(Inbound {
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
    out.push_str(data_json);
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

    fn dec(s: &str) -> Result<Inbound, DecodeError> {
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
    fn escaped_event_names_work() {
        assert_eq!(dec(r#"{"event":"a\"b"}"#).unwrap().event.as_str(), "a\"b");
    }

    #[test]
    fn rejects_non_envelopes() {
        for bad in [
            "",
            "nope",
            "[1]",
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
