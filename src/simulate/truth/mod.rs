//! Ground truth: the detection rules applied to exactly what was written (fixes, static
//! reports, file order), checked against the plan's intent and against knife edges, so the
//! expected answers are both what the rules yield and far enough from every threshold that
//! quantisation or a slightly different reading of a rule cannot flip them.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::model::{is_tanker_type, Mmsi};
use crate::time::UnixMillis;

pub mod at_sea;
mod judge;
mod recorder;

pub use at_sea::AtSeaTruth;
pub use recorder::Recorder;

use self::judge::judge;
use self::recorder::FixRec;
use super::plan::{Expect, GapLabel, Identity, Ms, Plan, StaticState, WatchEntry, HOUR};
use super::world::{ll, rules, LatLon, DESIGNATED_PORTS};

/// How a gap of a watched vessel is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Judgement {
    Trip,
    CoverageUnknown,
    Unreachable,
    NotNear,
    PositionJump,
    /// Another hull after the silence: the MMSI changed hands.
    DifferentVessel,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    High,
    Medium,
}

/// An expected dark port call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TripTruth {
    pub mmsi: Mmsi,
    pub name: String,
    pub port: String,
    /// Event time of fix A, the last before the gap.
    pub dark_from: UnixMillis,
    /// Event time of fix B, the first after it.
    pub dark_until: UnixMillis,
    pub hours: f64,
    pub confidence: Confidence,
    /// Metres, from the last static report at or before A.
    pub draught_before: Option<f32>,
    /// Metres, from the first static report at or after B.
    pub draught_after: Option<f32>,
    pub identity_changed: bool,
    pub label: GapLabel,
}

/// An expected gap of a watched vessel with its judgement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GapTruth {
    pub mmsi: Mmsi,
    pub dark_from: UnixMillis,
    pub dark_until: UnixMillis,
    pub hours: f64,
    pub judgement: Judgement,
    /// The port a trip is attributed to; for `coverage_unknown`, the best-placed port.
    pub port: Option<String>,
    pub from_lat: f64,
    pub from_lon: f64,
    pub until_lat: f64,
    pub until_lon: f64,
    pub label: GapLabel,
}

/// A gap that a late fix split into parts shorter than a gap.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WithdrawnTruth {
    pub mmsi: Mmsi,
    pub dark_from: UnixMillis,
    pub dark_until: UnixMillis,
    /// Event time of the late fix.
    pub late_fix_at: UnixMillis,
    /// 1-based line of the late fix in the NMEA file.
    pub late_fix_line: u64,
    pub label: GapLabel,
}

/// One of the hulls sending an MMSI at the same time as another.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransmitterTruth {
    pub mmsi: Mmsi,
    /// 0 for the first planned, 1 for the second.
    pub transmitter: u8,
    pub first_fix: UnixMillis,
    pub last_fix: UnixMillis,
    /// Distinct fix times written.
    pub fixes: u64,
}

/// A gap of a vessel that is not watched: listed, never a trip.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnwatchedGapTruth {
    pub mmsi: Mmsi,
    pub ship_type: Option<u8>,
    pub dark_from: UnixMillis,
    pub dark_until: UnixMillis,
    pub hours: f64,
    pub label: GapLabel,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PortTruth {
    pub name: String,
    pub lat: f64,
    pub lon: f64,
    pub radius_nm: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub from: UnixMillis,
    pub until: UnixMillis,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScenarioSize {
    pub days: u32,
    pub tankers: u32,
    pub background: u32,
}

/// Everything a detector run over the scenario's files should find.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    pub seed: u64,
    pub start: UnixMillis,
    pub end: UnixMillis,
    pub size: ScenarioSize,
    pub ports: Vec<PortTruth>,
    /// Whole-feed outages: no line at all.
    pub outages: Vec<Window>,
    pub watchlist: Vec<WatchEntry>,
    /// Sorted by `dark_from`, then MMSI.
    pub trips: Vec<TripTruth>,
    /// Every gap of a watched vessel (trips included), sorted by `dark_from`, then MMSI.
    pub gaps: Vec<GapTruth>,
    pub withdrawn: Vec<WithdrawnTruth>,
    pub not_watched_dark: Vec<UnwatchedGapTruth>,
    /// MMSIs sent by several hulls at once (`--identity-cases`), one entry per transmitter:
    /// a detector must keep each apart.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transmitters: Vec<TransmitterTruth>,
    /// Lines of the NMEA file that no decoder should accept.
    pub corrupt_lines: u64,
    /// All lines of the NMEA file.
    pub lines: u64,
    /// `$GPZDA` time sentences among the lines.
    pub zda_lines: u64,
    /// Position reports (types 1-3, 18) in the NMEA file: the CSV's row count.
    pub position_reports: u64,
    /// The staged encounters and loitering (`simulate --at-sea` only).
    #[serde(default, skip_serializing_if = "AtSeaTruth::is_empty")]
    pub at_sea: AtSeaTruth,
}

