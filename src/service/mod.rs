//! `aisgap run`: the long-running service. Sources (tokio tasks) feed one pipeline thread
//! (decode + engine, the same as `replay`), which commits to the store's writer thread; the
//! control loop handles signals (SIGTERM/SIGINT stop, SIGHUP reload) and the service manager.

pub mod alerts;
mod announce;
mod at_sea_metrics;
pub mod http;
pub mod notify;
pub mod pipeline;
mod raw_lines;
mod reload;
mod reorder;
mod source_state;
mod unclocked;
mod vessel_states;
pub mod webhook;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::signal::unix::{signal, SignalKind};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, ConfigErrors};
use crate::engine::partition::Partition;
use crate::engine::{Change, Engine, EngineCheckpoint};
use crate::source::{run_source_at, FileMark, RawLine, ResumeAt, SourceMetrics, SourceSpec};
use crate::store::read::GapFilter;
use crate::store::{Commit, FilePosition, LockError, Store, StoreError, StoreHealth, WriterLock};
use http::ServiceState;
use notify::Notifier;
use pipeline::{Control, Pipeline, PipelineMetrics};
use reload::{Listening, SourceChange};

/// Lines waiting between the sources and the pipeline. Full, it holds TCP sources back.
pub const LINE_CHANNEL_DEPTH: usize = 16_384;
/// Commits waiting for the database writer.
const COMMIT_CHANNEL_DEPTH: usize = 2;
/// How long sources get to stop, and how long the pipeline gets to drain and commit.
const STOP_SOURCES_WITHIN: Duration = Duration::from_secs(5);
const DRAIN_WITHIN: Duration = Duration::from_secs(60);
/// How often the control loop looks whether a stage ended.
const SUPERVISE_EVERY: Duration = Duration::from_millis(200);

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Locked(#[from] LockError),
    #[error(
        "the checkpoint in {db} cannot be read ({error}); move the database aside to start afresh"
    )]
    Checkpoint { db: PathBuf, error: String },
    #[error("[http] token_file: {0}")]
    Token(crate::api::ApiError),
    #[error("starting the runtime: {0}")]
    Runtime(std::io::Error),
    #[error("{0}")]
    Pipeline(#[from] pipeline::PipelineError),
    #[error("shutdown took too long; still running: {0}")]
    StopTimeout(String),
    #[error("the {stage} thread panicked: {message}")]
    Panicked {
        stage: &'static str,
        message: String,
    },
    #[error("the {0} ended unexpectedly")]
    StageEnded(String),
}

/// The message a panicking thread left, as far as it is text.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_string())
}

/// The running sources, by name, each with its own stop token.
struct Sources {
    running: BTreeMap<Arc<str>, RunningSource>,
    /// The name of a source whose task panicked: the service ends on it.
    panicked: Arc<std::sync::Mutex<Option<Arc<str>>>>,
    /// Where each file source not running takes its file up when it starts: the committed
    /// position at first, then just past the last line its previous run handed on (those lines
    /// are in the pipeline's hands).
    resume: BTreeMap<Arc<str>, ResumeAt>,
}

/// Lives in a source's task; dropped by a panic unwinding the task, it names the source.
struct PanicWatch {
    source: Arc<str>,
    panicked: Arc<std::sync::Mutex<Option<Arc<str>>>>,
}

impl Drop for PanicWatch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Ok(mut panicked) = self.panicked.lock() {
                panicked.get_or_insert_with(|| self.source.clone());
            }
        }
    }
}

struct RunningSource {
    spec: SourceSpec,
    stop: CancellationToken,
    /// Ends with where the source's next run should take its file up.
    task: JoinHandle<Option<ResumeAt>>,
    metrics: Arc<SourceMetrics>,
}

impl Sources {
    fn new(committed: &[FilePosition]) -> Sources {
        let resume = committed
            .iter()
            .map(|p| {
                let mark = FileMark {
                    device: p.device,
                    inode: p.inode,
                    offset: p.offset,
                };
                let tail = p.tail.clone();
                (Arc::from(p.source.as_str()), ResumeAt { mark, tail })
            })
            .collect();
        Sources {
            running: BTreeMap::new(),
            panicked: Arc::default(),
            resume,
        }
    }

