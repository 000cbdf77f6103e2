//! The bundled scenario replayed end to end: the exact trips and judgements of its ground
//! truth, no confounder tallied, the same result from NMEA and from CSV, and identical tables
//! from two replays of the same log (tests/integration/order.rs: of any order of its lines).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use aisgap::config::Config;
use aisgap::detect::{GapRecord, GapStatus};
use aisgap::offline::replay::{replay, ReplaySummary};
use aisgap::store::read::GapFilter;
use aisgap::store::{Reader, Store};
use serde_json::Value;

use crate::support::{dump, sample_path};

fn truth() -> Value {
    let text = std::fs::read_to_string(sample_path("scenario.truth.json"))
        .expect("samples/scenario.truth.json");
    serde_json::from_str(&text).expect("truth is JSON")
}

/// Replays `logs` with the sample config into a fresh database in `dir`.
pub(crate) fn replay_into(
    dir: &Path,
    name: &str,
    logs: &[&str],
) -> (ReplaySummary, Reader, PathBuf) {
    let config = Config::load(&sample_path("aisgap.toml")).expect("samples/aisgap.toml is valid");
    let db = dir.join(name);
    let store = Store::open(&db).unwrap();
    let logs: Vec<PathBuf> = logs.iter().map(|l| sample_path(l)).collect();
    let (summary, store) = replay(&config, store, &logs).expect("replay succeeds");
    drop(store);
    (summary, Reader::open(&db).unwrap(), db)
}

fn time(value: &Value) -> String {
    value.as_str().expect("a time string").to_string()
}

type TripKey = (u32, String, String, String, String);

