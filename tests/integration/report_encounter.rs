//! The report of one encounter, written by `aisgap report encounter` and served by the API,
//! over the simulator's at-sea scenario: what it shows checked against `aisgap query
//! encounters --format json`; two encounters of one vessel starting together told apart by
//! the other vessel; and (module `browser`) the page opened from the map page's encounter in
//! headless Chromium, printed to PDF and photographed.

use std::path::Path;

use rusqlite::Connection;
use serde_json::Value;

use crate::support::{aisgap, http_get, repo_path};

/// The at-sea scenario replayed into `dir/at_sea.db`, and its encounters as `query` gives them.
fn scenario(dir: &Path) -> Vec<Value> {
    crate::at_sea::scenario(dir);
    let output = aisgap()
        .args(["query", "encounters", "--format", "json", "--db"])
        .arg(dir.join("at_sea.db"))
        .output()
        .unwrap();
    assert!(output.status.success());
    let found: Value = serde_json::from_slice(&output.stdout).unwrap();
    let found = found.as_array().unwrap().clone();
    assert!(!found.is_empty(), "the scenario stages an encounter");
    found
}

/// `aisgap report encounter KEY [--with W]`: the page, or the error it printed.
fn report(db: &Path, key: &str, with: Option<&str>) -> Result<String, String> {
    let out = db.with_extension("html");
    let _ = std::fs::remove_file(&out);
    let mut command = aisgap();
    command.args(["report", "encounter", key, "--db"]).arg(db);
    if let Some(with) = with {
        command.args(["--with", with]);
    }
    let output = command.arg("--out").arg(&out).output().unwrap();
    if output.status.success() {
        Ok(std::fs::read_to_string(out).unwrap())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// The text of the element with `id`.
fn by_id<'a>(html: &'a str, id: &str) -> &'a str {
    let open = format!("id=\"{id}\"");
    let at = html.find(&open).unwrap_or_else(|| panic!("no #{id}"));
    let start = at + html[at..].find('>').unwrap() + 1;
    let end = start + html[start..].find('<').unwrap();
    &html[start..end]
}

fn whole(value: &Value) -> String {
    value.as_f64().map_or("—".into(), |v| format!("{v:.0}"))
}

fn fixed1(value: &Value) -> String {
    value.as_f64().map_or("—".into(), |v| format!("{v:.1}"))
}

