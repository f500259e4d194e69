//! Shared helpers for the end-to-end tests: start an app on loopback, count events, raw HTTP,
//! capture logs.

pub mod cluster;
pub mod eio;
pub mod logs;
pub mod redis_cluster;
pub mod serving;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gateway_core::GatewayAppBuilder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;

/// How long a test waits for something it expects before failing.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub use logs::{capture_logs, CapturedLogs};
pub use serving::{Serving, TestServer};

/// Builds the app and serves it on `127.0.0.1:0`, the way `GATEWAY_TEST_SERVING` says.
pub async fn serve(builder: GatewayAppBuilder) -> TestServer {
    TestServer::start(builder).await
}

/// `ws://127.0.0.1:PORT{path}` for the main listener.
pub fn ws_url(server: &TestServer, path: &str) -> String {
    format!("ws://{}{path}", server.local_addr())
}

/// Logs for a failing test (`RUST_LOG=debug cargo test ...`).
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// A counter a test can wait on, instead of sleeping.
#[derive(Debug, Default)]
pub struct Counter {
    count: AtomicUsize,
    changed: Notify,
}

impl Counter {
    /// Adds one and wakes waiters.
    pub fn bump(&self) {
        self.count.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_waiters();
    }

    /// The current count.
    pub fn get(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// Waits until the count is at least `n`; fails the test after [`PATIENCE`].
    pub async fn wait_for(&self, n: usize) {
        let wait = async {
            loop {
                let changed = self.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                if self.get() >= n {
                    return;
                }
                changed.await;
            }
        };
        if tokio::time::timeout(PATIENCE, wait).await.is_err() {
            panic!("waited {PATIENCE:?} for count {n}, it is {}", self.get());
        }
    }
}

/// A raw HTTP/1.1 exchange: sends `request` and returns the status code and the whole response.
///
/// The response is read up to the end of its headers and its `Content-Length` body.
pub async fn raw_http(addr: std::net::SocketAddr, request: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            let n = stream.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            response.extend_from_slice(&buf[..n]);
            if is_complete(&response) {
                break;
            }
        }
    };
    tokio::time::timeout(PATIENCE, read)
        .await
        .expect("the server answered");
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
    (status, text)
}

/// Whether `response` holds its headers and the whole `Content-Length` body.
fn is_complete(response: &[u8]) -> bool {
    let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&response[..end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    response.len() >= end + 4 + length
}

/// Sends one plain HTTP request (`Connection: close`) and returns the status and the body.
pub async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, String) {
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let (status, text) = raw_http(addr, &request).await;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// A GET upgrade request for `path` with extra header lines (each ending in `\r\n`).
pub fn upgrade_request(path: &str, extra_headers: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra_headers}\r\n"
    )
}

/// The folder of the Node test clients (`tests/node`).
pub fn node_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("node")
}

/// Runs `node <script> <args…>` from `tests/node`, installing its npm packages first if they are
/// missing or older than the committed lockfile (`npm ci`). Returns the script's stdout; fails
/// the test with its output if it exits non-zero.
pub async fn run_node(script: &str, args: &[&str]) -> String {
    run_node_within(script, args, PATIENCE).await
}

/// How long a run of a headless browser may take: starting Chromium on a loaded 2-core machine
/// takes seconds.
pub const BROWSER_PATIENCE: Duration = Duration::from_secs(120);

/// [`run_node`] for a script that may take up to `patience` (e.g. [`BROWSER_PATIENCE`]).
pub async fn run_node_within(script: &str, args: &[&str], patience: Duration) -> String {
    run_node_with_env(script, args, &[], patience).await
}

/// [`run_node_within`] with environment variables `env` set for the script.
pub async fn run_node_with_env(
    script: &str,
    args: &[&str],
    env: &[(&str, &str)],
    patience: Duration,
) -> String {
    static SETUP: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let dir = node_dir();
    {
        let _one_at_a_time = SETUP.lock().await;
        if npm_install_needed(&dir) {
            run_checked("npm", &["ci", "--no-audit", "--no-fund"], &dir).await;
        }
    }
    run_script("node".as_ref(), script, args, env, &dir, patience).await
}

