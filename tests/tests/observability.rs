//! Metrics (through a test recorder) and tracing spans, over real sockets in both wire formats.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use gateway_core::pipeline::{guard_fn, ExecutionContext};
use gateway_core::test::TestClient;
use gateway_core::{gateway, GatewayApp, MessageBody, Socket};
use gateway_tests::{eio, serve, wait_until, ws_url};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::CompositeKey;
use serde_json::json;

/// One recorder and one log capture for this test binary (both are process-wide).
struct Observed {
    metrics: Snapshotter,
    logs: Arc<Mutex<Vec<u8>>>,
}

fn observed() -> &'static Observed {
    static OBSERVED: OnceLock<Observed> = OnceLock::new();
    OBSERVED.get_or_init(|| {
        let recorder = DebuggingRecorder::new();
        let metrics = recorder.snapshotter();
        recorder
            .install()
            .expect("no other recorder in this binary");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(logs.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter("info")
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other subscriber");
        Observed { metrics, logs }
    })
}

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What was recorded so far, summed: a snapshot drains the recorder (gauges included, so their
/// snapshots add up to the gauge's value).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Recorded {
    count: f64,
    observations: usize,
}

/// Every metric of `namespace`, by name and its other labels (`key=value`, sorted).
fn metrics_of(namespace: &str) -> HashMap<(String, String), Recorded> {
    /// By namespace, name and other labels.
    type Totals = HashMap<(String, String, String), Recorded>;
    static TOTALS: OnceLock<Mutex<Totals>> = OnceLock::new();
    let mut totals = TOTALS.get_or_init(Default::default).lock().unwrap();
    for (key, _, _, value) in observed().metrics.snapshot().into_vec() {
        let key: CompositeKey = key;
        let mut ns = String::new();
        let mut others = Vec::new();
        for label in key.key().labels() {
            if label.key() == "namespace" {
                ns = label.value().to_owned();
            } else {
                others.push(format!("{}={}", label.key(), label.value()));
            }
        }
        others.sort();
        let total = totals
            .entry((ns, key.key().name().to_owned(), others.join(",")))
            .or_default();
        match value {
            DebugValue::Counter(n) => total.count += n as f64,
            DebugValue::Gauge(v) => total.count += v.into_inner(),
            DebugValue::Histogram(values) => total.observations += values.len(),
        }
    }
    totals
        .iter()
        .filter(|((ns, _, _), _)| ns == namespace)
        .map(|((_, name, labels), total)| ((name.clone(), labels.clone()), *total))
        .collect()
}

fn recorded(namespace: &str, name: &str, labels: &str) -> Recorded {
    metrics_of(namespace)
        .get(&(name.to_owned(), labels.to_owned()))
        .copied()
        .unwrap_or_default()
}

fn counter(namespace: &str, name: &str, labels: &str) -> u64 {
    recorded(namespace, name, labels).count as u64
}

fn gauge(namespace: &str, name: &str) -> f64 {
    recorded(namespace, name, "").count
}

fn histogram_count(namespace: &str, name: &str, labels: &str) -> usize {
    recorded(namespace, name, labels).observations
}

struct Observable;

#[gateway(namespace = "/observed")]
impl Observable {
    #[subscribe_message("echo")]
    async fn echo(&self, client: Socket, MessageBody(text): MessageBody<String>) -> String {
        tracing::info!("echo handler ran");
        client.emit("echoed", &text).unwrap();
        text
    }

    #[subscribe_message("guarded")]
    #[use_guards(guard_fn(|_cx: ExecutionContext| async { false }))]
    async fn guarded(&self) -> &'static str {
        "never"
    }
}

struct ObservableIo;

#[gateway(namespace = "/observed-io")]
impl ObservableIo {
    #[subscribe_message("echo")]
    async fn echo(&self, MessageBody(text): MessageBody<String>) -> String {
        text
    }
}

