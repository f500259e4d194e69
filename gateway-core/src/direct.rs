//! One connection accepted by [`listen`](crate::GatewayApp::listen).
//!
//! The request head is read and parsed here. A WebSocket upgrade that the gateways accept is
//! answered (`101`) and served in this same task, on the TCP stream itself, as a bare
//! tokio-tungstenite server does: no HTTP connection state, no hand-over of the stream to
//! another task. Everything else goes to hyper with the bytes already read put back in front
//! ([`Rewind`]), and is answered exactly as before: long-polling, the user's routes, an upgrade
//! the gateways refused (hyper writes the refusal they decided on), and any head this parser
//! leaves alone (a body, HTTP/1.0, too many or malformed headers, over the size bound).

use std::cell::RefCell;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri, Version};
use http_body_util::{Empty, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower_service::Service as _;

use crate::accept::Answered;
use crate::rewind::Rewind;
use crate::runtime::AppConfig;
use crate::service::GatewayService;
use crate::upgrade::{Serving, Upgrade};

/// Headers parsed in place; a head with more goes to hyper, which applies the configured bound.
const MAX_PARSED_HEADERS: usize = 100;

/// How much of the head is read at a time: a client's upgrade request is a few hundred bytes.
const HEAD_READ_SIZE: usize = 2048;

/// What hyper serves beside the gateways under `listen()`: the user's routes, or [`NotFound`].
///
/// [`NotFound`]: crate::NotFound
pub(crate) trait Fallback:
    tower_service::Service<
        Request<Incoming>,
        Response = Response<Self::Body>,
        Error = std::convert::Infallible,
        Future: Send,
    > + Clone
    + Send
    + 'static
{
    type Body: http_body::Body<Data = Bytes, Error: Into<Box<dyn std::error::Error + Send + Sync>>>
        + Send
        + 'static;
}

impl<F, B> Fallback for F
where
    F: tower_service::Service<
            Request<Incoming>,
            Response = Response<B>,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    F::Future: Send,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Body = B;
}

/// hyper's default bound on the headers of a request.
const HYPER_MAX_HEADERS: usize = 100;

/// The bounds on a request head, from the app's limits.
#[derive(Clone, Copy)]
struct HeadLimits {
    timeout: Duration,
    max_bytes: usize,
    max_headers: usize,
}

impl HeadLimits {
    fn of(config: &AppConfig) -> Self {
        Self {
            timeout: config.handshake_timeout,
            max_bytes: config.max_header_bytes,
            max_headers: config.max_headers,
        }
    }
}

/// Serves one accepted connection until it ends.
pub(crate) async fn serve<F>(stream: TcpStream, service: GatewayService<F>)
where
    F: Fallback,
{
    // Boxed: the task then keeps, for as long as the client is connected, only what serves the
    // socket, not room for the request's handling (some kilobytes).
    if let Some(serving) = Box::pin(answer(stream, service)).await {
        serving.await;
    }
}

/// Reads and answers the request. `Some` when it was an upgrade the gateways accepted: the `101`
/// is written, and what serves the socket is returned. Otherwise hyper has served the
/// connection, or the client is gone.
async fn answer<F>(mut stream: TcpStream, service: GatewayService<F>) -> Option<Serving>
where
    F: Fallback,
{
    // A client silent or too slow past the handshake deadline, or gone, is dropped, as hyper's
    // header timeout does. (A shutdown meanwhile is seen once the head is in: the gateways
    // answer 503, hyper closes.)
    let limits = HeadLimits::of(&service.runtime().config);
    let read = tokio::time::timeout(limits.timeout, read_head(&mut stream, limits)).await;
    let Ok(Ok(Some((read, head)))) = read else {
        return None;
    };
    let mut first = None;
    if let Some((request, head_len)) = head {
        if let Some(answer) = service.answer_direct(request) {
            match write_answer(answer.await, &mut stream).await {
                Written::Upgrade(upgrade) => {
                    let read_past = Bytes::copy_from_slice(&read[head_len..]);
                    return Some(upgrade.serve_tcp(stream, read_past));
                }
                Written::Failed => return None,
                Written::NotAnUpgrade(response) => first = Some(response),
            }
        }
    }
    Box::pin(serve_with_hyper(
        Rewind::new(read.freeze(), stream),
        service,
        first,
    ))
    .await;
    None
}

/// What [`write_answer`] did.
enum Written {
    /// Wrote the `101`: the connection is the upgrade's.
    Upgrade(Upgrade),
    /// The client went away.
    Failed,
    /// Not a `101`: hyper writes this answer.
    NotAnUpgrade(Response<Full<Bytes>>),
}

/// Writes a `101` answer; any other goes back for hyper to write.
async fn write_answer(answered: Answered, stream: &mut TcpStream) -> Written {
    let Answered { response, upgrade } = answered;
    match upgrade {
        Some(upgrade) if response.status() == StatusCode::SWITCHING_PROTOCOLS => {
            let head = switching_protocols(&response);
            drop(response);
            match stream.write_all(&head).await {
                Ok(()) => Written::Upgrade(upgrade),
                Err(_) => Written::Failed,
            }
        }
        _ => Written::NotAnUpgrade(response),
    }
}