fn trip_keys(found: &[GapRecord]) -> BTreeSet<TripKey> {
    found
        .iter()
        .map(|g| {
            (
                g.mmsi.0,
                g.port.clone().unwrap_or_default(),
                g.dark_from.to_string(),
                g.dark_until.map(|t| t.to_string()).unwrap_or_default(),
                g.confidence
                    .map(|c| c.as_str().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

fn truth_trip_keys(truth: &Value) -> BTreeSet<TripKey> {
    truth["trips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["mmsi"].as_u64().unwrap() as u32,
                t["port"].as_str().unwrap().to_string(),
                time(&t["dark_from"]),
                time(&t["dark_until"]),
                t["confidence"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn replaying_the_nmea_scenario_finds_exactly_its_trips_and_judgements() {
    let dir = tempfile::tempdir().unwrap();
    let (summary, reader, _) = replay_into(dir.path(), "nmea.db", &["scenario.nmea"]);
    let truth = truth();
    assert_eq!(summary.decode.lines, truth["lines"].as_u64().unwrap());

    let trips = reader.gaps(&GapFilter::trips()).unwrap();
    assert_eq!(trip_keys(&trips), truth_trip_keys(&truth));
    for (found, expected) in trips.iter().zip(truth["trips"].as_array().unwrap()) {
        assert_eq!(
            found.draught_before,
            expected["draught_before"].as_f64(),
            "{found:?}"
        );
        assert_eq!(
            found.draught_after,
            expected["draught_after"].as_f64(),
            "{found:?}"
        );
        assert_eq!(
            !found.identity_changes.is_empty(),
            expected["identity_changed"].as_bool().unwrap(),
            "{found:?}"
        );
    }

    // Every dark period of a watched vessel carries the judgement the scenario planned.
    let watched = reader
        .gaps(&GapFilter {
            watched_only: true,
            ..GapFilter::default()
        })
        .unwrap();
    let judged: BTreeSet<(u32, String, String, &str)> = watched
        .iter()
        .filter(|g| g.status != GapStatus::Withdrawn)
        .map(|g| {
            (
                g.mmsi.0,
                g.dark_from.to_string(),
                g.dark_until.map(|t| t.to_string()).unwrap_or_default(),
                g.status.as_str(),
            )
        })
        .collect();
    let planned: BTreeSet<(u32, String, String, &str)> = truth["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["mmsi"].as_u64().unwrap() as u32,
                time(&g["dark_from"]),
                time(&g["dark_until"]),
                g["judgement"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(judged, planned);

    // The satellite fix that reaches the log 12 hours late is replayed at its own time: the
    // silence it falls into is two short ones from the start, never a gap to withdraw (the
    // live service, which cannot wait 12 hours, records and withdraws it). No fix is late.
    for w in truth["withdrawn"].as_array().unwrap() {
        let recorded = watched.iter().find(|g| {
            g.mmsi.0 as u64 == w["mmsi"].as_u64().unwrap()
                && g.dark_from.to_string() == time(&w["dark_from"])
        });
        assert!(recorded.is_none(), "{recorded:?}");
    }
    assert_eq!(summary.engine.late_fixes, 0);
    assert!(
        summary.out_of_order >= truth["withdrawn"].as_array().unwrap().len() as u64,
        "the late lines were found out of order and sorted: {}",
        summary.out_of_order
    );

    // Vessels that are not watched went dark in port, and none of it is tallied.
    let trip_vessels: BTreeSet<u32> = trips.iter().map(|t| t.mmsi.0).collect();
    for dark in truth["not_watched_dark"].as_array().unwrap() {
        assert!(
            !trip_vessels.contains(&(dark["mmsi"].as_u64().unwrap() as u32)),
            "{dark}"
        );
    }
    assert_eq!(
        reader
            .gaps(&GapFilter {
                status: Some(GapStatus::Open),
                watched_only: true,
                ..GapFilter::default()
            })
            .unwrap()
            .len(),
        0
    );

    // Corrupt lines are counted and skipped, never fatal, and no good report is lost: every
    // position report written becomes exactly one fix. (A damaged line can still be harmless,
    // e.g. truncated right after its tag block, so not every one is a reject.)
    let corrupt = truth["corrupt_lines"].as_u64().unwrap();
    assert!(
        summary.decode.rejected() * 10 >= corrupt * 9,
        "{} rejected of {corrupt} damaged: {:?}",
        summary.decode.rejected(),
        summary.decode.rejects
    );
    assert_eq!(
        summary.engine.fixes,
        truth["position_reports"].as_u64().unwrap()
    );
    assert!(
        summary.decode.non_ais_lines >= truth["zda_lines"].as_u64().unwrap(),
        "$GPZDA lines are skipped, not rejected"
    );
}

#[test]
fn the_csv_export_of_the_scenario_gives_the_same_trips_as_its_nmea() {
    let dir = tempfile::tempdir().unwrap();
    let (_, nmea, _) = replay_into(dir.path(), "nmea.db", &["scenario.nmea"]);
    let (csv_summary, csv, _) = replay_into(dir.path(), "csv.db", &["scenario.csv"]);
    assert_eq!(
        csv_summary.decode.rejected(),
        0,
        "{:?}",
        csv_summary.decode.rejects
    );
    let from_nmea = nmea.gaps(&GapFilter::trips()).unwrap();
    let from_csv = csv.gaps(&GapFilter::trips()).unwrap();
    assert_eq!(trip_keys(&from_csv), trip_keys(&from_nmea));
    assert_eq!(trip_keys(&from_csv), truth_trip_keys(&truth()));
}

/// Every table, every row, in key order: what "identical tables" means.

#[test]
fn replaying_the_same_log_twice_gives_identical_tables() {
    let dir = tempfile::tempdir().unwrap();
    let (_, _, first) = replay_into(dir.path(), "first.db", &["scenario.nmea"]);
    let (_, _, second) = replay_into(dir.path(), "second.db", &["scenario.nmea"]);
    let (a, b) = (dump(&first), dump(&second));
    assert!(
        a.len() > 1000,
        "the dump covers the whole database ({} rows)",
        a.len()
    );
    assert_eq!(a, b);
}

#[test]
fn merging_the_nmea_and_csv_logs_of_one_scenario_still_finds_each_trip_once() {
    let dir = tempfile::tempdir().unwrap();
    let (_, reader, _) = replay_into(dir.path(), "both.db", &["scenario.nmea", "scenario.csv"]);
    let trips = reader.gaps(&GapFilter::trips()).unwrap();
    assert_eq!(trip_keys(&trips), truth_trip_keys(&truth()));
}
