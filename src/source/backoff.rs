//! Waiting between attempts: the reconnect policy a source is configured with, the jittered
//! exponential [`Backoff`] that follows it, and a sleep that gives way to shutdown.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// A connection that stayed up this long was healthy: the next failure starts the backoff anew.
pub const BACKOFF_RESET_AFTER: Duration = Duration::from_secs(60);

/// How long to wait between attempts to reach a feed or device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReconnectPolicy {
    /// Base of the first wait; doubles per failure.
    pub initial: Duration,
    /// Cap on the wait.
    pub max: Duration,
    /// A connection that lasted this long resets the doubling.
    pub reset_after: Duration,
}

impl ReconnectPolicy {
    /// Start at one second (or `max` if smaller) and double up to `max`.
    pub fn up_to(max: Duration) -> ReconnectPolicy {
        ReconnectPolicy {
            initial: Duration::from_secs(1).min(max),
            max,
            reset_after: BACKOFF_RESET_AFTER,
        }
    }
}

/// Exponential backoff with "equal jitter": each wait lies between half and all of the doubled
/// base. The jitter is drawn from the source name, so runs are reproducible while sources that
/// lost the same server do not all come back in the same instant.
#[derive(Clone, Debug)]
pub struct Backoff {
    policy: ReconnectPolicy,
    failures: u32,
    seed: u64,
}

impl Backoff {
    pub fn new(policy: ReconnectPolicy, name: &str) -> Backoff {
        // FNV-1a: stable across builds, unlike the standard hasher's promise.
        let seed = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        Backoff {
            policy,
            failures: 0,
            seed,
        }
    }

    /// The wait before the next attempt; each call counts one more failure.
    pub fn next_delay(&mut self) -> Duration {
        let doubled = self
            .policy
            .initial
            .saturating_mul(1u32 << self.failures.min(20));
        let base = doubled.min(self.policy.max);
        self.failures = self.failures.saturating_add(1);
        let draw = splitmix64(self.seed ^ u64::from(self.failures));
        let fraction = (draw >> 11) as f64 / (1u64 << 53) as f64;
        base / 2 + base.mul_f64(fraction / 2.0)
    }

    /// Tells how long the connection that just ended had been up.
    pub fn connection_lasted(&mut self, up: Duration) {
        if up >= self.policy.reset_after {
            self.failures = 0;
        }
    }
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Sleeps for `delay`; true if the source must stop instead.
pub(crate) async fn sleep_or_stop(delay: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        biased;
        _ = shutdown.cancelled() => true,
        _ = tokio::time::sleep(delay) => false,
    }
}

/// Seconds, to the millisecond, for log fields.
pub(crate) fn seconds(d: Duration) -> f64 {
    d.as_millis() as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap_and_resets_after_a_good_connection() {
        let policy = ReconnectPolicy {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(1000),
            reset_after: Duration::from_secs(5),
        };
        let mut backoff = Backoff::new(policy, "norway");
        let delays: Vec<Duration> = (0..8).map(|_| backoff.next_delay()).collect();
        for (i, delay) in delays.iter().enumerate() {
            let base = Duration::from_millis(100 * (1 << i)).min(policy.max);
            assert!(
                *delay >= base / 2 && *delay <= base,
                "attempt {i}: {delay:?} not within half of {base:?}"
            );
        }
        assert!(delays[7] <= policy.max);
        backoff.connection_lasted(Duration::from_secs(1));
        assert!(
            backoff.next_delay() >= Duration::from_millis(500),
            "short-lived: no reset"
        );
        backoff.connection_lasted(Duration::from_secs(5));
        assert!(backoff.next_delay() <= Duration::from_millis(100), "reset");

        // Deterministic per name, and different between names.
        let again: Vec<Duration> = {
            let mut b = Backoff::new(policy, "norway");
            (0..8).map(|_| b.next_delay()).collect()
        };
        assert_eq!(again, delays);
        let other: Vec<Duration> = {
            let mut b = Backoff::new(policy, "catcher");
            (0..8).map(|_| b.next_delay()).collect()
        };
        assert_ne!(other, delays);
    }

    #[test]
    fn backoff_survives_a_long_outage_without_overflow() {
        let mut backoff = Backoff::new(ReconnectPolicy::up_to(Duration::from_secs(60)), "x");
        for _ in 0..10_000 {
            assert!(backoff.next_delay() <= Duration::from_secs(60));
        }
    }
}
