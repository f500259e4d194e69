//! Socket.IO over one Engine.IO session: the namespaces the client joined (each a [`Socket`]
//! of its gateway), packets with binary attachments reassembled, CONNECT answered after the
//! connection guards, and each packet turned into the work it asks for.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::PacketWork;
use crate::departures::{Departures, Identity};
use crate::dispatch::handle_message;
use crate::lifecycle::{finish_socket, run_connection_hook};
use crate::namespace_table::NamespaceTable;
use crate::outbox::Outbox;
use crate::pipeline::{run_connection_guards, ConnectionContext, Refusal, FORBIDDEN_MESSAGE};
use crate::protocol::json::IncomingMessage;
use crate::protocol::socketio::{self, ParseError, SioPacket};
use crate::protocol::Wire;
use crate::registry::NamespaceState;
use crate::{ClusterData, DisconnectReason, Handshake, Socket, SocketId, WsException};

/// How long a CONNECT waits for the session store to restore a session before it starts a new
/// one.
const RESTORE_WAIT: Duration = Duration::from_secs(5);

/// The longest `pid` or `offset` looked up for recovery: ours are 20 characters (a private
/// id) or a stream entry id.
const MAX_RECOVERY_ID: usize = 64;

/// How long `handle_connection` waits for the CONNECT reply to be written (a long-polling
/// client takes it with its next poll).
const CONNECT_WRITE_WAIT: Duration = Duration::from_millis(100);

/// The namespaces a client joined, by name.
type Joined = foldhash::HashMap<String, (Socket, Arc<NamespaceState>)>;

/// The Socket.IO namespaces one session multiplexes.
pub(crate) struct Multiplexer {
    namespaces: Arc<NamespaceTable>,
    handshake: Handshake,
    outbox: Outbox,
    /// Looked up once per packet, by namespaces that exist: a fast hash is enough.
    sockets: Joined,
    /// A binary packet waiting for its attachments, and those received so far.
    partial: Option<(SioPacket, Vec<Bytes>)>,
    /// Whether the client ever joined a namespace (else it is closed after the connect timeout).
    joined: bool,
    /// Given to each socket: the server disconnected it from its namespace.
    leave: Departures,
    /// Most binary attachments one packet may announce.
    max_attachments: usize,
}

impl Multiplexer {
    pub(crate) fn new(
        namespaces: Arc<NamespaceTable>,
        handshake: Handshake,
        outbox: Outbox,
        max_attachments: usize,
    ) -> Self {
        Self {
            namespaces,
            handshake,
            outbox,
            sockets: foldhash::HashMap::default(),
            partial: None,
            joined: false,
            leave: Departures::default(),
            max_attachments,
        }
    }

    /// Whether the client ever joined a namespace.
    pub(super) fn joined(&self) -> bool {
        self.joined
    }

    /// Where the sockets the server disconnects from their namespace are announced.
    pub(crate) fn departures(&self) -> Departures {
        self.leave.clone()
    }

    /// Every joined socket, for the session's end.
    pub(crate) fn take_sockets(&mut self) -> Vec<(Socket, Arc<NamespaceState>)> {
        std::mem::take(&mut self.sockets).into_values().collect()
    }

