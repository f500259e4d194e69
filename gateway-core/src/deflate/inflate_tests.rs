use flate2::{Compress, Compression, FlushCompress};
use tokio::io::AsyncReadExt;

use super::*;

fn agreement(client_no_context_takeover: bool) -> Agreement {
    let config = super::super::PerMessageDeflate::new()
        .with_client_no_context_takeover(client_no_context_takeover);
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::SEC_WEBSOCKET_EXTENSIONS,
        http::HeaderValue::from_static("permessage-deflate"),
    );
    super::super::offer::negotiate(&headers, &config).unwrap()
}

/// A client frame: masked with `mask`, `first` holding FIN, RSV1 and the opcode.
fn client_frame(first: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut out = Vec::new();
    crate::protocol::ws_frame::push_header_with(&mut out, first, payload.len());
    out[1] |= crate::deflate::pending::MASKED;
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

/// `data` compressed as a client compresses a message, with the sync-flush tail removed.
fn compress(compressor: &mut Compress, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 1024);
    compressor
        .compress_vec(data, &mut out, FlushCompress::Sync)
        .unwrap();
    assert!(out.ends_with(&SYNC_FLUSH_TAIL));
    out.truncate(out.len() - 4);
    out
}

/// Plain frames as tungstenite would read them: (fin, opcode, unmasked payload).
fn frames_of(mut stream: &[u8]) -> Vec<(bool, u8, Vec<u8>)> {
    let mut frames = Vec::new();
    while !stream.is_empty() {
        let header = &stream[..header_len(&stream[..2])];
        assert_eq!(header[0] & 0x70, 0, "no reserved bits reach tungstenite");
        let len = payload_len(header) as usize;
        let mask = &header[header.len() - 4..];
        let payload: Vec<u8> = stream[header.len()..header.len() + len]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ mask[i % 4])
            .collect();
        frames.push((header[0] & FIN != 0, header[0] & 0x0f, payload));
        stream = &stream[header.len() + len..];
    }
    frames
}

/// Messages (opcode, whole payload) out of plain frames; control frames as they come.
fn messages_of(frames: Vec<(bool, u8, Vec<u8>)>) -> Vec<(u8, Vec<u8>)> {
    let mut messages = Vec::new();
    let mut current: Option<(u8, Vec<u8>)> = None;
    for (fin, opcode, payload) in frames {
        if opcode >= 0x8 {
            messages.push((opcode, payload));
            continue;
        }
        let (kind, mut data) = match (opcode, current.take()) {
            (OPCODE_CONTINUATION, Some(partial)) => partial,
            (opcode, None) if opcode != OPCODE_CONTINUATION => (opcode, Vec::new()),
            other => panic!("bad fragment sequence: {other:?}"),
        };
        data.extend_from_slice(&payload);
        if fin {
            messages.push((kind, data));
        } else {
            current = Some((kind, data));
        }
    }
    assert!(current.is_none());
    messages
}

async fn read_all(input: &[u8], agreement: &Agreement, max: usize) -> (Vec<u8>, io::Result<()>) {
    let mut reader = InflatingReader::new(input, agreement, max);
    let mut got = Vec::new();
    loop {
        // tungstenite's reads are small.
        let mut buf = [0u8; 256];
        match reader.read(&mut buf).await {
            Ok(0) => return (got, Ok(())),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(err) => return (got, Err(err)),
        }
    }
}

#[tokio::test]
async fn compressed_messages_fragmented_or_not_arrive_whole_between_plain_frames() {
    let mask = [0x12, 0x34, 0x56, 0x78];
    for no_takeover in [false, true] {
        let mut client = Compress::new(Compression::default(), false);
        let big = "{\"event\":\"echo\",\"data\":\"abcabcabc\"}".repeat(2000);
        let mut stream = Vec::new();
        // A single compressed text frame.
        stream.extend(client_frame(
            FIN | RSV1 | OPCODE_TEXT,
            &compress(&mut client, big.as_bytes()),
            mask,
        ));
        if no_takeover {
            client.reset();
        }
        // A ping, an uncompressed binary frame.
        stream.extend(client_frame(FIN | 0x9, b"ping", mask));
        stream.extend(client_frame(FIN | OPCODE_BINARY, b"plain", mask));
        stream.extend(client_frame(FIN | OPCODE_TEXT, &[b'p'; 40_000], mask));
        // A compressed binary message in three fragments, a ping between them.
        let second = compress(&mut client, &[7u8; 50_000]);
        let (a, rest) = second.split_at(second.len() / 3);
        let (b, c) = rest.split_at(rest.len() / 2);
        stream.extend(client_frame(RSV1 | OPCODE_BINARY, a, mask));
        stream.extend(client_frame(0x9 | FIN, b"", mask));
        stream.extend(client_frame(OPCODE_CONTINUATION, b, mask));
        stream.extend(client_frame(FIN | OPCODE_CONTINUATION, c, mask));
        let (out, result) = read_all(&stream, &agreement(no_takeover), 1 << 20).await;
        result.unwrap();
        let frames = frames_of(&out);
        assert!(frames
            .iter()
            .filter(|(_, opcode, _)| *opcode == OPCODE_CONTINUATION)
            .all(|(_, _, p)| p.len() <= FRAGMENT));
        let messages = messages_of(frames);
        assert_eq!(
            messages,
            vec![
                (OPCODE_TEXT, big.clone().into_bytes()),
                (0x9, b"ping".to_vec()),
                (OPCODE_BINARY, b"plain".to_vec()),
                (OPCODE_TEXT, vec![b'p'; 40_000]),
                (0x9, Vec::new()),
                (OPCODE_BINARY, vec![7u8; 50_000]),
            ]
        );
    }
}

