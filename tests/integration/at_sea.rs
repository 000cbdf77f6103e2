//! Meetings and idling at sea, end to end: the simulator's at-sea cases replayed by the
//! binary and asked back with `aisgap query encounters|loitering`, compared with the ground
//! truth the plan staged; the passing and the moored pairs are not encounters.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use aisgap::detect::GapStatus;
use aisgap::simulate::{write_scenario, ScenarioParams, Truth};
use aisgap::store::read::GapFilter;
use aisgap::store::Reader;
use serde_json::{json, Value};

use crate::support::{aisgap, repo_path};

/// How far a found start or end may lie from the staged one: one reporting interval (10 min,
/// with a tenth of jitter) and a few minutes of interpolation towards a vessel sailing in.
const TIME_SLACK: Duration = Duration::from_secs(15 * 60);

/// The shipped ports plus the tankers' home ports: with no coastline bundled, idling at a
/// berth that is not designated would count as being at sea.
fn write_config(dir: &Path) {
    let shipped = std::fs::read_to_string(repo_path("config/ports.geojson")).unwrap();
    let mut ports: Value = serde_json::from_str(&shipped).unwrap();
    for (name, lat, lon) in [("Rajin", 42.24, 130.30), ("Chongjin", 41.77, 129.82)] {
        ports["features"].as_array_mut().unwrap().push(json!({
            "type": "Feature",
            "geometry": { "type": "Point", "coordinates": [lon, lat] },
            "properties": { "name": name, "radius_nm": 3.0 }
        }));
    }
    std::fs::write(dir.join("ports.geojson"), ports.to_string()).unwrap();
    std::fs::write(
        dir.join("aisgap.toml"),
        "[ports]\nfile = \"ports.geojson\"\n[watchlist]\nfile = \"watchlist.csv\"\n[store]\ndb = \"at_sea.db\"\n",
    )
    .unwrap();
}

/// The at-sea scenario replayed into `dir/at_sea.db` (the page's browser test draws it).
pub(crate) fn scenario(dir: &Path) -> Truth {
    scenario_of(dir, 3)
}