    /// Makes the running sources those of `specs`: starts the new, stops the removed, restarts
    /// those whose I/O settings changed, and leaves running those that changed only in what
    /// the decoder uses. With `probe` (a reload), a source about to listen on a new address
    /// gets it only if it can be bound there; else it keeps its previous settings (a new source
    /// is not started). Returns the settings in force and what happened to each source.
    async fn apply(
        &mut self,
        specs: &[SourceSpec],
        lines: &tokio::sync::mpsc::Sender<RawLine>,
        state: &ServiceState,
        probe: bool,
    ) -> (Vec<SourceSpec>, Vec<(Arc<str>, SourceChange)>) {
        let mut changes = Vec::new();
        let removed: Vec<Arc<str>> = self
            .running
            .keys()
            .filter(|name| !specs.iter().any(|s| &s.name == *name))
            .cloned()
            .collect();
        for name in removed {
            self.stop(&name, state).await;
            changes.push((name, SourceChange::Stopped));
        }
        let mut in_force = Vec::with_capacity(specs.len());
        for spec in specs {
            let change = match self.running.get_mut(&spec.name) {
                Some(running) if reload::same_io(&running.spec, spec) => {
                    running.spec = spec.clone();
                    SourceChange::Kept
                }
                Some(running) => {
                    let old = running.spec.clone();
                    self.replace(&old, spec, lines, state, probe).await
                }
                None => match Listening::of(spec).filter(|_| probe).map(Listening::probe) {
                    Some(Err(error)) => SourceChange::Failed(format!(
                        "cannot listen on {}: {error}",
                        Listening::of(spec).expect("probed")
                    )),
                    _ => {
                        self.start(spec, lines, state);
                        SourceChange::Started
                    }
                },
            };
            let kept = self.running.get(&spec.name).map(|r| r.spec.clone());
            in_force.extend(kept);
            reload::log_change(&spec.name, &change);
            changes.push((spec.name.clone(), change));
        }
        (in_force, changes)
    }

    /// Restarts a source with new I/O settings; one that would listen somewhere it cannot
    /// bind is left running as it was (or, when only its own old socket was in the way,
    /// started again as it was).
    async fn replace(
        &mut self,
        old: &SourceSpec,
        new: &SourceSpec,
        lines: &tokio::sync::mpsc::Sender<RawLine>,
        state: &ServiceState,
        probe: bool,
    ) -> SourceChange {
        let moved = Listening::of(new).filter(|l| probe && Listening::of(old) != Some(*l));
        let Some(listening) = moved else {
            self.stop(&new.name, state).await;
            self.start(new, lines, state);
            return SourceChange::Restarted;
        };
        let in_its_own_way = Listening::of(old).is_some_and(|o| o.shares_port_with(listening));
        if let Err(error) = listening.probe() {
            if !in_its_own_way {
                return SourceChange::Failed(format!("cannot listen on {listening}: {error}"));
            }
        }
        self.stop(&new.name, state).await;
        if let Err(error) = listening.probe() {
            self.start(old, lines, state);
            return SourceChange::Failed(format!("cannot listen on {listening}: {error}"));
        }
        self.start(new, lines, state);
        SourceChange::Restarted
    }

    fn start(
        &mut self,
        spec: &SourceSpec,
        lines: &tokio::sync::mpsc::Sender<RawLine>,
        state: &ServiceState,
    ) {
        let stop = CancellationToken::new();
        let metrics = Arc::new(SourceMetrics::default());
        let watch = PanicWatch {
            source: spec.name.clone(),
            panicked: self.panicked.clone(),
        };
        let resume = self.resume.remove(&spec.name);
        let task = tokio::spawn({
            let (spec, lines, metrics, stop) =
                (spec.clone(), lines.clone(), metrics.clone(), stop.clone());
            async move {
                let _watch = watch;
                // Failures are logged by the source itself; the service keeps running.
                run_source_at(spec, resume, lines, metrics, stop).await.1
            }
        });
        if let Ok(mut registry) = state.sources.lock() {
            registry.insert(spec.name.clone(), metrics.clone());
        }
        self.running.insert(
            spec.name.clone(),
            RunningSource {
                spec: spec.clone(),
                stop,
                task,
                metrics,
            },
        );
    }

