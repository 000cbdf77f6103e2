//! Dark rendezvous: a watched vessel's silence that another vessel's silence, or its idling
//! with AIS on, could have shared for at least the minimum encounter time. Each dark period
//! and idling episode is a "leg"; legs are filed in the 1-degree cells their reach covers, so a
//! leg is only ever tested against the legs sharing a cell with it (a meeting place lies in the
//! reach of both), never against every other. Legs are judged as gaps close, again when late
//! data changes them (and withdrawn with them), and open silences at the end of the input.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};
use serde::{Deserialize, Serialize};

use super::at_sea::{nearest_port, RendezvousParams, VesselAtSea, AWAY_RULE};
use super::meeting_place::{meeting_place, MeetingPlace, Rule, Whereabouts};
use super::round_to;
use crate::model::Mmsi;
use crate::ports::Ports;
use crate::time::{UnixMillis, MILLIS_PER_HOUR};

/// Cell size of the leg index, degrees of latitude and longitude.
const CELL_DEGREES: f64 = 1.0;
/// Cells per row of longitude in a cell's number.
const CELLS_PER_ROW: i64 = (360.0 / CELL_DEGREES) as i64;
/// Legs are walked for forgetting at most this often (stream time).
const FORGET_EVERY_MS: i64 = 6 * MILLIS_PER_HOUR;

/// What a leg is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegKind {
    /// A closed gap: fix A, silence, fix B.
    Gap,
    /// A gap still open at the end of the input: only fix A is known.
    OpenGap,
    /// A loitering episode: heard idling at sea.
    Loitering,
}

/// Where an idling vessel was: the mean of its fixes and the farthest its ends lie from it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct IdleArea {
    pub lat: f64,
    pub lon: f64,
    pub radius_nm: f64,
}

/// One vessel's side of a rendezvous: its silence (fix A to fix B) or its idling.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RendezvousLeg {
    #[serde(flatten)]
    pub vessel: VesselAtSea,
    pub kind: LegKind,
    /// Fix A (or the first idle fix).
    pub from: UnixMillis,
    pub from_lat: f64,
    pub from_lon: f64,
    /// Fix B (or the last idle fix); for an open gap the stream clock, and no position.
    pub until: UnixMillis,
    pub until_lat: Option<f64>,
    pub until_lon: Option<f64>,
    pub hours: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_area: Option<IdleArea>,
}

type LegKey = (Mmsi, UnixMillis);
type PairKey = (LegKey, LegKey);

impl RendezvousLeg {
    pub fn key(&self) -> LegKey {
        (self.vessel.mmsi, self.from)
    }

    fn is_dark(&self) -> bool {
        self.kind != LegKind::Loitering
    }

    /// Whether only the vessel's identity differs (a coverage re-judgement changes nothing
    /// here).
    fn same_place_and_time(&self, other: &RendezvousLeg) -> bool {
        (
            self.kind,
            self.from,
            self.until,
            self.from_lat,
            self.from_lon,
        ) == (
            other.kind,
            other.from,
            other.until,
            other.from_lat,
            other.from_lon,
        ) && (self.until_lat, self.until_lon, self.idle_area)
            == (other.until_lat, other.until_lon, other.idle_area)
    }

    fn whereabouts(&self) -> Whereabouts {
        let hours = |t: UnixMillis| t.as_millis() as f64 / MILLIS_PER_HOUR as f64;
        match (self.kind, self.idle_area) {
            (LegKind::Loitering, Some(area)) => Whereabouts::Idle {
                at: (area.lat, area.lon),
                radius_nm: area.radius_nm,
                from: hours(self.from),
                until: hours(self.until),
            },
            _ => Whereabouts::Dark {
                a: (self.from_lat, self.from_lon),
                ta: hours(self.from),
                b: self.until_lat.zip(self.until_lon),
                tb: hours(self.until),
            },
        }
    }
}

/// Where a rendezvous stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RendezvousStatus {
    /// Both legs are over and could have met.
    Candidate,
    /// One of the vessels is still dark: feasible so far.
    Open,
    /// Late data (or the vessel coming back) left no time or room to meet.
    Withdrawn,
}

impl RendezvousStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RendezvousStatus::Candidate => "candidate",
            RendezvousStatus::Open => "open",
            RendezvousStatus::Withdrawn => "withdrawn",
        }
    }
}

