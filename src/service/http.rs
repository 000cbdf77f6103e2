//! The service's own HTTP endpoints, as an `axum::Router` to merge with others on one
//! listener: `/metrics` (Prometheus text, rendered from the live counters), `/healthz` (the
//! pipeline is turning) and `/readyz` (database open, sources started, not stopping), and
//! the listener that serves them, with the analysts' API where that is safe. With `[http]
//! token_file`, `/metrics` and the API need the bearer token; health and readiness never do,
//! so that the service manager and load balancers can probe them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::api::{AccessToken, ConnectionMetrics};
use crate::config::Config;
use crate::decode::DecodeStats;
use crate::service::pipeline::{PipelineMetrics, DELAY_BUCKETS_MS};
use crate::source::SourceMetrics;
use crate::store::StoreHealth;
use crate::time;

/// A pipeline that has not turned for this long is unhealthy (it turns every few
/// milliseconds, busy or idle).
const HEALTHY_TURN_AGE_MS: i64 = 10_000;

/// Everything the endpoints report, shared with the control loop and the pipeline.
#[derive(Debug, Default)]
pub struct ServiceState {
    pub pipeline: Arc<PipelineMetrics>,
    /// Counters of the sources running now, by name (replaced on reload).
    pub sources: Mutex<BTreeMap<Arc<str>, Arc<SourceMetrics>>>,
    /// Database open and sources started, and not yet stopping.
    pub ready: AtomicBool,
    /// Capacity of the line channel, for its depth.
    pub line_channel_capacity: usize,
    pub alerts: Arc<crate::service::alerts::AlertMetrics>,
    /// Whether the database can be written; failing turns health and readiness at once.
    pub store: Arc<StoreHealth>,
    /// What the listener's limits did to its connections.
    pub connections: Arc<ConnectionMetrics>,
    /// `[http] token_file`, read at start.
    pub http_token: Option<AccessToken>,
}

/// The service's own routes; the analysts' API router merges with it on one listener. With a
/// token, `/metrics` needs it; health and readiness stay open.
pub fn router(state: Arc<ServiceState>) -> Router {
    let metrics_route = match state.http_token.clone() {
        Some(token) => get(metrics).route_layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let admitted = token.admits(
                    request
                        .headers()
                        .get(header::AUTHORIZATION)
                        .map(axum::http::HeaderValue::as_bytes),
                );
                async move {
                    if admitted {
                        next.run(request).await
                    } else {
                        crate::api::ApiError::Unauthorized.into_response()
                    }
                }
            },
        )),
        None => get(metrics),
    };
    Router::new()
        .route("/metrics", metrics_route)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
}

/// Why the database cannot be written, for `/healthz` and `/readyz`.
fn store_failing(state: &ServiceState) -> Option<String> {
    let (since, reason) = state.store.failing()?;
    let for_s = (time::now().as_millis() - since.as_millis()).max(0) as f64 / 1000.0;
    Some(format!(
        "database cannot be written for {for_s:.1} s (since {since}), intake held back: {reason}\n"
    ))
}

/// `[http] token_file`, when set, by the rules of `aisgap serve --token-file`.
pub fn read_token(
    params: &crate::config::HttpParams,
) -> Result<Option<AccessToken>, crate::api::ApiError> {
    params
        .token_file
        .as_deref()
        .map(AccessToken::from_file)
        .transpose()
}

/// The running listener.
pub struct HttpServer {
    task: tokio::task::JoinHandle<()>,
    stop: tokio_util::sync::CancellationToken,
}

