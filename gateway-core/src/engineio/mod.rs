//! Engine.IO v4 sessions: the open packet, heartbeats, and the Socket.IO namespaces multiplexed
//! over one session, each a [`Socket`] of its gateway.
//!
//! A session is transport-independent: everything it sends goes through the connection's
//! [`Outbox`]. A session that starts on a WebSocket reads its frames itself and has the outbox
//! drained by a writer task; a long-polling session is fed through a channel by POSTs and drained
//! by GETs, until the client upgrades it to a WebSocket, whose reader then feeds that channel.
//!
//! A session serves the Socket.IO namespaces of a listener ([`namespaces`]), or (for the
//! engine.io-protocol conformance suite only) echoes every message back. Long-polling is in
//! [`polling`], the move to a WebSocket in [`upgrade`].

mod frames;
mod namespaces;
pub(crate) mod polling;
pub(crate) mod upgrade;

use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use self::frames::next_ws_frame;
pub(crate) use self::frames::InFrame;
pub(crate) use self::namespaces::Multiplexer;
use self::polling::PollingSession;
use crate::clients::Slot;
use crate::ending::{Ending, OnceWritten};
use crate::lifecycle::finish_socket;
use crate::outbox::{CloseStyle, Outbox};
use crate::protocol::socketio::{self, EioPacket, ParseError};
use crate::rarely_ready::RarelyReady;
use crate::runtime::Runtime;
use crate::writer::Writer;
use crate::ws_io::{self, WsConn, WsReader, CLOSE_GRACE};
#[cfg(feature = "conformance")]
use crate::{departures::Departures, outbox::OutFrame};
use crate::{DisconnectReason, Handshake, SocketId};

/// What an Engine.IO session serves.
#[derive(Clone)]
pub(crate) enum Protocol {
    /// Socket.IO, with these namespaces.
    SocketIo(Arc<crate::namespace_table::NamespaceTable>),
    /// Every message packet is sent back as it came (conformance testing).
    #[cfg(feature = "conformance")]
    Echo,
}

/// Starts a long-polling session; returns the open packet, the body of the handshake response.
pub(crate) fn start_polling(
    protocol: Protocol,
    handshake: Handshake,
    app: &Arc<Runtime>,
    slot: Slot,
) -> String {
    let sid = SocketId::random().to_string();
    let (outbox, rx) = Outbox::new(
        app.config.send_queue_capacity,
        app.config.max_queued_bytes,
        CloseStyle::EngineIo,
    );
    let (polling, inbound_rx) = PollingSession::new(sid.clone(), outbox.clone(), rx);
    app.polling.insert(polling);
    let span = connection_span(&sid, "polling", &handshake);
    let session = Session::new(
        protocol,
        handshake,
        outbox.clone(),
        app.config.max_attachments,
    );
    let app_for_task = app.clone();
    let sid_for_task = sid.clone();
    app.tasks.spawn(async move {
        session
            .run(&mut FrameSource::Channel(inbound_rx), &app_for_task)
            .instrument(span)
            .await;
        // The client may still be on its way to collect the close packet (but a shutdown
        // does not wait for that).
        tokio::select! {
            _ = tokio::time::timeout(CLOSE_GRACE, outbox.writer_done()) => {}
            () = app_for_task.shutdown.cancelled() => {}
        }
        app_for_task.polling.remove(&sid_for_task);
        drop(slot);
    });
    open_packet(&sid, app, &["websocket"])
}

/// The span of an Engine.IO session (the namespaces it joins show in each message's span); the
/// transport is the one it opened with.
fn connection_span(sid: &str, transport: &'static str, handshake: &Handshake) -> tracing::Span {
    tracing::info_span!(
        "connection",
        sid,
        transport,
        peer = %handshake.remote_addr(),
    )
}

fn open_packet(sid: &str, app: &Runtime, upgrades: &[&str]) -> String {
    socketio::open_packet(
        sid,
        millis(app.config.ping_interval),
        millis(app.config.ping_timeout),
        app.config.max_message_size,
        upgrades,
    )
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Serves a session that starts on a WebSocket.
pub(crate) async fn serve_websocket(
    conn: WsConn,
    protocol: Protocol,
    handshake: Handshake,
    app: Arc<Runtime>,
) {
    let (outbox, rx) = Outbox::new(
        app.config.send_queue_capacity,
        app.config.max_queued_bytes,
        CloseStyle::EngineIo,
    );
    let (stream, io, compressor) = conn.split(Some(outbox.clone())).await;
    let writer = Writer::spawn(io, rx, outbox.clone(), compressor);
    let sid = SocketId::random().to_string();
    let _ = outbox.push_text(Utf8Bytes::from(open_packet(&sid, &app, &[])));
    let span = connection_span(&sid, "websocket", &handshake);
    let session = Session::new(
        protocol,
        handshake,
        outbox.clone(),
        app.config.max_attachments,
    );
    // By reference: each async layer it were moved through would keep its own copy.
    let mut frames = FrameSource::WebSocket(stream);
    session.run(&mut frames, &app).instrument(span).await;
    if let FrameSource::WebSocket(stream) = &mut frames {
        ws_io::finish(writer, outbox.reason(), stream).await;
    }
}

/// Where a session's frames come from.
// One per session, in its task: boxing the reader would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum FrameSource {
    /// Straight from the WebSocket the session started on.
    WebSocket(WsReader),
    /// From long-polling requests, then from the WebSocket the session upgraded to.
    Channel(mpsc::Receiver<InFrame>),
}

