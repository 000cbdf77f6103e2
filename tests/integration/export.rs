//! `aisgap export` end to end: the GeoParquet it writes, read back with the parquet crate, holds
//! every row `aisgap query ... --format json` answers, field for field, with a geometry drawn
//! from the row and GeoParquet metadata that describes it; fixes and tracks are split by month;
//! an export never overwrites or half-writes a dataset; DuckDB's tally of the trips equals ours.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use aisgap::simulate::{write_scenario, ScenarioParams};
use aisgap::time::UnixMillis;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use serde_json::Value;

use crate::support::{aisgap, repo_path, sample_path};

/// The bundled sample replayed into `dir/sample.db`.
fn replay_sample(dir: &Path) -> PathBuf {
    let db = dir.join("sample.db");
    run(aisgap()
        .args(["replay", "--config"])
        .arg(sample_path("aisgap.toml"))
        .arg("--db")
        .arg(&db)
        .arg(sample_path("scenario.nmea")));
    db
}

fn run(command: &mut Command) -> String {
    let output = command.output().expect("aisgap runs");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn export(db: &Path, what: &str, format: &str, out: &Path) {
    run(aisgap()
        .args(["export", "--what", what, "--format", format, "--db"])
        .arg(db)
        .arg("--out")
        .arg(out));
}

fn query_value(db: &Path, args: &[&str]) -> Value {
    let text = run(aisgap()
        .arg("query")
        .args(args)
        .args(["--format", "json", "--db"])
        .arg(db));
    serde_json::from_str(&text).expect("query answers JSON")
}

fn query(db: &Path, args: &[&str]) -> Vec<Value> {
    match query_value(db, args) {
        Value::Array(records) => records,
        other => panic!("not an array: {other}"),
    }
}

/// The dataset's files, in path order (partitions by month sort by time).
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// One row read back: its file, and its columns by name.
struct Row {
    file: PathBuf,
    fields: Vec<(String, Field)>,
}

impl Row {
    fn get(&self, name: &str) -> &Field {
        &self
            .fields
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no column {name}"))
            .1
    }
}

fn read_parquet(dir: &Path) -> Vec<Row> {
    let mut rows = Vec::new();
    for path in files(dir) {
        assert_eq!(path.extension().unwrap(), "parquet", "{}", path.display());
        let reader = SerializedFileReader::try_from(File::open(&path).unwrap()).unwrap();
        for row in reader.get_row_iter(None).unwrap() {
            let row = row.unwrap();
            rows.push(Row {
                file: path.clone(),
                fields: row
                    .get_column_iter()
                    .map(|(n, f)| (n.clone(), f.clone()))
                    .collect(),
            });
        }
    }
    rows
}

/// The `geo` metadata of one file.
fn geo(path: &Path) -> Value {
    let reader = SerializedFileReader::try_from(File::open(path).unwrap()).unwrap();
    let metadata = reader
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .unwrap();
    let geo = metadata
        .iter()
        .find(|kv| kv.key == "geo")
        .expect("geo metadata");
    serde_json::from_str(geo.value.as_deref().unwrap()).unwrap()
}

/// A Parquet field equal to a JSON field as `aisgap query` writes it.
fn same(field: &Field, json: &Value) -> bool {
    match field {
        Field::Null => json.is_null(),
        Field::Bool(b) => json.as_bool() == Some(*b),
        Field::Long(i) => json.as_i64() == Some(*i),
        Field::Float(f) => json.as_f64().map(|v| v as f32) == Some(*f),
        Field::Double(d) => json.as_f64() == Some(*d),
        Field::TimestampMillis(ms) => json.as_str() == Some(&UnixMillis(*ms).to_string()),
        Field::Str(s) if json.is_string() => json.as_str() == Some(s.as_str()),
        // Nested values are JSON text.
        Field::Str(s) => serde_json::from_str::<Value>(s).ok().as_ref() == Some(json),
        _ => false,
    }
}

/// Every field of the record is a column holding the same value; every other column but the
/// geometry is null (a field `query` leaves out when empty).
fn assert_row_is_record(row: &Row, record: &Value, what: &str) {
    let object = record.as_object().expect("records are objects");
    for (name, value) in object {
        let field = row.get(name);
        assert!(
            same(field, value),
            "{what}: column {name} holds {field:?}, query says {value}"
        );
    }
    for (name, field) in &row.fields {
        if name != "geometry" && !object.contains_key(name) {
            assert_eq!(
                *field,
                Field::Null,
                "{what}: column {name} is not in the record"
            );
        }
    }
}

/// Every column but the geometry is a field of some record (or of a record that has it: the
/// fields `query` leaves out when empty, `absent`): no column is invented.
fn assert_columns_are_fields(rows: &[Row], records: &[Value], absent: &[&str], what: &str) {
    let fields: std::collections::BTreeSet<&str> = records
        .iter()
        .flat_map(|r| r.as_object().unwrap().keys().map(String::as_str))
        .chain(absent.iter().copied())
        .collect();
    let columns: std::collections::BTreeSet<&str> = rows[0]
        .fields
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| *n != "geometry")
        .collect();
    assert_eq!(columns, fields, "{what}");
}