/// One candidate dark rendezvous: the record analysts query.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RendezvousRecord {
    /// The watched vessel's silence (of two watched vessels dark, the lower MMSI's).
    pub dark: RendezvousLeg,
    /// The other vessel's silence or idling.
    pub partner: RendezvousLeg,
    pub status: RendezvousStatus,
    /// The earliest the two could have been together, and the latest they could have parted.
    pub earliest: UnixMillis,
    pub latest: UnixMillis,
    /// Hours beyond `min_hours` the two could have spent together at the best place.
    pub slack_hours: f64,
    /// The longest they could have been together there.
    pub together_hours: f64,
    /// The best meeting place (the most time together, away from ports).
    pub lat: f64,
    pub lon: f64,
    /// Outline of every place they could have met for `min_hours`, [lon, lat] pairs.
    pub area: Vec<[f64; 2]>,
    pub area_radius_nm: f64,
    pub nearest_port: Option<String>,
    pub port_distance_nm: Option<f64>,
    pub away_rule: String,
    /// The rule it was judged by.
    pub min_hours: f64,
    pub max_speed_kn: f64,
    /// Set on the change that first finds the pair: what alerts are raised on.
    #[serde(skip)]
    pub newly_found: bool,
}

impl RendezvousRecord {
    pub fn key(&self) -> (Mmsi, UnixMillis, Mmsi, UnixMillis) {
        let (d, p) = (self.dark.key(), self.partner.key());
        (d.0, d.1, p.0, p.1)
    }
}

/// Counters of the rendezvous detector.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RendezvousStats {
    /// Pairs found feasible (each once).
    pub found: u64,
    /// Pairs found then withdrawn by later data.
    pub withdrawn: u64,
    /// Pairs sharing a cell and overlapping in time that were tested.
    pub pairs_tested: u64,
    /// Legs whose silence was longer than `max_gap_hours` (not paired).
    pub too_long: u64,
    /// Silences that began or ended within `min_port_distance_km` of a designated port: a
    /// port call's, not paired.
    #[serde(default)]
    pub in_port: u64,
    /// Pairs not judged because the feed was not heard for enough of their common hours (a
    /// whole-feed outage silences every vessel at once).
    #[serde(default)]
    pub feed_unheard: u64,
}

/// Fixes heard per hour on the whole feed: an hour nobody was heard in is an outage, not two
/// vessels switching off together.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct FeedHours {
    first_hour: i64,
    counts: VecDeque<u32>,
}

/// More hours than this between two fixes starts the count afresh.
const FEED_HOURS_MAX: usize = 24 * 400;

impl FeedHours {
    fn heard(&mut self, time: UnixMillis) {
        let hour = time.as_millis().div_euclid(MILLIS_PER_HOUR);
        if self.counts.is_empty() {
            self.first_hour = hour;
        }
        if hour < self.first_hour {
            return;
        }
        let index = (hour - self.first_hour) as usize;
        if index >= FEED_HOURS_MAX {
            self.counts.clear();
            self.first_hour = hour;
            self.counts.push_back(1);
            return;
        }
        if index >= self.counts.len() {
            self.counts.resize(index + 1, 0);
        }
        self.counts[index] = self.counts[index].saturating_add(1);
    }

    /// The share of the whole hours from `from` to `until` in which anything was heard.
    fn share_heard(&self, from: UnixMillis, until: UnixMillis) -> f64 {
        let first = from.as_millis().div_euclid(MILLIS_PER_HOUR);
        let last = (until.as_millis() - 1).div_euclid(MILLIS_PER_HOUR);
        if last < first {
            return 1.0;
        }
        let heard = (first..=last)
            .filter(|h| {
                h.checked_sub(self.first_hour)
                    .and_then(|i| usize::try_from(i).ok())
                    .and_then(|i| self.counts.get(i))
                    .is_some_and(|&n| n > 0)
            })
            .count();
        heard as f64 / (last - first + 1) as f64
    }

    fn forget_before(&mut self, time: UnixMillis) {
        let hour = time.as_millis().div_euclid(MILLIS_PER_HOUR);
        while self.first_hour < hour && !self.counts.is_empty() {
            self.counts.pop_front();
            self.first_hour += 1;
        }
    }
}

/// The detector's state, as a checkpoint stores it (the cell index is rebuilt).
#[derive(Serialize, Deserialize)]
struct Saved {
    legs: Vec<RendezvousLeg>,
    pairs: Vec<RendezvousRecord>,
    stats: RendezvousStats,
    reach: Reach,
    forgot_until: UnixMillis,
    #[serde(default)]
    feed: FeedHours,
}

/// The speed and minimum time legs are filed under: a leg's cells cover every place it could
/// have spent that time at that speed.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
struct Reach {
    speed_kn: f64,
    hours: f64,
}