/// What the stream knew about each line kind, for the truth's counts.
pub struct Counts {
    pub lines: u64,
    pub corrupt_lines: u64,
    pub zda_lines: u64,
    pub position_reports: u64,
}

/// Rounds hours to hundredths for the truth file.
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// What judging the recorded gaps found so far, and what did not fit the plan.
#[derive(Default)]
struct Findings {
    problems: Vec<String>,
    gaps: Vec<GapTruth>,
    trips: Vec<TripTruth>,
    withdrawn: Vec<WithdrawnTruth>,
    unwatched: Vec<UnwatchedGapTruth>,
    /// Indices of the plan's intents some gap accounts for.
    explained: BTreeSet<usize>,
    transmitters: Vec<TransmitterTruth>,
}

/// One vessel's recorded history, as the judging of its gaps needs it.
struct VesselRecord<'a> {
    mmsi: u32,
    statics: &'a [(Ms, StaticState)],
    on_watchlist: bool,
    /// Ever a tanker or on the watchlist: its gaps are replayed in file order.
    ever_watched: bool,
}

impl VesselRecord<'_> {
    /// Watched at `t`: on the watchlist, or a tanker by the static data then in force.
    fn watched_at(&self, t: Ms) -> bool {
        self.on_watchlist
            || self
                .statics
                .iter()
                .rev()
                .find(|(st, _)| *st <= t)
                .is_some_and(|(_, s)| is_tanker_type(s.identity.ship_type))
    }
}

pub fn build_truth(
    plan: &Plan,
    recorder: &Recorder,
    counts: Counts,
    seed: u64,
    size: ScenarioSize,
) -> Result<Truth, Vec<String>> {
    let watchlisted: BTreeSet<u32> = plan.watchlist.iter().map(|w| w.mmsi).collect();
    let mut found = Findings::default();
    for (&(mmsi, transmitter), fixes) in &recorder.fixes {
        let statics = recorder
            .statics
            .get(&(mmsi, transmitter))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let vessel = VesselRecord {
            mmsi,
            statics,
            on_watchlist: watchlisted.contains(&mmsi),
            ever_watched: watchlisted.contains(&mmsi)
                || statics
                    .iter()
                    .any(|(_, s)| is_tanker_type(s.identity.ship_type)),
        };
        judge_vessel(plan, recorder, &vessel, fixes, &mut found);
    }
    found.transmitters = shared_transmitters(recorder);
    check_every_intent_explained(plan, &mut found);
    if !found.problems.is_empty() {
        return Err(found.problems);
    }
    Ok(assemble(plan, found, counts, seed, size))
}

