//! The vessel table: every vessel heard, keyed by MMSI, with its last fix, its identity and
//! static data, its unwritten track buffer, and the checkpoint a restart resumes from.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::coverage::HeardNear;
use super::points::{pack_point, point_time, TrackChunk, TrackPoint, POINT_BYTES};
use super::{day_of, Position};
use crate::model::{Fix, Mmsi, TransceiverClass, VesselReport};
use crate::time::{UnixMillis, MILLIS_PER_HOUR};

/// Who a vessel says it is: the latest value of each static field.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    pub imo: Option<u32>,
    pub name: Option<String>,
    pub callsign: Option<String>,
    pub ship_type: Option<u8>,
    pub length: Option<u16>,
    pub beam: Option<u16>,
    pub draught: Option<f32>,
    pub destination: Option<String>,
    pub class: Option<TransceiverClass>,
}

/// One static field that differs across a dark period.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct IdentityChange {
    pub field: String,
    pub before: String,
    pub after: String,
}

fn set_if_new<T: PartialEq + Clone>(slot: &mut Option<T>, value: &Option<T>) -> bool {
    match value {
        Some(v) if slot.as_ref() != Some(v) => {
            *slot = Some(v.clone());
            true
        }
        _ => false,
    }
}

impl Identity {
    /// Folds a static report in; true when any field changed.
    pub fn apply(&mut self, report: &VesselReport) -> bool {
        let mut changed = false;
        changed |= set_if_new(&mut self.imo, &report.imo);
        changed |= set_if_new(&mut self.name, &report.name);
        changed |= set_if_new(&mut self.callsign, &report.callsign);
        changed |= set_if_new(&mut self.ship_type, &report.ship_type);
        changed |= set_if_new(&mut self.length, &report.length);
        changed |= set_if_new(&mut self.beam, &report.beam);
        changed |= set_if_new(&mut self.draught, &report.draught);
        changed |= set_if_new(&mut self.destination, &report.destination);
        changed |= set_if_new(&mut self.class, &report.class);
        changed
    }

    /// Fills only the fields still unknown: "the first value heard after" semantics.
    pub fn fill_unknown(&mut self, report: &VesselReport) {
        fn fill<T: Clone>(slot: &mut Option<T>, value: &Option<T>) {
            if slot.is_none() {
                slot.clone_from(value);
            }
        }
        fill(&mut self.imo, &report.imo);
        fill(&mut self.name, &report.name);
        fill(&mut self.callsign, &report.callsign);
        fill(&mut self.ship_type, &report.ship_type);
        fill(&mut self.length, &report.length);
        fill(&mut self.beam, &report.beam);
        fill(&mut self.draught, &report.draught);
        fill(&mut self.destination, &report.destination);
        fill(&mut self.class, &report.class);
    }

    /// Identity fields (not voyage data such as draught or destination) that differ between
    /// `self` (before) and `after`, where both are known.
    pub fn changes_to(&self, after: &Identity) -> Vec<IdentityChange> {
        let mut changes = Vec::new();
        let mut compare = |field: &'static str, before: Option<String>, after: Option<String>| {
            if let (Some(b), Some(a)) = (before, after) {
                if b != a {
                    changes.push(IdentityChange {
                        field: field.to_string(),
                        before: b,
                        after: a,
                    });
                }
            }
        };
        let text = |s: &Option<String>| s.as_ref().map(|s| s.trim().to_string());
        let num = |n: Option<u32>| n.map(|n| n.to_string());
        compare("imo", num(self.imo), num(after.imo));
        compare("name", text(&self.name), text(&after.name));
        compare("callsign", text(&self.callsign), text(&after.callsign));
        compare(
            "ship_type",
            num(self.ship_type.map(u32::from)),
            num(after.ship_type.map(u32::from)),
        );
        compare(
            "length",
            num(self.length.map(u32::from)),
            num(after.length.map(u32::from)),
        );
        compare(
            "beam",
            num(self.beam.map(u32::from)),
            num(after.beam.map(u32::from)),
        );
        changes
    }
}

