//! Engine.IO v4 and Socket.IO v5 packets, over the WebSocket transport.
//!
//! An Engine.IO text frame is `<type digit><data>` (`0` open, `1` close, `2` ping, `3` pong,
//! `4` message). A Socket.IO packet rides in a message: `4` + `<type>[<nsp>,][<ack id>][<json>]`
//! with types `0` CONNECT, `1` DISCONNECT, `2` EVENT, `3` ACK, `4` CONNECT_ERROR, `5`
//! BINARY_EVENT and `6` BINARY_ACK (`5<n>-…`: `n` binary frames follow, each standing for a
//! `{"_placeholder":true,"num":i}` in the JSON).

use super::json::{push_json_string, push_u64};
use bytes::Bytes;
use serde_json::value::RawValue;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Event names a client may not use (socket.io-parser's reserved list).
const RESERVED_EVENTS: &[&str] = &[
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// One decoded Engine.IO text frame from a client.
#[derive(Debug)]
pub(crate) enum EioPacket {
    /// `1`: the client closes the session.
    Close,
    /// `3`: answer to our ping.
    Pong,
    /// `6`: nothing (sent by clients while upgrading); also a client's `0` (open) or `5`
    /// (upgrade) outside an upgrade, which engine.io ignores.
    Noop,
    /// `4…`: a message (the whole frame, type digit included).
    Message(Utf8Bytes),
}

/// A Socket.IO packet from a client.
#[derive(Debug)]
pub(crate) enum SioPacket {
    Connect {
        nsp: String,
        auth: Option<serde_json::Value>,
    },
    Disconnect {
        nsp: String,
    },
    Event {
        nsp: String,
        ack: Option<u64>,
        event: Utf8Bytes,
        data: Option<Utf8Bytes>,
        /// Whether `data` is the array of several arguments (NestJS's mapping).
        several: bool,
        /// Binary frames that follow this packet (BINARY_EVENT).
        attachments: usize,
    },
    /// The client's answer to a server emit with an ack: the first argument, as JSON.
    Ack {
        nsp: String,
        ack: u64,
        data: String,
        /// Binary frames that follow this packet (BINARY_ACK).
        attachments: usize,
    },
}

impl SioPacket {
    /// The namespace the packet is for.
    pub(crate) fn nsp(&self) -> &str {
        match self {
            SioPacket::Connect { nsp, .. }
            | SioPacket::Disconnect { nsp }
            | SioPacket::Event { nsp, .. }
            | SioPacket::Ack { nsp, .. } => nsp,
        }
    }

    /// How many binary frames complete this packet.
    pub(crate) fn attachments(&self) -> usize {
        match self {
            SioPacket::Event { attachments, .. } | SioPacket::Ack { attachments, .. } => {
                *attachments
            }
            _ => 0,
        }
    }
}

/// Most binary attachments one packet may announce by default (socket.io-parser's
/// `maxAttachments`).
pub(crate) const MAX_ATTACHMENTS: usize = 10;

/// The frame is not a valid packet; Socket.IO closes the connection ("parse error").
#[derive(Debug, thiserror::Error)]
#[error("invalid Engine.IO / Socket.IO packet: {0}")]
pub(crate) struct ParseError(&'static str);

impl ParseError {
    pub(crate) fn new(why: &'static str) -> Self {
        Self(why)
    }
}

/// Decodes one Engine.IO text frame (long-polling's `b` packets are decoded by the transport).
pub(crate) fn decode(frame: Utf8Bytes) -> Result<EioPacket, ParseError> {
    match frame.as_bytes().first() {
        Some(b'1') => Ok(EioPacket::Close),
        Some(b'3') => Ok(EioPacket::Pong),
        Some(b'0' | b'5' | b'6') => Ok(EioPacket::Noop),
        Some(b'4') => Ok(EioPacket::Message(frame)),
        Some(b'2') => Err(ParseError(
            "a client must not ping (Engine.IO v4 reversed the heartbeat)",
        )),
        _ => Err(ParseError("unknown Engine.IO packet type")),
    }
}

/// An EVENT's name: a string, or a number as socket.io-parser accepts it (its decimal text, the
/// key a JavaScript listener for it would have).
fn event_name(json: &str) -> Result<String, ParseError> {
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(serde_json::Value::String(name)) => Ok(name),
        Ok(serde_json::Value::Number(n)) => Ok(n.to_string()),
        _ => Err(ParseError("event name must be a string or a number")),
    }
}

/// Whether `packet` starts with an Engine.IO packet type (`0`–`6`).
pub(crate) fn is_engine_io_packet(packet: &str) -> bool {
    matches!(packet.as_bytes().first(), Some(b'0'..=b'6'))
}

/// Decodes the Socket.IO packet carried by an Engine.IO message frame (`4…`).
pub(crate) fn decode_packet(
    frame: &Utf8Bytes,
    max_attachments: usize,
) -> Result<SioPacket, ParseError> {
    let text = frame.as_str().get(1..).unwrap_or("");
    let kind = *text
        .as_bytes()
        .first()
        .ok_or(ParseError("empty Socket.IO packet"))?;
    // Any valid type is one ASCII digit; checking first keeps the slicing below on a char boundary.
    if !kind.is_ascii_digit() {
        return Err(ParseError("unknown Socket.IO packet type"));
    }
    let mut rest = &text[1..];
    let attachments = if matches!(kind, b'5' | b'6') {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || rest.as_bytes().get(digits) != Some(&b'-') {
            return Err(ParseError("binary packet without an attachment count"));
        }
        let count: usize = rest[..digits]
            .parse()
            .map_err(|_| ParseError("attachment count too large"))?;
        if count > max_attachments {
            return Err(ParseError("too many attachments"));
        }
        rest = &rest[digits + 1..];
        count
    } else {
        0
    };
    let nsp = if rest.starts_with('/') {
        let end = rest.find(',').unwrap_or(rest.len());
        let nsp = &rest[..end];
        rest = rest.get(end + 1..).unwrap_or("");
        nsp.to_owned()
    } else {
        "/".to_owned()
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let ack = if digits > 0 {
        Some(
            rest[..digits]
                .parse::<u64>()
                .map_err(|_| ParseError("ack id too large"))?,
        )
    } else {
        None
    };
    rest = &rest[digits..];
    match kind {
        b'0' => {
            let auth = if rest.is_empty() {
                None
            } else {
                let value: serde_json::Value = serde_json::from_str(rest)
                    .map_err(|_| ParseError("CONNECT payload is not JSON"))?;
                if !value.is_object() {
                    return Err(ParseError("CONNECT payload must be an object"));
                }
                Some(value)
            };
            Ok(SioPacket::Connect { nsp, auth })
        }
        b'1' if rest.is_empty() => Ok(SioPacket::Disconnect { nsp }),
        b'2' | b'5' => {
            let args: Vec<&RawValue> = serde_json::from_str(rest)
                .map_err(|_| ParseError("EVENT payload must be an array"))?;
            let (name, args) = args
                .split_first()
                .ok_or(ParseError("EVENT without a name"))?;
            let event = event_name(name.get())?;
            if RESERVED_EVENTS.contains(&event.as_str()) {
                return Err(ParseError("reserved event name"));
            }
            // NestJS IoAdapter: one argument is the data, several are an array of them.
            let data = match args {
                [] => None,
                [one] => Some(subslice(frame, one.get())),
                several => {
                    let joined: Vec<&str> = several.iter().map(|a| a.get()).collect();
                    Some(Utf8Bytes::from(format!("[{}]", joined.join(","))))
                }
            };
            Ok(SioPacket::Event {
                nsp,
                ack,
                event: Utf8Bytes::from(event),
                data,
                several: args.len() > 1,
                attachments,
            })
        }
        b'3' | b'6' => {
            let ack = ack.ok_or(ParseError("ACK without an id"))?;
            let args: Vec<&RawValue> = serde_json::from_str(rest)
                .map_err(|_| ParseError("ACK payload must be an array"))?;
            let data = args
                .first()
                .map_or_else(|| "null".to_owned(), |a| a.get().to_owned());
            Ok(SioPacket::Ack {
                nsp,
                ack,
                data,
                attachments,
            })
        }
        _ => Err(ParseError("unknown Socket.IO packet type")),
    }
}

/// `s` (which lies inside `frame`) as a zero-copy slice of it.
fn subslice(frame: &Utf8Bytes, s: &str) -> Utf8Bytes {
    let base = frame.as_str().as_ptr() as usize;
    let start = (s.as_ptr() as usize).saturating_sub(base);
    let bytes: Bytes = Bytes::from(frame.clone());
    match bytes.get(start..start + s.len()) {
        Some(_) => Utf8Bytes::try_from(bytes.slice(start..start + s.len()))
            .unwrap_or_else(|_| Utf8Bytes::from(s.to_owned())),
        None => Utf8Bytes::from(s.to_owned()),
    }
}

/// The Engine.IO open packet.
///
/// `upgrades` is empty on a WebSocket (a client probes every listed upgrade), `["websocket"]` on
/// long-polling.
pub(crate) fn open_packet(
    sid: &str,
    ping_interval_ms: u64,
    ping_timeout_ms: u64,
    max_payload: usize,
    upgrades: &[&str],
) -> String {
    let upgrades = serde_json::to_string(upgrades).unwrap_or_else(|_| "[]".to_owned());
    format!(
        r#"0{{"sid":"{sid}","upgrades":{upgrades},"pingInterval":{ping_interval_ms},"pingTimeout":{ping_timeout_ms},"maxPayload":{max_payload}}}"#
    )
}

/// `"/chat,"` for a namespace other than `/`, else `""`: what follows the packet type.
pub(crate) fn nsp_prefix(nsp: &str) -> String {
    if nsp == "/" {
        String::new()
    } else {
        format!("{nsp},")
    }
}

/// `42<prefix>["event",data]`.
pub(crate) fn encode_event(prefix: &str, event: &str, data_json: &str) -> String {
    encode_event_args(prefix, None, event, data_json, 0)
}

/// `42<prefix>[<ack id>]["event",<args>]`, or `45<n>-…` when `attachments` binary frames follow.
/// `args_json` is the arguments' JSON joined by commas (empty for none).
pub(crate) fn encode_event_args(
    prefix: &str,
    ack: Option<u64>,
    event: &str,
    args_json: &str,
    attachments: usize,
) -> String {
    let mut out = String::with_capacity(prefix.len() + event.len() + args_json.len() + 32);
    push_kind(&mut out, 2, attachments);
    out.push_str(prefix);
    if let Some(id) = ack {
        push_u64(&mut out, id);
    }
    out.push('[');
    push_json_string(&mut out, event);
    if !args_json.is_empty() {
        out.push(',');
        super::push_payload(&mut out, args_json);
    }
    out.push(']');
    out
}

/// `43<prefix><id>[<args>]`, or `46<n>-…` when `attachments` binary frames follow.
pub(crate) fn encode_ack_args(
    prefix: &str,
    ack: u64,
    args_json: &str,
    attachments: usize,
) -> String {
    let mut out = String::with_capacity(prefix.len() + args_json.len() + 32);
    push_kind(&mut out, 3, attachments);
    out.push_str(prefix);
    push_u64(&mut out, ack);
    out.push('[');
    super::push_payload(&mut out, args_json);
    out.push(']');
    out
}

/// Appends `4` and the packet type (with the attachment count of a binary packet): `42`, `43`,
/// `45<n>-`, `46<n>-`.
fn push_kind(out: &mut String, plain: u8, attachments: usize) {
    out.push('4');
    if attachments == 0 {
        out.push(char::from(b'0' + plain));
    } else {
        out.push(char::from(b'0' + plain + 3));
        push_u64(out, attachments as u64);
        out.push('-');
    }
}

/// `42<prefix><id>["event",data]`: an event the client must ack.
pub(crate) fn encode_event_with_ack(
    prefix: &str,
    ack: u64,
    event: &str,
    data_json: &str,
) -> String {
    encode_event_args(prefix, Some(ack), event, data_json, 0)
}

/// `43<prefix><id>[data]`.
pub(crate) fn encode_ack(prefix: &str, ack: u64, data_json: &str) -> String {
    encode_ack_args(prefix, ack, data_json, 0)
}

/// `40<prefix>{"sid":…}`, with the private session id `pid` under connection state recovery.
pub(crate) fn encode_connect(prefix: &str, sid: &str, pid: Option<&str>) -> String {
    match pid {
        None => format!(r#"40{prefix}{{"sid":"{sid}"}}"#),
        Some(pid) => format!(r#"40{prefix}{{"sid":"{sid}","pid":"{pid}"}}"#),
    }
}

/// `44<prefix>{"message":…[,"data":…]}`.
pub(crate) fn encode_connect_error(
    prefix: &str,
    message: &str,
    data: Option<&serde_json::Value>,
) -> String {
    let mut payload = serde_json::json!({ "message": message });
    if let Some(data) = data {
        payload["data"] = data.clone();
    }
    format!("44{prefix}{payload}")
}

/// `41<prefix>`.
pub(crate) fn encode_disconnect(prefix: &str) -> String {
    format!("41{prefix}")
}

#[cfg(test)]
#[path = "socketio_tests.rs"]
mod tests;
