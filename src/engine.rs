//! The detection engine: feeds decoded events through the vessel table, coverage and gap
//! judgement in arrival order, keeps the stream clock, and emits the changes to persist.
//! `replay` and `run` drive the same engine, which is why they agree.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

mod at_sea;
mod judge;
pub mod partition;
mod port_visits;
pub mod provenance;
mod transmitters;
mod watching;

use crate::detect::encounters::EncounterRecord;
use crate::detect::loitering::LoiteringRecord;
use crate::detect::rendezvous::RendezvousRecord;
use crate::detect::sea_activity::AtSea;
use crate::detect::visits::VisitStats;
use crate::detect::DetectParams;
use crate::detect::{
    apply_evidence, judge_closed, min_gap_hours, GapRecord, GapStatus, JudgementChange, Reason,
};
use crate::detect::{Visit, VisitTracker};
use crate::hashed::{MmsiMap, MmsiSet};
use crate::model::{AisEvent, Fix, Mmsi, VesselReport};
use crate::ports::{Port, Ports};
use crate::stream_clock::{Admission, RefusedTimes, StreamClockGuard};
use crate::time::{UnixMillis, MILLIS_PER_DAY, MILLIS_PER_HOUR};
use crate::track::{
    day_of, Coverage, CoverageCheckpoint, FixOrder, HourBin, Identity, Position, SegmentRow,
    TrackChunk, Vessel, VesselTable, VesselTableCheckpoint,
};
use crate::watchlist::Watchlist;
use judge::{Judging, JudgingCheckpoint};
use partition::{AtSeaCalls, AtSeaOrder, Partition, Phase, Place};
use provenance::{Evidence, Fingerprint, Witness};
use transmitters::segment_rule;

/// Closed gaps remembered per vessel, for late data and evidence.
const RECENT_GAPS_PER_VESSEL: usize = 4;

/// What the engine asks the store to persist, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    Vessel(VesselSnapshot),
    /// The vessel's identity after a static report changed it (identity history).
    Identity {
        mmsi: Mmsi,
        time: UnixMillis,
        identity: Arc<Identity>,
    },
    /// Insert or replace the gap keyed by (mmsi, dark_from).
    Gap(Box<GapRecord>),
    /// A change of a gap's judgement, for its history.
    Judgement(Box<JudgementChange>),
    /// Every gap of this vessel is now watched (or not).
    Watched {
        mmsi: Mmsi,
        watched: bool,
    },
    Track(TrackChunk),
    /// Insert or replace one segment (transmitter) of an MMSI that has more than one.
    Segment(SegmentRow),
    PortHour {
        port: String,
        hour: UnixMillis,
        vessels: u32,
    },
    Clock(UnixMillis),
    /// Insert or replace the encounter keyed by (mmsi_a, mmsi_b, start).
    Encounter(Box<EncounterRecord>),
    /// Insert or replace the loitering episode keyed by (mmsi, start).
    Loitering(Box<LoiteringRecord>),
    /// Insert or replace the dark rendezvous keyed by both legs.
    Rendezvous(Box<RendezvousRecord>),
    /// Insert or replace the port visit keyed by (mmsi, arrived).
    Visit(Box<Visit>),
    /// Where a message one gap's judgement rests on came from.
    Evidence(Box<Evidence>),
    /// What judges from here on: the judgements that follow carry it.
    JudgedBy(Arc<Fingerprint>),
    /// These vessels left the engine's memory (silent longer than `forget_after_hours`, or
    /// over `max_tracked_vessels`); their rows were written before. The store's tables keep
    /// them; a service drops the state it saved to resume them.
    LeftMemory(Vec<Mmsi>),
}

/// The latest state of one vessel, as stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VesselSnapshot {
    pub mmsi: Mmsi,
    pub first_heard: UnixMillis,
    pub last_heard: UnixMillis,
    pub last_fix: Option<Position>,
    pub identity: Arc<Identity>,
    pub watched: bool,
    pub fixes: u32,
    pub late_fixes: u32,
}

impl VesselSnapshot {
    fn of(vessel: &Vessel) -> VesselSnapshot {
        VesselSnapshot {
            mmsi: vessel.mmsi,
            first_heard: vessel.first_heard,
            last_heard: vessel.last_heard,
            last_fix: vessel.last_fix,
            identity: vessel.identity.clone(),
            watched: vessel.watched,
            fixes: vessel.fixes,
            late_fixes: vessel.late_fixes,
        }
    }
}

/// Counters of what the engine saw and did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EngineStats {
    pub events: u64,
    pub fixes: u64,
    /// Events with no time at all: neither the data nor the receiver stamped them.
    pub untimed: u64,
    pub non_vessel_fixes: u64,
    pub duplicate_fixes: u64,
    /// Static reports heard again from another source (or a repeater) within the copy
    /// window: not applied.
    #[serde(default)]
    pub duplicate_reports: u64,
    pub late_fixes: u64,
    pub position_unavailable: u64,
    pub vessel_reports: u64,
    pub heartbeats: u64,
    pub other_messages: u64,
    pub gaps: u64,
    pub trips: u64,
    pub position_jumps: u64,
    pub withdrawn: u64,
    /// Closed gaps across which the MMSI changed hull (see `GapStatus::DifferentVessel`).
    #[serde(default)]
    pub different_vessels: u64,
    /// Segments started after an MMSI's first: fixes no segment of theirs could have sent.
    #[serde(default)]
    pub segments_started: u64,
    /// Segments given up because their MMSI had as many as `segments_per_mmsi`.
    #[serde(default)]
    pub segments_dropped: u64,
    /// MMSIs with more than one live segment of two fixes or more, now: one number sent by
    /// several transmitters (shared, spoofed or laundered identities).
    #[serde(default)]
    pub mmsis_with_several_transmitters: u64,
    /// Events whose time could not be true (see [`crate::stream_clock`]), by reason: nothing
    /// they carried reached any state.
    #[serde(default)]
    pub refused_time: RefusedTimes,
    /// Recorded gaps whose judgement late data changed (coverage), beyond the first.
    #[serde(default)]
    pub rejudged: u64,
    /// Vessels that left memory after `forget_after_hours` of silence.
    #[serde(default)]
    pub forgotten_vessels: u64,
    /// Vessels that left memory because `max_tracked_vessels` were tracked.
    #[serde(default)]
    pub evicted_vessels: u64,
    /// Port visits counted and zone passages without a stop or silence.
    #[serde(default)]
    pub visits: VisitStats,
}

/// A closed gap still open to late data and "after" evidence: only what judging it again
/// needs (the full record is rebuilt when it changes, which keeps memory per vessel small).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct ClosedGap {
    #[serde(default = "transmitters::first_segment")]
    segment: u32,
    a: Position,
    b: Position,
    before: Arc<Identity>,
    after: Option<Identity>,
}

