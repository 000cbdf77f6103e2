//! Vessel state: every vessel heard, keyed by MMSI (last fix, identity and static data, thinned
//! track buffer), and per-port hourly coverage bins (distinct vessels heard near each port).
//! Pure: facts in, state out; the caller passes event times and never a clock.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Serialize;

use crate::model::{Fix, Mmsi, TransceiverClass, VesselReport};
use crate::ports::{Port, PortZone};
use crate::time::{UnixMillis, MILLIS_PER_HOUR};

/// Where and when a vessel was: the part of a fix that gap judgement needs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
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
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
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

/// Everything known about one vessel.
#[derive(Clone, Debug)]
pub struct Vessel {
    pub mmsi: Mmsi,
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
    pub watched: bool,
    pub fixes: u64,
    pub late_fixes: u64,
    /// Time of the last point kept in the thinned track.
    pub last_track_time: Option<UnixMillis>,
    /// Thinned points not yet written, all of one UTC day.
    pub track_buffer: Vec<TrackPoint>,
    /// Changed since last written.
    pub dirty: bool,
}

impl Vessel {
    fn new(mmsi: Mmsi, time: UnixMillis) -> Vessel {
        let identity = Arc::new(Identity::default());
        Vessel {
            mmsi,
            first_heard: time,
            last_heard: time,
            last_fix: None,
            identity_at_last_fix: identity.clone(),
            identity,
            reports_since_last_fix: None,
            watched: false,
            fixes: 0,
            late_fixes: 0,
            last_track_time: None,
            track_buffer: Vec::new(),
            dirty: true,
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

/// A full track buffer or a finished day, ready to be written.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackChunk {
    pub mmsi: Mmsi,
    /// UTC day number since 1970-01-01.
    pub day: i64,
    pub points: Vec<TrackPoint>,
}

const TRACK_BUFFER_MAX: usize = 512;
/// A vessel silent this long before a static report starts collecting "after" evidence.
const SILENCE_FOR_AFTER_EVIDENCE_MS: i64 = MILLIS_PER_HOUR;

pub fn day_of(time: UnixMillis) -> i64 {
    time.as_millis().div_euclid(86_400_000)
}

/// The vessel table.
#[derive(Debug, Default)]
pub struct VesselTable {
    vessels: HashMap<Mmsi, Vessel>,
    track_interval_ms: i64,
}

impl VesselTable {
    pub fn new(track_interval_minutes: u32) -> VesselTable {
        VesselTable {
            vessels: HashMap::new(),
            track_interval_ms: i64::from(track_interval_minutes) * 60_000,
        }
    }

    pub fn len(&self) -> usize {
        self.vessels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vessels.is_empty()
    }

    pub fn get(&self, mmsi: Mmsi) -> Option<&Vessel> {
        self.vessels.get(&mmsi)
    }

    pub fn get_mut(&mut self, mmsi: Mmsi) -> Option<&mut Vessel> {
        self.vessels.get_mut(&mmsi)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Vessel> {
        self.vessels.values()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Vessel> {
        self.vessels.values_mut()
    }

    fn vessel(&mut self, mmsi: Mmsi, time: UnixMillis) -> &mut Vessel {
        self.vessels
            .entry(mmsi)
            .or_insert_with(|| Vessel::new(mmsi, time))
    }

    /// Records a fix; returns how it relates to the previous one, and any track chunk that a
    /// day change or a full buffer completed.
    /// `silence_ms` is the shortest silence for which the caller wants the evidence around it.
    pub fn observe_fix(
        &mut self,
        fix: &Fix,
        time: UnixMillis,
        silence_ms: i64,
        chunks: &mut Vec<TrackChunk>,
    ) -> FixOrder {
        let interval = self.track_interval_ms;
        let vessel = self.vessel(fix.mmsi, time);
        vessel.last_heard = vessel.last_heard.max(time);
        vessel.dirty = true;
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
                chunks.push(TrackChunk {
                    mmsi: fix.mmsi,
                    day: day_of(time),
                    points: vec![TrackPoint::of(fix, time, true)],
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
        // A point starting a new silence-free stretch after a long gap is kept regardless of
        // thinning, so the track shows where the vessel reappeared.
        let keep = match vessel.last_track_time {
            None => true,
            Some(last) => time.as_millis() - last.as_millis() >= interval,
        };
        if keep {
            if let Some(first) = vessel.track_buffer.first() {
                if day_of(first.time) != day_of(time)
                    || vessel.track_buffer.len() >= TRACK_BUFFER_MAX
                {
                    chunks.push(take_chunk(vessel));
                }
            }
            vessel.track_buffer.push(TrackPoint::of(fix, time, false));
            vessel.last_track_time = Some(time);
        }
        order
    }

    /// Folds a static report into the vessel's identity; returns true when the identity changed.
    pub fn observe_report(&mut self, report: &VesselReport, time: UnixMillis) -> bool {
        let vessel = self.vessel(report.mmsi, time);
        vessel.last_heard = vessel.last_heard.max(time);
        if let Some(last) = vessel.last_fix {
            if time.as_millis() - last.time.as_millis() >= SILENCE_FOR_AFTER_EVIDENCE_MS {
                vessel
                    .reports_since_last_fix
                    .get_or_insert_with(Default::default)
                    .fill_unknown(report);
            }
        }
        let changed = Arc::make_mut(&mut vessel.identity).apply(report);
        if changed {
            vessel.dirty = true;
        }
        changed
    }

    /// Takes the track buffers of every vessel whose buffered day is before `day`.
    pub fn take_finished_tracks(&mut self, day: i64, chunks: &mut Vec<TrackChunk>) {
        for vessel in self.vessels.values_mut() {
            if vessel
                .track_buffer
                .first()
                .is_some_and(|p| day_of(p.time) < day)
            {
                chunks.push(take_chunk(vessel));
            }
        }
    }

    /// Takes every non-empty track buffer (end of input, shutdown).
    pub fn take_all_tracks(&mut self, chunks: &mut Vec<TrackChunk>) {
        for vessel in self.vessels.values_mut() {
            if !vessel.track_buffer.is_empty() {
                chunks.push(take_chunk(vessel));
            }
        }
    }
}

fn take_chunk(vessel: &mut Vessel) -> TrackChunk {
    let points = std::mem::take(&mut vessel.track_buffer);
    TrackChunk {
        mmsi: vessel.mmsi,
        day: day_of(points[0].time),
        points,
    }
}

/// Distinct vessels heard in one UTC hour near one port.
#[derive(Clone, Debug, Default)]
struct HourBin {
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
    pub fn observe(&mut self, ports: &[Port], mmsi: Mmsi, time: UnixMillis, lat: f64, lon: f64) {
        for (index, port) in ports.iter().enumerate() {
            if !self.boxes[index].contains(lat, lon)
                || port.distance_nm(lat, lon) > port.coverage_nm
            {
                continue;
            }
            let hour = time.hour_floor().as_millis();
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
        let mut hour = start_hour;
        let bins = &self.bins[index];
        while hour < until.as_millis() {
            let overlap =
                (hour + MILLIS_PER_HOUR).min(until.as_millis()) - hour.max(from.as_millis());
            let heard = bins.get(&hour).map_or(0, |bin| bin.heard_besides(exclude));
            if heard >= min_vessels as usize {
                covered_ms += overlap;
            }
            hour += MILLIS_PER_HOUR;
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

    /// Restores a stored hour count (restart from a database).
    pub fn restore_count(&mut self, index: usize, hour: UnixMillis, count: u32) {
        self.bins[index].entry(hour.as_millis()).or_default().count = count;
    }
}
