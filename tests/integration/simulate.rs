//! The scenario generator: determinism, the committed samples, the NMEA log's framing, the
//! CSV's agreement with it, and an independent reading of the detection rules over the CSV
//! that must reproduce the ground truth.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

use aisgap::decode::csv::CsvDecoder;
use aisgap::model::{is_tanker_type, AisEvent};
use aisgap::simulate::encode::{checksum, payload_type};
use aisgap::simulate::{
    distance_nm, generate, rules, watchlist_csv, Confidence, GapLabel, Judgement, LatLon,
    ScenarioParams, Truth, DESIGNATED_PORTS,
};
use aisgap::time::UnixMillis;

use crate::support::aisgap;

const HOUR: i64 = 3_600_000;

struct Generated {
    nmea: Vec<u8>,
    csv: Vec<u8>,
    truth: Truth,
}

fn generate_into_memory(params: &ScenarioParams) -> Generated {
    let mut nmea = Vec::new();
    let mut csv = Vec::new();
    let truth = generate(params, &mut nmea, &mut csv)
        .unwrap_or_else(|e| panic!("scenario {params:?} failed: {e}"));
    Generated { nmea, csv, truth }
}

/// The default scenario (what `samples/` holds), generated once for all tests here.
fn default_scenario() -> &'static Generated {
    static CELL: OnceLock<Generated> = OnceLock::new();
    CELL.get_or_init(|| generate_into_memory(&ScenarioParams::default()))
}

#[test]
fn same_seed_gives_identical_bytes_and_another_seed_does_not() {
    let first = default_scenario();
    let again = generate_into_memory(&ScenarioParams::default());
    assert!(first.nmea == again.nmea, "NMEA differs between two runs");
    assert!(first.csv == again.csv, "CSV differs between two runs");
    assert_eq!(first.truth, again.truth);

    let other = generate_into_memory(&ScenarioParams {
        seed: 2025,
        ..ScenarioParams::default()
    });
    assert!(other.nmea != first.nmea);
    assert!(other.csv != first.csv);
    assert_ne!(other.truth.trips, first.truth.trips);
}

#[test]
fn committed_samples_equal_a_fresh_generation() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/samples");
    let read = |name: &str| {
        let path = format!("{dir}/{name}");
        std::fs::read(&path).unwrap_or_else(|e| panic!("sample {path} is unreadable: {e}"))
    };
    let fresh = default_scenario();
    let nmea = read("scenario.nmea");
    let csv = read("scenario.csv");
    assert!(
        nmea == fresh.nmea,
        "samples/scenario.nmea drifted from the generator; regenerate with \
         `cargo run --release -- simulate --seed 2024 --out samples`"
    );
    assert!(
        csv == fresh.csv,
        "samples/scenario.csv drifted from the generator"
    );
    let truth: Truth = serde_json::from_slice(&read("scenario.truth.json")).unwrap();
    assert_eq!(truth, fresh.truth, "samples/scenario.truth.json drifted");
    let mut json = serde_json::to_string_pretty(&fresh.truth).unwrap();
    json.push('\n');
    assert!(read("scenario.truth.json") == json.as_bytes());
    assert!(read("watchlist.csv") == watchlist_csv(&fresh.truth.watchlist).as_bytes());
    for (name, bytes) in [("nmea", &nmea), ("csv", &csv)] {
        assert!(
            bytes.len() <= 3_000_000,
            "sample {name} is {} bytes",
            bytes.len()
        );
    }
}

/// What a line of the NMEA log is, read without the product's decoder.
#[derive(Debug, PartialEq)]
enum Line {
    /// `!AIVDM` with its tag-block time, fragment count and number, and (first fragment) type.
    Ais {
        time: i64,
        total: u8,
        number: u8,
        msg_type: Option<u8>,
    },
    Zda {
        time: i64,
    },
    /// Fails a checksum, lacks parts, or is not text.
    Corrupt,
}

fn xor_ok(body: &[u8], hex: &[u8]) -> bool {
    std::str::from_utf8(hex)
        .ok()
        .and_then(|h| u8::from_str_radix(h, 16).ok())
        .is_some_and(|sum| hex.len() == 2 && sum == checksum(body))
}

