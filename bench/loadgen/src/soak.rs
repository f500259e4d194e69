//! The soak scenario (`bench/soak.py` runs it against two instances behind Redis): for
//! `--duration` seconds, all at once,
//!
//! - connect/disconnect churn at `--rate` connections per second, alternating instances, each
//!   joining the room and echoing once; one in a hundred is abusive instead (a malformed frame,
//!   an oversized frame, or a client that joins the room and stops reading for 20 s);
//! - `--subs` long-lived subscribers per instance in the room, counting every broadcast;
//! - a publisher on the first instance broadcasting to the room 20 times a second;
//! - `--conns` echo clients spread over the instances.
//!
//! It reports, per subscriber, the broadcasts it missed (as ranges, with the time each range
//! was published, so that misses can be matched against Redis outages), and what the churn,
//! the abusive clients and the echo clients got.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::SinkExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::conn::{broadcast_stamp, Conn, Format};
use crate::scenarios::{patiently, PATIENCE};
use crate::Opts;

/// Broadcasts per second from the publisher.
const PUBLISH_RATE: u64 = 20;
/// One churn connection in this many is abusive.
const ABUSIVE_EVERY: u64 = 100;
/// How long a slow abusive client holds its connection without reading.
const SLOW_HOLD: Duration = Duration::from_secs(20);

#[derive(Default)]
struct Counts {
    churn_ok: AtomicU64,
    churn_failed: AtomicU64,
    malformed: AtomicU64,
    oversized_closed: AtomicU64,
    oversized_not_closed: AtomicU64,
    slow: AtomicU64,
    echo_ok: AtomicU64,
    echo_failed: AtomicU64,
    subscriber_errors: AtomicU64,
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub async fn soak(opts: &Opts) -> io::Result<Value> {
    let format = opts.format;
    let urls = opts.urls.clone();
    let counts = Arc::new(Counts::default());
    let stop = Arc::new(AtomicBool::new(false));

    // Subscribers first: every broadcast after this point must reach each of them.
    let mut subscribers = Vec::new();
    for (instance, url) in urls.iter().enumerate() {
        for _ in 0..opts.subs {
            let mut conn = patiently(Conn::connect(url, format)).await?;
            patiently(conn.call("join", "")).await?;
            subscribers.push((instance, conn));
        }
    }
    let received: Vec<Arc<Mutex<Vec<u64>>>> = subscribers.iter().map(|_| Arc::default()).collect();
    let done = Arc::new(AtomicBool::new(false));
    let mut listening = Vec::new();
    for ((_, mut conn), seen) in subscribers.into_iter().zip(received.iter().cloned()) {
        let (counts, done) = (counts.clone(), done.clone());
        listening.push(tokio::spawn(async move {
            while !done.load(Relaxed) {
                let next = tokio::time::timeout(Duration::from_millis(200), conn.next_text()).await;
                match next {
                    Err(_) => continue,
                    Ok(Ok(text)) => {
                        // The other format's publisher broadcasts to the same room.
                        match broadcast_stamp(&text) {
                            Some((seq, tag)) if tag == format_tag(format) => {
                                seen.lock().unwrap().push(seq)
                            }
                            _ => {}
                        }
                    }
                    Ok(Err(_)) => {
                        counts.subscriber_errors.fetch_add(1, Relaxed);
                        return;
                    }
                }
            }
        }));
    }

    // The publisher, on the first instance: seq -> when it was published.
    let published: Arc<Mutex<Vec<u64>>> = Arc::default();
    let publisher = {
        let (url, stop, published) = (urls[0].clone(), stop.clone(), published.clone());
        let mut conn = patiently(Conn::connect(&url, format)).await?;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(1000 / PUBLISH_RATE));
            let mut seq = 0u64;
            while !stop.load(Relaxed) {
                tick.tick().await;
                let data = format!("\"s{seq}:{}:x\"", format_tag(format));
                let at = unix_ms();
                if patiently(conn.call("broadcast", &data)).await.is_err() {
                    return Err(io::Error::other(format!("broadcast {seq} not answered")));
                }
                published.lock().unwrap().push(at);
                seq += 1;
            }
            Ok(())
        })
    };

    // Echo clients.
    let mut echoing = Vec::new();
    for i in 0..opts.conns {
        let url = urls[i % urls.len()].clone();
        let (stop, counts) = (stop.clone(), counts.clone());
        let mut conn = patiently(Conn::connect(&url, format)).await?;
        echoing.push(tokio::spawn(async move {
            while !stop.load(Relaxed) {
                match patiently(conn.call("echo", "\"ping\"")).await {
                    Ok(_) => counts.echo_ok.fetch_add(1, Relaxed),
                    Err(_) => counts.echo_failed.fetch_add(1, Relaxed),
                };
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }));
    }

    // Churn, for the duration.
    let rate = opts.rate.unwrap_or(200.0).max(1.0);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = std::time::Instant::now();
    let mut n = 0u64;
    let mut churners = Vec::new();
    while started.elapsed() < opts.duration {
        tick.tick().await;
        let url = urls[(n % urls.len() as u64) as usize].clone();
        let counts = counts.clone();
        let abusive = n % ABUSIVE_EVERY == ABUSIVE_EVERY - 1;
        let kind = (n / ABUSIVE_EVERY) % 3;
        churners.push(tokio::spawn(async move {
            if abusive {
                abuse(&url, format, kind, &counts).await;
            } else {
                let ok = patiently(churn_once(&url, format)).await.is_ok();
                let counter = if ok {
                    &counts.churn_ok
                } else {
                    &counts.churn_failed
                };
                counter.fetch_add(1, Relaxed);
            }
        }));
        n += 1;
        // Finished churners are let go, so their handles do not pile up.
        churners.retain(|task: &tokio::task::JoinHandle<()>| !task.is_finished());
    }

    stop.store(true, Relaxed);
    let publisher_result = publisher.await.map_err(io::Error::other)?;
    for task in echoing {
        let _ = task.await;
    }
    for task in churners {
        let _ = task.await;
    }
    // What was published has had time to arrive.
    tokio::time::sleep(Duration::from_secs(3)).await;
    done.store(true, Relaxed);
    for task in listening {
        let _ = task.await;
    }

    let published = published.lock().unwrap().clone();
    let subscribers: Vec<Value> = received
        .iter()
        .enumerate()
        .map(|(i, seen)| {
            let seen = seen.lock().unwrap();
            missing_report(i / opts.subs, &seen, &published)
        })
        .collect();
    let c = &counts;
    Ok(json!({
        "scenario": "soak",
        "format": format!("{format:?}"),
        "seconds": started.elapsed().as_secs_f64(),
        "publisher": publisher_result.err().map(|e| e.to_string()),
        "published": published.len(),
        "subscribers": subscribers,
        "subscriber_errors": c.subscriber_errors.load(Relaxed),
        "churn": { "ok": c.churn_ok.load(Relaxed), "failed": c.churn_failed.load(Relaxed) },
        "abusive": {
            "malformed": c.malformed.load(Relaxed),
            "oversized_closed": c.oversized_closed.load(Relaxed),
            "oversized_not_closed": c.oversized_not_closed.load(Relaxed),
            "slow": c.slow.load(Relaxed),
        },
        "echo": { "ok": c.echo_ok.load(Relaxed), "failed": c.echo_failed.load(Relaxed) },
    }))
}

