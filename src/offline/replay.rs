//! Offline replay: the whole pipeline over log files into the store. Each log is decoded in
//! its own order on its own thread; all their timed events are then sorted by event time
//! (bounded memory, see [`super::sort`]) so that the order of lines within and across the logs
//! never changes the tables. The engine is the one the live service runs.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;
use std::time::Instant;

use crate::config::Config;
use crate::decode::feed::{FeedDecoder, RECOGNITION_LINES};
use crate::decode::{flatten_counters, DecodeStats};
use crate::detect::sea_activity::AtSeaCounters;
use crate::engine::EngineStats;
use crate::model::LineRef;
use crate::offline::input;
pub use crate::offline::input::InputProblem;
use crate::source::file::{self, Line, LineReader, OpenError, DEFAULT_MAX_LINE};
use crate::store::{Store, StoreError};
use crate::time::UnixMillis;

use super::batch::{LogBatch, LogOrder};
use super::engines::{Engines, EnginesDone, EnginesStopped};
use super::provenance;
use super::sort::{EventSorter, SortError, SortParams, SortStats, SortedEvents};
use super::window::{TooLate, WindowedOrder};

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Source(#[from] OpenError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a log's decoding thread stopped unexpectedly")]
    DecoderPanicked,
    #[error("an engine thread stopped unexpectedly (its panic is logged above)")]
    EnginePanicked,
    #[error(transparent)]
    Sort(#[from] SortError),
    #[error("no message of any input could be timed ({messages} messages in {}): a message needs a tag block c:, a time column, a trailing epoch, a $PGHP line or a preceding $GPZDA/$GPRMC (README, Input formats)", list_paths(.logs))]
    NothingTimed { logs: Vec<PathBuf>, messages: u64 },
}

fn list_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Warns about an input none of whose messages could be timed; true when that is so.
fn warn_if_untimed(path: &Path, stats: &DecodeStats) -> bool {
    let untimed = stats.messages > 0 && stats.clock.untimed == stats.messages;
    if untimed {
        tracing::warn!(
            file = %path.display(),
            messages = stats.messages,
            "No message of this file could be timed: it carries no tag block c:, time column, trailing epoch, $PGHP or $GPZDA/$GPRMC; all its messages are dropped."
        );
    }
    untimed
}

/// What a replay read and found.
#[derive(Clone, Debug, Default)]
pub struct ReplaySummary {
    pub decode: DecodeStats,
    pub engine: EngineStats,
    /// The at-sea detectors' findings and what they left unjudged.
    pub at_sea: AtSeaCounters,
    pub vessels: usize,
    pub bytes: u64,
    pub seconds: f64,
    pub stream_clock: Option<UnixMillis>,
    /// How the events were put in time order.
    pub sort: SortStats,
    /// Timed events earlier than one before them in the same log: what the sort put right.
    pub out_of_order: u64,
    /// Every log not read whole or not in one format, in the order of the logs given.
    pub problems: Vec<InputProblem>,
}

impl ReplaySummary {
    pub fn lines_per_second(&self) -> f64 {
        self.decode.lines as f64 / self.seconds.max(1e-9)
    }

    /// Whether some input is missing from the database: a log broke off or was refused.
    pub fn incomplete(&self) -> bool {
        self.problems.iter().any(InputProblem::makes_incomplete)
    }

    /// Every counter, flattened to `name -> value`, for the store's ingest table.
    pub fn counters(&self) -> Vec<(String, u64)> {
        let mut counters = self.decode.counters();
        counters.extend(flatten_counters("engine", &self.engine));
        counters.extend(flatten_counters("at_sea", &self.at_sea));
        counters.extend(input::counters(&self.problems));
        counters
    }
}

/// Events decoded per batch handed from a log's decoding thread to the sort.
const EVENT_BATCH: usize = 4096;

/// What a log's decoding thread reports when it is done.
struct LogDone {
    stats: DecodeStats,
    bytes: u64,
    problems: Vec<InputProblem>,
    order: LogOrder,
}

/// A batch of one log's events and records, tagged with the log's position in the command
/// line.
type Batch = (usize, LogBatch);

/// Starts the thread that reads and decodes one log (the pure decoder, on its own core). A
/// log is decoded in its physical order: multi-sentence messages, `$PGHP` lines and tag-block
/// groups are assembled from neighbouring lines before anything is reordered.
fn start_log(
    index: usize,
    path: &Path,
    reader: Box<dyn Read + Send>,
    config: &Config,
    batches: SyncSender<Batch>,
) -> JoinHandle<Result<LogDone, ReplayError>> {
    let station = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned().into());
    let label = path.display().to_string().into();
    let decoder = FeedDecoder::new(config.decode_options(station), label)
        .refusing_unrecognised(RECOGNITION_LINES);
    let path = path.to_path_buf();
    std::thread::Builder::new()
        .name("replay-decode".into())
        .spawn(move || decode_log(index, path, reader, decoder, batches))
        .expect("spawning a decoding thread")
}

