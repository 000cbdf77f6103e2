//! Real logs read by `aisgap run` as file sources, which gives each line its receive time as
//! well as the time it carries: the receive clock never stands in for the data's own, so the
//! service finds what `aisgap replay` of the same log finds. Lines that carry no time of their
//! own in a source that has one are timed on the source's clock (the receive time less how far
//! that clock lags it), and a message's second fragment timed only by its reception still
//! joins the first.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

use crate::resume::Service;
use crate::support::{aisgap, corpus, repo_path, table_rows};

/// Reads `log` once with `aisgap run` (every vessel watched, the shipped ports), then replays
/// it with the same settings; the two databases.
fn run_and_replay(dir: &Path, log: &Path) -> (PathBuf, PathBuf) {
    let settings = format!(
        "[ports]\nfile = {ports:?}\n\n[detect]\nwatch_all = true\n\n[http]\nlisten = \"\"\n",
        ports = repo_path("config/ports.geojson"),
    );
    let (run_db, replay_db) = (dir.join("run.db"), dir.join("replay.db"));
    let config = dir.join("run.toml");
    std::fs::write(
        &config,
        format!(
            "{settings}\n[store]\ndb = {run_db:?}\ncommit_interval_ms = 100\n\n[[source]]\nname = \"log\"\nkind = \"file\"\npath = {log:?}\nfollow = false\n"
        ),
    )
    .unwrap();
    let service = Service::start(&config);
    service.wait_for_log("File read to its end", Duration::from_secs(60));
    service.terminate();
    let replay_config = dir.join("replay.toml");
    std::fs::write(&replay_config, &settings).unwrap();
    let status = aisgap()
        .args(["replay", "--config"])
        .arg(&replay_config)
        .arg("--db")
        .arg(&replay_db)
        .arg(log)
        .output()
        .expect("aisgap replay runs");
    assert!(
        status.status.success(),
        "replay of {}: {status:?}",
        log.display()
    );
    (run_db, replay_db)
}

