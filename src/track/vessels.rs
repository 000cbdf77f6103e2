//! The vessel table: every vessel heard, keyed by MMSI, with its last fix, its identity and
//! static data, its unwritten track buffer, and the checkpoint a restart resumes from.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::copies::{
    copy_key, is_copy, report_copy_key, ReportSeen, DEFAULT_COPY_WINDOW_MS, NO_COPY_KEY,
};
use super::identity::Identity;
use super::points::{pack_point, point_time, TrackChunk, TrackPoint, POINT_BYTES};
use super::segments::{
    apply_shared, fill_after, late_chunk, parked_chunk, route, LeftSegment, Parked, Route,
    SegmentCounts, SegmentRow, SegmentRule, SegmentSet, SegmentSummary,
};
use super::{day_of, Position, FIRST_SEGMENT};
use crate::hashed::MmsiMap;
use crate::model::{Fix, Mmsi, VesselReport};
use crate::time::{UnixMillis, MILLIS_PER_HOUR};

mod memory;

/// Everything known about one vessel. Kept small: a service tracks every MMSI it hears.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Vessel {
    pub mmsi: Mmsi,
    pub watched: bool,
    /// Changed since last written (and listed in the table's dirty list).
    dirty: bool,
    pub fixes: u32,
    pub late_fixes: u32,
    /// The segment (transmitter) whose state the fields below hold: the one heard last.
    #[serde(default = "super::first_segment")]
    pub segment: u32,
    /// Has segments in the table's side table: the one flag a fix of the other MMSIs reads.
    #[serde(skip)]
    segmented: bool,
    pub first_heard: UnixMillis,
    pub last_heard: UnixMillis,
    pub last_fix: Option<Position>,
    /// The last fix's [`copy_key`]: another receiver's copy of it has the same.
    #[serde(default)]
    pub(super) last_fix_key: u64,
    /// The last static report applied: another receiver's copy of it says the same.
    #[serde(default)]
    last_report: ReportSeen,
    /// Latest identity; shared with `identity_at_last_fix` until a report changes it.
    pub identity: Arc<Identity>,
    /// The identity as it stood when the last fix arrived: "before" evidence for a gap.
    pub identity_at_last_fix: Arc<Identity>,
    /// Static fields first heard after the last fix, once the vessel has been silent a while:
    /// "after" evidence when the next fix closes a gap.
    pub reports_since_last_fix: Option<Box<Identity>>,
    /// Time of the last point kept in the thinned track (millis; `i64::MIN` before the first).
    pub(super) last_track_ms: i64,
    /// Thinned points not yet written, packed (see [`pack_point`]), all of one UTC day.
    pub(super) track_buffer: Vec<u8>,
}

impl Vessel {
    fn new(mmsi: Mmsi, time: UnixMillis, identity: Arc<Identity>) -> Vessel {
        Vessel {
            mmsi,
            watched: false,
            dirty: false,
            fixes: 0,
            late_fixes: 0,
            segment: FIRST_SEGMENT,
            segmented: false,
            first_heard: time,
            last_heard: time,
            last_fix: None,
            last_fix_key: NO_COPY_KEY,
            last_report: ReportSeen::default(),
            identity_at_last_fix: identity.clone(),
            identity,
            reports_since_last_fix: None,
            last_track_ms: i64::MIN,
            track_buffer: Vec::new(),
        }
    }

    /// Widens the span the vessel was heard over: a late message can be its earliest, as a
    /// live feed that delivers an archive's fixes after its static reports shows.
    fn heard_at(&mut self, time: UnixMillis) {
        self.first_heard = self.first_heard.min(time);
        self.last_heard = self.last_heard.max(time);
    }
}

/// How a fix relates to what the vessel table already knew.
#[derive(Clone, Debug, PartialEq)]
pub enum FixOrder {
    /// The vessel's first fix.
    First,
    /// Newer than the previous fix. When the silence since `previous` was long, the evidence
    /// around it comes along: the identity as it stood at `previous`, and static fields heard
    /// since.
    Next {
        previous: Position,
        silence: Option<SilenceEvidence>,
    },
    /// Same time as the latest fix: the same report heard twice (two receivers, two feeds).
    Duplicate,
    /// Older than the latest fix of its segment: late or out-of-order data.
    Late,
    /// No segment of the MMSI could have sent it: the first fix of a new transmitter. `left`
    /// is the segment the MMSI was heard on last, when it had been silent at least the
    /// silence asked for: that silence ended with another transmitter's fix.
    NewSegment { left: Option<LeftSegment> },
}

