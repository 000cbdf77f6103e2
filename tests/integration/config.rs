//! `aisgap check-config` run as a real process on the shipped configuration and on fixtures,
//! and `Config::load` on the fixtures that exercise drawn zones.

use std::path::Path;
use std::process::Output;

use aisgap::config::Config;
use aisgap::ports::PortZone;

use crate::support::{aisgap, repo_path};

fn check_config(config: &Path) -> Output {
    aisgap()
        .arg("check-config")
        .arg("--config")
        .arg(config)
        // The explicit flag must win over the environment.
        .env("AISGAP_CONFIG", "/nonexistent/ignored.toml")
        .output()
        .expect("run the aisgap binary")
}

#[test]
fn shipped_config_is_valid_and_summarised() {
    let output = check_config(&repo_path("config/aisgap.toml"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("is valid"), "{stdout}");
    assert!(stdout.contains("Designated ports: 5"), "{stdout}");
    for (name, zone) in [
        ("Vostochny", "circle 2.0 nm around 42.7350 N 133.0750 E"),
        ("Kozmino", "circle 1.5 nm around 42.7280 N 133.0050 E"),
        ("Nakhodka", "circle 2.0 nm around 42.8000 N 132.8850 E"),
        ("Vladivostok", "circle 3.0 nm around 43.1050 N 131.8850 E"),
        ("Slavyanka", "circle 1.5 nm around 42.8600 N 131.3800 E"),
    ] {
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("{name} missing from:\n{stdout}"));
        assert!(line.contains(zone), "{line}");
        assert!(line.contains("approach 100 nm, coverage 20 nm"), "{line}");
    }
    assert!(stdout.contains("Watchlist: 3 vessel(s)"), "{stdout}");
    assert!(stdout.contains("Vostochny and Kozmino overlap"), "{stdout}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn shipped_config_loads_with_documented_defaults() {
    let config = Config::load(&repo_path("config/aisgap.toml")).expect("shipped config loads");
    assert_eq!(config.detect, Default::default());
    assert_eq!(config.decode, Default::default());
    assert_eq!(config.store.db, repo_path("config/aisgap.db"));
    let vostochny = config.port("Vostochny").expect("Vostochny is designated");
    assert_eq!(
        vostochny.zone,
        PortZone::Circle {
            lat: 42.735,
            lon: 133.075,
            radius_nm: 2.0
        }
    );
    // The 2024 reporting places the berth at about 42.73 N 133.07 E: inside the zone.
    assert!(vostochny.contains(42.73, 133.07));
    assert!(config
        .watchlist
        .contains(aisgap::model::Mmsi(445_000_001), None));
}

/// Each of the ten mistakes: the file it is in (relative to the fixture folder), its location
/// and the start of its message.
const TEN_MISTAKES: [(&str, &str, &str); 10] = [
    (
        "ten-mistakes.toml:line 6",
        "detect.gap_hours",
        "must be greater than 0, got -3",
    ),
    (
        "ten-mistakes.toml:line 7",
        "detect.max_speed_kn",
        "invalid type: string \"fast\", expected a number",
    ),
    (
        "ten-mistakes.toml:line 8",
        "detect.min_coverage",
        "is a share of hours and must lie in 0..=1",
    ),
    (
        "ten-mistakes.toml:line 12",
        "ports.extra_files",
        "ports file ",
    ),
    (
        "ten-mistakes.toml:line 18",
        "store.batch_size",
        "unknown field `batch_size`",
    ),
    (
        "ten-mistakes-ports.geojson:feature 2 (Nakhodka)",
        "properties.radius_nm",
        "a Point zone needs radius_nm",
    ),
    (
        "ten-mistakes-ports.geojson:feature 3 (Vostochny)",
        "properties.name",
        "duplicate port name: feature 1 already uses it",
    ),
    (
        "ten-mistakes-ports.geojson:feature 4 (Vladivostok)",
        "geometry.coordinates[0]",
        "exterior ring is not closed",
    ),
    (
        "ten-mistakes-watchlist.csv:line 4",
        "imo",
        "IMO 1234568 fails its check digit: the last digit should be 7, not 8",
    ),
    (
        "ten-mistakes-watchlist.csv:line 5",
        "",
        "row has neither an mmsi nor an imo",
    ),
];

#[test]
fn ten_mistakes_are_all_listed_with_file_and_location() {
    let folder = repo_path("tests/data/config");
    let output = check_config(&folder.join("ten-mistakes.toml"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "accepted a broken config:\n{stderr}"
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        output.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );

    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 11, "ten problems and a count:\n{stderr}");
    assert_eq!(lines[10], "10 problems found in the configuration");
    let prefix = format!("{}/", folder.display());
    for (line, (place, field, message)) in lines.iter().zip(TEN_MISTAKES) {
        let rest = line
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{line:?} does not start with the fixture folder"));
        let expected_head = if field.is_empty() {
            format!("{place}: {message}")
        } else {
            format!("{place}: {field}: {message}")
        };
        assert!(
            rest.starts_with(&expected_head),
            "expected {expected_head:?}\n     got {rest:?}"
        );
    }
    // The missing file is named as it was resolved, next to the config.
    assert!(
        stderr.contains(&format!("{prefix}no-such-ports.geojson cannot be read")),
        "{stderr}"
    );
}

#[test]
fn ten_mistakes_through_the_library_match_the_binary() {
    let folder = repo_path("tests/data/config");
    let errors = Config::load(&folder.join("ten-mistakes.toml")).unwrap_err();
    assert_eq!(errors.problems.len(), 10, "{errors}");
    for problem in &errors.problems {
        assert!(
            problem.location.is_some(),
            "every mistake has a location: {problem}"
        );
        assert!(problem.file.starts_with(&folder), "{problem}");
    }
}

#[test]
fn polygon_fixture_is_valid_and_its_zone_works() {
    let path = repo_path("tests/data/config/polygon.toml");
    let output = check_config(&path);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("Wrangel Bay (drawn)  area of 1 polygon(s), 5 vertices"),
        "{stdout}"
    );

    let config = Config::load(&path).unwrap();
    assert_eq!(config.detect.gap_hours, 12.0);
    let bay = config.port("Wrangel Bay (drawn)").unwrap();
    assert!(matches!(bay.zone, PortZone::Area(_)));
    assert_eq!(
        (bay.approach_nm, bay.coverage_nm, bay.gap_hours),
        (80.0, 15.0, Some(8.0))
    );
    // The Vostochny berth position lies inside the drawn bay.
    assert!(bay.contains(42.735, 133.075));
    assert_eq!(bay.distance_nm(42.735, 133.075), 0.0);
    // 0.1 degree of latitude south of the bay's south edge (42.715 N): 6.0 nm.
    let south = bay.distance_nm(42.615, 133.075);
    assert!((south - 6.004).abs() < 0.01, "{south}");
    let (lat, lon) = bay.centre();
    assert!(bay.contains(lat, lon), "centroid {lat} {lon} lies inside");
}

#[test]
fn missing_config_file_is_one_located_problem() {
    let output = check_config(Path::new("/nonexistent/aisgap.toml"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("/nonexistent/aisgap.toml: cannot read the configuration file"),
        "{stderr}"
    );
}

#[test]
fn config_found_through_the_environment() {
    let output = aisgap()
        .arg("check-config")
        .env("AISGAP_CONFIG", repo_path("tests/data/config/polygon.toml"))
        .output()
        .expect("run the aisgap binary");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("polygon.toml is valid"));
}