/// Finds and judges every gap of one vessel.
fn judge_vessel(
    plan: &Plan,
    recorder: &Recorder,
    vessel: &VesselRecord,
    fixes: &[FixRec],
    found: &mut Findings,
) {
    let mmsi = vessel.mmsi;
    let mut sorted = fixes.to_vec();
    sorted.sort_by_key(|f| (f.t, f.line));
    sorted.dedup_by_key(|f| f.t);

    // Replay in file order to find gaps that a late fix withdrew.
    let mut open: BTreeSet<(Ms, Ms)> = BTreeSet::new();
    if vessel.ever_watched {
        replay_file_order(
            plan,
            mmsi,
            fixes,
            &mut open,
            &mut found.withdrawn,
            &mut found.explained,
            &mut found.problems,
        );
    }

    for pair in sorted.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let span = b.t - a.t;
        if span < 6 * HOUR - HOUR / 4 {
            continue;
        }
        let watched = vessel.watched_at(b.t);
        if watched && (span - 6 * HOUR).abs() < HOUR / 4 {
            found.problems.push(format!(
                "MMSI {mmsi}: fixes {} and {} are {:.2} h apart, too close to the gap length",
                UnixMillis(a.t),
                UnixMillis(b.t),
                span as f64 / HOUR as f64
            ));
        }
        if span < 6 * HOUR {
            continue;
        }
        if vessel.ever_watched && !open.contains(&(a.t, b.t)) {
            found.problems.push(format!(
                "MMSI {mmsi}: replay and final order disagree on gap {}",
                UnixMillis(a.t)
            ));
        }
        let intent = matching_intent(plan, mmsi, a.t, b.t);
        let Some(label) = gap_label(plan, mmsi, intent, a, b, found) else {
            continue;
        };
        let hours = round2(span as f64 / HOUR as f64);
        if watched {
            judge_watched_gap(plan, recorder, vessel, intent, label, (a, b), found);
        } else {
            if let Some(i) = intent {
                if plan.intents[i].expect != Expect::NotWatched {
                    found.problems.push(format!(
                        "MMSI {mmsi}: planned {:?} but the vessel is not watched",
                        plan.intents[i].expect
                    ));
                }
            }
            found.unwatched.push(UnwatchedGapTruth {
                mmsi: Mmsi(mmsi),
                ship_type: static_before(vessel.statics, b.t).map(|s| s.identity.ship_type),
                dark_from: UnixMillis(a.t),
                dark_until: UnixMillis(b.t),
                hours,
                label,
            });
        }
    }
}

/// The label a gap earns: its planned silence's, or a feed outage's; none (and a problem)
/// when nothing planned explains it.
fn gap_label(
    plan: &Plan,
    mmsi: u32,
    intent: Option<usize>,
    a: FixRec,
    b: FixRec,
    found: &mut Findings,
) -> Option<GapLabel> {
    let outage = plan
        .outages
        .iter()
        .any(|&(from, until)| from < b.t && a.t < until);
    match (intent, outage) {
        (Some(i), false) => {
            found.explained.insert(i);
            Some(plan.intents[i].label)
        }
        (None, true) => Some(GapLabel::FeedOutage),
        (Some(_), true) => {
            found.problems.push(format!(
                "MMSI {mmsi}: gap at {} overlaps both a planned silence and an outage",
                UnixMillis(a.t)
            ));
            Some(GapLabel::FeedOutage)
        }
        (None, false) => {
            found.problems.push(format!(
                "MMSI {mmsi}: unplanned gap {} - {}",
                UnixMillis(a.t),
                UnixMillis(b.t)
            ));
            None
        }
    }
}

/// What the static data says across a gap: draughts, identity change, confidence.
struct Evidence<'a> {
    before: Option<&'a StaticState>,
    draught_before: Option<f32>,
    draught_after: Option<f32>,
    identity_changed: bool,
    rise: f64,
    confidence: Confidence,
}

