//! Gap and trip judgement: dark periods of vessels, whether a designated port was near,
//! reachable and covered while a vessel was dark, the evidence that it loaded there, and the
//! re-judgement late data forces. Pure: every function takes the stream clock as an argument.

pub mod at_sea;
pub mod encounters;
mod history;
pub mod loitering;
mod meeting_place;
mod params;
pub mod patterns;
mod recorded;
pub mod rendezvous;
pub mod sea_activity;
mod timers;
pub mod visits;
mod withdrawals;

use serde::{Deserialize, Serialize};

use crate::model::{Mmsi, ShortText};
use crate::ports::{haversine_nm, Port, Ports};
use crate::time::UnixMillis;
use crate::track::{Coverage, Identity, IdentityChange, Position, FIRST_SEGMENT};
pub use history::{JudgementChange, Reason};
pub use params::DetectParams;
pub use recorded::{GapsByPort, Judged, LastJudgements};
pub use timers::{
    is_refresh_mark, next_check, OpenTimers, OpenTimersCheckpoint, SilenceCoverage, SilenceSums,
};
pub use visits::{OpenCall, Visit, VisitParams, VisitTracker};

/// The judgement of one dark period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GapStatus {
    /// The vessel is still silent at the stream clock.
    Open,
    /// Near, reachable and covered: a suspected port call.
    Trip,
    /// Near and reachable, but too few other vessels were heard near the port to tell dark
    /// activity from lost signal.
    CoverageUnknown,
    /// Near a port, but no port could have been visited in the time.
    Unreachable,
    /// Neither end lies within any port's approach distance.
    NotNear,
    /// The fix closing it implies an impossible speed: probably another vessel using the MMSI.
    PositionJump,
    /// A late fix inside it left no part long enough to be a gap.
    Withdrawn,
    /// The fixes on both sides are within reach of each other, but the static data after it
    /// describes another hull (dimensions or ship type): the MMSI changed hands, not a trip.
    DifferentVessel,
}

impl GapStatus {
    /// Every judgement, in the order lists of them are shown.
    pub const ALL: [GapStatus; 8] = [
        GapStatus::Open,
        GapStatus::Trip,
        GapStatus::CoverageUnknown,
        GapStatus::Unreachable,
        GapStatus::NotNear,
        GapStatus::PositionJump,
        GapStatus::Withdrawn,
        GapStatus::DifferentVessel,
    ];

    /// The judgement's one spelling: stored, asked for, and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            GapStatus::Open => "open",
            GapStatus::Trip => "trip",
            GapStatus::CoverageUnknown => "coverage_unknown",
            GapStatus::Unreachable => "unreachable",
            GapStatus::NotNear => "not_near",
            GapStatus::PositionJump => "position_jump",
            GapStatus::Withdrawn => "withdrawn",
            GapStatus::DifferentVessel => "different_vessel",
        }
    }

    pub fn parse(text: &str) -> Option<GapStatus> {
        GapStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    Medium,
    High,
}

impl Confidence {
    /// Every confidence a trip can have, lowest first.
    pub const ALL: [Confidence; 2] = [Confidence::Medium, Confidence::High];

    /// The confidence's one spelling: stored, asked for, and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }

