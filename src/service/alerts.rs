//! Alert delivery for people watching: a vessel going dark near a port, reappearing, a trip
//! tallied, updated or retracted (what to announce is [`super::announce`]'s), appended to a JSON Lines file and/or POSTed to a webhook. Delivery runs on its own
//! thread behind a bounded queue: a slow or dead webhook is retried with backoff, and when the
//! queue is full new alerts are dropped and counted; ingestion never waits for it.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::config::AlertParams;
use crate::detect::encounters::EncounterRecord;
use crate::detect::loitering::LoiteringRecord;
use crate::detect::rendezvous::RendezvousRecord;
use crate::detect::{Confidence, GapRecord, GapStatus};
use crate::service::webhook::Webhook;
use crate::time::UnixMillis;

/// Alerts waiting for delivery; beyond this they are dropped (and counted).
pub const ALERT_QUEUE: usize = 10_000;

/// What happened to the gap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A watched vessel fell silent near a covered port and is still silent.
    DarkNow,
    /// A vessel announced dark was heard again.
    Reappeared,
    /// A gap was judged a trip.
    Trip,
    /// A trip already announced has new evidence (draught after, cargo, confidence, port, end).
    TripUpdated,
    /// A trip already announced is no longer one: withdrawn by late data, judged again, or
    /// its vessel no longer watched. `status` says what it is now.
    TripRetracted,
    /// A watched vessel's meeting at sea was confirmed (`[encounters]`).
    Encounter,
    /// A watched vessel's idling at sea was confirmed (`[loitering]`).
    Loitering,
    /// An encounter already announced was withdrawn by a late fix.
    EncounterRetracted,
    /// A loitering episode already announced was withdrawn by a late fix.
    LoiteringRetracted,
    /// A watched vessel's silence could have been shared by another vessel (`[rendezvous]`).
    Rendezvous,
    /// A rendezvous already announced is no longer possible: late data moved or removed a
    /// silence.
    RendezvousRetracted,
}

/// One alert, as delivered (JSON). A gap is named by `mmsi` and `dark_from`; `revision` counts
/// the trip alerts about it (trip, updates, retraction), so a receiver keeps the highest. For
/// `encounter` and `loitering`, `dark_from` and `dark_until` carry the episode's start and its
/// end so far (the vessel was not dark), `status` is absent, `port` is the nearest designated
/// port, and `partner_mmsi` the other vessel of an encounter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub event: AlertKind,
    pub mmsi: u32,
    pub imo: Option<u32>,
    pub name: Option<String>,
    pub port: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<GapStatus>,
    pub watched: bool,
    pub dark_from: UnixMillis,
    pub dark_until: Option<UnixMillis>,
    pub duration_hours: f64,
    pub from_lat: f64,
    pub from_lon: f64,
    pub until_lat: Option<f64>,
    pub until_lon: Option<f64>,
    pub draught_before: Option<f64>,
    pub draught_after: Option<f64>,
    pub draught_change: Option<f64>,
    pub confidence: Option<Confidence>,
    pub est_tonnes: Option<f64>,
    pub est_barrels: Option<f64>,
    /// 0 for dark-now and reappearance alerts; 1, 2, ... for a trip's alerts in order.
    pub revision: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_mmsi: Option<u32>,
}

impl Alert {
    pub fn of(event: AlertKind, gap: &GapRecord) -> Alert {
        Alert {
            event,
            mmsi: gap.mmsi.0,
            imo: gap.imo,
            name: gap.name.as_deref().map(str::to_owned),
            port: gap.port.clone(),
            status: Some(gap.status),
            watched: gap.watched,
            dark_from: gap.dark_from,
            dark_until: gap.dark_until,
            duration_hours: gap.duration_hours,
            from_lat: gap.from_lat,
            from_lon: gap.from_lon,
            until_lat: gap.until_lat,
            until_lon: gap.until_lon,
            draught_before: gap.draught_before,
            draught_after: gap.draught_after,
            draught_change: gap.draught_change,
            confidence: gap.confidence,
            est_tonnes: gap.est_tonnes,
            est_barrels: gap.est_barrels,
            revision: 0,
            partner_mmsi: None,
        }
    }

