//! Encounters: two vessels, one of them watched, side by side at sea and barely moving for
//! hours, as a ship-to-ship transfer looks with both transponders on. Candidate pairs come from
//! a grid of cells about the encounter distance across, bucketed by ten minutes of stream time,
//! holding only vessels now slow at sea; each candidate pair is then judged on both tracks
//! interpolated to common times, since the two vessels' fixes are never simultaneous. Memory
//! follows the vessels slow at sea and the active pairs, never the vessels squared.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::at_sea::{
    away_from_ports, nearest_port, AtSeaStats, EncounterParams, EpisodeStatus, Heard, Sample,
    VesselAtSea, AWAY_RULE,
};
use super::round_to;
use super::{estimate_cargo, DetectParams};
use crate::hashed::{in_key_order, sorted_keys, MmsiMap, Spread};
use crate::model::Mmsi;
use crate::ports::{haversine_nm, Ports, METRES_PER_NM};
use crate::time::UnixMillis;
use crate::track::Identity;

/// Width of a grid time bucket: fixes of two vessels heard within about this long of each
/// other, a cell apart, make a candidate pair.
const BUCKET_MS: i64 = 10 * 60_000;
/// A vessel enters the grid while its speed is below this multiple of the median limit: one
/// fix over the limit must not hide a meeting whose median is under it.
const CANDIDATE_SPEED_FACTOR: f64 = 2.0;
/// A pair is forgotten once the vessels are this many encounter distances apart.
const SEPARATED_FACTOR: f64 = 2.0;
/// Fixes kept per vessel while a partner's fixes are awaited (about 2 h at 2 s reporting).
const MAX_FIXES_HELD: usize = 4096;
/// Metres per degree of latitude on the crate's sphere.
const METRES_PER_DEGREE: f64 = 6_371_008.8 * std::f64::consts::PI / 180.0;
/// Speed histogram: 0.1 kn bins up to 40 kn (faster speeds count in the last bin).
const SPEED_BINS: usize = 401;

/// One vessel's side of an encounter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EncounterSide {
    #[serde(flatten)]
    pub vessel: VesselAtSea,
    /// Draught in force when the meeting began, metres.
    pub draught_before: Option<f64>,
    /// The latest draught heard up to `[encounters] after_hours` after the end.
    pub draught_after: Option<f64>,
    pub draught_change: Option<f64>,
}

/// One encounter: the record analysts query.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EncounterRecord {
    /// The vessel with the lower MMSI.
    pub a: EncounterSide,
    pub b: EncounterSide,
    pub status: EpisodeStatus,
    pub start: UnixMillis,
    /// The last common time the two were close, so far.
    pub end: UnixMillis,
    pub duration_hours: f64,
    pub min_distance_m: f64,
    pub median_distance_m: f64,
    /// Median of both vessels' speeds over the meeting.
    pub median_speed_kn: f64,
    /// Mean of the midpoints between the two over the meeting.
    pub lat: f64,
    pub lon: f64,
    /// The midpoint at the first and at the last close common time: the meeting segment.
    pub start_lat: f64,
    pub start_lon: f64,
    pub end_lat: f64,
    pub end_lon: f64,
    /// Common times the two were judged at while close.
    pub samples: u32,
    pub nearest_port: Option<String>,
    pub port_distance_nm: Option<f64>,
    pub away_rule: String,
    /// The vessel whose draught rose, as a transfer's receiver.
    pub receiving: Option<Mmsi>,
    pub est_tonnes: Option<f64>,
    pub est_barrels: Option<f64>,
    /// Set on the one change that confirms the encounter: what alerts are raised on.
    #[serde(skip)]
    pub newly_confirmed: bool,
}

impl EncounterRecord {
    pub fn key(&self) -> (Mmsi, Mmsi, UnixMillis) {
        (self.a.vessel.mmsi, self.b.vessel.mmsi, self.start)
    }

    /// Whether either vessel of the encounter is watched.
    pub fn watched(&self) -> bool {
        self.a.vessel.watched || self.b.vessel.watched
    }

    fn side_mut(&mut self, mmsi: Mmsi) -> Option<&mut EncounterSide> {
        if self.a.vessel.mmsi == mmsi {
            Some(&mut self.a)
        } else if self.b.vessel.mmsi == mmsi {
            Some(&mut self.b)
        } else {
            None
        }
    }

    /// Draught changes and the cargo estimate from the receiving side's rise.
    fn settle_cargo(&mut self, params: &DetectParams) {
        for side in [&mut self.a, &mut self.b] {
            side.draught_change = match (side.draught_before, side.draught_after) {
                (Some(before), Some(after)) => Some(round_to(after - before, 2)),
                _ => None,
            };
        }
        let rise = |s: &EncounterSide| s.draught_change.unwrap_or(0.0);
        let receiver = if rise(&self.a) >= rise(&self.b) {
            &self.a
        } else {
            &self.b
        };
        let (tonnes, barrels) = estimate_cargo(
            params,
            receiver.vessel.length,
            receiver.vessel.beam,
            rise(receiver),
        );
        self.receiving =
            (rise(receiver) > params.cargo_min_draught_rise_m).then_some(receiver.vessel.mmsi);
        (self.est_tonnes, self.est_barrels) = (tonnes, barrels);
    }
}

