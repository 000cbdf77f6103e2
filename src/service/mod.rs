//! `aisgap run`: the long-running service. Sources (tokio tasks) feed one pipeline thread
//! (decode + engine, the same as `replay`), which commits to the store's writer thread; the
//! control loop handles signals (SIGTERM/SIGINT stop, SIGHUP reload) and the service manager.

pub mod alerts;
pub mod http;
pub mod notify;
pub mod pipeline;
mod reorder;
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
use crate::engine::{Engine, EngineCheckpoint};
use crate::source::{run_source, RawLine, SourceMetrics, SourceSpec};
use crate::store::{Commit, LockError, Store, StoreError, WriterLock};
use http::ServiceState;
use notify::Notifier;
use pipeline::{Control, Pipeline, PipelineMetrics};

/// Lines waiting between the sources and the pipeline. Full, it holds TCP sources back.
pub const LINE_CHANNEL_DEPTH: usize = 16_384;
/// Commits waiting for the database writer.
const COMMIT_CHANNEL_DEPTH: usize = 2;
/// How long sources get to stop, and how long the pipeline gets to drain and commit.
const STOP_SOURCES_WITHIN: Duration = Duration::from_secs(5);
const DRAIN_WITHIN: Duration = Duration::from_secs(60);

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
    #[error("the {0} thread panicked")]
    Panicked(&'static str),
}

/// The running sources, by name, each with its own stop token.
struct Sources {
    running: BTreeMap<Arc<str>, RunningSource>,
}

struct RunningSource {
    spec: SourceSpec,
    stop: CancellationToken,
    task: JoinHandle<()>,
    metrics: Arc<SourceMetrics>,
}

impl Sources {
    fn new() -> Sources {
        Sources {
            running: BTreeMap::new(),
        }
    }