    /// A text message: a Socket.IO packet (held back until its attachments arrive).
    pub(crate) fn on_text(
        &mut self,
        frame: Utf8Bytes,
    ) -> Result<Option<PacketWork<'_>>, ParseError> {
        if self.partial.is_some() {
            return Err(ParseError::new(
                "a text packet came before the awaited attachments",
            ));
        }
        let packet = socketio::decode_packet(&frame, self.max_attachments)?;
        count_received(&self.sockets, packet.nsp(), frame.len());
        if packet.attachments() > 0 {
            self.partial = Some((packet, Vec::new()));
            return Ok(None);
        }
        self.handle(packet, Vec::new())
    }

    /// A binary message: the next attachment of the packet being received.
    pub(crate) fn on_binary(&mut self, bytes: Bytes) -> Result<Option<PacketWork<'_>>, ParseError> {
        let Some((packet, attachments)) = self.partial.as_mut() else {
            return Err(ParseError::new("a binary frame no packet announced"));
        };
        count_received(&self.sockets, packet.nsp(), bytes.len());
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
    pub(crate) fn remove(&mut self, id: SocketId) -> Option<PacketWork<'static>> {
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
    ) -> Result<Option<PacketWork<'_>>, ParseError> {
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
                let inbound = IncomingMessage {
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

    /// Joins `nsp`: connection guards, the namespace (a dynamic one created, or refused as an
    /// unknown one when its gateway is at capacity), then CONNECT (or CONNECT_ERROR), then
    /// `handle_connection`.
    async fn connect(&mut self, nsp: String, auth: Option<serde_json::Value>) {
        let prefix = socketio::nsp_prefix(&nsp);
        let invalid_namespace =
            || socketio::encode_connect_error(&prefix, "Invalid namespace", None);
        let Some(found) = self.namespaces.find(&nsp) else {
            self.send(invalid_namespace());
            return;
        };
        let gateway = found.gateway();
        let handshake = self
            .handshake
            .with_auth(auth.unwrap_or_else(|| serde_json::json!({})));
        let cx = ConnectionContext::new(handshake.clone(), gateway);
        if let Err(refusal) = run_connection_guards(found.connection_guards(), &cx).await {
            let refusal = match refusal {
                Refusal::Forbidden => WsException::new(FORBIDDEN_MESSAGE),
                Refusal::Failed(exception) => exception,
            };
            if let Some(source) = refusal.source() {
                tracing::error!(gateway, error = %source, "connection guard failed");
            }
            let message = refusal.message().to_owned();
            self.send(socketio::encode_connect_error(
                &prefix,
                &message,
                refusal.object(),
            ));
            return;
        }
        // Held until the socket is registered: a dynamic namespace is not dropped under it.
        let Ok(entered) = found.enter(&nsp).await else {
            tracing::warn!(gateway, namespace = %nsp, "live namespaces bound reached: CONNECT refused");
            self.send(invalid_namespace());
            return;
        };
        let ns = entered.namespace().clone();
        let wire = Wire::socketio(&nsp);
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
        // Recovery across instances: the adapter's store has the session and what it missed.
        // Bounded: a slow store must not hold the connection's other namespaces.
        let request = recovery_request(&handshake);
        let shared = match (ns.session_store(), request) {
            (Some(store), Some((pid, offset))) => {
                let restoring = store.restore(ns.name(), pid, offset);
                let restored = tokio::time::timeout(RESTORE_WAIT, restoring).await;
                restored
                    .ok()
                    .flatten()
                    .map(|session| (pid.to_owned(), session))
            }
            _ => None,
        };
        let shared = shared.map(|(pid, session)| {
            let socket = new_socket(Identity {
                id: session.sid,
                pid: Some(pid.into()),
                recovered: true,
                leave: Some(leave.clone()),
            });
            socket.data().insert(ClusterData(session.data));
            ns.join(&socket, session.rooms);
            for missed in session.missed {
                let frame = wire.payload_event_frame(&missed.payload, &missed.event, None, None);
                let _ = socket.push_frame(frame);
            }
            socket
        });
        let recovered = shared.or_else(|| {
            ns.recovery()
                .zip(request)
                .and_then(|(recovery, (pid, offset))| {
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
                })
        });
        let socket = match recovered {
            Some(socket) => socket,
            None => new_socket(Identity::new(ns.recovery().is_some(), Some(leave.clone()))),
        };
        self.sockets.insert(nsp, (socket.clone(), ns.clone()));
        drop(entered);
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

/// The `pid` and `offset` a reconnecting socket.io-client puts in its CONNECT auth payload;
/// none if either is longer than any this server hands out (they become store lookups).
fn recovery_request(handshake: &Handshake) -> Option<(&str, &str)> {
    let auth = handshake.auth()?;
    let pid = auth.get("pid")?.as_str()?;
    let offset = auth.get("offset")?.as_str()?;
    (pid.len() <= MAX_RECOVERY_ID && offset.len() <= MAX_RECOVERY_ID).then_some((pid, offset))
}

/// Counts `len` bytes received for namespace `nsp`, when it is joined and records metrics.
fn count_received(sockets: &Joined, nsp: &str, len: usize) {
    if let Some(metrics) = sockets.get(nsp).and_then(|(_, ns)| ns.metrics()) {
        metrics.received_bytes(len);
    }
}