/// The at-sea scenario of `days` replayed into `dir/at_sea.db`.
fn scenario_of(dir: &Path, days: u32) -> Truth {
    let params = ScenarioParams {
        days,
        at_sea: true,
        ..ScenarioParams::default()
    };
    let files = write_scenario(&params, dir, "at_sea").expect("the at-sea scenario generates");
    write_config(dir);
    let replay = aisgap()
        .arg("replay")
        .arg("--config")
        .arg(dir.join("aisgap.toml"))
        .arg(&files.nmea)
        .output()
        .unwrap();
    assert!(
        replay.status.success(),
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    files.truth_value
}

pub(crate) fn query(dir: &Path, what: &str, format: &str, extra: &[&str]) -> String {
    let output = aisgap()
        .args(["query", what, "--format", format, "--config"])
        .arg(dir.join("aisgap.toml"))
        .args(extra)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn millis(value: &Value) -> i64 {
    aisgap::time::UnixMillis::parse_iso8601(value.as_str().unwrap())
        .unwrap()
        .as_millis()
}

fn near(found: &Value, staged: aisgap::time::UnixMillis, what: &str) {
    let off = (millis(found) - staged.as_millis()).abs();
    assert!(
        off <= TIME_SLACK.as_millis() as i64,
        "{what}: found {found}, staged {staged}"
    );
}

#[test]
fn the_staged_meeting_and_idling_are_found_exactly_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let truth = scenario(dir.path());
    let at_sea = &truth.at_sea;
    assert_eq!(at_sea.encounters.len(), 1);

    let encounters: Vec<Value> =
        serde_json::from_str(&query(dir.path(), "encounters", "json", &[])).unwrap();
    assert_eq!(encounters.len(), 1, "{encounters:#?}");
    let (found, staged) = (&encounters[0], &at_sea.encounters[0]);
    assert_eq!(found["a"]["mmsi"], json!(staged.a.0));
    assert_eq!(found["b"]["mmsi"], json!(staged.b.0));
    near(&found["start"], staged.from, "encounter start");
    near(&found["end"], staged.until, "encounter end");
    assert_eq!(found["status"], "closed");
    assert!((found["median_distance_m"].as_f64().unwrap() - staged.distance_m).abs() <= 5.0);
    assert!(found["median_speed_kn"].as_f64().unwrap() < 2.0);
    assert!(found["port_distance_nm"].as_f64().unwrap() >= 20.0);
    assert_eq!(found["away_rule"], "from_ports");
    for (side, before, after) in [
        ("a", staged.draught_before_a, staged.draught_after_a),
        ("b", staged.draught_before_b, staged.draught_after_b),
    ] {
        assert_eq!(
            found[side]["draught_before"],
            json!(f64::from(before)).round_json()
        );
        assert_eq!(
            found[side]["draught_after"],
            json!(f64::from(after)).round_json()
        );
    }
    assert_eq!(found["receiving"], json!(staged.receiving.0));
    assert!(found["est_barrels"].as_f64().unwrap() > 0.0);
    let flags: Vec<&str> = ["a", "b"]
        .iter()
        .map(|s| found[*s]["flag"].as_str().unwrap())
        .collect();
    assert_eq!(flags, ["RU", "KP"]);

    let loitering: Vec<Value> =
        serde_json::from_str(&query(dir.path(), "loitering", "json", &[])).unwrap();
    let mut found: Vec<(u64, &Value)> = loitering
        .iter()
        .map(|l| (l["vessel"]["mmsi"].as_u64().unwrap(), l))
        .collect();
    found.sort_by_key(|(m, l)| (*m, millis(&l["start"])));
    let mut staged: Vec<_> = at_sea.loitering.iter().collect();
    staged.sort_by_key(|l| (l.mmsi.0, l.from));
    assert_eq!(
        found.iter().map(|(m, _)| *m).collect::<Vec<_>>(),
        staged
            .iter()
            .map(|l| u64::from(l.mmsi.0))
            .collect::<Vec<_>>(),
        "exactly the staged loiterers"
    );
    for ((_, f), s) in found.iter().zip(&staged) {
        near(&f["start"], s.from, "loitering start");
        near(&f["end"], s.until, "loitering end");
        assert_eq!(f["away_rule"], "from_ports");
    }
    let eight = staged.iter().find(|s| s.from.hours_until(s.until) == 8.0);
    assert!(eight.is_some(), "the lone 8 h loiterer is staged");

    // Neither the passing nor the moored pair met: the one encounter is the staged pair's.
    for pair in &at_sea.not_encounters {
        let mmsi = pair.a.0.to_string();
        let theirs: Vec<Value> =
            serde_json::from_str(&query(dir.path(), "encounters", "json", &["--mmsi", &mmsi]))
                .unwrap();
        assert!(theirs.is_empty(), "{:?}: {theirs:#?}", pair.label);
    }
}

/// JSON numbers of draughts as the store rounds them (two decimals).
trait RoundJson {
    fn round_json(self) -> Value;
}

impl RoundJson for Value {
    fn round_json(self) -> Value {
        let x = self.as_f64().unwrap();
        json!((x * 100.0).round() / 100.0)
    }
}

#[test]
fn encounters_export_as_csv_and_geojson_with_both_tracks_and_the_meeting_segment() {
    let dir = tempfile::tempdir().unwrap();
    let truth = scenario(dir.path());
    let staged = &truth.at_sea.encounters[0];
    let csv = query(dir.path(), "encounters", "csv", &[]);
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("start,end,status,duration_hours,mmsi_a,"));
    let row = lines.next().unwrap();
    assert!(
        row.contains(&staged.a.to_string()) && row.contains(&staged.b.to_string()),
        "{row}"
    );
    assert_eq!(lines.next(), None);

    let geojson: Value =
        serde_json::from_str(&query(dir.path(), "encounters", "geojson", &[])).unwrap();
    let roles: Vec<&str> = geojson["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["encounter", "meeting_segment", "track_a", "track_b"]
    );
    let track_a = &geojson["features"][2]["geometry"]["coordinates"];
    assert!(track_a.as_array().unwrap().len() >= 2);

    // The window filter: nothing starts after the meeting ended.
    let after = staged.until.plus_hours(1.0).to_string();
    let later: Vec<Value> = serde_json::from_str(&query(
        dir.path(),
        "encounters",
        "json",
        &["--since", &after],
    ))
    .unwrap();
    assert!(later.is_empty());
    let loitering_geojson: Value =
        serde_json::from_str(&query(dir.path(), "loitering", "geojson", &[])).unwrap();
    assert!(loitering_geojson["features"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["properties"]["role"] == "track"));
}

