//! The scenarios. Each returns one JSON object of figures.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt, TryStreamExt};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::conn::{broadcast_stamp, is_reply, padding, Conn, Format};
use crate::proc_stats::{cpu_seconds, cpu_split, rss_kib};
use crate::Opts;

pub async fn run(opts: Opts) -> io::Result<Value> {
    match opts.scenario.as_str() {
        "echo" => echo(&opts).await,
        "latency" => latency(&opts).await,
        "fanout" => fanout(&opts).await,
        "idle" => idle(&opts).await,
        "connect" => connect_rate(&opts).await,
        "jwt-cost" => jwt_cost(&opts),
        "soak" => crate::soak::soak(&opts).await,
        other => Err(io::Error::other(format!("unknown scenario {other}"))),
    }
}

/// Nanoseconds since the first call: one clock for send and receive stamps.
fn now_ns() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid histogram bounds")
}

fn percentiles(h: &Histogram<u64>) -> Value {
    json!({
        "p50_us": h.value_at_quantile(0.5),
        "p99_us": h.value_at_quantile(0.99),
        "p999_us": h.value_at_quantile(0.999),
        "max_us": h.max(),
        "samples": h.len(),
    })
}

/// The server's CPU time and wall time over a measured window.
struct Window {
    pids: Vec<u32>,
    /// Time on CPU at the start (schedstat).
    cpu: f64,
    /// utime + stime and stime at the start, for the kernel's share.
    user_and_system: f64,
    system: f64,
    at: Instant,
}

impl Window {
    fn start(pids: &[u32]) -> Self {
        let (user, system) = cpu_split(pids);
        Self {
            pids: pids.to_vec(),
            cpu: cpu_seconds(pids),
            user_and_system: user + system,
            system,
            at: Instant::now(),
        }
    }

    /// The share of the server's CPU time since the start spent in the kernel.
    fn kernel_share(&self) -> f64 {
        let (user, system) = cpu_split(&self.pids);
        let total = user + system - self.user_and_system;
        if total > 0.0 {
            (system - self.system) / total
        } else {
            0.0
        }
    }

    /// (wall seconds, server CPU seconds) since the start.
    fn finish(&self) -> (f64, f64) {
        (
            self.at.elapsed().as_secs_f64(),
            cpu_seconds(&self.pids) - self.cpu,
        )
    }
}

/// Opens `n` connections, `concurrency` at a time, round-robin over the urls; `setup` runs on
/// each once connected.
async fn connect_all<F, Fut>(opts: &Opts, n: usize, setup: F) -> io::Result<Vec<Conn>>
where
    F: Fn(Conn) -> Fut,
    Fut: std::future::Future<Output = io::Result<Conn>>,
{
    let format = opts.format;
    let setup = &setup;
    futures_util::stream::iter(0..n)
        .map(|i| {
            let url = opts.urls[i % opts.urls.len()].clone();
            async move {
                let connect = async { setup(Conn::connect(&url, format).await?).await };
                tokio::time::timeout(PATIENCE, connect).await.map_err(|_| {
                    io::Error::other(format!("connection {i} not set up in {PATIENCE:?}"))
                })?
            }
        })
        .buffered(opts.concurrency.clamp(1, n.max(1)))
        .try_collect()
        .await
}

async fn join(mut conn: Conn) -> io::Result<Conn> {
    let reply = conn.call("join", "").await?;
    if !reply.contains("\"ok\"") {
        return Err(io::Error::other(format!("join answered {reply}")));
    }
    Ok(conn)
}

/// `future`, or an error if the server does not answer within [`PATIENCE`].
pub(crate) async fn patiently<T>(
    future: impl std::future::Future<Output = io::Result<T>>,
) -> io::Result<T> {
    tokio::time::timeout(PATIENCE, future)
        .await
        .map_err(|_| io::Error::other(format!("no answer within {PATIENCE:?}")))?
}