    /// Starts the sources of `specs` not already running unchanged; stops the others.
    async fn apply(
        &mut self,
        specs: &[SourceSpec],
        lines: &tokio::sync::mpsc::Sender<RawLine>,
        state: &ServiceState,
    ) {
        let stale: Vec<Arc<str>> = self
            .running
            .iter()
            .filter(|(name, running)| !specs.iter().any(|s| &s.name == *name && *s == running.spec))
            .map(|(name, _)| name.clone())
            .collect();
        for name in stale {
            if let Some(source) = self.running.remove(&name) {
                if let Ok(mut registry) = state.sources.lock() {
                    registry.remove(&name);
                }
                tracing::info!(source = %name, "Stopping source (configuration changed).");
                stop_one(source).await;
            }
        }
        for spec in specs {
            if self.running.contains_key(&spec.name) {
                continue;
            }
            let stop = CancellationToken::new();
            let metrics = Arc::new(SourceMetrics::default());
            let task = tokio::spawn({
                let (spec, lines, metrics, stop) =
                    (spec.clone(), lines.clone(), metrics.clone(), stop.clone());
                async move {
                    // Failures are logged by the source itself; the service keeps running.
                    let _ = run_source(spec, lines, metrics, stop).await;
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
    }

    async fn stop_all(&mut self) {
        for source in std::mem::take(&mut self.running).into_values() {
            stop_one(source).await;
        }
    }
}

async fn stop_one(source: RunningSource) {
    source.stop.cancel();
    let counts = source.metrics.snapshot();
    tracing::debug!(source = %source.spec.name, lines = counts.lines, bytes = counts.bytes, errors = counts.errors, "Source counters.");
    let abort = source.task.abort_handle();
    if tokio::time::timeout(STOP_SOURCES_WITHIN, source.task)
        .await
        .is_err()
    {
        tracing::warn!(source = %source.spec.name, "Source did not stop in time; aborting it.");
        abort.abort();
    }
}

/// The engine, each source's committed line count, and the checkpoint it came from (which
/// also holds the events the reorder window held).
type OpenedEngine = (Engine, Vec<(String, u64)>, Option<String>);

/// Opens the database and the engine where the last commit left them.
fn open_engine(config: &Config, store: &Store) -> Result<OpenedEngine, ServiceError> {
    let fresh = || {
        Engine::new(
            config.detect.clone(),
            config.ports.clone(),
            config.watchlist.clone(),
            config.store.track_interval_minutes,
        )
    };
    let Some(resume) = store.resume_point()? else {
        tracing::info!("No checkpoint in the database; starting afresh.");
        return Ok((fresh(), Vec::new(), None));
    };
    let broken = |error: String| ServiceError::Checkpoint {
        db: config.store.db.clone(),
        error,
    };
    let mut checkpoint: EngineCheckpoint =
        serde_json::from_str(&resume.checkpoint).map_err(|e| broken(e.to_string()))?;
    let mut vessels = std::collections::HashMap::new();
    for (mmsi, state) in &resume.vessel_states {
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
    let mut engine = Engine::restore(
        config.detect.clone(),
        config.ports.clone(),
        config.watchlist.clone(),
        config.store.track_interval_minutes,
        checkpoint,
    );
    // The configuration may have changed while the service was down.
    engine.reconfigure(
        config.detect.clone(),
        config.ports.clone(),
        config.watchlist.clone(),
        config.store.track_interval_minutes,
    );
    tracing::info!(
        saved_at = %resume.saved_at,
        stream_clock = %engine.clock().map_or_else(|| "-".to_string(), |c| c.to_string()),
        vessels = engine.vessels().len(),
        "Resuming from the last checkpoint."
    );
    Ok((engine, resume.positions, Some(resume.checkpoint)))
}

fn write_commits(
    mut store: Store,
    commits: std::sync::mpsc::Receiver<Commit>,
    metrics: Arc<PipelineMetrics>,
) -> Result<(), StoreError> {
    while let Ok(commit) = commits.recv() {
        let started = Instant::now();
        store.commit(&commit)?;
        let micros = started.elapsed().as_micros() as u64;
        metrics.last_commit_us.store(micros, Ordering::Relaxed);
        metrics.commit_us_total.fetch_add(micros, Ordering::Relaxed);
        metrics.commits.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
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
    let (engine, positions, checkpoint) = open_engine(&config, &store)?;
    let metrics = Arc::new(PipelineMetrics::default());
    let state = Arc::new(ServiceState {
        pipeline: metrics.clone(),
        line_channel_capacity: LINE_CHANNEL_DEPTH,
        http_token: http::read_token(&config.http).map_err(ServiceError::Token)?,
        ..ServiceState::default()
    });

    let (commit_sender, commit_receiver) = std::sync::mpsc::sync_channel(COMMIT_CHANNEL_DEPTH);
    let writer = std::thread::Builder::new()
        .name("store-writer".into())
        .spawn({
            let metrics = metrics.clone();
            move || write_commits(store, commit_receiver, metrics)
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
    .with_alerts(alert_queue);
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
        },
        &state,
        &notifier,
        &pipeline,
    ));
    outcome?;

    // Every sender is gone: the pipeline drains the channel, finishes and commits.
    let deadline = Instant::now() + DRAIN_WITHIN;
    while !pipeline.is_finished() {
        if Instant::now() > deadline {
            return Err(ServiceError::StopTimeout(format!(
                "the pipeline ({} lines received, {} committed)",
                metrics.lines.load(Ordering::Relaxed),
                metrics.committed_lines.load(Ordering::Relaxed)
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    pipeline
        .join()
        .map_err(|_| ServiceError::Panicked("pipeline"))??;
    writer
        .join()
        .map_err(|_| ServiceError::Panicked("store writer"))??;
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

/// The pipeline's inputs: lines from the sources, orders from the control loop.
struct ToPipeline {
    lines: tokio::sync::mpsc::Sender<RawLine>,
    control: std::sync::mpsc::Sender<Control>,
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
    pipeline: &std::thread::JoinHandle<Result<(), pipeline::PipelineError>>,
) -> Result<(), ServiceError> {
    let ToPipeline {
        lines: line_sender,
        control,
    } = to_pipeline;
    let metrics = &state.pipeline;
    let http_server = http::HttpServer::start(&config, state).await;
    let mut sources = Sources::new();
    sources.apply(&config.sources, &line_sender, state).await;
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
    loop {
        tokio::select! {
            _ = signals.terminate.recv() => { tracing::info!("SIGTERM: stopping."); break; }
            _ = signals.interrupt.recv() => { tracing::info!("SIGINT: stopping."); break; }
            _ = signals.hangup.recv() => {
                notifier.send("RELOADING=1");
                match Config::load(config_path) {
                    Err(errors) => {
                        for problem in &errors.problems {
                            tracing::error!("{problem}");
                        }
                        tracing::error!(problems = errors.problems.len(), "Reload refused; the running configuration stays in force.");
                    }
                    Ok(new) => {
                        if new.store.db != config.store.db {
                            tracing::warn!(db = %new.store.db.display(), "A new database path takes effect only after a restart.");
                        }
                        if new.alerts != config.alerts {
                            tracing::warn!("New [alerts] settings take effect only after a restart.");
                        }
                        if new.http != config.http {
                            tracing::warn!(listen = %new.http.listen, "A new HTTP address takes effect only after a restart.");
                        }
                        sources.apply(&new.sources, &line_sender, state).await;
                        let _ = control.send(Control::Reconfigure(Box::new(new.clone())));
                        config = new;
                        tracing::info!(sources = config.sources.len(), ports = config.ports.len(), "Configuration reloaded.");
                    }
                }
                notifier.send("READY=1");
            }
            _ = ping.tick(), if watchdog.is_some() => {
                // Only a pipeline that turned since the last ping is alive; a stuck one is
                // left for the watchdog to restart.
                let heartbeat = metrics.heartbeat.load(Ordering::Relaxed);
                if heartbeat != last_heartbeat && !pipeline.is_finished() {
                    notifier.send("WATCHDOG=1");
                }
                last_heartbeat = heartbeat;
            }
        }
        if pipeline.is_finished() {
            tracing::error!("The pipeline stopped; shutting down.");
            break;
        }
    }
    notifier.send("STOPPING=1");
    state.ready.store(false, Ordering::Relaxed);
    sources.stop_all().await;
    drop(line_sender);
    if let Some(server) = http_server {
        server.stop().await;
    }
    Ok(())
}
