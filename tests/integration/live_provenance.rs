//! Live provenance: `aisgap run` stores the raw line(s) and SHA-256 of every evidence row as
//! `aisgap replay` of the same file does, and a restart between a gap's fix A and fix B loses
//! neither A's reference nor its raw line.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use rusqlite::Connection;
use sha2_free::sha256_hex;

use crate::resume::{append, line_count, scenario, wait_for_committed, write_config, Service};
use crate::support::{aisgap, repo_path};

/// SHA-256 without another dependency: the crate's own, which the tests of provenance check
/// against `sha256sum` (README) and the replay's stored hashes.
mod sha2_free {
    pub fn sha256_hex(bytes: &[u8]) -> String {
        aisgap::engine::provenance::sha256_hex(bytes)
    }
}

/// One evidence row: its key, then where its line(s) were and what they were. The source's
/// number is left out: a replay numbers its logs, a service hashes its source's name.
#[derive(Clone, Debug, PartialEq)]
struct Row {
    key: (i64, i64, String),
    time: i64,
    line: i64,
    offset: i64,
    first_line: Option<i64>,
    carrier: Option<String>,
    station: Option<String>,
    raw: Option<Vec<u8>>,
    sha256: Option<String>,
}

fn evidence(db: &Path) -> Vec<Row> {
    let conn = Connection::open(db).unwrap();
    let mut select = conn
        .prepare(
            "SELECT mmsi, dark_from, role, time, line, offset, first_line, carrier, station, raw, \
             sha256 FROM evidence ORDER BY mmsi, dark_from, role",
        )
        .unwrap();
    select
        .query_map([], |r| {
            Ok(Row {
                key: (r.get(0)?, r.get(1)?, r.get(2)?),
                time: r.get(3)?,
                line: r.get(4)?,
                offset: r.get(5)?,
                first_line: r.get(6)?,
                carrier: r.get(7)?,
                station: r.get(8)?,
                raw: r.get(9)?,
                sha256: r.get(10)?,
            })
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn status_of(db: &Path, mmsi: i64, dark_from: i64) -> String {
    let conn = Connection::open(db).unwrap();
    conn.query_row(
        "SELECT status FROM gaps WHERE mmsi = ?1 AND dark_from = ?2",
        [mmsi, dark_from],
        |r| r.get(0),
    )
    .unwrap()
}

fn replay(dir: &Path, log: &Path) -> std::path::PathBuf {
    let db = dir.join("replay.db");
    let status = aisgap()
        .args(["replay", "--config"])
        .arg(repo_path("samples/aisgap.toml"))
        .arg("--db")
        .arg(&db)
        .arg(log)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "aisgap replay: {status:?}");
    db
}

/// The service reading `bytes` from `file` from start to end, stopped with SIGTERM.
fn run_whole(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let file = dir.join(format!("{name}.log"));
    std::fs::write(&file, bytes).unwrap();
    let config = write_config(dir, name, &file, false, 0);
    let service = Service::start(&config);
    let db = dir.join(format!("{name}.db"));
    wait_for_committed(&db, line_count(bytes), Duration::from_secs(60));
    service.terminate();
    db
}

/// The line(s) `row` names, read from `bytes` by number, as the evidence joins them.
fn lines_named(bytes: &[u8], row: &Row) -> (Vec<u8>, Vec<u8>) {
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    let first = row.first_line.expect("a first line") as usize;
    (
        lines[first - 1].to_vec(),
        lines[row.line as usize - 1].to_vec(),
    )
}

#[test]
fn the_service_stores_the_raw_lines_and_hashes_a_replay_stores_for_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = scenario();
    let live_db = run_whole(dir.path(), "live", &bytes);
    let replay_db = replay(dir.path(), &repo_path("samples/scenario.nmea"));
    let live = evidence(&live_db);
    let replayed = evidence(&replay_db);
    assert!(replayed.len() > 50, "{} replayed rows", replayed.len());
    // Every row a replay has, the service has, with the same line numbers (a file source
    // counts its lines from the file's first, as replay does), bytes and hashes.
    for want in &replayed {
        let got = live.iter().find(|r| r.key == want.key);
        assert_eq!(got, Some(want), "live row of {:?}", want.key);
    }
    // The service also keeps the evidence of the silences it recorded before late lines
    // withdrew them (replay sorts those lines into place first): raw lines all the same.
    for extra in live
        .iter()
        .filter(|r| !replayed.iter().any(|w| w.key == r.key))
    {
        let (mmsi, dark_from, _) = &extra.key;
        assert_eq!(
            status_of(&live_db, *mmsi, *dark_from),
            "withdrawn",
            "{extra:?}"
        );
    }
    for row in &live {
        let raw = row
            .raw
            .as_ref()
            .unwrap_or_else(|| panic!("no raw line: {row:?}"));
        assert_eq!(row.sha256.as_deref(), Some(sha256_hex(raw).as_str()));
        let (first, last) = lines_named(&bytes, row);
        assert!(raw.starts_with(&first) && raw.ends_with(&last), "{row:?}");
        let fragments = raw.split(|&b| b == b'\n').count();
        assert_eq!(fragments > 1, row.first_line != Some(row.line), "{row:?}");
    }
    assert!(
        live.iter().any(|r| r.first_line != Some(r.line)),
        "some evidence is a message of two sentences"
    );
}

#[test]
fn a_service_restarted_between_fix_a_and_fix_b_keeps_where_a_came_from_and_its_raw_line() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = scenario();
    let whole = run_whole(dir.path(), "whole", &bytes);
    let uninterrupted = evidence(&whole);
    // A trip whose fix A is heard long before its silence is recorded open: stopped right
    // after A, the service has handed out nothing of that gap yet.
    let a = uninterrupted
        .iter()
        .find(|r| r.key.2 == "fix_a" && status_of(&whole, r.key.0, r.key.1) == "trip")
        .expect("a trip's fix A")
        .clone();
    let cut = bytes
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .nth(a.line as usize - 1)
        .map(|(at, _)| at + 1)
        .unwrap();

    let file = dir.path().join("growing.log");
    std::fs::write(&file, b"").unwrap();
    let config = write_config(dir.path(), "restarted", &file, true, 0);
    let db = dir.path().join("restarted.db");
    let service = Service::start(&config);
    // A followed file is first taken up at its end: it is empty until followed.
    service.wait_for_log("Following file.", Duration::from_secs(10));
    append(&file, &bytes[..cut]);
    wait_for_committed(&db, a.line as u64, Duration::from_secs(60));
    // Killed: only what was committed with A's line survives.
    service.kill();
    let before: Vec<Row> = evidence(&db);
    assert!(
        !before.iter().any(|r| r.key == a.key),
        "the gap of {:?} was not yet recorded at the stop",
        a.key
    );
    let saved: i64 = Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM witness_states WHERE mmsi = ?1",
            [a.key.0],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        saved, 1,
        "the watched vessel's witness is saved with the checkpoint"
    );

    append(&file, &bytes[cut..]);
    let service = Service::start(&config);
    wait_for_committed(&db, line_count(&bytes), Duration::from_secs(60));
    service.terminate();
    let after = evidence(&db);
    assert_eq!(
        after.iter().find(|r| r.key == a.key),
        Some(&a),
        "fix A after the restart"
    );
    assert_eq!(after, uninterrupted, "evidence of the restarted run");
}
