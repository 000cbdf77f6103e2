//! One implausible time added to the bundled scenario changes nothing but the refusal
//! counters: replayed (sorted by event time) and fed in arrival order as `aisgap run` does.

use std::path::{Path, PathBuf};

use aisgap::config::Config;
use aisgap::decode::feed::FeedDecoder;
use aisgap::engine::{Change, Engine};
use aisgap::offline::replay::{replay, ReplaySummary};
use aisgap::store::Store;
use aisgap::stream_clock::RefusedTimes;

use crate::support::{dump, sample_path};

const DAY_SECS: i64 = 86_400;

fn sample_config() -> Config {
    Config::load(&sample_path("aisgap.toml")).expect("samples/aisgap.toml is valid")
}

/// The sample's lines as bytes: it holds a few deliberately broken ones that are not UTF-8.
fn sample_lines() -> Vec<Vec<u8>> {
    let bytes = std::fs::read(sample_path("scenario.nmea")).expect("samples/scenario.nmea");
    let mut lines: Vec<Vec<u8>> = bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    if lines.last().is_some_and(Vec::is_empty) {
        lines.pop();
    }
    lines
}

/// The tag block's `c:` seconds of a single-sentence position report, or `None` for any
/// other line.
fn position_report_secs(line: &[u8]) -> Option<i64> {
    let line = std::str::from_utf8(line).ok()?;
    let (tag, sentence) = line.strip_prefix('\\')?.split_once('\\')?;
    let payload = sentence.strip_prefix("!AIVDM,1,1,,")?.split(',').nth(1)?;
    if !matches!(payload.chars().next()?, '1'..='3') {
        return None;
    }
    let body = tag.split('*').next()?;
    body.split(',')
        .find_map(|field| field.strip_prefix("c:"))?
        .parse()
        .ok()
}

/// `line` with its tag block timed `secs`, the tag block's checksum made right again.
fn retimed(line: &[u8], secs: i64) -> Vec<u8> {
    let line = std::str::from_utf8(line).unwrap();
    let (tag, sentence) = line[1..].split_once('\\').unwrap();
    let body: Vec<String> = tag
        .split('*')
        .next()
        .unwrap()
        .split(',')
        .map(|field| match field.strip_prefix("c:") {
            Some(_) => format!("c:{secs}"),
            None => field.to_string(),
        })
        .collect();
    let body = body.join(",");
    let checksum = body.bytes().fold(0u8, |sum, b| sum ^ b);
    format!("\\{body}*{checksum:02X}\\{sentence}").into_bytes()
}

/// The sample with a copy of the first position report at or after `at` (a share of the
/// file) inserted after it, timed by `time` from the original's seconds.
fn sample_with_bad_line(at: f64, time: impl Fn(i64) -> i64) -> (Vec<Vec<u8>>, usize) {
    let mut lines = sample_lines();
    let start = (lines.len() as f64 * at) as usize;
    let index = (start..lines.len())
        .find(|&i| position_report_secs(&lines[i]).is_some())
        .expect("a position report after the chosen place");
    let secs = position_report_secs(&lines[index]).unwrap();
    let bad = retimed(&lines[index], time(secs));
    lines.insert(index + 1, bad);
    (lines, index + 1)
}

fn replay_lines(dir: &Path, name: &str, lines: &[Vec<u8>]) -> (ReplaySummary, PathBuf) {
    let log = dir.join(format!("{name}.nmea"));
    let mut bytes = lines.join(&b'\n');
    bytes.push(b'\n');
    std::fs::write(&log, bytes).unwrap();
    let db = dir.join(format!("{name}.db"));
    let store = Store::open(&db).unwrap();
    let (summary, store) = replay(&sample_config(), store, &[log]).expect("replay succeeds");
    drop(store);
    (summary, db)
}

/// Every table but the ingest counters.
fn tables(db: &Path) -> Vec<String> {
    dump(db)
        .into_iter()
        .filter(|row| !row.starts_with("ingest: "))
        .collect()
}

fn ingest_value(db: &Path, name: &str) -> Option<i64> {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(
        "SELECT value FROM ingest WHERE CAST(name AS TEXT) = ?1",
        [name],
        |row| row.get(0),
    )
    .ok()
}

/// Replays the sample and the sample with the bad line; the tables agree but for the counters,
/// which name the refusal.
fn assert_replay_unchanged(lines: &[Vec<u8>], expected: RefusedTimes, counter: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (plain_summary, plain) = replay_lines(dir.path(), "plain", &sample_lines());
    let (summary, bad) = replay_lines(dir.path(), "bad", lines);
    assert_eq!(plain_summary.engine.refused_time, RefusedTimes::default());
    assert_eq!(summary.engine.refused_time, expected);
    assert_eq!(summary.stream_clock, plain_summary.stream_clock);
    let (plain_rows, bad_rows) = (tables(&plain), tables(&bad));
    assert!(
        plain_rows.len() > 1000,
        "the dump covers the whole database"
    );
    assert_eq!(plain_rows, bad_rows);
    assert_eq!(ingest_value(&bad, counter), Some(1), "{counter}");
    assert_eq!(ingest_value(&plain, counter), None, "{counter}");
}

