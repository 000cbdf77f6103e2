//! The engine of a replay: one engine on the replay's own thread, or the vessels split
//! across several engine threads (see [`crate::engine::partition`]) with one at-sea stage
//! that takes their at-sea calls merged into the order one engine makes them. Either way the
//! tables are the same.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::config::Config;
use crate::detect::sea_activity::{AtSea, AtSeaCounters};
use crate::engine::partition::{AtSeaCall, AtSeaOrder, Partition};
use crate::engine::{Change, Engine, EngineStats};
use crate::model::AisEvent;
use crate::time::UnixMillis;
use crate::track::CoverageReach;

/// Events handed to every part at once. Each part answers each batch, so the at-sea stage
/// merges the calls of the same events.
const EVENTS_PER_BATCH: usize = 2048;
/// Batches in flight to each part and answers in flight from it.
const BATCHES_IN_FLIGHT: usize = 4;

/// Why the engine(s) could not finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnginesStopped {
    /// The writer stopped taking changes (its own error says why).
    WriterGone,
    /// An engine or the at-sea thread panicked.
    Panicked,
}

/// What is left of the engine(s) after the last event, for the replay's summary.
#[derive(Clone, Debug, Default)]
pub struct EnginesDone {
    pub stats: EngineStats,
    pub at_sea: AtSeaCounters,
    pub vessels: usize,
    pub clock: Option<UnixMillis>,
}

impl EnginesDone {
    /// What `engine` leaves (a part's own at-sea counters are empty: the stage has them).
    fn of(engine: &Engine) -> EnginesDone {
        EnginesDone {
            stats: engine.stats().clone(),
            at_sea: engine.at_sea().counters(),
            vessels: engine.vessels().len(),
            clock: engine.clock(),
        }
    }

    /// Adds another part's vessels and counters (the clock is the same in every part).
    fn add_part(&mut self, part: &EnginesDone) {
        self.stats.add_part(&part.stats);
        self.vessels += part.vessels;
    }
}

/// The engine(s) of one replay, with the writer their changes go to.
pub enum Engines {
    Whole {
        engine: Box<Engine>,
        writer: SyncSender<Vec<Change>>,
        batch_rows: usize,
    },
    Split(Box<Split>),
}

impl Engines {
    /// `parts` engines (one when `parts <= 1`) writing to `writer`.
    pub fn new(config: &Config, parts: usize, writer: SyncSender<Vec<Change>>) -> Engines {
        let batch_rows = config.store.batch_rows.max(1);
        if parts <= 1 {
            return Engines::Whole {
                engine: Box::new(Engine::configured(config, Partition::WHOLE)),
                writer,
                batch_rows,
            };
        }
        Engines::Split(Box::new(Split::start(config, parts, writer, batch_rows)))
    }

    /// One event in; false when the writer (or a part) is gone.
    pub fn ingest(&mut self, event: AisEvent) -> bool {
        match self {
            Engines::Whole {
                engine,
                writer,
                batch_rows,
            } => {
                engine.ingest(&event);
                engine.pending_changes() < *batch_rows || writer.send(engine.take_changes()).is_ok()
            }
            Engines::Split(split) => split.ingest(event),
        }
    }

    /// With `whole_input`, ends the input (see [`Engine::finish`]) and hands the last changes
    /// over. Otherwise (the replay stopped, or starts again) stops without judging the end of
    /// an input it did not see, and gives `None`. Either way every thread is waited for, so a
    /// panicked one is found.
    pub fn end(self, whole_input: bool) -> Result<Option<EnginesDone>, EnginesStopped> {
        match self {
            Engines::Whole {
                mut engine, writer, ..
            } => {
                if !whole_input {
                    return Ok(None);
                }
                engine.finish();
                writer
                    .send(engine.take_changes())
                    .map_err(|_| EnginesStopped::WriterGone)?;
                Ok(Some(EnginesDone::of(&engine)))
            }
            Engines::Split(split) => split.end(whole_input),
        }
    }
}

/// Events for every part, with the ports each vessel's fix reaches found once: every part
/// counts every fix in its coverage.
struct EventBatch {
    events: Vec<AisEvent>,
    /// The ports in reach of every event's fix, one after the other.
    reached: Vec<u32>,
    /// Where each event's ports end in `reached`.
    reached_end: Vec<u32>,
}

impl EventBatch {
    fn new() -> EventBatch {
        EventBatch {
            events: Vec::with_capacity(EVENTS_PER_BATCH),
            reached: Vec::new(),
            reached_end: Vec::with_capacity(EVENTS_PER_BATCH),
        }
    }
}

/// What a part is handed.
enum ToPart {
    Events(Arc<EventBatch>),
    Finish,
}

/// What a part answers each batch with.
struct FromPart {
    changes: Vec<Change>,
    calls: Vec<(AtSeaOrder, AtSeaCall)>,
}

/// Several engine threads, each tracking the vessels of its part, and the at-sea stage.
pub struct Split {
    parts: Vec<SyncSender<ToPart>>,
    threads: Vec<JoinHandle<EnginesDone>>,
    stage: JoinHandle<Option<AtSeaCounters>>,
    batch: EventBatch,
    ports: Vec<crate::ports::Port>,
    reach: CoverageReach,
}

