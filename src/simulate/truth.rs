//! Ground truth: the detection rules applied to exactly what was written (fixes, static
//! reports, file order), checked against the plan's intent and against knife edges, so the
//! expected answers are both what the rules yield and far enough from every threshold that
//! quantisation or a slightly different reading of a rule cannot flip them.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::model::{is_tanker_type, Mmsi};
use crate::time::UnixMillis;

use super::plan::{Expect, GapLabel, Identity, Ms, Plan, StaticState, WatchEntry, HOUR};
use super::world::{distance_nm, ll, rules, LatLon, DESIGNATED_PORTS};

/// How a gap of a watched vessel is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Judgement {
    Trip,
    CoverageUnknown,
    Unreachable,
    NotNear,
    PositionJump,
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
    /// Lines of the NMEA file that no decoder should accept.
    pub corrupt_lines: u64,
    /// All lines of the NMEA file.
    pub lines: u64,
    /// `$GPZDA` time sentences among the lines.
    pub zda_lines: u64,
    /// Position reports (types 1-3, 18) in the NMEA file: the CSV's row count.
    pub position_reports: u64,
}

/// One fix as written: event time, quantised position and file order.
#[derive(Clone, Copy, Debug)]
struct FixRec {
    t: Ms,
    pos: LatLon,
    line: u64,
}

/// Distinct vessels heard near one port in one hour; three is all any rule needs.
#[derive(Clone, Copy, Debug, Default)]
struct HourHeard {
    ids: [u32; 3],
    n: u8,
}

impl HourHeard {
    fn add(&mut self, mmsi: u32) {
        let n = usize::from(self.n);
        if n < 3 && !self.ids[..n].contains(&mmsi) {
            self.ids[n] = mmsi;
            self.n += 1;
        }
    }

    fn others(&self, mmsi: u32) -> usize {
        self.ids[..usize::from(self.n)]
            .iter()
            .filter(|&&m| m != mmsi)
            .count()
    }
}

/// Collects what the stream writes, for judging afterwards.
pub struct Recorder {
    start: Ms,
    hours: usize,
    fixes: BTreeMap<u32, Vec<FixRec>>,
    statics: BTreeMap<u32, Vec<(Ms, StaticState)>>,
    heard: Vec<Vec<HourHeard>>,
}

impl Recorder {
    pub fn new(start: Ms, end: Ms) -> Self {
        let hours = ((end - start) / HOUR + 2) as usize;
        Recorder {
            start,
            hours,
            fixes: BTreeMap::new(),
            statics: BTreeMap::new(),
            heard: vec![vec![HourHeard::default(); hours]; DESIGNATED_PORTS.len()],
        }
    }

    pub fn fix(&mut self, mmsi: u32, t: Ms, pos: LatLon, line: u64) {
        self.fixes
            .entry(mmsi)
            .or_default()
            .push(FixRec { t, pos, line });
        if let Some(hour) = self.hour(t) {
            for (i, port) in DESIGNATED_PORTS.iter().enumerate() {
                if port.distance_nm(pos) <= rules::COVERAGE_NM {
                    self.heard[i][hour].add(mmsi);
                }
            }
        }
    }

    pub fn static_report(&mut self, mmsi: u32, t: Ms, state: &StaticState) {
        self.statics
            .entry(mmsi)
            .or_default()
            .push((t, state.clone()));
    }

    fn hour(&self, t: Ms) -> Option<usize> {
        let h = (t - self.start).div_euclid(HOUR);
        (0..self.hours as i64).contains(&h).then_some(h as usize)
    }
}

/// A yes/no answer, or "too close to the threshold to rely on".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tri {
    Yes,
    No,
    Edge,
}

fn tri_at_most(value: f64, limit: f64, margin: f64) -> Tri {
    if value <= limit - margin {
        Tri::Yes
    } else if value > limit + margin {
        Tri::No
    } else {
        Tri::Edge
    }
}

struct PortEval {
    near: Tri,
    reachable: Tri,
    covered: Tri,
    detour: f64,
}

/// The outcome of judging one gap: judgement and attributed port.
type Outcome = (Judgement, Option<usize>);