fn decode_log(
    index: usize,
    path: PathBuf,
    reader: Box<dyn Read + Send>,
    mut decoder: FeedDecoder,
    batches: SyncSender<Batch>,
) -> Result<LogDone, ReplayError> {
    let mut lines = LineReader::new(reader, DEFAULT_MAX_LINE);
    let mut batch = LogBatch::with_capacity(EVENT_BATCH + 16);
    let mut order = LogOrder::default();
    let mut bytes = 0u64;
    let mut read = 0u64;
    let mut problems = Vec::new();
    loop {
        let (at, line) = match lines.next_line_at() {
            Ok(Some((at, line))) => (at, Some(line)),
            Ok(None) => (0, None),
            Err(error) => {
                problems.push(InputProblem::broken(&path, read, bytes, &error));
                break;
            }
        };
        read += 1;
        match line {
            None => break,
            Some(Line::TooLong { length }) => {
                bytes += length as u64 + 1;
                decoder.count_line_too_long();
            }
            Some(Line::Text(text)) => {
                let (events, records) = (batch.events.len(), batch.record_count());
                batch.at_line(LineRef {
                    source: index as u32,
                    line: read,
                    offset: at,
                });
                decoder.decode_line_into(text, None, &mut batch);
                batch.stamp_events_from(events);
                batch.observe_order(events, records, &mut order);
                bytes += text.len() as u64 + 1;
            }
        }
        if decoder.refusal().is_some() {
            break;
        }
        if decoder.has_reject_notes() {
            input::log_rejects(&path, &mut decoder);
        }
        if batch.len() >= EVENT_BATCH {
            let full = std::mem::replace(&mut batch, LogBatch::with_capacity(EVENT_BATCH + 16));
            if batches.send((index, full)).is_err() {
                break;
            }
        }
    }
    decoder.finish();
    input::log_rejects(&path, &mut decoder);
    if !batch.is_empty() {
        let _ = batches.send((index, batch));
    }
    problems.extend(InputProblem::of_decoder(&path, &decoder));
    Ok(LogDone {
        stats: decoder.stats(),
        bytes,
        problems,
        order,
    })
}

/// The sort settings of `config`'s `[order]` section.
pub fn sort_params(config: &Config) -> SortParams {
    SortParams {
        memory_bytes: (config.order.sort_memory_mb as usize).saturating_mul(1 << 20),
        spill_dir: config
            .order
            .spill_dir
            .clone()
            .unwrap_or_else(std::env::temp_dir),
        one_pass_lateness_ms: i64::from(config.order.one_pass_hours) * 3_600_000,
        engine_parts: default_engine_parts(),
    }
}

/// Engines a replay splits the vessels across unless told otherwise: one per core.
pub fn default_engine_parts() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Replays `logs` through a fresh engine into `store` (whose previous contents it replaces),
/// sorting with the `[order]` settings of `config`.
pub fn replay(
    config: &Config,
    store: Store,
    logs: &[PathBuf],
) -> Result<(ReplaySummary, Store), ReplayError> {
    replay_with(config, store, logs, &sort_params(config))
}

