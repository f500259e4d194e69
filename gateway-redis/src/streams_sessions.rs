//! [`StreamsSessions`]: connection state recovery across instances, as
//! `@socket.io/redis-streams-adapter` 0.3 keeps it. The offset of an event is its stream
//! entry's id; a dropped socket's session is kept in `sio:session:<pid>` (base64 msgpack of
//! `{sid, pid, rooms, data}`, expiring with the recovery window); restoring takes the session
//! and replays the stream's broadcasts after the client's offset that reached its rooms.

use std::sync::Arc;

use base64::Engine;
use futures_util::future::BoxFuture;
use gateway_core::{
    BroadcastMessage, MissedEvent, PersistedSession, RestoredSession, Room, SessionStore,
};
use rmpv::Value as Pack;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio_util::task::TaskTracker;

use crate::cluster_wire::{self, message_type, Outgoing};
use crate::status::AdapterStatus;
use crate::streams_connection::{Entry, EntryQueue, StreamsConnection};
use crate::streams_transport::Streams;
use crate::streams_wire;
use crate::wire::{self, Flags};

/// At most this many `XRANGE` reads when restoring a session (the JS adapter's bound), of at
/// most [`RANGE_COUNT`] entries each: what a session replays is bounded whatever the offset.
const MAX_RANGE_READS: usize = 100;
const RANGE_COUNT: usize = 100;

pub(crate) struct StreamsSessions {
    pub(crate) connection: Arc<StreamsConnection>,
    pub(crate) entries: EntryQueue,
    pub(crate) streams: Streams,
    pub(crate) uid: String,
    /// `sessionKeyPrefix` (default `sio:session:`).
    pub(crate) key_prefix: String,
    /// While Redis is away, emits do not wait for an offset that will not come.
    pub(crate) status: AdapterStatus,
    pub(crate) tasks: TaskTracker,
}

impl SessionStore for StreamsSessions {
    fn publish_recorded(
        &self,
        namespace: &str,
        message: &BroadcastMessage<'_>,
    ) -> BoxFuture<'static, Option<String>> {
        let outgoing = Outgoing::Broadcast {
            message,
            request_id: None,
            flags: Flags::default(),
        };
        let fields = match streams_wire::entry_fields(&self.uid, namespace, &outgoing) {
            Ok(fields) => fields,
            Err(err) => {
                tracing::warn!(%err, "broadcast not added to the stream");
                return Box::pin(async { None });
            }
        };
        let stream = self.streams.of(namespace);
        if !self.status.is_connected() {
            // Tried anyway, but the local clients get it now, without an offset.
            self.entries.push(Entry {
                stream,
                fields,
                added: None,
            });
            return Box::pin(async { None });
        }
        let (added, offset) = oneshot::channel();
        let entry = Entry {
            stream,
            fields,
            added: Some(added),
        };
        if !self.entries.push(entry) {
            return Box::pin(async { None });
        }
        Box::pin(async move { offset.await.ok().flatten() })
    }

    fn persist(&self, _namespace: &str, session: PersistedSession) {
        let rooms = session
            .rooms
            .iter()
            .map(|r| Pack::from(r.as_str()))
            .collect();
        let value = Pack::Map(vec![
            ("sid".into(), session.sid.as_str().into()),
            ("pid".into(), session.pid.as_str().into()),
            ("rooms".into(), Pack::Array(rooms)),
            ("data".into(), wire::json_to_pack(&session.data, &[])),
        ]);
        let value = base64::engine::general_purpose::STANDARD.encode(wire::to_msgpack(&value));
        let ms = u64::try_from(session.keep_for.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let mut cmd = redis::cmd("SET");
        cmd.arg(format!("{}{}", self.key_prefix, session.pid))
            .arg(value)
            .arg("PX")
            .arg(ms);
        let connection = self.connection.clone();
        self.tasks.spawn(async move {
            if let Err(err) = connection.query::<()>(&cmd).await {
                tracing::warn!(%err, "session not kept for recovery");
            }
        });
    }

    fn restore(
        &self,
        namespace: &str,
        pid: &str,
        offset: &str,
    ) -> BoxFuture<'static, Option<RestoredSession>> {
        let connection = self.connection.clone();
        let stream = self.streams.of(namespace);
        let key = format!("{}{pid}", self.key_prefix);
        let (namespace, offset) = (namespace.to_owned(), offset.to_owned());
        Box::pin(async move {
            let restored = restore(&connection, &stream, &key, &namespace, &offset).await;
            if let Err(err) = &restored {
                tracing::debug!(%err, "session not recovered");
            }
            restored.ok()
        })
    }
}

