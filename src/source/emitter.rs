//! The [`Emitter`]: how a source hands its lines to the service, waiting for room (the
//! backpressure) or, for datagrams, offering them all or none and counting what is dropped.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::mpsc::Sender;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::source::metrics::{worth_logging, SourceMetrics};
use crate::source::spec::{FileMark, RawLine};
use crate::time::UnixMillis;

/// Hands lines to the service on behalf of one source, counting as it goes.
#[derive(Clone, Debug)]
pub(crate) struct Emitter {
    pub name: Arc<str>,
    /// For log records; the framers hold the bound itself.
    pub max_line_bytes: usize,
    pub lines: Sender<RawLine>,
    pub metrics: Arc<SourceMetrics>,
    pub shutdown: CancellationToken,
}

/// What became of a datagram's lines offered without waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Offer {
    Delivered,
    Dropped,
    Closed,
}

impl Emitter {
    /// Waits for room in the channel (this is the backpressure); false once the source must
    /// stop: shutdown, or nobody is listening any more.
    pub async fn deliver(&self, line: Vec<u8>, received_at: UnixMillis) -> bool {
        self.deliver_marked(line, received_at, None).await
    }

    /// As [`Emitter::deliver`], for a line of a file that ends at `mark`.
    pub async fn deliver_marked(
        &self,
        line: Vec<u8>,
        received_at: UnixMillis,
        mark: Option<FileMark>,
    ) -> bool {
        let raw = RawLine {
            source: self.name.clone(),
            received_at,
            line,
            mark,
        };
        tokio::select! {
            biased;
            _ = self.shutdown.cancelled() => false,
            sent = self.lines.send(raw) => {
                if sent.is_ok() {
                    self.line_delivered(received_at);
                }
                sent.is_ok()
            }
        }
    }

    /// Offers all `lines` at once or none (a datagram's sentences stay together), without
    /// waiting.
    pub fn offer_all(&self, lines: Vec<Vec<u8>>, received_at: UnixMillis) -> Offer {
        if lines.is_empty() {
            return Offer::Delivered;
        }
        let count = lines.len();
        if count > self.lines.max_capacity() {
            // More than the channel can ever hold together: offer them one by one.
            let mut offer = Offer::Delivered;
            for line in lines {
                match self.lines.try_send(self.raw(line, received_at)) {
                    Ok(()) => self.line_delivered(received_at),
                    Err(TrySendError::Full(_)) => {
                        self.dropped(1);
                        offer = Offer::Dropped;
                    }
                    Err(TrySendError::Closed(_)) => return Offer::Closed,
                }
            }
            return offer;
        }
        match self.lines.try_reserve_many(count) {
            Ok(permits) => {
                for (permit, line) in permits.zip(lines) {
                    permit.send(self.raw(line, received_at));
                    self.line_delivered(received_at);
                }
                Offer::Delivered
            }
            Err(TrySendError::Full(())) => {
                self.dropped(count as u64);
                Offer::Dropped
            }
            Err(TrySendError::Closed(())) => Offer::Closed,
        }
    }

    fn raw(&self, line: Vec<u8>, received_at: UnixMillis) -> RawLine {
        RawLine {
            source: self.name.clone(),
            received_at,
            line,
            mark: None,
        }
    }

    fn line_delivered(&self, received_at: UnixMillis) {
        SourceMetrics::bump(&self.metrics.lines);
        self.metrics
            .last_line_at_ms
            .store(received_at.as_millis(), Ordering::Relaxed);
    }

    fn dropped(&self, n: u64) {
        let before = self.metrics.dropped.load(Ordering::Relaxed);
        let after = SourceMetrics::add(&self.metrics.dropped, n);
        // Log when the count crosses a power of two, however many were dropped at once.
        if (before + 1..=after).any(worth_logging) {
            warn!(source = %self.name, dropped = after, "Channel full; dropping datagrams.");
        }
    }

    pub fn too_long(&self, n: u64) {
        if n == 0 {
            return;
        }
        let before = self.metrics.too_long.load(Ordering::Relaxed);
        let after = SourceMetrics::add(&self.metrics.too_long, n);
        if (before + 1..=after).any(worth_logging) {
            warn!(
                source = %self.name,
                too_long = after,
                max_line_bytes = self.max_line_bytes,
                "Line over the length limit dropped."
            );
        }
    }

    pub fn error(&self) -> u64 {
        SourceMetrics::bump(&self.metrics.errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn datagram_lines_are_offered_all_or_none() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(3);
        let out = Emitter {
            name: Arc::from("udp"),
            max_line_bytes: 100,
            lines: tx,
            metrics: Arc::default(),
            shutdown: CancellationToken::new(),
        };
        let two = || vec![b"a".to_vec(), b"b".to_vec()];
        assert_eq!(out.offer_all(two(), UnixMillis(1)), Offer::Delivered);
        assert_eq!(
            out.offer_all(two(), UnixMillis(2)),
            Offer::Dropped,
            "one slot left"
        );
        assert_eq!(
            out.offer_all(vec![b"c".to_vec()], UnixMillis(3)),
            Offer::Delivered
        );
        let many: Vec<Vec<u8>> = (0..5).map(|i| vec![b'0' + i]).collect();
        rx.recv().await.unwrap();
        assert_eq!(out.offer_all(many, UnixMillis(4)), Offer::Dropped);
        let snap = out.metrics.snapshot();
        assert_eq!((snap.lines, snap.dropped), (4, 6), "one of five fitted");
        drop(rx);
        assert_eq!(out.offer_all(two(), UnixMillis(5)), Offer::Closed);
    }
}
