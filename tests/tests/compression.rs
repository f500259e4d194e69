//! permessage-deflate (RFC 7692): negotiated with the real npm `ws` and socket.io-client
//! (tests/node/compression.mjs) and with Chromium (tests/node/browser_compression.mjs), and
//! refused frames seen on a raw socket: a zip bomb closes with 1009 after inflating no more
//! than the limit, data that does not inflate with 1007. Off by default, nothing is offered.

use std::net::SocketAddr;

use flate2::{Compress, Compression, FlushCompress};
use gateway_core::{
    gateway, GatewayApp, GatewayAppBuilder, MessageBody, PerMessageDeflate, Socket,
};
use gateway_tests::{
    chromium_executable, run_node, run_node_within, serve, upgrade_request, BROWSER_PATIENCE,
    PATIENCE,
};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends back what it gets: `echo` compressed past the threshold, `plain` never compressed.
#[derive(Debug, Clone, Copy, Default)]
struct EchoGateway;

#[gateway(namespace = "/echo")]
impl EchoGateway {
    #[subscribe_message("echo")]
    async fn echo(&self, MessageBody(data): MessageBody<Value>, client: Socket) {
        client.emit("echo", &data).ok();
    }

    #[subscribe_message("plain")]
    async fn plain(&self, MessageBody(data): MessageBody<Value>, client: Socket) {
        client.compress(false).emit("plain", &data).ok();
    }
}

fn app(deflate: Option<PerMessageDeflate>) -> GatewayAppBuilder {
    let builder = GatewayApp::builder().gateway(EchoGateway);
    match deflate {
        Some(deflate) => builder.with_per_message_deflate(deflate),
        None => builder,
    }
}

#[tokio::test]
async fn ws_negotiates_compresses_both_ways_and_honours_the_threshold_and_compress_false() {
    let server = serve(app(Some(PerMessageDeflate::new()))).await;
    let base = format!("ws://{}", server.local_addr());
    let out = run_node("compression.mjs", &["json", &base]).await;
    assert!(out.contains("compression json passed"), "{out}");
    server.shutdown().await;
}

#[tokio::test]
async fn socketio_client_negotiates_and_compresses_over_websocket() {
    let server = serve(app(Some(PerMessageDeflate::new()))).await;
    let base = format!("http://{}", server.local_addr());
    let out = run_node("compression.mjs", &["socketio", &base]).await;
    assert!(out.contains("compression socketio passed"), "{out}");
    server.shutdown().await;
}

#[tokio::test]
async fn chromium_negotiates_and_a_large_message_round_trips() {
    let server = serve(app(Some(PerMessageDeflate::new()))).await;
    let base = format!("http://{}", server.local_addr());
    let out = run_node_within(
        "browser_compression.mjs",
        &[&base, &chromium_executable()],
        BROWSER_PATIENCE,
    )
    .await;
    assert!(out.contains("browser compression passed"), "{out}");
    server.shutdown().await;
}

/// Opens a WebSocket to `/echo` on a raw socket, offering `extensions`; returns the socket and
/// the `101`'s head.
async fn raw_upgrade(addr: SocketAddr, extensions: &str) -> (TcpStream, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let header = format!("Sec-WebSocket-Extensions: {extensions}\r\n");
    stream
        .write_all(upgrade_request("/echo", &header).as_bytes())
        .await
        .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut byte))
            .await
            .expect("the 101 arrives")
            .unwrap();
        assert_eq!(n, 1, "closed during the handshake");
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    (stream, head.to_ascii_lowercase())
}