/// Reads until the request head is complete (with the request, when it is an upgrade this path
/// may answer, and the head's length), or until hyper should take over. `None`: the client
/// closed first.
async fn read_head(
    stream: &mut TcpStream,
    limits: HeadLimits,
) -> std::io::Result<Option<(BytesMut, Option<(Request<Empty<Bytes>>, usize)>)>> {
    let mut buf = BytesMut::with_capacity(HEAD_READ_SIZE);
    loop {
        let before = buf.len();
        if stream.read_buf(&mut buf).await? == 0 {
            return Ok(None);
        }
        // Parsed on the first read and then once per completed line: a head sent a byte at a
        // time must not cost a parse of everything so far per byte.
        let line_ended = buf[before..].contains(&b'\n');
        if before > 0 && !line_ended && buf.len() < limits.max_bytes {
            buf.reserve(HEAD_READ_SIZE);
            continue;
        }
        match parse(&buf, limits.max_headers) {
            Parse::Partial if buf.len() < limits.max_bytes => buf.reserve(HEAD_READ_SIZE),
            Parse::Partial | Parse::ForHyper => return Ok(Some((buf, None))),
            Parse::Upgrade(request, len) => return Ok(Some((buf, Some((request, len))))),
        }
    }
}

// Returned once per read, never stored: boxing the request would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum Parse {
    Partial,
    /// Not one this path answers: hyper reads it.
    ForHyper,
    /// A `GET` with `Upgrade` and no body, and the length of its head.
    Upgrade(Request<Empty<Bytes>>, usize),
}

fn parse(buf: &[u8], max_headers: usize) -> Parse {
    let mut headers = [httparse::EMPTY_HEADER; MAX_PARSED_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    let len = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Parse::Partial,
        Err(_) => return Parse::ForHyper,
    };
    let is_upgrade = parsed.method == Some("GET")
        && parsed.version == Some(1)
        && parsed.headers.len() <= max_headers
        && parsed
            .headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case("upgrade"))
        && !parsed.headers.iter().any(|h| {
            h.name.eq_ignore_ascii_case("content-length")
                || h.name.eq_ignore_ascii_case("transfer-encoding")
        });
    if !is_upgrade {
        return Parse::ForHyper;
    }
    // The socket keeps its handshake: one copy of the head, which its URI and headers share.
    let head = Bytes::copy_from_slice(&buf[..len]);
    // httparse's slices point into `buf`: the same ranges of `head`.
    let slice = |part: &[u8]| {
        let start = part.as_ptr() as usize - buf.as_ptr() as usize;
        head.slice(start..start + part.len())
    };
    let mut request = Request::new(Empty::new());
    *request.method_mut() = Method::GET;
    *request.version_mut() = Version::HTTP_11;
    let Some(path) = parsed.path else {
        return Parse::ForHyper;
    };
    match Uri::from_maybe_shared(slice(path.as_bytes())) {
        Ok(uri) => *request.uri_mut() = uri,
        Err(_) => return Parse::ForHyper,
    }
    let map = request.headers_mut();
    map.reserve(parsed.headers.len());
    for header in parsed.headers.iter() {
        let name = HeaderName::from_bytes(header.name.as_bytes());
        let value = HeaderValue::from_maybe_shared(slice(header.value));
        match (name, value) {
            (Ok(name), Ok(value)) => {
                map.append(name, value);
            }
            _ => return Parse::ForHyper,
        }
    }
    Parse::Upgrade(request, len)
}

/// The `101` as hyper writes it: the answer's headers, then `date`.
fn switching_protocols(response: &Response<Full<Bytes>>) -> Vec<u8> {
    let mut out = Vec::with_capacity(192);
    out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\n");
    for (name, value) in response.headers() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"date: ");
    with_http_date(|date| out.extend_from_slice(date));
    out.extend_from_slice(b"\r\n\r\n");
    out
}

/// The current time as an HTTP date, formatted once a second per thread (as hyper does).
fn with_http_date(f: impl FnOnce(&[u8])) {
    thread_local! {
        static DATE: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let now = SystemTime::now();
    let second = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    DATE.with_borrow_mut(|(cached, text)| {
        if *cached != second {
            *cached = second;
            *text = httpdate::fmt_http_date(now);
        }
        f(text.as_bytes());
    });
}

/// hyper's HTTP/1.1 connection over `io`; the first request gets `first` when the gateways
/// already answered it.
async fn serve_with_hyper<F>(
    io: Rewind,
    service: GatewayService<F>,
    first: Option<Response<Full<Bytes>>>,
) where
    F: Fallback,
{
    let config = &service.runtime().config;
    let shutdown = service.runtime().shutdown.clone();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.handshake_timeout)
        .max_buf_size(config.max_header_bytes);
    // hyper's own bound is 100 headers, on the stack; setting any bound makes it zero-fill a
    // vector of that many per request.
    if config.max_headers != HYPER_MAX_HEADERS {
        http.max_headers(config.max_headers);
    }
    let first = Mutex::new(first);
    let service = service_fn(move |req: Request<Incoming>| {
        let answered = first.lock().ok().and_then(|mut first| first.take());
        let mut service = service.clone();
        async move {
            match answered {
                Some(response) => Ok(response.map(http_body_util::Either::Left)),
                None => service.call(req).await,
            }
        }
    });
    let conn = http
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}
