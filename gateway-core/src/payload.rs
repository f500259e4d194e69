//! [`Payload`]: Socket.IO arguments with binary attachments, received or sent as they are.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::outbox::OutFrame;
#[cfg(test)]
use crate::protocol::Wire;
use crate::{FromMessage, IntoReply, Message, Reply, WsException};

/// The arguments of a Socket.IO event or ack, with its binary attachments.
///
/// NestJS hands a handler one argument (several arrive as one array) and sends one back.
/// `Payload` is the exact form, for gateways that need several arguments or binary data:
///
/// - as an extractor, the arguments as the client sent them, and the binary frames that came
///   with them; in the arguments each binary value is a placeholder
///   `{"_placeholder":true,"num":i}` standing for `attachments()[i]`;
/// - as a reply, the ack's arguments (a JSON-format client gets the one argument, or the array
///   of several, as NestJS would send it);
/// - with [`Socket::emit_payload`](crate::Socket::emit_payload) and
///   [`BroadcastOperator::emit_payload`](crate::BroadcastOperator::emit_payload), an event with
///   these arguments.
///
/// A JSON-format client receives each binary value as Node serializes a `Buffer`:
/// `{"type":"Buffer","data":[1,2,3]}`.
///
/// ```
/// use gateway_core::Payload;
///
/// let file = Payload::new()
///     .with_arg(serde_json::json!("report.bin"))
///     .with_binary(vec![1u8, 2, 3]);
/// assert_eq!(file.args()[1], Payload::placeholder(0));
/// assert_eq!(file.attachments()[0].as_ref(), &[1, 2, 3]);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Payload {
    args: Vec<Value>,
    attachments: Vec<Bytes>,
}

impl Payload {
    /// No arguments, no attachments.
    ///
    /// ```
    /// assert!(gateway_core::Payload::new().args().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a JSON argument.
    ///
    /// ```
    /// let p = gateway_core::Payload::new().with_arg(serde_json::json!({"a": 1}));
    /// assert_eq!(p.args().len(), 1);
    /// ```
    pub fn with_arg(mut self, arg: Value) -> Self {
        self.args.push(arg);
        self
    }

    /// Appends a binary argument: a placeholder argument and its attachment.
    ///
    /// ```
    /// let p = gateway_core::Payload::new().with_binary(vec![9u8]);
    /// assert_eq!(p.attachments().len(), 1);
    /// ```
    pub fn with_binary(mut self, bytes: impl Into<Bytes>) -> Self {
        self.args.push(Self::placeholder(self.attachments.len()));
        self.attachments.push(bytes.into());
        self
    }

    /// Appends an attachment without an argument: for arguments that hold their placeholders
    /// deeper inside (built with [`Payload::placeholder`]).
    ///
    /// ```
    /// use gateway_core::Payload;
    /// let p = Payload::new()
    ///     .with_arg(serde_json::json!({"name": "a.png", "file": Payload::placeholder(0)}))
    ///     .with_attachment(vec![0x89u8, 0x50]);
    /// assert_eq!(p.attachments().len(), 1);
    /// ```
    pub fn with_attachment(mut self, bytes: impl Into<Bytes>) -> Self {
        self.attachments.push(bytes.into());
        self
    }

    /// The placeholder that stands for attachment `num`: `{"_placeholder":true,"num":num}`.
    ///
    /// ```
    /// assert_eq!(
    ///     gateway_core::Payload::placeholder(1).to_string(),
    ///     r#"{"_placeholder":true,"num":1}"#
    /// );
    /// ```
    pub fn placeholder(num: usize) -> Value {
        serde_json::json!({ "_placeholder": true, "num": num })
    }

    /// The arguments, in order.
    ///
    /// ```
    /// # let p = gateway_core::Payload::new();
    /// for arg in p.args() { println!("{arg}"); }
    /// ```
    pub fn args(&self) -> &[Value] {
        &self.args
    }

    /// The binary attachments, in order.
    ///
    /// ```
    /// # let p = gateway_core::Payload::new();
    /// let total: usize = p.attachments().iter().map(|b| b.len()).sum();
    /// ```
    pub fn attachments(&self) -> &[Bytes] {
        &self.attachments
    }