/// Replays `logs` with these sort settings. The engine sees every timed event in record
/// order (event time, then vessel, then content; see [`crate::record`]), so any order of the
/// lines within and across the logs gives the same tables; each log is still decoded in its
/// own order. When no line lags its log by more than the lateness window the events are put
/// in order as the logs are read, and the engine runs alongside the decoding; a later line
/// makes the replay sort every event first and start again. Untimed events go to the engine
/// as they come, which counts them and drops them.
pub fn replay_with(
    config: &Config,
    mut store: Store,
    logs: &[PathBuf],
    sort: &SortParams,
) -> Result<(ReplaySummary, Store), ReplayError> {
    let started = Instant::now();
    // Every log must open before the store is cleared: a mistyped name must not cost the
    // database of the last replay.
    let readers = open_all(logs)?;
    prepare_store(&mut store, config, logs)?;
    // Standard input cannot be read again, should the replay have to start again.
    let one_pass = sort.one_pass_lateness_ms > 0 && logs.iter().all(|path| path.as_os_str() != "-");
    let (run, store) = if one_pass {
        match run_in_one_pass(config, store, logs, readers, sort) {
            Ok(done) => done,
            Err(OnePassStop::Failed(error)) => return Err(error),
            Err(OnePassStop::TooLate(late, store)) => {
                let mut store = *store;
                let reason = too_late_reason(&late, logs, sort);
                tracing::info!(
                    file = %logs[late.log].display(),
                    lag_hours = late.lag_ms as f64 / 3_600_000.0,
                    "A line lags its log by more than [order] one_pass_hours: sorting every event first and replaying again (same tables, more time)."
                );
                let readers = open_all(logs)?;
                prepare_store(&mut store, config, logs)?;
                let (mut run, store) = run_sorted(config, store, logs, readers, sort)?;
                run.gathered.sort.restarted = Some(reason);
                (run, store)
            }
        }
    } else {
        run_sorted(config, store, logs, readers, sort)?
    };
    summarise(run, store, logs, started)
}

fn open_all(logs: &[PathBuf]) -> Result<Vec<Box<dyn Read + Send>>, ReplayError> {
    Ok(logs
        .iter()
        .map(|path| file::open(path))
        .collect::<Result<Vec<_>, _>>()?)
}

/// Empties the store and writes what a replay starts from.
fn prepare_store(store: &mut Store, config: &Config, logs: &[PathBuf]) -> Result<(), ReplayError> {
    store.clear()?;
    store.set_bulk_load(true)?;
    store.save_ports(&config.ports)?;
    store.save_evidence_sources(&evidence_sources(logs))?;
    Ok(())
}

/// The engine(s) after the last event, with what was read.
struct Run {
    engines: EnginesDone,
    gathered: Gathered,
}

/// Every log decoded and sorted first, then the engine over the sorted events.
fn run_sorted(
    config: &Config,
    store: Store,
    logs: &[PathBuf],
    readers: Vec<Box<dyn Read + Send>>,
    sort: &SortParams,
) -> Result<(Run, Store), ReplayError> {
    let (batches, writer) = store.spawn_writer(4);
    let mut engines = Engines::new(config, sort.engine_parts, batches);
    let fed = gather(config, logs, readers, sort, &mut engines)
        .and_then(|(gathered, sorted)| Ok((gathered, feed_engine(&mut engines, sorted)?)));
    let done = engines.end(matches!(fed, Ok((_, true))));
    let store = writer.join().map_err(|_| StoreError::WriterGone)??;
    let done = done.map_err(stopped)?;
    let (gathered, _) = fed?;
    // Not ended only when the writer went away before the last event.
    let engines = done.ok_or(StoreError::WriterGone)?;
    Ok((Run { engines, gathered }, store))
}

fn stopped(why: EnginesStopped) -> ReplayError {
    match why {
        EnginesStopped::WriterGone => StoreError::WriterGone.into(),
        EnginesStopped::Panicked => ReplayError::EnginePanicked,
    }
}

/// Why a replay in one pass stopped before the end.
enum OnePassStop {
    /// A line lagged more than the window: sort first and start again, into this store.
    TooLate(TooLate, Box<Store>),
    Failed(ReplayError),
}

impl From<ReplayError> for OnePassStop {
    fn from(error: ReplayError) -> Self {
        OnePassStop::Failed(error)
    }
}

impl From<StoreError> for OnePassStop {
    fn from(error: StoreError) -> Self {
        OnePassStop::Failed(error.into())
    }
}

fn too_late_reason(late: &TooLate, logs: &[PathBuf], sort: &SortParams) -> String {
    format!(
        "an event of {} at {} lags its log by {:.2} h, more than the {:.2} h of [order] one_pass_hours",
        logs[late.log].display(),
        late.time,
        late.lag_ms as f64 / 3_600_000.0,
        sort.one_pass_lateness_ms as f64 / 3_600_000.0
    )
}

