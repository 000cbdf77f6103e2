//! The binary without a configuration file: the built-in defaults on the sample scenario, each
//! command-line override doing what it says, bad overrides refused by name, and the read
//! commands' one-line answer when there is no database.
//!
//! Every run happens in a fresh folder (so no ./config/aisgap.toml) with $AISGAP_CONFIG
//! removed. Only the test of the automatic fallback also depends on /etc/aisgap/aisgap.toml
//! being absent, and it says what it found when it is not; the others pass `--no-config`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use aisgap::config::{CONFIG_ENV, SYSTEM_CONFIG_PATH};
use aisgap::detect::GapRecord;
use aisgap::store::read::GapFilter;
use aisgap::store::Reader;
use serde_json::Value;

use crate::support::{aisgap, repo_path, sample_path};

/// `aisgap ARGS` run in `dir`, with no configuration named by the environment.
fn run_in(dir: &Path, args: &[&str]) -> Output {
    aisgap()
        .current_dir(dir)
        .env_remove(CONFIG_ENV)
        .env("RUST_LOG", "warn")
        .args(args)
        .output()
        .expect("the aisgap binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn scenario() -> String {
    sample_path("scenario.nmea").display().to_string()
}

/// `aisgap replay --no-config EXTRA... scenario.nmea` into `dir/name`; the gaps it stored.
fn replay_with(dir: &Path, name: &str, extra: &[&str]) -> (Output, Vec<GapRecord>) {
    let scenario = scenario();
    let mut args = vec!["replay", "--no-config", "--db", name];
    args.extend_from_slice(extra);
    args.push(&scenario);
    let output = run_in(dir, &args);
    assert!(output.status.success(), "{}", stderr(&output));
    (output, stored_gaps(&dir.join(name)))
}

fn stored_gaps(db: &Path) -> Vec<GapRecord> {
    Reader::open(db)
        .expect("the replay wrote a database")
        .gaps(&GapFilter::default())
        .unwrap()
}

fn truth() -> Value {
    let text = std::fs::read_to_string(sample_path("scenario.truth.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A vessel's dark spell: MMSI, dark from, dark until.
type Spell = (u32, String, String);

fn trips(gaps: &[GapRecord]) -> BTreeSet<Spell> {
    gaps.iter()
        .filter(|g| g.is_trip())
        .map(|g| {
            let until = g.dark_until.map(|t| t.to_string()).unwrap_or_default();
            (g.mmsi.0, g.dark_from.to_string(), until)
        })
        .collect()
}

fn spell(entry: &Value) -> Spell {
    (
        entry["mmsi"].as_u64().unwrap() as u32,
        entry["dark_from"].as_str().unwrap().to_owned(),
        entry["dark_until"].as_str().unwrap().to_owned(),
    )
}

/// The truth's trips that `keep` accepts.
fn truth_trips(keep: impl Fn(&Value) -> bool) -> BTreeSet<Spell> {
    truth()["trips"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| keep(t))
        .map(spell)
        .collect()
}

/// MMSIs of the scenario's watchlist: a cargo ship, watched only because it is listed.
fn watchlisted() -> BTreeSet<u64> {
    truth()["watchlist"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["mmsi"].as_u64().unwrap())
        .collect()
}

fn not_watchlisted(trip: &Value) -> bool {
    !watchlisted().contains(&trip["mmsi"].as_u64().unwrap())
}

/// A ports file holding one port: a feature of the shipped file, or a circle of our own.
fn one_port_file(dir: &Path, feature: Value) -> PathBuf {
    let path = dir.join("one-port.geojson");
    let collection = serde_json::json!({ "type": "FeatureCollection", "features": [feature] });
    std::fs::write(&path, collection.to_string()).unwrap();
    path
}

fn shipped_port(name: &str) -> Value {
    let text = std::fs::read_to_string(repo_path("config/ports.geojson")).unwrap();
    let ports: Value = serde_json::from_str(&text).unwrap();
    ports["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("{name} is a shipped port"))
}

#[test]
fn without_a_config_file_replay_runs_on_the_built_in_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_in(dir.path(), &["replay", &scenario()]);
    assert!(output.status.success(), "{}", stderr(&output));
    if Path::new(SYSTEM_CONFIG_PATH).exists() {
        // This machine has a system configuration: it must be the one used, and said to be.
        assert!(
            !stderr(&output).contains("no config file found"),
            "{SYSTEM_CONFIG_PATH} exists and must win over the defaults: {}",
            stderr(&output)
        );
        return;
    }
    assert!(
        stderr(&output).contains(
            "aisgap: no config file found; using the built-in defaults: 5 ports (Far East), \
             tankers watched, gaps from 6 h, database ./aisgap.db"
        ),
        "{}",
        stderr(&output)
    );
    // Tankers only: the scenario's watchlisted cargo ship is not watched, so its three trips
    // are not found and the tankers' eleven are, exactly.
    let found = trips(&stored_gaps(&dir.path().join("aisgap.db")));
    assert_eq!(found, truth_trips(not_watchlisted));
    assert_eq!(found.len(), 11);
    assert!(
        stdout(&output).contains(" 11 trips, "),
        "{}",
        stdout(&output)
    );
}

#[test]
fn the_defaults_with_the_samples_watchlist_find_what_the_sample_config_finds() {
    let dir = tempfile::tempdir().unwrap();
    let watchlist = sample_path("watchlist.csv").display().to_string();
    let (output, gaps) = replay_with(dir.path(), "listed.db", &["--watchlist", &watchlist]);
    assert!(
        stderr(&output).contains("tankers and 1 watchlisted vessel watched"),
        "{}",
        stderr(&output)
    );
    assert_eq!(trips(&gaps), truth_trips(|_| true));
    assert_eq!(trips(&gaps).len(), 14);

    let config = sample_path("aisgap.toml").display().to_string();
    let db = dir.path().join("sample.db").display().to_string();
    let output = run_in(
        dir.path(),
        &["replay", "--config", &config, "--db", &db, &scenario()],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(trips(&stored_gaps(Path::new(&db))), trips(&gaps));
}

#[test]
fn a_config_file_named_but_missing_stays_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere.toml");
    let named = aisgap()
        .current_dir(dir.path())
        .env(CONFIG_ENV, &missing)
        .args(["replay", &scenario()])
        .output()
        .unwrap();
    let flagged = run_in(
        dir.path(),
        &[
            "replay",
            "--config",
            &missing.display().to_string(),
            &scenario(),
        ],
    );
    for output in [named, flagged] {
        assert!(!output.status.success());
        assert!(
            stderr(&output).contains("cannot read the configuration file"),
            "{}",
            stderr(&output)
        );
    }
    assert!(!dir.path().join("aisgap.db").exists(), "nothing replayed");
    let both = run_in(
        dir.path(),
        &["replay", "--no-config", "--config", "x.toml", &scenario()],
    );
    assert_eq!(both.status.code(), Some(2), "{}", stderr(&both));
    assert!(stderr(&both).contains("--no-config"), "{}", stderr(&both));
}

#[test]
fn gap_hours_on_the_command_line_keeps_only_longer_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let (output, gaps) = replay_with(dir.path(), "30h.db", &["--gap-hours", "30"]);
    assert!(
        stderr(&output).contains("gaps from 30 h"),
        "{}",
        stderr(&output)
    );
    assert!(!gaps.is_empty());
    assert!(gaps.iter().all(|g| g.duration_hours >= 30.0), "{gaps:#?}");
    // The 27.8 h call dark at the berth falls below the threshold; the other ten stay.
    let expected = truth_trips(|t| not_watchlisted(t) && t["hours"].as_f64().unwrap() >= 30.0);
    assert_eq!(expected.len(), 10);
    assert_eq!(trips(&gaps), expected);
    let (_, gaps) = replay_with(dir.path(), "100h.db", &["--gap-hours", "100"]);
    assert!(
        gaps.is_empty(),
        "no silence in the scenario lasts 100 h: {gaps:#?}"
    );

    // Over a configuration file too, and said so.
    let config = sample_path("aisgap.toml").display().to_string();
    let output = run_in(
        dir.path(),
        &[
            "replay",
            "--config",
            &config,
            "--db",
            "file30h.db",
            "--gap-hours",
            "30",
            &scenario(),
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!("aisgap: using {config} with --gap-hours 30: ")),
        "{}",
        stderr(&output)
    );
    let gaps = stored_gaps(&dir.path().join("file30h.db"));
    assert_eq!(
        trips(&gaps),
        truth_trips(|t| t["hours"].as_f64().unwrap() >= 30.0)
    );
}

#[test]
fn watch_all_on_the_command_line_judges_vessels_of_every_type() {
    let dir = tempfile::tempdir().unwrap();
    let (output, gaps) = replay_with(dir.path(), "all.db", &["--watch-all"]);
    assert!(
        stderr(&output).contains("every vessel watched"),
        "{}",
        stderr(&output)
    );
    // Every truth trip (the watchlisted cargo ship's too), and the calls of the fishing boat
    // and the cargo ship that the scenario keeps unwatched.
    let unwatched: BTreeSet<Spell> = truth()["not_watched_dark"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["label"] == "unwatched_dark")
        .map(spell)
        .collect();
    assert_eq!(unwatched.len(), 2);
    let expected: BTreeSet<Spell> = truth_trips(|_| true).union(&unwatched).cloned().collect();
    assert_eq!(trips(&gaps), expected);
}

#[test]
fn a_ports_file_on_the_command_line_replaces_the_designated_ports() {
    let dir = tempfile::tempdir().unwrap();
    let nakhodka = one_port_file(dir.path(), shipped_port("Nakhodka"));
    let nakhodka = nakhodka.display().to_string();
    let (output, gaps) = replay_with(dir.path(), "nakhodka.db", &["--ports", &nakhodka]);
    assert!(
        stderr(&output).contains(&format!("1 port from {nakhodka}")),
        "{}",
        stderr(&output)
    );
    // Nakhodka is 10 nm from Vostochny: the same dark spells are feasible calls there, and
    // no other port is left to name.
    assert_eq!(trips(&gaps), truth_trips(not_watchlisted));
    assert!(gaps
        .iter()
        .filter(|g| g.is_trip())
        .all(|g| g.port.as_deref() == Some("Nakhodka")));
    let db = Reader::open(&dir.path().join("nakhodka.db")).unwrap();
    let names: Vec<String> = db
        .ports(None, None, 2)
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["Nakhodka"]);

    // A port a thousand miles from the scenario: no trip anywhere, and a tally of zeros.
    let far = one_port_file(
        dir.path(),
        serde_json::json!({
            "type": "Feature",
            "geometry": { "type": "Point", "coordinates": [103.85, 1.26] },
            "properties": { "name": "Singapore", "radius_nm": 5 }
        }),
    );
    let (output, gaps) = replay_with(
        dir.path(),
        "far.db",
        &["--ports", &far.display().to_string()],
    );
    assert!(trips(&gaps).is_empty());
    let printed = stdout(&output);
    let replay_total: Vec<&str> = printed
        .lines()
        .find(|l| l.starts_with("TOTAL"))
        .unwrap_or_else(|| panic!("a total line in {printed}"))
        .split_whitespace()
        .collect();
    assert_eq!(replay_total, ["TOTAL", "0", "0", "0", "0"], "{printed}");
    let query = run_in(dir.path(), &["query", "tally", "--db", "far.db"]);
    assert!(query.status.success(), "{}", stderr(&query));
    let total: Vec<String> = stdout(&query)
        .lines()
        .last()
        .unwrap()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert_eq!(total, ["TOTAL", "0", "0", "0", "0"], "{}", stdout(&query));
}

#[test]
fn bad_overrides_are_refused_by_flag_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario();
    for hours in ["0", "-2", "inf"] {
        let output = run_in(
            dir.path(),
            &["replay", "--no-config", "--gap-hours", hours, &scenario],
        );
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        assert!(
            stderr(&output)
                .contains("command line: --gap-hours: must be a number of hours greater than 0"),
            "{}",
            stderr(&output)
        );
    }
    let output = run_in(
        dir.path(),
        &["replay", "--no-config", "--gap-hours", "six", &scenario],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--gap-hours"),
        "{}",
        stderr(&output)
    );

    let bad_ports = dir.path().join("bad.geojson");
    std::fs::write(
        &bad_ports,
        r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","geometry":{"type":"Point","coordinates":[133.0,42.0]},
           "properties":{"name":"No Radius"}},
          {"type":"Feature","geometry":{"type":"Point","coordinates":[190.0,42.0]},
           "properties":{"name":"Off The Map","radius_nm":1}}]}"#,
    )
    .unwrap();
    let output = run_in(
        dir.path(),
        &[
            "replay",
            "--ports",
            &bad_ports.display().to_string(),
            "--watchlist",
            "missing.csv",
            &scenario,
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let said = stderr(&output);
    for expected in [
        "bad.geojson:feature 1 (No Radius): properties.radius_nm",
        "bad.geojson:feature 2 (Off The Map): geometry.coordinates",
        "command line: --watchlist: watchlist file missing.csv cannot be read",
        "3 problems found in the configuration",
    ] {
        assert!(said.contains(expected), "{expected:?} in {said}");
    }
    assert!(
        !dir.path().join("aisgap.db").exists(),
        "refused before the store"
    );
}

#[test]
fn check_config_shows_the_defaults_with_the_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let ports = one_port_file(dir.path(), shipped_port("Vostochny"));
    let output = run_in(
        dir.path(),
        &[
            "check-config",
            "--no-config",
            "--ports",
            &ports.display().to_string(),
            "--gap-hours",
            "8",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let summary = stdout(&output);
    assert!(summary.starts_with("Configuration (built-in defaults) is valid.\n"));
    assert!(
        summary.contains("Designated ports: 1\n  Vostochny"),
        "{summary}"
    );
    assert!(summary.contains("Detection: gap >= 8 h;"), "{summary}");
    let output = run_in(
        dir.path(),
        &["check-config", "--no-config", "--gap-hours", "0"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("--gap-hours"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn reading_a_missing_database_says_so_once_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let runs = [
        run_in(dir.path(), &["query", "trips", "--db", "aisgap.db"]),
        run_in(dir.path(), &["query", "tally", "--db", "aisgap.db"]),
        run_in(
            dir.path(),
            &["serve", "--db", "aisgap.db", "--listen", "127.0.0.1:0"],
        ),
    ];
    let expected = format!(
        "aisgap: no database at {}: run `aisgap replay LOG...` to build one, or name one with \
         --db FILE\n",
        dir.path().join("aisgap.db").display()
    );
    for output in runs {
        assert_eq!(output.status.code(), Some(1));
        assert_eq!(stderr(&output), expected);
    }
    assert!(
        !dir.path().join("aisgap.db").exists(),
        "a reader creates nothing"
    );
}