/// A vessel the detector holds: slow at sea now, or one of an active pair.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Held {
    fixes: VecDeque<Sample>,
    watched: bool,
    identity: Arc<Identity>,
    /// The latest fix was slow and away from ports: the vessel is in the grid.
    slow: bool,
    partners: Vec<Mmsi>,
}

/// The stretch of common times at which a pair has been close so far.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Run {
    start: UnixMillis,
    last: UnixMillis,
    samples: u32,
    min_distance_m: f64,
    /// Close samples by whole metre of distance.
    distances: Vec<u32>,
    /// Both vessels' speeds by 0.1 kn.
    speeds: Vec<u32>,
    lat_sum: f64,
    lon_sum: f64,
    first_mid: (f64, f64),
    last_mid: (f64, f64),
    draught_before: [Option<f32>; 2],
    confirmed: bool,
    dirty: bool,
}

impl Run {
    fn hours(&self) -> f64 {
        self.start.hours_until(self.last)
    }

    fn median_speed_kn(&self) -> f64 {
        median_bin(&self.speeds) as f64 / 10.0
    }
}

/// The bin holding the lower median of a histogram.
fn median_bin(histogram: &[u32]) -> usize {
    let total: u64 = histogram.iter().map(|&n| u64::from(n)).sum();
    let half = total.div_ceil(2);
    let mut seen = 0;
    for (bin, &n) in histogram.iter().enumerate() {
        seen += u64::from(n);
        if seen >= half && n > 0 {
            return bin;
        }
    }
    0
}

/// Two vessels that came within a cell of each other at sea, being judged at common times.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Pair {
    a: Mmsi,
    b: Mmsi,
    /// Common times up to here have been judged.
    cursor: UnixMillis,
    last_distance_m: f64,
    run: Option<Run>,
}

/// The two vessels of a pair at one common time.
struct Moment {
    time: UnixMillis,
    distance_m: f64,
    /// Midpoint between the two.
    lat: f64,
    lon: f64,
    speeds: [f32; 2],
    /// Close enough, both recently heard, and away from ports.
    close: bool,
}

/// A finished encounter still gathering the draughts typed in after it.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Settling {
    record: EncounterRecord,
    until: UnixMillis,
}

/// The encounter detector.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Encounters {
    #[serde(with = "in_key_order")]
    held: MmsiMap<Held>,
    #[serde(with = "in_key_order")]
    pairs: HashMap<u64, Pair, Spread>,
    settling: Vec<Settling>,
    /// Rebuilt from `held` after a restore; keyed by (bucket, row, column).
    #[serde(skip)]
    grid: Grid,
    #[serde(skip)]
    grid_bucket: Option<i64>,
}

type Grid = HashMap<(i64, i32, i32), CellVessels, Spread>;

/// The vessels in one cell of one bucket: a cell is about the encounter distance across, so
/// nearly always one vessel, kept without an allocation of its own.
#[derive(Clone, Debug, Default)]
struct CellVessels {
    first: Option<Mmsi>,
    more: Vec<Mmsi>,
}

impl CellVessels {
    /// Whether the vessel was not in the cell yet.
    fn insert(&mut self, mmsi: Mmsi) -> bool {
        if self.first == Some(mmsi) || self.more.contains(&mmsi) {
            return false;
        }
        match self.first {
            None => self.first = Some(mmsi),
            Some(_) => self.more.push(mmsi),
        }
        true
    }

    fn iter(&self) -> impl Iterator<Item = Mmsi> + '_ {
        self.first.into_iter().chain(self.more.iter().copied())
    }
}

fn pair_key(a: Mmsi, b: Mmsi) -> u64 {
    (u64::from(a.0.min(b.0)) << 32) | u64::from(a.0.max(b.0))
}

/// Grid row of a latitude, and the column of a longitude in that row, for cells `cell_m` wide.
fn cell_row(lat: f64, cell_m: f64) -> i32 {
    (lat * METRES_PER_DEGREE / cell_m).floor() as i32
}

fn cell_column(lon: f64, row: i32, cell_m: f64) -> i32 {
    let row_lat = (f64::from(row) + 0.5) * cell_m / METRES_PER_DEGREE;
    let width = cell_m / (METRES_PER_DEGREE * row_lat.to_radians().cos().max(0.01));
    (lon / width).floor() as i32
}

