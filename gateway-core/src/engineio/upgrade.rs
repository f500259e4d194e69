//! The upgrade of a long-polling session to a WebSocket (`2probe` / `3probe` / `5`), and the
//! WebSocket handshakes engine.io completes only to close.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::frames::{next_ws_frame, InFrame};
use super::polling::PollingSession;
use crate::outbox::Outbox;
use crate::protocol::ws_frame;
use crate::writer::Writer;
use crate::ws_io::{self, WsConn, WsReader, CLOSE_GRACE};

/// How long a client may take to finish the polling → WebSocket upgrade.
const UPGRADE_TIMEOUT: Duration = Duration::from_secs(10);

/// Completes a WebSocket handshake engine.io accepts but will not serve (a second upgrade of a
/// session, an upgrade to long-polling): a close frame without a status, as its `ws.close()`.
pub(crate) async fn close_without_status(conn: WsConn) {
    let (mut stream, mut io, _) = conn.split(None).await;
    let mut close = Vec::new();
    ws_frame::push_close(&mut close, &ws_frame::CLOSE_WITHOUT_STATUS);
    if io.write_all(&close).await.is_ok() && io.flush().await.is_ok() {
        Box::pin(ws_io::linger(
            &mut io,
            stream.get_mut().socket(),
            CLOSE_GRACE,
        ))
        .await;
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
    let (mut ws, mut io, compressor) = conn.split(None).await;
    let probed = tokio::time::timeout(UPGRADE_TIMEOUT, async {
        match ws.next().await {
            Some(Ok(WsMessage::Text(t))) if t.as_str() == "2probe" => {}
            _ => return false,
        }
        let mut probe = Vec::new();
        ws_frame::push_frame(&mut probe, ws_frame::OPCODE_TEXT, b"3probe");
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
    let writer = Writer::spawn(io, rx, outbox.clone(), compressor);
    tokio::select! {
        () = forward_frames(&mut ws, inbound, outbox.clone()) => {}
        () = outbox.writer_done() => {}
    }
    ws_io::finish(writer, outbox.reason(), &mut ws).await;
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
