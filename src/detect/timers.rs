//! When a silent vessel must be looked at again: one timer per watched vessel, due when the
//! judgement of its silence can next change (a threshold reached, coverage so far crossing
//! `min_coverage`), so that the cost of open gaps follows what happens, not vessels x hours.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::hash::Hash;

use serde::{Deserialize, Serialize};

use super::{
    lowest_gap_hours, near_a, port_gap_hours, DetectParams, NearPort, OpenCandidate, OpenJudgement,
};
use crate::hashed::MmsiMap;
use crate::model::Mmsi;
use crate::ports::Ports;
use crate::time::{UnixMillis, MILLIS_PER_HOUR};
use crate::track::{Coverage, Position};

/// An open gap is looked at, and its record written again, at the latest at its refresh
/// marks: A + g, 2g, 4g, 8g... for the shortest gap g, so its stored coverage so far is never
/// older than half its length. (Its duration is read against the stream clock; every change
/// of judgement has its own timer and is written when found.) Marks fixed by A, not by when a
/// timer last fired, make the same writes whether or not the engine restarted in between.
/// Rewriting at every look, as before, wrote each passing vessel's open gap twenty times.
pub fn refresh_mark_after(a: Position, clock: UnixMillis, shortest_gap_ms: i64) -> UnixMillis {
    let unit = shortest_gap_ms.max(1);
    let mut mark = unit;
    while a.time.as_millis().saturating_add(mark) <= clock.as_millis() {
        mark = mark.saturating_mul(2);
    }
    UnixMillis(a.time.as_millis().saturating_add(mark))
}

/// Whether `due` is one of the refresh marks of the silence since `a` (see
/// [`refresh_mark_after`]).
pub fn is_refresh_mark(a: Position, due: UnixMillis, shortest_gap_ms: i64) -> bool {
    let unit = shortest_gap_ms.max(1);
    let since = due.as_millis() - a.time.as_millis();
    since >= unit && since % unit == 0 && (since / unit).unsigned_abs().is_power_of_two()
}

/// One due time per vessel, earliest first. A vessel rescheduled keeps one live entry; the
/// heap's older ones are skipped when they come up.
#[derive(Clone, Debug, Default)]
pub struct OpenTimers {
    heap: BinaryHeap<Reverse<(i64, Mmsi)>>,
    due: MmsiMap<i64>,
}

impl OpenTimers {
    /// Sets `mmsi`'s one timer to `at`, replacing any other.
    pub fn schedule(&mut self, mmsi: Mmsi, at: UnixMillis) {
        if self.due.insert(mmsi, at.as_millis()) != Some(at.as_millis()) {
            self.heap.push(Reverse((at.as_millis(), mmsi)));
        }
    }

    pub fn cancel(&mut self, mmsi: Mmsi) {
        self.due.remove(&mmsi);
    }

    /// Whether `mmsi` has a timer.
    pub fn is_scheduled(&self, mmsi: Mmsi) -> bool {
        self.due.contains_key(&mmsi)
    }

    /// The next vessel whose timer is due at `clock`, with the time it was due, its timer
    /// cleared; in time order, then
    /// MMSI order, whatever order they were set in.
    pub fn pop_due(&mut self, clock: UnixMillis) -> Option<(Mmsi, UnixMillis)> {
        while let Some(&Reverse((at, mmsi))) = self.heap.peek() {
            if at > clock.as_millis() {
                return None;
            }
            self.heap.pop();
            if self.due.get(&mmsi) == Some(&at) {
                self.due.remove(&mmsi);
                return Some((mmsi, UnixMillis(at)));
            }
        }
        None
    }

    pub fn len(&self) -> usize {
        self.due.len()
    }

    pub fn is_empty(&self) -> bool {
        self.due.is_empty()
    }

    /// The live timers, in a stable order (for a checkpoint).
    pub fn checkpoint(&self) -> OpenTimersCheckpoint {
        let mut due: Vec<(Mmsi, i64)> = self.due.iter().map(|(m, t)| (*m, *t)).collect();
        due.sort_unstable();
        OpenTimersCheckpoint { due }
    }

