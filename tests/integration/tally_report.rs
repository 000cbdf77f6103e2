//! `aisgap report tally` on the replayed sample: the HTML and its CSV files say what
//! `aisgap query tally` and `aisgap query trips` say, the cap comes from `[report]`, the file
//! needs nothing beyond itself; and (in Chromium) what the page shows, printed to PDF.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

use crate::support::{aisgap, repo_path, sample_path};

/// The sample replayed once by the binary into a database these tests only read.
fn sample_db() -> &'static Path {
    static DB: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, db) = DB.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("sample.db");
        let out = aisgap()
            .args(["replay", "--config"])
            .arg(sample_path("aisgap.toml"))
            .arg("--db")
            .arg(&db)
            .arg(sample_path("scenario.nmea"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (dir, db)
    });
    db
}

fn query(args: &[&str]) -> String {
    let out = aisgap()
        .arg("query")
        .args(args)
        .arg("--db")
        .arg(sample_db())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "query {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Writes the report with these extra arguments into `dir`: the HTML's text.
pub(crate) fn report(dir: &Path, args: &[&str]) -> String {
    let html = dir.join("tally.html");
    let out = aisgap()
        .args(["report", "tally"])
        .arg("--db")
        .arg(sample_db())
        .arg("--config")
        .arg(sample_path("aisgap.toml"))
        .arg("--out")
        .arg(&html)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "report tally {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(html).unwrap()
}

/// The value of `name="..."` in one tag's text.
fn attribute<'t>(tag: &'t str, name: &str) -> Option<&'t str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = tag[start..].find('"')? + start;
    Some(&tag[start..end])
}

/// The opening tags of the rows of the table with this id.
fn rows_of<'t>(html: &'t str, table: &str) -> Vec<&'t str> {
    let start = html
        .find(&format!("<table id=\"{table}\""))
        .unwrap_or_else(|| panic!("no table {table}"));
    let body = &html[start..start + html[start..].find("</table>").unwrap()];
    body.match_indices("<tr data-")
        .map(|(at, _)| &body[at..at + body[at..].find('>').unwrap()])
        .collect()
}

/// `aisgap query tally --by port,month` as (port, month) -> [trips, open, high, barrels].
fn tally_json(extra: &[&str]) -> BTreeMap<(String, String), [i64; 4]> {
    let mut args = vec!["tally", "--by", "port,month", "--format", "json"];
    args.extend(extra);
    let rows: Value = serde_json::from_str(&query(&args)).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                (
                    r["port"].as_str().unwrap().to_string(),
                    r["month"].as_str().unwrap().to_string(),
                ),
                [
                    r["trips"].as_i64().unwrap(),
                    r["open_calls"].as_i64().unwrap(),
                    r["high_confidence"].as_i64().unwrap(),
                    r["est_barrels"].as_f64().unwrap().round() as i64,
                ],
            )
        })
        .collect()
}

fn html_tally(html: &str) -> BTreeMap<(String, String), [i64; 4]> {
    rows_of(html, "tally")
        .into_iter()
        .map(|tag| {
            let n = |name| attribute(tag, name).unwrap().parse::<i64>().unwrap();
            (
                (
                    attribute(tag, "data-port").unwrap().to_string(),
                    attribute(tag, "data-month").unwrap().to_string(),
                ),
                [
                    n("data-trips"),
                    n("data-open-calls"),
                    n("data-high-confidence"),
                    n("data-est-barrels"),
                ],
            )
        })
        .collect()
}

fn figure(html: &str, id: &str) -> i64 {
    let at = html.find(&format!("id=\"{id}\"")).expect(id);
    let tag = &html[at - 30..at + html[at..].find('>').unwrap()];
    attribute(tag, "data-value").unwrap().parse().unwrap()
}