/// The points of a WKB Point or LineString, longitude first.
fn wkb_points(row: &Row) -> (u32, Vec<(f64, f64)>) {
    let Field::Bytes(bytes) = row.get("geometry") else {
        panic!("geometry is {:?}", row.get("geometry"));
    };
    let b = bytes.data();
    assert_eq!(b[0], 1, "little-endian WKB");
    let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
    let f64_at = |i: usize| f64::from_le_bytes(b[i..i + 8].try_into().unwrap());
    match u32_at(1) {
        1 => {
            assert_eq!(b.len(), 21);
            (1, vec![(f64_at(5), f64_at(13))])
        }
        2 => {
            let n = u32_at(5) as usize;
            assert_eq!(b.len(), 9 + 16 * n);
            (
                2,
                (0..n)
                    .map(|i| (f64_at(9 + 16 * i), f64_at(17 + 16 * i)))
                    .collect(),
            )
        }
        other => panic!("WKB type {other}"),
    }
}

fn num(record: &Value, name: &str) -> f64 {
    record[name].as_f64().unwrap()
}

/// GeoParquet 1.1.0: WKB in `geometry`, the types present, CRS left out (OGC:CRS84), and a
/// bounding box holding every point of the file.
fn assert_geoparquet(path: &Path, rows: &[&Row], types: &[&str]) {
    let geo = geo(path);
    assert_eq!(geo["version"], "1.1.0");
    assert_eq!(geo["primary_column"], "geometry");
    let column = &geo["columns"]["geometry"];
    assert_eq!(column["encoding"], "WKB");
    assert_eq!(
        column["geometry_types"],
        serde_json::json!(types),
        "{}",
        path.display()
    );
    assert!(column.get("crs").is_none(), "crs omitted means OGC:CRS84");
    let bbox: Vec<f64> = serde_json::from_value(column["bbox"].clone()).unwrap();
    for row in rows {
        for (lon, lat) in wkb_points(row).1 {
            assert!(lon >= bbox[0] && lat >= bbox[1] && lon <= bbox[2] && lat <= bbox[3]);
        }
    }
}

