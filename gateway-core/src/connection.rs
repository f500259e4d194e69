//! One WebSocket connection: the read loop, in-order dispatch, replies and exceptions.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage, Utf8Bytes};

use crate::outbox::{CloseStyle, Outbox};
use crate::pipeline::{BaseWsExceptionFilter, ExecutionContext, Next, FORBIDDEN_MESSAGE};
use crate::protocol::json::{self, Inbound};
use crate::protocol::Wire;
use crate::protocol::{event_reply, socketio};
use crate::registry::{NamespaceInner, Route};
use crate::socket::Identity;
use crate::wake_gate::WakeGates;
use crate::writer::Writer;
use crate::ws_io::{self, WsConn, WsReader, CLOSE_GRACE};
use crate::EmitError;
use crate::{
    DisconnectReason, Handshake, Message, Payload, Reply, Socket, SocketData, WsException,
};
use serde_json::value::RawValue;

/// Serves one upgraded connection until it ends, then releases everything the socket owned.
pub(crate) async fn serve(
    conn: WsConn,
    ns: Arc<NamespaceInner>,
    handshake: Handshake,
    data: Arc<SocketData>,
) {
    let app = ns.app.clone();
    let (outbox, rx) = Outbox::new(
        app.config.send_queue_capacity,
        app.config.max_queued_bytes,
        CloseStyle::Coded,
    );
    let (mut stream, io) = conn.split(Some(outbox.clone())).await;
    let writer = Writer::spawn(io, rx, outbox.clone());

    let socket = Socket::new(
        ns.clone(),
        outbox.clone(),
        handshake.clone(),
        data,
        Wire::Json,
        Identity::new(false, None),
    );
    ns.register(&socket);
    tracing::debug!(gateway = ns.gateway(), socket = %socket.id(), "connected");

    // The rare paths are boxed: a future inline in this one would make every idle
    // connection's task as large as its largest state.
    let gates = WakeGates::new();
    let session = async {
        Box::pin(run_connection_hook(&socket, &ns, handshake)).await;
        read_loop(&mut stream, &socket, &ns, &gates).await
    };
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

    Box::pin(finish_socket(&socket, &ns, reason, hard_stopped)).await;

    ws_io::finish(writer, Some(reason), &mut stream).await;
}

/// Releases everything a socket owns: its registry entry and room memberships, then
/// `handle_disconnect` (bounded after a hard stop), then its data.
pub(crate) async fn finish_socket(
    socket: &Socket,
    ns: &NamespaceInner,
    reason: DisconnectReason,
    hard_stopped: bool,
) {
    let recoverable = ns
        .recovery()
        .zip(socket.pid())
        .filter(|_| reason.is_recoverable());
    let rooms = recoverable.map(|_| ns.rooms_of(socket.id()));
    ns.unregister(socket.id());
    socket.drop_pending_acks();
    if let Some(hook) = ns.hooks.disconnect.clone() {
        let hook = AssertUnwindSafe(hook(socket.clone(), reason)).catch_unwind();
        if hard_stopped {
            let _ = tokio::time::timeout(CLOSE_GRACE, hook).await;
        } else if hook.await.is_err() {
            tracing::error!(gateway = ns.gateway(), "handle_disconnect panicked");
        }
    }
    if let (Some((recovery, pid)), Some(rooms)) = (recoverable, rooms) {
        recovery.persist(pid, socket.id(), rooms, socket.data().take_all());
    }
    socket.data().clear();
    tracing::debug!(gateway = ns.gateway(), socket = %socket.id(), %reason, "disconnected");
}

pub(crate) async fn run_connection_hook(
    socket: &Socket,
    ns: &NamespaceInner,
    handshake: Handshake,
) {
    let Some(hook) = ns.hooks.connection.clone() else {
        return;
    };
    let result = match AssertUnwindSafe(hook(socket.clone(), handshake))
        .catch_unwind()
        .await
    {
        Ok(result) => result,
        Err(_) => Err(WsException::internal("handle_connection panicked")),
    };
    if let Err(exception) = result {
        send_exception(
            socket,
            ns.gateway(),
            &exception,
            "handleConnection",
            None,
            &[],
            true,
        );
        socket.disconnect();
    }
}