/// Everything known about one vessel. Kept small: a service tracks every MMSI it hears.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Vessel {
    pub mmsi: Mmsi,
    pub watched: bool,
    /// Which ports' coverage already counted this vessel in its latest hour. A cache of what
    /// the coverage bins hold, so a checkpoint leaves it out.
    #[serde(skip)]
    pub heard_near: HeardNear,
    /// Changed since last written (and listed in the table's dirty list).
    dirty: bool,
    pub fixes: u32,
    pub late_fixes: u32,
    pub first_heard: UnixMillis,
    pub last_heard: UnixMillis,
    pub last_fix: Option<Position>,
    /// Latest identity; shared with `identity_at_last_fix` until a report changes it.
    pub identity: Arc<Identity>,
    /// The identity as it stood when the last fix arrived: "before" evidence for a gap.
    pub identity_at_last_fix: Arc<Identity>,
    /// Static fields first heard after the last fix, once the vessel has been silent a while:
    /// "after" evidence when the next fix closes a gap.
    pub reports_since_last_fix: Option<Box<Identity>>,
    /// Time of the last point kept in the thinned track (millis; `i64::MIN` before the first).
    last_track_ms: i64,
    /// Thinned points not yet written, packed (see [`pack_point`]), all of one UTC day.
    track_buffer: Vec<u8>,
}

impl Vessel {
    fn new(mmsi: Mmsi, time: UnixMillis, identity: Arc<Identity>) -> Vessel {
        Vessel {
            mmsi,
            watched: false,
            heard_near: HeardNear::default(),
            dirty: false,
            fixes: 0,
            late_fixes: 0,
            first_heard: time,
            last_heard: time,
            last_fix: None,
            identity_at_last_fix: identity.clone(),
            identity,
            reports_since_last_fix: None,
            last_track_ms: i64::MIN,
            track_buffer: Vec::new(),
        }
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
    /// Older than the latest fix: late or out-of-order data.
    Late,
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
    index: HashMap<Mmsi, u32>,
    vessels: Vec<Vessel>,
    /// Vessels changed since `take_dirty`.
    dirty: Vec<u32>,
    /// One shared empty identity for every vessel not yet identified.
    unidentified: Arc<Identity>,
    track_interval_ms: i64,
}

impl VesselTable {
    pub fn new(track_interval_minutes: u32) -> VesselTable {
        VesselTable {
            index: HashMap::new(),
            vessels: Vec::new(),
            dirty: Vec::new(),
            unidentified: Arc::new(Identity::default()),
            track_interval_ms: i64::from(track_interval_minutes) * 60_000,
        }
    }

    pub fn len(&self) -> usize {
        self.vessels.len()
    }