    /// One alert per watched vessel of a confirmed encounter, naming the other vessel.
    pub fn of_encounter(e: &EncounterRecord) -> Vec<Alert> {
        [(&e.a, &e.b), (&e.b, &e.a)]
            .into_iter()
            .filter(|(side, _)| side.vessel.watched)
            .map(|(side, other)| Alert {
                event: AlertKind::Encounter,
                mmsi: side.vessel.mmsi.0,
                imo: side.vessel.imo,
                name: side.vessel.name.as_deref().map(str::to_owned),
                port: e.nearest_port.clone(),
                status: None,
                watched: true,
                dark_from: e.start,
                dark_until: Some(e.end),
                duration_hours: e.duration_hours,
                from_lat: e.lat,
                from_lon: e.lon,
                until_lat: None,
                until_lon: None,
                draught_before: side.draught_before,
                draught_after: side.draught_after,
                draught_change: side.draught_change,
                confidence: None,
                est_tonnes: e.est_tonnes,
                est_barrels: e.est_barrels,
                revision: 0,
                partner_mmsi: Some(other.vessel.mmsi.0),
            })
            .collect()
    }

    /// One alert per watched vessel of a dark rendezvous, naming the other: `dark_from` and
    /// `dark_until` the vessel's silence, the position the best meeting place,
    /// `duration_hours` the longest the two could have been together.
    pub fn of_rendezvous(r: &RendezvousRecord, event: AlertKind) -> Vec<Alert> {
        [(&r.dark, &r.partner), (&r.partner, &r.dark)]
            .into_iter()
            .filter(|(leg, _)| {
                leg.vessel.watched && leg.kind != crate::detect::rendezvous::LegKind::Loitering
            })
            .map(|(leg, other)| Alert {
                event,
                mmsi: leg.vessel.mmsi.0,
                imo: leg.vessel.imo,
                name: leg.vessel.name.as_deref().map(str::to_owned),
                port: r.nearest_port.clone(),
                status: None,
                watched: true,
                dark_from: leg.from,
                dark_until: Some(leg.until),
                duration_hours: r.together_hours,
                from_lat: r.lat,
                from_lon: r.lon,
                until_lat: None,
                until_lon: None,
                draught_before: None,
                draught_after: None,
                draught_change: None,
                confidence: None,
                est_tonnes: None,
                est_barrels: None,
                revision: 0,
                partner_mmsi: Some(other.vessel.mmsi.0),
            })
            .collect()
    }

    pub fn of_loitering(l: &LoiteringRecord) -> Alert {
        Alert {
            event: AlertKind::Loitering,
            mmsi: l.vessel.mmsi.0,
            imo: l.vessel.imo,
            name: l.vessel.name.as_deref().map(str::to_owned),
            port: l.nearest_port.clone(),
            status: None,
            watched: true,
            dark_from: l.start,
            dark_until: Some(l.end),
            duration_hours: l.duration_hours,
            from_lat: l.lat,
            from_lon: l.lon,
            until_lat: None,
            until_lon: None,
            draught_before: None,
            draught_after: None,
            draught_change: None,
            confidence: None,
            est_tonnes: None,
            est_barrels: None,
            revision: 0,
            partner_mmsi: None,
        }
    }
}

/// Counters of alert delivery.
#[derive(Debug, Default)]
pub struct AlertMetrics {
    pub queued: AtomicU64,
    pub delivered: AtomicU64,
    pub dropped: AtomicU64,
    pub retries: AtomicU64,
    pub failed: AtomicU64,
}

/// The pipeline's end of the queue.
#[derive(Clone)]
pub struct AlertQueue {
    queue: SyncSender<Alert>,
    metrics: Arc<AlertMetrics>,
}