/// The request data of `opts.event` with a payload of `opts.size` bytes.
fn echo_data(opts: &Opts) -> String {
    match opts.event.as_str() {
        "echo" => padding(opts.size),
        _ => format!(r#"{{"text":{}}}"#, padding(opts.size)),
    }
}

/// How long anything the server owes us may take before the run fails.
pub(crate) const PATIENCE: Duration = Duration::from_secs(20);

const WARMUP: u8 = 0;
const MEASURE: u8 = 1;
const STOP: u8 = 2;

/// Closed loop: every connection sends the next request when the reply to the last arrives.
async fn echo(opts: &Opts) -> io::Result<Value> {
    let conns = connect_all(opts, opts.conns, |c| async { Ok(c) }).await?;
    let phase = Arc::new(AtomicU8::new(WARMUP));
    let ops = Arc::new(AtomicU64::new(0));
    let data = echo_data(opts);
    let mut tasks = Vec::new();
    for mut conn in conns {
        let (phase, ops, data, event) =
            (phase.clone(), ops.clone(), data.clone(), opts.event.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = histogram();
            loop {
                let at = phase.load(Relaxed);
                if at == STOP {
                    return Ok::<_, io::Error>(latencies);
                }
                let sent = Instant::now();
                let request = conn.request(&event, &data);
                conn.send(request).await?;
                let reply = patiently(conn.reply()).await?;
                if reply.len() < data.len() {
                    return Err(io::Error::other(format!("short reply: {reply}")));
                }
                if at == MEASURE && phase.load(Relaxed) == MEASURE {
                    ops.fetch_add(1, Relaxed);
                    let _ = latencies.record(sent.elapsed().as_micros() as u64);
                }
            }
        }));
    }
    tokio::time::sleep(opts.warmup).await;
    let window = Window::start(&opts.server_pids);
    phase.store(MEASURE, Relaxed);
    tokio::time::sleep(opts.duration).await;
    phase.store(STOP, Relaxed);
    let done = ops.load(Relaxed) as f64;
    let (seconds, cpu) = window.finish();
    let kernel_share = window.kernel_share();
    let mut latencies = histogram();
    for task in tasks {
        let h = task.await.map_err(io::Error::other)??;
        latencies.add(&h).map_err(io::Error::other)?;
    }
    Ok(json!({
        "scenario": "echo",
        "format": format!("{:?}", opts.format),
        "event": opts.event,
        "conns": opts.conns,
        "size": opts.size,
        "ops": done,
        "seconds": seconds,
        "ops_per_s": done / seconds,
        "server_cpu_s": cpu,
        "server_kernel_share": kernel_share,
        "cpu_us_per_op": cpu * 1e6 / done,
        "latency": percentiles(&latencies),
    }))
}

