//! One Socket.IO connection over the Engine.IO WebSocket transport: the open packet, heartbeats,
//! and the namespaces multiplexed over it, each a [`Socket`] of its gateway.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{Message as WsMessage, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

use crate::app::AppShared;
use crate::connection::{finish_socket, handle_message, run_connection_hook, CLOSE_GRACE};
use crate::namespace::NamespaceInner;
use crate::outbox::{write_loop, Outbox};
use crate::pipeline::{ConnectionContext, FORBIDDEN_MESSAGE};
use crate::protocol::json::Inbound;
use crate::protocol::socketio::{self, EioPacket, SioPacket};
use crate::protocol::Wire;
use crate::{DisconnectReason, Handshake, Socket, SocketId, WsException};

/// The gateways of one listener, by namespace name.
pub(crate) type NamespaceTable = HashMap<String, Arc<NamespaceInner>>;

/// Serves one Engine.IO connection until it ends, then disconnects each of its namespace sockets.
pub(crate) async fn serve<S>(
    ws: WebSocketStream<S>,
    namespaces: Arc<NamespaceTable>,
    handshake: Handshake,
    app: Arc<AppShared>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sink, mut stream) = ws.split();
    let (outbox, rx) = Outbox::new(app.config.send_queue_capacity, app.config.max_queued_bytes);
    let stop_writer = CancellationToken::new();
    let writer = tokio::spawn(write_loop(sink, rx, outbox.clone(), stop_writer.clone()));
    let open = socketio::open_packet(
        SocketId::random().as_str(),
        millis(app.config.ping_interval),
        millis(app.config.ping_timeout),
        app.config.max_message_size,
    );
    let _ = outbox.push_text(Utf8Bytes::from(open));

    let mut session = Session {
        namespaces,
        handshake,
        outbox: outbox.clone(),
        sockets: HashMap::new(),
    };
    let hard_stopped = tokio::select! {
        reason = session.read_loop(&mut stream, &app) => { outbox.record_reason(reason); false }
        _ = app.hard_stop.cancelled() => { outbox.record_reason(DisconnectReason::ServerShutdown); true }
    };
    outbox.seal();
    let reason = outbox.reason().unwrap_or(DisconnectReason::TransportClose);
    for (socket, ns) in session.sockets.into_values() {
        finish_socket(&socket, &ns, reason, hard_stopped).await;
    }
    stop_writer.cancel();
    let _ = writer.await;
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

struct Session {
    namespaces: Arc<NamespaceTable>,
    handshake: Handshake,
    outbox: Outbox,
    /// The namespaces this client joined, by name.
    sockets: HashMap<String, (Socket, Arc<NamespaceInner>)>,
}