#[test]
fn an_encounter_report_shows_what_query_encounters_says_and_the_api_serves_the_same_page() {
    let dir = tempfile::tempdir().unwrap();
    let found = scenario(dir.path());
    let db = dir.path().join("at_sea.db");
    let e = &found[0];
    let start = e["start"].as_str().unwrap();
    // Either vessel names it.
    let html = report(&db, &format!("{}@{start}", e["b"]["mmsi"]), None).unwrap();
    let same = report(&db, &format!("{}@{start}", e["a"]["mmsi"]), None).unwrap();
    assert_eq!(html, same, "the same page from either vessel");

    assert_eq!(by_id(&html, "status"), e["status"].as_str().unwrap());
    assert_eq!(by_id(&html, "start"), start);
    assert_eq!(by_id(&html, "end"), e["end"].as_str().unwrap());
    assert_eq!(
        by_id(&html, "duration"),
        format!("{} h", fixed1(&e["duration_hours"]))
    );
    assert_eq!(
        by_id(&html, "min-distance"),
        format!("{} m", whole(&e["min_distance_m"]))
    );
    assert_eq!(
        by_id(&html, "median-distance"),
        format!("{} m", whole(&e["median_distance_m"]))
    );
    assert_eq!(
        by_id(&html, "barrels"),
        format!("{} bbl", whole(&e["est_barrels"]))
    );
    let receiving = e["receiving"].as_u64().map(|m| format!("{m:09}"));
    assert_eq!(
        by_id(&html, "receiving"),
        receiving.as_deref().unwrap_or("—")
    );
    for (i, side) in [&e["a"], &e["b"]].into_iter().enumerate() {
        let name = side["name"].as_str().unwrap();
        assert!(html.contains(name), "{name}");
        assert!(html.contains(&side["imo"].to_string()), "IMO of {name}");
        let row = &html[html.find(&format!("id=\"draught-{i}\"")).unwrap()..];
        let row = &row[..row.find("</tr>").unwrap()];
        let change = side["draught_change"].as_f64().unwrap();
        for value in [&side["draught_before"], &side["draught_after"]] {
            assert!(row.contains(&format!("{} m", fixed1(value))), "{row}");
        }
        let trend = if change > 0.0 { "rising" } else { "falling" };
        assert!(row.contains(trend), "{name}'s draught is {trend}: {row}");
    }
    // The map draws both tracks during the meeting and the meeting segment, closer too.
    for map in ["encounter-map", "meeting-map"] {
        let svg = &html[html.find(&format!("id=\"{map}\"")).unwrap()..];
        let svg = &svg[..svg.find("</svg>").unwrap()];
        for part in [
            "meeting-track-0",
            "meeting-track-1",
            "meeting-segment",
            "meeting-point",
        ] {
            assert!(svg.contains(part), "{map} lacks {part}");
        }
    }
    assert!(
        html.contains("class=\"distance\""),
        "the distance over time is drawn"
    );
    // The estimate is worked through from its inputs.
    if let Some(barrels) = e["est_barrels"].as_f64() {
        let cargo = &html[html.find("id=\"cargo\"").unwrap()..];
        assert!(
            cargo.contains(&format!("= <b>{} bbl</b>", barrels as i64)),
            "{cargo}"
        );
    }
    // What judged is the fingerprint the database recorded for the encounter.
    let conn = Connection::open(&db).unwrap();
    let print: String = conn
        .query_row("SELECT fingerprint FROM encounters LIMIT 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(html.contains(&format!("id=\"fingerprint-{print}\"")));

    let served = crate::api::Served::start(&db, None);
    let address = served.addr.to_string();
    let path = format!("/api/v1/report/encounter/{}/{start}", e["a"]["mmsi"]);
    assert_eq!(http_get(&address, &path), (200, html.clone()));
    let path = format!(
        "/api/v1/report/encounter/{}/{start}/{}",
        e["b"]["mmsi"], e["a"]["mmsi"]
    );
    assert_eq!(http_get(&address, &path).0, 200);
    let path = format!(
        "/api/v1/report/encounter/{}/2024-01-01T00:00:00Z",
        e["a"]["mmsi"]
    );
    assert_eq!(http_get(&address, &path).0, 404);
    let missing = report(&db, &format!("{}@2024-01-01", e["a"]["mmsi"]), None).unwrap_err();
    assert!(missing.contains("query encounters --mmsi"), "{missing}");
    let misspelt = report(&db, "nobody", None).unwrap_err();
    assert!(misspelt.contains("write MMSI@TIME"), "{misspelt}");
}

#[test]
fn two_encounters_of_one_vessel_starting_together_are_told_apart_by_the_other_vessel() {
    let dir = tempfile::tempdir().unwrap();
    let found = scenario(dir.path());
    let db = dir.path().join("at_sea.db");
    let e = &found[0];
    let (a, b) = (
        e["a"]["mmsi"].as_i64().unwrap(),
        e["b"]["mmsi"].as_i64().unwrap(),
    );
    // A third vessel met by `a` at the very same time: the stored row copied under its MMSI.
    let third = 999_000_001i64.max(b + 1);
    let conn = Connection::open(&db).unwrap();
    let record: String = conn
        .query_row(
            "SELECT record FROM encounters WHERE mmsi_a = ?1 AND mmsi_b = ?2",
            [a, b],
            |r| r.get(0),
        )
        .unwrap();
    let mut copy: Value = serde_json::from_str(&record).unwrap();
    copy["b"]["mmsi"] = third.into();
    copy["b"]["name"] = "THIRD PARTY".into();
    conn.execute(
        "INSERT INTO encounters (mmsi_a, mmsi_b, start, end, status, watched, duration_hours, \
         min_distance_m, median_distance_m, median_speed_kn, lat, lon, est_barrels, record, fingerprint) \
         SELECT mmsi_a, ?3, start, end, status, watched, duration_hours, min_distance_m, \
         median_distance_m, median_speed_kn, lat, lon, est_barrels, ?4, fingerprint \
         FROM encounters WHERE mmsi_a = ?1 AND mmsi_b = ?2",
        rusqlite::params![a, b, third, copy.to_string()],
    )
    .unwrap();
    drop(conn);
    let key = format!("{a}@{}", e["start"].as_str().unwrap());
    let refused = report(&db, &key, None).unwrap_err();
    assert!(
        refused.contains(&format!("{b:09}")) && refused.contains(&format!("{third:09}")),
        "names both partners: {refused}"
    );
    assert!(
        refused.contains("--with MMSI"),
        "says how to choose: {refused}"
    );
    let with_b = report(&db, &key, Some(&b.to_string())).unwrap();
    let with_third = report(&db, &key, Some(&third.to_string())).unwrap();
    assert!(!with_b.contains("THIRD PARTY") && with_third.contains("THIRD PARTY"));
    // The other vessel's own key is not ambiguous.
    let own = report(&db, &format!("{b}@{}", e["start"].as_str().unwrap()), None).unwrap();
    assert_eq!(own, with_b);
    let served = crate::api::Served::start(&db, None);
    let path = format!(
        "/api/v1/report/encounter/{a}/{}",
        e["start"].as_str().unwrap()
    );
    assert_eq!(http_get(&served.addr.to_string(), &path).0, 409);
}

