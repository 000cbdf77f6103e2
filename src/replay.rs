//! Offline replay: the whole pipeline over log files, several merged by event time as if they
//! were live feeds, into the store. The engine sees the same events it would see live.

use std::collections::VecDeque;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::config::Config;
use crate::decode::log::LogDecoder;
use crate::decode::DecodeStats;
use crate::engine::{Engine, EngineStats};
use crate::model::AisEvent;
use crate::source::file::{self, Line, LineReader, SourceError, DEFAULT_MAX_LINE};
use crate::store::{Store, StoreError};
use crate::time::UnixMillis;

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
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
}

impl ReplaySummary {
    pub fn lines_per_second(&self) -> f64 {
        self.decode.lines as f64 / self.seconds.max(1e-9)
    }

    /// Every counter, flattened to `name -> value`, for the store's ingest table.
    pub fn counters(&self) -> Vec<(String, u64)> {
        let mut counters = Vec::new();
        flatten(
            "decode",
            &serde_json::to_value(&self.decode).unwrap_or_default(),
            &mut counters,
        );
        flatten(
            "engine",
            &serde_json::to_value(&self.engine).unwrap_or_default(),
            &mut counters,
        );
        counters
    }
}

fn flatten(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, u64)>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                flatten(&format!("{prefix}.{key}"), value, out);
            }
        }
        serde_json::Value::Number(n) => {
            if let Some(n) = n.as_u64() {
                out.push((prefix.to_string(), n));
            }
        }
        _ => {}
    }
}

/// One log being read: its lines decoded on demand into a queue of events.
struct LogStream {
    path: PathBuf,
    lines: LineReader<Box<dyn Read>>,
    decoder: LogDecoder,
    queue: VecDeque<AisEvent>,
    scratch: Vec<AisEvent>,
    bytes: u64,
    ended: bool,
}

impl LogStream {
    fn open(path: &Path, config: &Config) -> Result<LogStream, ReplayError> {
        let reader = file::open(path)?;
        let station = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned().into());
        Ok(LogStream {
            path: path.to_path_buf(),
            lines: LineReader::new(reader, DEFAULT_MAX_LINE),
            decoder: LogDecoder::new(config, station),
            queue: VecDeque::new(),
            scratch: Vec::new(),
            bytes: 0,
            ended: false,
        })
    }

    /// Reads until an event is queued or the log ends.
    fn refill(&mut self) -> Result<(), ReplayError> {
        while self.queue.is_empty() && !self.ended {
            let line = self.lines.next_line().map_err(|source| ReplayError::Read {
                path: self.path.clone(),
                source,
            })?;
            match line {
                None => {
                    self.ended = true;
                    self.decoder.finish(&mut self.scratch);
                }
                Some(Line::TooLong { length }) => {
                    self.bytes += length as u64 + 1;
                    self.decoder.count_line_too_long();
                }
                Some(Line::Text(text)) => {
                    self.bytes += text.len() as u64 + 1;
                    self.decoder.decode_line(text, None, &mut self.scratch);
                }
            }
            self.queue.extend(self.scratch.drain(..));
        }
        Ok(())
    }

    /// Merge key of the next event: untimed events go first, the engine counts and drops them.
    fn next_time(&self) -> Option<i64> {
        self.queue
            .front()
            .map(|e| e.time().map_or(i64::MIN, UnixMillis::as_millis))
    }
}

/// Replays `logs` through a fresh engine into `store` (whose previous contents it replaces).
pub fn replay(
    config: &Config,
    mut store: Store,
    logs: &[PathBuf],
) -> Result<(ReplaySummary, Store), ReplayError> {
    let started = Instant::now();
    store.clear()?;
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
    for stream in &mut streams {
        stream.refill()?;
    }
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
        let event = stream.queue.pop_front().expect("next_time saw an event");
        if stream.queue.is_empty() {
            stream.refill()?;
        }
        engine.ingest(&event);
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
    if send_failed {
        return Err(StoreError::WriterGone.into());
    }
    let mut summary = ReplaySummary {
        engine: engine.stats().clone(),
        vessels: engine.vessels().len(),
        stream_clock: engine.clock(),
        ..ReplaySummary::default()
    };
    for stream in &streams {
        summary.decode.merge(&stream.decoder.stats());
        summary.bytes += stream.bytes;
    }
    store.add_counters(
        summary
            .counters()
            .iter()
            .map(|(name, value)| (name.as_str(), *value)),
    )?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok((summary, store))
}