impl HttpServer {
    /// Listens on `[http] listen` when set; a failure to bind is logged and the service runs
    /// on without its endpoints (they are for watching it; detection does not need them).
    pub async fn start(config: &Config, state: &Arc<ServiceState>) -> Option<HttpServer> {
        let address = config.http.address()?;
        let listener = match crate::api::listener::bind(address) {
            Ok(listener) => listener,
            Err(error) => {
                tracing::error!(%address, %error, "Cannot listen for HTTP; running without /metrics.");
                return None;
            }
        };
        let bound = listener.local_addr().unwrap_or(address);
        let limits = config.http.limits();
        tracing::info!(
            address = %bound,
            token = state.http_token.is_some(),
            max_connections = limits.max_connections,
            "Serving /metrics, /healthz and /readyz."
        );
        let router = with_analyst_api(router(state.clone()), config, bound, &state.http_token);
        let stop = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn({
            let (stop, metrics) = (stop.clone(), state.connections.clone());
            async move {
                let served = crate::api::serve_limited(
                    listener,
                    router,
                    limits,
                    metrics,
                    stop.cancelled_owned(),
                )
                .await;
                if let Err(error) = served {
                    tracing::error!(%error, "The HTTP listener failed.");
                }
            }
        });
        Some(HttpServer { task, stop })
    }

    /// Whether the listener ended by itself (it only ends when told to, or on a fault).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Stops accepting and lets requests in flight finish, for a few seconds at most.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(6), self.task).await;
    }
}

/// Adds the analysts' API and map page to the service's listener where it is safe: on
/// loopback, or anywhere with a token (which the API then requires, as `aisgap serve` does).
fn with_analyst_api(
    router: Router,
    config: &Config,
    address: std::net::SocketAddr,
    token: &Option<AccessToken>,
) -> Router {
    // Tokenless on loopback: metrics and health too answer only loopback Host names.
    let router = if token.is_none() && address.ip().is_loopback() {
        router.layer(axum::middleware::from_fn(
            crate::api::auth::loopback_host_only,
        ))
    } else {
        router
    };
    if let Err(error) = crate::api::check_exposure(address, token.as_ref()) {
        tracing::warn!(
            %address, %error,
            "Serving /metrics to other machines without a token, and not the analysts' API; set [http] token_file."
        );
        return router;
    }
    match crate::api::ApiState::open(&config.store.db, token.clone()) {
        Ok(api) => {
            let api = api.with_tally_report(config.report.clone());
            tracing::info!(%address, token = token.is_some(), "Serving the map page and /api/v1.");
            router.merge(crate::api::router(api))
        }
        Err(error) => {
            tracing::warn!(%error, "Not serving the analysts' API: the database cannot be read.");
            router
        }
    }
}

async fn healthz(State(state): State<Arc<ServiceState>>) -> impl IntoResponse {
    if let Some(failing) = store_failing(&state) {
        return (StatusCode::SERVICE_UNAVAILABLE, failing);
    }
    let last = state.pipeline.last_turn_at_ms.load(Ordering::Relaxed);
    let age = time::now().as_millis() - last;
    if last > 0 && age < HEALTHY_TURN_AGE_MS {
        (StatusCode::OK, "ok\n".to_string())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("pipeline has not turned for {age} ms\n"),
        )
    }
}

async fn readyz(State(state): State<Arc<ServiceState>>) -> impl IntoResponse {
    if let Some(failing) = store_failing(&state) {
        (StatusCode::SERVICE_UNAVAILABLE, failing)
    } else if state.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready\n".to_string())
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n".to_string())
    }
}

async fn metrics(State(state): State<Arc<ServiceState>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(&state),
    )
}

/// One metric family: its help and type lines, then its samples.
struct Family<'a> {
    out: &'a mut String,
}

impl Family<'_> {
    fn start<'o>(out: &'o mut String, name: &str, kind: &str, help: &str) -> Family<'o> {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        Family { out }
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (key, val)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let escaped = val
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n");
                let _ = write!(self.out, "{key}=\"{escaped}\"");
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }
}

/// The Prometheus text exposition of every counter.
pub fn render(state: &ServiceState) -> String {
    let mut out = String::with_capacity(4096);
    let now = time::now().as_millis();
    render_sources(&mut out, state, now);
    render_decode(&mut out, state);
    render_delays(&mut out, state);
    render_stream_clock(&mut out, state, now);
    render_counters(&mut out, state);
    super::at_sea_metrics::render_at_sea(&mut out, &state.pipeline);
    render_store(&mut out, state, now);
    render_connections(&mut out, &state.connections);
    out
}

