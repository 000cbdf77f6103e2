//! Transmitters behind one MMSI: the rule that tells whether a fix could have come from a
//! segment's last position, the side table of extra segments (kept only for MMSIs that have
//! more than one), and how static reports are attached to the segment they belong to.
//!
//! An MMSI is not a vessel: several hulls can send the same number, interleaved. Each MMSI's
//! fixes are split into segments that are each physically consistent; a segment is one
//! transmitter. The vessel's own fields hold the segment heard most recently ("inline"); the
//! others wait here, with everything a gap of theirs needs, and swap in when they are heard.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::points::{pack_point, point_time, TrackChunk, TrackPoint, POINT_BYTES};
use super::{day_of, Identity, Position};
use crate::model::{Fix, Mmsi, VesselReport};
use crate::ports::haversine_nm;
use crate::time::{UnixMillis, MILLIS_PER_HOUR};

/// When a fix joins a segment: it lies within `floor_nm + speed_kn x hours` of the segment's
/// last fix (either side in time), the floor absorbing GPS noise over short intervals.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentRule {
    pub speed_kn: f64,
    pub floor_nm: f64,
    /// Live segments kept per MMSI; 1 turns segmentation off (every fix joins the one track).
    pub max_segments: u32,
}

impl Default for SegmentRule {
    fn default() -> Self {
        SegmentRule {
            speed_kn: 40.0,
            floor_nm: 1.0,
            max_segments: 4,
        }
    }
}

impl SegmentRule {
    /// Whether `(lat, lon)` at `time` could have been sent from `from`, and if so how far the
    /// hull could have gone in between (nautical miles): of several segments that could have
    /// sent a fix, the one with the least room is the likeliest, which is the one heard
    /// closest in time. A segment silent for days can reach almost anywhere, so it must not
    /// take fixes from a transmitter heard minutes ago.
    pub fn reach(&self, from: Position, lat: f64, lon: f64, time: UnixMillis) -> Option<f64> {
        let hours =
            (time.as_millis() - from.time.as_millis()).abs() as f64 / MILLIS_PER_HOUR as f64;
        let allowed = self.floor_nm + self.speed_kn * hours;
        (haversine_nm(from.lat, from.lon, lat, lon) <= allowed).then_some(allowed)
    }
}

/// What `query vessel` shows of one transmitter.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentSummary {
    pub segment: u32,
    /// First and last event attributed to it (fixes and static reports).
    pub first_heard: UnixMillis,
    pub last_heard: UnixMillis,
    pub fixes: u32,
}

impl SegmentSummary {
    pub(super) fn new(segment: u32, time: UnixMillis) -> SegmentSummary {
        SegmentSummary {
            segment,
            first_heard: time,
            last_heard: time,
            fixes: 0,
        }
    }

    pub(super) fn heard(&mut self, time: UnixMillis) {
        self.first_heard = self.first_heard.min(time);
        self.last_heard = self.last_heard.max(time);
    }

    /// Heard often enough to be a transmitter rather than one stray position.
    pub fn is_confirmed(&self) -> bool {
        self.fixes >= 2
    }
}

/// A segment while another one holds the vessel's inline fields: the same state, parked.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct Parked {
    pub(super) summary: SegmentSummary,
    pub(super) last_fix: Position,
    /// The static data attached to this segment.
    pub(super) identity: Arc<Identity>,
    pub(super) identity_at_last_fix: Arc<Identity>,
    pub(super) reports_since_last_fix: Option<Box<Identity>>,
    pub(super) last_track_ms: i64,
    pub(super) track_buffer: Vec<u8>,
    /// Its silence was already recorded, ended by another transmitter's fix: no open gap.
    pub(super) jumped: bool,
}

/// The segments of one MMSI that has (or had) more than one.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct SegmentSet {
    /// The inline segment's summary and static data (its other state is the vessel's own).
    pub(super) inline: SegmentSummary,
    pub(super) inline_identity: Arc<Identity>,
    pub(super) inline_jumped: bool,
    pub(super) parked: Vec<Parked>,
    pub(super) next_id: u32,
}

impl SegmentSet {
    pub(super) fn confirmed(&self) -> usize {
        usize::from(self.inline.is_confirmed())
            + self
                .parked
                .iter()
                .filter(|p| p.summary.is_confirmed())
                .count()
    }