#[tokio::test]
async fn a_zip_bomb_is_refused_just_past_the_limit() {
    let max = 100_000;
    let mut client = Compress::new(Compression::best(), false);
    // 64 MiB of zeros: about 64 KiB compressed.
    let bomb = compress(&mut client, &vec![0u8; 64 << 20]);
    assert!(bomb.len() < max);
    let stream = client_frame(FIN | RSV1 | OPCODE_TEXT, &bomb, [1, 2, 3, 4]);
    let mut reader = InflatingReader::new(&stream[..], &agreement(false), max);
    let mut handed_on = 0;
    let err = loop {
        let mut buf = [0u8; 256];
        match reader.read(&mut buf).await {
            Ok(0) => panic!("the bomb went through"),
            Ok(n) => handed_on += n,
            Err(err) => break err,
        }
    };
    assert_eq!(Refused::of(&err), Some(Refused::TooBig));
    assert!(handed_on <= max + 1024, "{handed_on} bytes handed on");
    assert!(reader.inflater.is_none(), "the inflater is dropped");
    // Refused for good.
    assert!(reader.read(&mut [0u8; 16]).await.is_err());
}

#[tokio::test]
async fn an_oversized_compressed_frame_is_refused_before_it_is_read() {
    let mut header = vec![FIN | RSV1 | OPCODE_TEXT, 0x80 | 127];
    header.extend_from_slice(&(u64::MAX).to_be_bytes());
    header.extend_from_slice(&[0; 4]);
    let (out, result) = read_all(&header, &agreement(false), 1000).await;
    assert_eq!(Refused::of(&result.unwrap_err()), Some(Refused::TooBig));
    assert_eq!(frames_of(&out).len(), 0);
}

/// Found by the `deflate_stream` fuzz target: a fragment's input that inflated to nothing
/// after an earlier fragment had been handed on left the hand-over cursor past the end of
/// the emptied buffer (a panic on the next read).
#[tokio::test]
async fn input_that_inflates_to_nothing_after_a_fragment_is_handed_on() {
    let mut client = Compress::new(Compression::default(), false);
    let mut payload = compress(&mut client, &[b'x'; 3000]);
    payload.extend_from_slice(&SYNC_FLUSH_TAIL);
    // Empty stored blocks, input that inflates to nothing: more than a whole 8 KiB read of
    // them after the first. The last one's end is the tail the receiver puts back.
    let nothing = [0x00, 0x00, 0x00, 0xff, 0xff];
    payload.extend(nothing.iter().cycle().take(5 * 4000));
    payload.truncate(payload.len() - SYNC_FLUSH_TAIL.len());
    let stream = client_frame(FIN | RSV1 | OPCODE_TEXT, &payload, [7, 7, 7, 7]);
    let (out, result) = read_all(&stream, &agreement(false), 1 << 20).await;
    result.unwrap();
    assert_eq!(
        messages_of(frames_of(&out)),
        vec![(OPCODE_TEXT, vec![b'x'; 3000])]
    );
}

#[tokio::test]
async fn garbage_is_refused_as_corrupt() {
    // 0xff starts a block of the reserved type 3.
    let stream = client_frame(FIN | RSV1 | OPCODE_TEXT, &[0xff, 0xff, 0xff], [9, 9, 9, 9]);
    let (_, result) = read_all(&stream, &agreement(false), 1000).await;
    assert_eq!(Refused::of(&result.unwrap_err()), Some(Refused::Corrupt));
}

#[tokio::test]
async fn misuse_of_rsv1_is_left_for_tungstenite_to_refuse() {
    // RSV1 on a control frame, and on a continuation: passed on untouched.
    for first in [FIN | RSV1 | 0x9, FIN | RSV1 | OPCODE_CONTINUATION] {
        let stream = client_frame(first, b"x", [0; 4]);
        let (out, result) = read_all(&stream, &agreement(false), 1000).await;
        result.unwrap();
        assert_eq!(out, stream);
    }
}

#[tokio::test]
async fn a_client_that_leaves_mid_message_ends_the_stream() {
    let mut client = Compress::new(Compression::default(), false);
    let payload = compress(&mut client, &[5u8; 10_000]);
    let stream = client_frame(FIN | RSV1 | OPCODE_BINARY, &payload, [3; 4]);
    for cut in [1, 3, 8, stream.len() / 2, stream.len() - 1] {
        let (_, result) = read_all(&stream[..cut], &agreement(false), 1 << 20).await;
        result.unwrap();
    }
}
