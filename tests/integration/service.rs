//! `aisgap run` as operators run it: the real binary on loopback, fed the bundled scenario by
//! a local feed server, killed and restarted; its trips must equal `replay`'s.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use aisgap::config::Config;
use aisgap::detect::GapRecord;
use aisgap::store::read::GapFilter;
use aisgap::store::{Reader, Store};
use rusqlite::{Connection, OpenFlags};

use crate::support::{aisgap, free_port, http_get, metric, repo_path};

/// The sample's lines as the service frames them (it holds some garbage bytes on purpose).
pub(crate) fn scenario_lines() -> Arc<Vec<Vec<u8>>> {
    let bytes = std::fs::read(repo_path("samples/scenario.nmea")).expect("samples/scenario.nmea");
    Arc::new(
        bytes
            .split(|&b| b == b'\n' || b == b'\r')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect(),
    )
}

/// A service configuration for the sample's ports and watchlist, with one TCP feed; its HTTP
/// listener's address is in the `[http]` section.
pub(crate) fn write_config(dir: &Path, feed_port: u16, extra: &str) -> PathBuf {
    let path = dir.join("aisgap.toml");
    let text = format!(
        "[ports]\nfile = {ports:?}\n\n[watchlist]\nfile = {watchlist:?}\n\n[store]\ndb = {db:?}\ncommit_interval_ms = 100\n\n[http]\nlisten = \"127.0.0.1:{http}\"\n\n[[source]]\nname = \"feed\"\nkind = \"tcp\"\naddress = \"127.0.0.1:{feed_port}\"\nreconnect_max_s = 1\n{extra}",
        ports = repo_path("config/ports.geojson"),
        watchlist = repo_path("samples/watchlist.csv"),
        db = dir.join("service.db"),
        http = free_port(),
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Lines of `source` the service has committed, from its database (0 before any commit).
pub(crate) fn committed_lines(db: &Path, source: &str) -> u64 {
    let Ok(conn) = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY) else {
        return 0;
    };
    conn.query_row(
        "SELECT lines FROM source_positions WHERE source = ?1",
        [source],
        |r| r.get::<_, i64>(0),
    )
    .map_or(0, |n| n as u64)
}

/// A feed that, like a provider's replay API, resumes each new connection after the lines
/// the service reports as committed; paced so that a run lasts a couple of seconds.
struct FeedServer {
    port: u16,
    stop: Arc<AtomicBool>,
    accepted: Arc<Mutex<Vec<u64>>>,
}

impl FeedServer {
    fn start(lines: Arc<Vec<Vec<u8>>>, db: PathBuf, per_10ms: usize) -> FeedServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let (stop2, accepted2) = (stop.clone(), accepted.clone());
        thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let from = committed_lines(&db, "feed");
                        accepted2.lock().unwrap().push(from);
                        let (lines, stop) = (lines.clone(), stop2.clone());
                        thread::spawn(move || feed(stream, &lines, from as usize, per_10ms, &stop));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        FeedServer {
            port,
            stop,
            accepted,
        }
    }
}

impl Drop for FeedServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn feed(mut stream: TcpStream, lines: &[Vec<u8>], from: usize, per_10ms: usize, stop: &AtomicBool) {
    stream.set_nonblocking(false).unwrap();
    for chunk in lines[from.min(lines.len())..].chunks(per_10ms) {
        let mut bytes = chunk.join(&b'\n');
        bytes.push(b'\n');
        if stream.write_all(&bytes).is_err() {
            return;
        }
        thread::sleep(Duration::from_millis(10));
    }
    // Stay connected, as a live feed does.
    while !stop.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(20));
    }
}

