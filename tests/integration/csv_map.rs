//! CSV exports through column mappings: the real NOAA MarineCadastre extract keeps every fix
//! whatever its optional cells hold, and a Spire-style export and an agency export with a packed
//! time and a milliseconds column decode through `--csv-map`; a bad mapping is refused with its
//! file, line and key.

use std::collections::BTreeMap;
use std::path::Path;

use aisgap::decode::feed::FeedDecoder;
use aisgap::decode::{DecodeOptions, DecodeStats};
use aisgap::model::AisEvent;
use serde_json::Value;

use crate::support::{aisgap, corpus, repo_path, sample_path};

const NOAA: &str = "aisdb/test_data_noaa_20230101.csv";

/// Fixes of a text decoded line by line: (mmsi, time, lat, lon) in file order, and counters.
fn decode_text(text: &str) -> (Vec<(u32, i64, f64, f64)>, DecodeStats) {
    let mut decoder = FeedDecoder::new(DecodeOptions::default(), "noaa".into());
    let mut events = Vec::new();
    for line in text.lines() {
        decoder.decode_line(line.as_bytes(), None, &mut events);
    }
    decoder.finish();
    let fixes = events
        .iter()
        .filter_map(|e| match e {
            AisEvent::Fix(f) => Some((f.mmsi.0, f.heard.time?.as_millis(), f.lat, f.lon)),
            _ => None,
        })
        .collect();
    (fixes, decoder.stats())
}

/// The real extract: 1,000 rows, every one with a readable MMSI, ISO time and a latitude and
/// longitude on the globe (counted with Python's csv module, int(), datetime.fromisoformat()
/// and float()); 689 rows have an empty optional cell (Draft 556, IMO 558, Width 152, Length
/// 46, Status 46, Cargo 46, CallSign 42, VesselName 2). Every row yields its fix; the same rows
/// with their empty Draft, Width and Length written `NA` (as some exports do; 556 rows, each
/// of which the decoder used to refuse whole) still yield the same fixes, the unreadable cells
/// counted by column.
#[test]
fn every_noaa_row_with_valid_core_cells_keeps_its_fix_whatever_its_optional_cells_hold() {
    let text = std::fs::read_to_string(corpus(NOAA)).unwrap();
    let (fixes, stats) = decode_text(&text);
    assert_eq!(fixes.len(), 1000);
    assert_eq!(stats.rejected(), 0);
    assert!(stats.csv_unreadable_cells.is_empty());

    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let names: Vec<&str> = header.split(',').collect();
    let na_columns = ["Draft", "Width", "Length"];
    let mut written_na = String::from(header);
    for line in lines {
        // The extract quotes nothing, so a plain split finds its cells.
        let cells: Vec<&str> = line
            .split(',')
            .zip(&names)
            .map(|(cell, name)| {
                if cell.is_empty() && na_columns.contains(name) {
                    "NA"
                } else {
                    cell
                }
            })
            .collect();
        written_na.push('\n');
        written_na.push_str(&cells.join(","));
    }
    let (na_fixes, na_stats) = decode_text(&written_na);
    assert_eq!(na_fixes, fixes, "NA cells cost no fix and move none");
    assert_eq!(na_stats.rejected(), 0);
    let expected: BTreeMap<String, u64> = [("Draft", 556), ("Length", 46), ("Width", 152)]
        .map(|(c, n)| (c.to_string(), n))
        .into_iter()
        .collect();
    assert_eq!(na_stats.csv_unreadable_cells, expected);
    let counters = na_stats.counters();
    assert!(
        counters.contains(&("decode.csv_unreadable_cells.Draft".to_string(), 556)),
        "the ingest counters carry them: {counters:?}"
    );
}

/// `aisgap decode --format jsonl` of a file: records, and the summary on stderr.
fn decode_command(file: &str, csv_map: Option<&str>) -> (Vec<Value>, String) {
    let mut command = aisgap();
    command.arg("decode").arg(repo_path(file));
    if let Some(map) = csv_map {
        command.arg("--csv-map").arg(repo_path(map));
    }
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    let records = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (records, stderr)
}

fn of_kind<'r>(records: &'r [Value], kind: &str) -> Vec<&'r Value> {
    records.iter().filter(|r| r["kind"] == kind).collect()
}