fn classify(line: &[u8]) -> Line {
    let Ok(text) = std::str::from_utf8(line) else {
        return Line::Corrupt;
    };
    let Some(rest) = text.strip_prefix('\\') else {
        return Line::Corrupt;
    };
    let Some((tag, sentence)) = rest.split_once('\\') else {
        return Line::Corrupt;
    };
    let Some((fields, tag_sum)) = tag.rsplit_once('*') else {
        return Line::Corrupt;
    };
    if !xor_ok(fields.as_bytes(), tag_sum.as_bytes()) {
        return Line::Corrupt;
    }
    let Some(time) = fields
        .split(',')
        .find_map(|f| f.strip_prefix("c:"))
        .and_then(|c| c.parse::<i64>().ok())
    else {
        return Line::Corrupt;
    };
    let Some((body, sum)) = sentence.rsplit_once('*') else {
        return Line::Corrupt;
    };
    if body.len() < 2 || !xor_ok(&body.as_bytes()[1..], sum.as_bytes()) {
        return Line::Corrupt;
    }
    if body.starts_with("$GPZDA,") {
        return Line::Zda { time };
    }
    let f: Vec<&str> = body.split(',').collect();
    if f.len() != 7 || f[0] != "!AIVDM" {
        return Line::Corrupt;
    }
    let (Ok(total), Ok(number)) = (f[1].parse::<u8>(), f[2].parse::<u8>()) else {
        return Line::Corrupt;
    };
    Line::Ais {
        time,
        total,
        number,
        msg_type: if number == 1 {
            payload_type(f[5])
        } else {
            None
        },
    }
}

fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    let mut v: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    if v.last().is_some_and(|l| l.is_empty()) {
        v.pop();
    }
    v
}

#[test]
fn nmea_log_is_well_framed_apart_from_the_counted_corrupt_lines() {
    let g = default_scenario();
    let all = lines(&g.nmea);
    assert_eq!(all.len() as u64, g.truth.lines);
    let kinds: Vec<Line> = all.iter().map(|l| classify(l)).collect();
    let corrupt = kinds.iter().filter(|k| **k == Line::Corrupt).count() as u64;
    assert_eq!(corrupt, g.truth.corrupt_lines);
    let share = corrupt as f64 / all.len() as f64;
    assert!((0.0005..0.002).contains(&share), "corrupt share {share}");
    // Every kind of damage is present.
    let binary = all
        .iter()
        .filter(|l| std::str::from_utf8(l).is_err())
        .count();
    assert!(binary > 0, "no binary garbage");
    let bad_tag = all
        .iter()
        .zip(&kinds)
        .filter(|(l, k)| {
            **k == Line::Corrupt
                && std::str::from_utf8(l).is_ok_and(|t| {
                    t.split_once('\\')
                        .and_then(|(_, r)| r.split_once('\\'))
                        .and_then(|(_, s)| s.rsplit_once('*'))
                        .is_some_and(|(b, h)| {
                            b.len() > 1 && xor_ok(&b.as_bytes()[1..], h.as_bytes())
                        })
                })
        })
        .count();
    assert!(bad_tag > 0, "no line with only a bad tag-block checksum");
    let zda = kinds
        .iter()
        .filter(|k| matches!(k, Line::Zda { .. }))
        .count() as u64;
    assert_eq!(zda, g.truth.zda_lines);
    assert!(zda > 0);

    // Type 5 arrives in two fragments, sometimes with another sentence between them.
    let mut interleaved = 0;
    for (i, k) in kinds.iter().enumerate() {
        if let Line::Ais {
            total: 2,
            number: 1,
            msg_type,
            ..
        } = k
        {
            assert_eq!(*msg_type, Some(5));
            let next_second = kinds[i + 1..]
                .iter()
                .position(|k| {
                    matches!(
                        k,
                        Line::Ais {
                            total: 2,
                            number: 2,
                            ..
                        }
                    )
                })
                .expect("second fragment follows");
            if next_second > 0 {
                interleaved += 1;
            }
        }
    }
    assert!(interleaved > 0, "no interleaved fragments");

    // Nothing at all is timed inside an outage, and heartbeats and statics are present.
    let outages: Vec<(i64, i64)> = g
        .truth
        .outages
        .iter()
        .map(|w| (w.from.as_secs(), w.until.as_secs()))
        .collect();
    assert!(!outages.is_empty());
    let mut per_type = BTreeMap::<u8, usize>::new();
    for k in &kinds {
        let time = match k {
            Line::Ais { time, msg_type, .. } => {
                if let Some(t) = msg_type {
                    *per_type.entry(*t).or_default() += 1;
                }
                *time
            }
            Line::Zda { time } => *time,
            Line::Corrupt => continue,
        };
        assert!(
            !outages.iter().any(|&(f, u)| f <= time && time < u),
            "a line is timed {time} inside an outage"
        );
    }
    for t in [1u8, 3, 4, 5, 18, 24] {
        assert!(
            per_type.get(&t).copied().unwrap_or(0) > 0,
            "no type {t}: {per_type:?}"
        );
    }
    let positions: usize = [1u8, 2, 3, 18, 19, 27]
        .iter()
        .map(|t| per_type.get(t).copied().unwrap_or(0))
        .sum();
    assert_eq!(positions as u64, g.truth.position_reports);
}

