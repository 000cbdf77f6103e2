//! Keeping recorded judgements true as data arrives, at a cost that follows traffic: open
//! gaps looked at when their timer is due, recorded gaps judged again when late data reaches
//! their hours or the static data heard after B completes their evidence, every change kept
//! in the history, and vessels that left memory.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::partition::Phase;
use super::{Change, ClosedGap, Engine};
use crate::detect::{
    apply_evidence, is_refresh_mark, judge_open, next_check, ports_near, DetectParams, GapRecord,
    GapStatus, GapsByPort, Judged, JudgementChange, LastJudgements, OpenJudgement, OpenTimers,
    OpenTimersCheckpoint, Reason, SilenceCoverage, SilenceSums,
};
use crate::model::{Mmsi, VesselReport};
use crate::ports::Ports;
use crate::time::{UnixMillis, MILLIS_PER_HOUR};
use crate::track::{Identity, Position};

/// Share of `max_tracked_vessels` freed at once when the cap is reached, so the cost of
/// choosing whom to evict is spread over many new vessels.
const EVICT_SHARE: f64 = 0.05;

/// Whether an open gap looked at and judged as before is written again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rewrite {
    /// Only if judged differently (a timer's look between refresh marks).
    IfChanged,
    /// Always (a refresh mark, the end of the input, or coverage it was judged on changed).
    Always,
}

/// The engine's memory of what it judged, and when to look again.
#[derive(Debug, Default)]
pub(super) struct Judging {
    timers: OpenTimers,
    /// Recent closed gaps by the ports near A or B.
    closed_near: GapsByPort,
    last: LastJudgements,
    /// The coverage summed so far of each silence looked at.
    silences: SilenceSums,
    /// The same for each silent transmitter of an MMSI that has several.
    segment_silences: SilenceSums<(Mmsi, u32)>,
}

/// What a restart needs of [`Judging`]; the indexes by port are rebuilt from the open and
/// recent gaps.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct JudgingCheckpoint {
    timers: OpenTimersCheckpoint,
    last: Vec<((Mmsi, UnixMillis), Judged)>,
    /// The silences' sums so far, kept because summing afresh after a restart would see hours
    /// whose vessels were forgotten (`Coverage::forget_detail_before`) differently. Valid for
    /// the ports they were summed for (by index): a reload that changes the ports drops them.
    #[serde(default)]
    summed_for_ports: Vec<String>,
    #[serde(default)]
    silences: Vec<(Mmsi, SilenceCoverage)>,
    #[serde(default)]
    segment_silences: Vec<((Mmsi, u32), SilenceCoverage)>,
}

impl Judging {
    pub(super) fn new(ports: usize) -> Judging {
        Judging {
            closed_near: GapsByPort::new(ports),
            ..Judging::default()
        }
    }

    pub(super) fn checkpoint(&self, ports: &Ports) -> JudgingCheckpoint {
        JudgingCheckpoint {
            timers: self.timers.checkpoint(),
            last: self.last.to_sorted(),
            summed_for_ports: ports.iter().map(|p| p.name.clone()).collect(),
            silences: self.silences.to_sorted(),
            segment_silences: self.segment_silences.to_sorted(),
        }
    }
}

impl Engine {
    /// Puts back what [`Judging::checkpoint`] kept and rebuilds the port indexes for the ports
    /// configured now.
    pub(super) fn restore_judging(&mut self, checkpoint: JudgingCheckpoint) {
        self.judging = Judging::new(self.ports.len());
        self.judging.timers = OpenTimers::restore(checkpoint.timers);
        self.judging.last = LastJudgements::from_sorted(checkpoint.last);
        let same_ports = checkpoint.summed_for_ports.len() == self.ports.len()
            && checkpoint
                .summed_for_ports
                .iter()
                .zip(self.ports.iter())
                .all(|(name, port)| *name == port.name);
        if same_ports {
            self.judging.silences = SilenceSums::from_sorted(checkpoint.silences);
            self.judging.segment_silences = SilenceSums::from_sorted(checkpoint.segment_silences);
        }
        let recent: Vec<(Mmsi, Position, Position)> = self
            .recent
            .iter()
            .flat_map(|(mmsi, gaps)| gaps.iter().map(|g| (*mmsi, g.a, g.b)))
            .collect();
        for (mmsi, a, b) in recent {
            for port in ports_near(&self.ports, a, Some(b)) {
                self.judging.closed_near.insert(port, mmsi, a.time);
            }
        }
    }