#[tokio::test]
async fn a_json_format_connection_is_counted_by_event_outcome_and_bytes() {
    let o = observed();
    let server = serve(GatewayApp::builder().with_metrics().gateway(Observable)).await;
    let ns = "/observed";
    let mut c = TestClient::connect(&ws_url(&server, ns)).await;
    wait_until("the connection is counted", || {
        gauge(ns, "socket_io_connected") == 1.0
    })
    .await;
    assert_eq!(counter(ns, "socket_io_connect_total", ""), 1);

    let frames = [
        json!({"event": "echo", "data": "hi"}).to_string(),
        json!({"event": "guarded", "data": null}).to_string(),
        json!({"event": "nobody-listens", "data": 1}).to_string(),
    ];
    for frame in &frames {
        c.send_text(frame).await;
    }
    assert_eq!(c.recv_event("echoed").await, json!("hi"));
    assert_eq!(c.recv().await, json!("hi"));
    assert_eq!(
        c.recv().await["data"]["message"],
        json!("Forbidden resource")
    );
    // The unknown event has no answer: a last echo shows it was handled.
    c.emit("echo", "again").await;
    assert_eq!(c.recv_event("echoed").await, json!("again"));
    assert_eq!(c.recv().await, json!("again"));
    c.close().await;
    wait_until("the disconnect is counted", || {
        gauge(ns, "socket_io_connected") == 0.0
    })
    .await;

    let received = |event: &str| {
        counter(
            ns,
            "socket_io_events_received_total",
            &format!("event={event}"),
        )
    };
    assert_eq!(received("echo"), 2);
    assert_eq!(received("guarded"), 1);
    assert_eq!(received("(other)"), 1, "unknown names share one label");
    assert_eq!(
        counter(ns, "gateway_guard_refusals_total", "event=guarded"),
        1
    );
    assert_eq!(counter(ns, "gateway_exceptions_total", "event=guarded"), 1);
    assert_eq!(counter(ns, "gateway_exceptions_total", "event=echo"), 0);
    assert_eq!(
        histogram_count(ns, "gateway_handler_duration_seconds", "event=echo"),
        2
    );
    assert_eq!(
        counter(ns, "socket_io_events_sent_total", "event=echoed"),
        2
    );
    assert_eq!(
        counter(
            ns,
            "socket_io_disconnect_total",
            "reason=client namespace disconnect"
        ),
        1
    );
    let sent_text = frames.iter().map(String::len).sum::<usize>()
        + json!({"event": "echo", "data": "again"}).to_string().len();
    assert_eq!(
        counter(ns, "socket_io_receive_bytes", "") as usize,
        sent_text
    );
    assert!(counter(ns, "socket_io_transmit_bytes", "") > 0);

    // The handler's own line carries its message's and its connection's spans.
    let logs = String::from_utf8(o.logs.lock().unwrap().clone()).unwrap();
    let line = logs
        .lines()
        .find(|line| line.contains("echo handler ran"))
        .expect("the handler's log line");
    assert!(
        line.contains("connection{namespace=\"/observed\" "),
        "{line}"
    );
    assert!(line.contains("transport=\"websocket\""), "{line}");
    assert!(line.contains("peer=127.0.0.1:"), "{line}");
    assert!(line.contains("message{namespace=\"/observed\" "), "{line}");
    assert!(line.contains("event=\"echo\""), "{line}");
}

#[tokio::test]
async fn a_socketio_session_is_counted_in_its_namespace() {
    observed();
    let server = serve(GatewayApp::builder().with_metrics().gateway(ObservableIo)).await;
    let ns = "/observed-io";
    let mut ws = eio::open(server.local_addr(), "/socket.io/?EIO=4&transport=websocket").await;
    eio::next(&mut ws).await; // the open packet
    eio::send(&mut ws, "40/observed-io,").await;
    assert!(eio::next(&mut ws)
        .await
        .text()
        .starts_with("40/observed-io,"));
    let event = r#"42/observed-io,7["echo","hi"]"#;
    eio::send(&mut ws, event).await;
    assert_eq!(
        eio::next_skipping_pings(&mut ws).await.text(),
        r#"43/observed-io,7["hi"]"#
    );
    assert_eq!(gauge(ns, "socket_io_connected"), 1.0);
    assert_eq!(
        counter(ns, "socket_io_events_received_total", "event=echo"),
        1
    );
    assert_eq!(
        counter(ns, "socket_io_receive_bytes", "") as usize,
        event.len()
    );
    drop(ws);
    wait_until("the disconnect is counted", || {
        gauge(ns, "socket_io_connected") == 0.0
    })
    .await;
    assert_eq!(counter(ns, "socket_io_connect_total", ""), 1);
    assert_eq!(
        counter(ns, "socket_io_disconnect_total", "reason=transport close"),
        1
    );
}

#[tokio::test]
async fn without_with_metrics_nothing_is_recorded() {
    observed();
    struct Quiet;
    #[gateway(namespace = "/quiet")]
    impl Quiet {
        #[subscribe_message("echo")]
        async fn echo(&self, MessageBody(text): MessageBody<String>) -> String {
            text
        }
    }
    let server = serve(GatewayApp::builder().gateway(Quiet)).await;
    let mut c = TestClient::connect(&ws_url(&server, "/quiet")).await;
    c.emit("echo", "hi").await;
    assert_eq!(c.recv().await, json!("hi"));
    assert!(metrics_of("/quiet").is_empty());
}