/// The CSV decoded by the product's decoder: events in file order.
fn csv_events(csv: &[u8]) -> Vec<AisEvent> {
    let text = std::str::from_utf8(csv).expect("CSV is UTF-8");
    let mut rows = text.lines();
    let mut decoder =
        CsvDecoder::new(rows.next().expect("header"), Some(Arc::from("scenario"))).unwrap();
    let mut events = Vec::new();
    for (i, row) in rows.enumerate() {
        decoder
            .decode_row(row, &mut events)
            .unwrap_or_else(|e| panic!("CSV line {}: {e}", i + 2));
    }
    events
}

#[test]
fn csv_decodes_cleanly_with_one_fix_per_nmea_position_report() {
    let g = default_scenario();
    let events = csv_events(&g.csv);
    let fixes = events
        .iter()
        .filter(|e| matches!(e, AisEvent::Fix(_)))
        .count() as u64;
    let reports = events
        .iter()
        .filter(|e| matches!(e, AisEvent::VesselReport(_)))
        .count() as u64;
    assert_eq!(fixes, g.truth.position_reports);
    assert_eq!(reports, fixes, "every row carries static data");
}

/// One vessel as the CSV tells it.
#[derive(Default)]
struct Story {
    /// (event ms, position, file order)
    fixes: Vec<(i64, LatLon, usize)>,
    /// (event ms, ship type, draught m, identity)
    reports: Vec<(i64, Option<u8>, Option<f32>, String)>,
}

/// The rules read directly from their definition, over the CSV, with one reading of
/// "share of the gap's hours": every clock hour the gap touches.
struct Reading {
    stories: BTreeMap<u32, Story>,
    /// Per port, per hour since the start: vessels heard within the coverage distance.
    heard: Vec<BTreeMap<i64, BTreeSet<u32>>>,
    watchlist: BTreeSet<u32>,
    start: i64,
}

impl Reading {
    fn new(g: &Generated) -> Reading {
        let mut stories: BTreeMap<u32, Story> = BTreeMap::new();
        let mut heard = vec![BTreeMap::<i64, BTreeSet<u32>>::new(); DESIGNATED_PORTS.len()];
        let start = g.truth.start.as_millis();
        for (order, e) in csv_events(&g.csv).into_iter().enumerate() {
            match e {
                AisEvent::Fix(f) => {
                    let t = f.heard.time.unwrap().as_millis();
                    let p = LatLon {
                        lat: f.lat,
                        lon: f.lon,
                    };
                    stories
                        .entry(f.mmsi.0)
                        .or_default()
                        .fixes
                        .push((t, p, order));
                    for (i, port) in DESIGNATED_PORTS.iter().enumerate() {
                        if port.distance_nm(p) <= rules::COVERAGE_NM {
                            heard[i]
                                .entry((t - start).div_euclid(HOUR))
                                .or_default()
                                .insert(f.mmsi.0);
                        }
                    }
                }
                AisEvent::VesselReport(r) => {
                    let identity = format!(
                        "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
                        r.name, r.imo, r.callsign, r.ship_type, r.length, r.beam
                    );
                    stories.entry(r.mmsi.0).or_default().reports.push((
                        r.heard.time.unwrap().as_millis(),
                        r.ship_type,
                        r.draught,
                        identity,
                    ));
                }
                _ => {}
            }
        }
        let watchlist = g.truth.watchlist.iter().map(|w| w.mmsi).collect();
        Reading {
            stories,
            heard,
            watchlist,
            start,
        }
    }