/// Open loop: requests leave at a fixed total rate whatever the replies do; latency is measured
/// from when each request was due (no coordinated omission).
async fn latency(opts: &Opts) -> io::Result<Value> {
    let rate = opts
        .rate
        .ok_or_else(|| io::Error::other("latency needs --rate"))?;
    let conns = connect_all(opts, opts.conns, |c| async { Ok(c) }).await?;
    let data = echo_data(opts);
    let start = Instant::now() + Duration::from_millis(50);
    let measure_from = start + opts.warmup;
    let end = measure_from + opts.duration;
    let latencies = Arc::new(Mutex::new(histogram()));
    let outstanding = Arc::new(AtomicU64::new(0));
    let mut sinks = Vec::new();
    let mut readers = Vec::new();
    for conn in conns {
        let format = conn.format;
        let (sink, mut stream) = conn.ws.split();
        let due: Arc<Mutex<Due>> = Arc::default();
        sinks.push((sink, due.clone(), 0u64));
        let (latencies, outstanding) = (latencies.clone(), outstanding.clone());
        readers.push(tokio::spawn(async move {
            while let Some(Ok(Message::Text(text))) = stream.next().await {
                if !is_reply(format, &text) {
                    continue;
                }
                let sent = {
                    let mut due = due.lock().expect("due lock");
                    match format {
                        Format::Json => due.fifo.pop_front(),
                        Format::Sio => ack_id(&text).and_then(|id| due.by_id.remove(&id)),
                    }
                };
                if let Some(sent) = sent {
                    outstanding.fetch_sub(1, Relaxed);
                    if sent >= measure_from {
                        let mut h = latencies.lock().expect("histogram lock");
                        let _ = h.record(sent.elapsed().as_micros() as u64);
                    }
                }
            }
        }));
    }
    let window_at = Arc::new(Mutex::new(None));
    let period = Duration::from_secs_f64(1.0 / rate);
    let mut sent_measured = 0u64;
    for k in 0u64.. {
        let due_at = start + period.mul_f64(k as f64);
        if due_at >= end {
            break;
        }
        if due_at >= measure_from && window_at.lock().expect("lock").is_none() {
            *window_at.lock().expect("lock") = Some(Window::start(&opts.server_pids));
        }
        loop {
            let now = Instant::now();
            if now >= due_at {
                break;
            }
            if due_at - now > Duration::from_millis(2) {
                tokio::time::sleep(due_at - now - Duration::from_millis(1)).await;
            } else {
                tokio::task::yield_now().await;
            }
        }
        let n = sinks.len();
        let (sink, due, next_id) = &mut sinks[k as usize % n];
        let text = match opts.format {
            Format::Json => format!(r#"{{"event":"{}","data":{data}}}"#, opts.event),
            Format::Sio => format!(r#"42{next_id}["{}",{data}]"#, opts.event),
        };
        {
            let mut due = due.lock().expect("due lock");
            match opts.format {
                Format::Json => due.fifo.push_back(due_at),
                Format::Sio => {
                    due.by_id.insert(*next_id, due_at);
                }
            }
        }
        *next_id += 1;
        outstanding.fetch_add(1, Relaxed);
        if due_at >= measure_from {
            sent_measured += 1;
        }
        sink.send(Message::text(text))
            .await
            .map_err(io::Error::other)?;
    }
    let drained = tokio::time::timeout(Duration::from_secs(10), async {
        while outstanding.load(Relaxed) > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .is_ok();
    let (_, cpu) = window_at
        .lock()
        .expect("lock")
        .as_ref()
        .map_or((0.0, 0.0), Window::finish);
    drop(sinks);
    for reader in readers {
        reader.abort();
    }
    let h = latencies.lock().expect("histogram lock").clone();
    Ok(json!({
        "scenario": "latency",
        "format": format!("{:?}", opts.format),
        "conns": opts.conns,
        "size": opts.size,
        "rate": rate,
        "sent": sent_measured,
        "all_answered": drained,
        "server_cpu_s": cpu,
        "latency": percentiles(&h),
    }))
}

#[derive(Default)]
struct Due {
    fifo: VecDeque<Instant>,
    by_id: HashMap<u64, Instant>,
}

/// The ack id of `43<id>[…]`.
fn ack_id(text: &str) -> Option<u64> {
    let digits: String = text[2..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// One publisher broadcasts to a room of `subs` subscribers (spread over the urls, `stalled`
/// of them never reading); every delivery to the others is counted and checked in order.
async fn fanout(opts: &Opts) -> io::Result<Value> {
    let subs = connect_all(opts, opts.subs, join).await?;
    let stalled = opts.stalled.min(subs.len());
    let healthy = subs.len() - stalled;
    let mut subs = subs.into_iter();
    let stalled_conns: Vec<Conn> = subs.by_ref().take(stalled).collect();
    let received = Arc::new(AtomicU64::new(0));
    let disorder = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(histogram()));
    let mut readers = Vec::new();
    for mut conn in subs {
        let (received, disorder, latencies) =
            (received.clone(), disorder.clone(), latencies.clone());
        readers.push(tokio::spawn(async move {
            let mut next = 0u64;
            let mut local = histogram();
            while let Ok(text) = conn.next_text().await {
                let Some((seq, sent_ns)) = broadcast_stamp(&text) else {
                    continue;
                };
                if seq != next {
                    disorder.fetch_add(1, Relaxed);
                }
                next = seq + 1;
                let _ = local.record(now_ns().saturating_sub(sent_ns) / 1000);
                if received.fetch_add(1, Relaxed) % 4096 == 0 {
                    let mut h = latencies.lock().expect("histogram lock");
                    let _ = h.add(&local);
                    local.reset();
                }
            }
            let _ = latencies.lock().expect("histogram lock").add(&local);
        }));
    }
    let mut publisher = Conn::connect(&opts.urls[0], opts.format).await?;
    let rss_before = rss_kib(&opts.server_pids);
    let rss_max = Arc::new(AtomicU64::new(rss_before));
    let sampler = {
        let (pids, rss_max) = (opts.server_pids.clone(), rss_max.clone());
        tokio::spawn(async move {
            loop {
                rss_max.fetch_max(rss_kib(&pids), Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let pad = "x".repeat(opts.size.saturating_sub(24));
    let data = |seq: u64| format!("\"s{seq}:{}:{pad}\"", now_ns());
    // utime + stime of each redis pid (10 ms ticks: coarse over a few seconds), and its
    // schedstat total (nanoseconds) as a check.
    let redis_cpu = || -> (Vec<f64>, f64) {
        let each = opts.redis_pids.iter().map(|pid| cpu_split(&[*pid]));
        let each = each.map(|(user, system)| user + system).collect();
        (each, cpu_seconds(&opts.redis_pids))
    };
    let (redis_before, redis_schedstat_before) = redis_cpu();
    let window = Window::start(&opts.server_pids);
    let end = Instant::now() + opts.duration;
    let mut published = 0u64;
    match opts.rate {
        // Max rate: keep `window` broadcasts in flight.
        None => {
            let mut in_flight = 0;
            while Instant::now() < end {
                while in_flight < opts.window {
                    let request = publisher.request("broadcast", &data(published));
                    publisher.send(request).await?;
                    published += 1;
                    in_flight += 1;
                }
                patiently(publisher.reply()).await?;
                in_flight -= 1;
            }
            for _ in 0..in_flight {
                patiently(publisher.reply()).await?;
            }
        }
        // Fixed rate, open loop; replies are read as they come.
        Some(rate) => {
            let period = Duration::from_secs_f64(1.0 / rate);
            let start = Instant::now();
            let (mut sink, mut stream) = publisher.ws.split();
            let replies =
                tokio::spawn(async move { while let Some(Ok(_)) = stream.next().await {} });
            let mut next_id = 0u64;
            loop {
                let due = start + period.mul_f64(published as f64);
                if due >= end {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
                let text = match opts.format {
                    Format::Json => {
                        format!(r#"{{"event":"broadcast","data":{}}}"#, data(published))
                    }
                    Format::Sio => format!(r#"42{next_id}["broadcast",{}]"#, data(published)),
                };
                next_id += 1;
                sink.send(Message::text(text))
                    .await
                    .map_err(io::Error::other)?;
                published += 1;
            }
            replies.abort();
        }
    }
    let expected = published * healthy as u64;
    let complete = tokio::time::timeout(Duration::from_secs(60), async {
        while received.load(Relaxed) < expected {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .is_ok();
    let (seconds, cpu) = window.finish();
    let kernel_share = window.kernel_share();
    let (redis_after, redis_schedstat_after) = redis_cpu();
    let redis_each: Vec<f64> = redis_after
        .iter()
        .zip(&redis_before)
        .map(|(after, before)| after - before)
        .collect();
    sampler.abort();
    let rss_max = rss_max.load(Relaxed).max(rss_kib(&opts.server_pids));
    let got = received.load(Relaxed);
    for reader in readers {
        reader.abort();
    }
    drop(stalled_conns);
    let h = latencies.lock().expect("histogram lock").clone();
    Ok(json!({
        "scenario": "fanout",
        "format": format!("{:?}", opts.format),
        "subs": opts.subs,
        "stalled": stalled,
        "instances": opts.urls.len(),
        "size": opts.size,
        "rate": opts.rate,
        "published": published,
        "deliveries": got,
        "expected": expected,
        "verified": complete && got == expected && disorder.load(Relaxed) == 0,
        "out_of_order": disorder.load(Relaxed),
        "seconds": seconds,
        "deliveries_per_s": got as f64 / seconds,
        "server_cpu_s": cpu,
        "server_kernel_share": kernel_share,
        "cpu_us_per_delivery": cpu * 1e6 / got as f64,
        "cpu_us_per_broadcast": cpu * 1e6 / published as f64,
        "redis_cpu_s": redis_each.iter().sum::<f64>(),
        "redis_cpu_s_each": redis_each,
        "redis_cpu_s_schedstat": redis_schedstat_after - redis_schedstat_before,
        "rss_before_kib": rss_before,
        "rss_max_kib": rss_max,
        "delivery_latency": percentiles(&h),
    }))
}

/// Memory per idle connection: RSS before and after `conns` clients each connected, joined the
/// room and echoed one message.
async fn idle(opts: &Opts) -> io::Result<Value> {
    let rss_before = rss_kib(&opts.server_pids);
    let window = Window::start(&opts.server_pids);
    let conns = connect_all(opts, opts.conns, |conn| async {
        let mut conn = join(conn).await?;
        conn.call("echo", "\"hello\"").await?;
        Ok(conn)
    })
    .await?;
    let (seconds, cpu) = window.finish();
    tokio::time::sleep(opts.warmup.max(Duration::from_secs(2))).await;
    let rss_after = rss_kib(&opts.server_pids);
    let per_conn = (rss_after as f64 - rss_before as f64) * 1024.0 / conns.len() as f64;
    drop(conns);
    Ok(json!({
        "scenario": "idle",
        "format": format!("{:?}", opts.format),
        "conns": opts.conns,
        "rss_before_kib": rss_before,
        "rss_after_kib": rss_after,
        "bytes_per_conn": per_conn,
        "setup_seconds": seconds,
        "server_cpu_s": cpu,
    }))
}

/// Connection setup rate: handshake (and Socket.IO connect) plus a room join, `concurrency` at
/// a time. With `--jwt SECRET`, each connection presents its own token, signed before the
/// measured window.
async fn connect_rate(opts: &Opts) -> io::Result<Value> {
    let tokens = match &opts.jwt {
        Some(secret) => (0..opts.conns)
            .map(|i| crate::storm::sign(secret, &i.to_string()))
            .collect::<io::Result<Vec<_>>>()?,
        None => Vec::new(),
    };
    let window = Window::start(&opts.server_pids);
    let conns = futures_util::stream::iter(0..opts.conns)
        .map(|i| {
            let url = opts.urls[i % opts.urls.len()].clone();
            let token = tokens.get(i).map(String::as_str);
            async move {
                let connect =
                    async { join(Conn::connect_with_token(&url, opts.format, token).await?).await };
                tokio::time::timeout(PATIENCE, connect).await.map_err(|_| {
                    io::Error::other(format!("connection {i} not set up in {PATIENCE:?}"))
                })?
            }
        })
        .buffered(opts.concurrency.clamp(1, opts.conns.max(1)))
        .try_collect::<Vec<_>>()
        .await?;
    let (seconds, cpu) = window.finish();
    let kernel_share = window.kernel_share();
    let n = conns.len() as f64;
    drop(conns);
    Ok(json!({
        "scenario": "connect",
        "format": format!("{:?}", opts.format),
        "conns": opts.conns,
        "concurrency": opts.concurrency,
        "seconds": seconds,
        "conns_per_s": n / seconds,
        "server_cpu_s": cpu,
        "server_kernel_share": kernel_share,
        "cpu_us_per_conn": cpu * 1e6 / n,
    }))
}

/// The cost of the JWT check alone: one HS256 token of the benchmark's shape verified
/// `--conns` times (after as many warm-up verifications), as the servers' guards do
/// (`jsonwebtoken::decode` into JSON claims, `exp` checked). Nanoseconds per verification.
fn jwt_cost(opts: &Opts) -> io::Result<Value> {
    let secret = opts
        .jwt
        .as_deref()
        .ok_or_else(|| io::Error::other("jwt-cost needs --jwt SECRET"))?;
    let token = crate::storm::sign(secret, "12345")?;
    let key = jsonwebtoken::DecodingKey::from_secret(secret.as_bytes());
    let validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    let verify = || {
        jsonwebtoken::decode::<Value>(&token, &key, &validation)
            .map(|data| data.claims)
            .map_err(io::Error::other)
    };
    let n = opts.conns.max(1);
    for _ in 0..n {
        std::hint::black_box(verify()?);
    }
    let started = Instant::now();
    for _ in 0..n {
        std::hint::black_box(verify()?);
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(json!({
        "scenario": "jwt-cost",
        "verifications": n,
        "token_bytes": token.len(),
        "ns_per_verification": seconds * 1e9 / n as f64,
    }))
}
