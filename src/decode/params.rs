//! `[decode]`'s parameters: how long and how many incomplete multi-sentence messages are held,
//! and how close in time a repeated message counts as a duplicate reception, and how many
//! lines a time sentence times.

use serde::{Deserialize, Serialize};

/// `[decode]`: multi-sentence message assembly and duplicate receptions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DecodeParams {
    /// Seconds after which an incomplete multi-sentence message is dropped.
    pub fragment_timeout_s: u32,
    /// Most incomplete messages held at once; beyond it the oldest is dropped.
    pub max_pending_fragments: usize,
    /// Lines after a `$GPZDA` / `$GPRMC` that it times, at most (live feeds also stop after
    /// `fragment_timeout_s` of receive time).
    pub time_sentence_max_lines: u64,
    /// Seconds of event time within which a message with the same payload as an earlier one
    /// (several receivers or talkers relaying one transmission) is a duplicate: counted, not
    /// emitted. 0 keeps every copy.
    pub duplicate_window_s: f64,
    /// Seconds a message's own time (tag block, log column, `$PGHP`...) may be ahead of the
    /// time its line was received on a live source before the message is refused: a clock no
    /// real transmission can have must not move the stream clock. 0 switches the check off.
    pub max_ahead_of_receipt_s: f64,
}

/// Ten minutes: receiver and aggregator clocks drift by seconds, rarely by minutes; a message
/// timed further ahead of its own reception is not a time to believe.
pub const DEFAULT_MAX_AHEAD_OF_RECEIPT_S: f64 = 600.0;

impl DecodeParams {
    /// The duplicate window in milliseconds, as the decoder takes it.
    pub fn duplicate_window_ms(&self) -> i64 {
        (self.duplicate_window_s * 1000.0).round() as i64
    }

    /// The receipt tolerance in milliseconds, as the decoder takes it (0: no check).
    pub fn max_ahead_of_receipt_ms(&self) -> i64 {
        (self.max_ahead_of_receipt_s * 1000.0).round() as i64
    }
}

impl Default for DecodeParams {
    fn default() -> Self {
        DecodeParams {
            fragment_timeout_s: 60,
            max_pending_fragments: 1024,
            duplicate_window_s: 5.0,
            max_ahead_of_receipt_s: DEFAULT_MAX_AHEAD_OF_RECEIPT_S,
            time_sentence_max_lines: super::DEFAULT_TIME_SENTENCE_MAX_LINES,
        }
    }
}