    fn watched(&self, mmsi: u32, at: i64) -> bool {
        self.watchlist.contains(&mmsi)
            || self.stories[&mmsi]
                .reports
                .iter()
                .rev()
                .find(|r| r.0 <= at)
                .and_then(|r| r.1)
                .is_some_and(is_tanker_type)
    }

    fn covered_share(&self, port: usize, mmsi: u32, a: i64, b: i64) -> f64 {
        let (first, last) = (
            (a - self.start).div_euclid(HOUR),
            (b - self.start).div_euclid(HOUR),
        );
        let covered = (first..=last)
            .filter(|h| {
                self.heard[port]
                    .get(h)
                    .is_some_and(|s| s.iter().filter(|&&m| m != mmsi).count() >= 2)
            })
            .count();
        covered as f64 / (last - first + 1) as f64
    }

    /// (judgement, port of a trip)
    fn judge(&self, mmsi: u32, a: (i64, LatLon), b: (i64, LatLon)) -> (Judgement, Option<String>) {
        let hours = (b.0 - a.0) as f64 / HOUR as f64;
        if distance_nm(a.1, b.1) / hours > rules::JUMP_KN {
            return (Judgement::PositionJump, None);
        }
        let budget = rules::DARK_SPEED_KN * (hours - rules::PORT_HOURS);
        let mut near = false;
        let mut reachable = false;
        let mut best: Option<(f64, &str)> = None;
        for (i, port) in DESIGNATED_PORTS.iter().enumerate() {
            let (da, db) = (port.distance_nm(a.1), port.distance_nm(b.1));
            if da.min(db) > rules::APPROACH_NM {
                continue;
            }
            near = true;
            if da + db > budget {
                continue;
            }
            reachable = true;
            if self.covered_share(i, mmsi, a.0, b.0) >= rules::COVERED_SHARE
                && best.is_none_or(|(d, _)| da + db < d)
            {
                best = Some((da + db, port.name));
            }
        }
        match (best, reachable, near) {
            (Some((_, port)), ..) => (Judgement::Trip, Some(port.to_string())),
            (None, true, _) => (Judgement::CoverageUnknown, None),
            (None, false, true) => (Judgement::Unreachable, None),
            (None, false, false) => (Judgement::NotNear, None),
        }
    }
}

