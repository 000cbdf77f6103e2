//! The service's pipeline thread: lines from every source are decoded (one decoder per source,
//! as `replay` has one per log), put in event-time order within the reorder window
//! (`[order] reorder_window_s`, see [`super::reorder`]), fed to the one engine, and committed to
//! the store on the commit interval together with the engine checkpoint (and the events the
//! window still holds) and source positions.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::error::TryRecvError as LineRecvError;

use crate::config::Config;
use crate::decode::{flatten_counters, DecodeStats};
use crate::engine::{Change, Engine};
use crate::model::{AisEvent, LineRef, Mmsi};
use crate::ports::Port;
use crate::service::alerts::AlertQueue;
use crate::service::announce::Announcer;
use crate::service::raw_lines::{KeptLines, RawLines, RawMessage, SavedWitness};
use crate::service::reorder::ReorderWindow;
use crate::service::source_state::{self, decode_options_of, SourceState};
use crate::service::unclocked::{LineSeen, UnclockedHolds};
use crate::service::vessel_states::SavedVessels;
use crate::source::{RawLine, SourceKind, TAIL_BYTES};
use crate::store::{Commit, FilePosition, StoreHealth};

/// How long the pipeline naps when no line is waiting: the longest added delay on a quiet feed.
const IDLE_NAP: Duration = Duration::from_millis(2);
/// How long it naps while the database cannot be written.
const PAUSED_NAP: Duration = Duration::from_millis(20);
/// A commit waits for no multi-sentence message to be half received (most checkpoints then
/// carry none), but never longer than this many commit intervals; one still half received is
/// saved with the commit and read again by a restart.
const MAX_COMMIT_DEFERRAL: u32 = 4;
/// A commit is due after this many lines even before its interval: a fast feed (a file read
/// at full speed, a backlog) then commits in pieces of bounded size, and the commits queued
/// for the writer hold at most this many lines' changes each, not a second of any rate.
const MAX_LINES_PER_COMMIT: u64 = 65_536;

/// Live counters of the pipeline, shared with the watchdog and the metrics endpoint.
#[derive(Debug, Default)]
pub struct PipelineMetrics {
    /// Bumped on every turn of the loop, busy or idle: a stuck pipeline stops bumping it.
    pub heartbeat: AtomicU64,
    pub lines: AtomicU64,
    pub events: AtomicU64,
    pub commits: AtomicU64,
    /// Duration of the last database commit, in microseconds.
    pub last_commit_us: AtomicU64,
    pub commit_us_total: AtomicU64,
    /// The stream clock (millis), 0 before the first timed event.
    pub stream_clock_ms: AtomicI64,
    pub vessels: AtomicU64,
    pub open_gaps: AtomicU64,
    pub dark_now: AtomicU64,
    pub trips: AtomicU64,
    /// MMSIs heard from more than one live transmitter (segment), now.
    pub several_transmitters: AtomicU64,
    /// Segments started after an MMSI's first, and given up by the bound per MMSI.
    pub segments_started: AtomicU64,
    pub segments_dropped: AtomicU64,
    /// Vessels that left memory: silent past `forget_after_hours`, or over `max_tracked_vessels`.
    pub forgotten_vessels: AtomicU64,
    pub evicted_vessels: AtomicU64,
    /// Recorded gaps whose judgement late data changed.
    pub rejudged_gaps: AtomicU64,
    /// Receptions the engine took for another source's copy of a vessel's last fix, or of
    /// its last static report, and did not apply.
    pub copied_fixes: AtomicU64,
    pub copied_reports: AtomicU64,
    /// Lines whose effects are committed (all sources).
    pub committed_lines: AtomicU64,
    /// Wall-clock time of the pipeline's latest turn (millis): health.
    pub last_turn_at_ms: AtomicI64,
    /// Lines waiting in the channel from the sources, as last seen.
    pub line_channel_depth: AtomicU64,
    /// Decode counters per source, as of the last commit.
    pub decode: Mutex<BTreeMap<Arc<str>, DecodeStats>>,
    /// Lines by delay from receipt to the engine having taken them, in the buckets of
    /// [`DELAY_BUCKETS_MS`] (the last counts the rest), as of the last commit.
    pub delays: Mutex<[u64; DELAY_BUCKETS_MS.len() + 1]>,
    /// Sum of those delays, in milliseconds.
    pub delay_ms_sum: AtomicU64,
    /// Events the reorder window holds, as of the last commit.
    pub reorder_held: AtomicU64,
    /// Events held until their source's clock shows, as of the last commit.
    pub unclocked_held: AtomicU64,
    /// Timed events that arrived after a later one.
    pub arrived_out_of_order: AtomicU64,
    /// The at-sea detectors' counters (`at_sea.*`, as in the ingest table), as of the last commit.
    pub at_sea: Mutex<Vec<(String, u64)>>,
}