/// Where a held vessel was at `t`, interpolated between the fixes around it, with the span of
/// those fixes (0 on a fix).
fn position_at(fixes: &VecDeque<Sample>, t: UnixMillis) -> Option<(Sample, i64)> {
    let i = fixes.partition_point(|f| f.time < t);
    let next = fixes.get(i)?;
    if next.time == t {
        return Some((*next, 0));
    }
    let prev = fixes.get(i.checked_sub(1)?)?;
    let span = next.time.as_millis() - prev.time.as_millis();
    let f = (t.as_millis() - prev.time.as_millis()) as f64 / span as f64;
    let lerp = |x: f64, y: f64| x + (y - x) * f;
    Some((
        Sample {
            time: t,
            lat: lerp(prev.lat, next.lat),
            lon: lerp(prev.lon, next.lon),
            speed_kn: lerp(f64::from(prev.speed_kn), f64::from(next.speed_kn)) as f32,
        },
        span,
    ))
}

impl Encounters {
    pub(super) fn on_fix(
        &mut self,
        params: &DetectParams,
        ports: &Ports,
        vessel: &Heard<'_>,
        sample: Sample,
        changes: &mut Vec<EncounterRecord>,
        stats: &mut AtSeaStats,
    ) {
        let p = &params.at_sea.encounters;
        let candidate_speed = p.max_median_speed_kn * CANDIDATE_SPEED_FACTOR;
        let slow = f64::from(sample.speed_kn) < candidate_speed
            && away_from_ports(
                ports,
                sample.lat,
                sample.lon,
                p.min_port_distance_km * 1000.0 / METRES_PER_NM,
            );
        if !slow && !self.held.contains_key(&vessel.mmsi) {
            return;
        }
        self.ensure_grid(p);
        let held = self.held.entry(vessel.mmsi).or_insert_with(|| Held {
            fixes: VecDeque::new(),
            watched: vessel.watched,
            identity: vessel.identity.clone(),
            slow,
            partners: Vec::new(),
        });
        if held
            .fixes
            .back()
            .is_some_and(|last| last.time >= sample.time)
        {
            return;
        }
        held.fixes.push_back(sample);
        held.watched = vessel.watched;
        if !Arc::ptr_eq(&held.identity, vessel.identity) {
            held.identity = vessel.identity.clone();
        }
        held.slow = slow;
        // A vessel already in its cell this bucket has searched its neighbours, and any vessel
        // arriving near it since found it: searching again would find nothing new.
        if slow && self.enter_grid(p, vessel.mmsi, sample) {
            self.pair_up(p, vessel.mmsi, sample, stats);
        }
        let partners = self.held[&vessel.mmsi].partners.clone();
        for partner in partners {
            self.evaluate(
                params,
                ports,
                pair_key(vessel.mmsi, partner),
                changes,
                stats,
            );
        }
        self.trim(vessel.mmsi);
    }

    /// Rebuilds the grid from the held vessels' recent fixes (after a restore).
    fn ensure_grid(&mut self, p: &EncounterParams) {
        if self.grid_bucket.is_some() || self.held.is_empty() {
            return;
        }
        // In MMSI order, as before: which buckets the grid keeps depends on the order it fills.
        let recent: Vec<(Mmsi, Sample)> = sorted_keys(&self.held, |h| h.slow)
            .into_iter()
            .flat_map(|m| self.held[&m].fixes.iter().map(move |f| (m, *f)))
            .collect();
        for (mmsi, sample) in recent {
            self.enter_grid(p, mmsi, sample);
        }
    }

    /// Puts the vessel in its cell of the sample's bucket; whether it was not there yet.
    fn enter_grid(&mut self, p: &EncounterParams, mmsi: Mmsi, sample: Sample) -> bool {
        let bucket = sample.time.as_millis().div_euclid(BUCKET_MS);
        if self.grid_bucket.is_none_or(|b| bucket > b) {
            self.grid.retain(|key, _| key.0 >= bucket - 1);
            self.grid_bucket = Some(bucket);
        }
        let row = cell_row(sample.lat, p.max_distance_m);
        let key = (bucket, row, cell_column(sample.lon, row, p.max_distance_m));
        self.grid.entry(key).or_default().insert(mmsi)
    }