    /// The parked segment heard least recently: the one a full set gives up.
    pub(super) fn oldest_parked(&self) -> Option<usize> {
        (0..self.parked.len()).min_by_key(|&i| self.parked[i].summary.last_heard)
    }

    /// Which segment a static report belongs to: `None` for the inline one, else a parked
    /// index. Reports of interleaved transmitters follow no fix of their own, so the hull
    /// they describe decides first: the segment whose known hull it matches (the one heard
    /// closest before it, if several), else one whose hull is not known yet. Failing both, or
    /// for a report that says nothing of the hull, the segment heard most recently at or
    /// before it.
    pub(super) fn owner_of(
        &self,
        inline_fix: UnixMillis,
        report: &VesselReport,
        time: UnixMillis,
    ) -> Option<usize> {
        let slots = || {
            std::iter::once((None, inline_fix, &self.inline_identity)).chain(
                self.parked
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (Some(i), p.last_fix.time, &p.identity)),
            )
        };
        let latest = |candidates: Vec<(Option<usize>, UnixMillis)>| {
            let before = candidates
                .iter()
                .filter(|(_, t)| *t <= time)
                .max_by_key(|(_, t)| *t);
            before
                .or_else(|| candidates.iter().min_by_key(|(_, t)| *t))
                .map(|(slot, _)| *slot)
        };
        let hull = report_identity(report);
        if speaks_of_hull(&hull) {
            let matching = slots()
                .filter(|(_, _, identity)| {
                    speaks_of_hull(identity) && !identity.hull_differs(&hull)
                })
                .map(|(slot, t, _)| (slot, t))
                .collect();
            if let Some(slot) = latest(matching) {
                return slot;
            }
            let unknown = slots()
                .filter(|(_, _, identity)| !speaks_of_hull(identity))
                .map(|(slot, t, _)| (slot, t))
                .collect();
            if let Some(slot) = latest(unknown) {
                return slot;
            }
        }
        latest(slots().map(|(slot, t, _)| (slot, t)).collect()).flatten()
    }
}

fn report_identity(report: &VesselReport) -> Identity {
    let mut identity = Identity::default();
    identity.apply(report);
    identity
}

fn speaks_of_hull(identity: &Identity) -> bool {
    identity.length.is_some_and(|l| l > 0)
        || identity.beam.is_some_and(|b| b > 0)
        || identity.ship_type.is_some_and(|t| t > 0)
}

/// Dimensions typed in by crews differ by a metre or two between reports of one hull (reference
/// points moved, rounding); beyond these, it is another hull.
const LENGTH_TOLERANCE_M: f64 = 5.0;
const BEAM_TOLERANCE_M: f64 = 2.0;
const DIMENSION_TOLERANCE_SHARE: f64 = 0.1;

impl Identity {
    /// Whether `other` describes a different hull: a length or beam that differs beyond what
    /// typing explains (5 m / 2 m, or 10 %), or a ship type of another category (tanker, cargo,
    /// fishing: the tens digit). Unknown or zero values prove nothing.
    pub fn hull_differs(&self, other: &Identity) -> bool {
        let apart = |a: Option<u16>, b: Option<u16>, tolerance_m: f64| match (a, b) {
            (Some(a), Some(b)) if a > 0 && b > 0 => {
                let (a, b) = (f64::from(a), f64::from(b));
                (a - b).abs() > tolerance_m.max(DIMENSION_TOLERANCE_SHARE * a.max(b))
            }
            _ => false,
        };
        let category = |t: Option<u8>| t.filter(|&t| t > 0).map(|t| t / 10);
        let types_apart = matches!(
            (category(self.ship_type), category(other.ship_type)),
            (Some(a), Some(b)) if a != b
        );
        apart(self.length, other.length, LENGTH_TOLERANCE_M)
            || apart(self.beam, other.beam, BEAM_TOLERANCE_M)
            || types_apart
    }
}

/// The segment an MMSI was heard on before another transmitter took over its number.
#[derive(Clone, Debug, PartialEq)]
pub struct LeftSegment {
    pub segment: u32,
    pub last_fix: Position,
    pub before: Arc<Identity>,
}

