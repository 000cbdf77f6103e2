//! A source's counters: the shared [`SourceMetrics`] its task bumps and the service reports,
//! their point-in-time copy, the guard that keeps the `connected` gauge honest, and the rule
//! for how often repeated trouble is logged.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use serde::Serialize;

use crate::time::UnixMillis;

/// Counters of one source, shared between its task and whoever reports them.
#[derive(Debug, Default)]
pub struct SourceMetrics {
    /// Connections made, clients accepted, devices or files opened.
    pub(crate) connects: AtomicU64,
    /// Connections, clients, devices or files that ended (closed, failed, stalled, rotated).
    pub(crate) disconnects: AtomicU64,
    /// Read timeouts: a connection, client or device that went silent.
    pub(crate) stalls: AtomicU64,
    /// Lines handed on.
    pub(crate) lines: AtomicU64,
    /// Bytes read, garbage included.
    pub(crate) bytes: AtomicU64,
    /// Lines longer than `max_line_bytes`, dropped.
    pub(crate) too_long: AtomicU64,
    /// Lines dropped because the channel was full (UDP only: the rest wait instead).
    pub(crate) dropped: AtomicU64,
    /// Datagrams the kernel dropped because the socket's receive buffer was full (UDP only;
    /// from `SO_RXQ_OVFL`, so each is a datagram, mostly one line).
    pub(crate) kernel_dropped: AtomicU64,
    /// Failed connects, opens, binds, reads, and clients refused over the limit.
    pub(crate) errors: AtomicU64,
    /// Open connections, clients, devices, files or bound sockets right now.
    pub(crate) connected: AtomicU64,
    /// Receive time of the last line handed on; 0 before the first.
    pub(crate) last_line_at_ms: AtomicI64,
}

/// A point-in-time copy of [`SourceMetrics`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SourceMetricsSnapshot {
    pub connects: u64,
    pub disconnects: u64,
    pub stalls: u64,
    pub lines: u64,
    pub bytes: u64,
    pub too_long: u64,
    pub dropped: u64,
    pub kernel_dropped: u64,
    pub errors: u64,
    /// Open connections (or clients, devices, files, bound sockets) at the moment of the copy.
    pub connected: u64,
    pub last_line_at: Option<UnixMillis>,
}

impl SourceMetrics {
    pub fn snapshot(&self) -> SourceMetricsSnapshot {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let last = self.last_line_at_ms.load(Ordering::Relaxed);
        SourceMetricsSnapshot {
            connects: get(&self.connects),
            disconnects: get(&self.disconnects),
            stalls: get(&self.stalls),
            lines: get(&self.lines),
            bytes: get(&self.bytes),
            too_long: get(&self.too_long),
            dropped: get(&self.dropped),
            kernel_dropped: get(&self.kernel_dropped),
            errors: get(&self.errors),
            connected: get(&self.connected),
            last_line_at: (last != 0).then_some(UnixMillis(last)),
        }
    }

    /// Adds one and returns the new count.
    pub(crate) fn bump(counter: &AtomicU64) -> u64 {
        counter.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub(crate) fn add(counter: &AtomicU64, n: u64) -> u64 {
        counter.fetch_add(n, Ordering::Relaxed) + n
    }

    pub(crate) fn opened(&self) {
        Self::bump(&self.connects);
        self.connected.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn closed(&self) {
        Self::bump(&self.disconnects);
        // Saturating: a close is never counted without its open, but a gauge must not wrap.
        let _ = self
            .connected
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }
}

/// Marks one connection, client, device or file as open for as long as it lives; dropping it
/// (also when a task is aborted) counts the disconnect.
#[derive(Debug)]
pub(crate) struct Opened(Arc<SourceMetrics>);

impl Opened {
    pub fn new(metrics: &Arc<SourceMetrics>) -> Opened {
        metrics.opened();
        Opened(metrics.clone())
    }
}

impl Drop for Opened {
    fn drop(&mut self) {
        self.0.closed();
    }
}

/// A counter of repeated trouble is logged at 1, 2, 4, 8, ...: the first occurrence is seen at
/// once and a flood cannot flood the log.
pub(crate) fn worth_logging(count: u64) -> bool {
    count.is_power_of_two()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_reports_counters_and_the_last_line_time() {
        let metrics = SourceMetrics::default();
        assert_eq!(metrics.snapshot(), SourceMetricsSnapshot::default());
        metrics.opened();
        metrics.opened();
        metrics.closed();
        metrics
            .last_line_at_ms
            .store(1_700_000_000_000, Ordering::Relaxed);
        let snap = metrics.snapshot();
        assert_eq!((snap.connects, snap.disconnects, snap.connected), (2, 1, 1));
        assert_eq!(snap.last_line_at, Some(UnixMillis(1_700_000_000_000)));
        let json = serde_json::to_string(&snap).unwrap();
        assert!(
            json.contains("\"last_line_at\":\"2023-11-14T22:13:20Z\""),
            "{json}"
        );
    }
}