    pub fn restore(checkpoint: OpenTimersCheckpoint) -> OpenTimers {
        let mut timers = OpenTimers::default();
        for (mmsi, at) in checkpoint.due {
            timers.schedule(mmsi, UnixMillis(at));
        }
        timers
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct OpenTimersCheckpoint {
    due: Vec<(Mmsi, i64)>,
}

/// The covered milliseconds of one silence at each port near fix A, summed up to the start of
/// the current hour as the silence grows: hours before it no longer change but for late data,
/// after which the caller starts the sum again. Equal to walking the whole silence each time.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SilenceCoverage {
    a: Position,
    known_until: i64,
    /// `(port index, covered ms)` of the ports near fix A only, ascending by index: a table
    /// with as many slots as ports would cost each silence the whole port list.
    covered: Vec<(usize, i64)>,
    /// The same ports with A's distance from each, found once rather than at every look (a
    /// cache: empty after a restore until the next [`SilenceSums::judged_at`]).
    #[serde(skip)]
    near: Vec<NearPort>,
}

/// Equal when they sum the same silence to the same hour alike; the ports' distances are a
/// cache of what `a` implies.
impl PartialEq for SilenceCoverage {
    fn eq(&self, other: &Self) -> bool {
        (self.a, self.known_until, &self.covered) == (other.a, other.known_until, &other.covered)
    }
}

impl SilenceCoverage {
    pub fn new(a: Position, ports: &Ports) -> SilenceCoverage {
        let near = near_a(ports, a);
        SilenceCoverage {
            a,
            known_until: a.time.as_millis(),
            covered: near.iter().map(|port| (port.index, 0)).collect(),
            near,
        }
    }

    /// This silence judged at `clock` ([`super::judge_open`] before it is made a record),
    /// from the sum and the ports kept.
    fn judged(
        &self,
        mmsi: Mmsi,
        clock: UnixMillis,
        params: &DetectParams,
        ports: &Ports,
        coverage: &Coverage,
    ) -> Option<OpenJudgement> {
        OpenJudgement::of(self.a, clock, params, ports, &self.near, &mut |index| {
            self.until(index, clock, mmsi, params, coverage)
        })
    }

    fn find_ports_again(&mut self, ports: &Ports) {
        if self.near.len() != self.covered.len() {
            self.near = near_a(ports, self.a);
        }
    }

    /// What is summed so far at port `index` (0 for a port not near fix A).
    fn covered_at(&self, index: usize) -> i64 {
        self.covered
            .iter()
            .find(|(i, _)| *i == index)
            .map_or(0, |(_, ms)| *ms)
    }

    /// Whether this is the sum of the silence since `a`.
    fn is_since(&self, a: Position) -> bool {
        self.a == a
    }

    /// Sums the hours that have ended by `clock`.
    fn advance(
        &mut self,
        clock: UnixMillis,
        mmsi: Mmsi,
        params: &DetectParams,
        coverage: &Coverage,
    ) {
        let until = clock.hour_floor().as_millis().max(self.a.time.as_millis());
        if until <= self.known_until {
            return;
        }
        for (index, covered) in &mut self.covered {
            *covered += coverage.covered_ms(
                *index,
                UnixMillis(self.known_until),
                UnixMillis(until),
                mmsi,
                params.coverage_min_vessels,
            );
        }
        self.known_until = until;
    }

    /// Covered milliseconds of `[A, clock)` at port `index`.
    fn until(
        &self,
        index: usize,
        clock: UnixMillis,
        mmsi: Mmsi,
        params: &DetectParams,
        coverage: &Coverage,
    ) -> i64 {
        self.covered_at(index)
            + coverage.covered_ms(
                index,
                UnixMillis(self.known_until),
                clock,
                mmsi,
                params.coverage_min_vessels,
            )
    }
}

/// The coverage summed so far of each silence looked at (a cache: a silence missing here is
/// summed afresh from fix A when next looked at), indexed by how far each is summed, so that
/// a late change to an hour finds the few sums that already include it instead of every open
/// gap near the port. Keyed by the silent vessel (`Mmsi`), or by one transmitter of an MMSI
/// that has several (`(Mmsi, segment)`); the key's `Default` must be its least value.
#[derive(Clone, Debug)]
pub struct SilenceSums<K = Mmsi> {
    sums: HashMap<K, SilenceCoverage>,
    by_known_until: BTreeSet<(i64, K)>,
}

impl<K> Default for SilenceSums<K> {
    fn default() -> Self {
        SilenceSums {
            sums: HashMap::new(),
            by_known_until: BTreeSet::new(),
        }
    }
}

impl<K: Copy + Ord + Hash + Default> SilenceSums<K> {
    /// The silence of `key` since fix A summed up to `clock`'s hour (continued when the cache
    /// holds it, else started afresh), and judged at `clock` from that sum. `mmsi` is the
    /// vessel whose own reports do not count as coverage.
    pub fn judged_at(
        &mut self,
        key: K,
        mmsi: Mmsi,
        a: Position,
        clock: UnixMillis,
        (params, ports, coverage): (&DetectParams, &Ports, &Coverage),
    ) -> (&SilenceCoverage, Option<OpenJudgement>) {
        let sum = self
            .sums
            .entry(key)
            .or_insert_with(|| SilenceCoverage::new(a, ports));
        if !sum.is_since(a) {
            self.by_known_until.remove(&(sum.known_until, key));
            *sum = SilenceCoverage::new(a, ports);
        }
        self.by_known_until.remove(&(sum.known_until, key));
        sum.find_ports_again(ports);
        sum.advance(clock, mmsi, params, coverage);
        self.by_known_until.insert((sum.known_until, key));
        let judged = sum.judged(mmsi, clock, params, ports, coverage);
        (sum, judged)
    }