/// One segment as the store keeps it: what `query vessel` shows of each transmitter.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SegmentRow {
    pub mmsi: Mmsi,
    #[serde(flatten)]
    pub summary: SegmentSummary,
    pub last_fix: Option<Position>,
    /// The static data attached to this segment.
    pub identity: Identity,
    /// Still tracked; false once the bound on segments per MMSI gave it up.
    pub live: bool,
}

/// What segmenting found so far, for the counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SegmentCounts {
    /// Segments started after an MMSI's first (a fix no segment could have sent).
    pub started: u64,
    /// Segments given up because an MMSI had as many as the bound allows.
    pub dropped: u64,
    /// MMSIs with more than one live segment of at least two fixes each, now.
    pub several_transmitters: u64,
}

/// Late points are rare and belong to a past stretch of track: written alone.
pub(super) fn late_chunk(fix: &Fix, segment: u32, time: UnixMillis) -> TrackChunk {
    let mut packed = Vec::with_capacity(POINT_BYTES);
    pack_point(&TrackPoint::of(fix, time, true), &mut packed);
    TrackChunk {
        mmsi: fix.mmsi,
        segment,
        day: day_of(time),
        packed,
    }
}

pub(super) fn parked_chunk(mmsi: Mmsi, parked: &mut Parked) -> TrackChunk {
    let packed = std::mem::take(&mut parked.track_buffer);
    TrackChunk {
        mmsi,
        segment: parked.summary.segment,
        day: point_time(&packed).div_euclid(86_400_000),
        packed,
    }
}

pub(super) fn fill_after(slot: &mut Option<Box<Identity>>, report: &VesselReport) {
    slot.get_or_insert_with(Default::default)
        .fill_unknown(report);
}

/// Where a fix goes among an MMSI's segments.
pub(super) enum Route {
    Inline,
    Parked(usize),
    NewSegment,
}

/// The segment a fix could have come from: of those it lies within reach of, the one with the
/// least room (heard closest in time), or none. `last` is the inline segment's last fix.
pub(super) fn route(
    rule: &SegmentRule,
    last: Position,
    set: Option<&SegmentSet>,
    fix: &Fix,
    time: UnixMillis,
) -> Route {
    let inline = rule.reach(last, fix.lat, fix.lon, time);
    let Some(set) = set else {
        // The common case: one transmitter, one comparison, nothing allocated.
        return if inline.is_some() {
            Route::Inline
        } else {
            Route::NewSegment
        };
    };
    let mut best = inline.map(|room| (room, Route::Inline));
    for (k, parked) in set.parked.iter().enumerate() {
        if let Some(room) = rule.reach(parked.last_fix, fix.lat, fix.lon, time) {
            if best.as_ref().is_none_or(|(least, _)| room < *least) {
                best = Some((room, Route::Parked(k)));
            }
        }
    }
    best.map_or(Route::NewSegment, |(_, route)| route)
}

/// Folds a static report into a shared identity, copying it only when the report changes a
/// field: a feed that repeats the same static data on every row (CSV exports) would otherwise
/// copy the identity each row, since the last fix holds it too.
pub(super) fn apply_shared(identity: &mut Arc<Identity>, report: &VesselReport) -> bool {
    identity.would_change(report) && Arc::make_mut(identity).apply(report)
}

impl Identity {
    /// Whether [`Identity::apply`] of `report` would change a field.
    pub(super) fn would_change(&self, report: &VesselReport) -> bool {
        fn differs<T: PartialEq>(slot: &Option<T>, value: &Option<T>) -> bool {
            value.is_some() && slot != value
        }
        differs(&self.imo, &report.imo)
            || differs(&self.name, &report.name)
            || differs(&self.callsign, &report.callsign)
            || differs(&self.ship_type, &report.ship_type)
            || differs(&self.length, &report.length)
            || differs(&self.beam, &report.beam)
            || differs(&self.draught, &report.draught)
            || differs(&self.destination, &report.destination)
            || differs(&self.class, &report.class)
    }

    /// Whether [`Identity::fill_unknown`] of `report` would fill a field.
    pub fn fills_from(&self, report: &VesselReport) -> bool {
        fn fills<T>(slot: &Option<T>, value: &Option<T>) -> bool {
            slot.is_none() && value.is_some()
        }
        fills(&self.imo, &report.imo)
            || fills(&self.name, &report.name)
            || fills(&self.callsign, &report.callsign)
            || fills(&self.ship_type, &report.ship_type)
            || fills(&self.length, &report.length)
            || fills(&self.beam, &report.beam)
            || fills(&self.draught, &report.draught)
            || fills(&self.destination, &report.destination)
            || fills(&self.class, &report.class)
    }