    /// Emits a gap's record and, when its judgement changed (or it is the first), the history
    /// row saying why. Keeps the port indexes in step with it.
    pub(super) fn emit_judgement(&mut self, record: GapRecord, reason: Reason) {
        let clock = self.clock.unwrap_or(record.dark_from);
        let now = Judged::of(&record);
        let before = self.judging.last.replace(&record);
        let forced = matches!(reason, Reason::Forgotten | Reason::Evicted);
        if forced || before.as_ref().is_none_or(|b| b.differs_in_judgement(&now)) {
            let change = JudgementChange::of(&record, before.map(|b| b.status), clock, reason);
            self.changes.push(Change::Judgement(Box::new(change)));
        }
        let a = Position {
            time: record.dark_from,
            lat: record.from_lat,
            lon: record.from_lon,
        };
        if let Some(until) = record.dark_until {
            self.judging.silences.remove(record.mmsi);
            let b = Position {
                time: until,
                lat: record.until_lat.unwrap_or(a.lat),
                lon: record.until_lon.unwrap_or(a.lon),
            };
            if record.status != GapStatus::Withdrawn {
                for port in ports_near(&self.ports, a, Some(b)) {
                    self.judging.closed_near.insert(port, record.mmsi, a.time);
                }
            }
        }
        self.at_sea_gap(&record);
        self.changes.push(Change::Gap(Box::new(record)));
        self.take_at_sea_changes();
    }

    /// A watched vessel's timer: looked at once it could have been silent long enough to be
    /// a gap.
    pub(super) fn schedule_silence(&mut self, mmsi: Mmsi) {
        let Some(a) = self.table.get(mmsi).and_then(|v| v.last_fix) else {
            return;
        };
        let due = UnixMillis(a.time.as_millis() + self.min_gap_ms);
        self.judging.timers.schedule(mmsi, due);
    }

    /// No more timer for the vessel, nor an open gap in memory (it is no longer watched, or
    /// leaves memory).
    pub(super) fn cancel_silence(&mut self, mmsi: Mmsi) {
        self.judging.timers.cancel(mmsi);
        self.judging.silences.remove(mmsi);
        self.open.remove(&mmsi);
    }

    /// Looks at every vessel whose timer is due at `clock`.
    pub(super) fn run_due_timers(&mut self, clock: UnixMillis) {
        while let Some((mmsi, due)) = self.judging.timers.pop_due(clock) {
            self.set_phase(Phase::Timers, (due.as_millis(), 0));
            let a = self.table.get(mmsi).and_then(|v| v.last_fix);
            let rewrite = if a.is_some_and(|a| is_refresh_mark(a, due, self.min_gap_ms)) {
                Rewrite::Always
            } else {
                Rewrite::IfChanged
            };
            self.look_at_silence(mmsi, clock, Reason::StillSilent, rewrite);
        }
    }

    /// Judges a watched vessel's silence at `clock` and sets its next timer.
    fn look_at_silence(&mut self, mmsi: Mmsi, clock: UnixMillis, reason: Reason, rewrite: Rewrite) {
        let Some(vessel) = self.table.get(mmsi) else {
            return;
        };
        let Some(a) = vessel.last_fix else { return };
        if !vessel.watched {
            return;
        }
        if self.table.segment_identities(mmsi).next().is_some() {
            // Several transmitters: the hourly sweep judges each on its own; the timer only
            // comes back hourly in case the MMSI is one transmitter again.
            let next = UnixMillis(clock.as_millis() + MILLIS_PER_HOUR);
            self.judging.timers.schedule(mmsi, next);
            return;
        }
        if clock.as_millis() - a.time.as_millis() < self.min_gap_ms {
            self.schedule_silence(mmsi);
            return;
        }
        let (params, ports, coverage) = (&self.params, &self.ports, &self.coverage);
        let (silence, judged) =
            self.judging
                .silences
                .judged_at(mmsi, mmsi, a, clock, (params, ports, coverage));
        let next = next_check(a, clock, judged.as_ref(), params, ports, silence);
        self.judging.timers.schedule(mmsi, next);
        let Some(judged) = judged else { return };
        // An open gap's status, port and dark-now come from this judgement alone (its identity
        // does not change them): one judged as before is not made a record again.
        let same = self
            .judging
            .last
            .get((mmsi, a.time))
            .is_some_and(|before| !before.differs_from_open(&judged, ports));
        // Tests check both ways at every look that the record would have said the same.
        #[cfg(debug_assertions)]
        {
            let before = &vessel.identity_at_last_fix;
            let full = open_record(judged.clone(), mmsi, a, before, params, ports);
            let last = self.judging.last.get(full.key());
            let full_same = last.is_some_and(|b| !b.differs_in_judgement(&Judged::of(&full)));
            debug_assert_eq!(same, full_same, "{mmsi:?} judged at {clock:?}");
        }
        if same && rewrite == Rewrite::IfChanged && self.open.contains(&mmsi) {
            // Written again at its refresh marks only (see `detect::timers::refresh_mark_after`).
            return;
        }
        let record = open_record(judged, mmsi, a, &vessel.identity_at_last_fix, params, ports);
        let first = self.open.insert(mmsi);
        let reason = if first { Reason::Silent } else { reason };
        self.emit_judgement(record, reason);
    }