    async fn stop(&mut self, name: &Arc<str>, state: &ServiceState) {
        if let Some(source) = self.running.remove(name) {
            if let Ok(mut registry) = state.sources.lock() {
                registry.remove(name);
            }
            tracing::info!(source = %name, "Stopping source (configuration changed).");
            if let Some(at) = stop_one(source).await {
                self.resume.insert(name.clone(), at);
            }
        }
    }

    /// The source whose task panicked, if one did.
    fn panicked(&self) -> Option<Arc<str>> {
        self.panicked.lock().ok().and_then(|p| p.clone())
    }

    async fn stop_all(&mut self) {
        for source in std::mem::take(&mut self.running).into_values() {
            stop_one(source).await;
        }
    }
}

/// Stops `source`; where its next run should take its file up, if it reads one.
async fn stop_one(source: RunningSource) -> Option<ResumeAt> {
    source.stop.cancel();
    let counts = source.metrics.snapshot();
    tracing::debug!(source = %source.spec.name, lines = counts.lines, bytes = counts.bytes, errors = counts.errors, "Source counters.");
    let abort = source.task.abort_handle();
    match tokio::time::timeout(STOP_SOURCES_WITHIN, source.task).await {
        Ok(ended) => ended.ok().flatten(),
        Err(_) => {
            tracing::warn!(source = %source.spec.name, "Source did not stop in time; aborting it.");
            abort.abort();
            None
        }
    }
}

/// The engine, each source's committed line count, the checkpoint it came from (which also
/// holds the events the reorder window held), each file source's committed position, the
/// raw lines kept for each watched vessel's evidence, and the saved vessel states that no
/// tracked vessel has.
type OpenedEngine = (
    Engine,
    Vec<(String, u64)>,
    Option<String>,
    Vec<FilePosition>,
    Vec<(crate::model::Mmsi, raw_lines::KeptLines)>,
    Vec<u32>,
);

/// Opens the database and the engine where the last commit left them.
fn open_engine(config: &Config, store: &Store) -> Result<OpenedEngine, ServiceError> {
    let fresh = || Engine::configured(config, Partition::WHOLE);
    let Some(resume) = store.resume_point()? else {
        tracing::info!("No checkpoint in the database; starting afresh.");
        return Ok((
            fresh(),
            Vec::new(),
            None,
            Vec::new(),
            Vec::new(),
            Vec::new(),
        ));
    };
    let broken = |error: String| ServiceError::Checkpoint {
        db: config.store.db.clone(),
        error,
    };
    let mut checkpoint: EngineCheckpoint =
        serde_json::from_str(&resume.checkpoint).map_err(|e| broken(e.to_string()))?;
    // Only the tracked vessels' states are read: the others are deleted at the next commit.
    let tracked: std::collections::HashSet<u32> =
        checkpoint.vessel_order().iter().map(|m| m.0).collect();
    let mut stale = Vec::new();
    let mut vessels = std::collections::HashMap::new();
    for (mmsi, state) in &resume.vessel_states {
        if !tracked.contains(mmsi) {
            stale.push(*mmsi);
            continue;
        }
        let vessel: crate::track::Vessel =
            serde_json::from_str(state).map_err(|e| broken(format!("vessel {mmsi}: {e}")))?;
        vessels.insert(vessel.mmsi, vessel);
    }
    let mut bins = Vec::with_capacity(resume.coverage_states.len());
    for (port, hour, state) in &resume.coverage_states {
        let bin = serde_json::from_str(state)
            .map_err(|e| broken(format!("coverage of {port} at hour {hour}: {e}")))?;
        bins.push((port.clone(), *hour, bin));
    }
    checkpoint.put_coverage_bins(bins);
    checkpoint
        .put_vessels(vessels)
        .map_err(|mmsi| broken(format!("vessel {} has no stored state", mmsi.0)))?;
    let mut witnessed = Vec::new();
    let mut kept = Vec::new();
    for (mmsi, state) in &resume.witness_states {
        let saved: raw_lines::SavedWitness = serde_json::from_str(state)
            .map_err(|e| broken(format!("witness of vessel {mmsi}: {e}")))?;
        witnessed.extend(saved.witness.map(|w| (crate::model::Mmsi(*mmsi), w)));
        kept.extend(saved.lines.map(|l| (crate::model::Mmsi(*mmsi), l)));
    }
    let mut engine = Engine::restore(
        config.detect.clone(),
        config.ports.clone(),
        config.watchlist.clone(),
        config.store.track_interval_minutes,
        checkpoint,
    );
    engine.restore_witness(witnessed);
    // The configuration may have changed while the service was down.
    engine.reconfigure_to(config);
    tracing::info!(
        saved_at = %resume.saved_at,
        stream_clock = %engine.clock().map_or_else(|| "-".to_string(), |c| c.to_string()),
        vessels = engine.vessels().len(),
        stale_vessel_states = stale.len(),
        "Resuming from the last checkpoint."
    );
    Ok((
        engine,
        resume.positions,
        Some(resume.checkpoint),
        resume.file_positions,
        kept,
        stale,
    ))
}

