//! Engine.IO v4 sessions: the open packet, heartbeats, and the Socket.IO namespaces multiplexed
//! over one session, each a [`Socket`] of its gateway.
//!
//! A session is transport-independent: everything it sends goes through the connection's
//! [`Outbox`]. A session that starts on a WebSocket reads its frames itself and has the outbox
//! drained by a writer task; a long-polling session is fed through a channel by POSTs and drained
//! by GETs, until the client upgrades it to a WebSocket, whose reader then feeds that channel.
//!
//! A session serves the Socket.IO namespaces of a listener, or (for the engine.io-protocol
//! conformance suite only) echoes every message back.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{Message as WsMessage, Utf8Bytes};
use tokio_util::sync::CancellationToken;

use crate::app::AppShared;
use crate::connection::{finish_socket, handle_message, run_connection_hook, CLOSE_GRACE};
use crate::namespace::NamespaceInner;
use crate::outbox::{write_loop, CloseStyle, OutFrame, Outbox, OutboxReceiver};
use crate::pipeline::{ConnectionContext, FORBIDDEN_MESSAGE};
use crate::protocol::json::Inbound;
use crate::protocol::socketio::{self, EioPacket, ParseError, SioPacket};
use crate::protocol::Wire;
use crate::socket::{Departures, Identity};
use crate::stream::StreamWrite;
use crate::wake_gate::WakeGates;
use crate::ws_io::{self, WsConn, WsReader};
use crate::{DisconnectReason, Handshake, Socket, SocketId, WsException};

/// The gateways of one listener, by namespace name.
pub(crate) type NamespaceTable = HashMap<String, Arc<NamespaceInner>>;

/// What an Engine.IO session serves.
#[derive(Clone)]
pub(crate) enum Service {
    /// Socket.IO, with these namespaces.
    SocketIo(Arc<NamespaceTable>),
    /// Every message packet is sent back as it came (conformance testing).
    Echo,
}

/// One Engine.IO frame from the client, whichever the transport.
#[derive(Debug)]
pub(crate) enum InFrame {
    Text(Utf8Bytes),
    /// A binary message (a WebSocket binary frame, or a long-polling `b<base64>` packet).
    Binary(Bytes),
}

/// Packets from the client waiting for the session: bounded, so a client that floods waits.
const INBOUND_CAPACITY: usize = 64;
/// How long a client may take to finish the polling → WebSocket upgrade.
const UPGRADE_TIMEOUT: Duration = Duration::from_secs(10);
/// A poll that comes during an upgrade is answered with a noop after this long (engine.io's
/// noop interval while upgrading), or with 400 if the upgrade completes meanwhile.
const UPGRADE_POLL_WAIT: Duration = Duration::from_millis(100);
/// How long `handle_connection` waits for the CONNECT reply to be written (a long-polling
/// client takes it with its next poll).
const CONNECT_WRITE_WAIT: Duration = Duration::from_millis(100);

/// The long-polling sessions of an app, by sid, until they end or upgrade.
#[derive(Default)]
pub(crate) struct PollingSessions(Mutex<HashMap<String, Arc<PollingSession>>>);

impl PollingSessions {
    /// The live session `sid`; a session closed by force (ping timeout, bad packet) is gone.
    pub(crate) fn get(&self, sid: &str) -> Option<Arc<PollingSession>> {
        self.lock()
            .get(sid)
            .filter(|s| !s.outbox.is_forced())
            .cloned()
    }

    fn insert(&self, session: Arc<PollingSession>) {
        self.lock().insert(session.sid.clone(), session);
    }