    /// The hourly look at MMSIs with several transmitters: each silent transmitter is judged
    /// on its own (there are few; every other watched vessel has its timer). Each silence's
    /// coverage is summed as it grows, as a timer's is: judging it afresh from fix A each hour
    /// made a shared MMSI cost its silence's hours squared.
    pub(super) fn judge_several_transmitters(&mut self, clock: UnixMillis) {
        let flipped: Vec<(usize, UnixMillis)> = self.coverage.flipped_so_far().collect();
        for (index, hour) in flipped {
            for key in self.judging.segment_silences.including(index, hour) {
                self.judging.segment_silences.remove(key);
            }
        }
        let mut segmented: Vec<Mmsi> = self
            .table
            .segmented_mmsis()
            .filter(|mmsi| self.watched.contains(mmsi))
            .collect();
        // Kept in a hash map: judged in MMSI order, so that the history's rows come in the same
        // order in every run.
        segmented.sort_unstable();
        let mut summed = HashSet::new();
        for &mmsi in &segmented {
            let mut records = Vec::new();
            for (segment, a, before) in self.table.silent_candidates(mmsi) {
                if clock.as_millis() - a.time.as_millis() < self.min_gap_ms {
                    continue;
                }
                let (params, ports, coverage) = (&self.params, &self.ports, &self.coverage);
                let (_, judged) = self.judging.segment_silences.judged_at(
                    (mmsi, segment),
                    mmsi,
                    a,
                    clock,
                    (params, ports, coverage),
                );
                summed.insert((mmsi, segment));
                if let Some(judged) = judged {
                    let mut record = open_record(judged, mmsi, a, before, params, ports);
                    record.segment = segment;
                    records.push(record);
                }
            }
            for record in records {
                let first = self.open.insert(mmsi);
                let reason = if first {
                    Reason::Silent
                } else {
                    Reason::StillSilent
                };
                self.emit_judgement(record, reason);
            }
        }
        self.judging
            .segment_silences
            .retain(|key| summed.contains(key));
    }

    /// The end of the input: the last sweep and looks, at the stream clock. Silences of
    /// vessels first heard after the clock had passed their threshold are looked at only now,
    /// and their A is handed out as evidence too.
    pub(super) fn judge_at_end(&mut self) {
        let from = self.changes.len();
        if let Some(clock) = self.clock {
            self.sweep(clock);
            self.set_phase(Phase::Timers, (0, 0));
            self.refresh_open(clock);
            self.set_phase(Phase::StillDark, (0, 0));
            self.at_sea_still_dark(clock);
        }
        self.witness_gaps(None, from);
    }

    /// The vessels with an open gap, in MMSI order: what is written for each of them then
    /// comes in the same order in every run.
    pub(super) fn open_in_order(&self) -> Vec<Mmsi> {
        let mut open: Vec<Mmsi> = self.open.iter().copied().collect();
        open.sort_unstable();
        open
    }

    /// Every open gap judged at `clock` (the end of the input: stored durations are exact).
    pub(super) fn refresh_open(&mut self, clock: UnixMillis) {
        self.run_due_timers(clock);
        for mmsi in self.open_in_order() {
            self.look_at_silence(mmsi, clock, Reason::StillSilent, Rewrite::Always);
        }
    }

