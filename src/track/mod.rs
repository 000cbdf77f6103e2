//! Vessel state: every vessel heard, keyed by MMSI (last fix, identity and static data, thinned
//! track buffer), and per-port hourly coverage bins (distinct vessels heard near each port).
//! Pure: facts in, state out; the caller passes event times and never a clock.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::{Fix, Mmsi, TransceiverClass, VesselReport};
use crate::ports::{Port, PortZone};
use crate::time::{UnixMillis, MILLIS_PER_HOUR};

/// Where and when a vessel was: the part of a fix that gap judgement needs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub time: UnixMillis,
    pub lat: f64,
    pub lon: f64,
}

impl Position {
    pub fn of(fix: &Fix, time: UnixMillis) -> Position {
        Position {
            time,
            lat: fix.lat,
            lon: fix.lon,
        }
    }
}

/// A stored point of a vessel's thinned track.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct TrackPoint {
    pub time: UnixMillis,
    pub lat: f64,
    pub lon: f64,
    pub sog: Option<f32>,
    pub cog: Option<f32>,
    pub heading: Option<u16>,
    pub nav_status: Option<u8>,
    /// Arrived after a newer fix of the same vessel.
    pub late: bool,
}

impl TrackPoint {
    pub fn of(fix: &Fix, time: UnixMillis, late: bool) -> TrackPoint {
        TrackPoint {
            time,
            lat: fix.lat,
            lon: fix.lon,
            sog: fix.sog,
            cog: fix.cog,
            heading: fix.heading,
            nav_status: fix.nav_status,
            late,
        }
    }
}

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

/// The ports (by index, the first 64) whose hourly coverage already counts a vessel in `hour`:
/// lets the coverage skip the distance and bin lookups for the rest of that hour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeardNear {
    hour: i64,
    ports: u64,
}

impl HeardNear {
    fn counted(&self, hour: i64, index: usize) -> bool {
        index < 64 && self.hour == hour && self.ports & (1 << index) != 0
    }