impl AlertQueue {
    /// Queues an alert without waiting; a full queue drops it.
    pub fn push(&self, alert: Alert) {
        match self.queue.try_send(alert) {
            Ok(()) => {
                self.metrics.queued.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                let dropped = self.metrics.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if dropped.is_power_of_two() {
                    tracing::warn!(dropped, "Alert queue full; alerts dropped.");
                }
            }
        }
    }
}

/// The delivery thread; `give_up` makes it stop retrying (at shutdown).
pub struct AlertDelivery {
    pub thread: JoinHandle<()>,
    pub give_up: Arc<AtomicBool>,
}

/// Starts delivery, or nothing when no target is configured.
pub fn start(
    params: &AlertParams,
    metrics: Arc<AlertMetrics>,
) -> Option<(AlertQueue, AlertDelivery)> {
    if params.is_off() {
        return None;
    }
    let (queue, alerts) = sync_channel(ALERT_QUEUE);
    let give_up = Arc::new(AtomicBool::new(false));
    let targets = Targets {
        webhook: params.webhook.as_deref().and_then(|url| {
            Webhook::new(url, params.ca_file.as_deref())
                .map_err(|error| tracing::error!(%error, "Alerts go to no webhook."))
                .ok()
        }),
        file: params.file.clone(),
        retry_max: Duration::from_secs(u64::from(params.retry_max_s.max(1))),
    };
    let thread = std::thread::Builder::new()
        .name("alerts".into())
        .spawn({
            let (metrics, give_up) = (metrics.clone(), give_up.clone());
            move || deliver_all(targets, alerts, &metrics, &give_up)
        })
        .expect("spawning the alert thread");
    Some((
        AlertQueue { queue, metrics },
        AlertDelivery { thread, give_up },
    ))
}

struct Targets {
    webhook: Option<Webhook>,
    file: Option<PathBuf>,
    retry_max: Duration,
}

fn deliver_all(
    targets: Targets,
    alerts: Receiver<Alert>,
    metrics: &AlertMetrics,
    give_up: &AtomicBool,
) {
    while let Ok(alert) = alerts.recv() {
        let body = serde_json::to_string(&alert).expect("alerts always serialise");
        let mut ok = true;
        if let Some(path) = &targets.file {
            ok &= with_retries("file", targets.retry_max, metrics, give_up, || {
                append(path, &body)
            });
        }
        if let Some(webhook) = &targets.webhook {
            ok &= with_retries("webhook", targets.retry_max, metrics, give_up, || {
                webhook.post(&body)
            });
        }
        if ok {
            metrics.delivered.fetch_add(1, Ordering::Relaxed);
        } else {
            metrics.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Tries until it works, waiting 0.5 s, 1 s, 2 s, ... up to `retry_max` in between; gives up
/// only once the service is stopping.
fn with_retries(
    target: &str,
    retry_max: Duration,
    metrics: &AlertMetrics,
    give_up: &AtomicBool,
    mut attempt: impl FnMut() -> Result<(), String>,
) -> bool {
    let mut wait = Duration::from_millis(500).min(retry_max);
    let mut failures = 0u64;
    loop {
        match attempt() {
            Ok(()) => return true,
            Err(error) => {
                failures += 1;
                if failures.is_power_of_two() {
                    tracing::warn!(target, %error, failures, "Alert not delivered; retrying.");
                }
                if give_up.load(Ordering::Relaxed) {
                    tracing::warn!(target, %error, "Alert not delivered; the service is stopping.");
                    return false;
                }
                metrics.retries.fetch_add(1, Ordering::Relaxed);
                let until = Instant::now() + wait;
                while Instant::now() < until && !give_up.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                wait = (wait * 2).min(retry_max);
            }
        }
    }
}

fn append(path: &PathBuf, body: &str) -> Result<(), String> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    // One write per line: concurrent readers never see half an alert.
    file.write_all(format!("{body}\n").as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))
}