impl Split {
    fn start(
        config: &Config,
        parts: usize,
        writer: SyncSender<Vec<Change>>,
        batch_rows: usize,
    ) -> Split {
        let mut senders = Vec::with_capacity(parts);
        let mut answers = Vec::with_capacity(parts);
        let mut threads = Vec::with_capacity(parts);
        for index in 0..parts {
            let (to_part, inbox) = sync_channel::<ToPart>(BATCHES_IN_FLIGHT);
            let (outbox, answer) = sync_channel::<FromPart>(BATCHES_IN_FLIGHT);
            let engine = Engine::configured(config, Partition::new(index as u32, parts as u32));
            let thread = std::thread::Builder::new()
                .name(format!("engine-{index}"))
                .spawn(move || run_part(engine, inbox, outbox))
                .expect("spawning an engine thread");
            senders.push(to_part);
            answers.push(answer);
            threads.push(thread);
        }
        let detect = config.detect.clone();
        let ports = crate::ports::Ports::new(config.ports.clone());
        let stage = std::thread::Builder::new()
            .name("at-sea".into())
            .spawn(move || run_stage(&detect, &ports, answers, writer, batch_rows))
            .expect("spawning the at-sea thread");
        Split {
            parts: senders,
            threads,
            stage,
            batch: EventBatch::new(),
            reach: CoverageReach::new(&config.ports),
            ports: config.ports.clone(),
        }
    }

    fn ingest(&mut self, event: AisEvent) -> bool {
        let batch = &mut self.batch;
        if let AisEvent::Fix(fix) = &event {
            if fix.mmsi.is_vessel() {
                self.reach
                    .find(&self.ports, fix.lat, fix.lon, &mut batch.reached);
            }
        }
        batch.reached_end.push(batch.reached.len() as u32);
        batch.events.push(event);
        batch.events.len() < EVENTS_PER_BATCH || self.hand_out()
    }

    fn hand_out(&mut self) -> bool {
        let events = Arc::new(std::mem::replace(&mut self.batch, EventBatch::new()));
        self.parts
            .iter()
            .all(|part| part.send(ToPart::Events(events.clone())).is_ok())
    }

    fn end(mut self, whole_input: bool) -> Result<Option<EnginesDone>, EnginesStopped> {
        let mut handed = true;
        if whole_input {
            handed = self.batch.events.is_empty() || self.hand_out();
            for part in &self.parts {
                handed &= part.send(ToPart::Finish).is_ok();
            }
        }
        drop(self.parts);
        let parts: Vec<_> = self.threads.into_iter().map(JoinHandle::join).collect();
        let stage = self.stage.join();
        let parts = parts
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| EnginesStopped::Panicked)?;
        let at_sea = stage.map_err(|_| EnginesStopped::Panicked)?;
        if !whole_input {
            return Ok(None);
        }
        let mut parts = parts.into_iter();
        let mut done = parts.next().expect("a split has parts");
        for part in parts {
            done.add_part(&part);
        }
        done.at_sea = at_sea.ok_or(EnginesStopped::WriterGone)?;
        if !handed {
            return Err(EnginesStopped::WriterGone);
        }
        Ok(Some(done))
    }
}

/// A part's thread: every batch through its engine, then its changes and at-sea calls out.
fn run_part(
    mut engine: Engine,
    inbox: Receiver<ToPart>,
    outbox: SyncSender<FromPart>,
) -> EnginesDone {
    for message in inbox.iter() {
        match message {
            ToPart::Events(batch) => {
                let mut start = 0;
                for (event, &end) in batch.events.iter().zip(&batch.reached_end) {
                    let end = end as usize;
                    engine.ingest_reached(event, &batch.reached[start..end]);
                    start = end;
                }
            }
            ToPart::Finish => engine.finish(),
        }
        let answer = FromPart {
            changes: engine.take_changes(),
            calls: engine.take_at_sea_calls(),
        };
        if outbox.send(answer).is_err() {
            break;
        }
    }
    EnginesDone::of(&engine)
}

/// The at-sea stage: each batch's answers from every part, their at-sea calls merged into one
/// engine's order through the detectors, and every change on to the writer. `None` when the
/// writer is gone.
fn run_stage(
    detect: &crate::detect::DetectParams,
    ports: &crate::ports::Ports,
    answers: Vec<Receiver<FromPart>>,
    writer: SyncSender<Vec<Change>>,
    batch_rows: usize,
) -> Option<AtSeaCounters> {
    let mut at_sea = AtSea::default();
    let mut pending: Vec<Change> = Vec::new();
    let mut calls = Vec::new();
    'batches: loop {
        for answer in &answers {
            let Ok(FromPart {
                mut changes,
                calls: mut part_calls,
            }) = answer.recv()
            else {
                break 'batches;
            };
            pending.append(&mut changes);
            calls.append(&mut part_calls);
        }
        // Each part's calls are in order already; one vessel's come from one part.
        calls.sort_by_key(|(order, _)| *order);
        for (_, call) in calls.drain(..) {
            call.apply(&mut at_sea, detect, ports);
        }
        if at_sea.has_changes() {
            pending.extend(at_sea.take_changes().into_iter().map(Change::from));
        }
        if pending.len() >= batch_rows && writer.send(std::mem::take(&mut pending)).is_err() {
            return None;
        }
    }
    writer.send(pending).ok()?;
    Some(at_sea.counters())
}