    /// A copy of the table's state, unwritten vessel rows marked as such.
    pub fn checkpoint(&self) -> VesselTableCheckpoint {
        VesselTableCheckpoint {
            vessels: self.vessels.clone(),
        }
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

    pub fn heard_near_mut(&mut self, mmsi: Mmsi) -> Option<&mut HeardNear> {
        let &i = self.index.get(&mmsi)?;
        Some(&mut self.vessels[i as usize].heard_near)
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

    /// Vessels changed since the last call, in MMSI order; each is listed once.
    pub fn take_dirty(&mut self) -> Vec<&Vessel> {
        let mut dirty = std::mem::take(&mut self.dirty);
        for &i in &dirty {
            self.vessels[i as usize].dirty = false;
        }
        dirty.sort_unstable_by_key(|&i| self.vessels[i as usize].mmsi);
        dirty
            .into_iter()
            .map(|i| &self.vessels[i as usize])
            .collect()
    }

    fn vessel(&mut self, mmsi: Mmsi, time: UnixMillis) -> (&mut Vessel, u32) {
        let next = self.vessels.len() as u32;
        let i = *self.index.entry(mmsi).or_insert(next);
        if i == next {
            self.vessels
                .push(Vessel::new(mmsi, time, self.unidentified.clone()));
        }
        let vessel = &mut self.vessels[i as usize];
        mark_dirty(vessel, i, &mut self.dirty);
        (vessel, i)
    }

    /// Records a fix; returns how it relates to the previous one, and any track chunk that a
    /// day change or a full buffer completed. `silence_ms` is the shortest silence for which
    /// the caller wants the evidence around it.
    pub fn observe_fix(
        &mut self,
        fix: &Fix,
        time: UnixMillis,
        silence_ms: i64,
        chunks: &mut Vec<TrackChunk>,
    ) -> FixOrder {
        let interval = self.track_interval_ms;
        let (vessel, _) = self.vessel(fix.mmsi, time);
        vessel.last_heard = vessel.last_heard.max(time);
        let order =
            match vessel.last_fix {
                None => FixOrder::First,
                Some(previous) if time > previous.time => {
                    let silence = (time.as_millis() - previous.time.as_millis() >= silence_ms)
                        .then(|| SilenceEvidence {
                            before: vessel.identity_at_last_fix.clone(),
                            heard_since: vessel.reports_since_last_fix.take(),
                        });
                    FixOrder::Next { previous, silence }
                }
                Some(previous) if time == previous.time => FixOrder::Duplicate,
                Some(_) => FixOrder::Late,
            };
        match order {
            FixOrder::Duplicate => return order,
            FixOrder::Late => {
                vessel.late_fixes += 1;
                // Late points are rare and belong to a past stretch of track: written alone.
                let mut packed = Vec::with_capacity(POINT_BYTES);
                pack_point(&TrackPoint::of(fix, time, true), &mut packed);
                chunks.push(TrackChunk {
                    mmsi: fix.mmsi,
                    day: day_of(time),
                    packed,
                });
                return order;
            }
            FixOrder::First | FixOrder::Next { .. } => {}
        }
        vessel.fixes += 1;
        vessel.last_fix = Some(Position::of(fix, time));
        if !Arc::ptr_eq(&vessel.identity_at_last_fix, &vessel.identity) {
            vessel.identity_at_last_fix = vessel.identity.clone();
        }
        vessel.reports_since_last_fix = None;
        if time.as_millis().saturating_sub(vessel.last_track_ms) >= interval {
            if vessel.track_buffer.len() >= POINT_BYTES {
                let buffered_day = point_time(&vessel.track_buffer).div_euclid(86_400_000);
                if buffered_day != day_of(time)
                    || vessel.track_buffer.len() >= TRACK_BUFFER_MAX_POINTS * POINT_BYTES
                {
                    chunks.push(take_chunk(vessel));
                }
            }
            pack_point(&TrackPoint::of(fix, time, false), &mut vessel.track_buffer);
            vessel.last_track_ms = time.as_millis();
        }
        order
    }

    /// Folds a static report into the vessel's identity; returns true when the identity changed.
    pub fn observe_report(&mut self, report: &VesselReport, time: UnixMillis) -> bool {
        let (vessel, _) = self.vessel(report.mmsi, time);
        vessel.last_heard = vessel.last_heard.max(time);
        if let Some(last) = vessel.last_fix {
            if time.as_millis() - last.time.as_millis() >= SILENCE_FOR_AFTER_EVIDENCE_MS {
                vessel
                    .reports_since_last_fix
                    .get_or_insert_with(Default::default)
                    .fill_unknown(report);
            }
        }
        Arc::make_mut(&mut vessel.identity).apply(report)
    }

    /// Takes the track buffers of every vessel whose buffered day is before `day`.
    pub fn take_finished_tracks(&mut self, day: i64, chunks: &mut Vec<TrackChunk>) {
        for vessel in &mut self.vessels {
            if vessel.track_buffer.len() >= POINT_BYTES
                && point_time(&vessel.track_buffer).div_euclid(86_400_000) < day
            {
                chunks.push(take_chunk(vessel));
            }
        }
    }

    /// Removes the vessels named (silent too long, or over the cap), handing over their
    /// unwritten track points; their other state is the caller's to have written already.
    pub fn forget(&mut self, mmsis: &[Mmsi], chunks: &mut Vec<TrackChunk>) -> Vec<Vessel> {
        let mut gone = Vec::with_capacity(mmsis.len());
        for mmsi in mmsis {
            let Some(i) = self.index.remove(mmsi) else {
                continue;
            };
            let mut vessel = self.vessels.swap_remove(i as usize);
            if let Some(moved) = self.vessels.get(i as usize) {
                self.index.insert(moved.mmsi, i);
            }
            if !vessel.track_buffer.is_empty() {
                chunks.push(take_chunk(&mut vessel));
            }
            gone.push(vessel);
        }
        // Indices moved: the dirty list is rebuilt from the flags it mirrors.
        self.dirty = (0..self.vessels.len() as u32)
            .filter(|&i| self.vessels[i as usize].dirty)
            .collect();
        gone
    }

    /// Takes every non-empty track buffer (end of input, shutdown).
    pub fn take_all_tracks(&mut self, chunks: &mut Vec<TrackChunk>) {
        for vessel in &mut self.vessels {
            if !vessel.track_buffer.is_empty() {
                chunks.push(take_chunk(vessel));
            }
        }
    }
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
        day: point_time(&packed).div_euclid(86_400_000),
        packed,
    }
}