#[test]
fn gaps_trips_coverage_and_fixes_read_back_as_their_query_answers() {
    let dir = tempfile::tempdir().unwrap();
    let db = replay_sample(dir.path());

    for what in ["gaps", "trips"] {
        let out = dir.path().join(what);
        export(&db, what, "parquet", &out);
        assert_eq!(
            files(&out),
            [out.join("part-0.parquet")],
            "one file, unpartitioned"
        );
        let rows = read_parquet(&out);
        let records = query(&db, &[what]);
        assert_eq!(rows.len(), records.len(), "{what}");
        assert!(!rows.is_empty());
        assert_columns_are_fields(&rows, &records, &["last_open_call"], what);
        for (row, record) in rows.iter().zip(&records) {
            assert_row_is_record(row, record, what);
            // The dark leg, from fix A to fix B.
            let (kind, points) = wkb_points(row);
            let a = (num(record, "from_lon"), num(record, "from_lat"));
            match record["until_lon"].as_f64() {
                Some(lon) => {
                    assert_eq!(
                        (kind, points),
                        (2, vec![a, (lon, num(record, "until_lat"))])
                    )
                }
                None => assert_eq!((kind, points), (1, vec![a])),
            }
        }
        let all: Vec<&Row> = rows.iter().collect();
        assert_geoparquet(&out.join("part-0.parquet"), &all, &["LineString"]);
    }
    assert_eq!(
        read_parquet(&dir.path().join("trips")).len(),
        14,
        "the sample's trips"
    );

    let out = dir.path().join("coverage");
    export(&db, "coverage", "parquet", &out);
    let rows = read_parquet(&out);
    let records = query(&db, &["coverage"]);
    assert!(records.len() > 1000, "hours of five ports over three weeks");
    assert_eq!(rows.len(), records.len());
    assert_columns_are_fields(&rows, &records, &[], "coverage");
    let ports: BTreeMap<String, (f64, f64)> = query(&db, &["ports"])
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                (num(p, "lon"), num(p, "lat")),
            )
        })
        .collect();
    for (row, record) in rows.iter().zip(&records) {
        assert_row_is_record(row, record, "coverage");
        assert_eq!(
            wkb_points(row),
            (1, vec![ports[record["port"].as_str().unwrap()]])
        );
    }

    let out = dir.path().join("fixes");
    export(&db, "fixes", "parquet", &out);
    let rows = read_parquet(&out);
    assert_fixes_are_the_stored_tracks(&db, &rows);
    let part = out.join("month=2024-03").join("part-0.parquet");
    assert_eq!(
        files(&out),
        std::slice::from_ref(&part),
        "the sample is March 2024"
    );
    let all: Vec<&Row> = rows.iter().collect();
    assert_geoparquet(&part, &all, &["Point"]);
}

fn mmsis(db: &Path) -> Vec<u32> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut statement = conn
        .prepare("SELECT mmsi FROM vessels ORDER BY mmsi")
        .unwrap();
    let mmsis = statement
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<Vec<u32>, _>>()
        .unwrap();
    mmsis
}

/// Every vessel's fixes, in the export, are its track in `aisgap query vessel`, point for
/// point, each in the partition of its month, drawn where it was.
fn assert_fixes_are_the_stored_tracks(db: &Path, rows: &[Row]) {
    let mut by_vessel: BTreeMap<i64, Vec<&Row>> = BTreeMap::new();
    for row in rows {
        let Field::Long(mmsi) = row.get("mmsi") else {
            panic!("mmsi")
        };
        by_vessel.entry(*mmsi).or_default().push(row);
    }
    let mut compared = 0;
    let mut fields = std::collections::BTreeSet::new();
    for mmsi in mmsis(db) {
        let vessel = query_value(db, &["vessel", &mmsi.to_string()]);
        let track = vessel["track"].as_array().expect("a track");
        let exported = by_vessel.remove(&i64::from(mmsi)).unwrap_or_default();
        assert_eq!(exported.len(), track.len(), "vessel {mmsi}");
        for (row, point) in exported.iter().zip(track) {
            let mut record = point.clone();
            record["mmsi"] = Value::from(mmsi);
            assert_row_is_record(row, &record, "fixes");
            fields.extend(record.as_object().unwrap().keys().cloned());
            assert_eq!(
                wkb_points(row),
                (1, vec![(num(point, "lon"), num(point, "lat"))])
            );
            let month = &point["time"].as_str().unwrap()[..7];
            assert!(row
                .file
                .to_string_lossy()
                .contains(&format!("month={month}/")));
            compared += 1;
        }
    }
    assert!(
        by_vessel.is_empty(),
        "fixes of vessels the database does not hold"
    );
    assert_eq!(compared, rows.len());
    assert!(compared > 20_000, "the sample's fixes");
}

/// A generated scenario replayed into `dir/<prefix>.db`.
fn replay_scenario(dir: &Path, params: &ScenarioParams, prefix: &str) -> PathBuf {
    let files = write_scenario(params, dir, prefix).expect("the scenario generates");
    let db = dir.join(format!("{prefix}.db"));
    run(aisgap()
        .args(["replay", "--no-config", "--watchlist"])
        .arg(&files.watchlist)
        .arg("--db")
        .arg(&db)
        .arg(&files.nmea));
    db
}

