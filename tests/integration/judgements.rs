//! Judgements that late data keeps true, at a cost that follows traffic: other vessels' late
//! fixes that move a gap's coverage across `min_coverage`, a late fix that would have ended an
//! open gap, `coverage_min_vessels = 0`, vessels that leave memory, and the history that says
//! why every judgement changed.

use std::path::Path;

use aisgap::detect::{DetectParams, GapRecord, GapStatus};
use aisgap::engine::Engine;
use aisgap::model::{AisEvent, Fix, Heard, Mmsi, TimeSource, TransceiverClass, VesselReport};
use aisgap::ports::Port;
use aisgap::store::history::HistoryRow;
use aisgap::store::read::GapFilter;
use aisgap::store::Store;
use aisgap::time::UnixMillis;
use aisgap::watchlist::Watchlist;

use crate::scenario::replay_into;
use crate::support::aisgap;

const T0: i64 = 1_709_856_000_000; // 2024-03-08T00:00:00Z
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const TANKER: Mmsi = Mmsi(445_000_001);
const PORT: (f64, f64) = (42.735, 133.075);

fn fix(mmsi: Mmsi, time: i64, (lat, lon): (f64, f64)) -> AisEvent {
    AisEvent::Fix(Fix {
        mmsi,
        msg_type: 1,
        class: TransceiverClass::A,
        heard: Heard {
            time: Some(UnixMillis(time)),
            time_source: Some(TimeSource::TagBlock),
            station: None,
            channel: None,
            line: None,
        },
        lat,
        lon,
        sog: Some(0.1),
        cog: Some(0.0),
        heading: None,
        nav_status: Some(5),
        turn: None,
        accuracy: false,
        raim: false,
        second: None,
    })
}

fn tanker_report(time: i64) -> AisEvent {
    AisEvent::VesselReport(VesselReport {
        mmsi: TANKER,
        msg_type: 5,
        heard: Heard {
            time: Some(UnixMillis(time)),
            ..Heard::default()
        },
        name: Some("SAEBYOL".into()),
        imo: Some(8_914_934),
        ship_type: Some(80),
        length: Some(90),
        beam: Some(14),
        draught: Some(4.1),
        ..VesselReport::default()
    })
}

/// `nm` nautical miles south of the port.
fn south(nm: f64) -> (f64, f64) {
    (PORT.0 - nm / 60.0, PORT.1)
}

fn engine(params: DetectParams) -> Engine {
    Engine::new(
        params,
        vec![Port::circle("Vostochny", PORT.0, PORT.1, 2.0)],
        Watchlist::default(),
        10,
    )
}

/// Moored vessel `v`'s fixes every 10 minutes over `[from, until)`.
fn moored(v: u32, from: i64, until: i64) -> Vec<AisEvent> {
    (0..)
        .map(|step| from + step * 10 * MINUTE + i64::from(v) * 1000)
        .take_while(|t| *t < until)
        .map(|t| fix(Mmsi(273_000_100 + v), t, PORT))
        .collect()
}

/// Feeds `events` in the order given, then ends the input; the tanker's gaps and their
/// history as stored.
fn feed(engine: &mut Engine, events: &[AisEvent]) -> (Vec<GapRecord>, Vec<HistoryRow>) {
    let mut store = Store::open_in_memory().unwrap();
    for event in events {
        engine.ingest(event);
        store.apply(&engine.take_changes()).unwrap();
    }
    engine.finish();
    store.apply(&engine.take_changes()).unwrap();
    let filter = GapFilter {
        mmsi: Some(TANKER),
        ..GapFilter::default()
    };
    let gaps = store.reader().gaps(&filter).unwrap();
    let history = store.reader().gap_history(&filter).unwrap();
    (gaps, history)
}

fn sorted(mut events: Vec<AisEvent>) -> Vec<AisEvent> {
    events.sort_by_key(AisEvent::time);
    events
}

/// A tanker dark 10 h just south of the port; two moored vessels heard all along by a live
/// station; a third vessel's fixes, the ones that make hours 2-7 of the silence covered,
/// come from a station whose lines arrive late.
struct DelayedStation {
    in_order: Vec<AisEvent>,
    arrival: Vec<AisEvent>,
}