    /// The fix after fix A arrived, too soon after A for a gap, but only after the vessel's
    /// silence had been recorded as an open gap (it came late): that gap never was one.
    pub(super) fn withdraw_open(&mut self, mmsi: Mmsi, a: Position, fix: Position) {
        if !self.open.contains(&mmsi) {
            return;
        }
        let clock = self.clock.unwrap_or(fix.time);
        let open = judge_open(mmsi, a, clock, &self.params, &self.ports, &self.coverage);
        self.open.remove(&mmsi);
        let Some(mut record) = open else { return };
        record.status = GapStatus::Withdrawn;
        record.watched = true;
        record.dark_now = false;
        record.dark_until = Some(fix.time);
        record.until_lat = Some(fix.lat);
        record.until_lon = Some(fix.lon);
        record.duration_hours = (a.time.hours_until(fix.time) * 1e4).round() / 1e4;
        self.stats.withdrawn += 1;
        self.emit_judgement(record, Reason::NextFixLate { fix: fix.time });
        self.schedule_silence(mmsi);
    }

    /// A late fix inside a recorded gap splits it: each remaining part long enough to be a gap
    /// is judged afresh; the original is replaced (same A) or withdrawn.
    pub(super) fn rejudge_with_late_fix(&mut self, mmsi: Mmsi, segment: u32, late: Position) {
        let Some(gaps) = self.recent.get_mut(&mmsi) else {
            return;
        };
        let Some(index) = gaps
            .iter()
            .position(|g| g.segment == segment && g.a.time < late.time && late.time < g.b.time)
        else {
            return;
        };
        let original = gaps.remove(index);
        let parts = [
            ClosedGap {
                segment,
                a: original.a,
                b: late,
                before: original.before.clone(),
                after: None,
            },
            ClosedGap {
                segment,
                a: late,
                b: original.b,
                before: original.before.clone(),
                after: original.after.clone(),
            },
        ];
        let mut replaced_a = false;
        for part in parts {
            if part.b.time.as_millis() - part.a.time.as_millis() < self.min_gap_ms {
                continue;
            }
            let Some(record) = self.judge(mmsi, &part) else {
                continue;
            };
            replaced_a |= part.a.time == original.a.time;
            self.count_judgement(&record);
            self.emit_judgement(record, Reason::LateFix { fix: late.time });
            let gaps = self.recent.entry(mmsi).or_default();
            gaps.push(part);
            gaps.sort_by_key(|g| g.a.time);
        }
        if !replaced_a {
            if let Some(mut withdrawn) = self.judge(mmsi, &original) {
                withdrawn.status = GapStatus::Withdrawn;
                withdrawn.confidence = None;
                self.stats.withdrawn += 1;
                self.emit_judgement(withdrawn, Reason::LateFix { fix: late.time });
            }
        }
    }

    /// Gaps reached by the hours whose coverage changed since the last call: recorded ones
    /// within the horizon are judged again, open ones looked at again.
    pub(super) fn rejudge_flipped(&mut self, clock: UnixMillis) {
        let horizon = self.rejudge_horizon(clock);
        for (ordinal, (index, hour)) in self.coverage.take_flipped().into_iter().enumerate() {
            let hour_end = UnixMillis(hour.as_millis() + MILLIS_PER_HOUR);
            for (a_time, mmsi) in self.judging.closed_near.starting_before(index, hour_end) {
                self.set_phase(Phase::Rejudged, (ordinal as i64, a_time.as_millis()));
                let Some(gap) = self
                    .recent
                    .get(&mmsi)
                    .and_then(|gaps| gaps.iter().find(|g| g.a.time == a_time))
                    .cloned()
                else {
                    self.judging.closed_near.remove(index, mmsi, a_time);
                    continue;
                };
                if gap.b.time <= hour || gap.b.time < horizon {
                    continue;
                }
                self.rejudge_closed(mmsi, &gap, index, hour);
            }
            // An open gap's timer sums the hours it has not summed yet when it next fires:
            // only the sums that already include this hour are wrong now. (Looking at every
            // open gap near the port made the cost silent vessels x hours.)
            self.set_phase(Phase::Rejudged, (ordinal as i64, i64::MAX));
            for mmsi in self.judging.silences.including(index, hour) {
                self.judging.silences.remove(mmsi);
                self.look_at_silence(mmsi, clock, Reason::StillSilent, Rewrite::Always);
            }
        }
    }

