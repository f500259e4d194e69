//! A WebSocket in NestJS's JSON format (`platform-ws`): one socket of one gateway, its frames
//! read and handed to [`dispatch`](crate::dispatch) one at a time, in order.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use tracing::Instrument;

use crate::departures::Identity;
use crate::dispatch::handle_message;
use crate::ending::{Ending, OnceWritten};
use crate::lifecycle::{finish_socket, run_connection_hook};
use crate::outbox::{CloseStyle, Outbox};
use crate::protocol::json;
use crate::protocol::Wire;
use crate::rarely_ready::RarelyReady;
use crate::registry::NamespaceState;
use crate::writer::Writer;
use crate::ws_io::{self, WsConn, WsReader};
use crate::{DisconnectReason, Handshake, Socket, SocketData};

/// Serves one upgraded connection until it ends, then releases everything the socket owned.
pub(crate) async fn serve(
    conn: WsConn,
    ns: Arc<NamespaceState>,
    handshake: Handshake,
    data: Arc<SocketData>,
) {
    let app = ns.app.clone();
    let (outbox, rx) = Outbox::new(
        app.config.send_queue_capacity,
        app.config.max_queued_bytes,
        CloseStyle::Coded,
    );
    let (mut stream, io, compressor) = conn.split(Some(outbox.clone())).await;
    let writer = Writer::spawn(io, rx, outbox.clone(), compressor);

    let socket = Socket::new(
        ns.clone(),
        outbox.clone(),
        handshake.clone(),
        data,
        Wire::Json,
        Identity::new(false, None),
    );
    ns.register(&socket);
    // Inline rather than around a function of its own: an async fn's arguments stay in its
    // future beside their moved copies (the handshake twice, in every idle connection).
    let span = tracing::info_span!(
        "connection",
        namespace = ns.name(),
        socket = %socket.id(),
        transport = "websocket",
        peer = %handshake.remote_addr(),
    );
    span.in_scope(|| tracing::debug!(gateway = ns.gateway(), "connected"));

    // The rare paths are boxed: a future inline in this one would make every idle
    // connection's task as large as its largest state.
    let gates = RarelyReady::new();
    let session = async {
        Box::pin(run_connection_hook(&socket, &ns, handshake)).await;
        read_loop(&mut stream, &socket, &ns, &gates).await
    }
    .instrument(span.clone());
    let hard_stopped = tokio::select! {
        biased;
        reason = session => { outbox.record_reason(reason); false }
        _ = gates.gate(app.hard_stop.cancelled()) => { outbox.record_reason(DisconnectReason::ServerShutdown); true }
    };
    // Has tungstenite write its reply to a client's close (into the queue, through `ControlIo`)
    // before the queue is sealed.
    let _ = stream.flush().await;
    outbox.seal();
    let reason = outbox.reason().unwrap_or(DisconnectReason::TransportClose);

    Box::pin(finish_socket(&socket, &ns, reason, hard_stopped))
        .instrument(span)
        .await;

    ws_io::finish(writer, Some(reason), &mut stream).await;
}

/// Reads frames and handles them one at a time, in order, until the connection ends.
async fn read_loop(
    stream: &mut WsReader,
    socket: &Socket,
    ns: &NamespaceState,
    gates: &RarelyReady,
) -> DisconnectReason {
    let outbox = socket.outbox().clone();
    // After our close frame, the client's close reply is still read.
    let ending = Ending::new(&outbox, &ns.app, gates, OnceWritten::AwaitClient);
    tokio::pin!(ending);
    loop {
        let closing = ending.is_closing();
        tokio::select! {
            biased;
            reason = &mut ending => return reason,
            frame = stream.next() => match frame {
                None => return outbox.reason().unwrap_or(DisconnectReason::TransportClose),
                Some(Err(err)) => {
                    if let Some(reason) = ws_io::refused_frame(&err) {
                        tracing::debug!(gateway = ns.gateway(), error = %err, "frame refused");
                        outbox.close(reason);
                        return reason;
                    }
                    tracing::debug!(gateway = ns.gateway(), error = %err, "read failed");
                    return outbox.reason().unwrap_or_else(|| classify(&err));
                }
                Some(Ok(WsMessage::Close(frame))) => {
                    let code = frame.map(|f| u16::from(f.code));
                    return outbox.reason().unwrap_or(DisconnectReason::ClientClose(code));
                }
                Some(Ok(WsMessage::Text(text))) if !closing => dispatch(socket, ns, Bytes::from(text)).await,
                Some(Ok(WsMessage::Binary(bytes))) if !closing => dispatch(socket, ns, bytes).await,
                Some(Ok(_)) => {} // pings are answered by tungstenite; frames after our close are ignored
            },
        }
    }
}

/// A peer that just went away is a transport close; anything else is a transport error.
fn classify(err: &WsError) -> DisconnectReason {
    use std::io::ErrorKind;
    use tokio_tungstenite::tungstenite::error::ProtocolError;
    match err {
        WsError::ConnectionClosed
        | WsError::AlreadyClosed
        | WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            DisconnectReason::TransportClose
        }
        WsError::Io(io)
            if matches!(
                io.kind(),
                ErrorKind::ConnectionReset | ErrorKind::BrokenPipe | ErrorKind::UnexpectedEof
            ) =>
        {
            DisconnectReason::TransportClose
        }
        _ => DisconnectReason::TransportError,
    }
}

/// Decodes one JSON-format frame and handles it.
async fn dispatch(socket: &Socket, ns: &NamespaceState, frame: Bytes) {
    if let Some(metrics) = ns.metrics() {
        metrics.received_bytes(frame.len());
    }
    match json::decode(frame) {
        // Boxed: the pipeline's state lives only while a message is handled, not in every idle
        // connection's task.
        Ok(inbound) => Box::pin(handle_message(socket, ns, inbound, None)).await,
        Err(err) => tracing::debug!(gateway = ns.gateway(), error = %err, "dropping frame"),
    }
}