fn start_service(config: &Path) -> Child {
    aisgap()
        .args(["run", "--config"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting aisgap run")
}

pub(crate) fn terminate(child: &mut Child) -> std::process::ExitStatus {
    // SAFETY: kill(2) with a pid of our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "aisgap run did not stop within 20 s of SIGTERM"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

fn wait_for_lines(db: &Path, at_least: u64, within: Duration) {
    let deadline = Instant::now() + within;
    while committed_lines(db, "feed") < at_least {
        assert!(
            Instant::now() < deadline,
            "the service committed only {} of {at_least} lines within {within:?}",
            committed_lines(db, "feed")
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// Every judged gap of a watched vessel: what the analysts see.
fn judged(db: &Path) -> Vec<(u32, String, String, String, String)> {
    let reader = Reader::open(db).unwrap();
    let filter = GapFilter {
        watched_only: true,
        ..GapFilter::default()
    };
    let mut found: Vec<_> = reader
        .gaps(&filter)
        .unwrap()
        .iter()
        .map(|g: &GapRecord| {
            (
                g.mmsi.0,
                g.dark_from.to_string(),
                g.dark_until.map(|t| t.to_string()).unwrap_or_default(),
                g.status.as_str().to_string(),
                g.port.clone().unwrap_or_default(),
            )
        })
        .collect();
    found.sort();
    found
}

/// What the live service judged, less the gaps that late data withdrew: replay sorts the late
/// lines into place, so those silences are never gaps there, while the service, which cannot
/// wait 12 hours for a line, records them and withdraws them by its late-data rules. Each
/// withdrawal the scenario plans must be there.
pub(crate) fn live_less_late_withdrawals(db: &Path) -> Vec<(u32, String, String, String, String)> {
    let text = std::fs::read_to_string(repo_path("samples/scenario.truth.json")).unwrap();
    let truth: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut found = judged(db);
    for w in truth["withdrawn"].as_array().unwrap() {
        let at = found
            .iter()
            .position(|g| {
                u64::from(g.0) == w["mmsi"].as_u64().unwrap()
                    && g.1 == w["dark_from"].as_str().unwrap()
                    && g.2 == w["dark_until"].as_str().unwrap()
                    && g.3 == "withdrawn"
            })
            .unwrap_or_else(|| panic!("the live service withdrew {w}: {found:?}"));
        found.remove(at);
    }
    found
}

pub(crate) fn replayed(dir: &Path, config: &Path) -> Vec<(u32, String, String, String, String)> {
    let config = Config::load(config).expect("the test configuration is valid");
    let db = dir.join("replay.db");
    let store = Store::open(&db).unwrap();
    aisgap::offline::replay::replay(&config, store, &[repo_path("samples/scenario.nmea")])
        .expect("replay succeeds");
    judged(&db)
}

#[test]
fn killed_many_times_the_service_ends_with_the_trips_of_an_uninterrupted_replay() {
    let dir = tempfile::tempdir().unwrap();
    let lines = scenario_lines();
    let total = lines.len() as u64;
    let db = dir.path().join("service.db");
    let server = FeedServer::start(lines, db.clone(), 80);
    let config = write_config(dir.path(), server.port, "");
    let expected = replayed(dir.path(), &config);
    assert!(
        expected.iter().filter(|g| g.3 == "trip").count() >= 10,
        "the scenario's trips: {expected:?}"
    );

    // kill -9 at uneven moments while the feed streams.
    let mut killed_at = Vec::new();
    for delay_ms in [600, 450, 700, 350, 500, 650] {
        let connections = server.accepted.lock().unwrap().len();
        let mut service = start_service(&config);
        // Counted from its connection, not its start: under load a start can take longer than
        // the delay, and a kill before connecting tests nothing.
        let deadline = Instant::now() + Duration::from_secs(15);
        while server.accepted.lock().unwrap().len() == connections && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        thread::sleep(Duration::from_millis(delay_ms));
        service.kill().unwrap();
        service.wait().unwrap();
        killed_at.push(committed_lines(&db, "feed"));
    }
    // A SIGTERM mid-stream: a clean stop that commits everything received.
    let before = committed_lines(&db, "feed");
    let mut service = start_service(&config);
    wait_for_lines(&db, before + 2000, Duration::from_secs(10));
    let status = terminate(&mut service);
    assert!(status.success(), "SIGTERM exit: {status:?}");
    killed_at.push(committed_lines(&db, "feed"));

    let mut service = start_service(&config);
    wait_for_lines(&db, total, Duration::from_secs(25));
    let status = terminate(&mut service);
    assert!(status.success(), "SIGTERM exit: {status:?}");

    eprintln!("committed lines at each stop: {killed_at:?} of {total}");
    let mid_stream = killed_at.iter().filter(|&&n| n > 0 && n < total).count();
    assert!(
        mid_stream >= 4,
        "most stops should land mid-stream; committed lines at each stop: {killed_at:?}"
    );
    let resumed = server.accepted.lock().unwrap().clone();
    assert!(
        resumed.len() >= 8,
        "connections and their resume points: {resumed:?}"
    );
    assert_eq!(
        live_less_late_withdrawals(&db),
        expected,
        "stops at {killed_at:?}"
    );
}

/// Collects the service's log lines as they come.
pub(crate) fn collect_stderr(child: &mut Child) -> Arc<Mutex<Vec<String>>> {
    use std::io::{BufRead, BufReader};
    let log = Arc::new(Mutex::new(Vec::new()));
    let stderr = child.stderr.take().expect("stderr is piped");
    let sink = log.clone();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    log
}

pub(crate) fn wait_for_log(log: &Mutex<Vec<String>>, needle: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while !log.lock().unwrap().iter().any(|l| l.contains(needle)) {
        assert!(
            Instant::now() < deadline,
            "no log line with {needle:?} within {within:?}; log:\n{}",
            log.lock().unwrap().join("\n")
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// Reads notifications until `wanted` arrives; returns everything received.
fn wait_for_notification(
    socket: &std::os::unix::net::UnixDatagram,
    wanted: &str,
    within: Duration,
) -> Vec<String> {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    let mut buffer = [0u8; 512];
    while !seen.iter().any(|m: &String| m.lines().any(|l| l == wanted)) {
        assert!(
            Instant::now() < deadline,
            "no {wanted} within {within:?}; got {seen:?}"
        );
        if let Ok(n) = socket.recv(&mut buffer) {
            seen.push(String::from_utf8_lossy(&buffer[..n]).into_owned());
        }
    }
    seen
}

#[test]
fn ready_after_the_database_opens_and_sighup_reloads_only_a_valid_config() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("service.db");
    let server = FeedServer::start(scenario_lines(), db.clone(), 40);
    let config = write_config(dir.path(), server.port, "");
    let socket_path = dir.path().join("notify.sock");
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();

    let mut service = aisgap()
        .args(["run", "--config"])
        .arg(&config)
        .env("RUST_LOG", "info")
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "300000")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting aisgap run");
    let log = collect_stderr(&mut service);
    wait_for_notification(&socket, "READY=1", Duration::from_secs(15));
    let tables: i64 = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("the database exists once READY=1 is sent")
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'engine_checkpoint'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 1, "the database is migrated before READY=1");
    // The pipeline turns, so the watchdog is fed (every half of WATCHDOG_USEC).
    wait_for_notification(&socket, "WATCHDOG=1", Duration::from_secs(5));
    wait_for_lines(&db, 500, Duration::from_secs(10));

    // A configuration with many mistakes: every one is logged, the old one stays in force.
    let good = std::fs::read_to_string(&config).unwrap();
    let bad = good
        .replace(
            "commit_interval_ms = 100",
            "commit_interval_ms = 1\nbatch_rows = 0",
        )
        .replace("kind = \"tcp\"", "kind = \"tpc\"")
        + "\n[detect]\ngap_hours = -3\nmax_speed_kn = 0\n";
    std::fs::write(&config, bad).unwrap();
    // SAFETY: kill(2) with the pid of our own child.
    unsafe { libc::kill(service.id() as i32, libc::SIGHUP) };
    wait_for_log(&log, "Reload refused", Duration::from_secs(10));
    let refused = log.lock().unwrap().join("\n");
    for field in [
        "commit_interval_ms",
        "batch_rows",
        "tpc",
        "gap_hours",
        "max_speed_kn",
    ] {
        assert!(refused.contains(field), "{field} not named in:\n{refused}");
    }
    let notes = wait_for_notification(&socket, "READY=1", Duration::from_secs(5));
    assert!(notes.iter().any(|m| m.contains("RELOADING=1")), "{notes:?}");
    let before = committed_lines(&db, "feed");
    wait_for_lines(&db, before + 500, Duration::from_secs(10));
    assert!(service.try_wait().unwrap().is_none(), "still running");

    // A valid one with a second feed whose port refuses connections: applied, still running.
    let closed_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let added = format!(
        "{good}\n[[source]]\nname = \"spare\"\nkind = \"tcp\"\naddress = \"127.0.0.1:{closed_port}\"\nreconnect_max_s = 1\n"
    );
    std::fs::write(&config, added).unwrap();
    // SAFETY: as above.
    unsafe { libc::kill(service.id() as i32, libc::SIGHUP) };
    wait_for_log(&log, "Configuration reloaded", Duration::from_secs(10));
    wait_for_log(&log, "source=spare", Duration::from_secs(10));
    let before = committed_lines(&db, "feed");
    wait_for_lines(&db, before + 500, Duration::from_secs(10));
    let status = terminate(&mut service);
    assert!(status.success(), "SIGTERM exit: {status:?}");
    wait_for_notification(&socket, "STOPPING=1", Duration::from_secs(5));
}

/// The unit passes `systemd-analyze verify` (with the binary path pointed at this build) when
/// systemd-analyze is installed; its required settings are checked either way.
#[test]
fn the_systemd_unit_has_what_the_service_needs_and_verifies() {
    let unit = std::fs::read_to_string(repo_path("systemd/aisgap.service"))
        .expect("systemd/aisgap.service");
    for required in [
        "Type=notify",
        "WatchdogSec=",
        "ExecStartPre=/usr/local/bin/aisgap check-config",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "Restart=on-failure",
        "StateDirectory=aisgap",
        "User=aisgap",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "CapabilityBoundingSet=\n",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "LimitNOFILE=",
        "DevicePolicy=closed",
        "UMask=0077",
    ] {
        assert!(unit.contains(required), "the unit lacks {required:?}");
    }
    let sysusers = std::fs::read_to_string(repo_path("systemd/aisgap.sysusers"))
        .expect("systemd/aisgap.sysusers");
    assert!(sysusers.lines().any(|l| l.starts_with("u aisgap ")));

    let analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    let Some(analyze) = analyze else {
        eprintln!("systemd-analyze is not installed: checked the unit's settings only");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("aisgap.service");
    std::fs::write(
        &local,
        unit.replace("/usr/local/bin/aisgap", env!("CARGO_BIN_EXE_aisgap")),
    )
    .unwrap();
    let out = Command::new(analyze)
        .arg("verify")
        .arg(&local)
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "systemd-analyze verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub(crate) fn http_address(config: &Path) -> String {
    let text = std::fs::read_to_string(config).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("listen = "))
        .expect("the test config names its HTTP address");
    line.trim_start_matches("listen = ")
        .trim_matches('"')
        .to_string()
}

#[test]
fn metrics_health_and_readiness_are_served_on_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("service.db");
    let server = FeedServer::start(scenario_lines(), db.clone(), 200);
    let config = write_config(dir.path(), server.port, "");
    let address = http_address(&config);
    let mut service = start_service(&config);
    wait_for_lines(&db, 5000, Duration::from_secs(15));

    assert_eq!(http_get(&address, "/healthz").0, 200);
    assert_eq!(http_get(&address, "/readyz").0, 200);
    // The analysts' API and page share the service's loopback listener.
    assert_eq!(http_get(&address, "/api/v1/summary").0, 200);
    assert_eq!(http_get(&address, "/").0, 200);
    let (status, page) = http_get(&address, "/metrics");
    assert_eq!(status, 200);
    let lines = metric(&page, "aisgap_source_lines_total{source=\"feed\"}")
        .unwrap_or_else(|| panic!("no source line counter in:\n{page}"));
    assert!(lines >= 5000.0, "{lines}");
    assert_eq!(
        metric(&page, "aisgap_source_connected{source=\"feed\"}"),
        Some(1.0)
    );
    assert!(
        metric(&page, "aisgap_messages_total{source=\"feed\",type=\"1\"}").unwrap_or(0.0) > 0.0
    );
    assert!(
        metric(&page, "aisgap_vessels_tracked").unwrap_or(0.0) > 10.0,
        "{page}"
    );
    assert!(metric(&page, "aisgap_db_commits_total").unwrap_or(0.0) >= 1.0);
    // The sample's lines carry tag blocks: every message timed by them, none untimed.
    assert!(
        metric(
            &page,
            "aisgap_messages_timed_total{source=\"feed\",carrier=\"tag_block\"}"
        )
        .unwrap_or(0.0)
            > 0.0
    );
    assert_eq!(
        metric(&page, "aisgap_messages_untimed_total{source=\"feed\"}"),
        Some(0.0),
        "{page}"
    );
    // The sample's events are from 2024: the stream clock lags the wall clock by years.
    assert!(metric(&page, "aisgap_stream_clock_lag_seconds").unwrap_or(0.0) > 86_400.0 * 365.0);
    assert!(
        metric(
            &page,
            "aisgap_messages_by_talker_total{source=\"feed\",talker=\"AI\"}"
        )
        .unwrap_or(0.0)
            > 0.0,
        "{page}"
    );
    for family in [
        "aisgap_rejects_total",
        "aisgap_duplicates_total",
        "aisgap_db_last_commit_seconds",
        "aisgap_line_channel_depth",
        "aisgap_source_dropped_total",
        "aisgap_open_gaps",
        "aisgap_dark_now",
        "aisgap_trips_total",
        "aisgap_fix_copies_total",
        "aisgap_report_copies_total",
    ] {
        assert!(
            page.contains(&format!("# TYPE {family} ")),
            "{family} missing"
        );
    }
    let delayed = metric(&page, "aisgap_pipeline_delay_seconds_bucket{le=\"+Inf\"}").unwrap_or(0.0);
    assert!(
        delayed >= 5000.0,
        "every line's delay is counted: {delayed}"
    );
    assert_eq!(http_get(&address, "/nothing").0, 404);

    // Once the feed is idle the checkpoint is not rewritten: commits stop.
    wait_for_lines(&db, scenario_lines().len() as u64, Duration::from_secs(15));
    thread::sleep(Duration::from_millis(300));
    let commits = |page: &str| metric(page, "aisgap_db_commits_total").unwrap_or(0.0);
    let idle_from = commits(&http_get(&address, "/metrics").1);
    thread::sleep(Duration::from_millis(600));
    assert_eq!(
        commits(&http_get(&address, "/metrics").1),
        idle_from,
        "commits while idle"
    );

    let status = terminate(&mut service);
    assert!(status.success(), "SIGTERM exit: {status:?}");
}

/// A feed that serves `segments` one per connection, closing each but the last (a feed that
/// drops its clients mid-stream); the first waits for `go`.
fn segment_server(
    lines: Arc<Vec<Vec<u8>>>,
    segments: Vec<std::ops::Range<usize>>,
    go: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for (n, segment) in segments.iter().enumerate() {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            while !go.load(Ordering::Relaxed) {
                thread::sleep(Duration::from_millis(5));
            }
            for chunk in lines[segment.clone()].chunks(200) {
                let mut bytes = chunk.join(&b'\n');
                bytes.push(b'\n');
                if stream.write_all(&bytes).is_err() {
                    return;
                }
                thread::sleep(Duration::from_millis(5));
            }
            if n + 1 == segments.len() {
                while !stop.load(Ordering::Relaxed) {
                    thread::sleep(Duration::from_millis(20));
                }
            }
        }
    });
    port
}

/// A line where a source may hand over to another without splitting a multi-sentence message.
fn boundary_near(lines: &[Vec<u8>], at: usize) -> usize {
    let single = |l: &[u8]| {
        let text = String::from_utf8_lossy(l);
        !text.contains("VDM,2,1,") && !text.contains("VDO,2,1,")
    };
    (at..lines.len())
        .find(|&i| single(&lines[i - 1]))
        .expect("a message boundary")
}

#[test]
fn fed_over_udp_then_a_tcp_feed_that_drops_the_service_finds_the_trips_of_replay() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("service.db");
    let lines = scenario_lines();
    let total = lines.len();
    let a = boundary_near(&lines, total / 3);
    let b = boundary_near(&lines, total * 2 / 3);
    let (go, stop) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let tcp_port = segment_server(
        lines.clone(),
        vec![a..b, b..total],
        go.clone(),
        stop.clone(),
    );
    let udp_port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = write_config(
        dir.path(),
        tcp_port,
        &format!(
            "\n[[source]]\nname = \"radio\"\nkind = \"udp\"\naddress = \"127.0.0.1:{udp_port}\"\n"
        ),
    );
    let expected = replayed(dir.path(), &config);
    let address = http_address(&config);
    let mut service = start_service(&config);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let up = TcpStream::connect(&address).is_ok()
            && metric(
                &http_get(&address, "/metrics").1,
                "aisgap_source_connected{source=\"radio\"}",
            ) == Some(1.0);
        if up {
            break;
        }
        assert!(Instant::now() < deadline, "the UDP source never bound");
        thread::sleep(Duration::from_millis(50));
    }

    // The first third by datagrams of 20 lines, paced so that no datagram is dropped.
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for (n, chunk) in lines[..a].chunks(20).enumerate() {
        let mut datagram = chunk.join(&b'\n');
        datagram.push(b'\n');
        sender.send_to(&datagram, ("127.0.0.1", udp_port)).unwrap();
        if n % 5 == 4 {
            thread::sleep(Duration::from_millis(5));
        }
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while committed_lines(&db, "radio") < a as u64 {
        assert!(
            Instant::now() < deadline,
            "only {} of {a} datagram lines arrived",
            committed_lines(&db, "radio")
        );
        thread::sleep(Duration::from_millis(20));
    }
    // Then the rest over TCP, from a feed that closes the connection once in between.
    go.store(true, Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(20);
    while committed_lines(&db, "feed") < (total - a) as u64 {
        assert!(
            Instant::now() < deadline,
            "only {} of {} feed lines arrived",
            committed_lines(&db, "feed"),
            total - a
        );
        thread::sleep(Duration::from_millis(20));
    }
    let page = http_get(&address, "/metrics").1;
    assert_eq!(
        metric(&page, "aisgap_source_connects_total{source=\"feed\"}"),
        Some(2.0),
        "the feed reconnected once"
    );
    assert_eq!(
        metric(
            &page,
            "aisgap_source_dropped_total{source=\"radio\",reason=\"pipeline_full\"}"
        ),
        Some(0.0)
    );
    let status = terminate(&mut service);
    stop.store(true, Ordering::Relaxed);
    assert!(status.success(), "SIGTERM exit: {status:?}");
    assert_eq!(live_less_late_withdrawals(&db), expected);
}

#[test]
fn garbage_endless_lines_half_sentences_and_a_closing_feed_leave_the_service_running() {
    let dir = tempfile::tempdir().unwrap();
    // A feed that accepts and hangs up at once, every time.
    let slammer = TcpListener::bind("127.0.0.1:0").unwrap();
    let slam_port = slammer.local_addr().unwrap().port();
    let slams = Arc::new(Mutex::new(0u32));
    let counted = slams.clone();
    thread::spawn(move || {
        for stream in slammer.incoming() {
            drop(stream);
            *counted.lock().unwrap() += 1;
        }
    });
    let push_port = free_port();
    let config = write_config(
        dir.path(),
        slam_port,
        &format!("\n[[source]]\nname = \"push\"\nkind = \"tcp-listen\"\naddress = \"127.0.0.1:{push_port}\"\nmax_line_bytes = 1000\n"),
    );
    let address = http_address(&config);
    let mut service = start_service(&config);
    let log = collect_stderr(&mut service);
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut push = loop {
        if let Ok(stream) = TcpStream::connect(("127.0.0.1", push_port)) {
            break stream;
        }
        assert!(
            Instant::now() < deadline,
            "the tcp-listen source never listened"
        );
        thread::sleep(Duration::from_millis(50));
    };
    let garbage: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    push.write_all(&garbage).unwrap();
    push.write_all(b"\n").unwrap();
    push.write_all(&vec![b'A'; 2_000_000]).unwrap(); // an endless line, ended at last
    push.write_all(
        b"\n!AIVDM,2,1,3,B,55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8,0*1C\n",
    )
    .unwrap();
    push.write_all(b"!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*2")
        .unwrap(); // cut short
    push.write_all(b"\n\x00\xff\xfe!AIVDM\n").unwrap();
    let valid: Vec<Vec<u8>> = scenario_lines()
        .iter()
        .filter(|l| l.windows(10).any(|w| w == b"AIVDM,1,1,"))
        .take(200)
        .cloned()
        .collect();
    let mut bytes = valid.join(&b'\n');
    bytes.push(b'\n');
    push.write_all(&bytes).unwrap();

    let deadline = Instant::now() + Duration::from_secs(15);
    let page = loop {
        let page = http_get(&address, "/metrics").1;
        let messages: f64 = page
            .lines()
            .filter(|l| l.starts_with("aisgap_messages_total{source=\"push\""))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        if messages >= 150.0 {
            break page;
        }
        assert!(
            Instant::now() < deadline,
            "the valid lines after the garbage were not decoded:\n{page}"
        );
        thread::sleep(Duration::from_millis(50));
    };
    assert!(
        metric(&page, "aisgap_source_too_long_total{source=\"push\"}").unwrap_or(0.0) >= 1.0,
        "{page}"
    );
    let rejected: f64 = page
        .lines()
        .filter(|l| l.starts_with("aisgap_rejects_total{source=\"push\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(rejected >= 2.0, "{page}");
    assert!(*slams.lock().unwrap() >= 1, "the closing feed was tried");
    assert!(metric(&page, "aisgap_source_connects_total{source=\"feed\"}").unwrap_or(0.0) >= 1.0);
    assert!(service.try_wait().unwrap().is_none(), "still running");
    assert_eq!(http_get(&address, "/healthz").0, 200);
    let status = terminate(&mut service);
    assert!(status.success(), "SIGTERM exit: {status:?}");
    let log = log.lock().unwrap().join("\n");
    assert!(
        log.contains("Line over the length limit dropped. source=push"),
        "the endless line is logged:\n{log}"
    );
}

#[test]
fn a_config_with_ten_mistakes_is_refused_with_all_ten_named() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), free_port(), "");
    let text = std::fs::read_to_string(&config).unwrap()
        .replace("commit_interval_ms = 100", "commit_interval_ms = 5\nbatch_rows = 0\ntrack_interval_minutes = 0")
        .replace("reconnect_max_s = 1", "reconnect_max_s = 1\nbaud = 9600\nmax_line_bytes = 0")
        .replace("listen = \"127.0.0.1:", "listen = \"nowhere:")
        + "\n[detect]\ngap_hours = -1\nmax_speed_kn = 0\nmin_coverage = 2\n\n[decode]\nfragment_timeout_s = 0\n";
    std::fs::write(&config, text).unwrap();
    for command in ["check-config", "run"] {
        let out = aisgap()
            .args([command, "--config"])
            .arg(&config)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{command} accepted a broken config");
        let said = String::from_utf8_lossy(&out.stderr);
        for key in [
            "commit_interval_ms",
            "batch_rows",
            "track_interval_minutes",
            "baud",
            "max_line_bytes",
            "http.listen",
            "gap_hours",
            "max_speed_kn",
            "min_coverage",
            "fragment_timeout_s",
        ] {
            assert!(said.contains(key), "{command}: {key} not named in:\n{said}");
        }
    }
}

/// A webhook collector on loopback: refuses the first `refuse` posts with 503, then takes all.
/// The bodies a collector took, and how many posts it saw.
/// What a test webhook received: the bodies it took, and how many POSTs it saw in all.
pub(crate) type Collected = (Arc<Mutex<Vec<String>>>, Arc<Mutex<usize>>);

/// A webhook on loopback that answers 503 to the first `refuse` POSTs and takes the rest.
pub(crate) fn webhook(refuse: usize) -> (u16, Collected) {
    use std::io::{BufRead, BufReader, Read};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let attempts = Arc::new(Mutex::new(0usize));
    let (sink, tries) = (bodies.clone(), attempts.clone());
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut reader = BufReader::new(stream);
            let mut length = 0usize;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                    break;
                }
                if let Some(value) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let attempt = {
                let mut n = tries.lock().unwrap();
                *n += 1;
                *n
            };
            let mut stream = reader.into_inner();
            if attempt <= refuse {
                let _ = stream.write_all(b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n");
            } else {
                sink.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&body).into_owned());
                let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\n\r\n");
            }
        }
    });
    (port, (bodies, attempts))
}