/// What a vessel said before and after a silence.
#[derive(Clone, Debug, PartialEq)]
pub struct SilenceEvidence {
    pub before: Arc<Identity>,
    pub heard_since: Option<Box<Identity>>,
}

const TRACK_BUFFER_MAX_POINTS: usize = 512;

/// A vessel silent this long before a static report starts collecting "after" evidence.
const SILENCE_FOR_AFTER_EVIDENCE_MS: i64 = MILLIS_PER_HOUR;

/// What a restarted service needs of the vessel table: every vessel with its unwritten track
/// buffer; the index and the dirty list are rebuilt.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct VesselTableCheckpoint {
    vessels: Vec<Vessel>,
    #[serde(default)]
    segments: Vec<(Mmsi, SegmentSet)>,
    #[serde(default)]
    segment_counts: SegmentCounts,
}

impl VesselTableCheckpoint {
    /// The vessels, in table order, leaving the checkpoint without them (a store keeps each
    /// vessel in its own row and rewrites only the ones that changed).
    pub fn take_vessels(&mut self) -> Vec<Vessel> {
        std::mem::take(&mut self.vessels)
    }

    pub fn set_vessels(&mut self, vessels: Vec<Vessel>) {
        self.vessels = vessels;
    }
}

/// The vessel table: a dense vector of vessels and an MMSI index into it (half the memory of
/// a map holding the vessels themselves).
#[derive(Debug)]
pub struct VesselTable {
    index: MmsiMap<u32>,
    vessels: Vec<Vessel>,
    /// Vessels changed since `take_dirty`.
    dirty: Vec<u32>,
    /// One shared empty identity for every vessel not yet identified.
    unidentified: Arc<Identity>,
    track_interval_ms: i64,
    segment_rule: SegmentRule,
    /// How far apart another reception of a last fix may be timed (0: every copy stored).
    copy_window_ms: i64,
    /// Segments of the MMSIs that have more than one; most MMSIs never appear here.
    segments: MmsiMap<SegmentSet>,
    /// Rows of segments given up since the last `take_segment_rows`.
    retired: Vec<SegmentRow>,
    segment_counts: SegmentCounts,
}

impl VesselTable {
    pub fn new(track_interval_minutes: u32) -> VesselTable {
        VesselTable {
            index: MmsiMap::default(),
            vessels: Vec::new(),
            dirty: Vec::new(),
            unidentified: Arc::new(Identity::default()),
            track_interval_ms: i64::from(track_interval_minutes) * 60_000,
            segment_rule: SegmentRule::default(),
            copy_window_ms: DEFAULT_COPY_WINDOW_MS,
            segments: MmsiMap::default(),
            retired: Vec::new(),
            segment_counts: SegmentCounts::default(),
        }
    }

    /// Sets when a fix joins a segment (see [`SegmentRule`]).
    pub fn set_segment_rule(&mut self, rule: SegmentRule) {
        self.segment_rule = rule;
    }

    /// `[decode] duplicate_window_s`, across sources (see [`copy_key`]).
    pub fn set_copy_window_ms(&mut self, window_ms: i64) {
        self.copy_window_ms = window_ms;
    }

    pub fn segment_counts(&self) -> SegmentCounts {
        self.segment_counts
    }

    pub fn len(&self) -> usize {
        self.vessels.len()
    }

    /// The table a checkpoint describes. Identities equal to nothing share the one empty
    /// identity again, as they did before.
    pub fn restore(track_interval_minutes: u32, checkpoint: VesselTableCheckpoint) -> VesselTable {
        let mut table = VesselTable::new(track_interval_minutes);
        for mut vessel in checkpoint.vessels {
            if *vessel.identity == Identity::default() {
                vessel.identity = table.unidentified.clone();
            }
            if vessel.identity_at_last_fix == vessel.identity {
                vessel.identity_at_last_fix = vessel.identity.clone();
            }
            let i = table.vessels.len() as u32;
            if vessel.dirty {
                table.dirty.push(i);
            }
            table.index.insert(vessel.mmsi, i);
            table.vessels.push(vessel);
        }
        table.segments = checkpoint.segments.into_iter().collect();
        for mmsi in table.segments.keys() {
            if let Some(&i) = table.index.get(mmsi) {
                table.vessels[i as usize].segmented = true;
            }
        }
        table.segment_counts = checkpoint.segment_counts;
        table
    }

