//! One Engine.IO frame from the client, whichever the transport brought it.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::{Message as WsMessage, Utf8Bytes};

use crate::outbox::Outbox;
use crate::ws_io::{self, WsReader};
use crate::DisconnectReason;

/// One Engine.IO frame from the client, whichever the transport.
#[derive(Debug)]
pub(crate) enum InFrame {
    Text(Utf8Bytes),
    /// A binary message (a WebSocket binary frame, or a long-polling `b<base64>` packet).
    Binary(Bytes),
}

/// The next Engine.IO frame of a WebSocket, or `None` once it is closed (recording why).
/// Cancel-safe.
pub(crate) async fn next_ws_frame(stream: &mut WsReader, outbox: &Outbox) -> Option<InFrame> {
    loop {
        match stream.next().await {
            None => {
                outbox.record_reason(DisconnectReason::TransportClose);
                return None;
            }
            Some(Err(err)) => {
                match ws_io::refused_frame(&err) {
                    Some(reason) => outbox.close(reason),
                    None => outbox.record_reason(DisconnectReason::TransportClose),
                }
                return None;
            }
            Some(Ok(WsMessage::Close(_))) => {
                outbox.record_reason(DisconnectReason::TransportClose);
                // Has tungstenite write its reply to the close (into the queue, through
                // `ControlIo`).
                let _ = stream.flush().await;
                return None;
            }
            // engine.io ignores a close packet over a WebSocket (only long-polling acts on it).
            Some(Ok(WsMessage::Text(text))) if text.as_bytes().first() == Some(&b'1') => {}
            Some(Ok(WsMessage::Text(text))) => return Some(InFrame::Text(text)),
            Some(Ok(WsMessage::Binary(bytes))) => return Some(InFrame::Binary(bytes)),
            Some(Ok(_)) => {}
        }
    }
}