    /// New pairs of this vessel with the slow vessels in the neighbouring cells of this and
    /// the previous bucket, when either of the two is watched.
    fn pair_up(&mut self, p: &EncounterParams, mmsi: Mmsi, sample: Sample, stats: &mut AtSeaStats) {
        let bucket = sample.time.as_millis().div_euclid(BUCKET_MS);
        let row = cell_row(sample.lat, p.max_distance_m);
        let rows =
            [row - 1, row, row + 1].map(|r| (r, cell_column(sample.lon, r, p.max_distance_m)));
        let mut near = Vec::new();
        for b in [bucket - 1, bucket] {
            for (r, column) in rows {
                for c in column - 1..=column + 1 {
                    if let Some(cell) = self.grid.get(&(b, r, c)) {
                        near.extend(cell.iter().filter(|m| *m != mmsi));
                    }
                }
            }
        }
        // In MMSI order, once each: the order pairs are made in is the order they report in.
        near.sort_unstable();
        near.dedup();
        let watched = self.held[&mmsi].watched;
        for other in near {
            let key = pair_key(mmsi, other);
            let Some(partner) = self.held.get(&other) else {
                continue;
            };
            if self.pairs.contains_key(&key) || !(watched || partner.watched) {
                continue;
            }
            let Some(front) = partner.fixes.front() else {
                continue;
            };
            let own_front = self.held[&mmsi].fixes.front().expect("just pushed").time;
            let cursor = UnixMillis(own_front.max(front.time).as_millis() - 1);
            let (a, b) = (Mmsi(mmsi.0.min(other.0)), Mmsi(mmsi.0.max(other.0)));
            self.pairs.insert(
                key,
                Pair {
                    a,
                    b,
                    cursor,
                    last_distance_m: f64::MAX,
                    run: None,
                },
            );
            stats.candidate_pairs += 1;
            for (one, two) in [(mmsi, other), (other, mmsi)] {
                if let Some(h) = self.held.get_mut(&one) {
                    h.partners.push(two);
                }
            }
        }
    }

    /// Judges the pair at every fix time of either vessel that both tracks now cover.
    fn evaluate(
        &mut self,
        params: &DetectParams,
        ports: &Ports,
        key: u64,
        changes: &mut Vec<EncounterRecord>,
        stats: &mut AtSeaStats,
    ) {
        let p = &params.at_sea.encounters;
        let Some(mut pair) = self.pairs.remove(&key) else {
            return;
        };
        let silence_ms = (p.max_silence_hours * 3_600_000.0) as i64;
        for moment in self.common_times(p, ports, &pair) {
            let resumed = pair
                .run
                .as_ref()
                .is_some_and(|r| moment.time.as_millis() - r.last.as_millis() <= silence_ms);
            if !moment.close || !resumed {
                if let Some(run) = pair.run.take() {
                    self.finish_run(params, ports, &pair, run, changes);
                }
            }
            pair.cursor = moment.time;
            pair.last_distance_m = moment.distance_m;
            if moment.close {
                self.extend_run(params, ports, &mut pair, &moment, changes, stats);
            }
        }
        let separated =
            pair.run.is_none() && pair.last_distance_m > p.max_distance_m * SEPARATED_FACTOR;
        if separated {
            self.unpair(&pair);
        } else {
            self.pairs.insert(key, pair);
        }
    }

    /// The pair at each fix time of either vessel after the cursor that both tracks cover.
    fn common_times(&self, p: &EncounterParams, ports: &Ports, pair: &Pair) -> Vec<Moment> {
        let (Some(a), Some(b)) = (self.held.get(&pair.a), self.held.get(&pair.b)) else {
            return Vec::new();
        };
        let horizon = match (a.fixes.back(), b.fixes.back()) {
            (Some(x), Some(y)) => x.time.min(y.time),
            _ => return Vec::new(),
        };
        let mut times: Vec<UnixMillis> = a
            .fixes
            .iter()
            .chain(b.fixes.iter())
            .map(|f| f.time)
            .filter(|t| *t > pair.cursor && *t <= horizon)
            .collect();
        times.sort_unstable();
        times.dedup();
        let silence_ms = (p.max_silence_hours * 3_600_000.0) as i64;
        let away_nm = p.min_port_distance_km * 1000.0 / METRES_PER_NM;
        times
            .into_iter()
            .filter_map(|t| {
                let (pa, span_a) = position_at(&a.fixes, t)?;
                let (pb, span_b) = position_at(&b.fixes, t)?;
                let distance_m = haversine_nm(pa.lat, pa.lon, pb.lat, pb.lon) * METRES_PER_NM;
                let (lat, lon) = ((pa.lat + pb.lat) / 2.0, (pa.lon + pb.lon) / 2.0);
                let close = span_a <= silence_ms
                    && span_b <= silence_ms
                    && distance_m <= p.max_distance_m
                    && away_from_ports(ports, lat, lon, away_nm);
                Some(Moment {
                    time: t,
                    distance_m,
                    lat,
                    lon,
                    speeds: [pa.speed_kn, pb.speed_kn],
                    close,
                })
            })
            .collect()
    }

