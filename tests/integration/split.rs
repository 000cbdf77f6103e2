//! The vessels split across engine threads (`aisgap replay --threads N`) give the tables of one
//! engine: the bundled sample, a generated month with shared MMSIs, a hull change and the
//! at-sea cases, and two months of traffic passing once (every vessel watched, most silent
//! until they leave memory), replayed with 1, 2, 3 and 8 engines, dump to the same rows, the
//! same evidence and the same counters.

use std::path::{Path, PathBuf};

use aisgap::config::Config;
use aisgap::offline::replay::{replay_with, sort_params, ReplaySummary};
use aisgap::offline::sort::SortParams;
use aisgap::simulate::{write_scenario, ScenarioParams};
use aisgap::store::Store;

use crate::support::{dump, provenance, repo_path, sample_path, write_passing_traffic};

/// Every row, with the surrogate ids of history rows and track chunks left out: those number
/// rows in the order they reached the store, which interleaves the engines' rows differently
/// (each gap's history keeps its order; the rows are the same).
fn rows_without_ids(db: &Path) -> Vec<String> {
    let mut rows: Vec<String> = dump(db)
        .into_iter()
        .map(|row| {
            for table in ["gap_history: ", "track_chunks: "] {
                if let Some(rest) = row.strip_prefix(table) {
                    let cells = rest.split_once(" | ").map_or("", |(_, cells)| cells);
                    return format!("{table}{cells}");
                }
            }
            row
        })
        .collect();
    rows.sort();
    rows.extend(provenance(db));
    rows
}

fn replay_split(
    config: &Config,
    dir: &Path,
    logs: &[PathBuf],
    parts: usize,
) -> (ReplaySummary, Vec<String>) {
    let sort = SortParams {
        spill_dir: dir.to_path_buf(),
        engine_parts: parts,
        ..sort_params(config)
    };
    let db = dir.join(format!("split-{parts}.db"));
    let (summary, store) =
        replay_with(config, Store::open(&db).unwrap(), logs, &sort).expect("replay succeeds");
    drop(store);
    (summary, rows_without_ids(&db))
}

/// Replays `logs` with 1, 2, 3 and 8 engines and asserts every split gives one engine's
/// database and counters; returns the one engine's summary.
fn assert_splits_agree(config: &Config, dir: &Path, logs: &[PathBuf]) -> ReplaySummary {
    let (whole, expected) = replay_split(config, dir, logs, 1);
    assert!(expected.len() > 1000, "the dump covers the whole database");
    for parts in [2, 3, 8] {
        let (summary, rows) = replay_split(config, dir, logs, parts);
        let first_difference = expected
            .iter()
            .zip(&rows)
            .position(|(a, b)| a != b)
            .unwrap_or(expected.len().min(rows.len()));
        assert!(
            rows == expected,
            "{parts} engines: {} rows against {}; first difference {:?} against {:?}",
            rows.len(),
            expected.len(),
            rows.get(first_difference),
            expected.get(first_difference)
        );
        assert_eq!(summary.engine, whole.engine, "{parts} engines' counters");
        assert_eq!(
            summary.at_sea, whole.at_sea,
            "{parts} engines' at-sea counters"
        );
        assert_eq!(summary.vessels, whole.vessels, "{parts} engines' vessels");
        assert_eq!(summary.stream_clock, whole.stream_clock);
    }
    whole
}

#[test]
fn the_sample_split_across_engines_gives_the_tables_of_one_engine() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::load(&sample_path("aisgap.toml")).expect("samples/aisgap.toml is valid");
    let whole = assert_splits_agree(&config, dir.path(), &[sample_path("scenario.nmea")]);
    assert_eq!(whole.engine.trips, 14, "the sample's trips");
}

#[test]
fn a_generated_month_split_across_engines_gives_the_tables_of_one_engine() {
    let dir = tempfile::tempdir().unwrap();
    let params = ScenarioParams {
        seed: 31,
        days: 30,
        tankers: 8,
        background: 24,
        identity_cases: true,
        at_sea: true,
    };
    let files = write_scenario(&params, dir.path(), "month").expect("the month generates");
    let config_path = dir.path().join("aisgap.toml");
    std::fs::write(
        &config_path,
        format!(
            "[ports]\nfile = {:?}\n\n[watchlist]\nfile = {:?}\n",
            repo_path("config/ports.geojson"),
            files.watchlist
        ),
    )
    .unwrap();
    let config = Config::load(&config_path).expect("the test config is valid");
    let whole = assert_splits_agree(&config, dir.path(), &[files.nmea]);
    assert!(whole.engine.trips > 0, "the month has trips");
    assert!(
        whole.at_sea.found.encounters > 0 && whole.engine.mmsis_with_several_transmitters > 0,
        "the month has encounters and shared MMSIs: {:?} {:?}",
        whole.at_sea,
        whole.engine
    );
}

#[test]
fn passing_traffic_split_across_engines_gives_the_tables_of_one_engine() {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("passing.nmea");
    write_passing_traffic(&feed, 3_000, 120_000, 61 * 86_400);
    let config_path = dir.path().join("aisgap.toml");
    std::fs::write(
        &config_path,
        format!(
            "[ports]\nfile = {:?}\n[detect]\nwatch_all = true\n",
            repo_path("config/ports.geojson")
        ),
    )
    .unwrap();
    let config = Config::load(&config_path).expect("the test config is valid");
    let whole = assert_splits_agree(&config, dir.path(), &[feed]);
    assert!(
        whole.engine.forgotten_vessels > 1_000,
        "passers leave memory: {:?}",
        whole.engine
    );
}

#[test]
fn the_threads_flag_says_how_the_vessels_were_split_and_prints_one_engines_tally() {
    let dir = tempfile::tempdir().unwrap();
    let replay = |threads: &str| {
        let output = crate::support::aisgap()
            .args(["replay", "--threads", threads, "--config"])
            .arg(sample_path("aisgap.toml"))
            .arg("--db")
            .arg(dir.path().join(format!("threads-{threads}.db")))
            .arg(sample_path("scenario.nmea"))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let (one, three) = (replay("1"), replay("3"));
    assert!(one.contains("one engine thread (--threads 1)"), "{one}");
    assert!(
        three.contains("vessels split across 3 engine threads by MMSI"),
        "{three}"
    );
    let tally = |out: &str| out.split("\n\n").next().unwrap().to_string();
    assert!(tally(&one).contains("Vostochny"), "{one}");
    assert_eq!(tally(&three), tally(&one), "the tally is one engine's");
    let refused = crate::support::aisgap()
        .args(["replay", "--threads", "0"])
        .arg(sample_path("scenario.nmea"))
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--threads"),
        "the refusal names the flag"
    );
}