/// Upper bounds (milliseconds) of the receive-to-detection delay histogram.
pub const DELAY_BUCKETS_MS: [i64; 13] = [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

/// Orders to the pipeline from the control loop.
pub enum Control {
    /// A reloaded configuration: new detection parameters, ports, watchlist and source options.
    Reconfigure(Box<Config>),
}

pub struct Pipeline {
    config: Config,
    engine: Engine,
    sources: BTreeMap<Arc<str>, SourceState>,
    metrics: Arc<PipelineMetrics>,
    commits: SyncSender<Commit>,
    /// What the alerts said, saved with each checkpoint.
    announcer: Announcer,
    /// Ports a reload designated, for the next commit to record.
    ports_to_save: Option<Vec<Port>>,
    last_commit: Instant,
    events: Vec<AisEvent>,
    /// Events in time order, out of the reorder window, for the engine.
    ready: Vec<AisEvent>,
    reorder: ReorderWindow,
    /// Each source's first messages timed only by reception, until its clock shows.
    unclocked: UnclockedHolds,
    /// Events a hold let go of, on their way to the reorder window.
    let_go: Vec<AisEvent>,
    alerts: Option<AlertQueue>,
    /// While the database cannot be written, no line is taken: the sources are held back.
    store: Arc<StoreHealth>,
    delays: [u64; DELAY_BUCKETS_MS.len() + 1],
    delay_ms_sum: u64,
    /// Lines consumed since the last commit: an idle service does not rewrite its checkpoint.
    uncommitted: u64,
    /// Which vessels a commit rewrites: those its changes name.
    saved_vessels: SavedVessels,
    /// The same for coverage bins, by (port, hour).
    saved_bins: HashMap<(String, i64), u64>,
    /// Engine and at-sea counters already added to the store: they live in the engine's
    /// checkpoint, so a restart starts from the restored values, not from zero.
    engine_counted: BTreeMap<String, u64>,
    /// The raw lines of the watched vessels' recent messages, for their evidence.
    raw_lines: RawLines,
    /// The engine's pending changes already looked at for evidence.
    changes_seen: usize,
    /// The raw lines of the evidence handed out since the last commit.
    evidence_lines: Vec<crate::store::provenance::Resolved>,
}

/// Why the pipeline stopped early.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("the database writer stopped; the last changes were not written")]
    WriterGone,
}

impl Pipeline {
    /// Saved vessel states found at a restart that no tracked vessel has: the first commit
    /// deletes them.
    pub fn with_stale_vessel_states(mut self, stale: Vec<u32>) -> Pipeline {
        self.saved_vessels = SavedVessels::resumed(stale);
        self
    }

    /// A pipeline continuing with `engine` and the committed line counts of its sources.
    pub fn new(
        config: Config,
        engine: Engine,
        positions: &[(String, u64)],
        metrics: Arc<PipelineMetrics>,
        commits: SyncSender<Commit>,
    ) -> Pipeline {
        let reorder_window_s = config.order.reorder_window_s;
        let mut pipeline = Pipeline {
            reorder: ReorderWindow::new(reorder_window_s),
            unclocked: UnclockedHolds::default(),
            let_go: Vec::new(),
            config,
            engine,
            sources: BTreeMap::new(),
            metrics,
            commits,
            announcer: Announcer::default(),
            ports_to_save: None,
            last_commit: Instant::now(),
            events: Vec::with_capacity(16),
            ready: Vec::with_capacity(16),
            alerts: None,
            store: Arc::default(),
            delays: [0; DELAY_BUCKETS_MS.len() + 1],
            delay_ms_sum: 0,
            uncommitted: 0,
            saved_vessels: SavedVessels::default(),
            saved_bins: HashMap::new(),
            engine_counted: BTreeMap::new(),
            raw_lines: RawLines::default(),
            changes_seen: 0,
            evidence_lines: Vec::new(),
        };
        pipeline.engine_counted = pipeline.engine_counters().into_iter().collect();
        pipeline.publish_at_sea();
        for (name, lines) in positions {
            pipeline.source(&Arc::from(name.as_str())).lines = *lines;
        }
        let committed: u64 = positions.iter().map(|(_, n)| n).sum();
        pipeline
            .metrics
            .committed_lines
            .store(committed, Ordering::Relaxed);
        pipeline.metrics.lines.store(committed, Ordering::Relaxed);
        pipeline
    }