    pub fn parse(text: &str) -> Option<Confidence> {
        Confidence::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// How one designated port stands against one gap.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PortCandidate {
    pub port: String,
    /// d(A,P) + d(P,B), nautical miles (for an open gap: d(A,P) only).
    pub detour_nm: f64,
    /// Hours the vessel could have stayed in port at the maximum speed.
    pub slack_hours: f64,
    pub reachable: bool,
    pub coverage: f64,
    pub feasible: bool,
}

/// One dark period with its judgement and evidence: the record analysts query.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GapRecord {
    pub mmsi: Mmsi,
    /// The segment (transmitter) of the MMSI whose silence it is: fixes A and B are both its.
    #[serde(default = "first_segment")]
    pub segment: u32,
    pub imo: Option<u32>,
    pub name: Option<ShortText>,
    pub callsign: Option<ShortText>,
    pub ship_type: Option<u8>,
    pub status: GapStatus,
    pub watched: bool,
    /// The port a trip is attributed to, or the best candidate of any other judgement.
    pub port: Option<String>,
    /// Time of fix A, the last before the silence.
    pub dark_from: UnixMillis,
    /// Time of fix B, the first after it; `None` while open.
    pub dark_until: Option<UnixMillis>,
    pub from_lat: f64,
    pub from_lon: f64,
    pub until_lat: Option<f64>,
    pub until_lon: Option<f64>,
    /// Until B, or until the stream clock while open.
    pub duration_hours: f64,
    pub distance_nm: Option<f64>,
    pub implied_speed_kn: Option<f64>,
    pub detour_nm: Option<f64>,
    pub slack_hours: Option<f64>,
    pub coverage: Option<f64>,
    /// Open gaps only: near a port and covered so far.
    pub dark_now: bool,
    pub draught_before: Option<f64>,
    pub draught_after: Option<f64>,
    pub draught_change: Option<f64>,
    pub identity_changes: Vec<IdentityChange>,
    pub est_tonnes: Option<f64>,
    pub est_barrels: Option<f64>,
    pub confidence: Option<Confidence>,
    /// Every port whose approach distance A or B lies within.
    pub candidates: Vec<PortCandidate>,
    /// The vessel's last port visit with AIS on that ended before it went dark (filled in
    /// when read from the store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_open_call: Option<OpenCall>,
}

impl GapRecord {
    /// The key a gap keeps across updates: one vessel's silence starting at fix A.
    pub fn key(&self) -> (Mmsi, UnixMillis) {
        (self.mmsi, self.dark_from)
    }

    /// An open gap of `duration_hours` from fix A, nothing judged yet.
    fn silent_since(mmsi: Mmsi, a: Position, duration_hours: f64) -> GapRecord {
        GapRecord {
            mmsi,
            segment: FIRST_SEGMENT,
            imo: None,
            name: None,
            callsign: None,
            ship_type: None,
            status: GapStatus::Open,
            watched: false,
            port: None,
            dark_from: a.time,
            dark_until: None,
            from_lat: a.lat,
            from_lon: a.lon,
            until_lat: None,
            until_lon: None,
            duration_hours: round_to(duration_hours, 4),
            distance_nm: None,
            implied_speed_kn: None,
            detour_nm: None,
            slack_hours: None,
            coverage: None,
            dark_now: false,
            draught_before: None,
            draught_after: None,
            draught_change: None,
            identity_changes: Vec::new(),
            est_tonnes: None,
            est_barrels: None,
            confidence: None,
            candidates: Vec::new(),
            last_open_call: None,
        }
    }

    /// An open gap's duration as of `clock`: stored durations are as of the last judgement,
    /// which can be up to half the silence old. Never shortens; a closed gap is left as it is.
    pub fn lasting_until(&mut self, clock: UnixMillis) {
        if self.dark_until.is_none() {
            let hours = round_to(self.dark_from.hours_until(clock), 4);
            self.duration_hours = self.duration_hours.max(hours);
        }
    }

    pub fn is_trip(&self) -> bool {
        self.status == GapStatus::Trip && self.watched
    }
}

fn first_segment() -> u32 {
    FIRST_SEGMENT
}

/// Rounds to `places` decimals, as every stored number is.
fn round_to(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

/// The shortest silence that can be a gap anywhere: the global threshold or a port's lower one.
pub fn min_gap_hours(params: &DetectParams, ports: &[Port]) -> f64 {
    ports
        .iter()
        .filter_map(|p| p.gap_hours)
        .fold(params.gap_hours, f64::min)
}

fn lowest_gap_hours(params: &DetectParams, ports: &Ports) -> f64 {
    ports
        .lowest_gap_hours()
        .map_or(params.gap_hours, |h| h.min(params.gap_hours))
}

/// A port within its approach distance of fix A, with A's distance from it: what judging a
/// silence since A needs of the port list, the same at every look.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NearPort {
    pub index: usize,
    pub to_port_nm: f64,
}