impl Default for Reach {
    fn default() -> Self {
        Reach::of(&RendezvousParams::default())
    }
}

impl Reach {
    fn of(params: &RendezvousParams) -> Reach {
        Reach {
            speed_kn: params.max_speed_kn,
            hours: params.min_hours,
        }
    }
}

/// A leg's cells as a rectangle of cell columns and rows, `[column, row]` corners inclusive
/// (two for a reach across the prime meridian, where the columns, counted from 0 degrees east,
/// wrap). Two legs share a cell exactly when two of their rectangles intersect, so a search
/// of the rectangles finds each partner once: filed under each of its cells, a long silence
/// (a hundred cells and more) came back from every cell it shared, and on a real 1,000-vessel
/// extract with every vessel dark, gathering those was nearly all of the replay.
type FiledLeg = GeomWithData<Rectangle<[f64; 2]>, LegKey>;

/// The legs by their cells, silences apart from idling: an idling leg can only pair with a
/// silence, so the idling legs around it, by the hundred at a busy anchorage-free sea, are
/// never looked at when it changes.
#[derive(Clone, Debug, Default)]
struct Filed {
    dark: RTree<FiledLeg>,
    idle: RTree<FiledLeg>,
}

impl Filed {
    fn of_kind(&mut self, dark: bool) -> &mut RTree<FiledLeg> {
        if dark {
            &mut self.dark
        } else {
            &mut self.idle
        }
    }
}

/// The dark-rendezvous detector: the legs still open to pairing and the pairs written.
#[derive(Clone, Debug, Default)]
pub struct Rendezvous {
    legs: BTreeMap<LegKey, RendezvousLeg>,
    filed: Filed,
    /// Last written record of each pair.
    pairs: BTreeMap<PairKey, RendezvousRecord>,
    /// The pairs each leg belongs to.
    pairs_of: BTreeMap<LegKey, BTreeSet<PairKey>>,
    stats: RendezvousStats,
    reach: Reach,
    /// Legs ending before this have left memory.
    forgot_until: UnixMillis,
    feed: FeedHours,
}

impl Serialize for Rendezvous {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Saved {
            legs: self.legs.values().cloned().collect(),
            pairs: self.pairs.values().cloned().collect(),
            stats: self.stats.clone(),
            reach: self.reach,
            forgot_until: self.forgot_until,
            feed: self.feed.clone(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Rendezvous {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let saved = Saved::deserialize(deserializer)?;
        let mut detector = Rendezvous {
            stats: saved.stats,
            reach: saved.reach,
            forgot_until: saved.forgot_until,
            feed: saved.feed,
            ..Rendezvous::default()
        };
        for leg in saved.legs {
            detector.file(leg);
        }
        for record in saved.pairs {
            detector.remember(record);
        }
        Ok(detector)
    }
}

/// What a pair is judged by: the rule, and the share of its common hours the feed must have
/// been heard in (`[detect] min_coverage`).
#[derive(Clone, Copy, Debug)]
pub struct PairRule<'a> {
    pub params: &'a RendezvousParams,
    pub min_feed_share: f64,
}

impl Rendezvous {
    /// A fix was heard on the feed (any vessel's, in stream order).
    pub fn heard(&mut self, time: UnixMillis) {
        self.feed.heard(time);
    }

    /// A leg closed or changed: files it and tests it against every leg it shares a cell
    /// with (and those it was paired with), writing pairs found, changed or withdrawn.
    pub fn on_leg(
        &mut self,
        rule: PairRule<'_>,
        ports: &Ports,
        leg: RendezvousLeg,
        out: &mut Vec<RendezvousRecord>,
    ) {
        let params = rule.params;
        let key = leg.key();
        if self.reach != Reach::of(params) {
            self.refile(Reach::of(params));
        }
        if let Some(known) = self.legs.get_mut(&key) {
            if known.same_place_and_time(&leg) {
                known.vessel = leg.vessel;
                return;
            }
        }
        if leg.is_dark() && leg.hours > params.max_gap_hours {
            self.stats.too_long += 1;
            self.unfile(key);
            self.withdraw_pairs_of(key, out);
            return;
        }
        if leg.is_dark() && in_port(params, ports, &leg) {
            self.stats.in_port += 1;
            self.unfile(key);
            self.withdraw_pairs_of(key, out);
            return;
        }
        let cells = cells_of(&leg, self.reach);
        // Only a silence of a watched vessel pairs with any leg; every other leg needs one.
        let pairs_with_any = leg.is_dark() && leg.vessel.watched;
        self.refile_leg(leg, &cells);
        let mut partners: Vec<LegKey> = self
            .pairs_of
            .get(&key)
            .into_iter()
            .flatten()
            .map(|&(d, p)| if d == key { p } else { d })
            .collect();
        for range in &cells {
            let area = range.envelope();
            let near = self.filed.dark.locate_in_envelope_intersecting(&area);
            partners.extend(near.map(|filed| filed.data));
            if pairs_with_any {
                let idle = self.filed.idle.locate_in_envelope_intersecting(&area);
                partners.extend(idle.map(|filed| filed.data));
            }
        }
        // In key order, once each (a partner's own pairs may list it too).
        partners.sort_unstable();
        partners.dedup();
        partners.retain(|partner| *partner != key);
        for partner in partners {
            self.judge_pair(rule, ports, key, partner, out);
        }
    }