/// Whether (lon, lat) lies inside a closed ring of [lon, lat] points (even-odd rule).
fn inside(ring: &[Value], lon: f64, lat: f64) -> bool {
    let points: Vec<(f64, f64)> = ring
        .iter()
        .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
        .collect();
    let mut inside = false;
    for w in points.windows(2) {
        let ((x1, y1), (x2, y2)) = (w[0], w[1]);
        if (y1 > lat) != (y2 > lat) && lon < x1 + (lat - y1) / (y2 - y1) * (x2 - x1) {
            inside = !inside;
        }
    }
    inside
}

#[test]
fn the_staged_dark_rendezvous_is_the_one_candidate_and_the_decoys_never_pair() {
    let dir = tempfile::tempdir().unwrap();
    let truth = scenario(dir.path());
    let staged = &truth.at_sea.rendezvous[0];
    let decoy = &truth.at_sea.not_rendezvous[0];

    let found: Vec<Value> =
        serde_json::from_str(&query(dir.path(), "rendezvous", "json", &[])).unwrap();
    assert_eq!(found.len(), 1, "{found:#?}");
    let r = &found[0];
    assert_eq!(r["status"], "candidate");
    assert_eq!(r["dark"]["mmsi"], json!(staged.a.0));
    assert_eq!(r["partner"]["mmsi"], json!(staged.b.0));
    assert_eq!(r["partner"]["kind"], "gap");
    assert_eq!(
        [r["dark"]["flag"].as_str(), r["partner"]["flag"].as_str()],
        [Some("KP"), Some("SL")]
    );
    // Each leg is exactly the vessel's stored gap: fix A and fix B around the silence.
    for leg in ["dark", "partner"] {
        let mmsi = r[leg]["mmsi"].to_string();
        let gaps: Vec<Value> =
            serde_json::from_str(&query(dir.path(), "gaps", "json", &["--mmsi", &mmsi])).unwrap();
        let gap = gaps
            .iter()
            .find(|g| g["dark_from"] == r[leg]["from"])
            .unwrap_or_else(|| panic!("{leg}: no gap from {}: {gaps:#?}", r[leg]["from"]));
        assert_eq!(gap["dark_until"], r[leg]["until"], "{leg}");
        assert_eq!(
            gap["status"], "not_near",
            "{leg}: far out at sea, no port call"
        );
        near(&r[leg]["from"], staged.dark_from, "went dark");
    }
    // The window and the area hold what really happened; the slack at least the time the two
    // really spent together beyond the minimum (they sailed at 10 kn, the rule allows 15).
    assert!(millis(&r["earliest"]) <= staged.met.as_millis(), "{r:#?}");
    assert!(millis(&r["latest"]) >= staged.parted.as_millis(), "{r:#?}");
    let together = staged.met.hours_until(staged.parted);
    assert!(
        r["slack_hours"].as_f64().unwrap() + 2.0 >= together,
        "{r:#?}"
    );
    let area = r["area"].as_array().unwrap();
    assert_eq!(area.first(), area.last(), "a closed ring");
    assert!(inside(area, staged.lon, staged.lat), "{area:?}");
    assert!(r["port_distance_nm"].as_f64().unwrap() > 100.0);

    // The decoys were dark at the same time, but neither could have met anyone.
    for mmsi in [decoy.a, decoy.b] {
        let theirs: Vec<Value> = serde_json::from_str(&query(
            dir.path(),
            "rendezvous",
            "json",
            &["--mmsi", &mmsi.0.to_string()],
        ))
        .unwrap();
        assert!(theirs.is_empty(), "{mmsi}: {theirs:#?}");
    }

    // GeoJSON: the meeting place, the area and both legs; CSV: one row naming both vessels.
    let geojson: Value =
        serde_json::from_str(&query(dir.path(), "rendezvous", "geojson", &[])).unwrap();
    let roles: Vec<&str> = geojson["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["meeting_place", "meeting_area", "dark_leg", "partner_leg"]
    );
    assert_eq!(geojson["features"][1]["geometry"]["type"], "Polygon");
    let csv = query(dir.path(), "rendezvous", "csv", &[]);
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("status,mmsi,name,"));
    let row = lines.next().unwrap();
    assert!(
        row.starts_with(&format!("candidate,{},", staged.a.0)),
        "{row}"
    );
    assert_eq!(lines.next(), None);
    let after = staged.parted.plus_hours(1.0).to_string();
    let later = query(dir.path(), "rendezvous", "json", &["--since", &after]);
    assert_eq!(later.trim(), "[]");
}