    /// The arguments and the attachments.
    ///
    /// ```
    /// let (args, attachments) = gateway_core::Payload::new().into_parts();
    /// assert!(args.is_empty() && attachments.is_empty());
    /// ```
    pub fn into_parts(self) -> (Vec<Value>, Vec<Bytes>) {
        (self.args, self.attachments)
    }

    /// The arguments' JSON, joined by commas (Socket.IO's array without its brackets).
    pub(crate) fn args_json(&self) -> String {
        let args: Vec<String> = self.args.iter().map(Value::to_string).collect();
        args.join(",")
    }

    /// What a JSON-format client receives: the one argument, or the array of several, with
    /// each placeholder replaced by the Node `Buffer` form of its attachment.
    pub(crate) fn json_data(&self) -> Value {
        let mut args: Vec<Value> = self
            .args
            .iter()
            .map(|arg| inline_buffers(arg, &self.attachments))
            .collect();
        match args.len() {
            0 => Value::Null,
            1 => args.pop().unwrap_or(Value::Null),
            _ => Value::Array(args),
        }
    }

    /// How many binary attachments it has.
    pub(crate) fn attachment_count(&self) -> usize {
        self.attachments.len()
    }

    /// A Socket.IO packet `header` with this payload's attachments.
    pub(crate) fn socketio_frame(&self, header: String) -> OutFrame {
        let header = Utf8Bytes::from(header);
        if self.attachments.is_empty() {
            OutFrame::Text(header)
        } else {
            OutFrame::Attached(header, Arc::from(self.attachments.as_slice()))
        }
    }
}

/// `value` with every placeholder replaced by `{"type":"Buffer","data":[…]}`.
fn inline_buffers(value: &Value, attachments: &[Bytes]) -> Value {
    match value {
        Value::Object(map) => {
            if let Some(bytes) = placeholder_num(map).and_then(|n| attachments.get(n)) {
                return serde_json::json!({ "type": "Buffer", "data": bytes.as_ref() });
            }
            Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), inline_buffers(v, attachments)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| inline_buffers(v, attachments))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn placeholder_num(map: &serde_json::Map<String, Value>) -> Option<usize> {
    if map.len() != 2 || map.get("_placeholder") != Some(&Value::Bool(true)) {
        return None;
    }
    map.get("num")?
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
}

impl FromMessage for Payload {
    fn from_message(msg: &Message) -> Result<Self, WsException> {
        let args = match msg.data_json() {
            None => Vec::new(),
            Some(raw) => {
                // The frame's decoder checked it is JSON.
                let data: Value = serde_json::from_str(raw).map_err(WsException::internal)?;
                match data {
                    Value::Array(several) if msg.has_several_args() => several,
                    one => vec![one],
                }
            }
        };
        Ok(Payload {
            args,
            attachments: msg.attachments().to_vec(),
        })
    }
}

impl IntoReply for Payload {
    fn into_reply(self) -> Result<Reply, WsException> {
        Ok(Reply::Payload(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_clients_get_node_buffers() {
        let p = Payload::new()
            .with_arg(serde_json::json!({"f": Payload::placeholder(0)}))
            .with_attachment(vec![1u8, 2]);
        assert_eq!(
            p.json_data().to_string(),
            r#"{"f":{"type":"Buffer","data":[1,2]}}"#, // as Node prints a Buffer
        );
    }

    #[test]
    fn socketio_frames_carry_the_attachments() {
        let p = Payload::new()
            .with_arg(Value::from(1))
            .with_binary(vec![7u8]);
        let wire = Wire::SocketIo { prefix: "".into() };
        match wire.payload_event_frame(&p, "up", None, None) {
            OutFrame::Attached(header, bins) => {
                assert_eq!(
                    header.as_str(),
                    r#"451-["up",1,{"_placeholder":true,"num":0}]"#
                );
                assert_eq!(bins.len(), 1);
            }
            other => panic!("{other:?}"),
        }
        assert!(wire.payload_reply_frame(&p, None).is_none());
    }
}
