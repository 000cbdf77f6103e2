//! File sources of `aisgap run` taken up where the last commit left them: the real binary
//! killed with SIGKILL while a followed file grows, lines appended while it is stopped, a file
//! read once killed half way, and files rotated, truncated and rewritten while it is down. In
//! each case every line is committed exactly once: the database ends equal to that of one
//! uninterrupted run over the same lines, and agrees with `aisgap replay` of them.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use crate::support::{aisgap, provenance, repo_path, table_rows};

/// The tables that hold what the service found and how it stands: equal for two runs that
/// took the same lines exactly once. (The checkpoint row holds the wall-clock time of its
/// commit, and `file_positions` the file's inode, so those two are compared apart; so is the
/// evidence, whose byte offsets name the file each line was read from.)
const RESULT_TABLES: [&str; 10] = [
    "vessels",
    "identity_history",
    "gaps",
    "track_chunks",
    "port_hours",
    "ingest",
    "state",
    "vessel_states",
    "coverage_states",
    "source_positions",
];

pub(crate) fn scenario() -> Vec<u8> {
    std::fs::read(repo_path("samples/scenario.nmea")).expect("samples/scenario.nmea")
}

pub(crate) fn line_count(bytes: &[u8]) -> u64 {
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count() as u64
}

/// The byte just past the line ending at or after `at`: cuts between whole lines.
fn line_boundary(bytes: &[u8], at: usize) -> usize {
    bytes[at..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |i| at + i + 1)
}

/// A configuration reading `file` as source `log`, with a reorder window of `window_s`.
pub(crate) fn write_config(
    dir: &Path,
    name: &str,
    file: &Path,
    follow: bool,
    window_s: u32,
) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    let text = format!(
        "[ports]\nfile = {ports:?}\n\n[watchlist]\nfile = {watchlist:?}\n\n[store]\ndb = {db:?}\ncommit_interval_ms = 100\n\n[http]\nlisten = \"\"\n\n[order]\nreorder_window_s = {window_s}\n\n[[source]]\nname = \"log\"\nkind = \"file\"\npath = {file:?}\nfollow = {follow}\n",
        ports = repo_path("config/ports.geojson"),
        watchlist = repo_path("samples/watchlist.csv"),
        db = dir.join(format!("{name}.db")),
    );
    std::fs::write(&path, text).unwrap();
    path
}

pub(crate) struct Service {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Service {
    pub(crate) fn start(config: &Path) -> Service {
        let mut child = aisgap()
            .args(["run", "--config"])
            .arg(config)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting aisgap run");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("stderr is piped");
        let sink = log.clone();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Service { child, log }
    }

