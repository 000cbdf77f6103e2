//! Offline replay: the whole pipeline over log files, several merged by event time as if they
//! were live feeds, into the store. The engine sees the same events it would see live.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;
use std::time::Instant;

use crate::config::Config;
use crate::decode::feed::{FeedDecoder, RECOGNITION_LINES};
use crate::decode::{flatten_counters, DecodeStats};
use crate::engine::{Engine, EngineStats};
use crate::model::AisEvent;
use crate::offline::input;
pub use crate::offline::input::InputProblem;
use crate::source::file::{self, Line, LineReader, OpenError, DEFAULT_MAX_LINE};
use crate::store::{Store, StoreError};
use crate::time::UnixMillis;

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Source(#[from] OpenError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a log's decoding thread stopped unexpectedly")]
    DecoderPanicked,
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
    pub vessels: usize,
    pub bytes: u64,
    pub seconds: f64,
    pub stream_clock: Option<UnixMillis>,
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
        counters.extend(input::counters(&self.problems));
        counters
    }
}

/// Events decoded per batch handed from a log's decoding thread to the engine.
const EVENT_BATCH: usize = 4096;

/// What a log's decoding thread reports when it is done.
struct LogDone {
    stats: DecodeStats,
    bytes: u64,
    problems: Vec<InputProblem>,
}

/// One log being read: a thread reads and decodes it (the pure decoder, on its own core) and
/// hands the events over in batches, in the log's own order.
struct LogStream {
    batches: Receiver<Vec<AisEvent>>,
    /// The batch being read and the index of its next event: events are used in place, since
    /// moving each (a few hundred bytes) twice showed in the profile.
    current: Vec<AisEvent>,
    next: usize,
    decoder: Option<JoinHandle<Result<LogDone, ReplayError>>>,
}

impl LogStream {
    fn open(path: &Path, config: &Config) -> Result<LogStream, ReplayError> {
        let reader = file::open(path)?;
        let station = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned().into());
        let label = path.display().to_string().into();
        let decoder = FeedDecoder::new(config.decode_options(station), label)
            .refusing_unrecognised(RECOGNITION_LINES);
        let (sender, batches) = sync_channel(4);
        let path = path.to_path_buf();
        let handle = std::thread::Builder::new()
            .name("replay-decode".into())
            .spawn(move || decode_log(path, reader, decoder, sender))
            .expect("spawning a decoding thread");
        let mut stream = LogStream {
            batches,
            current: Vec::new(),
            next: 0,
            decoder: Some(handle),
        };
        stream.refill();
        Ok(stream)
    }

    /// The next event, if the log has one left.
    fn front(&self) -> Option<&AisEvent> {
        self.current.get(self.next)
    }

    /// Moves past the current event, fetching the next batch when this one is used up.
    fn advance(&mut self) {
        self.next += 1;
        self.refill();
    }

    fn refill(&mut self) {
        while self.next >= self.current.len() {
            match self.batches.recv() {
                Ok(batch) => {
                    self.current = batch;
                    self.next = 0;
                }
                Err(_) => return,
            }
        }
    }

    /// Merge key of the next event: untimed events go first, the engine counts and drops them.
    fn next_time(&self) -> Option<i64> {
        self.front()
            .map(|e| e.time().map_or(i64::MIN, UnixMillis::as_millis))
    }

    fn finish(&mut self) -> Result<LogDone, ReplayError> {
        let handle = self.decoder.take().expect("finished once");
        handle
            .join()
            .unwrap_or_else(|_| Err(ReplayError::DecoderPanicked))
    }
}

/// Each refusal, where it was and why, at debug level (the counts are in the summary).
fn log_rejects(decoder: &mut FeedDecoder) {
    for note in decoder.take_reject_notes() {
        tracing::debug!(
            line = note.line,
            reason = note.reason.name(),
            "{}.",
            note.detail
        );
    }
}