mod browser {
    use super::*;
    use crate::api::browser::{base64_decode, ensure_browser, post, Driver};
    use serde_json::json;

    #[test]
    fn the_encounter_report_opened_from_the_map_page_shows_what_query_says_and_prints() {
        ensure_browser();
        let dir = tempfile::tempdir().unwrap();
        let found = scenario(dir.path());
        let e = &found[0];
        let served = crate::api::Served::start(&dir.path().join("at_sea.db"), None);
        let driver = Driver::start();
        driver.go(&served.url("/"));
        driver.wait_for("the map page", "return document.body.dataset.ready");
        let key = format!(
            "{}-{}@{}",
            e["a"]["mmsi"],
            e["b"]["mmsi"],
            e["start"].as_str().unwrap()
        );
        driver.click(&format!("#at-sea-list button[data-encounter=\"{key}\"]"));
        let href = driver.wait_for(
            "the encounter's report link",
            "const a = document.getElementById('encounter-report-link'); return a && a.getAttribute('href')",
        );
        driver.go(&served.url(href.as_str().unwrap()));
        let shown = driver.wait_for(
            "the report",
            "return document.readyState === 'complete' && [document.getElementById('status').textContent, \
             document.getElementById('start').textContent, document.getElementById('end').textContent, \
             document.getElementById('barrels').textContent, \
             document.querySelectorAll('#encounter-map .meeting-segment').length, \
             document.querySelectorAll('#distance-chart polyline.distance').length, \
             document.querySelectorAll('#draught-table tr').length - 1]",
        );
        assert_eq!(shown[0], e["status"], "{shown}");
        assert_eq!(shown[1], e["start"]);
        assert_eq!(shown[2], e["end"]);
        assert_eq!(
            shown[3],
            format!("{} bbl", whole(&e["est_barrels"])).as_str()
        );
        assert_eq!(
            shown.as_array().unwrap()[4..],
            [json!(1), json!(1), json!(2)]
        );

        let pdf = post(
            &driver.url("/print"),
            &json!({ "page": { "width": 21.0, "height": 29.7 }, "background": true }),
        );
        let pdf = base64_decode(pdf.as_str().expect("a PDF"));
        assert!(pdf.starts_with(b"%PDF-") && pdf.len() > 10_000, "a PDF");
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        std::fs::write(tmp.join("encounter-report.pdf"), &pdf).unwrap();
        let shot = driver.screenshot();
        assert_eq!(&shot[..8], b"\x89PNG\r\n\x1a\n", "a PNG screenshot");
        std::fs::write(tmp.join("encounter-report.png"), &shot).unwrap();
        if std::env::var_os("AISGAP_UPDATE_SCREENSHOT").is_some() {
            std::fs::write(repo_path("docs/encounter-report.png"), &shot).unwrap();
        }
    }
}
