//! The server's side of permessage-deflate: one message in, its compressed payload out
//! (RFC 7692 §7.2.1), for the writer task to frame with RSV1 set.

use std::cell::RefCell;

use flate2::{Compress, Compression, FlushCompress};

use super::offer::Agreement;

/// The end of a sync flush (an empty stored block), which RFC 7692 has the sender remove.
const SYNC_FLUSH_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Compresses one connection's messages as agreed in its upgrade.
pub(crate) struct MessageCompressor {
    threshold: usize,
    level: Compression,
    /// The connection's own compression context, kept from message to message; created on the
    /// first compressed message, so a connection that never sends one does not pay for it.
    /// Never created without context takeover: the thread's compressor serves then.
    context: Option<Compress>,
    takeover: bool,
}

thread_local! {
    /// The compressor of the connections that start each message from an empty context, and
    /// its level: reset before each message, and shared by all of them on this thread (it holds
    /// nothing between messages).
    static FRESH: RefCell<Option<(Compression, Compress)>> = const { RefCell::new(None) };
}

impl MessageCompressor {
    pub(crate) fn new(agreement: &Agreement) -> Self {
        Self {
            threshold: agreement.threshold,
            level: Compression::new(agreement.level),
            context: None,
            takeover: !agreement.server_no_context_takeover,
        }
    }

    /// `payload` compressed, when it is long enough to be worth it.
    pub(crate) fn compress(&mut self, payload: &[u8]) -> Option<Vec<u8>> {
        if payload.len() < self.threshold {
            return None;
        }
        let level = self.level;
        if self.takeover {
            let context = self
                .context
                .get_or_insert_with(|| Compress::new(level, false));
            return compress_message(context, payload);
        }
        FRESH.with_borrow_mut(|shared| {
            // Another app on this thread may compress at another level.
            if shared.as_ref().is_none_or(|(made_at, _)| *made_at != level) {
                *shared = Some((level, Compress::new(level, false)));
            }
            let (_, compressor) = shared.as_mut()?;
            compressor.reset();
            compress_message(compressor, payload)
        })
    }
}

/// `payload` through `compressor` (raw deflate, no zlib header), flushed to a byte boundary, the flush's empty block removed.
/// `None` if the compressor fails (the message is then sent uncompressed; its context may be
/// lost, so it is reset).
fn compress_message(compressor: &mut Compress, payload: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(payload.len() / 2 + 64);
    let start = compressor.total_in();
    let consumed = |compressor: &Compress| usize::try_from(compressor.total_in() - start).ok();
    loop {
        let input = payload.get(consumed(compressor)?..).unwrap_or_default();
        if out.len() == out.capacity() {
            out.reserve(out.capacity().max(64));
        }
        if compressor
            .compress_vec(input, &mut out, FlushCompress::Sync)
            .is_err()
        {
            compressor.reset();
            return None;
        }
        // Done once all input is in and the flush left room: nothing more is held back.
        if consumed(compressor)? == payload.len() && out.len() < out.capacity() {
            break;
        }
    }
    if out.ends_with(&SYNC_FLUSH_TAIL) {
        out.truncate(out.len() - SYNC_FLUSH_TAIL.len());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use flate2::{Decompress, FlushDecompress};

    use super::*;

    fn agreement(threshold: usize, server_no_context_takeover: bool) -> Agreement {
        let config = super::super::PerMessageDeflate::new()
            .with_threshold(threshold)
            .with_server_no_context_takeover(server_no_context_takeover);
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::SEC_WEBSOCKET_EXTENSIONS,
            http::HeaderValue::from_static("permessage-deflate"),
        );
        super::super::offer::negotiate(&headers, &config).unwrap()
    }

    /// Inflates `message` as a client does: the tail put back, one context for the connection.
    fn inflate(inflater: &mut Decompress, message: &[u8]) -> Vec<u8> {
        let mut input = message.to_vec();
        input.extend_from_slice(&SYNC_FLUSH_TAIL);
        let mut out = Vec::with_capacity(1 << 20);
        inflater
            .decompress_vec(&input, &mut out, FlushDecompress::Sync)
            .unwrap();
        out
    }

    #[test]
    fn messages_round_trip_with_and_without_context_takeover() {
        let text = "{\"event\":\"chat\",\"data\":\"hello hello hello\"}".repeat(100);
        for no_takeover in [false, true] {
            let mut compressor = MessageCompressor::new(&agreement(1024, no_takeover));
            let mut client = Decompress::new(false);
            let first = compressor.compress(text.as_bytes()).unwrap();
            assert!(first.len() < text.len() / 10);
            assert!(!first.ends_with(&SYNC_FLUSH_TAIL));
            assert_eq!(inflate(&mut client, &first), text.as_bytes());
            let second = compressor.compress(text.as_bytes()).unwrap();
            if no_takeover {
                assert_eq!(second, first, "each message starts afresh");
            } else {
                assert!(second.len() < first.len(), "the context is kept");
            }
            assert_eq!(inflate(&mut client, &second), text.as_bytes());
        }
    }

    #[test]
    fn short_messages_are_left_alone_and_long_ones_need_several_passes() {
        let mut compressor = MessageCompressor::new(&agreement(1024, false));
        assert!(compressor.compress(&[b'a'; 1023]).is_none());
        assert!(compressor.context.is_none(), "nothing allocated yet");
        // Incompressible, so the output outgrows its first guess.
        let noise: Vec<u8> = (0..200_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let compressed = compressor.compress(&noise).unwrap();
        assert_eq!(inflate(&mut Decompress::new(false), &compressed), noise);
    }
}