    pub fn is_empty(&self) -> bool {
        self.vessels.is_empty()
    }

    pub fn get(&self, mmsi: Mmsi) -> Option<&Vessel> {
        self.index.get(&mmsi).map(|&i| &self.vessels[i as usize])
    }

    pub fn iter(&self) -> impl Iterator<Item = &Vessel> {
        self.vessels.iter()
    }

    /// Sets whether a vessel is watched; true when that changed it.
    pub fn set_watched(&mut self, mmsi: Mmsi, watched: bool) -> bool {
        let Some(&i) = self.index.get(&mmsi) else {
            return false;
        };
        let vessel = &mut self.vessels[i as usize];
        if vessel.watched == watched {
            return false;
        }
        vessel.watched = watched;
        mark_dirty(vessel, i, &mut self.dirty);
        true
    }

    /// The vessels changed since their last row, in MMSI order, their changed flags cleared.
    pub fn take_dirty(&mut self) -> Vec<Mmsi> {
        let dirty = std::mem::take(&mut self.dirty);
        let mut mmsis: Vec<Mmsi> = dirty
            .into_iter()
            .map(|i| {
                let vessel = &mut self.vessels[i as usize];
                vessel.dirty = false;
                vessel.mmsi
            })
            .collect();
        mmsis.sort_unstable();
        mmsis
    }

    fn vessel_index(&mut self, mmsi: Mmsi, time: UnixMillis) -> usize {
        let next = self.vessels.len() as u32;
        let i = *self.index.entry(mmsi).or_insert(next);
        if i == next {
            self.vessels
                .push(Vessel::new(mmsi, time, self.unidentified.clone()));
        }
        mark_dirty(&mut self.vessels[i as usize], i, &mut self.dirty);
        i as usize
    }