/// Everything the engine knows that a restart needs, taken between events: vessels (with
/// unwritten track points), coverage bins, the stream clock, watched and open vessels, recent
/// closed gaps and the counters. Parameters, ports and watchlist come from the configuration.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EngineCheckpoint {
    table: VesselTableCheckpoint,
    coverage: CoverageCheckpoint,
    clock: Option<UnixMillis>,
    swept_hour: i64,
    swept_day: i64,
    watched: BTreeSet<Mmsi>,
    open: BTreeSet<Mmsi>,
    recent: Vec<(Mmsi, Vec<ClosedGap>)>,
    stats: EngineStats,
    /// The vessels' order in the table when they are kept apart (see `take_vessels`).
    #[serde(default)]
    vessel_order: Vec<Mmsi>,
    /// Events held back until other vessels confirm a jump of the clock.
    #[serde(default)]
    clock_guard: StreamClockGuard,
    /// Timers of silent vessels and the last judgement of gaps open to change.
    #[serde(default)]
    judging: JudgingCheckpoint,
    #[serde(default)]
    at_sea: AtSea,
    /// Visits under way and each vessel's last departure.
    #[serde(default)]
    visits: VisitTracker,
    /// Where the recent messages of watched vessels came from (empty when saved apart).
    #[serde(default)]
    witness: Vec<(Mmsi, provenance::Seen)>,
}

impl EngineCheckpoint {
    /// Takes the vessels out (to be stored one row each), remembering their order.
    pub fn take_vessels(&mut self) -> Vec<Vessel> {
        let vessels = self.table.take_vessels();
        self.vessel_order = vessels.iter().map(|v| v.mmsi).collect();
        vessels
    }

    /// Takes the coverage bins out (to be stored one row each).
    pub fn take_coverage_bins(&mut self) -> Vec<(String, i64, HourBin)> {
        self.coverage.take_bins()
    }

    pub fn put_coverage_bins(&mut self, bins: Vec<(String, i64, HourBin)>) {
        self.coverage.put_bins(bins);
    }

    /// The vessels tracked when the checkpoint was taken apart from them, in the order
    /// [`EngineCheckpoint::put_vessels`] puts them back.
    pub fn vessel_order(&self) -> &[Mmsi] {
        &self.vessel_order
    }

    /// Puts the vessels back in their remembered order; names a vessel that is missing.
    pub fn put_vessels(&mut self, mut vessels: HashMap<Mmsi, Vessel>) -> Result<(), Mmsi> {
        let ordered = self
            .vessel_order
            .iter()
            .map(|mmsi| vessels.remove(mmsi).ok_or(*mmsi))
            .collect::<Result<Vec<_>, _>>()?;
        self.table.set_vessels(ordered);
        self.vessel_order.clear();
        Ok(())
    }
}

pub struct Engine {
    params: DetectParams,
    ports: Ports,
    watchlist: Watchlist,
    min_gap_ms: i64,
    table: VesselTable,
    coverage: Coverage,
    clock: Option<UnixMillis>,
    swept_hour: i64,
    swept_day: i64,
    /// Looked up at every event: a hash set, written to a checkpoint in MMSI order.
    watched: MmsiSet,
    open: MmsiSet,
    recent: MmsiMap<Vec<ClosedGap>>,
    stats: EngineStats,
    changes: Vec<Change>,
    clock_guard: StreamClockGuard,
    judging: Judging,
    at_sea: AtSea,
    visits: VisitTracker,
    witness: Witness,
    partition: Partition,
    at_sea_calls: AtSeaCalls,
    place: Place,
    at_sea_made: u64,
    last_at_sea_order: Option<AtSeaOrder>,
    /// The ports the fix being ingested reaches, when they were found before, and that fix's
    /// position (see [`Engine::ingest_reached`]).
    reached: Vec<u32>,
    reached_at: Option<(u64, u64)>,
}

impl Engine {
    pub fn new(
        params: DetectParams,
        ports: Vec<Port>,
        watchlist: Watchlist,
        track_interval_minutes: u32,
    ) -> Engine {
        let min_gap_ms = (min_gap_hours(&params, &ports) * MILLIS_PER_HOUR as f64).round() as i64;
        let mut table = VesselTable::new(track_interval_minutes);
        table.set_segment_rule(segment_rule(&params));
        let mut coverage = Coverage::new(&ports);
        coverage.watch_flips(params.coverage_min_vessels);
        let judged_by = Change::JudgedBy(Arc::new(Fingerprint::of(&params, &ports, &watchlist)));
        Engine {
            judging: Judging::new(ports.len()),
            coverage,
            params,
            ports: Ports::new(ports),
            watchlist,
            min_gap_ms,
            table,
            clock: None,
            swept_hour: i64::MIN,
            swept_day: i64::MIN,
            watched: MmsiSet::default(),
            open: MmsiSet::default(),
            recent: MmsiMap::default(),
            stats: EngineStats::default(),
            changes: vec![judged_by],
            clock_guard: StreamClockGuard::default(),
            at_sea: AtSea::default(),
            visits: VisitTracker::default(),
            witness: Witness::default(),
            partition: Partition::WHOLE,
            at_sea_calls: AtSeaCalls::Direct,
            place: Place::default(),
            at_sea_made: 0,
            last_at_sea_order: None,
            reached: Vec::new(),
            reached_at: None,
        }
    }

    /// The engine's state for a later [`Engine::restore`]. Changes not yet taken are not part
    /// of it: take and persist them in the same transaction as the checkpoint.
    pub fn checkpoint(&self) -> EngineCheckpoint {
        let mut checkpoint = self.checkpoint_with(self.table.checkpoint());
        checkpoint.witness = self.witness.entries();
        checkpoint
    }

    /// The checkpoint as [`EngineCheckpoint::take_vessels`] leaves it, without copying the
    /// vessels: the caller stores each straight from [`Engine::vessels`], in that order, and
    /// the witness's memory of each from [`Engine::witnessed`].
    pub fn checkpoint_apart(&self) -> EngineCheckpoint {
        let mut checkpoint = self.checkpoint_with(self.table.checkpoint_apart());
        checkpoint.vessel_order = self.table.iter().map(|v| v.mmsi).collect();
        checkpoint
    }

    fn checkpoint_with(&self, table: VesselTableCheckpoint) -> EngineCheckpoint {
        let mut recent: Vec<(Mmsi, Vec<ClosedGap>)> = self
            .recent
            .iter()
            .map(|(mmsi, gaps)| (*mmsi, gaps.clone()))
            .collect();
        recent.sort_unstable_by_key(|(mmsi, _)| *mmsi);
        EngineCheckpoint {
            table,
            coverage: self.coverage.checkpoint(&self.ports),
            clock: self.clock,
            swept_hour: self.swept_hour,
            swept_day: self.swept_day,
            watched: self.watched.iter().copied().collect(),
            open: self.open.iter().copied().collect(),
            recent,
            stats: self.stats.clone(),
            vessel_order: Vec::new(),
            clock_guard: self.clock_guard.clone(),
            judging: self.judging.checkpoint(&self.ports),
            at_sea: self.at_sea.clone(),
            visits: self.visits.clone(),
            witness: Vec::new(),
        }
    }

