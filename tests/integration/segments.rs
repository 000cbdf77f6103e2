//! An MMSI is not a vessel: the scenario with `--identity-cases` (two hulls interleaving their
//! reports under one MMSI, one of them making dark calls; an MMSI taken over by another hull
//! across a silence off Vostochny) replayed end to end, each case checked exactly against the
//! generator's ground truth, and the transmitters shown by `aisgap query vessel`.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;

use aisgap::config::Config;
use aisgap::detect::GapStatus;
use aisgap::model::Mmsi;
use aisgap::offline::replay::{replay, ReplaySummary};
use aisgap::simulate::{generate, watchlist_csv, GapLabel, ScenarioParams, Truth};
use aisgap::store::read::GapFilter;
use aisgap::store::{Reader, Store};

use crate::support::{aisgap, repo_path};

struct Replayed {
    _dir: tempfile::TempDir,
    db: std::path::PathBuf,
    truth: Truth,
    summary: ReplaySummary,
}

/// The default scenario with the identity cases, written to a temporary directory and replayed
/// once for every test here.
fn replayed() -> &'static Replayed {
    static CELL: OnceLock<Replayed> = OnceLock::new();
    CELL.get_or_init(|| {
        let params = ScenarioParams {
            identity_cases: true,
            ..ScenarioParams::default()
        };
        let (mut nmea, mut csv) = (Vec::new(), Vec::new());
        let truth = generate(&params, &mut nmea, &mut csv).expect("the scenario is consistent");
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("identities.nmea");
        std::fs::write(&log, &nmea).unwrap();
        std::fs::write(
            dir.path().join("watchlist.csv"),
            watchlist_csv(&truth.watchlist),
        )
        .unwrap();
        let config_path = dir.path().join("aisgap.toml");
        std::fs::write(
            &config_path,
            format!(
                "[ports]\nfile = {:?}\n\n[watchlist]\nfile = \"watchlist.csv\"\n",
                repo_path("config/ports.geojson")
            ),
        )
        .unwrap();
        let config = Config::load(&config_path).expect("the test config is valid");
        let db = dir.path().join("identities.db");
        let (summary, store) = replay(&config, Store::open(&db).unwrap(), &[log]).unwrap();
        drop(store);
        Replayed {
            _dir: dir,
            db,
            truth,
            summary,
        }
    })
}

fn reader(db: &Path) -> Reader {
    Reader::open(db).unwrap()
}

fn interleaved_mmsi(truth: &Truth) -> Mmsi {
    let mmsis: BTreeSet<Mmsi> = truth.transmitters.iter().map(|t| t.mmsi).collect();
    assert_eq!(mmsis.len(), 1, "one interleaved MMSI per set: {mmsis:?}");
    *mmsis.first().unwrap()
}

#[test]
fn every_gap_and_trip_is_the_truths_with_two_hulls_under_one_mmsi_and_one_taken_over() {
    let r = replayed();
    let reader = reader(&r.db);
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
    let planned: BTreeSet<(u32, String, String, &str)> = r
        .truth
        .gaps
        .iter()
        .map(|g| {
            let judgement = serde_json::to_value(g.judgement).unwrap();
            let status = GapStatus::parse(judgement.as_str().unwrap()).unwrap();
            (
                g.mmsi.0,
                g.dark_from.to_string(),
                g.dark_until.to_string(),
                status.as_str(),
            )
        })
        .collect();
    assert_eq!(judged, planned);

    let trips: BTreeSet<(u32, String, String)> = watched
        .iter()
        .filter(|g| g.is_trip())
        .map(|g| (g.mmsi.0, g.dark_from.to_string(), g.port.clone().unwrap()))
        .collect();
    let expected: BTreeSet<(u32, String, String)> = r
        .truth
        .trips
        .iter()
        .map(|t| (t.mmsi.0, t.dark_from.to_string(), t.port.clone()))
        .collect();
    assert_eq!(trips, expected);
    assert_eq!(r.summary.engine.trips, expected.len() as u64);

    // The shuttle that shares its number still has its dark calls found.
    let shared = interleaved_mmsi(&r.truth);
    let shared_trips = expected.iter().filter(|t| t.0 == shared.0).count();
    assert!(shared_trips >= 2, "{shared_trips} trips of the shared MMSI");

    // The takeover: within reach, near a covered port, yet another hull: never a trip.
    let takeover = r
        .truth
        .gaps
        .iter()
        .find(|g| g.label == GapLabel::HullTakeover)
        .expect("the scenario has a takeover");
    let recorded = watched
        .iter()
        .find(|g| g.mmsi == takeover.mmsi && g.dark_from == takeover.dark_from)
        .expect("the takeover's gap is recorded");
    assert_eq!(recorded.status, GapStatus::DifferentVessel, "{recorded:#?}");
    assert_eq!(recorded.confidence, None);
    assert!(recorded
        .identity_changes
        .iter()
        .any(|c| c.field == "length"));
    assert_eq!(r.summary.engine.different_vessels, 1);
}