/// What the listener's limits did.
fn render_connections(out: &mut String, c: &ConnectionMetrics) {
    let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    Family::start(
        out,
        "aisgap_http_connections_open",
        "gauge",
        "HTTP connections open now.",
    )
    .sample("aisgap_http_connections_open", &[], get(&c.open));
    Family::start(
        out,
        "aisgap_http_connections_total",
        "counter",
        "HTTP connections accepted.",
    )
    .sample("aisgap_http_connections_total", &[], get(&c.accepted));
    let name = "aisgap_http_connections_refused_total";
    let mut family = Family::start(
        out,
        name,
        "counter",
        "HTTP connections refused (503) at the cap with every connection busy, or not accepted.",
    );
    family.sample(name, &[("reason", "full")], get(&c.refused_full));
    family.sample(name, &[("reason", "accept_error")], get(&c.accept_errors));
    let name = "aisgap_http_connections_closed_total";
    let mut family = Family::start(
        out,
        name,
        "counter",
        "HTTP connections closed by the listener's limits, by reason.",
    );
    family.sample(
        name,
        &[("reason", "header_timeout")],
        get(&c.closed_header_timeout),
    );
    family.sample(name, &[("reason", "idle_timeout")], get(&c.closed_idle));
    family.sample(name, &[("reason", "evicted")], get(&c.closed_evicted));
}

/// Each source's counters and gauges, and how long since each last handed on a line.
fn render_sources(out: &mut String, state: &ServiceState, now: i64) {
    let sources: Vec<(Arc<str>, Arc<SourceMetrics>)> = state
        .sources
        .lock()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let snapshots: Vec<_> = sources.iter().map(|(n, m)| (n, m.snapshot())).collect();
    type Pick = fn(&crate::source::SourceMetricsSnapshot) -> u64;
    let per_source: [(&str, &str, &str, Pick); 7] = [
        (
            "aisgap_source_lines_total",
            "counter",
            "Lines handed on by each source.",
            |s| s.lines,
        ),
        (
            "aisgap_source_bytes_total",
            "counter",
            "Bytes read by each source.",
            |s| s.bytes,
        ),
        (
            "aisgap_source_too_long_total",
            "counter",
            "Lines dropped as longer than max_line_bytes.",
            |s| s.too_long,
        ),
        (
            "aisgap_source_errors_total",
            "counter",
            "Failed connects, opens, binds and reads.",
            |s| s.errors,
        ),
        (
            "aisgap_source_connects_total",
            "counter",
            "Connections made or accepted, files or devices opened.",
            |s| s.connects,
        ),
        (
            "aisgap_source_stalls_total",
            "counter",
            "Connections closed after read_timeout_s of silence.",
            |s| s.stalls,
        ),
        (
            "aisgap_source_connected",
            "gauge",
            "Open connections, clients, files or sockets now.",
            |s| s.connected,
        ),
    ];
    for (name, kind, help, pick) in per_source {
        let mut family = Family::start(out, name, kind, help);
        for (source, snapshot) in &snapshots {
            family.sample(name, &[("source", &**source)], pick(snapshot));
        }
    }
    let name = "aisgap_source_dropped_total";
    let mut family = Family::start(
        out,
        name,
        "counter",
        "UDP datagrams' lines dropped: pipeline_full (lines, the service behind) and \
         kernel_overflow (datagrams the kernel dropped, its receive buffer full).",
    );
    for (source, snapshot) in &snapshots {
        family.sample(
            name,
            &[("source", &**source), ("reason", "pipeline_full")],
            snapshot.dropped,
        );
        family.sample(
            name,
            &[("source", &**source), ("reason", "kernel_overflow")],
            snapshot.kernel_dropped,
        );
    }
    let mut family = Family::start(
        out,
        "aisgap_source_last_line_age_seconds",
        "gauge",
        "Seconds since each source last handed on a line (absent before its first).",
    );
    for (source, snapshot) in &snapshots {
        if let Some(last) = snapshot.last_line_at {
            let age = (now - last.as_millis()).max(0) as f64 / 1000.0;
            family.sample(
                "aisgap_source_last_line_age_seconds",
                &[("source", &**source)],
                age,
            );
        }
    }
}