    fn rejudge_closed(&mut self, mmsi: Mmsi, gap: &ClosedGap, index: usize, hour: UnixMillis) {
        let Some(record) = self.judge(mmsi, gap) else {
            return;
        };
        let before = self.judging.last.get(record.key()).cloned();
        let now = Judged::of(&record);
        if before.as_ref() == Some(&now) {
            return;
        }
        if before
            .as_ref()
            .is_some_and(|b| b.status == GapStatus::Withdrawn)
        {
            return;
        }
        if before
            .as_ref()
            .is_some_and(|b| b.differs_in_judgement(&now))
        {
            self.stats.rejudged += 1;
            if record.is_trip() {
                self.stats.trips += 1;
            }
        }
        let reason = Reason::Coverage {
            port: self.ports[index].name.clone(),
            hour,
            vessels: self.coverage.vessels_in_hour(index, hour.as_millis()) as u32,
            before: before.and_then(|b| b.coverage),
            after: record.coverage,
        };
        self.emit_judgement(record, reason);
    }

    /// The earliest fix B a recorded gap may have and still be judged again.
    pub(super) fn rejudge_horizon(&self, clock: UnixMillis) -> UnixMillis {
        clock.plus_hours(-self.params.rejudge_horizon_hours)
    }

    /// Daily: what late data can no longer change leaves memory, and so do vessels silent
    /// longer than `forget_after_hours`.
    pub(super) fn forget_old(&mut self, clock: UnixMillis) {
        let horizon = self.rejudge_horizon(clock);
        self.coverage.forget_detail_before(horizon);
        self.recent.retain(|_, gaps| {
            gaps.retain(|g| g.b.time >= horizon);
            !gaps.is_empty()
        });
        self.judging.last.forget_closed_before(horizon);
        let recent = &self.recent;
        self.judging.closed_near.retain(|_, mmsi, a| {
            recent
                .get(&mmsi)
                .is_some_and(|gaps| gaps.iter().any(|g| g.a.time == a))
        });
        let silent_since = clock.plus_hours(-self.params.forget_after_hours);
        let silent: Vec<Mmsi> = self
            .table
            .iter()
            .filter(|v| v.last_heard < silent_since)
            .map(|v| v.mmsi)
            .collect();
        self.stats.forgotten_vessels += silent.len() as u64;
        self.leave_memory(&silent, clock, Reason::Forgotten);
    }

    /// Over the cap: the longest silent vessels leave memory, a share of the cap at once.
    pub(super) fn evict_over_cap(&mut self, clock: UnixMillis) {
        let cap = self.tracked_cap();
        if self.table.len() <= cap {
            return;
        }
        let keep = cap - ((cap as f64 * EVICT_SHARE) as usize).max(1);
        let mut heard: Vec<(UnixMillis, Mmsi)> =
            self.table.iter().map(|v| (v.last_heard, v.mmsi)).collect();
        let evict = heard.len() - keep;
        heard.select_nth_unstable(evict - 1);
        let mut gone: Vec<Mmsi> = heard[..evict].iter().map(|(_, m)| *m).collect();
        gone.sort_unstable();
        self.stats.evicted_vessels += gone.len() as u64;
        tracing::warn!(
            evicted = gone.len(),
            tracked = keep,
            max_tracked_vessels = cap,
            "More vessels than max_tracked_vessels: the longest silent left memory."
        );
        self.leave_memory(&gone, clock, Reason::Evicted);
    }

    /// Writes what the store must keep of these vessels (rows, track points, open gaps as last
    /// judged), then forgets them.
    fn leave_memory(&mut self, mmsis: &[Mmsi], clock: UnixMillis, reason: Reason) {
        if mmsis.is_empty() {
            return;
        }
        for &mmsi in mmsis {
            let vessel = self.table.get(mmsi);
            let a = vessel.and_then(|v| v.last_fix);
            if let (Some(vessel), Some(a), true) = (vessel, a, self.open.contains(&mmsi)) {
                // From the sum its looks kept: summing a month afresh from fix A cost each
                // passing vessel more than all its looks together, and would see the hours
                // whose vessels were forgotten since differently from the looks.
                let (params, ports, coverage) = (&self.params, &self.ports, &self.coverage);
                let (_, judged) = self.judging.silences.judged_at(
                    mmsi,
                    mmsi,
                    a,
                    clock,
                    (params, ports, coverage),
                );
                if let Some(mut record) = judged.map(|judged| judged.into_record(mmsi, a, ports)) {
                    record.watched = true;
                    record.dark_now = false;
                    apply_evidence(
                        &mut record,
                        &vessel.identity_at_last_fix,
                        None,
                        &self.params,
                    );
                    self.emit_judgement(record, reason.clone());
                }
                self.judging.last.remove((mmsi, a.time));
            }
            self.cancel_silence(mmsi);
            self.watched.remove(&mmsi);
            self.recent.remove(&mmsi);
        }
        // Only these vessels' rows are due now: the others' wait for the end (or a commit).
        let changed = self.table.take_dirty_of(mmsis);
        self.push_vessel_rows(changed);
        let mut chunks = Vec::new();
        self.table.forget(mmsis, &mut chunks);
        self.push_tracks(chunks);
        self.changes.push(Change::LeftMemory(mmsis.to_vec()));
    }
}