#[test]
fn encounters_read_back_as_their_query_answers() {
    let dir = tempfile::tempdir().unwrap();
    let at_sea = ScenarioParams {
        days: 3,
        at_sea: true,
        ..ScenarioParams::default()
    };
    let db = replay_scenario(dir.path(), &at_sea, "at_sea");
    let out = dir.path().join("encounters");
    export(&db, "encounters", "parquet", &out);
    let rows = read_parquet(&out);
    let records = query(&db, &["encounters"]);
    assert!(!records.is_empty(), "the staged meeting");
    assert_eq!(rows.len(), records.len());
    assert_columns_are_fields(&rows, &records, &[], "encounters");
    for (row, record) in rows.iter().zip(&records) {
        assert_row_is_record(row, record, "encounters");
        let start = (num(record, "start_lon"), num(record, "start_lat"));
        let end = (num(record, "end_lon"), num(record, "end_lat"));
        assert_eq!(
            wkb_points(row),
            (2, vec![start, end]),
            "the meeting segment"
        );
    }
    let all: Vec<&Row> = rows.iter().collect();
    assert_geoparquet(&out.join("part-0.parquet"), &all, &["LineString"]);
}

#[test]
fn fixes_and_tracks_of_a_month_split_by_month() {
    let dir = tempfile::tempdir().unwrap();
    // From 2024-03-04 into April.
    let month = ScenarioParams {
        days: 29,
        background: 10,
        ..ScenarioParams::default()
    };
    let db = replay_scenario(dir.path(), &month, "month");
    let out = dir.path().join("fixes");
    export(&db, "fixes", "parquet", &out);
    let parts = files(&out);
    assert_eq!(
        parts,
        [
            out.join("month=2024-03/part-0.parquet"),
            out.join("month=2024-04/part-0.parquet")
        ]
    );
    let fixes = read_parquet(&out);
    assert_fixes_are_the_stored_tracks(&db, &fixes);

    // Each track is one transmitter's fixes of one UTC day, as a line through them in order.
    let out = dir.path().join("tracks");
    export(&db, "tracks", "parquet", &out);
    assert_eq!(files(&out).len(), 2, "March and April");
    let tracks = read_parquet(&out);
    let mut days: BTreeMap<(i64, i64, i32), Vec<(f64, f64)>> = BTreeMap::new();
    for fix in &fixes {
        let (Field::Long(mmsi), Field::Long(segment), Field::TimestampMillis(time)) =
            (fix.get("mmsi"), fix.get("segment"), fix.get("time"))
        else {
            panic!("fix columns")
        };
        let day = time.div_euclid(86_400_000) as i32;
        days.entry((*mmsi, *segment, day))
            .or_default()
            .extend(wkb_points(fix).1);
    }
    assert_eq!(tracks.len(), days.len());
    for track in &tracks {
        let (Field::Long(mmsi), Field::Long(segment), Field::Date(day), Field::Long(fixes)) = (
            track.get("mmsi"),
            track.get("segment"),
            track.get("day"),
            track.get("fixes"),
        ) else {
            panic!("track columns")
        };
        let points = &days[&(*mmsi, *segment, *day)];
        assert_eq!(*fixes as usize, points.len());
        let (kind, line) = wkb_points(track);
        assert_eq!(kind, if points.len() == 1 { 1 } else { 2 });
        assert_eq!(&line, points, "vessel {mmsi} day {day}");
        let month = &UnixMillis(i64::from(*day) * 86_400_000).to_string()[..7];
        assert!(track
            .file
            .to_string_lossy()
            .contains(&format!("month={month}/")));
    }
}