/// Messages decoded and lines refused, per source.
fn render_decode(out: &mut String, state: &ServiceState) {
    let p = &state.pipeline;
    let decode: Vec<(Arc<str>, DecodeStats)> = p
        .decode
        .lock()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let mut family = Family::start(
        out,
        "aisgap_messages_total",
        "counter",
        "AIS messages decoded, by message type and source (as of the last commit).",
    );
    for (source, stats) in &decode {
        for (msg_type, n) in stats.types() {
            family.sample(
                "aisgap_messages_total",
                &[("source", &**source), ("type", &msg_type.to_string())],
                n,
            );
        }
    }
    let mut family = Family::start(
        out,
        "aisgap_messages_by_talker_total",
        "counter",
        "AIS messages decoded, by NMEA talker and source (as of the last commit).",
    );
    for (source, stats) in &decode {
        for (talker, n) in stats.by_talker.iter() {
            family.sample(
                "aisgap_messages_by_talker_total",
                &[("source", &**source), ("talker", &talker)],
                n,
            );
        }
        if stats.by_talker.other() > 0 {
            family.sample(
                "aisgap_messages_by_talker_total",
                &[("source", &**source), ("talker", "other")],
                stats.by_talker.other(),
            );
        }
    }
    let mut family = Family::start(
        out,
        "aisgap_duplicates_total",
        "counter",
        "Messages heard again within the duplicate window and not passed on, by source.",
    );
    for (source, stats) in &decode {
        family.sample(
            "aisgap_duplicates_total",
            &[("source", &**source)],
            stats.duplicates,
        );
    }
    let mut family = Family::start(
        out,
        "aisgap_rejects_total",
        "counter",
        "Lines or sentences refused, by reason and source (as of the last commit).",
    );
    for (source, stats) in &decode {
        for (reason, n) in stats.rejects.iter() {
            family.sample(
                "aisgap_rejects_total",
                &[("source", &**source), ("reason", reason.name())],
                n,
            );
        }
    }
    let mut family = Family::start(
        out,
        "aisgap_csv_unreadable_cells_total",
        "counter",
        "CSV cells that could not be read and were left out (their rows kept), by column and source.",
    );
    for (source, stats) in &decode {
        for (column, &n) in &stats.csv_unreadable_cells {
            family.sample(
                "aisgap_csv_unreadable_cells_total",
                &[("source", &**source), ("column", column)],
                n,
            );
        }
    }
    render_clock(out, &decode);
}

/// What timed each source's messages, and how many had no time at all (dropped).
fn render_clock(out: &mut String, decode: &[(Arc<str>, DecodeStats)]) {
    let mut family = Family::start(
        out,
        "aisgap_messages_timed_total",
        "counter",
        "AIS messages by the carrier that timed them (received: the line's receive time; received_on_source_clock: it moved by the source's lag), per source.",
    );
    for (source, stats) in decode {
        let clock = &stats.clock;
        for (carrier, n) in clock
            .timed_by()
            .iter()
            .map(|(c, n)| (c.name(), *n))
            .chain(clock.timed_by_receipt())
        {
            family.sample(
                "aisgap_messages_timed_total",
                &[("source", &**source), ("carrier", carrier)],
                n,
            );
        }
    }
    let mut family = Family::start(
        out,
        "aisgap_messages_untimed_total",
        "counter",
        "AIS messages decoded without any time (dropped by the engine), per source.",
    );
    for (source, stats) in decode {
        family.sample(
            "aisgap_messages_untimed_total",
            &[("source", &**source)],
            stats.clock.untimed,
        );
    }
}