/// Past two weeks the scenario has a whole-feed outage: every watched vessel's silence across
/// it must still have one certain judgement, and the replay must find what was staged.
#[test]
fn a_month_with_an_outage_generates_and_its_replay_finds_what_it_staged() {
    let dir = tempfile::tempdir().unwrap();
    let truth = scenario_of(dir.path(), 30);
    assert!(!truth.outages.is_empty(), "30 days hold a feed outage");
    let reader = Reader::open(&dir.path().join("at_sea.db")).unwrap();

    // The cast of the at-sea cases: the shuttles' judgements differ here by design, since this
    // config designates their home ports too (tests/integration/scenario.rs checks those).
    let at_sea = &truth.at_sea;
    let cast: BTreeSet<u32> = at_sea
        .encounters
        .iter()
        .flat_map(|e| [e.a.0, e.b.0])
        .chain(at_sea.loitering.iter().map(|l| l.mmsi.0))
        .chain(at_sea.not_encounters.iter().flat_map(|n| [n.a.0, n.b.0]))
        .chain(at_sea.rendezvous.iter().flat_map(|r| [r.a.0, r.b.0]))
        .chain(at_sea.not_rendezvous.iter().flat_map(|n| [n.a.0, n.b.0]))
        .collect();
    let judged: BTreeSet<_> = reader
        .gaps(&GapFilter {
            watched_only: true,
            ..GapFilter::default()
        })
        .unwrap()
        .into_iter()
        .filter(|g| g.status != GapStatus::Withdrawn && cast.contains(&g.mmsi.0))
        .map(|g| {
            (
                g.mmsi.0,
                g.dark_from.to_string(),
                g.dark_until.map(|t| t.to_string()).unwrap_or_default(),
                g.status.as_str().to_string(),
            )
        })
        .collect();
    let planned: BTreeSet<_> = truth
        .gaps
        .iter()
        .filter(|g| cast.contains(&g.mmsi.0))
        .map(|g| {
            let judgement = serde_json::to_value(g.judgement).unwrap();
            (
                g.mmsi.0,
                g.dark_from.to_string(),
                g.dark_until.to_string(),
                judgement.as_str().unwrap().to_string(),
            )
        })
        .collect();
    let missed: Vec<_> = planned.difference(&judged).collect();
    let unplanned: Vec<_> = judged.difference(&planned).collect();
    assert!(
        missed.is_empty() && unplanned.is_empty(),
        "planned but not judged so: {missed:#?}\njudged but not planned: {unplanned:#?}"
    );
    // The outage silences the tankers that met, so their judgement across it is exercised.
    let met: BTreeSet<u32> = at_sea
        .encounters
        .iter()
        .flat_map(|e| [e.a.0, e.b.0])
        .collect();
    let across_outage = |from: aisgap::time::UnixMillis, until: aisgap::time::UnixMillis| {
        truth
            .outages
            .iter()
            .any(|o| o.from < until && from < o.until)
    };
    for mmsi in &met {
        assert!(
            planned.iter().any(|g| g.0 == *mmsi && g.3 == "unreachable")
                && truth
                    .gaps
                    .iter()
                    .any(|g| g.mmsi.0 == *mmsi && across_outage(g.dark_from, g.dark_until)),
            "MMSI {mmsi} is silenced by the outage, far out at sea"
        );
    }

    let pairs = |found: &[Value], a: &str, b: &str| -> BTreeSet<(u64, u64)> {
        found
            .iter()
            .map(|e| {
                (
                    e[a]["mmsi"].as_u64().unwrap(),
                    e[b]["mmsi"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let encounters: Vec<Value> =
        serde_json::from_str(&query(dir.path(), "encounters", "json", &[])).unwrap();
    let staged: BTreeSet<(u64, u64)> = truth
        .at_sea
        .encounters
        .iter()
        .map(|e| (u64::from(e.a.0), u64::from(e.b.0)))
        .collect();
    assert_eq!(pairs(&encounters, "a", "b"), staged, "{encounters:#?}");

    let loitering: Vec<Value> =
        serde_json::from_str(&query(dir.path(), "loitering", "json", &[])).unwrap();
    let found: BTreeSet<u64> = loitering
        .iter()
        .map(|l| l["vessel"]["mmsi"].as_u64().unwrap())
        .collect();
    let staged: BTreeSet<u64> = truth
        .at_sea
        .loitering
        .iter()
        .map(|l| u64::from(l.mmsi.0))
        .collect();
    assert_eq!(found, staged, "{loitering:#?}");
    assert_eq!(
        loitering.len(),
        truth.at_sea.loitering.len(),
        "{loitering:#?}"
    );

    let rendezvous: Vec<Value> =
        serde_json::from_str(&query(dir.path(), "rendezvous", "json", &[])).unwrap();
    let staged: BTreeSet<(u64, u64)> = truth
        .at_sea
        .rendezvous
        .iter()
        .map(|r| (u64::from(r.a.0), u64::from(r.b.0)))
        .collect();
    assert_eq!(
        pairs(&rendezvous, "dark", "partner"),
        staged,
        "{rendezvous:#?}"
    );

    // The detectors' counters reach the ingest table: what they found, and the silences the
    // outage cast over everyone at once, which no pair was judged on.
    let counters = reader.counters().unwrap();
    let count = |name: &str| counters.get(name).copied().unwrap_or(0);
    assert_eq!(
        count("at_sea.encounters"),
        encounters.len() as u64,
        "{counters:#?}"
    );
    assert_eq!(
        count("at_sea.loitering"),
        loitering.len() as u64,
        "{counters:#?}"
    );
    assert_eq!(count("at_sea.rendezvous.found"), 1, "{counters:#?}");
    assert!(
        count("at_sea.rendezvous.pairs_tested") >= 1,
        "{counters:#?}"
    );
    assert!(
        count("at_sea.rendezvous.feed_unheard") >= 1,
        "{counters:#?}"
    );
}

/// `aisgap run` shows the same at-sea counters on `/metrics` as it adds to its ingest table.
#[test]
fn the_service_shows_the_at_sea_counters_on_its_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let truth = scenario(dir.path());
    let address = format!("127.0.0.1:{}", crate::support::free_port());
    let db = dir.path().join("service.db");
    let config = dir.path().join("run.toml");
    std::fs::write(
        &config,
        format!(
            "[ports]\nfile = \"ports.geojson\"\n[watchlist]\nfile = \"watchlist.csv\"\n\
             [store]\ndb = {db:?}\ncommit_interval_ms = 100\n[http]\nlisten = \"{address}\"\n\
             [[source]]\nname = \"log\"\nkind = \"file\"\npath = \"at_sea.nmea\"\nfollow = false\n"
        ),
    )
    .unwrap();
    let mut child = aisgap()
        .args(["run", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starting aisgap run");
    let series = |name: &str| format!("aisgap_at_sea_total{{counter=\"{name}\"}}");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let settled_page = loop {
        let page = std::net::TcpStream::connect(&address)
            .ok()
            .map(|_| crate::support::http_get(&address, "/metrics"))
            .filter(|(status, _)| *status == 200)
            .map(|(_, page)| page);
        let settled = page.as_deref().is_some_and(|page| {
            crate::support::metric(page, &series("rendezvous.found")) == Some(1.0)
                && crate::support::metric(page, &series("encounters")) >= Some(1.0)
        });
        if settled || std::time::Instant::now() > deadline {
            break page;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // Once every line is committed the service is idle: the page then holds the last commit's.
    let lines = std::fs::read(dir.path().join("at_sea.nmea"))
        .unwrap()
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64;
    while crate::service::committed_lines(&db, "log") < lines
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        settled_page.is_some(),
        "the service never answered /metrics"
    );
    std::thread::sleep(Duration::from_millis(500));
    let page = crate::support::http_get(&address, "/metrics").1;
    crate::service::terminate(&mut child);
    let metric = |name: &str| crate::support::metric(&page, &series(name));
    assert_eq!(metric("rendezvous.found"), Some(1.0), "{page}");
    assert_eq!(
        metric("encounters"),
        Some(truth.at_sea.encounters.len() as f64),
        "{page}"
    );
    assert!(metric("rendezvous.pairs_tested") >= Some(1.0), "{page}");
    // What the page said is what the store counted.
    let counters = Reader::open(&db).unwrap().counters().unwrap();
    for name in [
        "encounters",
        "loitering",
        "rendezvous.found",
        "rendezvous.in_port",
    ] {
        assert_eq!(
            metric(name),
            // The ingest table keeps no row for a count still at zero.
            Some(
                counters
                    .get(&format!("at_sea.{name}"))
                    .map_or(0.0, |&n| n as f64)
            ),
            "{name}: {page}"
        );
    }
}

/// The map page (loaded in `driver` from the replay in `dir`) draws every dark rendezvous that
/// `aisgap query rendezvous --format json` lists: both legs from fix A to fix B, dashed as a
/// trip's, the area and the meeting place; a click shows the feasibility window and slack as
/// evidence; the layer toggle and the vessel filter hide it. Returns how many were drawn.
pub(crate) fn rendezvous_drawn_as_queried(
    driver: &crate::api::browser::Driver,
    dir: &Path,
) -> usize {
    let queried: Vec<Value> = serde_json::from_str(&query(dir, "rendezvous", "json", &[])).unwrap();
    assert!(!queried.is_empty(), "the scenario stages a dark rendezvous");
    let key = |r: &Value| {
        let leg = |l: &Value| format!("{}@{}", l["mmsi"], l["from"].as_str().unwrap());
        format!("{}~{}", leg(&r["dark"]), leg(&r["partner"]))
    };
    // Each leg as drawn: [role, mmsi, fix A lat, fix B lat, A x / B x] (y is -lat on the page).
    let drawn = driver.script(
        "return [...document.querySelectorAll('#layer-at-sea g.rendezvous')].map(g => [g.dataset.rendezvous, \
         g.querySelectorAll('path.meeting-area').length, g.querySelectorAll('circle.meeting-place').length, \
         [...g.querySelectorAll('g.rendezvous-leg')].map(leg => { const line = leg.querySelector('line.leg'); \
         return [leg.classList[1], Number(leg.dataset.mmsi), -Number(line.getAttribute('y1')), \
         -Number(line.getAttribute('y2')), Number(line.getAttribute('x1')) / Number(line.getAttribute('x2')), \
         getComputedStyle(line).strokeDasharray !== 'none']; })])",
    );
    let drawn = drawn.as_array().unwrap();
    assert_eq!(drawn.len(), queried.len(), "{drawn:?}");
    for (record, on_page) in queried.iter().zip(drawn) {
        assert_eq!(on_page[0], key(record).as_str());
        assert_eq!(
            (on_page[1].as_u64(), on_page[2].as_u64()),
            (Some(1), Some(1))
        );
        let legs = on_page[3].as_array().unwrap();
        assert_eq!(legs.len(), 2, "{on_page}");
        for (leg, role) in legs.iter().zip(["dark", "partner"]) {
            let want = &record[role];
            assert_eq!(leg[0], format!("{role}-leg").as_str());
            assert_eq!(leg[1], want["mmsi"]);
            let close = |got: &Value, want: f64| (got.as_f64().unwrap() - want).abs() < 1e-9;
            assert!(
                close(&leg[2], want["from_lat"].as_f64().unwrap()),
                "{leg} {want}"
            );
            assert!(
                close(&leg[3], want["until_lat"].as_f64().unwrap()),
                "{leg} {want}"
            );
            let lon_ratio =
                want["from_lon"].as_f64().unwrap() / want["until_lon"].as_f64().unwrap();
            assert!(close(&leg[4], lon_ratio), "{leg} {want}");
            assert_eq!(leg[5], true, "the silence is dashed: {leg}");
        }
    }

    let first = &queried[0];
    let key = key(first);
    driver.click(&format!("#at-sea-list button[data-rendezvous=\"{key}\"]"));
    let selected = driver.wait_for(
        "the rendezvous to be selected",
        "return document.body.dataset.selected.startsWith('rendezvous:') && document.body.dataset.selected",
    );
    assert_eq!(selected, format!("rendezvous:{key}").as_str());
    let evidence = driver.script("return document.getElementById('evidence').textContent");
    let evidence = evidence.as_str().unwrap();
    let minutes = |field: &str| first[field].as_str().unwrap().replace('T', " ")[..16].to_string();
    for words in [
        first["dark"]["name"].as_str().unwrap().to_string(),
        first["partner"]["name"].as_str().unwrap().to_string(),
        format!(
            "Feasibility window{} to {} UTC",
            minutes("earliest"),
            minutes("latest")
        ),
        format!(
            "Slack{:.1} h beyond the {:.1} h minimum",
            first["slack_hours"].as_f64().unwrap(),
            first["min_hours"].as_f64().unwrap()
        ),
        format!(
            "{:.4}, {:.4}",
            first["lat"].as_f64().unwrap(),
            first["lon"].as_f64().unwrap()
        ),
    ] {
        assert!(
            evidence.contains(&words),
            "rendezvous evidence lacks {words}: {evidence}"
        );
    }

    // The layer toggle hides them; a vessel filter matching neither vessel does too.
    let visible = |driver: &crate::api::browser::Driver| {
        driver.script(
            "return [document.querySelectorAll('#layer-at-sea g.rendezvous:not(.hidden)').length, \
             document.querySelectorAll('#at-sea-list li[data-kind=rendezvous]:not(.hidden)').length]",
        )
    };
    let all = json!([queried.len(), queried.len()]);
    driver.click("#show-rendezvous");
    assert_eq!(visible(driver), json!([0, 0]), "toggled off");
    driver.click("#show-rendezvous");
    assert_eq!(visible(driver), all, "toggled on");
    let set_vessel = |text: &str| {
        driver.script(&format!(
            "const v = document.getElementById('f-vessel'); v.value = '{text}'; \
             v.dispatchEvent(new Event('input', {{bubbles: true}})); return true"
        ));
    };
    set_vessel("999999999");
    assert_eq!(visible(driver), json!([0, 0]), "filtered out");
    set_vessel(&first["partner"]["mmsi"].to_string());
    let theirs = queried
        .iter()
        .filter(|r| {
            r["dark"]["mmsi"] == first["partner"]["mmsi"]
                || r["partner"]["mmsi"] == first["partner"]["mmsi"]
        })
        .count();
    assert_eq!(visible(driver), json!([theirs, theirs]), "the partner's");
    set_vessel("");
    queried.len()
}