    fn at_sea_counters(&self) -> Vec<(String, u64)> {
        flatten_counters("at_sea", &self.engine.at_sea().counters())
    }

    /// The engine's counters (`engine.*`) and the at-sea detectors' (`at_sea.*`), named as a
    /// replay's ingest table names them.
    fn engine_counters(&self) -> Vec<(String, u64)> {
        let mut counters = flatten_counters("engine", self.engine.stats());
        counters.extend(self.at_sea_counters());
        counters
    }

    fn publish_at_sea(&self) {
        if let Ok(mut at_sea) = self.metrics.at_sea.lock() {
            *at_sea = self.at_sea_counters();
        }
    }

    /// Holds again the events the reorder window held at the last commit (in `checkpoint`,
    /// the saved engine checkpoint), and remembers what the alerts had said by then.
    pub fn with_held_events(mut self, checkpoint: &str) -> Result<Pipeline, serde_json::Error> {
        let now = crate::time::now();
        self.reorder.restore_from(checkpoint)?;
        self.unclocked.restore_from(checkpoint, now)?;
        self.announcer.restore_from(checkpoint)?;
        self.raw_lines.restore_from(checkpoint)?;
        for begun in source_state::begun_messages_of(checkpoint)? {
            let name = Arc::from(begun.source.as_str());
            self.source(&name).read_begun_again(&begun.lines, now);
            tracing::info!(source = %name, "Messages half received at the last commit are read again.");
        }
        Ok(self)
    }

    /// Takes back the raw lines kept for each watched vessel at the last commit.
    pub fn with_kept_lines(mut self, kept: Vec<(Mmsi, KeptLines)>) -> Pipeline {
        for (mmsi, lines) in kept {
            self.raw_lines.restore(mmsi, lines);
        }
        self
    }

    /// Alerts for each vessel going dark, reappearing and trip tallied go to `alerts`.
    pub fn with_alerts(mut self, alerts: Option<AlertQueue>) -> Pipeline {
        self.alerts = alerts;
        self
    }

    /// The writer's health: while it says failing, intake pauses.
    pub fn with_store_health(mut self, store: Arc<StoreHealth>) -> Pipeline {
        self.store = store;
        self
    }

    fn source(&mut self, name: &Arc<str>) -> &mut SourceState {
        let config = &self.config;
        self.sources
            .entry(name.clone())
            .or_insert_with(|| SourceState::new(decode_options_of(config, name), name.clone()))
    }