    fn mark(&mut self, hour: i64, index: usize) {
        if self.hour != hour {
            *self = HeardNear { hour, ports: 0 };
        }
        if index < 64 {
            self.ports |= 1 << index;
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

/// A full track buffer or a finished day, ready to be written: packed points of one vessel
/// and one UTC day.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackChunk {
    pub mmsi: Mmsi,
    /// UTC day number since 1970-01-01.
    pub day: i64,
    pub packed: Vec<u8>,
}

impl TrackChunk {
    pub fn points(&self) -> Vec<TrackPoint> {
        unpack_points(&self.packed)
    }

    /// Earliest and latest point times.
    pub fn time_span(&self) -> (UnixMillis, UnixMillis) {
        let times = self.packed.chunks_exact(POINT_BYTES).map(point_time);
        let (mut first, mut last) = (i64::MAX, i64::MIN);
        for t in times {
            first = first.min(t);
            last = last.max(t);
        }
        (UnixMillis(first), UnixMillis(last))
    }
}

// Track points are packed, 24 bytes each, in memory and in the store alike, so a vessel-day of
// track costs little to buffer and is one row to write.
pub const POINT_BYTES: usize = 24;
const TRACK_BUFFER_MAX_POINTS: usize = 512;
const NONE_U16: u16 = u16::MAX;
const NONE_U8: u8 = u8::MAX;

/// Appends one point in its packed form.
pub fn pack_point(point: &TrackPoint, packed: &mut Vec<u8>) {
    packed.extend_from_slice(&point.time.as_millis().to_le_bytes());
    packed.extend_from_slice(&((point.lat * 1e7).round() as i32).to_le_bytes());
    packed.extend_from_slice(&((point.lon * 1e7).round() as i32).to_le_bytes());
    let tenths =
        |v: Option<f32>| v.map_or(NONE_U16, |v| (v * 10.0).round().clamp(0.0, 65_534.0) as u16);
    packed.extend_from_slice(&tenths(point.sog).to_le_bytes());
    packed.extend_from_slice(&tenths(point.cog).to_le_bytes());
    packed.extend_from_slice(&point.heading.unwrap_or(NONE_U16).to_le_bytes());
    packed.push(point.nav_status.unwrap_or(NONE_U8));
    packed.push(u8::from(point.late));
}

fn point_time(b: &[u8]) -> i64 {
    i64::from_le_bytes(b[0..8].try_into().expect("8 bytes"))
}

/// Unpacks points written by [`pack_point`] (a trailing partial point is ignored).
pub fn unpack_points(packed: &[u8]) -> Vec<TrackPoint> {
    packed
        .chunks_exact(POINT_BYTES)
        .map(|b| {
            let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
            let i32_at = |i: usize| i32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
            let tenths = |v: u16| (v != NONE_U16).then(|| f32::from(v) / 10.0);
            TrackPoint {
                time: UnixMillis(point_time(b)),
                lat: f64::from(i32_at(8)) / 1e7,
                lon: f64::from(i32_at(12)) / 1e7,
                sog: tenths(u16_at(16)),
                cog: tenths(u16_at(18)),
                heading: Some(u16_at(20)).filter(|h| *h != NONE_U16),
                nav_status: Some(b[22]).filter(|s| *s != NONE_U8),
                late: b[23] != 0,
            }
        })
        .collect()
}

/// A vessel silent this long before a static report starts collecting "after" evidence.
const SILENCE_FOR_AFTER_EVIDENCE_MS: i64 = MILLIS_PER_HOUR;

pub fn day_of(time: UnixMillis) -> i64 {
    time.as_millis().div_euclid(86_400_000)
}

/// What a restarted service needs of the vessel table: every vessel with its unwritten track
/// buffer; the index and the dirty list are rebuilt.
#[derive(Clone, Debug, Serialize, Deserialize)]
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

/// What a restarted service needs of the coverage bins: the bins per port (by port name, so a
/// reload that reorders ports keeps them) and the hours not yet written.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CoverageCheckpoint {
    bins: Vec<(String, Vec<(i64, HourBin)>)>,
    changed: Vec<(String, i64)>,
}

impl CoverageCheckpoint {
    /// The bins as `(port, hour, bin)`, leaving the checkpoint without them (a store keeps
    /// each bin in its own row and rewrites only the ones that changed).
    pub fn take_bins(&mut self) -> Vec<(String, i64, HourBin)> {
        let mut rows = Vec::new();
        for (port, hours) in std::mem::take(&mut self.bins) {
            rows.extend(
                hours
                    .into_iter()
                    .map(|(hour, bin)| (port.clone(), hour, bin)),
            );
        }
        rows
    }

    /// Puts bins back, whatever their order.
    pub fn put_bins(&mut self, rows: Vec<(String, i64, HourBin)>) {
        let mut by_port: BTreeMap<String, Vec<(i64, HourBin)>> = BTreeMap::new();
        for (port, hour, bin) in rows {
            by_port.entry(port).or_default().push((hour, bin));
        }
        for hours in by_port.values_mut() {
            hours.sort_unstable_by_key(|(hour, _)| *hour);
        }
        self.bins = by_port.into_iter().collect();
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

/// Distinct vessels heard in one UTC hour near one port.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HourBin {
    /// Sorted MMSIs; small (tens) even at busy ports. Emptied once the hour is old enough that
    /// only its count matters.
    vessels: Vec<u32>,
    count: u32,
}

impl HourBin {
    fn heard_besides(&self, exclude: Mmsi) -> usize {
        self.count as usize - usize::from(self.vessels.binary_search(&exclude.0).is_ok())
    }
}

/// A cheap box test before the exact distance: most fixes are far from every port.
#[derive(Clone, Copy, Debug)]
struct CoverageBox {
    lat_min: f64,
    lat_max: f64,
    lon_min: f64,
    lon_max: f64,
}

impl CoverageBox {
    fn around(port: &Port) -> CoverageBox {
        let reach_deg = port.coverage_nm / 60.0;
        let (lat_min, lat_max, lon_min, lon_max) = match &port.zone {
            PortZone::Circle {
                lat,
                lon,
                radius_nm,
            } => {
                let r = radius_nm / 60.0;
                (*lat - r, *lat + r, *lon - r, *lon + r)
            }
            PortZone::Area(area) => {
                use geo::BoundingRect;
                match area.bounding_rect() {
                    Some(rect) => (rect.min().y, rect.max().y, rect.min().x, rect.max().x),
                    None => (0.0, 0.0, 0.0, 0.0),
                }
            }
        };
        let lat_min = lat_min - reach_deg;
        let lat_max = lat_max + reach_deg;
        let widest = lat_min
            .abs()
            .max(lat_max.abs())
            .min(89.0)
            .to_radians()
            .cos();
        let lon_reach = reach_deg / widest;
        CoverageBox {
            lat_min,
            lat_max,
            lon_min: lon_min - lon_reach,
            lon_max: lon_max + lon_reach,
        }
    }

