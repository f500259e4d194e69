//! Engine.IO over HTTP long-polling: a session's GETs drain its outbox (packets joined by
//! `\x1e`, binary ones as `b<base64>`), its POSTs feed its inbound channel.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::frames::InFrame;
use crate::outbox::{OutFrame, Outbox, OutboxReceiver};
use crate::protocol::socketio;
use crate::DisconnectReason;

/// Packets from the client waiting for the session: bounded, so a client that floods waits.
const INBOUND_CAPACITY: usize = 64;
/// A poll that comes during an upgrade is answered with a noop after this long (engine.io's
/// noop interval while upgrading), or with 400 if the upgrade completes meanwhile.
const UPGRADE_POLL_WAIT: Duration = Duration::from_millis(100);

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

    pub(super) fn insert(&self, session: Arc<PollingSession>) {
        self.lock().insert(session.sid.clone(), session);
    }

    pub(super) fn remove(&self, sid: &str) {
        self.lock().remove(sid);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<PollingSession>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A session served over HTTP long-polling.
pub(crate) struct PollingSession {
    pub(super) sid: String,
    pub(super) outbox: Outbox,
    /// Taken by one GET at a time, and for good by the upgrade.
    pub(super) rx: tokio::sync::Mutex<Option<OutboxReceiver>>,
    pub(super) inbound: mpsc::Sender<InFrame>,
    /// True from the client's `2probe` until the upgrade completes or fails: GETs are then
    /// answered with a noop, so the client can finish the upgrade.
    pub(super) upgrading: watch::Sender<bool>,
    /// Set once the session has moved to a WebSocket: long-polling requests are refused.
    pub(super) upgraded: AtomicBool,
    /// Set while a POST hands its packets over: a second one at once is refused.
    posting: AtomicBool,
}

/// What a polling request can do wrong (Engine.IO answers HTTP 400 with these codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PollError {
    /// Code 3: two GETs at once, a POST over the size limit, or a session that has upgraded.
    BadRequest,
}

impl PollingSession {
    /// A session `sid` whose client drains `rx` with GETs; returns it with the receiving end
    /// of what POSTs bring.
    pub(super) fn new(
        sid: String,
        outbox: Outbox,
        rx: OutboxReceiver,
    ) -> (Arc<Self>, mpsc::Receiver<InFrame>) {
        let (inbound, inbound_rx) = mpsc::channel(INBOUND_CAPACITY);
        let session = Arc::new(Self {
            sid,
            outbox,
            rx: tokio::sync::Mutex::new(Some(rx)),
            inbound,
            upgrading: watch::Sender::new(false),
            upgraded: AtomicBool::new(false),
            posting: AtomicBool::new(false),
        });
        (session, inbound_rx)
    }

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
                        // No compression on long-polling.
                        OutFrame::Attached(text, bins) | OutFrame::Uncompressed(text, bins) => {
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
        if self.posting.swap(true, Ordering::AcqRel) {
            // As engine.io ("data request overlap from client"): each waiting POST would hold
            // its body.
            self.outbox.close(DisconnectReason::TransportError);
            return Err(PollError::BadRequest);
        }
        let _posting = Posting(&self.posting);
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

/// Clears the POST-in-progress flag when the POST ends (or is cancelled).
struct Posting<'a>(&'a AtomicBool);

impl Drop for Posting<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
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
pub(crate) fn decode_polling_packet(packet: &str) -> Option<InFrame> {
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