/// Which format's publisher a broadcast came from (the stamp's second field).
fn format_tag(format: Format) -> u64 {
    match format {
        Format::Json => 0,
        Format::Sio => 1,
    }
}

/// One healthy churn connection: connect, join, echo, leave.
async fn churn_once(url: &str, format: Format) -> io::Result<()> {
    let mut conn = Conn::connect(url, format).await?;
    conn.call("join", "").await?;
    let reply = conn.call("echo", "\"hello\"").await?;
    if !reply.contains("hello") {
        return Err(io::Error::other(format!("echo answered {reply}")));
    }
    let _ = conn.ws.close(None).await;
    Ok(())
}

/// An abusive client: 0 malformed, 1 oversized, 2 slow.
async fn abuse(url: &str, format: Format, kind: u64, counts: &Counts) {
    let Ok(Ok(mut conn)) = tokio::time::timeout(PATIENCE, Conn::connect(url, format)).await else {
        return;
    };
    match kind {
        0 => {
            let garbage = match format {
                Format::Json => "{\"event\": [unterminated",
                Format::Sio => "42[\"echo\",{\"broken\"",
            };
            let _ = conn.send(garbage.to_owned()).await;
            let _ = conn.ws.send(Message::binary(vec![0xff, 0x00, 0x13])).await;
            let _ = conn.send("\u{0}\u{1}not a packet".to_owned()).await;
            counts.malformed.fetch_add(1, Relaxed);
            let _ = conn.ws.close(None).await;
        }
        1 => {
            // Over the 1,000,000-byte message limit: the server closes the connection (1009).
            let big = format!(
                "{{\"event\":\"echo\",\"data\":\"{}\"}}",
                "x".repeat(1_100_000)
            );
            let _ = conn.send(big).await;
            let closed = tokio::time::timeout(PATIENCE, async {
                loop {
                    if conn.next_text().await.is_err() {
                        return;
                    }
                }
            })
            .await
            .is_ok();
            let counter = if closed {
                &counts.oversized_closed
            } else {
                &counts.oversized_not_closed
            };
            counter.fetch_add(1, Relaxed);
        }
        _ => {
            if conn.call("join", "").await.is_ok() {
                counts.slow.fetch_add(1, Relaxed);
                // In the room, never reading: broadcasts pile up for it.
                tokio::time::sleep(SLOW_HOLD).await;
            }
        }
    }
}

/// A subscriber's missed broadcasts, as `[first, last, published_from_ms, published_to_ms]`.
fn missing_report(instance: usize, seen: &[u64], published: &[u64]) -> Value {
    let mut got = vec![false; published.len()];
    let mut duplicates = 0u64;
    let mut out_of_order = 0u64;
    let mut last = None;
    for &seq in seen {
        if let Some(slot) = got.get_mut(seq as usize) {
            if *slot {
                duplicates += 1;
            }
            *slot = true;
        }
        if last.is_some_and(|l| seq < l) {
            out_of_order += 1;
        }
        last = Some(seq);
    }
    let mut missing = Vec::new();
    let mut run: Option<(usize, usize)> = None;
    for (seq, &arrived) in got.iter().enumerate() {
        match (arrived, run) {
            (false, None) => run = Some((seq, seq)),
            (false, Some((from, _))) => run = Some((from, seq)),
            (true, Some((from, to))) => {
                missing.push(json!([from, to, published[from], published[to]]));
                run = None;
            }
            (true, None) => {}
        }
    }
    if let Some((from, to)) = run {
        missing.push(json!([from, to, published[from], published[to]]));
    }
    json!({
        "instance": instance,
        "received": seen.len(),
        "duplicates": duplicates,
        "out_of_order": out_of_order,
        "missing": missing,
    })
}