fn decode_log(
    path: PathBuf,
    reader: Box<dyn Read + Send>,
    mut decoder: FeedDecoder,
    batches: SyncSender<Vec<AisEvent>>,
) -> Result<LogDone, ReplayError> {
    let mut lines = LineReader::new(reader, DEFAULT_MAX_LINE);
    let mut batch = Vec::with_capacity(EVENT_BATCH + 16);
    let mut bytes = 0u64;
    let mut read = 0u64;
    let mut problems = Vec::new();
    loop {
        let line = match lines.next_line() {
            Ok(line) => line,
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
                bytes += text.len() as u64 + 1;
                decoder.decode_line(text, None, &mut batch);
            }
        }
        if decoder.refusal().is_some() {
            break;
        }
        if decoder.has_reject_notes() {
            log_rejects(&mut decoder);
        }
        if batch.len() >= EVENT_BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(EVENT_BATCH + 16));
            if batches.send(full).is_err() {
                break;
            }
        }
    }
    decoder.finish();
    log_rejects(&mut decoder);
    if !batch.is_empty() {
        let _ = batches.send(batch);
    }
    problems.extend(InputProblem::of_decoder(&path, &decoder));
    Ok(LogDone {
        stats: decoder.stats(),
        bytes,
        problems,
    })
}

/// Replays `logs` through a fresh engine into `store` (whose previous contents it replaces).
pub fn replay(
    config: &Config,
    mut store: Store,
    logs: &[PathBuf],
) -> Result<(ReplaySummary, Store), ReplayError> {
    let started = Instant::now();
    store.clear()?;
    store.set_bulk_load(true)?;
    store.save_ports(&config.ports)?;
    let mut engine = Engine::new(
        config.detect.clone(),
        config.ports.clone(),
        config.watchlist.clone(),
        config.store.track_interval_minutes,
    );
    let mut streams = logs
        .iter()
        .map(|path| LogStream::open(path, config))
        .collect::<Result<Vec<_>, _>>()?;
    let (batches, writer) = store.spawn_writer(4);
    let batch_rows = config.store.batch_rows.max(1);
    let mut send_failed = false;
    loop {
        // Several logs merge like live feeds: always the earliest pending event next, each
        // log's own order kept (its late data stays late).
        let next = streams
            .iter()
            .enumerate()
            .filter_map(|(index, s)| s.next_time().map(|t| (t, index)))
            .min();
        let Some((_, index)) = next else { break };
        let stream = &mut streams[index];
        engine.ingest(stream.front().expect("next_time saw an event"));
        stream.advance();
        if engine.pending_changes() >= batch_rows && batches.send(engine.take_changes()).is_err() {
            send_failed = true;
            break;
        }
    }
    engine.finish();
    if !send_failed {
        send_failed = batches.send(engine.take_changes()).is_err();
    }
    drop(batches);
    let mut store = writer.join().map_err(|_| StoreError::WriterGone)??;
    store.set_bulk_load(false)?;
    if send_failed {
        return Err(StoreError::WriterGone.into());
    }
    let mut summary = ReplaySummary {
        engine: engine.stats().clone(),
        vessels: engine.vessels().len(),
        stream_clock: engine.clock(),
        ..ReplaySummary::default()
    };
    let mut timed_any = false;
    for (stream, path) in streams.iter_mut().zip(logs) {
        let done = stream.finish()?;
        timed_any |= !warn_if_untimed(path, &done.stats) && done.stats.messages > 0;
        summary.decode.merge(&done.stats);
        summary.bytes += done.bytes;
        summary.problems.extend(done.problems);
    }
    if summary.incomplete() {
        let reasons = summary.problems.iter().filter(|p| p.makes_incomplete());
        store.mark_incomplete_input(&reasons.map(ToString::to_string).collect::<Vec<_>>())?;
    }
    store.add_counters(
        summary
            .counters()
            .iter()
            .map(|(name, value)| (name.as_str(), *value)),
    )?;
    summary.seconds = started.elapsed().as_secs_f64();
    if !timed_any && summary.decode.messages > 0 {
        return Err(ReplayError::NothingTimed {
            logs: logs.to_vec(),
            messages: summary.decode.messages,
        });
    }
    Ok((summary, store))
}