#[test]
fn an_independent_reading_of_the_rules_over_the_csv_reproduces_the_truth() {
    let g = default_scenario();
    let reading = Reading::new(g);
    let mut gaps = BTreeSet::new();
    let mut trips = BTreeSet::new();
    let mut withdrawn = BTreeSet::new();
    for (&mmsi, story) in &reading.stories {
        let mut sorted = story.fixes.clone();
        sorted.sort_by_key(|f| (f.0, f.2));
        sorted.dedup_by_key(|f| f.0);
        for pair in sorted.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if b.0 - a.0 < 6 * HOUR || !reading.watched(mmsi, b.0) {
                continue;
            }
            let (judgement, port) = reading.judge(mmsi, (a.0, a.1), (b.0, b.1));
            gaps.insert((mmsi, a.0, b.0, judgement));
            if judgement == Judgement::Trip {
                let report_at = |t: i64| story.reports.iter().find(|r| r.0 == t).unwrap();
                let (before, after) = (report_at(a.0), report_at(b.0));
                let rise = match (before.2, after.2) {
                    (Some(x), Some(y)) => y - x,
                    _ => 0.0,
                };
                let high = before.3 != after.3 || rise >= rules::DRAUGHT_RISE_M as f32 - 1e-4;
                trips.insert((mmsi, a.0, b.0, port.unwrap(), high));
            }
        }
        // File order: a late fix inside a gap that leaves two short parts withdraws it.
        let mut seen: Vec<i64> = Vec::new();
        for &(t, ..) in &story.fixes {
            match seen.binary_search(&t) {
                Ok(_) => {}
                Err(i) => {
                    if i > 0 && i < seen.len() {
                        let (prev, next) = (seen[i - 1], seen[i]);
                        if next - prev >= 6 * HOUR
                            && t - prev < 6 * HOUR
                            && next - t < 6 * HOUR
                            && reading.watched(mmsi, next)
                        {
                            withdrawn.insert((mmsi, prev, next, t));
                        }
                    }
                    seen.insert(i, t);
                }
            }
        }
    }
    let truth_gaps: BTreeSet<_> = g
        .truth
        .gaps
        .iter()
        .map(|x| {
            (
                x.mmsi.0,
                x.dark_from.as_millis(),
                x.dark_until.as_millis(),
                x.judgement,
            )
        })
        .collect();
    assert_eq!(gaps, truth_gaps);
    let truth_trips: BTreeSet<_> = g
        .truth
        .trips
        .iter()
        .map(|x| {
            (
                x.mmsi.0,
                x.dark_from.as_millis(),
                x.dark_until.as_millis(),
                x.port.clone(),
                x.confidence == Confidence::High,
            )
        })
        .collect();
    assert_eq!(trips, truth_trips);
    let truth_withdrawn: BTreeSet<_> = g
        .truth
        .withdrawn
        .iter()
        .map(|w| {
            (
                w.mmsi.0,
                w.dark_from.as_millis(),
                w.dark_until.as_millis(),
                w.late_fix_at.as_millis(),
            )
        })
        .collect();
    assert_eq!(withdrawn, truth_withdrawn);
}

#[test]
fn every_port_hears_three_unwatched_vessels_in_every_hour_outside_outages() {
    let g = default_scenario();
    let reading = Reading::new(g);
    let start = g.truth.start.as_millis();
    let hours = (g.truth.end.as_millis() - start) / HOUR;
    for (i, port) in DESIGNATED_PORTS.iter().enumerate() {
        for h in 0..hours {
            let (from, until) = (start + h * HOUR, start + (h + 1) * HOUR);
            let in_outage = g
                .truth
                .outages
                .iter()
                .any(|w| w.from.as_millis() < until && from < w.until.as_millis());
            if in_outage {
                continue;
            }
            let unwatched = reading.heard[i]
                .get(&h)
                .map(|s| s.iter().filter(|&&m| !reading.watched(m, from)).count())
                .unwrap_or(0);
            assert!(
                unwatched >= 3,
                "{} heard only {unwatched} unwatched vessels in the hour from {}",
                port.name,
                UnixMillis(from)
            );
        }
    }
}