    /// A leg no longer stands (its gap withdrawn, found a position jump or another hull):
    /// every pair it made is withdrawn.
    pub fn withdraw_leg(&mut self, key: (Mmsi, UnixMillis), out: &mut Vec<RendezvousRecord>) {
        if self.unfile(key) {
            self.withdraw_pairs_of(key, out);
        }
    }

    /// Legs that ended before `keep_from` can no longer pair with a new or re-judged leg;
    /// they and their pairs leave memory (the stored rows stay). Walks the legs a few times a
    /// day at most.
    pub fn forget_before(&mut self, keep_from: UnixMillis) {
        if keep_from.as_millis() - self.forgot_until.as_millis() < FORGET_EVERY_MS {
            return;
        }
        self.forgot_until = keep_from;
        self.feed.forget_before(keep_from);
        let old: Vec<LegKey> = self
            .legs
            .values()
            .filter(|l| l.until < keep_from)
            .map(RendezvousLeg::key)
            .collect();
        for key in old {
            self.unfile(key);
            for pair in self.pairs_of.remove(&key).unwrap_or_default() {
                self.pairs.remove(&pair);
                let other = if pair.0 == key { pair.1 } else { pair.0 };
                if let Some(set) = self.pairs_of.get_mut(&other) {
                    set.remove(&pair);
                }
            }
        }
    }

    pub fn stats(&self) -> &RendezvousStats {
        &self.stats
    }

    /// Legs and pairs held: what memory is proportional to.
    pub fn held(&self) -> (usize, usize) {
        (self.legs.len(), self.pairs.len())
    }

    /// The rule's speed or time changed (a reloaded configuration): every leg is filed again.
    fn refile(&mut self, reach: Reach) {
        self.reach = reach;
        self.filed = Filed::default();
        let legs = std::mem::take(&mut self.legs);
        for leg in legs.into_values() {
            self.file(leg);
        }
    }

    fn file(&mut self, leg: RendezvousLeg) {
        let cells = cells_of(&leg, self.reach);
        self.file_in(leg, &cells);
    }

    fn file_in(&mut self, leg: RendezvousLeg, cells: &[CellRange]) {
        let (key, dark) = (leg.key(), leg.is_dark());
        for range in cells {
            self.filed.of_kind(dark).insert(range.filed(key));
        }
        self.legs.insert(key, leg);
    }

    /// Files a new or changed leg under `cells` (its own). An idling episode's progress
    /// mostly stays in the cells it was filed in: then only the leg itself is replaced.
    fn refile_leg(&mut self, leg: RendezvousLeg, cells: &[CellRange]) {
        if let Some(known) = self.legs.get_mut(&leg.key()) {
            if known.is_dark() == leg.is_dark() && cells_of(known, self.reach) == cells {
                *known = leg;
                return;
            }
        }
        self.unfile(leg.key());
        self.file_in(leg, cells);
    }

    /// Takes a leg out of the index; whether it was there.
    fn unfile(&mut self, key: LegKey) -> bool {
        let Some(leg) = self.legs.remove(&key) else {
            return false;
        };
        for range in cells_of(&leg, self.reach) {
            self.filed.of_kind(leg.is_dark()).remove(&range.filed(key));
        }
        true
    }

    fn remember(&mut self, record: RendezvousRecord) {
        let (d, p) = (record.dark.key(), record.partner.key());
        self.pairs_of.entry(d).or_default().insert((d, p));
        self.pairs_of.entry(p).or_default().insert((d, p));
        self.pairs.insert((d, p), record);
    }

    fn withdraw_pairs_of(&mut self, key: LegKey, out: &mut Vec<RendezvousRecord>) {
        let pairs: Vec<PairKey> = self
            .pairs_of
            .get(&key)
            .into_iter()
            .flatten()
            .copied()
            .collect();
        for pair in pairs {
            self.withdraw(pair, out);
        }
    }

