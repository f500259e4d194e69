//! Ready-made enhancers: [`LoggingInterceptor`], [`TimeoutInterceptor`], [`RateLimitGuard`].

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::pipeline::{BaseWsExceptionFilter, ExecutionContext, Guard, Interceptor, Next};
use crate::{Reply, WsException};

/// Logs every handled message with its duration and outcome (tracing, target
/// `gateway_core::enhancers`; the guides' `WsLoggingInterceptor`).
///
/// ```
/// let app = gateway_core::GatewayApp::builder()
///     .with_global_interceptor(gateway_core::enhancers::LoggingInterceptor);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct LoggingInterceptor;

impl Interceptor for LoggingInterceptor {
    async fn intercept(&self, cx: &ExecutionContext, next: Next) -> Result<Reply, WsException> {
        let start = Instant::now();
        let reply = next.run().await;
        tracing::info!(
            pattern = cx.pattern(),
            socket = %cx.socket().id(),
            gateway = cx.gateway(),
            elapsed_ms = start.elapsed().as_secs_f64() * 1000.0,
            ok = reply.is_ok(),
            "WS {} - Client: {} - {}ms",
            cx.pattern(),
            cx.socket().id(),
            start.elapsed().as_millis()
        );
        reply
    }
}

/// Fails a handler that takes longer than the limit with `WsException("Request timeout")`; the
/// handler's future is dropped.
///
/// ```
/// use std::time::Duration;
/// let timeout = gateway_core::enhancers::TimeoutInterceptor::new(Duration::from_secs(5));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct TimeoutInterceptor {
    limit: Duration,
}

impl TimeoutInterceptor {
    /// Fails handlers that run longer than `limit`.
    pub fn new(limit: Duration) -> Self {
        Self { limit }
    }
}

impl Interceptor for TimeoutInterceptor {
    fn intercept(
        &self,
        _cx: &ExecutionContext,
        next: Next,
    ) -> impl Future<Output = Result<Reply, WsException>> + Send {
        let limit = self.limit;
        async move {
            tokio::time::timeout(limit, next.run())
                .await
                .unwrap_or_else(|_| Err(WsException::new("Request timeout")))
        }
    }
}

/// A per-socket token bucket: each message takes a token; tokens come back at a steady rate.
///
/// Over the limit the client gets `WsException("Too many requests")`; after `max_violations`
/// refusals it is disconnected (close code 1000, after the exception).
///
/// ```
/// use std::time::Duration;
/// // Bursts of 20, then 5 messages a second; disconnect after 10 refusals.
/// let limit = gateway_core::enhancers::RateLimitGuard::new(20, Duration::from_millis(200)).with_max_violations(10);
/// ```
#[derive(Debug)]
pub struct RateLimitGuard {
    id: usize,
    burst: u32,
    refill_every: Duration,
    max_violations: u32,
}

/// One socket's bucket for one guard.
#[derive(Debug, Clone)]
struct Bucket {
    tokens: u32,
    last_refill: Instant,
    violations: u32,
}

/// The buckets of every rate limiter on a socket, by guard id.
#[derive(Debug, Clone, Default)]
struct Buckets(Vec<(usize, Bucket)>);

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

impl RateLimitGuard {
    /// `burst` messages at once, one more every `refill_every`; never disconnects until
    /// [`with_max_violations`](Self::with_max_violations) says so.
    pub fn new(burst: u32, refill_every: Duration) -> Self {
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            burst: burst.max(1),
            refill_every: refill_every.max(Duration::from_micros(1)),
            max_violations: u32::MAX,
        }
    }

    /// Disconnects a socket after this many refused messages.
    pub fn with_max_violations(mut self, violations: u32) -> Self {
        self.max_violations = violations.max(1);
        self
    }

    /// Takes a token; returns the number of violations so far if none was left.
    fn take(&self, cx: &ExecutionContext) -> Result<(), u32> {
        let data = cx.socket().data();
        if !data.contains::<Buckets>() {
            data.insert(Buckets::default());
        }
        data.update(|buckets: &mut Buckets| {
            let now = Instant::now();
            let index = match buckets.0.iter().position(|(id, _)| *id == self.id) {
                Some(index) => index,
                None => {
                    let bucket = Bucket {
                        tokens: self.burst,
                        last_refill: now,
                        violations: 0,
                    };
                    buckets.0.push((self.id, bucket));
                    buckets.0.len() - 1
                }
            };
            let bucket = &mut buckets.0[index].1;
            let refills =
                now.duration_since(bucket.last_refill).as_nanos() / self.refill_every.as_nanos();
            if refills > 0 {
                let refills = u32::try_from(refills).unwrap_or(u32::MAX);
                bucket.tokens = bucket.tokens.saturating_add(refills).min(self.burst);
                bucket.last_refill += self.refill_every * refills.min(self.burst);
                if bucket.tokens == self.burst {
                    bucket.last_refill = now;
                }
            }
            if bucket.tokens > 0 {
                bucket.tokens -= 1;
                Ok(())
            } else {
                bucket.violations += 1;
                Err(bucket.violations)
            }
        })
        .unwrap_or(Ok(()))
    }
}

impl Guard for RateLimitGuard {
    fn can_activate(
        &self,
        cx: &ExecutionContext,
    ) -> impl Future<Output = Result<bool, WsException>> + Send {
        let verdict = match self.take(cx) {
            Ok(()) => Ok(true),
            Err(violations) => {
                let exception = WsException::new("Too many requests");
                if violations >= self.max_violations {
                    // Queue the exception before the close frame, then close.
                    BaseWsExceptionFilter::default().send(&exception, cx);
                    cx.socket().disconnect();
                }
                Err(exception)
            }
        };
        std::future::ready(verdict)
    }
}