    fn remove(&self, sid: &str) {
        self.lock().remove(sid);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<PollingSession>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A session served over HTTP long-polling.
pub(crate) struct PollingSession {
    sid: String,
    outbox: Outbox,
    /// Taken by one GET at a time, and for good by the upgrade.
    rx: tokio::sync::Mutex<Option<OutboxReceiver>>,
    inbound: mpsc::Sender<InFrame>,
    /// True from the client's `2probe` until the upgrade completes or fails: GETs are then
    /// answered with a noop, so the client can finish the upgrade.
    upgrading: watch::Sender<bool>,
    /// Set once the session has moved to a WebSocket: long-polling requests are refused.
    upgraded: AtomicBool,
}

/// What a polling request can do wrong (Engine.IO answers HTTP 400 with these codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PollError {
    /// Code 3: two GETs at once, a POST over the size limit, or a session that has upgraded.
    BadRequest,
}

impl PollingSession {
    /// Answers a GET: what is queued, joined with `\x1e`, waiting for at least one packet.
    pub(crate) async fn poll(&self, wait: Duration) -> Result<String, PollError> {
        let mut upgrading = self.upgrading.subscribe();
        if *upgrading.borrow_and_update() {
            // Not holding the queue meanwhile: the upgrade takes it when it completes.
            let _ = tokio::time::timeout(UPGRADE_POLL_WAIT, upgrading.changed()).await;
            if self.upgraded.load(Ordering::Acquire) {
                return Err(PollError::BadRequest);
            }
            return Ok("6".to_owned());
        }
        let Ok(mut slot) = self.rx.try_lock() else {
            // Engine.IO closes a session that polls twice at once.
            self.outbox.close(DisconnectReason::TransportError);
            return Err(PollError::BadRequest);
        };
        let rx = slot.as_mut().ok_or(PollError::BadRequest)?;
        let got = tokio::select! {
            biased;
            () = self.outbox.forced() => None,
            got = tokio::time::timeout(wait, rx.recv_all()) => Some(got),
            _ = upgrading.wait_for(|u| *u) => return Ok("6".to_owned()),
        };
        // The response body: packets joined by `\x1e`, binary ones as `b<base64>`.
        let mut body = String::new();
        let ended = match got {
            // Nothing to say: a noop keeps the client polling.
            Some(Err(_)) => {
                body.push('6');
                false
            }
            None => {
                body.push('1');
                true
            }
            Some(Ok(frames)) => {
                let mut ended = false;
                for frame in frames {
                    self.outbox.sent(&frame);
                    match frame {
                        // WebSocket control frames: never queued on long-polling.
                        OutFrame::Raw(_) => continue,
                        OutFrame::Written(signal) => {
                            signal.cancel();
                            continue;
                        }
                        _ => {}
                    }
                    separate(&mut body);
                    match frame {
                        OutFrame::Text(text) => body.push_str(&text),
                        OutFrame::Binary(bytes) => push_base64(&mut body, &bytes),
                        OutFrame::Attached(text, bins) => {
                            body.push_str(&text);
                            for bin in bins.iter() {
                                separate(&mut body);
                                push_base64(&mut body, bin);
                            }
                        }
                        OutFrame::Raw(_) | OutFrame::Written(_) => {}
                        OutFrame::Close(_) => {
                            // A client that closed is answered with a noop, as Engine.IO does.
                            let by_client =
                                self.outbox.reason() == Some(DisconnectReason::TransportClose);
                            body.push(if by_client { '6' } else { '1' });
                            ended = true;
                            break;
                        }
                    }
                }
                ended
            }
        };
        if ended {
            *slot = None;
            self.outbox.finish_writing();
        }
        Ok(body)
    }