    fn withdraw(&mut self, pair: PairKey, out: &mut Vec<RendezvousRecord>) {
        let Some(record) = self.pairs.get_mut(&pair) else {
            return;
        };
        if record.status == RendezvousStatus::Withdrawn {
            return;
        }
        record.status = RendezvousStatus::Withdrawn;
        record.newly_found = false;
        self.stats.withdrawn += 1;
        tracing::info!(
            mmsi = pair.0 .0 .0,
            partner = pair.1 .0 .0,
            dark_from = %pair.0 .1,
            "Dark rendezvous withdrawn."
        );
        out.push(record.clone());
    }

    /// Tests two legs and writes what changed.
    fn judge_pair(
        &mut self,
        rule: PairRule<'_>,
        ports: &Ports,
        one: LegKey,
        two: LegKey,
        out: &mut Vec<RendezvousRecord>,
    ) {
        let (Some(a), Some(b)) = (self.legs.get(&one), self.legs.get(&two)) else {
            return;
        };
        let Some((dark, partner)) = ordered(a, b) else {
            return;
        };
        let params = rule.params;
        let pair = (dark.key(), partner.key());
        let common = (dark.from.max(partner.from), dark.until.min(partner.until));
        let found =
            if overlap_hours(dark, partner) >= params.min_hours && dark.mmsi() != partner.mmsi() {
                if self.feed.share_heard(common.0, common.1) < rule.min_feed_share {
                    self.stats.feed_unheard += 1;
                    None
                } else {
                    self.stats.pairs_tested += 1;
                    judge(params, ports, dark, partner)
                }
            } else {
                None
            };
        match found {
            Some(mut record) => {
                let before = self.pairs.get(&pair);
                if before.is_some_and(|b| *b == record) {
                    return;
                }
                if before.is_none_or(|b| b.status == RendezvousStatus::Withdrawn) {
                    self.stats.found += 1;
                    record.newly_found = true;
                    tracing::info!(
                        mmsi = record.dark.vessel.mmsi.0,
                        partner = record.partner.vessel.mmsi.0,
                        dark_from = %record.dark.from,
                        slack_hours = record.slack_hours,
                        "Dark rendezvous found."
                    );
                }
                out.push(record.clone());
                record.newly_found = false;
                self.remember(record);
            }
            None => self.withdraw(pair, out),
        }
    }
}

impl RendezvousLeg {
    fn mmsi(&self) -> Mmsi {
        self.vessel.mmsi
    }
}

/// Which leg is the dark one and which the partner, if the two may pair at all: the dark one
/// is a watched vessel's silence; of two watched silences, the lower MMSI's.
fn ordered<'a>(
    a: &'a RendezvousLeg,
    b: &'a RendezvousLeg,
) -> Option<(&'a RendezvousLeg, &'a RendezvousLeg)> {
    let dark_watched = |l: &RendezvousLeg| l.is_dark() && l.vessel.watched;
    match (dark_watched(a), dark_watched(b)) {
        (true, true) if b.key() < a.key() => Some((b, a)),
        (true, true) => Some((a, b)),
        (true, false) => Some((a, b)),
        (false, true) => Some((b, a)),
        _ => None,
    }
}

/// Whether a silence began or ended near a designated port (a berth or anchorage silence).
fn in_port(params: &RendezvousParams, ports: &Ports, leg: &RendezvousLeg) -> bool {
    let min_nm = params.min_port_distance_km * 1000.0 / crate::ports::METRES_PER_NM;
    let ends = [
        Some((leg.from_lat, leg.from_lon)),
        leg.until_lat.zip(leg.until_lon),
    ];
    ends.into_iter()
        .flatten()
        .any(|(lat, lon)| !ports.all_at_least(lat, lon, min_nm))
}

/// Hours both legs cover.
fn overlap_hours(a: &RendezvousLeg, b: &RendezvousLeg) -> f64 {
    let from = a.from.max(b.from);
    let until = a.until.min(b.until);
    from.hours_until(until)
}

/// The record of two legs that could have met, or `None`.
fn judge(
    params: &RendezvousParams,
    ports: &Ports,
    dark: &RendezvousLeg,
    partner: &RendezvousLeg,
) -> Option<RendezvousRecord> {
    let min_nm = params.min_port_distance_km * 1000.0 / crate::ports::METRES_PER_NM;
    let away = |lat: f64, lon: f64| ports.all_at_least(lat, lon, min_nm);
    let rule = Rule {
        speed_kn: params.max_speed_kn,
        hours: params.min_hours,
        away: &away,
    };
    let place = meeting_place(&dark.whereabouts(), &partner.whereabouts(), &rule)?;
    Some(record_of(params, ports, dark, partner, &place))
}