    fn contains(&self, lat: f64, lon: f64) -> bool {
        lat >= self.lat_min && lat <= self.lat_max && lon >= self.lon_min && lon <= self.lon_max
    }
}

/// Per-port hourly coverage: which vessels were heard within each port's coverage distance.
#[derive(Debug)]
pub struct Coverage {
    boxes: Vec<CoverageBox>,
    /// Per port: hour start (millis) -> bin.
    bins: Vec<BTreeMap<i64, HourBin>>,
    /// (port index, hour start) of bins changed since `take_changed`.
    changed: Vec<(usize, i64)>,
}

impl Coverage {
    pub fn new(ports: &[Port]) -> Coverage {
        Coverage {
            boxes: ports.iter().map(CoverageBox::around).collect(),
            bins: ports.iter().map(|_| BTreeMap::new()).collect(),
            changed: Vec::new(),
        }
    }

    /// Counts `mmsi` as heard at `time` near every port whose coverage distance includes it.
    /// `heard` is the vessel's own memory of where it was counted this hour; it saves the
    /// distance and bin lookups for every fix after the first in an hour.
    pub fn observe(
        &mut self,
        ports: &[Port],
        mmsi: Mmsi,
        time: UnixMillis,
        lat: f64,
        lon: f64,
        heard: &mut HeardNear,
    ) {
        let hour = time.hour_floor().as_millis();
        for (index, port) in ports.iter().enumerate() {
            if !self.boxes[index].contains(lat, lon) || heard.counted(hour, index) {
                continue;
            }
            let counted = self.bins[index]
                .get(&hour)
                .is_some_and(|bin| bin.vessels.binary_search(&mmsi.0).is_ok());
            if !counted && port.distance_nm(lat, lon) > port.coverage_nm {
                continue;
            }
            // Late fixes for a past hour must not reset the memory of the current one.
            if heard.hour <= hour {
                heard.mark(hour, index);
            }
            if counted {
                continue;
            }
            let bin = self.bins[index].entry(hour).or_default();
            if let Err(slot) = bin.vessels.binary_search(&mmsi.0) {
                bin.vessels.insert(slot, mmsi.0);
                bin.count += 1;
                self.changed.push((index, hour));
            }
        }
    }

    /// Distinct vessels heard near port `index` in the hour starting at `hour`.
    pub fn vessels_in_hour(&self, index: usize, hour: i64) -> usize {
        self.bins[index]
            .get(&hour)
            .map_or(0, |bin| bin.count as usize)
    }

    /// The share of `[from, until)` spent in hours where at least `min_vessels` vessels other
    /// than `exclude` were heard near port `index`. Each hour weighs by its overlap with the
    /// span, so a boundary hour counts only for the part of it inside the span.
    pub fn covered_share(
        &self,
        index: usize,
        from: UnixMillis,
        until: UnixMillis,
        exclude: Mmsi,
        min_vessels: u32,
    ) -> f64 {
        let span = until.as_millis() - from.as_millis();
        if span <= 0 {
            return 0.0;
        }
        let start_hour = from.hour_floor().as_millis();
        let mut covered_ms = 0i64;
        // Only hours with a bin can be covered: walk those, not every hour of the span.
        for (&hour, bin) in self.bins[index].range(start_hour..until.as_millis()) {
            if bin.heard_besides(exclude) >= min_vessels as usize {
                covered_ms +=
                    (hour + MILLIS_PER_HOUR).min(until.as_millis()) - hour.max(from.as_millis());
            }
        }
        covered_ms as f64 / span as f64
    }

