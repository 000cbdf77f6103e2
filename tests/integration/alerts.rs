//! Alerts of `aisgap run` against the database it ends with: the bundled sample fed over TCP
//! to the real binary, stopped and restarted mid-trip, every alert caught by a webhook on
//! loopback. The last alert about each trip says what the database says, every trip that
//! stopped being one is retracted, and a restart announces no still-dark vessel again.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use serde_json::Value;

use crate::support::{aisgap, free_port, http_get, metric, repo_path};

/// The sample's lines, as the service frames them.
fn sample_lines() -> Vec<Vec<u8>> {
    std::fs::read(repo_path("samples/scenario.nmea"))
        .expect("samples/scenario.nmea")
        .split(|&b| b == b'\n' || b == b'\r')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// The tag block's `c:` time of a line, in milliseconds.
fn line_time(line: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(line).ok()?;
    let at = text.find("c:")? + 2;
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse::<i64>().ok().map(|s| s * 1000)
}

/// Lines of `feed` the service has committed (0 before any commit).
fn committed_lines(db: &Path) -> usize {
    let Ok(conn) = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY) else {
        return 0;
    };
    conn.query_row(
        "SELECT lines FROM source_positions WHERE source = 'feed'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map_or(0, |n| n as usize)
}

/// A feed that resumes each connection after the committed lines and serves up to `limit`,
/// pausing at each of `stops` until the service has committed the lines before it: what is
/// judged there reaches the alerts in a commit of its own, as on a slow live feed.
struct Feed {
    port: u16,
    limit: Arc<AtomicUsize>,
    stops: Arc<Mutex<Vec<usize>>>,
    stop: Arc<AtomicBool>,
}

impl Feed {
    fn start(lines: Arc<Vec<Vec<u8>>>, db: PathBuf) -> Feed {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let limit = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let stops = Arc::new(Mutex::new(Vec::new()));
        let (limit2, stop2, stops2) = (limit.clone(), stop.clone(), stops.clone());
        thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                let Ok((stream, _)) = listener.accept() else {
                    thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let feed = Paced {
                    lines: lines.clone(),
                    stops: stops2.lock().unwrap().clone(),
                    db: db.clone(),
                    limit: limit2.clone(),
                    stop: stop2.clone(),
                };
                thread::spawn(move || feed.serve(stream));
            }
        });
        Feed {
            port,
            limit,
            stops,
            stop,
        }
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

struct Paced {
    lines: Arc<Vec<Vec<u8>>>,
    stops: Vec<usize>,
    db: PathBuf,
    limit: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Paced {
    fn serve(self, mut stream: TcpStream) {
        stream.set_nonblocking(false).unwrap();
        let mut next = committed_lines(&self.db);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.stop.load(Ordering::Relaxed) && Instant::now() < deadline {
            let stop_at = self.stops.iter().copied().find(|&s| s > next);
            let limit = self.limit.load(Ordering::Relaxed).min(self.lines.len());
            let until = limit.min(next + 400).min(stop_at.unwrap_or(usize::MAX));
            let paused = self.stops.contains(&next) && committed_lines(&self.db) < next;
            if until <= next || paused {
                thread::sleep(Duration::from_millis(10));
                continue;
            }
            let mut bytes = self.lines[next..until].join(&b'\n');
            bytes.push(b'\n');
            if stream.write_all(&bytes).is_err() {
                return;
            }
            next = until;
            thread::sleep(Duration::from_millis(5));
        }
    }
}

fn start_service(config: &Path) -> Child {
    aisgap()
        .args(["run", "--config"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting aisgap run")
}

fn terminate(mut child: Child) {
    // SAFETY: kill(2) with the pid of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "SIGTERM exit: {status:?}");
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("aisgap run did not stop within 20 s of SIGTERM");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "not within {within:?}: {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// A gap's key as alerts and the database name it: MMSI and dark_from (ISO-8601).
type Key = (u64, String);

fn key_of(alert: &Value) -> Key {
    (
        alert["mmsi"].as_u64().unwrap(),
        alert["dark_from"].as_str().unwrap().to_string(),
    )
}

/// Every gap in the database: key -> (status, or `unwatched` for a trip of a vessel not
/// watched; confidence, est_barrels, draught_after).
fn stored_gaps(db: &Path) -> BTreeMap<Key, (String, Value, Value, Value)> {
    let reader = aisgap::store::Reader::open(db).unwrap();
    let filter = aisgap::store::read::GapFilter::default();
    reader
        .gaps(&filter)
        .unwrap()
        .into_iter()
        .map(|g| {
            let json = serde_json::to_value(&g).unwrap();
            (
                (u64::from(g.mmsi.0), g.dark_from.to_string()),
                (
                    match g.status.as_str() {
                        "trip" if !g.watched => "unwatched".to_string(),
                        status => status.to_string(),
                    },
                    json["confidence"].clone(),
                    json["est_barrels"].clone(),
                    json["draught_after"].clone(),
                ),
            )
        })
        .collect()
}

/// Where to feed the sample in steps, from a replay of it: the line in the middle of its
/// longest trip (the vessel is dark there), and the line after each trip's and each planned
/// withdrawal's closing fix (so that a trip is announced before its after-evidence or the late
/// fix that withdraws it arrives).
fn plan(lines: &[Vec<u8>], dir: &Path, config: &Path) -> (usize, Vec<usize>) {
    let db = dir.join("replay.db");
    let output = aisgap()
        .args(["replay", "--config"])
        .arg(config)
        .arg("--db")
        .arg(&db)
        .arg(repo_path("samples/scenario.nmea"))
        .output()
        .unwrap();
    assert!(output.status.success(), "replay: {output:?}");
    let reader = aisgap::store::Reader::open(&db).unwrap();
    let trips = reader
        .gaps(&aisgap::store::read::GapFilter::trips())
        .unwrap();
    let after = |millis: i64| {
        lines
            .iter()
            .position(|l| line_time(l).is_some_and(|t| t > millis))
            .unwrap_or(lines.len())
    };
    let longest = trips
        .iter()
        .max_by(|a, b| a.duration_hours.total_cmp(&b.duration_hours))
        .expect("the sample has trips");
    let until = longest.dark_until.unwrap().as_millis();
    let middle = after((longest.dark_from.as_millis() + until) / 2);
    let truth = std::fs::read_to_string(repo_path("samples/scenario.truth.json")).unwrap();
    let truth: Value = serde_json::from_str(&truth).unwrap();
    let withdrawn = truth["withdrawn"].as_array().unwrap().iter().map(|w| {
        let until = w["dark_until"].as_str().unwrap();
        aisgap::time::UnixMillis::parse_iso8601(until)
            .unwrap()
            .as_millis()
    });
    let mut stops: Vec<usize> = trips
        .iter()
        .filter_map(|t| t.dark_until.map(|u| u.as_millis()))
        .chain(withdrawn)
        .map(after)
        .collect();
    stops.sort_unstable();
    stops.dedup();
    (middle, stops)
}

#[test]
fn alerts_end_with_what_the_database_holds_and_a_restart_repeats_no_dark_vessel() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("service.db");
    let (hook, (bodies, _)) = crate::service::webhook(0);
    let alerts = || -> Vec<Value> {
        let bodies = bodies.lock().unwrap();
        bodies
            .iter()
            .map(|body| serde_json::from_str(body).expect("each alert is JSON"))
            .collect()
    };
    let http = format!("127.0.0.1:{}", free_port());
    let lines = Arc::new(sample_lines());
    let total = lines.len();
    let feed = Feed::start(lines.clone(), db.clone());
    let config = dir.path().join("aisgap.toml");
    std::fs::write(
        &config,
        format!(
            "[ports]\nfile = {ports:?}\n\n[watchlist]\nfile = {watchlist:?}\n\n[store]\ndb = {db:?}\ncommit_interval_ms = 100\n\n[http]\nlisten = \"{http}\"\n\n[alerts]\nwebhook = \"http://127.0.0.1:{hook}/aisgap\"\nretry_max_s = 1\n\n[[source]]\nname = \"feed\"\nkind = \"tcp\"\naddress = \"127.0.0.1:{port}\"\nreconnect_max_s = 1\n",
            ports = repo_path("config/ports.geojson"),
            watchlist = repo_path("samples/watchlist.csv"),
            port = feed.port,
        ),
    )
    .unwrap();
    let (split, stops) = plan(&lines, dir.path(), &config);
    *feed.stops.lock().unwrap() = stops;

    // First run: up to the middle of a trip, while its vessel is dark.
    feed.limit.store(split, Ordering::Relaxed);
    let service = start_service(&config);
    wait_until("the first half committed", Duration::from_secs(30), || {
        committed_lines(&db) >= split
    });
    terminate(service);
    let before_restart = alerts().len();
    let dark_at_restart: BTreeSet<Key> = {
        let sent = alerts();
        let mut dark = BTreeSet::new();
        for alert in sent.iter() {
            match alert["event"].as_str().unwrap() {
                "dark_now" => dark.insert(key_of(alert)),
                "reappeared" => dark.remove(&key_of(alert)),
                _ => false,
            };
        }
        dark
    };
    assert!(
        !dark_at_restart.is_empty(),
        "some vessel is dark at the restart"
    );

    // Second run: the rest of the sample.
    feed.limit.store(total, Ordering::Relaxed);
    let service = start_service(&config);
    wait_until("every line committed", Duration::from_secs(40), || {
        committed_lines(&db) >= total
    });
    let stored = stored_gaps(&db);
    let trips_stored = stored.values().filter(|g| g.0 == "trip").count();
    assert_eq!(trips_stored, 14, "the sample's 14 trips");
    let (status, page) = http_get(&http, "/metrics");
    assert_eq!(status, 200);
    assert_eq!(
        metric(&page, "aisgap_trips_total"),
        Some(trips_stored as f64),
        "the trips metric is the stored count"
    );
    terminate(service);

    let sent = alerts();
    eprintln!(
        "{} alerts ({before_restart} before the restart): {:?}",
        sent.len(),
        sent.iter()
            .fold(BTreeMap::<&str, usize>::new(), |mut by, a| {
                *by.entry(a["event"].as_str().unwrap()).or_default() += 1;
                by
            })
    );

    // No gap is announced dark twice, and those dark at the restart that came back were
    // announced back after it.
    let mut dark_announced = BTreeSet::new();
    for alert in sent.iter().filter(|a| a["event"] == "dark_now") {
        assert!(
            dark_announced.insert(key_of(alert)),
            "announced dark twice: {alert}"
        );
    }
    for key in &dark_at_restart {
        let closed = stored.get(key).is_some_and(|g| g.0 != "open");
        let back = sent[before_restart..]
            .iter()
            .any(|a| a["event"] == "reappeared" && key_of(a) == *key);
        assert_eq!(
            closed, back,
            "{key:?}: closed in the database, reappearance alerted"
        );
    }

    // The last trip alert about each gap says what the database says.
    let mut last: BTreeMap<Key, &Value> = BTreeMap::new();
    for alert in sent.iter().filter(|a| {
        ["trip", "trip_updated", "trip_retracted"].contains(&a["event"].as_str().unwrap())
    }) {
        let key = key_of(alert);
        if let Some(previous) = last.get(&key) {
            assert_eq!(
                alert["revision"].as_u64(),
                previous["revision"].as_u64().map(|r| r + 1),
                "revisions count up: {alert}"
            );
        }
        last.insert(key, alert);
    }
    for (key, (status, confidence, barrels, draught_after)) in &stored {
        let alert = last.get(key);
        if status == "trip" {
            let alert = alert.unwrap_or_else(|| panic!("trip {key:?} never alerted"));
            assert_ne!(alert["event"], "trip_retracted", "{key:?}");
            assert_eq!(&alert["confidence"], confidence, "{key:?} confidence");
            assert_eq!(&alert["est_barrels"], barrels, "{key:?} barrels");
            assert_eq!(
                &alert["draught_after"], draught_after,
                "{key:?} draught after"
            );
        } else if let Some(alert) = alert {
            assert_eq!(
                alert["event"], "trip_retracted",
                "{key:?} is {status} in the database; its last alert: {alert}"
            );
            let said = match (alert["status"].as_str(), alert["watched"].as_bool()) {
                (Some("trip"), Some(false)) => "unwatched",
                (status, _) => status.unwrap_or_default(),
            };
            assert_eq!(said, status, "{key:?}: the retraction says what it is now");
        }
    }
    for key in last.keys() {
        assert!(stored.contains_key(key), "alerted {key:?} is not stored");
    }
    let retracted_withdrawn = last
        .values()
        .filter(|a| a["event"] == "trip_retracted" && a["status"] == "withdrawn")
        .count();
    assert!(
        retracted_withdrawn >= 1,
        "the trip late data withdrew is retracted"
    );
    assert!(
        sent.iter().any(|a| a["event"] == "trip_updated"),
        "the after-evidence updates trips"
    );
    let high = last
        .values()
        .filter(|a| a["event"] != "trip_retracted" && a["confidence"] == "high")
        .count();
    let high_stored = stored
        .values()
        .filter(|g| g.0 == "trip" && g.1 == "high")
        .count();
    assert_eq!(high, high_stored, "high-confidence trips alerted as stored");
    let barrels: f64 = last
        .values()
        .filter(|a| a["event"] != "trip_retracted")
        .filter_map(|a| a["est_barrels"].as_f64())
        .sum();
    let barrels_stored: f64 = stored
        .values()
        .filter(|g| g.0 == "trip")
        .filter_map(|g| g.2.as_f64())
        .sum();
    eprintln!(
        "last alerts: {high} high, {barrels:.0} barrels; database: {trips_stored} trips, \
         {high_stored} high, {barrels_stored:.0} barrels"
    );
    assert!((barrels - barrels_stored).abs() < 0.5);
    drop(feed);
}
