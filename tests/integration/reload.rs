//! SIGHUP reaches everything it claims, shown on the real binary on loopback: a source's
//! station and data-time setting and the `[decode]` settings reach its decoder, new ports reach
//! the database (`query ports`, `/api/v1/ports`), and a listener moved to a busy port keeps
//! its old address, is reported failed, and moves once the port is free.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use serde_json::Value;

use crate::support::{aisgap, free_port, http_get, metric, repo_path};

/// What can change between reloads.
struct Settings {
    listen: u16,
    station: &'static str,
    trust_data_time: bool,
    duplicate_window_s: u32,
}

/// Where the service under test keeps its files and answers.
struct Paths {
    config: PathBuf,
    db: PathBuf,
    http: String,
    ports: PathBuf,
}

impl Paths {
    fn write_config(&self, s: &Settings) {
        let text = format!(
            "[ports]\nfile = {ports:?}\n\n[watchlist]\nfile = {watchlist:?}\n\n[store]\ndb = {db:?}\ncommit_interval_ms = 100\n\n[http]\nlisten = \"{http}\"\n\n[order]\nreorder_window_s = 600\n\n[decode]\nduplicate_window_s = {dup}\n\n[[source]]\nname = \"push\"\nkind = \"tcp-listen\"\naddress = \"127.0.0.1:{listen}\"\nstation = \"{station}\"\ntrust_data_time = {trust}\n",
            ports = self.ports,
            watchlist = repo_path("samples/watchlist.csv"),
            db = self.db,
            http = self.http,
            dup = s.duplicate_window_s,
            listen = s.listen,
            station = s.station,
            trust = s.trust_data_time,
        );
        std::fs::write(&self.config, text).unwrap();
    }
}

struct Service {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    paths: Paths,
}

impl std::ops::Deref for Service {
    type Target = Paths;
    fn deref(&self) -> &Paths {
        &self.paths
    }
}

impl Service {
    fn start(dir: &Path, settings: &Settings) -> Service {
        let paths = Paths {
            config: dir.join("aisgap.toml"),
            db: dir.join("service.db"),
            http: format!("127.0.0.1:{}", free_port()),
            ports: dir.join("ports.geojson"),
        };
        std::fs::copy(repo_path("config/ports.geojson"), &paths.ports).unwrap();
        paths.write_config(settings);
        let mut child = aisgap()
            .args(["run", "--config"])
            .arg(&paths.config)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting aisgap run");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let service = Service { child, log, paths };
        service.wait_for_log("Service ready", 1);
        service
    }