    /// Bins changed since the last call, with their current distinct-vessel counts, in a
    /// stable order.
    pub fn take_changed(&mut self) -> Vec<(usize, UnixMillis, u32)> {
        let mut changed = std::mem::take(&mut self.changed);
        changed.sort_unstable();
        changed.dedup();
        changed
            .into_iter()
            .map(|(index, hour)| {
                (
                    index,
                    UnixMillis(hour),
                    self.vessels_in_hour(index, hour) as u32,
                )
            })
            .collect()
    }

    /// Forgets which vessels were heard in hours before `before`, keeping their counts: late
    /// data that old may then count a vessel twice in an hour, a bounded error traded for
    /// bounded memory over months of service.
    pub fn forget_detail_before(&mut self, before: UnixMillis) {
        for bins in &mut self.bins {
            for (_, bin) in bins.range_mut(..before.as_millis()).rev() {
                if bin.vessels.is_empty() {
                    break;
                }
                bin.vessels = Vec::new();
            }
        }
    }

    /// A copy of the bins, keyed by port name.
    pub fn checkpoint(&self, ports: &[Port]) -> CoverageCheckpoint {
        CoverageCheckpoint {
            bins: ports
                .iter()
                .zip(&self.bins)
                .map(|(port, bins)| {
                    let hours = bins.iter().map(|(h, b)| (*h, b.clone())).collect();
                    (port.name.clone(), hours)
                })
                .collect(),
            changed: self
                .changed
                .iter()
                .map(|&(index, hour)| (ports[index].name.clone(), hour))
                .collect(),
        }
    }

    /// Bins from a checkpoint for the ports configured now: a port no longer designated is
    /// dropped, a new one starts empty.
    pub fn restore(ports: &[Port], checkpoint: CoverageCheckpoint) -> Coverage {
        let mut coverage = Coverage::new(ports);
        let index_of = |name: &str| ports.iter().position(|p| p.name == name);
        for (name, hours) in checkpoint.bins {
            if let Some(index) = index_of(&name) {
                coverage.bins[index] = hours.into_iter().collect();
            }
        }
        for (name, hour) in checkpoint.changed {
            if let Some(index) = index_of(&name) {
                coverage.changed.push((index, hour));
            }
        }
        coverage
    }

    /// Restores a stored hour count (restart from a database).
    pub fn restore_count(&mut self, index: usize, hour: UnixMillis, count: u32) {
        self.bins[index].entry(hour.as_millis()).or_default().count = count;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn track_points_round_trip_through_their_packed_form() {
        let points = vec![
            TrackPoint {
                time: UnixMillis(1_711_929_600_000),
                lat: 42.735_123_4,
                lon: 133.075_987_6,
                sog: Some(11.3),
                cog: Some(359.9),
                heading: Some(510),
                nav_status: Some(5),
                late: false,
            },
            TrackPoint {
                time: UnixMillis(1_711_929_660_000),
                lat: -33.5,
                lon: -179.999_999_9,
                sog: None,
                cog: None,
                heading: None,
                nav_status: None,
                late: true,
            },
        ];
        let mut packed = Vec::new();
        for p in &points {
            pack_point(p, &mut packed);
        }
        assert_eq!(packed.len(), 2 * POINT_BYTES);
        let decoded = unpack_points(&packed);
        assert_eq!(decoded.len(), 2);
        for (d, p) in decoded.iter().zip(&points) {
            assert_eq!(d.time, p.time);
            assert!((d.lat - p.lat).abs() < 1e-7 && (d.lon - p.lon).abs() < 1e-7);
            assert_eq!(
                (d.sog, d.cog, d.heading, d.nav_status, d.late),
                (p.sog, p.cog, p.heading, p.nav_status, p.late)
            );
        }
        let chunk = TrackChunk {
            mmsi: Mmsi(1),
            day: 0,
            packed,
        };
        assert_eq!(chunk.time_span(), (points[0].time, points[1].time));
    }
}