#[test]
fn a_spire_style_export_decodes_through_its_mapping() {
    let (records, summary) = decode_command(
        "tests/data/csv_spire.csv",
        Some("tests/data/csv_map_spire.toml"),
    );
    let fixes = of_kind(&records, "fix");
    let reports = of_kind(&records, "vessel_report");
    let mmsis: Vec<u64> = fixes.iter().map(|f| f["mmsi"].as_u64().unwrap()).collect();
    assert_eq!(
        mmsis,
        [445118000, 273354220, 636021061, 440058000, 368070660],
        "the row with MMSI 44005800X is refused, the others keep their fix"
    );
    assert_eq!(fixes[0]["time"], "2024-03-07T04:12:31.250Z");
    assert_eq!(fixes[2]["time"], "2024-03-06T19:13:40Z", "+09:00 honoured");
    assert_eq!(fixes[2]["sog"], Value::Null, "speed NA left out");
    assert_eq!(fixes[1]["heading"], Value::Null, "511 is not available");
    assert_eq!(reports[1]["name"], "KAPITAN, \"BELOUSOV\"");
    assert_eq!(reports[1]["draught"], Value::Null, "draught NA left out");
    assert_eq!(reports[2]["imo"], 9307839);
    assert_eq!(reports[3]["ship_type"], 70, "the word Cargo");
    assert_eq!(of_kind(&records, "position_unavailable").len(), 1);
    assert!(summary.contains("bad_csv_row        1"), "{summary}");
    assert!(
        summary.contains("unreadable CSV cells (rows kept): draught=1 speed=1"),
        "{summary}"
    );

    // Without its mapping no layout fits: the file is refused by name, not read as rejects.
    let output = aisgap()
        .arg("decode")
        .arg(repo_path("tests/data/csv_spire.csv"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(output.stdout.is_empty(), "no records");
    assert!(
        stderr.contains("csv_spire.csv:1: format not recognised"),
        "{stderr}"
    );
}

#[test]
fn a_packed_time_with_a_milliseconds_column_decodes_through_its_mapping() {
    let (records, summary) = decode_command(
        "tests/data/csv_packed_time.csv",
        Some("tests/data/csv_map_packed_time.toml"),
    );
    let fixes = of_kind(&records, "fix");
    let times: Vec<&str> = fixes.iter().map(|f| f["time"].as_str().unwrap()).collect();
    assert_eq!(
        times,
        [
            "2021-07-01T18:51:51.250Z",
            "2021-07-01T18:52:01Z",
            "2021-07-01T18:52:11Z",
            "2021-07-01T18:51:55.999Z"
        ]
    );
    assert_eq!(
        (fixes[0]["lat"].as_f64(), fixes[0]["sog"].as_f64()),
        (Some(59.91044), Some(11.2))
    );
    assert_eq!(fixes[3]["class"], "B");
    let reports = of_kind(&records, "vessel_report");
    assert_eq!(reports[0]["name"], "NORNE; II");
    assert_eq!(
        (reports[0]["length"].as_u64(), reports[0]["beam"].as_u64()),
        (Some(110), Some(16))
    );
    assert!(
        summary.contains("unreadable CSV cells (rows kept): MSEC=1"),
        "{summary}"
    );
    assert!(summary.contains("bad_csv_row        1"), "{summary}");
}

#[test]
fn replay_takes_a_csv_map_and_reports_unreadable_cells() {
    let dir = tempfile::tempdir().unwrap();
    let output = aisgap()
        .arg("replay")
        .arg(repo_path("tests/data/csv_spire.csv"))
        .arg("--config")
        .arg(sample_path("aisgap.toml"))
        .arg("--db")
        .arg(dir.path().join("spire.db"))
        .arg("--csv-map")
        .arg(repo_path("tests/data/csv_map_spire.toml"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("8 lines, 5 fixes"), "{stdout}");
    assert!(
        stdout.contains("unreadable CSV cells (rows kept): draught=1 speed=1"),
        "{stdout}"
    );
}

#[test]
fn a_bad_csv_map_file_is_refused_with_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("provider.toml");
    std::fs::write(
        &map,
        "time_format = \"%Y-%m-%d %H:%M:%Q\"\n[columns]\nmmsi = \"MMSI\"\ntime = \"TIME\"\n\
         lon = \"LON\"\nspeeed = \"SOG\"\n",
    )
    .unwrap();
    for command in ["decode", "replay"] {
        let mut run = aisgap();
        run.arg(command)
            .arg(repo_path("tests/data/csv_spire.csv"))
            .arg("--csv-map")
            .arg(&map);
        if command == "replay" {
            run.arg("--config")
                .arg(sample_path("aisgap.toml"))
                .arg("--db")
                .arg(dir.path().join("x.db"));
        }
        let output = run.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{command}: {stderr}");
        let file = Path::new(&map).display().to_string();
        for expected in [
            format!("{file}:line 1: time_format: `%Q`"),
            format!("{file}:line 2: columns.lat: is required"),
            format!("{file}:line 6: columns.speeed: unknown field `speeed`"),
        ] {
            assert!(
                stderr.contains(&expected),
                "{command}: {expected} in {stderr}"
            );
        }
    }
}
