//! [`Backoff`]: the waits between attempts to reach Redis again.

use std::time::Duration;

use rand::Rng;

/// Exponential backoff with jitter between reconnection attempts.
#[derive(Clone)]
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// Starts at `min` and doubles up to `max`.
    pub(crate) fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max,
            next: min,
        }
    }

    /// Back to `min`, after a success.
    pub(crate) fn reset(&mut self) {
        self.next = self.min;
    }

    /// The wait before the next attempt: between 75% and 100% of the current step, so that
    /// instances cut off together do not retry together.
    pub(crate) fn next(&mut self) -> Duration {
        let step = self.next;
        self.next = (step * 2).min(self.max);
        step.mul_f64(rand::rng().random_range(0.75..=1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_max_with_jitter_and_resets() {
        let ms = Duration::from_millis;
        let mut backoff = Backoff::new(ms(100), ms(300));
        let waits: Vec<Duration> = (0..4).map(|_| backoff.next()).collect();
        for (wait, step) in waits.iter().zip([100, 200, 300, 300]) {
            assert!(
                *wait >= ms(step) * 3 / 4 && *wait <= ms(step),
                "{wait:?} for {step}"
            );
        }
        backoff.reset();
        assert!(backoff.next() <= ms(100));
    }
}
