//! The service's own HTTP endpoints, as an `axum::Router` to merge with others on one
//! listener: `/metrics` (Prometheus text, rendered from the live counters), `/healthz` (the
//! pipeline is turning) and `/readyz` (database open, sources started, not stopping).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::decode::DecodeStats;
use crate::service::pipeline::{PipelineMetrics, DELAY_BUCKETS_MS};
use crate::source::SourceMetrics;
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
}

/// The service's own routes; the analysts' API router merges with it on one listener.
pub fn router(state: Arc<ServiceState>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
}

async fn healthz(State(state): State<Arc<ServiceState>>) -> impl IntoResponse {
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
    if state.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
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
    out
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
    let per_source: [(&str, &str, &str, Pick); 8] = [
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
            "aisgap_source_dropped_total",
            "counter",
            "Lines dropped because the pipeline was full (UDP).",
            |s| s.dropped,
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
        "AIS messages by the carrier that timed them (received: the line's receive time), per source.",
    );
    for (source, stats) in decode {
        let clock = &stats.clock;
        let received = ("received", clock.timed_by_received);
        for (carrier, n) in clock
            .timed_by()
            .iter()
            .map(|(c, n)| (c.name(), *n))
            .chain([received])
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

/// What left the engine's memory, and the judgements late data changed.
fn memory_counters(p: &PipelineMetrics) -> [(&'static str, &'static str, &'static str, u64); 3] {
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
    ]
}

/// The pipeline's, the alerts' and the database's single-valued counters and gauges.
fn render_counters(out: &mut String, state: &ServiceState) {
    let p = &state.pipeline;
    let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    let a = &state.alerts;
    let gauges: [(&str, &str, &str, u64); 13] = [
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
            "counter",
            "Trips tallied by the engine (since the database began).",
            get(&p.trips),
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
    ];
    for (name, kind, help, value) in gauges.into_iter().chain(memory_counters(p)) {
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