impl FrameSource {
    /// The next frame, or `None` once the transport is gone. Cancel-safe.
    async fn next(&mut self, outbox: &Outbox) -> Option<InFrame> {
        match self {
            FrameSource::WebSocket(stream) => next_ws_frame(stream, outbox).await,
            FrameSource::Channel(inbound) => inbound.recv().await,
        }
    }
}

/// What a packet starts (a handler, a namespace connect or disconnect), awaited before the next.
type PacketWork<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>;

/// A session's deadlines, all waited for by one timer.
struct Deadlines {
    /// When to send the next ping, or (once sent) by when its pong is due.
    heartbeat: Instant,
    awaiting_pong: bool,
    /// Until the client joins a namespace.
    connect_by: Option<Instant>,
}

impl Deadlines {
    /// The earliest deadline that matters now.
    fn next(&self) -> Instant {
        self.connect_by
            .map_or(self.heartbeat, |at| at.min(self.heartbeat))
    }

    fn ping_sent(&mut self, ping_timeout: Duration) {
        self.awaiting_pong = true;
        self.heartbeat = Instant::now() + ping_timeout;
    }

    fn pong(&mut self, ping_interval: Duration) {
        self.awaiting_pong = false;
        self.heartbeat = Instant::now() + ping_interval;
    }
}

/// One Engine.IO session: heartbeats, and what it serves.
struct Session {
    outbox: Outbox,
    state: ProtocolState,
}

/// What a session's messages are for.
// One per session, inline in it: boxing the multiplexer would only add an allocation (the
// echo is for conformance testing).
#[allow(clippy::large_enum_variant)]
enum ProtocolState {
    SocketIo(Multiplexer),
    #[cfg(feature = "conformance")]
    Echo,
}

impl Session {
    fn new(
        protocol: Protocol,
        handshake: Handshake,
        outbox: Outbox,
        max_attachments: usize,
    ) -> Self {
        let state = match protocol {
            Protocol::SocketIo(namespaces) => ProtocolState::SocketIo(Multiplexer::new(
                namespaces,
                handshake,
                outbox.clone(),
                max_attachments,
            )),
            #[cfg(feature = "conformance")]
            Protocol::Echo => ProtocolState::Echo,
        };
        Self { outbox, state }
    }

    /// Handles packets until the session ends, then disconnects every namespace socket.
    async fn run(mut self, frames: &mut FrameSource, app: &Runtime) {
        let gates = RarelyReady::new();
        let hard_stopped = tokio::select! {
            biased;
            reason = self.read_loop(frames, app, &gates) => { self.outbox.record_reason(reason); false }
            _ = gates.gate(app.hard_stop.cancelled()) => { self.outbox.record_reason(DisconnectReason::ServerShutdown); true }
        };
        self.outbox.seal();
        let reason = self
            .outbox
            .reason()
            .unwrap_or(DisconnectReason::TransportClose);
        let sockets = match &mut self.state {
            ProtocolState::SocketIo(namespaces) => namespaces.take_sockets(),
            #[cfg(feature = "conformance")]
            ProtocolState::Echo => Vec::new(),
        };
        for (socket, ns) in sockets {
            // Boxed, as every rare path here: a future inline in the session's would make every
            // idle connection's task as large as its largest state.
            Box::pin(finish_socket(&socket, &ns, reason, hard_stopped)).await;
        }
    }