/// Whether the npm packages of `dir` need installing: `node_modules` is missing, or was
/// installed before the lockfile last changed (a dependency was added or bumped since; npm
/// writes `node_modules/.package-lock.json` when it installs).
fn npm_install_needed(dir: &std::path::Path) -> bool {
    let modified = |path: std::path::PathBuf| std::fs::metadata(path).and_then(|m| m.modified());
    match (
        modified(dir.join("node_modules/.package-lock.json")),
        modified(dir.join("package-lock.json")),
    ) {
        (Ok(installed), Ok(locked)) => installed < locked,
        _ => true,
    }
}

/// How long the whole NestJS parity run may take (about 20 s on a 2-core machine).
pub const PARITY_PATIENCE: Duration = Duration::from_secs(5 * 60);

/// Runs the NestJS parity harness (`tests/parity/compare.mjs <args…>`) against a server of
/// ours: installs its npm packages if they are missing or stale (`npm ci`, from the committed
/// lockfile)
/// and compiles the NestJS twin (`npm run build`) first. Returns the report; fails the test with
/// it if any scenario differs beyond its declared deviations.
pub async fn run_parity(args: &[&str]) -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("parity");
    if npm_install_needed(&dir) {
        run_checked("npm", &["ci", "--no-audit", "--no-fund"], &dir).await;
    }
    run_checked("npm", &["run", "build", "--silent"], &dir).await;
    run_script(
        "node".as_ref(),
        "compare.mjs",
        args,
        &[],
        &dir,
        PARITY_PATIENCE,
    )
    .await
}

/// Runs `python <script> <args…>` from `tests/python` in its virtualenv (`tests/python/.venv`),
/// creating it from the pinned `requirements.txt` first if it is missing. Returns the script's
/// stdout; fails the test with its output if it exits non-zero.
pub async fn run_python(script: &str, args: &[&str]) -> String {
    static SETUP: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("python");
    let python = dir.join(".venv/bin/python");
    {
        let _one_at_a_time = SETUP.lock().await;
        if !python.exists() {
            run_checked("python3", &["-m", "venv", ".venv"], &dir).await;
            let pip = dir.join(".venv/bin/pip");
            let pip = pip.to_str().expect("a UTF-8 path");
            run_checked(pip, &["install", "-q", "-r", "requirements.txt"], &dir).await;
        }
    }
    run_script(python.as_os_str(), script, args, &[], &dir, PATIENCE).await
}

/// Runs `<program> <script> <args…>` in `dir` within `patience`; returns its stdout, or fails
/// the test with its output if it exits non-zero.
async fn run_script(
    program: &std::ffi::OsStr,
    script: &str,
    args: &[&str],
    env: &[(&str, &str)],
    dir: &std::path::Path,
    patience: Duration,
) -> String {
    let run = tokio::process::Command::new(program)
        .arg(script)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(patience, run)
        .await
        .unwrap_or_else(|_| panic!("{script} finished within {patience:?}"))
        .unwrap_or_else(|e| panic!("{} could not run: {e}", program.to_string_lossy()));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{script} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

async fn run_checked(program: &str, args: &[&str], dir: &std::path::Path) {
    let status = tokio::process::Command::new(program)
        .args(args)
        .current_dir(dir)
        .status()
        .await
        .unwrap_or_else(|e| panic!("{program} could not run: {e}"));
    assert!(
        status.success(),
        "{program} {args:?} failed in {}",
        dir.display()
    );
}

/// Waits until `condition` holds, checking every millisecond; fails the test after [`PATIENCE`].
/// For state the test cannot subscribe to (prefer [`Counter`] where it can).
pub async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let wait = async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };
    if tokio::time::timeout(PATIENCE, wait).await.is_err() {
        panic!("waited {PATIENCE:?} for {what}");
    }
}

/// Chromium's executable for the browser tests: `CHROMIUM` from the environment, else Debian's
/// (which `scripts/test.sh` installs).
pub fn chromium_executable() -> String {
    let path = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(
        std::path::Path::new(&path).exists(),
        "no Chromium at {path}: `apt-get install chromium` (scripts/test.sh does), or set CHROMIUM"
    );
    path
}