/// A masked client frame: `first` holds FIN, RSV1 and the opcode.
fn client_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x5a, 0x17, 0xc3, 0x08];
    let mut out = vec![first];
    match payload.len() {
        len if len < 126 => out.push(0x80 | len as u8),
        len if len <= 0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

/// `data` compressed as a client compresses a message.
fn deflated(data: &[u8]) -> Vec<u8> {
    let mut compressor = Compress::new(Compression::best(), false);
    let mut out = Vec::with_capacity(data.len() / 100 + 1024);
    compressor
        .compress_vec(data, &mut out, FlushCompress::Sync)
        .unwrap();
    out.truncate(out.len() - 4); // the 0x00 0x00 0xff 0xff the RFC removes
    out
}

/// Reads frames until a close frame; returns its code. Fails the test if the server does not
/// close within [`PATIENCE`].
async fn close_code(stream: &mut TcpStream) -> u16 {
    let mut got = Vec::new();
    tokio::time::timeout(PATIENCE, async {
        loop {
            // Frames from the server are unmasked: a 2-byte header for these.
            if got.len() >= 2 && got[0] & 0x0f == 0x8 && got.len() >= 4 {
                return u16::from_be_bytes([got[2], got[3]]);
            }
            let mut buf = [0u8; 1024];
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed without a close frame: {got:?}");
            got.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("the server closes")
}

#[tokio::test]
async fn a_zip_bomb_is_refused_with_1009_and_the_server_stays_up() {
    let limit = 100_000;
    let server = serve(app(Some(PerMessageDeflate::new())).with_max_message_size(limit)).await;
    let (mut stream, head) = raw_upgrade(server.local_addr(), "permessage-deflate").await;
    assert!(
        head.contains("sec-websocket-extensions: permessage-deflate\r\n"),
        "{head}"
    );
    // 16 MiB of spaces inside a JSON string: about 16 KiB compressed, sent as a first fragment
    // and continuations.
    let mut bomb = b"{\"event\":\"echo\",\"data\":\"".to_vec();
    bomb.resize(16 << 20, b' ');
    let compressed = deflated(&bomb);
    drop(bomb);
    let (first, rest) = compressed.split_at(compressed.len() / 2);
    let (middle, last) = rest.split_at(rest.len() / 2);
    let mut frames = client_frame(0x40 | 0x1, first);
    frames.extend(client_frame(0x0, middle));
    frames.extend(client_frame(0x80, last));
    // The server may stop reading once it has refused: what is left may not all be written.
    let _ = stream.write_all(&frames).await;
    assert_eq!(close_code(&mut stream).await, 1009);
    assert_others_echo(server.local_addr()).await;
    server.shutdown().await;
}

#[tokio::test]
async fn data_that_does_not_inflate_is_refused_with_1007() {
    let server = serve(app(Some(PerMessageDeflate::new()))).await;
    let (mut stream, _) = raw_upgrade(server.local_addr(), "permessage-deflate").await;
    // 0xff opens a block of the reserved type 3.
    stream
        .write_all(&client_frame(0x80 | 0x40 | 0x1, &[0xff, 0xff, 0xff, 0xff]))
        .await
        .unwrap();
    assert_eq!(close_code(&mut stream).await, 1007);
    server.shutdown().await;
}

#[tokio::test]
async fn a_compressed_message_from_a_raw_client_is_answered() {
    let server = serve(app(Some(
        PerMessageDeflate::new().with_client_no_context_takeover(true),
    )))
    .await;
    let (mut stream, head) = raw_upgrade(
        server.local_addr(),
        "permessage-deflate; client_max_window_bits",
    )
    .await;
    assert!(
        head.contains(
            "sec-websocket-extensions: permessage-deflate; client_no_context_takeover\r\n"
        ),
        "{head}"
    );
    let message = br#"{"event":"echo","data":"hi"}"#;
    stream
        .write_all(&client_frame(0x80 | 0x40 | 0x1, &deflated(message)))
        .await
        .unwrap();
    // Under the threshold: the answer comes as it is.
    let expected = br#"{"event":"echo","data":"hi"}"#;
    let mut got = vec![0u8; 2 + expected.len()];
    tokio::time::timeout(PATIENCE, stream.read_exact(&mut got))
        .await
        .expect("the echo arrives")
        .unwrap();
    assert_eq!(got[0], 0x81, "a final text frame, RSV1 clear");
    assert_eq!(&got[2..], expected);
    server.shutdown().await;
}

#[tokio::test]
async fn off_by_default_and_declined_when_the_offer_cannot_be_honoured() {
    let server = serve(app(None)).await;
    let (_stream, head) = raw_upgrade(server.local_addr(), "permessage-deflate").await;
    assert!(!head.contains("sec-websocket-extensions"), "{head}");
    server.shutdown().await;

    let server = serve(app(Some(PerMessageDeflate::new()))).await;
    let (_stream, head) = raw_upgrade(
        server.local_addr(),
        "permessage-deflate; server_max_window_bits=10",
    )
    .await;
    assert!(!head.contains("sec-websocket-extensions"), "{head}");
    server.shutdown().await;
}

/// Another client is served: an echo comes back.
async fn assert_others_echo(addr: SocketAddr) {
    let mut client = gateway_core::test::TestClient::connect(&format!("ws://{addr}/echo")).await;
    client.emit("echo", "still here").await;
    assert_eq!(
        client.recv_event("echo").await,
        serde_json::json!("still here")
    );
}