    pub(crate) fn wait_for_log(&self, needle: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.log.lock().unwrap().iter().any(|l| l.contains(needle)) {
            assert!(
                Instant::now() < deadline,
                "no log line with {needle:?} within {within:?}; log:\n{}",
                self.log.lock().unwrap().join("\n")
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    fn logged(&self, needle: &str) -> bool {
        self.count(needle) > 0
    }

    fn count(&self, needle: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    pub(crate) fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub(crate) fn terminate(mut self) {
        // SAFETY: kill(2) with the pid of our own child process.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        // A stop drains the lines already read and commits them: a debug build among the
        // suite's other services on two cores has taken over 20 s for that.
        let within = Duration::from_secs(60);
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "SIGTERM exit {status:?}; log:\n{}",
                    self.log.lock().unwrap().join("\n")
                );
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no stop within {within:?} of SIGTERM; log:\n{}",
                self.log.lock().unwrap().join("\n")
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        // A failed assertion must not leave a service running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Committed lines of the source and the committed file offset (0, 0 before any commit).
fn committed(db: &Path) -> (u64, u64) {
    let Ok(conn) = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY) else {
        return (0, 0);
    };
    let lines = conn
        .query_row(
            "SELECT lines FROM source_positions WHERE source = 'log'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap_or(0);
    let offset = conn
        .query_row(
            "SELECT offset FROM file_positions WHERE source = 'log'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap_or(0);
    (lines as u64, offset as u64)
}

pub(crate) fn wait_for_committed(db: &Path, lines: u64, within: Duration) {
    let deadline = Instant::now() + within;
    while committed(db).0 < lines {
        assert!(
            Instant::now() < deadline,
            "committed {:?} of {lines} lines within {within:?}",
            committed(db)
        );
        thread::sleep(Duration::from_millis(10));
    }
}

pub(crate) fn append(path: &Path, bytes: &[u8]) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    file.write_all(bytes).unwrap();
}

/// The database of one uninterrupted run of the service reading `bytes` once, stopped with
/// SIGTERM after committing it all.
fn uninterrupted(dir: &Path, bytes: &[u8], window_s: u32) -> PathBuf {
    let file = dir.join("whole.log");
    std::fs::write(&file, bytes).unwrap();
    let config = write_config(dir, "whole", &file, false, window_s);
    let service = Service::start(&config);
    let db = dir.join("whole.db");
    wait_for_committed(&db, line_count(bytes), Duration::from_secs(30));
    service.terminate();
    db
}

/// Fails naming how many rows differ and the first few of them, not with whole databases.
fn assert_same_rows(got: &[String], want: &[String], against: &str) {
    if got != want {
        let extra: Vec<_> = got.iter().filter(|r| !want.contains(r)).take(3).collect();
        let missing: Vec<_> = want.iter().filter(|r| !got.contains(r)).take(3).collect();
        panic!(
            "{} rows against {} of {against}; extra {extra:#?}, missing {missing:#?}",
            got.len(),
            want.len()
        );
    }
}

/// `db` holds what an uninterrupted run over `bytes` holds, committed up to the end of
/// `file_size` bytes of the last file read; and agrees with `aisgap replay` of `bytes` on
/// everything replay and live runs share (replay sorts late lines into place, so its gaps and
/// vessel counts may differ where the scenario sends lines late).
fn assert_read_exactly_once(dir: &Path, db: &Path, bytes: &[u8], file_size: u64, window_s: u32) {
    let total = line_count(bytes);
    assert_eq!(committed(db), (total, file_size), "committed lines, offset");
    let reference = uninterrupted(dir, bytes, window_s);
    assert_same_rows(
        &table_rows(db, &RESULT_TABLES),
        &table_rows(&reference, &RESULT_TABLES),
        "an uninterrupted run",
    );
    // Every gap's evidence, with the hash of its raw line(s): a kill between a gap's A and B
    // loses neither A's reference nor its line.
    assert_same_rows(
        &provenance(db),
        &provenance(&reference),
        "an uninterrupted run's evidence",
    );
    let raw_kept = |db: &Path| -> i64 {
        Connection::open(db)
            .unwrap()
            .query_row(
                "SELECT count(*) FROM evidence WHERE sha256 IS NULL",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert_eq!(raw_kept(db), 0, "evidence rows without their raw line");

    let replayed = dir.join("replayed.log");
    std::fs::write(&replayed, bytes).unwrap();
    let replay_db = dir.join("replay.db");
    let status = aisgap()
        .args(["replay", "--config"])
        .arg(repo_path("samples/aisgap.toml"))
        .arg("--db")
        .arg(&replay_db)
        .arg(&replayed)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "aisgap replay: {status:?}");
    for table in ["identity_history", "port_hours"] {
        assert_eq!(
            table_rows(db, &[table]),
            table_rows(&replay_db, &[table]),
            "{table} against replay"
        );
    }
    let decoded = |db: &Path| -> Vec<(String, i64)> {
        let conn = Connection::open(db).unwrap();
        let mut select = conn
            .prepare("SELECT name, value FROM ingest WHERE name LIKE 'decode.%' ORDER BY name")
            .unwrap();
        select
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let counters = decoded(db);
    assert_eq!(
        counters,
        decoded(&replay_db),
        "decode counters against replay"
    );
    assert!(
        counters.contains(&("decode.lines".to_string(), total as i64)),
        "{counters:?}"
    );
    // The engine's counters live in its checkpoint: each commit adds what it counted since the
    // last, so restarts count nothing twice and nothing is missing. These do not depend on the
    // order events arrive in.
    let engine_counter = |db: &Path, name: &str| -> Option<i64> {
        let conn = Connection::open(db).unwrap();
        conn.query_row("SELECT value FROM ingest WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .ok()
    };
    for name in ["engine.events", "engine.fixes", "engine.vessel_reports"] {
        let live = engine_counter(db, name);
        assert!(live.is_some_and(|n| n > 0), "{name}: {live:?}");
        assert_eq!(
            live,
            engine_counter(&replay_db, name),
            "{name} against replay"
        );
    }
    let trips = |db: &Path| -> Vec<String> {
        let conn = Connection::open(db).unwrap();
        let mut select = conn
            .prepare(
                "SELECT mmsi, dark_from, dark_until FROM gaps WHERE status = 'trip' ORDER BY 1, 2",
            )
            .unwrap();
        select
            .query_map([], |r| {
                Ok(format!(
                    "{} {} {:?}",
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<i64>>(2)?
                ))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(trips(db), trips(&replay_db), "trips against replay");
}

#[test]
fn a_followed_file_killed_while_it_grows_and_appended_to_while_stopped_is_read_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = scenario();
    let file = dir.path().join("feed.log");
    std::fs::write(&file, b"").unwrap();
    // Events wait in a reorder window: those it holds at a commit are in the checkpoint, and
    // the committed offset is past their lines.
    let config = write_config(dir.path(), "follow", &file, true, 30);
    let db = dir.path().join("follow.db");

    // Pieces cut anywhere, mid-line included: a kill often finds a partial last line.
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut size = 20_011;
    while start < bytes.len() {
        let end = (start + size).min(bytes.len());
        pieces.push(&bytes[start..end]);
        start = end;
        size = 20_011 + (size * 7919) % 30_000;
    }
    let mut service = Service::start(&config);
    // The first file is taken up at its end (it is empty here): wait until it is followed.
    service.wait_for_log("Following file.", Duration::from_secs(10));
    let mut appended_stopped = 0usize;
    let mut kills = Vec::new();
    let mut partial_at_kill = 0;
    let mut pieces = pieces.into_iter().peekable();
    let mut written = 0usize;
    let mut turn = 0;
    while let Some(piece) = pieces.next() {
        append(&file, piece);
        written += piece.len();
        turn += 1;
        thread::sleep(Duration::from_millis(30));
        if turn % 12 == 0 && pieces.peek().is_some() {
            // Something committed since the last start, then a kill at an uneven moment.
            let before = committed(&db).0;
            wait_for_committed(&db, before + 1, Duration::from_secs(10));
            thread::sleep(Duration::from_millis(20 * (turn as u64 % 7)));
            service.kill();
            kills.push((committed(&db), written));
            let (_, offset) = committed(&db);
            assert_eq!(
                bytes[offset as usize - 1],
                b'\n',
                "committed mid-line: {kills:?}"
            );
            partial_at_kill += usize::from(bytes[written - 1] != b'\n');
            // Lines appended while the service is down.
            for _ in 0..3 {
                if let Some(piece) = pieces.next() {
                    append(&file, piece);
                    written += piece.len();
                    appended_stopped += piece.len();
                }
            }
            service = Service::start(&config);
            service.wait_for_log(
                "Taking the file up where the last committed line ended",
                Duration::from_secs(10),
            );
        }
    }
    let total = line_count(&bytes);
    wait_for_committed(&db, total, Duration::from_secs(30));
    service.terminate();
    eprintln!(
        "{} kills at (committed lines, offset), bytes written: {kills:?}; {appended_stopped} bytes \
         appended while stopped",
        kills.len()
    );
    assert!(kills.len() >= 4, "kills: {kills:?}");
    assert!(
        kills
            .iter()
            .any(|((_, offset), written)| offset < &(*written as u64)),
        "some kill should leave lines read but not committed: {kills:?}"
    );
    assert!(appended_stopped > 100_000);
    // The file ended in a partial line at most kills: read again whole after the restart.
    assert!(partial_at_kill >= 3, "{partial_at_kill} of {kills:?}");
    assert_read_exactly_once(dir.path(), &db, &bytes, bytes.len() as u64, 30);
}

#[test]
fn a_file_read_once_and_killed_half_way_resumes_at_the_commit_and_is_not_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = scenario();
    let total = line_count(&bytes);
    let file = dir.path().join("feed.log");
    std::fs::write(&file, &bytes).unwrap();
    let config = write_config(dir.path(), "once", &file, false, 0);
    // An optimised build reads the whole file within one 100 ms commit interval: commit at
    // the shortest interval allowed so that a kill can land between commits.
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("commit_interval_ms = 100", "commit_interval_ms = 10"),
    )
    .unwrap();
    let db = dir.path().join("once.db");

    // Killed as soon as part of the file is committed, several times.
    let mut kills = Vec::new();
    for _ in 0..3 {
        let service = Service::start(&config);
        let start = committed(&db).0;
        let deadline = Instant::now() + Duration::from_secs(20);
        while committed(&db).0 == start && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(2));
        }
        service.kill();
        kills.push(committed(&db));
    }
    eprintln!("killed at (committed lines, offset): {kills:?} of {total} lines");
    assert!(
        kills.iter().any(|&(lines, _)| lines > 0 && lines < total),
        "a kill should land half way: {kills:?}"
    );
    let service = Service::start(&config);
    service.wait_for_log(
        "Taking the file up where the last committed line ended",
        Duration::from_secs(10),
    );
    wait_for_committed(&db, total, Duration::from_secs(30));
    service.terminate();
    let finished = table_rows(&db, &RESULT_TABLES);

    // Read to its end and committed: a restart reads nothing again, nor does the source
    // restarted by a reload that changes its settings.
    let service = Service::start(&config);
    service.wait_for_log("File read to its end.", Duration::from_secs(10));
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{text}max_line_bytes = 2000\n")).unwrap();
    // SAFETY: kill(2) with the pid of our own child process.
    unsafe { libc::kill(service.child.id() as i32, libc::SIGHUP) };
    service.wait_for_log(
        "Stopping source (configuration changed).",
        Duration::from_secs(10),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while service.count("File read to its end.") < 2 {
        assert!(Instant::now() < deadline, "the reloaded source did not end");
        thread::sleep(Duration::from_millis(10));
    }
    service.terminate();
    assert_same_rows(
        &table_rows(&db, &RESULT_TABLES),
        &finished,
        "the database before a restart and a reload",
    );
    assert_read_exactly_once(dir.path(), &db, &bytes, bytes.len() as u64, 0);
}

#[test]
fn rotated_truncated_and_rewritten_files_are_read_from_their_start_without_losing_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = scenario();
    let file = dir.path().join("feed.log");
    let config = write_config(dir.path(), "rotate", &file, true, 0);
    let db = dir.path().join("rotate.db");
    let cut = |fraction: f64| line_boundary(&bytes, (bytes.len() as f64 * fraction) as usize);
    let (a, b, c, d, e) = (cut(0.2), cut(0.35), cut(0.5), cut(0.58), cut(0.7));

    // The first file exists, empty, when the service first starts; it grows to `a`.
    std::fs::write(&file, b"").unwrap();
    let service = Service::start(&config);
    service.wait_for_log("Following file.", Duration::from_secs(10));
    append(&file, &bytes[..a]);
    wait_for_committed(&db, line_count(&bytes[..a]), Duration::from_secs(20));
    service.kill();

    // Down: the file grows to `b`, is rotated away, and a new one holds up to `c`. The rest of
    // the rotated file is read first, then the new one from its start.
    append(&file, &bytes[a..b]);
    std::fs::rename(&file, dir.path().join("feed.log.1")).unwrap();
    std::fs::write(&file, &bytes[b..c]).unwrap();
    let service = Service::start(&config);
    service.wait_for_log(
        "Reading the rest of the rotated file first.",
        Duration::from_secs(10),
    );
    wait_for_committed(&db, line_count(&bytes[..c]), Duration::from_secs(20));
    service.kill();
    assert_eq!(committed(&db).1, (c - b) as u64, "offset in the new file");

    // Down: truncated and rewritten shorter than the offset.
    assert!(d - c < c - b);
    std::fs::write(&file, &bytes[c..d]).unwrap();
    let service = Service::start(&config);
    service.wait_for_log("(truncated)", Duration::from_secs(10));
    wait_for_committed(&db, line_count(&bytes[..d]), Duration::from_secs(20));
    service.kill();

    // Down: truncated and rewritten longer than the offset, in the same inode: the bytes
    // before the offset are not the line last read, so it too is read from its start.
    assert!(e - d > d - c);
    std::fs::write(&file, &bytes[d..e]).unwrap();
    let service = Service::start(&config);
    service.wait_for_log("not the last line read", Duration::from_secs(10));
    assert!(!service.logged("Taking the file up where"));
    // Running: rotated again, to a file that holds the rest.
    wait_for_committed(&db, line_count(&bytes[..e]), Duration::from_secs(20));
    std::fs::rename(&file, dir.path().join("feed.log.2")).unwrap();
    std::fs::write(&file, &bytes[e..]).unwrap();
    wait_for_committed(&db, line_count(&bytes), Duration::from_secs(20));
    service.terminate();
    assert_read_exactly_once(dir.path(), &db, &bytes, (bytes.len() - e) as u64, 0);
}

/// The saved vessel states, the vessels the checkpoint tracks, and the vessels let go.
fn saved_states(db: &Path) -> (u64, u64, u64) {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let states: i64 = conn
        .query_row("SELECT COUNT(*) FROM vessel_states", [], |r| r.get(0))
        .unwrap();
    let engine: String = conn
        .query_row("SELECT engine FROM engine_checkpoint", [], |r| r.get(0))
        .unwrap();
    let checkpoint: serde_json::Value = serde_json::from_str(&engine).unwrap();
    let tracked = checkpoint["vessel_order"].as_array().map_or(0, Vec::len);
    let forgotten: i64 = conn
        .query_row(
            "SELECT value FROM ingest WHERE name = 'engine.forgotten_vessels'",
            [],
            |r| r.get(0),
        )
        .unwrap_or(0);
    (states as u64, tracked as u64, forgotten as u64)
}

/// Vessels let go after a day of silence take their saved states with them (the table grew
/// by every vessel ever heard, and a restart read all of it), and a restart reads only the
/// tracked vessels' states: one left over from before is deleted by its first commit.
#[test]
fn the_saved_vessel_states_are_those_of_the_tracked_vessels() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = scenario();
    let file = dir.path().join("feed.log");
    std::fs::write(&file, &bytes).unwrap();
    let config = write_config(dir.path(), "forget", &file, false, 0);
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("{text}\n[detect]\nforget_after_hours = 24\n"),
    )
    .unwrap();
    let db = dir.path().join("forget.db");
    let service = Service::start(&config);
    wait_for_committed(&db, line_count(&bytes), Duration::from_secs(30));
    service.terminate();
    let (states, tracked, forgotten) = saved_states(&db);
    assert!(
        forgotten > 0,
        "the sample must let vessels go for this test"
    );
    assert_eq!(states, tracked, "{forgotten} vessels let go");

    let conn = Connection::open(&db).unwrap();
    conn.execute(
        "INSERT INTO vessel_states (mmsi, state) VALUES (273999999, '{\"left\": \"long ago\"}')",
        [],
    )
    .unwrap();
    drop(conn);
    // Lines appended after the restart make it commit.
    let tail: Vec<&[u8]> = bytes
        .split(|&b| b == b'\n')
        .rev()
        .skip(1)
        .take(20)
        .collect();
    let mut more = Vec::new();
    for line in tail.into_iter().rev() {
        more.extend_from_slice(line);
        more.push(b'\n');
    }
    append(&file, &more);
    let service = Service::start(&config);
    wait_for_committed(&db, line_count(&bytes) + 20, Duration::from_secs(30));
    service.terminate();
    let (states, tracked, _) = saved_states(&db);
    assert_eq!(states, tracked);
}