    /// Handles packets in order; sends pings and closes on a missing pong.
    async fn read_loop(
        &mut self,
        frames: &mut FrameSource,
        app: &Runtime,
        gates: &RarelyReady,
    ) -> DisconnectReason {
        let outbox = self.outbox.clone();
        let left = match &self.state {
            ProtocolState::SocketIo(namespaces) => namespaces.departures(),
            #[cfg(feature = "conformance")]
            ProtocolState::Echo => Departures::default(),
        };
        let mut deadlines = Deadlines {
            heartbeat: Instant::now() + app.config.ping_interval,
            awaiting_pong: false,
            connect_by: matches!(self.state, ProtocolState::SocketIo(_))
                .then(|| Instant::now() + app.config.connect_timeout),
        };
        // Built once (a future per message would register and unregister a waker every time),
        // and gated: polled again only once one of them woke the task. One timer waits for the earliest
        // deadline.
        let timer = gates.gate(tokio::time::sleep_until(deadlines.next()));
        // Once closing, nothing more is read: the session is over when the writer is.
        let ending = Ending::new(&outbox, app, gates, OnceWritten::Over);
        let left = gates.gate(std::future::poll_fn(|cx| left.poll_next(cx)));
        tokio::pin!(timer, ending, left);
        loop {
            let closing = ending.is_closing();
            // Whatever a packet starts (a handler, a namespace connect) is boxed: inline, it
            // would make every idle session's task as large as the largest of them.
            let work = tokio::select! {
                biased;
                reason = &mut ending => return reason,
                // Also before the frames: a busy client must still get pings and time out.
                _ = &mut timer, if !closing => {
                    let now = Instant::now();
                    if !self.joined() && deadlines.connect_by.is_some_and(|at| now >= at) {
                        tracing::debug!("no namespace joined within the connect timeout");
                        outbox.close(DisconnectReason::ServerDisconnect);
                    } else if now >= deadlines.heartbeat {
                        if deadlines.awaiting_pong {
                            // The client is gone: drop what is queued (a long-polling session
                            // ends at once).
                            outbox.force_close(DisconnectReason::PingTimeout);
                        } else {
                            let _ = outbox.push_text(Utf8Bytes::from_static("2"));
                            deadlines.ping_sent(app.config.ping_timeout);
                        }
                    }
                    if self.joined() {
                        deadlines.connect_by = None;
                    }
                    timer.as_mut().inner().reset(deadlines.next());
                    None
                }
                // While closing, frames are left unread.
                frame = frames.next(&outbox), if !closing => {
                    let work = match frame {
                        None => return outbox.reason().unwrap_or(DisconnectReason::TransportClose),
                        Some(InFrame::Binary(bytes)) => self.on_binary(bytes),
                        Some(InFrame::Text(text)) => match socketio::decode(text) {
                            Ok(EioPacket::Pong) => {
                                deadlines.pong(app.config.ping_interval);
                                timer.as_mut().inner().reset(deadlines.next());
                                Ok(None)
                            }
                            Ok(EioPacket::Noop) => Ok(None),
                            // Socket.IO calls a closed Engine.IO connection "transport close",
                            // whoever closed it (the namespaces did not say goodbye: recoverable).
                            Ok(EioPacket::Close) => {
                                outbox.close(DisconnectReason::TransportClose);
                                return DisconnectReason::TransportClose;
                            }
                            Ok(EioPacket::Message(frame)) => self.on_message(frame),
                            Err(err) => Err(err),
                        },
                    };
                    work.unwrap_or_else(|err| {
                        tracing::debug!(error = %err, "closing Engine.IO session");
                        outbox.close(DisconnectReason::ParseError);
                        None
                    })
                }
                id = &mut left => match &mut self.state {
                    ProtocolState::SocketIo(namespaces) => namespaces.remove(id),
                    #[cfg(feature = "conformance")]
                    ProtocolState::Echo => None,
                },
            };
            if let Some(work) = work {
                work.await;
            }
        }
    }

    /// Whether the client joined a namespace (an echo session needs none).
    fn joined(&self) -> bool {
        match &self.state {
            ProtocolState::SocketIo(namespaces) => namespaces.joined(),
            #[cfg(feature = "conformance")]
            ProtocolState::Echo => true,
        }
    }

    /// A text message: echoed, or a Socket.IO packet.
    fn on_message(&mut self, frame: Utf8Bytes) -> Result<Option<PacketWork<'_>>, ParseError> {
        match &mut self.state {
            ProtocolState::SocketIo(namespaces) => namespaces.on_text(frame),
            #[cfg(feature = "conformance")]
            ProtocolState::Echo => {
                let _ = self.outbox.push_text(frame);
                Ok(None)
            }
        }
    }

    /// A binary message: echoed, or an attachment of a Socket.IO packet.
    fn on_binary(&mut self, bytes: Bytes) -> Result<Option<PacketWork<'_>>, ParseError> {
        match &mut self.state {
            ProtocolState::SocketIo(namespaces) => namespaces.on_binary(bytes),
            #[cfg(feature = "conformance")]
            ProtocolState::Echo => {
                let _ = self.outbox.push(OutFrame::Binary(bytes));
                Ok(None)
            }
        }
    }
}