/// How often an idle writer checks that the database's path still names its open file.
const WATCH_FILE_EVERY: Duration = Duration::from_secs(2);

/// The writer thread: each commit in order, held and written again through faults (see
/// [`Store::commit_through_faults`]); its error is the root cause when the service ends early.
fn write_commits(
    mut store: Store,
    commits: std::sync::mpsc::Receiver<Commit>,
    metrics: Arc<PipelineMetrics>,
    health: Arc<StoreHealth>,
    give_up_after: Duration,
) -> Result<(), StoreError> {
    use std::sync::mpsc::RecvTimeoutError;
    publish_stored_trips(&store, &metrics);
    loop {
        let commit = match commits.recv_timeout(WATCH_FILE_EVERY) {
            Ok(commit) => commit,
            Err(RecvTimeoutError::Timeout) => {
                store.watch_file(&health)?;
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let started = Instant::now();
        store.commit_through_faults(&commit, &health, give_up_after)?;
        if commit
            .changes
            .iter()
            .any(|c| matches!(c, Change::Gap(_) | Change::Watched { .. }))
        {
            publish_stored_trips(&store, &metrics);
        }
        let micros = started.elapsed().as_micros() as u64;
        metrics.last_commit_us.store(micros, Ordering::Relaxed);
        metrics.commit_us_total.fetch_add(micros, Ordering::Relaxed);
        metrics.commits.fetch_add(1, Ordering::Relaxed);
    }
    // The last commit of a clean stop went to whatever the path named: say so if it was lost.
    store.watch_file(&health)
}

/// `aisgap_trips_total` is the database's own count (what `query trips` lists), not a tally
/// of judgements: a trip judged again or withdrawn is not counted twice. A count that fails
/// leaves the last one (the commit itself is what matters).
fn publish_stored_trips(store: &Store, metrics: &PipelineMetrics) {
    match store.reader().count_gaps(&GapFilter::trips()) {
        Ok(trips) => metrics.trips.store(trips, Ordering::Relaxed),
        Err(error) => tracing::warn!(%error, "Counting the stored trips failed."),
    }
}

/// Runs the service with the configuration at `config_path` until SIGTERM or SIGINT.
pub fn run(config_path: &Path) -> Result<(), ServiceError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(ServiceError::Runtime)?;
    // Signals are ours from the start: a SIGTERM while the database opens is a clean stop too.
    let signals = runtime.block_on(async {
        Ok::<_, std::io::Error>(Signals {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
            hangup: signal(SignalKind::hangup())?,
        })
    });
    let signals = signals.map_err(ServiceError::Runtime)?;
    let config = Config::load(config_path)?;
    // Before the database is opened: a second writer must not even migrate it.
    let _writer_lock = WriterLock::acquire(&config.store.db)?;
    let mut store = Store::open(&config.store.db)?;
    store.save_ports(&config.ports)?;
    let (engine, positions, checkpoint, file_positions, kept_lines, stale_states) =
        open_engine(&config, &store)?;
    let metrics = Arc::new(PipelineMetrics::default());
    let health = Arc::new(StoreHealth::default());
    let state = Arc::new(ServiceState {
        pipeline: metrics.clone(),
        store: health.clone(),
        line_channel_capacity: LINE_CHANNEL_DEPTH,
        http_token: http::read_token(&config.http).map_err(ServiceError::Token)?,
        ..ServiceState::default()
    });

    let (commit_sender, commit_receiver) = std::sync::mpsc::sync_channel(COMMIT_CHANNEL_DEPTH);
    let give_up_after = Duration::from_secs(config.store.give_up_after_s);
    let writer = std::thread::Builder::new()
        .name("store-writer".into())
        .spawn({
            let (metrics, health) = (metrics.clone(), health.clone());
            move || write_commits(store, commit_receiver, metrics, health, give_up_after)
        })
        .expect("spawning the store writer thread");

    let (line_sender, line_receiver) = tokio::sync::mpsc::channel(LINE_CHANNEL_DEPTH);
    let (control_sender, control_receiver) = std::sync::mpsc::channel();
    let alert_delivery = alerts::start(&config.alerts, state.alerts.clone());
    let (alert_queue, alert_delivery) = match alert_delivery {
        Some((queue, delivery)) => (Some(queue), Some(delivery)),
        None => (None, None),
    };
    let pipeline = Pipeline::new(
        config.clone(),
        engine,
        &positions,
        metrics.clone(),
        commit_sender,
    )
    .with_alerts(alert_queue)
    .with_store_health(health.clone())
    .with_kept_lines(kept_lines)
    .with_stale_vessel_states(stale_states);
    // The events the reorder window held at the last commit; their lines are not read again.
    let pipeline = match &checkpoint {
        Some(checkpoint) => {
            pipeline
                .with_held_events(checkpoint)
                .map_err(|e| ServiceError::Checkpoint {
                    db: config.store.db.clone(),
                    error: format!("held events: {e}"),
                })?
        }
        None => pipeline,
    };
    let pipeline = std::thread::Builder::new()
        .name("pipeline".into())
        .spawn(move || pipeline.run(line_receiver, control_receiver))
        .expect("spawning the pipeline thread");

    let notifier = Notifier::from_env();
    let outcome = runtime.block_on(control_loop(
        signals,
        config_path,
        config,
        ToPipeline {
            lines: line_sender,
            control: control_sender,
            sources: Sources::new(&file_positions),
        },
        &state,
        &notifier,
        Stages {
            pipeline: &pipeline,
            writer: &writer,
        },
    ));
    let stop = outcome?;

    let stages = Stages {
        pipeline: &pipeline,
        writer: &writer,
    };
    wait_for_drain(stages, &health, &metrics)?;
    let pipeline = pipeline.join();
    let writer = writer.join();
    root_cause(stop, pipeline, writer).inspect_err(|error| {
        tracing::error!(%error, "The service stops on this fault; exiting with an error.");
    })?;
    if let Some(delivery) = alert_delivery {
        // Queued alerts get a last attempt each; no more waiting on a dead webhook.
        delivery.give_up.store(true, Ordering::Relaxed);
        let _ = delivery.thread.join();
    }
    runtime.shutdown_timeout(Duration::from_secs(1));
    tracing::info!(
        lines = metrics.lines.load(Ordering::Relaxed),
        commits = metrics.commits.load(Ordering::Relaxed),
        "Stopped; everything received is written."
    );
    Ok(())
}

/// Every sender is gone: the pipeline drains the channel, finishes and commits, and the writer
/// writes it, waiting through a store fault until the deadline; then it is told to give up.
fn wait_for_drain(
    stages: Stages<'_>,
    health: &StoreHealth,
    metrics: &PipelineMetrics,
) -> Result<(), ServiceError> {
    let deadline = Instant::now() + DRAIN_WITHIN;
    while !stages.pipeline.is_finished() || !stages.writer.is_finished() {
        if Instant::now() > deadline {
            if health.is_failing() && !health.told_to_give_up() {
                health.give_up_now();
            } else if Instant::now() > deadline + STOP_SOURCES_WITHIN {
                return Err(ServiceError::StopTimeout(format!(
                    "the pipeline or the store writer ({} lines received, {} committed)",
                    metrics.lines.load(Ordering::Relaxed),
                    metrics.committed_lines.load(Ordering::Relaxed)
                )));
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// Whatever part of the service ended while it ran, logged: the stop it calls for.
fn ended_early(
    stages: &Stages<'_>,
    sources: &Sources,
    http_server: Option<&http::HttpServer>,
) -> Option<Stop> {
    let ended = if let Some(stage) = stages.ended() {
        format!("{stage} thread")
    } else if let Some(source) = sources.panicked() {
        format!("source {source} (its task panicked)")
    } else if http_server.is_some_and(http::HttpServer::is_finished) {
        "HTTP listener".to_string()
    } else {
        return None;
    };
    tracing::error!(stage = %ended, "A part of the service ended while it ran; shutting down.");
    Some(Stop::StageEnded(ended))
}

/// The threads the control loop watches: either ending while the service runs ends it.
struct Stages<'a> {
    pipeline: &'a std::thread::JoinHandle<Result<(), pipeline::PipelineError>>,
    writer: &'a std::thread::JoinHandle<Result<(), StoreError>>,
}

impl Stages<'_> {
    fn ended(&self) -> Option<&'static str> {
        if self.writer.is_finished() {
            Some("store writer")
        } else if self.pipeline.is_finished() {
            Some("pipeline")
        } else {
            None
        }
    }
}

/// Why the control loop stopped.
#[derive(Clone, Debug, PartialEq)]
enum Stop {
    /// SIGTERM or SIGINT.
    Asked,
    /// A stage ended (or a source panicked) while the service ran.
    StageEnded(String),
}

type Joined<T> = std::thread::Result<Result<(), T>>;

/// The one error the service ends with: the writer's own fault first (the pipeline's "writer
/// gone" only follows from it), then the pipeline's, then whichever stage ended first.
fn root_cause(
    stop: Stop,
    pipeline: Joined<pipeline::PipelineError>,
    writer: Joined<StoreError>,
) -> Result<(), ServiceError> {
    let panicked = |stage, payload: Box<dyn std::any::Any + Send>| ServiceError::Panicked {
        stage,
        message: panic_message(&*payload),
    };
    writer.map_err(|p| panicked("store writer", p))??;
    pipeline.map_err(|p| panicked("pipeline", p))??;
    match stop {
        Stop::Asked => Ok(()),
        Stop::StageEnded(stage) => Err(ServiceError::StageEnded(stage)),
    }
}

/// The pipeline's inputs: lines from the sources (not started yet), orders from the control
/// loop.
struct ToPipeline {
    lines: tokio::sync::mpsc::Sender<RawLine>,
    control: std::sync::mpsc::Sender<Control>,
    sources: Sources,
}

struct Signals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
}

async fn control_loop(
    mut signals: Signals,
    config_path: &Path,
    mut config: Config,
    to_pipeline: ToPipeline,
    state: &Arc<ServiceState>,
    notifier: &Notifier,
    stages: Stages<'_>,
) -> Result<Stop, ServiceError> {
    let ToPipeline {
        lines: line_sender,
        control,
        mut sources,
    } = to_pipeline;
    let metrics = &state.pipeline;
    let http_server = http::HttpServer::start(&config, state).await;
    sources
        .apply(&config.sources, &line_sender, state, false)
        .await;
    state.ready.store(true, Ordering::Relaxed);
    tracing::info!(
        db = %config.store.db.display(),
        sources = config.sources.len(),
        ports = config.ports.len(),
        "Service ready."
    );
    notifier.send("READY=1\nSTATUS=Database open, sources started.");

    let watchdog = notify::watchdog_interval();
    let mut ping = tokio::time::interval(watchdog.unwrap_or(Duration::from_secs(3600)));
    let mut last_heartbeat = metrics.heartbeat.load(Ordering::Relaxed);
    // Watchdog or not, a stage that ends is noticed within this.
    let mut supervise = tokio::time::interval(SUPERVISE_EVERY);
    let stop = loop {
        tokio::select! {
            _ = signals.terminate.recv() => { tracing::info!("SIGTERM: stopping."); break Stop::Asked; }
            _ = signals.interrupt.recv() => { tracing::info!("SIGINT: stopping."); break Stop::Asked; }
            _ = supervise.tick() => {}
            _ = signals.hangup.recv() => {
                reload::reload(config_path, &mut config, &mut sources, &line_sender, state, &control, notifier).await;
            }
            _ = ping.tick(), if watchdog.is_some() => {
                // Only a pipeline that turned since the last ping is alive; a stuck one is
                // left for the watchdog to restart.
                let heartbeat = metrics.heartbeat.load(Ordering::Relaxed);
                if heartbeat != last_heartbeat && stages.ended().is_none() {
                    notifier.send("WATCHDOG=1");
                }
                last_heartbeat = heartbeat;
            }
        }
        if let Some(stop) = ended_early(&stages, &sources, http_server.as_ref()) {
            break stop;
        }
    };
    let status = match &stop {
        Stop::Asked => "Stopping.".to_string(),
        Stop::StageEnded(stage) => format!("Stopping: the {stage} ended."),
    };
    notifier.send(&format!("STOPPING=1\nSTATUS={status}"));
    state.ready.store(false, Ordering::Relaxed);
    sources.stop_all().await;
    drop(line_sender);
    if let Some(server) = http_server {
        server.stop().await;
    }
    Ok(stop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined<T: Send + 'static>(
        body: impl FnOnce() -> Result<(), T> + Send + 'static,
    ) -> Joined<T> {
        std::thread::spawn(body).join()
    }

    #[test]
    fn the_writer_fault_is_the_root_cause_not_the_pipeline_it_stopped() {
        let writer = joined(|| {
            Err(StoreError::Deleted {
                path: "/srv/aisgap.db".into(),
                rescued: None,
            })
        });
        let pipeline = joined(|| Err(pipeline::PipelineError::WriterGone));
        let error = root_cause(
            Stop::StageEnded("store writer thread".into()),
            pipeline,
            writer,
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("/srv/aisgap.db was deleted"),
            "{error}"
        );
    }

    #[test]
    fn a_panic_is_reported_with_its_stage_and_message() {
        let writer = joined::<StoreError>(|| Ok(()));
        let pipeline = joined::<pipeline::PipelineError>(|| panic!("checkpoint too large"));
        let error = root_cause(Stop::Asked, pipeline, writer).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the pipeline thread panicked: checkpoint too large"
        );
    }

    #[test]
    fn a_stage_that_ended_cleanly_while_the_service_ran_is_still_an_error() {
        let stop = Stop::StageEnded("pipeline thread".into());
        let error = root_cause(stop, joined(|| Ok(())), joined(|| Ok(()))).unwrap_err();
        assert_eq!(error.to_string(), "the pipeline thread ended unexpectedly");
        assert!(root_cause(Stop::Asked, joined(|| Ok(())), joined(|| Ok(()))).is_ok());
    }

    #[tokio::test]
    async fn a_source_task_that_panics_is_named_and_one_that_is_aborted_is_not() {
        let sources = Sources::new(&[]);
        let watch = |name: &str| PanicWatch {
            source: Arc::from(name),
            panicked: sources.panicked.clone(),
        };
        let aborted = watch("quiet");
        let task = tokio::spawn(async move {
            let _watch = aborted;
            std::future::pending::<()>().await;
        });
        task.abort();
        let _ = task.await;
        assert_eq!(sources.panicked(), None);
        let panicking = watch("radio");
        let task = tokio::spawn(async move {
            let _watch = panicking;
            panic!("a source bug");
        });
        assert!(task.await.unwrap_err().is_panic());
        assert_eq!(sources.panicked().as_deref(), Some("radio"));
    }
}
