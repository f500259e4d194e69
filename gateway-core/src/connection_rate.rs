//! [`ConnectionRate`]: how fast one client address may open connections, a token bucket per
//! address (`with_max_connection_rate_per_address`). IPv6 clients are counted per /64 prefix,
//! the block one subscriber usually holds, so that rotating addresses within it gains nothing.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Buckets kept before the first sweep of idle ones.
const FIRST_SWEEP: usize = 1024;
/// The most buckets kept: past it (after a sweep), every address starts afresh. Memory stays
/// bounded (about 4 MiB) whatever the number of addresses; the bound then holds per period
/// only for addresses seen since.
const MAX_BUCKETS: usize = 100_000;

/// At most `attempts` new connections per address in any `period`, refilled continuously.
#[derive(Debug)]
pub(crate) struct ConnectionRate {
    attempts: f64,
    /// Attempts regained per second.
    refill: f64,
    buckets: Mutex<Buckets>,
}

#[derive(Debug)]
struct Buckets {
    by_address: HashMap<IpAddr, Bucket>,
    /// The size at which idle buckets are swept out: twice what was left by the last sweep,
    /// so that a flood of addresses costs amortized constant time and bounded memory.
    sweep_at: usize,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl ConnectionRate {
    pub(crate) fn new(attempts: u32, period: Duration) -> Self {
        let attempts = f64::from(attempts.max(1));
        Self {
            attempts,
            refill: attempts / period.as_secs_f64().max(f64::EPSILON),
            buckets: Mutex::new(Buckets {
                by_address: HashMap::new(),
                sweep_at: FIRST_SWEEP,
            }),
        }
    }

    /// Takes one attempt for `address` at `now`; `false` when it has none left.
    pub(crate) fn attempt(&self, address: IpAddr, now: Instant) -> bool {
        let address = counted_as(address);
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.by_address.len() >= buckets.sweep_at {
            self.sweep(&mut buckets, now);
            if buckets.by_address.len() >= MAX_BUCKETS {
                buckets.by_address = HashMap::new();
                buckets.sweep_at = FIRST_SWEEP;
            }
        }
        let full = Bucket {
            tokens: self.attempts,
            at: now,
        };
        let bucket = buckets.by_address.entry(address).or_insert(full);
        bucket.tokens = self.refilled(bucket, now);
        bucket.at = now;
        if bucket.tokens < 1.0 {
            return false;
        }
        bucket.tokens -= 1.0;
        true
    }

    fn refilled(&self, bucket: &Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        (bucket.tokens + elapsed * self.refill).min(self.attempts)
    }

    /// Forgets the addresses whose bucket is full again: they are as if never seen.
    fn sweep(&self, buckets: &mut Buckets, now: Instant) {
        buckets
            .by_address
            .retain(|_, bucket| self.refilled(bucket, now) < self.attempts);
        buckets.by_address.shrink_to_fit();
        buckets.sweep_at = (buckets.by_address.len() * 2).clamp(FIRST_SWEEP, MAX_BUCKETS);
    }
}

/// The key `address` is counted under: itself for IPv4 (an IPv4-mapped IPv6 address is taken
/// as the IPv4 one), its /64 prefix for IPv6.
fn counted_as(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(prefix.into())
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_attempts_per_address_and_refills_over_time() {
        let rate = ConnectionRate::new(2, Duration::from_secs(10));
        let (a, b) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        let start = Instant::now();
        assert!(rate.attempt(a, start));
        assert!(rate.attempt(a, start));
        assert!(!rate.attempt(a, start), "a third at once");
        assert!(rate.attempt(b, start), "another address has its own");
        assert!(
            !rate.attempt(a, start + Duration::from_secs(4)),
            "0.8 regained"
        );
        assert!(
            rate.attempt(a, start + Duration::from_secs(6)),
            "one regained"
        );
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64_prefix() {
        let rate = ConnectionRate::new(1, Duration::from_secs(10));
        let start = Instant::now();
        assert!(rate.attempt("2001:db8:0:1::1".parse().unwrap(), start));
        assert!(!rate.attempt("2001:db8:0:1:ffff::2".parse().unwrap(), start));
        assert!(rate.attempt("2001:db8:0:2::1".parse().unwrap(), start));
        assert!(rate.attempt("::ffff:10.0.0.1".parse().unwrap(), start));
        assert!(!rate.attempt("10.0.0.1".parse().unwrap(), start));
    }

    #[test]
    fn idle_addresses_are_forgotten() {
        let rate = ConnectionRate::new(1, Duration::from_secs(1));
        let start = Instant::now();
        for n in 0..(FIRST_SWEEP as u32 * 3) {
            assert!(rate.attempt(
                IpAddr::from(n.to_be_bytes()),
                start + Duration::from_secs(u64::from(n) * 2)
            ));
        }
        let kept = rate.buckets.lock().unwrap().by_address.len();
        assert!(kept <= FIRST_SWEEP, "{kept} buckets kept");
    }
}