    /// Records a fix; returns how it relates to the previous fix of its segment and which
    /// segment took it, and adds any track chunk that a day change or a full buffer
    /// completed. `silence_ms` is the shortest silence for which the caller wants the
    /// evidence around it.
    pub fn observe_fix(
        &mut self,
        fix: &Fix,
        time: UnixMillis,
        silence_ms: i64,
        chunks: &mut Vec<TrackChunk>,
    ) -> (FixOrder, u32) {
        let interval = self.track_interval_ms;
        let i = self.vessel_index(fix.mmsi, time);
        let vessel = &mut self.vessels[i];
        let key = copy_key(fix);
        let window = self.copy_window_ms;
        if is_copy(vessel.last_fix, vessel.last_fix_key, key, time, window) {
            // Another receiver's copy: as if the decoder's duplicate filter had seen it.
            return (FixOrder::Duplicate, vessel.segment);
        }
        vessel.heard_at(time);
        let several_before = vessel.segmented
            && self
                .segments
                .get(&fix.mmsi)
                .is_some_and(|set| set.confirmed() >= 2);
        let mut started = None;
        match self.route(i, fix, time) {
            Route::Inline => {}
            Route::Parked(k) => {
                let set = self
                    .segments
                    .get_mut(&fix.mmsi)
                    .expect("routed to a parked segment");
                let vessel = &mut self.vessels[i];
                if time > set.parked[k].last_fix.time {
                    swap_in(vessel, set, k);
                } else {
                    let order = parked_late(vessel, &mut set.parked[k], fix, time, chunks);
                    return (order, set.parked[k].summary.segment);
                }
            }
            Route::NewSegment => started = Some(self.start_segment(i, time, silence_ms, chunks)),
        }
        let vessel = &mut self.vessels[i];
        let order =
            match (started, vessel.last_fix) {
                (Some(left), _) => FixOrder::NewSegment { left },
                (None, None) => FixOrder::First,
                (None, Some(previous)) if time > previous.time => {
                    let silence = (time.as_millis() - previous.time.as_millis() >= silence_ms)
                        .then(|| SilenceEvidence {
                            before: vessel.identity_at_last_fix.clone(),
                            heard_since: vessel.reports_since_last_fix.take(),
                        });
                    FixOrder::Next { previous, silence }
                }
                (None, Some(previous)) if time == previous.time => FixOrder::Duplicate,
                (None, Some(_)) => FixOrder::Late,
            };
        let segment = vessel.segment;
        match order {
            FixOrder::Duplicate => return (order, segment),
            FixOrder::Late => {
                vessel.late_fixes += 1;
                chunks.push(late_chunk(fix, segment, time));
                return (order, segment);
            }
            FixOrder::First | FixOrder::Next { .. } | FixOrder::NewSegment { .. } => {}
        }
        vessel.fixes += 1;
        vessel.last_fix = Some(Position::of(fix, time));
        vessel.last_fix_key = key;
        let segments = if vessel.segmented {
            self.segments.get_mut(&fix.mmsi)
        } else {
            None
        };
        let own_identity = match segments {
            Some(set) => {
                set.inline.fixes += 1;
                set.inline.heard(time);
                set.inline_jumped = false;
                &set.inline_identity
            }
            None => &vessel.identity,
        };
        if !Arc::ptr_eq(&vessel.identity_at_last_fix, own_identity) {
            vessel.identity_at_last_fix = own_identity.clone();
        }
        vessel.reports_since_last_fix = None;
        if time.as_millis().saturating_sub(vessel.last_track_ms) >= interval {
            if vessel.track_buffer.len() >= POINT_BYTES {
                let buffered_day = point_time(&vessel.track_buffer).div_euclid(86_400_000);
                if buffered_day != day_of(time)
                    || vessel.track_buffer.len() >= TRACK_BUFFER_MAX_POINTS * POINT_BYTES
                {
                    let chunk = take_chunk(vessel);
                    // The new day's buffer is sized by the day before: a vessel keeps its
                    // rate, and growing from empty copies the buffer a handful of times a day.
                    vessel.track_buffer.reserve_exact(chunk.packed.len());
                    chunks.push(chunk);
                }
            }
            pack_point(&TrackPoint::of(fix, time, false), &mut vessel.track_buffer);
            vessel.last_track_ms = time.as_millis();
        }
        let several_after = vessel.segmented
            && self
                .segments
                .get(&fix.mmsi)
                .is_some_and(|set| set.confirmed() >= 2);
        match (several_before, several_after) {
            (false, true) => self.segment_counts.several_transmitters += 1,
            (true, false) => self.segment_counts.several_transmitters -= 1,
            _ => {}
        }
        (order, segment)
    }

    /// Which segment of the vessel at `i` a fix could have come from: the one it lies best
    /// within reach of, or none.
    fn route(&self, i: usize, fix: &Fix, time: UnixMillis) -> Route {
        let vessel = &self.vessels[i];
        let Some(last) = vessel.last_fix else {
            return Route::Inline;
        };
        let rule = &self.segment_rule;
        if rule.max_segments <= 1 {
            return Route::Inline;
        }
        let set = if vessel.segmented {
            self.segments.get(&vessel.mmsi)
        } else {
            None
        };
        route(rule, last, set, fix, time)
    }