/// The ports within their approach distance of A, in the order [`Ports::near`] gives them,
/// with A's distance from each.
pub fn near_a(ports: &Ports, a: Position) -> Vec<NearPort> {
    let mut near = Vec::new();
    ports.near(a.lat, a.lon, &mut near);
    near.into_iter()
        .filter_map(|index| {
            let port = &ports[index];
            let to_port_nm = port.distance_nm(a.lat, a.lon);
            (to_port_nm <= port.approach_nm).then_some(NearPort { index, to_port_nm })
        })
        .collect()
}

/// Indices, ascending, of the ports within their approach distance of A or B.
fn near_either(ports: &Ports, a: Position, b: Option<Position>) -> Vec<usize> {
    let mut near = Vec::new();
    ports.near(a.lat, a.lon, &mut near);
    if let Some(b) = b {
        let mut near_b = Vec::new();
        ports.near(b.lat, b.lon, &mut near_b);
        near.extend(near_b);
        near.sort_unstable();
        near.dedup();
    }
    near.retain(|&index| is_near(&ports[index], a, b));
    near
}

fn port_gap_hours(params: &DetectParams, port: &Port) -> f64 {
    port.gap_hours.unwrap_or(params.gap_hours)
}

/// Judges a closed gap from A to B against every port. Evidence (draught, identity) is applied
/// separately by [`apply_evidence`], since the "after" half arrives later.
pub fn judge_closed(
    mmsi: Mmsi,
    a: Position,
    b: Position,
    params: &DetectParams,
    ports: &Ports,
    coverage: &Coverage,
) -> Option<GapRecord> {
    let duration = a.time.hours_until(b.time);
    if duration <= 0.0 {
        return None;
    }
    let distance = haversine_nm(a.lat, a.lon, b.lat, b.lon);
    let implied_speed = distance / duration;
    let mut record = GapRecord::silent_since(mmsi, a, duration);
    record.status = GapStatus::NotNear;
    record.dark_until = Some(b.time);
    record.until_lat = Some(b.lat);
    record.until_lon = Some(b.lon);
    record.distance_nm = Some(round_to(distance, 3));
    record.implied_speed_kn = Some(round_to(implied_speed, 3));
    let long_enough = |port: &Port| duration >= port_gap_hours(params, port);
    let near = near_either(ports, a, Some(b));
    if duration < params.gap_hours && !near.iter().any(|&i| long_enough(&ports[i])) {
        return None;
    }
    if implied_speed > params.jump_speed_kn {
        record.status = GapStatus::PositionJump;
        return Some(record);
    }
    for index in near {
        let port = &ports[index];
        if !long_enough(port) {
            continue;
        }
        let detour = port.distance_nm(a.lat, a.lon) + port.distance_nm(b.lat, b.lon);
        let slack = duration - detour / params.max_speed_kn;
        let reachable = detour <= params.max_speed_kn * (duration - params.min_port_hours);
        let share =
            coverage.covered_share(index, a.time, b.time, mmsi, params.coverage_min_vessels);
        record.candidates.push(PortCandidate {
            port: port.name.clone(),
            detour_nm: round_to(detour, 3),
            slack_hours: round_to(slack, 4),
            reachable,
            coverage: round_to(share, 4),
            feasible: reachable && share >= params.min_coverage,
        });
    }
    // Attribution: the feasible port with the smallest detour; failing that, the judgement of
    // the most promising candidate explains why no trip was tallied.
    let best = |pred: &dyn Fn(&PortCandidate) -> bool| {
        record
            .candidates
            .iter()
            .filter(|c| pred(c))
            .min_by(|x, y| x.detour_nm.total_cmp(&y.detour_nm))
            .cloned()
    };
    let (status, chosen) = if let Some(c) = best(&|c| c.feasible) {
        (GapStatus::Trip, Some(c))
    } else if let Some(c) = best(&|c| c.reachable) {
        (GapStatus::CoverageUnknown, Some(c))
    } else if let Some(c) = best(&|_| true) {
        (GapStatus::Unreachable, Some(c))
    } else {
        (GapStatus::NotNear, None)
    };
    record.status = status;
    if let Some(c) = chosen {
        record.port = Some(c.port);
        record.detour_nm = Some(c.detour_nm);
        record.slack_hours = Some(c.slack_hours);
        record.coverage = Some(c.coverage);
    }
    Some(record)
}