    pub fn remove(&mut self, key: K) {
        if let Some(sum) = self.sums.remove(&key) {
            self.by_known_until.remove(&(sum.known_until, key));
        }
    }

    /// The sums in key order (for a checkpoint).
    pub fn to_sorted(&self) -> Vec<(K, SilenceCoverage)> {
        let mut sums: Vec<(K, SilenceCoverage)> =
            self.sums.iter().map(|(k, s)| (*k, s.clone())).collect();
        sums.sort_unstable_by_key(|(key, _)| *key);
        sums
    }

    pub fn from_sorted(sums: Vec<(K, SilenceCoverage)>) -> SilenceSums<K> {
        let by_known_until = sums.iter().map(|(k, s)| (s.known_until, *k)).collect();
        SilenceSums {
            sums: sums.into_iter().collect(),
            by_known_until,
        }
    }

    /// Keeps only the sums whose key `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&K) -> bool) {
        self.sums.retain(|key, _| keep(key));
        let sums = &self.sums;
        self.by_known_until
            .retain(|(_, key)| sums.contains_key(key));
    }

    /// The keys whose sum already includes the hour starting at `hour` at port `index`: a
    /// change to that hour leaves it wrong.
    pub fn including(&self, index: usize, hour: UnixMillis) -> Vec<K> {
        let hour_end = hour.as_millis() + MILLIS_PER_HOUR;
        self.by_known_until
            .range((hour.as_millis() + 1, K::default())..)
            .map(|&(_, key)| key)
            .filter(|key| {
                self.sums.get(key).is_some_and(|sum| {
                    sum.a.time.as_millis() < hour_end
                        && sum.covered.iter().any(|(i, _)| *i == index)
                })
            })
            .collect()
    }
}

/// When the silence since fix A, judged at `clock` as `judged` (or not yet a gap: `None`),
/// can next be judged differently, with nothing else heard: the next threshold its duration
/// reaches (the shortest gap, a port's own gap hours, a port becoming reachable), the earliest
/// time the coverage so far could cross `min_coverage` at a candidate port, and at the latest
/// at the latest at the next refresh mark ([`refresh_mark_after`]). Always after `clock`.
pub fn next_check(
    a: Position,
    clock: UnixMillis,
    judged: Option<&OpenJudgement>,
    params: &DetectParams,
    ports: &Ports,
    silence: &SilenceCoverage,
) -> UnixMillis {
    let at_hours = |hours: f64| a.time.plus_hours(hours);
    let shortest_gap_ms = (lowest_gap_hours(params, ports) * MILLIS_PER_HOUR as f64).round() as i64;
    let mut next = refresh_mark_after(a, clock, shortest_gap_ms);
    let mut consider = |t: UnixMillis| {
        if t > clock && t < next {
            next = t;
        }
    };
    consider(at_hours(params.gap_hours));
    // A port's coverage crossing `min_coverage` changes the judgement only if it can change
    // the port chosen (the nearest feasible): the chosen one falling, or a nearer one rising.
    // Watching every candidate's crossing looked at a silence near busy ports almost hourly.
    let candidates = judged.map_or(&[][..], OpenJudgement::candidates);
    let chosen = candidates
        .iter()
        .filter(|c| c.feasible)
        .min_by(|x, y| x.detour_nm.total_cmp(&y.detour_nm));
    let can_change_the_judgement = |c: &OpenCandidate| match chosen {
        None => true,
        Some(best) if c.feasible => c.index == best.index,
        Some(best) => c.detour_nm <= best.detour_nm,
    };
    for (slot, &(index, covered)) in silence.covered.iter().enumerate() {
        let port = &ports[index];
        consider(at_hours(port_gap_hours(params, port)));
        let to_port = silence
            .near
            .get(slot)
            .map_or_else(|| port.distance_nm(a.lat, a.lon), |near| near.to_port_nm);
        consider(at_hours(
            params.min_port_hours + to_port / params.max_speed_kn,
        ));
        let candidate = candidates.iter().find(|c| c.index == index);
        if let Some(c) = candidate.filter(|c| can_change_the_judgement(c)) {
            consider(coverage_crossing(
                a,
                clock,
                c.feasible,
                params,
                (silence.known_until, covered),
            ));
        }
    }
    next.max(UnixMillis(clock.as_millis() + 1))
}