#[test]
fn the_tally_report_and_its_csv_say_what_query_tally_says() {
    let dir = tempfile::tempdir().unwrap();
    let html = report(dir.path(), &[]);
    let expected = tally_json(&[]);
    assert_eq!(
        expected.len(),
        3,
        "Vostochny's trips, two ports' open calls"
    );
    assert_eq!(html_tally(&html), expected);
    let trips: i64 = expected.values().map(|r| r[0]).sum();
    let open: i64 = expected.values().map(|r| r[1]).sum();
    let barrels: i64 = expected.values().map(|r| r[3]).sum();
    assert_eq!(trips, 14, "the sample's trips");
    assert!(
        open > 0,
        "the sample's open calls at Nakhodka and Vladivostok"
    );
    assert_eq!(figure(&html, "total-trips"), trips);
    assert_eq!(figure(&html, "total-open-calls"), open);
    assert_eq!(figure(&html, "total-barrels"), barrels);

    // The CSV beside it is the query's CSV, and its rows are the JSON's numbers.
    let csv = std::fs::read_to_string(dir.path().join("tally.csv")).unwrap();
    assert_eq!(
        csv,
        query(&["tally", "--by", "port,month", "--format", "csv"])
    );
    let from_csv: BTreeMap<(String, String), [i64; 4]> = csv
        .lines()
        .skip(1)
        .map(|line| {
            let c: Vec<&str> = line.split(',').collect();
            let n = |i: usize| c[i].parse::<i64>().unwrap();
            ((c[0].into(), c[1].into()), [n(2), n(3), n(5), n(4)])
        })
        .collect();
    assert_eq!(
        csv.lines().next().unwrap(),
        "port,month,trips,open_calls,high_confidence,est_barrels"
    );
    let reordered: BTreeMap<_, _> = from_csv
        .into_iter()
        .map(|(k, v)| (k, [v[0], v[1], v[3], v[2]]))
        .collect();
    assert_eq!(reordered, expected);

    // Every trip, in order, with the running total the chart steps through.
    let listed: Value = serde_json::from_str(&query(&["trips", "--format", "json"])).unwrap();
    let listed = listed.as_array().unwrap();
    let trips_csv = std::fs::read_to_string(dir.path().join("tally-trips.csv")).unwrap();
    let lines: Vec<&str> = trips_csv.lines().skip(1).collect();
    assert_eq!(lines.len(), listed.len());
    let mut running = 0.0;
    for (line, trip) in lines.iter().zip(listed) {
        let c: Vec<&str> = line.split(',').collect();
        assert_eq!(c[0], trip["mmsi"].to_string());
        assert_eq!(c[4], trip["dark_from"].as_str().unwrap());
        running += trip["est_barrels"].as_f64().unwrap_or(0.0);
        assert_eq!(c[12], format!("{running:.0}"), "{line}");
    }
    let table = rows_of(&html, "trips");
    assert_eq!(table.len(), listed.len());
    let path_total = attribute(
        &html[html.find("class=\"cumulative\"").unwrap() - 6..],
        "data-total",
    )
    .unwrap()
    .to_string();
    assert_eq!(
        path_total,
        barrels.to_string(),
        "the curve ends at the total"
    );

    // The confidence split adds up to the trips, the high ones to the tally's.
    let split: Vec<(String, i64)> = rows_of(&html, "confidence")
        .into_iter()
        .map(|t| {
            (
                attribute(t, "data-confidence").unwrap().to_string(),
                attribute(t, "data-trips").unwrap().parse().unwrap(),
            )
        })
        .collect();
    let high: i64 = expected.values().map(|r| r[2]).sum();
    assert_eq!(
        split,
        [
            ("high".to_string(), high),
            ("medium".to_string(), trips - high)
        ]
    );

    // One file: no script, nothing fetched, the UN cap by default and labelled.
    for outside in ["<script", "src=", "href=", "@import", "url("] {
        assert!(!html.contains(outside), "the report reaches out: {outside}");
    }
    assert!(html.contains("data-cap=\"500000\""), "the default cap");
    assert!(
        html.contains("UNSC resolution 2397"),
        "labelled as the UN cap"
    );
    assert!(html.contains("@page { size: A4"), "laid out for A4");
}

#[test]
fn filters_narrow_the_report_as_they_narrow_the_query_and_the_cap_is_configured() {
    let dir = tempfile::tempdir().unwrap();
    let filters = [
        "--port",
        "Vostochny",
        "--since",
        "2024-03-10",
        "--until",
        "2024-03-20",
    ];
    let html = report(dir.path(), &filters);
    let expected = tally_json(&filters);
    let shown = html_tally(&html);
    assert_eq!(shown, expected);
    let trips = shown.values().map(|r| r[0]).sum::<i64>();
    assert!(trips > 0 && trips < 14, "a part of the trips: {trips}");

    // The cap and its label come from [report].
    let config = dir.path().join("aisgap.toml");
    std::fs::write(
        &config,
        format!(
            "[ports]\nfile = \"{}\"\n[report]\nannual_cap_bbl = 60000\ncap_label = \"test cap & label\"\n",
            repo_path("config/ports.geojson").display()
        ),
    )
    .unwrap();
    let html_path = dir.path().join("capped.html");
    let out = aisgap()
        .args(["report", "tally", "--db"])
        .arg(sample_db())
        .arg("--config")
        .arg(&config)
        .arg("--out")
        .arg(&html_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let capped = std::fs::read_to_string(&html_path).unwrap();
    assert!(capped.contains("data-cap=\"60000\""));
    assert!(capped.contains("test cap &amp; label"), "escaped label");
    // From 2024-03-01 to the stream clock, 2024-03-24T23:58Z: 24 days of 365 of the cap.
    let cap = figure(&capped, "cap-period");
    assert!((3_940..=3_946).contains(&cap), "{cap}");

    // A port the database does not know is refused, naming the ones it does.
    let out = aisgap()
        .args(["report", "tally", "--port", "Atlantis", "--db"])
        .arg(sample_db())
        .arg("--config")
        .arg(&config)
        .arg("--out")
        .arg(dir.path().join("none.html"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("\"Atlantis\"") && stderr.contains("Vostochny"),
        "{stderr}"
    );
    assert!(!dir.path().join("none.html").exists());
}
