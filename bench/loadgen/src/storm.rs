//! The reconnect storm (`bench/storm.py` runs several of these processes against one server).
//! A process speaks with the orchestrator by lines on stdin and stdout:
//!
//! 1. it signs one JWT per client (`--jwt SECRET`: HS256, `sub` = the client's index from
//!    `--first`, `exp` in an hour) and, with `--publisher`, opens the publisher's connection;
//!    then prints `ready`;
//! 2. on `go`, all its `--conns` clients connect at once (one task each, round-robin over the
//!    `--src` addresses), each joins room `bench`, retrying a failed attempt after a short
//!    pause; once every client joined or gave up it prints `joined`;
//! 3. the publisher, on `publish`, broadcasts once; every client waits for that broadcast until
//!    `--timeout` seconds after `go`;
//! 4. it prints one JSON line (counts, epoch timestamps in µs, each joined client's connect
//!    latency), then keeps its connections open until `exit` or the end of stdin, so that the
//!    server's CPU time read by the orchestrator holds no disconnects.

use std::collections::BTreeMap;
use std::io::{self, BufRead};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use crate::conn::{Conn, Format};
use crate::proc_stats::cpu_seconds;
use crate::scenarios::patiently;
use crate::Opts;

/// How long one attempt (TCP connect, WebSocket handshake, Socket.IO connect, join) may take:
/// long enough for a SYN retransmitted after a drop (1, 3, 7, 15 s), short of the next one.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// The pause before a failed attempt is retried.
const RETRY_PAUSE: Duration = Duration::from_millis(100);
/// The broadcast's data, checked on receipt.
const PAYLOAD: &str = "\"storm\"";
/// At most this many distinct error messages are reported as samples.
const ERROR_SAMPLES: usize = 5;

fn epoch_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// An HS256 token for `sub`, valid for an hour.
pub fn sign(secret: &str, sub: &str) -> io::Result<String> {
    let claims = json!({ "sub": sub, "exp": epoch_us() / 1_000_000 + 3600 });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(io::Error::other)
}

/// The lines of stdin, read by a thread of their own: a blocking read on the runtime's
/// blocking pool could not be cancelled and would hold up its shutdown.
fn stdin_lines() -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line.trim().to_owned()).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for the line `want` from the orchestrator.
async fn expect_line(lines: &mut mpsc::UnboundedReceiver<String>, want: &str) -> io::Result<()> {
    match lines.recv().await {
        Some(line) if line == want => Ok(()),
        Some(line) => Err(io::Error::other(format!("expected {want}, got {line}"))),
        None => Err(io::Error::other(format!("stdin closed before {want}"))),
    }
}

/// The publisher: reads its connection (answering the server's pings, which come every 25 s
/// on Socket.IO) until told to publish, then broadcasts once. Returns when it published (epoch
/// µs) or why it could not, and the connection.
async fn publisher(
    mut conn: Conn,
    mut publish: oneshot::Receiver<()>,
) -> (Result<u64, String>, Conn) {
    loop {
        tokio::select! {
            _ = &mut publish => break,
            frame = conn.next_text() => {
                if let Err(e) = frame {
                    return (Err(format!("publisher lost before publishing: {e}")), conn);
                }
            }
        }
    }
    let at = epoch_us();
    let result = match patiently(conn.call("broadcast", PAYLOAD)).await {
        Ok(reply) if reply.contains("\"ok\"") => Ok(at),
        Ok(reply) => Err(format!("broadcast answered {reply}")),
        Err(e) => Err(format!("broadcast failed: {e}")),
    };
    (result, conn)
}

/// What the storm tells a client apart from the others.
struct Ctx {
    addr: SocketAddr,
    format: Format,
    sources: Vec<IpAddr>,
    /// When every client must have joined and received the broadcast.
    deadline: Instant,
}

/// What became of one client.
#[derive(Default)]
struct Client {
    /// From the start of the first attempt to the join's reply, in µs.
    latency_us: Option<u64>,
    joined_us: Option<u64>,
    received_us: Option<u64>,
    retries: u64,
    /// The kind of every failed attempt (see [`kind`]) with its message.
    attempt_errors: Vec<(&'static str, String)>,
    /// Why the client never joined, or never got the broadcast.
    failure: Option<String>,
}

/// The class of a failed attempt, as reported.
fn kind(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "refused",
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => "reset",
        io::ErrorKind::TimedOut => "timeout",
        io::ErrorKind::PermissionDenied => "rejected",
        io::ErrorKind::AddrInUse | io::ErrorKind::AddrNotAvailable => "no_local_port",
        _ => "other",
    }
}