    /// Runs until every sender of `lines` is gone and the channel is drained, then finishes
    /// the engine (track buffers written, open gaps judged at the stream clock) and commits.
    pub fn run(
        mut self,
        mut lines: tokio::sync::mpsc::Receiver<RawLine>,
        control: Receiver<Control>,
    ) -> Result<(), PipelineError> {
        let interval = Duration::from_millis(self.config.store.commit_interval_ms);
        let mut turns = 0u32;
        loop {
            self.metrics.heartbeat.fetch_add(1, Ordering::Relaxed);
            match control.try_recv() {
                Ok(Control::Reconfigure(config)) => self.reconfigure(*config),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => {}
            }
            if self.store.is_failing() && !lines.is_closed() {
                // Lines left in the channel fill it, and a full channel stops the sources
                // reading (UDP drops and counts): nothing is taken that may not be written.
                self.note_turn(lines.len());
                std::thread::sleep(PAUSED_NAP);
                continue;
            }
            match lines.try_recv() {
                Ok(raw) => {
                    self.consume(&raw);
                    turns += 1;
                    if turns >= 256 {
                        turns = 0;
                        self.note_turn(lines.len());
                        self.commit_if_due(interval)?;
                    }
                }
                Err(LineRecvError::Empty) => {
                    self.note_turn(0);
                    let mut overdue = std::mem::take(&mut self.let_go);
                    self.unclocked
                        .release_overdue(crate::time::now(), &mut overdue);
                    self.let_go_of(overdue);
                    self.commit_if_due(interval)?;
                    std::thread::sleep(IDLE_NAP);
                }
                Err(LineRecvError::Disconnected) => break,
            }
        }
        let mut held = Vec::new();
        self.unclocked.release_all(&mut held);
        self.let_go_of(held);
        let mut ready = std::mem::take(&mut self.ready);
        self.reorder.drain(&mut ready);
        for event in ready.drain(..) {
            self.ingest(&event, None);
        }
        self.engine.finish();
        self.commit()?;
        Ok(())
    }

    /// Hands on events a hold let go of outside a line (their raw lines were kept when they
    /// were held).
    fn let_go_of(&mut self, mut events: Vec<AisEvent>) {
        if events.is_empty() {
            self.let_go = events;
            return;
        }
        let mut ready = std::mem::take(&mut self.ready);
        for event in events.drain(..) {
            self.reorder.push(event, &mut ready);
        }
        for event in ready.drain(..) {
            self.ingest(&event, None);
        }
        self.ready = ready;
        self.let_go = events;
    }

    fn note_turn(&self, waiting: usize) {
        let m = &self.metrics;
        m.last_turn_at_ms
            .store(crate::time::now().as_millis(), Ordering::Relaxed);
        m.line_channel_depth
            .store(waiting as u64, Ordering::Relaxed);
    }

    fn consume(&mut self, raw: &RawLine) {
        let mut events = std::mem::take(&mut self.events);
        self.uncommitted += 1;
        let state = self.source(&raw.source);
        state.lines += 1;
        if let Some(mark) = raw.mark {
            // Travels with the line's effects: committed with them, never ahead of them.
            let (at, tail) = state.file.get_or_insert_with(Default::default);
            *at = mark;
            tail.clear();
            tail.extend_from_slice(&raw.line[raw.line.len().saturating_sub(TAIL_BYTES)..]);
            state.file_moved = true;
        }
        let received_before = state.decoder.timed_by_received();
        state
            .decoder
            .decode_line(&raw.line, Some(raw.received_at), &mut events);
        // Where the line starts: in a file, back from where it ends; in a feed, the feed's own
        // line counter is the reference.
        let at = LineRef {
            source: state.number,
            line: state.lines,
            offset: raw
                .mark
                .map_or(0, |m| m.offset.saturating_sub(raw.line.len() as u64 + 1)),
        };
        for event in &mut events {
            event.mark_line(at);
        }
        let number = state.lines;
        if state.decoder.has_reject_notes() {
            for note in state.decoder.take_reject_notes() {
                tracing::debug!(source = %raw.source, line = note.line, reason = note.reason.name(), "{}.", note.detail);
            }
        }
        let received_messages = state.decoder.timed_by_received() - received_before;
        let shown = state.decoder.shown_clock();
        let holds = state.options.trust_data_time;
        let mut let_go = std::mem::take(&mut self.let_go);
        let line = LineSeen {
            source: &raw.source,
            received: raw.received_at,
            shown,
            holds,
            received_messages,
        };
        let released = self.unclocked.after_line(line, &mut events, &mut let_go);
        if released.moved_messages > 0 {
            self.source(&raw.source)
                .decoder
                .count_moved_onto_source_clock(released.moved_messages);
            tracing::info!(source = %raw.source, messages = released.moved_messages, lag_ms = ?shown.flatten(), "Messages read before the source's clock showed are timed on it.");
        }
        for _ in 0..released.held_evidence {
            let message = self.message_of(&raw.source, &raw.line, number);
            self.raw_lines.hold(at, message);
        }
        self.metrics.lines.fetch_add(1, Ordering::Relaxed);
        self.metrics
            .events
            .fetch_add(events.len() as u64, Ordering::Relaxed);
        let holding = self.config.order.reorder_window_s > 0;
        let mut ready = std::mem::take(&mut self.ready);
        // Their raw lines were kept when they were held.
        for event in let_go.drain(..) {
            self.reorder.push(event, &mut ready);
        }
        self.let_go = let_go;
        for event in events.drain(..) {
            if holding && matches!(event, AisEvent::Fix(_) | AisEvent::VesselReport(_)) {
                // Whether its vessel is watched is known only when it leaves the window.
                let message = self.message_of(&raw.source, &raw.line, number);
                self.raw_lines.hold(at, message);
            }
            self.reorder.push(event, &mut ready);
        }
        for event in ready.drain(..) {
            self.ingest(&event, Some((at, &raw.source, &raw.line)));
        }
        self.events = events;
        self.ready = ready;
        if let Some(state) = self.sources.get_mut(&raw.source) {
            state.fragments.push(number, &raw.line);
        }
        let delay = crate::time::now().as_millis() - raw.received_at.as_millis();
        let bucket = DELAY_BUCKETS_MS
            .iter()
            .position(|&bound| delay <= bound)
            .unwrap_or(DELAY_BUCKETS_MS.len());
        self.delays[bucket] += 1;
        self.delay_ms_sum += delay.max(0) as u64;
    }

