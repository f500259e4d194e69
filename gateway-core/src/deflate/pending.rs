//! [`Pending`]: the frame the inflating reader hands tungstenite next, a header and a payload
//! served as tungstenite reads them.

use tokio::io::ReadBuf;

use crate::protocol::ws_frame;

/// The mask bit of a frame header's second byte.
pub(crate) const MASKED: u8 = 0x80;

/// A header and a payload waiting to be read by tungstenite.
#[derive(Default)]
pub(crate) struct Pending {
    header: Vec<u8>,
    header_at: usize,
    /// An inflated fragment; its buffer is reused within a message and released after it.
    payload: Vec<u8>,
    payload_at: usize,
}

impl Pending {
    pub(crate) fn is_empty(&self) -> bool {
        self.header_at >= self.header.len() && self.payload_at >= self.payload.len()
    }

    /// Copies what `out` takes.
    pub(crate) fn serve(&mut self, out: &mut ReadBuf<'_>) {
        let header = self.header.get(self.header_at..).unwrap_or_default();
        let n = header.len().min(out.remaining());
        out.put_slice(&header[..n]);
        self.header_at += n;
        let payload = self.payload.get(self.payload_at..).unwrap_or_default();
        let n = payload.len().min(out.remaining());
        out.put_slice(&payload[..n]);
        self.payload_at += n;
    }

    /// The payload buffer, emptied, to inflate the next fragment into (its header is set once
    /// it is known to hold something).
    pub(crate) fn refill(&mut self) -> &mut Vec<u8> {
        self.payload.clear();
        self.payload_at = 0;
        &mut self.payload
    }

    /// Serves `header` as it is, with no payload of its own (an uncompressed frame's: its
    /// payload is passed through from the socket).
    pub(crate) fn set_header(&mut self, header: &[u8]) {
        self.header.clear();
        self.header.extend_from_slice(header);
        self.header_at = 0;
        self.refill();
    }

    /// Lets go of the payload buffer (a message is over).
    pub(crate) fn release_payload(&mut self) {
        self.payload = Vec::new();
        self.payload_at = 0;
    }

    /// A fragment for tungstenite: masked with a zero key, so the payload stays as it is.
    pub(crate) fn set_fragment(&mut self, fin: bool, opcode: u8, payload_len: usize) {
        self.header.clear();
        let first = if fin { 0x80 } else { 0 } | opcode;
        ws_frame::push_header_with(&mut self.header, first, payload_len);
        self.header[1] |= MASKED;
        self.header.extend_from_slice(&[0; 4]);
        self.header_at = 0;
        self.payload_at = 0;
    }
}