/// A counter of the `ingest` table (0 when never counted).
fn counted(db: &Path, name: &str) -> i64 {
    Connection::open(db)
        .unwrap()
        .query_row("SELECT value FROM ingest WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .unwrap_or(0)
}

fn stream_clock(db: &Path) -> String {
    Connection::open(db)
        .unwrap()
        .query_row(
            "SELECT value FROM state WHERE key = 'stream_clock'",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

fn column(db: &Path, query: &str) -> Vec<i64> {
    let conn = Connection::open(db).unwrap();
    let mut select = conn.prepare(query).unwrap();
    let values = select.query_map([], |r| r.get(0)).unwrap();
    values.collect::<Result<_, _>>().unwrap()
}

/// DMA's stream example: 2010 traffic timed by `$PGHP` lines, 141 messages without one. Read
/// live, sixteen years after, those 141 used to take the moment they were read: the stream
/// clock jumped to today, every vessel of the log looked silent since (1,376 open gaps, 1,325
/// more withdrawn by the fixes that came "late" after it), where the replay finds none.
#[test]
fn a_gatehouse_log_read_live_keeps_its_own_clock() {
    let dir = tempfile::tempdir().unwrap();
    let log = corpus("dma-aislib/stream_example.txt");
    let (run, replay) = run_and_replay(dir.path(), &log);
    let untimed = counted(&replay, "decode.clock.untimed");
    assert_eq!(
        untimed, 141,
        "the replay leaves the lines without $PGHP untimed"
    );
    assert_eq!(
        counted(&run, "decode.clock.timed_by_received_on_source_clock"),
        untimed
    );
    assert_eq!(counted(&run, "decode.clock.timed_by_received"), 0);
    assert_eq!(stream_clock(&run), stream_clock(&replay));
    assert_eq!(
        stream_clock(&replay),
        "1276256798873",
        "2010-06-11T11:46:38.873Z"
    );
    assert_eq!(
        table_rows(&run, &["gaps", "gap_history"]),
        table_rows(&replay, &["gaps", "gap_history"])
    );
    let heard = "SELECT mmsi FROM vessels ORDER BY mmsi";
    assert_eq!(column(&run, heard), column(&replay, heard));
}

/// AMSA's log: `$GPZDA` lines time it, and 11 messages come before the first one. Read live,
/// those 11 took the moment they were read (fourteen years after the log), the stream clock
/// jumped with them, and 2,151 vessels were forgotten as silent since: 451 fixes came "late"
/// and the tracks split (2,052 chunks against the replay's 1,601). Held until the source's
/// clock shows, they are timed on it, and the run keeps the replay's clock and tracks.
#[test]
fn messages_read_before_a_source_clock_shows_wait_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = corpus("amsa/ais.txt");
    let (run, replay) = run_and_replay(dir.path(), &log);
    let untimed = counted(&replay, "decode.clock.untimed");
    assert_eq!(untimed, 11, "the replay leaves the first 11 untimed");
    assert_eq!(
        counted(&run, "decode.clock.timed_by_received_on_source_clock"),
        untimed
    );
    assert_eq!(counted(&run, "decode.clock.timed_by_received"), 0);
    for db in [&run, &replay] {
        assert_eq!(
            counted(db, "engine.forgotten_vessels"),
            0,
            "{}",
            db.display()
        );
        assert_eq!(counted(db, "engine.late_fixes"), 0, "{}", db.display());
    }
    assert_eq!(stream_clock(&run), stream_clock(&replay));
    let chunks = "SELECT COUNT(*) FROM track_chunks";
    assert_eq!(column(&replay, chunks), [1601]);
    assert_eq!(column(&run, chunks), column(&replay, chunks));
    let heard = "SELECT mmsi FROM vessels ORDER BY mmsi";
    assert_eq!(column(&run, heard), column(&replay, heard));
}

/// The aisdb extract's type 5 messages: the first fragment's tag block has `c:`, the second's
/// only `g:` (`\g:2-2-3454*5B\`). Live, the second was aged by its receive time against the
/// first's data time (years apart), so all 18 expired and the five vessels heard only by
/// them were never seen; replay, which has no receive times, decoded them all.
#[test]
fn second_fragments_timed_only_by_their_reception_complete_live() {
    let dir = tempfile::tempdir().unwrap();
    let log = corpus("aisdb/test_data_20211101.nm4");
    let (run, replay) = run_and_replay(dir.path(), &log);
    assert_eq!(counted(&replay, "decode.by_type.5"), 18);
    assert_eq!(counted(&run, "decode.by_type.5"), 18);
    for reject in ["expired_fragment", "orphan_fragment"] {
        assert_eq!(
            counted(&run, &format!("decode.rejects.{reject}")),
            0,
            "{reject}"
        );
    }
    let heard = "SELECT mmsi FROM vessels ORDER BY mmsi";
    assert_eq!(column(&run, heard), column(&replay, heard));
    assert_eq!(
        table_rows(&run, &["identity_history"]),
        table_rows(&replay, &["identity_history"])
    );
}

/// exactEarth's tag-blocked extract: the type 5 reports carry `c:` times up to 12 days before
/// the fixes. Sorted in a replay, each sparse early report was a jump ahead that no quorum of
/// vessels confirmed alone, and 11 were refused; read live they come after the fixes and were
/// applied as late data (21 identity rows against 10), and a late fix left its vessel's first
/// heard at the report's time.
#[test]
fn reports_days_before_the_fixes_count_alike_live_and_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let log = corpus("amsa/exact-earth-with-tag-block.txt");
    let (run, replay) = run_and_replay(dir.path(), &log);
    for db in [&run, &replay] {
        assert_eq!(
            counted(db, "engine.refused_time.unconfirmed_jump"),
            0,
            "{}",
            db.display()
        );
    }
    let identities = table_rows(&replay, &["identity_history"]);
    assert_eq!(identities.len(), 21);
    assert_eq!(table_rows(&run, &["identity_history"]), identities);
    assert_eq!(
        table_rows(&run, &["vessels"]),
        table_rows(&replay, &["vessels"])
    );
}

/// NOAA's extract: 997 vessels heard once each within an hour, then three rows 23 h later, so
/// nearly every vessel is an open gap whose A is its only fix. That first message was not
/// remembered (a vessel is watched only once it is in the table), so no open gap had its A.
#[test]
fn every_gap_of_a_log_of_vessels_heard_once_has_its_a_as_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let log = corpus("aisdb/test_data_noaa_20230101.csv");
    let (run, replay) = run_and_replay(dir.path(), &log);
    let gaps = "SELECT count(*) FROM gaps";
    let without_a = "SELECT count(*) FROM gaps g WHERE NOT EXISTS (SELECT 1 FROM evidence e \
                     WHERE e.mmsi = g.mmsi AND e.dark_from = g.dark_from AND e.role = 'fix_a')";
    for db in [&run, &replay] {
        assert!(column(db, gaps)[0] > 900, "{}", db.display());
        assert_eq!(column(db, without_a), [0], "{}", db.display());
    }
    // Alike but for the source's number (a log's position in the replay, a hash of the
    // `[[source]]` name live): line, offset, station, raw line and hash.
    let cited = "SELECT mmsi || ' ' || dark_from || ' ' || role || ' ' || time || ' ' || line \
                 || ' ' || offset || ' ' || carrier || ' ' || station || ' ' || first_line \
                 || ' ' || sha256 FROM evidence ORDER BY mmsi, dark_from, role";
    let rows = |db: &Path| -> Vec<String> {
        let conn = Connection::open(db).unwrap();
        let mut select = conn.prepare(cited).unwrap();
        let rows = select.query_map([], |r| r.get(0)).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    };
    let replayed = rows(&replay);
    assert_eq!(replayed.len(), 1991);
    assert_eq!(rows(&run), replayed);
}

/// libais's test log has comment and empty lines between its sentences. A file source used
/// not to count the empty ones, so live evidence cited other line numbers than the replay's
/// for the same message (line 165 for the replay's 190).
#[test]
fn live_evidence_cites_the_line_numbers_a_replay_cites() {
    let dir = tempfile::tempdir().unwrap();
    let log = corpus("libais/test.aivdm");
    let (run, replay) = run_and_replay(dir.path(), &log);
    assert_eq!(counted(&run, "decode.lines"), 345);
    assert_eq!(counted(&replay, "decode.lines"), 345);
    let cited = "SELECT line FROM evidence ORDER BY mmsi, dark_from, role";
    let replayed = column(&replay, cited);
    assert!(replayed.len() > 20, "{replayed:?}");
    assert_eq!(column(&run, cited), replayed);
}