    /// An engine that continues where `checkpoint` was taken, as if the events since had never
    /// been interrupted: fed the same events afterwards, it makes the same changes.
    pub fn restore(
        params: DetectParams,
        ports: Vec<Port>,
        watchlist: Watchlist,
        track_interval_minutes: u32,
        checkpoint: EngineCheckpoint,
    ) -> Engine {
        let mut engine = Engine::new(params, ports, watchlist, track_interval_minutes);
        engine.table = VesselTable::restore(track_interval_minutes, checkpoint.table);
        engine.table.set_segment_rule(segment_rule(&engine.params));
        engine.coverage = Coverage::restore(&engine.ports, checkpoint.coverage);
        engine
            .coverage
            .watch_flips(engine.params.coverage_min_vessels);
        engine.clock = checkpoint.clock;
        engine.swept_hour = checkpoint.swept_hour;
        engine.swept_day = checkpoint.swept_day;
        engine.watched = checkpoint.watched.into_iter().collect();
        engine.open = checkpoint.open.into_iter().collect();
        engine.recent = checkpoint.recent.into_iter().collect();
        engine.stats = checkpoint.stats;
        engine.clock_guard = checkpoint.clock_guard;
        engine.restore_judging(checkpoint.judging);
        engine.at_sea = checkpoint.at_sea;
        engine.visits = checkpoint.visits;
        engine.visits.follow_ports(&engine.ports);
        engine.restore_witness(checkpoint.witness);
        engine
    }

    /// Takes new parameters, ports and watchlist (a reloaded configuration) without losing
    /// any state: coverage of ports still designated is kept, and every vessel's watched flag
    /// is judged again against the new watchlist. Pending changes stay pending.
    pub fn reconfigure(
        &mut self,
        params: DetectParams,
        ports: Vec<Port>,
        watchlist: Watchlist,
        track_interval_minutes: u32,
    ) {
        let mut pending = self.take_changes();
        let witness = std::mem::take(&mut self.witness);
        let checkpoint = self.checkpoint();
        *self = Engine::restore(params, ports, watchlist, track_interval_minutes, checkpoint);
        self.witness = witness;
        let heard: Vec<Mmsi> = self.table.iter().map(|v| v.mmsi).collect();
        for mmsi in heard {
            let watched = self.is_watched(mmsi);
            self.set_watched(mmsi, watched);
        }
        pending.append(&mut self.changes);
        self.changes = pending;
    }

    /// How far apart in time another source's reception of a vessel's last fix may be timed
    /// and still be that fix (`[decode] duplicate_window_s`; 0 stores every copy).
    pub fn set_copy_window_ms(&mut self, window_ms: i64) {
        self.table.set_copy_window_ms(window_ms);
    }

    /// The latest event time seen: the only notion of "now" the engine has.
    pub fn clock(&self) -> Option<UnixMillis> {
        self.clock
    }

    /// Watched vessels with an open gap (silent near a port at the stream clock).
    pub fn open_gaps(&self) -> usize {
        self.open.len()
    }

    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    pub fn vessels(&self) -> &VesselTable {
        &self.table
    }

    pub fn ports(&self) -> &[Port] {
        &self.ports
    }

    /// Encounter and loitering detection.
    pub fn at_sea(&self) -> &AtSea {
        &self.at_sea
    }