fn delayed_station() -> DelayedStation {
    let dark_from = T0 + HOUR;
    let dark_until = T0 + 11 * HOUR;
    let mut live = vec![tanker_report(T0), fix(TANKER, dark_from, south(5.0))];
    live.push(fix(TANKER, dark_until, south(5.0)));
    // Vessel 0 is heard all along; vessel 1 not in hours 2-6 (too short a silence to be a gap
    // of its own): without the delayed station, 5 of the 10 hours have a single other
    // vessel, which is not coverage.
    live.extend(moored(0, T0, T0 + 16 * HOUR));
    live.extend(moored(1, T0, T0 + 2 * HOUR));
    live.extend(moored(1, T0 + 7 * HOUR + 30 * MINUTE, T0 + 16 * HOUR));
    let late = moored(2, T0 + 2 * HOUR, T0 + 8 * HOUR);
    let live = sorted(live);
    let in_order = sorted(live.iter().chain(&late).cloned().collect());
    // The delayed lines arrive together once the clock is 2 h past the tanker's return.
    let cut = live
        .iter()
        .position(|e| e.time() > Some(UnixMillis(dark_until + 2 * HOUR)))
        .unwrap();
    let mut arrival = live[..cut].to_vec();
    arrival.extend(late);
    arrival.extend(live[cut..].iter().cloned());
    DelayedStation { in_order, arrival }
}

#[test]
fn late_fixes_of_other_vessels_that_cover_a_gap_make_it_the_trip_it_is_in_order() {
    let case = delayed_station();
    let (expected, expected_history) = feed(&mut engine(DetectParams::default()), &case.in_order);
    assert_eq!(expected.len(), 1, "{expected:#?}");
    assert_eq!(expected[0].status, GapStatus::Trip);
    assert_eq!(
        expected_history.len(),
        2,
        "open, then closed: {expected_history:#?}"
    );

    let mut late = engine(DetectParams::default());
    let (found, history) = feed(&mut late, &case.arrival);
    assert_eq!(found, expected, "the same record as in order");
    assert_eq!(late.stats().rejudged, 1, "{history:#?}");
    let reasons: Vec<(&str, &str)> = history
        .iter()
        .map(|h| (h.reason.as_str(), h.status.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            ("silent", "open"),
            ("closed", "coverage_unknown"),
            ("coverage", "trip")
        ],
        "{history:#?}"
    );
    let why = &history[2];
    assert_eq!(why.before.as_deref(), Some("coverage_unknown"));
    assert_eq!(
        why.at,
        UnixMillis(T0 + 14 * HOUR),
        "judged again at the first hour's end after the late lines"
    );
    assert!(
        why.detail.starts_with(
            "coverage_unknown -> trip at stream time 2024-03-08T14:00:00Z (Vostochny, coverage 1.00): \
             coverage at Vostochny 0.50 -> 1.00"
        ),
        "{}",
        why.detail
    );
}

#[test]
fn late_fixes_beyond_the_rejudge_horizon_leave_the_judgement_as_it_was() {
    let case = delayed_station();
    let params = DetectParams {
        rejudge_horizon_hours: 1.0,
        ..DetectParams::default()
    };
    let (found, history) = feed(&mut engine(params), &case.arrival);
    assert_eq!(found[0].status, GapStatus::CoverageUnknown);
    assert!(
        history.iter().all(|h| h.reason != "coverage"),
        "{history:#?}"
    );
}

#[test]
fn a_late_fix_of_its_own_lowers_a_trip_to_what_the_rest_of_it_shows() {
    // Dark 1 h to 13 h, hours 3-12 covered: 10 of 12 hours, a trip. A late fix at 8 h leaves
    // 1 h to 8 h, of which 5 of 7 hours are covered: below min_coverage.
    let dark_from = T0 + HOUR;
    let dark_until = T0 + 13 * HOUR;
    let late_fix = fix(TANKER, T0 + 8 * HOUR, south(5.0));
    let mut events = vec![tanker_report(T0), fix(TANKER, dark_from, south(5.0))];
    events.push(fix(TANKER, dark_until, south(5.0)));
    events.extend(moored(0, T0 + 3 * HOUR, T0 + 16 * HOUR));
    events.extend(moored(1, T0 + 3 * HOUR, T0 + 16 * HOUR));
    let events = sorted(events);
    let in_order = sorted(events.iter().chain([&late_fix]).cloned().collect());
    let (expected, _) = feed(&mut engine(DetectParams::default()), &in_order);
    assert_eq!(expected.len(), 1, "{expected:#?}");
    assert_eq!(expected[0].status, GapStatus::CoverageUnknown);

    let cut = events
        .iter()
        .position(|e| e.time() > Some(UnixMillis(dark_until + HOUR)))
        .unwrap();
    let mut arrival = events[..cut].to_vec();
    arrival.push(late_fix);
    arrival.extend(events[cut..].iter().cloned());
    let (found, history) = feed(&mut engine(DetectParams::default()), &arrival);
    assert_eq!(found, expected);
    let late = history.last().unwrap();
    assert_eq!(
        (
            late.reason.as_str(),
            late.before.as_deref(),
            late.status.as_str()
        ),
        ("late_fix", Some("trip"), "coverage_unknown"),
        "{history:#?}"
    );
    assert!(
        late.detail
            .ends_with("late fix at 2024-03-08T08:00:00Z inside it"),
        "{}",
        late.detail
    );
}