impl Session {
    /// Reads packets and handles them in order; sends pings and closes on a missing pong.
    async fn read_loop<S>(
        &mut self,
        stream: &mut futures_util::stream::SplitStream<WebSocketStream<S>>,
        app: &AppShared,
    ) -> DisconnectReason
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let outbox = self.outbox.clone();
        let far = || Instant::now() + Duration::from_secs(365 * 24 * 3600);
        let mut next_ping = Instant::now() + app.config.ping_interval;
        let mut pong_due = far();
        let mut close_by = far();
        let mut closing = false;
        loop {
            if !closing && outbox.is_closing() {
                closing = true;
                close_by = Instant::now() + CLOSE_GRACE;
            }
            tokio::select! {
                biased;
                _ = app.shutdown.cancelled(), if !closing => outbox.close(DisconnectReason::ServerShutdown),
                _ = outbox.writer_done(), if !closing => outbox.seal(),
                _ = tokio::time::sleep_until(close_by), if closing => {
                    return outbox.reason().unwrap_or(DisconnectReason::TransportClose);
                }
                _ = tokio::time::sleep_until(pong_due), if !closing => outbox.close(DisconnectReason::PingTimeout),
                _ = tokio::time::sleep_until(next_ping), if !closing => {
                    let _ = outbox.push_text(Utf8Bytes::from_static("2"));
                    next_ping = far();
                    pong_due = Instant::now() + app.config.ping_timeout;
                }
                frame = stream.next() => match frame {
                    None | Some(Err(_)) => return outbox.reason().unwrap_or(DisconnectReason::TransportClose),
                    Some(Ok(WsMessage::Close(frame))) => {
                        let code = frame.map(|f| u16::from(f.code));
                        return outbox.reason().unwrap_or(DisconnectReason::ClientClose(code));
                    }
                    Some(Ok(WsMessage::Text(text))) if !closing => match socketio::decode(text) {
                        Ok(EioPacket::Pong) => {
                            pong_due = far();
                            next_ping = Instant::now() + app.config.ping_interval;
                        }
                        Ok(EioPacket::Close) => return DisconnectReason::ClientClose(None),
                        Ok(EioPacket::Message(packet)) => self.handle(packet).await,
                        Err(err) => {
                            tracing::debug!(error = %err, "closing Socket.IO connection");
                            outbox.close(DisconnectReason::ParseError);
                        }
                    },
                    Some(Ok(WsMessage::Binary(_))) if !closing => {
                        tracing::debug!("binary Socket.IO packets are not supported yet");
                        outbox.close(DisconnectReason::ParseError);
                    }
                    Some(Ok(_)) => {}
                }
            }
        }
    }

    async fn handle(&mut self, packet: SioPacket) {
        match packet {
            SioPacket::Connect { nsp, auth } => self.connect(nsp, auth).await,
            SioPacket::Disconnect { nsp } => {
                if let Some((socket, ns)) = self.sockets.remove(&nsp) {
                    finish_socket(&socket, &ns, DisconnectReason::ClientClose(None), false).await;
                }
            }
            SioPacket::Event {
                nsp,
                ack,
                event,
                data,
            } => {
                // Socket.IO ignores events for namespaces the client has not joined.
                if let Some((socket, ns)) = self.sockets.get(&nsp) {
                    handle_message(socket, ns, Inbound { event, data }, ack).await;
                }
            }
            SioPacket::Ack { nsp, ack, data } => {
                if let Some((socket, _)) = self.sockets.get(&nsp) {
                    socket.resolve_ack(ack, data);
                }
            }
        }
    }

    /// Joins `nsp`: connection guards, then CONNECT (or CONNECT_ERROR), then `handle_connection`.
    async fn connect(&mut self, nsp: String, auth: Option<serde_json::Value>) {
        let prefix = socketio::nsp_prefix(&nsp);
        if self.sockets.contains_key(&nsp) {
            return;
        }
        let Some(ns) = self.namespaces.get(&nsp).cloned() else {
            self.send(socketio::encode_connect_error(
                &prefix,
                "Invalid namespace",
                None,
            ));
            return;
        };
        let handshake = self
            .handshake
            .with_auth(auth.unwrap_or_else(|| serde_json::json!({})));
        let cx = ConnectionContext::new(handshake.clone(), ns.gateway());
        for guard in ns.connection_guards() {
            let refusal = match AssertUnwindSafe(guard.can_connect(&cx))
                .catch_unwind()
                .await
            {
                Ok(Ok(true)) => continue,
                Ok(Ok(false)) => WsException::new(FORBIDDEN_MESSAGE),
                Ok(Err(exception)) => exception,
                Err(_) => WsException::internal("connection guard panicked"),
            };
            if let Some(source) = refusal.source() {
                tracing::error!(gateway = ns.gateway(), error = %source, "connection guard failed");
            }
            let message = refusal.message().to_owned();
            self.send(socketio::encode_connect_error(
                &prefix,
                &message,
                refusal.object(),
            ));
            return;
        }
        let wire = Wire::SocketIo {
            prefix: prefix.as_str().into(),
        };
        let socket = Socket::new(
            ns.clone(),
            self.outbox.clone(),
            handshake.clone(),
            cx.into_data(),
            wire,
        );
        ns.register(&socket);
        self.send(socketio::encode_connect(&prefix, socket.id().as_str()));
        self.sockets.insert(nsp, (socket.clone(), ns.clone()));
        run_connection_hook(&socket, &ns, handshake).await;
    }

    fn send(&self, frame: String) {
        let _ = self.outbox.push_text(Utf8Bytes::from(frame));
    }
}