/// The histogram of delays from a line's receipt to the engine.
fn render_delays(out: &mut String, state: &ServiceState) {
    let p = &state.pipeline;
    let delays = p.delays.lock().map(|d| *d).unwrap_or_default();
    let name = "aisgap_pipeline_delay_seconds";
    let mut family = Family::start(
        out,
        name,
        "histogram",
        "Delay from a line's receipt to the engine having taken it (as of the last commit).",
    );
    let mut cumulative = 0u64;
    for (bound, n) in DELAY_BUCKETS_MS.iter().zip(delays.iter()) {
        cumulative += n;
        let le = format!("{}", *bound as f64 / 1000.0);
        family.sample(&format!("{name}_bucket"), &[("le", &le)], cumulative);
    }
    cumulative += delays[DELAY_BUCKETS_MS.len()];
    family.sample(&format!("{name}_bucket"), &[("le", "+Inf")], cumulative);
    family.sample(
        &format!("{name}_sum"),
        &[],
        p.delay_ms_sum.load(Ordering::Relaxed) as f64 / 1000.0,
    );
    family.sample(&format!("{name}_count"), &[], cumulative);
}

/// How far the stream clock lags the wall clock.
fn render_stream_clock(out: &mut String, state: &ServiceState, now: i64) {
    let p = &state.pipeline;
    let clock = p.stream_clock_ms.load(Ordering::Relaxed);
    let mut family = Family::start(
        out,
        "aisgap_stream_clock_lag_seconds",
        "gauge",
        "Wall time minus the stream clock (the latest event time seen).",
    );
    if clock > 0 {
        family.sample(
            "aisgap_stream_clock_lag_seconds",
            &[],
            (now - clock) as f64 / 1000.0,
        );
    }
}