#[test]
fn a_fix_that_arrives_after_its_silence_was_recorded_open_withdraws_it() {
    // Heard at 20:12:59, then every 10 minutes from 20:28:44, but the lines of that night come
    // from a station whose lines arrive at 06:00 the next day: in order there is no gap.
    let a = T0 + 20 * HOUR + 12 * MINUTE + 59_000;
    let next = a + 15 * MINUTE + 45_000;
    let night_until = T0 + 30 * HOUR;
    let mut live = vec![tanker_report(T0), fix(TANKER, a, south(60.0))];
    live.extend(moored(0, T0, T0 + 40 * HOUR));
    live.extend(moored(1, T0, T0 + 40 * HOUR));
    let tanker_after: Vec<AisEvent> = (0..)
        .map(|i| next + i * 10 * MINUTE)
        .take_while(|t| *t < T0 + 40 * HOUR)
        .map(|t| fix(TANKER, t, south(60.0)))
        .collect();
    let (night, day): (Vec<AisEvent>, Vec<AisEvent>) = tanker_after
        .into_iter()
        .partition(|e| e.time() <= Some(UnixMillis(night_until)));
    let in_order = sorted(live.iter().chain(&night).chain(&day).cloned().collect());
    let (expected, _) = feed(&mut engine(DetectParams::default()), &in_order);
    assert!(expected.is_empty(), "{expected:#?}");

    let live = sorted(live.into_iter().chain(day).collect());
    let cut = live
        .iter()
        .position(|e| e.time() > Some(UnixMillis(night_until)))
        .unwrap();
    let mut arrival = live[..cut].to_vec();
    arrival.extend(night);
    arrival.extend(live[cut..].iter().cloned());
    let mut late = engine(DetectParams::default());
    let (found, history) = feed(&mut late, &arrival);
    assert_eq!(late.open_gaps(), 0);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].status, GapStatus::Withdrawn);
    assert_eq!(found[0].dark_until, Some(UnixMillis(next)));
    assert!(!found[0].dark_now);
    let last = history.last().unwrap();
    assert_eq!(last.reason, "next_fix_late");
    assert!(
        last.detail
            .starts_with("open -> withdrawn at stream time 2024-03-09T06:00:00Z")
            && last.detail.ends_with(
                "the next fix, at 2024-03-08T20:28:44Z (0.26 h after 2024-03-08T20:12:59Z), \
                 arrived late: no gap"
            ),
        "{}",
        last.detail
    );
}

#[test]
fn with_coverage_min_vessels_0_every_hour_is_covered_even_with_no_one_heard() {
    let params = DetectParams {
        coverage_min_vessels: 0,
        ..DetectParams::default()
    };
    let events = [
        tanker_report(T0),
        fix(TANKER, T0 + HOUR, south(5.0)),
        fix(TANKER, T0 + 11 * HOUR, south(5.0)),
    ];
    let (found, _) = feed(&mut engine(params.clone()), &events);
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].status, found[0].coverage),
        (GapStatus::Trip, Some(1.0))
    );
    let (default, _) = feed(&mut engine(DetectParams::default()), &events);
    assert_eq!(
        (default[0].status, default[0].coverage),
        (GapStatus::CoverageUnknown, Some(0.0))
    );
}