/// One attempt: connect and join room `bench`. `stage` names the step under way, for the
/// report of an attempt that timed out.
async fn connect_and_join(
    ctx: &Ctx,
    source: IpAddr,
    token: Option<&str>,
    stage: &mut &'static str,
) -> io::Result<Conn> {
    *stage = "TCP connect";
    let stream = Conn::tcp_from(source, ctx.addr).await?;
    *stage = "WebSocket handshake";
    let ws = Conn::handshake(stream, ctx.addr, ctx.format, token).await?;
    *stage = "Socket.IO connect";
    let mut conn = Conn::open(ws, ctx.format, token).await?;
    *stage = "join";
    let reply = conn.call("join", "").await?;
    if !reply.contains("\"ok\"") {
        return Err(io::Error::other(format!("join answered {reply}")));
    }
    Ok(conn)
}

/// Reads until the broadcast; a frame naming `bcast` with other data is an error.
async fn wait_broadcast(conn: &mut Conn) -> io::Result<()> {
    loop {
        let text = conn.next_text().await?;
        if text.contains("\"bcast\"") {
            if text.contains(PAYLOAD) {
                return Ok(());
            }
            return Err(io::Error::other(format!("unexpected broadcast {text}")));
        }
    }
}

/// One client: joins (retrying), says so on `joined`, waits for the broadcast. Its connection
/// is returned, to be closed only after the whole process reported.
async fn client(
    ctx: Arc<Ctx>,
    index: usize,
    token: Option<String>,
    joined: mpsc::UnboundedSender<()>,
) -> (Client, Option<Conn>) {
    let mut out = Client::default();
    let source = ctx.sources[index % ctx.sources.len()];
    let started = Instant::now();
    let mut conn = loop {
        let left = ctx.deadline.saturating_duration_since(Instant::now());
        let mut stage = "";
        let attempt = connect_and_join(&ctx, source, token.as_deref(), &mut stage);
        let error = match tokio::time::timeout(ATTEMPT_TIMEOUT.min(left), attempt).await {
            Ok(Ok(conn)) => break Some(conn),
            Ok(Err(e)) => io::Error::new(e.kind(), format!("{stage}: {e}")),
            Err(_) => io::Error::new(io::ErrorKind::TimedOut, format!("{stage}: timed out")),
        };
        let kind = kind(&error);
        out.attempt_errors.push((kind, error.to_string()));
        // A refused token stays refused: retrying it would only add load.
        if kind == "rejected" || Instant::now() + RETRY_PAUSE >= ctx.deadline {
            out.failure = Some(format!("never joined: {kind}: {error}"));
            break None;
        }
        tokio::time::sleep(RETRY_PAUSE).await;
        out.retries += 1;
    };
    if conn.is_some() {
        out.latency_us = Some(started.elapsed().as_micros() as u64);
        out.joined_us = Some(epoch_us());
    }
    let _ = joined.send(());
    if let Some(c) = conn.as_mut() {
        match tokio::time::timeout_at(ctx.deadline.into(), wait_broadcast(c)).await {
            Ok(Ok(())) => out.received_us = Some(epoch_us()),
            Ok(Err(e)) => out.failure = Some(format!("lost before the broadcast: {e}")),
            Err(_) => out.failure = Some("no broadcast within the timeout".into()),
        }
    }
    (out, conn)
}