    /// Whether `older` knows a field this identity does not: what
    /// [`Identity::fill_unknown_from`] would fill.
    pub fn lacks_any_of(&self, older: &Identity) -> bool {
        fn lacks<T>(slot: &Option<T>, value: &Option<T>) -> bool {
            slot.is_none() && value.is_some()
        }
        lacks(&self.imo, &older.imo)
            || lacks(&self.name, &older.name)
            || lacks(&self.callsign, &older.callsign)
            || lacks(&self.ship_type, &older.ship_type)
            || lacks(&self.length, &older.length)
            || lacks(&self.beam, &older.beam)
            || lacks(&self.draught, &older.draught)
            || lacks(&self.destination, &older.destination)
            || lacks(&self.class, &older.class)
    }

    /// Fills the fields still unknown from `older`, field by field (`COALESCE(self, older)`).
    pub fn fill_unknown_from(&mut self, older: &Identity) {
        fill_if_unknown(&mut self.imo, &older.imo);
        fill_if_unknown(&mut self.name, &older.name);
        fill_if_unknown(&mut self.callsign, &older.callsign);
        fill_if_unknown(&mut self.ship_type, &older.ship_type);
        fill_if_unknown(&mut self.length, &older.length);
        fill_if_unknown(&mut self.beam, &older.beam);
        fill_if_unknown(&mut self.draught, &older.draught);
        fill_if_unknown(&mut self.destination, &older.destination);
        fill_if_unknown(&mut self.class, &older.class);
    }
}

/// Sets `slot` to `value` while `slot` is unknown.
pub(super) fn fill_if_unknown<T: Clone>(slot: &mut Option<T>, value: &Option<T>) {
    if slot.is_none() {
        slot.clone_from(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_709_856_000_000;
    const MINUTE: i64 = 60_000;

    fn at(minutes: i64, lat: f64, lon: f64) -> Position {
        Position {
            time: UnixMillis(T0 + minutes * MINUTE),
            lat,
            lon,
        }
    }

    #[test]
    fn noise_on_short_intervals_joins_and_an_impossible_move_does_not() {
        let rule = SegmentRule::default();
        let moored = at(0, 42.735, 133.075);
        // 100 m of GPS scatter two seconds later: no speed explains it, the floor does.
        assert!(rule
            .reach(moored, 42.7359, 133.075, UnixMillis(T0 + 2_000))
            .is_some());
        // 12 kn for 10 minutes is 2 nm: fine. 60 nm in 10 minutes is another transmitter.
        let ten_minutes = at(10, 0.0, 0.0).time;
        assert!(rule
            .reach(moored, 42.735 + 2.0 / 60.0, 133.075, ten_minutes)
            .is_some());
        assert_eq!(rule.reach(moored, 42.735 + 1.0, 133.075, ten_minutes), None);
        // A 30 h dark call 60 nm away and back is well within reach, with more room than a
        // segment heard ten minutes ago has.
        let back = rule.reach(moored, 42.735 - 1.0, 133.075, at(30 * 60, 0.0, 0.0).time);
        assert!(back.unwrap() > 1000.0);
    }

    #[test]
    fn a_hull_differs_by_dimensions_or_type_category_not_by_typing_noise() {
        let hull = |length, beam, ship_type| Identity {
            length: Some(length),
            beam: Some(beam),
            ship_type: Some(ship_type),
            ..Identity::default()
        };
        assert!(!hull(96, 15, 81).hull_differs(&hull(98, 16, 84)));
        assert!(hull(96, 15, 81).hull_differs(&hull(60, 15, 81)));
        assert!(hull(96, 15, 81).hull_differs(&hull(96, 22, 81)));
        assert!(hull(96, 15, 81).hull_differs(&hull(96, 15, 70)));
        assert!(!hull(96, 15, 81).hull_differs(&Identity::default()));
        assert!(!hull(96, 15, 0).hull_differs(&hull(96, 15, 70)));
    }
}