#[test]
fn an_export_never_overwrites_a_dataset_nor_leaves_half_of_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = replay_sample(dir.path());
    let out = dir.path().join("trips");
    export(&db, "trips", "parquet", &out);
    let before = std::fs::read(out.join("part-0.parquet")).unwrap();

    let again = aisgap()
        .args(["export", "--what", "gaps", "--db"])
        .arg(&db)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!again.status.success());
    let message = String::from_utf8_lossy(&again.stderr);
    assert!(
        message.contains("already holds files") && message.contains("--replace"),
        "{message}"
    );
    assert_eq!(std::fs::read(out.join("part-0.parquet")).unwrap(), before);

    // A track chunk altered by hand: the export names it and leaves the old dataset whole.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let id: i64 = conn
        .query_row(
            "SELECT id FROM track_chunks ORDER BY mmsi, day, seq LIMIT 1 OFFSET 3",
            [],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute(
        "UPDATE track_chunks SET points = x'0102030405' WHERE id = ?1",
        [id],
    )
    .unwrap();
    drop(conn);
    let broken = aisgap()
        .args(["export", "--what", "fixes", "--replace", "--db"])
        .arg(&db)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!broken.status.success());
    let message = String::from_utf8_lossy(&broken.stderr);
    assert!(
        message.contains("track_chunks")
            && message.contains(&format!("id {id}"))
            && message.contains("points"),
        "{message}"
    );
    assert_eq!(files(&out), [out.join("part-0.parquet")]);
    assert_eq!(std::fs::read(out.join("part-0.parquet")).unwrap(), before);
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(left.is_empty(), "staging folders left: {left:?}");

    // --replace puts the new dataset in place of the old.
    run(aisgap()
        .args(["export", "--what", "gaps", "--replace", "--db"])
        .arg(&db)
        .arg("--out")
        .arg(&out));
    assert_eq!(read_parquet(&out).len(), query(&db, &["gaps"]).len());
}

#[test]
fn jsonl_and_csv_hold_the_same_rows_as_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let db = replay_sample(dir.path());
    let records = query(&db, &["gaps"]);
    export(&db, "gaps", "jsonl", &dir.path().join("jsonl"));
    let text = std::fs::read_to_string(dir.path().join("jsonl/part-0.jsonl")).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), records.len());
    for (line, record) in lines.iter().zip(&records) {
        let mut line = line.clone();
        let geometry = line.as_object_mut().unwrap().remove("geometry").unwrap();
        assert_eq!(geometry["type"], "LineString");
        // Fields `query` leaves out when empty are null here, as in Parquet.
        line.as_object_mut()
            .unwrap()
            .retain(|k, v| record.get(k).is_some() || !v.is_null());
        assert_eq!(&line, record);
    }

    export(&db, "fixes", "csv", &dir.path().join("csv"));
    let text = std::fs::read_to_string(dir.path().join("csv/month=2024-03/part-0.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("mmsi,segment,time,lat,lon,sog,cog,heading,nav_status,late,geometry")
    );
    let parquet_dir = dir.path().join("parquet");
    export(&db, "fixes", "parquet", &parquet_dir);
    let rows = read_parquet(&parquet_dir);
    let csv: Vec<&str> = lines.collect();
    assert_eq!(csv.len(), rows.len());
    for (line, row) in csv.iter().zip(&rows) {
        let (Field::Double(lat), Field::Double(lon)) = (row.get("lat"), row.get("lon")) else {
            panic!("lat, lon")
        };
        assert!(
            line.ends_with(&format!("\"POINT ({lon} {lat})\""))
                || line.ends_with(&format!("POINT ({lon} {lat})")),
            "{line}"
        );
    }
}

/// Runs `scripts/duckdb_tally.sh`: a fresh virtualenv, duckdb from PyPI, its SQL tally of the
/// exported trips against `aisgap query tally`. Without pip or the registry it fails, as it
/// must: this test is how the README's DuckDB query is kept true.
#[test]
fn duckdb_tallies_the_exported_trips_as_aisgap_does() {
    let output = Command::new("bash")
        .arg(repo_path("scripts/duckdb_tally.sh"))
        .env("AISGAP", env!("CARGO_BIN_EXE_aisgap"))
        .output()
        .expect("bash runs the script");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("same tally"), "{stdout}");
    assert!(
        stdout.contains("5 groups"),
        "the sample's five tankers with trips: {stdout}"
    );
}