    fn count_in_log(&self, needle: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    fn wait_for_log(&self, needle: &str, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.count_in_log(needle) < count {
            assert!(
                Instant::now() < deadline,
                "{needle:?} not logged {count} times; the log:\n{}",
                self.log.lock().unwrap().join("\n")
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGHUP and waits for the reload's closing line (`outcome`), the nth of its kind.
    fn reload(&self, outcome: &str, nth: usize) {
        // SAFETY: kill(2) with the pid of our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGHUP) };
        self.wait_for_log(outcome, nth);
    }

    /// Reloads and waits until `outcome` or `other` is logged its nth time.
    fn reload_either(&self, outcome: (&str, usize), other: (&str, usize)) {
        // SAFETY: kill(2) with the pid of our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGHUP) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.count_in_log(outcome.0) < outcome.1 && self.count_in_log(other.0) < other.1 {
            assert!(
                Instant::now() < deadline,
                "neither {outcome:?} nor {other:?} logged; the log:\n{}",
                self.log.lock().unwrap().join("\n")
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn committed(&self) -> u64 {
        let Ok(conn) = Connection::open_with_flags(&self.db, OpenFlags::SQLITE_OPEN_READ_ONLY)
        else {
            return 0;
        };
        conn.query_row(
            "SELECT lines FROM source_positions WHERE source = 'push'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map_or(0, |n| n as u64)
    }

    /// Pushes `lines` to the listener on `port` and waits until all are committed.
    fn push(&self, port: u16, lines: &[String]) {
        let before = self.committed();
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("the source listens");
        for line in lines {
            writeln!(stream, "{line}").unwrap();
        }
        drop(stream);
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.committed() < before + lines.len() as u64 {
            assert!(Instant::now() < deadline, "pushed lines not committed");
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn metric(&self, series: &str) -> f64 {
        let (status, page) = http_get(&self.http, "/metrics");
        assert_eq!(status, 200);
        metric(&page, series).unwrap_or(0.0)
    }

    /// The engine checkpoint as committed: it holds the events the reorder window holds.
    fn checkpoint(&self) -> String {
        let conn = Connection::open_with_flags(&self.db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        conn.query_row("SELECT engine FROM engine_checkpoint", [], |r| r.get(0))
            .unwrap()
    }

    fn stop(mut self) {
        // SAFETY: kill(2) with the pid of our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "SIGTERM exit: {status:?}");
                return;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("aisgap run did not stop within 20 s of SIGTERM");
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Distinct single-sentence messages of the sample, with their tag blocks (timed and named by
/// them) and without (timed by receipt, named by the configured station).
fn sample_sentences() -> (Vec<String>, Vec<String>) {
    // The sample holds some garbage bytes on purpose.
    let bytes = std::fs::read(repo_path("samples/scenario.nmea")).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let mut seen = std::collections::HashSet::new();
    let tagged: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("\\s:") && l.contains("!AIVDM,1,1,"))
        .filter(|l| seen.insert(l.rsplit('\\').next().unwrap().to_string()))
        .take(400)
        .map(str::to_string)
        .collect();
    let bare = tagged
        .iter()
        .map(|l| l.rsplit('\\').next().unwrap().to_string())
        .collect();
    (tagged, bare)
}

/// Every port `aisgap query ports` lists: (name, lat).
fn queried_ports(db: &Path) -> Vec<(String, f64)> {
    let output = aisgap()
        .args(["query", "ports", "--format", "json", "--db"])
        .arg(db)
        .output()
        .unwrap();
    assert!(output.status.success(), "query ports: {output:?}");
    let ports: Value = serde_json::from_slice(&output.stdout).unwrap();
    ports
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["lat"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn sighup_reaches_decoders_and_ports_and_a_busy_address_keeps_the_old_listener() {
    let dir = tempfile::tempdir().unwrap();
    let first = free_port();
    let mut settings = Settings {
        listen: first,
        station: "ST-A",
        trust_data_time: true,
        duplicate_window_s: 5,
    };
    let service = Service::start(dir.path(), &settings);
    let (tagged, bare) = sample_sentences();
    let twice = |lines: &[String]| -> Vec<String> {
        lines.iter().flat_map(|l| [l.clone(), l.clone()]).collect()
    };
    let timed = |carrier: &str| {
        service.metric(&format!(
            "aisgap_messages_timed_total{{source=\"push\",carrier=\"{carrier}\"}}"
        ))
    };
    let duplicates = r#"aisgap_duplicates_total{source="push"}"#;

    // As started: tag blocks time the data, copies within 5 s are duplicates, and lines
    // without a tag block carry the configured station.
    service.push(first, &bare[..30]);
    service.push(first, &twice(&tagged[100..130]));
    service.push(first, &bare[30..40]);
    // Both copies are decoded (and timed); the second is then dropped as a duplicate. The
    // first bare lines came before the feed's clock showed: held until it did, they were moved
    // onto it, as the last ones, which came after, were timed on it at once. Those are the
    // newest events, still in the reorder window.
    assert_eq!(timed("tag_block"), 60.0);
    assert_eq!(timed("received"), 0.0);
    assert_eq!(timed("received_on_source_clock"), 40.0);
    assert_eq!(service.metric(duplicates), 30.0);
    let checkpoint = service.checkpoint();
    assert!(checkpoint.contains(r#""station":"ST-A""#), "{checkpoint}");
    assert!(!checkpoint.contains(r#""station":"ST-B""#));
    let ports = queried_ports(&service.db);
    assert!(
        ports.iter().any(|(name, _)| name == "Vostochny"),
        "{ports:?}"
    );

    // New station, receive time only, every copy kept, and one port moved and renamed and
    // another removed.
    settings.station = "ST-B";
    settings.trust_data_time = false;
    settings.duplicate_window_s = 0;
    service.write_config(&settings);
    let mut zones: Value =
        serde_json::from_str(&std::fs::read_to_string(&service.ports).unwrap()).unwrap();
    let features = zones["features"].as_array_mut().unwrap();
    let removed = features.pop().unwrap()["properties"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    features[0]["properties"]["name"] = "Wrangel Bay Test".into();
    features[0]["geometry"]["coordinates"] = serde_json::json!([133.2, 42.6]);
    std::fs::write(&service.ports, zones.to_string()).unwrap();
    service.reload("Configuration reloaded.", 1);
    assert_eq!(
        service.count_in_log("Source restarted"),
        0,
        "decoder settings alone leave the connection alone"
    );
    service.push(first, &bare[200..230]);
    service.push(first, &twice(&tagged[300..330]));
    assert_eq!(timed("tag_block"), 60.0, "no longer timed by tag blocks");
    assert_eq!(timed("received"), 30.0 + 60.0);
    assert_eq!(timed("received_on_source_clock"), 40.0);
    assert_eq!(
        service.metric(duplicates),
        30.0,
        "no copy is a duplicate with a window of 0, and the count does not go back"
    );
    let checkpoint = service.checkpoint();
    assert!(checkpoint.contains(r#""station":"ST-B""#), "{checkpoint}");

    let deadline = Instant::now() + Duration::from_secs(10);
    let ports = loop {
        let ports = queried_ports(&service.db);
        if ports.iter().any(|(name, _)| name == "Wrangel Bay Test") || Instant::now() > deadline {
            break ports;
        }
        thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(ports.len(), 4, "{ports:?}");
    assert!(
        ports.contains(&("Wrangel Bay Test".to_string(), 42.6)),
        "{ports:?}"
    );
    assert!(
        !ports.iter().any(|(n, _)| n == "Vostochny" || *n == removed),
        "{ports:?}"
    );
    let (status, body) = http_get(&service.http, "/api/v1/ports");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("Wrangel Bay Test") && !body.contains(&removed),
        "{body}"
    );

    // A listener moved to a port that is taken keeps its old one and is reported failed.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let second = taken.local_addr().unwrap().port();
    settings.listen = second;
    service.write_config(&settings);
    service.reload("Configuration reloaded except for sources", 1);
    assert_eq!(service.count_in_log("Source not reloaded"), 1);
    service.push(first, &bare[240..250]);
    // Once the port is free, the next reload moves it. Other tests of the suite bind
    // ephemeral ports meanwhile and may take the one just freed: then another is tried.
    drop(taken);
    let mut second = second;
    let mut refused = 1;
    loop {
        service.reload_either(
            ("Configuration reloaded.", 2),
            ("Configuration reloaded except for sources", refused + 1),
        );
        if service.count_in_log("Configuration reloaded.") == 2 {
            break;
        }
        refused += 1;
        assert!(refused < 5, "no free port taken in {refused} tries");
        second = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        settings.listen = second;
        service.write_config(&settings);
    }
    assert_eq!(service.count_in_log("Source restarted"), 1);
    service.push(second, &bare[250..260]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(("127.0.0.1", first)).is_ok() {
        assert!(Instant::now() < deadline, "the old address is still served");
        thread::sleep(Duration::from_millis(20));
    }
    service.stop();
}