/// What left the engine's memory, the judgements late data changed, and the receptions it
/// took for copies.
fn engine_counters(p: &PipelineMetrics) -> [(&'static str, &'static str, &'static str, u64); 5] {
    let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    [
        (
            "aisgap_vessels_forgotten_total",
            "counter",
            "Vessels that left memory after forget_after_hours of silence.",
            get(&p.forgotten_vessels),
        ),
        (
            "aisgap_vessels_evicted_total",
            "counter",
            "Vessels that left memory because max_tracked_vessels were tracked.",
            get(&p.evicted_vessels),
        ),
        (
            "aisgap_gaps_rejudged_total",
            "counter",
            "Recorded gaps whose judgement late data changed.",
            get(&p.rejudged_gaps),
        ),
        (
            "aisgap_fix_copies_total",
            "counter",
            "Fixes taken for another source's copy of the vessel's last fix, not stored.",
            get(&p.copied_fixes),
        ),
        (
            "aisgap_report_copies_total",
            "counter",
            "Static reports taken for another source's copy of the vessel's last one, not applied.",
            get(&p.copied_reports),
        ),
    ]
}

/// The pipeline's, the alerts' and the database's single-valued counters and gauges.
// Long by design: one table entry per exported series, each with its name, kind and help.
fn render_counters(out: &mut String, state: &ServiceState) {
    let p = &state.pipeline;
    let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    let a = &state.alerts;
    let gauges: [(&str, &str, &str, u64); 17] = [
        (
            "aisgap_alerts_queued_total",
            "counter",
            "Alerts queued for delivery.",
            get(&a.queued),
        ),
        (
            "aisgap_alerts_delivered_total",
            "counter",
            "Alerts delivered to every target.",
            get(&a.delivered),
        ),
        (
            "aisgap_alerts_dropped_total",
            "counter",
            "Alerts dropped because the queue was full.",
            get(&a.dropped),
        ),
        (
            "aisgap_alert_retries_total",
            "counter",
            "Failed alert delivery attempts that were retried.",
            get(&a.retries),
        ),
        (
            "aisgap_lines_total",
            "counter",
            "Lines consumed by the pipeline (all sources, since the database began).",
            get(&p.lines),
        ),
        (
            "aisgap_events_total",
            "counter",
            "Decoded events fed to the engine since start.",
            get(&p.events),
        ),
        (
            "aisgap_vessels_tracked",
            "gauge",
            "Vessels in the vessel table.",
            get(&p.vessels),
        ),
        (
            "aisgap_open_gaps",
            "gauge",
            "Watched vessels silent near a port at the stream clock.",
            get(&p.open_gaps),
        ),
        (
            "aisgap_dark_now",
            "gauge",
            "Open gaps announced as dark now.",
            get(&p.dark_now),
        ),
        (
            "aisgap_trips_total",
            "gauge",
            "Trips in the database (what query trips lists); falls when one is withdrawn.",
            get(&p.trips),
        ),
        (
            "aisgap_mmsis_with_several_transmitters",
            "gauge",
            "MMSIs heard now from more than one transmitter (segments of two fixes or more that no one hull could have sent): shared or spoofed identities.",
            get(&p.several_transmitters),
        ),
        (
            "aisgap_segments_started_total",
            "counter",
            "Segments started after an MMSI's first: fixes no segment of that MMSI could have sent.",
            get(&p.segments_started),
        ),
        (
            "aisgap_segments_dropped_total",
            "counter",
            "Segments given up because their MMSI had as many as detect.segments_per_mmsi.",
            get(&p.segments_dropped),
        ),
        (
            "aisgap_db_commits_total",
            "counter",
            "Commits written to the database since start.",
            get(&p.commits),
        ),
        (
            "aisgap_line_channel_depth",
            "gauge",
            "Lines waiting between the sources and the pipeline.",
            get(&p.line_channel_depth),
        ),
        (
            "aisgap_line_channel_capacity",
            "gauge",
            "Capacity of that channel.",
            state.line_channel_capacity as u64,
        ),
        (
            "aisgap_unclocked_held",
            "gauge",
            "Messages of sources whose clock has not shown yet, held until it does (at most 2 s).",
            get(&p.unclocked_held),
        ),
    ];
    for (name, kind, help, value) in gauges.into_iter().chain(engine_counters(p)) {
        Family::start(out, name, kind, help).sample(name, &[], value);
    }
    Family::start(
        out,
        "aisgap_db_commit_seconds_total",
        "counter",
        "Time spent writing commits (divide by aisgap_db_commits_total for the mean).",
    )
    .sample(
        "aisgap_db_commit_seconds_total",
        &[],
        get(&p.commit_us_total) as f64 / 1e6,
    );
    Family::start(
        out,
        "aisgap_db_last_commit_seconds",
        "gauge",
        "Duration of the last database commit.",
    )
    .sample(
        "aisgap_db_last_commit_seconds",
        &[],
        get(&p.last_commit_us) as f64 / 1e6,
    );
}

/// The database's faults: how many writes failed by kind, how long it could not be written.
fn render_store(out: &mut String, state: &ServiceState, now: i64) {
    let store = &state.store;
    let name = "aisgap_db_errors_total";
    let mut family = Family::start(out, name, "counter", "Failed database writes, by kind.");
    for (kind, count) in store.errors_by_kind() {
        family.sample(name, &[("kind", kind)], count);
    }
    let samples: [(&str, &str, &str, f64); 4] = [
        (
            "aisgap_db_unavailable_seconds_total",
            "counter",
            "Seconds the database could not be written (intake held back), the current outage included.",
            store.unavailable_seconds(time::UnixMillis(now)),
        ),
        (
            "aisgap_db_available",
            "gauge",
            "1 while the database can be written, 0 during an outage.",
            if store.is_failing() { 0.0 } else { 1.0 },
        ),
        (
            "aisgap_db_retries_total",
            "counter",
            "Failed commits written again.",
            store.retries() as f64,
        ),
        (
            "aisgap_db_recoveries_total",
            "counter",
            "Outages that ended with the held commit written.",
            store.recoveries() as f64,
        ),
    ];
    for (name, kind, help, value) in samples {
        Family::start(out, name, kind, help).sample(name, &[], value);
    }
}