/// The ports (by index) whose approach distance A, or B, lies within: the only ports whose
/// coverage can matter to a gap between them.
pub fn ports_near(ports: &Ports, a: Position, b: Option<Position>) -> Vec<usize> {
    near_either(ports, a, b)
}

fn is_near(port: &Port, a: Position, b: Option<Position>) -> bool {
    port.distance_nm(a.lat, a.lon) <= port.approach_nm
        || b.is_some_and(|b| port.distance_nm(b.lat, b.lon) <= port.approach_nm)
}

/// Judges a vessel still silent at `clock` since fix A: which port it vanished near, and
/// whether that port has been covered so well that the silence is suspicious ("dark now").
pub fn judge_open(
    mmsi: Mmsi,
    a: Position,
    clock: UnixMillis,
    params: &DetectParams,
    ports: &Ports,
    coverage: &Coverage,
) -> Option<GapRecord> {
    let covered_ms =
        &mut |index| coverage.covered_ms(index, a.time, clock, mmsi, params.coverage_min_vessels);
    OpenJudgement::of(a, clock, params, ports, &near_a(ports, a), covered_ms)
        .map(|judged| judged.into_record(mmsi, a, ports))
}

/// An open silence judged, its candidate ports by index: what [`judge_open`] makes a record
/// of. A silence looked at again and judged as before needs no record: building one (a name
/// per candidate) was most of a look's cost.
#[derive(Clone, Debug)]
pub struct OpenJudgement {
    duration_hours: f64,
    /// The candidate ports, in the order of the ports near A.
    candidates: Vec<OpenCandidate>,
    /// Position in `candidates` of the port the silence is attributed to.
    chosen: Option<usize>,
}

/// A [`PortCandidate`] before its port is named.
#[derive(Clone, Copy, Debug)]
pub struct OpenCandidate {
    pub index: usize,
    pub detour_nm: f64,
    pub slack_hours: f64,
    pub reachable: bool,
    pub coverage: f64,
    pub feasible: bool,
}

impl OpenJudgement {
    /// The judgement with the covered milliseconds of `[A, clock)` at each port (by index)
    /// from `covered_ms`, and the ports near A from `near` ([`near_a`]): a caller that keeps a
    /// long silence's sum and its ports as it grows saves walking the hours and the ports
    /// again. `None` while the silence is too short to be a gap anywhere.
    pub fn of(
        a: Position,
        clock: UnixMillis,
        params: &DetectParams,
        ports: &Ports,
        near: &[NearPort],
        covered_ms: &mut dyn FnMut(usize) -> i64,
    ) -> Option<OpenJudgement> {
        let duration = a.time.hours_until(clock);
        if duration < lowest_gap_hours(params, ports) {
            return None;
        }
        let span_ms = (clock.as_millis() - a.time.as_millis()) as f64;
        let mut candidates = Vec::with_capacity(near.len());
        for &NearPort { index, to_port_nm } in near {
            if duration < port_gap_hours(params, &ports[index]) {
                continue;
            }
            let share = covered_ms(index) as f64 / span_ms;
            candidates.push(OpenCandidate {
                index,
                detour_nm: round_to(to_port_nm, 3),
                slack_hours: round_to(duration - to_port_nm / params.max_speed_kn, 4),
                reachable: to_port_nm <= params.max_speed_kn * (duration - params.min_port_hours),
                coverage: round_to(share, 4),
                feasible: share >= params.min_coverage,
            });
        }
        if duration < params.gap_hours && candidates.is_empty() {
            return None;
        }
        // The nearest feasible port, else the nearest; the first of equals.
        let all = 0..candidates.len();
        let chosen = all
            .clone()
            .filter(|&i| candidates[i].feasible)
            .chain(all)
            .min_by(|&x, &y| {
                let (x, y) = (&candidates[x], &candidates[y]);
                (!x.feasible, x.detour_nm)
                    .partial_cmp(&(!y.feasible, y.detour_nm))
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
        Some(OpenJudgement {
            duration_hours: duration,
            candidates,
            chosen,
        })
    }

    pub fn candidates(&self) -> &[OpenCandidate] {
        &self.candidates
    }

    fn chosen(&self) -> Option<&OpenCandidate> {
        self.chosen.map(|i| &self.candidates[i])
    }

    /// The port the silence is attributed to.
    pub fn port<'p>(&self, ports: &'p Ports) -> Option<&'p str> {
        self.chosen().map(|c| ports[c.index].name.as_str())
    }