fn record_of(
    params: &RendezvousParams,
    ports: &Ports,
    dark: &RendezvousLeg,
    partner: &RendezvousLeg,
    place: &MeetingPlace,
) -> RendezvousRecord {
    let millis = |hours: f64| UnixMillis((hours * MILLIS_PER_HOUR as f64).round() as i64);
    let open = dark.kind == LegKind::OpenGap || partner.kind == LegKind::OpenGap;
    let nearest = nearest_port(ports, place.lat, place.lon);
    let mut area: Vec<[f64; 2]> = place
        .outline
        .iter()
        .map(|&(lat, lon)| [round_to(lon, 5), round_to(lat, 5)])
        .collect();
    if let Some(&first) = area.first() {
        area.push(first);
    }
    RendezvousRecord {
        dark: dark.clone(),
        partner: partner.clone(),
        status: if open {
            RendezvousStatus::Open
        } else {
            RendezvousStatus::Candidate
        },
        earliest: UnixMillis(millis(place.earliest_h).as_millis() / 1000 * 1000),
        latest: UnixMillis(millis(place.latest_h).as_millis() / 1000 * 1000),
        slack_hours: round_to(place.slack_hours, 2),
        together_hours: round_to(place.slack_hours + params.min_hours, 2),
        lat: round_to(place.lat, 4),
        lon: round_to(place.lon, 4),
        area,
        area_radius_nm: round_to(place.radius_nm, 1),
        nearest_port: nearest.map(|(p, _)| p.name.clone()),
        port_distance_nm: nearest.map(|(_, nm)| round_to(nm, 1)),
        away_rule: AWAY_RULE.to_owned(),
        min_hours: params.min_hours,
        max_speed_kn: params.max_speed_kn,
        newly_found: false,
    }
}

/// Cells `[first column, first row]` to `[last column, last row]`, inclusive, columns within
/// one turn of the globe.
#[derive(Clone, Copy, Debug, PartialEq)]
struct CellRange {
    first: [i64; 2],
    last: [i64; 2],
}

impl CellRange {
    fn envelope(&self) -> AABB<[f64; 2]> {
        AABB::from_corners(self.first.map(|c| c as f64), self.last.map(|c| c as f64))
    }

    fn filed(&self, key: LegKey) -> FiledLeg {
        let corners = self.envelope();
        GeomWithData::new(Rectangle::from_aabb(corners), key)
    }
}