    /// The message ending on `line`, line `number` of `source`, with its earlier fragments.
    fn message_of(&self, source: &Arc<str>, line: &[u8], number: u64) -> RawMessage {
        let (first, bytes) = match self.sources.get(source) {
            Some(state) => state.fragments.message(line, number),
            None => (number, line.to_vec()),
        };
        RawMessage::new(first, bytes)
    }

    /// Gives `event` to the engine, keeping its raw line(s) first when its vessel is watched
    /// (`current`: the line being consumed, where it may have come from), and finds the raw
    /// lines of the evidence the engine hands out for it.
    fn ingest(&mut self, event: &AisEvent, current: Option<(LineRef, &Arc<str>, &[u8])>) {
        let line = match event {
            AisEvent::Fix(f) => f.heard.line,
            AisEvent::VesselReport(r) => r.heard.line,
            _ => None,
        };
        let mut held = line.and_then(|at| self.raw_lines.release(at));
        let watched = self.engine.watches(event.mmsi());
        if watched {
            self.keep_raw(event, line, held.take(), current);
        }
        self.engine.ingest(event);
        if !watched && self.engine.watches(event.mmsi()) {
            // The message that made its vessel watched (its first, when every vessel or its
            // MMSI is watched): the engine's witness remembers it too.
            self.keep_raw(event, line, held, current);
        }
        self.note_evidence();
    }

    /// Keeps the raw line(s) of `event`, which ended on `line`: the ones the reorder window
    /// `held`, else the line being consumed.
    fn keep_raw(
        &mut self,
        event: &AisEvent,
        line: Option<LineRef>,
        held: Option<RawMessage>,
        current: Option<(LineRef, &Arc<str>, &[u8])>,
    ) {
        let Some(at) = line else { return };
        let message = held.or_else(|| {
            current
                .filter(|(now, _, _)| *now == at)
                .map(|(_, source, text)| self.message_of(source, text, at.line))
        });
        if let Some(message) = message {
            self.raw_lines.keep(event, message);
        }
    }

    /// Looks up the raw lines of the evidence handed out since the last look, while they are
    /// still kept.
    fn note_evidence(&mut self) {
        let pending = self.engine.pending_changes();
        if pending <= self.changes_seen {
            return;
        }
        for change in self.engine.changes_since(self.changes_seen) {
            if let Change::Evidence(evidence) = change {
                if let Some(found) = self.raw_lines.lines_of(evidence) {
                    self.evidence_lines.push(found);
                }
            }
        }
        self.changes_seen = pending;
    }