    /// Whether the vessel counts as dark now: its port's coverage is enough.
    pub fn dark_now(&self) -> bool {
        self.chosen().is_some_and(|c| c.feasible)
    }

    /// The record of this judgement (status open, nothing of the vessel's identity yet).
    pub fn into_record(self, mmsi: Mmsi, a: Position, ports: &Ports) -> GapRecord {
        let mut record = GapRecord::silent_since(mmsi, a, self.duration_hours);
        let named = |c: &OpenCandidate| PortCandidate {
            port: ports[c.index].name.clone(),
            detour_nm: c.detour_nm,
            slack_hours: c.slack_hours,
            reachable: c.reachable,
            coverage: c.coverage,
            feasible: c.feasible,
        };
        if let Some(c) = self.chosen() {
            record.port = Some(ports[c.index].name.clone());
            record.detour_nm = Some(c.detour_nm);
            record.slack_hours = Some(c.slack_hours);
            record.coverage = Some(c.coverage);
            record.dark_now = c.feasible;
        }
        record.candidates = self.candidates.iter().map(named).collect();
        record
    }
}

/// Tonnes and barrels loaded for a draught rise (m) of a hull of known length and beam (m):
/// the displaced volume of the rise; nothing below `cargo_min_draught_rise_m`.
pub fn estimate_cargo(
    params: &DetectParams,
    length: Option<u16>,
    beam: Option<u16>,
    rise: f64,
) -> (Option<f64>, Option<f64>) {
    match (length, beam) {
        (Some(l), Some(b)) if rise > params.cargo_min_draught_rise_m => {
            let tonnes = f64::from(l)
                * f64::from(b)
                * params.block_coefficient
                * rise
                * params.seawater_density_t_m3;
            (
                Some(round_to(tonnes, 1)),
                Some(round_to(tonnes * params.barrels_per_tonne, 0)),
            )
        }
        _ => (None, None),
    }
}