    fn extend_run(
        &mut self,
        params: &DetectParams,
        ports: &Ports,
        pair: &mut Pair,
        moment: &Moment,
        changes: &mut Vec<EncounterRecord>,
        stats: &mut AtSeaStats,
    ) {
        let p = &params.at_sea.encounters;
        let (a, b) = (&self.held[&pair.a], &self.held[&pair.b]);
        let run = pair.run.get_or_insert_with(|| Run {
            start: moment.time,
            last: moment.time,
            samples: 0,
            min_distance_m: f64::MAX,
            distances: vec![0; p.max_distance_m.ceil() as usize + 1],
            speeds: vec![0; SPEED_BINS],
            lat_sum: 0.0,
            lon_sum: 0.0,
            first_mid: (moment.lat, moment.lon),
            last_mid: (moment.lat, moment.lon),
            draught_before: [a.identity.draught, b.identity.draught],
            confirmed: false,
            dirty: false,
        });
        run.last = moment.time;
        run.samples += 1;
        run.min_distance_m = run.min_distance_m.min(moment.distance_m);
        let bin = (moment.distance_m.round() as usize).min(run.distances.len() - 1);
        run.distances[bin] += 1;
        for speed in moment.speeds {
            let bin = ((f64::from(speed) * 10.0).round().max(0.0) as usize).min(SPEED_BINS - 1);
            run.speeds[bin] += 1;
        }
        run.lat_sum += moment.lat;
        run.lon_sum += moment.lon;
        run.last_mid = (moment.lat, moment.lon);
        run.dirty = run.confirmed;
        if run.confirmed
            || run.hours() < p.min_hours
            || run.median_speed_kn() >= p.max_median_speed_kn
        {
            return;
        }
        run.confirmed = true;
        stats.encounters += 1;
        let run = pair.run.as_ref().expect("set above");
        let mut record = self.record(params, ports, pair, run, EpisodeStatus::Ongoing);
        record.newly_confirmed = true;
        tracing::info!(
            mmsi_a = record.a.vessel.mmsi.0,
            mmsi_b = record.b.vessel.mmsi.0,
            start = %record.start,
            hours = format_args!("{:.1}", record.duration_hours),
            "Encounter confirmed."
        );
        changes.push(record);
    }

    fn record(
        &self,
        params: &DetectParams,
        ports: &Ports,
        pair: &Pair,
        run: &Run,
        status: EpisodeStatus,
    ) -> EncounterRecord {
        let side = |mmsi: Mmsi, before: Option<f32>| {
            let held = &self.held[&mmsi];
            EncounterSide {
                vessel: VesselAtSea::of(mmsi, &held.identity, held.watched),
                draught_before: before.map(|d| round_to(f64::from(d), 2)),
                draught_after: held.identity.draught.map(|d| round_to(f64::from(d), 2)),
                draught_change: None,
            }
        };
        let n = f64::from(run.samples.max(1));
        let (lat, lon) = (run.lat_sum / n, run.lon_sum / n);
        let nearest = nearest_port(ports, lat, lon);
        let mut record = EncounterRecord {
            a: side(pair.a, run.draught_before[0]),
            b: side(pair.b, run.draught_before[1]),
            status,
            start: run.start,
            end: run.last,
            duration_hours: round_to(run.hours(), 4),
            min_distance_m: round_to(run.min_distance_m, 1),
            median_distance_m: median_bin(&run.distances) as f64,
            median_speed_kn: round_to(run.median_speed_kn(), 1),
            lat: round_to(lat, 6),
            lon: round_to(lon, 6),
            start_lat: round_to(run.first_mid.0, 6),
            start_lon: round_to(run.first_mid.1, 6),
            end_lat: round_to(run.last_mid.0, 6),
            end_lon: round_to(run.last_mid.1, 6),
            samples: run.samples,
            nearest_port: nearest.map(|(p, _)| p.name.clone()),
            port_distance_nm: nearest.map(|(_, nm)| round_to(nm, 3)),
            away_rule: AWAY_RULE.to_owned(),
            receiving: None,
            est_tonnes: None,
            est_barrels: None,
            newly_confirmed: false,
        };
        record.settle_cargo(params);
        record
    }

    /// A run that ended: written as closed and kept a while for later draughts if confirmed,
    /// forgotten otherwise.
    fn finish_run(
        &mut self,
        params: &DetectParams,
        ports: &Ports,
        pair: &Pair,
        run: Run,
        changes: &mut Vec<EncounterRecord>,
    ) {
        if !run.confirmed {
            return;
        }
        let record = self.record(params, ports, pair, &run, EpisodeStatus::Closed);
        let until = record.end.plus_hours(params.at_sea.encounters.after_hours);
        changes.push(record.clone());
        self.settling.push(Settling { record, until });
    }

    fn unpair(&mut self, pair: &Pair) {
        for (one, two) in [(pair.a, pair.b), (pair.b, pair.a)] {
            if let Some(h) = self.held.get_mut(&one) {
                h.partners.retain(|m| *m != two);
            }
            self.release_if_idle(one);
        }
    }

    fn release_if_idle(&mut self, mmsi: Mmsi) {
        if self
            .held
            .get(&mmsi)
            .is_some_and(|h| h.partners.is_empty() && !h.slow)
        {
            self.held.remove(&mmsi);
        }
    }

