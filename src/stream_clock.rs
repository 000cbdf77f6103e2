//! The stream clock's plausibility rule: which event times may move the engine's "now", and
//! the events held back while a jump ahead waits for other vessels to confirm it.
//!
//! One bad time (a corrupted tag block, an epoch outside the checksum) must not move the clock
//! for ever: a time before 2000 or from 2100 on is refused outright; a time more than
//! `max_clock_jump_hours` ahead of the clock is held until events of `clock_jump_quorum`
//! distinct MMSIs agree on it (a feed that really resumed after an outage), and refused if the
//! input ends or the clock reaches it without that quorum.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::detect::DetectParams;
use crate::model::{AisEvent, LineRef, Mmsi};
use crate::time::{UnixMillis, MILLIS_PER_HOUR};

/// No AIS log predates 2000 (the standard's first receivers came later): an earlier time is
/// a corrupt or unset clock.
pub const EARLIEST_EVENT: UnixMillis = UnixMillis::from_secs(946_684_800);
/// 2100-01-01T00:00Z: times from here on are refused whatever the rest of the input says.
pub const LATEST_EVENT: UnixMillis = UnixMillis::from_secs(4_102_444_800);
/// Events held back at once; a real resumption confirms itself within a few events, so more
/// than this are a flood of bad times.
pub const MAX_HELD_EVENTS: usize = 1024;

/// Why an event's time was refused: the counters of [`crate::engine::EngineStats`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedTimes {
    /// Timed before 2000-01-01.
    pub before_2000: u64,
    /// Timed 2100-01-01 or later.
    pub from_2100: u64,
    /// Too far ahead of the clock and never confirmed by other vessels.
    pub unconfirmed_jump: u64,
    /// Too far ahead while the held events were already at their bound.
    pub held_full: u64,
}

impl RefusedTimes {
    pub fn total(&self) -> u64 {
        self.before_2000 + self.from_2100 + self.unconfirmed_jump + self.held_full
    }
}

/// What the engine does with one timed event.
#[derive(Debug, PartialEq)]
pub enum Admission {
    /// Plausible: apply it now.
    Apply,
    /// Held back until confirmed or refused; nothing of it is applied yet.
    Held,
    /// Refused, counted in the stats passed to [`StreamClockGuard::admit`].
    Refused,
    /// The jump is confirmed: apply these held events (this one included), in arrival order.
    Confirmed(Vec<AisEvent>),
}

/// The events held back, in arrival order: part of the engine's checkpoint, so that a
/// restarted service goes on waiting for the same confirmation.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(into = "SavedGuard", from = "SavedGuard")]
pub struct StreamClockGuard {
    held: Vec<AisEvent>,
}

/// The guard as a checkpoint holds it: with the line each held event ended on, which is not
/// part of an event's serialised form (without it a restarted service could not hand out the
/// evidence a held event is).
#[derive(Serialize, Deserialize)]
struct SavedGuard {
    held: Vec<AisEvent>,
    #[serde(default)]
    held_lines: Vec<Option<LineRef>>,
}

impl From<StreamClockGuard> for SavedGuard {
    fn from(guard: StreamClockGuard) -> SavedGuard {
        let held_lines = AisEvent::lines_of(&guard.held);
        SavedGuard {
            held: guard.held,
            held_lines,
        }
    }
}

impl From<SavedGuard> for StreamClockGuard {
    fn from(saved: SavedGuard) -> StreamClockGuard {
        let mut held = saved.held;
        AisEvent::put_back_lines(&mut held, saved.held_lines);
        StreamClockGuard { held }
    }
}