fn evidence(statics: &[(Ms, StaticState)], a: Ms, b: Ms) -> Evidence<'_> {
    let before = static_before(statics, a);
    let after = statics.iter().find(|(t, _)| *t >= b).map(|(_, s)| s);
    let draught = |s: Option<&StaticState>| {
        s.and_then(|s| (s.draught_dm > 0).then_some(f32::from(s.draught_dm) / 10.0))
    };
    let (draught_before, draught_after) = (draught(before), draught(after));
    let identity_changed = match (before, after) {
        (Some(x), Some(y)) => identity_differs(&x.identity, &y.identity),
        _ => false,
    };
    let rise = match (before, after) {
        (Some(x), Some(y)) if x.draught_dm > 0 && y.draught_dm > 0 => {
            (f64::from(y.draught_dm) - f64::from(x.draught_dm)) / 10.0
        }
        _ => 0.0,
    };
    let confidence = if identity_changed || rise >= rules::DRAUGHT_RISE_M {
        Confidence::High
    } else {
        Confidence::Medium
    };
    Evidence {
        before,
        draught_before,
        draught_after,
        identity_changed,
        rise,
        confidence,
    }
}

/// Judges a watched vessel's gap, checks the answer against the plan, and records the gap
/// (and the trip, when it is one).
fn judge_watched_gap(
    plan: &Plan,
    recorder: &Recorder,
    vessel: &VesselRecord,
    intent: Option<usize>,
    label: GapLabel,
    (a, b): (FixRec, FixRec),
    found: &mut Findings,
) {
    let mmsi = vessel.mmsi;
    let hours = round2((b.t - a.t) as f64 / HOUR as f64);
    let judged = match judge(recorder, mmsi, a, b) {
        Ok(j) => j,
        Err(why) => {
            found.problems.push(format!(
                "MMSI {mmsi}: gap {} - {} sits on a knife edge: {why}",
                UnixMillis(a.t),
                UnixMillis(b.t)
            ));
            return;
        }
    };
    let (mut judgement, port) = judged.outcome;
    let ev = evidence(vessel.statics, a.t, b.t);
    let after = vessel
        .statics
        .iter()
        .find(|(t, _)| *t >= a.t)
        .map(|(_, s)| s);
    if judgement != Judgement::PositionJump
        && matches!((ev.before, after), (Some(x), Some(y)) if other_hull(&x.identity, &y.identity))
    {
        judgement = Judgement::DifferentVessel;
    }
    let confidence = ev.confidence;
    if judgement == Judgement::Trip
        && !ev.identity_changed
        && (ev.rise - rules::DRAUGHT_RISE_M).abs() < 0.15
    {
        found.problems.push(format!(
            "MMSI {mmsi}: draught rise {:.1} m is too close to the rule",
            ev.rise
        ));
    }
    if let Some(i) = intent {
        let expect = plan.intents[i].expect;
        if !as_planned(expect, judgement, port, confidence) {
            found.problems.push(format!(
                "MMSI {mmsi}: gap {} - {} planned as {expect:?}, judged {judgement:?} \
                 at {:?} with {confidence:?} confidence",
                UnixMillis(a.t),
                UnixMillis(b.t),
                port.map(|p| DESIGNATED_PORTS[p].name)
            ));
        }
    }
    let port_name = match judgement {
        Judgement::Trip => port,
        Judgement::CoverageUnknown => judged.best_port,
        _ => None,
    }
    .map(|p| DESIGNATED_PORTS[p].name.to_string());
    if judgement == Judgement::Trip {
        found.trips.push(TripTruth {
            mmsi: Mmsi(mmsi),
            name: ev
                .before
                .map(|s| s.identity.name.clone())
                .unwrap_or_default(),
            port: port_name.clone().unwrap_or_default(),
            dark_from: UnixMillis(a.t),
            dark_until: UnixMillis(b.t),
            hours,
            confidence,
            draught_before: ev.draught_before,
            draught_after: ev.draught_after,
            identity_changed: ev.identity_changed,
            label,
        });
    }
    found.gaps.push(GapTruth {
        mmsi: Mmsi(mmsi),
        dark_from: UnixMillis(a.t),
        dark_until: UnixMillis(b.t),
        hours,
        judgement,
        port: port_name,
        from_lat: a.pos.lat,
        from_lon: a.pos.lon,
        until_lat: b.pos.lat,
        until_lon: b.pos.lon,
        label,
    });
}