/// The record a watched vessel's open silence is written as: its judgement, with what the
/// vessel said before fix A.
fn open_record(
    judged: OpenJudgement,
    mmsi: Mmsi,
    a: Position,
    before: &Identity,
    params: &DetectParams,
    ports: &Ports,
) -> GapRecord {
    let mut record = judged.into_record(mmsi, a, ports);
    record.watched = true;
    apply_evidence(&mut record, before, None, params);
    record
}

/// Static reports heard this long after B still count as "after" evidence.
const AFTER_EVIDENCE_HOURS: f64 = 12.0;

impl Engine {
    /// The first static values heard after B complete the gap's evidence (draught after,
    /// identity changes, cargo, confidence).
    pub(super) fn gather_after_evidence(
        &mut self,
        report: &VesselReport,
        time: UnixMillis,
        segment: u32,
    ) {
        let Some(gap) = self
            .recent
            .get_mut(&report.mmsi)
            .and_then(|gaps| gaps.iter_mut().rev().find(|g| g.segment == segment))
        else {
            return;
        };
        if time < gap.b.time || gap.b.time.hours_until(time) > AFTER_EVIDENCE_HOURS {
            return;
        }
        let after = gap.after.get_or_insert_with(Identity::default);
        // Every row of a CSV export repeats the static data: most reports fill nothing, and
        // are seen to without copying what the gap holds.
        if !after.fills_from(report) {
            return;
        }
        let was = after.clone();
        after.fill_unknown(report);
        if *after == was {
            return;
        }
        let mut earlier = gap.clone();
        earlier.after = Some(was);
        let gap = gap.clone();
        if let Some(record) = self.judge(report.mmsi, &gap) {
            self.recount_hull_change(report.mmsi, &earlier, &record);
            self.emit_judgement(record, Reason::Closed { fix: gap.b.time });
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::detect::DetectParams;
    use crate::engine::Engine;
    use crate::model::{AisEvent, Fix, Heard, Mmsi, TimeSource};
    use crate::ports::Port;
    use crate::time::UnixMillis;
    use crate::watchlist::Watchlist;

    fn fix(mmsi: u32, time: i64) -> AisEvent {
        let heard = Heard {
            time: Some(UnixMillis(time)),
            time_source: Some(TimeSource::TagBlock),
            ..Heard::default()
        };
        AisEvent::Fix(Fix::bare(Mmsi(mmsi), 1, heard, 42.7, 133.0))
    }

    #[test]
    fn a_checkpoint_apart_is_the_checkpoint_with_its_vessels_taken_out() {
        let params = DetectParams {
            watch_all: true,
            ..DetectParams::default()
        };
        let ports = vec![Port::circle("Vostochny", 42.735, 133.075, 2.0)];
        let mut engine = Engine::new(params, ports, Watchlist::default(), 10);
        for (i, mmsi) in [273_000_003, 273_000_001, 273_000_002]
            .into_iter()
            .enumerate()
        {
            engine.ingest(&fix(mmsi, 1_709_856_000_000 + i as i64 * 7 * 3_600_000));
        }
        let mut whole = engine.checkpoint();
        let vessels = whole.take_vessels();
        let apart = engine.checkpoint_apart();
        assert_eq!(
            serde_json::to_value(&apart).unwrap(),
            serde_json::to_value(&whole).unwrap()
        );
        let order: Vec<Mmsi> = engine.vessels().iter().map(|v| v.mmsi).collect();
        assert_eq!(order, vessels.iter().map(|v| v.mmsi).collect::<Vec<_>>());
        assert_eq!(
            engine.open_gaps(),
            2,
            "the first two vessels are silent 7 h and more"
        );
    }
}