impl StreamClockGuard {
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Judges `event` (timed `time`) against the stream clock.
    pub fn admit(
        &mut self,
        params: &DetectParams,
        event: &AisEvent,
        time: UnixMillis,
        clock: Option<UnixMillis>,
        refused: &mut RefusedTimes,
    ) -> Admission {
        if time < EARLIEST_EVENT {
            refused.before_2000 += 1;
            return Admission::Refused;
        }
        if time >= LATEST_EVENT {
            refused.from_2100 += 1;
            return Admission::Refused;
        }
        let max_jump = max_jump_ms(params);
        let Some(clock) = clock else {
            return Admission::Apply;
        };
        if time.as_millis() - clock.as_millis() <= max_jump {
            return Admission::Apply;
        }
        if self.held.len() >= MAX_HELD_EVENTS {
            refused.held_full += 1;
            return Admission::Refused;
        }
        self.held.push(event.clone());
        let near = |other: &AisEvent| {
            other
                .time()
                .is_some_and(|t| (t.as_millis() - time.as_millis()).abs() <= max_jump)
        };
        let vessels: BTreeSet<Mmsi> = self
            .held
            .iter()
            .filter(|e| near(e))
            .map(AisEvent::mmsi)
            .collect();
        if vessels.len() < params.clock_jump_quorum.max(1) as usize {
            return Admission::Held;
        }
        // Held events the clock passes through on its way to the confirmed time are as
        // plausible as it: in a sorted replay, sparse reports days before a busy stretch are
        // each a jump no quorum confirms alone, yet the stretch after them confirms them all.
        let reached = |other: &AisEvent| {
            other
                .time()
                .is_some_and(|t| t.as_millis() - time.as_millis() <= max_jump)
        };
        let (confirmed, still_held) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(reached);
        self.held = still_held;
        Admission::Confirmed(confirmed)
    }

    /// After the clock moved to `clock` without them, held events it has come within a jump
    /// of arrived too early to be true: they are refused.
    pub fn caught_up(
        &mut self,
        params: &DetectParams,
        clock: UnixMillis,
        refused: &mut RefusedTimes,
    ) {
        if self.held.is_empty() {
            return;
        }
        let max_jump = max_jump_ms(params);
        let before = self.held.len();
        self.held.retain(|e| {
            e.time()
                .is_some_and(|t| t.as_millis() - clock.as_millis() > max_jump)
        });
        refused.unconfirmed_jump += (before - self.held.len()) as u64;
    }

    /// The input ended: whatever is still held was never confirmed.
    pub fn refuse_all(&mut self, refused: &mut RefusedTimes) {
        refused.unconfirmed_jump += self.held.len() as u64;
        self.held.clear();
    }
}

fn max_jump_ms(params: &DetectParams) -> i64 {
    (params.max_clock_jump_hours * MILLIS_PER_HOUR as f64).round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Heard, VesselReport};

    #[test]
    fn held_events_keep_their_lines_through_a_checkpoint() {
        let clock = UnixMillis::from_secs(1_710_000_000);
        let ahead = UnixMillis(clock.as_millis() + 48 * MILLIS_PER_HOUR);
        let at = LineRef {
            source: 2,
            line: 81_234,
            offset: 4_096_000,
        };
        let mut report = AisEvent::VesselReport(VesselReport {
            mmsi: Mmsi(273_000_001),
            msg_type: 5,
            heard: Heard {
                time: Some(ahead),
                ..Heard::default()
            },
            ..VesselReport::default()
        });
        report.mark_line(at);
        let mut guard = StreamClockGuard::default();
        let admission = guard.admit(
            &DetectParams::default(),
            &report,
            ahead,
            Some(clock),
            &mut RefusedTimes::default(),
        );
        assert!(matches!(admission, Admission::Held));
        let saved = serde_json::to_string(&guard).unwrap();
        let restored: StreamClockGuard = serde_json::from_str(&saved).unwrap();
        assert_eq!(restored.held.len(), 1);
        assert_eq!(restored.held[0].heard().line, Some(at), "{saved}");
        // A checkpoint written before the lines were saved still reads.
        let older: StreamClockGuard =
            serde_json::from_str(&saved.replace(",\"held_lines\":[{", ",\"x\":[{")).unwrap();
        assert_eq!(older.held[0].heard().line, None);
    }
}