#[derive(Debug)]
struct Judged {
    outcome: Outcome,
    /// Best-placed near and reachable port, for coverage_unknown.
    best_port: Option<usize>,
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

pub fn build_truth(
    plan: &Plan,
    recorder: &Recorder,
    counts: Counts,
    seed: u64,
    size: ScenarioSize,
) -> Result<Truth, Vec<String>> {
    let mut problems = Vec::new();
    let watchlisted: BTreeSet<u32> = plan.watchlist.iter().map(|w| w.mmsi).collect();
    let mut gaps = Vec::new();
    let mut trips = Vec::new();
    let mut withdrawn = Vec::new();
    let mut unwatched = Vec::new();
    let mut explained = BTreeSet::new();

    for (&mmsi, fixes) in &recorder.fixes {
        let statics = recorder
            .statics
            .get(&mmsi)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let watched_at = |t: Ms| {
            watchlisted.contains(&mmsi)
                || statics
                    .iter()
                    .rev()
                    .find(|(st, _)| *st <= t)
                    .is_some_and(|(_, s)| is_tanker_type(s.identity.ship_type))
        };
        let mut sorted = fixes.clone();
        sorted.sort_by_key(|f| (f.t, f.line));
        sorted.dedup_by_key(|f| f.t);
        let ever_watched = watchlisted.contains(&mmsi)
            || statics
                .iter()
                .any(|(_, s)| is_tanker_type(s.identity.ship_type));

        // Replay in file order to find gaps that a late fix withdrew.
        let mut open: BTreeSet<(Ms, Ms)> = BTreeSet::new();
        if ever_watched {
            replay_file_order(
                plan,
                mmsi,
                fixes,
                &mut open,
                &mut withdrawn,
                &mut explained,
                &mut problems,
            );
        }

        for pair in sorted.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let span = b.t - a.t;
            if span < 6 * HOUR - HOUR / 4 {
                continue;
            }
            let watched = watched_at(b.t);
            if watched && (span - 6 * HOUR).abs() < HOUR / 4 {
                problems.push(format!(
                    "MMSI {mmsi}: fixes {} and {} are {:.2} h apart, too close to the gap length",
                    UnixMillis(a.t),
                    UnixMillis(b.t),
                    span as f64 / HOUR as f64
                ));
            }
            if span < 6 * HOUR {
                continue;
            }
            if ever_watched && !open.contains(&(a.t, b.t)) {
                problems.push(format!(
                    "MMSI {mmsi}: replay and final order disagree on gap {}",
                    UnixMillis(a.t)
                ));
            }
            let intent = matching_intent(plan, mmsi, a.t, b.t);
            let outage = plan
                .outages
                .iter()
                .any(|&(from, until)| from < b.t && a.t < until);
            let label = match (intent, outage) {
                (Some(i), false) => {
                    explained.insert(i);
                    plan.intents[i].label
                }
                (None, true) => GapLabel::FeedOutage,
                (Some(_), true) => {
                    problems.push(format!(
                        "MMSI {mmsi}: gap at {} overlaps both a planned silence and an outage",
                        UnixMillis(a.t)
                    ));
                    GapLabel::FeedOutage
                }
                (None, false) => {
                    problems.push(format!(
                        "MMSI {mmsi}: unplanned gap {} - {}",
                        UnixMillis(a.t),
                        UnixMillis(b.t)
                    ));
                    continue;
                }
            };
            let hours = round2(span as f64 / HOUR as f64);
            if !watched {
                if let Some(i) = intent {
                    if plan.intents[i].expect != Expect::NotWatched {
                        problems.push(format!(
                            "MMSI {mmsi}: planned {:?} but the vessel is not watched",
                            plan.intents[i].expect
                        ));
                    }
                }
                unwatched.push(UnwatchedGapTruth {
                    mmsi: Mmsi(mmsi),
                    ship_type: static_before(statics, b.t).map(|s| s.identity.ship_type),
                    dark_from: UnixMillis(a.t),
                    dark_until: UnixMillis(b.t),
                    hours,
                    label,
                });
                continue;
            }
            let judged = match judge(recorder, mmsi, a, b) {
                Ok(j) => j,
                Err(why) => {
                    problems.push(format!(
                        "MMSI {mmsi}: gap {} - {} sits on a knife edge: {why}",
                        UnixMillis(a.t),
                        UnixMillis(b.t)
                    ));
                    continue;
                }
            };
            let (judgement, port) = judged.outcome;
            let before = static_before(statics, a.t);
            let after = statics.iter().find(|(t, _)| *t >= b.t).map(|(_, s)| s);
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
            if judgement == Judgement::Trip
                && !identity_changed
                && (rise - rules::DRAUGHT_RISE_M).abs() < 0.15
            {
                problems.push(format!(
                    "MMSI {mmsi}: draught rise {rise:.1} m is too close to the rule"
                ));
            }
            if let Some(i) = intent {
                let expect = plan.intents[i].expect;
                let ok = match expect {
                    Expect::Trip { port: p, high } => {
                        judgement == Judgement::Trip
                            && port == Some(p)
                            && (confidence == Confidence::High) == high
                    }
                    Expect::Unreachable => judgement == Judgement::Unreachable,
                    Expect::NotNear => judgement == Judgement::NotNear,
                    Expect::PositionJump => judgement == Judgement::PositionJump,
                    Expect::Withdrawn | Expect::NoGap | Expect::NotWatched => false,
                };
                if !ok {
                    problems.push(format!(
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
                trips.push(TripTruth {
                    mmsi: Mmsi(mmsi),
                    name: before.map(|s| s.identity.name.clone()).unwrap_or_default(),
                    port: port_name.clone().unwrap_or_default(),
                    dark_from: UnixMillis(a.t),
                    dark_until: UnixMillis(b.t),
                    hours,
                    confidence,
                    draught_before,
                    draught_after,
                    identity_changed,
                    label,
                });
            }
            gaps.push(GapTruth {
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
    }

    for (i, intent) in plan.intents.iter().enumerate() {
        let needs_gap = !matches!(intent.expect, Expect::NoGap);
        if needs_gap && !explained.contains(&i) {
            problems.push(format!(
                "MMSI {}: planned {:?} {} - {} left no matching gap",
                intent.mmsi,
                intent.label,
                UnixMillis(intent.from),
                UnixMillis(intent.until)
            ));
        }
    }

    if !problems.is_empty() {
        return Err(problems);
    }
    trips.sort_by_key(|t| (t.dark_from, t.mmsi));
    gaps.sort_by_key(|g| (g.dark_from, g.mmsi));
    withdrawn.sort_by_key(|w| (w.dark_from, w.mmsi));
    unwatched.sort_by_key(|g| (g.dark_from, g.mmsi));
    Ok(Truth {
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
        trips,
        gaps,
        withdrawn,
        not_watched_dark: unwatched,
        corrupt_lines: counts.corrupt_lines,
        lines: counts.lines,
        zda_lines: counts.zda_lines,
        position_reports: counts.position_reports,
    })
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

/// Coverage of `port` over the gap, read two ways: every hour the gap touches, and only the
/// hours wholly inside it.
fn coverage(recorder: &Recorder, port: usize, mmsi: u32, a: Ms, b: Ms) -> (f64, f64) {
    let share = |first: Ms, last: Ms| -> Option<f64> {
        if last < first {
            return None;
        }
        let mut covered = 0;
        for h in first..=last {
            let heard = usize::try_from(h)
                .ok()
                .and_then(|h| recorder.heard[port].get(h))
                .map_or(0, |bin| bin.others(mmsi));
            if heard >= rules::COVERING_VESSELS {
                covered += 1;
            }
        }
        Some(f64::from(covered) / (last - first + 1) as f64)
    };
    let rel = |t: Ms| t - recorder.start;
    let touched = share(rel(a).div_euclid(HOUR), rel(b).div_euclid(HOUR)).unwrap_or(0.0);
    let inside = share(
        (rel(a) + HOUR - 1).div_euclid(HOUR),
        rel(b).div_euclid(HOUR) - 1,
    )
    .unwrap_or(touched);
    (touched, inside)
}

/// Judges one gap by the rules, refusing when a threshold is too close to call.
fn judge(recorder: &Recorder, mmsi: u32, a: FixRec, b: FixRec) -> Result<Judged, String> {
    let hours = (b.t - a.t) as f64 / HOUR as f64;
    let speed = distance_nm(a.pos, b.pos) / hours;
    let jump = if speed > rules::JUMP_KN * 1.1 {
        Tri::Yes
    } else if speed < rules::JUMP_KN * 0.9 {
        Tri::No
    } else {
        Tri::Edge
    };
    let budget = rules::DARK_SPEED_KN * (hours - rules::PORT_HOURS);
    let evals: Vec<PortEval> = DESIGNATED_PORTS
        .iter()
        .enumerate()
        .map(|(i, port)| {
            let (da, db) = (port.distance_nm(a.pos), port.distance_nm(b.pos));
            let detour = da + db;
            let near = tri_at_most(da.min(db), rules::APPROACH_NM, 3.0);
            let reachable = tri_at_most(detour, budget, (budget.abs() * 0.05).max(5.0));
            let (touched, inside) = coverage(recorder, i, mmsi, a.t, b.t);
            let covered = if touched.min(inside) >= rules::COVERED_SHARE + 0.1 {
                Tri::Yes
            } else if touched.max(inside) <= rules::COVERED_SHARE - 0.1 {
                Tri::No
            } else {
                Tri::Edge
            };
            PortEval {
                near,
                reachable,
                covered,
                detour,
            }
        })
        .collect();

    // Every combination of the uncertain answers must lead to the same outcome.
    let mut edges: Vec<(usize, usize)> = Vec::new(); // (port or usize::MAX for jump, criterion)
    if jump == Tri::Edge {
        edges.push((usize::MAX, 0));
    }
    for (i, e) in evals.iter().enumerate() {
        for (k, t) in [e.near, e.reachable, e.covered].into_iter().enumerate() {
            if t == Tri::Edge {
                edges.push((i, k));
            }
        }
    }
    if edges.len() > 12 {
        return Err(format!("{} uncertain criteria", edges.len()));
    }
    let mut outcomes = BTreeSet::new();
    let mut best_port = None;
    for mask in 0u32..(1 << edges.len()) {
        let pick = |port: usize, criterion: usize, tri: Tri| -> bool {
            match tri {
                Tri::Yes => true,
                Tri::No => false,
                Tri::Edge => {
                    let bit = edges
                        .iter()
                        .position(|&e| e == (port, criterion))
                        .unwrap_or(0);
                    mask & (1 << bit) != 0
                }
            }
        };
        let outcome: Outcome = if pick(usize::MAX, 0, jump) {
            (Judgement::PositionJump, None)
        } else {
            let near: Vec<usize> = (0..evals.len())
                .filter(|&i| pick(i, 0, evals[i].near))
                .collect();
            let reachable: Vec<usize> = near
                .iter()
                .copied()
                .filter(|&i| pick(i, 1, evals[i].reachable))
                .collect();
            let feasible: Vec<usize> = reachable
                .iter()
                .copied()
                .filter(|&i| pick(i, 2, evals[i].covered))
                .collect();
            let by_detour = |set: &[usize]| -> Vec<usize> {
                let mut v = set.to_vec();
                v.sort_by(|&x, &y| evals[x].detour.total_cmp(&evals[y].detour));
                v
            };
            if !feasible.is_empty() {
                let order = by_detour(&feasible);
                if order.len() > 1 && evals[order[1]].detour - evals[order[0]].detour < 1.5 {
                    outcomes.insert((Judgement::Trip, Some(order[1])));
                }
                (Judgement::Trip, Some(order[0]))
            } else if !reachable.is_empty() {
                best_port = by_detour(&reachable).first().copied();
                (Judgement::CoverageUnknown, None)
            } else if !near.is_empty() {
                (Judgement::Unreachable, None)
            } else {
                (Judgement::NotNear, None)
            }
        };
        outcomes.insert(outcome);
    }
    if outcomes.len() == 1 {
        let outcome = outcomes
            .into_iter()
            .next()
            .unwrap_or((Judgement::NotNear, None));
        Ok(Judged { outcome, best_port })
    } else {
        let detail: Vec<String> = evals
            .iter()
            .enumerate()
            .map(|(i, e)| {
                format!(
                    "{} near {:?} reachable {:?} ({:.1} of {:.1} nm) covered {:?}",
                    DESIGNATED_PORTS[i].name, e.near, e.reachable, e.detour, budget, e.covered
                )
            })
            .collect();
        Err(format!(
            "possible outcomes {outcomes:?}; {:.1} h, {speed:.1} kn; {}",
            hours,
            detail.join("; ")
        ))
    }
}

/// Quantises a position as the NMEA file carries it (1/10000 minute).
pub fn quantised(lat_raw: i32, lon_raw: i32) -> LatLon {
    ll(
        f64::from(lat_raw) / 600_000.0,
        f64::from(lon_raw) / 600_000.0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::world::{offset, VOSTOCHNY};

    const START: Ms = 1_709_510_400_000;

    /// A recorder in which three other vessels are heard near Vostochny every hour for `days`.
    fn covered_recorder(days: i64) -> Recorder {
        let mut r = Recorder::new(START, START + days * 24 * HOUR);
        let centre = DESIGNATED_PORTS[VOSTOCHNY].centre;
        let mut line = 0;
        for h in 0..days * 24 {
            for (k, mmsi) in [273_000_001u32, 273_000_002, 273_000_003]
                .iter()
                .enumerate()
            {
                line += 1;
                let p = offset(centre, 90.0 * k as f64, 3.0);
                r.fix(*mmsi, START + h * HOUR + 600_000, p, line);
            }
        }
        r
    }

    fn rec(t: Ms, pos: LatLon) -> FixRec {
        FixRec { t, pos, line: 0 }
    }

    #[test]
    fn a_covered_reachable_gap_is_a_trip_at_the_port_of_least_detour() {
        let r = covered_recorder(3);
        let v = DESIGNATED_PORTS[VOSTOCHNY].centre;
        let a = rec(START + 5 * HOUR, offset(v, 140.0, 40.0));
        let b = rec(START + 41 * HOUR, offset(v, 135.0, 45.0));
        let judged = judge(&r, 445_000_001, a, b).unwrap();
        assert_eq!(judged.outcome, (Judgement::Trip, Some(VOSTOCHNY)));
    }

    #[test]
    fn an_uncovered_gap_is_coverage_unknown_and_far_ends_are_not_near() {
        let r = Recorder::new(START, START + 3 * 24 * HOUR);
        let v = DESIGNATED_PORTS[VOSTOCHNY].centre;
        let a = rec(START + 5 * HOUR, offset(v, 140.0, 40.0));
        let b = rec(START + 41 * HOUR, offset(v, 135.0, 45.0));
        let judged = judge(&r, 445_000_001, a, b).unwrap();
        assert_eq!(judged.outcome, (Judgement::CoverageUnknown, None));
        assert_eq!(judged.best_port, Some(VOSTOCHNY));

        let far = rec(START + 5 * HOUR, offset(v, 180.0, 200.0));
        let far_b = rec(START + 15 * HOUR, offset(v, 182.0, 205.0));
        let judged = judge(&r, 445_000_001, far, far_b).unwrap();
        assert_eq!(judged.outcome, (Judgement::NotNear, None));
    }

    #[test]
    fn a_gap_ending_at_the_approach_distance_is_refused_as_a_knife_edge() {
        let r = covered_recorder(2);
        let v = DESIGNATED_PORTS[VOSTOCHNY].centre;
        // 102 nm from the centre is 100 nm from the zone: near or not depends on rounding.
        let a = rec(START + 5 * HOUR, offset(v, 95.0, 102.0));
        let b = rec(START + 15 * HOUR, offset(v, 95.0, 103.0));
        let err = judge(&r, 445_000_001, a, b).unwrap_err();
        assert!(
            err.contains("Unreachable") && err.contains("NotNear"),
            "{err}"
        );
    }

    #[test]
    fn a_jump_faster_than_any_ship_is_a_position_jump() {
        let r = covered_recorder(2);
        let v = DESIGNATED_PORTS[VOSTOCHNY].centre;
        let a = rec(START + 5 * HOUR, offset(v, 140.0, 30.0));
        let b = rec(START + 13 * HOUR, offset(v, 200.0, 480.0));
        let judged = judge(&r, 445_000_001, a, b).unwrap();
        assert_eq!(judged.outcome, (Judgement::PositionJump, None));
    }

    #[test]
    fn hour_bins_count_only_other_vessels() {
        let mut h = HourHeard::default();
        for m in [1, 2, 2, 3, 4] {
            h.add(m);
        }
        assert_eq!(h.n, 3);
        assert_eq!(h.others(1), 2);
        assert_eq!(h.others(9), 3);
    }
}