async fn restore(
    connection: &StreamsConnection,
    stream: &str,
    key: &str,
    namespace: &str,
    offset: &str,
) -> Result<RestoredSession, String> {
    let mut next = next_offset(offset).ok_or("invalid offset")?;
    // Taken once: GET and DEL in one transaction, as the JS adapter does.
    let mut take = redis::pipe();
    take.atomic().get(key).del(key).ignore();
    let (session,): (Option<String>,) = connection
        .pipeline(&take)
        .await
        .map_err(|e| e.to_string())?;
    let kept = connection
        .range(stream, offset, offset, 1)
        .await
        .map_err(|e| e.to_string())?;
    let (Some(session), false) = (session, kept.ids.is_empty()) else {
        return Err("session or offset not found".into());
    };
    let packed = base64::engine::general_purpose::STANDARD
        .decode(session)
        .map_err(|e| e.to_string())?;
    let session = wire::decode_body(&packed, None).map_err(|e| e.to_string())?;
    let sid = session["sid"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or("session without a sid")?;
    let rooms = wire::rooms_of(session.get("rooms"));
    let mut missed = Vec::new();
    for _ in 0..MAX_RANGE_READS {
        let entries = connection
            .range(stream, &next, "+", RANGE_COUNT)
            .await
            .map_err(|e| e.to_string())?;
        let Some(last) = entries.ids.last() else {
            break;
        };
        next = next_offset(&last.id).ok_or("invalid entry id")?;
        for entry in &entries.ids {
            if let Some(event) = missed_event(entry, namespace, &rooms) {
                missed.push(event);
            }
        }
    }
    Ok(RestoredSession {
        sid,
        rooms,
        data: session
            .get("data")
            .cloned()
            .unwrap_or_else(|| Value::Object(Default::default())),
        missed,
    })
}

/// The event of a stream entry, with its id as the last argument, if it is a broadcast of
/// `namespace` that reached `rooms`.
fn missed_event(
    entry: &redis::streams::StreamId,
    namespace: &str,
    rooms: &[Room],
) -> Option<MissedEvent> {
    let message = streams_wire::decode_entry(&entry.map).ok()?;
    if message.kind != message_type::BROADCAST || message.namespace != namespace {
        return None;
    }
    let recipients = wire::recipients_of(message.data.get("opts").unwrap_or(&Value::Null));
    let reached = (recipients.rooms.is_empty()
        || recipients.rooms.iter().any(|r| rooms.contains(r)))
        && !recipients.except.iter().any(|r| rooms.contains(r));
    if !reached {
        return None;
    }
    let packet = message.data.get("packet")?;
    let (event, payload) = cluster_wire::event_of(packet, message.attachments).ok()?;
    Some(MissedEvent {
        event,
        payload: payload.with_arg(Value::from(entry.id.as_str())),
    })
}

/// The first id after `id` (`<ms>-<seq + 1>`), if `id` is a stream id.
fn next_offset(id: &str) -> Option<String> {
    let (ms, seq) = id.split_once('-')?;
    let ms: u64 = ms.parse().ok()?;
    let seq: u64 = seq.parse().ok()?;
    Some(format!("{ms}-{}", seq.checked_add(1)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_stream_ids() {
        assert_eq!(
            next_offset("1796646021971-1").as_deref(),
            Some("1796646021971-2")
        );
        for invalid in ["", "1", "x-1", "1-x", "-1-2", "1-18446744073709551615"] {
            assert_eq!(next_offset(invalid), None, "{invalid}");
        }
    }
}