/// Fills identity, draught, cargo and confidence from what the vessel said before A and
/// after B.
pub fn apply_evidence(
    record: &mut GapRecord,
    before: &Identity,
    after: Option<&Identity>,
    params: &DetectParams,
) {
    let latest = after.unwrap_or(before);
    record.imo = latest.imo.or(before.imo);
    record.name = latest.name.clone().or_else(|| before.name.clone());
    record.callsign = latest.callsign.clone().or_else(|| before.callsign.clone());
    record.ship_type = latest.ship_type.or(before.ship_type);
    record.draught_before = before.draught.map(|d| round_to(f64::from(d), 2));
    record.draught_after = after
        .and_then(|a| a.draught)
        .map(|d| round_to(f64::from(d), 2));
    record.draught_change = match (record.draught_before, record.draught_after) {
        (Some(b), Some(a)) => Some(round_to(a - b, 2)),
        _ => None,
    };
    record.identity_changes = after.map(|a| before.changes_to(a)).unwrap_or_default();
    // A closed gap is a voyage only when the hull after it can be the hull before it.
    let judged_as_voyage = matches!(
        record.status,
        GapStatus::Trip
            | GapStatus::CoverageUnknown
            | GapStatus::Unreachable
            | GapStatus::NotNear
            | GapStatus::DifferentVessel
    ) && record.dark_until.is_some();
    if judged_as_voyage && after.is_some_and(|a| before.hull_differs(a)) {
        record.status = GapStatus::DifferentVessel;
    }
    let rise = record.draught_change.unwrap_or(0.0);
    (record.est_tonnes, record.est_barrels) = estimate_cargo(
        params,
        latest.length.or(before.length),
        latest.beam.or(before.beam),
        rise,
    );
    record.confidence = match record.status {
        GapStatus::Trip
            if rise >= params.high_confidence_draught_rise_m
                || !record.identity_changes.is_empty() =>
        {
            Some(Confidence::High)
        }
        GapStatus::Trip => Some(Confidence::Medium),
        _ => None,
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::PortZone;

    const T0: UnixMillis = UnixMillis(1_709_856_000_000); // 2024-03-08T00:00:00Z
    const HOUR: i64 = 3_600_000;
    const MINUTE: i64 = 60_000;

    fn vostochny() -> Port {
        Port {
            name: "Vostochny".into(),
            zone: PortZone::Circle {
                lat: 42.735,
                lon: 133.075,
                radius_nm: 2.0,
            },
            approach_nm: 100.0,
            coverage_nm: 20.0,
            gap_hours: None,
        }
    }

    /// A point `nm` nautical miles due south of the port's edge.
    fn south_of_port(nm: f64, time: UnixMillis) -> Position {
        Position {
            time,
            lat: 42.735 - (2.0 + nm) / 60.0,
            lon: 133.075,
        }
    }

    /// Coverage where `others` vessels were heard at the port in every listed hour.
    fn coverage_with(
        ports: &[Port],
        hours: impl IntoIterator<Item = i64>,
        others: u32,
    ) -> Coverage {
        let mut coverage = Coverage::new(ports);
        for h in hours {
            for v in 0..others {
                coverage.observe(
                    ports,
                    Mmsi(273_000_000 + v),
                    UnixMillis(T0.0 + h * HOUR + 10 * MINUTE),
                    42.735,
                    133.075,
                );
            }
        }
        coverage
    }

    fn judge(a: Position, b: Position, coverage: &Coverage) -> Option<GapRecord> {
        judge_closed(
            Mmsi(445_000_001),
            a,
            b,
            &DetectParams::default(),
            &Ports::from([vostochny()]),
            coverage,
        )
    }

    #[test]
    fn a_silence_of_exactly_gap_hours_is_a_gap_and_a_millisecond_less_is_not() {
        let ports = [vostochny()];
        let coverage = coverage_with(&ports, 0..12, 3);
        let a = south_of_port(1.0, T0);
        let exactly = judge(
            a,
            south_of_port(1.0, UnixMillis(T0.0 + 6 * HOUR)),
            &coverage,
        )
        .expect("6 h is a gap");
        assert_eq!(exactly.duration_hours, 6.0);
        assert_eq!(exactly.status, GapStatus::Trip);
        assert!(judge(
            a,
            south_of_port(1.0, UnixMillis(T0.0 + 6 * HOUR - 1)),
            &coverage
        )
        .is_none());
    }

    #[test]
    fn reachability_holds_with_a_minute_to_spare_and_fails_a_minute_short() {
        let ports = [vostochny()];
        let coverage = coverage_with(&ports, 0..24, 3);
        let a = south_of_port(40.0, T0);
        let b_at = |t: i64| south_of_port(40.0, UnixMillis(t));
        let port = vostochny();
        let detour = port.distance_nm(a.lat, a.lon) * 2.0;
        assert!(
            (detour - 80.0).abs() < 0.2,
            "about 40 nm each way: {detour}"
        );
        // The time to sail the detour at 15 kn, plus 4 h in port.
        let needed = 4 * HOUR + (detour / 15.0 * HOUR as f64).round() as i64;
        let spare = judge(a, b_at(T0.0 + needed + MINUTE), &coverage).unwrap();
        assert_eq!(spare.status, GapStatus::Trip, "{spare:?}");
        assert!(
            (spare.slack_hours.unwrap() - (4.0 + 1.0 / 60.0)).abs() < 1e-3,
            "{spare:?}"
        );
        let short = judge(a, b_at(T0.0 + needed - MINUTE), &coverage).unwrap();
        assert_eq!(short.status, GapStatus::Unreachable, "{short:?}");
        assert_eq!(short.port.as_deref(), Some("Vostochny"));
    }

    #[test]
    fn coverage_at_the_threshold_is_a_trip_and_below_it_is_unknown() {
        let ports = [vostochny()];
        let a = south_of_port(1.0, T0);
        let b = south_of_port(1.0, UnixMillis(T0.0 + 8 * HOUR));
        // 6 of 8 hours covered: exactly 0.75.
        let at = judge(a, b, &coverage_with(&ports, [0, 1, 2, 3, 4, 5], 2)).unwrap();
        assert_eq!((at.status, at.coverage), (GapStatus::Trip, Some(0.75)));
        let below = judge(a, b, &coverage_with(&ports, [0, 1, 2, 3, 4], 2)).unwrap();
        assert_eq!(
            (below.status, below.coverage),
            (GapStatus::CoverageUnknown, Some(0.625))
        );
        // One other vessel an hour is not coverage (default needs two).
        let thin = judge(a, b, &coverage_with(&ports, 0..8, 1)).unwrap();
        assert_eq!(thin.status, GapStatus::CoverageUnknown);
    }

    #[test]
    fn the_dark_vessel_itself_does_not_count_as_coverage() {
        let ports = [vostochny()];
        let mut coverage = coverage_with(&ports, 0..8, 1);
        for h in 0..8 {
            coverage.observe(
                &ports,
                Mmsi(445_000_001),
                UnixMillis(T0.0 + h * HOUR),
                42.735,
                133.075,
            );
        }
        let a = south_of_port(1.0, T0);
        let record = judge(
            a,
            south_of_port(1.0, UnixMillis(T0.0 + 8 * HOUR)),
            &coverage,
        )
        .unwrap();
        assert_eq!(record.status, GapStatus::CoverageUnknown);
    }

    #[test]
    fn far_from_every_port_is_not_near_and_an_impossible_speed_is_a_jump() {
        let ports = [vostochny()];
        let coverage = coverage_with(&ports, 0..24, 3);
        let far = Position {
            time: T0,
            lat: 40.0,
            lon: 136.0,
        };
        let later = Position {
            time: UnixMillis(T0.0 + 10 * HOUR),
            lat: 40.1,
            lon: 136.1,
        };
        assert_eq!(
            judge(far, later, &coverage).unwrap().status,
            GapStatus::NotNear
        );
        // ~450 nm in 8 h is 56 kn.
        let a = south_of_port(1.0, T0);
        let busan = Position {
            time: UnixMillis(T0.0 + 8 * HOUR),
            lat: 35.1,
            lon: 129.0,
        };
        let jump = judge(a, busan, &coverage).unwrap();
        assert_eq!(jump.status, GapStatus::PositionJump);
        assert!(jump.implied_speed_kn.unwrap() > 40.0);
    }

    #[test]
    fn a_trip_goes_to_the_feasible_port_with_the_smallest_detour() {
        let mut nakhodka = vostochny();
        nakhodka.name = "Nakhodka".into();
        nakhodka.zone = PortZone::Circle {
            lat: 42.800,
            lon: 132.885,
            radius_nm: 2.0,
        };
        let ports = Ports::from([nakhodka, vostochny()]);
        let mut coverage = Coverage::new(&ports);
        for h in 0..30 {
            for (v, (lat, lon)) in [
                (42.735, 133.075),
                (42.735, 133.075),
                (42.800, 132.885),
                (42.800, 132.885),
            ]
            .into_iter()
            .enumerate()
            {
                coverage.observe(
                    &ports,
                    Mmsi(273_000_000 + v as u32),
                    UnixMillis(T0.0 + h * HOUR),
                    lat,
                    lon,
                );
            }
        }
        let a = south_of_port(30.0, T0);
        let b = south_of_port(30.0, UnixMillis(T0.0 + 30 * HOUR));
        let record = judge_closed(
            Mmsi(445_000_001),
            a,
            b,
            &DetectParams::default(),
            &ports,
            &coverage,
        )
        .unwrap();
        assert_eq!(record.status, GapStatus::Trip);
        assert_eq!(record.port.as_deref(), Some("Vostochny"));
        assert_eq!(record.candidates.len(), 2);
        assert!(record.candidates.iter().all(|c| c.feasible));
    }

    #[test]
    fn a_port_with_a_lower_gap_threshold_makes_shorter_silences_gaps_there_only() {
        let mut strict = vostochny();
        strict.gap_hours = Some(3.0);
        let ports = Ports::from([strict]);
        let coverage = coverage_with(&ports, 0..24, 3);
        let params = DetectParams {
            min_port_hours: 1.0,
            ..DetectParams::default()
        };
        let a = south_of_port(1.0, T0);
        let b = south_of_port(1.0, UnixMillis(T0.0 + 4 * HOUR));
        let record = judge_closed(Mmsi(445_000_001), a, b, &params, &ports, &coverage).unwrap();
        assert_eq!(record.status, GapStatus::Trip);
        let far = Position {
            time: T0,
            lat: 40.0,
            lon: 136.0,
        };
        let far_b = Position {
            time: UnixMillis(T0.0 + 4 * HOUR),
            lat: 40.0,
            lon: 136.0,
        };
        assert!(judge_closed(Mmsi(445_000_001), far, far_b, &params, &ports, &coverage).is_none());
    }

    fn trip_record() -> GapRecord {
        let ports = [vostochny()];
        let coverage = coverage_with(&ports, 0..48, 3);
        judge(
            south_of_port(20.0, T0),
            south_of_port(20.0, UnixMillis(T0.0 + 40 * HOUR)),
            &coverage,
        )
        .unwrap()
    }

    #[test]
    fn draught_rise_sets_confidence_and_estimates_cargo() {
        let params = DetectParams::default();
        let before = Identity {
            draught: Some(4.1),
            length: Some(100),
            beam: Some(15),
            name: Some("SAEBYOL".into()),
            ..Identity::default()
        };
        let mut record = trip_record();
        let after = Identity {
            draught: Some(4.6),
            ..before.clone()
        };
        apply_evidence(&mut record, &before, Some(&after), &params);
        assert_eq!(record.draught_change, Some(0.5));
        assert_eq!(record.confidence, Some(Confidence::High));
        // 100 m x 15 m x 0.80 x 0.5 m x 1.025 t/m3 = 615 t; x 7.33 bbl/t = 4508 bbl.
        assert_eq!(record.est_tonnes, Some(615.0));
        assert_eq!(record.est_barrels, Some(4508.0));

        let mut record = trip_record();
        let after = Identity {
            draught: Some(4.5),
            ..before.clone()
        };
        apply_evidence(&mut record, &before, Some(&after), &params);
        assert_eq!(record.confidence, Some(Confidence::Medium));
        assert!(
            record.est_barrels.is_some(),
            "0.4 m is above the 0.3 m cargo threshold"
        );

        let mut record = trip_record();
        let after = Identity {
            draught: Some(4.3),
            name: Some("CHON MA SAN".into()),
            ..before.clone()
        };
        apply_evidence(&mut record, &before, Some(&after), &params);
        assert_eq!(
            record.confidence,
            Some(Confidence::High),
            "a name change is strong evidence"
        );
        assert_eq!(record.identity_changes.len(), 1);
        assert_eq!(
            record.est_barrels, None,
            "0.2 m is below the cargo threshold"
        );
    }
}
