//! Capturing the log lines of a test binary, to check that something was logged.

use std::io;
use std::sync::{Mutex, OnceLock};

use tokio::sync::Notify;

use crate::PATIENCE;

/// Every log line at `INFO` and above since [`capture_logs`] installed it.
#[derive(Debug, Default)]
pub struct CapturedLogs {
    text: Mutex<String>,
    changed: Notify,
}

static CAPTURED: OnceLock<CapturedLogs> = OnceLock::new();

/// Installs a global subscriber that keeps every log line (`INFO` and above, without colours)
/// and returns them; later calls return the same capture. Fails the test if another global
/// subscriber was installed first: a binary that captures logs must not call
/// [`init_logs`](crate::init_logs).
pub fn capture_logs() -> &'static CapturedLogs {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    let captured = CAPTURED.get_or_init(CapturedLogs::default);
    INSTALLED.get_or_init(|| {
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(|| LineWriter(captured))
            .try_init()
            .expect("no other global subscriber in a binary that captures logs");
    });
    captured
}

impl CapturedLogs {
    /// The captured lines that contain every one of `needles`.
    pub fn lines_with(&self, needles: &[&str]) -> Vec<String> {
        self.lock()
            .lines()
            .filter(|line| needles.iter().all(|n| line.contains(n)))
            .map(str::to_owned)
            .collect()
    }

    /// Waits until a line contains every one of `needles` and returns it; fails the test after
    /// [`PATIENCE`].
    pub async fn wait_for_line(&self, needles: &[&str]) -> String {
        let wait = async {
            loop {
                let changed = self.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                if let Some(line) = self.lines_with(needles).into_iter().next() {
                    return line;
                }
                changed.await;
            }
        };
        match tokio::time::timeout(PATIENCE, wait).await {
            Ok(line) => line,
            Err(_) => panic!(
                "waited {PATIENCE:?} for a log line with {needles:?}; the log:\n{}",
                self.lock()
            ),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, String> {
        self.text.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Appends what the subscriber writes to the capture.
struct LineWriter(&'static CapturedLogs);

impl io::Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().push_str(&String::from_utf8_lossy(buf));
        self.0.changed.notify_waiters();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