    /// Changes produced since the last call.
    pub fn take_changes(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.changes)
    }

    /// Number of changes waiting, so drivers can hand them over in batches.
    pub fn pending_changes(&self) -> usize {
        self.changes.len()
    }

    /// Events held back until other vessels confirm the time they would move the clock to.
    pub fn held_events(&self) -> usize {
        self.clock_guard.held()
    }

    pub fn ingest(&mut self, event: &AisEvent) {
        self.stats.events += 1;
        let Some(time) = event.time() else {
            self.stats.untimed += 1;
            return;
        };
        let admission = self.clock_guard.admit(
            &self.params,
            event,
            time,
            self.clock,
            &mut self.stats.refused_time,
        );
        match admission {
            Admission::Apply => self.apply(event, time),
            Admission::Held | Admission::Refused => {}
            Admission::Confirmed(events) => {
                for held in &events {
                    if let Some(time) = held.time() {
                        self.apply(held, time);
                    }
                }
            }
        }
    }

    fn apply(&mut self, event: &AisEvent, time: UnixMillis) {
        self.place.applied += 1;
        if !self.partition.owns(event.mmsi()) {
            // Another part's vessel: only what every part keeps alike, and the evidence of
            // this part's gaps the clock's move judged.
            let from = self.changes.len();
            self.advance_clock(time);
            if let AisEvent::Fix(fix) = event {
                if fix.mmsi.is_vessel() {
                    self.count_coverage(fix, time);
                }
            }
            self.witness_gaps(Some(event), from);
            return;
        }
        let before = self.witness_before(event);
        self.advance_clock(time);
        self.set_phase(Phase::Event, (0, 0));
        match event {
            AisEvent::Fix(fix) if fix.mmsi.is_vessel() => self.on_fix(fix, time),
            AisEvent::Fix(_) => self.stats.non_vessel_fixes += 1,
            AisEvent::VesselReport(report) if report.mmsi.is_vessel() => {
                self.on_report(report, time)
            }
            AisEvent::VesselReport(_) => self.stats.other_messages += 1,
            AisEvent::PositionUnavailable(_) => self.stats.position_unavailable += 1,
            AisEvent::ReceiverHeartbeat(_) => self.stats.heartbeats += 1,
            AisEvent::Other(_) => self.stats.other_messages += 1,
        }
        if self.table.len() > self.tracked_cap() {
            self.set_phase(Phase::Evicted, (0, 0));
            self.evict_over_cap(time);
        }
        self.witness_applied(event, time, before);
    }

    /// Ends the input: writes everything still buffered and refuses events still held back
    /// (their jump was never confirmed). Open gaps stay open.
    pub fn finish(&mut self) {
        self.clock_guard.refuse_all(&mut self.stats.refused_time);
        self.place.applied += 1;
        self.judge_at_end();
        self.push_vessel_updates();
        let mut chunks = Vec::new();
        self.table.take_all_tracks(&mut chunks);
        self.push_tracks(chunks);
    }

    fn advance_clock(&mut self, time: UnixMillis) {
        if self.clock.is_some_and(|clock| time <= clock) {
            return;
        }
        self.clock = Some(time);
        self.clock_guard
            .caught_up(&self.params, time, &mut self.stats.refused_time);
        let hour = time.as_millis().div_euclid(MILLIS_PER_HOUR);
        if hour > self.swept_hour {
            if self.swept_hour != i64::MIN {
                self.sweep(time);
            }
            self.swept_hour = hour;
        }
        self.set_phase(Phase::Timers, (0, 0));
        self.run_due_timers(time);
    }

    /// Hourly work at the stream clock: gaps whose hours' coverage changed, coverage counts,
    /// vessel rows, and once a day finished track buffers and memory trimming. Open gaps are
    /// not walked here: each has a timer (see `judge`).
    fn sweep(&mut self, clock: UnixMillis) {
        self.set_phase(Phase::Transmitters, (0, 0));
        self.judge_several_transmitters(clock);
        self.rejudge_flipped(clock);
        let first = self.partition.is_first();
        let changed = self.coverage.take_changed();
        if first {
            for (index, hour, vessels) in changed {
                self.changes.push(Change::PortHour {
                    port: self.ports[index].name.clone(),
                    hour,
                    vessels,
                });
            }
        }
        let day = day_of(clock);
        if day > self.swept_day {
            self.swept_day = day;
            // Passing vessels' rows are written as they go quiet, not all kept for the end.
            let quiet_since = UnixMillis(clock.as_millis() - MILLIS_PER_DAY);
            let quiet = self.table.take_dirty_heard_before(quiet_since);
            self.push_vessel_rows(quiet);
            let mut chunks = Vec::new();
            self.table.take_finished_tracks(day, &mut chunks);
            self.push_tracks(chunks);
            self.set_phase(Phase::Forgotten, (0, 0));
            self.forget_old(clock);
        }
        if first {
            self.set_phase(Phase::Clock, (0, 0));
            self.call_at_sea(partition::AtSeaCall::Clock(clock));
            self.take_at_sea_changes();
            self.changes.push(Change::Clock(clock));
        }
    }

    /// Emits the rows of vessels changed since the last call. Done by the engine itself only at
    /// the end (vessel rows are a summary of the state the engine holds; gaps carry the
    /// evidence), and for vessels a day quiet or leaving memory as they do; a live service
    /// calls it on its own commit interval.
    pub fn push_vessel_updates(&mut self) {
        let changed = self.table.take_dirty();
        self.push_vessel_rows(changed);
    }

    /// The rows of the vessels `changed` (in MMSI order), with their segments'.
    fn push_vessel_rows(&mut self, changed: Vec<Mmsi>) {
        for &mmsi in &changed {
            if let Some(vessel) = self.table.get(mmsi) {
                self.changes
                    .push(Change::Vessel(VesselSnapshot::of(vessel)));
            }
        }
        let rows = self.table.take_segment_rows(&changed);
        self.changes.extend(rows.into_iter().map(Change::Segment));
    }

    fn push_tracks(&mut self, mut chunks: Vec<TrackChunk>) {
        // A chunk's first time is found by walking its points: once per chunk, not per
        // comparison.
        chunks.sort_by_cached_key(|c| (c.mmsi, c.day, c.time_span().0));
        self.changes.extend(chunks.into_iter().map(Change::Track));
    }

    fn on_fix(&mut self, fix: &Fix, time: UnixMillis) {
        self.stats.fixes += 1;
        let mut chunks = Vec::new();
        let (order, segment) = self
            .table
            .observe_fix(fix, time, self.min_gap_ms, &mut chunks);
        let counts = self.table.segment_counts();
        self.stats.segments_started = counts.started;
        self.stats.segments_dropped = counts.dropped;
        self.stats.mmsis_with_several_transmitters = counts.several_transmitters;
        self.count_coverage(fix, time);
        if !chunks.is_empty() {
            self.push_tracks(chunks);
        }
        let previous = match &order {
            FixOrder::Next { previous, .. } => Some(*previous),
            _ => None,
        };
        let fresh = matches!(order, FixOrder::First | FixOrder::Next { .. });
        if fresh {
            self.observe_visit(fix, time);
        }
        match order {
            FixOrder::First => {
                let watched = self.is_watched(fix.mmsi);
                self.set_watched(fix.mmsi, watched);
                if watched {
                    self.schedule_silence(fix.mmsi);
                }
            }
            FixOrder::Next {
                previous,
                silence: Some(evidence),
            } => {
                let gap = ClosedGap {
                    segment,
                    a: previous,
                    b: Position::of(fix, time),
                    before: evidence.before,
                    after: evidence.heard_since.map(|b| *b),
                };
                self.close_gap(fix.mmsi, gap);
            }
            FixOrder::Next {
                previous,
                silence: None,
            } => self.withdraw_open(fix.mmsi, previous, Position::of(fix, time)),
            FixOrder::NewSegment { left } => {
                if let Some(left) = left {
                    self.end_silence_by_another_transmitter(
                        fix.mmsi,
                        left,
                        Position::of(fix, time),
                    );
                }
            }
            FixOrder::Duplicate => self.stats.duplicate_fixes += 1,
            FixOrder::Late => {
                self.stats.late_fixes += 1;
                self.rejudge_with_late_fix(fix.mmsi, segment, Position::of(fix, time));
                self.at_sea_late_fix(fix, time);
            }
        }
        if fresh {
            self.at_sea_fix(fix, time, previous);
        }
    }

    fn close_gap(&mut self, mmsi: Mmsi, gap: ClosedGap) {
        let Some(record) = self.judge(mmsi, &gap) else {
            self.withdraw_open(mmsi, gap.a, gap.b);
            return;
        };
        self.open.remove(&mmsi);
        self.count_judgement(&record);
        self.emit_judgement(record, Reason::Closed { fix: gap.b.time });
        let gaps = self.recent.entry(mmsi).or_default();
        if gaps.len() == RECENT_GAPS_PER_VESSEL {
            gaps.remove(0);
        }
        gaps.push(gap);
    }

    /// The full record of a closed gap: judgement against the ports, then the evidence.
    fn judge(&self, mmsi: Mmsi, gap: &ClosedGap) -> Option<GapRecord> {
        let mut record = judge_closed(
            mmsi,
            gap.a,
            gap.b,
            &self.params,
            &self.ports,
            &self.coverage,
        )?;
        record.watched = self.table.get(mmsi).is_some_and(|v| v.watched);
        record.segment = gap.segment;
        apply_evidence(&mut record, &gap.before, gap.after.as_ref(), &self.params);
        Some(record)
    }

    fn count_judgement(&mut self, record: &GapRecord) {
        self.stats.gaps += 1;
        match record.status {
            GapStatus::Trip if record.watched => self.stats.trips += 1,
            GapStatus::PositionJump => self.stats.position_jumps += 1,
            GapStatus::DifferentVessel => self.stats.different_vessels += 1,
            _ => {}
        }
    }

    fn on_report(&mut self, report: &VesselReport, time: UnixMillis) {
        let Some((changed, segment)) = self.table.observe_report(report, time) else {
            self.stats.duplicate_reports += 1;
            return;
        };
        self.stats.vessel_reports += 1;
        if changed {
            let vessel = self
                .table
                .get(report.mmsi)
                .expect("observe_report inserts the vessel");
            self.changes.push(Change::Identity {
                mmsi: report.mmsi,
                time,
                identity: vessel.identity.clone(),
            });
            let watched = self.is_watched(report.mmsi);
            self.set_watched(report.mmsi, watched);
            let identity = self.table.get(report.mmsi).map(|v| v.identity.clone());
            if let Some(identity) = identity {
                self.call_at_sea(partition::AtSeaCall::Identity {
                    mmsi: report.mmsi,
                    time,
                    identity,
                });
                self.take_at_sea_changes();
            }
        }
        self.gather_after_evidence(report, time, segment);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Confidence;
    use crate::engine::provenance::EvidenceRole;
    use crate::model::{Heard, LineRef, TimeSource, TransceiverClass};
    use crate::ports::PortZone;
    use crate::store::read::GapFilter;
    use crate::store::Store;
    use crate::stream_clock::RefusedTimes;

    const T0: i64 = 1_709_856_000_000; // 2024-03-08T00:00:00Z
    const MINUTE: i64 = 60_000;
    const HOUR: i64 = 60 * MINUTE;
    const TANKER: Mmsi = Mmsi(445_000_001);
    const PORT: (f64, f64) = (42.735, 133.075);

    fn heard(time: i64) -> Heard {
        Heard {
            time: Some(UnixMillis(time)),
            time_source: Some(TimeSource::TagBlock),
            station: None,
            channel: None,
            line: None,
        }
    }

    fn fix(mmsi: Mmsi, time: i64, lat: f64, lon: f64) -> AisEvent {
        AisEvent::Fix(Fix {
            mmsi,
            msg_type: 1,
            class: TransceiverClass::A,
            heard: heard(time),
            lat,
            lon,
            sog: Some(10.0),
            cog: Some(0.0),
            heading: None,
            nav_status: Some(0),
            turn: None,
            accuracy: false,
            raim: false,
            second: None,
        })
    }

    fn static_report(mmsi: Mmsi, time: i64, ship_type: u8, draught: f32) -> AisEvent {
        AisEvent::VesselReport(VesselReport {
            mmsi,
            msg_type: 5,
            heard: heard(time),
            name: Some("SAEBYOL".into()),
            imo: Some(8_914_934),
            ship_type: Some(ship_type),
            length: Some(90),
            beam: Some(14),
            draught: Some(draught),
            ..VesselReport::default()
        })
    }

    fn engine() -> Engine {
        engine_with(DetectParams::default())
    }

    fn engine_with(params: DetectParams) -> Engine {
        let port = Port {
            name: "Vostochny".into(),
            zone: PortZone::Circle {
                lat: PORT.0,
                lon: PORT.1,
                radius_nm: 2.0,
            },
            approach_nm: 100.0,
            coverage_nm: 20.0,
            gap_hours: None,
        };
        Engine::new(params, vec![port], Watchlist::default(), 10)
    }

    /// Three moored vessels heard every 10 minutes in port from `from` to `until`, except
    /// during `outage` (no lines at all), interleaved with the tanker's own events.
    fn run(
        engine: &mut Engine,
        from: i64,
        until: i64,
        outage: Option<(i64, i64)>,
        tanker: &[AisEvent],
    ) -> Vec<GapRecord> {
        let mut events: Vec<AisEvent> = Vec::new();
        let mut t = from;
        while t <= until {
            if !outage.is_some_and(|(a, b)| t >= a && t < b) {
                for v in 0..3 {
                    events.push(fix(
                        Mmsi(273_000_100 + v),
                        t + i64::from(v) * 1000,
                        PORT.0,
                        PORT.1,
                    ));
                }
            }
            t += 10 * MINUTE;
        }
        events.extend(tanker.iter().cloned());
        events.sort_by_key(|e| e.time());
        let mut store = Store::open_in_memory().unwrap();
        for event in &events {
            engine.ingest(event);
        }
        engine.finish();
        store.apply(&engine.take_changes()).unwrap();
        store
            .reader()
            .gaps(&GapFilter {
                mmsi: Some(TANKER),
                ..GapFilter::default()
            })
            .unwrap()
    }

    /// South of the port by `nm` nautical miles.
    fn south(nm: f64) -> (f64, f64) {
        (PORT.0 - nm / 60.0, PORT.1)
    }

    #[test]
    fn a_vessel_row_is_written_as_its_vessel_leaves_memory_and_at_the_end_not_daily() {
        let mut engine = engine_with(DetectParams {
            forget_after_hours: 48.0,
            ..DetectParams::default()
        });
        let (staying, leaving) = (Mmsi(273_000_001), Mmsi(273_000_002));
        let mut changes = Vec::new();
        for hour in 0..5 * 24 {
            let t = T0 + hour * HOUR;
            engine.ingest(&fix(staying, t, PORT.0, PORT.1));
            if hour < 24 {
                engine.ingest(&fix(leaving, t + MINUTE, PORT.0, PORT.1));
            }
            changes.extend(engine.take_changes());
        }
        engine.finish();
        changes.extend(engine.take_changes());
        let rows_of = |mmsi: Mmsi| {
            (changes.iter().enumerate())
                .filter(|(_, c)| matches!(c, Change::Vessel(v) if v.mmsi == mmsi))
                .map(|(i, _)| i)
                .collect::<Vec<_>>()
        };
        let left = changes
            .iter()
            .position(|c| matches!(c, Change::LeftMemory(m) if m.contains(&leaving)))
            .expect("the silent vessel leaves memory");
        let (staying_rows, leaving_rows) = (rows_of(staying), rows_of(leaving));
        assert_eq!(leaving_rows.len(), 1, "one row, as it leaves");
        assert!(leaving_rows[0] < left);
        assert_eq!(staying_rows.len(), 1, "one row, at the end: none a day");
        assert!(staying_rows[0] > left);
    }

    #[test]
    fn a_tanker_dark_near_port_in_good_coverage_is_a_trip_with_draught_evidence() {
        let mut engine = engine();
        let (lat, lon) = south(30.0);
        let dark_from = T0 + 2 * HOUR;
        let dark_until = T0 + 40 * HOUR;
        let tanker = [
            static_report(TANKER, T0, 80, 4.1),
            fix(TANKER, T0 + HOUR, lat + 0.1, lon),
            fix(TANKER, dark_from, lat, lon),
            fix(TANKER, dark_until, lat, lon),
            static_report(TANKER, dark_until + 2 * MINUTE, 80, 6.6),
        ];
        let found = run(&mut engine, T0, T0 + 44 * HOUR, None, &tanker);
        assert_eq!(found.len(), 1, "{found:#?}");
        let trip = &found[0];
        assert_eq!(trip.status, GapStatus::Trip);
        assert!(trip.watched);
        assert_eq!(trip.port.as_deref(), Some("Vostochny"));
        assert_eq!(
            (trip.dark_from, trip.dark_until),
            (UnixMillis(dark_from), Some(UnixMillis(dark_until)))
        );
        assert_eq!(
            (trip.draught_before, trip.draught_after, trip.draught_change),
            (Some(4.1), Some(6.6), Some(2.5))
        );
        assert_eq!(trip.confidence, Some(Confidence::High));
        assert!(trip.coverage.unwrap() > 0.99);
        assert_eq!(engine.stats().trips, 1);
    }

    #[test]
    fn a_whole_feed_outage_is_lost_coverage_not_dark_activity() {
        let mut engine = engine();
        let (lat, lon) = PORT;
        let tanker = [
            static_report(TANKER, T0, 80, 4.1),
            fix(TANKER, T0 + 5 * HOUR, lat, lon),
            fix(TANKER, T0 + 16 * HOUR + 5 * MINUTE, lat, lon),
        ];
        let found = run(
            &mut engine,
            T0,
            T0 + 20 * HOUR,
            Some((T0 + 5 * HOUR + MINUTE, T0 + 16 * HOUR)),
            &tanker,
        );
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].status,
            GapStatus::CoverageUnknown,
            "{:#?}",
            found[0]
        );
        assert_eq!(engine.stats().trips, 0);
    }

    #[test]
    fn a_late_fix_that_leaves_two_short_parts_withdraws_the_gap() {
        let mut engine = engine();
        let (lat, lon) = south(10.0);
        let tanker = [
            static_report(TANKER, T0, 80, 4.1),
            fix(TANKER, T0 + HOUR, lat, lon),
            fix(TANKER, T0 + 11 * HOUR, lat, lon),
        ];
        let mut events: Vec<AisEvent> = tanker.to_vec();
        // The late fix: event time inside the silence, arriving after it closed.
        let late = fix(TANKER, T0 + 6 * HOUR, lat, lon);
        let mut store = Store::open_in_memory().unwrap();
        let mut t = T0;
        while t <= T0 + 15 * HOUR {
            for v in 0..3 {
                events.push(fix(Mmsi(273_000_100 + v), t, PORT.0, PORT.1));
            }
            t += 10 * MINUTE;
        }
        events.sort_by_key(|e| e.time());
        let mut late = Some(late);
        for event in &events {
            engine.ingest(event);
            if event.time() >= Some(UnixMillis(T0 + 12 * HOUR)) {
                if let Some(late) = late.take() {
                    engine.ingest(&late);
                }
            }
        }
        engine.finish();
        store.apply(&engine.take_changes()).unwrap();
        let found = store
            .reader()
            .gaps(&GapFilter {
                mmsi: Some(TANKER),
                ..GapFilter::default()
            })
            .unwrap();
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].status, GapStatus::Withdrawn);
        assert_eq!(engine.stats().late_fixes, 1);
        assert_eq!(engine.stats().withdrawn, 1);
    }

    #[test]
    fn a_tanker_still_silent_near_a_covered_port_is_dark_now() {
        let mut engine = engine();
        let (lat, lon) = south(5.0);
        let tanker = [
            static_report(TANKER, T0, 80, 4.1),
            fix(TANKER, T0 + HOUR, lat, lon),
        ];
        let found = run(&mut engine, T0, T0 + 20 * HOUR, None, &tanker);
        assert_eq!(found.len(), 1, "{found:#?}");
        let open = &found[0];
        assert_eq!(open.status, GapStatus::Open);
        assert!(open.dark_now);
        assert_eq!(open.dark_until, None);
        assert_eq!(open.port.as_deref(), Some("Vostochny"));
        assert!(open.duration_hours >= 18.9, "{open:#?}");
    }

    #[test]
    fn a_vessel_becomes_watched_when_its_static_data_says_tanker() {
        let mut engine = engine();
        let (lat, lon) = south(30.0);
        let tanker = [
            fix(TANKER, T0 + HOUR, lat, lon),
            fix(TANKER, T0 + 30 * HOUR, lat, lon),
            static_report(TANKER, T0 + 31 * HOUR, 84, 6.0),
        ];
        let found = run(&mut engine, T0, T0 + 34 * HOUR, None, &tanker);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].status, GapStatus::Trip);
        assert!(
            found[0].watched,
            "the later type 5 makes earlier gaps count"
        );
    }

    /// Every event of the bundled scenario, decoded as `replay` decodes it.
    fn scenario_events() -> Vec<AisEvent> {
        use crate::decode::feed::FeedDecoder;
        use crate::decode::DecodeOptions;
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/scenario.nmea");
        let text = std::fs::read(path).expect("samples/scenario.nmea");
        let mut decoder = FeedDecoder::new(DecodeOptions::default(), "t".into());
        let mut events = Vec::new();
        for line in text.split(|&b| b == b'\n') {
            decoder.decode_line(line, None, &mut events);
        }
        events
    }

    #[test]
    fn a_restored_checkpoint_continues_exactly_where_it_was_taken() {
        // What samples/aisgap.toml sets: the default parameters, the bundled ports and the
        // sample watchlist.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let ports = crate::ports::load_ports(&root.join("config/ports.geojson")).unwrap();
        let watchlist = Watchlist::load(&root.join("samples/watchlist.csv")).unwrap();
        let track_interval_minutes = 10;
        let events = scenario_events();
        let fresh = || {
            Engine::new(
                DetectParams::default(),
                ports.clone(),
                watchlist.clone(),
                track_interval_minutes,
            )
        };
        let mut whole = fresh();
        let mut expected = Vec::new();
        for event in &events {
            whole.ingest(event);
            expected.append(&mut whole.take_changes());
        }
        whole.finish();
        expected.append(&mut whole.take_changes());

        // Interrupted three times; each time the state goes through its stored (JSON) form.
        let mut engine = fresh();
        let mut found = Vec::new();
        let cuts = [events.len() / 5, events.len() / 2, events.len() * 4 / 5];
        for (n, event) in events.iter().enumerate() {
            if cuts.contains(&n) {
                found.append(&mut engine.take_changes());
                // Stored as the service stores it: the vessels apart, one row each.
                let mut checkpoint = engine.checkpoint();
                let rows: Vec<String> = checkpoint
                    .take_vessels()
                    .iter()
                    .map(|v| serde_json::to_string(v).unwrap())
                    .collect();
                let bins: Vec<(String, i64, String)> = checkpoint
                    .take_coverage_bins()
                    .into_iter()
                    .rev()
                    .map(|(port, hour, bin)| (port, hour, serde_json::to_string(&bin).unwrap()))
                    .collect();
                let text = serde_json::to_string(&checkpoint).unwrap();
                let mut checkpoint: EngineCheckpoint = serde_json::from_str(&text).unwrap();
                checkpoint.put_coverage_bins(
                    bins.into_iter()
                        .map(|(port, hour, bin)| (port, hour, serde_json::from_str(&bin).unwrap()))
                        .collect(),
                );
                let vessels: HashMap<Mmsi, Vessel> = rows
                    .iter()
                    .map(|r| serde_json::from_str::<Vessel>(r).unwrap())
                    .map(|v| (v.mmsi, v))
                    .collect();
                checkpoint.put_vessels(vessels).unwrap();
                engine = Engine::restore(
                    DetectParams::default(),
                    ports.clone(),
                    watchlist.clone(),
                    track_interval_minutes,
                    checkpoint,
                );
            }
            engine.ingest(event);
        }
        engine.finish();
        found.append(&mut engine.take_changes());
        let gaps = |changes: &[Change]| -> Vec<GapRecord> {
            changes
                .iter()
                .filter_map(|c| match c {
                    Change::Gap(g) => Some((**g).clone()),
                    _ => None,
                })
                .collect()
        };
        assert!(whole.stats().trips > 0, "the scenario has trips");
        assert_eq!(gaps(&found), gaps(&expected));
        assert_eq!(engine.stats(), whole.stats());
        // A restored engine says again what judges from then on (the configuration may have
        // changed across the restart); everything else is the same.
        let judged_by = |c: &Change| matches!(c, Change::JudgedBy(_));
        assert!(found.iter().filter(|c| judged_by(c)).count() > 1);
        found.retain(|c| !judged_by(c));
        let expected: Vec<Change> = expected.into_iter().filter(|c| !judged_by(c)).collect();
        assert!(found == expected, "the interrupted run made other changes");
    }

    /// The three moored vessels' fixes every 10 minutes over `[from, until)`.
    fn harbour(from: i64, until: i64) -> Vec<AisEvent> {
        (0..)
            .map(|step| from + step * 10 * MINUTE)
            .take_while(|t| *t < until)
            .flat_map(|t| {
                (0..3).map(move |v| fix(Mmsi(273_000_100 + v), t + v as i64 * 1000, PORT.0, PORT.1))
            })
            .collect()
    }

    #[test]
    fn a_feed_that_resumes_a_day_later_moves_the_clock_once_three_vessels_agree() {
        let mut engine = engine();
        for event in harbour(T0, T0 + 6 * HOUR) {
            engine.ingest(&event);
        }
        let before = engine.clock().unwrap();
        let resumed = harbour(T0 + 30 * HOUR, T0 + 31 * HOUR);
        engine.ingest(&resumed[0]);
        engine.ingest(&resumed[1]);
        assert_eq!(
            engine.clock(),
            Some(before),
            "two vessels are not yet a quorum"
        );
        assert_eq!(engine.held_events(), 2);
        assert_eq!(engine.stats().fixes, 3 * 36);
        engine.ingest(&resumed[2]);
        assert_eq!(engine.held_events(), 0);
        assert_eq!(engine.clock(), resumed[2].time());
        assert_eq!(
            engine.stats().fixes,
            3 * 36 + 3,
            "the held fixes were applied"
        );
        for (v, event) in resumed.iter().take(3).enumerate() {
            let vessel = engine.vessels().get(Mmsi(273_000_100 + v as u32)).unwrap();
            assert_eq!(Some(vessel.last_heard), event.time());
        }
        for event in &resumed[3..] {
            engine.ingest(event);
        }
        engine.finish();
        assert_eq!(engine.stats().refused_time, RefusedTimes::default());
        assert_eq!(engine.stats().fixes, 3 * 36 + resumed.len() as u64);
    }

    #[test]
    fn a_lone_time_a_day_ahead_is_held_then_refused_and_leaves_no_trace() {
        let mut engine = engine();
        let (lat, lon) = south(30.0);
        let ahead = fix(TANKER, T0 + 26 * HOUR, lat, lon);
        let mut events = harbour(T0, T0 + 2 * HOUR);
        events.push(ahead.clone());
        events.extend(harbour(T0 + 2 * HOUR, T0 + 4 * HOUR));
        for event in &events {
            engine.ingest(event);
        }
        assert_eq!(engine.held_events(), 1);
        let checkpoint = serde_json::to_value(engine.checkpoint()).unwrap();
        assert_eq!(
            checkpoint["clock"],
            serde_json::to_value(engine.clock()).unwrap()
        );
        engine.finish();
        assert_eq!(engine.stats().refused_time.unconfirmed_jump, 1);
        assert_eq!(engine.held_events(), 0);
        assert!(engine.vessels().get(TANKER).is_none());
        assert!(engine.clock() < ahead.time());
        let changes = engine.take_changes();
        assert!(changes.iter().all(|c| match c {
            Change::Vessel(v) => v.mmsi != TANKER,
            Change::Gap(g) => g.mmsi != TANKER,
            Change::Track(t) => t.mmsi != TANKER,
            _ => true,
        }));
    }

    #[test]
    fn a_held_time_the_clock_reaches_without_a_quorum_is_refused_then() {
        let mut engine = engine();
        let (lat, lon) = south(30.0);
        let mut events = harbour(T0, T0 + HOUR);
        events.push(fix(TANKER, T0 + 14 * HOUR, lat, lon));
        events.extend(harbour(T0 + HOUR, T0 + 90 * MINUTE));
        for event in &events {
            engine.ingest(event);
        }
        assert_eq!(engine.held_events(), 1, "still more than 12 h ahead");
        for event in harbour(T0 + 90 * MINUTE, T0 + 3 * HOUR) {
            engine.ingest(&event);
        }
        assert_eq!(engine.held_events(), 0);
        assert_eq!(engine.stats().refused_time.unconfirmed_jump, 1);
        assert!(engine.vessels().get(TANKER).is_none());
    }

    #[test]
    fn times_before_2000_or_from_2100_are_refused_whatever_the_clock() {
        let mut engine = engine();
        engine.ingest(&fix(TANKER, 946_684_800_000 - 1, PORT.0, PORT.1));
        engine.ingest(&fix(TANKER, 4_102_444_800_000, PORT.0, PORT.1));
        assert_eq!(engine.clock(), None);
        for event in harbour(T0, T0 + HOUR) {
            engine.ingest(&event);
        }
        engine.ingest(&fix(TANKER, 4_102_444_800_000 + HOUR, PORT.0, PORT.1));
        engine.finish();
        let refused = &engine.stats().refused_time;
        assert_eq!((refused.before_2000, refused.from_2100), (1, 2));
        assert!(engine.vessels().get(TANKER).is_none());
    }
    /// The tanker's last fix in port at half past the first hour, and one other vessel in port
    /// every ten minutes for nine days (an hour is covered at two): the tanker's own hour
    /// holds two vessels, one of them the tanker, and is not covered.
    fn tanker_silent_in_port_beside_another() -> Vec<AisEvent> {
        let mut events = vec![
            static_report(TANKER, T0, 80, 4.1),
            fix(TANKER, T0 + 30 * MINUTE, PORT.0, PORT.1),
        ];
        let mut t = T0;
        while t < T0 + 9 * 24 * HOUR {
            events.push(fix(Mmsi(273_000_100), t + 1000, PORT.0, PORT.1));
            t += 10 * MINUTE;
        }
        events.sort_by_key(|e| e.time());
        events
    }

    #[test]
    fn a_restart_sums_a_long_silence_as_the_uninterrupted_engine_did() {
        // One other vessel in port all along (an hour is covered at two), and the tanker's
        // last fix in port at half past: that hour holds two vessels, one of them the tanker.
        // Once the hour is older than the horizon its vessels are forgotten and only its count
        // is left, so a sum started afresh after a restart would count the tanker's own hour
        // as covered: the sums so far go through the checkpoint.
        let events = tanker_silent_in_port_beside_another();
        let gaps = |changes: &[Change]| -> Vec<GapRecord> {
            changes
                .iter()
                .filter_map(|c| match c {
                    Change::Gap(g) if g.mmsi == TANKER => Some((**g).clone()),
                    _ => None,
                })
                .collect()
        };
        let mut whole = engine();
        for event in &events {
            whole.ingest(event);
        }
        whole.finish();
        let expected = gaps(&whole.take_changes());

        let mut engine = engine();
        let mut found = Vec::new();
        let cut = events.len() * 5 / 9;
        for (n, event) in events.iter().enumerate() {
            if n == cut {
                found.append(&mut engine.take_changes());
                let text = serde_json::to_string(&engine.checkpoint()).unwrap();
                let port = engine.ports()[0].clone();
                engine = Engine::restore(
                    DetectParams::default(),
                    vec![port],
                    Watchlist::default(),
                    10,
                    serde_json::from_str(&text).unwrap(),
                );
            }
            engine.ingest(event);
        }
        engine.finish();
        found.append(&mut engine.take_changes());
        let found = gaps(&found);
        let last = expected.last().expect("the silence is an open gap");
        assert_eq!(last.coverage, Some(0.0), "{last:#?}");
        assert_eq!(found, expected);
    }

    #[test]
    fn a_vessel_leaving_memory_is_judged_on_the_coverage_its_looks_summed() {
        // As above: the tanker's own hour holds two vessels, one of them the tanker, and is
        // not covered. By the time the tanker leaves memory that hour is older than the
        // horizon and only its count is left: judged afresh then, it would count as covered.
        let events = tanker_silent_in_port_beside_another();
        let mut engine = engine_with(DetectParams {
            forget_after_hours: 6.0 * 24.0,
            ..DetectParams::default()
        });
        let mut changes = Vec::new();
        for event in &events {
            engine.ingest(event);
            changes.append(&mut engine.take_changes());
        }
        let left = changes
            .iter()
            .position(|c| matches!(c, Change::LeftMemory(m) if m.contains(&TANKER)))
            .expect("the silent tanker leaves memory");
        let last_judged = changes[..left]
            .iter()
            .rev()
            .find_map(|c| match c {
                Change::Gap(g) if g.mmsi == TANKER => Some(g),
                _ => None,
            })
            .expect("its open gap is judged as it leaves");
        assert!(last_judged.duration_hours >= 6.0 * 24.0, "{last_judged:#?}");
        assert_eq!(last_judged.coverage, Some(0.0), "{last_judged:#?}");
    }

    /// Sparse reports days before a busy stretch (an archive whose static reports were kept
    /// from days earlier, sorted by time): each is a jump no quorum confirms alone, but the
    /// stretch after them confirms the clock's way through them. One still ahead of the
    /// confirmed time stays held.
    #[test]
    fn held_times_the_clock_passes_on_its_way_to_a_confirmed_jump_are_applied() {
        let mut engine = engine();
        let early: Vec<AisEvent> = (0..3)
            .map(|day| {
                fix(
                    Mmsi(273_000_200 + day),
                    T0 + i64::from(day) * 72 * HOUR,
                    PORT.0,
                    PORT.1,
                )
            })
            .collect();
        for event in &early {
            engine.ingest(event);
        }
        assert_eq!(engine.held_events(), 2, "each a lone jump ahead");
        let beyond = fix(Mmsi(273_000_300), T0 + 40 * 24 * HOUR, PORT.0, PORT.1);
        engine.ingest(&beyond);
        for event in harbour(T0 + 12 * 24 * HOUR, T0 + 13 * 24 * HOUR) {
            engine.ingest(&event);
        }
        assert_eq!(
            engine.held_events(),
            1,
            "the one beyond the stretch waits on"
        );
        for event in &early {
            let vessel = engine.vessels().get(event.mmsi()).expect("applied");
            assert_eq!(Some(vessel.last_heard), event.time());
        }
        engine.finish();
        assert_eq!(engine.stats().refused_time.unconfirmed_jump, 1);
        assert!(engine.vessels().get(beyond.mmsi()).is_none());
    }

    /// Every vessel watched, the harbour's traffic for 20 h with `tanker`'s events among it, to
    /// the end of the input: the engine and its changes.
    fn watching_all_with(tanker: Vec<AisEvent>) -> (Engine, Vec<Change>) {
        let mut engine = engine_with(DetectParams {
            watch_all: true,
            ..DetectParams::default()
        });
        let mut events = harbour(T0, T0 + 20 * HOUR);
        events.extend(tanker);
        events.sort_by_key(|e| e.time());
        for event in &events {
            engine.ingest(event);
        }
        engine.finish();
        let changes = engine.take_changes();
        (engine, changes)
    }

    /// The evidence handed out for the tanker's gaps: each role with the line it cites.
    fn tanker_evidence(changes: &[Change]) -> Vec<(EvidenceRole, LineRef)> {
        changes
            .iter()
            .filter_map(|c| match c {
                Change::Evidence(e) if e.mmsi == TANKER => Some((e.role, e.origin.line)),
                _ => None,
            })
            .collect()
    }

    /// A vessel watched from its first message and heard only once before falling silent:
    /// that message is the open gap's A, and is handed out as its evidence.
    #[test]
    fn a_vessel_heard_once_before_a_silence_has_its_fix_as_evidence() {
        let (lat, lon) = south(30.0);
        let mut once = fix(TANKER, T0 + HOUR, lat, lon);
        let at = LineRef {
            source: 0,
            line: 7,
            offset: 512,
        };
        once.mark_line(at);
        let (_, changes) = watching_all_with(vec![once]);
        let gap = changes.iter().rev().find_map(|c| match c {
            Change::Gap(g) if g.mmsi == TANKER => Some(g),
            _ => None,
        });
        assert_eq!(gap.map(|g| g.dark_until), Some(None), "an open gap");
        assert_eq!(tanker_evidence(&changes), vec![(EvidenceRole::FixA, at)]);
    }

    /// A static report heard by a second receiver 10 ms later is a copy the engine does not
    /// apply; the evidence of the silence after it cites the reception applied, and the copy
    /// takes no place among the fixes and reports remembered.
    #[test]
    fn the_evidence_is_the_reception_applied_not_another_receivers_copy() {
        let (lat, lon) = south(30.0);
        let line = |source: u32, line: u64| LineRef {
            source,
            line,
            offset: line * 100,
        };
        let mut report = static_report(TANKER, T0 + HOUR - 2_000, 80, 9.5);
        report.mark_line(line(0, 5));
        let mut copy = static_report(TANKER, T0 + HOUR - 1_990, 80, 9.5);
        copy.mark_line(line(1, 6));
        let mut last = fix(TANKER, T0 + HOUR, lat, lon);
        last.mark_line(line(0, 7));
        let (engine, changes) = watching_all_with(vec![report, copy, last]);
        assert_eq!(engine.stats().duplicate_reports, 1);
        assert_eq!(
            tanker_evidence(&changes),
            vec![
                (EvidenceRole::FixA, line(0, 7)),
                (EvidenceRole::StaticBefore, line(0, 5))
            ]
        );
    }
}
