//! Alerts for people watching: a vessel going dark near a port, reappearing, and a trip
//! tallied, appended to a JSON Lines file and/or POSTed to a webhook. Delivery runs on its own
//! thread behind a bounded queue: a slow or dead webhook is retried with backoff, and when the
//! queue is full new alerts are dropped and counted; ingestion never waits for it.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::{parse_http_url, AlertParams};
use crate::detect::encounters::EncounterRecord;
use crate::detect::loitering::LoiteringRecord;
use crate::detect::GapRecord;
use crate::time::UnixMillis;

/// Alerts waiting for delivery; beyond this they are dropped (and counted).
pub const ALERT_QUEUE: usize = 10_000;
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);

/// What happened to the gap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    DarkNow,
    Reappeared,
    Trip,
    /// A watched vessel's meeting at sea was confirmed (`[encounters]`).
    Encounter,
    /// A watched vessel's idling at sea was confirmed (`[loitering]`).
    Loitering,
}

/// One alert, as delivered (JSON). For `encounter` and `loitering`, `dark_from` and
/// `dark_until` carry the episode's start and its end so far (the vessel was not dark),
/// `status` is `encounter` or `loitering`, `port` the nearest designated port, and
/// `partner_mmsi` the other vessel of an encounter.
#[derive(Clone, Debug, Serialize)]
pub struct Alert {
    pub event: AlertKind,
    pub mmsi: u32,
    pub imo: Option<u32>,
    pub name: Option<String>,
    pub port: Option<String>,
    pub status: &'static str,
    pub dark_from: UnixMillis,
    pub dark_until: Option<UnixMillis>,
    pub duration_hours: f64,
    pub from_lat: f64,
    pub from_lon: f64,
    pub confidence: Option<&'static str>,
    pub est_barrels: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_mmsi: Option<u32>,
}

impl Alert {
    pub fn of(event: AlertKind, gap: &GapRecord) -> Alert {
        Alert {
            event,
            mmsi: gap.mmsi.0,
            imo: gap.imo,
            name: gap.name.clone(),
            port: gap.port.clone(),
            status: gap.status.as_str(),
            dark_from: gap.dark_from,
            dark_until: gap.dark_until,
            duration_hours: gap.duration_hours,
            from_lat: gap.from_lat,
            from_lon: gap.from_lon,
            confidence: gap.confidence.map(|c| c.as_str()),
            est_barrels: gap.est_barrels,
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
                name: side.vessel.name.clone(),
                port: e.nearest_port.clone(),
                status: "encounter",
                dark_from: e.start,
                dark_until: Some(e.end),
                duration_hours: e.duration_hours,
                from_lat: e.lat,
                from_lon: e.lon,
                confidence: None,
                est_barrels: e.est_barrels,
                partner_mmsi: Some(other.vessel.mmsi.0),
            })
            .collect()
    }

    pub fn of_loitering(l: &LoiteringRecord) -> Alert {
        Alert {
            event: AlertKind::Loitering,
            mmsi: l.vessel.mmsi.0,
            imo: l.vessel.imo,
            name: l.vessel.name.clone(),
            port: l.nearest_port.clone(),
            status: "loitering",
            dark_from: l.start,
            dark_until: Some(l.end),
            duration_hours: l.duration_hours,
            from_lat: l.lat,
            from_lon: l.lon,
            confidence: None,
            est_barrels: None,
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
        webhook: params.webhook.as_deref().and_then(parse_http_url),
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
    webhook: Option<(String, String)>,
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
        if let Some((authority, path)) = &targets.webhook {
            ok &= with_retries("webhook", targets.retry_max, metrics, give_up, || {
                post(authority, path, &body)
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

/// One HTTP/1.1 POST; success is a 2xx status.
fn post(authority: &str, path: &str, body: &str) -> Result<(), String> {
    let address = authority
        .to_socket_addrs()
        .map_err(|e| format!("{authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("{authority}: no address"))?;
    let mut stream = TcpStream::connect_timeout(&address, WEBHOOK_TIMEOUT)
        .map_err(|e| format!("{authority}: {e}"))?;
    stream
        .set_read_timeout(Some(WEBHOOK_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(WEBHOOK_TIMEOUT)))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\nUser-Agent: aisgap/{}\r\n\r\n{body}",
        body.len(),
        env!("CARGO_PKG_VERSION")
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("{authority}: {e}"))?;
    let mut head = [0u8; 64];
    let n = stream
        .read(&mut head)
        .map_err(|e| format!("{authority}: {e}"))?;
    let status_line = String::from_utf8_lossy(&head[..n]);
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok());
    match status {
        Some(code) if (200..300).contains(&code) => Ok(()),
        Some(code) => Err(format!("{authority}{path} answered {code}")),
        None => Err(format!("{authority}{path} gave no HTTP status")),
    }
}
