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
use aisgap::store::read::{gaps, GapFilter};
use aisgap::store::Store;
use rusqlite::{Connection, OpenFlags};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The sample's lines as the service frames them (it holds some garbage bytes on purpose).
fn scenario_lines() -> Arc<Vec<Vec<u8>>> {
    let bytes = std::fs::read(root().join("samples/scenario.nmea")).expect("samples/scenario.nmea");
    Arc::new(
        bytes
            .split(|&b| b == b'\n' || b == b'\r')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect(),
    )
}

/// A loopback port nobody listens on (free a moment ago).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A service configuration for the sample's ports and watchlist, with one TCP feed; its HTTP
/// listener's address is in the `[http]` section.
fn write_config(dir: &Path, feed_port: u16, extra: &str) -> PathBuf {
    let path = dir.join("aisgap.toml");
    let text = format!(
        "[ports]\nfile = {ports:?}\n\n[watchlist]\nfile = {watchlist:?}\n\n[store]\ndb = {db:?}\ncommit_interval_ms = 100\n\n[http]\nlisten = \"127.0.0.1:{http}\"\n\n[[source]]\nname = \"feed\"\nkind = \"tcp\"\naddress = \"127.0.0.1:{feed_port}\"\nreconnect_max_s = 1\n{extra}",
        ports = root().join("config/ports.geojson"),
        watchlist = root().join("samples/watchlist.csv"),
        db = dir.join("service.db"),
        http = free_port(),
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Lines of `source` the service has committed, from its database (0 before any commit).
fn committed_lines(db: &Path, source: &str) -> u64 {
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
    Command::new(env!("CARGO_BIN_EXE_aisgap"))
        .args(["run", "--config"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting aisgap run")
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
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
    let conn = Connection::open(db).unwrap();
    let filter = GapFilter {
        watched_only: true,
        ..GapFilter::default()
    };
    let mut found: Vec<_> = gaps(&conn, &filter)
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

fn replayed(dir: &Path, config: &Path) -> Vec<(u32, String, String, String, String)> {
    let config = Config::load(config).expect("the test configuration is valid");
    let db = dir.join("replay.db");
    let store = Store::open(&db).unwrap();
    aisgap::replay::replay(&config, store, &[root().join("samples/scenario.nmea")])
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
        let mut service = start_service(&config);
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
    assert_eq!(judged(&db), expected, "stops at {killed_at:?}");
}

/// Collects the service's log lines as they come.
fn collect_stderr(child: &mut Child) -> Arc<Mutex<Vec<String>>> {
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

fn wait_for_log(log: &Mutex<Vec<String>>, needle: &str, within: Duration) {
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

    let mut service = Command::new(env!("CARGO_BIN_EXE_aisgap"))
        .args(["run", "--config"])
        .arg(&config)
        .env("RUST_LOG", "info")
        .env("NOTIFY_SOCKET", &socket_path)
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
    let unit = std::fs::read_to_string(root().join("systemd/aisgap.service"))
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
    ] {
        assert!(unit.contains(required), "the unit lacks {required:?}");
    }
    let sysusers = std::fs::read_to_string(root().join("systemd/aisgap.sysusers"))
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

/// One HTTP/1.1 GET on loopback: status code and body.
fn http_get(address: &str, path: &str) -> (u16, String) {
    use std::io::Read;
    let mut stream = TcpStream::connect(address).expect("the HTTP listener accepts");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn http_address(config: &Path) -> String {
    let text = std::fs::read_to_string(config).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("listen = "))
        .expect("the test config names its HTTP address");
    line.trim_start_matches("listen = ")
        .trim_matches('"')
        .to_string()
}

/// The value of one sample in a Prometheus text page.
fn sample(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
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
    let (status, page) = http_get(&address, "/metrics");
    assert_eq!(status, 200);
    let lines = sample(&page, "aisgap_source_lines_total{source=\"feed\"}")
        .unwrap_or_else(|| panic!("no source line counter in:\n{page}"));
    assert!(lines >= 5000.0, "{lines}");
    assert_eq!(
        sample(&page, "aisgap_source_connected{source=\"feed\"}"),
        Some(1.0)
    );
    assert!(
        sample(&page, "aisgap_messages_total{source=\"feed\",type=\"1\"}").unwrap_or(0.0) > 0.0
    );
    assert!(
        sample(&page, "aisgap_vessels_tracked").unwrap_or(0.0) > 10.0,
        "{page}"
    );
    assert!(sample(&page, "aisgap_db_commits_total").unwrap_or(0.0) >= 1.0);
    // The sample's events are from 2024: the stream clock lags the wall clock by years.
    assert!(sample(&page, "aisgap_stream_clock_lag_seconds").unwrap_or(0.0) > 86_400.0 * 365.0);
    for family in [
        "aisgap_rejects_total",
        "aisgap_db_last_commit_seconds",
        "aisgap_line_channel_depth",
        "aisgap_source_dropped_total",
        "aisgap_open_gaps",
        "aisgap_dark_now",
        "aisgap_trips_total",
    ] {
        assert!(
            page.contains(&format!("# TYPE {family} ")),
            "{family} missing"
        );
    }
    assert_eq!(http_get(&address, "/nothing").0, 404);

    let status = terminate(&mut service);
    assert!(status.success(), "SIGTERM exit: {status:?}");
}