#[test]
fn the_two_transmitters_of_one_mmsi_stay_apart_and_no_gap_joins_them() {
    let r = replayed();
    let reader = reader(&r.db);
    let shared = interleaved_mmsi(&r.truth);
    let segments = reader.segments(shared).unwrap();
    let found: Vec<(String, String, u64)> = segments
        .iter()
        .map(|s| {
            (
                s.first_heard.to_string(),
                s.last_fix_time.unwrap().to_string(),
                s.fixes,
            )
        })
        .collect();
    let mut expected: Vec<(String, String, u64)> = r
        .truth
        .transmitters
        .iter()
        .map(|t| (t.first_fix.to_string(), t.last_fix.to_string(), t.fixes))
        .collect();
    expected.sort();
    let mut by_start = found.clone();
    by_start.sort();
    // Segment 1 was first heard by its static report, just before its first fix.
    assert_eq!(by_start.len(), 2, "{found:?}");
    for (f, e) in by_start.iter().zip(&expected) {
        assert_eq!((&f.1, f.2), (&e.1, e.2), "{found:?} against {expected:?}");
        assert!(f.0 <= e.0);
    }
    assert!(segments.iter().all(|s| s.live));

    // Every gap of the MMSI lies within one transmitter: the two sail 600 nm apart.
    let gaps = reader
        .gaps(&GapFilter {
            mmsi: Some(shared),
            ..GapFilter::default()
        })
        .unwrap();
    assert!(!gaps.is_empty());
    for g in &gaps {
        assert!(g.distance_nm.unwrap_or(0.0) < 200.0, "{g:#?}");
        assert!(segments.iter().any(|s| s.segment == g.segment));
    }
    // Its track points carry their transmitter too.
    let track = reader.track(shared, None, None).unwrap();
    let on_track: BTreeSet<u32> = track.iter().map(|p| p.segment).collect();
    let ids: BTreeSet<u32> = segments.iter().map(|s| s.segment).collect();
    assert_eq!(on_track, ids);

    // Shared identities counted: the interleaved pair and the default scenario's MMSI that a
    // second tanker starts sending far away.
    let far_away: BTreeSet<Mmsi> = r
        .truth
        .gaps
        .iter()
        .filter(|g| g.label == GapLabel::SharedMmsi)
        .map(|g| g.mmsi)
        .collect();
    assert_eq!(
        r.summary.engine.mmsis_with_several_transmitters,
        1 + far_away.len() as u64
    );
    assert_eq!(r.summary.engine.segments_dropped, 0);
}

#[test]
fn query_vessel_shows_how_many_transmitters_an_mmsi_had_and_when() {
    let r = replayed();
    let shared = interleaved_mmsi(&r.truth);
    let output = aisgap()
        .args(["query", "vessel", &shared.0.to_string(), "--db"])
        .arg(&r.db)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("transmitters (segments): 2"), "{text}");
    for t in &r.truth.transmitters {
        let last = t.last_fix.to_string();
        let shown = last.get(..16).unwrap().replace('T', " ");
        assert!(text.contains(&shown), "{shown} missing from {text}");
        assert!(text.contains(&t.fixes.to_string()), "{text}");
    }
    let json = aisgap()
        .args([
            "query",
            "vessel",
            &shared.0.to_string(),
            "--format",
            "json",
            "--db",
        ])
        .arg(&r.db)
        .output()
        .unwrap();
    let detail: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(detail["segments"].as_array().unwrap().len(), 2);
    assert!(detail["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["segment"].as_u64().is_some()));
}