/// The earliest time the covered share of `[A, t)` at port `index` could cross
/// `min_coverage`, whatever is heard from now on: every hour from the current one on may turn
/// out covered or not (the current hour's bin is still filling), hours before it are known
/// (`known_until` and what was covered of them).
/// When the answer lies in the current hour, the next hour's start.
fn coverage_crossing(
    a: Position,
    clock: UnixMillis,
    feasible: bool,
    params: &DetectParams,
    (known_until, covered_ms): (i64, i64),
) -> UnixMillis {
    let never = UnixMillis(i64::MAX);
    let m = params.min_coverage;
    let from = a.time.as_millis();
    let known_ms = (known_until - from) as f64;
    let covered_ms = covered_ms as f64;
    // Solve for the span s = t - A at which the bound meets the threshold.
    let span_ms = if feasible {
        // Nothing covered from here on: covered / s < m.
        if m <= 0.0 {
            return never;
        }
        covered_ms / m
    } else {
        // Everything covered from here on: (covered + s - known) / s >= m.
        if m >= 1.0 {
            return if covered_ms >= known_ms { clock } else { never };
        }
        (known_ms - covered_ms) / (1.0 - m)
    };
    let t = UnixMillis(from.saturating_add(span_ms.ceil() as i64));
    if t <= clock {
        UnixMillis(clock.hour_floor().as_millis() + MILLIS_PER_HOUR)
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_marks_double_from_fix_a_whatever_the_clock_when_asked() {
        let hour = MILLIS_PER_HOUR;
        let a = Position {
            time: UnixMillis(5 * hour + 17),
            lat: 42.7,
            lon: 133.0,
        };
        let marks: Vec<i64> = [0, 6 * hour - 1, 6 * hour, 11 * hour, 30 * hour]
            .iter()
            .map(|&since| {
                refresh_mark_after(a, UnixMillis(a.time.as_millis() + since), 6 * hour).as_millis()
                    - a.time.as_millis()
            })
            .collect();
        assert_eq!(marks, [6 * hour, 6 * hour, 12 * hour, 12 * hour, 48 * hour]);
        for since in [6, 12, 24, 48, 96] {
            assert!(is_refresh_mark(
                a,
                UnixMillis(a.time.as_millis() + since * hour),
                6 * hour
            ));
        }
        for since in [0, 3, 18, 36, 47] {
            assert!(!is_refresh_mark(
                a,
                UnixMillis(a.time.as_millis() + since * hour),
                6 * hour
            ));
        }
        assert!(!is_refresh_mark(
            a,
            UnixMillis(a.time.as_millis() + 12 * hour + 1),
            6 * hour
        ));
    }

    #[test]
    fn timers_come_due_in_time_order_and_a_rescheduled_vessel_once() {
        let mut timers = OpenTimers::default();
        timers.schedule(Mmsi(3), UnixMillis(30));
        timers.schedule(Mmsi(1), UnixMillis(20));
        timers.schedule(Mmsi(2), UnixMillis(20));
        timers.schedule(Mmsi(3), UnixMillis(10));
        timers.schedule(Mmsi(1), UnixMillis(40));
        let due: Vec<Mmsi> =
            std::iter::from_fn(|| timers.pop_due(UnixMillis(35)).map(|(mmsi, _)| mmsi)).collect();
        assert_eq!(due, [Mmsi(3), Mmsi(2)]);
        assert_eq!(timers.len(), 1);
        timers.cancel(Mmsi(1));
        assert_eq!(timers.pop_due(UnixMillis(100)), None);
        assert!(timers.is_empty());
    }
}