/// The engine and the writer run while the logs are decoded, the events put in order through
/// a [`WindowedOrder`]. Reads from the log that holds the others back, so that the window
/// holds about `lateness` of every log and no more. On a line beyond the window everything
/// stops and the store comes back, to start again.
fn run_in_one_pass(
    config: &Config,
    store: Store,
    logs: &[PathBuf],
    readers: Vec<Box<dyn Read + Send>>,
    sort: &SortParams,
) -> Result<(Run, Store), OnePassStop> {
    let mut receivers = Vec::with_capacity(logs.len());
    let decoders: Vec<_> = logs
        .iter()
        .zip(readers)
        .enumerate()
        .map(|(index, (path, reader))| {
            let (sender, receiver) = sync_channel::<Batch>(4);
            receivers.push(receiver);
            start_log(index, path, reader, config, sender)
        })
        .collect();
    let (batches, writer) = store.spawn_writer(4);
    let mut engines = Engines::new(config, sort.engine_parts, batches);
    let mut order = WindowedOrder::new(logs.len(), sort.one_pass_lateness_ms, sort.memory_bytes);
    let fed = feed_in_one_pass(&mut engines, &mut order, &receivers);
    let finished = engines.end(matches!(fed, Ok(None)));
    // Decoding threads stop at their next batch once nothing receives.
    drop(receivers);
    let done = join_logs(decoders, logs);
    let store = writer.join().map_err(|_| StoreError::WriterGone)??;
    let finished = finished.map_err(stopped);
    match fed? {
        Some(late) => Err(OnePassStop::TooLate(late, Box::new(store))),
        None => {
            let mut gathered = done?;
            gathered.sort = SortStats {
                events: order.events(),
                one_pass: true,
                ..SortStats::default()
            };
            let engines = finished?.ok_or(StoreError::WriterGone)?;
            Ok((Run { engines, gathered }, store))
        }
    }
}

/// The logs' batches through the window into the engine, its changes to the writer in
/// batches; the line that came too late, if one did.
fn feed_in_one_pass(
    engines: &mut Engines,
    order: &mut WindowedOrder,
    receivers: &[Receiver<Batch>],
) -> Result<Option<TooLate>, ReplayError> {
    while let Some(log) = order.laggard() {
        match receivers[log].recv() {
            Ok((_, batch)) => {
                for event in &batch.events {
                    let pushed = match event.time() {
                        None if !engines.ingest(event.clone()) => {
                            return Err(StoreError::WriterGone.into())
                        }
                        None => Ok(()),
                        Some(_) => order.push_event(log, event),
                    };
                    if let Err(late) = pushed {
                        return Ok(Some(late));
                    }
                }
                for (record, events) in batch.records_from(0) {
                    if let Err(late) = order.push_record(log, record, events) {
                        return Ok(Some(late));
                    }
                }
            }
            Err(_) => order.log_done(log),
        }
        while let Some(event) = order.next_due().map_err(|source| SortError::Record {
            path: PathBuf::from("memory"),
            source,
        })? {
            if !engines.ingest(event) {
                return Err(StoreError::WriterGone.into());
            }
        }
    }
    Ok(None)
}

/// The summary of a finished run, with the evidence's lines found and the counters stored.
fn summarise(
    run: Run,
    mut store: Store,
    logs: &[PathBuf],
    started: Instant,
) -> Result<(ReplaySummary, Store), ReplayError> {
    let Run { engines, gathered } = run;
    let evidence = provenance::resolve(&mut store, logs)?;
    store.set_bulk_load(false)?;
    let mut summary = ReplaySummary {
        decode: gathered.decode,
        engine: engines.stats,
        at_sea: engines.at_sea,
        vessels: engines.vessels,
        bytes: gathered.bytes,
        stream_clock: engines.clock,
        sort: gathered.sort,
        out_of_order: gathered.out_of_order,
        problems: gathered.problems,
        ..ReplaySummary::default()
    };
    if summary.incomplete() {
        let reasons = summary.problems.iter().filter(|p| p.makes_incomplete());
        store.mark_incomplete_input(&reasons.map(ToString::to_string).collect::<Vec<_>>())?;
    }
    let mut counters = summary.counters();
    counters.push(("provenance.lines_found".into(), evidence.0 as u64));
    counters.push(("provenance.lines_not_found".into(), evidence.1 as u64));
    store.add_counters(counters.iter().map(|(name, value)| (name.as_str(), *value)))?;
    summary.seconds = started.elapsed().as_secs_f64();
    tracing::info!(
        events = summary.sort.events,
        out_of_order = summary.out_of_order,
        one_pass = summary.sort.one_pass,
        spilled_runs = summary.sort.runs,
        spilled_mb = summary.sort.spilled_bytes / 1_000_000,
        "Events replayed in event-time order."
    );
    if !gathered.timed_any && summary.decode.messages > 0 {
        return Err(ReplayError::NothingTimed {
            logs: logs.to_vec(),
            messages: summary.decode.messages,
        });
    }
    Ok((summary, store))
}

