//! What the engine does when one MMSI is several transmitters: a silence ended by another
//! transmitter, and a tally corrected when the data after a gap shows another hull.

use super::{ClosedGap, Engine};
use crate::detect::{DetectParams, GapRecord, GapStatus, Reason};
use crate::model::Mmsi;
use crate::track::{LeftSegment, Position, SegmentRule, FIRST_SEGMENT};

pub(super) fn first_segment() -> u32 {
    FIRST_SEGMENT
}

/// A fix joins a segment within the speed that also marks a position jump across a gap.
pub(super) fn segment_rule(params: &DetectParams) -> SegmentRule {
    SegmentRule {
        speed_kn: params.jump_speed_kn,
        floor_nm: params.segment_floor_nm,
        max_segments: params.segments_per_mmsi,
    }
}

impl Engine {
    /// The MMSI was silent on one transmitter and is heard again on another, where the first
    /// could not have been: recorded as a position jump of the silent segment, so the silence
    /// is not mistaken for a voyage. Should that transmitter be heard again, its own next fix
    /// judges the gap afresh (same key).
    pub(super) fn end_silence_by_another_transmitter(
        &mut self,
        mmsi: Mmsi,
        left: LeftSegment,
        b: Position,
    ) {
        self.open.remove(&mmsi);
        let gap = ClosedGap {
            segment: left.segment,
            a: left.last_fix,
            b,
            before: left.before,
            after: None,
        };
        let Some(mut record) = self.judge(mmsi, &gap) else {
            return;
        };
        record.status = GapStatus::PositionJump;
        record.confidence = None;
        self.count_judgement(&record);
        self.emit_judgement(record, Reason::Closed { fix: b.time });
    }

    /// A trip tallied at fix B that the static data heard after it shows to be another hull
    /// is taken out of the tally (and the other way round).
    pub(super) fn recount_hull_change(&mut self, mmsi: Mmsi, earlier: &ClosedGap, now: &GapRecord) {
        let Some(before) = self.judge(mmsi, earlier) else {
            return;
        };
        if before.status == now.status {
            return;
        }
        for (record, sign) in [(&before, -1i64), (now, 1)] {
            let counter = match record.status {
                GapStatus::Trip if record.watched => &mut self.stats.trips,
                GapStatus::DifferentVessel => &mut self.stats.different_vessels,
                _ => continue,
            };
            *counter = counter.saturating_add_signed(sign);
        }
    }
}