    fn reconfigure(&mut self, config: Config) {
        self.engine.reconfigure_to(&config);
        for (name, state) in &mut self.sources {
            let options = decode_options_of(&config, name);
            if options != state.options {
                state.rebuild(options, name);
                self.unclocked.start_again(name);
            }
        }
        if config.order.reorder_window_s != self.config.order.reorder_window_s {
            let mut ready = std::mem::take(&mut self.ready);
            self.reorder
                .set_window(config.order.reorder_window_s, &mut ready);
            for event in ready.drain(..) {
                self.ingest(&event, None);
            }
            self.ready = ready;
        }
        if config.ports != self.config.ports {
            // Saved with the next commit, with the checkpoint judged against them.
            self.ports_to_save = Some(config.ports.clone());
        }
        self.config = config;
        tracing::info!(
            ports = self.config.ports.len(),
            watchlist = self.config.watchlist.len(),
            "Detection reconfigured."
        );
    }

    fn commit_if_due(&mut self, interval: Duration) -> Result<(), PipelineError> {
        let waited = self.last_commit.elapsed();
        if waited < interval && self.uncommitted < MAX_LINES_PER_COMMIT {
            return Ok(());
        }
        if self.uncommitted == 0
            && self.engine.pending_changes() == 0
            && self.ports_to_save.is_none()
        {
            self.last_commit = Instant::now();
            return Ok(());
        }
        let fragments_pending = self
            .sources
            .values()
            .any(|s| s.decoder.pending_fragments() > 0);
        if fragments_pending && waited < interval * MAX_COMMIT_DEFERRAL {
            return Ok(());
        }
        self.commit()
    }

    /// Hands one commit to the writer: changes, counter increments, checkpoint, positions.
    /// Blocks while the writer is behind, which in turn holds back the sources.
    /// Sources whose number the store cannot name yet (each is named once per run).
    fn unnamed_sources(&mut self) -> Vec<(u32, String, Option<String>)> {
        let mut sources = Vec::new();
        for (name, state) in &mut self.sources {
            if !state.named {
                state.named = true;
                sources.push((state.number, name.to_string(), None));
            }
        }
        sources
    }

    /// The engine's checkpoint with what the pipeline holds beside it: events the reorder
    /// window and the unclocked holds keep, what the alerts said, the raw lines kept, and the
    /// messages half received.
    fn checkpoint_text(&self, engine: &impl serde::Serialize) -> String {
        let mut checkpoint =
            serde_json::to_value(engine).expect("the engine checkpoint always serialises");
        self.reorder.save_into(&mut checkpoint);
        self.unclocked.save_into(&mut checkpoint);
        self.announcer.save_into(&mut checkpoint);
        self.raw_lines.save_into(&mut checkpoint);
        source_state::save_begun_messages(self.sources.iter(), &mut checkpoint);
        checkpoint.to_string()
    }