#[test]
fn the_default_scenario_holds_every_case_the_product_must_handle() {
    let t = &default_scenario().truth;
    let sorted = t
        .trips
        .windows(2)
        .all(|w| (w[0].dark_from, w[0].mmsi) <= (w[1].dark_from, w[1].mmsi));
    assert!(sorted, "trips are sorted by dark_from");
    let watchlisted: BTreeSet<u32> = t.watchlist.iter().map(|w| w.mmsi).collect();
    let trip_gaps = t
        .gaps
        .iter()
        .filter(|g| g.judgement == Judgement::Trip)
        .count();
    assert_eq!(trip_gaps, t.trips.len());

    let dprk_tanker_trips: Vec<_> = t
        .trips
        .iter()
        .filter(|x| x.mmsi.0 / 1_000_000 == 445 && !watchlisted.contains(&x.mmsi.0))
        .collect();
    let tankers: BTreeSet<u32> = dprk_tanker_trips.iter().map(|x| x.mmsi.0).collect();
    assert!(
        dprk_tanker_trips.len() >= 6,
        "{} trips",
        dprk_tanker_trips.len()
    );
    assert!((3..=4).contains(&tankers.len()));
    assert!(t.trips.iter().all(|x| x.port == "Vostochny"));
    assert!(dprk_tanker_trips
        .iter()
        .all(|x| (24.0..48.0).contains(&x.hours)));
    let laden = dprk_tanker_trips
        .iter()
        .filter(
            |x| matches!((x.draught_before, x.draught_after), (Some(a), Some(b)) if b - a >= 0.5),
        )
        .count();
    assert!(laden * 2 > dprk_tanker_trips.len(), "most trips are laden");
    assert!(dprk_tanker_trips
        .iter()
        .any(|x| x.confidence == Confidence::Medium
            && x.draught_before == x.draught_after
            && !x.identity_changed));
    assert!(dprk_tanker_trips.iter().any(|x| x.identity_changed
        && x.confidence == Confidence::High
        && x.draught_before == x.draught_after));
    let vostochny = &DESIGNATED_PORTS[0];
    let at_berth = t
        .gaps
        .iter()
        .filter(|g| g.label == GapLabel::BerthDark && g.judgement == Judgement::Trip)
        .filter(|g| {
            vostochny.distance_nm(LatLon {
                lat: g.from_lat,
                lon: g.from_lon,
            }) == 0.0
        })
        .count();
    assert!(at_berth >= 1, "a tanker goes dark at the berth itself");
    assert!(t.trips.iter().any(|x| watchlisted.contains(&x.mmsi.0)));

    let judged = |j: Judgement, label: GapLabel| {
        t.gaps
            .iter()
            .filter(|g| g.judgement == j && g.label == label)
            .count()
    };
    assert!(judged(Judgement::CoverageUnknown, GapLabel::FeedOutage) >= 2);
    assert_eq!(judged(Judgement::NotNear, GapLabel::ReceptionHole), 1);
    assert_eq!(judged(Judgement::Unreachable, GapLabel::LoiterFarOut), 1);
    assert_eq!(judged(Judgement::PositionJump, GapLabel::SharedMmsi), 1);
    assert_eq!(t.withdrawn.len(), 1);
    assert!(t.withdrawn[0].late_fix_line > 0);
    let unwatched_types: BTreeSet<Option<u8>> = t
        .not_watched_dark
        .iter()
        .filter(|g| g.label == GapLabel::UnwatchedDark)
        .map(|g| g.ship_type)
        .collect();
    assert_eq!(unwatched_types, BTreeSet::from([Some(30), Some(70)]));
}

#[test]
fn larger_scenarios_scale_their_trips_and_confounders() {
    let small = &default_scenario().truth;
    let large = generate_into_memory(&ScenarioParams {
        seed: 11,
        days: 42,
        tankers: 8,
        background: 40,
        identity_cases: false,
        at_sea: false,
    })
    .truth;
    assert!(large.trips.len() >= 3 * small.trips.len());
    assert_eq!(large.outages.len(), 2);
    assert_eq!(large.watchlist.len(), 2);
    assert_eq!(large.withdrawn.len(), 2);
    let jumps = large
        .gaps
        .iter()
        .filter(|g| g.judgement == Judgement::PositionJump)
        .count();
    assert_eq!(jumps, 2);
    assert!(large.lines > 3 * small.lines);
}

#[test]
fn too_little_background_for_coverage_is_refused() {
    let mut sink = Vec::new();
    let err = generate(
        &ScenarioParams {
            background: 5,
            ..ScenarioParams::default()
        },
        &mut sink,
        &mut Vec::new(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("--background"), "{err}");
}

#[test]
fn the_simulate_command_writes_the_four_files_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let out = aisgap()
        .args(["simulate", "--seed", "2024", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fresh = default_scenario();
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "scenario.csv",
            "scenario.nmea",
            "scenario.truth.json",
            "watchlist.csv"
        ]
    );
    assert!(std::fs::read(dir.path().join("scenario.nmea")).unwrap() == fresh.nmea);
    assert!(std::fs::read(dir.path().join("scenario.csv")).unwrap() == fresh.csv);

    let refused = aisgap()
        .args(["simulate", "--background", "3", "--out"])
        .arg(dir.path().join("other"))
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("--background"), "{stderr}");
    assert!(!dir.path().join("other").join("scenario.nmea").exists());
}