    /// Parks the inline segment of the vessel at `i` and gives the vessel a fresh one, giving
    /// up the segment heard least recently when the MMSI already has as many as allowed.
    fn start_segment(
        &mut self,
        i: usize,
        time: UnixMillis,
        silence_ms: i64,
        chunks: &mut Vec<TrackChunk>,
    ) -> Option<LeftSegment> {
        let vessel = &mut self.vessels[i];
        let last = vessel.last_fix.expect("a new segment follows a fix");
        // Reports heard since the last fix that describe another hull were the new
        // transmitter's (one comes on air with its static data): they go with it.
        let newcomer = (!vessel.segmented
            && vessel.identity.hull_differs(&vessel.identity_at_last_fix))
        .then(|| vessel.identity.clone());
        let set = self
            .segments
            .entry(vessel.mmsi)
            .or_insert_with(|| SegmentSet {
                inline: SegmentSummary {
                    segment: vessel.segment,
                    first_heard: vessel.first_heard,
                    last_heard: last.time,
                    fixes: vessel.fixes,
                },
                inline_identity: if newcomer.is_some() {
                    vessel.identity_at_last_fix.clone()
                } else {
                    vessel.identity.clone()
                },
                inline_jumped: false,
                parked: Vec::new(),
                next_id: vessel.segment + 1,
            });
        if 1 + set.parked.len() >= self.segment_rule.max_segments as usize {
            if let Some(k) = set.oldest_parked() {
                let mut given_up = set.parked.swap_remove(k);
                if !given_up.track_buffer.is_empty() {
                    chunks.push(parked_chunk(vessel.mmsi, &mut given_up));
                }
                self.retired.push(SegmentRow {
                    mmsi: vessel.mmsi,
                    summary: given_up.summary,
                    last_fix: Some(given_up.last_fix),
                    identity: (*given_up.identity).clone(),
                    live: false,
                });
                self.segment_counts.dropped += 1;
            }
        }
        let left = (time.as_millis() - last.time.as_millis() >= silence_ms).then(|| LeftSegment {
            segment: vessel.segment,
            last_fix: last,
            before: vessel.identity_at_last_fix.clone(),
        });
        let id = set.next_id;
        set.next_id += 1;
        let parked = Parked {
            summary: std::mem::replace(&mut set.inline, SegmentSummary::new(id, time)),
            last_fix: last,
            identity: std::mem::replace(
                &mut set.inline_identity,
                newcomer.unwrap_or_else(|| self.unidentified.clone()),
            ),
            identity_at_last_fix: std::mem::replace(
                &mut vessel.identity_at_last_fix,
                self.unidentified.clone(),
            ),
            reports_since_last_fix: vessel.reports_since_last_fix.take(),
            last_track_ms: std::mem::replace(&mut vessel.last_track_ms, i64::MIN),
            track_buffer: std::mem::take(&mut vessel.track_buffer),
            // Its silence ended with another transmitter taking the number: not dark, whatever
            // the silence was long enough to record.
            jumped: true,
        };
        set.parked.push(parked);
        set.inline_jumped = false;
        vessel.segment = id;
        vessel.segmented = true;
        vessel.last_fix = None;
        vessel.last_fix_key = NO_COPY_KEY;
        self.segment_counts.started += 1;
        left
    }

    /// Folds a static report into the identity of the MMSI and of the segment it belongs to;
    /// returns whether the MMSI's identity changed, and that segment. `None`: another
    /// reception of the report applied last (see [`report_copy_key`]), which changes nothing.
    pub fn observe_report(
        &mut self,
        report: &VesselReport,
        time: UnixMillis,
    ) -> Option<(bool, u32)> {
        let window = self.copy_window_ms;
        let i = self.vessel_index(report.mmsi, time);
        let vessel = &mut self.vessels[i];
        let key = report_copy_key(report);
        if vessel.last_report.is_copy(key, time, window) {
            return None;
        }
        vessel.last_report = ReportSeen::new(key, time);
        vessel.heard_at(time);
        let silent_since = |last: Option<Position>| {
            last.is_some_and(|last| {
                time.as_millis() - last.time.as_millis() >= SILENCE_FOR_AFTER_EVIDENCE_MS
            })
        };
        let segments = if vessel.segmented {
            self.segments.get_mut(&report.mmsi)
        } else {
            None
        };
        let segment = match segments {
            None => {
                if silent_since(vessel.last_fix) {
                    fill_after(&mut vessel.reports_since_last_fix, report);
                }
                vessel.segment
            }
            Some(set) => {
                let inline_fix = vessel.last_fix.map_or(UnixMillis(i64::MIN), |p| p.time);
                match set.owner_of(inline_fix, report, time) {
                    None => {
                        set.inline.heard(time);
                        if silent_since(vessel.last_fix) {
                            fill_after(&mut vessel.reports_since_last_fix, report);
                        }
                        apply_shared(&mut set.inline_identity, report);
                        vessel.segment
                    }
                    Some(k) => {
                        let parked = &mut set.parked[k];
                        parked.summary.heard(time);
                        if silent_since(Some(parked.last_fix)) {
                            fill_after(&mut parked.reports_since_last_fix, report);
                        }
                        apply_shared(&mut parked.identity, report);
                        parked.summary.segment
                    }
                }
            }
        };
        Some((apply_shared(&mut vessel.identity, report), segment))
    }