pub async fn storm(opts: &Opts) -> io::Result<()> {
    let addr: SocketAddr = opts.urls[0]
        .parse()
        .map_err(|e| io::Error::other(format!("--url {}: {e}", opts.urls[0])))?;
    let n = opts.conns;
    let tokens = (0..n)
        .map(|i| {
            let sub = (opts.first + i).to_string();
            opts.jwt
                .as_deref()
                .map(|secret| sign(secret, &sub))
                .transpose()
        })
        .collect::<io::Result<Vec<_>>>()?;
    let (publish_tx, publish_rx) = oneshot::channel();
    let publisher = match opts.publisher {
        false => None,
        true => {
            let token = opts
                .jwt
                .as_deref()
                .map(|s| sign(s, "publisher"))
                .transpose()?;
            let conn = Conn::connect_from(opts.sources[0], addr, opts.format, token.as_deref());
            Some(tokio::spawn(publisher(patiently(conn).await?, publish_rx)))
        }
    };
    let mut lines = stdin_lines();
    println!("ready");
    expect_line(&mut lines, "go").await?;

    let go_us = epoch_us();
    let cpu_before = cpu_seconds(&[std::process::id()]);
    let ctx = Arc::new(Ctx {
        addr,
        format: opts.format,
        sources: opts.sources.clone(),
        deadline: Instant::now() + opts.timeout,
    });
    let (joined_tx, mut joined_rx) = mpsc::unbounded_channel();
    let tasks: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(i, token)| tokio::spawn(client(ctx.clone(), i, token, joined_tx.clone())))
        .collect();
    drop(joined_tx);
    // Every client sends one `()` when it joined or gave up (by the deadline at the latest).
    let mut settled = 0;
    while settled < n && joined_rx.recv().await.is_some() {
        settled += 1;
    }
    let settled_us = epoch_us();
    println!("joined");

    // A lost publisher is reported; the clients then wait out their deadline.
    let mut published = None;
    if let Some(task) = publisher {
        expect_line(&mut lines, "publish").await?;
        let _ = publish_tx.send(());
        published = Some(match task.await {
            Ok((result, conn)) => (result, Some(conn)),
            Err(e) => (Err(format!("publisher task failed: {e}")), None),
        });
    }
    let (publish_us, publish_error, publisher) = match published {
        None => (None, None, None),
        Some((Ok(at), conn)) => (Some(at), None, conn),
        Some((Err(e), conn)) => (None, Some(e), conn),
    };

    let mut clients = Vec::with_capacity(n);
    let mut conns = Vec::with_capacity(n);
    for task in tasks {
        match task.await {
            Ok((client, conn)) => {
                clients.push(client);
                conns.push(conn);
            }
            Err(e) => clients.push(Client {
                failure: Some(format!("task failed: {e}")),
                ..Client::default()
            }),
        }
    }
    let client_cpu_s = cpu_seconds(&[std::process::id()]) - cpu_before;

    let mut attempt_errors: BTreeMap<&str, u64> = BTreeMap::new();
    let mut samples: Vec<String> = Vec::new();
    let mut failures: BTreeMap<String, u64> = BTreeMap::new();
    for c in &clients {
        for (kind, message) in &c.attempt_errors {
            *attempt_errors.entry(kind).or_default() += 1;
            let sample = format!("{kind}: {message}");
            if samples.len() < ERROR_SAMPLES && !samples.contains(&sample) {
                samples.push(sample);
            }
        }
        if let Some(failure) = &c.failure {
            *failures.entry(failure.clone()).or_default() += 1;
        }
    }
    let joined = clients.iter().filter(|c| c.joined_us.is_some()).count();
    let received = clients.iter().filter(|c| c.received_us.is_some()).count();
    let result = json!({
        "scenario": "storm",
        "format": format!("{:?}", opts.format),
        "clients": n,
        "first": opts.first,
        "jwt": opts.jwt.is_some(),
        "publisher": opts.publisher,
        "joined": joined,
        "received": received,
        "never_joined": n - joined,
        "joined_not_received": joined - received,
        "retries": clients.iter().map(|c| c.retries).sum::<u64>(),
        "clients_retried": clients.iter().filter(|c| c.retries > 0).count(),
        "attempt_errors": attempt_errors,
        "error_samples": samples,
        "failures": failures,
        "go_us": go_us,
        "settled_us": settled_us,
        "joined_max_us": clients.iter().filter_map(|c| c.joined_us).max(),
        "received_max_us": clients.iter().filter_map(|c| c.received_us).max(),
        "publish_us": publish_us,
        "publish_error": publish_error,
        "client_cpu_s": client_cpu_s,
        "latencies_us": clients.iter().filter_map(|c| c.latency_us).collect::<Vec<_>>(),
    });
    println!("{result}");

    // Keep every connection open until the orchestrator has read the server's figures.
    let _ = expect_line(&mut lines, "exit").await;
    drop(conns);
    drop(publisher);
    Ok(())
}