    fn commit(&mut self) -> Result<(), PipelineError> {
        self.last_commit = Instant::now();
        self.uncommitted = 0;
        self.engine.push_vessel_updates();
        self.note_evidence();
        let changes = self.engine.take_changes();
        self.changes_seen = 0;
        let evidence_lines = std::mem::take(&mut self.evidence_lines);
        let witness_states = self.witness_states();
        for alert in self.announcer.announce(&changes) {
            if let Some(alerts) = &self.alerts {
                alerts.push(alert);
            }
        }
        let mut counters = Vec::new();
        if let Ok(mut delays) = self.metrics.delays.lock() {
            *delays = self.delays;
        }
        self.metrics
            .delay_ms_sum
            .store(self.delay_ms_sum, Ordering::Relaxed);
        if let Ok(mut decode) = self.metrics.decode.lock() {
            for (name, state) in &self.sources {
                decode.insert(name.clone(), state.stats());
            }
        }
        for state in self.sources.values_mut() {
            for (name, value) in state.stats().counters() {
                let before = state.counted.insert(name.clone(), value).unwrap_or(0);
                if value > before {
                    counters.push((name, value - before));
                }
            }
        }
        for (name, value) in self.engine_counters() {
            let before = self.engine_counted.insert(name.clone(), value).unwrap_or(0);
            if value > before {
                counters.push((name, value - before));
            }
        }
        self.publish_at_sea();
        // Only the vessels this commit's changes name are copied for their rows: a copy of the
        // whole table would double the service's memory at every commit.
        let mut checkpoint = self.engine.checkpoint_apart();
        let vessels_gone = self.saved_vessels.gone(&changes, self.engine.vessels());
        let vessel_states = self.saved_vessels.changed(&changes, self.engine.vessels());
        let mut coverage_states = Vec::new();
        for (port, hour, bin) in checkpoint.take_coverage_bins() {
            let state = serde_json::to_string(&bin).expect("bins always serialise");
            let hash = hash_of(&state);
            if self.saved_bins.insert((port.clone(), hour), hash) != Some(hash) {
                coverage_states.push((port, hour, state));
            }
        }
        let checkpoint = self.checkpoint_text(&checkpoint);
        let positions: Vec<(String, u64)> = self
            .sources
            .iter()
            .map(|(name, state)| (name.to_string(), state.lines))
            .collect();
        let committed: u64 = positions.iter().map(|(_, n)| n).sum();
        let file_positions = self.file_positions();
        let commit = Commit {
            changes,
            counters,
            checkpoint,
            vessel_states,
            vessels_gone,
            coverage_states,
            positions,
            ports: self.ports_to_save.take(),
            file_positions,
            saved_at: crate::time::now(),
            evidence_sources: self.unnamed_sources(),
            evidence_lines,
            witness_states,
        };
        self.hand_over(commit)?;
        let m = &self.metrics;
        m.committed_lines.store(committed, Ordering::Relaxed);
        m.reorder_held
            .store(self.reorder.held() as u64, Ordering::Relaxed);
        m.unclocked_held
            .store(self.unclocked.held() as u64, Ordering::Relaxed);
        m.arrived_out_of_order
            .store(self.reorder.arrived_out_of_order, Ordering::Relaxed);
        if let Some(clock) = self.engine.clock() {
            m.stream_clock_ms
                .store(clock.as_millis(), Ordering::Relaxed);
        }
        m.vessels
            .store(self.engine.vessels().len() as u64, Ordering::Relaxed);
        let stats = self.engine.stats();
        m.several_transmitters
            .store(stats.mmsis_with_several_transmitters, Ordering::Relaxed);
        m.segments_started
            .store(stats.segments_started, Ordering::Relaxed);
        m.segments_dropped
            .store(stats.segments_dropped, Ordering::Relaxed);
        m.forgotten_vessels
            .store(stats.forgotten_vessels, Ordering::Relaxed);
        m.evicted_vessels
            .store(stats.evicted_vessels, Ordering::Relaxed);
        m.rejudged_gaps.store(stats.rejudged, Ordering::Relaxed);
        m.copied_fixes
            .store(stats.duplicate_fixes, Ordering::Relaxed);
        m.copied_reports
            .store(stats.duplicate_reports, Ordering::Relaxed);
        m.dark_now
            .store(self.announcer.dark_now() as u64, Ordering::Relaxed);
        m.open_gaps
            .store(self.engine.open_gaps() as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Gives `commit` to the writer, waiting while it is behind (which holds the sources back);
    /// while the writer retries through a store fault the heartbeat goes on, so that the
    /// watchdog does not take a known outage for a stuck pipeline.
    fn hand_over(&self, commit: Commit) -> Result<(), PipelineError> {
        let mut commit = commit;
        loop {
            match self.commits.try_send(commit) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Disconnected(_)) => return Err(PipelineError::WriterGone),
                Err(TrySendError::Full(back)) => {
                    commit = back;
                    // A writer merely behind, or hung, leaves the heartbeat still for the
                    // watchdog to judge, as a blocking hand-over would.
                    if self.store.is_failing() {
                        self.metrics.heartbeat.fetch_add(1, Ordering::Relaxed);
                    }
                    std::thread::sleep(IDLE_NAP);
                }
            }
        }
    }

    /// What the witness and the kept lines remember of each watched vessel that changed since
    /// the last commit, saved apart from the checkpoint (`None`: forgotten by both).
    fn witness_states(&mut self) -> Vec<(u32, Option<String>)> {
        let engine = &self.engine;
        self.raw_lines
            .take_changed()
            .into_iter()
            .map(|(mmsi, lines)| {
                let saved = SavedWitness {
                    witness: engine.witnessed(mmsi).cloned(),
                    lines: lines.cloned(),
                };
                let state = (saved.witness.is_some() || saved.lines.is_some()).then(|| {
                    serde_json::to_string(&saved).expect("witness states always serialise")
                });
                (mmsi.0, state)
            })
            .collect()
    }