/// Whether the rules' answer is the one the plan meant the silence to earn.
fn as_planned(
    expect: Expect,
    judgement: Judgement,
    port: Option<usize>,
    confidence: Confidence,
) -> bool {
    match expect {
        Expect::Trip { port: p, high } => {
            judgement == Judgement::Trip
                && port == Some(p)
                && (confidence == Confidence::High) == high
        }
        Expect::Unreachable => judgement == Judgement::Unreachable,
        Expect::NotNear => judgement == Judgement::NotNear,
        Expect::PositionJump => judgement == Judgement::PositionJump,
        Expect::DifferentVessel => judgement == Judgement::DifferentVessel,
        Expect::Withdrawn | Expect::NoGap | Expect::NotWatched => false,
    }
}

/// Every planned silence long enough to be a gap must have left one.
fn check_every_intent_explained(plan: &Plan, found: &mut Findings) {
    for (i, intent) in plan.intents.iter().enumerate() {
        let needs_gap = !matches!(intent.expect, Expect::NoGap);
        if needs_gap && !found.explained.contains(&i) {
            found.problems.push(format!(
                "MMSI {}: planned {:?} {} - {} left no matching gap",
                intent.mmsi,
                intent.label,
                UnixMillis(intent.from),
                UnixMillis(intent.until)
            ));
        }
    }
}

/// The truth file's contents, every list in time order.
fn assemble(
    plan: &Plan,
    mut found: Findings,
    counts: Counts,
    seed: u64,
    size: ScenarioSize,
) -> Truth {
    found.trips.sort_by_key(|t| (t.dark_from, t.mmsi));
    found.gaps.sort_by_key(|g| (g.dark_from, g.mmsi));
    found.withdrawn.sort_by_key(|w| (w.dark_from, w.mmsi));
    found.unwatched.sort_by_key(|g| (g.dark_from, g.mmsi));
    Truth {
        seed,
        start: UnixMillis(plan.start),
        end: UnixMillis(plan.end),
        size,
        ports: DESIGNATED_PORTS
            .iter()
            .map(|p| PortTruth {
                name: p.name.to_string(),
                lat: p.centre.lat,
                lon: p.centre.lon,
                radius_nm: p.radius_nm,
            })
            .collect(),
        outages: plan
            .outages
            .iter()
            .map(|&(from, until)| Window {
                from: UnixMillis(from),
                until: UnixMillis(until),
            })
            .collect(),
        watchlist: plan.watchlist.clone(),
        trips: found.trips,
        gaps: found.gaps,
        withdrawn: found.withdrawn,
        not_watched_dark: found.unwatched,
        transmitters: found.transmitters,
        corrupt_lines: counts.corrupt_lines,
        lines: counts.lines,
        zda_lines: counts.zda_lines,
        position_reports: counts.position_reports,
        at_sea: plan.at_sea.clone(),
    }
}