#[test]
fn a_line_timed_2100_in_the_middle_of_the_sample_changes_nothing_but_a_counter() {
    let (lines, _) = sample_with_bad_line(0.5, |_| 4_102_444_800);
    let expected = RefusedTimes {
        from_2100: 1,
        ..RefusedTimes::default()
    };
    assert_replay_unchanged(&lines, expected, "engine.refused_time.from_2100");
}

#[test]
fn a_line_timed_1999_in_the_middle_of_the_sample_changes_nothing_but_a_counter() {
    let (lines, _) = sample_with_bad_line(0.5, |_| 946_684_800 - DAY_SECS);
    let expected = RefusedTimes {
        before_2000: 1,
        ..RefusedTimes::default()
    };
    assert_replay_unchanged(&lines, expected, "engine.refused_time.before_2000");
}

/// Sorted by event time, a line a day ahead in the last day of the sample comes after every
/// other line and would move the clock a day past the end of the input.
#[test]
fn a_line_a_day_ahead_of_its_neighbours_is_refused_in_replay() {
    let (lines, _) = sample_with_bad_line(0.995, |secs| secs + DAY_SECS);
    let expected = RefusedTimes {
        unconfirmed_jump: 1,
        ..RefusedTimes::default()
    };
    assert_replay_unchanged(&lines, expected, "engine.refused_time.unconfirmed_jump");
}

/// Every change the engine makes when fed `lines` in arrival order, as the service feeds it,
/// and the engine at the end. Right after line `bad` (timed `bad_secs`), neither the clock nor
/// the checkpoint a restarted service would resume from holds that time as "now".
fn run_in_arrival_order(lines: &[Vec<u8>], bad: Option<(usize, i64)>) -> (Vec<Change>, Engine) {
    let config = sample_config();
    let mut engine = Engine::new(
        config.detect.clone(),
        config.ports.clone(),
        config.watchlist.clone(),
        config.store.track_interval_minutes,
    );
    let mut decoder = FeedDecoder::new(config.decode_options(None), "scenario".into());
    let mut events = Vec::new();
    let mut changes = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        decoder.decode_line(line, None, &mut events);
        for event in events.drain(..) {
            engine.ingest(&event);
        }
        changes.append(&mut engine.take_changes());
        if let Some((_, secs)) = bad.filter(|(at, _)| *at == index) {
            let clock = engine.clock().expect("the clock started long before");
            assert!(
                (clock.as_secs() - secs).abs() > 3600,
                "the clock moved to {clock}, the bad line's time"
            );
            let checkpoint = serde_json::to_value(engine.checkpoint()).unwrap();
            assert_eq!(checkpoint["clock"], serde_json::to_value(clock).unwrap());
            let text = checkpoint.to_string();
            assert!(
                !text.contains("\"2100-") && !text.contains("\"1999-"),
                "{text:.300}"
            );
        }
    }
    engine.finish();
    changes.append(&mut engine.take_changes());
    (changes, engine)
}

#[test]
fn in_arrival_order_a_bad_line_anywhere_changes_nothing_the_engine_emits() {
    let (plain, plain_engine) = run_in_arrival_order(&sample_lines(), None);
    assert!(plain.len() > 1000);
    for (at, time, reason) in [
        (
            0.5,
            Box::new(|_| 4_102_444_800_i64) as Box<dyn Fn(i64) -> i64>,
            "2100",
        ),
        (0.5, Box::new(|secs| secs + DAY_SECS), "a day ahead"),
        (
            0.3,
            Box::new(|secs| secs + 3 * DAY_SECS),
            "three days ahead",
        ),
        (0.5, Box::new(|_| 946_684_800 - DAY_SECS), "1999"),
    ] {
        let (lines, bad) = sample_with_bad_line(at, time);
        let bad_secs = position_report_secs(&lines[bad]).unwrap();
        let (changes, engine) = run_in_arrival_order(&lines, Some((bad, bad_secs)));
        assert_eq!(engine.stats().refused_time.total(), 1, "{reason}");
        assert_eq!(engine.clock(), plain_engine.clock(), "{reason}");
        assert_eq!(engine.held_events(), 0, "{reason}");
        assert!(changes == plain, "{reason}: the engine's changes differ");
    }
}