    /// Drops the fixes no pair needs any more: those before every pair's cursor (one kept for
    /// interpolation), or, without pairs, those older than two grid buckets.
    fn trim(&mut self, mmsi: Mmsi) {
        let Some(held) = self.held.get_mut(&mmsi) else {
            return;
        };
        if held.partners.is_empty() && !held.slow {
            self.held.remove(&mmsi);
            return;
        }
        let latest = held.fixes.back().map_or(i64::MIN, |f| f.time.as_millis());
        let keep_from = held
            .partners
            .iter()
            .filter_map(|m| self.pairs.get(&pair_key(mmsi, *m)))
            .map(|p| p.cursor.as_millis())
            .min()
            .unwrap_or(latest - 2 * BUCKET_MS);
        while held.fixes.len() > 1
            && (held.fixes.len() > MAX_FIXES_HELD || held.fixes[1].time.as_millis() <= keep_from)
        {
            held.fixes.pop_front();
        }
    }

    pub(super) fn on_identity(
        &mut self,
        params: &DetectParams,
        mmsi: Mmsi,
        time: UnixMillis,
        identity: &Arc<Identity>,
        changes: &mut Vec<EncounterRecord>,
    ) {
        if let Some(held) = self.held.get_mut(&mmsi) {
            held.identity = identity.clone();
        }
        for settling in &mut self.settling {
            if time > settling.until || time < settling.record.end {
                continue;
            }
            let was = settling.record.clone();
            let Some(side) = settling.record.side_mut(mmsi) else {
                continue;
            };
            side.draught_after = identity.draught.map(|d| round_to(f64::from(d), 2));
            settling.record.settle_cargo(params);
            if settling.record != was {
                changes.push(settling.record.clone());
            }
        }
    }

    pub(super) fn on_clock(
        &mut self,
        params: &DetectParams,
        ports: &Ports,
        clock: UnixMillis,
        changes: &mut Vec<EncounterRecord>,
    ) {
        let p = &params.at_sea.encounters;
        let silence_ms = (p.max_silence_hours * 3_600_000.0) as i64;
        let silent = |h: Option<&Held>| {
            h.and_then(|h| h.fixes.back())
                .is_none_or(|f| clock.as_millis() - f.time.as_millis() > silence_ms)
        };
        // In key order, as the changes were always written.
        let ended = sorted_keys(&self.pairs, |pair| {
            silent(self.held.get(&pair.a)) || silent(self.held.get(&pair.b))
        });
        for key in ended {
            let Some(mut pair) = self.pairs.remove(&key) else {
                continue;
            };
            if let Some(run) = pair.run.take() {
                self.finish_run(params, ports, &pair, run, changes);
            }
            self.unpair(&pair);
        }
        let idle: Vec<Mmsi> = self
            .held
            .iter()
            .filter(|(_, h)| h.partners.is_empty() && (!h.slow || silent(Some(h))))
            .map(|(m, _)| *m)
            .collect();
        for mmsi in idle {
            self.held.remove(&mmsi);
        }
        let dirty = sorted_keys(&self.pairs, |pair| {
            pair.run.as_ref().is_some_and(|r| r.dirty)
        });
        for key in dirty {
            let pair = &self.pairs[&key];
            let record = self.record(
                params,
                ports,
                pair,
                pair.run.as_ref().expect("dirty run"),
                EpisodeStatus::Ongoing,
            );
            changes.push(record);
            if let Some(run) = self.pairs.get_mut(&key).and_then(|p| p.run.as_mut()) {
                run.dirty = false;
            }
        }
        self.settling.retain(|s| s.until >= clock);
    }

    pub(super) fn vessels_held(&self) -> usize {
        self.held.len()
    }

