//! `aisgap report tally` on the replayed sample: the HTML and its CSV files say what
//! `aisgap query tally` and `aisgap query trips` say, the cap comes from `[report]`, the file
//! needs nothing beyond itself; and (in Chromium) what the page shows, printed to PDF.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::{aisgap, free_port, http_get, repo_path, sample_path};

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

/// `aisgap serve` on a loopback port over `db`, ended (by its own id) when dropped.
struct Serving {
    child: Child,
    address: String,
}

impl Serving {
    fn start(db: &Path) -> Serving {
        let address = format!("127.0.0.1:{}", free_port());
        let child = aisgap()
            .args(["serve", "--listen", &address, "--db"])
            .arg(db)
            .env_remove("AISGAP_API_TOKEN")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting aisgap serve");
        let serving = Serving { child, address };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&serving.address).is_err() {
            assert!(
                Instant::now() < deadline,
                "aisgap serve did not listen in 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        serving
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    fn json(&self, path: &str) -> Value {
        let (status, body) = http_get(&self.address, path);
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_api_answers_the_numbers_of_the_report() {
    let served = Serving::start(sample_db());
    let answer = served.json("/api/v1/tally/report");
    let rows: Value =
        serde_json::from_str(&query(&["tally", "--by", "port,month", "--format", "json"])).unwrap();
    assert_eq!(answer["rows"], rows);
    assert_eq!(answer["annual_cap_bbl"], 500_000.0);
    assert_eq!(answer["totals"]["trips"], 14);
    let trips = answer["trips"].as_array().unwrap();
    let last = trips.last().unwrap()["cumulative_est_barrels"]
        .as_f64()
        .unwrap();
    assert_eq!(last, answer["totals"]["est_barrels"].as_f64().unwrap());
    let months = answer["months"].as_array().unwrap();
    assert_eq!(
        months.last().unwrap()["cumulative_est_barrels"].as_f64(),
        Some(last)
    );
    let (status, csv) = http_get(
        &served.address,
        "/api/v1/tally/report?format=csv&port=Vostochny",
    );
    assert_eq!(status, 200, "{csv}");
    assert!(
        csv.ends_with(&query(&[
            "tally",
            "--by",
            "port,month",
            "--format",
            "csv",
            "--port",
            "Vostochny"
        ])),
        "{csv}"
    );
}

// ---- in Chromium ----------------------------------------------------------------------------

mod browser {
    use std::collections::BTreeSet;

    use serde_json::json;

    use super::*;
    use crate::api::browser::{base64_decode, ensure_browser, post, Driver};

    fn number(text: &Value) -> i64 {
        text.as_str()
            .unwrap()
            .replace(',', "")
            .trim()
            .parse()
            .unwrap()
    }

    fn screenshot_to(driver: &Driver, name: &str) {
        let shot = driver.screenshot();
        assert_eq!(&shot[..8], b"\x89PNG\r\n\x1a\n", "a PNG screenshot");
        std::fs::write(Path::new(env!("CARGO_TARGET_TMPDIR")).join(name), &shot).unwrap();
        if std::env::var_os("AISGAP_UPDATE_SCREENSHOT").is_some() {
            std::fs::write(repo_path(&format!("docs/{name}")), &shot).unwrap();
        }
    }

    #[test]
    fn the_tally_report_shows_what_query_tally_says_and_prints_on_a4() {
        ensure_browser();
        let started = Instant::now();
        let dir = tempfile::tempdir().unwrap();
        report(dir.path(), &[]);
        let driver = Driver::start();
        driver.go(&format!(
            "file://{}",
            dir.path().join("tally.html").display()
        ));
        driver.wait_for("the report", "return document.readyState === 'complete'");

        // What a reader sees in the table is the query's tally.
        let cells = driver.script(
            "return [...document.querySelectorAll('#tally tbody tr')].map(r => [...r.cells].map(c => c.textContent))",
        );
        let shown: BTreeMap<(String, String), [i64; 4]> = cells
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let text = |i: usize| c[i].as_str().unwrap().to_string();
                (
                    (text(0), text(1)),
                    [number(&c[2]), number(&c[3]), number(&c[4]), number(&c[5])],
                )
            })
            .collect();
        let expected = tally_json(&[]);
        assert_eq!(shown, expected);
        let figures = driver.script(
            "return ['total-trips', 'total-open-calls', 'total-barrels'].map(id => document.getElementById(id).querySelector('b').textContent)",
        );
        let sums: Vec<i64> = (0..4)
            .filter(|&i| i != 2)
            .map(|i| expected.values().map(|r| r[i]).sum())
            .collect();
        let figures: Vec<i64> = figures.as_array().unwrap().iter().map(number).collect();
        assert_eq!(figures, sums);

        // The charts are drawn: a chart per port with calls, the curve and the cap.
        let drawn = driver.script(
            "return [document.querySelectorAll('svg.port-chart').length, \
             [...document.querySelectorAll('svg.port-chart rect.dark')].reduce((s, r) => s + Number(r.dataset.trips), 0), \
             [...document.querySelectorAll('svg.port-chart rect.open')].reduce((s, r) => s + Number(r.dataset.openCalls), 0), \
             document.querySelector('#cumulative line.cap').getBoundingClientRect().width, \
             document.querySelector('#cumulative').textContent]",
        );
        let ports: BTreeSet<&String> = expected.keys().map(|(p, _)| p).collect();
        assert_eq!(drawn[0].as_u64(), Some(ports.len() as u64));
        assert_eq!(drawn[1].as_i64(), Some(sums[0]));
        assert_eq!(drawn[2].as_i64(), Some(sums[1]));
        assert!(
            drawn[3].as_f64().unwrap() > 300.0,
            "the cap line spans the chart: {drawn}"
        );
        assert!(
            drawn[4].as_str().unwrap().contains("500,000 bbl a year"),
            "{drawn}"
        );

        // Printed on A4: a PDF of whole pages.
        let pdf = post(
            &driver.url("/print"),
            &json!({ "page": { "width": 21.0, "height": 29.7 }, "background": true }),
        );
        let pdf = base64_decode(pdf.as_str().expect("a PDF"));
        assert_eq!(&pdf[..5], b"%PDF-", "a PDF");
        let text = String::from_utf8_lossy(&pdf);
        let pages = text.matches("/Type /Page").count() - text.matches("/Type /Pages").count();
        assert!((2..=8).contains(&pages), "{pages} A4 pages");
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tally-report.pdf");
        std::fs::write(&out, &pdf).unwrap();
        screenshot_to(&driver, "tally-report.png");
        eprintln!("PDF of {pages} pages: {}", out.display());
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn the_map_page_draws_encounters_loitering_visits_and_open_beside_dark_calls() {
        ensure_browser();
        let started = Instant::now();
        let driver = Driver::start();
        let ready = |driver: &Driver| {
            let ready = driver.wait_for("the page to load", "return document.body.dataset.ready");
            let status = driver.script("return document.getElementById('status').textContent");
            assert_eq!(ready, "true", "status line: {status}");
        };

        // At sea: every encounter and loitering drawn and listed; a click shows its evidence.
        let sea = tempfile::tempdir().unwrap();
        crate::at_sea::scenario(sea.path());
        let served = Serving::start(&sea.path().join("at_sea.db"));
        let encounters = served.json("/api/v1/encounters?limit=10000");
        let loitering = served.json("/api/v1/loitering?limit=10000");
        let encounters = encounters.as_array().unwrap();
        assert!(!encounters.is_empty() && !loitering.as_array().unwrap().is_empty());
        driver.go(&served.url("/"));
        ready(&driver);
        let drawn = driver.script(
            "return [document.querySelectorAll('#layer-at-sea g.encounter line.meeting').length, \
             document.querySelectorAll('#layer-at-sea g.loitering path.idle-ring').length, \
             document.querySelectorAll('#at-sea-list button').length]",
        );
        let (e, l) = (encounters.len(), loitering.as_array().unwrap().len());
        let rendezvous = crate::at_sea::rendezvous_drawn_as_queried(&driver, sea.path());
        assert_eq!(drawn, json!([e, l, e + l + rendezvous]));
        let first = &encounters[0];
        let key = format!(
            "{}-{}@{}",
            first["a"]["mmsi"],
            first["b"]["mmsi"],
            first["start"].as_str().unwrap()
        );
        driver.script("document.getElementById('zoom-fit').click(); return true");
        driver.click(&format!(
            "#layer-at-sea g.encounter[data-encounter=\"{key}\"] circle.meeting-point"
        ));
        let selected = driver.wait_for(
            "the encounter to be selected",
            "return document.body.dataset.selected",
        );
        assert_eq!(selected, format!("encounter:{key}").as_str());
        let evidence = driver.script("return document.getElementById('evidence').textContent");
        let evidence = evidence.as_str().unwrap();
        for words in [
            first["a"]["name"].as_str().unwrap(),
            first["b"]["name"].as_str().unwrap(),
            "median",
            "draught",
            "Nearest port",
        ] {
            assert!(
                evidence.contains(words),
                "encounter evidence lacks {words}: {evidence}"
            );
        }
        if first["est_barrels"].is_number() {
            assert!(evidence.contains("Estimated transfer") && evidence.contains("Receiving"));
        }
        let idle = &loitering[0];
        let key = format!(
            "{}@{}",
            idle["vessel"]["mmsi"],
            idle["start"].as_str().unwrap()
        );
        driver.click(&format!("#at-sea-list button[data-loitering=\"{key}\"]"));
        let evidence = driver.wait_for(
            "the loitering evidence",
            "return document.getElementById('evidence').textContent.startsWith('Loitering') && document.getElementById('evidence').textContent",
        );
        assert!(
            evidence
                .as_str()
                .unwrap()
                .contains(idle["vessel"]["name"].as_str().unwrap()),
            "{evidence}"
        );
        screenshot_to(&driver, "map-at-sea.png");
        drop(served);

        // The sample: open calls beside dark calls in the chart, the estimate against the cap.
        let served = Serving::start(sample_db());
        driver.go(&served.url("/"));
        ready(&driver);
        let tally = tally_json(&[]);
        let sum = |i: usize| tally.values().map(|r| r[i]).sum::<i64>();
        let chart = driver.script(
            "const sum = (css, key) => [...document.querySelectorAll(css)].reduce((s, r) => s + Number(r.dataset[key]), 0); \
             const cap = document.querySelector('#cap-chart line.cap-line'); \
             return [sum('#chart rect.bar', 'trips'), sum('#chart rect.bar-open', 'openCalls'), \
             Number(document.querySelector('#cap-chart path.cumulative-line').dataset.total), Number(cap.dataset.cap), \
             [...document.querySelectorAll('#confidence-split tbody tr')].map(r => [r.dataset.confidence, Number(r.dataset.trips)])]",
        );
        assert_eq!(chart[0].as_i64(), Some(sum(0)));
        assert_eq!(chart[1].as_i64(), Some(sum(1)));
        assert!(sum(1) > 0, "the sample has open calls");
        assert_eq!(chart[2].as_i64(), Some(sum(3)));
        assert_eq!(chart[3].as_i64(), Some(500_000));
        assert_eq!(
            chart[4],
            json!([["high", sum(2)], ["medium", sum(0) - sum(2)]])
        );

        // A vessel calling openly between dark calls: its visits in the vessel view.
        let calls = tempfile::tempdir().unwrap();
        let db = crate::visits::replayed(calls.path());
        let served = Serving::start(&db);
        let trips = served.json(&format!("/api/v1/trips?mmsi={}", crate::visits::CALLER));
        let trip = &trips[1];
        let from = trip["dark_from"].as_str().unwrap();
        let until = trip["dark_until"].as_str().unwrap();
        let window = |t: &str, hours: f64| {
            aisgap::time::UnixMillis::parse_user(t)
                .unwrap()
                .plus_hours(hours)
                .to_string()
        };
        let listed = served.json(&format!(
            "/api/v1/visits?mmsi={}&since={}&until={}",
            crate::visits::CALLER,
            window(from, -30.0 * 24.0),
            window(until, 30.0 * 24.0)
        ));
        let visits = listed.as_array().unwrap().len();
        assert!(
            visits >= 2,
            "the open calls before and after the trip: {listed}"
        );
        driver.go(&served.url(&format!("/#trip={}@{from}", crate::visits::CALLER)));
        ready(&driver);
        driver.wait_for(
            "the vessel view",
            "return document.body.dataset.selectedTrack",
        );
        let shown = driver.script(
            "return [document.querySelectorAll('#evidence table.visits tbody tr').length, \
             document.getElementById('evidence').textContent]",
        );
        assert_eq!(shown[0].as_u64(), Some(visits as u64), "{shown}");
        let text = shown[1].as_str().unwrap();
        assert!(
            text.contains("Last open call") && text.contains("Nakhodka") && text.contains("open"),
            "{text}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "{:?}",
            started.elapsed()
        );
    }
}