#[test]
fn a_vessel_silent_past_forget_after_hours_leaves_memory_and_returns_afresh() {
    let params = DetectParams {
        forget_after_hours: 48.0,
        ..DetectParams::default()
    };
    let mut engine = engine(params);
    let mut events = vec![tanker_report(T0), fix(TANKER, T0 + HOUR, south(5.0))];
    events.extend(moored(0, T0, T0 + 80 * HOUR));
    events.extend(moored(1, T0, T0 + 80 * HOUR));
    events.push(fix(TANKER, T0 + 79 * HOUR, south(5.0)));
    let events = sorted(events);
    let mut store = Store::open_in_memory().unwrap();
    let returned = events
        .iter()
        .position(|e| e.time() == Some(UnixMillis(T0 + 79 * HOUR)))
        .unwrap();
    for event in &events[..returned] {
        engine.ingest(event);
    }
    assert!(
        engine.vessels().get(TANKER).is_none(),
        "forgotten at the day after 48 h"
    );
    assert_eq!(engine.stats().forgotten_vessels, 1);
    assert_eq!(engine.open_gaps(), 0);
    for event in &events[returned..] {
        engine.ingest(event);
    }
    engine.finish();
    store.apply(&engine.take_changes()).unwrap();
    let vessel = engine.vessels().get(TANKER).expect("tracked afresh");
    assert_eq!(vessel.first_heard, UnixMillis(T0 + 79 * HOUR));
    let filter = GapFilter {
        mmsi: Some(TANKER),
        ..GapFilter::default()
    };
    let gaps = store.reader().gaps(&filter).unwrap();
    assert_eq!(
        gaps.len(),
        1,
        "no gap joins the return to the old fix: {gaps:#?}"
    );
    assert_eq!(gaps[0].status, GapStatus::Open);
    assert!(!gaps[0].dark_now);
    assert!(gaps[0].duration_hours >= 47.0, "{:#?}", gaps[0]);
    let history = store.reader().gap_history(&filter).unwrap();
    assert_eq!(history.last().unwrap().reason, "forgotten");
    let stored = store.reader().vessel(TANKER, None, None).unwrap().unwrap();
    assert_eq!(
        stored.identity.name.as_deref(),
        Some("SAEBYOL"),
        "the store keeps it"
    );
}

#[test]
fn more_vessels_than_the_cap_evict_the_longest_silent_and_count_them() {
    let params = DetectParams {
        max_tracked_vessels: 1000,
        ..DetectParams::default()
    };
    let mut engine = engine(params);
    for i in 0..1500u32 {
        engine.ingest(&fix(
            Mmsi(211_000_000 + i),
            T0 + i64::from(i) * 1000,
            (30.0, 140.0),
        ));
    }
    engine.finish();
    assert!(engine.vessels().len() <= 1000);
    assert_eq!(
        engine.stats().evicted_vessels as usize + engine.vessels().len(),
        1500
    );
    assert!(
        engine.vessels().get(Mmsi(211_000_000)).is_none(),
        "the first heard left first"
    );
    assert!(engine.vessels().get(Mmsi(211_001_499)).is_some());
}

/// Every gap of a replayed database has a history whose last row is its judgement now.
fn assert_history_explains(db: &Path) {
    let store = Store::open(db).unwrap();
    let gaps = store.reader().gaps(&GapFilter::default()).unwrap();
    let history = store.reader().gap_history(&GapFilter::default()).unwrap();
    assert!(!gaps.is_empty());
    for gap in &gaps {
        let last = history
            .iter()
            .rfind(|h| h.mmsi == gap.mmsi && h.dark_from == gap.dark_from)
            .unwrap_or_else(|| panic!("no history for {gap:#?}"));
        assert_eq!(last.status, gap.status.as_str(), "{gap:#?}\n{last:#?}");
        assert_eq!(last.port, gap.port, "{gap:#?}\n{last:#?}");
    }
}

#[test]
fn the_bundled_sample_keeps_its_14_trips_and_every_gap_has_a_history() {
    let dir = tempfile::tempdir().unwrap();
    let (summary, reader, db) = replay_into(dir.path(), "sample.db", &["scenario.nmea"]);
    let trips = reader.gaps(&GapFilter::trips()).unwrap();
    assert_eq!(trips.len(), 14);
    assert_eq!(
        (summary.engine.rejudged, summary.engine.evicted_vessels),
        (0, 0),
        "sorted, the sample has no late coverage"
    );
    drop(reader);
    assert_history_explains(&db);
    let mmsi = trips[0].mmsi.0.to_string();
    let out = aisgap()
        .args(["query", "history", &mmsi, "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("mmsi "), "{text}");
    assert!(text.contains(": closed by the fix at "), "{text}");
}