    pub(super) fn pairs_held(&self) -> usize {
        self.pairs.len()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::detect::sea_activity::{AtSea, AtSeaChange};
    use crate::model::{Fix, Heard as HeardAt};
    use crate::ports::Port;

    const MINUTE: i64 = 60_000;

    pub(crate) fn fix(mmsi: u32, lat: f64, lon: f64, sog: Option<f32>) -> Fix {
        Fix {
            sog,
            ..Fix::bare(Mmsi(mmsi), 1, HeardAt::default(), lat, lon)
        }
    }

    /// One vessel's fixes: (minute, lat, lon, knots).
    type Fixes = Vec<(i64, f64, f64, f32)>;

    struct Vessel {
        mmsi: u32,
        watched: bool,
        identity: Arc<Identity>,
        fixes: Fixes,
    }

    fn vessel(mmsi: u32, watched: bool, draught: f32, fixes: Fixes) -> Vessel {
        Vessel {
            mmsi,
            watched,
            identity: Arc::new(Identity {
                draught: Some(draught),
                length: Some(100),
                beam: Some(16),
                ..Identity::default()
            }),
            fixes,
        }
    }

    /// (minute, vessel index, a fix's lat/lon/knots, or a report's draught)
    type Event = (i64, usize, Option<(f64, f64, f32)>, Option<f32>);

    /// Feeds every vessel's fixes in time order (the engine's order) with the clock swept at
    /// each fix, then one sweep long after.
    fn run(
        vessels: &[Vessel],
        ports: &[Port],
        reports: &[(i64, u32, f32)],
    ) -> Vec<EncounterRecord> {
        let ports = &Ports::new(ports.to_vec());
        let params = DetectParams::default();
        let mut at_sea = AtSea::default();
        let mut events: Vec<Event> = Vec::new();
        for (i, v) in vessels.iter().enumerate() {
            events.extend(
                v.fixes
                    .iter()
                    .map(|&(m, lat, lon, kn)| (m, i, Some((lat, lon, kn)), None)),
            );
        }
        for &(m, mmsi, draught) in reports {
            let i = vessels.iter().position(|v| v.mmsi == mmsi).unwrap();
            events.push((m, i, None, Some(draught)));
        }
        events.sort_by_key(|e| (e.0, e.1));
        let mut identities: Vec<Arc<Identity>> =
            vessels.iter().map(|v| v.identity.clone()).collect();
        for (minute, i, position, draught) in events {
            let time = UnixMillis(minute * MINUTE);
            let v = &vessels[i];
            if let Some(draught) = draught {
                let mut identity = (*identities[i]).clone();
                identity.draught = Some(draught);
                identities[i] = Arc::new(identity);
                at_sea.on_identity(&params, Mmsi(v.mmsi), time, &identities[i]);
                continue;
            }
            let (lat, lon, kn) = position.unwrap();
            let heard = Heard {
                mmsi: Mmsi(v.mmsi),
                watched: v.watched,
                identity: &identities[i],
            };
            let sample = Sample::of(&fix(v.mmsi, lat, lon, Some(kn)), time, None).unwrap();
            at_sea.on_fix(&params, ports, heard, sample);
            at_sea.on_clock(&params, ports, time);
        }
        at_sea.on_clock(&params, ports, UnixMillis(10_000 * MINUTE));
        assert_eq!(at_sea.held(), (0, 0), "everything released once silent");
        let mut last: std::collections::BTreeMap<(Mmsi, Mmsi, UnixMillis), EncounterRecord> =
            std::collections::BTreeMap::new();
        for change in at_sea.take_changes() {
            if let AtSeaChange::Encounter(r) = change {
                last.insert(r.key(), *r);
            }
        }
        last.into_values().collect()
    }

    /// A vessel drifting at `kn` from (lat, lon) northward, reporting every `every` minutes.
    fn drifting(
        from: i64,
        until: i64,
        every: i64,
        lat: f64,
        lon: f64,
        kn: f32,
        offset: i64,
    ) -> Fixes {
        (0..)
            .map(|i| from + offset + i * every)
            .take_while(|m| *m <= until)
            .map(|m| {
                let nm = f64::from(kn) * (m - from) as f64 / 60.0;
                (m, lat + nm / 60.0, lon, kn)
            })
            .collect()
    }

    #[test]
    fn a_three_hour_meeting_at_sea_is_one_encounter_with_a_transfer() {
        // 300 m apart east-west, fixes interleaved, never simultaneous.
        let dlon = 300.0 / (METRES_PER_DEGREE * 41.0f64.to_radians().cos());
        let a = vessel(
            445_000_001,
            true,
            4.0,
            drifting(0, 180, 6, 41.0, 134.0, 0.5, 0),
        );
        let b = vessel(
            273_000_001,
            false,
            9.0,
            drifting(0, 180, 7, 41.0, 134.0 + dlon, 0.5, 2),
        );
        let reports = [(200, 445_000_001, 6.5), (210, 273_000_001, 6.6)];
        let found = run(&[a, b], &[], &reports);
        assert_eq!(found.len(), 1, "{found:#?}");
        let e = &found[0];
        assert_eq!(
            (e.a.vessel.mmsi, e.b.vessel.mmsi),
            (Mmsi(273_000_001), Mmsi(445_000_001))
        );
        assert_eq!(e.status, EpisodeStatus::Closed);
        assert_eq!(e.a.vessel.flag.as_deref(), Some("RU"));
        assert_eq!(e.b.vessel.flag.as_deref(), Some("KP"));
        assert!(
            (e.median_distance_m - 300.0).abs() <= 2.0,
            "{}",
            e.median_distance_m
        );
        assert!(e.duration_hours >= 2.9, "{}", e.duration_hours);
        assert_eq!(e.median_speed_kn, 0.5);
        assert_eq!(
            (e.b.draught_before, e.b.draught_after),
            (Some(4.0), Some(6.5))
        );
        assert_eq!(
            (e.a.draught_before, e.a.draught_after),
            (Some(9.0), Some(6.6))
        );
        assert_eq!(e.receiving, Some(Mmsi(445_000_001)));
        // 100 m x 16 m x 0.80 x 2.5 m x 1.025 t/m3
        assert_eq!(e.est_tonnes, Some(3280.0));
    }

    #[test]
    fn passing_fast_moored_in_port_short_or_unwatched_pairs_are_not_encounters() {
        let dlon = 200.0 / (METRES_PER_DEGREE * 41.0f64.to_radians().cos());
        // Passing at 12 kn: never slow, never a candidate.
        let north = vessel(
            445_000_001,
            true,
            4.0,
            drifting(0, 60, 1, 40.9, 134.0, 12.0, 0),
        );
        let south: Fixes = drifting(0, 60, 1, 41.1, 134.0 + dlon, 12.0, 0)
            .into_iter()
            .map(|(m, lat, lon, kn)| (m, 41.1 - (lat - 41.1), lon, kn))
            .collect();
        let south = vessel(273_000_001, true, 4.0, south);
        assert!(run(&[north, south], &[], &[]).is_empty());
        // Side by side inside a port zone.
        let port = [Port::circle("Vostochny", 41.0, 134.0, 2.0)];
        let a = vessel(
            445_000_001,
            true,
            4.0,
            drifting(0, 300, 5, 41.0, 134.0, 0.0, 0),
        );
        let b = vessel(
            273_000_001,
            true,
            4.0,
            drifting(0, 300, 5, 41.0, 134.0 + dlon, 0.0, 1),
        );
        assert!(run(&[a, b], &port, &[]).is_empty());
        // Together for 90 minutes only.
        let a = vessel(
            445_000_001,
            true,
            4.0,
            drifting(0, 90, 5, 41.0, 134.0, 0.3, 0),
        );
        let b = vessel(
            273_000_001,
            true,
            4.0,
            drifting(0, 90, 5, 41.0, 134.0 + dlon, 0.3, 1),
        );
        assert!(run(&[a, b], &[], &[]).is_empty());
        // Neither watched.
        let a = vessel(
            445_000_001,
            false,
            4.0,
            drifting(0, 300, 5, 41.0, 134.0, 0.3, 0),
        );
        let b = vessel(
            273_000_001,
            false,
            4.0,
            drifting(0, 300, 5, 41.0, 134.0 + dlon, 0.3, 1),
        );
        assert!(run(&[a, b], &[], &[]).is_empty());
    }

    #[test]
    fn separating_or_falling_silent_ends_the_encounter() {
        let dlon = 100.0 / (METRES_PER_DEGREE * 41.0f64.to_radians().cos());
        let a = vessel(
            445_000_001,
            true,
            4.0,
            drifting(0, 400, 5, 41.0, 134.0, 0.2, 0),
        );
        // Together 0-180 min, then 20 km away for good.
        let b_fixes: Fixes = drifting(0, 400, 5, 41.0, 134.0 + dlon, 0.2, 1)
            .into_iter()
            .map(|(m, lat, lon, kn)| {
                if m > 180 {
                    (m, lat + 0.2, lon, kn)
                } else {
                    (m, lat, lon, kn)
                }
            })
            .collect();
        let b = vessel(273_000_001, false, 4.0, b_fixes);
        let found = run(&[a, b], &[], &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].end, UnixMillis(176 * MINUTE));
        // One of them silent from minute 150: closed at its last common time.
        let a = vessel(
            445_000_001,
            true,
            4.0,
            drifting(0, 400, 5, 41.0, 134.0, 0.2, 0),
        );
        let b = vessel(
            273_000_001,
            false,
            4.0,
            drifting(0, 150, 5, 41.0, 134.0 + dlon, 0.2, 1),
        );
        let found = run(&[a, b], &[], &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].status, EpisodeStatus::Closed);
        assert_eq!(found[0].end, UnixMillis(146 * MINUTE));
    }

    #[test]
    fn speed_comes_from_sog_or_the_previous_fix() {
        use crate::track::Position;
        let mut f = fix(445_000_001, 42.0, 134.0, None);
        let t = UnixMillis(3_600_000);
        assert_eq!(Sample::of(&f, t, None), None);
        let previous = Position {
            time: UnixMillis(0),
            lat: 42.0 - 1.0 / 60.0,
            lon: 134.0,
        };
        let implied = Sample::of(&f, t, Some(previous)).unwrap().speed_kn;
        assert!((implied - 1.0).abs() < 0.01, "{implied}");
        f.sog = Some(102.3);
        assert!((Sample::of(&f, t, Some(previous)).unwrap().speed_kn - 1.0).abs() < 0.01);
        f.sog = Some(0.4);
        assert_eq!(Sample::of(&f, t, Some(previous)).unwrap().speed_kn, 0.4);
    }

    #[test]
    fn candidates_come_from_neighbouring_cells_only() {
        let cell = 500.0;
        let row = cell_row(41.0, cell);
        let column = cell_column(134.0, row, cell);
        let dlon = 499.0 / (METRES_PER_DEGREE * 41.0f64.to_radians().cos());
        let east = cell_column(134.0 + dlon, row, cell);
        assert!((east - column).abs() <= 1);
        let far = cell_column(134.0 + 3.0 * dlon, row, cell);
        assert!((far - column).abs() >= 2);
    }
}
