//! The report of one trip, written by `aisgap report trip` and served by the API: the raw lines
//! of fixes A and B and of the static reports exactly as they are in the log, with line numbers
//! and SHA-256 recomputed here from the file; a fingerprint that changes when a threshold does;
//! a withdrawn gap's history saying why; and (module `browser`) the page in headless Chromium,
//! checked against `aisgap query trips`, printed to PDF and photographed.

use std::path::{Path, PathBuf};

use aisgap::config::Config;
use aisgap::engine::Engine;
use aisgap::model::{AisEvent, LineRef};
use aisgap::report::trip::{self, TripKey};
use aisgap::store::Store;
use aisgap::time::UnixMillis;
use aisgap::FeedDecoder;
use serde_json::Value;

use crate::support::{aisgap, repo_path};

fn run_ok(args: &[&str]) -> String {
    let output = aisgap().args(args).output().expect("running aisgap");
    assert!(
        output.status.success(),
        "aisgap {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// `samples/scenario.nmea` replayed by the binary into `dir/name`, with `extra` flags.
fn replay_sample(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let db = dir.join(name);
    let config = repo_path("samples/aisgap.toml");
    let log = repo_path("samples/scenario.nmea");
    let mut args = vec![
        "replay",
        "--config",
        config.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.push(log.to_str().unwrap());
    run_ok(&args);
    db
}

fn trips(db: &Path) -> Vec<Value> {
    let text = run_ok(&[
        "query",
        "trips",
        "--db",
        db.to_str().unwrap(),
        "--format",
        "json",
    ]);
    serde_json::from_str::<Value>(&text)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn key_of(trip: &Value) -> String {
    format!("{}@{}", trip["mmsi"], trip["dark_from"].as_str().unwrap())
}

fn report(db: &Path, key: &str) -> String {
    let out = db.with_extension("html");
    run_ok(&[
        "report",
        "trip",
        key,
        "--db",
        db.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    std::fs::read_to_string(out).unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The text between `start` (after its first occurrence at or after `from`) and `end`.
fn between<'a>(html: &'a str, from: usize, start: &str, end: &str) -> &'a str {
    let at = from
        + html[from..]
            .find(start)
            .unwrap_or_else(|| panic!("no {start}"))
        + start.len();
    &html[at..at + html[at..].find(end).unwrap()]
}

/// One evidence item of the page: last line, first line, SHA-256 shown, raw text shown.
fn evidence(html: &str, role: &str) -> (usize, usize, String, String) {
    let at = html
        .find(&format!("id=\"evidence-{role}\""))
        .unwrap_or_else(|| panic!("no evidence {role}"));
    let line = between(html, at, "data-line=\"", "\"").parse().unwrap();
    let first = between(html, at, "data-first-line=\"", "\"")
        .parse()
        .unwrap();
    let sha = between(html, at, "class=\"hash sha256\">", "<").to_string();
    let raw = unescape(between(html, at, "<pre class=\"raw\">", "</pre>"));
    (line, first, sha, raw)
}

/// Every line of the log whose decoding gives a position of `mmsi` at `time` (1-based).
fn lines_with_fix(log: &Path, mmsi: u64, time: UnixMillis) -> Vec<usize> {
    let config = Config::load(&repo_path("samples/aisgap.toml")).unwrap();
    let mut decoder =
        FeedDecoder::new(config.decode_options(Some("scenario".into())), "log".into());
    let text = std::fs::read(log).unwrap();
    let mut found = Vec::new();
    let mut events = Vec::new();
    for (index, line) in text.split(|&b| b == b'\n').enumerate() {
        events.clear();
        decoder.decode_line(line, None, &mut events);
        if events.iter().any(|e| {
            matches!(e, AisEvent::Fix(f) if u64::from(f.mmsi.0) == mmsi && f.heard.time == Some(time))
        }) {
            found.push(index + 1);
        }
    }
    found
}

#[test]
fn a_trip_report_shows_the_raw_lines_of_a_and_b_as_they_are_in_the_log_with_their_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let db = replay_sample(dir.path(), "sample.db", &[]);
    let trips = trips(&db);
    assert_eq!(trips.len(), 14);
    let log = repo_path("samples/scenario.nmea");
    // The log holds some bytes that are not UTF-8 (noise a receiver passed on); A, B and the
    // static reports are ASCII.
    let bytes = std::fs::read(&log).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    for trip in [&trips[0], &trips[9]] {
        let html = report(&db, &key_of(trip));
        let mmsi = trip["mmsi"].as_u64().unwrap();
        for (role, time) in [
            ("fix_a", &trip["dark_from"]),
            ("fix_b", &trip["dark_until"]),
        ] {
            let time = UnixMillis::parse_user(time.as_str().unwrap()).unwrap();
            let (line, first, sha, raw) = evidence(&html, role);
            assert_eq!(first, line, "{role}: a position is one line");
            let expected = lines_with_fix(&log, mmsi, time);
            assert!(
                expected.contains(&line),
                "{role} of {mmsi}: line {line}, the file has it at {expected:?}"
            );
            assert_eq!(
                raw,
                lines[line - 1],
                "{role}: the line as it is in the file"
            );
            assert_eq!(
                sha,
                sha256(lines[line - 1].as_bytes()),
                "{role}: SHA-256 of line {line}"
            );
        }
        // The static report in force at A: its fragments, in file order, hashed together.
        let (line, first, sha, raw) = evidence(&html, "static_before");
        assert!(
            first < line,
            "a type 5 is two sentences here: {first}..{line}"
        );
        let message = lines[first - 1..line].join("\n");
        assert_eq!(raw, message);
        assert_eq!(sha, sha256(message.as_bytes()));
        assert!(html.contains("tag block c:"), "the time carrier is named");
        assert!(
            html.contains("samples/scenario.nmea"),
            "the source is named"
        );
        assert!(html.contains(&format!("id=\"port\">{}<", trip["port"].as_str().unwrap())));
    }
}

#[test]
fn a_report_of_a_gap_that_is_not_there_or_a_misspelt_key_is_refused_saying_what_to_write() {
    let dir = tempfile::tempdir().unwrap();
    let db = replay_sample(dir.path(), "sample.db", &[]);
    let out = dir.path().join("r.html");
    for (key, says) in [
        (
            "445126000@2024-01-01T00:00:00Z",
            "no gap of vessel 445126000 starts at 2024-01-01T00:00:00Z",
        ),
        ("445126000 2024-03-06", "write MMSI@TIME"),
    ] {
        let output = aisgap()
            .args([
                "report",
                "trip",
                key,
                "--db",
                db.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "{key}: {stderr}");
        assert!(!out.exists(), "nothing written for {key}");
    }
}

/// The fingerprint block of a report: id, ports hash, watchlist hash, settings hash.
fn fingerprint(html: &str) -> [String; 4] {
    let at = html.find("class=\"fingerprint\"").expect("a fingerprint");
    [
        between(html, at, "id=\"fingerprint-", "\""),
        between(html, at, "ports (SHA-256)</th><td class=\"hash\">", "<"),
        between(html, at, "watchlist (SHA-256)</th><td class=\"hash\">", "<"),
        between(
            html,
            at,
            "detection settings (SHA-256)</th><td class=\"hash\">",
            "<",
        ),
    ]
    .map(str::to_string)
}

#[test]
fn the_fingerprint_is_the_same_for_the_same_settings_and_changes_when_a_threshold_does() {
    let dir = tempfile::tempdir().unwrap();
    let first = replay_sample(dir.path(), "a.db", &[]);
    let again = replay_sample(dir.path(), "b.db", &[]);
    let changed = replay_sample(dir.path(), "c.db", &["--gap-hours", "6.5"]);
    let of = |db: &Path| fingerprint(&report(db, &key_of(&trips(db)[0])));
    let (first, again, changed) = (of(&first), of(&again), of(&changed));
    assert_eq!(first, again);
    assert_ne!(first[0], changed[0], "the fingerprint");
    assert_eq!(first[1..3], changed[1..3], "same ports and watchlist");
    assert_ne!(first[3], changed[3], "the detection settings' hash");
    let html = report(
        &replay_sample(dir.path(), "d.db", &["--gap-hours", "6.5"]),
        &key_of(&trips(&dir.path().join("d.db"))[0]),
    );
    assert!(
        unescape(&html).contains("\"gap_hours\": 6.5"),
        "the settings hashed are shown"
    );
}

#[test]
fn a_trip_withdrawn_by_late_fixes_has_a_report_whose_history_says_why() {
    let config = Config::load(&repo_path("samples/aisgap.toml")).unwrap();
    let mut decoder =
        FeedDecoder::new(config.decode_options(Some("scenario".into())), "log".into());
    let mut events = Vec::new();
    let log = std::fs::read(repo_path("samples/scenario.nmea")).unwrap();
    for (index, line) in log.split(|&b| b == b'\n').enumerate() {
        let from = events.len();
        decoder.decode_line(line, None, &mut events);
        let at = LineRef {
            source: 0,
            line: index as u64 + 1,
            offset: 0,
        };
        events[from..].iter_mut().for_each(|e| e.mark_line(at));
    }
    events.retain(|e| e.time().is_some());
    events.sort_by_key(|e| e.time());
    let engine = || {
        Engine::new(
            config.detect.clone(),
            config.ports.clone(),
            config.watchlist.clone(),
            config.store.track_interval_minutes,
        )
    };
    let feed = |arrival: &[AisEvent]| {
        let mut store = Store::open_in_memory().unwrap();
        let mut engine = engine();
        for event in arrival {
            engine.ingest(event);
        }
        engine.finish();
        store.apply(&engine.take_changes()).unwrap();
        store
    };
    let in_order = feed(&events);
    let trip = in_order
        .reader()
        .gaps(&aisgap::store::read::GapFilter::trips())
        .unwrap()[0]
        .clone();
    let b = trip.dark_until.unwrap();
    // The vessel's fix A heard again every two hours of the silence, by a station whose lines
    // arrive two hours after B: late, and leaving no part of the silence long enough.
    let a = events
        .iter()
        .find_map(|e| match e {
            AisEvent::Fix(f) if f.mmsi == trip.mmsi && f.heard.time == Some(trip.dark_from) => {
                Some(f.clone())
            }
            _ => None,
        })
        .unwrap();
    let late: Vec<AisEvent> = (1..)
        .map(|i| trip.dark_from.as_millis() + i * 2 * 3_600_000)
        .take_while(|t| *t < b.as_millis())
        .map(|t| {
            let mut fix = a.clone();
            fix.heard.time = Some(UnixMillis(t));
            AisEvent::Fix(fix)
        })
        .collect();
    let cut = events
        .iter()
        .position(|e| e.time() > Some(b.plus_hours(2.0)))
        .unwrap();
    let mut arrival = events[..cut].to_vec();
    arrival.extend(late);
    arrival.extend_from_slice(&events[cut..]);
    let store = feed(&arrival);
    let html = trip::report(
        store.reader(),
        TripKey {
            mmsi: trip.mmsi,
            dark_from: trip.dark_from,
        },
    )
    .unwrap();
    assert!(html.contains("id=\"status\">withdrawn<"), "now withdrawn");
    let history = between(&html, 0, "id=\"history-table\"", "</table>");
    let rows: Vec<&str> = history.split("<tr>").skip(2).collect();
    assert!(rows.len() >= 3, "{history}");
    assert!(
        rows[1].contains("<td>trip</td>"),
        "judged a trip first: {}",
        rows[1]
    );
    let last = rows.last().unwrap();
    assert!(
        last.contains("<td>withdrawn</td>") && last.contains("<code>late_fix</code>"),
        "{last}"
    );
    assert!(last.contains("late fix at"), "says which fix: {last}");
    let changes = store.reader().gap_history(&aisgap::store::read::GapFilter {
        mmsi: Some(trip.mmsi),
        ..Default::default()
    });
    assert!(changes.unwrap().iter().any(|h| h.status == "withdrawn"));
    // The evidence of A survives the withdrawal (its raw line is found by replay, not here).
    assert!(html.contains("id=\"evidence-fix_a\""));
}

mod browser {
    use super::*;
    use crate::api::browser::{base64_decode, ensure_browser, post, Driver};
    use crate::api::{sample_db, Served};
    use serde_json::json;

    #[test]
    fn the_trip_report_opened_from_the_map_page_shows_what_query_trips_says_and_prints() {
        ensure_browser();
        let db = sample_db();
        let trips = trips(db);
        let trip = &trips[5];
        let key = key_of(trip);
        let served = Served::start(db, None);
        let driver = Driver::start();
        driver.go(&served.url(&format!("/#trip={key}")));
        driver.wait_for("the map page", "return document.body.dataset.ready");
        let href = driver.wait_for(
            "the selected trip's report link",
            "const a = document.getElementById('trip-report-link'); return a && a.getAttribute('href')",
        );
        let href = href.as_str().unwrap().to_string();
        driver.go(&served.url(&href));
        let shown = driver.wait_for(
            "the report",
            "return document.readyState === 'complete' && [document.getElementById('status').textContent, \
             document.getElementById('port').textContent, document.getElementById('dark-from').textContent, \
             document.getElementById('dark-until').textContent, document.getElementById('barrels').textContent, \
             document.querySelectorAll('#trip-map circle.fix-A').length, document.querySelectorAll('#trip-map circle.fix-B').length, \
             document.querySelectorAll('#trip-map polyline.leg').length, document.querySelectorAll('#trip-map circle.coverage').length, \
             document.querySelectorAll('#coverage-chart rect.hour').length, Number(document.getElementById('gap-hours').textContent), \
             document.querySelectorAll('.evidence-item').length, document.querySelectorAll('#candidate-table tr').length - 1]",
        );
        let whole = |v: &Value| {
            v.as_f64()
                .map_or("— bbl".to_string(), |b| format!("{b:.0} bbl"))
        };
        assert_eq!(shown[0], trip["status"], "{shown}");
        assert_eq!(shown[1], trip["port"]);
        assert_eq!(shown[2], trip["dark_from"]);
        assert_eq!(shown[3], trip["dark_until"]);
        assert_eq!(shown[4], whole(&trip["est_barrels"]).as_str());
        assert_eq!(
            shown.as_array().unwrap()[5..9],
            [json!(1), json!(1), json!(1), json!(1)],
            "{shown}"
        );
        assert_eq!(shown[9], shown[10], "one bar per hour of the gap");
        assert!(
            shown[11].as_u64().unwrap() >= 3,
            "A, B and static reports: {shown}"
        );
        assert_eq!(
            shown[12].as_u64().unwrap() as usize,
            trip["candidates"].as_array().unwrap().len()
        );

        // Print to PDF on A4 through WebDriver, as a reader would.
        let pdf = post(
            &driver.url("/print"),
            &json!({ "page": { "width": 21.0, "height": 29.7 }, "background": true }),
        );
        let pdf = base64_decode(pdf.as_str().expect("a PDF"));
        assert!(pdf.starts_with(b"%PDF-"), "a PDF");
        let pages = pdf
            .windows(10)
            .filter(|w| w == b"/Type /Pag" || w == b"/Type/Page")
            .count();
        assert!(
            pdf.len() > 10_000 && pages >= 2,
            "{} bytes, {pages} page objects",
            pdf.len()
        );
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        std::fs::write(tmp.join("trip-report.pdf"), &pdf).unwrap();
        let shot = driver.screenshot();
        assert_eq!(&shot[..8], b"\x89PNG\r\n\x1a\n", "a PNG screenshot");
        std::fs::write(tmp.join("trip-report.png"), &shot).unwrap();
        if std::env::var_os("AISGAP_UPDATE_SCREENSHOT").is_some() {
            std::fs::write(repo_path("docs/trip-report.png"), &shot).unwrap();
        }
    }
}