#[test]
fn trips_and_dark_vessels_are_alerted_to_a_webhook_and_a_jsonl_file_with_retries() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("service.db");
    let lines = scenario_lines();
    let total = lines.len() as u64;
    let server = FeedServer::start(lines, db.clone(), 400);
    let (hook_port, (bodies, attempts)) = webhook(2);
    let file = dir.path().join("alerts.jsonl");
    let config = write_config(
        dir.path(),
        server.port,
        &format!(
            "\n[alerts]\nwebhook = \"http://127.0.0.1:{hook_port}/aisgap\"\nfile = {file:?}\nretry_max_s = 1\n"
        ),
    );
    let expected = replayed(dir.path(), &config);
    let mut service = start_service(&config);
    wait_for_lines(&db, total, Duration::from_secs(20));
    let status = terminate(&mut service);
    assert!(status.success(), "SIGTERM exit: {status:?}");

    let parse =
        |text: &str| -> serde_json::Value { serde_json::from_str(text).expect("JSON alert") };
    let posted: Vec<serde_json::Value> = bodies.lock().unwrap().iter().map(|b| parse(b)).collect();
    let written: Vec<serde_json::Value> = std::fs::read_to_string(&file)
        .expect("the alert file")
        .lines()
        .map(parse)
        .collect();
    assert_eq!(
        posted, written,
        "the same alerts, in the same order, to both"
    );
    assert_eq!(
        *attempts.lock().unwrap(),
        posted.len() + 2,
        "two refused posts were retried"
    );
    let trips: std::collections::BTreeSet<(u64, String)> = posted
        .iter()
        .filter(|a| a["event"] == "trip")
        .map(|a| {
            (
                a["mmsi"].as_u64().unwrap(),
                a["dark_from"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (mmsi, dark_from, _, status, _) in &expected {
        if status == "trip" {
            assert!(
                trips.contains(&(u64::from(*mmsi), dark_from.clone())),
                "trip of {mmsi} at {dark_from} not alerted"
            );
        }
    }
    assert!(
        posted.iter().any(|a| a["event"] == "dark_now"),
        "dark-now alerts"
    );
    assert!(
        posted.iter().any(|a| a["event"] == "reappeared"),
        "reappearance alerts"
    );
}

/// Waits until the lock file beside `db` names `pid`: the service holds the database.
fn wait_for_lock_holder(db: &Path, pid: u32, within: Duration) {
    let lock = aisgap::store::lock::lock_path(db);
    let deadline = Instant::now() + within;
    while std::fs::read_to_string(&lock).unwrap_or_default().trim() != pid.to_string() {
        assert!(
            Instant::now() < deadline,
            "{} never named PID {pid}",
            lock.display()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

fn exits_within(mut child: Child, within: Duration) -> (std::process::ExitStatus, String) {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut text = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
            return (status, text);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the second writer was still running after {within:?}");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_second_writer_on_the_same_database_is_refused_naming_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), free_port(), "");
    let db = dir.path().join("service.db");
    let mut first = start_service(&config);
    wait_for_lock_holder(&db, first.id(), Duration::from_secs(20));

    let (status, log) = exits_within(start_service(&config), Duration::from_secs(20));
    assert!(!status.success(), "a second service started: {log}");
    let pid = format!("PID {}", first.id());
    assert!(
        log.contains(&pid) && log.contains(&db.display().to_string()),
        "{log}"
    );

    // A replay clears the store: refused the same way, and the service's database is intact.
    let replay = aisgap()
        .args(["replay", "--config"])
        .arg(&config)
        .arg(repo_path("samples/scenario.nmea"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (status, log) = exits_within(replay, Duration::from_secs(20));
    assert!(!status.success(), "a replay ran under the service: {log}");
    assert!(log.contains(&pid), "{log}");

    assert!(terminate(&mut first).success());
    let mut second = start_service(&config);
    wait_for_lock_holder(&db, second.id(), Duration::from_secs(20));
    assert!(terminate(&mut second).success());
}

/// One GET of `path` with the `Host` header given: the status code (0 while not listening).
fn status_with_host(address: &str, path: &str, host: &str) -> u16 {
    use std::io::Read;
    let Ok(mut stream) = TcpStream::connect(address) else {
        return 0;
    };
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[test]
fn the_tokenless_loopback_listener_answers_only_loopback_host_names() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), free_port(), "");
    let address = http_address(&config);
    let mut service = start_service(&config);
    let deadline = Instant::now() + Duration::from_secs(20);
    while status_with_host(&address, "/healthz", &address) == 0 {
        assert!(Instant::now() < deadline, "no HTTP listener at {address}");
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(status_with_host(&address, "/metrics", &address), 200);
    assert_eq!(status_with_host(&address, "/metrics", "localhost"), 200);
    assert_eq!(status_with_host(&address, "/metrics", "evil.example"), 421);
    assert!(terminate(&mut service).success());
}