    /// The segments of `mmsi` whose silence may be an open gap: each segment's id, last fix
    /// and identity at that fix. A segment of one stray fix is not a transmitter yet, and one
    /// whose silence another transmitter's fix already ended is not silent.
    pub fn silent_candidates(
        &self,
        mmsi: Mmsi,
    ) -> impl Iterator<Item = (u32, Position, &Arc<Identity>)> + '_ {
        let vessel = self.get(mmsi);
        let set = vessel
            .filter(|v| v.segmented)
            .and_then(|_| self.segments.get(&mmsi));
        let inline = vessel.and_then(|v| {
            let candidate = set.is_none_or(|s| !s.inline_jumped && s.inline.is_confirmed());
            let last = v.last_fix.filter(|_| candidate)?;
            Some((v.segment, last, &v.identity_at_last_fix))
        });
        let parked = set.into_iter().flat_map(|s| {
            s.parked
                .iter()
                .filter(|p| !p.jumped && p.summary.is_confirmed())
                .map(|p| (p.summary.segment, p.last_fix, &p.identity_at_last_fix))
        });
        inline.into_iter().chain(parked)
    }

    /// The static data of each live segment of an MMSI that has more than one (none for the
    /// others, whose one identity is the vessel's).
    pub fn segment_identities(&self, mmsi: Mmsi) -> impl Iterator<Item = &Identity> + '_ {
        self.segments.get(&mmsi).into_iter().flat_map(|set| {
            std::iter::once(&*set.inline_identity).chain(set.parked.iter().map(|p| &*p.identity))
        })
    }

    /// Rows of every segment of the given MMSIs that have more than one, and of segments
    /// given up since the last call. MMSIs with one segment have no rows: their one
    /// transmitter is the vessel row itself.
    pub fn take_segment_rows(&mut self, mmsis: &[Mmsi]) -> Vec<SegmentRow> {
        let mut rows = std::mem::take(&mut self.retired);
        for mmsi in mmsis {
            let (Some(set), Some(vessel)) = (self.segments.get(mmsi), self.get(*mmsi)) else {
                continue;
            };
            rows.push(SegmentRow {
                mmsi: *mmsi,
                summary: set.inline,
                last_fix: vessel.last_fix,
                identity: (*set.inline_identity).clone(),
                live: true,
            });
            rows.extend(set.parked.iter().map(|p| SegmentRow {
                mmsi: *mmsi,
                summary: p.summary,
                last_fix: Some(p.last_fix),
                identity: (*p.identity).clone(),
                live: true,
            }));
        }
        rows
    }

    /// Takes the track buffers of every segment whose buffered day is before `day`.
    pub fn take_finished_tracks(&mut self, day: i64, chunks: &mut Vec<TrackChunk>) {
        let finished = |buffer: &[u8]| {
            buffer.len() >= POINT_BYTES && point_time(buffer).div_euclid(86_400_000) < day
        };
        for vessel in &mut self.vessels {
            if finished(&vessel.track_buffer) {
                chunks.push(take_chunk(vessel));
            }
        }
        for (mmsi, set) in &mut self.segments {
            for parked in &mut set.parked {
                if finished(&parked.track_buffer) {
                    chunks.push(parked_chunk(*mmsi, parked));
                }
            }
        }
    }

    /// Takes every non-empty track buffer (end of input, shutdown).
    pub fn take_all_tracks(&mut self, chunks: &mut Vec<TrackChunk>) {
        for vessel in &mut self.vessels {
            if !vessel.track_buffer.is_empty() {
                chunks.push(take_chunk(vessel));
            }
        }
        for (mmsi, set) in &mut self.segments {
            for parked in &mut set.parked {
                if !parked.track_buffer.is_empty() {
                    chunks.push(parked_chunk(*mmsi, parked));
                }
            }
        }
    }
}