/// Reads frames and handles them one at a time, in order, until the connection ends.
async fn read_loop(
    stream: &mut WsReader,
    socket: &Socket,
    ns: &NamespaceInner,
    gates: &WakeGates,
) -> DisconnectReason {
    let outbox = socket.outbox().clone();
    // Built once, and gated: polled again only once one of them woke the task (`wake_gate`).
    let shutting_down = gates.gate(ns.app.shutdown.cancelled());
    let writer_done = gates.gate(outbox.writer_done());
    let deadline = tokio::time::sleep(Duration::MAX);
    tokio::pin!(shutting_down, writer_done, deadline);
    let mut closing = false;
    loop {
        if !closing && outbox.is_closing() {
            closing = true;
            deadline
                .as_mut()
                .reset(tokio::time::Instant::now() + CLOSE_GRACE);
        }
        tokio::select! {
            biased;
            // First, so a client that keeps the socket readable cannot hold off a shutdown.
            _ = &mut shutting_down, if !closing => {
                outbox.close(DisconnectReason::ServerShutdown);
            }
            _ = &mut writer_done, if !closing => {
                // The writer failed or force-closed; `closing` is picked up at the loop top.
                outbox.seal();
            }
            _ = &mut deadline, if closing => {
                return outbox.reason().unwrap_or(DisconnectReason::TransportClose);
            }
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
async fn dispatch(socket: &Socket, ns: &NamespaceInner, frame: Bytes) {
    match json::decode(frame) {
        // Boxed: the pipeline's state lives only while a message is handled, not in every idle
        // connection's task.
        Ok(inbound) => Box::pin(handle_message(socket, ns, inbound, None)).await,
        Err(err) => tracing::debug!(gateway = ns.gateway(), error = %err, "dropping frame"),
    }
}

/// Runs one message through the pipeline and sends the reply (or ack) or the exception.
pub(crate) async fn handle_message(
    socket: &Socket,
    ns: &NamespaceInner,
    mut inbound: Inbound,
    ack: Option<u64>,
) {
    let Some(route) = ns.route(inbound.event.as_str()).cloned() else {
        tracing::debug!(
            gateway = ns.gateway(),
            event = inbound.event.as_str(),
            "dropping unknown event"
        );
        return;
    };
    // `None` when there are none (most messages): no allocation for them.
    let attachments = (!inbound.attachments.is_empty())
        .then(|| Arc::from(std::mem::take(&mut inbound.attachments)));
    let cx = ExecutionContext::new(
        socket.clone(),
        inbound.event.clone(),
        inbound.data.clone(),
        attachments.clone(),
        ns.gateway(),
        route.name.clone(),
        route.metadata.clone(),
    );
    let ack_taken = Arc::new(AtomicBool::new(false));
    let msg = Message::new(
        socket.clone(),
        inbound,
        attachments,
        route.pipes.clone(),
        ack,
        ack_taken.clone(),
    );
    let result = match AssertUnwindSafe(run_pipeline(&route, &cx, msg))
        .catch_unwind()
        .await
    {
        Ok(result) => result,
        Err(_) => Err(WsException::internal("handler panicked")),
    };
    // A handler that took `Ack` answers the ack itself (NestJS `isAckHandledManually`).
    let ack = ack.filter(|_| !ack_taken.load(Ordering::Acquire));
    match result {
        Ok(reply) => send_reply(socket, reply, route, cx, ack),
        Err(exception) => handle_exception(exception, &cx, &route).await,
    }
}

/// Guards, then interceptors around extraction (with pipes) and the handler.
async fn run_pipeline(
    route: &Route,
    cx: &ExecutionContext,
    msg: Message,
) -> Result<Reply, WsException> {
    for guard in route.guards.iter() {
        if !guard.can_activate(cx).await? {
            return Err(WsException::new(FORBIDDEN_MESSAGE));
        }
    }
    if route.interceptors.is_empty() {
        return (route.handler)(msg).await;
    }
    let handler = route.handler.clone();
    Next::new(
        route.interceptors.clone(),
        cx.clone(),
        Box::new(move || handler(msg)),
    )
    .run()
    .await
}

/// Offers `exception` to the route's filters (handler → gateway → global), then the default.
async fn handle_exception(mut exception: WsException, cx: &ExecutionContext, route: &Route) {
    for filter in route.filters.iter() {
        if !filter.catches(&exception) {
            continue;
        }
        match AssertUnwindSafe(filter.catch(exception, cx))
            .catch_unwind()
            .await
        {
            Ok(Ok(())) => return,
            Ok(Err(passed_on)) => exception = passed_on,
            Err(_) => exception = WsException::internal("exception filter panicked"),
        }
    }
    BaseWsExceptionFilter::default().send(&exception, cx);
}

fn send_reply(
    socket: &Socket,
    reply: Reply,
    route: Arc<Route>,
    cx: ExecutionContext,
    ack: Option<u64>,
) {
    match reply {
        Reply::Empty => {}
        Reply::Json(json) => {
            let _ = send_json_reply(socket, json, ack);
        }
        Reply::Payload(payload) => {
            if let Some(frame) = payload.reply_frame(socket.wire(), ack) {
                let _ = socket.push_frame(frame);
            }
        }
        Reply::Stream(mut items) => {
            let socket = socket.clone();
            socket.ns().app.tasks.clone().spawn(async move {
                loop {
                    let item = tokio::select! {
                        item = items.next() => item,
                        _ = socket.outbox().writer_done() => None,
                    };
                    match item {
                        None => break,
                        Some(Ok(Reply::Json(json))) => {
                            if send_json_reply(&socket, json, ack).is_err() {
                                break;
                            }
                        }
                        Some(Ok(Reply::Payload(payload))) => {
                            let Some(frame) = payload.reply_frame(socket.wire(), ack) else {
                                continue;
                            };
                            if socket.push_frame(frame).is_err() {
                                break;
                            }
                        }
                        Some(Ok(_)) => {}
                        Some(Err(exception)) => {
                            handle_exception(exception, &cx, &route).await;
                            break;
                        }
                    }
                }
            });
        }
    }
}

/// Sends a handler's JSON reply (NestJS 12 semantics): the JSON format gets the reply as is;
/// for Socket.IO, an object with an `event` is emitted as that event (an emit like any other,
/// recorded under connection state recovery), anything else is the ack if the client asked.
fn send_json_reply(socket: &Socket, json: String, ack: Option<u64>) -> Result<(), EmitError> {
    let Wire::SocketIo { prefix } = socket.wire() else {
        return socket.push(Utf8Bytes::from(json));
    };
    if let Some((event, data)) = event_reply(&json) {
        return socket.emit_json(&event, data.map_or("null", RawValue::get));
    }
    match ack {
        Some(id) => socket.push(Utf8Bytes::from(socketio::encode_ack(prefix, id, &json))),
        None => Ok(()),
    }
}

/// Sends `{"event":"exception","data":…}` in the default filter's shape, logging internal errors.
/// A `cause.data` that holds binary placeholders goes with the message's `attachments`, as
/// socket.io sends the buffers NestJS puts there.
pub(crate) fn send_exception(
    socket: &Socket,
    gateway: &str,
    exception: &WsException,
    pattern: &str,
    data: Option<&str>,
    attachments: &[Bytes],
    include_cause: bool,
) {
    if let Some(source) = exception.source() {
        tracing::error!(gateway, pattern, error = %source, "unhandled error");
    }
    let payload = exception.payload(pattern, data, include_cause);
    let carries_data = include_cause && exception.object().is_none() && data.is_some();
    if carries_data && !attachments.is_empty() {
        if let Ok(payload) = serde_json::from_str(&payload) {
            let payload = attachments
                .iter()
                .fold(Payload::new().with_arg(payload), |p, bytes| {
                    p.with_attachment(bytes.clone())
                });
            let _ = socket.emit_payload("exception", &payload);
            return;
        }
    }
    let _ = socket.emit_json("exception", &payload);
}
