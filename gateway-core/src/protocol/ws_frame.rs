//! Server-to-client WebSocket frames, encoded by hand: a server's frames are unmasked, so one
//! is a 2 to 10 byte header in front of the payload (RFC 6455 §5.2).

use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Utf8Bytes;

pub(crate) const OPCODE_TEXT: u8 = 0x1;
pub(crate) const OPCODE_BINARY: u8 = 0x2;
pub(crate) const OPCODE_CLOSE: u8 = 0x8;

/// RSV1 on a message's first frame: its payload is compressed (permessage-deflate, RFC 7692).
pub(crate) const RSV1_COMPRESSED: u8 = 0x40;

/// The first byte of a final (unfragmented) frame's header.
pub(crate) const fn first_byte(opcode: u8) -> u8 {
    0x80 | opcode
}

/// Appends a final (unfragmented, unmasked) frame header for a payload of `len` bytes.
pub(crate) fn push_header(out: &mut Vec<u8>, opcode: u8, len: usize) {
    push_header_with(out, first_byte(opcode), len);
}

/// Appends an unmasked frame header starting with `first_byte` (FIN, RSV1, opcode) for a
/// payload of `len` bytes.
pub(crate) fn push_header_with(out: &mut Vec<u8>, first_byte: u8, len: usize) {
    out.push(first_byte);
    if len < 126 {
        out.push(len as u8);
    } else if let Ok(len) = u16::try_from(len) {
        out.push(126);
        out.extend_from_slice(&len.to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
}

/// Appends a whole frame.
pub(crate) fn push_frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8]) {
    push_header(out, opcode, payload.len());
    out.extend_from_slice(payload);
}

/// A close frame without a status code (engine.io's `ws.close()`): see [`push_close`].
pub(crate) const CLOSE_WITHOUT_STATUS: CloseFrame = CloseFrame {
    code: CloseCode::Status,
    reason: Utf8Bytes::from_static(""),
};

/// Appends a close frame: the code, then the reason (cut to fit a control frame's 125 bytes).
/// Code 1005 ("no status", which RFC 6455 forbids on the wire) makes an empty close frame.
pub(crate) fn push_close(out: &mut Vec<u8>, frame: &CloseFrame) {
    if frame.code == CloseCode::Status {
        push_header(out, OPCODE_CLOSE, 0);
        return;
    }
    let reason = frame.reason.as_str();
    let mut cut = reason.len().min(123);
    while !reason.is_char_boundary(cut) {
        cut -= 1;
    }
    push_header(out, OPCODE_CLOSE, 2 + cut);
    out.extend_from_slice(&u16::from(frame.code).to_be_bytes());
    out.extend_from_slice(&reason.as_bytes()[..cut]);
}

/// Whether `frames` (ready-made, from tungstenite) start with a close frame.
pub(crate) fn is_close(frames: &[u8]) -> bool {
    frames.first().is_some_and(|b| b & 0x0f == OPCODE_CLOSE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_for_each_length_class() {
        let mut out = Vec::new();
        push_frame(&mut out, OPCODE_TEXT, b"hi");
        assert_eq!(out, [0x81, 2, b'h', b'i']);
        out.clear();
        push_header(&mut out, OPCODE_BINARY, 300);
        assert_eq!(out, [0x82, 126, 1, 44]);
        out.clear();
        push_header(&mut out, OPCODE_TEXT, 70_000);
        assert_eq!(out, [0x81, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
    }

    #[test]
    fn close_frames_carry_code_and_a_cut_reason() {
        let mut out = Vec::new();
        let frame = CloseFrame {
            code: CloseCode::Away,
            reason: "é".repeat(100).into(),
        };
        push_close(&mut out, &frame);
        assert_eq!(out[0], 0x88);
        let len = usize::from(out[1]);
        assert!(len <= 125);
        assert_eq!(&out[2..4], &1001u16.to_be_bytes());
        assert!(std::str::from_utf8(&out[4..]).is_ok());
        assert!(is_close(&out));
    }
}