/// Makes parked segment `k` the vessel's inline one, parking the inline one in its place.
fn swap_in(vessel: &mut Vessel, set: &mut SegmentSet, k: usize) {
    let parked = &mut set.parked[k];
    std::mem::swap(&mut set.inline, &mut parked.summary);
    std::mem::swap(&mut set.inline_identity, &mut parked.identity);
    std::mem::swap(&mut set.inline_jumped, &mut parked.jumped);
    if let Some(last) = vessel.last_fix.replace(parked.last_fix) {
        parked.last_fix = last;
    }
    std::mem::swap(
        &mut vessel.identity_at_last_fix,
        &mut parked.identity_at_last_fix,
    );
    std::mem::swap(
        &mut vessel.reports_since_last_fix,
        &mut parked.reports_since_last_fix,
    );
    std::mem::swap(&mut vessel.last_track_ms, &mut parked.last_track_ms);
    std::mem::swap(&mut vessel.track_buffer, &mut parked.track_buffer);
    vessel.segment = set.inline.segment;
}

/// A fix no newer than the last of the parked segment it belongs to.
fn parked_late(
    vessel: &mut Vessel,
    parked: &mut Parked,
    fix: &Fix,
    time: UnixMillis,
    chunks: &mut Vec<TrackChunk>,
) -> FixOrder {
    if time == parked.last_fix.time {
        return FixOrder::Duplicate;
    }
    vessel.late_fixes += 1;
    chunks.push(late_chunk(fix, parked.summary.segment, time));
    FixOrder::Late
}

fn mark_dirty(vessel: &mut Vessel, index: u32, dirty: &mut Vec<u32>) {
    if !vessel.dirty {
        vessel.dirty = true;
        dirty.push(index);
    }
}