/// Each log by its position on the command line, as evidence rows number them.
fn evidence_sources(logs: &[PathBuf]) -> Vec<(u32, String, Option<String>)> {
    logs.iter()
        .enumerate()
        .map(|(index, path)| {
            let full = std::fs::canonicalize(path).ok();
            let name = path.display().to_string();
            (index as u32, name, full.map(|p| p.display().to_string()))
        })
        .collect()
}

/// What the logs gave besides their events.
struct Gathered {
    decode: DecodeStats,
    bytes: u64,
    sort: SortStats,
    out_of_order: u64,
    problems: Vec<InputProblem>,
    /// Some log had a message that could be timed.
    timed_any: bool,
}

/// Decodes every log on its own thread and sorts their timed events as they come, in
/// whatever order the threads deliver them (the sort makes it irrelevant).
fn gather(
    config: &Config,
    logs: &[PathBuf],
    readers: Vec<Box<dyn Read + Send>>,
    sort: &SortParams,
    engines: &mut Engines,
) -> Result<(Gathered, SortedEvents), ReplayError> {
    let (sender, batches) = sync_channel::<Batch>(4 * logs.len().max(1));
    let decoders: Vec<_> = logs
        .iter()
        .zip(readers)
        .enumerate()
        .map(|(index, (path, reader))| start_log(index, path, reader, config, sender.clone()))
        .collect();
    drop(sender);
    let mut sorter = EventSorter::new(sort.clone());
    for (_, batch) in batches.iter() {
        // On a failed spill the decoding threads stop as the channel closes behind them.
        for event in &batch.events {
            match event.time() {
                None if !engines.ingest(event.clone()) => return Err(StoreError::WriterGone.into()),
                None => {}
                Some(_) => sorter.push(event)?,
            }
        }
        for (record, events) in batch.records_from(0) {
            sorter.push_record(record, events)?;
        }
    }
    let mut gathered = join_logs(decoders, logs)?;
    gathered.sort = sorter.stats().clone();
    Ok((gathered, sorter.into_sorted()?))
}

/// Waits for every log's decoding thread and adds up what they read.
fn join_logs(
    decoders: Vec<JoinHandle<Result<LogDone, ReplayError>>>,
    logs: &[PathBuf],
) -> Result<Gathered, ReplayError> {
    let mut gathered = Gathered {
        decode: DecodeStats::default(),
        bytes: 0,
        sort: SortStats::default(),
        out_of_order: 0,
        problems: Vec::new(),
        timed_any: false,
    };
    let mut first_error = None;
    for (handle, path) in decoders.into_iter().zip(logs) {
        let done = match handle.join().unwrap_or(Err(ReplayError::DecoderPanicked)) {
            Ok(done) => done,
            Err(error) => {
                first_error.get_or_insert(error);
                continue;
            }
        };
        gathered.timed_any |= !warn_if_untimed(path, &done.stats) && done.stats.messages > 0;
        gathered.decode.merge(&done.stats);
        gathered.bytes += done.bytes;
        gathered.out_of_order += done.order.out_of_order;
        gathered.problems.extend(done.problems);
    }
    match first_error {
        Some(error) => Err(error),
        None => Ok(gathered),
    }
}

/// The sorted events through the engine(s). `Ok(false)` when the writer is gone.
fn feed_engine(engines: &mut Engines, mut sorted: SortedEvents) -> Result<bool, SortError> {
    while let Some(event) = sorted.next_event()? {
        if !engines.ingest(event) {
            return Ok(false);
        }
    }
    Ok(true)
}
