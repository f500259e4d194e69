//! Message dispatch, for both wire formats: the route of an event, its pipeline (guards,
//! interceptors, pipes, the handler), exception filters, and the reply or ack.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use futures_util::{FutureExt, StreamExt};
use serde_json::value::RawValue;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tracing::field::Empty;
use tracing::Instrument;

use crate::gateway_parts::HandlerChain;
use crate::metrics::EventMetrics;
use crate::pipeline::{BaseWsExceptionFilter, ExecutionContext, Next, FORBIDDEN_MESSAGE};
use crate::protocol::event_reply;
use crate::protocol::json::IncomingMessage;
use crate::registry::NamespaceState;
use crate::{EmitError, Message, Reply, Socket, WsException};

/// Runs one message through the pipeline and sends the reply (or ack) or the exception, in a
/// `message` span (namespace, socket id, event, then outcome and duration), so that what the handler logs
/// is told apart by message.
pub(crate) async fn handle_message(
    socket: &Socket,
    ns: &NamespaceState,
    inbound: IncomingMessage,
    ack: Option<u64>,
) {
    let metrics = ns
        .metrics()
        .map(|metrics| metrics.event(inbound.event.as_str()));
    let span = tracing::info_span!(
        "message",
        namespace = ns.name(),
        socket = %socket.id(),
        event = inbound.event.as_str(),
        outcome = Empty,
        duration_us = Empty,
    );
    // Counted on receipt, before the reply can reach the client.
    if let Some(metrics) = metrics {
        metrics.received();
    }
    // The clock is read only when something records the duration.
    let started = (metrics.is_some() || !span.is_disabled()).then(Instant::now);
    let outcome = run_message(socket, ns, inbound, ack, metrics)
        .instrument(span.clone())
        .await;
    if let Some(started) = started {
        let took = started.elapsed();
        if let Some(metrics) = metrics {
            metrics.handled(took);
        }
        span.record("outcome", outcome.as_str());
        span.record("duration_us", took.as_micros() as u64);
    }
}

/// How a message ended, as its span records it.
#[derive(Clone, Copy)]
enum Outcome {
    /// The handler ran; its reply, if any, was sent.
    Handled,
    /// An exception was sent (a guard refused, a pipe rejected, the handler failed).
    Exception,
    /// No handler subscribes to the event.
    Unknown,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Handled => "handled",
            Outcome::Exception => "exception",
            Outcome::Unknown => "unknown",
        }
    }
}

async fn run_message(
    socket: &Socket,
    ns: &NamespaceState,
    mut inbound: IncomingMessage,
    ack: Option<u64>,
    metrics: Option<&EventMetrics>,
) -> Outcome {
    let data = inbound.data.as_ref().map_or("null", |data| data.as_str());
    socket.notify_received(inbound.event.as_str(), data);
    let Some(route) = ns.route(inbound.event.as_str()).cloned() else {
        tracing::debug!(
            gateway = ns.gateway(),
            event = inbound.event.as_str(),
            "dropping unknown event"
        );
        return Outcome::Unknown;
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
    let result = match AssertUnwindSafe(run_pipeline(&route, &cx, msg, metrics))
        .catch_unwind()
        .await
    {
        Ok(result) => result,
        Err(_) => Err(WsException::internal("handler panicked")),
    };
    // A handler that took `Ack` answers the ack itself (NestJS `isAckHandledManually`).
    let ack = ack.filter(|_| !ack_taken.load(Ordering::Acquire));
    match result {
        Ok(reply) => {
            send_reply(socket, reply, route, cx, ack);
            Outcome::Handled
        }
        Err(exception) => {
            if let Some(metrics) = metrics {
                metrics.exception_sent();
            }
            handle_exception(exception, &cx, &route).await;
            Outcome::Exception
        }
    }
}

/// Guards, then interceptors around extraction (with pipes) and the handler.
async fn run_pipeline(
    route: &HandlerChain,
    cx: &ExecutionContext,
    msg: Message,
    metrics: Option<&EventMetrics>,
) -> Result<Reply, WsException> {
    for guard in route.guards.iter() {
        let refused = match guard.can_activate(cx).await {
            Ok(true) => None,
            Ok(false) => Some(WsException::new(FORBIDDEN_MESSAGE)),
            Err(exception) => Some(exception),
        };
        if let Some(exception) = refused {
            if let Some(metrics) = metrics {
                metrics.guard_refused();
            }
            return Err(exception);
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
async fn handle_exception(mut exception: WsException, cx: &ExecutionContext, route: &HandlerChain) {
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
    route: Arc<HandlerChain>,
    cx: ExecutionContext,
    ack: Option<u64>,
) {
    match reply {
        Reply::Empty => {}
        Reply::Json(json) => {
            let _ = send_json_reply(socket, json, ack);
        }
        Reply::Payload(payload) => {
            if let Some(frame) = socket.wire().payload_reply_frame(&payload, ack) {
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
                            let Some(frame) = socket.wire().payload_reply_frame(&payload, ack)
                            else {
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
    if !socket.wire().is_socketio() {
        return socket.push(Utf8Bytes::from(json));
    }
    if let Some((event, data)) = event_reply(&json) {
        return socket.emit_json(&event, data.map_or("null", RawValue::get));
    }
    match ack.and_then(|id| socket.wire().ack_frame(id, &json)) {
        Some(frame) => socket.push(Utf8Bytes::from(frame)),
        None => Ok(()),
    }
}