    /// Where each file source that consumed a line since the last commit now stands.
    fn file_positions(&mut self) -> Vec<FilePosition> {
        let mut positions = Vec::new();
        for (name, state) in &mut self.sources {
            let Some((mark, tail)) = state.file.as_ref().filter(|_| state.file_moved) else {
                continue;
            };
            state.file_moved = false;
            let path = self
                .config
                .sources
                .iter()
                .find_map(|spec| match &spec.kind {
                    SourceKind::File { path, .. } if spec.name == *name => Some(path),
                    _ => None,
                });
            positions.push(FilePosition {
                source: name.to_string(),
                path: path.map_or_else(String::new, |p| p.display().to_string()),
                device: mark.device,
                inode: mark.inode,
                offset: mark.offset,
                tail: tail.clone(),
            });
        }
        positions
    }
}

fn hash_of(state: &str) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    state.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::partition::Partition;

    /// A type 5 report in two sentences, as the bundled sample carries it.
    const FIRST: &str = r"\g:1-2-1,s:RU-NKH,c:1709510415*13\!AIVDM,2,1,0,B,544QIG@00001GE@H<004hl5bo@0000000000000N3P;334k;D5@UDhCP0000,0*6A";
    const SECOND: &str = r"\g:2-2-1,s:RU-NKH,c:1709510415*10\!AIVDM,2,2,0,B,00000000000,2*27";
    /// The same vessel's position report after it.
    const AFTER: &str =
        r"\s:RU-NKH,c:1709510426*50\!AIVDM,1,1,,A,144QIGG00s9UqdlH@Fq443>l1Krh,0*57";

    fn pipeline(positions: &[(String, u64)]) -> (Pipeline, Receiver<Commit>) {
        let config = Config::default();
        let (sender, commits) = std::sync::mpsc::sync_channel(4);
        let engine = Engine::configured(&config, Partition::WHOLE);
        let pipeline = Pipeline::new(config, engine, positions, Arc::default(), sender);
        (pipeline, commits)
    }

    fn consume(pipeline: &mut Pipeline, text: &str) {
        pipeline.consume(&RawLine {
            source: Arc::from("feed"),
            received_at: crate::time::now(),
            line: text.as_bytes().to_vec(),
            mark: None,
        });
    }

    /// The counters the store holds after `commits`: the sum of their increments.
    fn stored_counters(commits: &[&Commit]) -> BTreeMap<String, u64> {
        let mut stored = BTreeMap::new();
        for commit in commits {
            for (name, increment) in &commit.counters {
                *stored.entry(name.clone()).or_insert(0) += increment;
            }
        }
        stored
    }

    #[test]
    fn a_commit_between_two_fragments_loses_no_message_when_the_service_restarts_there() {
        let (mut whole, commits) = pipeline(&[]);
        for line in [FIRST, SECOND, AFTER] {
            consume(&mut whole, line);
        }
        whole.commit().unwrap();
        let uninterrupted = commits.try_recv().unwrap();

        let (mut before, commits) = pipeline(&[]);
        consume(&mut before, FIRST);
        before.commit().unwrap();
        let first = commits.try_recv().unwrap();
        // Restarted from that commit: the second sentence and the line after it are read.
        let (restarted, commits) = pipeline(&first.positions);
        let mut restarted = restarted.with_held_events(&first.checkpoint).unwrap();
        consume(&mut restarted, SECOND);
        consume(&mut restarted, AFTER);
        restarted.commit().unwrap();
        let second = commits.try_recv().unwrap();

        let counters = stored_counters(&[&first, &second]);
        assert_eq!(counters, stored_counters(&[&uninterrupted]));
        assert_eq!(counters.get("decode.by_type.5"), Some(&1), "{counters:#?}");
        assert_eq!(second.positions, uninterrupted.positions);
        // The first sentence was saved with the first commit; complete at the second, nothing
        // is read again after it.
        assert!(first.checkpoint.contains("begun_messages"));
        assert!(!second.checkpoint.contains("begun_messages"));
    }
}