/// The cells a leg's reach covers (at the rule's speed, for the rule's minimum time): the
/// 1-degree cells its reach box touches, as one range of cells or two where the box crosses
/// the prime meridian; none when it can be nowhere.
fn cells_of(leg: &RendezvousLeg, reach: Reach) -> Vec<CellRange> {
    let Some([south, west, north, east]) = leg.whereabouts().reach_box(reach.speed_kn, reach.hours)
    else {
        return Vec::new();
    };
    let row = |lat: f64| ((lat + 90.0) / CELL_DEGREES).floor() as i64;
    let column = |lon: f64| (lon / CELL_DEGREES).floor() as i64;
    let columns = (column(east) - column(west)).min(CELLS_PER_ROW - 1);
    let west_col = column(west).rem_euclid(CELLS_PER_ROW);
    let east_col = west_col + columns;
    let (first_row, last_row) = (row(south), row(north));
    if first_row > last_row || columns < 0 {
        return Vec::new();
    }
    let range = |from: i64, to: i64| CellRange {
        first: [from, first_row],
        last: [to, last_row],
    };
    if east_col < CELLS_PER_ROW {
        vec![range(west_col, east_col)]
    } else {
        vec![
            range(west_col, CELLS_PER_ROW - 1),
            range(0, east_col - CELLS_PER_ROW),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::Identity;

    const HOUR: i64 = MILLIS_PER_HOUR;

    fn leg(mmsi: u32, watched: bool, lon: f64, from_h: i64, until_h: i64) -> RendezvousLeg {
        RendezvousLeg {
            vessel: VesselAtSea::of(Mmsi(mmsi), &Identity::default(), watched),
            kind: LegKind::Gap,
            from: UnixMillis(from_h * HOUR),
            from_lat: 41.0,
            from_lon: lon,
            until: UnixMillis(until_h * HOUR),
            until_lat: Some(41.0),
            until_lon: Some(lon),
            hours: (until_h - from_h) as f64,
            idle_area: None,
        }
    }

    /// A detector that heard the feed every hour of the first two days.
    fn detector() -> Rendezvous {
        let mut r = Rendezvous::default();
        for h in 0..48 {
            r.heard(UnixMillis(h * HOUR + 1));
        }
        r
    }

    fn rule(params: &RendezvousParams) -> PairRule<'_> {
        PairRule {
            params,
            min_feed_share: 0.75,
        }
    }

    #[test]
    fn a_pair_is_found_once_and_withdrawn_when_late_data_shortens_a_silence() {
        let params = RendezvousParams::default();
        let ports = Ports::from([]);
        let mut r = detector();
        let mut out = Vec::new();
        // 0.8 degrees of longitude (36 nm) apart, both dark 10 h: they could have met.
        r.on_leg(
            rule(&params),
            &ports,
            leg(445_000_001, true, 134.0, 0, 10),
            &mut out,
        );
        assert!(out.is_empty());
        r.on_leg(
            rule(&params),
            &ports,
            leg(273_000_001, false, 134.8, 1, 11),
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert!(out[0].newly_found);
        assert_eq!(out[0].status, RendezvousStatus::Candidate);
        assert_eq!(out[0].dark.vessel.mmsi, Mmsi(445_000_001));
        // The same gap judged again (coverage): nothing new.
        r.on_leg(
            rule(&params),
            &ports,
            leg(445_000_001, true, 134.0, 0, 10),
            &mut out,
        );
        assert_eq!(out.len(), 1);
        // A checkpoint goes on as the original would.
        let text = serde_json::to_string(&r).unwrap();
        let mut restored: Rendezvous = serde_json::from_str(&text).unwrap();
        // A late fix cut the watched vessel's silence to 4 h: no time left to get there and
        // back and stay 2 h.
        let mut late = Vec::new();
        restored.on_leg(
            rule(&params),
            &ports,
            leg(445_000_001, true, 134.0, 0, 4),
            &mut late,
        );
        r.on_leg(
            rule(&params),
            &ports,
            leg(445_000_001, true, 134.0, 0, 4),
            &mut out,
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].status, RendezvousStatus::Withdrawn);
        assert_eq!(late, out[1..]);
        assert_eq!(r.stats().found, 1);
        assert_eq!(r.stats().withdrawn, 1);
        // A gap withdrawn outright takes nothing more with it (already withdrawn).
        r.withdraw_leg((Mmsi(445_000_001), UnixMillis(0)), &mut out);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn only_a_watched_silence_pairs_and_never_with_itself_or_far_away_or_in_an_outage() {
        let params = RendezvousParams::default();
        let ports = Ports::from([]);
        let mut out = Vec::new();
        let mut r = detector();
        r.on_leg(
            rule(&params),
            &ports,
            leg(273_000_001, false, 134.0, 0, 10),
            &mut out,
        );
        r.on_leg(
            rule(&params),
            &ports,
            leg(273_000_002, false, 134.5, 0, 10),
            &mut out,
        );
        assert!(
            out.is_empty(),
            "two unwatched silences are no one's rendezvous"
        );
        // 10 degrees east: no shared cell, never even tested.
        r.on_leg(
            rule(&params),
            &ports,
            leg(445_000_001, true, 144.0, 0, 10),
            &mut out,
        );
        assert!(out.is_empty());
        assert_eq!(r.stats().pairs_tested, 0);
        // Dark from a berth: a port call's silence, never a leg.
        let port = Ports::new(vec![crate::ports::Port::circle("Berth", 41.0, 134.1, 1.0)]);
        let mut berth = detector();
        berth.on_leg(
            rule(&params),
            &port,
            leg(273_000_001, false, 134.5, 0, 10),
            &mut out,
        );
        berth.on_leg(
            rule(&params),
            &port,
            leg(445_000_001, true, 134.1, 0, 10),
            &mut out,
        );
        assert!(out.is_empty());
        assert_eq!(berth.stats().in_port, 1);
        assert_eq!(berth.held(), (1, 0));
        // A feed heard in none of the hours: an outage, not a meeting.
        let mut deaf = Rendezvous::default();
        deaf.on_leg(
            rule(&params),
            &ports,
            leg(273_000_001, false, 134.0, 100, 110),
            &mut out,
        );
        deaf.on_leg(
            rule(&params),
            &ports,
            leg(445_000_001, true, 134.5, 100, 110),
            &mut out,
        );
        assert!(out.is_empty());
        assert_eq!(deaf.stats().feed_unheard, 1);
    }

    #[test]
    fn a_loitering_partner_is_met_where_it_idled() {
        let params = RendezvousParams::default();
        let ports = Ports::from([]);
        let mut out = Vec::new();
        let mut r = detector();
        let mut idle = leg(273_000_001, true, 134.5, 2, 9);
        idle.kind = LegKind::Loitering;
        idle.idle_area = Some(IdleArea {
            lat: 41.0,
            lon: 134.5,
            radius_nm: 0.2,
        });
        r.on_leg(rule(&params), &ports, idle, &mut out);
        r.on_leg(
            rule(&params),
            &ports,
            leg(445_000_001, true, 134.0, 0, 10),
            &mut out,
        );
        assert_eq!(out.len(), 1);
        let found = &out[0];
        assert_eq!(found.partner.kind, LegKind::Loitering);
        assert!(crate::ports::haversine_nm(found.lat, found.lon, 41.0, 134.5) <= 0.21);
        // Forgotten once nothing can pair with it any more.
        r.forget_before(UnixMillis(40 * HOUR));
        assert_eq!(r.held(), (0, 0));
    }

    /// The 1-degree cells of a leg's reach, each numbered, enumerated one by one: what the
    /// ranges of [`cells_of`] stand for.
    fn each_cell_of(leg: &RendezvousLeg, reach: Reach) -> BTreeSet<i64> {
        let Some([south, west, north, east]) =
            leg.whereabouts().reach_box(reach.speed_kn, reach.hours)
        else {
            return BTreeSet::new();
        };
        let row = |lat: f64| ((lat + 90.0) / CELL_DEGREES).floor() as i64;
        let column = |lon: f64| (lon / CELL_DEGREES).floor() as i64;
        let last_column = column(east).min(column(west) + CELLS_PER_ROW - 1);
        let mut cells = BTreeSet::new();
        for r in row(south)..=row(north) {
            for c in column(west)..=last_column {
                cells.insert(r * CELLS_PER_ROW + c.rem_euclid(CELLS_PER_ROW));
            }
        }
        cells
    }

    #[test]
    fn the_legs_found_near_a_leg_are_those_sharing_a_cell_with_it_across_both_meridians_too() {
        let reach = Reach::of(&RendezvousParams::default());
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |below: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % below
        };
        let mut legs = Vec::new();
        for n in 0..300u32 {
            // Around the antimeridian (both spellings of its longitudes), around the prime
            // meridian and off Japan, dark from an hour to four days: reaches of no cell, one,
            // or hundreds.
            let lon = match next(4) {
                0 => 170.0 + next(2000) as f64 / 100.0,
                1 => -180.0 + next(1000) as f64 / 100.0,
                2 => -10.0 + next(2000) as f64 / 100.0,
                _ => 130.0 + next(1000) as f64 / 100.0,
            };
            let from_h = next(48) as i64;
            let mut leg = leg(
                273_000_000 + n,
                n % 3 == 0,
                lon,
                from_h,
                from_h + 1 + next(96) as i64,
            );
            leg.from_lat = 30.0 + next(3000) as f64 / 100.0;
            leg.until_lat = Some(leg.from_lat + next(100) as f64 / 100.0);
            legs.push(leg);
        }
        let mut index = Filed::default();
        for leg in &legs {
            for range in cells_of(leg, reach) {
                index.dark.insert(range.filed(leg.key()));
            }
        }
        let cells: Vec<BTreeSet<i64>> = legs.iter().map(|leg| each_cell_of(leg, reach)).collect();
        let mut shared_some = 0;
        for (leg, own) in legs.iter().zip(&cells) {
            let mut found: Vec<LegKey> = cells_of(leg, reach)
                .iter()
                .flat_map(|range| {
                    index
                        .dark
                        .locate_in_envelope_intersecting(&range.envelope())
                })
                .map(|filed| filed.data)
                .collect();
            found.sort_unstable();
            found.dedup();
            let sharing: Vec<LegKey> = legs
                .iter()
                .zip(&cells)
                .filter(|(_, theirs)| !own.is_disjoint(theirs))
                .map(|(other, _)| other.key())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            assert_eq!(found, sharing, "leg {:?}", leg.key());
            shared_some += usize::from(sharing.len() > 1);
        }
        assert!(
            shared_some > 100,
            "only {shared_some} legs shared a cell with another"
        );
        assert!(
            legs.iter().any(|leg| cells_of(leg, reach).len() == 2),
            "no reach crossed the prime meridian"
        );
    }
}