    /// Handles a POST: each `\x1e`-separated packet goes to the session, in order.
    pub(crate) async fn post(&self, body: &str) -> Result<(), PollError> {
        if self.upgraded.load(Ordering::Acquire) {
            return Err(PollError::BadRequest);
        }
        let mut frames = Vec::new();
        for packet in body.split('\u{1e}') {
            match decode_polling_packet(packet) {
                Some(frame) => frames.push(frame),
                // Engine.IO closes the session on a malformed payload before handling any of it.
                None => {
                    self.outbox.force_close(DisconnectReason::ParseError);
                    return Err(PollError::BadRequest);
                }
            }
        }
        for frame in frames {
            if self.inbound.send(frame).await.is_err() {
                return Err(PollError::BadRequest);
            }
        }
        Ok(())
    }
}

/// Starts the next packet of a long-polling payload.
fn separate(body: &mut String) {
    if !body.is_empty() {
        body.push('\u{1e}');
    }
}

/// Appends `b<base64>`: a binary message in a long-polling payload.
fn push_base64(body: &mut String, bytes: &[u8]) {
    body.push('b');
    BASE64.encode_string(bytes, body);
}

/// One packet of a POSTed payload, or `None` if it is malformed.
fn decode_polling_packet(packet: &str) -> Option<InFrame> {
    match packet.strip_prefix('b') {
        Some(encoded) => BASE64
            .decode(encoded)
            .ok()
            .map(|b| InFrame::Binary(b.into())),
        None if socketio::is_engine_io_packet(packet) => {
            Some(InFrame::Text(Utf8Bytes::from(packet.to_owned())))
        }
        None => None,
    }
}

/// Starts a long-polling session; returns the open packet, the body of the handshake response.
pub(crate) fn start_polling(
    service: Service,
    handshake: Handshake,
    app: &Arc<AppShared>,
) -> String {
    let sid = SocketId::random().to_string();
    let (outbox, rx) = Outbox::new(
        app.config.send_queue_capacity,
        app.config.max_queued_bytes,
        CloseStyle::EngineIo,
    );
    let (inbound, inbound_rx) = mpsc::channel(INBOUND_CAPACITY);
    let polling = Arc::new(PollingSession {
        sid: sid.clone(),
        outbox: outbox.clone(),
        rx: tokio::sync::Mutex::new(Some(rx)),
        inbound,
        upgrading: watch::Sender::new(false),
        upgraded: AtomicBool::new(false),
    });
    app.polling.insert(polling);
    let session = Session::new(service, handshake, outbox.clone());
    let app_for_task = app.clone();
    let sid_for_task = sid.clone();
    app.tasks.spawn(async move {
        session
            .run(&mut FrameSource::Channel(inbound_rx), &app_for_task)
            .await;
        // The client may still be on its way to collect the close packet (but a shutdown
        // does not wait for that).
        tokio::select! {
            _ = tokio::time::timeout(CLOSE_GRACE, outbox.writer_done()) => {}
            () = app_for_task.shutdown.cancelled() => {}
        }
        app_for_task.polling.remove(&sid_for_task);
    });
    open_packet(&sid, app, &["websocket"])
}

fn open_packet(sid: &str, app: &AppShared, upgrades: &[&str]) -> String {
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
    service: Service,
    handshake: Handshake,
    app: Arc<AppShared>,
) {
    let (outbox, rx) = Outbox::new(
        app.config.send_queue_capacity,
        app.config.max_queued_bytes,
        CloseStyle::EngineIo,
    );
    let (stream, io) = conn.split(Some(outbox.clone())).await;
    let stop_writer = CancellationToken::new();
    let writer = tokio::spawn(write_loop(io, rx, outbox.clone(), stop_writer.clone()));
    let sid = SocketId::random().to_string();
    let _ = outbox.push_text(Utf8Bytes::from(open_packet(&sid, &app, &[])));
    let session = Session::new(service, handshake, outbox.clone());
    // By reference: each async layer it were moved through would keep its own copy.
    let mut frames = FrameSource::WebSocket(stream);
    session.run(&mut frames, &app).await;
    stop_writer.cancel();
    if let (Ok(mut io), FrameSource::WebSocket(stream)) = (writer.await, &mut frames) {
        linger_if_refused(&outbox, &mut io, stream).await;
    }
}

/// After a refused frame, lets the client read our close frame before the connection ends.
async fn linger_if_refused(outbox: &Outbox, io: &mut StreamWrite, stream: &mut WsReader) {
    if matches!(
        outbox.reason(),
        Some(DisconnectReason::MessageTooBig | DisconnectReason::InvalidPayload)
    ) {
        Box::pin(ws_io::linger(io, stream.get_mut(), CLOSE_GRACE)).await;
    }
}

/// Completes a WebSocket handshake engine.io accepts but will not serve (a second upgrade of a
/// session, an upgrade to long-polling): a close frame without a status, as its `ws.close()`.
pub(crate) async fn close_without_status(conn: WsConn) {
    let (mut stream, mut io) = conn.split(None).await;
    let mut close = Vec::new();
    ws_io::push_close(&mut close, &ws_io::CLOSE_WITHOUT_STATUS);
    if io.write_all(&close).await.is_ok() && io.flush().await.is_ok() {
        Box::pin(ws_io::linger(&mut io, stream.get_mut(), CLOSE_GRACE)).await;
    }
}

/// Upgrades a polling session to the WebSocket `conn` (`2probe` / `3probe` / `5`).
pub(crate) async fn upgrade(conn: WsConn, polling: Arc<PollingSession>) {
    if polling.upgrading.send_replace(true) {
        // Another WebSocket is upgrading or has upgraded this session.
        return close_without_status(conn).await;
    }
    // Until the upgrade completes the session still talks over long-polling: nothing from this
    // WebSocket goes into its queue.
    let (mut ws, mut io) = conn.split(None).await;
    let probed = tokio::time::timeout(UPGRADE_TIMEOUT, async {
        match ws.next().await {
            Some(Ok(WsMessage::Text(t))) if t.as_str() == "2probe" => {}
            _ => return false,
        }
        let mut probe = Vec::new();
        ws_io::push_frame(&mut probe, ws_io::OPCODE_TEXT, b"3probe");
        if io.write_all(&probe).await.is_err() || io.flush().await.is_err() {
            return false;
        }
        matches!(ws.next().await, Some(Ok(WsMessage::Text(t))) if t.as_str() == "5")
    })
    .await;
    if probed != Ok(true) {
        polling.upgrading.send_replace(false);
        return;
    }
    // The session stays registered until it ends: its sid is still known, and long-polling
    // requests for it are refused (`PollError::BadRequest`).
    let Some(rx) = polling.rx.lock().await.take() else {
        return;
    };
    polling.upgraded.store(true, Ordering::Release);
    // Wakes a poll waiting for the upgrade's outcome.
    polling.upgrading.send_replace(true);
    let outbox = polling.outbox.clone();
    let inbound = polling.inbound.clone();
    drop(polling);
    ws.get_mut().bind(outbox.clone());
    let stop_writer = CancellationToken::new();
    let writer = tokio::spawn(write_loop(io, rx, outbox.clone(), stop_writer.clone()));
    tokio::select! {
        () = forward_frames(&mut ws, inbound, outbox.clone()) => {}
        () = outbox.writer_done() => {}
    }
    stop_writer.cancel();
    if let Ok(mut io) = writer.await {
        linger_if_refused(&outbox, &mut io, &mut ws).await;
    }
}

/// Passes WebSocket frames to a session that started on long-polling, until the connection
/// ends (recording why).
async fn forward_frames(stream: &mut WsReader, inbound: mpsc::Sender<InFrame>, outbox: Outbox) {
    let session_gone = inbound.closed();
    tokio::pin!(session_gone);
    loop {
        let frame = tokio::select! {
            biased;
            frame = next_ws_frame(stream, &outbox) => frame,
            () = &mut session_gone => return,
        };
        let Some(frame) = frame else { return };
        if inbound.send(frame).await.is_err() {
            return;
        }
    }
}

/// The next Engine.IO frame of a WebSocket, or `None` once it is closed (recording why).
/// Cancel-safe.
async fn next_ws_frame(stream: &mut WsReader, outbox: &Outbox) -> Option<InFrame> {
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
type Work<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>;

/// A session's deadlines, all waited for by one timer.
struct Deadlines {
    /// When to send the next ping, or (once sent) by when its pong is due.
    heartbeat: Instant,
    awaiting_pong: bool,
    /// Until the client joins a namespace.
    connect_by: Option<Instant>,
    /// Once closing: when to stop waiting for the writer.
    close_by: Option<Instant>,
}

impl Deadlines {
    /// The earliest deadline that matters now.
    fn next(&self) -> Instant {
        match self.close_by {
            Some(close_by) => close_by,
            None => self
                .connect_by
                .map_or(self.heartbeat, |at| at.min(self.heartbeat)),
        }
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

/// The state of one Engine.IO session: the namespaces this client joined.
struct Session {
    service: Service,
    handshake: Handshake,
    outbox: Outbox,
    /// Looked up once per packet, by namespaces that exist: a fast hash is enough.
    sockets: foldhash::HashMap<String, (Socket, Arc<NamespaceInner>)>,
    /// A binary packet waiting for its attachments, and those received so far.
    partial: Option<(SioPacket, Vec<Bytes>)>,
    /// Whether the client ever joined a namespace (else it is closed after the connect timeout).
    joined: bool,
    /// Given to each socket: the server disconnected it from its namespace.
    leave: Departures,
}

impl Session {
    fn new(service: Service, handshake: Handshake, outbox: Outbox) -> Self {
        let leave = Departures::default();
        Self {
            service,
            handshake,
            outbox,
            sockets: foldhash::HashMap::default(),
            partial: None,
            joined: false,
            leave,
        }
    }

    /// Handles packets until the session ends, then disconnects every namespace socket.
    async fn run(mut self, frames: &mut FrameSource, app: &AppShared) {
        let gates = WakeGates::new();
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
        for (socket, ns) in std::mem::take(&mut self.sockets).into_values() {
            // Boxed, as every rare path here: a future inline in the session's would make every
            // idle connection's task as large as its largest state.
            Box::pin(finish_socket(&socket, &ns, reason, hard_stopped)).await;
        }
    }

    /// Handles packets in order; sends pings and closes on a missing pong.
    async fn read_loop(
        &mut self,
        frames: &mut FrameSource,
        app: &AppShared,
        gates: &WakeGates,
    ) -> DisconnectReason {
        let outbox = self.outbox.clone();
        let left = self.leave.clone();
        let mut deadlines = Deadlines {
            heartbeat: Instant::now() + app.config.ping_interval,
            awaiting_pong: false,
            connect_by: matches!(self.service, Service::SocketIo(_))
                .then(|| Instant::now() + app.config.connect_timeout),
            close_by: None,
        };
        // Built once (a future per message would register and unregister a waker every time),
        // and gated: polled again only once one of them woke the task. One timer waits for the earliest
        // deadline.
        let timer = gates.gate(tokio::time::sleep_until(deadlines.next()));
        let shutting_down = gates.gate(app.shutdown.cancelled());
        let writer_done = gates.gate(outbox.writer_done());
        let left = gates.gate(std::future::poll_fn(|cx| left.poll_next(cx)));
        tokio::pin!(timer, shutting_down, writer_done, left);
        loop {
            if deadlines.close_by.is_none() && outbox.is_closing() {
                deadlines.close_by = Some(Instant::now() + CLOSE_GRACE);
                timer.as_mut().inner().reset(deadlines.next());
            }
            let closing = deadlines.close_by.is_some();
            // Whatever a packet starts (a handler, a namespace connect) is boxed: inline, it
            // would make every idle session's task as large as the largest of them.
            let work = tokio::select! {
                biased;
                // Before the frames, so a busy client cannot hold off a shutdown.
                _ = &mut shutting_down, if !closing => {
                    outbox.close(DisconnectReason::ServerShutdown);
                    None
                }
                _ = &mut writer_done => {
                    if closing {
                        return outbox.reason().unwrap_or(DisconnectReason::TransportClose);
                    }
                    outbox.seal();
                    None
                }
                // Also before the frames: a busy client must still get pings and time out.
                _ = &mut timer => {
                    let now = Instant::now();
                    if deadlines.close_by.is_some_and(|at| now >= at) {
                        return outbox.reason().unwrap_or(DisconnectReason::TransportClose);
                    }
                    if !closing && !self.joined && deadlines.connect_by.is_some_and(|at| now >= at) {
                        tracing::debug!("no namespace joined within the connect timeout");
                        outbox.close(DisconnectReason::ServerDisconnect);
                    } else if !closing && now >= deadlines.heartbeat {
                        if deadlines.awaiting_pong {
                            // The client is gone: drop what is queued (a long-polling session
                            // ends at once).
                            outbox.force_close(DisconnectReason::PingTimeout);
                        } else {
                            let _ = outbox.push_text(Utf8Bytes::from_static("2"));
                            deadlines.ping_sent(app.config.ping_timeout);
                        }
                    }
                    if self.joined {
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
                id = &mut left => self.remove(id),
            };
            if let Some(work) = work {
                work.await;
            }
        }
    }

    /// A text message: echoed, or a Socket.IO packet (held back until its attachments arrive).
    fn on_message(&mut self, frame: Utf8Bytes) -> Result<Option<Work<'_>>, ParseError> {
        if let Service::Echo = self.service {
            let _ = self.outbox.push_text(frame);
            return Ok(None);
        }
        if self.partial.is_some() {
            return Err(ParseError::new(
                "a text packet came before the awaited attachments",
            ));
        }
        let packet = socketio::decode_packet(&frame)?;
        if packet.attachments() > 0 {
            self.partial = Some((packet, Vec::new()));
            return Ok(None);
        }
        self.handle(packet, Vec::new())
    }

    /// A binary message: echoed, or the next attachment of the packet being received.
    fn on_binary(&mut self, bytes: Bytes) -> Result<Option<Work<'_>>, ParseError> {
        if let Service::Echo = self.service {
            let _ = self.outbox.push(OutFrame::Binary(bytes));
            return Ok(None);
        }
        let Some((packet, attachments)) = self.partial.as_mut() else {
            return Err(ParseError::new("a binary frame no packet announced"));
        };
        attachments.push(bytes);
        if attachments.len() < packet.attachments() {
            return Ok(None);
        }
        match self.partial.take() {
            Some((packet, attachments)) => self.handle(packet, attachments),
            None => Ok(None),
        }
    }

    /// Finishes socket `id`, which the server disconnected from its namespace.
    fn remove(&mut self, id: SocketId) -> Option<Work<'static>> {
        let nsp = self
            .sockets
            .iter()
            .find(|(_, (socket, _))| socket.id() == id)
            .map(|(nsp, _)| nsp.clone())?;
        let (socket, ns) = self.sockets.remove(&nsp)?;
        Some(Box::pin(async move {
            finish_socket(&socket, &ns, DisconnectReason::ServerDisconnect, false).await;
        }))
    }

    /// What `packet` asks for, to be awaited before the next packet. As in socket.io, a packet
    /// that does not fit the namespace's state (an event, ack or DISCONNECT for a namespace not
    /// joined, a CONNECT for one already joined) closes the connection.
    fn handle(
        &mut self,
        packet: SioPacket,
        attachments: Vec<Bytes>,
    ) -> Result<Option<Work<'_>>, ParseError> {
        let not_joined = || ParseError::new("a packet for a namespace the client has not joined");
        match packet {
            SioPacket::Connect { nsp, .. } if self.sockets.contains_key(&nsp) => Err(
                ParseError::new("a CONNECT for a namespace the client has joined"),
            ),
            SioPacket::Connect { nsp, auth } => Ok(Some(Box::pin(self.connect(nsp, auth)))),
            SioPacket::Disconnect { nsp } => {
                let (socket, ns) = self.sockets.remove(&nsp).ok_or_else(not_joined)?;
                Ok(Some(Box::pin(async move {
                    let reason = DisconnectReason::ClientClose(None);
                    finish_socket(&socket, &ns, reason, false).await;
                })))
            }
            SioPacket::Event {
                nsp,
                ack,
                event,
                data,
                several,
                ..
            } => {
                let (socket, ns) = self.sockets.get(&nsp).ok_or_else(not_joined)?;
                let inbound = Inbound {
                    event,
                    data,
                    several,
                    attachments,
                };
                Ok(Some(Box::pin(handle_message(socket, ns, inbound, ack))))
            }
            SioPacket::Ack { nsp, ack, data, .. } => {
                let (socket, _) = self.sockets.get(&nsp).ok_or_else(not_joined)?;
                socket.resolve_ack(ack, data);
                Ok(None)
            }
        }
    }

    /// Joins `nsp`: connection guards, then CONNECT (or CONNECT_ERROR), then `handle_connection`.
    async fn connect(&mut self, nsp: String, auth: Option<serde_json::Value>) {
        let prefix = socketio::nsp_prefix(&nsp);
        let Service::SocketIo(namespaces) = &self.service else {
            return;
        };
        let Some(ns) = namespaces.get(&nsp).cloned() else {
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
        let data = cx.into_data();
        let outbox = self.outbox.clone();
        let leave = self.leave.clone();
        let new_socket = |identity: Identity| {
            let socket = Socket::new(
                ns.clone(),
                outbox.clone(),
                handshake.clone(),
                data.clone(),
                wire.clone(),
                identity,
            );
            ns.register(&socket);
            let connect = socketio::encode_connect(&prefix, socket.id().as_str(), socket.pid());
            let _ = outbox.push_text(Utf8Bytes::from(connect));
            socket
        };
        let recovered = ns.recovery().zip(recovery_request(&handshake)).and_then(
            |(recovery, (pid, offset))| {
                recovery.restore(
                    pid,
                    offset,
                    |session| {
                        data.restore(session.data);
                        let socket = new_socket(Identity {
                            id: session.sid,
                            pid: Some(pid.into()),
                            recovered: true,
                            leave: Some(leave.clone()),
                        });
                        ns.join(&socket, session.rooms);
                        socket
                    },
                    |socket, missed| {
                        let _ = socket.push_frame(missed.clone());
                    },
                )
            },
        );
        let socket = match recovered {
            Some(socket) => socket,
            None => new_socket(Identity::new(ns.recovery().is_some(), Some(leave.clone()))),
        };
        self.sockets.insert(nsp, (socket.clone(), ns.clone()));
        self.joined = true;
        // What the hook sends leaves after the CONNECT reply, in a later write, as with
        // Engine.IO (bounded: a long-polling client may not be polling).
        let _ = tokio::time::timeout(CONNECT_WRITE_WAIT, self.outbox.written()).await;
        run_connection_hook(&socket, &ns, handshake).await;
    }

    fn send(&self, frame: String) {
        let _ = self.outbox.push_text(Utf8Bytes::from(frame));
    }
}

/// The `pid` and `offset` a reconnecting socket.io-client puts in its CONNECT auth payload.
fn recovery_request(handshake: &Handshake) -> Option<(&str, &str)> {
    let auth = handshake.auth()?;
    let pid = auth.get("pid")?.as_str()?;
    let offset = auth.get("offset")?.as_str()?;
    Some((pid, offset))
}