/// Feeds one vessel's fixes in the order the file holds them, as a streaming detector would:
/// a late fix inside a recorded gap splits it, and withdraws it when both parts are short.
fn replay_file_order(
    plan: &Plan,
    mmsi: u32,
    fixes: &[FixRec],
    open: &mut BTreeSet<(Ms, Ms)>,
    withdrawn: &mut Vec<WithdrawnTruth>,
    explained: &mut BTreeSet<usize>,
    problems: &mut Vec<String>,
) {
    let mut seen: Vec<Ms> = Vec::new();
    for f in fixes {
        let i = match seen.binary_search(&f.t) {
            Ok(_) => continue,
            Err(i) => i,
        };
        if i == seen.len() {
            if let Some(&last) = seen.last() {
                if f.t - last >= 6 * HOUR {
                    open.insert((last, f.t));
                }
            }
            seen.push(f.t);
            continue;
        }
        if i > 0 {
            let (prev, next) = (seen[i - 1], seen[i]);
            if open.remove(&(prev, next)) {
                let first = f.t - prev >= 6 * HOUR;
                let second = next - f.t >= 6 * HOUR;
                if first {
                    open.insert((prev, f.t));
                }
                if second {
                    open.insert((f.t, next));
                }
                if !first && !second {
                    for part in [f.t - prev, next - f.t] {
                        if (part - 6 * HOUR).abs() < HOUR / 4 {
                            problems.push(format!(
                                "MMSI {mmsi}: a withdrawn gap's part is {:.2} h, too close to \
                                 the gap length",
                                part as f64 / HOUR as f64
                            ));
                        }
                    }
                    let intent = matching_intent(plan, mmsi, prev, next);
                    match intent {
                        Some(k) if plan.intents[k].expect == Expect::Withdrawn => {
                            explained.insert(k);
                        }
                        _ => problems.push(format!(
                            "MMSI {mmsi}: gap {} - {} was withdrawn unplanned",
                            UnixMillis(prev),
                            UnixMillis(next)
                        )),
                    }
                    withdrawn.push(WithdrawnTruth {
                        mmsi: Mmsi(mmsi),
                        dark_from: UnixMillis(prev),
                        dark_until: UnixMillis(next),
                        late_fix_at: UnixMillis(f.t),
                        late_fix_line: f.line,
                        label: intent
                            .map(|k| plan.intents[k].label)
                            .unwrap_or(GapLabel::LateFixSplit),
                    });
                }
            }
        }
        seen.insert(i, f.t);
    }
}

fn static_before(statics: &[(Ms, StaticState)], t: Ms) -> Option<&StaticState> {
    statics
        .iter()
        .rev()
        .find(|(st, _)| *st <= t)
        .map(|(_, s)| s)
}

/// Another hull: length, beam or ship type category apart by more than crews' typing explains
/// (the planned takeovers are tens of metres apart, far from any tolerance).
fn other_hull(a: &Identity, b: &Identity) -> bool {
    let apart = |x: u16, y: u16, tolerance: f64| {
        let (x, y) = (f64::from(x), f64::from(y));
        (x - y).abs() > tolerance.max(0.1 * x.max(y))
    };
    apart(a.length(), b.length(), 5.0)
        || apart(a.beam(), b.beam(), 2.0)
        || a.ship_type / 10 != b.ship_type / 10
}

/// Every MMSI sent by more than one transmitter at the same time, with each one's fixes.
fn shared_transmitters(recorder: &Recorder) -> Vec<TransmitterTruth> {
    let shared: BTreeSet<u32> = recorder
        .fixes
        .keys()
        .filter(|(_, transmitter)| *transmitter > 0)
        .map(|(mmsi, _)| *mmsi)
        .collect();
    recorder
        .fixes
        .iter()
        .filter(|((mmsi, _), _)| shared.contains(mmsi))
        .map(|(&(mmsi, transmitter), fixes)| {
            let times: BTreeSet<Ms> = fixes.iter().map(|f| f.t).collect();
            TransmitterTruth {
                mmsi: Mmsi(mmsi),
                transmitter,
                first_fix: UnixMillis(*times.first().unwrap_or(&0)),
                last_fix: UnixMillis(*times.last().unwrap_or(&0)),
                fixes: times.len() as u64,
            }
        })
        .collect()
}

fn identity_differs(a: &Identity, b: &Identity) -> bool {
    a.name != b.name
        || a.imo != b.imo
        || a.callsign != b.callsign
        || a.ship_type != b.ship_type
        || a.length() != b.length()
        || a.beam() != b.beam()
}

/// The planned window of `mmsi` overlapping the span from `a` to `b`.
fn matching_intent(plan: &Plan, mmsi: u32, a: Ms, b: Ms) -> Option<usize> {
    plan.intents
        .iter()
        .position(|i| i.mmsi == mmsi && i.from < b && a < i.until)
}

/// Quantises a position as the NMEA file carries it (1/10000 minute).
pub fn quantised(lat_raw: i32, lon_raw: i32) -> LatLon {
    ll(
        f64::from(lat_raw) / 600_000.0,
        f64::from(lon_raw) / 600_000.0,
    )
}