fn take_chunk(vessel: &mut Vessel) -> TrackChunk {
    let packed = std::mem::take(&mut vessel.track_buffer);
    TrackChunk {
        mmsi: vessel.mmsi,
        segment: vessel.segment,
        day: point_time(&packed).div_euclid(86_400_000),
        packed,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::model::{Heard, TimeSource, TransceiverClass};

    /// The checks made before copying a shared identity agree with what folding the report in
    /// does, field by field: unknown, equal and different values, on either side.
    #[test]
    fn the_checks_before_copying_agree_with_applying_and_filling() {
        let values = |i: usize| VesselReport {
            imo: [None, Some(9_045_613), Some(8_914_934)][i % 3],
            name: [None, Some("UN BYOL 2".into()), Some("PAEK YANG".into())][i / 3 % 3].clone(),
            draught: [None, Some(3.6), Some(5.1)][i / 9 % 3],
            class: [None, Some(TransceiverClass::A), Some(TransceiverClass::B)][i / 27 % 3],
            ..VesselReport::default()
        };
        for held in 0..81 {
            let mut identity = Identity::default();
            identity.apply(&values(held));
            for heard in 0..81 {
                let report = values(heard);
                let (mut applied, mut filled) = (identity.clone(), identity.clone());
                assert_eq!(identity.would_change(&report), applied.apply(&report));
                filled.fill_unknown(&report);
                assert_eq!(identity.fills_from(&report), filled != identity);
                let mut shared = Arc::new(identity.clone());
                let _other_holder = Arc::clone(&shared);
                assert_eq!(apply_shared(&mut shared, &report), applied != identity);
                assert_eq!(*shared, applied);
            }
        }
    }

    const T0: i64 = 1_709_856_000_000;
    const MINUTE: i64 = 60_000;
    const MMSI: Mmsi = Mmsi(445_000_001);

    fn fix(minutes: i64, lat: f64, lon: f64) -> (Fix, UnixMillis) {
        let time = UnixMillis(T0 + minutes * MINUTE);
        let heard = Heard {
            time: Some(time),
            time_source: Some(TimeSource::TagBlock),
            station: None,
            channel: None,
            line: None,
        };
        (Fix::bare(MMSI, 1, heard, lat, lon), time)
    }

    fn hull(minutes: i64, length: u16, ship_type: u8) -> (VesselReport, UnixMillis) {
        let report = VesselReport {
            mmsi: MMSI,
            msg_type: 5,
            length: Some(length),
            beam: Some(length / 6),
            ship_type: Some(ship_type),
            ..VesselReport::default()
        };
        (report, UnixMillis(T0 + minutes * MINUTE))
    }

    fn observe(table: &mut VesselTable, minutes: i64, lat: f64, lon: f64) -> (FixOrder, u32) {
        let (fix, time) = fix(minutes, lat, lon);
        table.observe_fix(&fix, time, 6 * 60 * MINUTE, &mut Vec::new())
    }

    #[test]
    fn a_late_message_can_be_the_first_heard() {
        let mut table = VesselTable::new(10);
        let (report, _) = hull(0, 96, 81);
        table.observe_report(&report, UnixMillis(T0 + 90 * MINUTE));
        observe(&mut table, 30, 42.7, 133.0);
        let vessel = table.get(MMSI).unwrap();
        assert_eq!(
            (vessel.first_heard, vessel.last_heard),
            (UnixMillis(T0 + 30 * MINUTE), UnixMillis(T0 + 90 * MINUTE))
        );
    }

    #[test]
    fn a_moored_vessel_with_gps_scatter_and_a_slow_one_stay_one_segment() {
        let mut table = VesselTable::new(10);
        for step in 0..500i64 {
            // Moored: a few metres of scatter every few seconds; then 3 kn for hours.
            let scatter = (step % 7) as f64 * 0.000_05;
            let (order, segment) = observe(&mut table, step / 20, 42.7 + scatter, 133.0);
            assert!(!matches!(order, FixOrder::NewSegment { .. }), "{step}");
            assert_eq!(segment, FIRST_SEGMENT);
        }
        for step in 0..200i64 {
            let lat = 42.7 + step as f64 * 3.0 / 60.0 / 6.0;
            observe(&mut table, 30 + step * 10, lat, 133.0);
        }
        assert_eq!(table.segment_counts(), SegmentCounts::default());
        assert!(
            table.segments.is_empty(),
            "nothing kept aside for one transmitter"
        );
    }

    #[test]
    fn interleaved_transmitters_keep_their_own_segments_and_static_data() {
        let mut table = VesselTable::new(10);
        let tanker = hull(0, 96, 81);
        table.observe_report(&tanker.0, tanker.1);
        for step in 0..40 {
            let minutes = step * 5;
            let (_, north) = observe(&mut table, minutes, 42.5 + 0.001 * step as f64, 133.0);
            let (_, south) = observe(&mut table, minutes + 2, 33.0, 127.0);
            assert_eq!((north, south), (1, 2), "step {step}");
            if step == 3 {
                // Static data follows no fix of its own: the hull decides.
                let (report, _) = hull(0, 180, 70);
                let at = |minutes| UnixMillis(T0 + minutes * MINUTE);
                let (_, owner) = table.observe_report(&report, at(16)).expect("a new report");
                assert_eq!(owner, 2);
                let (_, owner) = table
                    .observe_report(&tanker.0, at(17))
                    .expect("a new report");
                assert_eq!(owner, 1);
            }
        }
        let counts = table.segment_counts();
        assert_eq!((counts.started, counts.several_transmitters), (1, 1));
        let lengths: Vec<Option<u16>> = table.segment_identities(MMSI).map(|i| i.length).collect();
        assert_eq!(lengths, [Some(180), Some(96)], "inline (heard last) first");
        let mut chunks = Vec::new();
        table.take_all_tracks(&mut chunks);
        let segments: BTreeSet<u32> = chunks.iter().map(|c| c.segment).collect();
        assert_eq!(segments, BTreeSet::from([1, 2]));
        let rows = table.take_segment_rows(&[MMSI]);
        assert_eq!(rows.iter().map(|r| r.summary.fixes).sum::<u32>(), 80);
    }

    #[test]
    fn the_segments_of_an_mmsi_are_bounded_and_the_least_recently_heard_is_given_up() {
        let mut table = VesselTable::new(10);
        table.set_segment_rule(SegmentRule {
            max_segments: 3,
            ..SegmentRule::default()
        });
        // Five transmitters 300 nm apart, each heard twice in turn.
        for round in 0..2 {
            for k in 0..5 {
                observe(&mut table, round * 10 + k, 30.0 + 5.0 * k as f64, 130.0);
            }
        }
        let counts = table.segment_counts();
        assert_eq!(table.segments[&MMSI].parked.len(), 2);
        assert_eq!(
            counts.started, 9,
            "every fix came from a transmitter no longer tracked"
        );
        assert_eq!(counts.dropped, 7);
        let rows = table.take_segment_rows(&[MMSI]);
        assert_eq!(rows.iter().filter(|r| !r.live).count(), 7);
        assert_eq!(rows.iter().filter(|r| r.live).count(), 3);
    }
}
